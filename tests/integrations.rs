//! The shell integrations, end to end: `assume exec` (the process is replaced by the command,
//! with the role's variables), `assume shell` (a subshell with them; exiting it is "switch
//! back"), `assume credential-process` under the real aws CLI (and its MFA prompt on the
//! terminal while the CLI captures the process's output), `assume init` (a shell function that
//! makes `assume PROFILE` switch the calling shell itself, in real bash, zsh and fish) and
//! `assume completions` (the committed scripts in `completions/` never drift from the command's
//! output; profile names complete dynamically from the config files, in real fish and bash).
//!
//! Real parts only: moto on the wire (through each [`TestEnv`]'s recording proxy), the aws CLI
//! of the test venv, real shells, `shellcheck`, and a real terminal (tmux).
//!
//! Isolation: every test has its own TestEnv (own HOME, config, `XDG_CACHE_HOME` and proxy) and
//! its own `mfa_serial` (moto never checks it), so MFA sessions, which are cached per (access
//! key id, MFA device) in the Secret Service that all tests of this binary share, never leak
//! from one test into another.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::{HashMap, HashSet};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::{
    StsCall, TestEnv, assert_success, is_rfc3339, moto, parse_env0, poll_until, recorded_sts_calls,
    sh_quote, stderr, stdout,
};
use serde_json::Value;

/// How long to wait for a prompt, a screen or an exit in tmux (or a process to appear).
const WAIT: Duration = Duration::from_secs(15);

/// The completion scripts the repository holds: (shell, file under `completions/`).
const COMPLETION_FILES: [(&str, &str); 5] = [
    ("bash", "assume.bash"),
    ("zsh", "_assume"),
    ("fish", "assume.fish"),
    ("powershell", "_assume.ps1"),
    ("elvish", "assume.elv"),
];

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
/// this test's MFA device), `plain` (a role without MFA), plus `extra` appended verbatim.
fn cx_with(extra: &str) -> Cx {
    let m = moto();
    let env = TestEnv::new(m);
    let mfa = format!(
        "arn:aws:iam::123456789012:mfa/integrations-{}",
        unique_suffix()
    );
    env.write_config(&format!(
        "[profile alice]\nregion = eu-west-1\n\
         [profile admin]\nrole_arn = {admin}\nsource_profile = alice\nmfa_serial = {mfa}\n\
         [profile readonly]\nrole_arn = {readonly}\nsource_profile = alice\nmfa_serial = {mfa}\n\
         [profile plain]\nrole_arn = {admin}\nsource_profile = alice\n{extra}",
        admin = m.role_arn("Administrators"),
        readonly = m.role_arn("ReadOnly"),
    ));
    env.alice_credentials();
    Cx { env, mfa }
}

fn cx() -> Cx {
    cx_with("")
}

fn actions(calls: &[StsCall]) -> Vec<&str> {
    calls.iter().map(|c| c["Action"].as_str()).collect()
}

