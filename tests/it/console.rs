//! `assume console PROFILE`: the role's credentials to the federation endpoint (played by
//! [`Federation`]) in a POST body, a login URL printed or opened through a one-shot local URL,
//! the partition's endpoint, and errors that keep every secret off stderr.

use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use crate::harness::{
    self, Federation, TestEnv, WAIT, assert_success, cx, cx_with, make_executable, query,
    recorded_sts_calls, sh_quote, stderr, stdout,
};

/// Checks the one getSigninToken request the server got: a form POST to the endpoint's
/// path, with nothing in the URL; returns its Session JSON.
fn the_session(fed: &Federation) -> Value {
    let requests = fed.requests();
    assert_eq!(
        requests.len(),
        1,
        "the federation endpoint should get exactly one request: {requests:?}"
    );
    let request = &requests[0];
    assert_eq!(request.method, "POST", "{request:?}");
    assert_eq!(
        request.target, "/federation",
        "the request does not go to the endpoint's path, or has a query: {request:?}"
    );
    let content_type = request
        .head
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.trim()
                .eq_ignore_ascii_case("content-type")
                .then(|| value.trim().to_string())
        })
        .unwrap_or_default();
    assert_eq!(
        content_type, "application/x-www-form-urlencoded",
        "{request:?}"
    );
    let params = harness::form_decode(&request.body);
    assert_eq!(
        params.get("Action").map(String::as_str),
        Some("getSigninToken"),
        "{request:?}"
    );
    let session = params
        .get("Session")
        .unwrap_or_else(|| panic!("no Session parameter: {request:?}"));
    serde_json::from_str(session)
        .unwrap_or_else(|e| panic!("the Session parameter is not JSON ({e}): {session}"))
}

/// `console --print`: the role's cached credentials go to getSigninToken as the Session JSON,
/// and the printed login URL carries the token and a Destination with the region.
#[test]
fn console_print_builds_the_login_url() {
    let cx = cx("console");
    let env = &cx.env;
    let out = env
        .cmd()
        .args(["credential-process", "admin", "--token-code", "123456"])
        .output()
        .unwrap();
    assert_success("assume credential-process admin", &out);
    let creds: Value = serde_json::from_slice(&out.stdout).unwrap();

    let fed = Federation::ok();
    let mut out = None;
    let calls = recorded_sts_calls(env, || {
        out = Some(
            env.cmd()
                .args(["console", "admin", "--print"])
                .env("ASSUME_FEDERATION_ENDPOINT", &fed.endpoint)
                .output()
                .unwrap(),
        );
    });
    let out = out.unwrap();
    assert_success("assume console admin --print", &out);
    // Reused from the cache: no STS call, no prompt.
    assert!(calls.is_empty(), "{calls:?}");

    let session = the_session(&fed);
    assert_eq!(session["sessionId"], creds["AccessKeyId"], "{session}");
    assert_eq!(session["sessionKey"], creds["SecretAccessKey"]);
    assert_eq!(session["sessionToken"], creds["SessionToken"]);
    for key in ["sessionKey", "sessionToken"] {
        assert!(session[key].as_str().is_some_and(|s| !s.is_empty()));
    }

    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1, "stdout is not one URL: {text}");
    let url = lines[0];
    assert!(
        url.starts_with(&format!("{}?", fed.endpoint)),
        "not the endpoint: {url}"
    );
    let params = query(url);
    assert_eq!(params.get("Action").map(String::as_str), Some("login"));
    assert_eq!(
        params.get("SigninToken").map(String::as_str),
        Some("tok-123")
    );
    assert!(
        params.get("Issuer").is_some_and(|i| !i.is_empty()),
        "no Issuer in the login URL: {url}"
    );
    assert_eq!(
        params.get("Destination").map(String::as_str),
        Some("https://console.aws.amazon.com/console/home?region=eu-west-1"),
        "{url}"
    );
    // No secret in the URL.
    let secret = creds["SecretAccessKey"].as_str().unwrap();
    assert!(!url.contains(secret), "the secret key is in the URL");

    // --destination lands elsewhere.
    let out = env
        .cmd()
        .args(["console", "admin", "--print", "--destination"])
        .arg("https://console.aws.amazon.com/s3/home?region=eu-west-1&x=1")
        .env("ASSUME_FEDERATION_ENDPOINT", &fed.endpoint)
        .output()
        .unwrap();
    assert_success("assume console admin --print --destination …", &out);
    assert_eq!(
        query(stdout(&out).trim())
            .get("Destination")
            .map(String::as_str),
        Some("https://console.aws.amazon.com/s3/home?region=eu-west-1&x=1")
    );
}

