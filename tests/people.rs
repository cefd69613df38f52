//! The people-facing commands, end to end: the profile picker in a real terminal
//! (tmux) and its recently-used list, `assume list`, `assume whoami`, `assume console` against a
//! local federation endpoint, `mfa_process`, the AccessDenied diagnosis under moto's auth mode,
//! `--help`/`--version`, and quiet, colourless feedback.
//!
//! Real parts only: moto on the wire (through each [`TestEnv`]'s recording proxy), real shells,
//! a real terminal (tmux). The federation endpoint (signin.aws.amazon.com) is played by a small
//! HTTP server in this file, which the product reaches through `ASSUME_FEDERATION_ENDPOINT`.
//!
//! Isolation: every test has its own TestEnv (own HOME, config, state and cache dirs, proxy)
//! and its own `mfa_serial` (moto never checks it), so MFA sessions, cached per (access key id,
//! MFA device) in the Secret Service all tests share, never leak from one test into another.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::{
    StsCall, TestEnv, Tmux, assert_success, moto, moto_with_auth, parse_env0, recorded_sts_calls,
    sh_quote, stderr, stdout,
};
use serde_json::Value;

/// How long to wait for a prompt, a screen or an exit.
const WAIT: Duration = Duration::from_secs(15);

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// A process-wide unique suffix, for this test's own `mfa_serial`.
fn unique_suffix() -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst)
    )
}

/// One test's world: its TestEnv (alice's keys in the credentials file) and its MFA device.
struct Cx {
    env: TestEnv,
    mfa: String,
}

/// Profiles: `alice` (static keys, region eu-west-1), `admin` and `readonly` (roles behind
/// this test's MFA device), `zeta` (a role without MFA), plus `extra` appended verbatim.
fn cx_with(label: &str, extra: &str) -> Cx {
    let m = moto();
    let env = TestEnv::new(m);
    let mfa = format!(
        "arn:aws:iam::123456789012:mfa/people-{label}-{}",
        unique_suffix()
    );
    env.write_config(&format!(
        "[profile alice]\nregion = eu-west-1\n\
         [profile admin]\nrole_arn = {admin}\nsource_profile = alice\nmfa_serial = {mfa}\n\
         [profile readonly]\nrole_arn = {readonly}\nsource_profile = alice\nmfa_serial = {mfa}\n\
         [profile zeta]\nrole_arn = {admin}\nsource_profile = alice\n{extra}",
        admin = m.role_arn("Administrators"),
        readonly = m.role_arn("ReadOnly"),
    ));
    env.alice_credentials();
    Cx { env, mfa }
}

fn cx(label: &str) -> Cx {
    cx_with(label, "")
}

/// The variables bash has after running the (bash) code in `file`.
fn sourced_vars(env: &TestEnv, file: &Path) -> HashMap<String, String> {
    let out = env
        .command("bash")
        .arg("-c")
        .arg(format!(
            ". {} && env -0",
            sh_quote(&file.display().to_string())
        ))
        .output()
        .unwrap();
    assert_success("bash sourcing assume's output", &out);
    parse_env0(&out.stdout)
}

fn actions(calls: &[StsCall]) -> Vec<&str> {
    calls.iter().map(|c| c["Action"].as_str()).collect()
}

/// `~/.local/state/assume/recent` of this env (XDG_STATE_HOME is not set by the harness).
fn recent_path(env: &TestEnv) -> PathBuf {
    env.home()
        .join(".local")
        .join("state")
        .join("assume")
        .join("recent")
}

