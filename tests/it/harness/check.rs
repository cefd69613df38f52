//! Output assertions the modules share: success and the common promise of a failure, the
//! exports as bash reads them, the credential_process document, the role's variables, times.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

use super::{RUN_TIMEOUT, TestEnv};

/// Variables by name, as a shell or a process environment holds them.
pub type Vars = HashMap<String, String>;

pub fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Bytes as text (lossy).
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// What ran, as [`assert_success`] names it: a description, or the arguments of `assume`.
pub trait Ran {
    fn describe(&self) -> String;
}

impl Ran for str {
    fn describe(&self) -> String {
        self.to_string()
    }
}

impl Ran for String {
    fn describe(&self) -> String {
        self.clone()
    }
}

impl Ran for [&str] {
    fn describe(&self) -> String {
        format!("assume {self:?}")
    }
}

impl<const N: usize> Ran for [&str; N] {
    fn describe(&self) -> String {
        self.as_slice().describe()
    }
}

impl Ran for Vec<&str> {
    fn describe(&self) -> String {
        self.as_slice().describe()
    }
}

/// Fails, with the status, stdout and stderr of `out`, unless it is a success.
pub fn assert_success(what: &(impl Ran + ?Sized), out: &Output) {
    assert!(
        out.status.success(),
        "{} failed ({}):\nstdout: {}\nstderr: {}",
        what.describe(),
        out.status,
        stdout(out),
        stderr(out)
    );
}

/// The common promise of a failure: this code, one `assume: …` line holding `fragment`, nothing
/// on stdout, no panic. Returns the problems found (empty when all is well).
pub fn check_failure(out: &Output, code: i32, fragment: &str) -> Vec<String> {
    let stderr = text(&out.stderr);
    let mut problems = Vec::new();
    let actual = out.status.code();
    if actual != Some(code) {
        problems.push(format!("exit {actual:?}, expected {code}"));
    }
    if actual == Some(101) || stderr.contains("panicked") {
        problems.push("panicked".into());
    }
    if !out.stdout.is_empty() {
        problems.push(format!("stdout is not empty: {:?}", text(&out.stdout)));
    }
    let lines: Vec<&str> = stderr.trim().lines().collect();
    if lines.len() != 1 || !lines[0].starts_with("assume: ") {
        problems.push(format!(
            "stderr is not exactly one `assume: …` line ({} lines)",
            lines.len()
        ));
    }
    if !stderr.contains(fragment) {
        problems.push(format!("stderr lacks {fragment:?}"));
    }
    if let Some(c) = stderr.chars().find(|c| c.is_control() && *c != '\n') {
        problems.push(format!("stderr holds the raw control character {c:?}"));
    }
    problems
}

/// `assume` with exports on stdout, run to its end (exit 0, no panic): the exports printed and
/// the lines of stderr.
pub fn succeed(cmd: &mut assert_cmd::Command) -> (String, Vec<String>) {
    let out = cmd.timeout(RUN_TIMEOUT).output().unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "stderr: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("export AWS_SECRET_ACCESS_KEY="),
        "no exports: {stdout:?}; stderr: {stderr}"
    );
    (stdout, stderr.lines().map(str::to_string).collect())
}

