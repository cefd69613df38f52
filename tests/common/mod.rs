//! Shared harness for every integration test binary (`mod common;` in each `tests/*.rs`).
//!
//! Everything here drives real parts on loopback: a real `moto_server` (STS + IAM), the real
//! `aws` CLI from the test venv, real shells and a real terminal (tmux). Nothing is mocked.
//!
//! * [`venv`] — the Python venv with moto/awscli (`scripts/test` creates it).
//! * [`moto`] / [`moto_with_auth`] — one moto server per test binary (and one more with auth
//!   mode on), world created by `tests/support/moto_world.py`, killed when the binary exits.
//! * [`TestEnv`] — a temp `HOME` with `~/.aws/{config,credentials}` and a private recording
//!   proxy in front of moto; [`TestEnv::cmd`] runs the `assume` binary with a cleared env.
//! * [`recorded_sts_calls`] — the form parameters of each STS request made during a closure.
//! * [`Tmux`] — a real terminal for interactive prompts.
//! * [`wait_until`] / [`poll_until`] — bounded polling.
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use serde_json::Value;
use tempfile::TempDir;

/// Moto's fixed account id.
pub const ACCOUNT_ID: &str = "123456789012";
/// The ExternalId the `Partner` role requires.
pub const PARTNER_EXTERNAL_ID: &str = "partner-ext-id";
/// How long moto may take to start (python import + bind) before we give up.
const MOTO_START_TIMEOUT: Duration = Duration::from_secs(20);
/// Socket timeouts of the harness' own HTTP client and of the recording proxy.
const IO_TIMEOUT: Duration = Duration::from_secs(30);

// ---------------------------------------------------------------------------------------------
// Paths
// ---------------------------------------------------------------------------------------------

/// The crate root (where Cargo.toml lives).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The `assume` binary cargo built for this test run.
pub fn assume_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_assume"))
}

/// The test venv: `$ASSUME_TEST_VENV`, else `<repo>/.venv-test`. Panics (never skips) if it
/// does not hold moto.
pub fn venv() -> PathBuf {
    let dir = match std::env::var_os("ASSUME_TEST_VENV") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => repo_root().join(".venv-test"),
    };
    let moto_server = dir.join("bin").join("moto_server");
    assert!(
        moto_server.is_file(),
        "no moto in the test venv: {} does not exist.\n\
         run scripts/test (it creates .venv-test with moto), or point ASSUME_TEST_VENV at a \
         venv with moto[server]==5.2.5 and awscli",
        moto_server.display()
    );
    dir
}

/// `<venv>/bin/<name>`, e.g. `venv_bin("aws")`.
pub fn venv_bin(name: &str) -> PathBuf {
    venv().join("bin").join(name)
}

// ---------------------------------------------------------------------------------------------
// Polling
// ---------------------------------------------------------------------------------------------

/// Calls `f` every 20 ms until it returns true or `timeout` passes; returns whether it did.
pub fn wait_until(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    poll_until(timeout, || f().then_some(())).is_some()
}

/// Calls `f` every 20 ms until it returns `Some(v)` (→ `Some(v)`) or `timeout` passes (→ None).
/// `f` is always called at least once, and once more at the deadline.
pub fn poll_until<T>(timeout: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        let now = Instant::now();
        if now >= deadline {
            return None;
        }
        thread::sleep(Duration::from_millis(20).min(deadline - now));
    }
}

// ---------------------------------------------------------------------------------------------
// Tiny std-only HTTP/1.1 client (moto's control API)
// ---------------------------------------------------------------------------------------------

/// One request with `Connection: close`; returns (status, body).
pub fn http_request(
    port: u16,
    method: &str,
    path: &str,
    content_type: &str,
    body: &[u8],
) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    stream.set_write_timeout(Some(IO_TIMEOUT))?;
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\
         Content-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes())?;
    stream.write_all(body)?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;
    let text = String::from_utf8_lossy(&response);
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("not an HTTP response: {text:?}"),
            )
        })?;
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Ok((status, body))
}

// ---------------------------------------------------------------------------------------------
// moto
// ---------------------------------------------------------------------------------------------

/// A running moto server and the world `moto_world.py` created in it.
///
/// `world` looks like:
/// `{"account_id", "external_id", "alice": {"user_name","access_key_id","secret_access_key","arn"},
///   "mallory": {...}, "roles": {"Administrators": ARN, "ReadOnly", "AliceOnly", "Partner",
///   "Chained", "ChainedAny"}, "mfa_serials": {"alice": ARN, "mallory": ARN}}`
/// (see tests/support/moto_world.py for the trust policies).
pub struct Moto {
    /// `http://127.0.0.1:PORT` of moto itself (no recording). Tests normally use
    /// [`TestEnv::endpoint`], which records.
    pub endpoint: String,
    pub port: u16,
    pub world: Value,
    /// Whether auth mode is on (signatures, identity + trust policies, ExternalId enforced).
    pub auth: bool,
    /// moto's pid (the child of the watchdog shell).
    pub pid: u32,
    /// moto's stdout+stderr (one line per request), for debugging.
    pub log_path: PathBuf,
    /// Keeps the watchdog's stdin pipe open for the life of the test binary; see [`start_moto`].
    _watchdog: Mutex<Child>,
}

