//! `assume explain` against botocore, the aws CLI's resolver, on generated configs: the same
//! profile must give the same outcome (a chain or an error), the same base (profile and kind)
//! and the same AssumeRole calls in the same order. `tests/support/botocore_chain.py` learns
//! botocore's chain by letting it call a recording STS on loopback, once for all cases.
//!
//! Where they disagree by design, a named predicate below says so and quotes the README
//! sentence that documents it; any other disagreement fails the test with the first cases in
//! full. `ASSUME_DIFF_CASES` (default 400) and `ASSUME_DIFF_SEED` change the run.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::{Value, json};

use crate::harness::{assume_bin, repo_root, venv_bin};

const ACCOUNT: &str = "123456789012";
/// Profile names a case draws from; `default` is also written as `[default]`.
const NAMES: [&str; 7] = ["default", "p1", "p2", "p3", "p4", "p5", "p6"];

/// splitmix64: a deterministic stream from the seed, so that a failure is reproduced by
/// `ASSUME_DIFF_SEED`.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// True with probability `percent` / 100.
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    fn pick<'a, T: ?Sized>(&mut self, items: &[&'a T]) -> &'a T {
        items[self.below(items.len())]
    }
}

/// One generated case: the two files, the profile asked for, the environment.
#[derive(Debug, Clone)]
struct Case {
    config: String,
    credentials: String,
    profile: String,
    env: BTreeMap<String, String>,
    /// Every key = value written, per profile (both files), for the predicates.
    keys: BTreeMap<String, BTreeMap<String, String>>,
}

impl Case {
    fn profile_keys(&self, profile: &str) -> Option<&BTreeMap<String, String>> {
        self.keys.get(profile)
    }

