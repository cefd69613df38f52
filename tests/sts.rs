//! `assume PROFILE` against a real STS on the wire (moto): one and two hops, what is sent,
//! the SDK-loaded sources, endpoint overrides, and the errors AWS answers with.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashMap;

use common::{TestEnv, moto, moto_with_auth, recorded_sts_calls};

/// Runs `assume ARGS` and returns the exported variables (bash syntax, read by bash itself).
fn exports(env: &TestEnv, args: &[&str]) -> HashMap<String, String> {
    let out = env
        .cmd()
        .args(args)
        .env("SHELL", "/bin/bash")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "assume {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let script = format!(
        "{}\nenv -0",
        String::from_utf8(out.stdout).expect("utf-8 exports")
    );
    let shown = env.command("bash").args(["-c", &script]).output().unwrap();
    assert!(shown.status.success());
    shown
        .stdout
        .split(|b| *b == 0)
        .filter_map(|entry| {
            let entry = String::from_utf8_lossy(entry);
            let (k, v) = entry.split_once('=')?;
            Some((k.to_string(), v.to_string()))
        })
        .collect()
}

/// `aws sts get-caller-identity` with exactly these credentials.
fn caller_arn(env: &TestEnv, vars: &HashMap<String, String>) -> String {
    let mut aws = env.aws();
    aws.env("AWS_DEFAULT_REGION", "us-east-1");
    for key in [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
    ] {
        if let Some(value) = vars.get(key) {
            aws.env(key, value);
        }
    }
    let out = aws
        .args([
            "sts",
            "get-caller-identity",
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
}

fn config(moto: &common::Moto) -> String {
    format!(
        "[profile alice]\nregion = eu-west-1\n\
         [profile admin]\nrole_arn = {admin}\nsource_profile = alice\nmfa_serial = {mfa}\n\
         [profile chained]\nrole_arn = {chained}\nsource_profile = admin\nduration_seconds = 7200\n\
         [profile partner]\nrole_arn = {partner}\nsource_profile = alice\nexternal_id = partner-ext-id\n\
         duration_seconds = 1800\nmfa_serial = {mfa}\nrole_session_name = partner-audit\n\
         [profile alice-proc]\ncredential_process = {proc}\n\
         [profile admin-proc]\nrole_arn = {admin}\nsource_profile = alice-proc\n",
        admin = moto.role_arn("Administrators"),
        chained = moto.role_arn("Chained"),
        partner = moto.role_arn("Partner"),
        mfa = moto.mfa_serial("alice"),
        proc = "sh -c 'cat \"$HOME/alice.json\"'",
    )
}

fn env_with(moto: &'static common::Moto) -> TestEnv {
    let env = TestEnv::new(moto);
    env.write_config(&config(moto));
    env.alice_credentials();
    let (id, secret) = moto.keys("alice");
    std::fs::write(
        env.home().join("alice.json"),
        format!(r#"{{"Version": 1, "AccessKeyId": "{id}", "SecretAccessKey": "{secret}"}}"#),
    )
    .unwrap();
    env
}

/// With no cache (so no MFA session), the MFA code goes on AssumeRole itself.
#[test]
fn one_hop_with_mfa() {
    let env = env_with(moto());
    let mut vars = HashMap::new();
    let requests = common::recorded_requests(&env, || {
        vars = exports(&env, &["admin", "--token-code", "123456", "--no-cache"]);
    });
    let calls: Vec<_> = requests
        .iter()
        .map(common::RecordedRequest::params)
        .collect();
    assert_eq!(calls.len(), 1, "{calls:?}");
    // Signed for the profile's region, with alice's key.
    assert_eq!(requests[0].region().as_deref(), Some("eu-west-1"));
    assert_eq!(requests[0].access_key_id(), Some(moto().keys("alice").0));
    let call = &calls[0];
    assert_eq!(call["Action"], "AssumeRole");
    assert_eq!(call["RoleArn"], moto().role_arn("Administrators"));
    assert_eq!(call["SerialNumber"], moto().mfa_serial("alice"));
    assert_eq!(call["TokenCode"], "123456");
    assert!(!call.contains_key("ExternalId"));
    assert!(
        call["RoleSessionName"].starts_with("assume-tester-"),
        "{call:?}"
    );

    assert!(vars["AWS_ACCESS_KEY_ID"].starts_with("ASIA"));
    assert!(!vars["AWS_SECRET_ACCESS_KEY"].is_empty());
    assert!(!vars["AWS_SESSION_TOKEN"].is_empty());
    assert!(vars["AWS_CREDENTIAL_EXPIRATION"].ends_with('Z'));
    assert_eq!(vars["AWS_REGION"], "eu-west-1");
    assert_eq!(vars["AWS_DEFAULT_REGION"], "eu-west-1");
    assert_eq!(vars["ASSUME_PROFILE"], "admin");
    assert!(caller_arn(&env, &vars).contains(":assumed-role/Administrators/assume-tester-"));
}

#[test]
fn sends_external_id_duration_session_name_and_mfa() {
    let env = env_with(moto());
    let calls = recorded_sts_calls(&env, || {
        exports(&env, &["partner", "--token-code", "654321", "--no-cache"]);
    });
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(calls[0]["ExternalId"], "partner-ext-id");
    assert_eq!(calls[0]["DurationSeconds"], "1800");
    assert_eq!(calls[0]["RoleSessionName"], "partner-audit");
    assert_eq!(calls[0]["SerialNumber"], moto().mfa_serial("alice"));
    assert_eq!(calls[0]["TokenCode"], "654321");

    // --duration overrides the profile's duration_seconds.
    let calls = recorded_sts_calls(&env, || {
        exports(
            &env,
            &[
                "partner",
                "--token-code",
                "654321",
                "--duration",
                "2h",
                "--no-cache",
            ],
        );
    });
    assert_eq!(calls[0]["DurationSeconds"], "7200");
}

#[test]
fn two_hops_chain_and_cap_role_chaining_at_one_hour() {
    let env = env_with(moto());
    let mut vars = HashMap::new();
    let calls = recorded_sts_calls(&env, || {
        let out = env
            .cmd()
            .args(["chained", "--token-code", "123456", "--no-cache"])
            .env("SHELL", "/bin/bash")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("capped to 3600s"), "{stderr}");
        vars = exports(&env, &["chained", "--token-code", "123456", "--no-cache"]);
    });
    let hops: Vec<&HashMap<String, String>> = calls.iter().take(2).collect();
    assert_eq!(hops[0]["RoleArn"], moto().role_arn("Administrators"));
    assert_eq!(hops[0]["TokenCode"], "123456");
    assert_eq!(hops[1]["RoleArn"], moto().role_arn("Chained"));
    assert!(!hops[1].contains_key("TokenCode"));
    assert_eq!(hops[1]["DurationSeconds"], "3600");
    assert!(caller_arn(&env, &vars).contains(":assumed-role/Chained/"));
}

#[test]
fn credential_process_source_is_loaded_by_the_sdk() {
    let env = env_with(moto());
    let vars = exports(&env, &["admin-proc"]);
    assert!(caller_arn(&env, &vars).contains(":assumed-role/Administrators/"));
}

#[test]
fn credential_source_environment() {
    let env = env_with(moto());
    env.write_config(&format!(
        "{}[profile env-admin]\nrole_arn = {}\ncredential_source = Environment\n",
        config(moto()),
        moto().role_arn("Administrators"),
    ));
    let (id, secret) = moto().keys("alice");
    let requests = common::recorded_requests(&env, || {
        let out = env
            .cmd()
            .arg("env-admin")
            .env("AWS_ACCESS_KEY_ID", &id)
            .env("AWS_SECRET_ACCESS_KEY", &secret)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    });
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].access_key_id(), Some(id));
}