/// moto without auth: anything goes (any key, any trust policy); use it for happy paths.
pub fn moto() -> &'static Moto {
    static MOTO: OnceLock<Moto> = OnceLock::new();
    MOTO.get_or_init(|| start_moto(false))
}

/// A second, separate moto where, after the world was created, auth mode was switched on
/// (`POST /moto-api/reset-auth` with body `0`): request signatures, the caller's identity policy,
/// the role's trust-policy principal and `sts:ExternalId` are enforced. MFA is never checked.
///
/// moto 5.2.5 quirks (measured): a *wrong* ExternalId is AccessDenied but a *missing* one is
/// allowed; a trust principal is compared literally with the caller's ARN, so `Chained` (which
/// trusts `role/Administrators`) denies the session `assumed-role/Administrators/<name>` — use
/// `ChainedAny` (trusts `*`) for a 2-hop chain in auth mode, `Chained` without auth.
pub fn moto_with_auth() -> &'static Moto {
    static MOTO: OnceLock<Moto> = OnceLock::new();
    MOTO.get_or_init(|| start_moto(true))
}

/// Watchdog that ties moto's lifetime to the test binary's (no libc, no prctl).
///
/// Rust statics are never dropped, so a guard in a `OnceLock` cannot kill moto at exit. Instead
/// moto is started by this `sh`, whose stdin is a pipe whose only write end lives in the test
/// process (std creates every pipe with O_CLOEXEC, so no other child inherits it). We never write
/// to it; when the test binary exits — normally, by panic, or by any signal including SIGKILL —
/// the kernel closes the write end, `read` sees EOF, and the shell kills moto (SIGKILL: it has
/// nothing to flush) and removes its temp dir, ~10 ms after the test binary exits. INT and HUP
/// are ignored so that a Ctrl-C on `cargo test` cannot kill the watchdog before the test process
/// (moto itself, started asynchronously by a non-interactive shell, ignores INT).
const WATCHDOG: &str = r#"
trap '' INT HUP
"$1" -H 127.0.0.1 -p 0 >"$2/moto.log" 2>&1 </dev/null &
pid=$!
echo "$pid"
while read -r _; do :; done
kill -KILL "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
rm -rf "$2"
"#;

