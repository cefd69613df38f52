//! The local credential endpoint (`exec --server`, `serve`): the real aws CLI as the child,
//! refreshes without a prompt, the token, the methods, the exit status and the closed port;
//! the child's identity whatever its files hold; hostile clients; signals.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use serde_json::Value;

use crate::harness::{
    self, FakeServer, HttpRequest, Mode, Reply, TestEnv, admin_env, moto, recorded_requests,
};

/// alice and `admin` (the Administrators role behind the MFA device `mfa`, its own per test).
fn env(mfa: &str) -> TestEnv {
    admin_env(mfa, "")
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
    let python = harness::venv_bin("python");
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
    let aws = harness::venv_bin("aws");
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
    let mut serving = Serving::start(&env);
    let ok = serving.fetch();
    assert!(ok.starts_with("HTTP/1.1 200"), "{ok}");
    assert!(ok.contains("\"AccessKeyId\":\"ASIA"), "{ok}");
    let denied = serving.send(&format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nAuthorization: wrong\r\nConnection: close\r\n\r\n",
        serving.path, serving.host_port
    ));
    assert!(denied.starts_with("HTTP/1.1 403"), "{denied}");
    assert!(!denied.contains("AccessKeyId"));
    serving.child.kill().unwrap();
    serving.child.wait().unwrap();
    assert!(TcpStream::connect(&serving.host_port).is_err());
}

// ---------------------------------------------------------------------------------------------
// The child's identity: whatever else its files and environment hold, it acts as the role
// ---------------------------------------------------------------------------------------------

/// `assume exec --server admin -- aws sts get-caller-identity --query Arn` with `vars` added
/// to its environment: (status, stdout, stderr).
fn caller_arn_through_the_endpoint(env: &TestEnv, vars: &[(&str, &str)]) -> (bool, String, String) {
    let out = env
        .cmd()
        .args(["exec", "--server", "admin", "--token-code", "123456", "--"])
        .arg(harness::venv_bin("aws"))
        .args(["sts", "get-caller-identity", "--query", "Arn"])
        .env("AWS_PAGER", "")
        .envs(vars.iter().copied())
        .output()
        .unwrap();
    (
        out.status.success(),
        harness::stdout(&out),
        harness::stderr(&out),
    )
}

/// The profile's own settings reach the child (`output = text`: no JSON quotes), and its
/// identity is the role's.
fn assert_acts_as_the_role(case: &str, (ok, stdout, stderr): (bool, String, String)) {
    assert!(ok, "{case}: the child failed: {stderr}");
    let arn = stdout.trim();
    assert!(
        arn.starts_with("arn:aws:sts::") && arn.contains(":assumed-role/Administrators/"),
        "{case}: the child is not the role (or not in text output): {arn:?}\n{stderr}"
    );
}

fn admin_config(env: &TestEnv, head: &str) {
    env.write_config(&format!(
        "{head}[profile alice]\nregion = eu-west-1\n\
         [profile admin]\nrole_arn = {}\nsource_profile = alice\nmfa_serial = {}\noutput = text\n",
        moto().role_arn("Administrators"),
        moto().mfa_serial("alice"),
    ));
}

#[test]
fn child_is_the_role_despite_default_keys_in_the_credentials_file() {
    let env = env("server-identity-credentials");
    admin_config(&env, "");
    env.write_credentials(&format!(
        "{}{}",
        env.user_credentials_section("default", "alice"),
        env.user_credentials_section("alice", "alice")
    ));
    assert_acts_as_the_role(
        "[default] keys in the credentials file",
        caller_arn_through_the_endpoint(&env, &[]),
    );
}

#[test]
fn child_is_the_role_despite_default_keys_in_the_config_file() {
    let env = env("server-identity-config");
    let (id, secret) = moto().keys("alice");
    admin_config(
        &env,
        &format!("[default]\naws_access_key_id = {id}\naws_secret_access_key = {secret}\n"),
    );
    env.alice_credentials();
    assert_acts_as_the_role(
        "[default] keys in the config file",
        caller_arn_through_the_endpoint(&env, &[]),
    );
}

