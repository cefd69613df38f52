//! `assume keys add|list|remove` and the vault's keys in use: the real Secret Service (a
//! gnome-keyring of each test's own, so that profile names never meet another test's) and the
//! age-encrypted file store; the keys as a source for roles against moto, `credential-process`
//! under the real aws CLI, what `remove` forgets, and that no secret lands in a plaintext file.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

use super::harness::{
    Store, StoreCx, WAIT, assert_success, assume_bin, check_failure, files_under, moto,
    recorded_sts_calls, stderr, stdout, venv_bin,
};

const PASSPHRASE: &str = "correct horse battery staple";

/// A test's world with alice's keys only in the vault to come: the credentials file empty.
fn vault_cx(store: Store) -> StoreCx {
    let cx = StoreCx::new(store);
    cx.env.write_credentials("");
    cx
}

/// The file store, forced, with its passphrase in the environment.
fn file_vars() -> [(&'static str, &'static str); 2] {
    [
        ("ASSUME_VAULT", "file"),
        ("ASSUME_VAULT_PASSPHRASE", PASSPHRASE),
    ]
}

fn alice_keys() -> (String, String) {
    moto().keys("alice")
}

/// `assume keys add PROFILE --env` with alice's keys (and `vars`).
fn add_alice(cx: &StoreCx, extra: &[&str], vars: &[(&str, &str)]) -> Output {
    let (id, secret) = alice_keys();
    cx.cmd()
        .args(["keys", "add", "alice", "--env"])
        .args(extra)
        .env("AWS_ACCESS_KEY_ID", id)
        .env("AWS_SECRET_ACCESS_KEY", secret)
        .envs(vars.iter().copied())
        .output()
        .unwrap()
}

/// The data directory of the vault: `HOME/.local/share/assume`.
fn data_dir(cx: &StoreCx) -> PathBuf {
    cx.env.home().join(".local/share/assume")
}

fn vault_file(cx: &StoreCx) -> PathBuf {
    data_dir(cx).join("vault.age")
}

/// `keys list --output json`.
fn listed(cx: &StoreCx, vars: &[(&str, &str)]) -> Value {
    let out = cx
        .cmd()
        .args(["keys", "list", "--output", "json"])
        .envs(vars.iter().copied())
        .output()
        .unwrap();
    assert_success("keys list --output json", &out);
    serde_json::from_slice(&out.stdout).expect("keys list prints JSON")
}

/// The bus address `cx`'s commands get.
fn bus(cx: &StoreCx) -> String {
    cx.vars()
        .into_iter()
        .find(|(k, _)| k == "DBUS_SESSION_BUS_ADDRESS")
        .map(|(_, v)| v)
        .unwrap_or_default()
}

/// The Secret Service item `service=assume-keys username=PROFILE`, by the real secret-tool.
fn keyring_item(cx: &StoreCx, profile: &str) -> Option<String> {
    let out = Command::new("secret-tool")
        .args(["lookup", "service", "assume-keys", "username", profile])
        .env("DBUS_SESSION_BUS_ADDRESS", bus(cx))
        .env_remove("GNOME_KEYRING_CONTROL")
        .output()
        .expect("run secret-tool");
    out.status.success().then(|| stdout(&out))
}

fn actions(calls: &[super::harness::StsCall]) -> Vec<String> {
    calls
        .iter()
        .map(|call| call.get("Action").cloned().unwrap_or_default())
        .collect()
}

/// `assume PROFILE` (exports) with `vars`: the role's key id and the STS calls it made.
fn assume(cx: &StoreCx, profile: &str, vars: &[(&str, &str)]) -> (String, Vec<String>) {
    let mut cmd = cx.cmd();
    cmd.envs(vars.iter().copied());
    let (key, calls, _) = cx.key_id_and_calls_with(&mut cmd, &[profile]);
    (key, actions(&calls))
}

/// `assume ARGS` with neither a terminal nor stdin (own session, no controlling terminal).
fn without_terminal(cx: &StoreCx, args: &[&str], vars: &[(&str, &str)]) -> Output {
    cx.command("setsid")
        .arg("--wait")
        .arg(assume_bin())
        .args(args)
        .envs(vars.iter().copied())
        .output()
        .unwrap()
}