/// Starts a moto server (port 0), waits until `GET /moto-api/` answers 200, creates the world
/// and, when `auth`, switches auth mode on. Prefer [`moto`] / [`moto_with_auth`] (once per binary).
pub fn start_moto(auth: bool) -> Moto {
    let venv = venv();
    let dir = tempfile::Builder::new()
        .prefix("assume-moto-")
        .tempdir()
        .expect("create a temp dir for moto")
        .keep(); // the watchdog removes it
    let log_path = dir.join("moto.log");
    let mut watchdog = Command::new("sh")
        .arg("-c")
        .arg(WATCHDOG)
        .arg("assume-moto-watchdog")
        .arg(venv.join("bin").join("moto_server"))
        .arg(&dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", &dir)
        .env("LANG", "C.UTF-8")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn sh (moto watchdog)");
    let pid = read_pid(watchdog.stdout.take().expect("watchdog stdout"));

    let deadline = Instant::now() + MOTO_START_TIMEOUT;
    let log = || std::fs::read_to_string(&log_path).unwrap_or_default();
    let alive = || process_alive(pid);

    // 1. The port, from werkzeug's " * Running on http://127.0.0.1:PORT".
    let port = poll_until(deadline.saturating_duration_since(Instant::now()), || {
        if let Some(port) = parse_moto_port(&log()) {
            return Some(Ok(port));
        }
        (!alive()).then_some(Err(()))
    });
    let port = match port {
        Some(Ok(port)) => port,
        Some(Err(())) => panic!("moto_server exited during start-up; its log:\n{}", log()),
        None => panic!(
            "moto_server printed no 'Running on http://127.0.0.1:PORT' within {MOTO_START_TIMEOUT:?}; \
             its log:\n{}",
            log()
        ),
    };

    // 2. Readiness.
    let ready = wait_until(deadline.saturating_duration_since(Instant::now()), || {
        matches!(
            http_request(port, "GET", "/moto-api/", "text/plain", b""),
            Ok((200, _))
        )
    });
    assert!(
        ready,
        "moto_server on port {port} never answered GET /moto-api/ with 200 within \
         {MOTO_START_TIMEOUT:?}; its log:\n{}",
        log()
    );
    let endpoint = format!("http://127.0.0.1:{port}");

    // 3. The world (with auth still off: moto_world.py signs with dummy keys).
    let script = repo_root()
        .join("tests")
        .join("support")
        .join("moto_world.py");
    let out = Command::new(venv.join("bin").join("python"))
        .arg(&script)
        .arg(&endpoint)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", &dir)
        .env("LANG", "C.UTF-8")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .stdin(Stdio::null())
        .output()
        .expect("run moto_world.py with the venv's python");
    assert!(
        out.status.success(),
        "{} failed ({}):\n{}\nmoto log:\n{}",
        script.display(),
        out.status,
        String::from_utf8_lossy(&out.stderr),
        log()
    );
    let world: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "moto_world.py printed no JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    });

    // 4. Auth mode.
    if auth {
        let (status, body) = http_request(port, "POST", "/moto-api/reset-auth", "text/plain", b"0")
            .expect("POST /moto-api/reset-auth");
        assert_eq!(status, 200, "POST /moto-api/reset-auth answered: {body}");
    }

    Moto {
        endpoint,
        port,
        world,
        auth,
        pid,
        log_path,
        _watchdog: Mutex::new(watchdog),
    }
}

fn read_pid(stdout: ChildStdout) -> u32 {
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("read moto's pid from the watchdog");
    line.trim()
        .parse()
        .unwrap_or_else(|_| panic!("watchdog printed no pid: {line:?}"))
}

fn parse_moto_port(log: &str) -> Option<u16> {
    const MARK: &str = "Running on http://127.0.0.1:";
    let start = log.find(MARK)? + MARK.len();
    let digits: String = log[start..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// Linux: alive = /proc/PID exists and is not a zombie.
fn process_alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X"),
        Err(_) => false,
    }
}

impl Moto {
    /// A user's keys from the world: `("AKIA…", "secret")`. Users: "alice", "mallory".
    pub fn keys(&self, user: &str) -> (String, String) {
        let u = &self.world[user];
        let id = u["access_key_id"].as_str();
        let secret = u["secret_access_key"].as_str();
        match (id, secret) {
            (Some(id), Some(secret)) => (id.to_string(), secret.to_string()),
            _ => panic!("no user {user:?} in the moto world: {}", self.world),
        }
    }

    /// `arn:aws:iam::123456789012:user/<user>`.
    pub fn user_arn(&self, user: &str) -> String {
        self.world[user]["arn"]
            .as_str()
            .unwrap_or_else(|| panic!("no user {user:?} in the moto world"))
            .to_string()
    }

    /// A role's ARN from the world, e.g. `role_arn("Administrators")`.
    pub fn role_arn(&self, role: &str) -> String {
        self.world["roles"][role]
            .as_str()
            .unwrap_or_else(|| panic!("no role {role:?} in the moto world: {}", self.world))
            .to_string()
    }

    /// `arn:aws:iam::123456789012:mfa/<user>` (moto never checks MFA).
    pub fn mfa_serial(&self, user: &str) -> String {
        format!("arn:aws:iam::{ACCOUNT_ID}:mfa/{user}")
    }

    /// moto's log so far (werkzeug prints one line per request).
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// GET a moto path (e.g. "/moto-api/data.json") → (status, body).
    pub fn get(&self, path: &str) -> (u16, String) {
        http_request(self.port, "GET", path, "text/plain", b"")
            .unwrap_or_else(|e| panic!("GET {path} from moto: {e}"))
    }

    /// POST to a moto path → (status, body).
    pub fn post(&self, path: &str, content_type: &str, body: &[u8]) -> (u16, String) {
        http_request(self.port, "POST", path, content_type, body)
            .unwrap_or_else(|e| panic!("POST {path} to moto: {e}"))
    }
}

// ---------------------------------------------------------------------------------------------
// Request recording: a private HTTP proxy per TestEnv
// ---------------------------------------------------------------------------------------------
//
// Why not moto's own recorder (/moto-api/recorder/*)? It does work with moto_server (it logs
// method, headers and base64 body of every request to MOTO_RECORDER_FILEPATH), but it is one
// global switch per moto process, while tests run in parallel threads against the same moto:
// a recording would also catch other tests' STS calls, and "the cache hit made no STS call"
// could never be asserted reliably. So every TestEnv gets its own tiny std-only proxy on its own
// port; the env's AWS_ENDPOINT_URL points at it, it records each request (method, path, headers,
// body) *before* forwarding it verbatim to moto, and relays moto's response. Only requests made
// with that TestEnv's environment are recorded, so no global lock is needed.

/// One HTTP request the proxy saw.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    pub method: String,
    pub path: String,
    /// In order, names as sent.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// Form-decoded parameters of one STS request: "Action", "Version", "RoleArn",
/// "RoleSessionName", "DurationSeconds", "ExternalId", "SerialNumber", "TokenCode", …
pub type StsCall = HashMap<String, String>;

impl RecordedRequest {
    /// First header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as `application/x-www-form-urlencoded` parameters (AWS query protocol). For a
    /// JSON-protocol request (`X-Amz-Target: Service.Action`), the top-level JSON members as
    /// strings plus "Action".
    pub fn params(&self) -> HashMap<String, String> {
        if let Some(target) = self.header("x-amz-target") {
            let mut map = HashMap::new();
            if let Ok(Value::Object(obj)) = serde_json::from_slice::<Value>(&self.body) {
                for (k, v) in obj {
                    let v = match v {
                        Value::String(s) => s,
                        other => other.to_string(),
                    };
                    map.insert(k, v);
                }
            }
            let action = target.rsplit('.').next().unwrap_or(target);
            map.insert("Action".to_string(), action.to_string());
            return map;
        }
        form_decode(&String::from_utf8_lossy(&self.body))
    }

    /// The SigV4 credential scope fields from `Authorization`, if signed:
    /// (access key id, date, region, service).
    pub fn sigv4_scope(&self) -> Option<(String, String, String, String)> {
        let auth = self.header("authorization")?;
        let cred = auth.split("Credential=").nth(1)?;
        let cred = cred.split([',', ' ']).next()?;
        let mut parts = cred.split('/');
        let key = parts.next()?.to_string();
        let date = parts.next()?.to_string();
        let region = parts.next()?.to_string();
        let service = parts.next()?.to_string();
        Some((key, date, region, service))
    }

    /// The access key id that signed the request.
    pub fn access_key_id(&self) -> Option<String> {
        self.sigv4_scope().map(|(key, ..)| key)
    }

    /// The signing region.
    pub fn region(&self) -> Option<String> {
        self.sigv4_scope().map(|(_, _, region, _)| region)
    }

    /// Whether this is an STS request (signed for "sts", or STS's API version/target).
    pub fn is_sts(&self) -> bool {
        if let Some((.., service)) = self.sigv4_scope() {
            return service == "sts";
        }
        if self
            .header("x-amz-target")
            .is_some_and(|t| t.starts_with("AWSSecurityTokenService"))
        {
            return true;
        }
        self.params().get("Version").map(String::as_str) == Some("2011-06-15")
    }
}

/// `a=1&b=x%2By+z` → {"a": "1", "b": "x+y z"}.
pub fn form_decode(body: &str) -> HashMap<String, String> {
    body.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    fn hex(b: u8) -> Option<u8> {
        (b as char).to_digit(16).and_then(|d| u8::try_from(d).ok())
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(hi), Some(lo)) => {
                    out.push(hi * 16 + lo);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

struct RecordingProxy {
    port: u16,
    requests: Arc<Mutex<Vec<RecordedRequest>>>,
    stop: Arc<AtomicBool>,
    accept_thread: Option<JoinHandle<()>>,
}

impl RecordingProxy {
    fn start(upstream_port: u16) -> RecordingProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the recording proxy");
        let port = listener.local_addr().expect("proxy address").port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let accept_thread = {
            let requests = Arc::clone(&requests);
            let stop = Arc::clone(&stop);
            thread::spawn(move || {
                for conn in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(conn) = conn else { continue };
                    let requests = Arc::clone(&requests);
                    thread::spawn(move || {
                        // Errors just drop the connection; the client reports them.
                        let _ = proxy_one(conn, upstream_port, &requests);
                    });
                }
            })
        };
        RecordingProxy {
            port,
            requests,
            stop,
            accept_thread: Some(accept_thread),
        }
    }

    fn snapshot(&self) -> Vec<RecordedRequest> {
        lock(&self.requests).clone()
    }
}

impl Drop for RecordingProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the blocking accept().
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(t) = self.accept_thread.take() {
            let _ = t.join();
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// One request per client connection: read it, record it, forward it to moto with
/// `Connection: close`, relay moto's whole response with `Connection: close`, close.
/// (Clients see `Connection: close` and open a new connection for the next request.)
fn proxy_one(
    client: TcpStream,
    upstream_port: u16,
    requests: &Mutex<Vec<RecordedRequest>>,
) -> std::io::Result<()> {
    client.set_read_timeout(Some(IO_TIMEOUT))?;
    client.set_write_timeout(Some(IO_TIMEOUT))?;
    let mut reader = BufReader::new(client.try_clone()?);
    let mut client_w = client;

    // Request line + headers.
    let mut head_lines = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(()); // closed before a full request (e.g. the Drop wake-up)
        }
        let line = line.trim_end_matches(['\r', '\n']).to_string();
        if line.is_empty() {
            break;
        }
        head_lines.push(line);
    }
    let Some(request_line) = head_lines.first().cloned() else {
        return Ok(());
    };
    let mut parts = request_line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_string();
    let path = parts.next().unwrap_or_default().to_string();
    let headers: Vec<(String, String)> = head_lines[1..]
        .iter()
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    };

    if header("expect").is_some_and(|v| v.eq_ignore_ascii_case("100-continue")) {
        client_w.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
    }

    // Body: Content-Length or chunked. `raw` is forwarded as-is, `body` is recorded.
    let mut raw = Vec::new();
    let mut body = Vec::new();
    if header("transfer-encoding").is_some_and(|v| v.to_ascii_lowercase().contains("chunked")) {
        loop {
            let mut size_line = String::new();
            reader.read_line(&mut size_line)?;
            raw.extend_from_slice(size_line.as_bytes());
            let size_hex = size_line.trim().split(';').next().unwrap_or("0");
            let size = usize::from_str_radix(size_hex, 16).map_err(|_| {
                std::io::Error::new(std::io::ErrorKind::InvalidData, "bad chunk size")
            })?;
            if size == 0 {
                // Trailers until an empty line.
                loop {
                    let mut t = String::new();
                    if reader.read_line(&mut t)? == 0 {
                        break;
                    }
                    raw.extend_from_slice(t.as_bytes());
                    if t.trim().is_empty() {
                        break;
                    }
                }
                break;
            }
            let mut chunk = vec![0; size + 2]; // data + CRLF
            reader.read_exact(&mut chunk)?;
            raw.extend_from_slice(&chunk);
            body.extend_from_slice(&chunk[..size]);
        }
    } else if let Some(len) = header("content-length").and_then(|v| v.parse::<usize>().ok()) {
        body = vec![0; len];
        reader.read_exact(&mut body)?;
        raw.clone_from(&body);
    }

    lock(requests).push(RecordedRequest {
        method,
        path,
        headers: headers.clone(),
        body,
    });

    // Forward.
    let mut upstream = TcpStream::connect(("127.0.0.1", upstream_port))?;
    upstream.set_read_timeout(Some(IO_TIMEOUT))?;
    upstream.set_write_timeout(Some(IO_TIMEOUT))?;
    let mut out = String::new();
    out.push_str(&request_line);
    out.push_str("\r\n");
    for (k, v) in &headers {
        if k.eq_ignore_ascii_case("connection") || k.eq_ignore_ascii_case("expect") {
            continue;
        }
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str("Connection: close\r\n\r\n");
    upstream.write_all(out.as_bytes())?;
    upstream.write_all(&raw)?;
    upstream.flush()?;

    // Relay the whole response (moto closes after it because of Connection: close).
    let mut response = Vec::new();
    upstream.read_to_end(&mut response)?;
    let response = with_connection_close(&response);
    client_w.write_all(&response)?;
    client_w.flush()?;
    let _ = client_w.shutdown(Shutdown::Both);
    Ok(())
}

