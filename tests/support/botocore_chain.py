"""How botocore (the aws CLI's resolver) resolves a profile into a chain, without a network.

Reads on stdin a JSON list of cases {"config", "credentials", "profile", "env"} and prints a
JSON list of results, one per case: {"source": {"profile", "kind", ...}, "hops": [...]} or
{"error": "botocore's message"}.

Each case runs in a fresh botocore session over temp files and a clean environment, and is
resolved in full (get_frozen_credentials), so every AssumeRole botocore would make is made.
STS is a small HTTP server on 127.0.0.1 that records each call's form parameters and the
access key id that signed it, and answers with credentials whose AccessKeyId names the call.
What cannot be called without AWS is stubbed where botocore loads it, after botocore's own
checks of the configuration: an SSO profile yields keys `K_sso_<profile>`, a login_session
profile `K_login_<profile>`. Static keys, credential_process output and the environment's
keys are written by the caller to name their origin (`K_cfg_<p>`, `K_proc_<p>`, `K_env` …);
a web identity token file holds `token-of-<profile>`, the profile that points at it.
"""

import json
import os
import re
import sys
import tempfile
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import botocore.credentials as bc
import botocore.session

CALLS = []
CALLS_LOCK = threading.Lock()
# Per case: the profile whose credential_source botocore used, if any.
STATE = {"credential_source_profile": None}

SIGNER = re.compile(r"Credential=([^/]+)/")


class Sts(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8", "replace")
        params = {k: v[0] for k, v in urllib.parse.parse_qs(body, keep_blank_values=True).items()}
        match = SIGNER.search(self.headers.get("Authorization") or "")
        with CALLS_LOCK:
            index = len(CALLS)
            CALLS.append({"params": params, "signer": match.group(1) if match else None})
        action = params.get("Action", "")
        key = f"K_hop{index}"
        if action == "AssumeRoleWithWebIdentity":
            key = "K_webid_" + params.get("WebIdentityToken", "")
        answer = (
            f"<{action}Response xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"
            f"<{action}Result><Credentials><AccessKeyId>{key}</AccessKeyId>"
            "<SecretAccessKey>secret</SecretAccessKey><SessionToken>token</SessionToken>"
            "<Expiration>2099-01-01T00:00:00Z</Expiration></Credentials>"
            "<AssumedRoleUser><AssumedRoleId>AROA:s</AssumedRoleId>"
            "<Arn>arn:aws:sts::123456789012:assumed-role/R/s</Arn></AssumedRoleUser>"
            f"</{action}Result><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata>"
            f"</{action}Response>"
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)


def stub_providers():
    def sso_load(self):
        # botocore's own checks of the SSO configuration, then keys instead of a token cache.
        if not self._load_sso_config():
            return None
        return bc.Credentials("K_sso_" + self._profile_name, "secret", "token", method="sso")

    def login_load(self):
        profile = self._load_config().get("profiles", {}).get(self._profile_name, {})
        if "login_session" not in profile:
            return None
        return bc.Credentials("K_login_" + self._profile_name, "secret", "token", method="login")

    original_source = bc.AssumeRoleProvider._resolve_credentials_from_source

    def from_source(self, credential_source, profile_name):
        STATE["credential_source_profile"] = profile_name
        return original_source(self, credential_source, profile_name)

    original_fetcher_init = bc.AssumeRoleCredentialFetcher.__init__

    def fetcher_init(self, *args, **kwargs):
        kwargs["mfa_prompter"] = lambda prompt: "123456"
        original_fetcher_init(self, *args, **kwargs)

    original_client_creator = bc._get_client_creator

    def client_creator(session, region_name):
        # Where nothing names a region, STS is asked in us-east-1 (as `assume` does) rather
        # than botocore's NoRegionError, so that the chains can be compared.
        if region_name is None and session.get_config_variable("region") is None:
            region_name = "us-east-1"
        return original_client_creator(session, region_name)

    bc._get_client_creator = client_creator
    bc.SSOProvider.load = sso_load
    bc.LoginProvider.load = login_load
    bc.AssumeRoleProvider._resolve_credentials_from_source = from_source
    bc.AssumeRoleCredentialFetcher.__init__ = fetcher_init


def source_of(key):
    """The base a chain starts from, told by the access key id it first signs with."""
    for prefix, kind in (
        ("K_cfg_", "static"),
        ("K_cred_", "static"),
        ("K_proc_", "credential_process"),
        ("K_sso_", "sso"),
        ("K_login_", "login"),
        ("K_webid_", "web_identity"),
    ):
        if key.startswith(prefix):
            return {"profile": key[len(prefix):].removeprefix("token-of-"), "kind": kind}
    if key.startswith("K_env"):
        return {"profile": STATE["credential_source_profile"], "kind": "credential_source"}
    return {"profile": None, "kind": "unknown:" + key}


def resolve(case, endpoint, home):
    with open(os.path.join(home, "config"), "w") as f:
        f.write(case.get("config", ""))
    with open(os.path.join(home, "credentials"), "w") as f:
        f.write(case.get("credentials", ""))
    os.environ.clear()
    os.environ.update(
        {
            "HOME": home,
            "PATH": "/usr/bin:/bin",
            "AWS_CONFIG_FILE": os.path.join(home, "config"),
            "AWS_SHARED_CREDENTIALS_FILE": os.path.join(home, "credentials"),
            "AWS_ENDPOINT_URL_STS": endpoint,
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_MAX_ATTEMPTS": "1",
        }
    )
    os.environ.update(case.get("env", {}))
    STATE["credential_source_profile"] = None
    with CALLS_LOCK:
        CALLS.clear()
    try:
        session = botocore.session.Session(profile=case["profile"])
        credentials = session.get_credentials()
        if credentials is None:
            return {"error": "botocore found no credentials"}
        frozen = credentials.get_frozen_credentials()
    except Exception as e:  # every botocore failure is a result to compare
        return {"error": f"{type(e).__name__}: {e}"}
    with CALLS_LOCK:
        calls = list(CALLS)
    hops = []
    source = None
    for call in calls:
        params = call["params"]
        if params.get("Action") == "AssumeRoleWithWebIdentity":
            source = source_of("K_webid_" + params.get("WebIdentityToken", ""))
            source["role_arn"] = params.get("RoleArn")
            continue
        if source is None:
            source = source_of(call["signer"] or "")
        name = params.get("RoleSessionName")
        if name is not None and name.startswith("botocore-session-"):
            name = None
        duration = params.get("DurationSeconds")
        hops.append(
            {
                "role_arn": params.get("RoleArn"),
                "external_id": params.get("ExternalId"),
                "mfa_serial": params.get("SerialNumber"),
                "duration_seconds": int(duration) if duration is not None else None,
                "role_session_name": name,
            }
        )
    if source is None:
        source = source_of(frozen.access_key)
    return {"source": source, "hops": hops}


def main():
    cases = json.load(sys.stdin)
    stub_providers()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Sts)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    endpoint = f"http://127.0.0.1:{server.server_address[1]}"
    results = []
    with tempfile.TemporaryDirectory(prefix="botocore-chain-") as home:
        for case in cases:
            results.append(resolve(case, endpoint, home))
    server.shutdown()
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()
