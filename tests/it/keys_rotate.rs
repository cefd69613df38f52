//! `assume keys rotate`: against moto's IAM and STS with auth mode on — the old key is
//! rejected by STS afterwards, the new one signs the next rotation — the vault holding the
//! key, and the rotations IAM refuses (AccessDenied, LimitExceeded) or that have no key to
//! rotate: one line, the right status, nothing lost.

use std::process::Output;
use std::sync::Arc;

use serde_json::Value;

use crate::harness::{
    FakeServer, HttpRequest, Mode, Moto, RUN_TIMEOUT, TestEnv, check_failure, moto, moto_with_auth,
    private_keyring, recorded_requests, stderr, sts_error_body, text, unique_suffix, venv_bin,
};

/// Keys for the aws CLI.
struct Creds {
    id: String,
    secret: String,
    token: Option<String>,
}

/// The aws CLI of the venv as `creds`, in `env` (its endpoint: the recording proxy).
fn aws_as(env: &TestEnv, creds: &Creds, args: &[&str]) -> Output {
    let mut cmd = env.command(venv_bin("aws"));
    cmd.env("AWS_PAGER", "")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", &creds.id)
        .env("AWS_SECRET_ACCESS_KEY", &creds.secret)
        .args(args)
        .args(["--output", "json"]);
    if let Some(token) = &creds.token {
        cmd.env("AWS_SESSION_TOKEN", token);
    }
    cmd.output().unwrap()
}

/// [`aws_as`], which must succeed: its JSON answer.
fn aws_json(env: &TestEnv, creds: &Creds, args: &[&str]) -> Value {
    let out = aws_as(env, creds, args);
    assert!(
        out.status.success(),
        "aws {args:?} failed: {}",
        stderr(&out)
    );
    serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
}

/// The Administrators role, assumed with alice's key: who sets the world up in auth mode.
fn admin(env: &TestEnv, moto: &Moto) -> Creds {
    let (id, secret) = moto.keys("alice");
    let alice = Creds {
        id,
        secret,
        token: None,
    };
    let role = moto.role_arn("Administrators");
    let answer = aws_json(
        env,
        &alice,
        &[
            "sts",
            "assume-role",
            "--role-arn",
            &role,
            "--role-session-name",
            "setup",
        ],
    );
    let c = &answer["Credentials"];
    Creds {
        id: c["AccessKeyId"].as_str().unwrap().into(),
        secret: c["SecretAccessKey"].as_str().unwrap().into(),
        token: c["SessionToken"].as_str().map(str::to_string),
    }
}

/// A new IAM user (its own name, so that tests never share a key) whose policy allows
/// `actions`, with one access key: its name and that key.
fn new_user(env: &TestEnv, admin: &Creds, actions: &[&str]) -> (String, Creds) {
    let name = format!("rotator-{}", unique_suffix());
    aws_json(env, admin, &["iam", "create-user", "--user-name", &name]);
    let policy = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}],
    })
    .to_string();
    aws_json(
        env,
        admin,
        &[
            "iam",
            "put-user-policy",
            "--user-name",
            &name,
            "--policy-name",
            "own-keys",
            "--policy-document",
            &policy,
        ],
    );
    let key = aws_json(
        env,
        admin,
        &["iam", "create-access-key", "--user-name", &name],
    );
    let key = &key["AccessKey"];
    let creds = Creds {
        id: key["AccessKeyId"].as_str().unwrap().into(),
        secret: key["SecretAccessKey"].as_str().unwrap().into(),
        token: None,
    };
    (name, creds)
}

/// What a user may do with its own keys for a rotation.
const ROTATE: &[&str] = &[
    "sts:GetCallerIdentity",
    "iam:CreateAccessKey",
    "iam:ListAccessKeys",
    "iam:DeleteAccessKey",
];