#[test]
fn child_is_the_role_despite_web_identity_in_the_environment() {
    let env = env("server-identity-web");
    admin_config(&env, "");
    let token_file = env.root().join("web-identity-token");
    std::fs::write(&token_file, "eyJhbGciOiJub25lIn0.eyJzdWIiOiJjaSJ9.").unwrap();
    let other_role = moto().role_arn("ReadOnly");
    let token_file = token_file.display().to_string();
    assert_acts_as_the_role(
        "AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE",
        caller_arn_through_the_endpoint(
            &env,
            &[
                ("AWS_ROLE_ARN", &other_role),
                ("AWS_WEB_IDENTITY_TOKEN_FILE", &token_file),
                ("AWS_ROLE_SESSION_NAME", "ci"),
            ],
        ),
    );
}

/// The child's AWS files: the chain's settings, the config's other sections, no credential
/// setting, no secret; in a private directory that is gone once the child has exited.
#[test]
fn child_files_hold_settings_but_no_credentials_and_go_away() {
    let env = env("server-child-files");
    let (id, secret) = moto().keys("alice");
    env.write_config(&format!(
        "[default]\naws_access_key_id = {id}\naws_secret_access_key = {secret}\nregion = ap-south-1\n\
         [profile alice]\nregion = eu-west-1\nretry_mode = adaptive\ncredential_process = /bin/false\n\
         [profile admin]\nrole_arn = {}\nsource_profile = alice\nmfa_serial = {}\n\
         output = text\nservices = local\ns3 =\n  addressing_style = path\n\
         [services local]\nsts =\n  endpoint_url = {}\n\
         [sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = eu-west-1\n",
        moto().role_arn("Administrators"),
        moto().mfa_serial("alice"),
        env.endpoint,
    ));
    env.alice_credentials();
    let script = r#"printf '%s\n' "$AWS_CONFIG_FILE" "$AWS_SHARED_CREDENTIALS_FILE"; ls -ld "$(dirname "$AWS_CONFIG_FILE")"; echo ---; cat "$AWS_CONFIG_FILE"; echo ---; cat "$AWS_SHARED_CREDENTIALS_FILE""#;
    let out = env
        .cmd()
        .args(["exec", "--server", "admin", "--token-code", "123456", "--"])
        .args(["sh", "-c", script])
        .output()
        .unwrap();
    harness::assert_success("exec --server -- sh", &out);
    let text = harness::stdout(&out);
    let mut parts = text.split("---\n");
    let (head, config, credentials) = (
        parts.next().unwrap(),
        parts.next().unwrap(),
        parts.next().unwrap_or_default(),
    );
    let mut lines = head.lines();
    let config_path = lines.next().unwrap().to_string();
    let credentials_path = lines.next().unwrap().to_string();
    assert!(
        lines.next().unwrap().starts_with("drwx------"),
        "not a private directory: {head}"
    );
    assert_ne!(config_path, env.config_path().display().to_string());
    assert!(credentials.trim().is_empty(), "{credentials}");
    for wanted in [
        "[default]",
        "output = text",
        "region = eu-west-1",
        "retry_mode = adaptive",
        "services = local",
        "addressing_style = path",
        "[services local]",
        "[sso-session corp]",
    ] {
        assert!(config.contains(wanted), "{wanted:?} missing:\n{config}");
    }
    // No secret anywhere; no setting that finds credentials in the `[default]` it acts as.
    for gone in [id.as_str(), secret.as_str(), "aws_access_key_id"] {
        assert!(
            !config.contains(gone),
            "{gone:?} reached the child:\n{config}"
        );
    }
    let default = config
        .split("\n[")
        .find(|section| section.starts_with("[default]") || section.starts_with("default]"))
        .unwrap_or_default();
    for gone in [
        "role_arn",
        "source_profile",
        "mfa_serial",
        "credential_process",
        "ap-south-1",
    ] {
        assert!(
            !default.contains(gone),
            "{gone:?} reached the child's [default]:\n{config}"
        );
    }
    // The other profiles are there for a command that names one, without their secrets.
    assert!(config.contains("[profile alice]"), "{config}");
    for path in [&config_path, &credentials_path] {
        assert!(!std::path::Path::new(path).exists(), "{path} still there");
    }
}