    fn all_values(&self) -> impl Iterator<Item = (&str, &str)> {
        self.keys
            .values()
            .flat_map(|keys| keys.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    }
}

fn role_arn(rng: &mut Rng, name: &str) -> String {
    match rng.below(12) {
        0 => format!("arn:aws:iam::{ACCOUNT}:role/my~path/R-{name}"),
        1 => format!("arn:aws:iam::{ACCOUNT}:role/a!b/c$d/R-{name}"),
        2 => format!("arn:aws:iam::{ACCOUNT}:role/team/R+=,.@_-{name}"),
        3 => "arn:aws:iam::12345:role/ShortAccount".into(),
        4 => format!("arn:aws:iam::{ACCOUNT}:user/NotARole"),
        5 => format!("arn:aws:iam::{ACCOUNT}:role/{}", "N".repeat(65)),
        6 => "not-an-arn-but-long-enough".into(),
        _ => format!("arn:aws:iam::{ACCOUNT}:role/R-{name}"),
    }
}

/// `key = value` lines of one section, in order.
type Lines = Vec<(String, String)>;

/// The config keys of one profile and those of its credentials-file section.
fn profile_keys(rng: &mut Rng, index: usize, names: &[&str], tokens: &Path) -> (Lines, Lines) {
    let name = names[index];
    let mut config: Lines = Vec::new();
    let mut credentials: Lines = Vec::new();
    let put = |keys: &mut Lines, k: &str, v: String| keys.push((k.into(), v));
    let last = index + 1 == names.len();
    let is_role = !last && rng.chance(75) || last && rng.chance(12);
    if is_role {
        put(&mut config, "role_arn", role_arn(rng, name));
        match rng.below(20) {
            0 => put(&mut config, "source_profile", name.to_string()),
            1 => put(
                &mut config,
                "source_profile",
                names[rng.below(index + 1)].into(),
            ),
            2 => put(&mut config, "source_profile", "missing".into()),
            3 => put(&mut config, "credential_source", "Environment".into()),
            4 => put(
                &mut config,
                "credential_source",
                rng.pick(&["Ec2InstanceMetadata", "EcsContainer", "Bogus"])
                    .into(),
            ),
            5 => {}
            6 => {
                put(&mut config, "credential_source", "Environment".into());
                if !last {
                    put(&mut config, "source_profile", names[index + 1].into());
                }
            }
            _ if !last => put(&mut config, "source_profile", names[index + 1].into()),
            _ => put(&mut config, "source_profile", name.to_string()),
        }
        if rng.chance(25) {
            let serial = rng.pick(&[
                "arn:aws:iam::123456789012:mfa/alice",
                "arn:aws:iam::123456789012:mfa/alice",
                "GAHT12345678",
                "12",
                "bad serial",
            ]);
            put(&mut config, "mfa_serial", serial.into());
        }
        if rng.chance(20) {
            let id = rng.pick(&["partner-ext", "partner:ext/1@x", "x", "has space"]);
            put(&mut config, "external_id", id.into());
        }
        if rng.chance(25) {
            let seconds = rng.pick(&["900", "3600", "7200", "43200", "100", "50000", "abc"]);
            put(&mut config, "duration_seconds", seconds.into());
        }
        if rng.chance(20) {
            let session = rng.pick(&["ops-session", "a.b@c=d,e+f", "s", "bad name"]);
            put(&mut config, "role_session_name", session.into());
        }
    }
    // Source credentials: none, one family or several (the order they win in differs).
    let families = if is_role {
        usize::from(rng.chance(30)) + usize::from(rng.chance(10))
    } else {
        1 + usize::from(rng.chance(30)) + usize::from(rng.chance(10))
    };
    // Distinct families: a key written twice is a parse error for botocore.
    let mut chosen: Vec<usize> = Vec::new();
    while chosen.len() < families {
        let family = rng.below(6);
        if !chosen.contains(&family) {
            chosen.push(family);
        }
    }
    for family in chosen {
        match family {
            0 => {
                let (access, secret) = match rng.below(6) {
                    0 => (true, false),
                    1 => (false, true),
                    _ => (true, true),
                };
                let file = rng.below(3);
                for (into_config, prefix) in [(true, "K_cfg_"), (false, "K_cred_")] {
                    let here = match file {
                        0 => into_config,
                        1 => !into_config,
                        _ => true,
                    };
                    let keys = if into_config {
                        &mut config
                    } else {
                        &mut credentials
                    };
                    if here && access {
                        put(keys, "aws_access_key_id", format!("{prefix}{name}"));
                    }
                    if here && secret {
                        put(keys, "aws_secret_access_key", "secret".into());
                    }
                }
            }
            1 => put(
                &mut config,
                "credential_process",
                format!(
                    "echo '{{\"Version\": 1, \"AccessKeyId\": \"K_proc_{name}\", \"SecretAccessKey\": \"s\"}}'"
                ),
            ),
            2 => {
                let all = [
                    ("sso_start_url", "https://d-1.awsapps.com/start"),
                    ("sso_region", "us-east-1"),
                    ("sso_account_id", ACCOUNT),
                    ("sso_role_name", "Dev"),
                    ("sso_session", rng.pick(&["full", "partial", "nosuch"])),
                ];
                // Mostly a complete set, else any subset.
                let mask = if rng.chance(35) {
                    if rng.chance(50) { 0b01111 } else { 0b11100 }
                } else {
                    1 + rng.below(31)
                };
                for (bit, (k, v)) in all.iter().enumerate() {
                    if mask & (1 << bit) != 0 {
                        put(&mut config, k, v.to_string());
                    }
                }
            }
            3 => put(
                &mut config,
                "login_session",
                format!("arn:aws:iam::{ACCOUNT}:user/alice"),
            ),
            4 => {
                put(
                    &mut config,
                    "web_identity_token_file",
                    tokens.join(name).display().to_string(),
                );
                if !config.iter().any(|(k, _)| k == "role_arn") && rng.chance(70) {
                    put(&mut config, "role_arn", role_arn(rng, name));
                }
            }
            _ => {}
        }
    }
    if rng.chance(15) {
        let region = rng.pick(&["eu-west-1", "ap-south-1", "EU_WEST", "eu-west-1 "]);
        put(&mut config, "region", region.trim_end().into());
    }
    (config, credentials)
}

fn generate(rng: &mut Rng, tokens: &Path) -> Case {
    let depth = 1 + rng.below(5);
    let mut names: Vec<&str> = vec![if rng.chance(25) { "default" } else { "p1" }];
    for name in NAMES.iter().skip(2) {
        if names.len() == depth {
            break;
        }
        names.push(name);
    }
    let mut config = String::new();
    let mut credentials = String::new();
    let mut keys: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    if rng.chance(20) {
        config.push_str("# generated\n; another comment\n\n");
    }
    for index in 0..names.len() {
        let name = names[index];
        let (in_config, in_credentials) = profile_keys(rng, index, &names, tokens);
        let header = if name == "default" && rng.chance(50) {
            "[default]".to_string()
        } else {
            format!("[profile {name}]")
        };
        let _ = writeln!(config, "{header}");
        for (k, v) in &in_config {
            let _ = writeln!(config, "{k} = {v}");
        }
        if rng.chance(10) {
            config.push_str("s3 =\n    addressing_style = path\n");
        }
        if rng.chance(10) {
            config.push_str("# a comment line\n");
        }
        if !in_credentials.is_empty() {
            let _ = writeln!(credentials, "[{name}]");
            for (k, v) in &in_credentials {
                let _ = writeln!(credentials, "{k} = {v}");
            }
        }
        let entry = keys.entry(name.to_string()).or_default();
        entry.extend(in_config);
        entry.extend(in_credentials);
    }
    if config.contains("sso_session") {
        config.push_str(
            "[sso-session full]\nsso_start_url = https://d-1.awsapps.com/start\nsso_region = us-east-1\n",
        );
        if rng.chance(50) {
            config.push_str("[sso-session partial]\nsso_region = us-east-1\n");
        }
    }
    let mut env = BTreeMap::new();
    if config.contains("credential_source = Environment") && rng.chance(80) {
        env.insert("AWS_ACCESS_KEY_ID".into(), "K_env".into());
        env.insert("AWS_SECRET_ACCESS_KEY".into(), "secret".into());
    }
    if rng.chance(10) {
        env.insert("AWS_REGION".into(), "eu-central-1".into());
    }
    let profile = if rng.chance(3) {
        "nosuch".to_string()
    } else {
        names[0].to_string()
    };
    Case {
        config,
        credentials,
        profile,
        env,
        keys,
    }
}

/// One side's answer, in the script's shape: `{"error"}` or `{"source", "hops"}`.
type Outcome = Value;

fn run_explain(case: &Case, dir: &Path) -> Outcome {
    std::fs::create_dir_all(dir.join("home")).unwrap();
    let config = dir.join("config");
    let credentials = dir.join("credentials");
    std::fs::write(&config, &case.config).unwrap();
    std::fs::write(&credentials, &case.credentials).unwrap();
    let out = Command::new(assume_bin())
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", dir.join("home"))
        .env("XDG_CONFIG_HOME", dir.join("home/.config"))
        .env("XDG_DATA_HOME", dir.join("home/.local/share"))
        .env("XDG_CACHE_HOME", dir.join("home/.cache"))
        .env("AWS_CONFIG_FILE", &config)
        .env("AWS_SHARED_CREDENTIALS_FILE", &credentials)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("ASSUME_CACHE", "none")
        .env("USER", "tester")
        .envs(&case.env)
        .args(["explain", &case.profile, "--output", "json"])
        .stdin(Stdio::null())
        .output()
        .expect("run assume explain");
    let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
    if !out.status.success() {
        return json!({ "error": stderr, "exit": out.status.code() });
    }
    let plan: Value = serde_json::from_slice(&out.stdout).expect("explain prints JSON");
    let source = &plan["source"];
    let kind = match source["kind"].as_str() {
        Some("sdk") => source["via"].clone(),
        _ => source["kind"].clone(),
    };
    let mut base = json!({ "profile": source["profile"], "kind": kind });
    if kind == "web_identity" {
        base["role_arn"] = source["role_arn"].clone();
    }
    let hops: Vec<Value> = plan["hops"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|hop| {
            json!({
                "role_arn": hop["role_arn"],
                "external_id": hop["external_id"],
                "mfa_serial": hop["mfa_serial"],
                "duration_seconds": hop["duration_seconds"],
                "role_session_name": hop["role_session_name"],
            })
        })
        .collect();
    json!({ "source": base, "hops": hops })
}

fn run_botocore(cases: &[Case]) -> Vec<Outcome> {
    let input: Vec<Value> = cases
        .iter()
        .map(|c| {
            json!({ "config": c.config, "credentials": c.credentials, "profile": c.profile, "env": c.env })
        })
        .collect();
    let script = repo_root().join("tests/support/botocore_chain.py");
    let mut child = Command::new(venv_bin("python"))
        .arg(&script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start botocore_chain.py");
    let body = serde_json::to_vec(&input).unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(&body));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(
        out.status.success(),
        "botocore_chain.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let results: Vec<Value> = serde_json::from_slice(&out.stdout).expect("script prints JSON");
    assert_eq!(results.len(), cases.len());
    results
}

fn is_error(outcome: &Outcome) -> bool {
    outcome.get("error").is_some()
}

fn error_text(outcome: &Outcome) -> &str {
    outcome["error"].as_str().unwrap_or_default()
}

/// Whether the two agree on everything compared.
fn agree(assume: &Outcome, botocore: &Outcome) -> bool {
    match (is_error(assume), is_error(botocore)) {
        (true, true) => true,
        (false, false) => {
            assume["source"] == botocore["source"] && assume["hops"] == botocore["hops"]
        }
        _ => false,
    }
}

// ---- what AWS itself accepts, for "assume refuses a value AWS would refuse" ----

fn iam_role_arn_valid(arn: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [scheme, partition, service, region, account, resource] = parts[..] else {
        return false;
    };
    let Some(path_and_name) = resource.strip_prefix("role/") else {
        return false;
    };
    let (path, name) = path_and_name
        .rsplit_once('/')
        .unwrap_or(("", path_and_name));
    scheme == "arn"
        && partition.starts_with("aws")
        && service == "iam"
        && region.is_empty()
        && account.len() == 12
        && account.bytes().all(|b| b.is_ascii_digit())
        && path.bytes().all(|b| (b'!'..=b'~').contains(&b))
        && (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b))
}

fn charset(value: &str, lengths: std::ops::RangeInclusive<usize>, extra: &[u8]) -> bool {
    lengths.contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || extra.contains(&b))
}