/// Replaces any `Connection` header of an HTTP response with `Connection: close`.
fn with_connection_close(response: &[u8]) -> Vec<u8> {
    let Some(end) = response.windows(4).position(|w| w == b"\r\n\r\n") else {
        return response.to_vec();
    };
    let head = String::from_utf8_lossy(&response[..end]);
    let mut out = String::new();
    for line in head.split("\r\n") {
        let is_connection = line
            .split_once(':')
            .is_some_and(|(k, _)| k.trim().eq_ignore_ascii_case("connection"));
        if !is_connection {
            out.push_str(line);
            out.push_str("\r\n");
        }
    }
    out.push_str("Connection: close\r\n\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(&response[end + 4..]);
    bytes
}

// ---------------------------------------------------------------------------------------------
// TestEnv
// ---------------------------------------------------------------------------------------------

/// Whether the tests run inside `scripts/test`'s private session keyring and D-Bus (with an
/// unlocked gnome-keyring), where the product may use the real keyrings.
pub fn private_keyring() -> bool {
    std::env::var("ASSUME_PRIVATE_KEYRING").as_deref() == Ok("1")
}

/// A temp `HOME` (with `~/.aws/config` and `~/.aws/credentials`), a recording proxy in front of
/// one moto, and commands that see only this environment.
pub struct TestEnv {
    dir: TempDir,
    /// Where the product is pointed (`AWS_ENDPOINT_URL`): this env's recording proxy.
    pub endpoint: String,
    /// moto itself, bypassing the recorder.
    pub moto_endpoint: String,
    pub world: Value,
    proxy: RecordingProxy,
}

impl TestEnv {
    pub fn new(moto: &Moto) -> TestEnv {
        let dir = tempfile::Builder::new()
            .prefix("assume-test-")
            .tempdir()
            .expect("create a temp dir for the test env");
        std::fs::create_dir_all(dir.path().join("home").join(".aws")).expect("create HOME/.aws");
        let proxy = RecordingProxy::start(moto.port);
        TestEnv {
            endpoint: format!("http://127.0.0.1:{}", proxy.port),
            moto_endpoint: moto.endpoint.clone(),
            world: moto.world.clone(),
            proxy,
            dir,
        }
    }

    /// The temp dir that holds everything (HOME is `root()/home`); free for other files.
    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    pub fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    /// `HOME/.aws/config` (exported as AWS_CONFIG_FILE).
    pub fn config_path(&self) -> PathBuf {
        self.home().join(".aws").join("config")
    }

    /// `HOME/.aws/credentials` (exported as AWS_SHARED_CREDENTIALS_FILE).
    pub fn credentials_path(&self) -> PathBuf {
        self.home().join(".aws").join("credentials")
    }

    pub fn write_config(&self, contents: &str) {
        std::fs::write(self.config_path(), contents).expect("write AWS config");
    }

    pub fn write_credentials(&self, contents: &str) {
        std::fs::write(self.credentials_path(), contents).expect("write AWS credentials");
    }

    /// `[<profile>]` with the access key of world user `user` ("alice" or "mallory").
    pub fn user_credentials_section(&self, profile: &str, user: &str) -> String {
        let u = &self.world[user];
        let (Some(id), Some(secret)) =
            (u["access_key_id"].as_str(), u["secret_access_key"].as_str())
        else {
            panic!("no user {user:?} in the moto world: {}", self.world)
        };
        format!("[{profile}]\naws_access_key_id={id}\naws_secret_access_key={secret}\n")
    }

    /// Writes the credentials file with only `[alice]` = alice's key.
    pub fn alice_credentials(&self) {
        self.write_credentials(&self.user_credentials_section("alice", "alice"));
    }

    /// The variables every command gets (after clearing the environment):
    /// PATH (the directory of the `assume` binary, then the test process' PATH), HOME,
    /// AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE, AWS_ENDPOINT_URL (this env's recording
    /// proxy), AWS_EC2_METADATA_DISABLED=true, USER=tester, LANG=C.UTF-8, TERM=dumb,
    /// XDG_CACHE_HOME=`root()/cache`; inside `scripts/test`'s private keyring session also
    /// DBUS_SESSION_BUS_ADDRESS and XDG_RUNTIME_DIR, outside it ASSUME_CACHE=file.
    pub fn env_for_shell(&self) -> Vec<(String, String)> {
        let bin_dir = assume_bin()
            .parent()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        let path = match std::env::var("PATH") {
            Ok(p) if !p.is_empty() => format!("{bin_dir}:{p}"),
            _ => format!("{bin_dir}:/usr/local/bin:/usr/bin:/bin"),
        };
        let s = |p: PathBuf| p.display().to_string();
        let mut vars = vec![
            ("PATH".into(), path),
            ("HOME".into(), s(self.home())),
            ("AWS_CONFIG_FILE".into(), s(self.config_path())),
            (
                "AWS_SHARED_CREDENTIALS_FILE".into(),
                s(self.credentials_path()),
            ),
            ("AWS_ENDPOINT_URL".into(), self.endpoint.clone()),
            ("AWS_EC2_METADATA_DISABLED".into(), "true".into()),
            ("USER".into(), "tester".into()),
            ("LANG".into(), "C.UTF-8".into()),
            ("TERM".into(), "dumb".into()),
        ];
        vars.push(("XDG_CACHE_HOME".into(), s(self.root().join("cache"))));
        if private_keyring() {
            // The private session bus of `scripts/test`: its unlocked gnome-keyring is the
            // Secret Service the product finds (its session keyring, the keyutils store).
            vars.extend(
                ["DBUS_SESSION_BUS_ADDRESS", "XDG_RUNTIME_DIR"]
                    .iter()
                    .filter_map(|name| Some((name.to_string(), std::env::var(name).ok()?))),
            );
        } else {
            // Outside it, never touch the developer's own keyrings: files in the temp dir.
            vars.push(("ASSUME_CACHE".into(), "file".into()));
        }
        vars
    }

    /// `assume` (assert_cmd) with only [`TestEnv::env_for_shell`]'s variables, cwd = HOME,
    /// stdin empty unless the test sets `write_stdin`.
    pub fn cmd(&self) -> assert_cmd::Command {
        let mut cmd = assert_cmd::Command::new(assume_bin());
        cmd.env_clear()
            .envs(self.env_for_shell())
            .current_dir(self.home());
        cmd
    }

    /// `assume` as a std Command (for spawn/pipes), same environment as [`TestEnv::cmd`].
    pub fn std_cmd(&self) -> Command {
        self.command(assume_bin())
    }

    /// Any program (e.g. "bash", "zsh", "fish") with the same cleared environment, cwd = HOME.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut cmd = Command::new(program);
        cmd.env_clear()
            .envs(self.env_for_shell())
            .current_dir(self.home());
        cmd
    }

    /// The venv's `aws` CLI with this environment plus `AWS_PAGER=""`.
    pub fn aws(&self) -> Command {
        let mut cmd = self.command(venv_bin("aws"));
        cmd.env("AWS_PAGER", "");
        cmd
    }

    /// A tmux terminal running `shell_command` (via /bin/sh -c) with this environment
    /// (tmux sets TERM=tmux-256color inside the pane).
    pub fn tmux(&self, shell_command: &str) -> Tmux {
        Tmux::new(shell_command, &self.env_for_shell())
    }

    /// Every request this env's proxy forwarded so far.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.proxy.snapshot()
    }

    /// Parameters of every STS request so far (see [`recorded_sts_calls`]).
    pub fn sts_calls(&self) -> Vec<StsCall> {
        self.requests()
            .iter()
            .filter(|r| r.is_sts())
            .map(RecordedRequest::params)
            .collect()
    }

    /// Forget what was recorded so far.
    pub fn clear_recording(&self) {
        lock(&self.proxy.requests).clear();
    }
}

