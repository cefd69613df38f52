//! The config files and the rules read from them (as `assume explain` shows them): which
//! profile, region and endpoint, and the one clear line a person gets for a bad or unreadable
//! file.

use serde_json::Value;

use crate::harness::{EXPLAIN_CONFIG, TestEnv, explain_env, explain_json, moto};

#[test]
fn profile_selection_order() {
    let env = explain_env();
    let profile = |args: &[&str], vars: &[(&str, &str)]| {
        explain_json(&env, args, vars)["profile"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(profile(&["admin"], &[("AWS_PROFILE", "chained")]), "admin");
    assert_eq!(
        profile(&["--profile", "admin"], &[("AWS_PROFILE", "chained")]),
        "admin"
    );
    assert_eq!(profile(&[], &[("AWS_PROFILE", "chained")]), "chained");
    assert_eq!(
        profile(
            &[],
            &[("AWS_PROFILE", "admin"), ("AWS_DEFAULT_PROFILE", "chained")]
        ),
        "admin"
    );
    assert_eq!(
        profile(&[], &[("AWS_DEFAULT_PROFILE", "chained")]),
        "chained"
    );
    // No name anywhere: `default`, which this config lacks.
    env.cmd()
        .arg("explain")
        .assert()
        .code(3)
        .stdout("")
        .stderr(predicates::str::contains("'default' not found"));
}

#[test]
fn region_precedence() {
    let env = explain_env();
    let region = |args: &[&str], vars: &[(&str, &str)]| {
        let json = explain_json(&env, args, vars);
        (
            json["region"].as_str().unwrap().to_string(),
            json["region_source"].as_str().unwrap().to_string(),
        )
    };
    let env_vars = [
        ("AWS_REGION", "ap-south-1"),
        ("AWS_DEFAULT_REGION", "sa-east-1"),
    ];
    // The profile (or its source profile) first, then AWS_REGION, AWS_DEFAULT_REGION, us-east-1.
    assert_eq!(region(&["admin"], &env_vars).0, "eu-west-1");
    assert_eq!(
        region(&["admin", "--region", "us-west-2"], &env_vars).0,
        "us-west-2"
    );
    assert_eq!(region(&["web"], &env_vars).0, "ap-south-1");
    assert_eq!(region(&["web"], &env_vars[1..]).0, "sa-east-1");
    assert_eq!(
        region(&["web"], &[]),
        ("us-east-1".into(), "default".into())
    );
}

#[test]
fn endpoint_precedence() {
    let env = TestEnv::new(moto());
    env.write_config(&format!(
        "{EXPLAIN_CONFIG}[profile local]\nrole_arn = arn:aws:iam::123456789012:role/L\nsource_profile = alice\n\
         services = dev\nendpoint_url = http://profile.example\n\
         [services dev]\nsts =\n  endpoint_url = http://services.example\n"
    ));
    env.alice_credentials();
    let endpoint = |vars: &[(&str, &str)]| {
        let mut cmd = env.cmd();
        cmd.env_remove("AWS_ENDPOINT_URL");
        let out = cmd
            .args(["explain", "local", "--output", "json"])
            .envs(vars.iter().copied())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let json: Value = serde_json::from_slice(&out.stdout).unwrap();
        json["endpoint"].as_str().unwrap().to_string()
    };
    assert_eq!(
        endpoint(&[
            ("AWS_ENDPOINT_URL_STS", "http://sts-var.example"),
            ("AWS_ENDPOINT_URL", "http://global-var.example")
        ]),
        "http://sts-var.example"
    );
    assert_eq!(
        endpoint(&[("AWS_ENDPOINT_URL", "http://global-var.example")]),
        "http://global-var.example"
    );
    assert_eq!(endpoint(&[]), "http://services.example");
    assert_eq!(
        endpoint(&[("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true")]),
        "https://sts.eu-west-1.amazonaws.com"
    );
}

/// Each bad config: exit 3, one line on stderr that says what is wrong, nothing on stdout.
#[test]
fn bad_config_is_one_clear_line() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "[profile a\n",
            "a",
            "line 1: Profile definition must end with ']'",
        ),
        ("x = 1\n", "a", "Expected a profile definition"),
        (
            "[profile a]\nrole_arn = arn:foo\nsource_profile = alice\n",
            "a",
            "role_arn 'arn:foo' is not an IAM role ARN",
        ),
        (
            "[profile a]\nrole_arn = arn:aws:iam::123456789012:role/R\nsource_profile = alice\nduration_seconds = 60\n",
            "a",
            "out of range",
        ),
        (
            "[profile a]\nrole_arn = arn:aws:iam::123456789012:role/R\nsource_profile = alice\nduration_seconds = 1h\n",
            "a",
            "is not a number of seconds",
        ),
        (
            "[profile a]\nrole_arn = arn:aws:iam::123456789012:role/R\nsource_profile = b\n[profile b]\nrole_arn = arn:aws:iam::123456789012:role/R\nsource_profile = a\n",
            "a",
            "infinite loop",
        ),
        (
            "[profile a]\nrole_arn = arn:aws:iam::123456789012:role/R\nsource_profile = ghost\n",
            "a",
            "could not find source profile ghost referenced from a",
        ),
        (
            "[profile a]\nrole_arn = arn:aws:iam::123456789012:role/R\n",
            "a",
            "must contain `source_profile`",
        ),
        (
            "[profile a]\nrole_arn = arn:aws:iam::123456789012:role/R\nsource_profile = alice\nregion = $(touch pwned)\n",
            "a",
            "is not an AWS region name",
        ),
        (
            "[profile a]\nrole_arn = arn:aws:iam::123456789012:role/R\nsource_profile = alice\nrole_session_name = has space\n",
            "a",
            "role_session_name 'has space'",
        ),
        ("[profile admin]\n", "admn", "did you mean 'admin'?"),
    ];
    let env = TestEnv::new(moto());
    env.alice_credentials();
    for (config, profile, expected) in cases {
        env.write_config(config);
        for args in [
            vec!["explain", profile],
            vec![profile, "--token-code", "123456"],
        ] {
            let out = env.cmd().args(&args).output().unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(3), "{config:?} {args:?}: {stderr}");
            assert!(out.stdout.is_empty(), "{config:?}: stdout not empty");
            assert!(
                stderr.contains(expected),
                "{config:?}: {stderr:?} lacks {expected:?}"
            );
            assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
            assert!(!env.home().join("pwned").exists());
        }
    }
}

#[test]
fn unreadable_config_files() {
    let env = TestEnv::new(moto());
    std::fs::write(env.config_path(), b"[profile a]\nregion = \xff\xfe\n").unwrap();
    env.cmd()
        .args(["explain", "a"])
        .assert()
        .code(3)
        .stdout("")
        .stderr(predicates::str::contains("not UTF-8"));
    std::fs::remove_file(env.config_path()).unwrap();
    std::fs::create_dir(env.config_path()).unwrap();
    env.cmd()
        .args(["explain", "a"])
        .assert()
        .code(3)
        .stdout("")
        .stderr(predicates::str::contains("is a directory"));
}
