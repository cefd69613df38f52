//! Property tests: the config pipeline never panics, and exported values are inert.
//!
//! * Config text → parse (both file kinds) → `resolve_chain` for every profile → `Plan::build`
//!   never panics and is deterministic, for arbitrary strings and for structured INI-ish text
//!   (sections, the keys that shape a chain, continuation lines, comments).
//! * Shell safety: for arbitrary values (quotes, `$()`, backticks, newlines, unicode; no NUL),
//!   what `render` prints for bash, zsh and fish, evaluated by the real shell, reads back
//!   byte-for-byte and creates no file. Values are batched: one shell process per 200 values.
//!
//! Case counts are bounded so the file runs in well under 30 s in debug; raise them with
//! `PROPTEST_CASES` (proptest reads it) for a longer run by hand.

#![allow(clippy::unwrap_used)]

use std::process::{Command, Stdio};

use assume::config::{
    BaseProvider, Env, FileKind, Overrides, Plan, ProfileSet, Resolver, Summaries, resolve_chain,
};
use assume::handoff::Change;
use assume::handoff::shell::{Shell, render};
use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, TestRunner};

/// Cases per config property (each case parses, resolves and plans every profile).
const CONFIG_CASES: u32 = 2000;
/// Batches per shell, and values per batch.
const SHELL_BATCHES: u32 = 10;
const BATCH: usize = 200;

fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

// ---------------------------------------------------------------------------------------------
// Config → parse → resolve → plan
// ---------------------------------------------------------------------------------------------