/// The recently-used profile names, most recent first (none when the file does not exist).
fn recent(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

/// Seconds since the epoch of `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)`; None if not that shape.
fn rfc3339_secs(s: &str) -> Option<i64> {
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

fn now_secs() -> i64 {
    i64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap()
}

/// Index of the first screen line whose last word is `name` (a picker row).
fn row_of(screen: &str, name: &str) -> Option<usize> {
    screen
        .lines()
        .position(|line| line.split_whitespace().last() == Some(name))
}

/// `capture-pane -p -e`: the visible screen with its SGR escape sequences.
fn capture_with_escapes(tmux: &Tmux) -> String {
    let out = Command::new("tmux")
        .arg("-S")
        .arg(tmux.dir().join("sock"))
        .args(["capture-pane", "-p", "-e", "-J", "-S", "-", "-t", "t"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "tmux capture-pane -e failed: {}",
        stderr(&out)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Every SGR sequence (`ESC [ … m`) that sets a foreground or background colour.
fn color_sequences(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("\x1b[") {
        let after = &rest[start + 2..];
        let end = after
            .find(|c: char| !(c.is_ascii_digit() || c == ';' || c == ':'))
            .unwrap_or(after.len());
        if after[end..].starts_with('m') {
            let params = &after[..end];
            let colored = params.split([';', ':']).any(|p| {
                matches!(
                    p.parse::<u32>(),
                    Ok(30..=38 | 40..=48 | 90..=97 | 100..=107)
                )
            });
            if colored {
                found.push(format!("ESC[{params}m"));
            }
        }
        rest = &after[end..];
    }
    found
}

// ---------------------------------------------------------------------------------------------
// A federation endpoint (signin.aws.amazon.com/federation), played on loopback
// ---------------------------------------------------------------------------------------------

/// One request the federation endpoint got.
#[derive(Clone, Debug)]
struct FedRequest {
    method: String,
    /// The request target: `/federation` or `/federation?…`.
    target: String,
    /// The request line and the header lines, as sent.
    head: String,
    body: String,
}

/// What the federation endpoint answers: a fixed body, or the request itself (as an error
/// page that quotes what it was sent would).
#[derive(Clone, Copy)]
enum Answer {
    Fixed(&'static str),
    Echo,
}

/// A tiny HTTP server answering every request with one fixed status and body (or an echo of
/// the request), recording each request. Its threads live until the test binary exits.
struct Federation {
    /// `http://127.0.0.1:PORT/federation`, for `ASSUME_FEDERATION_ENDPOINT`.
    endpoint: String,
    requests: Arc<Mutex<Vec<FedRequest>>>,
}

impl Federation {
    fn start(status: u16, body: &'static str) -> Federation {
        Federation::answering(status, Answer::Fixed(body))
    }

    /// Answers `status` with a body that repeats the whole request, headers and body.
    fn echo(status: u16) -> Federation {
        Federation::answering(status, Answer::Echo)
    }

    fn answering(status: u16, answer: Answer) -> Federation {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let recorded = Arc::clone(&requests);
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let recorded = Arc::clone(&recorded);
                std::thread::spawn(move || {
                    let _ = conn.set_read_timeout(Some(Duration::from_secs(10)));
                    let mut reader = BufReader::new(conn.try_clone().unwrap());
                    let mut head = String::new();
                    if reader.read_line(&mut head).unwrap_or(0) == 0 {
                        return;
                    }
                    let request_line = head.clone();
                    let mut content_length = 0usize;
                    loop {
                        let mut line = String::new();
                        match reader.read_line(&mut line) {
                            Ok(0) | Err(_) => break,
                            Ok(_) if line.trim().is_empty() => break,
                            Ok(_) => {}
                        }
                        if let Some((name, value)) = line.split_once(':')
                            && name.trim().eq_ignore_ascii_case("content-length")
                        {
                            content_length = value.trim().parse().unwrap_or(0);
                        }
                        head.push_str(&line);
                    }
                    let mut body = vec![0; content_length.min(1 << 20)];
                    let _ = std::io::Read::read_exact(&mut reader, &mut body);
                    let body = String::from_utf8_lossy(&body).into_owned();
                    let mut words = request_line.split_whitespace();
                    let request = FedRequest {
                        method: words.next().unwrap_or_default().to_string(),
                        target: words.next().unwrap_or_default().to_string(),
                        head,
                        body,
                    };
                    let body = match answer {
                        Answer::Fixed(body) => body.to_string(),
                        Answer::Echo => format!("You sent:\n{}\n{}", request.head, request.body),
                    };
                    recorded
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .push(request);
                    let reason = if status == 200 { "OK" } else { "Error" };
                    let response = format!(
                        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n\
                         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let mut conn = conn;
                    let _ = conn.write_all(response.as_bytes());
                    let _ = conn.flush();
                });
            }
        });
        Federation {
            endpoint: format!("http://127.0.0.1:{port}/federation"),
            requests,
        }
    }

    /// The signin server that answers `{"SigninToken":"tok-123"}`.
    fn ok() -> Federation {
        Federation::start(200, r#"{"SigninToken":"tok-123"}"#)
    }

    /// Every request so far.
    fn requests(&self) -> Vec<FedRequest> {
        self.requests
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

/// The query parameters of a URL or request target (after the first `?`), decoded.
fn query(url: &str) -> HashMap<String, String> {
    url.split_once('?')
        .map(|(_, q)| common::form_decode(q))
        .unwrap_or_default()
}

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
    let params = common::form_decode(&request.body);
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

// ---------------------------------------------------------------------------------------------
// 1. The picker
// ---------------------------------------------------------------------------------------------

/// `assume` with no profile in a terminal: type part of a name, Enter, the MFA prompt, and the
/// exports of the chosen profile; the recently-used list then starts with it.
#[test]
fn picker_types_part_of_a_name_then_asks_for_mfa() {
    let cx = cx("picker");
    let env = &cx.env;
    let out = env.root().join("out");
    let calls = recorded_sts_calls(env, || {
        let tmux = env.tmux(&format!(
            "SHELL=/bin/bash assume >{}; echo exit-$?",
            sh_quote(&out.display().to_string())
        ));
        tmux.wait_for("Profile", WAIT);
        tmux.send_text("adm");
        // Filtered: readonly, zeta and alice leave the list.
        let filtered = common::poll_until(WAIT, || {
            let screen = tmux.screen();
            (screen.contains("admin") && !screen.contains("readonly") && !screen.contains("zeta"))
                .then_some(screen)
        });
        assert!(
            filtered.is_some(),
            "typing `adm` did not filter the list to admin:\n{}",
            tmux.capture()
        );
        tmux.send_keys("Enter");
        tmux.wait_for(&format!("MFA code for {}", cx.mfa), WAIT);
        tmux.send_line("123456");
        let screen = tmux.wait_for("exit-", WAIT);
        assert!(screen.contains("exit-0"), "{screen}");
    });
    let vars = sourced_vars(env, &out);
    assert_eq!(
        vars.get("ASSUME_PROFILE").map(String::as_str),
        Some("admin")
    );
    assert!(
        vars.get("AWS_ACCESS_KEY_ID")
            .is_some_and(|k| k.starts_with("ASIA")),
        "{vars:?}"
    );
    assert!(vars.get("AWS_SESSION_TOKEN").is_some_and(|t| !t.is_empty()));
    assert_eq!(
        vars.get("AWS_REGION").map(String::as_str),
        Some("eu-west-1")
    );
    // Exactly as if `assume admin` had been typed: the code on GetSessionToken, then the role.
    assert_eq!(
        actions(&calls),
        ["GetSessionToken", "AssumeRole"],
        "{calls:?}"
    );
    assert_eq!(calls[0]["TokenCode"], "123456");
    assert_eq!(calls[0]["SerialNumber"], cx.mfa);
    assert_eq!(calls[1]["RoleArn"], moto().role_arn("Administrators"));
    assert_eq!(recent(&recent_path(env)), ["admin"]);
}

/// Role profiles first — the recently used one on top, then alphabetical — then the others;
/// Esc ends with status 2 and prints nothing.
#[test]
fn picker_lists_recent_roles_first_and_esc_is_exit_2() {
    let cx = cx_with("order", "[profile bkeys]\nregion = eu-west-1\n");
    let env = &cx.env;
    let out = env
        .cmd()
        .args(["readonly", "--token-code", "123456"])
        .env("SHELL", "/bin/bash")
        .output()
        .unwrap();
    assert_success("assume readonly", &out);
    assert_eq!(recent(&recent_path(env)), ["readonly"]);

    let outfile = env.root().join("out");
    let tmux = env.tmux(&format!(
        "assume >{}; echo exit-$?",
        sh_quote(&outfile.display().to_string())
    ));
    tmux.wait_for("Profile", WAIT);
    let screen = common::poll_until(WAIT, || {
        let screen = tmux.screen();
        ["readonly", "admin", "zeta", "alice", "bkeys"]
            .iter()
            .all(|name| row_of(&screen, name).is_some())
            .then_some(screen)
    })
    .unwrap_or_else(|| {
        panic!(
            "the picker does not list every profile:\n{}",
            tmux.capture()
        )
    });
    let row = |name| row_of(&screen, name).unwrap();
    assert!(
        row("readonly") < row("admin"),
        "the recently used readonly is not above admin:\n{screen}"
    );
    assert!(
        row("admin") < row("zeta"),
        "roles are not alphabetical after the recent ones:\n{screen}"
    );
    for other in ["alice", "bkeys"] {
        assert!(
            row("zeta") < row(other),
            "the non-role profile {other} is not after the roles:\n{screen}"
        );
    }

    tmux.send_keys("Escape");
    let screen = tmux.wait_for("exit-", WAIT);
    assert!(screen.contains("exit-2"), "Esc: {screen}");
    assert_eq!(std::fs::read_to_string(&outfile).unwrap(), "");
    assert_eq!(recent(&recent_path(env)), ["readonly"]);
}

/// The picker reads the recent file as documented (one name per line, most recent first):
/// names no longer in the config are skipped, recent roles lead in that order.
#[test]
fn picker_reads_the_recent_file() {
    let cx = cx("recent-file");
    let env = &cx.env;
    let path = recent_path(env);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, "ghost\nzeta\nadmin\n").unwrap();
    let tmux = env.tmux("assume >/dev/null; echo exit-$?");
    tmux.wait_for("Profile", WAIT);
    let screen = common::poll_until(WAIT, || {
        let screen = tmux.screen();
        ["zeta", "admin", "readonly", "alice"]
            .iter()
            .all(|name| row_of(&screen, name).is_some())
            .then_some(screen)
    })
    .unwrap_or_else(|| {
        panic!(
            "the picker does not list every profile:\n{}",
            tmux.capture()
        )
    });
    let row = |name| row_of(&screen, name).unwrap();
    assert!(
        row("zeta") < row("admin")
            && row("admin") < row("readonly")
            && row("readonly") < row("alice"),
        "not zeta, admin, readonly, then alice:\n{screen}"
    );
    assert!(
        row_of(&screen, "ghost").is_none(),
        "a profile that does not exist is listed:\n{screen}"
    );
    tmux.send_keys("Escape");
    let screen = tmux.wait_for("exit-", WAIT);
    assert!(screen.contains("exit-2"), "{screen}");
}

/// No PROFILE, no AWS_PROFILE and no terminal: status 2, a message asking for a profile,
/// nothing on stdout, nothing sent.
#[test]
fn no_profile_and_no_terminal_is_a_usage_error() {
    let cx = cx("noterm");
    let env = &cx.env;
    for args in [
        &["--token-code", "123456"][..],
        &["console", "--print"][..],
        &["shell", "--shell-path", "/bin/true"][..],
    ] {
        let mut out = None;
        let calls = recorded_sts_calls(env, || {
            // setsid: a new session, so there is no controlling terminal (/dev/tty) either.
            out = Some(
                env.command("setsid")
                    .arg("--wait")
                    .arg(common::assume_bin())
                    .args(args)
                    .env(
                        "ASSUME_FEDERATION_ENDPOINT",
                        "http://127.0.0.1:9/federation",
                    )
                    .stdin(Stdio::null())
                    .output()
                    .unwrap(),
            );
        });
        let out = out.unwrap();
        assert_eq!(
            out.status.code(),
            Some(2),
            "assume {args:?}: stdout: {}\nstderr: {}",
            stdout(&out),
            stderr(&out)
        );
        assert!(
            stderr(&out).to_lowercase().contains("no profile"),
            "assume {args:?}: the message does not ask for a profile: {}",
            stderr(&out)
        );
        assert!(stdout(&out).is_empty(), "{}", stdout(&out));
        assert!(calls.is_empty(), "assume {args:?}: {calls:?}");
    }
    assert!(recent(&recent_path(env)).is_empty());
}

/// With AWS_PROFILE set, `assume` in a terminal takes it and opens no picker.
#[test]
fn aws_profile_set_means_no_picker() {
    let cx = cx("awsprofile");
    let env = &cx.env;
    let out = env.root().join("out");
    let tmux = env.tmux(&format!(
        "AWS_PROFILE=zeta SHELL=/bin/bash assume >{}; echo exit-$?",
        sh_quote(&out.display().to_string())
    ));
    let screen = tmux.wait_for("exit-", WAIT);
    assert!(screen.contains("exit-0"), "{screen}");
    assert!(!screen.contains("Profile"), "a picker opened:\n{screen}");
    let vars = sourced_vars(env, &out);
    assert_eq!(vars.get("ASSUME_PROFILE").map(String::as_str), Some("zeta"));
}

/// The same picker serves `exec`.
#[test]
fn picker_serves_exec() {
    let cx = cx("exec");
    let env = &cx.env;
    let out = env.root().join("out");
    let tmux = env.tmux(&format!(
        "assume exec --token-code 123456 -- printenv ASSUME_PROFILE >{}; echo exit-$?",
        sh_quote(&out.display().to_string())
    ));
    tmux.wait_for("Profile", WAIT);
    tmux.send_text("reado");
    common::poll_until(WAIT, || {
        let s = tmux.screen();
        (!s.contains("admin") && s.contains("readonly")).then_some(())
    })
    .unwrap_or_else(|| panic!("`reado` did not filter the list:\n{}", tmux.capture()));
    tmux.send_keys("Enter");
    let screen = tmux.wait_for("exit-", WAIT);
    assert!(screen.contains("exit-0"), "{screen}");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "readonly\n");
    assert_eq!(recent(&recent_path(env)), ["readonly"]);
}

/// The same picker serves `shell`.
#[test]
fn picker_serves_shell() {
    let cx = cx("shell");
    let env = &cx.env;
    let tmux = env.tmux("assume shell --shell-path /bin/sh; echo exit-$?");
    tmux.wait_for("Profile", WAIT);
    tmux.send_text("zet");
    common::poll_until(WAIT, || {
        let s = tmux.screen();
        (!s.contains("admin") && s.contains("zeta")).then_some(())
    })
    .unwrap_or_else(|| panic!("`zet` did not filter the list:\n{}", tmux.capture()));
    tmux.send_keys("Enter");
    tmux.wait_for("expire", WAIT);
    tmux.send_line("echo \"profile=[$ASSUME_PROFILE] shell=[$ASSUME_SHELL]\"");
    tmux.wait_for("profile=[zeta] shell=[zeta]", WAIT);
    tmux.send_line("exit");
    let screen = tmux.wait_for("exit-", WAIT);
    assert!(screen.contains("exit-0"), "{screen}");
    assert_eq!(recent(&recent_path(env)), ["zeta"]);
}

/// The same picker serves `console`.
#[test]
fn picker_serves_console() {
    let cx = cx("console-picker");
    let env = &cx.env;
    let fed = Federation::ok();
    let out = env.root().join("out");
    let tmux = env.tmux(&format!(
        "ASSUME_FEDERATION_ENDPOINT={} assume console --print >{}; echo exit-$?",
        sh_quote(&fed.endpoint),
        sh_quote(&out.display().to_string())
    ));
    tmux.wait_for("Profile", WAIT);
    tmux.send_text("reado");
    common::poll_until(WAIT, || {
        let s = tmux.screen();
        (!s.contains("admin") && s.contains("readonly")).then_some(())
    })
    .unwrap_or_else(|| panic!("`reado` did not filter the list:\n{}", tmux.capture()));
    tmux.send_keys("Enter");
    tmux.wait_for(&format!("MFA code for {}", cx.mfa), WAIT);
    tmux.send_line("123456");
    let screen = tmux.wait_for("exit-", WAIT);
    assert!(screen.contains("exit-0"), "{screen}");
    let url = std::fs::read_to_string(&out).unwrap();
    assert!(url.trim().starts_with(&fed.endpoint), "{url}");
    assert_eq!(
        query(url.trim()).get("SigninToken").map(String::as_str),
        Some("tok-123")
    );
    assert_eq!(recent(&recent_path(env)), ["readonly"]);
}

/// 5 000 profiles: the picker opens and filters to one name within a generous bound, and the
/// chosen one is assumed.
#[test]
fn picker_stays_quick_with_5000_profiles() {
    let m = moto();
    let haystack: String = (0..5000)
        .map(|i| {
            format!(
                "[profile role-{i:05}]\nrole_arn = {}\nsource_profile = alice\n",
                m.role_arn("ReadOnly")
            )
        })
        .collect();
    let cx = cx_with(
        "many",
        &format!(
            "{haystack}[profile needle-xyz]\nrole_arn = {}\nsource_profile = alice\n",
            m.role_arn("Administrators")
        ),
    );
    let env = &cx.env;
    let out = env.root().join("out");
    let start = Instant::now();
    let tmux = env.tmux(&format!(
        "SHELL=/bin/bash assume >{}; echo exit-$?",
        sh_quote(&out.display().to_string())
    ));
    tmux.wait_for("Profile", Duration::from_secs(10));
    tmux.send_text("needle");
    let filtered = common::poll_until(Duration::from_secs(10), || {
        let s = tmux.screen();
        (row_of(&s, "needle-xyz").is_some() && !s.contains("role-0")).then_some(())
    });
    let took = start.elapsed();
    assert!(
        filtered.is_some(),
        "the picker did not filter 5000 profiles to needle-xyz:\n{}",
        tmux.screen()
    );
    assert!(
        took < Duration::from_secs(10),
        "opening and filtering the picker took {took:?}"
    );
    tmux.send_keys("Enter");
    let screen = tmux.wait_for("exit-", WAIT);
    assert!(screen.contains("exit-0"), "{screen}");
    let vars = sourced_vars(env, &out);
    assert_eq!(
        vars.get("ASSUME_PROFILE").map(String::as_str),
        Some("needle-xyz")
    );
}

/// The recently-used list: most recent first, no duplicates, updated by `assume P`, `exec`,
/// `shell` and `console` when they succeed, not by a failure; under `$XDG_STATE_HOME` when set.
#[test]
fn recent_list_is_kept_by_every_command_that_uses_a_profile() {
    let cx = cx("recent");
    let env = &cx.env;
    let path = recent_path(env);
    let run = |args: &[&str]| {
        let out = env
            .cmd()
            .args(args)
            .env("SHELL", "/bin/bash")
            .output()
            .unwrap();
        assert_success(&format!("assume {args:?}"), &out);
    };
    run(&["admin", "--token-code", "123456"]);
    assert_eq!(recent(&path), ["admin"]);
    // The MFA session serves readonly without a code.
    run(&["exec", "readonly", "--", "true"]);
    assert_eq!(recent(&path), ["readonly", "admin"]);
    run(&["shell", "admin", "--shell-path", "/bin/true"]);
    assert_eq!(recent(&path), ["admin", "readonly"]);
    let fed = Federation::ok();
    let out = env
        .cmd()
        .args(["console", "zeta", "--print"])
        .env("ASSUME_FEDERATION_ENDPOINT", &fed.endpoint)
        .output()
        .unwrap();
    assert_success("assume console zeta --print", &out);
    assert_eq!(recent(&path), ["zeta", "admin", "readonly"]);

    // A failure is no use.
    let out = env.cmd().arg("nosuchprofile").output().unwrap();
    assert!(!out.status.success());
    assert_eq!(recent(&path), ["zeta", "admin", "readonly"]);

    // $XDG_STATE_HOME moves it.
    let state = env.root().join("state");
    let out = env
        .cmd()
        .arg("readonly")
        .env("XDG_STATE_HOME", &state)
        .output()
        .unwrap();
    assert_success("XDG_STATE_HOME=… assume readonly", &out);
    assert_eq!(
        recent(&state.join("assume").join("recent")),
        ["readonly"],
        "not under $XDG_STATE_HOME/assume/recent"
    );
    assert_eq!(recent(&path), ["zeta", "admin", "readonly"]);
}

// ---------------------------------------------------------------------------------------------
// 2. assume list
// ---------------------------------------------------------------------------------------------

#[test]
fn list_json_rows_with_cached_until() {
    let cx = cx("list");
    let env = &cx.env;
    let out = env
        .cmd()
        .args(["admin", "--token-code", "123456"])
        .env("SHELL", "/bin/bash")
        .output()
        .unwrap();
    assert_success("assume admin", &out);
    let exported = stdout(&out);
    let expiration = exported
        .lines()
        .find_map(|l| l.strip_prefix("export AWS_CREDENTIAL_EXPIRATION="))
        .map(|v| v.trim_matches(['\'', '"', ';']).to_string())
        .unwrap_or_else(|| panic!("no AWS_CREDENTIAL_EXPIRATION in {exported}"));
    let expires = rfc3339_secs(&expiration).unwrap();

    let out = env
        .cmd()
        .args(["list", "--output", "json"])
        .output()
        .unwrap();
    assert_success("assume list --output json", &out);
    let rows: Vec<Value> = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not a JSON array ({e}): {}", stdout(&out)));
    let row = |name: &str| -> &Value {
        rows.iter()
            .find(|r| r["profile"] == name)
            .unwrap_or_else(|| panic!("no row for {name}: {rows:?}"))
    };
    assert_eq!(rows.len(), 4, "one row per profile: {rows:?}");
    for r in &rows {
        for key in [
            "profile",
            "role_arn",
            "account",
            "region",
            "mfa",
            "cached_until",
        ] {
            assert!(r.get(key).is_some(), "row without {key}: {r}");
        }
    }
    let admin = row("admin");
    assert_eq!(admin["role_arn"], moto().role_arn("Administrators"));
    assert_eq!(admin["account"], "123456789012");
    assert_eq!(admin["region"], "eu-west-1");
    assert_eq!(admin["mfa"], true);
    let until = admin["cached_until"]
        .as_str()
        .unwrap_or_else(|| panic!("admin is cached, but cached_until is {}", admin));
    let until = rfc3339_secs(until).unwrap_or_else(|| panic!("not RFC 3339: {until}"));
    let now = now_secs();
    assert!(
        until > now && until <= now + 3600 + 60,
        "cached_until is not within the role's hour: {until} (now {now})"
    );
    assert!(
        (until - expires).abs() <= 1,
        "cached_until {until} is not the credentials' expiration {expiration}"
    );

    let readonly = row("readonly");
    assert_eq!(readonly["role_arn"], moto().role_arn("ReadOnly"));
    assert_eq!(readonly["mfa"], true);
    assert!(readonly["cached_until"].is_null(), "{readonly}");

    let zeta = row("zeta");
    assert_eq!(zeta["mfa"], false);
    assert!(zeta["cached_until"].is_null(), "{zeta}");

    let alice = row("alice");
    assert!(alice["role_arn"].is_null(), "{alice}");
    assert!(alice["account"].is_null(), "{alice}");
    assert_eq!(alice["region"], "eu-west-1");
    assert_eq!(alice["mfa"], false);
    assert!(alice["cached_until"].is_null(), "{alice}");
}

// ---------------------------------------------------------------------------------------------
// 3. assume whoami
// ---------------------------------------------------------------------------------------------

/// After `eval "$(assume admin)"`, `whoami` in the same shell is the assumed role, with the
/// profile and the time left.
#[test]
fn whoami_after_a_switch() {
    let cx = cx("whoami");
    let env = &cx.env;
    let mut out = None;
    let calls = recorded_sts_calls(env, || {
        out = Some(
            env.command("bash")
                .arg("-c")
                .arg(
                    "eval \"$(assume admin --token-code 123456)\" || exit 90\n\
                     assume whoami --output json || exit 91\n\
                     echo '----'\n\
                     assume whoami --output text || exit 92\n",
                )
                .env("SHELL", "/bin/bash")
                .output()
                .unwrap(),
        );
    });
    let out = out.unwrap();
    assert_success("eval assume admin; assume whoami", &out);
    let text = stdout(&out);
    let (json, human) = text.split_once("----\n").unwrap();
    let who: Value = serde_json::from_str(json)
        .unwrap_or_else(|e| panic!("whoami --output json is not JSON ({e}): {json}"));
    let arn = who["arn"].as_str().unwrap_or_default();
    assert!(
        arn.starts_with("arn:aws:sts::123456789012:assumed-role/Administrators/"),
        "{who}"
    );
    assert_eq!(who["account"], "123456789012");
    assert!(
        who["user_id"].as_str().is_some_and(|s| !s.is_empty()),
        "{who}"
    );
    assert_eq!(who["profile"], "admin");
    let expiration = who["expiration"].as_str().unwrap_or_default();
    assert!(rfc3339_secs(expiration).is_some(), "{who}");
    let left = who["seconds_left"]
        .as_i64()
        .unwrap_or_else(|| panic!("seconds_left is not an integer: {who}"));
    assert!((1..=3600).contains(&left), "{who}");
    // GetCallerIdentity went to STS (once per whoami).
    let gci = calls
        .iter()
        .filter(|c| c["Action"] == "GetCallerIdentity")
        .count();
    assert_eq!(gci, 2, "{calls:?}");

    // Text: the ARN and the time left.
    assert!(human.contains(arn), "whoami text without the ARN: {human}");
    let rest = human.replace(arn, "");
    // A number with a unit of time: `59m`, `59 min`, `1h 0m`, `3599 seconds`, …
    let words: Vec<&str> = rest
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    let is_unit = |u: &str| {
        matches!(
            u,
            "h" | "m"
                | "s"
                | "min"
                | "mins"
                | "minute"
                | "minutes"
                | "hour"
                | "hours"
                | "sec"
                | "secs"
                | "second"
                | "seconds"
        )
    };
    let has_duration = words.iter().enumerate().any(|(i, word)| {
        let digits = word.bytes().take_while(u8::is_ascii_digit).count();
        digits > 0
            && (is_unit(&word[digits..])
                || (digits == word.len() && words.get(i + 1).is_some_and(|u| is_unit(u))))
    });
    assert!(
        has_duration,
        "whoami text does not say the time left: {human}"
    );
}

/// Keys in the environment without ASSUME_PROFILE/expiration: the user, profile and time null.
#[test]
fn whoami_with_plain_keys_in_the_environment() {
    let cx = cx("whoami-keys");
    let env = &cx.env;
    let (id, secret) = moto().keys("alice");
    let out = env
        .cmd()
        .args(["whoami", "--output", "json"])
        .env("AWS_ACCESS_KEY_ID", &id)
        .env("AWS_SECRET_ACCESS_KEY", &secret)
        .output()
        .unwrap();
    assert_success("assume whoami --output json", &out);
    let who: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(who["arn"], moto().user_arn("alice"));
    assert_eq!(who["account"], "123456789012");
    assert!(who["profile"].is_null(), "{who}");
    assert!(who["expiration"].is_null(), "{who}");
    assert!(who["seconds_left"].is_null(), "{who}");
}

/// No keys in the environment: the SDK's default chain (here the `[default]` profile).
#[test]
fn whoami_falls_back_to_the_default_chain() {
    let cx = cx("whoami-chain");
    let env = &cx.env;
    env.write_credentials(&format!(
        "{}{}",
        env.user_credentials_section("alice", "alice"),
        env.user_credentials_section("default", "mallory")
    ));
    let out = env
        .cmd()
        .args(["whoami", "--output", "json"])
        .output()
        .unwrap();
    assert_success("assume whoami --output json", &out);
    let who: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(who["arn"], moto().user_arn("mallory"));
}

/// No credentials anywhere: non-zero, a clear message, nothing on stdout.
#[test]
fn whoami_without_credentials() {
    let m = moto();
    let env = TestEnv::new(m);
    let out = env
        .cmd()
        .args(["whoami", "--output", "json"])
        .output()
        .unwrap();
    assert!(!out.status.success(), "{}", stdout(&out));
    assert!(stdout(&out).is_empty(), "stdout: {}", stdout(&out));
    let err = stderr(&out);
    assert!(
        err.to_lowercase().contains("credentials"),
        "the message does not say credentials are missing: {err}"
    );
    // Like every message of `assume` (src/error.rs: "Messages are one line and say what to do
    // next"): one line, not the SDK's provider-chain dump.
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "not a one-line message: {err}"
    );
}

// ---------------------------------------------------------------------------------------------
// 4. assume console
// ---------------------------------------------------------------------------------------------

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
        python = q(&common::venv_bin("python3")),
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

    let seen = common::poll_until(WAIT, || std::fs::read_to_string(&fetched).ok())
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

// ---------------------------------------------------------------------------------------------
// 5. mfa_process
// ---------------------------------------------------------------------------------------------

/// Writes an executable script into the env's temp dir.
fn script(env: &TestEnv, name: &str, body: &str) -> PathBuf {
    let path = env.root().join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    make_executable(&path);
    path
}

fn make_executable(path: &Path) {
    let mut perms = std::fs::metadata(path).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(path, perms).unwrap();
}

/// A Cx whose profile `viaproc` (the Administrators role behind this test's MFA device) gets its
/// code from `mfa_process = <script> ARGS`.
fn mfa_process_cx(label: &str, body: &str, args: &str) -> (Cx, PathBuf) {
    let cx = cx(label);
    let script = script(&cx.env, "mfa-code", body);
    let m = moto();
    let mut config = std::fs::read_to_string(cx.env.config_path()).unwrap();
    config.push_str(&format!(
        "[profile viaproc]\nrole_arn = {}\nsource_profile = alice\nmfa_serial = {}\n\
         mfa_process = {} {args}\n",
        m.role_arn("Administrators"),
        cx.mfa,
        script.display()
    ));
    cx.env.write_config(&config);
    (cx, script)
}

/// `assume P` with neither a terminal nor stdin.
fn run_without_terminal(env: &TestEnv, args: &[&str]) -> Output {
    env.command("setsid")
        .arg("--wait")
        .arg(common::assume_bin())
        .args(args)
        .env("SHELL", "/bin/bash")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

#[test]
fn mfa_process_supplies_the_code_without_a_terminal() {
    let (cx, _) = mfa_process_cx("proc-ok", "printf '  %s  \\n' \"$1\"", "654321");
    let env = &cx.env;
    let mut out = None;
    let calls = recorded_sts_calls(env, || {
        out = Some(run_without_terminal(env, &["viaproc"]));
    });
    let out = out.unwrap();
    assert_success("assume viaproc (mfa_process)", &out);
    assert!(
        stdout(&out).contains("AWS_SESSION_TOKEN="),
        "{}",
        stdout(&out)
    );
    assert_eq!(
        actions(&calls),
        ["GetSessionToken", "AssumeRole"],
        "{calls:?}"
    );
    assert_eq!(calls[0]["TokenCode"], "654321");
    assert_eq!(calls[0]["SerialNumber"], cx.mfa);
}

/// In a terminal too, the process answers before any prompt would open.
#[test]
fn mfa_process_comes_before_the_prompt() {
    let (cx, _) = mfa_process_cx("proc-tty", "echo 654321", "");
    let env = &cx.env;
    let out = env.root().join("out");
    let calls = recorded_sts_calls(env, || {
        let tmux = env.tmux(&format!(
            "SHELL=/bin/bash assume viaproc >{}; echo exit-$?",
            sh_quote(&out.display().to_string())
        ));
        let screen = tmux.wait_for("exit-", WAIT);
        assert!(screen.contains("exit-0"), "{screen}");
        assert!(
            !screen.contains("MFA code for"),
            "a prompt opened:\n{screen}"
        );
    });
    let with_code: Vec<_> = calls
        .iter()
        .filter(|c| c.contains_key("TokenCode"))
        .collect();
    assert_eq!(with_code.len(), 1, "{calls:?}");
    assert_eq!(with_code[0]["TokenCode"], "654321");
    let vars = sourced_vars(env, &out);
    assert_eq!(
        vars.get("ASSUME_PROFILE").map(String::as_str),
        Some("viaproc")
    );
}

/// `--token-code` wins: the process is not run.
#[test]
fn mfa_process_is_not_run_when_a_code_is_given() {
    let (cx, _) = mfa_process_cx(
        "proc-flag",
        "touch \"$(dirname \"$0\")/ran\"; echo 654321",
        "",
    );
    let env = &cx.env;
    let marker = env.root().join("ran");
    let mut out = None;
    let calls = recorded_sts_calls(env, || {
        out = Some(run_without_terminal(
            env,
            &["viaproc", "--token-code", "111111"],
        ));
    });
    assert_success("assume viaproc --token-code", &out.unwrap());
    let with_code: Vec<_> = calls
        .iter()
        .filter(|c| c.contains_key("TokenCode"))
        .collect();
    assert_eq!(with_code.len(), 1, "{calls:?}");
    assert_eq!(with_code[0]["TokenCode"], "111111");
    assert!(
        !marker.exists(),
        "mfa_process ran although --token-code was given"
    );
}

#[test]
fn mfa_process_that_fails_is_a_clear_error() {
    let (cx, _) = mfa_process_cx("proc-fail", "echo 'no device' >&2; exit 1", "");
    let env = &cx.env;
    let mut out = None;
    let calls = recorded_sts_calls(env, || {
        out = Some(run_without_terminal(env, &["viaproc"]));
    });
    let out = out.unwrap();
    assert_eq!(
        out.status.code(),
        Some(4),
        "stdout: {}\nstderr: {}",
        stdout(&out),
        stderr(&out)
    );
    assert!(stdout(&out).is_empty(), "stdout: {}", stdout(&out));
    let err = stderr(&out);
    assert!(err.contains("mfa_process"), "{err}");
    assert!(err.contains("viaproc"), "the profile is not named: {err}");
    assert!(
        !calls.iter().any(|c| c.contains_key("TokenCode")),
        "{calls:?}"
    );
}

#[test]
fn mfa_process_that_prints_garbage_is_a_clear_error() {
    let (cx, _) = mfa_process_cx("proc-garbage", "echo garbage", "");
    let env = &cx.env;
    let mut out = None;
    let calls = recorded_sts_calls(env, || {
        out = Some(run_without_terminal(env, &["viaproc"]));
    });
    let out = out.unwrap();
    assert_eq!(
        out.status.code(),
        Some(4),
        "stdout: {}\nstderr: {}",
        stdout(&out),
        stderr(&out)
    );
    assert!(stdout(&out).is_empty(), "stdout: {}", stdout(&out));
    let err = stderr(&out);
    let lower = err.to_lowercase();
    assert!(
        lower.contains("6-digit") || lower.contains("6 digit") || lower.contains("six digit"),
        "the message does not say it is not a 6-digit code: {err}"
    );
    assert!(err.contains("mfa_process"), "{err}");
    assert!(
        !calls.iter().any(|c| c.contains_key("TokenCode")),
        "{calls:?}"
    );
}

/// A `NAME=VALUE` to put in assume's environment: every process under it inherits it, so
/// [`processes_with`] finds the whole tree of an mfa_process, grandchildren included.
fn helper_marker(label: &str) -> (String, String) {
    (
        "ASSUME_TEST_HELPER".to_string(),
        format!("{label}-{}", unique_suffix()),
    )
}

/// Live processes (zombies have no environment) whose environment holds `name=value`.
fn processes_with((name, value): &(String, String)) -> Vec<u32> {
    let needle = format!("{name}={value}");
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
            let environ = std::fs::read(entry.path().join("environ")).ok()?;
            environ
                .split(|b| *b == 0)
                .any(|pair| pair == needle.as_bytes())
                .then_some(pid)
        })
        .collect()
}

/// Waits until no process carries `marker`; kills any left (so that a failing test leaves
/// nothing behind), then fails naming them.
fn assert_no_process_left(marker: &(String, String), what: &str) {
    let gone = common::wait_until(WAIT, || processes_with(marker).is_empty());
    let left = processes_with(marker);
    let commands: Vec<String> = left
        .iter()
        .map(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/cmdline"))
                .unwrap_or_default()
                .replace('\0', " ")
        })
        .collect();
    for pid in &left {
        let _ = Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status();
    }
    assert!(
        gone,
        "{what}: processes of the mfa_process are still running: {commands:?}"
    );
}

/// Runs `cmd` (in a process group of its own) to its end, or kills that group after `bound`
/// and fails: a run that does not end is a failure here, not a hung test.
fn output_within(mut cmd: Command, bound: Duration, what: &str) -> Output {
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .unwrap();
    let pid = child.id();
    let waiter = std::thread::spawn(move || child.wait_with_output().unwrap());
    if !common::wait_until(bound, || waiter.is_finished()) {
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{pid}")])
            .status();
        let out = waiter.join().unwrap();
        panic!(
            "{what} did not end within {bound:?}; stderr: {}",
            stderr(&out)
        );
    }
    waiter.join().unwrap()
}

/// An mfa_process that never stops printing (`yes 123456`) is cut off after a few KiB and
/// killed: exit 4 with one clear line, in bounded memory (1 GiB of address space here; the
/// unbounded read it replaces grew by about 1 GB/s). The code never reaches stderr.
#[test]
fn mfa_process_that_never_stops_printing_is_cut_off() {
    let (cx, _) = mfa_process_cx("proc-yes", "exec yes 123456", "");
    let env = &cx.env;
    let marker = helper_marker("yes");
    let mut cmd = env.command("sh");
    cmd.arg("-c")
        .arg("ulimit -v 1048576 && exec \"$0\" viaproc")
        .arg(common::assume_bin())
        .env(&marker.0, &marker.1);
    let out = output_within(cmd, Duration::from_secs(30), "assume viaproc (yes)");
    assert_eq!(
        out.status.code(),
        Some(4),
        "stdout: {}\nstderr: {}",
        stdout(&out).chars().take(200).collect::<String>(),
        stderr(&out)
    );
    assert!(stdout(&out).is_empty(), "stdout is not empty");
    let err = stderr(&out);
    assert_eq!(err.trim_end().lines().count(), 1, "not one line: {err:?}");
    assert!(
        err.contains("profile 'viaproc'") && err.contains("mfa_process"),
        "{err}"
    );
    assert!(
        err.contains("KiB"),
        "the line does not say it printed too much: {err}"
    );
    assert!(!err.contains("123456"), "the code is on stderr: {err}");
    assert_no_process_left(&marker, "yes");
}

/// A hung mfa_process (`sleep 1000`): after a second `assume` says it is waiting and for how
/// long; at the timeout (`ASSUME_MFA_PROCESS_TIMEOUT`) it stops with exit 4 and a line naming
/// the timeout, and the helper — a grandchild included — is gone.
#[test]
fn mfa_process_that_hangs_times_out_and_is_killed() {
    let (cx, _) = mfa_process_cx("proc-hang", "sleep 1000; echo 123456", "");
    let env = &cx.env;
    let marker = helper_marker("hang");
    let mut cmd = env.std_cmd();
    cmd.arg("viaproc")
        .env("ASSUME_MFA_PROCESS_TIMEOUT", "3")
        .env(&marker.0, &marker.1);
    let out = output_within(cmd, Duration::from_secs(30), "assume viaproc (sleep 1000)");
    assert_eq!(
        out.status.code(),
        Some(4),
        "stdout: {}\nstderr: {}",
        stdout(&out),
        stderr(&out)
    );
    assert!(stdout(&out).is_empty(), "stdout: {}", stdout(&out));
    let err = stderr(&out);
    assert!(
        err.contains("assume: waiting for mfa_process of profile 'viaproc' (up to 3 s)"),
        "no waiting line: {err}"
    );
    let last = err.trim_end().lines().last().unwrap_or_default();
    assert!(
        last.contains("profile 'viaproc'") && last.contains("3 s"),
        "the error does not name the profile and the timeout: {err}"
    );
    assert!(last.contains("ASSUME_MFA_PROCESS_TIMEOUT"), "{err}");
    assert_no_process_left(&marker, "after the timeout");
}

/// A slow mfa_process that does answer: the waiting line, then success.
#[test]
fn mfa_process_that_is_slow_is_waited_for() {
    let (cx, _) = mfa_process_cx("proc-slow", "sleep 2; echo 654321", "");
    let env = &cx.env;
    let mut out = None;
    let calls = recorded_sts_calls(env, || {
        out = Some(run_without_terminal(env, &["viaproc"]));
    });
    let out = out.unwrap();
    assert_success("assume viaproc (slow mfa_process)", &out);
    assert!(
        stderr(&out).contains("waiting for mfa_process of profile 'viaproc' (up to 60 s)"),
        "no waiting line: {}",
        stderr(&out)
    );
    assert!(!stderr(&out).contains("654321"), "{}", stderr(&out));
    assert_eq!(calls[0]["TokenCode"], "654321");
}

/// `assume` ended by a signal while its mfa_process hangs — TERM, INT, HUP, and KILL, which
/// it cannot catch — takes the helper's whole process group with it.
#[test]
fn mfa_process_does_not_outlive_assume() {
    let (cx, script) = mfa_process_cx(
        "proc-signal",
        "touch \"$(dirname \"$0\")/started\"; sleep 1000; echo 123456",
        "",
    );
    let env = &cx.env;
    let started = script.with_file_name("started");
    for signal in ["TERM", "INT", "HUP", "KILL"] {
        let _ = std::fs::remove_file(&started);
        let marker = helper_marker(&format!("sig{signal}"));
        // Through Python, which gives the signals their default action back: the test may
        // run in the background, where a shell starts its children with SIGINT ignored.
        let mut child = env
            .command(common::venv_bin("python3"))
            .arg("-c")
            .arg(
                "import os, signal, sys\n\
                 for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):\n    \
                 signal.signal(s, signal.SIG_DFL)\n\
                 os.execv(sys.argv[1], sys.argv[1:])",
            )
            .arg(common::assume_bin())
            .arg("viaproc")
            .env(&marker.0, &marker.1)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        assert!(
            common::wait_until(WAIT, || started.exists()),
            "SIG{signal}: the mfa_process did not start"
        );
        Command::new("kill")
            .args([&format!("-{signal}"), &child.id().to_string()])
            .status()
            .unwrap();
        let status = child.wait().unwrap();
        assert!(!status.success(), "SIG{signal}: {status}");
        assert_no_process_left(&marker, &format!("SIG{signal} to assume"));
    }
}

// ---------------------------------------------------------------------------------------------
// 6. AccessDenied diagnosis (moto's auth mode)
// ---------------------------------------------------------------------------------------------

/// A TestEnv on the auth-mode moto with alice's and mallory's keys and `extra` profiles.
fn auth_env(extra: &str) -> TestEnv {
    let m = moto_with_auth();
    let env = TestEnv::new(m);
    env.write_credentials(&format!(
        "{}{}",
        env.user_credentials_section("alice", "alice"),
        env.user_credentials_section("mallory", "mallory")
    ));
    env.write_config(&format!(
        "[profile alice]\nregion = us-east-1\n[profile mallory]\nregion = us-east-1\n{extra}"
    ));
    env
}

fn denied(env: &TestEnv, profile: &str) -> (String, Vec<StsCall>) {
    let mut out = None;
    let calls = recorded_sts_calls(env, || {
        out = Some(run_without_terminal(env, &[profile]));
    });
    let out = out.unwrap();
    assert_eq!(
        out.status.code(),
        Some(4),
        "assume {profile}: stdout: {}\nstderr: {}",
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
    (err, calls)
}

/// mallory asks for a role whose trust policy names alice only.
#[test]
fn access_denied_names_the_real_caller_and_the_causes() {
    let m = moto_with_auth();
    let env = auth_env(&format!(
        "[profile alice-only]\nrole_arn = {}\nsource_profile = mallory\n",
        m.role_arn("AliceOnly")
    ));
    let mut denial = None;
    let requests = common::recorded_requests(&env, || {
        denial = Some(denied(&env, "alice-only"));
    });
    let (err, calls) = denial.unwrap();
    let gci: Vec<_> = requests
        .iter()
        .filter(|r| {
            r.is_sts() && r.params().get("Action").map(String::as_str) == Some("GetCallerIdentity")
        })
        .collect();
    assert_eq!(gci.len(), 1, "{calls:?}");
    assert_eq!(
        gci[0].access_key_id(),
        Some(m.keys("mallory").0),
        "GetCallerIdentity was not made with the hop's source credentials"
    );
    assert!(
        err.contains("arn:aws:iam::123456789012:user/mallory"),
        "the real caller is not named: {err}"
    );
    assert!(
        err.contains(&m.role_arn("AliceOnly")),
        "the role is not named: {err}"
    );
    let at = |needle: &str| {
        err.find(needle)
            .unwrap_or_else(|| panic!("{needle:?} is not mentioned: {err}"))
    };
    let trust = at("trust policy");
    let identity = at("sts:AssumeRole");
    let third = ["MFA", "ExternalId", "external_id"]
        .iter()
        .filter_map(|n| err[identity..].find(n).map(|i| i + identity))
        .min()
        .unwrap_or_else(|| panic!("no MFA/ExternalId hint after sts:AssumeRole: {err}"));
    assert!(
        trust < identity && identity < third,
        "causes out of order: {err}"
    );
    // Who the caller is came from STS itself, with the hop's source credentials.
    assert!(
        actions(&calls).contains(&"GetCallerIdentity"),
        "no GetCallerIdentity: {calls:?}"
    );
}

/// alice asks for Partner with the wrong external_id.
#[test]
fn access_denied_with_a_wrong_external_id_says_so() {
    let m = moto_with_auth();
    let env = auth_env(&format!(
        "[profile partner-wrong]\nrole_arn = {}\nsource_profile = alice\n\
         external_id = not-the-partner-id\n",
        m.role_arn("Partner")
    ));
    let (err, _) = denied(&env, "partner-wrong");
    assert!(
        err.contains("arn:aws:iam::123456789012:user/alice"),
        "the real caller is not named: {err}"
    );
    assert!(err.contains(&m.role_arn("Partner")), "{err}");
    let lower = err.to_lowercase();
    assert!(
        lower.contains("externalid") || lower.contains("external_id"),
        "no ExternalId hint: {err}"
    );
}

/// The second hop is denied: the caller named is the first hop's session, not the base user.
#[test]
fn access_denied_on_a_second_hop_names_the_session() {
    let m = moto_with_auth();
    // moto compares Chained's trust principal (role/Administrators) literally with the
    // session ARN, so the second hop is denied (see common::moto_with_auth).
    let env = auth_env(&format!(
        "[profile admin]\nrole_arn = {}\nsource_profile = alice\n\
         [profile chained]\nrole_arn = {}\nsource_profile = admin\n",
        m.role_arn("Administrators"),
        m.role_arn("Chained")
    ));
    let (err, _) = denied(&env, "chained");
    assert!(
        err.contains("arn:aws:sts::123456789012:assumed-role/Administrators/"),
        "the caller of the denied hop is not the first hop's session: {err}"
    );
    assert!(err.contains(&m.role_arn("Chained")), "{err}");
}

// ---------------------------------------------------------------------------------------------
// 7. Help
// ---------------------------------------------------------------------------------------------

#[test]
fn every_subcommand_has_an_example_and_version_is_semver() {
    let m = moto();
    let env = TestEnv::new(m);
    let out = env.cmd().arg("--help").output().unwrap();
    assert_success("assume --help", &out);
    let help = stdout(&out);
    assert!(help.contains("Example"), "assume --help: {help}");
    // Every subcommand in the help, and at least these.
    let mut subcommands: Vec<String> = help
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .filter(|name| name != "help")
        .collect();
    for required in [
        "exec",
        "serve",
        "shell",
        "init",
        "completions",
        "credential-process",
        "clear",
        "list",
        "explain",
        "whoami",
        "console",
    ] {
        if !subcommands.iter().any(|s| s == required) {
            subcommands.push(required.to_string());
        }
    }
    for sub in &subcommands {
        let out = env.cmd().args([sub.as_str(), "--help"]).output().unwrap();
        assert_success(&format!("assume {sub} --help"), &out);
        let text = stdout(&out);
        assert!(
            text.contains(&format!("Usage: assume {sub}")),
            "assume {sub} --help is not that subcommand's help: {text}"
        );
        assert!(text.contains("Example"), "assume {sub} --help: {text}");
    }

    let out = env.cmd().arg("--version").output().unwrap();
    assert_success("assume --version", &out);
    let version = stdout(&out);
    let semver = version
        .trim_end()
        .strip_prefix("assume ")
        .unwrap_or_else(|| panic!("not `assume <version>`: {version:?}"));
    let core = semver.split(['-', '+']).next().unwrap();
    let parts: Vec<&str> = core.split('.').collect();
    assert!(
        parts.len() == 3
            && parts
                .iter()
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit())),
        "not semver: {version:?}"
    );
    assert_eq!(semver, env!("CARGO_PKG_VERSION"));
}

// ---------------------------------------------------------------------------------------------
// 8. Feedback
// ---------------------------------------------------------------------------------------------

/// stderr is not a terminal: a successful switch writes nothing at all there (no spinner, no
/// escape sequence).
#[test]
fn nothing_on_stderr_when_it_is_not_a_terminal() {
    let cx = cx("quiet");
    let env = &cx.env;
    let out = env
        .cmd()
        .args(["admin", "--token-code", "123456"])
        .env("SHELL", "/bin/bash")
        .env("TERM", "xterm-256color")
        .output()
        .unwrap();
    assert_success("assume admin", &out);
    assert_eq!(stderr(&out), "", "stderr is not empty");
    assert!(stdout(&out).contains("AWS_SESSION_TOKEN="));
    assert!(!stdout(&out).contains('\x1b'), "escape sequence on stdout");
}

/// NO_COLOR in a terminal: no colour on the picker, the MFA prompt, or whatever stays on the
/// screen afterwards (spinner included).
#[test]
fn no_color_leaves_no_color_codes_on_the_terminal() {
    let cx = cx("nocolor");
    let env = &cx.env;
    let out = env.root().join("out");
    let tmux = env.tmux(&format!(
        "NO_COLOR=1 SHELL=/bin/bash assume >{}; echo exit-$?",
        sh_quote(&out.display().to_string())
    ));
    tmux.wait_for("Profile", WAIT);
    tmux.send_text("adm");
    common::poll_until(WAIT, || (!tmux.screen().contains("readonly")).then_some(()))
        .unwrap_or_else(|| panic!("`adm` did not filter:\n{}", tmux.capture()));
    let picker = capture_with_escapes(&tmux);
    assert_eq!(
        color_sequences(&picker),
        Vec::<String>::new(),
        "picker: {picker:?}"
    );
    tmux.send_keys("Enter");
    tmux.wait_for("MFA code for", WAIT);
    let prompt = capture_with_escapes(&tmux);
    assert_eq!(
        color_sequences(&prompt),
        Vec::<String>::new(),
        "prompt: {prompt:?}"
    );
    tmux.send_line("123456");
    let screen = tmux.wait_for("exit-", WAIT);
    assert!(screen.contains("exit-0"), "{screen}");
    let after = capture_with_escapes(&tmux);
    assert_eq!(
        color_sequences(&after),
        Vec::<String>::new(),
        "after: {after:?}"
    );

    // An error in a terminal, too.
    let tmux = env.tmux("NO_COLOR=1 assume nosuchprofile; echo exit-$?");
    let screen = tmux.wait_for("exit-", WAIT);
    assert!(!screen.contains("exit-0"), "{screen}");
    let error = capture_with_escapes(&tmux);
    assert_eq!(
        color_sequences(&error),
        Vec::<String>::new(),
        "error: {error:?}"
    );
}