/// A web identity token as the source: AssumeRoleWithWebIdentity, then the role hop, both
/// through the configured endpoint.
#[test]
fn web_identity_source() {
    let env = env_with(moto());
    let token = env.home().join("token.jwt");
    std::fs::write(&token, "eyJhbGciOiJub25lIn0.eyJzdWIiOiJjaSJ9.").unwrap();
    env.write_config(&format!(
        "{}[profile ci]\nrole_arn = {}\nweb_identity_token_file = {}\nrole_session_name = ci-run\n\
         [profile ci-readonly]\nrole_arn = {}\nsource_profile = ci\n",
        config(moto()),
        moto().role_arn("Administrators"),
        token.display(),
        moto().role_arn("ReadOnly"),
    ));
    let mut vars = HashMap::new();
    let calls = recorded_sts_calls(&env, || {
        vars = exports(&env, &["ci-readonly"]);
    });
    let actions: Vec<&str> = calls.iter().map(|c| c["Action"].as_str()).collect();
    assert_eq!(
        actions,
        ["AssumeRoleWithWebIdentity", "AssumeRole"],
        "{calls:?}"
    );
    assert_eq!(calls[0]["RoleSessionName"], "ci-run");
    assert_eq!(calls[1]["RoleArn"], moto().role_arn("ReadOnly"));
    assert!(caller_arn(&env, &vars).contains(":assumed-role/ReadOnly/"));
}