/// How many plans `list`'s summary vouched for (and were checked against the build).
static SUMMARIES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Everything the pipeline produces for `text`, rendered as a string (so two runs compare).
fn pipeline(text: &str, kind: FileKind, overrides: &Overrides, env: &Env) -> String {
    let mut set = ProfileSet::default();
    let mut out = String::new();
    match set.merge_file(kind, "/fuzz/config", text) {
        Err(e) => {
            out.push_str(&format!("parse error: {e}\n"));
            return out;
        }
        Ok(()) => out.push_str(&format!("{:?}\n", set)),
    }
    let mut names: Vec<String> = set.profiles.keys().map(str::to_string).collect();
    names.push("default".into());
    names.push("missing-profile".into());
    // `list`'s resolver shares chains between profiles; it must say what the walk of each
    // profile says, whichever profiles it resolved before (forwards, then backwards).
    let mut forwards = Resolver::new(&set);
    let mut backwards = Resolver::new(&set);
    let from_the_end: Vec<_> = names
        .iter()
        .rev()
        .map(|name| backwards.resolve(name))
        .collect();
    for (name, backwards) in names.iter().zip(from_the_end.into_iter().rev()) {
        let walked = resolve_chain(&set, name);
        assert_eq!(forwards.resolve(name), walked, "resolver differs on {name}");
        assert_eq!(backwards, walked, "resolver (backwards) differs on {name}");
    }
    // `list`'s summary vouches for a plan only where building it succeeds, with the same
    // region and MFA (its record of checked hop profiles shared across the run, as in `list`).
    // Beside the run's environment, environments that decide what the profiles would: a bad
    // region, endpoint or MFA session length, endpoints ignored, an STS endpoint set.
    let summary_envs = [
        env.clone(),
        Env::from_pairs([
            ("AWS_DEFAULT_REGION", "Bad_Region"),
            ("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "TRUE"),
            ("ASSUME_MFA_SESSION_DURATION", "1s"),
        ]),
        Env::from_pairs([
            ("AWS_ENDPOINT_URL", "ftp://sts.example"),
            ("ASSUME_MFA_SESSION_DURATION", "8h"),
        ]),
        Env::from_pairs([
            ("AWS_ENDPOINT_URL_STS", "http://127.0.0.1:1"),
            ("AWS_ENDPOINT_URL", "ftp://sts.example"),
            ("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "false"),
        ]),
    ];
    for env in &summary_envs {
        let mut summaries = Summaries::new(env);
        for name in &names {
            let Ok(chain) = resolve_chain(&set, name) else {
                continue;
            };
            let plan = Plan::build(&set, &chain, &Overrides::default(), env);
            match summaries.summary(&set, &chain) {
                Some(summary) => {
                    let plan = plan.unwrap_or_else(|e| {
                        panic!("summary of {name} vouched for a failing plan: {e}")
                    });
                    assert_eq!(summary.region, plan.region, "{name}");
                    assert_eq!(
                        summary.mfa,
                        plan.hops.iter().any(|hop| hop.mfa_serial.is_some()),
                        "{name}"
                    );
                    SUMMARIES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
                // A plan of static keys that builds is one the summary must vouch for, or
                // `list` would build every plan again.
                None if matches!(chain.base, BaseProvider::AccessKey(_)) => {
                    if let Ok(plan) = plan {
                        panic!(
                            "summary of {name} refused a plan that builds ({})",
                            plan.region
                        );
                    }
                }
                None => {}
            }
        }
    }
    for name in &names {
        match resolve_chain(&set, name) {
            Err(e) => out.push_str(&format!("{name}: chain error: {e}\n")),
            Ok(chain) => {
                out.push_str(&format!("{name}: {} hops\n", chain.hops.len()));
                match Plan::build(&set, &chain, overrides, env) {
                    Err(e) => out.push_str(&format!("{name}: plan error: {e}\n")),
                    Ok(plan) => out.push_str(&format!(
                        "{name}: {} {} {:?} {:?} {:?} {}\n",
                        plan.profile,
                        plan.region,
                        plan.endpoint_url,
                        plan.hops,
                        plan.notices,
                        plan.mfa_session_seconds
                    )),
                }
            }
        }
    }
    out
}

fn check_config(text: &str) -> Result<(), TestCaseError> {
    let env = Env::from_pairs([("AWS_REGION", "eu-central-1")]);
    let overrides = [
        Overrides::default(),
        Overrides {
            duration_seconds: Some(7200),
            region: Some("us-west-2".into()),
        },
    ];
    for kind in [FileKind::Config, FileKind::Credentials] {
        for o in &overrides {
            let first = pipeline(text, kind, o, &env);
            let second = pipeline(text, kind, o, &env);
            prop_assert_eq!(first, second, "not deterministic");
        }
    }
    Ok(())
}

fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("a".to_string()),
        Just("b".to_string()),
        Just("c".to_string()),
        Just("default".to_string()),
        "[a-z]{1,3}",
        "[a-zA-Z0-9_.@:+/%-]{0,6}",
        ".{0,5}",
    ]
}

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("arn:aws:iam::123456789012:role/R".to_string()),
        Just("arn:aws-cn:iam::123456789012:role/path/R".to_string()),
        Just("arn:aws:iam::123456789012:mfa/alice".to_string()),
        Just("Environment".to_string()),
        Just("Ec2InstanceMetadata".to_string()),
        Just("eu-west-1".to_string()),
        Just("3600".to_string()),
        Just("http://127.0.0.1:1".to_string()),
        Just(String::new()),
        "[0-9]{1,12}",
        "-?[0-9]{1,25}",
        name(),
        "[ -~]{0,20}",
        ".{0,12}",
    ]
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("role_arn"),
        Just("source_profile"),
        Just("credential_source"),
        Just("mfa_serial"),
        Just("duration_seconds"),
        Just("region"),
        Just("external_id"),
        Just("role_session_name"),
        Just("aws_access_key_id"),
        Just("aws_secret_access_key"),
        Just("aws_session_token"),
        Just("web_identity_token_file"),
        Just("credential_process"),
        Just("sso_session"),
        Just("sso_account_id"),
        Just("sso_role_name"),
        Just("sso_start_url"),
        Just("login_session"),
        Just("endpoint_url"),
        Just("services"),
        Just("sts"),
        Just("mfa_process"),
        Just("mfa_session_duration"),
        Just("ignore_configured_endpoint_urls"),
        Just("Role_ARN"),
    ]
    .prop_map(str::to_string)
}

/// One line of INI-ish text.
fn line() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => (key(), value()).prop_map(|(k, v)| format!("{k} = {v}")),
        2 => name().prop_map(|n| format!("[profile {n}]")),
        1 => name().prop_map(|n| format!("[{n}]")),
        1 => name().prop_map(|n| format!("[sso-session {n}]")),
        1 => name().prop_map(|n| format!("[services {n}]")),
        1 => (key(), value()).prop_map(|(k, v)| format!("  {k} = {v}")),
        1 => value().prop_map(|v| format!("\t{v}")),
        1 => (key(), value(), "[ -~]{0,10}").prop_map(|(k, v, c)| format!("{k} = {v} # {c}")),
        1 => "[#;][ -~]{0,20}",
        1 => Just(String::new()),
        1 => Just("[profile a".to_string()),
        1 => Just("= no name".to_string()),
        1 => Just("no equals".to_string()),
        1 => ".{0,30}",
    ]
}