/// Whether AWS would take `value` for `key` (None: not a value AWS checks).
fn aws_accepts(key: &str, value: &str) -> Option<bool> {
    Some(match key {
        "role_arn" => iam_role_arn_valid(value),
        "duration_seconds" => value
            .parse::<u32>()
            .is_ok_and(|s| (900..=43200).contains(&s)),
        "role_session_name" => charset(value, 2..=64, b"+=,.@_-"),
        "external_id" => charset(value, 2..=1224, b"+=,.@:/_-"),
        "mfa_serial" => charset(value, 9..=256, b"+=/:,.@_-"),
        "region" => charset(value, 1..=63, b"-") && !value.bytes().any(|b| b.is_ascii_uppercase()),
        _ => return None,
    })
}

// ---- documented differences ----

/// A difference the README documents: its name, the sentence, and when it applies.
struct Documented {
    name: &'static str,
    applies: fn(&Case, &Outcome, &Outcome) -> bool,
}

const DOCUMENTED: &[Documented] = &[
    // README, "Checked before anything is sent": "`mfa_serial`, `external_id`, `region` (at
    // most 63 characters: one DNS label) and the endpoint URL are checked for their AWS
    // shapes." (with the role_arn, duration_seconds and role_session_name items above it):
    // assume refuses, naming it, a value AWS would refuse, where botocore sends it.
    Documented {
        name: "assume refuses a value AWS would refuse; botocore sends it",
        applies: refuses_invalid_value,
    },
    // README, "Checked before anything is sent": "A role assumed with role credentials (...)
    // gets at most one hour from AWS: `assume` caps it at 3600 s and says so on stderr rather
    // than fail."
    Documented {
        name: "a chained role's duration is capped at 3600 s",
        applies: duration_capped,
    },
    // README, "Where `assume` and the aws CLI differ": "What makes a profile SSO: for botocore
    // only `sso_account_id` or `sso_role_name` (…); for `assume` any of the five `sso_*` keys,
    // and an incomplete one is an error naming what is missing."
    Documented {
        name: "SSO recognised by any sso_* key (botocore: account id or role name)",
        applies: sso_by_any_key,
    },
    // README, "Where `assume` and the aws CLI differ": "`sso_start_url` / `sso_region` beside
    // `sso_session`: botocore accepts them when they equal the `[sso-session]` section's;
    // `assume` refuses them, as the SDK for Rust does."
    Documented {
        name: "sso_start_url/sso_region beside sso_session refused",
        applies: sso_keys_beside_session,
    },
    // README, "Where `assume` and the aws CLI differ": "Which source wins in a profile with
    // several: botocore reads keys from the credentials file before `login_session` and
    // `credential_process` (…); `assume` takes SSO, `login_session` and `credential_process`
    // before static keys in either file."
    Documented {
        name: "source precedence of the AWS SDK for Rust",
        applies: rust_sdk_precedence,
    },
    // README, "Where `assume` and the aws CLI differ": "`explain` shows the chain without
    // loading the source credentials: a `credential_source` with nothing to give fails only
    // when a command assumes the role."
    Documented {
        name: "explain does not load credential_source",
        applies: credential_source_not_loaded,
    },
    // README, "Where `assume` and the aws CLI differ": "`source_profile` naming its own
    // profile takes that profile's own source, whatever it is (…), as the SDK for Rust does;
    // botocore allows only static keys there and reports an infinite loop otherwise."
    Documented {
        name: "self-reference with a source other than static keys",
        applies: self_reference_with_other_source,
    },
    // README, "Where `assume` and the aws CLI differ": "A profile with `role_arn` and
    // `source_profile` is a role: its `sso_*` keys are not read (as in the SDK for Rust);
    // botocore still checks the `sso_session` (SSO token) settings they name."
    Documented {
        name: "sso_* keys of a role profile are not read",
        applies: sso_keys_of_a_role_profile,
    },
    // README, "Where `assume` and the aws CLI differ": "In a source profile (any but the
    // first of a chain) static keys win over all the rest, as in every SDK's conformance
    // suite; botocore goes through its order there too."
    Documented {
        name: "a source profile's static keys win",
        applies: static_keys_of_a_source_profile_win,
    },
    // README, "Where `assume` and the aws CLI differ": "`credential_source` in a profile that
    // is not a role (no `role_arn`, or web identity) is that profile's source for the SDK for
    // Rust (and `assume`), and an unknown value is refused; botocore reads it only in a role."
    Documented {
        name: "credential_source without role_arn is read",
        applies: credential_source_without_role_arn,
    },
    // README, "Where `assume` and the aws CLI differ": "A role profile with only one of the two
    // keys stays a role (the SDK for Rust); botocore refuses the partial keys."
    Documented {
        name: "partial keys beside role_arn are not read",
        applies: partial_keys_of_a_role_profile,
    },
];

