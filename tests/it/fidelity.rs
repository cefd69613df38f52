//! Config fidelity: which source a profile is, as the AWS SDK for Rust and botocore decide it
//! (each case says what botocore does beside it), and scale: deep chains are refused before any
//! STS call, huge files and sections are read as they are.

use sha2::Digest;

use crate::harness::{self, TestEnv, assert_success, check_failure, explain_json, moto};

/// `assume ARGS` (no terminal) must fail with `code`, one line containing `fragment`, and
/// make no STS call.
fn refused_before_sts(env: &TestEnv, args: &[&str], code: i32, fragment: &str) {
    let mut out = None;
    let calls = harness::recorded_sts_calls(env, || {
        out = Some(env.cmd().args(args).output().unwrap());
    });
    let out = out.unwrap();
    let problems = check_failure(&out, code, fragment);
    assert!(
        problems.is_empty(),
        "assume {args:?}: {problems:?}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(calls.is_empty(), "assume {args:?} called STS: {calls:?}");
}

#[test]
fn incomplete_sso_settings_are_refused_naming_what_is_missing() {
    let env = TestEnv::new(moto());
    env.write_config(&format!(
        "[profile only-account]\nsso_account_id = 123456789012\n\
         [profile only-url]\nsso_start_url = https://corp.awsapps.com/start\n\
         [profile no-section]\nsso_session = gone\nsso_account_id = 123456789012\nsso_role_name = Dev\n\
         [profile half-section]\nsso_session = half\nsso_account_id = 123456789012\nsso_role_name = Dev\n\
         [sso-session half]\nsso_start_url = https://corp.awsapps.com/start\n\
         [profile on-top]\nrole_arn = {}\nsource_profile = only-account\n",
        moto().role_arn("ChainedAny")
    ));
    // botocore: 'The profile "only-account" is configured to use SSO but is missing required
    // configuration: sso_role_name, sso_start_url, sso_region'. The SDK for Rust refuses too.
    for (args, fragment) in [
        (
            &["explain", "only-account"][..],
            "missing sso_role_name, sso_start_url, sso_region",
        ),
        (
            &["only-account"],
            "missing sso_role_name, sso_start_url, sso_region",
        ),
        // botocore takes a profile with only sso_start_url for no SSO profile at all ("unable
        // to locate credentials"); the SDK for Rust, and assume, for an incomplete one.
        (
            &["explain", "only-url"],
            "missing sso_account_id, sso_role_name, sso_region",
        ),
        // botocore: 'The specified sso-session does not exist: "gone"'.
        (
            &["no-section"],
            "[sso-session gone], which is not in the config file",
        ),
        // botocore: '… missing required configuration: sso_region'.
        (
            &["half-section"],
            "missing sso_region (in [sso-session half])",
        ),
        (&["on-top"], "could not load source profile"),
    ] {
        refused_before_sts(&env, args, 3, fragment);
    }
}

#[test]
fn an_sso_key_beside_credential_process_makes_the_profile_sso() {
    let env = TestEnv::new(moto());
    env.write_config(
        "[profile both]\nsso_role_name = Dev\ncredential_process = /bin/false\n\
         [profile complete]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = eu-west-1\n\
         sso_account_id = 123456789012\nsso_role_name = Dev\ncredential_process = /bin/false\n",
    );
    // botocore: SSO comes before credential_process too, and refuses `both` as incomplete SSO.
    refused_before_sts(&env, &["both"], 3, "IAM Identity Center (SSO)");
    let source = &explain_json(&env, &["complete"], &[])["source"];
    assert_eq!(source["kind"], "sdk");
    assert_eq!(source["via"], "sso");
}

/// The aws CLI's `aws login` cache entry for `session`: the file the SDKs read, named by the
/// SHA-256 of the session's ARN, holding `keys` until an hour from now.
fn write_login_cache(env: &TestEnv, session: &str, (id, secret): (&str, &str)) {
    let dir = env.home().join(".aws/login/cache");
    std::fs::create_dir_all(&dir).unwrap();
    let name = format!("{:x}.json", sha2::Sha256::digest(session.as_bytes()));
    let expires = std::time::SystemTime::now() + std::time::Duration::from_secs(3600);
    let expires = humantime::format_rfc3339_seconds(expires);
    let token = serde_json::json!({
        "accessToken": {
            "accessKeyId": id,
            "secretAccessKey": secret,
            "sessionToken": "login-session-token",
            "accountId": "123456789012",
            "expiresAt": expires.to_string(),
        },
        "tokenType": "aws_sigv4",
        "refreshToken": "refresh-token",
        "idToken": "id-token",
        "clientId": "arn:aws:signin:::devtools/same-device",
        "dpopKey": "-----BEGIN EC PRIVATE KEY-----\nunused until a refresh\n-----END EC PRIVATE KEY-----\n",
    });
    std::fs::write(dir.join(name), token.to_string()).unwrap();
}

#[test]
fn a_login_session_profile_is_a_source_loaded_by_the_sdk() {
    let env = TestEnv::new(moto());
    let session = "arn:aws:iam::123456789012:user/alice";
    let (alice, alice_secret) = moto().keys("alice");
    write_login_cache(&env, session, (&alice, &alice_secret));
    env.write_config(&format!(
        "[profile console]\nlogin_session = {session}\nregion = eu-west-1\n\
         [profile ops]\nrole_arn = {}\nsource_profile = console\nduration_seconds = 7200\n",
        moto().role_arn("ChainedAny")
    ));
    let json = explain_json(&env, &["ops"], &[]);
    assert_eq!(json["source"]["kind"], "sdk");
    assert_eq!(json["source"]["via"], "login");
    // An IAM user's console session is not a role session: no one-hour cap.
    assert_eq!(json["hops"][0]["duration_seconds"], 7200);

    // For real: the SDK's login provider reads the aws CLI's cache and AssumeRole is signed
    // with those credentials (before, "profile did not contain credential information").
    let requests = harness::recorded_requests(&env, || {
        let args = ["ops"];
        let out = env.cmd().args(args).output().unwrap();
        assert_success(&args, &out);
        assert!(String::from_utf8_lossy(&out.stdout).contains("AWS_SESSION_TOKEN"));
    });
    let signers: Vec<String> = requests
        .iter()
        .filter(|r| r.is_sts() && r.params()["Action"] == "AssumeRole")
        .filter_map(|r| r.access_key_id())
        .collect();
    assert_eq!(signers, [alice]);
}

#[test]
fn a_login_session_without_a_cached_sign_in_says_to_sign_in() {
    let env = TestEnv::new(moto());
    env.write_config(&format!(
        "[profile console]\nlogin_session = arn:aws:iam::123456789012:user/alice\n\
         [profile ops]\nrole_arn = {}\nsource_profile = console\n",
        moto().role_arn("ChainedAny")
    ));
    // No ~/.aws/login/cache entry: one line, exit 4 (authentication), no STS call.
    refused_before_sts(
        &env,
        &["ops"],
        4,
        "could not load its login_session credentials; sign in with `aws login --profile console`",
    );
}

#[test]
fn role_paths_may_hold_any_printable_character() {
    let env = TestEnv::new(moto());
    env.write_config(
        "[profile tilde]\nrole_arn = arn:aws:iam::123456789012:role/my~path/R\ncredential_source = Environment\n\
         [profile punct]\nrole_arn = arn:aws:iam::123456789012:role/a!\"#$%&'()*+,-.:;<=>?@[]^_`{|}~/R\ncredential_source = Environment\n\
         [profile spaced]\nrole_arn = arn:aws:iam::123456789012:role/my path/R\ncredential_source = Environment\n\
         [profile long-name]\nrole_arn = arn:aws:iam::123456789012:role/path/NNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNN\ncredential_source = Environment\n",
    );
    // IAM (and botocore, which does not check at all): a path is `/` or `/…/` of `!`..`~`.
    for profile in ["tilde", "punct"] {
        let json = explain_json(&env, &[profile], &[]);
        assert!(
            json["hops"][0]["role_arn"]
                .as_str()
                .unwrap()
                .ends_with("/R"),
            "{json}"
        );
    }
    refused_before_sts(&env, &["explain", "spaced"], 3, "is not an IAM role ARN");
    // A name of 65 characters: IAM's limit is 64.
    refused_before_sts(&env, &["long-name"], 3, "a name of 1 to 64");
}

/// `[profile p0]` with alice's keys, then `p1` … `p{depth}`, each a role assumed from the one
/// before.
fn deep_config(depth: usize) -> String {
    let (id, secret) = moto().keys("alice");
    let role = moto().role_arn("ChainedAny");
    let mut config =
        format!("[profile p0]\naws_access_key_id = {id}\naws_secret_access_key = {secret}\n");
    for n in 1..=depth {
        config.push_str(&format!(
            "[profile p{n}]\nrole_arn = {role}\nsource_profile = p{}\n",
            n - 1
        ));
    }
    config
}

#[test]
fn a_chain_deeper_than_64_hops_is_refused_before_any_sts_call() {
    let env = TestEnv::new(moto());
    env.write_config(&deep_config(1000));
    refused_before_sts(&env, &["p65"], 3, "more than 64 hops");
    refused_before_sts(&env, &["p1000"], 3, "more than 64 hops");
    refused_before_sts(
        &env,
        &["exec", "p999", "--", "true"],
        3,
        "more than 64 hops",
    );
    assert_eq!(
        explain_json(&env, &["p64"], &[])["hops"]
            .as_array()
            .unwrap()
            .len(),
        64
    );
    // `list` has a row for each of the 1 001 profiles; those above the cap say why.
    let args = ["list", "--output", "json"];
    let out = env.cmd().args(args).output().unwrap();
    assert_success(&args, &out);
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rows.len(), 1001);
    let refused = rows
        .iter()
        .filter(|row| {
            row["error"]
                .as_str()
                .is_some_and(|e| e.contains("more than 64 hops"))
        })
        .count();
    assert_eq!(refused, 1000 - 64);
}

#[test]
fn a_section_of_100_000_keys_is_read_as_written() {
    let env = TestEnv::new(moto());
    let mut config = deep_config(1);
    config.push_str("[profile wide]\n");
    for n in 0..100_000 {
        config.push_str(&format!("key_{n} = value {n}\n"));
    }
    // A key set again later wins, as in the SDKs; the role keys come last.
    config.push_str(&format!(
        "key_5 = again\nrole_arn = {}\nsource_profile = p0\nregion = eu-north-1\n",
        moto().role_arn("ChainedAny")
    ));
    env.write_config(&config);
    let json = explain_json(&env, &["wide"], &[]);
    assert_eq!(json["region"], "eu-north-1");
    assert_eq!(json["source"]["profile"], "p0");
    assert_eq!(json["hops"].as_array().unwrap().len(), 1);
}
