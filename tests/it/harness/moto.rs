//! moto: one server per test binary (and one with auth mode on), the world in it, and a tiny
//! std-only HTTP client for its control API.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::{IO_TIMEOUT, poll_until, repo_root, venv, wait_until};

/// Moto's fixed account id.
pub const ACCOUNT_ID: &str = "123456789012";

/// moto's GetSessionToken always answers with these (tests/support, TESTING.md).
pub const MFA_SESSION_KEY_ID: &str = "AKIAIOSFODNN7EXAMPLE";

pub const MFA_SESSION_SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY";

/// How long moto may take to start (python import + bind) before we give up.
const MOTO_START_TIMEOUT: Duration = Duration::from_secs(20);

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

/// A running moto server and the world `moto_world.py` created in it.
///
/// `world` looks like:
/// `{"account_id", "external_id", "alice": {"user_name","access_key_id","secret_access_key","arn"},
///   "mallory": {...}, "roles": {"Administrators": ARN, "ReadOnly", "AliceOnly", "Partner",
///   "Chained", "ChainedAny"}, "mfa_serials": {"alice": ARN, "mallory": ARN}}`
/// (see tests/support/moto_world.py for the trust policies).
pub struct Moto {
    /// moto's own port (no recording): a [`TestEnv`](super::TestEnv) points the product at its
    /// recording proxy in front of it.
    pub port: u16,
    pub world: Value,
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
        port,
        world,
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
}