/// The role's keys, as `credential-process` prints them (and caches them for `console`).
fn cached_role_keys(env: &TestEnv, profile: &str) -> Value {
    let out = env
        .cmd()
        .args(["credential-process", profile, "--token-code", "123456"])
        .output()
        .unwrap();
    assert_success(&format!("assume credential-process {profile}"), &out);
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The secret key and the session token go in the body of getSigninToken, never in its request
/// line (which servers, proxies and error pages log and quote) nor in a header.
#[test]
fn console_keeps_the_secret_out_of_the_request_url() {
    let cx = cx("console-post");
    let env = &cx.env;
    let creds = cached_role_keys(env, "admin");
    let secret = creds["SecretAccessKey"].as_str().unwrap();
    let token = creds["SessionToken"].as_str().unwrap();
    let fed = Federation::ok();
    let out = env
        .cmd()
        .args(["console", "admin", "--print"])
        .env("ASSUME_FEDERATION_ENDPOINT", &fed.endpoint)
        .output()
        .unwrap();
    assert_success("assume console admin --print", &out);
    let requests = fed.requests();
    assert!(!requests.is_empty(), "the endpoint was never asked");
    for request in &requests {
        let encoded: String = form_urlencoded_like(secret);
        for (what, value) in [
            ("secret key", secret),
            ("secret key (encoded)", encoded.as_str()),
            ("session token", token),
        ] {
            assert!(
                !request.head.contains(value),
                "the {what} is in the request line or headers: {}",
                request.head.lines().next().unwrap_or_default()
            );
        }
        assert!(
            !request.target.contains("Session"),
            "the Session is in the URL: {}",
            request.target
        );
    }
    let session = the_session(&fed);
    assert_eq!(session["sessionKey"], creds["SecretAccessKey"]);
    assert_eq!(session["sessionToken"], creds["SessionToken"]);
}

/// `a/b+c` → `a%2Fb%2Bc`: how a form or query would carry a secret key.
fn form_urlencoded_like(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => {
                (b as char).to_string()
            }
            b' ' => "+".to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// An error page that quotes the request it got (as some proxies' and servers' pages do)
/// must not bring the secret to stderr: the error gives the status, not the body.
#[test]
fn console_error_page_that_echoes_the_request_stays_off_stderr() {
    let cx = cx("console-echo");
    let env = &cx.env;
    let creds = cached_role_keys(env, "admin");
    for status in [400, 403, 500] {
        let fed = Federation::echo(status);
        let out = env
            .cmd()
            .args(["console", "admin", "--print"])
            .env("ASSUME_FEDERATION_ENDPOINT", &fed.endpoint)
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(5),
            "federation answering {status}: stdout: {}\nstderr: {}",
            stdout(&out),
            stderr(&out)
        );
        assert!(stdout(&out).is_empty(), "stdout: {}", stdout(&out));
        let err = stderr(&out);
        assert_eq!(err.trim_end().lines().count(), 1, "not one line: {err:?}");
        assert!(err.contains(&status.to_string()), "no status: {err}");
        for key in ["AccessKeyId", "SecretAccessKey", "SessionToken"] {
            let value = creds[key].as_str().unwrap();
            assert!(
                !err.contains(value) && !err.contains(&form_urlencoded_like(value)),
                "{key} is on stderr: {err}"
            );
        }
        for echoed in ["You sent", "getSigninToken", "Session", "Host:"] {
            assert!(
                !err.contains(echoed),
                "the error prints the answer's body ({echoed:?}): {err}"
            );
        }
    }
}

/// Fake browser openers (`xdg-open` and the others `open` tries), first on PATH: each records
/// its arguments in `opened`, then fetches the URL it got, as a browser would, with the venv's
/// Python — a wrong path first, then the URL twice — and writes what it saw to `fetched`.
/// Returns the PATH to use.
fn fake_openers(env: &TestEnv, opened: &Path, fetched: &Path) -> String {
    let bin = env.root().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let fetch = env.root().join("fetch.py");
    std::fs::write(
        &fetch,
        r#"import http.client, os, sys, urllib.parse
url = urllib.parse.urlsplit(sys.argv[2])
def get(path):
    try:
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
        conn.request("GET", path)
        answer = conn.getresponse()
        return "%d %s" % (answer.status, answer.getheader("Location") or "-")
    except OSError as e:
        return "refused %s" % e
lines = ["wrong " + get("/" + "0" * 64), "first " + get(url.path), "second " + get(url.path)]
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write("\n".join(lines) + "\n")
os.replace(sys.argv[1] + ".tmp", sys.argv[1])
"#,
    )
    .unwrap();
    let q = |p: &Path| sh_quote(&p.display().to_string());
    let opener = format!(
        "#!/bin/sh\nprintf '%s\\n' \"$*\" >> {opened}\n\
         for last; do :; done\n\
         exec {python} {fetch} {fetched} \"$last\"\n",
        opened = q(opened),
        python = q(&harness::venv_bin("python3")),
        fetch = q(&fetch),
        fetched = q(fetched),
    );
    for name in [
        "xdg-open",
        "gio",
        "gnome-open",
        "kde-open",
        "kde-open5",
        "kde-open6",
        "open",
        "sensible-browser",
        "x-www-browser",
        "www-browser",
    ] {
        let path = bin.join(name);
        std::fs::write(&path, &opener).unwrap();
        make_executable(&path);
    }
    format!(
        "{}:{}",
        bin.display(),
        env.env_for_shell()
            .iter()
            .find(|(k, _)| k == "PATH")
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    )
}

/// Without `--print`: the opener's argv (which every local user can read) holds only a
/// one-shot local URL, never the SigninToken; fetching it is answered with a redirect to the
/// login URL, once; a wrong path is a 404 that does not spend it. stdout stays empty.
#[test]
fn console_opens_the_browser_through_a_one_shot_local_url() {
    let cx = cx("console-open");
    let env = &cx.env;
    let fed = Federation::ok();
    let opened = env.root().join("opened");
    let fetched = env.root().join("fetched");
    let path = fake_openers(env, &opened, &fetched);
    let out = env
        .cmd()
        .args(["console", "zeta"])
        .env("ASSUME_FEDERATION_ENDPOINT", &fed.endpoint)
        .env("PATH", path)
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    assert_success("assume console zeta", &out);
    assert!(stdout(&out).is_empty(), "stdout: {}", stdout(&out));
    assert!(
        stderr(&out).contains("opened the AWS console as 'zeta'"),
        "{}",
        stderr(&out)
    );
    let argv = std::fs::read_to_string(&opened).unwrap_or_default();
    assert_eq!(argv.lines().count(), 1, "not one opener run: {argv:?}");
    assert!(
        !argv.contains("SigninToken") && !argv.contains("tok-123"),
        "the sign-in token is in the opener's argv: {argv}"
    );
    let local = argv.trim();
    let rest = local
        .strip_prefix("http://127.0.0.1:")
        .unwrap_or_else(|| panic!("not a loopback URL: {local}"));
    let (port, secret_path) = rest.split_once('/').unwrap();
    assert!(port.parse::<u16>().is_ok(), "{local}");
    assert!(
        secret_path.len() == 64 && secret_path.bytes().all(|b| b.is_ascii_hexdigit()),
        "the path is not 32 random bytes in hex: {local}"
    );

    let seen = harness::poll_until(WAIT, || std::fs::read_to_string(&fetched).ok())
        .unwrap_or_else(|| panic!("the opener did not fetch the URL; stderr: {}", stderr(&out)));
    let answer = |name: &str| -> String {
        seen.lines()
            .find_map(|l| l.strip_prefix(&format!("{name} ")))
            .unwrap_or_else(|| panic!("no {name} answer: {seen}"))
            .to_string()
    };
    assert!(
        answer("wrong").starts_with("404"),
        "a wrong path: {}",
        answer("wrong")
    );
    let first = answer("first");
    let location = first
        .strip_prefix("303 ")
        .unwrap_or_else(|| panic!("the one-shot URL is not a 303 redirect: {first}"));
    assert!(
        location.starts_with(&format!("{}?", fed.endpoint)),
        "{location}"
    );
    let params = query(location);
    assert_eq!(params.get("Action").map(String::as_str), Some("login"));
    assert_eq!(
        params.get("SigninToken").map(String::as_str),
        Some("tok-123"),
        "{location}"
    );
    let second = answer("second");
    assert!(
        second.starts_with("404") || second.starts_with("refused"),
        "the one-shot URL answered twice: {second}"
    );
}

fn console_with_failing_endpoint(status: u16) {
    let cx = cx(&format!("console-{status}"));
    let env = &cx.env;
    let fed = Federation::start(status, r#"{"error":"nope"}"#);
    let out = env
        .cmd()
        .args(["console", "zeta", "--print"])
        .env("ASSUME_FEDERATION_ENDPOINT", &fed.endpoint)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(5),
        "federation answering {status}: stdout: {}\nstderr: {}",
        stdout(&out),
        stderr(&out)
    );
    assert!(stdout(&out).is_empty(), "stdout: {}", stdout(&out));
    let err = stderr(&out);
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "not a one-line error: {err:?}"
    );
    assert!(!fed.requests().is_empty(), "the endpoint was never asked");
}