/// The ids of `user`'s access keys, as IAM lists them.
fn iam_keys(env: &TestEnv, admin: &Creds, user: &str) -> Vec<String> {
    let listed = aws_json(
        env,
        admin,
        &["iam", "list-access-keys", "--user-name", user],
    );
    let mut ids: Vec<String> = listed["AccessKeyMetadata"]
        .as_array()
        .unwrap()
        .iter()
        .map(|key| key["AccessKeyId"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids
}

/// `assume ARGS` with the encrypted-file vault (its passphrase in the environment).
fn assume(env: &TestEnv, args: &[&str], vars: &[(&str, &str)]) -> Output {
    env.cmd()
        .env("ASSUME_VAULT", "file")
        .env("ASSUME_VAULT_PASSPHRASE", "correct horse")
        .envs(vars.iter().copied())
        .args(args)
        .timeout(RUN_TIMEOUT)
        .output()
        .unwrap()
}

/// `assume keys add PROFILE --env` with `creds`: the profile's keys are in the vault.
fn add_to_vault(env: &TestEnv, profile: &str, creds: &Creds) {
    let out = assume(
        env,
        &["keys", "add", profile, "--env"],
        &[
            ("AWS_ACCESS_KEY_ID", &creds.id),
            ("AWS_SECRET_ACCESS_KEY", &creds.secret),
        ],
    );
    assert!(out.status.success(), "keys add: {}", stderr(&out));
}

/// The access key id the vault holds for `profile` (`keys list --output json`), if any.
fn vault_key(env: &TestEnv, profile: &str) -> Option<String> {
    let out = assume(env, &["keys", "list", "--output", "json"], &[]);
    assert!(out.status.success(), "keys list: {}", stderr(&out));
    let listed: Value = serde_json::from_slice(&out.stdout).unwrap();
    listed_entry(&listed, profile).map(|entry| entry["access_key_id"].as_str().unwrap().into())
}

/// `profile`'s entry in `keys list --output json`.
fn listed_entry<'a>(listed: &'a Value, profile: &str) -> Option<&'a Value> {
    match listed {
        Value::Array(entries) => entries
            .iter()
            .find(|entry| entry["profile"].as_str() == Some(profile)),
        Value::Object(map) => map.get(profile),
        _ => None,
    }
}

/// Whether STS accepts `creds`; else its error code, as the aws CLI prints it.
fn sts_accepts(env: &TestEnv, creds: &Creds) -> Result<(), String> {
    let out = aws_as(env, creds, &["sts", "get-caller-identity"]);
    if out.status.success() {
        Ok(())
    } else {
        Err(stderr(&out))
    }
}

/// A world in auth mode: a user with `actions` whose key is the vault's for profile `rot`.
fn rotator(actions: &[&str]) -> (TestEnv, Creds, String, Creds) {
    let moto = moto_with_auth();
    let env = TestEnv::new(moto);
    env.write_config("[profile rot]\nregion = us-east-1\n");
    env.write_credentials("");
    let admin = admin(&env, moto);
    let (user, key) = new_user(&env, &admin, actions);
    add_to_vault(&env, "rot", &key);
    (env, admin, user, key)
}

#[test]
fn rotate_replaces_the_key_in_iam_and_the_vault_and_sts_rejects_the_old_one() {
    let (env, admin, user, old) = rotator(ROTATE);
    let out = assume(&env, &["keys", "rotate", "rot"], &[]);
    assert!(out.status.success(), "keys rotate: {}", stderr(&out));
    assert!(out.stdout.is_empty(), "stdout: {}", text(&out.stdout));
    let err = stderr(&out);
    assert!(
        !err.contains(&old.secret),
        "the old secret on stderr: {err}"
    );

    let new_id = vault_key(&env, "rot").expect("the vault still holds keys for rot");
    assert_ne!(new_id, old.id, "the vault still holds the old key");
    assert!(err.contains(&new_id) && err.contains(&old.id), "{err}");
    assert_eq!(iam_keys(&env, &admin, &user), vec![new_id.clone()]);
    let rejected = sts_accepts(&env, &old).expect_err("STS still accepts the old key");
    assert!(rejected.contains("InvalidClientTokenId"), "{rejected}");
    // The key the vault now hands out is the new one, and STS takes it.
    let out = assume(&env, &["credential-process", "rot"], &[]);
    assert!(out.status.success(), "credential-process: {}", stderr(&out));
    let handed: Value = serde_json::from_slice(&out.stdout).unwrap();
    let new = Creds {
        id: handed["AccessKeyId"].as_str().unwrap().into(),
        secret: handed["SecretAccessKey"].as_str().unwrap().into(),
        token: None,
    };
    assert_eq!(new.id, new_id);
    sts_accepts(&env, &new).unwrap();

    let listed: Value =
        serde_json::from_slice(&assume(&env, &["keys", "list", "--output", "json"], &[]).stdout)
            .unwrap();
    let entry = listed_entry(&listed, "rot").unwrap();
    assert!(
        entry["rotated_at"].as_str().is_some(),
        "rotated_at not set: {entry}"
    );

    // The new key works: the next rotation is signed with it (STS and IAM, auth mode on).
    let out = assume(&env, &["keys", "rotate", "rot"], &[]);
    assert!(out.status.success(), "second rotate: {}", stderr(&out));
    let newest = vault_key(&env, "rot").unwrap();
    assert_ne!(newest, new_id);
    assert_eq!(iam_keys(&env, &admin, &user), vec![newest]);
}

