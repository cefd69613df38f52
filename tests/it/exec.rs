//! `assume exec PROFILE -- COMMAND`: the process is replaced by the command, with the role's
//! variables in its environment (never in its argv) and the stale ones gone; its exit status
//! and signals are the command's.

use std::os::unix::process::ExitStatusExt;
use std::process::Stdio;

use serde_json::Value;

use crate::harness::{
    self, STALE, WAIT, actions, assert_role_variables, assert_success, parse_env0, plain_cx,
    poll_until, recorded_sts_calls, stderr, stdout,
};

/// The command sees the role's variables, and none of the stale ones it inherited; the next
/// exec is served by the cache, and the aws CLI run by it is the role.
#[test]
fn exec_runs_the_command_with_the_role_variables() {
    let cx = plain_cx();
    let env = &cx.env;
    let mut out = None;
    let calls = recorded_sts_calls(env, || {
        out = Some(
            env.cmd()
                .args(["exec", "admin", "--token-code", "123456", "--", "env", "-0"])
                .envs(STALE)
                .output()
                .unwrap(),
        );
    });
    let out = out.unwrap();
    assert_success("assume exec admin -- env -0", &out);
    let vars = parse_env0(&out.stdout);
    assert_role_variables(&vars, "admin", "assume exec admin");
    assert_ne!(vars["AWS_SECRET_ACCESS_KEY"], "stale-secret");
    assert_ne!(vars["AWS_SESSION_TOKEN"], "stale-session-token");
    // The code reached STS, and the role was assumed.
    assert!(
        calls
            .iter()
            .any(|c| c.get("TokenCode").map(String::as_str) == Some("123456")),
        "{calls:?}"
    );
    assert!(actions(&calls).contains(&"AssumeRole"), "{calls:?}");

    // The cache serves the next exec (no code needed, no STS call by assume), and the aws CLI
    // it runs is the role.
    let aws = harness::venv_bin("aws");
    let mut out = None;
    let calls = recorded_sts_calls(env, || {
        out = Some(
            env.cmd()
                .args(["exec", "admin", "--"])
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
                .envs(STALE)
                .output()
                .unwrap(),
        );
    });
    let out = out.unwrap();
    assert_success("assume exec admin -- aws sts get-caller-identity", &out);
    assert!(
        stdout(&out).contains(":assumed-role/Administrators/"),
        "{}",
        stdout(&out)
    );
    assert_eq!(actions(&calls), ["GetCallerIdentity"], "{calls:?}");
}

/// `--region`, `--duration` and `--no-cache` are those of `assume PROFILE`.
#[test]
fn exec_region_duration_and_no_cache() {
    let cx = plain_cx();
    let env = &cx.env;
    let run = || {
        env.cmd()
            .args([
                "exec",
                "admin",
                "--token-code",
                "123456",
                "--region",
                "us-west-2",
                "--duration",
                "2h",
                "--no-cache",
                "--",
                "env",
                "-0",
            ])
            .output()
            .unwrap()
    };
    for round in 1..=2 {
        let mut out = None;
        let calls = recorded_sts_calls(env, || out = Some(run()));
        let out = out.unwrap();
        assert_success("assume exec admin --region --duration --no-cache", &out);
        let vars = parse_env0(&out.stdout);
        assert_eq!(vars["AWS_REGION"], "us-west-2", "round {round}");
        assert_eq!(vars["AWS_DEFAULT_REGION"], "us-west-2", "round {round}");
        assert_eq!(vars["ASSUME_PROFILE"], "admin", "round {round}");
        // No cache: every run assumes the role again, for 2 h, the code on AssumeRole itself.
        let assume_role: Vec<_> = calls
            .iter()
            .filter(|c| c["Action"] == "AssumeRole")
            .collect();
        assert_eq!(assume_role.len(), 1, "round {round}: {calls:?}");
        assert_eq!(assume_role[0]["DurationSeconds"], "7200", "round {round}");
        assert_eq!(
            assume_role[0].get("TokenCode").map(String::as_str),
            Some("123456"),
            "round {round}: {calls:?}"
        );
    }
}

/// No PROFILE: `AWS_PROFILE` names it (and is then removed from the command's environment).
#[test]
fn exec_profile_defaults_to_aws_profile() {
    let cx = plain_cx();
    let out = cx
        .env
        .cmd()
        .args(["exec", "--token-code", "123456", "--", "env", "-0"])
        .env("AWS_PROFILE", "admin")
        .output()
        .unwrap();
    assert_success("AWS_PROFILE=admin assume exec -- env -0", &out);
    let vars = parse_env0(&out.stdout);
    assert_role_variables(&vars, "admin", "AWS_PROFILE=admin assume exec");
}