#[test]
fn console_federation_400_is_an_error() {
    console_with_failing_endpoint(400);
}

#[test]
fn console_federation_500_is_an_error() {
    console_with_failing_endpoint(500);
}

/// The partition of the role ARN picks the endpoint (no network here, so the error names the
/// endpoint it tried) and, with the override, the console's Destination. (With a network, the
/// real endpoint answers moto's fake session with an error, which also names it: exit 5 still.)
#[test]
fn console_partitions() {
    let cx = cx_with(
        "partition",
        "[profile gov]\nrole_arn = arn:aws-us-gov:iam::123456789012:role/Gov\n\
         source_profile = alice\nregion = us-gov-west-1\n\
         [profile china]\nrole_arn = arn:aws-cn:iam::123456789012:role/China\n\
         source_profile = alice\nregion = cn-north-1\n",
    );
    let env = &cx.env;
    for (profile, host) in [
        ("gov", "signin.amazonaws-us-gov.com"),
        ("china", "signin.amazonaws.cn"),
        ("zeta", "signin.aws.amazon.com"),
    ] {
        let out = env
            .cmd()
            .args(["console", profile, "--print"])
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(5),
            "console {profile} with no network: stdout: {}\nstderr: {}",
            stdout(&out),
            stderr(&out)
        );
        assert!(stdout(&out).is_empty(), "stdout: {}", stdout(&out));
        assert!(
            stderr(&out).contains(host),
            "console {profile}: the error does not name {host}: {}",
            stderr(&out)
        );
    }

    let fed = Federation::ok();
    let out = env
        .cmd()
        .args(["console", "gov", "--print"])
        .env("ASSUME_FEDERATION_ENDPOINT", &fed.endpoint)
        .output()
        .unwrap();
    assert_success("assume console gov --print", &out);
    let url = stdout(&out);
    let destination = query(url.trim()).get("Destination").cloned();
    let destination = destination.unwrap_or_else(|| panic!("no Destination: {url}"));
    assert!(
        destination.starts_with("https://console.amazonaws-us-gov.com/"),
        "not the GovCloud console: {destination}"
    );
    assert!(
        destination.contains("region=us-gov-west-1"),
        "{destination}"
    );
}
