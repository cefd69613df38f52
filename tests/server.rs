//! The local credential endpoint (`exec --server`, `serve`): the real aws CLI as the child,
//! refreshes without a prompt, the token, the methods, the exit status and the closed port.

#![allow(clippy::unwrap_used)]

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, SystemTime};

use common::{TestEnv, moto, recorded_requests};
use serde_json::Value;

fn env(mfa: &str) -> TestEnv {
    let moto = moto();
    let env = TestEnv::new(moto);
    env.write_config(&format!(
        "[profile alice]\nregion = eu-west-1\n\
         [profile admin]\nrole_arn = {}\nsource_profile = alice\nmfa_serial = {}\n",
        moto.role_arn("Administrators"),
        moto.mfa_serial(mfa),
    ));
    env.alice_credentials();
    env
}

/// A child that reports what the endpoint gives it: two fetches with the token, one with a
/// wrong token, one without, a POST, another path; then its environment; then exit 3.
const PROBE: &str = r#"
import json, os, sys, urllib.request, urllib.error
uri = os.environ["AWS_CONTAINER_CREDENTIALS_FULL_URI"]
token = os.environ["AWS_CONTAINER_AUTHORIZATION_TOKEN"]
def get(url, headers, method="GET"):
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers, method=method)) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
out = {"fetches": [get(uri, {"Authorization": token}) for _ in range(2)],
       "wrong": get(uri, {"Authorization": "x" + token}),
       "none": get(uri, {}),
       "post": get(uri, {"Authorization": token}, "POST")[0],
       "other_path": get(uri + "/../other", {"Authorization": token})[0],
       "uri": uri,
       "env": {k: v for k, v in os.environ.items() if k.startswith(("AWS_", "ASSUME_"))}}
print(json.dumps(out))
sys.exit(3)
"#;

fn probe(env: &TestEnv, vars: &[(&str, &str)]) -> (Value, i32) {
    let python = common::venv_bin("python");
    let out = env
        .cmd()
        .args(["exec", "--server", "admin", "--token-code", "123456", "--"])
        .arg(&python)
        .args(["-c", PROBE])
        .env("AWS_ACCESS_KEY_ID", "AKIASTALESTALESTALE0")
        .env("AWS_PROFILE", "admin")
        .envs(vars.iter().copied())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report: Value = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
        panic!(
            "no report ({e}): {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (report, out.status.code().unwrap())
}

#[test]
fn child_gets_the_endpoint_not_keys_and_its_status_passes_through() {
    let env = env("server-basic");
    let (report, code) = probe(&env, &[]);
    assert_eq!(code, 3, "the child's status");
    let fetches = report["fetches"].as_array().unwrap();
    for fetch in fetches {
        assert_eq!(fetch[0], 200, "{report}");
        let body = &fetch[1];
        assert!(body["AccessKeyId"].as_str().unwrap().starts_with("ASIA"));
        assert!(!body["SecretAccessKey"].as_str().unwrap().is_empty());
        assert!(!body["Token"].as_str().unwrap().is_empty());
        assert!(body["Expiration"].as_str().unwrap().ends_with('Z'));
    }
    // Fresh enough: the same credentials twice.
    assert_eq!(fetches[0][1]["AccessKeyId"], fetches[1][1]["AccessKeyId"]);
    // Only the token opens it; only GET on its path.
    for denied in ["wrong", "none"] {
        assert_eq!(report[denied][0], 403, "{report}");
        assert!(!report[denied][1].as_str().unwrap().contains("AccessKeyId"));
    }
    assert_eq!(report["post"], 405);
    assert_eq!(report["other_path"], 404);
    // Loopback only; the child has the endpoint and no keys or profile.
    let uri = report["uri"].as_str().unwrap();
    assert!(uri.starts_with("http://127.0.0.1:"), "{uri}");
    let child_env = report["env"].as_object().unwrap();
    for gone in [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
    ] {
        assert!(
            !child_env.contains_key(gone),
            "{gone} reached the child: {child_env:?}"
        );
    }
    assert_eq!(child_env["ASSUME_PROFILE"], "admin");
    assert_eq!(child_env["AWS_REGION"], "eu-west-1");

    // After the child exits, nothing listens there any more.
    let port: u16 = uri
        .trim_start_matches("http://127.0.0.1:")
        .split('/')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        TcpStream::connect(("127.0.0.1", port)).is_err(),
        "port {port} still open"
    );
}

/// Role sessions that live two minutes, under the default `--min-ttl` of five: every fetch
/// refreshes, from the cached MFA session: new keys each time and no prompt (there is no
/// terminal to prompt on).
#[test]
fn refreshes_as_credentials_run_low_without_a_prompt() {
    let env = env("server-refresh");
    let sts = ShortSessionSts::start();
    let (report, code) = probe(&env, &[("AWS_ENDPOINT_URL_STS", &sts.endpoint())]);
    assert_eq!(code, 3);
    let fetches = report["fetches"].as_array().unwrap();
    assert_eq!(fetches[0][0], 200, "{report}");
    assert_eq!(fetches[1][0], 200, "{report}");
    assert_ne!(
        fetches[0][1]["AccessKeyId"], fetches[1][1]["AccessKeyId"],
        "no refresh happened"
    );
    // The first credentials at start, then one AssumeRole per fetch.
    assert_eq!(sts.assume_role_calls.load(Ordering::SeqCst), 3);
}