fn structured_config() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(line(), 0..40),
        prop_oneof![Just("\n"), Just("\r\n")],
    )
        .prop_map(|(lines, newline)| lines.join(newline))
}

/// A self-contained proptest run; returns the number of cases executed.
fn run_config_property(strategy: impl Strategy<Value = String>, default_cases: u32) -> u32 {
    let config = ProptestConfig {
        cases: cases(default_cases),
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    let total = config.cases;
    let mut runner = TestRunner::new(config);
    runner
        .run(&strategy, |text| check_config(&text))
        .unwrap_or_else(|e| panic!("{e}"));
    eprintln!("fuzz: {total} cases");
    total
}

#[test]
fn arbitrary_text_never_panics_and_is_deterministic() {
    run_config_property(".{0,400}", CONFIG_CASES);
}

#[test]
fn arbitrary_bytes_as_lossy_text_never_panic() {
    run_config_property(
        prop::collection::vec(any::<u8>(), 0..300)
            .prop_map(|bytes| String::from_utf8_lossy(&bytes).into_owned()),
        CONFIG_CASES,
    );
}

#[test]
fn structured_config_never_panics_and_is_deterministic() {
    run_config_property(structured_config(), CONFIG_CASES);
}

/// Chains of up to 8 profiles, mostly well formed (keys at the bottom, `role_arn` and
/// `source_profile` above), each with a few more settings good or bad: where `list`'s summary
/// and the plan's build could part.
fn chain_config() -> impl Strategy<Value = String> {
    const NAMES: [&str; 5] = ["a", "b", "c", "d", "e"];
    let setting = (
        prop_oneof![
            Just("region"),
            Just("mfa_serial"),
            Just("duration_seconds"),
            Just("external_id"),
            Just("role_session_name"),
            Just("role_arn"),
            Just("endpoint_url"),
            Just("mfa_session_duration"),
            Just("mfa_process"),
            Just("ignore_configured_endpoint_urls"),
            Just("services"),
            Just("credential_source"),
            Just("source_profile"),
        ],
        prop_oneof![
            3 => value(),
            1 => Just("eu-west-1".to_string()),
            1 => Just("EU_WEST".to_string()),
            1 => Just("arn:aws:iam::123456789012:mfa/u".to_string()),
            1 => Just("99999".to_string()),
            1 => Just("8h".to_string()),
            1 => Just("1s".to_string()),
            1 => Just("ftp://x".to_string()),
            1 => Just("true".to_string()),
        ],
    );
    let profile = (
        0..NAMES.len(),
        any::<bool>(),
        prop::collection::vec(setting, 0..4),
    );
    prop::collection::vec(profile, 1..8).prop_map(|profiles| {
        let mut text = String::new();
        for (i, (source, keys, settings)) in profiles.iter().enumerate() {
            text.push_str(&format!("[profile {}]\n", NAMES[i % NAMES.len()]));
            if *keys {
                text.push_str("aws_access_key_id = AKIAEXAMPLE\naws_secret_access_key = s\n");
            } else {
                text.push_str(&format!(
                    "role_arn = arn:aws:iam::123456789012:role/R{i}\nsource_profile = {}\n",
                    NAMES[*source]
                ));
            }
            for (key, value) in settings {
                text.push_str(&format!("{key} = {value}\n"));
            }
        }
        text
    })
}

#[test]
fn list_summaries_agree_with_the_plans_they_vouch_for() {
    run_config_property(chain_config(), CONFIG_CASES);
    let vouched = SUMMARIES.load(std::sync::atomic::Ordering::Relaxed);
    eprintln!("fuzz: list's summary vouched for {vouched} plans, each checked against its build");
    assert!(
        vouched > 100,
        "too few generated chains that list's summary vouches for"
    );
}

/// Deep chains and long lines do not overflow anything.
#[test]
fn deep_chain_and_long_values() {
    let mut text =
        String::from("[profile p0]\naws_access_key_id = AKIA\naws_secret_access_key = s\n");
    for i in 1..=200 {
        text.push_str(&format!(
            "[profile p{i}]\nrole_arn = arn:aws:iam::123456789012:role/R{i}\nsource_profile = p{}\n",
            i - 1
        ));
    }
    text.push_str(&format!(
        "[profile long]\nregion = {}\n",
        "x".repeat(100_000)
    ));
    check_config(&text).unwrap();
}

// ---------------------------------------------------------------------------------------------
// Shell safety
// ---------------------------------------------------------------------------------------------

fn shell_value() -> impl Strategy<Value = String> {
    let nasty = prop_oneof![
        Just("'".to_string()),
        Just("\"".to_string()),
        Just("\\".to_string()),
        Just("$(touch pwned)".to_string()),
        Just("`touch pwned`".to_string()),
        Just("$HOME".to_string()),
        Just("${X:-y}".to_string()),
        Just("\n".to_string()),
        Just("\r\n".to_string()),
        Just("\t".to_string()),
        Just(";touch pwned;".to_string()),
        Just("(touch pwned)".to_string()),
        Just("{touch,pwned}".to_string()),
        Just("*".to_string()),
        Just("~".to_string()),
        Just("!".to_string()),
        Just("%".to_string()),
        Just("#".to_string()),
        Just("é€😀\u{2019}\u{200b}".to_string()),
        Just("\u{1b}[31m".to_string()),
        Just("\u{7f}".to_string()),
        Just(" ".to_string()),
        Just("-e".to_string()),
        Just("--".to_string()),
        Just("\\'".to_string()),
        Just("'\\''".to_string()),
        "[^\u{0}]{1,4}",
        "[ -~]{1,6}",
    ];
    prop::collection::vec(nasty, 0..8).prop_map(|parts| parts.concat())
}

/// Evaluates `render(shell, X=value)` for each value in the real shell, in an empty temp dir,
/// and reads `X` back with `printf '%s\0'`. Returns the values read back.
fn round_trip(shell: Shell, values: &[String]) -> (Vec<Vec<u8>>, Vec<String>, String) {
    let dir = tempfile::tempdir().unwrap();
    let mut script = String::new();
    for value in values {
        script.push_str(&render(shell, &[Change::Set("X", value)]));
        script.push_str("printf '%s\\0' \"$X\"\n");
    }
    // The script lives outside the directory that must stay empty.
    let script_dir = tempfile::tempdir().unwrap();
    let path = script_dir.path().join("script");
    std::fs::write(&path, &script).unwrap();
    let program = match shell {
        Shell::Bash => "bash",
        Shell::Zsh => "zsh",
        Shell::Fish => "fish",
        _ => unreachable!(),
    };
    let mut cmd = Command::new(program);
    match shell {
        Shell::Bash => cmd.args(["--norc", "--noprofile"]),
        Shell::Zsh => cmd.args(["-f"]),
        Shell::Fish => cmd.args(["--no-config"]),
        _ => unreachable!(),
    };
    let out = cmd
        .arg(&path)
        .current_dir(dir.path())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        // fish makes ~/.config and ~/.local: HOME is not the directory that must stay empty.
        .env("HOME", script_dir.path())
        .env("LANG", "C.UTF-8")
        .env("LC_ALL", "C.UTF-8")
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("run {program}: {e}"));
    let created: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    let mut read: Vec<Vec<u8>> = out.stdout.split(|b| *b == 0).map(<[u8]>::to_vec).collect();
    read.pop(); // after the last NUL
    (
        read,
        created,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn shell_property(shell: Shell) -> u32 {
    let config = ProptestConfig {
        cases: cases(SHELL_BATCHES).min(1000),
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    let batches = config.cases;
    let mut runner = TestRunner::new(config);
    runner
        .run(
            &prop::collection::vec(shell_value(), BATCH..=BATCH),
            |values| {
                let (read, created, stderr) = round_trip(shell, &values);
                prop_assert!(created.is_empty(), "{shell:?} created files {created:?}");
                prop_assert_eq!(
                    read.len(),
                    values.len(),
                    "{:?} printed {} values for {}; stderr: {}",
                    shell,
                    read.len(),
                    values.len(),
                    stderr
                );
                for (value, back) in values.iter().zip(&read) {
                    prop_assert_eq!(
                        back.as_slice(),
                        value.as_bytes(),
                        "{:?} read back another value for {:?}: {:?}",
                        shell,
                        value,
                        render(shell, &[Change::Set("X", value)])
                    );
                }
                Ok(())
            },
        )
        .unwrap_or_else(|e| panic!("{e}"));
    let values = batches * BATCH as u32;
    eprintln!("shell safety ({shell:?}): {batches} batches, {values} values");
    values
}

#[test]
fn bash_reads_back_every_value() {
    shell_property(Shell::Bash);
}

#[test]
fn zsh_reads_back_every_value() {
    shell_property(Shell::Zsh);
}

#[test]
fn fish_reads_back_every_value() {
    shell_property(Shell::Fish);
}
