//! The MFA prompt, answered by a person in a real terminal (tmux) while the command's stdout
//! (and stderr) are captured — `eval "$(assume admin)"` and the aws CLI's credential_process.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::{TestEnv, moto, recorded_sts_calls};

const WAIT: Duration = Duration::from_secs(20);

fn env() -> TestEnv {
    let moto = moto();
    let env = TestEnv::new(moto);
    env.write_config(&format!(
        "[profile alice]\nregion = eu-west-1\n\
         [profile admin]\nrole_arn = {}\nsource_profile = alice\nmfa_serial = {}\n",
        moto.role_arn("Administrators"),
        moto.mfa_serial("alice"),
    ));
    env.alice_credentials();
    env
}

#[test]
fn prompt_reaches_the_terminal_while_stdout_is_captured() {
    let env = env();
    let aws = common::venv_bin("aws");
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
    let env = env();
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