fn partial_keys_of_a_role_profile(case: &Case, assume: &Outcome, botocore: &Outcome) -> bool {
    !is_error(assume)
        && error_text(botocore).contains("Partial credentials")
        && case.keys.values().any(|keys| {
            has(keys, "role_arn")
                && has(keys, "aws_access_key_id") != has(keys, "aws_secret_access_key")
        })
}

fn static_keys_of_a_source_profile_win(case: &Case, assume: &Outcome, botocore: &Outcome) -> bool {
    let Some(keys) = assume["source"]["profile"]
        .as_str()
        .filter(|p| *p != case.profile)
        .and_then(|p| case.profile_keys(p))
    else {
        return false;
    };
    assume["source"]["kind"] == "static"
        && families(keys) + usize::from(has(keys, "role_arn")) >= 2
        && (is_error(botocore) || botocore["source"] != assume["source"])
}

fn credential_source_without_role_arn(case: &Case, assume: &Outcome, botocore: &Outcome) -> bool {
    let message = error_text(assume);
    !is_error(botocore)
        && message.contains("credential_source '")
        && message.contains("is not supported")
        && case.keys.values().any(|keys| {
            has(keys, "credential_source")
                && (!has(keys, "role_arn") || has(keys, "web_identity_token_file"))
                && keys
                    .get("credential_source")
                    .is_some_and(|v| message.contains(&format!("'{v}'")))
        })
}