/// Runs `f` and returns the form-decoded parameters of each STS request made *through this env*
/// while it ran, in arrival order (e.g. `calls[0]["Action"] == "AssumeRole"`,
/// `calls[0]["TokenCode"] == "123456"`). Requests are recorded before they are forwarded, so a
/// command that finished inside `f` is fully recorded. Commands must use `env`'s environment
/// (`env.cmd()`, `env.aws()`, `env.command(..)`, `env.tmux(..)`), which points at its proxy.
pub fn recorded_sts_calls(env: &TestEnv, f: impl FnOnce()) -> Vec<StsCall> {
    recorded_requests(env, f)
        .iter()
        .filter(|r| r.is_sts())
        .map(RecordedRequest::params)
        .collect()
}

/// Like [`recorded_sts_calls`] but every request, raw (headers, signing key, body).
pub fn recorded_requests(env: &TestEnv, f: impl FnOnce()) -> Vec<RecordedRequest> {
    let before = lock(&env.proxy.requests).len();
    f();
    lock(&env.proxy.requests)
        .get(before..)
        .map(<[RecordedRequest]>::to_vec)
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// tmux
// ---------------------------------------------------------------------------------------------

/// A real terminal: a private tmux server (its own socket in a temp dir) with one 160x40 window
/// running a command. The pane stays after the command exits (remain-on-exit), so its last
/// screen and exit status can still be read. The server is killed on drop.
pub struct Tmux {
    dir: TempDir,
    socket: PathBuf,
    status: PathBuf,
}

impl Tmux {
    /// Starts `tmux -S <sock> -f <conf> new-session -d -x 160 -y 40 -s t <shell_command>` (the
    /// command runs under `/bin/sh -c`); the server (and so the pane) gets exactly `env` (tmux
    /// adds TERM=tmux-256color, TMUX, TMUX_PANE).
    pub fn new(shell_command: &str, env: &[(String, String)]) -> Tmux {
        let dir = tempfile::Builder::new()
            .prefix("assume-tmux-")
            .tempdir()
            .expect("create a temp dir for tmux");
        let conf = dir.path().join("tmux.conf");
        std::fs::write(
            &conf,
            "set -g remain-on-exit on\nset -g status off\nset -g history-limit 10000\n\
             set -g default-shell /bin/sh\nset -g escape-time 0\n",
        )
        .expect("write tmux.conf");
        let socket = dir.path().join("sock");
        let status = dir.path().join("exit-status");
        // Run the command in a child sh and record its exit status ourselves: tmux 3.3 sometimes
        // leaves the dead pane's process unreaped for seconds (pane_dead=1, no status). The outer
        // sh *catches* INT (a caught signal is reset to default in children, an ignored one would
        // be inherited), so a C-c reaches the command but the status is still written.
        let wrapped = format!(
            "trap : INT; /bin/sh -c {}; echo \"$?\" > {}",
            sh_quote(shell_command),
            sh_quote(&status.display().to_string())
        );
        let out = Command::new("tmux")
            .arg("-u")
            .arg("-S")
            .arg(&socket)
            .arg("-f")
            .arg(&conf)
            .args(["new-session", "-d", "-x", "160", "-y", "40", "-s", "t"])
            .arg(&wrapped)
            .env_clear()
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .output()
            .expect("run tmux (is it installed? scripts/test installs it)");
        assert!(
            out.status.success(),
            "tmux new-session failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Tmux {
            dir,
            socket,
            status,
        }
    }

    fn tmux(&self, args: &[&str]) -> std::process::Output {
        Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("run tmux")
    }

    fn tmux_ok(&self, args: &[&str]) -> String {
        let out = self.tmux(args);
        assert!(
            out.status.success(),
            "tmux {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// tmux key names and words, whitespace-separated: `send_keys("123456 Enter")`,
    /// `send_keys("C-c")`, `send_keys("Down Down Enter")`. Words that are not key names are
    /// typed literally.
    pub fn send_keys(&self, keys: &str) {
        let mut args = vec!["send-keys", "-t", "t"];
        args.extend(keys.split_whitespace());
        self.tmux_ok(&args);
    }

    /// Types `text` literally (no key-name lookup).
    pub fn send_text(&self, text: &str) {
        self.tmux_ok(&["send-keys", "-t", "t", "-l", text]);
    }

    /// Types `text` literally, then Enter.
    pub fn send_line(&self, text: &str) {
        self.send_text(text);
        self.send_keys("Enter");
    }

    /// Scrollback plus the visible screen (`capture-pane -p -J -S -`), lines joined where tmux
    /// wrapped them, trailing blanks trimmed. History is included because lines can scroll off
    /// the top (tmux itself scrolls by one when it writes "Pane is dead" at the bottom).
    pub fn capture(&self) -> String {
        trim_screen(&self.tmux_ok(&["capture-pane", "-p", "-J", "-S", "-", "-t", "t"]))
    }

    /// Only the visible 160x40 screen.
    pub fn screen(&self) -> String {
        trim_screen(&self.tmux_ok(&["capture-pane", "-p", "-J", "-t", "t"]))
    }

    /// Polls [`Tmux::capture`] every 50 ms until it contains `needle`; returns the capture.
    /// Panics with the capture after `timeout`.
    pub fn wait_for(&self, needle: &str, timeout: Duration) -> String {
        self.wait_for_count(needle, 1, timeout)
    }

    /// Like [`Tmux::wait_for`] but until `needle` occurs at least `count` times (e.g. the
    /// second MFA prompt).
    pub fn wait_for_count(&self, needle: &str, count: usize, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let screen = self.capture();
            if screen.matches(needle).count() >= count {
                return screen;
            }
            if Instant::now() >= deadline {
                panic!(
                    "{needle:?} did not appear {count} time(s) within {timeout:?}; the terminal:\n{screen}"
                );
            }
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// Exit status of the command once it has exited (None while it runs); killed by signal N
    /// → `128 + N`, as a shell reports it.
    pub fn exit_status(&self) -> Option<i32> {
        let text = std::fs::read_to_string(&self.status).ok()?;
        // Written by `echo`: complete once the newline is there.
        text.strip_suffix('\n')?.trim().parse().ok()
    }

    /// Waits until the pane's command exits; returns its status. Panics with the screen after
    /// `timeout`.
    pub fn wait_exit(&self, timeout: Duration) -> i32 {
        poll_until(timeout, || self.exit_status()).unwrap_or_else(|| {
            panic!(
                "the command in tmux did not exit within {timeout:?}; the screen:\n{}",
                self.capture()
            )
        })
    }

    /// The temp dir of this terminal (free for scratch files).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

/// `it's` → `'it'\''s'` (POSIX sh single quoting).
pub fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

fn trim_screen(raw: &str) -> String {
    let lines: Vec<&str> = raw.lines().map(str::trim_end).collect();
    let keep = lines
        .iter()
        .rposition(|l| !l.is_empty())
        .map_or(0, |i| i + 1);
    lines[..keep].join("\n")
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.tmux(&["kill-server"]);
    }
}

// ---------------------------------------------------------------------------------------------
// Small assertions shared by the test binaries
// ---------------------------------------------------------------------------------------------

pub fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub fn assert_success(what: &str, out: &std::process::Output) {
    assert!(
        out.status.success(),
        "{what} failed ({}):\nstdout: {}\nstderr: {}",
        out.status,
        stdout(out),
        stderr(out)
    );
}

/// `env -0` output → variables.
pub fn parse_env0(bytes: &[u8]) -> HashMap<String, String> {
    bytes
        .split(|b| *b == 0)
        .filter_map(|entry| {
            let entry = String::from_utf8_lossy(entry);
            let (k, v) = entry.split_once('=')?;
            Some((k.to_string(), v.to_string()))
        })
        .collect()
}

/// Seconds since the Unix epoch, by this machine's clock.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("the clock reads after 1970")
        .as_secs()
}

/// Makes the file store's entry at `path` look as if time had passed: its credentials now
/// expire `left` seconds from now (rewritten in place, as a day of waiting would leave it).
/// What a refresh does with it is then up to `--min-ttl`, without waiting for real.
pub fn age_file_entry(path: &Path, left: u64) {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("no cache entry {}: {e}", path.display()));
    let mut entry: Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{} is not JSON ({e})", path.display()));
    assert!(
        entry.get("expires_at").is_some_and(Value::is_u64),
        "{} has no expires_at: {entry}",
        path.display()
    );
    entry["expires_at"] = Value::from(unix_now() + left);
    std::fs::write(path, entry.to_string()).expect("rewrite the cache entry");
}

/// `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)`.
pub fn is_rfc3339(s: &str) -> bool {
    let b = s.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| r.clone().all(|i| b.get(i).is_some_and(u8::is_ascii_digit));
    if b.len() < 20
        || !digits(0..4)
        || b[4] != b'-'
        || !digits(5..7)
        || b[7] != b'-'
        || !digits(8..10)
        || !matches!(b[10], b'T' | b't')
        || !digits(11..13)
        || b[13] != b':'
        || !digits(14..16)
        || b[16] != b':'
        || !digits(17..19)
    {
        return false;
    }
    let mut rest = &s[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        let n = frac.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return false;
        }
        rest = &frac[n..];
    }
    match rest.as_bytes() {
        [b'Z' | b'z'] => true,
        [b'+' | b'-', h1, h2, b':', m1, m2] => [h1, h2, m1, m2].iter().all(|c| c.is_ascii_digit()),
        _ => false,
    }
}
