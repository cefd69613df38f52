//! Where the MFA code comes from and how often it is asked: the prompt in a real terminal
//! (tmux) while stdout and stderr are captured, mistyped codes, no terminal at all,
//! `mfa_process` (and every way it can fail, hang or outlive `assume`), and the MFA session
//! that asks once for every role behind the device.

use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::harness::{
    self, Cx, MFA_SESSION_KEY_ID, MFA_SESSION_SECRET, Store, StoreCx, StsCall, TestEnv, WAIT,
    actions, admin_env, assert_success, chain_env, cx, make_executable, moto, recorded_sts_calls,
    run_without_terminal, sh_quote, sourced_vars, standard_config, stderr, stdout, unique_suffix,
};

// ---------------------------------------------------------------------------------------------
// The prompt, and no terminal
// ---------------------------------------------------------------------------------------------

#[test]
fn prompt_reaches_the_terminal_while_stdout_is_captured() {
    let env = admin_env("alice", "");
    let aws = harness::venv_bin("aws");
    let script = format!(
        "bash -c 'eval \"$(assume admin)\" && {} sts get-caller-identity --query Arn --output text; echo exit-$?'",
        aws.display()
    );
    let calls = recorded_sts_calls(&env, || {
        let tmux = env.tmux(&script);
        tmux.wait_for("MFA code for arn:aws:iam::123456789012:mfa/alice", WAIT);
        tmux.send_line("246810");
        let screen = tmux.wait_for("exit-", WAIT);
        assert!(screen.contains(":assumed-role/Administrators/"), "{screen}");
        assert!(screen.contains("exit-0"), "{screen}");
        // The code is not echoed into what eval ran, nor printed back.
        assert!(!screen.contains("AWS_SECRET_ACCESS_KEY"), "{screen}");
    });
    // The typed code reached STS once (on GetSessionToken: the MFA session that serves every
    // role behind this device).
    let with_code: Vec<_> = calls
        .iter()
        .filter(|c| c.contains_key("TokenCode"))
        .collect();
    assert_eq!(with_code.len(), 1, "{calls:?}");
    assert_eq!(with_code[0]["TokenCode"], "246810");
    assert_eq!(with_code[0]["Action"], "GetSessionToken");
}

#[test]
fn mistyped_codes_are_asked_again_then_refused() {
    let env = admin_env("alice", "");
    let out = env.root().join("out");
    let err = env.root().join("err");
    // Both streams go to files, as under the aws CLI: the prompt must still be seen.
    let tmux = env.tmux(&format!(
        "assume admin >{} 2>{}; echo exit-$?",
        out.display(),
        err.display()
    ));
    tmux.wait_for("MFA code for", WAIT);
    tmux.send_line("12ab");
    tmux.wait_for("6 digits; try again", WAIT);
    tmux.send_line("1234567");
    tmux.wait_for_count("6 digits; try again", 2, WAIT);
    tmux.send_line("");
    let screen = tmux.wait_for("exit-", WAIT);
    assert!(screen.contains("exit-4"), "{screen}");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "");
    let err = std::fs::read_to_string(&err).unwrap();
    assert!(err.contains("no valid MFA code"), "{err}");

    // A good code on the second try works.
    let tmux = env.tmux(&format!("assume admin >{}; echo exit-$?", out.display()));
    tmux.wait_for("MFA code for", WAIT);
    tmux.send_line("99");
    tmux.wait_for("try again", WAIT);
    tmux.send_line("123456");
    let screen = tmux.wait_for("exit-", WAIT);
    assert!(screen.contains("exit-0"), "{screen}");
    assert!(
        std::fs::read_to_string(&out)
            .unwrap()
            .contains("export AWS_SESSION_TOKEN=")
    );
}

#[test]
fn no_terminal_and_no_code_names_token_code() {
    let env = chain_env(moto());
    let calls = recorded_sts_calls(&env, || {
        env.cmd()
            .arg("admin")
            .assert()
            .code(4)
            .stdout("")
            .stderr(predicates::str::contains("--token-code"));
    });
    assert!(calls.is_empty(), "no STS call without a code: {calls:?}");
}

// ---------------------------------------------------------------------------------------------
// mfa_process
// ---------------------------------------------------------------------------------------------