fn self_reference_with_other_source(case: &Case, assume: &Outcome, botocore: &Outcome) -> bool {
    let Some(keys) = assume["source"]["profile"]
        .as_str()
        .and_then(|p| case.profile_keys(p).map(|keys| (p, keys)))
    else {
        return false;
    };
    let (profile, keys) = keys;
    !is_error(assume)
        && error_text(botocore).contains("InfiniteLoopConfigError")
        && keys.get("source_profile").map(String::as_str) == Some(profile)
        && assume["source"]["kind"] != "static"
}

fn sso_keys_of_a_role_profile(case: &Case, assume: &Outcome, botocore: &Outcome) -> bool {
    !is_error(assume)
        && ["sso_session", "SSO token provider"]
            .iter()
            .any(|phrase| error_text(botocore).contains(phrase))
        && case.keys.values().any(|keys| {
            has(keys, "role_arn")
                && has(keys, "source_profile")
                && SSO_KEYS.iter().any(|k| has(keys, k))
        })
}

fn refuses_invalid_value(case: &Case, assume: &Outcome, botocore: &Outcome) -> bool {
    let message = error_text(assume);
    is_error(assume)
        && !is_error(botocore)
        && case.all_values().any(|(key, value)| {
            // Quoted values are cut at 80 characters.
            let start: String = value.chars().take(40).collect();
            aws_accepts(key, value) == Some(false)
                && (message.contains(&format!("'{start}"))
                    || key == "duration_seconds" && message.contains(&format!(" {value}s "))
                    || message.contains(&format!("': {key} must be ")))
        })
}

