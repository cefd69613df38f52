//! `assume explain PROFILE`: the chain it would assume, as text and as JSON, and never a
//! secret. No STS call is made.

use serde_json::Value;

use crate::harness::{explain_env, explain_json};

#[test]
fn json_shows_the_chain_and_never_a_secret() {
    let env = explain_env();
    let json = explain_json(&env, &["chained"], &[]);
    assert_eq!(json["profile"], "chained");
    assert_eq!(json["region"], "eu-west-1");
    assert_eq!(json["source"]["profile"], "alice");
    assert_eq!(json["source"]["kind"], "static");
    let alice_key = env.world["alice"]["access_key_id"].as_str().unwrap();
    assert_eq!(json["source"]["access_key_id"], alice_key);
    let hops = json["hops"].as_array().expect("hops");
    assert_eq!(hops.len(), 2);
    assert_eq!(hops[0]["profile"], "admin");
    assert_eq!(hops[0]["mfa_serial"], "arn:aws:iam::123456789012:mfa/alice");
    assert_eq!(hops[0]["external_id"], Value::Null);
    assert_eq!(hops[0]["role_session_name"], Value::Null);
    assert_eq!(hops[0]["duration_seconds"], Value::Null);
    assert_eq!(
        hops[1]["role_arn"],
        "arn:aws:iam::123456789012:role/Chained"
    );
    assert_eq!(hops[1]["role_session_name"], "ops-session");
    assert_eq!(hops[1]["external_id"], "partner-ext-id");
    // A role assumed with role credentials gets at most one hour.
    assert_eq!(hops[1]["duration_seconds"], 3600);
    assert!(json["notices"][0].as_str().unwrap().contains("capped"));

    let secret = env.world["alice"]["secret_access_key"].as_str().unwrap();
    for args in [
        &["explain", "chained"][..],
        &["explain", "chained", "--output", "json"],
    ] {
        let out = env.cmd().args(args).arg("-v").output().unwrap();
        assert!(out.status.success());
        let all = [out.stdout, out.stderr].concat();
        assert!(!String::from_utf8_lossy(&all).contains(secret));
    }
}

#[test]
fn source_kinds() {
    let env = explain_env();
    let kind = |profile: &str| explain_json(&env, &[profile], &[])["source"].clone();
    let web = kind("web");
    assert_eq!(web["kind"], "web_identity");
    assert_eq!(web["web_identity_token_file"], "/var/token.jwt");
    assert_eq!(kind("on-ec2")["kind"], "credential_source");
    assert_eq!(kind("on-ec2")["credential_source"], "Ec2InstanceMetadata");
    assert_eq!(kind("via-sso")["kind"], "sdk");
    assert_eq!(kind("via-sso")["profile"], "sso-user");
}

#[test]
fn text_output_names_each_hop() {
    let env = explain_env();
    env.cmd()
        .args(["explain", "admin"])
        .assert()
        .success()
        .stdout(predicates::str::contains("hop 1"))
        .stdout(predicates::str::contains(
            "arn:aws:iam::123456789012:role/Administrators",
        ))
        .stdout(predicates::str::contains(
            "MFA arn:aws:iam::123456789012:mfa/alice",
        ));
}