/// Neither PROFILE nor `AWS_PROFILE`, and no terminal to pick one on: a usage error that asks
/// for a profile; nothing runs, nothing is sent.
#[test]
fn exec_without_a_profile_and_without_a_terminal_is_a_usage_error() {
    let cx = plain_cx();
    let env = &cx.env;
    let marker = env.root().join("ran");
    let mut out = None;
    let calls = recorded_sts_calls(env, || {
        // setsid: a new session, so there is no controlling terminal (/dev/tty) either.
        out = Some(
            env.command("setsid")
                .arg("--wait")
                .arg(harness::assume_bin())
                .args(["exec", "--token-code", "123456", "--", "touch"])
                .arg(&marker)
                .stdin(Stdio::null())
                .output()
                .unwrap(),
        );
    });
    let out = out.unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "stdout: {}\nstderr: {}",
        stdout(&out),
        stderr(&out)
    );
    assert!(
        stderr(&out).to_lowercase().contains("profile"),
        "the message does not ask for a profile: {}",
        stderr(&out)
    );
    assert!(stdout(&out).is_empty(), "{}", stdout(&out));
    assert!(!marker.exists(), "the command ran without a profile");
    assert!(calls.is_empty(), "{calls:?}");
}

/// The process is replaced: same pid, the child's exit status, the child's signal.
#[test]
fn exec_replaces_the_process_exit_status_and_signals_are_the_commands() {
    let cx = plain_cx();
    let env = &cx.env;

    // Same pid: `sh` is what `assume` became.
    let child = env
        .std_cmd()
        .args([
            "exec",
            "admin",
            "--token-code",
            "123456",
            "--",
            "sh",
            "-c",
            "echo $$",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let out = child.wait_with_output().unwrap();
    assert_success("assume exec admin -- sh -c 'echo $$'", &out);
    assert_eq!(
        stdout(&out).trim(),
        pid.to_string(),
        "the command ran as another process than the one started as assume"
    );

    // Exit status (the role is cached now: no code needed).
    let out = env
        .cmd()
        .args(["exec", "admin", "--", "sh", "-c", "exit 7"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(7), "stderr: {}", stderr(&out));

    // Killed by a signal: so is "assume".
    let out = env
        .cmd()
        .args(["exec", "admin", "--", "sh", "-c", "kill -TERM $$"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.signal(),
        Some(15),
        "{} (stderr: {})",
        out.status,
        stderr(&out)
    );

    // As a shell reports it.
    let out = env
        .command("bash")
        .args([
            "-c",
            "assume exec admin -- sh -c 'kill -TERM $$'; echo \"status=$?\"",
        ])
        .output()
        .unwrap();
    assert_success("bash", &out);
    assert_eq!(stdout(&out).trim(), "status=143", "{}", stderr(&out));
}

#[test]
fn exec_missing_command_and_no_command() {
    let cx = plain_cx();
    let env = &cx.env;

    let out = env
        .cmd()
        .args([
            "exec",
            "admin",
            "--token-code",
            "123456",
            "--",
            "assume-no-such-command-here",
            "x",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(127), "stderr: {}", stderr(&out));
    assert!(
        stderr(&out).contains("command not found"),
        "{}",
        stderr(&out)
    );
    assert!(out.stdout.is_empty(), "{}", stdout(&out));

    // Nothing after `--`: a usage error, found before anything is sent.
    let mut out = None;
    let calls = recorded_sts_calls(env, || {
        out = Some(
            env.cmd()
                .args(["exec", "plain", "--no-cache", "--"])
                .output()
                .unwrap(),
        );
    });
    let out = out.unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "stdout: {}\nstderr: {}",
        stdout(&out),
        stderr(&out)
    );
    assert!(out.stdout.is_empty(), "{}", stdout(&out));
    assert!(calls.is_empty(), "a usage error sent {calls:?}");
}

/// The secrets go to the command through its environment, never through its argv.
#[test]
fn exec_secrets_are_in_environ_not_in_cmdline() {
    let cx = plain_cx();
    let env = &cx.env;
    let mut child = env
        .std_cmd()
        .args([
            "exec",
            "admin",
            "--token-code",
            "123456",
            "--",
            "sleep",
            "5",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let cmdline_path = format!("/proc/{pid}/cmdline");
    // Once exec'd, the same pid is `sleep 5`.
    let cmdline = poll_until(WAIT, || {
        let cmdline = std::fs::read(&cmdline_path).ok()?;
        cmdline.starts_with(b"sleep\0").then_some(cmdline)
    });
    let environ = std::fs::read(format!("/proc/{pid}/environ"));
    let Some(cmdline) = cmdline else {
        let _ = child.kill();
        let out = child.wait_with_output().unwrap();
        panic!(
            "pid {pid} never became `sleep 5` ({}): {}",
            out.status,
            stderr(&out)
        );
    };
    let _ = child.kill();
    let _ = child.wait();

    assert_eq!(
        cmdline,
        b"sleep\x005\x00",
        "{}",
        String::from_utf8_lossy(&cmdline)
    );
    let vars = parse_env0(&environ.unwrap());
    assert_role_variables(&vars, "admin", "/proc/PID/environ of the exec'd command");
    let secret = &vars["AWS_SECRET_ACCESS_KEY"];
    let token = &vars["AWS_SESSION_TOKEN"];
    let cmdline = String::from_utf8_lossy(&cmdline);
    assert!(!cmdline.contains(secret.as_str()), "{cmdline}");
    assert!(!cmdline.contains(token.as_str()), "{cmdline}");

    // And that is the role's secret indeed (the cached credentials).
    let out = env
        .cmd()
        .args(["credential-process", "admin"])
        .output()
        .unwrap();
    assert_success("assume credential-process admin", &out);
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["SecretAccessKey"].as_str(), Some(secret.as_str()));
}