/// The variables a role's credentials must be exported as (profile `admin`, region of alice).
fn assert_role_variables(vars: &HashMap<String, String>, profile: &str, context: &str) {
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

/// Stale values a caller's environment may hold; every one must be replaced or removed.
const STALE: [(&str, &str); 9] = [
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

// ---------------------------------------------------------------------------------------------
// assume exec
// ---------------------------------------------------------------------------------------------

/// The command sees the role's variables, and none of the stale ones it inherited; the next
/// exec is served by the cache, and the aws CLI run by it is the role.
#[test]
fn exec_runs_the_command_with_the_role_variables() {
    let cx = cx();
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
    let aws = common::venv_bin("aws");
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
    let cx = cx();
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
    let cx = cx();
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
    let cx = cx();
    let env = &cx.env;
    let marker = env.root().join("ran");
    let mut out = None;
    let calls = recorded_sts_calls(env, || {
        // setsid: a new session, so there is no controlling terminal (/dev/tty) either.
        out = Some(
            env.command("setsid")
                .arg("--wait")
                .arg(common::assume_bin())
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
    let cx = cx();
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
    let cx = cx();
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
    let cx = cx();
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

// ---------------------------------------------------------------------------------------------
// assume shell
// ---------------------------------------------------------------------------------------------

/// In a real terminal: the subshell is the role; `exit` is "switch back" (the outer shell never
/// had the variables).
#[test]
fn shell_in_a_terminal_and_exit_switches_back() {
    let cx = cx();
    let env = &cx.env;
    let aws = common::venv_bin("aws");
    let tmux = env.tmux(
        "bash -c 'SHELL=/bin/bash assume shell admin --token-code 123456; echo back-$?; \
         echo outer-key=${AWS_ACCESS_KEY_ID-unset}'",
    );
    tmux.wait_for("expire", WAIT);
    tmux.send_line(&format!(
        "AWS_PAGER= {} sts get-caller-identity --query Arn --output text",
        aws.display()
    ));
    tmux.wait_for(":assumed-role/Administrators/", WAIT);
    tmux.send_line("echo \"shell=[$ASSUME_SHELL] profile=[$ASSUME_PROFILE]\"");
    tmux.wait_for("shell=[admin] profile=[admin]", WAIT);
    tmux.send_line("exit");
    let screen = tmux.wait_for("outer-key=", WAIT);
    assert!(screen.contains("back-0"), "{screen}");
    assert!(screen.contains("outer-key=unset"), "{screen}");
    assert_eq!(tmux.wait_exit(WAIT), 0, "{screen}");
}

/// `--shell-path` wins over `$SHELL`; the subshell has every variable of the role plus
/// `ASSUME_SHELL`, and none of the stale ones; the expiry is said on stderr.
#[test]
fn shell_path_and_the_subshells_environment() {
    let cx = cx();
    let env = &cx.env;
    let dump = env.root().join("shell.env");
    let out = env
        .cmd()
        .args([
            "shell",
            "admin",
            "--token-code",
            "123456",
            "--shell-path",
            "/bin/sh",
        ])
        .env("SHELL", "/bin/false")
        .envs(STALE)
        .write_stdin(format!(
            "env -0 > {}\necho subshell-ran\n",
            sh_quote(&dump.display().to_string())
        ))
        .output()
        .unwrap();
    assert_success("assume shell admin --shell-path /bin/sh", &out);
    assert!(stdout(&out).contains("subshell-ran"), "{}", stdout(&out));
    assert!(
        stderr(&out).contains("expire"),
        "nothing on stderr says when the credentials expire: {}",
        stderr(&out)
    );
    let vars = parse_env0(&std::fs::read(&dump).unwrap());
    assert_role_variables(&vars, "admin", "assume shell admin");
    assert_eq!(vars["ASSUME_SHELL"], "admin");
    assert_ne!(vars["AWS_SECRET_ACCESS_KEY"], "stale-secret");
}

/// A shell inside an assume shell: a warning, the new role's credentials inside, the outer
/// role's again after the inner one exits.
#[test]
fn shell_inside_a_shell_warns_and_replaces_the_credentials() {
    let cx = cx();
    let env = &cx.env;
    let inner_err = env.root().join("inner.err");
    let script = format!(
        "echo \"outer=$AWS_ACCESS_KEY_ID shell=$ASSUME_SHELL\"\n\
         echo 'echo \"inner=$AWS_ACCESS_KEY_ID shell=$ASSUME_SHELL profile=$ASSUME_PROFILE\"' \
         | assume shell readonly --token-code 123456 2>{}\n\
         echo \"after=$AWS_ACCESS_KEY_ID shell=$ASSUME_SHELL\"\n",
        sh_quote(&inner_err.display().to_string())
    );
    let out = env
        .cmd()
        .args(["shell", "admin", "--token-code", "123456"])
        .env("SHELL", "/bin/sh")
        .write_stdin(script)
        .output()
        .unwrap();
    assert_success("assume shell admin (with a nested assume shell)", &out);
    let text = stdout(&out);
    let field = |prefix: &str| -> String {
        text.lines()
            .find_map(|l| l.strip_prefix(prefix))
            .unwrap_or_else(|| panic!("no line {prefix}…: {text}\nstderr: {}", stderr(&out)))
            .to_string()
    };
    let outer = field("outer=");
    let inner = field("inner=");
    let after = field("after=");
    let (outer_key, outer_rest) = outer.split_once(' ').unwrap();
    let (inner_key, inner_rest) = inner.split_once(' ').unwrap();
    assert!(outer_key.starts_with("ASIA"), "{text}");
    assert_eq!(outer_rest, "shell=admin", "{text}");
    assert!(inner_key.starts_with("ASIA"), "{text}");
    assert_ne!(
        inner_key, outer_key,
        "the inner shell kept the outer role's credentials"
    );
    assert_eq!(inner_rest, "shell=readonly profile=readonly", "{text}");
    assert_eq!(
        after, outer,
        "leaving the inner shell did not return to the outer role"
    );
    let warning = std::fs::read_to_string(&inner_err).unwrap();
    assert!(
        warning.contains("already"),
        "no warning about the shell already being an assume shell: {warning}"
    );
}

// ---------------------------------------------------------------------------------------------
// assume credential-process
// ---------------------------------------------------------------------------------------------

/// Exactly `{"Version": 1, "AccessKeyId", "SecretAccessKey", "SessionToken", "Expiration"}`.
fn check_credential_process_json(stdout: &[u8]) -> Value {
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

#[test]
fn credential_process_prints_only_the_json() {
    let cx = cx();
    let out = cx
        .env
        .cmd()
        .args(["credential-process", "admin", "--token-code", "123456"])
        .output()
        .unwrap();
    assert_success("assume credential-process admin", &out);
    let json = check_credential_process_json(&out.stdout);
    assert!(json["AccessKeyId"].as_str().unwrap().starts_with("ASIA"));
}

/// `aws sts get-caller-identity` with the role's secret, as a `credential_process` profile:
/// twice, the second time from the cache (no AssumeRole).
fn admin_auto_config() -> String {
    format!(
        "[profile admin-auto]\ncredential_process = {} credential-process admin\n\
         [profile plain-auto]\ncredential_process = {} credential-process plain\n",
        common::assume_bin().display(),
        common::assume_bin().display()
    )
}

#[test]
fn credential_process_under_the_aws_cli_twice_assumes_once() {
    let cx = cx_with(&admin_auto_config());
    let env = &cx.env;
    let run = || {
        let out = env
            .aws()
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .args([
                "sts",
                "get-caller-identity",
                "--profile",
                "plain-auto",
                "--query",
                "Arn",
                "--output",
                "text",
            ])
            .output()
            .unwrap();
        assert_success("aws sts get-caller-identity --profile plain-auto", &out);
        assert!(
            stdout(&out).contains(":assumed-role/Administrators/"),
            "{}",
            stdout(&out)
        );
    };
    let first = recorded_sts_calls(env, run);
    assert_eq!(
        actions(&first),
        ["AssumeRole", "GetCallerIdentity"],
        "{first:?}"
    );
    let second = recorded_sts_calls(env, run);
    assert_eq!(actions(&second), ["GetCallerIdentity"], "{second:?}");
}

/// The same with MFA and no --token-code, in a real terminal: the aws CLI captures the
/// process's stdout and stderr, yet the prompt reaches the terminal and the typed code works.
#[test]
fn credential_process_mfa_prompt_reaches_the_terminal_under_the_aws_cli() {
    let cx = cx_with(&admin_auto_config());
    let env = &cx.env;
    let aws = common::venv_bin("aws");
    let calls = recorded_sts_calls(env, || {
        let tmux = env.tmux(&format!(
            "AWS_DEFAULT_REGION=us-east-1 AWS_PAGER= {} sts get-caller-identity \
             --profile admin-auto --query Arn --output text; echo exit-$?",
            aws.display()
        ));
        tmux.wait_for(&format!("MFA code for {}", cx.mfa), WAIT);
        tmux.send_line("123456");
        let screen = tmux.wait_for("exit-", WAIT);
        assert!(screen.contains(":assumed-role/Administrators/"), "{screen}");
        assert!(screen.contains("exit-0"), "{screen}");
    });
    let with_code: Vec<_> = calls
        .iter()
        .filter(|c| c.contains_key("TokenCode"))
        .collect();
    assert_eq!(with_code.len(), 1, "{calls:?}");
    assert_eq!(with_code[0]["TokenCode"], "123456");
    assert_eq!(with_code[0]["SerialNumber"], cx.mfa);
}

// ---------------------------------------------------------------------------------------------
// assume init
// ---------------------------------------------------------------------------------------------

/// `assume init SHELL` → its text (must succeed).
fn init_script(env: &TestEnv, shell: &str) -> String {
    let out = env.cmd().args(["init", shell]).output().unwrap();
    assert_success(&format!("assume init {shell}"), &out);
    let text = stdout(&out);
    assert!(
        !text.trim().is_empty(),
        "assume init {shell} printed nothing"
    );
    text
}

/// The script run in each shell after its init line: pass-through commands (compared with the
/// binary's own output, `command assume`, at the same moment), the switch, a failed switch, the
/// switch back. `show STAGE VAR…` prints `STAGE.VAR=value` or `STAGE.VAR=<unset>`.
fn init_session_script(shell: &str, aws: &Path) -> String {
    let aws = aws.display();
    match shell {
        "fish" => format!(
            r#"assume init fish | source; or begin; echo init-failed; exit 1; end
function show
    set -l stage $argv[1]
    for v in $argv[2..-1]
        if set -q $v
            echo "$stage.$v=$$v"
        else
            echo "$stage.$v=<unset>"
        end
    end
end
command assume explain admin > $HOME/explain.direct
assume explain admin > $HOME/explain.fn; echo "status.explain=$status"
command assume list --output json > $HOME/list.direct
assume list --output json > $HOME/list.fn; echo "status.list=$status"
command assume --version > $HOME/version.direct
assume --version > $HOME/version.fn; echo "status.version=$status"
assume exec admin --token-code 123456 -- printenv ASSUME_PROFILE > $HOME/exec.fn; echo "status.exec=$status"
command assume -v list --output json > $HOME/vlist.direct 2>/dev/null
assume -v list --output json > $HOME/vlist.fn 2>/dev/null; echo "status.vlist=$status"
command assume --region eu-west-1 explain admin > $HOME/rexplain.direct
assume --region eu-west-1 explain admin > $HOME/rexplain.fn; echo "status.rexplain=$status"
assume -v exec admin -- echo "touch $HOME/pwned" > $HOME/vexec.fn 2>/dev/null; echo "status.vexec=$status"
show before AWS_PROFILE ASSUME_PROFILE AWS_ACCESS_KEY_ID
assume admin --token-code 123456 > $HOME/switch.out; echo "status.switch=$status"
show switched AWS_PROFILE ASSUME_PROFILE AWS_ACCESS_KEY_ID AWS_REGION
echo "switched.ARN="({aws} sts get-caller-identity --query Arn --output text)
assume nosuchprofile > $HOME/bad.out 2> $HOME/bad.err; echo "status.bad=$status"
show failed AWS_PROFILE ASSUME_PROFILE AWS_ACCESS_KEY_ID
assume --unset > $HOME/unset.out; echo "status.unset=$status"
show unset AWS_PROFILE ASSUME_PROFILE AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN
"#
        ),
        _ => format!(
            r#"eval "$(assume init {shell})" || {{ echo init-failed; exit 1; }}
show() {{
    stage=$1; shift
    for v in "$@"; do
        if [[ -v $v ]]; then eval "printf '%s.%s=%s\n' \"\$stage\" \"\$v\" \"\${{$v}}\""
        else printf '%s.%s=<unset>\n' "$stage" "$v"; fi
    done
}}
command assume explain admin > "$HOME/explain.direct"
assume explain admin > "$HOME/explain.fn"; echo "status.explain=$?"
command assume list --output json > "$HOME/list.direct"
assume list --output json > "$HOME/list.fn"; echo "status.list=$?"
command assume --version > "$HOME/version.direct"
assume --version > "$HOME/version.fn"; echo "status.version=$?"
assume exec admin --token-code 123456 -- printenv ASSUME_PROFILE > "$HOME/exec.fn"; echo "status.exec=$?"
command assume -v list --output json > "$HOME/vlist.direct" 2>/dev/null
assume -v list --output json > "$HOME/vlist.fn" 2>/dev/null; echo "status.vlist=$?"
command assume --region eu-west-1 explain admin > "$HOME/rexplain.direct"
assume --region eu-west-1 explain admin > "$HOME/rexplain.fn"; echo "status.rexplain=$?"
assume -v exec admin -- echo "touch $HOME/pwned" > "$HOME/vexec.fn" 2>/dev/null; echo "status.vexec=$?"
show before AWS_PROFILE ASSUME_PROFILE AWS_ACCESS_KEY_ID
assume admin --token-code 123456 > "$HOME/switch.out"; echo "status.switch=$?"
show switched AWS_PROFILE ASSUME_PROFILE AWS_ACCESS_KEY_ID AWS_REGION
echo "switched.ARN=$({aws} sts get-caller-identity --query Arn --output text)"
assume nosuchprofile > "$HOME/bad.out" 2> "$HOME/bad.err"; echo "status.bad=$?"
show failed AWS_PROFILE ASSUME_PROFILE AWS_ACCESS_KEY_ID
assume --unset > "$HOME/unset.out"; echo "status.unset=$?"
show unset AWS_PROFILE ASSUME_PROFILE AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN
"#
        ),
    }
}

/// After `init`, `assume PROFILE` switches the very shell it runs in, `assume --unset` switches
/// back, a failed switch changes nothing, and every other command passes through unchanged.
fn check_init_in(shell: &str) {
    let cx = cx();
    let env = &cx.env;
    let home = env.home();
    let script = init_session_script(shell, &common::venv_bin("aws"));
    let out = env
        .command(shell)
        .args(["-c", &script])
        .env("SHELL", format!("/usr/bin/{shell}"))
        .env("AWS_PAGER", "")
        .env("AWS_PROFILE", "alice")
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("run {shell}: {e}"));
    let text = stdout(&out);
    let context = format!("{shell}:\n{text}\nstderr: {}", stderr(&out));
    assert!(out.status.success(), "{context}");
    assert!(!text.contains("init-failed"), "{context}");
    let lines: HashMap<&str, &str> = text.lines().filter_map(|l| l.split_once('=')).collect();
    let get = |k: &str| -> &str {
        lines
            .get(k)
            .copied()
            .unwrap_or_else(|| panic!("no {k}= line; {context}"))
    };
    let read = |name: &str| std::fs::read_to_string(home.join(name)).unwrap_or_default();

    // Pass-through: the same stdout as the binary's, and status 0.
    for (cmd, name) in [
        ("explain", "explain"),
        ("list", "list"),
        ("version", "version"),
        // Options before the subcommand: still passed through, never evaluated.
        ("-v list", "vlist"),
        ("--region eu-west-1 explain", "rexplain"),
    ] {
        assert_eq!(get(&format!("status.{name}")), "0", "{context}");
        let direct = read(&format!("{name}.direct"));
        let through = read(&format!("{name}.fn"));
        assert!(
            !direct.trim().is_empty(),
            "{shell}: `command assume {cmd}` printed nothing"
        );
        assert_eq!(
            through, direct,
            "{shell}: the function changed what `assume {cmd}` prints"
        );
    }
    assert!(
        read("explain.fn").contains("role/Administrators"),
        "{shell}: {}",
        read("explain.fn")
    );
    let list: Value = serde_json::from_str(&read("list.fn"))
        .unwrap_or_else(|e| panic!("{shell}: `assume list --output json` is no JSON ({e})"));
    assert!(list.is_array(), "{shell}: {list}");
    assert!(
        read("version.fn").contains(env!("CARGO_PKG_VERSION")),
        "{shell}: {}",
        read("version.fn")
    );

    // `exec` too runs as it is (its command's output is not evaluated), with `-v` before it too.
    assert_eq!(get("status.exec"), "0", "{context}");
    assert_eq!(read("exec.fn"), "admin\n", "{shell}");
    assert_eq!(get("status.vexec"), "0", "{context}");
    assert!(
        read("vexec.fn").starts_with("touch "),
        "{shell}: {}",
        read("vexec.fn")
    );
    assert!(
        !home.join("pwned").exists(),
        "{shell}: the function evaluated the output of `assume -v exec`"
    );

    // Before.
    assert_eq!(get("before.AWS_PROFILE"), "alice", "{context}");
    assert_eq!(get("before.ASSUME_PROFILE"), "<unset>", "{context}");
    assert_eq!(get("before.AWS_ACCESS_KEY_ID"), "<unset>", "{context}");

    // The switch, in this shell.
    assert_eq!(get("status.switch"), "0", "{context}");
    assert_eq!(
        read("switch.out"),
        "",
        "{shell}: `assume admin` printed the exports instead of evaluating them"
    );
    assert_eq!(get("switched.ASSUME_PROFILE"), "admin", "{context}");
    assert!(
        get("switched.AWS_ACCESS_KEY_ID").starts_with("ASIA"),
        "{context}"
    );
    assert_eq!(get("switched.AWS_PROFILE"), "<unset>", "{context}");
    assert_eq!(get("switched.AWS_REGION"), "eu-west-1", "{context}");
    assert!(
        get("switched.ARN").contains(":assumed-role/Administrators/"),
        "{context}"
    );

    // A failed switch: non-zero, nothing changed.
    assert_ne!(get("status.bad"), "0", "{context}");
    assert_eq!(read("bad.out"), "", "{shell}");
    assert!(!read("bad.err").is_empty(), "{shell}: no error message");
    assert_eq!(get("failed.ASSUME_PROFILE"), "admin", "{context}");
    assert_eq!(
        get("failed.AWS_ACCESS_KEY_ID"),
        get("switched.AWS_ACCESS_KEY_ID"),
        "{context}"
    );
    assert_eq!(get("failed.AWS_PROFILE"), "<unset>", "{context}");

    // Switch back.
    assert_eq!(get("status.unset"), "0", "{context}");
    assert_eq!(read("unset.out"), "", "{shell}");
    for var in [
        "ASSUME_PROFILE",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
    ] {
        assert_eq!(get(&format!("unset.{var}")), "<unset>", "{context}");
    }
    assert_eq!(get("unset.AWS_PROFILE"), "alice", "{context}");
}

#[test]
fn init_bash_switches_the_calling_shell() {
    check_init_in("bash");
}

#[test]
fn init_zsh_switches_the_calling_shell() {
    check_init_in("zsh");
}

#[test]
fn init_fish_switches_the_calling_shell() {
    check_init_in("fish");
}

/// Each script passes its shell's own checker; PowerShell's (not installed) is checked as text.
#[test]
fn init_scripts_pass_their_checkers() {
    let cx = cx();
    let env = &cx.env;
    let dir = env.root();
    for (shell, checker, args) in [
        ("bash", "shellcheck", &["-s", "bash"][..]),
        ("zsh", "zsh", &["-n"][..]),
        ("fish", "fish", &["--no-execute"][..]),
    ] {
        let file = dir.join(format!("init.{shell}"));
        std::fs::write(&file, init_script(env, shell)).unwrap();
        let out = env
            .command(checker)
            .args(args)
            .arg(&file)
            .output()
            .unwrap_or_else(|e| panic!("run {checker}: {e}"));
        assert!(
            out.status.success(),
            "{checker} {args:?} rejects `assume init {shell}`:\n{}{}",
            stdout(&out),
            stderr(&out)
        );
    }
    let ps = init_script(env, "powershell");
    assert!(ps.contains("function assume"), "{ps}");
    assert!(ps.contains("Invoke-Expression"), "{ps}");
}

// ---------------------------------------------------------------------------------------------
// assume completions
// ---------------------------------------------------------------------------------------------

/// The committed scripts are exactly what `assume completions SHELL` prints.
#[test]
fn completion_files_are_not_stale() {
    let cx = cx();
    let mut stale = Vec::new();
    for (shell, file) in COMPLETION_FILES {
        let out = cx.env.cmd().args(["completions", shell]).output().unwrap();
        assert_success(&format!("assume completions {shell}"), &out);
        assert!(
            !out.stdout.is_empty(),
            "assume completions {shell} printed nothing"
        );
        let committed =
            std::fs::read(common::repo_root().join("completions").join(file)).unwrap_or_default();
        if committed != out.stdout {
            stale.push(format!(
                "completions/{file} is stale: run  assume completions {shell} > completions/{file}"
            ));
        }
    }
    assert!(stale.is_empty(), "{}", stale.join("\n"));
}

/// Profile names from this env's config files.
fn completion_cx() -> Cx {
    cx_with("[profile adzebra-team]\nregion = eu-central-1\n")
}

/// Candidates (the text before a tab) of fish's `complete -C LINE`.
fn fish_candidates(env: &TestEnv, line: &str) -> Vec<String> {
    let script = format!(
        "assume completions fish | source; or exit 1\ncomplete -C {}",
        sh_quote(line)
    );
    let out = env.command("fish").args(["-c", &script]).output().unwrap();
    assert_success(&format!("fish complete -C {line:?}"), &out);
    stdout(&out)
        .lines()
        .map(|l| l.split('\t').next().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn fish_completes_profile_names_from_the_config() {
    let cx = completion_cx();
    for line in ["assume ad", "assume exec ad", "assume shell ad"] {
        let got = fish_candidates(&cx.env, line);
        for want in ["admin", "adzebra-team"] {
            assert!(
                got.iter().any(|c| c == want),
                "fish `complete -C {line:?}` lacks {want}: {got:?}"
            );
        }
        for unwanted in ["alice", "readonly", "plain"] {
            assert!(
                !got.iter().any(|c| c == unwanted),
                "fish `complete -C {line:?}` offers {unwanted}: {got:?}"
            );
        }
    }
}

/// COMPREPLY of the function `assume completions bash` registers for `assume`, for the words.
fn bash_candidates(env: &TestEnv, words: &[&str]) -> Vec<String> {
    let quoted: Vec<String> = words.iter().map(|w| sh_quote(w)).collect();
    let line = words.join(" ");
    let script = format!(
        r#"source <(assume completions bash) || exit 1
spec=$(complete -p assume) || {{ echo "no completion registered for assume" >&2; exit 1; }}
fn=${{spec##*-F }}; fn=${{fn%% *}}
COMP_WORDS=({words})
COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 ))
COMP_LINE={line}
COMP_POINT=${{#COMP_LINE}}
COMP_TYPE=9
COMP_KEY=9
"$fn" assume "${{COMP_WORDS[COMP_CWORD]}}" "${{COMP_WORDS[COMP_CWORD-1]}}"
printf '%s\n' "${{COMPREPLY[@]}}"
"#,
        words = quoted.join(" "),
        line = sh_quote(&line),
    );
    let out = env.command("bash").args(["-c", &script]).output().unwrap();
    assert_success(&format!("bash completion of {line:?}"), &out);
    stdout(&out)
        .lines()
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

#[test]
fn bash_completes_profile_names_from_the_config() {
    let cx = completion_cx();
    for words in [
        &["assume", "ad"][..],
        &["assume", "exec", "ad"][..],
        &["assume", "shell", "ad"][..],
    ] {
        let got = bash_candidates(&cx.env, words);
        for want in ["admin", "adzebra-team"] {
            assert!(
                got.iter().any(|c| c == want),
                "bash completion of {words:?} lacks {want}: {got:?}"
            );
        }
        for unwanted in ["alice", "readonly", "plain"] {
            assert!(
                !got.iter().any(|c| c == unwanted),
                "bash completion of {words:?} offers {unwanted}: {got:?}"
            );
        }
    }
}