fn assert_failure(out: &Output, code: i32, fragment: &str) {
    let problems = check_failure(out, code, fragment);
    assert!(
        problems.is_empty(),
        "{problems:?}\nstdout: {}\nstderr: {}",
        stdout(out),
        stderr(out)
    );
}

/// Every regular file under `dir` that holds `secret`.
fn files_holding(dir: &Path, secret: &str) -> Vec<PathBuf> {
    files_under(dir)
        .into_iter()
        .filter(|path| {
            // Sockets, FIFOs and big files are not where a key would be written.
            std::fs::metadata(path).is_ok_and(|meta| meta.is_file() && meta.len() < 1 << 24)
                && std::fs::read(path)
                    .map(|bytes| bytes.windows(secret.len()).any(|w| w == secret.as_bytes()))
                    .unwrap_or(false)
        })
        .collect()
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

// ---------------------------------------------------------------------------------------------
// The OS keyring
// ---------------------------------------------------------------------------------------------

#[test]
fn add_from_env_goes_to_the_keyring_and_assumes_a_role() {
    let cx = vault_cx(Store::OwnSecretService);
    let (id, secret) = alice_keys();
    let out = add_alice(&cx, &[], &[]);
    assert_success("keys add alice --env", &out);
    assert!(out.stdout.is_empty(), "{}", stdout(&out));
    let said = stderr(&out);
    assert!(said.contains(&format!("stored the keys {id}")), "{said}");
    assert!(said.contains("the keyring"), "{said}");
    assert!(
        said.contains("credential_process = assume credential-process alice"),
        "{said}"
    );
    assert!(!said.contains(&secret), "{said}");
    // In the Secret Service, under its own service name, with the secret.
    let item = keyring_item(&cx, "alice").expect("an assume-keys item for alice");
    assert!(item.contains(&secret) && item.contains(&id), "{item}");

    let list = listed(&cx, &[]);
    assert_eq!(list[0]["profile"], "alice", "{list}");
    assert_eq!(list[0]["access_key_id"], id.as_str(), "{list}");
    assert_eq!(list[0]["store"], "keyring", "{list}");
    assert!(!list.to_string().contains(&secret));

    // A role from them, then the same from the cache.
    let (role_key, calls) = assume(&cx, "plain", &[]);
    assert!(role_key.starts_with("ASIA"), "{role_key}");
    assert_eq!(calls, ["AssumeRole"]);
    let (again, calls) = assume(&cx, "plain", &[]);
    assert_eq!((again, calls), (role_key, Vec::<String>::new()));

    let out = cx.cmd().args(["explain", "plain"]).output().unwrap();
    assert_success("explain plain", &out);
    assert!(
        stdout(&out).contains(&format!("static keys {id} from the keyring")),
        "{}",
        stdout(&out)
    );
}

#[test]
fn keys_typed_on_the_terminal_are_stored_unechoed() {
    let cx = vault_cx(Store::OwnSecretService);
    let (id, secret) = alice_keys();
    let tmux = cx.tmux("assume keys add alice; echo exit-$?");
    tmux.wait_for("Access key id for alice", WAIT);
    tmux.send_line(&id);
    tmux.wait_for("Secret access key for alice", WAIT);
    tmux.send_line(&secret);
    let screen = tmux.wait_for("exit-", WAIT);
    assert!(screen.contains("exit-0"), "{screen}");
    assert!(!screen.contains(&secret), "the secret was echoed: {screen}");
    assert_eq!(listed(&cx, &[])[0]["access_key_id"], id.as_str());
    assert!(keyring_item(&cx, "alice").is_some_and(|item| item.contains(&secret)));
}

#[test]
fn the_aws_cli_gets_the_keys_through_credential_process() {
    let cx = vault_cx(Store::OwnSecretService);
    let m = moto();
    // alice's section gets the line; admin-from-sdk is a role over alice, for the SDK alone.
    let config = std::fs::read_to_string(cx.env.config_path()).unwrap();
    let config = format!(
        "{config}[profile admin-from-sdk]\nrole_arn = {}\nsource_profile = alice\n",
        m.role_arn("Administrators")
    );
    cx.env.write_config(&config);
    let out = add_alice(&cx, &["--add-config"], &[]);
    assert_success("keys add alice --env --add-config", &out);
    let after = std::fs::read_to_string(cx.env.config_path()).unwrap();
    assert_eq!(
        after,
        config.replace(
            "[profile alice]\nregion = eu-west-1\n",
            "[profile alice]\nregion = eu-west-1\ncredential_process = assume credential-process alice\n"
        ),
        "every other byte kept"
    );

    let (id, secret) = alice_keys();
    let out = cx
        .cmd()
        .args(["credential-process", "alice"])
        .output()
        .unwrap();
    assert_success("credential-process alice", &out);
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["Version"], 1);
    assert_eq!(json["AccessKeyId"], id.as_str());
    assert_eq!(json["SecretAccessKey"], secret.as_str());

    let aws = |profile: &str| {
        let out = cx
            .command(venv_bin("aws").to_str().unwrap())
            .env("AWS_PAGER", "")
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .args(["sts", "get-caller-identity", "--profile", profile])
            .args(["--query", "Arn", "--output", "text"])
            .output()
            .unwrap();
        assert_success(&*format!("aws --profile {profile}"), &out);
        stdout(&out).trim().to_string()
    };
    assert_eq!(aws("alice"), m.user_arn("alice"));
    let mut arn = String::new();
    let calls = recorded_sts_calls(&cx.env, || arn = aws("admin-from-sdk"));
    assert!(arn.contains(":assumed-role/Administrators/"), "{arn}");
    assert_eq!(actions(&calls), ["AssumeRole", "GetCallerIdentity"]);
    // And `assume` itself, on the profile that now has a credential_process: the vault's keys,
    // not a call to itself.
    let (role_key, calls) = assume(&cx, "plain", &[]);
    assert!(role_key.starts_with("ASIA"));
    assert_eq!(calls, ["AssumeRole"]);
}

