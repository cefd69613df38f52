//! `assume PROFILE` against a real STS on the wire (moto): one and two hops, what is sent,
//! the sources the SDK loads, endpoint overrides, the session name, and the errors AWS (or an
//! endpoint that is not AWS) answers with — AccessDenied diagnosed under moto's auth mode.

use std::collections::HashMap;
use std::process::Command;

use crate::harness::{
    self, FakeServer, Mode, RUN_TIMEOUT, StsCall, TestEnv, actions, auth_credentials, chain_config,
    chain_env, check_failure, exported_vars, moto, moto_with_auth, plain_env, recorded_sts_calls,
    refused_endpoint, run_without_terminal, stderr, stdout, succeed, text,
};

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
    exported_vars(&mut env.command("bash"), &out.stdout)
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

// ---------------------------------------------------------------------------------------------
// What is sent, the sources, the endpoint
// ---------------------------------------------------------------------------------------------

/// With no cache (so no MFA session), the MFA code goes on AssumeRole itself.
#[test]
fn one_hop_with_mfa() {
    let env = chain_env(moto());
    let mut vars = HashMap::new();
    let requests = harness::recorded_requests(&env, || {
        vars = exports(&env, &["admin", "--token-code", "123456", "--no-cache"]);
    });
    let calls: Vec<_> = requests
        .iter()
        .map(harness::RecordedRequest::params)
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
    let env = chain_env(moto());
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
    let env = chain_env(moto());
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
    let env = chain_env(moto());
    let vars = exports(&env, &["admin-proc"]);
    assert!(caller_arn(&env, &vars).contains(":assumed-role/Administrators/"));
}