/// A command that names another profile still finds its settings (`aws --profile alice
/// configure get region`), and the older key variables that Go, Java and Ruby SDKs read ahead
/// of the endpoint are gone from its environment.
#[test]
fn child_keeps_other_profiles_and_loses_older_key_variables() {
    let env = env("server-child-other-profiles");
    admin_config(&env, "");
    let aws = harness::venv_bin("aws");
    let script = format!(
        "{} configure get region --profile alice; env | grep -E '^(AWS_ACCESS_KEY|AWS_SECRET_KEY|AMAZON_[A-Z_]+)=' || echo none",
        aws.display()
    );
    let out = env
        .cmd()
        .args(["exec", "--server", "admin", "--token-code", "123456", "--"])
        .args(["sh", "-c", &script])
        .env("AWS_PAGER", "")
        .env("AWS_ACCESS_KEY", "AKIAOLDSTYLEKEY00001")
        .env("AWS_SECRET_KEY", "old-style-secret")
        .env("AMAZON_ACCESS_KEY_ID", "AKIARUBYSTYLEKEY0001")
        .env("AMAZON_SECRET_ACCESS_KEY", "ruby-style-secret")
        .env("AMAZON_SESSION_TOKEN", "ruby-style-token")
        .output()
        .unwrap();
    harness::assert_success("exec --server -- aws configure get", &out);
    assert_eq!(harness::stdout(&out), "eu-west-1\nnone\n");
}

// ---------------------------------------------------------------------------------------------
// Hostile clients: no token, and still they cannot crash, bloat or stall the endpoint
// ---------------------------------------------------------------------------------------------

/// `assume serve admin` in the background, its endpoint and token; killed on drop.
struct Serving {
    child: Child,
    host_port: String,
    path: String,
    token: String,
}

impl Serving {
    fn start(env: &TestEnv) -> Serving {
        Serving::spawn(env.std_cmd())
    }

    /// With at most `files` open file descriptors (soft and hard).
    fn start_with_file_limit(env: &TestEnv, files: u32) -> Serving {
        let mut sh = env.command("sh");
        sh.args(["-c", &format!("ulimit -n {files} && exec \"$0\" \"$@\"")])
            .arg(harness::assume_bin());
        Serving::spawn(sh)
    }

