//! `assume credential-process PROFILE`: exactly the JSON document, and under its real
//! consumer, the aws CLI — served from the cache after the first run, with the MFA prompt on
//! the terminal while the CLI captures the process's output.

use crate::harness::{
    self, Store, StoreCx, WAIT, actions, assert_success, check_credential_process_json, plain_cx,
    plain_cx_with, recorded_sts_calls, standard_config, stdout,
};

#[test]
fn credential_process_prints_only_the_json() {
    let cx = plain_cx();
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
        harness::assume_bin().display(),
        harness::assume_bin().display()
    )
}

#[test]
fn credential_process_under_the_aws_cli_twice_assumes_once() {
    let cx = plain_cx_with(&admin_auto_config());
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
    let cx = plain_cx_with(&admin_auto_config());
    let env = &cx.env;
    let aws = harness::venv_bin("aws");
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

/// The aws CLI runs `assume credential-process` for every command; after the first, they are
/// all served from the cache.
#[test]
fn aws_cli_uses_the_cache_through_credential_process() {
    let cx = StoreCx::new(Store::SecretService);
    cx.env.write_config(&format!(
        "{}[profile via-assume]\ncredential_process = assume credential-process plain\n",
        standard_config(&cx.mfa)
    ));
    let run_aws = || {
        let out = cx
            .command(harness::venv_bin("aws").to_str().unwrap())
            .env("AWS_PAGER", "")
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .args([
                "sts",
                "get-caller-identity",
                "--profile",
                "via-assume",
                "--query",
                "Arn",
                "--output",
                "text",
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    let mut arns = Vec::new();
    let calls = recorded_sts_calls(&cx.env, || {
        for _ in 0..3 {
            arns.push(run_aws());
        }
    });
    let assume_roles = calls.iter().filter(|c| c["Action"] == "AssumeRole").count();
    assert_eq!(assume_roles, 1, "{calls:?}");
    assert!(
        arns.iter()
            .all(|a| a.contains(":assumed-role/Administrators/")),
        "{arns:?}"
    );
    assert!(arns.windows(2).all(|w| w[0] == w[1]), "{arns:?}");
}