/// The profile's own `endpoint_url` reaches STS with no variable set: no test-only switch.
#[test]
fn endpoint_url_from_the_profile() {
    let env = env_with(moto());
    env.write_config(&format!(
        "{}[profile via-endpoint]\nrole_arn = {}\nsource_profile = alice\nendpoint_url = {}\n",
        config(moto()),
        moto().role_arn("ReadOnly"),
        env.endpoint
    ));
    let calls = recorded_sts_calls(&env, || {
        let out = env
            .cmd()
            .env_remove("AWS_ENDPOINT_URL")
            .arg("via-endpoint")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    });
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0]["RoleArn"], moto().role_arn("ReadOnly"));
}

#[test]
fn no_terminal_and_no_code_names_token_code() {
    let env = env_with(moto());
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

#[test]
fn verbose_names_each_step_and_no_secret() {
    let env = env_with(moto());
    let out = env
        .cmd()
        .args(["chained", "--token-code", "975310", "-v", "--no-cache"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&format!(
        "static keys {} of profile 'alice'",
        moto().keys("alice").0
    )));
    assert!(stderr.contains("hop 1/2: [admin] AssumeRole"), "{stderr}");
    assert!(stderr.contains("hop 2/2: [chained] AssumeRole"), "{stderr}");
    assert!(!stderr.contains(&moto().keys("alice").1), "{stderr}");
    assert!(
        !stderr.contains("975310"),
        "the MFA code is not echoed: {stderr}"
    );
}

/// An endpoint that accepts the connection and never answers: an error within the bound.
#[test]
fn silent_endpoint_times_out() {
    let env = env_with(moto());
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let started = std::time::Instant::now();
    env.cmd()
        .args(["admin", "--token-code", "123456"])
        .env("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{port}"))
        .timeout(std::time::Duration::from_secs(60))
        .assert()
        .code(5)
        .stdout("")
        .stderr(predicates::str::contains("did not answer in time"));
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
    drop(listener);
}

#[test]
fn unreachable_endpoint_is_a_bounded_error() {
    let env = env_with(moto());
    // A port nothing listens on: refused at once.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    env.cmd()
        .args(["admin", "--token-code", "123456"])
        .env("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{port}"))
        .timeout(std::time::Duration::from_secs(60))
        .assert()
        .code(5)
        .stdout("")
        .stderr(predicates::str::contains("cannot reach"));
}

fn auth_env() -> TestEnv {
    let moto = moto_with_auth();
    let env = env_with(moto);
    let mut config = config(moto);
    config.push_str(&format!(
        "[profile mallory-admin]\nrole_arn = {}\nsource_profile = mallory\n\
         [profile partner-wrong-id]\nrole_arn = {}\nsource_profile = alice\nexternal_id = wrong-id\n\
         [profile bogus-key]\nrole_arn = {admin}\nsource_profile = bogus\n\
         [profile wrong-secret]\nrole_arn = {admin}\nsource_profile = wrong-secret\n",
        moto.role_arn("AliceOnly"),
        moto.role_arn("Partner"),
        admin = moto.role_arn("Administrators"),
    ));
    env.write_config(&config);
    env.write_credentials(&format!(
        "{}{}[bogus]\naws_access_key_id = AKIAIOSFODNN7BOGUS00\naws_secret_access_key = nope\n\
         [wrong-secret]\naws_access_key_id = {}\naws_secret_access_key = not-her-secret\n",
        env.user_credentials_section("alice", "alice"),
        env.user_credentials_section("mallory", "mallory"),
        moto.keys("alice").0,
    ));
    env
}

#[test]
fn auth_mode_accepts_the_right_caller() {
    let env = auth_env();
    // --no-cache: no MFA session, because moto's GetSessionToken returns fixed keys that its
    // own auth mode rejects; the code goes on AssumeRole.
    let vars = exports(&env, &["partner", "--token-code", "123456", "--no-cache"]);
    assert!(caller_arn(&env, &vars).contains(":assumed-role/Partner/partner-audit"));
}

