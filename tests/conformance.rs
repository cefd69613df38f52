//! Runs every case of the AWS SDKs' shared conformance suites (vendored in tests/conformance/)
//! against assume's own parser, file locator and chain resolver.

#![allow(clippy::unwrap_used)]

use assume::config::{
    BaseProvider, ChainError, Env, FileKind, Os, ProfileSet, Resolver, Section, home_dir, locate,
    resolve_chain, selected_profile,
};
use serde_json::{Value, json};

fn suite(name: &str) -> Value {
    let path = format!("{}/tests/conformance/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn sections_json<'a, K: AsRef<str> + 'a>(
    sections: impl IntoIterator<Item = (K, &'a Section)>,
) -> Value {
    sections
        .into_iter()
        .map(|(name, section)| (name.as_ref().to_string(), json!(section.properties)))
        .collect::<serde_json::Map<_, _>>()
        .into()
}

#[test]
fn profile_parser_suite() {
    let tests = suite("profile-parser-tests.json");
    let tests = tests["tests"].as_array().expect("tests");
    assert_eq!(tests.len(), 65, "the vendored suite changed size");
    let mut failures = Vec::new();
    for case in tests {
        let name = case["name"].as_str().unwrap_or_default();
        let mut set = ProfileSet::default();
        let mut result = Ok(());
        for (key, kind) in [
            ("configFile", FileKind::Config),
            ("credentialsFile", FileKind::Credentials),
        ] {
            if let (Ok(()), Some(text)) = (&result, case["input"][key].as_str()) {
                result = set.merge_file(kind, key, text);
            }
        }
        let output = &case["output"];
        match (result, output.get("errorContaining")) {
            (Err(err), Some(expected)) => {
                let expected = expected.as_str().unwrap_or_default();
                if !err.to_string().contains(expected) {
                    failures.push(format!("{name}: error {err} lacks {expected:?}"));
                }
            }
            (Err(err), None) => failures.push(format!("{name}: unexpected error {err}")),
            (Ok(()), Some(expected)) => failures.push(format!("{name}: expected error {expected}")),
            (Ok(()), None) => {
                let config = &output["config"];
                let profiles = sections_json(set.profiles.iter());
                if profiles != config["profiles"] {
                    failures.push(format!(
                        "{name}: profiles {profiles} != {}",
                        config["profiles"]
                    ));
                }
                if let Some(expected) = config.get("sso_sessions") {
                    let sessions = sections_json(&set.sso_sessions);
                    if &sessions != expected {
                        failures.push(format!("{name}: sso_sessions {sessions} != {expected}"));
                    }
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn file_location_suite() {
    let tests = suite("file-location-tests.json");
    let tests = tests["tests"].as_array().expect("tests");
    assert_eq!(tests.len(), 9, "the vendored suite changed size");
    for case in tests {
        let name = case["name"].as_str().unwrap_or_default();
        let env = Env::from_pairs(
            case["environment"]
                .as_object()
                .expect("environment")
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string())),
        );
        let os = match case["platform"].as_str() {
            Some("windows") => Os::Windows,
            _ => Os::Unix,
        };
        let found = locate(&env, os, home_dir(&env, os).as_deref());
        assert_eq!(found.config, case["configLocation"], "{name}");
        assert_eq!(found.credentials, case["credentialsLocation"], "{name}");
        if let Some(profile) = case["profile"].as_str() {
            assert_eq!(selected_profile(None, &env), profile, "{name}");
        }
    }
}

/// The SDKs' error kinds, named by the phrase each case expects.
fn error_kind_matches(expected: &str, err: &ChainError) -> bool {
    match err {
        ChainError::NoProfilesDefined => expected.contains("No profiles were defined"),
        ChainError::MissingProfile { .. } => expected.contains("could not find source profile"),
        ChainError::CredentialLoop { .. } => expected.contains("infinite loop"),
        ChainError::InvalidCredentialSource { .. } => [
            "source_profile",
            "credential_source",
            "missing aws_",
            "expected `aws_access_key_id`",
            "`role_arn` was missing",
        ]
        .iter()
        .any(|phrase| expected.contains(phrase)),
        ChainError::MissingSelected { .. } | ChainError::TooDeep { .. } => false,
    }
}

fn chain_json(set: &ProfileSet, selected: &str) -> Result<Value, ChainError> {
    let chain = resolve_chain(set, selected);
    // `list`'s resolver, which shares chains between profiles, says the same of every case.
    let mut resolver = Resolver::new(set);
    for name in set.profiles.keys() {
        let _ = resolver.resolve(name);
    }
    assert_eq!(resolver.resolve(selected), chain, "{selected}");
    let chain = chain?;
    let mut out = vec![match chain.base {
        BaseProvider::AccessKey(profile) => json!({"AccessKey": {
            "access_key_id": profile.get("aws_access_key_id"),
            "secret_access_key": profile.get("aws_secret_access_key"),
        }}),
        BaseProvider::NamedSource { source, .. } => json!({ "NamedSource": source }),
        BaseProvider::WebIdentity(profile) => {
            let mut fields = json!({
                "role_arn": profile.get("role_arn"),
                "web_identity_token_file": profile.get("web_identity_token_file"),
            });
            if let Some(name) = profile.get("role_session_name") {
                fields["role_session_name"] = json!(name);
            }
            json!({ "WebIdentityToken": fields })
        }
        BaseProvider::Sdk { via, .. } => json!({ "Sdk": via }),
        // The SDKs' cases know no vault: a set parsed from files has none.
        BaseProvider::Vault(profile) => json!({ "Vault": profile.name }),
    }];
    for hop in &chain.hops {
        let mut fields = json!({ "role_arn": hop.role_arn() });
        for key in ["external_id", "role_session_name"] {
            if let Some(value) = hop.profile.get(key) {
                fields[key] = json!(value);
            }
        }
        out.push(json!({ "AssumeRole": fields }));
    }
    Ok(Value::Array(out))
}

#[test]
fn assume_role_suite() {
    let tests = suite("assume-role-tests.json");
    let tests = tests.as_array().expect("cases");
    assert_eq!(tests.len(), 21, "the vendored suite changed size");
    let mut failures = Vec::new();
    for case in tests {
        let name = case["docs"].as_str().unwrap_or_default();
        let mut set = ProfileSet::default();
        for (profile, properties) in case["input"]["profile"].as_object().expect("profiles") {
            let properties = properties
                .as_object()
                .expect("properties")
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect();
            set.profiles.insert(
                profile.clone(),
                Section {
                    name: profile.clone(),
                    properties,
                },
            );
        }
        let selected = case["input"]["selected_profile"]
            .as_str()
            .expect("selected");
        let output = &case["output"];
        match (chain_json(&set, selected), output.get("Error")) {
            (Ok(chain), None) => {
                if chain != output["ProfileChain"] {
                    failures.push(format!("{name}: {chain} != {}", output["ProfileChain"]));
                }
            }
            (Err(err), Some(expected)) => {
                let expected = expected.as_str().unwrap_or_default();
                if !error_kind_matches(expected, &err) || !err.to_string().contains(expected) {
                    failures.push(format!(
                        "{name}: {err} ({err:?}) does not match {expected:?}"
                    ));
                }
            }
            (Ok(chain), Some(expected)) => {
                failures.push(format!("{name}: expected error {expected}, got {chain}"))
            }
            (Err(err), None) => failures.push(format!("{name}: unexpected error {err}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