#[test]
fn remove_forgets_the_keys_and_what_was_cached_from_them() {
    let cx = vault_cx(Store::OwnSecretService);
    assert_success("keys add", &add_alice(&cx, &[], &[]));
    // An MFA session of alice's and admin's role credentials, cached.
    cx.ok(&["admin", "--token-code", "123456"]);
    let role_key = cx.cache_key("admin");
    let index = || std::fs::read_to_string(cx.cache_dir().join("index.json")).unwrap();
    let before = index();
    assert!(before.contains(&role_key), "{before}");
    assert!(before.contains("mfa"), "{before}");

    let out = cx.cmd().args(["keys", "remove", "alice"]).output().unwrap();
    assert_success("keys remove alice", &out);
    assert!(out.stdout.is_empty());
    assert!(
        stderr(&out).contains("and 2 cached entries made with them"),
        "{}",
        stderr(&out)
    );
    assert!(keyring_item(&cx, "alice").is_none());
    assert_eq!(listed(&cx, &[]), Value::Array(vec![]));
    let after: Value = serde_json::from_str(&index()).unwrap();
    assert_eq!(after, serde_json::json!({}), "nothing cached is left");
    // Without keys anywhere, admin can no longer be assumed: a config error, nothing called.
    let out = cx.run(&["admin", "--token-code", "123456"]);
    assert_failure(&out, 3, "alice");
}

// ---------------------------------------------------------------------------------------------
// The encrypted file
// ---------------------------------------------------------------------------------------------