#[test]
fn credential_source_environment() {
    let env = chain_env(moto());
    env.write_config(&format!(
        "{}[profile env-admin]\nrole_arn = {}\ncredential_source = Environment\n",
        chain_config(moto()),
        moto().role_arn("Administrators"),
    ));
    let (id, secret) = moto().keys("alice");
    let requests = harness::recorded_requests(&env, || {
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
    let env = chain_env(moto());
    let token = env.home().join("token.jwt");
    std::fs::write(&token, "eyJhbGciOiJub25lIn0.eyJzdWIiOiJjaSJ9.").unwrap();
    env.write_config(&format!(
        "{}[profile ci]\nrole_arn = {}\nweb_identity_token_file = {}\nrole_session_name = ci-run\n\
         [profile ci-readonly]\nrole_arn = {}\nsource_profile = ci\n",
        chain_config(moto()),
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
    let env = chain_env(moto());
    env.write_config(&format!(
        "{}[profile via-endpoint]\nrole_arn = {}\nsource_profile = alice\nendpoint_url = {}\n",
        chain_config(moto()),
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
fn verbose_names_each_step_and_no_secret() {
    let env = chain_env(moto());
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

/// With neither USER nor USERNAME set (cron, containers, `env -i`), the default session
/// name names the OS account, not a placeholder.
#[test]
fn session_name_without_user_names_the_os_account() {
    let env = plain_env();
    let account = Command::new("id").arg("-un").output().unwrap();
    let account = text(&account.stdout).trim().to_string();
    assert!(!account.is_empty());
    let calls = harness::recorded_sts_calls(&env, || {
        succeed(env.cmd().args(["plain", "--no-cache"]).env_remove("USER"));
    });
    assert_eq!(calls.len(), 1);
    assert!(
        calls[0]["RoleSessionName"].starts_with(&format!("assume-{account}-")),
        "{:?}",
        calls[0]["RoleSessionName"]
    );
}

// ---------------------------------------------------------------------------------------------
// Endpoints that are not AWS, or do not answer
// ---------------------------------------------------------------------------------------------

/// An endpoint that accepts the connection and never answers: an error within the bound.
#[test]
fn silent_endpoint_times_out() {
    let env = chain_env(moto());
    let server = FakeServer::start(Mode::Silent);
    let started = std::time::Instant::now();
    env.cmd()
        .args(["admin", "--token-code", "123456"])
        .env("AWS_ENDPOINT_URL", server.endpoint())
        .timeout(std::time::Duration::from_secs(60))
        .assert()
        .code(5)
        .stdout("")
        .stderr(predicates::str::contains("did not answer in time"));
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
    drop(server);
}

#[test]
fn unreachable_endpoint_is_a_bounded_error() {
    let env = chain_env(moto());
    // A port nothing listens on: refused at once.
    env.cmd()
        .args(["admin", "--token-code", "123456"])
        .env("AWS_ENDPOINT_URL", refused_endpoint())
        .timeout(std::time::Duration::from_secs(60))
        .assert()
        .code(5)
        .stdout("")
        .stderr(predicates::str::contains("cannot reach"));
}

/// An AssumeRole answer whose credentials hold exactly `fields` (XML elements).
fn assume_role_answer(fields: &str) -> String {
    format!(
        "<AssumeRoleResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><AssumeRoleResult>\
         <Credentials>{fields}</Credentials><AssumedRoleUser><AssumedRoleId>AROA:x</AssumedRoleId>\
         <Arn>arn:aws:sts::123456789012:assumed-role/R/x</Arn></AssumedRoleUser></AssumeRoleResult>\
         <ResponseMetadata><RequestId>x</RequestId></ResponseMetadata></AssumeRoleResponse>"
    )
}

/// An STS answer without a SessionToken or an Expiration, or with credentials already
/// expired, is an STS error (exit 5), not exports with an empty token or a 1970 expiry; and
/// nothing of it is cached.
#[test]
fn incomplete_or_expired_sts_credentials_are_refused() {
    let key =
        "<AccessKeyId>ASIAFAKEFAKEFAKE</AccessKeyId><SecretAccessKey>s3cr3t</SecretAccessKey>";
    let cases = [
        (
            format!("{key}<Expiration>2099-01-01T00:00:00Z</Expiration>"),
            "without a SessionToken",
        ),
        (
            format!("{key}<SessionToken>tok</SessionToken>"),
            "without an Expiration",
        ),
        (
            format!(
                "{key}<SessionToken>tok</SessionToken><Expiration>2001-01-01T00:00:00Z</Expiration>"
            ),
            "expired at 2001-01-01T00:00:00Z",
        ),
    ];
    for (fields, fragment) in cases {
        let env = plain_env();
        let server = FakeServer::start(Mode::Respond(200, "text/xml", assume_role_answer(&fields)));
        let out = env
            .cmd()
            .arg("plain")
            .env("AWS_ENDPOINT_URL", server.endpoint())
            .timeout(RUN_TIMEOUT)
            .output()
            .unwrap();
        let problems = check_failure(&out, 5, fragment);
        assert!(
            problems.is_empty(),
            "{fragment}: {problems:?}: {}",
            text(&out.stderr)
        );
        // Nothing was cached: the next run, against moto, calls STS and gets real keys.
        let calls = harness::recorded_sts_calls(&env, || {
            let (exports, _) = succeed(env.cmd().arg("plain"));
            assert!(!exports.contains("ASIAFAKE"), "{exports}");
        });
        assert_eq!(calls.len(), 1, "{fragment}: {calls:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// AccessDenied and bad keys (moto's auth mode)
// ---------------------------------------------------------------------------------------------

fn auth_env() -> TestEnv {
    let moto = moto_with_auth();
    let env = chain_env(moto);
    let mut config = chain_config(moto);
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
    env.write_credentials(&auth_credentials(&env, moto));
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

/// A TestEnv on the auth-mode moto with alice's and mallory's keys and `extra` profiles.
fn auth_env_with(extra: &str) -> TestEnv {
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
    let env = auth_env_with(&format!(
        "[profile alice-only]\nrole_arn = {}\nsource_profile = mallory\n",
        m.role_arn("AliceOnly")
    ));
    let mut denial = None;
    let requests = harness::recorded_requests(&env, || {
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
    let env = auth_env_with(&format!(
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
    // session ARN, so the second hop is denied (see harness::moto_with_auth).
    let env = auth_env_with(&format!(
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

/// An AccessDenied for a hop with `mfa_serial` that was assumed from a cached MFA session (so
/// no code went with it) does not blame "the MFA code": none was sent.
#[test]
fn access_denied_from_an_mfa_session_does_not_blame_a_code() {
    let env = plain_env();
    let server = FakeServer::start(Mode::Forward(harness::proxy_port(&env)));
    let run = |args: &[&str]| {
        env.cmd()
            .args(args)
            .env("AWS_ENDPOINT_URL", server.endpoint())
            .timeout(RUN_TIMEOUT)
            .output()
            .unwrap()
    };
    // An MFA session and admin's credentials, through the fake (forwarding to moto).
    let out = run(&["admin", "--token-code", "123456"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    // Forget admin's credentials, keep the MFA session; then STS denies everything.
    let out = run(&["clear", "admin"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    server.set(Mode::Respond(
        403,
        "text/xml",
        harness::sts_error_body("AccessDenied", "not authorized to perform sts:AssumeRole"),
    ));
    let out = run(&["admin"]);
    let problems = check_failure(&out, 4, "AccessDenied");
    assert!(problems.is_empty(), "{problems:?}: {}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(!stderr.contains("MFA code"), "{stderr}");
    assert!(stderr.contains("cached MFA session"), "{stderr}");
    // With a code on AssumeRole itself (no cache), the code is what it names.
    let out = run(&["admin", "--no-cache", "--token-code", "123456"]);
    let problems = check_failure(&out, 4, "the MFA code was stale");
    assert!(problems.is_empty(), "{problems:?}: {}", text(&out.stderr));
}
