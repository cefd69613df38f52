//! `assume list`: one row per profile, with what is cached until when, as JSON and as a table.

use serde_json::Value;

use crate::harness::{
    Store, StoreCx, WAIT, assert_success, cx, is_rfc3339, moto, rfc3339_secs, stdout, unix_now,
};

#[test]
fn list_json_rows_with_cached_until() {
    let cx = cx("list");
    let env = &cx.env;
    let out = env
        .cmd()
        .args(["admin", "--token-code", "123456"])
        .env("SHELL", "/bin/bash")
        .output()
        .unwrap();
    assert_success("assume admin", &out);
    let exported = stdout(&out);
    let expiration = exported
        .lines()
        .find_map(|l| l.strip_prefix("export AWS_CREDENTIAL_EXPIRATION="))
        .map(|v| v.trim_matches(['\'', '"', ';']).to_string())
        .unwrap_or_else(|| panic!("no AWS_CREDENTIAL_EXPIRATION in {exported}"));
    let expires = rfc3339_secs(&expiration).unwrap();

    let out = env
        .cmd()
        .args(["list", "--output", "json"])
        .output()
        .unwrap();
    assert_success("assume list --output json", &out);
    let rows: Vec<Value> = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not a JSON array ({e}): {}", stdout(&out)));
    let row = |name: &str| -> &Value {
        rows.iter()
            .find(|r| r["profile"] == name)
            .unwrap_or_else(|| panic!("no row for {name}: {rows:?}"))
    };
    assert_eq!(rows.len(), 4, "one row per profile: {rows:?}");
    for r in &rows {
        for key in [
            "profile",
            "role_arn",
            "account",
            "region",
            "mfa",
            "cached_until",
        ] {
            assert!(r.get(key).is_some(), "row without {key}: {r}");
        }
    }
    let admin = row("admin");
    assert_eq!(admin["role_arn"], moto().role_arn("Administrators"));
    assert_eq!(admin["account"], "123456789012");
    assert_eq!(admin["region"], "eu-west-1");
    assert_eq!(admin["mfa"], true);
    let until = admin["cached_until"]
        .as_str()
        .unwrap_or_else(|| panic!("admin is cached, but cached_until is {}", admin));
    let until = rfc3339_secs(until).unwrap_or_else(|| panic!("not RFC 3339: {until}"));
    let now = i64::try_from(unix_now()).unwrap();
    assert!(
        until > now && until <= now + 3600 + 60,
        "cached_until is not within the role's hour: {until} (now {now})"
    );
    assert!(
        (until - expires).abs() <= 1,
        "cached_until {until} is not the credentials' expiration {expiration}"
    );

    let readonly = row("readonly");
    assert_eq!(readonly["role_arn"], moto().role_arn("ReadOnly"));
    assert_eq!(readonly["mfa"], true);
    assert!(readonly["cached_until"].is_null(), "{readonly}");

    let zeta = row("zeta");
    assert_eq!(zeta["mfa"], false);
    assert!(zeta["cached_until"].is_null(), "{zeta}");

    let alice = row("alice");
    assert!(alice["role_arn"].is_null(), "{alice}");
    assert!(alice["account"].is_null(), "{alice}");
    assert_eq!(alice["region"], "eu-west-1");
    assert_eq!(alice["mfa"], false);
    assert!(alice["cached_until"].is_null(), "{alice}");
}

#[test]
fn list_shows_what_is_cached() {
    let cx = StoreCx::new(Store::SecretService);
    let vars = cx.exports(&["admin", "--token-code", "123456"]);
    let expiration = &vars["AWS_CREDENTIAL_EXPIRATION"];

    let out = cx.run(&["list", "--output", "json"]);
    assert_success(&["list", "--output", "json"], &out);
    let json: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "list --output json: {e}: {}",
            String::from_utf8_lossy(&out.stdout)
        )
    });
    let rows = json.as_array().expect("a JSON array");
    let row = |name: &str| {
        rows.iter()
            .find(|r| r["profile"] == name)
            .unwrap_or_else(|| panic!("no row for {name}: {json}"))
    };
    for name in ["alice", "admin", "readonly", "plain"] {
        let r = row(name);
        for field in ["profile", "role_arn", "region", "mfa", "cached_until"] {
            assert!(r.get(field).is_some(), "{name} lacks {field}: {r}");
        }
    }
    let admin = row("admin");
    let until = admin["cached_until"]
        .as_str()
        .unwrap_or_else(|| panic!("admin is cached, cached_until: {admin}"));
    assert!(is_rfc3339(until), "{until}");
    assert_eq!(&until[..19], &expiration[..19], "{admin}");
    assert_eq!(
        admin["role_arn"],
        Value::from(moto().role_arn("Administrators"))
    );
    assert_eq!(admin["mfa"], Value::Bool(true));
    assert_eq!(admin["region"], Value::from("eu-west-1"));
    assert_eq!(row("readonly")["cached_until"], Value::Null);
    assert_eq!(row("plain")["cached_until"], Value::Null);
    assert_eq!(row("plain")["mfa"], Value::Bool(false));
    assert_eq!(row("alice")["role_arn"], Value::Null);
    assert_eq!(row("alice")["cached_until"], Value::Null);
    assert!(!String::from_utf8_lossy(&out.stdout).contains(&vars["AWS_SECRET_ACCESS_KEY"]));

    // The text table: a "cached until" column, the time for admin, "-" for the others. As a
    // person sees it (`assume list` in a terminal) and as asked for with `--output text`.
    let check_table = |text: &str| {
        assert!(text.to_lowercase().contains("cached until"), "{text}");
        let line = |name: &str| {
            text.lines()
                .find(|l| l.split_whitespace().next() == Some(name))
                .unwrap_or_else(|| panic!("no row for {name}:\n{text}"))
                .to_string()
        };
        assert!(line("admin").contains(&expiration[..19]), "{text}");
        for name in ["readonly", "plain", "alice"] {
            let l = line(name);
            assert!(l.split_whitespace().any(|w| w == "-"), "{name}: {l}");
            assert!(!l.contains(&expiration[..10]), "{name} is not cached: {l}");
        }
    };
    let tmux = cx.tmux("assume list; echo list-exit-$?");
    let screen = tmux.wait_for("list-exit-", WAIT);
    assert!(screen.contains("list-exit-0"), "{screen}");
    check_table(&screen);
    let out = cx.run(&["list", "--output", "text"]);
    assert_success(&["list", "--output", "text"], &out);
    check_table(&String::from_utf8_lossy(&out.stdout));

    // After clear, null again.
    cx.ok(&["clear", "admin"]);
    let out = cx.run(&["list", "--output", "json"]);
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let admin = json
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["profile"] == "admin")
        .unwrap();
    assert_eq!(admin["cached_until"], Value::Null, "{admin}");
}