fn duration_capped(_: &Case, assume: &Outcome, botocore: &Outcome) -> bool {
    let (Some(mine), Some(theirs)) = (assume["hops"].as_array(), botocore["hops"].as_array())
    else {
        return false;
    };
    let mut capped = false;
    let same = mine.len() == theirs.len()
        && mine.iter().zip(theirs).all(|(a, b)| {
            let mut a = a.clone();
            if a["duration_seconds"] == 3600 && b["duration_seconds"].as_u64() > Some(3600) {
                capped = true;
                a["duration_seconds"] = b["duration_seconds"].clone();
            }
            &a == b
        });
    same && capped && assume["source"] == botocore["source"]
}

const SSO_KEYS: [&str; 5] = [
    "sso_start_url",
    "sso_region",
    "sso_account_id",
    "sso_role_name",
    "sso_session",
];

fn has(keys: &BTreeMap<String, String>, key: &str) -> bool {
    keys.contains_key(key)
}

/// The profile whose credentials start the chain, by either side's answer.
fn base_profile<'a>(
    case: &'a Case,
    assume: &Outcome,
    botocore: &Outcome,
) -> Option<&'a BTreeMap<String, String>> {
    [assume, botocore]
        .iter()
        .find_map(|o| o["source"]["profile"].as_str())
        .and_then(|p| case.profile_keys(p))
}