/// The real aws CLI as the child fetches its credentials from the endpoint.
#[test]
fn aws_cli_uses_the_endpoint() {
    let env = env("server-awscli");
    let aws = common::venv_bin("aws");
    let mut out = None;
    let requests = recorded_requests(&env, || {
        out = Some(
            env.cmd()
                .args(["exec", "--server", "admin", "--token-code", "123456", "--"])
                .arg(&aws)
                .args([
                    "sts",
                    "get-caller-identity",
                    "--query",
                    "Arn",
                    "--output",
                    "text",
                ])
                .env("AWS_PAGER", "")
                .output()
                .unwrap(),
        );
    });
    let out = out.unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains(":assumed-role/Administrators/"));
    // The CLI's own call was signed with the role's key, which it got from the endpoint.
    let caller = requests
        .iter()
        .find(|r| r.params().get("Action").map(String::as_str) == Some("GetCallerIdentity"))
        .expect("GetCallerIdentity was recorded");
    assert!(caller.access_key_id().unwrap().starts_with("ASIA"));
}

#[test]
fn serve_prints_the_variables_and_serves_until_stopped() {
    let env = env("server-serve");
    let mut child = env
        .std_cmd()
        .args([
            "serve",
            "admin",
            "--token-code",
            "123456",
            "--shell",
            "bash",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut vars = std::collections::HashMap::new();
    for _ in 0..2 {
        let line = lines.next().unwrap().unwrap();
        let (name, value) = line
            .strip_prefix("export ")
            .unwrap()
            .split_once('=')
            .unwrap();
        vars.insert(name.to_string(), value.trim_matches('\'').to_string());
    }
    let uri = &vars["AWS_CONTAINER_CREDENTIALS_FULL_URI"];
    let token = &vars["AWS_CONTAINER_AUTHORIZATION_TOKEN"];
    let (host_port, path) = uri.trim_start_matches("http://").split_once('/').unwrap();
    let fetch = |auth: &str| {
        let mut stream = TcpStream::connect(host_port).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        write!(
            stream,
            "GET /{path} HTTP/1.1\r\nHost: {host_port}\r\nAuthorization: {auth}\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        response
    };
    let ok = fetch(token);
    assert!(ok.starts_with("HTTP/1.1 200"), "{ok}");
    assert!(ok.contains("\"AccessKeyId\":\"ASIA"), "{ok}");
    let denied = fetch("wrong");
    assert!(denied.starts_with("HTTP/1.1 403"), "{denied}");
    assert!(!denied.contains("AccessKeyId"));
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(TcpStream::connect(host_port).is_err());
}

// ---------------------------------------------------------------------------------------------
// A fake STS whose role sessions live two minutes
// ---------------------------------------------------------------------------------------------

/// Answers GetSessionToken with an 8-hour session and every AssumeRole with new keys that
/// expire in two minutes, under the default `--min-ttl` of five: each fetch must refresh.
struct ShortSessionSts {
    port: u16,
    assume_role_calls: Arc<AtomicUsize>,
}

impl ShortSessionSts {
    fn start() -> ShortSessionSts {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let assume_role_calls = Arc::new(AtomicUsize::new(0));
        let calls = Arc::clone(&assume_role_calls);
        // Serves until the test binary exits; each test makes a new one.
        thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let _ = short_session_answer(conn, &calls);
            }
        });
        ShortSessionSts {
            port,
            assume_role_calls,
        }
    }

    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

fn short_session_answer(conn: TcpStream, assume_role_calls: &AtomicUsize) -> std::io::Result<()> {
    conn.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut length = 0;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.trim().eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    let action = common::form_decode(&String::from_utf8_lossy(&body))
        .remove("Action")
        .unwrap_or_default();
    let (result, lifetime, n) = if action == "AssumeRole" {
        let n = assume_role_calls.fetch_add(1, Ordering::SeqCst);
        ("AssumeRoleResult", Duration::from_secs(120), n)
    } else {
        ("GetSessionTokenResult", Duration::from_secs(8 * 3600), 9999)
    };
    let expiration = humantime::format_rfc3339_seconds(SystemTime::now() + lifetime);
    let assumed = if action == "AssumeRole" {
        "<AssumedRoleUser><AssumedRoleId>AROAFAKE:s</AssumedRoleId>\
         <Arn>arn:aws:sts::123456789012:assumed-role/Administrators/s</Arn></AssumedRoleUser>"
    } else {
        ""
    };
    let response_name = action.clone() + "Response";
    let xml = format!(
        "<{response_name} xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><{result}>\
         <Credentials><AccessKeyId>ASIAFAKE{n:012}</AccessKeyId>\
         <SecretAccessKey>secret{n}</SecretAccessKey><SessionToken>token{n}</SessionToken>\
         <Expiration>{expiration}</Expiration></Credentials>{assumed}</{result}>\
         <ResponseMetadata><RequestId>r{n}</RequestId></ResponseMetadata></{response_name}>"
    );
    let mut conn = conn;
    write!(
        conn,
        "HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{xml}",
        xml.len()
    )?;
    conn.flush()
}
