//! `assume whoami`: who the credentials in the environment (or the default chain) are, the
//! profile and the time left.

use serde_json::Value;

use crate::harness::{
    TestEnv, assert_success, cx, moto, recorded_sts_calls, rfc3339_secs, stderr, stdout,
};

/// After `eval "$(assume admin)"`, `whoami` in the same shell is the assumed role, with the
/// profile and the time left.
#[test]
fn whoami_after_a_switch() {
    let cx = cx("whoami");
    let env = &cx.env;
    let mut out = None;
    let calls = recorded_sts_calls(env, || {
        out = Some(
            env.command("bash")
                .arg("-c")
                .arg(
                    "eval \"$(assume admin --token-code 123456)\" || exit 90\n\
                     assume whoami --output json || exit 91\n\
                     echo '----'\n\
                     assume whoami --output text || exit 92\n",
                )
                .env("SHELL", "/bin/bash")
                .output()
                .unwrap(),
        );
    });
    let out = out.unwrap();
    assert_success("eval assume admin; assume whoami", &out);
    let text = stdout(&out);
    let (json, human) = text.split_once("----\n").unwrap();
    let who: Value = serde_json::from_str(json)
        .unwrap_or_else(|e| panic!("whoami --output json is not JSON ({e}): {json}"));
    let arn = who["arn"].as_str().unwrap_or_default();
    assert!(
        arn.starts_with("arn:aws:sts::123456789012:assumed-role/Administrators/"),
        "{who}"
    );
    assert_eq!(who["account"], "123456789012");
    assert!(
        who["user_id"].as_str().is_some_and(|s| !s.is_empty()),
        "{who}"
    );
    assert_eq!(who["profile"], "admin");
    let expiration = who["expiration"].as_str().unwrap_or_default();
    assert!(rfc3339_secs(expiration).is_some(), "{who}");
    let left = who["seconds_left"]
        .as_i64()
        .unwrap_or_else(|| panic!("seconds_left is not an integer: {who}"));
    assert!((1..=3600).contains(&left), "{who}");
    // GetCallerIdentity went to STS (once per whoami).
    let gci = calls
        .iter()
        .filter(|c| c["Action"] == "GetCallerIdentity")
        .count();
    assert_eq!(gci, 2, "{calls:?}");

    // Text: the ARN and the time left.
    assert!(human.contains(arn), "whoami text without the ARN: {human}");
    let rest = human.replace(arn, "");
    // A number with a unit of time: `59m`, `59 min`, `1h 0m`, `3599 seconds`, …
    let words: Vec<&str> = rest
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    let is_unit = |u: &str| {
        matches!(
            u,
            "h" | "m"
                | "s"
                | "min"
                | "mins"
                | "minute"
                | "minutes"
                | "hour"
                | "hours"
                | "sec"
                | "secs"
                | "second"
                | "seconds"
        )
    };
    let has_duration = words.iter().enumerate().any(|(i, word)| {
        let digits = word.bytes().take_while(u8::is_ascii_digit).count();
        digits > 0
            && (is_unit(&word[digits..])
                || (digits == word.len() && words.get(i + 1).is_some_and(|u| is_unit(u))))
    });
    assert!(
        has_duration,
        "whoami text does not say the time left: {human}"
    );
}

/// Keys in the environment without ASSUME_PROFILE/expiration: the user, profile and time null.
#[test]
fn whoami_with_plain_keys_in_the_environment() {
    let cx = cx("whoami-keys");
    let env = &cx.env;
    let (id, secret) = moto().keys("alice");
    let out = env
        .cmd()
        .args(["whoami", "--output", "json"])
        .env("AWS_ACCESS_KEY_ID", &id)
        .env("AWS_SECRET_ACCESS_KEY", &secret)
        .output()
        .unwrap();
    assert_success("assume whoami --output json", &out);
    let who: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(who["arn"], moto().user_arn("alice"));
    assert_eq!(who["account"], "123456789012");
    assert!(who["profile"].is_null(), "{who}");
    assert!(who["expiration"].is_null(), "{who}");
    assert!(who["seconds_left"].is_null(), "{who}");
}

/// No keys in the environment: the SDK's default chain (here the `[default]` profile).
#[test]
fn whoami_falls_back_to_the_default_chain() {
    let cx = cx("whoami-chain");
    let env = &cx.env;
    env.write_credentials(&format!(
        "{}{}",
        env.user_credentials_section("alice", "alice"),
        env.user_credentials_section("default", "mallory")
    ));
    let out = env
        .cmd()
        .args(["whoami", "--output", "json"])
        .output()
        .unwrap();
    assert_success("assume whoami --output json", &out);
    let who: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(who["arn"], moto().user_arn("mallory"));
}

/// No credentials anywhere: non-zero, a clear message, nothing on stdout.
#[test]
fn whoami_without_credentials() {
    let m = moto();
    let env = TestEnv::new(m);
    let out = env
        .cmd()
        .args(["whoami", "--output", "json"])
        .output()
        .unwrap();
    assert!(!out.status.success(), "{}", stdout(&out));
    assert!(stdout(&out).is_empty(), "stdout: {}", stdout(&out));
    let err = stderr(&out);
    assert!(
        err.to_lowercase().contains("credentials"),
        "the message does not say credentials are missing: {err}"
    );
    // Like every message of `assume` (src/error.rs: "Messages are one line and say what to do
    // next"): one line, not the SDK's provider-chain dump.
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "not a one-line message: {err}"
    );
}