fn sso_by_any_key(case: &Case, assume: &Outcome, botocore: &Outcome) -> bool {
    // assume takes a profile as SSO (a source, or an error about SSO) that botocore does not,
    // and that profile has sso keys but neither of the two botocore looks for.
    let assume_sso =
        assume["source"]["kind"] == "sso" || error_text(assume).to_lowercase().contains("sso");
    let botocore_sso = botocore["source"]["kind"] == "sso" || error_text(botocore).contains("SSO");
    assume_sso
        && !botocore_sso
        && case.keys.values().any(|keys| {
            SSO_KEYS.iter().any(|k| has(keys, k))
                && !has(keys, "sso_account_id")
                && !has(keys, "sso_role_name")
        })
}

fn sso_keys_beside_session(case: &Case, assume: &Outcome, botocore: &Outcome) -> bool {
    is_error(assume)
        && !is_error(botocore)
        && error_text(assume).contains("sso")
        && case.keys.values().any(|keys| {
            has(keys, "sso_session") && (has(keys, "sso_start_url") || has(keys, "sso_region"))
        })
}

/// The kind of source the AWS SDK for Rust takes from a profile with these keys.
fn rust_sdk_kind(keys: &BTreeMap<String, String>) -> Option<&'static str> {
    if has(keys, "credential_source") {
        Some("credential_source")
    } else if has(keys, "web_identity_token_file") {
        Some("web_identity")
    } else if SSO_KEYS.iter().any(|k| has(keys, k)) {
        Some("sso")
    } else if has(keys, "login_session") {
        Some("login")
    } else if has(keys, "credential_process") {
        Some("credential_process")
    } else if has(keys, "aws_access_key_id") || has(keys, "aws_secret_access_key") {
        Some("static")
    } else {
        None
    }
}

fn families(keys: &BTreeMap<String, String>) -> usize {
    [
        has(keys, "credential_source"),
        has(keys, "web_identity_token_file"),
        SSO_KEYS.iter().any(|k| has(keys, k)),
        has(keys, "login_session"),
        has(keys, "credential_process"),
        has(keys, "aws_access_key_id") || has(keys, "aws_secret_access_key"),
    ]
    .iter()
    .filter(|present| **present)
    .count()
}

fn rust_sdk_precedence(case: &Case, assume: &Outcome, botocore: &Outcome) -> bool {
    let Some(keys) = base_profile(case, assume, botocore) else {
        return false;
    };
    let kind = assume["source"]["kind"].as_str();
    families(keys) >= 2
        && !is_error(assume)
        && kind == rust_sdk_kind(keys)
        && (is_error(botocore) || botocore["source"]["kind"].as_str() != kind)
}

fn credential_source_not_loaded(_: &Case, assume: &Outcome, botocore: &Outcome) -> bool {
    assume["source"]["kind"] == "credential_source"
        && error_text(botocore).contains("No credentials found in credential_source")
}

/// A short label of an undocumented disagreement, to count them by class.
fn label(assume: &Outcome, botocore: &Outcome) -> String {
    let generic = |text: &str| {
        let mut out = String::new();
        for word in text.split_whitespace().take(14) {
            let word = if NAMES.iter().any(|n| word.contains(n)) || word.contains("arn:") {
                "…"
            } else {
                word
            };
            out.push_str(word);
            out.push(' ');
        }
        out.trim_end().to_string()
    };
    match (is_error(assume), is_error(botocore)) {
        (true, false) => format!(
            "assume refuses, botocore accepts: {}",
            generic(error_text(assume))
        ),
        (false, true) => format!(
            "assume accepts ({}), botocore refuses: {}",
            assume["source"]["kind"].as_str().unwrap_or("?"),
            generic(error_text(botocore))
        ),
        _ if assume["source"] != botocore["source"] => format!(
            "source differs: assume {} / botocore {}",
            assume["source"]["kind"], botocore["source"]["kind"]
        ),
        _ => "hops differ".into(),
    }
}

