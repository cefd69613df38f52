//! The exports in each shell's own syntax, evaluated by real bash, zsh and fish: the role
//! reaches the aws CLI, `--unset` switches back (restoring what was there), no value can run
//! as code, and the syntax follows the shell that evaluates it. PowerShell and nushell, not
//! packaged here, as text.

use crate::harness::{self, TestEnv, admin_env};

const SHELLS: [&str; 3] = ["bash", "zsh", "fish"];

/// [`admin_env`] (alice's MFA device) plus `weird`, whose credential_process prints
/// `$HOME/weird.json`.
fn env() -> TestEnv {
    admin_env(
        "alice",
        "[profile weird]\ncredential_process = sh -c 'cat \"$HOME/weird.json\"'\n",
    )
}

/// Runs `script` in `shell` with `SHELL` naming it, so `assume` picks its syntax by itself.
fn run(env: &TestEnv, shell: &str, script: &str, vars: &[(&str, &str)]) -> String {
    let out = env
        .command(shell)
        .args(["-c", script])
        .env("SHELL", format!("/usr/bin/{shell}"))
        .env("AWS_PAGER", "")
        .envs(vars.iter().copied())
        .output()
        .unwrap_or_else(|e| panic!("run {shell}: {e} (scripts/test installs it)"));
    assert!(
        out.status.success(),
        "{shell} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `eval` in each shell's own words.
fn eval(shell: &str, args: &str) -> String {
    match shell {
        "fish" => format!("assume {args} | source"),
        _ => format!("eval \"$(assume {args})\""),
    }
}

#[test]
fn exports_reach_the_aws_cli_and_unset_switches_back() {
    let env = env();
    let aws = harness::venv_bin("aws");
    let aws = aws.display();
    for shell in SHELLS {
        let script = format!(
            "{assume}\n{aws} sts get-caller-identity --query Arn --output text\n\
             echo \"profile=$ASSUME_PROFILE region=$AWS_REGION\"\n\
             {unset}\nenv | grep -E '^(AWS_ACCESS|AWS_SECRET|AWS_SESSION|ASSUME_PROFILE|AWS_CREDENTIAL)' ; \
             echo \"after profile=$AWS_PROFILE region=$AWS_REGION\"",
            assume = eval(shell, "admin --token-code 123456"),
            unset = eval(shell, "--unset"),
        );
        let out = run(
            &env,
            shell,
            &script,
            &[("AWS_PROFILE", "alice"), ("AWS_REGION", "us-west-2")],
        );
        let lines: Vec<&str> = out.lines().collect();
        assert!(
            lines[0].contains(":assumed-role/Administrators/assume-"),
            "{shell}: {out}"
        );
        assert_eq!(lines[1], "profile=admin region=eu-west-1", "{shell}: {out}");
        // Switched back: the role's variables are gone, AWS_PROFILE and AWS_REGION are back.
        assert_eq!(
            lines[2], "after profile=alice region=us-west-2",
            "{shell}: {out}"
        );
        assert_eq!(lines.len(), 3, "{shell}: {out}");
    }
}

/// Values that would run if quoted wrongly come back byte for byte and run nothing.
#[test]
fn no_value_can_run_as_code() {
    let env = env();
    let nasty = [
        "AKIA$(touch pwned1)`touch pwned2`",
        "se'cr\"et; touch pwned3 #\nline2 \\ $HOME ü 🦀",
        "tok'; touch pwned4; echo '",
    ];
    std::fs::write(
        env.home().join("weird.json"),
        serde_json::json!({
            "Version": 1,
            "AccessKeyId": nasty[0],
            "SecretAccessKey": nasty[1],
            "SessionToken": nasty[2],
        })
        .to_string(),
    )
    .unwrap();
    let saved_profile = "p$(touch pwned5)'x";
    for shell in SHELLS {
        let script = format!(
            "{}\nprintf '%s\\0' \"$AWS_ACCESS_KEY_ID\" \"$AWS_SECRET_ACCESS_KEY\" \"$AWS_SESSION_TOKEN\" \"$ASSUME_SAVED_AWS_PROFILE\"",
            eval(shell, "weird")
        );
        let out = run(&env, shell, &script, &[("AWS_PROFILE", saved_profile)]);
        let values: Vec<&str> = out.split('\0').collect();
        assert_eq!(&values[..3], &nasty[..], "{shell}");
        assert_eq!(values[3], saved_profile, "{shell}");
        for n in 1..=5 {
            assert!(
                !env.home().join(format!("pwned{n}")).exists(),
                "{shell} ran pwned{n}"
            );
        }
    }
}

/// PowerShell and nushell are not packaged here: their output is checked as text.
#[test]
fn powershell_and_nushell_syntax() {
    let env = env();
    let unset = |shell: &str| {
        let out = env
            .cmd()
            .args(["--unset", "--shell", shell])
            .output()
            .unwrap();
        assert!(out.status.success());
        String::from_utf8(out.stdout).unwrap()
    };
    let ps = unset("powershell");
    assert!(
        ps.contains("Remove-Item -Path Env:AWS_SECRET_ACCESS_KEY -ErrorAction SilentlyContinue")
    );
    assert_eq!(
        unset("nu").trim(),
        "[AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_SECURITY_TOKEN, AWS_CREDENTIAL_EXPIRATION, ASSUME_PROFILE]"
    );

    std::fs::write(
        env.home().join("weird.json"),
        r#"{"Version": 1, "AccessKeyId": "AKIA'x", "SecretAccessKey": "s'#x"}"#,
    )
    .unwrap();
    let set = |shell: &str| {
        let out = env
            .cmd()
            .args(["weird", "--shell", shell])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let ps = set("pwsh");
    assert!(ps.contains("$env:AWS_ACCESS_KEY_ID = 'AKIA''x'\n"), "{ps}");
    assert!(ps.contains("Remove-Item -Path Env:AWS_PROFILE"), "{ps}");
    let nu = set("nu");
    assert!(nu.starts_with('{') && nu.trim_end().ends_with('}'), "{nu}");
    assert!(nu.contains("AWS_ACCESS_KEY_ID: r#'AKIA'x'#"), "{nu}");
    assert!(nu.contains("AWS_SECRET_ACCESS_KEY: r##'s'#x'##"), "{nu}");
}

/// The syntax follows the shell that evaluates the output, not the login shell `$SHELL`: a fish
/// user's bash or sh script gets POSIX code (fish's `set -e` would turn errexit on there), and a
/// fish started from a bash login gets fish code.
#[test]
fn syntax_follows_the_evaluating_shell_not_the_login_shell() {
    let env = env();
    for shell in ["bash", "sh", "zsh"] {
        let script =
            "set -e\neval \"$(assume admin --token-code 123456)\"\necho \"ok $ASSUME_PROFILE\"";
        let out = run(&env, shell, script, &[("SHELL", "/usr/bin/fish")]);
        assert_eq!(out.trim(), "ok admin", "{shell} under a fish login: {out}");
    }
    let script = "assume admin --token-code 123456 | source\necho \"ok $ASSUME_PROFILE\"";
    let out = run(&env, "fish", script, &[("SHELL", "/bin/bash")]);
    assert_eq!(out.trim(), "ok admin", "fish under a bash login: {out}");
}