#[test]
fn rotate_at_the_two_key_limit_names_both_keys_and_changes_nothing() {
    let (env, admin, user, old) = rotator(ROTATE);
    let second = aws_json(
        &env,
        &admin,
        &["iam", "create-access-key", "--user-name", &user],
    );
    let second = second["AccessKey"]["AccessKeyId"]
        .as_str()
        .unwrap()
        .to_string();
    let before = iam_keys(&env, &admin, &user);

    let out = assume(&env, &["keys", "rotate", "rot"], &[]);
    let problems = check_failure(&out, 5, "two access keys");
    assert!(problems.is_empty(), "{problems:?}: {}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains(&old.id) && err.contains(&second), "{err}");
    assert!(
        err.contains(&format!(
            "aws iam delete-access-key --access-key-id {second} --user-name {user}"
        )),
        "{err}"
    );
    assert_eq!(vault_key(&env, "rot"), Some(old.id.clone()));
    assert_eq!(iam_keys(&env, &admin, &user), before);
    sts_accepts(&env, &old).unwrap();
}

#[test]
fn rotate_that_iam_denies_is_an_auth_error_and_keeps_the_key() {
    let (env, admin, user, old) = rotator(&["sts:GetCallerIdentity"]);
    let out = assume(&env, &["keys", "rotate", "rot"], &[]);
    let problems = check_failure(&out, 4, "AccessDenied");
    assert!(problems.is_empty(), "{problems:?}: {}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("iam:CreateAccessKey") && err.contains(&user),
        "{err}"
    );
    assert_eq!(vault_key(&env, "rot"), Some(old.id.clone()));
    assert_eq!(iam_keys(&env, &admin, &user), vec![old.id.clone()]);
    sts_accepts(&env, &old).unwrap();
}

#[test]
fn rotate_of_a_profile_without_vault_keys_is_one_line() {
    let env = TestEnv::new(moto());
    env.write_config("[profile plain]\nregion = us-east-1\n");
    env.alice_credentials();
    for profile in ["plain", "alice", "nosuch"] {
        let requests = recorded_requests(&env, || {
            let out = assume(&env, &["keys", "rotate", profile], &[]);
            let problems = check_failure(&out, 2, &format!("assume keys add {profile}"));
            assert!(
                problems.is_empty(),
                "{profile}: {problems:?}: {}",
                stderr(&out)
            );
        });
        assert!(
            requests.is_empty(),
            "{profile}: AWS was called: {requests:?}"
        );
    }
}

#[test]
fn rotate_with_mfa_makes_the_iam_calls_with_an_mfa_session() {
    let moto = moto();
    let env = TestEnv::new(moto);
    let serial = moto.mfa_serial("alice");
    env.write_config(&format!(
        "[profile rot]\nregion = us-east-1\n\n[profile admin]\nrole_arn = {}\nsource_profile = rot\nmfa_serial = {serial}\n",
        moto.role_arn("Administrators")
    ));
    env.write_credentials("");
    // Without auth, any key will do to set the world up.
    let setup = Creds {
        id: "AKIASETUP".into(),
        secret: "setup".into(),
        token: None,
    };
    let (user, key) = new_user(&env, &setup, ROTATE);
    add_to_vault(&env, "rot", &key);

    let requests = recorded_requests(&env, || {
        let out = assume(
            &env,
            &["keys", "rotate", "rot", "--token-code", "123456"],
            &[],
        );
        assert!(out.status.success(), "keys rotate: {}", stderr(&out));
    });
    let sessions: Vec<_> = requests
        .iter()
        .filter(|r| r.params().get("Action").map(String::as_str) == Some("GetSessionToken"))
        .collect();
    assert_eq!(sessions.len(), 1, "{requests:?}");
    let session = sessions[0].params();
    assert_eq!(session["SerialNumber"], serial);
    assert_eq!(session["TokenCode"], "123456");
    let signer = |action: &str| {
        requests
            .iter()
            .find(|r| r.params().get("Action").map(String::as_str) == Some(action))
            .and_then(|r| r.header("authorization"))
            .map(|auth| auth.contains(&format!("Credential={}/", key.id)))
    };
    // The IAM calls are signed with the session, not with the long-term key.
    assert_eq!(signer("CreateAccessKey"), Some(false), "{requests:?}");
    assert_eq!(signer("DeleteAccessKey"), Some(false), "{requests:?}");
    assert_ne!(vault_key(&env, "rot"), Some(key.id.clone()));
    assert_eq!(iam_keys(&env, &setup, &user).len(), 1);
}

#[test]
fn rotate_whose_old_key_cannot_be_deleted_keeps_the_new_key_and_says_how_to_delete_the_old() {
    let (env, admin, user, old) = rotator(&[
        "sts:GetCallerIdentity",
        "iam:CreateAccessKey",
        "iam:ListAccessKeys",
    ]);
    let out = assume(&env, &["keys", "rotate", "rot"], &[]);
    let command = format!(
        "aws iam delete-access-key --access-key-id {} --user-name {user}",
        old.id
    );
    let problems = check_failure(&out, 4, &command);
    assert!(problems.is_empty(), "{problems:?}: {}", stderr(&out));
    // The switch was made: the vault holds the new key, which IAM has beside the old one.
    let new_id = vault_key(&env, "rot").unwrap();
    assert_ne!(new_id, old.id);
    assert!(stderr(&out).contains(&new_id), "{}", stderr(&out));
    let mut both = vec![new_id, old.id.clone()];
    both.sort();
    assert_eq!(iam_keys(&env, &admin, &user), both);
    // What it says to run does it.
    let args: Vec<&str> = command.split(' ').skip(1).collect();
    aws_json(&env, &admin, &args);
    sts_accepts(&env, &old).expect_err("STS still accepts the deleted key");
}

#[test]
fn rotate_reuses_the_mfa_session_that_assume_cached_for_the_key() {
    let moto = moto();
    let env = TestEnv::new(moto);
    let serial = moto.mfa_serial("alice");
    env.write_config(&format!(
        "[profile rot]\nregion = us-east-1\n\n[profile admin]\nrole_arn = {}\nsource_profile = rot\nmfa_serial = {serial}\nregion = eu-west-1\n",
        moto.role_arn("Administrators")
    ));
    env.write_credentials("");
    let setup = Creds {
        id: "AKIASETUP".into(),
        secret: "setup".into(),
        token: None,
    };
    let (_, key) = new_user(&env, &setup, ROTATE);
    add_to_vault(&env, "rot", &key);
    // `assume admin` asks for the code once and caches the MFA session of rot's key (in the
    // role's region, which is not rot's).
    let out = assume(
        &env,
        &["admin", "--token-code", "123456"],
        &[("SHELL", "/bin/bash")],
    );
    assert!(out.status.success(), "assume admin: {}", stderr(&out));

    // No code given, none asked (no terminal): the cached session signs the IAM calls.
    let requests = recorded_requests(&env, || {
        let out = assume(&env, &["keys", "rotate", "rot"], &[]);
        assert!(out.status.success(), "keys rotate: {}", stderr(&out));
    });
    let actions: Vec<String> = requests
        .iter()
        .filter_map(|r| r.params().get("Action").cloned())
        .collect();
    assert!(
        !actions.iter().any(|a| a == "GetSessionToken"),
        "{actions:?}"
    );
    let create = requests
        .iter()
        .find(|r| r.params().get("Action").map(String::as_str) == Some("CreateAccessKey"))
        .expect("no CreateAccessKey");
    let auth = create.header("authorization").unwrap_or_default();
    assert!(
        !auth.contains(&key.id),
        "signed with the long-term key: {auth}"
    );
    assert!(
        create.header("x-amz-security-token").is_some(),
        "not signed with a session: {create:?}"
    );
}

#[test]
fn rotate_in_the_keyring_store() {
    if !private_keyring() {
        eprintln!("skipped: outside scripts/test's private keyring session");
        return;
    }
    let moto = moto_with_auth();
    let env = TestEnv::new(moto);
    // The keyring is shared by the tests of this run: a profile name of its own.
    let profile = format!("rot-{}", unique_suffix());
    env.write_config(&format!("[profile {profile}]\nregion = us-east-1\n"));
    env.write_credentials("");
    let admin = admin(&env, moto);
    let (user, old) = new_user(&env, &admin, ROTATE);
    let keyring = ("ASSUME_VAULT", "keyring");
    let out = assume(
        &env,
        &["keys", "add", &profile, "--env"],
        &[
            keyring,
            ("AWS_ACCESS_KEY_ID", &old.id),
            ("AWS_SECRET_ACCESS_KEY", &old.secret),
        ],
    );
    assert!(out.status.success(), "keys add: {}", stderr(&out));

    let out = assume(&env, &["keys", "rotate", &profile], &[keyring]);
    assert!(out.status.success(), "keys rotate: {}", stderr(&out));
    assert!(stderr(&out).contains("the keyring"), "{}", stderr(&out));
    let listed = assume(&env, &["keys", "list", "--output", "json"], &[keyring]);
    let listed: Value = serde_json::from_slice(&listed.stdout).unwrap();
    let entry = listed_entry(&listed, &profile).unwrap();
    assert_eq!(entry["store"], "keyring");
    let new_id = entry["access_key_id"].as_str().unwrap().to_string();
    assert_ne!(new_id, old.id);
    assert_eq!(iam_keys(&env, &admin, &user), vec![new_id]);
    sts_accepts(&env, &old).expect_err("STS still accepts the old key");
}

#[test]
fn rotate_whose_new_key_sts_never_accepts_deletes_it_and_keeps_the_old_one() {
    let moto = moto();
    let env = TestEnv::new(moto);
    env.write_config("[profile rot]\nregion = us-east-1\n");
    env.write_credentials("");
    let setup = Creds {
        id: "AKIASETUP".into(),
        secret: "setup".into(),
        token: None,
    };
    let (user, old) = new_user(&env, &setup, ROTATE);
    add_to_vault(&env, "rot", &old);
    // An STS that knows the old key only (IAM, through AWS_ENDPOINT_URL, is moto's).
    let signed_by_old = format!("Credential={}/", old.id);
    let arn = format!("arn:aws:iam::123456789012:user/{user}");
    let sts = FakeServer::start(Mode::With(Arc::new(move |request: &HttpRequest| {
        if request.head.contains(&signed_by_old) {
            (
                200,
                "text/xml",
                format!(
                    "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><GetCallerIdentityResult><Arn>{arn}</Arn><UserId>AIDAEXAMPLE</UserId><Account>123456789012</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>x</RequestId></ResponseMetadata></GetCallerIdentityResponse>"
                ),
            )
        } else {
            (
                403,
                "text/xml",
                sts_error_body(
                    "InvalidClientTokenId",
                    "The security token included in the request is invalid.",
                ),
            )
        }
    })));
    let out = assume(
        &env,
        &["keys", "rotate", "rot"],
        &[("AWS_ENDPOINT_URL_STS", &sts.endpoint())],
    );
    let problems = check_failure(&out, 4, "was not accepted by STS");
    assert!(problems.is_empty(), "{problems:?}: {}", stderr(&out));
    assert!(stderr(&out).contains(&old.id), "{}", stderr(&out));
    assert_eq!(vault_key(&env, "rot"), Some(old.id.clone()));
    assert_eq!(iam_keys(&env, &setup, &user), vec![old.id.clone()]);
}

#[test]
fn rotate_of_temporary_keys_or_with_a_bad_code_is_one_line_and_calls_nothing() {
    let env = TestEnv::new(moto());
    env.write_config("[profile temp]\nregion = us-east-1\n");
    env.write_credentials("");
    let out = assume(
        &env,
        &["keys", "add", "temp", "--env"],
        &[
            ("AWS_ACCESS_KEY_ID", "ASIATEMPORARYKEY0001"),
            (
                "AWS_SECRET_ACCESS_KEY",
                "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            ),
            ("AWS_SESSION_TOKEN", "FwoGZXIvYXdzEXAMPLETOKEN"),
        ],
    );
    assert!(out.status.success(), "keys add: {}", stderr(&out));
    for (args, code, fragment) in [
        (&["keys", "rotate", "temp"][..], 3, "temporary"),
        (
            &["keys", "rotate", "temp", "--token-code", "12ab"][..],
            2,
            "token",
        ),
    ] {
        let requests = recorded_requests(&env, || {
            let out = assume(&env, args, &[]);
            let problems = check_failure(&out, code, fragment);
            assert!(
                problems.is_empty(),
                "{args:?}: {problems:?}: {}",
                stderr(&out)
            );
        });
        assert!(
            requests.is_empty(),
            "{args:?}: AWS was called: {requests:?}"
        );
        assert_eq!(
            vault_key(&env, "temp").as_deref(),
            Some("ASIATEMPORARYKEY0001")
        );
    }
}