#[test]
fn the_file_store_is_private_and_a_cache_hit_never_opens_it() {
    let cx = vault_cx(Store::File);
    let out = add_alice(&cx, &[], &file_vars());
    assert_success("keys add alice --env (file)", &out);
    assert!(
        stderr(&out).contains("the encrypted vault file"),
        "{}",
        stderr(&out)
    );
    assert_eq!(mode(&data_dir(&cx)), 0o700);
    assert_eq!(mode(&vault_file(&cx)), 0o600);
    assert_eq!(mode(&data_dir(&cx).join("keys.json")), 0o600);
    let bytes = std::fs::read(vault_file(&cx)).unwrap();
    assert!(bytes.starts_with(b"age-encryption.org/v1\n-> scrypt "));
    assert_eq!(listed(&cx, &[])[0]["store"], "file");

    let (role_key, calls) = assume(&cx, "plain", &file_vars());
    assert_eq!(calls, ["AssumeRole"]);
    // A hit needs no passphrase: the vault is not opened (a wrong one would fail).
    let wrong = [
        ("ASSUME_VAULT", "file"),
        ("ASSUME_VAULT_PASSPHRASE", "not it"),
    ];
    let (again, calls) = assume(&cx, "plain", &wrong);
    assert_eq!((again, calls), (role_key, Vec::<String>::new()));
}

#[test]
fn a_profile_only_in_the_vault_is_listed_explained_and_usable() {
    let cx = vault_cx(Store::File);
    let (id, secret) = alice_keys();
    let out = cx
        .cmd()
        .args(["keys", "add", "bob", "--env"])
        .env("AWS_ACCESS_KEY_ID", &id)
        .env("AWS_SECRET_ACCESS_KEY", &secret)
        .envs(file_vars())
        .output()
        .unwrap();
    assert_success("keys add bob --env", &out);
    // No [profile bob] anywhere, and yet a profile.
    let out = cx
        .cmd()
        .args(["list", "--output", "json"])
        .output()
        .unwrap();
    assert_success("list", &out);
    let rows: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        rows.as_array()
            .unwrap()
            .iter()
            .any(|row| row["profile"] == "bob"),
        "{rows}"
    );
    let out = cx
        .cmd()
        .args(["explain", "bob", "--output", "json"])
        .output()
        .unwrap();
    assert_success("explain bob", &out);
    let plan: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(plan["source"]["kind"], "vault", "{plan}");
    assert_eq!(plan["source"]["store"], "file", "{plan}");
    assert_eq!(plan["source"]["access_key_id"], id.as_str(), "{plan}");
    let out = cx
        .cmd()
        .args(["credential-process", "bob"])
        .envs(file_vars())
        .output()
        .unwrap();
    assert_success("credential-process bob", &out);
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["AccessKeyId"], id.as_str());
}