/// The `export AWS_ACCESS_KEY_ID=…` line of bash exports.
pub fn key_id(exports: &str) -> String {
    exports
        .lines()
        .find(|l| l.starts_with("export AWS_ACCESS_KEY_ID="))
        .unwrap_or_else(|| panic!("no AWS_ACCESS_KEY_ID in {exports:?}"))
        .to_string()
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

/// The variables bash has after evaluating `exports` (what `assume` prints for bash) with
/// `bash`, a `bash` command with the test's environment.
pub fn exported_vars(bash: &mut Command, exports: &[u8]) -> Vars {
    let script = format!(
        "{}\nenv -0",
        String::from_utf8(exports.to_vec()).expect("utf-8 exports")
    );
    let shown = bash.args(["-c", &script]).output().expect("run bash");
    assert_success("bash evaluating the exports", &shown);
    parse_env0(&shown.stdout)
}

/// The variables bash has after running the (bash) code in `file`.
pub fn sourced_vars(env: &TestEnv, file: &Path) -> Vars {
    let code = std::fs::read(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    exported_vars(&mut env.command("bash"), &code)
}

/// Exactly `{"Version": 1, "AccessKeyId", "SecretAccessKey", "SessionToken", "Expiration"}`.
pub fn check_credential_process_json(stdout: &[u8]) -> Value {
    let json: Value = serde_json::from_slice(stdout).unwrap_or_else(|e| {
        panic!(
            "credential-process printed something else than one JSON document ({e}): {}",
            String::from_utf8_lossy(stdout)
        )
    });
    let obj = json.as_object().expect("a JSON object");
    let keys: HashSet<&str> = obj.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        HashSet::from([
            "Version",
            "AccessKeyId",
            "SecretAccessKey",
            "SessionToken",
            "Expiration"
        ]),
        "{json}"
    );
    assert!(
        json["Version"].is_u64(),
        "Version is not an integer: {json}"
    );
    assert_eq!(json["Version"], Value::from(1), "{json}");
    for k in ["AccessKeyId", "SecretAccessKey", "SessionToken"] {
        assert!(
            json[k].as_str().is_some_and(|s| !s.is_empty()),
            "{k}: {json}"
        );
    }
    let exp = json["Expiration"].as_str().unwrap_or_default();
    assert!(is_rfc3339(exp), "Expiration is not RFC 3339: {json}");
    json
}

/// Stale values a caller's environment may hold; every one must be replaced or removed.
pub const STALE: [(&str, &str); 9] = [
    ("AWS_PROFILE", "alice"),
    ("AWS_DEFAULT_PROFILE", "alice"),
    ("AWS_SECURITY_TOKEN", "stale-security-token"),
    ("AWS_ACCESS_KEY_ID", "AKIASTALESTALESTALE0"),
    ("AWS_SECRET_ACCESS_KEY", "stale-secret"),
    ("AWS_SESSION_TOKEN", "stale-session-token"),
    ("AWS_CREDENTIAL_EXPIRATION", "2000-01-01T00:00:00Z"),
    ("AWS_REGION", "us-west-2"),
    ("AWS_DEFAULT_REGION", "us-west-2"),
];

/// The variables a role's credentials must be exported as (profile `admin`, region of alice).
pub fn assert_role_variables(vars: &HashMap<String, String>, profile: &str, context: &str) {
    let get = |k: &str| {
        vars.get(k)
            .unwrap_or_else(|| panic!("{context}: {k} is not set; the environment: {vars:?}"))
    };
    assert!(
        get("AWS_ACCESS_KEY_ID").starts_with("ASIA"),
        "{context}: {vars:?}"
    );
    assert!(!get("AWS_SECRET_ACCESS_KEY").is_empty(), "{context}");
    assert!(!get("AWS_SESSION_TOKEN").is_empty(), "{context}");
    assert!(
        is_rfc3339(get("AWS_CREDENTIAL_EXPIRATION")),
        "{context}: AWS_CREDENTIAL_EXPIRATION is not RFC 3339: {:?}",
        vars.get("AWS_CREDENTIAL_EXPIRATION")
    );
    assert_eq!(get("AWS_REGION"), "eu-west-1", "{context}");
    assert_eq!(get("AWS_DEFAULT_REGION"), "eu-west-1", "{context}");
    assert_eq!(get("ASSUME_PROFILE"), profile, "{context}");
    for gone in ["AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SECURITY_TOKEN"] {
        assert!(
            !vars.contains_key(gone),
            "{context}: {gone} must be removed, is {:?}",
            vars.get(gone)
        );
    }
}

/// Seconds since the Unix epoch, by this machine's clock.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("the clock reads after 1970")
        .as_secs()
}

/// Seconds since the epoch of `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)`; None if not that shape.
pub fn rfc3339_secs(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = s.get(r)?;
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let mut rest = &s[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        let n = frac.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return None;
        }
        rest = &frac[n..];
    }
    let offset = match rest.as_bytes() {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), ..] if rest.len() == 6 && &rest[3..4] == ":" => {
            let oh: i64 = rest[1..3].parse().ok()?;
            let om: i64 = rest[4..6].parse().ok()?;
            let o = oh * 3600 + om * 60;
            if *sign == b'+' { o } else { -o }
        }
        _ => return None,
    };
    // Days from civil (Howard Hinnant).
    let y = if mo <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + h * 3600 + mi * 60 + sec - offset)
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

/// Every regular file under `dir`, recursively (symlinks not followed).
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(meta) = std::fs::symlink_metadata(&path) else {
                continue;
            };
            if meta.is_dir() {
                stack.push(path);
            } else if meta.is_file() {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// `chmod 755`.
pub fn make_executable(path: &Path) {
    let mut perms = std::fs::metadata(path).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(path, perms).unwrap();
}