/// Writes an executable script into the env's temp dir.
fn script(env: &TestEnv, name: &str, body: &str) -> PathBuf {
    let path = env.root().join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    make_executable(&path);
    path
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
    let gone = harness::wait_until(WAIT, || processes_with(marker).is_empty());
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
    if !harness::wait_until(bound, || waiter.is_finished()) {
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
        .arg(harness::assume_bin())
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
            .command(harness::venv_bin("python3"))
            .arg("-c")
            .arg(
                "import os, signal, sys\n\
                 for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):\n    \
                 signal.signal(s, signal.SIG_DFL)\n\
                 os.execv(sys.argv[1], sys.argv[1:])",
            )
            .arg(harness::assume_bin())
            .arg("viaproc")
            .env(&marker.0, &marker.1)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        assert!(
            harness::wait_until(WAIT, || started.exists()),
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
// The MFA session: one code for every role behind the device
// ---------------------------------------------------------------------------------------------

/// One MFA code, two roles: GetSessionToken with the code once, then each AssumeRole from the
/// MFA session without SerialNumber/TokenCode; no code or terminal for the second role.
#[test]
fn mfa_code_is_asked_once_for_two_roles() {
    let cx = StoreCx::new(Store::File);
    let mut stderr1 = String::new();
    let requests = harness::recorded_requests(&cx.env, || {
        stderr1 = cx.ok(&["admin", "--token-code", "123456", "-v"]);
    });
    let calls: Vec<StsCall> = requests
        .iter()
        .map(harness::RecordedRequest::params)
        .collect();
    assert_eq!(
        actions(&calls),
        ["GetSessionToken", "AssumeRole"],
        "{calls:?}"
    );
    assert_eq!(calls[0]["SerialNumber"], cx.mfa);
    assert_eq!(calls[0]["TokenCode"], "123456");
    assert_eq!(
        calls[0].get("DurationSeconds").map(String::as_str),
        Some("28800"),
        "the MFA session is asked for the default 8h: {:?}",
        calls[0]
    );
    assert_eq!(requests[0].access_key_id(), Some(moto().keys("alice").0));
    assert_eq!(calls[1]["RoleArn"], moto().role_arn("Administrators"));
    assert!(!calls[1].contains_key("SerialNumber"), "{:?}", calls[1]);
    assert!(!calls[1].contains_key("TokenCode"), "{:?}", calls[1]);
    assert_eq!(
        requests[1].access_key_id().as_deref(),
        Some(MFA_SESSION_KEY_ID),
        "the AssumeRole is made with the MFA session's keys"
    );
    assert!(stderr1.contains("cache miss"), "-v: {stderr1}");
    assert!(stderr1.contains("MFA session"), "-v: {stderr1}");
    assert!(!stderr1.contains(MFA_SESSION_SECRET), "secret in -v output");

    // Another role behind the same MFA device: no code, no terminal, no GetSessionToken.
    let mut stderr2 = String::new();
    let requests = harness::recorded_requests(&cx.env, || {
        stderr2 = cx.ok(&["readonly", "-v"]);
    });
    let calls: Vec<StsCall> = requests
        .iter()
        .map(harness::RecordedRequest::params)
        .collect();
    assert_eq!(actions(&calls), ["AssumeRole"], "{calls:?}");
    assert_eq!(calls[0]["RoleArn"], moto().role_arn("ReadOnly"));
    assert!(!calls[0].contains_key("TokenCode"), "{:?}", calls[0]);
    assert_eq!(
        requests[0].access_key_id().as_deref(),
        Some(MFA_SESSION_KEY_ID)
    );
    assert!(stderr2.contains("MFA session"), "-v: {stderr2}");

    // And a plain hit says so.
    let stderr3 = cx.ok(&["readonly", "-v"]);
    assert!(stderr3.contains("cache hit"), "-v: {stderr3}");
}

/// `mfa_session_duration` (profile) and `ASSUME_MFA_SESSION_DURATION` set what is asked for.
#[test]
fn mfa_session_duration_is_configurable() {
    let cx = StoreCx::new(Store::File);
    let config = standard_config(&cx.mfa).replace(
        "[profile readonly]\n",
        "[profile readonly]\nmfa_session_duration = 2h\n",
    );
    cx.env.write_config(&config);
    let calls = recorded_sts_calls(&cx.env, || {
        cx.ok(&["readonly", "--token-code", "123456"]);
    });
    assert_eq!(actions(&calls), ["GetSessionToken", "AssumeRole"]);
    assert_eq!(
        calls[0].get("DurationSeconds").map(String::as_str),
        Some("7200")
    );

    let cx = StoreCx::new(Store::File);
    let calls = recorded_sts_calls(&cx.env, || {
        let out = cx
            .cmd()
            .args(["admin", "--token-code", "123456"])
            .env("ASSUME_MFA_SESSION_DURATION", "3h")
            .output()
            .unwrap();
        assert_success(&["admin"], &out);
    });
    assert_eq!(actions(&calls), ["GetSessionToken", "AssumeRole"]);
    assert_eq!(
        calls[0].get("DurationSeconds").map(String::as_str),
        Some("10800")
    );
}

/// No MFA session from temporary source keys (they cannot call GetSessionToken with MFA):
/// the code goes on the AssumeRole, as before the cache.
#[test]
fn no_mfa_session_from_temporary_source_keys() {
    let cx = StoreCx::new(Store::File);
    let (id, secret) = moto().keys("alice");
    cx.env.write_credentials(&format!(
        "[alice]\naws_access_key_id = {id}\naws_secret_access_key = {secret}\n\
         aws_session_token = FwoGZXIvYXdzEXAMPLE\n"
    ));
    let calls = recorded_sts_calls(&cx.env, || {
        cx.ok(&["admin", "--token-code", "123456"]);
    });
    assert_eq!(actions(&calls), ["AssumeRole"], "{calls:?}");
    assert_eq!(calls[0]["SerialNumber"], cx.mfa);
    assert_eq!(calls[0]["TokenCode"], "123456");
    // The role credentials themselves are still cached.
    let calls = recorded_sts_calls(&cx.env, || {
        cx.ok(&["admin"]);
    });
    assert!(calls.is_empty(), "{calls:?}");
}

/// The same in a real terminal without --token-code: one prompt, two roles, both exit 0.
#[test]
fn mfa_prompt_once_in_a_terminal() {
    let cx = StoreCx::new(Store::Keyutils);
    let out = cx.env.root().join("out");
    let o = |n: u32| out.with_extension(n.to_string()).display().to_string();
    let script = format!(
        "assume admin >{} 2>{}; echo s1=$?; assume readonly >{} 2>{}; echo s2=$?",
        o(1),
        o(11),
        o(2),
        o(12)
    );
    let calls = recorded_sts_calls(&cx.env, || {
        let tmux = cx.tmux(&script);
        tmux.wait_for(&format!("MFA code for {}", cx.mfa), WAIT);
        tmux.send_line("123456");
        // The prompt may be erased once answered, so watch the screen as it goes: after the
        // first command's status, no prompt may show up before the second one's.
        let deadline = Instant::now() + WAIT;
        let screen = loop {
            let screen = tmux.capture();
            if let Some((_, after)) = screen.split_once("s1=") {
                assert!(
                    !after.contains("MFA code for"),
                    "asked for the MFA code again for readonly:\n{screen}"
                );
            }
            if screen.contains("s2=") {
                break screen;
            }
            assert!(
                Instant::now() < deadline,
                "the two commands did not finish within {WAIT:?}:\n{screen}"
            );
            thread::sleep(Duration::from_millis(20));
        };
        assert!(screen.contains("s1=0"), "{screen}\n{}", read(&o(11)));
        assert!(screen.contains("s2=0"), "{screen}\n{}", read(&o(12)));
    });
    assert_eq!(
        actions(&calls),
        ["GetSessionToken", "AssumeRole", "AssumeRole"],
        "{calls:?}"
    );
    assert_eq!(calls[0]["TokenCode"], "123456");
    assert_eq!(calls[1]["RoleArn"], moto().role_arn("Administrators"));
    assert_eq!(calls[2]["RoleArn"], moto().role_arn("ReadOnly"));
    assert!(
        calls[1..].iter().all(|c| !c.contains_key("TokenCode")),
        "{calls:?}"
    );
    assert!(read(&o(1)).contains("export AWS_SESSION_TOKEN="));
    assert!(read(&o(2)).contains("export AWS_SESSION_TOKEN="));
}

fn read(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}