#[test]
fn the_vault_wins_over_keys_in_the_files_and_says_so() {
    // StoreCx's credentials file holds alice's keys; the vault gets others (moto checks no
    // signature), which must be the ones STS sees.
    let cx = StoreCx::new(Store::File);
    let (file_id, _) = alice_keys();
    let vault_id = "AKIAVAULTWINS0000001";
    let out = cx
        .cmd()
        .args(["keys", "add", "alice", "--env"])
        .env("AWS_ACCESS_KEY_ID", vault_id)
        .env(
            "AWS_SECRET_ACCESS_KEY",
            "vaultWinsSecret0000000000000000000000000",
        )
        .envs(file_vars())
        .output()
        .unwrap();
    assert_success("keys add alice --env", &out);
    let out = cx.cmd().args(["explain", "plain"]).output().unwrap();
    assert_success("explain plain", &out);
    let text = stdout(&out);
    assert!(
        text.contains(&format!(
            "static keys {vault_id} from the encrypted vault file"
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!("the keys {file_id} in the files")),
        "{text}"
    );
    let requests = super::harness::recorded_requests(&cx.env, || {
        let out = cx
            .cmd()
            .args(["-v", "plain"])
            .envs(file_vars())
            .output()
            .unwrap();
        assert_success("assume -v plain", &out);
        assert!(
            stderr(&out).contains(&format!("the keys {file_id} in the files")),
            "{}",
            stderr(&out)
        );
    });
    let signed_with: Vec<Option<String>> = requests
        .iter()
        .map(super::harness::RecordedRequest::access_key_id)
        .collect();
    assert_eq!(signed_with, [Some(vault_id.to_string())]);
}

#[test]
fn the_file_store_asks_its_passphrase_on_the_terminal() {
    let cx = vault_cx(Store::File);
    let (id, secret) = alice_keys();
    let tmux = cx.tmux("ASSUME_VAULT=file assume keys add alice; echo exit-$?");
    tmux.wait_for("Access key id for alice", WAIT);
    tmux.send_line(&id);
    tmux.wait_for("Secret access key for alice", WAIT);
    tmux.send_line(&secret);
    tmux.wait_for("New passphrase for", WAIT);
    tmux.send_line(PASSPHRASE);
    tmux.wait_for("Repeat it", WAIT);
    tmux.send_line(PASSPHRASE);
    let screen = tmux.wait_for("exit-", WAIT);
    assert!(screen.contains("exit-0"), "{screen}");
    assert!(
        !screen.contains(&secret) && !screen.contains(PASSPHRASE),
        "{screen}"
    );

    // Using them asks for it once.
    let out = cx.env.root().join("exports");
    let tmux = cx.tmux(&format!(
        "ASSUME_VAULT=file assume plain >{}; echo exit-$?",
        out.display()
    ));
    tmux.wait_for("Passphrase for", WAIT);
    tmux.send_line(PASSPHRASE);
    let screen = tmux.wait_for("exit-", WAIT);
    assert!(screen.contains("exit-0"), "{screen}");
    let exports = std::fs::read_to_string(&out).unwrap();
    assert!(exports.contains("AWS_SESSION_TOKEN"), "{exports}");
}

#[test]
fn no_secret_is_in_a_plaintext_file_after_add() {
    for store in [Store::OwnSecretService, Store::File] {
        let cx = vault_cx(store);
        // Keys of this test's alone (moto checks no signature), so that a hit anywhere in
        // the temp dirs can only be a copy of these.
        let unique = super::harness::unique_suffix().replace('-', "x");
        let id = format!("AKIA{:0>16}", unique.to_uppercase());
        let secret = format!("{:+>40}", format!("vaultSecret{unique}"));
        let vars: Vec<(&str, &str)> = match store {
            Store::File => file_vars().to_vec(),
            _ => Vec::new(),
        };
        let out = cx
            .cmd()
            .args(["keys", "add", "alice", "--env", "--add-config"])
            .env("AWS_ACCESS_KEY_ID", &id)
            .env("AWS_SECRET_ACCESS_KEY", &secret)
            .envs(vars.iter().copied())
            .output()
            .unwrap();
        assert_success("keys add --env --add-config", &out);
        let (_, calls) = assume(&cx, "plain", &vars);
        assert_eq!(calls, ["AssumeRole"]);
        for dir in [
            cx.env.root().to_path_buf(),
            cx.env.home(),
            std::env::temp_dir(),
        ] {
            let holding = files_holding(&dir, &secret);
            assert!(
                holding.is_empty(),
                "{store:?}: the secret is in {holding:?}"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Bad input: one line, the right status, empty stdout, nothing lost
// ---------------------------------------------------------------------------------------------

#[test]
fn remove_of_a_profile_without_keys_is_refused() {
    let cx = vault_cx(Store::File);
    let out = cx.run(&["keys", "remove", "nobody"]);
    assert_failure(&out, 2, "'nobody' has no keys in the vault");
}

#[test]
fn env_with_one_key_of_two_stores_nothing() {
    let cx = vault_cx(Store::File);
    let (id, _) = alice_keys();
    let out = cx
        .cmd()
        .args(["keys", "add", "alice", "--env"])
        .env("AWS_ACCESS_KEY_ID", id)
        .envs(file_vars())
        .output()
        .unwrap();
    assert_failure(&out, 2, "AWS_SECRET_ACCESS_KEY is not");
    assert!(!data_dir(&cx).exists(), "nothing written");
    let out = cx
        .cmd()
        .args(["keys", "add", "alice", "--env"])
        .env("AWS_ACCESS_KEY_ID", "not a key")
        .env("AWS_SECRET_ACCESS_KEY", "x")
        .envs(file_vars())
        .output()
        .unwrap();
    assert_failure(&out, 2, "is not an access key id");
}

#[test]
fn a_locked_keyring_forced_is_a_cache_error() {
    let cx = vault_cx(Store::LockedSecretService);
    let out = add_alice(&cx, &[], &[("ASSUME_VAULT", "keyring")]);
    // The bus and gnome-keyring that `dbus-run-session` starts say things of their own.
    let said: Vec<String> = stderr(&out)
        .lines()
        .filter(|line| line.starts_with("assume: "))
        .map(str::to_string)
        .collect();
    assert_eq!(out.status.code(), Some(6), "{said:?}");
    assert!(out.stdout.is_empty());
    assert_eq!(said.len(), 1, "{said:?}");
    assert!(
        said[0].contains("the OS keyring cannot hold the keys"),
        "{said:?}"
    );
    assert!(said[0].contains("ASSUME_VAULT=file"), "{said:?}");
    assert_eq!(listed(&cx, &[]), Value::Array(vec![]));
}

#[test]
fn a_corrupt_vault_file_is_reported_and_kept() {
    let cx = vault_cx(Store::File);
    assert_success("keys add", &add_alice(&cx, &[], &file_vars()));
    let file = vault_file(&cx);
    let mut bytes = std::fs::read(&file).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x55; // the payload's tag
    std::fs::write(&file, &bytes).unwrap();

    let out = cx.cmd().arg("plain").envs(file_vars()).output().unwrap();
    assert_failure(&out, 6, "is corrupt");
    let out = add_alice(&cx, &[], &file_vars());
    assert_failure(&out, 6, "is corrupt");
    assert_eq!(
        std::fs::read(&file).unwrap(),
        bytes,
        "the file is left as it was"
    );
    std::fs::write(&file, "not age at all\n").unwrap();
    let out = cx.cmd().arg("plain").envs(file_vars()).output().unwrap();
    assert_failure(&out, 6, "is corrupt");
    assert_eq!(listed(&cx, &[])[0]["profile"], "alice", "the index kept");
}

#[test]
fn a_wrong_passphrase_changes_nothing() {
    let cx = vault_cx(Store::File);
    assert_success("keys add", &add_alice(&cx, &[], &file_vars()));
    let file = vault_file(&cx);
    let before = std::fs::read(&file).unwrap();
    let index = std::fs::read(data_dir(&cx).join("keys.json")).unwrap();
    let wrong = [
        ("ASSUME_VAULT", "file"),
        ("ASSUME_VAULT_PASSPHRASE", "nope"),
    ];
    for args in [&["plain"][..], &["keys", "remove", "alice"]] {
        let out = cx.cmd().args(args).envs(wrong).output().unwrap();
        assert_failure(&out, 4, "wrong passphrase");
    }
    assert_failure(&add_alice(&cx, &[], &wrong), 4, "wrong passphrase");
    assert_eq!(std::fs::read(&file).unwrap(), before);
    assert_eq!(
        std::fs::read(data_dir(&cx).join("keys.json")).unwrap(),
        index
    );
    // The right one still works.
    let (_, calls) = assume(&cx, "plain", &file_vars());
    assert_eq!(calls, ["AssumeRole"]);
}

#[test]
fn no_passphrase_and_no_terminal_is_an_auth_error() {
    let cx = vault_cx(Store::File);
    assert_success("keys add", &add_alice(&cx, &[], &file_vars()));
    let before = std::fs::read(vault_file(&cx)).unwrap();
    let file_only = [("ASSUME_VAULT", "file")];
    let out = without_terminal(&cx, &["plain"], &file_only);
    assert_failure(&out, 4, "ASSUME_VAULT_PASSPHRASE");
    let (id, secret) = alice_keys();
    let out = cx
        .command("setsid")
        .arg("--wait")
        .arg(assume_bin())
        .args(["keys", "add", "bob", "--env"])
        .env("AWS_ACCESS_KEY_ID", id)
        .env("AWS_SECRET_ACCESS_KEY", secret)
        .envs(file_only)
        .output()
        .unwrap();
    assert_failure(&out, 4, "no terminal");
    assert_eq!(std::fs::read(vault_file(&cx)).unwrap(), before);
    assert_eq!(listed(&cx, &[]).as_array().map(Vec::len), Some(1));
}