    fn spawn(mut command: Command) -> Serving {
        let mut child = command
            .args([
                "serve",
                "admin",
                "--token-code",
                "123456",
                "--shell",
                "bash",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut vars = HashMap::new();
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
        let (host_port, path) = uri.trim_start_matches("http://").split_once('/').unwrap();
        Serving {
            host_port: host_port.to_string(),
            path: format!("/{path}"),
            token: vars["AWS_CONTAINER_AUTHORIZATION_TOKEN"].clone(),
            child,
        }
    }

    fn port(&self) -> u16 {
        self.host_port.rsplit(':').next().unwrap().parse().unwrap()
    }

    fn alive(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// VmRSS of the endpoint's process, in KiB.
    fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap()
    }

    /// Sends `request` as it is and reads the whole answer (10 s at most); an I/O error is
    /// returned as text, so that a failed assertion shows it.
    fn send(&self, request: &str) -> String {
        let attempt = || -> std::io::Result<String> {
            let mut stream = TcpStream::connect(&self.host_port)?;
            stream.set_read_timeout(Some(Duration::from_secs(10)))?;
            stream.write_all(request.as_bytes())?;
            let mut response = String::new();
            stream.read_to_string(&mut response)?;
            Ok(response)
        };
        attempt().unwrap_or_else(|e| format!("I/O error: {e}"))
    }

    /// A GET of the credentials with the token and this `Host`.
    fn fetch_as(&self, host: &str) -> String {
        self.send(&format!(
            "GET {} HTTP/1.1\r\nHost: {host}\r\nAuthorization: {}\r\nConnection: close\r\n\r\n",
            self.path, self.token
        ))
    }

    fn fetch(&self) -> String {
        self.fetch_as(&self.host_port)
    }

    fn assert_serves(&mut self, after: &str) {
        let ok = self.fetch();
        assert!(
            ok.starts_with("HTTP/1.1 200") && ok.contains("\"AccessKeyId\":\"ASIA"),
            "no credentials after {after}: {ok}"
        );
        assert!(self.alive(), "the endpoint died after {after}");
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_huge_content_length_does_not_kill_the_endpoint() {
    let env = env("server-content-length");
    let mut serving = Serving::start(&env);
    let host = serving.host_port.clone();
    for path in ["/", serving.path.clone().as_str()] {
        let answer = serving.send(&format!(
            "GET {path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 99999999999\r\n\r\n"
        ));
        assert!(!answer.contains("AccessKeyId"), "{answer}");
        assert!(serving.alive(), "the endpoint died of GET {path}: {answer}");
    }
    serving.assert_serves("a huge Content-Length");
}

#[test]
fn a_200_mb_header_line_does_not_grow_the_endpoint() {
    let env = env("server-header-size");
    let mut serving = Serving::start(&env);
    let before = serving.rss_kib();
    let mut stream = TcpStream::connect(&serving.host_port).unwrap();
    stream
        .set_write_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let head = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nX-Filler: ",
        serving.path, serving.host_port
    );
    let chunk = vec![b'a'; 64 * 1024];
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut sent = 0usize;
    let mut result = stream.write_all(head.as_bytes());
    while result.is_ok() && sent < 200 << 20 && Instant::now() < deadline {
        result = stream.write_all(&chunk);
        sent += chunk.len();
    }
    let grown = serving.rss_kib().saturating_sub(before);
    drop(stream);
    assert!(
        grown < 32 * 1024,
        "the endpoint grew by {grown} KiB while {sent} bytes of one header line arrived"
    );
    serving.assert_serves("a 200 MB header line");
}

#[test]
fn hundreds_of_idle_connections_do_not_lock_out_the_token() {
    let env = env("server-idle");
    let mut serving = Serving::start_with_file_limit(&env, 512);
    let addr: std::net::SocketAddr = serving.host_port.parse().unwrap();
    let idle: Vec<TcpStream> = (0..400)
        .filter_map(|_| TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok())
        .collect();
    assert!(!idle.is_empty());
    serving.assert_serves(&format!("{} idle connections", idle.len()));
    drop(idle);
    serving.assert_serves("the idle connections closed");
}

#[test]
fn a_client_that_pipelines_and_never_reads_does_not_stall_others() {
    let env = env("server-pipelining");
    let mut serving = Serving::start(&env);
    let mut hostile = TcpStream::connect(&serving.host_port).unwrap();
    hostile
        .set_write_timeout(Some(Duration::from_secs(1)))
        .unwrap();
    let batch = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\n\r\n",
        serving.path, serving.host_port
    )
    .repeat(500);
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut sent = 0usize;
    // Until the endpoint stops reading (our writes block), 64 MB, or 30 s.
    while sent < 64 << 20
        && Instant::now() < deadline
        && hostile.write_all(batch.as_bytes()).is_ok()
    {
        sent += batch.len();
    }
    serving.assert_serves(&format!("{sent} bytes of pipelined requests nobody reads"));
    drop(hostile);
}

#[test]
fn a_foreign_host_header_is_refused() {
    let env = env("server-host");
    let mut serving = Serving::start(&env);
    let port = serving.port();
    for host in [
        "evil.example",
        &format!("evil.example:{port}"),
        "attacker.invalid",
    ] {
        let answer = serving.fetch_as(host);
        assert!(answer.starts_with("HTTP/1.1 403"), "Host {host}: {answer}");
        assert!(!answer.contains("AccessKeyId"), "{answer}");
    }
    let no_host = serving.send(&format!(
        "GET {} HTTP/1.0\r\nAuthorization: {}\r\n\r\n",
        serving.path, serving.token
    ));
    assert!(
        no_host.starts_with("HTTP/1.0 400") || no_host.starts_with("HTTP/1.1 400"),
        "{no_host}"
    );
    assert!(!no_host.contains("AccessKeyId"), "{no_host}");
    for host in [
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        format!("[::1]:{port}"),
        "127.0.0.1".to_string(),
        "LOCALHOST".to_string(),
    ] {
        let answer = serving.fetch_as(&host);
        assert!(answer.starts_with("HTTP/1.1 200"), "Host {host}: {answer}");
    }
    assert!(serving.alive());
}

/// While a refresh waits for STS, the endpoint still answers other connections; the caller
/// with the token waits for the refresh and gets the new keys.
#[test]
fn a_slow_refresh_does_not_hold_up_other_connections() {
    let env = env("server-slow-refresh");
    let sts = ShortSessionSts::start();
    let mut command = env.std_cmd();
    command.env("AWS_ENDPOINT_URL_STS", sts.endpoint());
    let serving = Serving::spawn(command);
    let key = |answer: &str| {
        answer
            .split("\"AccessKeyId\":\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .map(str::to_string)
    };
    let before = serving.fetch();
    assert!(key(&before).is_some(), "{before}");
    sts.gate.set_closed(true);
    thread::scope(|scope| {
        let waiting = scope.spawn(|| serving.fetch());
        let started = harness::wait_until(Duration::from_secs(20), || {
            sts.gate.waiting.load(Ordering::SeqCst) > 0
        });
        let denied = serving.send(&format!(
            "GET {} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            serving.path, serving.host_port
        ));
        sts.gate.set_closed(false);
        assert!(started, "no refresh reached STS");
        assert!(
            denied.starts_with("HTTP/1.1 403"),
            "no answer while a refresh waited for STS: {denied}"
        );
        let after = waiting.join().unwrap();
        assert!(after.starts_with("HTTP/1.1 200"), "{after}");
        assert_ne!(key(&after), key(&before), "no refresh happened");
    });
}

// ---------------------------------------------------------------------------------------------
// Signals: `assume exec --server` passes them on and ends with the command's status
// ---------------------------------------------------------------------------------------------

/// `assume exec --server admin -- sh -c SCRIPT` in a process group of its own (so that no
/// terminal delivers a signal to the command directly); waits for its "ready" line.
fn exec_until_ready(
    env: &TestEnv,
    script: &str,
) -> (Child, std::io::Lines<BufReader<std::process::ChildStdout>>) {
    use std::os::unix::process::CommandExt;
    let mut child = env
        .std_cmd()
        .args(["exec", "--server", "admin", "--token-code", "123456", "--"])
        .args(["sh", "-c", script])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .process_group(0)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().map(Result::unwrap);
    assert_eq!(first.as_deref(), Some("ready"));
    (child, lines)
}

fn send_signal(pid: u32, signal: &str) {
    let status = Command::new("kill")
        .args([&format!("-{signal}"), &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success(), "kill -{signal} {pid}");
}

/// The exit status within 20 s, else kills it and fails.
fn exit_code_within(child: &mut Child, what: &str) -> i32 {
    let status = harness::poll_until(Duration::from_secs(20), || child.try_wait().unwrap());
    match status {
        Some(status) => status.code().unwrap_or_else(|| panic!("{what}: {status}")),
        None => {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what}: assume did not end within 20 s");
        }
    }
}

#[test]
fn term_hup_and_int_reach_the_command_and_its_status_is_passed_on() {
    let env = env("server-signals");
    for signal in ["TERM", "HUP", "INT"] {
        let script = format!(
            "trap 'echo got-{signal}; exit 42' {signal}; echo ready; while :; do sleep 1 & wait $!; done"
        );
        let (mut child, mut lines) = exec_until_ready(&env, &script);
        send_signal(child.id(), signal);
        let code = exit_code_within(&mut child, &format!("SIG{signal}"));
        let next = lines.next().and_then(Result::ok);
        assert_eq!(next.as_deref(), Some(format!("got-{signal}").as_str()));
        assert_eq!(code, 42, "SIG{signal}: the command's status");
    }
    // A command that dies of the signal: 128 + its number, as a shell reports it.
    let (mut child, _lines) = exec_until_ready(&env, "echo ready; exec sleep 60");
    send_signal(child.id(), "TERM");
    assert_eq!(exit_code_within(&mut child, "SIGTERM to sleep"), 128 + 15);
}

/// Ctrl-C on a terminal reaches the whole foreground group: the command gets it once, from
/// the terminal, and `assume` does not send it a second one.
#[test]
fn ctrl_c_on_a_terminal_reaches_the_command_once() {
    let env = env("server-ctrl-c");
    // One second after the first SIGINT, to give a second one time to arrive, it reports the
    // count and exits 40 + count.
    let script = "import signal, sys, time\n\
                  n = 0\n\
                  def on_int(*_):\n    global n\n    n += 1\n\
                  signal.signal(signal.SIGINT, on_int)\n\
                  print('ready', flush=True)\n\
                  while n == 0:\n    signal.pause()\n\
                  time.sleep(1)\n\
                  print(f'interrupts={n}', flush=True)\n\
                  sys.exit(40 + n)\n";
    let tmux = env.tmux(&format!(
        "exec {} exec --server admin --token-code 123456 -- {} -c {}",
        harness::sh_quote(&harness::assume_bin().display().to_string()),
        harness::sh_quote(&harness::venv_bin("python").display().to_string()),
        harness::sh_quote(script),
    ));
    tmux.wait_for("ready", Duration::from_secs(30));
    tmux.send_keys("C-c");
    let code = tmux.wait_exit(Duration::from_secs(20));
    let screen = tmux.capture();
    assert!(screen.contains("interrupts=1"), "{screen}");
    assert_eq!(code, 41, "{screen}");
}

// ---------------------------------------------------------------------------------------------
// A fake STS whose role sessions live two minutes
// ---------------------------------------------------------------------------------------------

/// Answers GetSessionToken with an 8-hour session and every AssumeRole with new keys that
/// expire in two minutes, under the default `--min-ttl` of five: each fetch must refresh.
struct ShortSessionSts {
    server: FakeServer,
    assume_role_calls: Arc<AtomicUsize>,
    /// While closed, AssumeRole calls wait (a minute at most).
    gate: Arc<Gate>,
}

#[derive(Default)]
struct Gate {
    closed: Mutex<bool>,
    opened: Condvar,
    waiting: AtomicUsize,
}

impl Gate {
    fn set_closed(&self, closed: bool) {
        *self.closed.lock().unwrap() = closed;
        self.opened.notify_all();
    }

    fn pass(&self) {
        let closed = self.closed.lock().unwrap();
        if *closed {
            self.waiting.fetch_add(1, Ordering::SeqCst);
            let _ = self
                .opened
                .wait_timeout_while(closed, Duration::from_secs(60), |closed| *closed);
        }
    }
}

impl ShortSessionSts {
    fn start() -> ShortSessionSts {
        let assume_role_calls = Arc::new(AtomicUsize::new(0));
        let gate = Arc::new(Gate::default());
        let (calls, gate_) = (Arc::clone(&assume_role_calls), Arc::clone(&gate));
        let server = FakeServer::start(Mode::With(Arc::new(move |request: &HttpRequest| {
            short_session_answer(request, &calls, &gate_)
        })));
        ShortSessionSts {
            server,
            assume_role_calls,
            gate,
        }
    }

    fn endpoint(&self) -> String {
        self.server.endpoint()
    }
}

fn short_session_answer(
    request: &HttpRequest,
    assume_role_calls: &AtomicUsize,
    gate: &Gate,
) -> Reply {
    let action = harness::form_decode(&request.body)
        .remove("Action")
        .unwrap_or_default();
    let (result, lifetime, n) = if action == "AssumeRole" {
        gate.pass();
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
    (200, "text/xml", xml)
}