fn cases_setting(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(text) if !text.is_empty() => text
            .parse()
            .unwrap_or_else(|_| panic!("{name}={text:?} is not a number")),
        _ => default,
    }
}

#[test]
fn explain_agrees_with_botocore_on_generated_configs() {
    let count = cases_setting("ASSUME_DIFF_CASES", 400) as usize;
    let seed = cases_setting("ASSUME_DIFF_SEED", 0x5EED_A55E);
    let dir = tempfile::Builder::new()
        .prefix("assume-diff-")
        .tempdir()
        .unwrap();
    let tokens = dir.path().join("tokens");
    std::fs::create_dir_all(&tokens).unwrap();
    for name in NAMES {
        std::fs::write(tokens.join(name), format!("token-of-{name}")).unwrap();
    }
    let mut rng = Rng(seed);
    let cases: Vec<Case> = (0..count).map(|_| generate(&mut rng, &tokens)).collect();

    // botocore's one process beside `assume explain` on two threads.
    let case_dirs: Vec<PathBuf> = (0..count)
        .map(|i| dir.path().join(format!("case-{i}")))
        .collect();
    let explain_all = |range: std::ops::Range<usize>| -> Vec<Outcome> {
        range
            .map(|i| run_explain(&cases[i], &case_dirs[i]))
            .collect()
    };
    let half = count.div_ceil(2);
    let (assume, botocore) = std::thread::scope(|scope| {
        let script = scope.spawn(|| run_botocore(&cases));
        let first = scope.spawn(|| explain_all(0..half));
        let mut assume = explain_all(half..count);
        let mut all = first.join().unwrap();
        all.append(&mut assume);
        (all, script.join().unwrap())
    });

    let mut documented: BTreeMap<&str, usize> = BTreeMap::new();
    let mut undocumented: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    let mut agreed = 0;
    for (index, case) in cases.iter().enumerate() {
        let (mine, theirs) = (&assume[index], &botocore[index]);
        if agree(mine, theirs) {
            agreed += 1;
        } else if let Some(known) = DOCUMENTED.iter().find(|d| (d.applies)(case, mine, theirs)) {
            *documented.entry(known.name).or_default() += 1;
        } else {
            undocumented
                .entry(label(mine, theirs))
                .or_default()
                .push(index);
        }
    }
    eprintln!(
        "botocore diff (seed {seed:#x}): {agreed} of {count} agree; documented: {documented:?}"
    );
    if undocumented.is_empty() {
        return;
    }
    let mut report = format!(
        "assume explain and botocore disagree on {} of {count} generated profiles (seed {seed:#x}), by class:\n",
        undocumented.values().map(Vec::len).sum::<usize>()
    );
    for (class, indexes) in &undocumented {
        let _ = writeln!(report, "  {:4} × {class}", indexes.len());
    }
    report.push_str("\nThe first case of each class (write the files, then `assume explain PROFILE --output json`):\n");
    for (class, indexes) in undocumented.iter().take(12) {
        let index = indexes[0];
        let case = &cases[index];
        let _ = write!(
            report,
            "\n=== case {index}: {class}\nprofile: {}\nenv: {:?}\n--- config\n{}--- credentials\n{}--- assume\n{}\n--- botocore\n{}\n",
            case.profile, case.env, case.config, case.credentials, assume[index], botocore[index]
        );
    }
    panic!("{report}");
}