/// moto enforces a trust policy's principal and a *wrong* sts:ExternalId (it lets a missing
/// one through, so that case is not asserted here).
#[test]
fn access_denied_says_what_to_check() {
    let env = auth_env();
    for (profile, role) in [
        ("mallory-admin", "AliceOnly"),
        ("partner-wrong-id", "Partner"),
    ] {
        env.cmd()
            .arg(profile)
            .assert()
            .code(4)
            .stdout("")
            .stderr(predicates::str::contains("AccessDenied"))
            .stderr(predicates::str::contains(format!("profile '{profile}'")))
            .stderr(predicates::str::contains(moto_with_auth().role_arn(role)))
            .stderr(predicates::str::contains("trust policy"));
    }
}

#[test]
fn unknown_access_key_is_invalid_client_token_id() {
    let env = auth_env();
    env.cmd()
        .arg("bogus-key")
        .assert()
        .code(4)
        .stdout("")
        .stderr(predicates::str::contains("InvalidClientTokenId"))
        .stderr(predicates::str::contains("source access key"));
}

#[test]
fn wrong_secret_is_signature_does_not_match() {
    let env = auth_env();
    env.cmd()
        .arg("wrong-secret")
        .assert()
        .code(4)
        .stdout("")
        .stderr(predicates::str::contains("SignatureDoesNotMatch"))
        .stderr(predicates::str::contains("clock"));
}

/// The AssumeRole calls one `assume` run makes, and the access key each was signed with.
fn assume_role_signers(env: &TestEnv, args: &[&str], vars: &[(&str, &str)]) -> Vec<String> {
    let requests = common::recorded_requests(env, || {
        let out = env
            .cmd()
            .args(args)
            .envs(vars.iter().copied())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "assume {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    });
    requests
        .iter()
        .filter(|r| r.params().get("Action").map(String::as_str) == Some("AssumeRole"))
        .map(|r| r.access_key_id().unwrap_or_default())
        .collect()
}

/// A role cached for one IAM user's keys in the environment is not handed to another user
/// whose keys are there later: the cache key holds who the source credentials are.
#[test]
fn credential_source_environment_is_cached_per_identity() {
    let env = env_with(moto());
    env.write_config(&format!(
        "{}[profile env-admin]\nrole_arn = {}\ncredential_source = Environment\n",
        config(moto()),
        moto().role_arn("ChainedAny"),
    ));
    let (alice, alice_secret) = moto().keys("alice");
    let (mallory, mallory_secret) = moto().keys("mallory");
    let as_alice = [
        ("AWS_ACCESS_KEY_ID", alice.as_str()),
        ("AWS_SECRET_ACCESS_KEY", alice_secret.as_str()),
    ];
    let as_mallory = [
        ("AWS_ACCESS_KEY_ID", mallory.as_str()),
        ("AWS_SECRET_ACCESS_KEY", mallory_secret.as_str()),
    ];
    assert_eq!(
        assume_role_signers(&env, &["env-admin"], &as_alice),
        std::slice::from_ref(&alice)
    );
    // The same user again: a cache hit.
    assert!(assume_role_signers(&env, &["env-admin"], &as_alice).is_empty());
    // Another user: a role session of her own, signed with her key.
    assert_eq!(
        assume_role_signers(&env, &["env-admin"], &as_mallory),
        [mallory]
    );
}

/// Likewise for a `credential_process` source: it is run, and what it returns decides which
/// cached role session (if any) is the right one.
#[test]
fn credential_process_source_is_cached_per_identity() {
    let env = env_with(moto());
    let config = format!(
        "{}[profile chained-proc]\nrole_arn = {}\nsource_profile = alice-proc\n",
        config(moto()),
        moto().role_arn("ChainedAny"),
    );
    env.write_config(&config);
    let (alice, _) = moto().keys("alice");
    let (mallory, mallory_secret) = moto().keys("mallory");
    assert_eq!(assume_role_signers(&env, &["chained-proc"], &[]), [alice]);
    assert!(assume_role_signers(&env, &["chained-proc"], &[]).is_empty());
    // The process now returns mallory's keys.
    std::fs::write(
        env.home().join("alice.json"),
        format!(
            r#"{{"Version": 1, "AccessKeyId": "{mallory}", "SecretAccessKey": "{mallory_secret}"}}"#
        ),
    )
    .unwrap();
    assert_eq!(assume_role_signers(&env, &["chained-proc"], &[]), [mallory]);
}
