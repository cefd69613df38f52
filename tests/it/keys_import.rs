//! `assume keys import`: static keys moved out of the credentials and config files into the
//! vault — the encrypted file store and the real Secret Service — with every other byte and
//! the files' modes kept, no copy of the secret left in any plaintext file, and bad input
//! refused with nothing changed.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Output;
use std::time::Duration;

use crate::harness::{
    TestEnv, Tmux, WAIT, assert_success, check_credential_process_json, check_failure, files_under,
    moto, poll_until, private_keyring, recorded_requests, sh_quote, stderr, unique_suffix,
};

const PASSPHRASE: &str = "correct horse battery staple";

/// Keys no other test has (moto without auth mode accepts any): so a grep for the secret
/// finds only what this test wrote.
fn unique_keys() -> (String, String) {
    let suffix = unique_suffix().replace('-', "X");
    let id = format!("AKIAIMP{suffix:0>13}");
    let secret = format!("imp0rt/S3cret+{suffix:Q<26}");
    (id, secret)
}

fn file_vault_env() -> TestEnv {
    TestEnv::new(moto())
}

/// The vault store forced, its passphrase from the environment, and the temp dir (`TMPDIR`)
/// inside the test's root, so that every file the product writes is under it.
fn vault_vars(env: &TestEnv, store: &str) -> Vec<(String, String)> {
    let tmp = env.root().join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    vec![
        ("ASSUME_VAULT".into(), store.into()),
        ("ASSUME_VAULT_PASSPHRASE".into(), PASSPHRASE.into()),
        ("TMPDIR".into(), tmp.display().to_string()),
    ]
}

fn import(env: &TestEnv, store: &str, args: &[&str]) -> Output {
    env.cmd()
        .arg("keys")
        .arg("import")
        .args(args)
        .envs(vault_vars(env, store))
        .output()
        .unwrap()
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

/// The files under the test's root (HOME, the cache, the vault's data dir, TMPDIR) that hold
/// `secret` in plain text.
fn files_holding(env: &TestEnv, secret: &str) -> Vec<String> {
    files_under(env.root())
        .into_iter()
        .filter(|path| {
            std::fs::read(path).is_ok_and(|bytes| {
                bytes
                    .windows(secret.len())
                    .any(|window| window == secret.as_bytes())
            })
        })
        .map(|path| path.display().to_string())
        .collect()
}

/// Types `keys` (and Enter) at a prompt until `next` shows, and returns the screen then. The prompts turn
/// the terminal's echo off (or raw mode on) only after they are drawn, and what is typed in
/// between can be flushed; typing again is harmless, as every answer here is the same.
fn answer(tmux: &Tmux, keys: &str, enter: bool, next: &str) -> String {
    poll_until(WAIT, || {
        if enter {
            tmux.send_line(keys);
        } else {
            tmux.send_text(keys);
        }
        poll_until(Duration::from_secs(2), || {
            let screen = tmux.capture();
            screen.contains(next).then_some(screen)
        })
    })
    .unwrap_or_else(|| panic!("{next:?} did not appear; the terminal:\n{}", tmux.capture()))
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap()
}

/// The credentials file of the byte-keeping tests: alice's keys between comments, blank
/// lines and another profile, with CRLF endings in one part and no final newline.
fn credentials_with(id: &str, secret: &str) -> String {
    format!(
        "# my keys\r\n[other]\r\naws_access_key_id = AKIAOTHER0000000000\r\naws_secret_access_key = other/secret/stays/here/000000000000\r\n\r\n\
         ; alice's, from 2019\n[alice]\nregion=eu-west-1\nAWS_ACCESS_KEY_ID   =  {id}\n\
         ;  kept comment\naws_secret_access_key={secret}\n[bob]\noutput = json"
    )
}

#[test]
fn import_into_the_file_vault_keeps_every_other_byte_and_the_mode() {
    let env = file_vault_env();
    let (id, secret) = unique_keys();
    let config = "[profile alice]\nregion = eu-west-1\n\n# admin\n[profile admin]\nrole_arn = arn:aws:iam::123456789012:role/Administrators\nsource_profile = alice\n";
    env.write_config(config);
    env.write_credentials(&credentials_with(&id, &secret));
    chmod(&env.credentials_path(), 0o640);
    chmod(&env.config_path(), 0o604);
    // The grep finds the secret where it is.
    assert_eq!(
        files_holding(&env, &secret),
        [env.credentials_path().display().to_string()]
    );

    let out = import(&env, "file", &["alice"]);
    assert_success("assume keys import alice", &out);
    assert!(out.stdout.is_empty(), "{out:?}");
    let said = stderr(&out);
    assert!(
        said.contains(&format!(
            "moved the keys {id} of profile 'alice' into the encrypted vault file"
        )),
        "{said}"
    );
    assert!(
        said.contains("credential_process = assume credential-process alice"),
        "{said}"
    );
    assert!(!said.contains(&secret), "{said}");

    assert_eq!(
        read(&env.credentials_path()),
        "# my keys\r\n[other]\r\naws_access_key_id = AKIAOTHER0000000000\r\naws_secret_access_key = other/secret/stays/here/000000000000\r\n\r\n\
         ; alice's, from 2019\n[alice]\nregion=eu-west-1\n;  kept comment\n[bob]\noutput = json"
    );
    assert_eq!(read(&env.config_path()), config);
    assert_eq!(mode(&env.credentials_path()), 0o640);
    assert_eq!(mode(&env.config_path()), 0o604);
    assert_eq!(files_holding(&env, &secret), Vec::<String>::new());

    let list = env
        .cmd()
        .args(["keys", "list", "--output", "json"])
        .envs(vault_vars(&env, "file"))
        .output()
        .unwrap();
    assert_success("assume keys list", &list);
    let rows: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    assert_eq!(rows[0]["profile"], "alice", "{rows}");
    assert_eq!(rows[0]["access_key_id"], id.as_str(), "{rows}");
    assert_eq!(rows[0]["store"], "file", "{rows}");
}

#[test]
fn import_with_yes_takes_every_profile_from_both_files() {
    let env = file_vault_env();
    let (alice_id, alice_secret) = unique_keys();
    let (carol_id, carol_secret) = unique_keys();
    env.write_credentials(&format!(
        "[alice]\naws_access_key_id = {alice_id}\naws_secret_access_key = {alice_secret}\n[empty]\n"
    ));
    env.write_config(&format!(
        "[default]\nregion = us-east-1\n[profile carol]\naws_access_key_id = {carol_id}\n\
         aws_secret_access_key = {carol_secret}\naws_session_token = carol-token-0123456789\n\
         [profile role]\nrole_arn = arn:aws:iam::123456789012:role/Administrators\nsource_profile = carol\n"
    ));

    let out = import(&env, "file", &["--yes"]);
    assert_success("assume keys import --yes", &out);
    assert_eq!(read(&env.credentials_path()), "[alice]\n[empty]\n");
    assert_eq!(
        read(&env.config_path()),
        "[default]\nregion = us-east-1\n[profile carol]\n\
         [profile role]\nrole_arn = arn:aws:iam::123456789012:role/Administrators\nsource_profile = carol\n"
    );
    for secret in [&alice_secret, &carol_secret, "carol-token-0123456789"] {
        assert_eq!(files_holding(&env, secret), Vec::<String>::new());
    }
    let said = stderr(&out);
    let vault = "the encrypted vault file";
    let alice = format!(
        "moved the keys {alice_id} of profile 'alice' into {vault}, out of {}\n",
        env.credentials_path().display()
    );
    let carol = format!(
        "moved the keys {carol_id} of profile 'carol' into {vault}, out of {}\n",
        env.config_path().display()
    );
    assert!(said.contains(&alice) && said.contains(&carol), "{said}");
}

/// The real Secret Service (scripts/test's private gnome-keyring): the keys are in it
/// afterwards, and in no file at all.
#[test]
fn import_into_the_keyring_leaves_the_secret_in_no_file() {
    if !private_keyring() {
        // Never the developer's own keyring: the file-store tests cover the rest.
        crate::harness::require_private_keyrings();
    }
    let env = file_vault_env();
    let (id, secret) = unique_keys();
    let profile = format!("imp-{}", unique_suffix());
    env.write_config(&format!("[profile {profile}]\nregion = eu-west-1\n"));
    env.write_credentials(&format!(
        "[{profile}]\naws_access_key_id = {id}\naws_secret_access_key = {secret}\n"
    ));
    let out = import(&env, "keyring", &[&profile]);
    assert_success("assume keys import (keyring)", &out);
    assert!(
        stderr(&out).contains(&format!("of profile '{profile}' into the keyring")),
        "{}",
        stderr(&out)
    );
    assert_eq!(read(&env.credentials_path()), format!("[{profile}]\n"));
    assert_eq!(files_holding(&env, &secret), Vec::<String>::new());
    let lookup = env
        .command("secret-tool")
        .args(["search", "--all", "service", "assume-keys"])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&lookup.stdout).contains(&secret)
            || String::from_utf8_lossy(&lookup.stderr).contains(&secret),
        "the secret is not in the Secret Service: {lookup:?}"
    );
    let removed = env
        .cmd()
        .args(["keys", "remove", &profile])
        .envs(vault_vars(&env, "keyring"))
        .output()
        .unwrap();
    assert_success("assume keys remove", &removed);
}

/// Without PROFILE, a person confirms on the terminal; "n" changes nothing, "y" imports.
#[test]
fn import_without_profiles_asks_on_the_terminal() {
    let env = file_vault_env();
    let (id, secret) = unique_keys();
    let credentials =
        format!("[alice]\naws_access_key_id = {id}\naws_secret_access_key = {secret}\n");
    env.write_credentials(&credentials);
    let vars: Vec<(String, String)> = env
        .env_for_shell()
        .into_iter()
        .chain(vault_vars(&env, "file"))
        .collect();
    let command = format!(
        "{} keys import",
        sh_quote(&crate::harness::assume_bin().display().to_string())
    );
    for (reply, status) in [("n", 0), ("y", 0)] {
        let tmux = Tmux::new(&command, &vars);
        tmux.wait_for("Move the static keys of alice into the vault", WAIT);
        let said = if reply == "n" {
            "nothing was imported".to_string()
        } else {
            format!("moved the keys {id}")
        };
        answer(&tmux, reply, false, &said);
        assert_eq!(tmux.wait_exit(WAIT), status, "{}", tmux.capture());
        if reply == "n" {
            assert_eq!(read(&env.credentials_path()), credentials);
        } else {
            assert_eq!(read(&env.credentials_path()), "[alice]\n");
        }
    }
}

/// Each refusal: its exit class, one line, nothing on stdout, both files and the vault as
/// they were.
#[test]
fn bad_input_changes_nothing() {
    let (id, secret) = unique_keys();
    // What, the credentials file, the config file, the arguments, the exit status, the message.
    type Case = (
        &'static str,
        String,
        String,
        Vec<&'static str>,
        i32,
        &'static str,
    );
    let cases: Vec<Case> = vec![
        (
            "unknown profile",
            format!("[alice]\naws_access_key_id = {id}\naws_secret_access_key = {secret}\n"),
            String::new(),
            vec!["alcie"],
            3,
            "profile 'alcie' not found",
        ),
        (
            "only the id",
            format!("[alice]\naws_access_key_id = {id}\n"),
            String::new(),
            vec!["alice"],
            3,
            "it has an aws_access_key_id but no aws_secret_access_key",
        ),
        (
            "only the secret, found by --yes",
            format!("[alice]\naws_secret_access_key = {secret}\n[bob]\naws_access_key_id = {id}\naws_secret_access_key = {secret}\n"),
            String::new(),
            vec!["--yes"],
            3,
            "it has an aws_secret_access_key but no aws_access_key_id",
        ),
        (
            "no static keys",
            format!("[alice]\naws_access_key_id = {id}\naws_secret_access_key = {secret}\n"),
            "[profile admin]\nrole_arn = arn:aws:iam::123456789012:role/Administrators\nsource_profile = alice\n".to_string(),
            vec!["alice", "admin"],
            3,
            "profile 'admin': it has no static keys",
        ),
        (
            "different keys in the two files",
            format!("[alice]\naws_access_key_id = {id}\naws_secret_access_key = {secret}\n"),
            "[profile alice]\naws_access_key_id = AKIAOLDKEY000000000\naws_secret_access_key = old/secret/0000000000000000000000000\n".to_string(),
            vec!["alice"],
            3,
            "differs from the one in",
        ),
        (
            "no profile, no terminal, no --yes",
            format!("[alice]\naws_access_key_id = {id}\naws_secret_access_key = {secret}\n"),
            String::new(),
            vec![],
            2,
            "pass --yes",
        ),
        (
            "not an access key id",
            format!("[alice]\naws_access_key_id = not-a-key\naws_secret_access_key = {secret}\n"),
            String::new(),
            vec!["alice"],
            3,
            "is not an access key id",
        ),
        (
            "a malformed file",
            format!("[alice]\naws_access_key_id = {id}\naws_secret_access_key = {secret}\n[bob"),
            String::new(),
            vec!["alice"],
            3,
            "line 4: Profile definition must end with ']'",
        ),
    ];
    let mut problems = Vec::new();
    for (what, credentials, config, args, code, fragment) in cases {
        let env = file_vault_env();
        env.write_credentials(&credentials);
        env.write_config(&config);
        let out = env
            .command("setsid")
            .arg("--wait")
            .arg(crate::harness::assume_bin())
            .args(["keys", "import"])
            .args(&args)
            .envs(vault_vars(&env, "file"))
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        for problem in check_failure(&out, code, fragment) {
            problems.push(format!("{what}: {problem}: {}", stderr(&out)));
        }
        if stderr(&out).contains(&secret) {
            problems.push(format!("{what}: the secret is in the message"));
        }
        if read(&env.credentials_path()) != credentials || read(&env.config_path()) != config {
            problems.push(format!("{what}: a file changed"));
        }
        let data = env.home().join(".local/share/assume");
        if data.exists() && !files_under(&data).is_empty() {
            problems.push(format!(
                "{what}: the vault was written: {:?}",
                files_under(&data)
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// A wrong passphrase for an existing vault file: exit 4, and the keys stay in the file.
#[test]
fn a_wrong_passphrase_leaves_the_keys_in_the_file() {
    let env = file_vault_env();
    let (id, secret) = unique_keys();
    env.write_credentials(&format!(
        "[first]\naws_access_key_id = {id}\naws_secret_access_key = {secret}\n"
    ));
    assert_success("first import", &import(&env, "file", &["first"]));
    let credentials =
        format!("[alice]\naws_access_key_id = {id}\naws_secret_access_key = {secret}\n");
    env.write_credentials(&credentials);
    let out = env
        .cmd()
        .args(["keys", "import", "alice"])
        .envs(vault_vars(&env, "file"))
        .env("ASSUME_VAULT_PASSPHRASE", "not the passphrase")
        .output()
        .unwrap();
    let problems = check_failure(&out, 4, "wrong passphrase");
    assert!(problems.is_empty(), "{problems:?}: {}", stderr(&out));
    assert_eq!(read(&env.credentials_path()), credentials);
}

/// After the import the profile's keys come from the vault: `assume` signs its AssumeRole with
/// them, and with --add-config the aws CLI gets them through `assume credential-process`.
#[test]
fn after_import_assume_and_the_aws_cli_use_the_vault() {
    let env = file_vault_env();
    let (id, secret) = unique_keys();
    env.write_config(&format!(
        "[profile alice]\nregion = eu-west-1\n\
         [profile plain]\nrole_arn = {}\nsource_profile = alice\n",
        moto().role_arn("Administrators")
    ));
    env.write_credentials(&format!(
        "[alice]\naws_access_key_id = {id}\naws_secret_access_key = {secret}\n"
    ));
    let out = import(&env, "file", &["alice", "--add-config"]);
    assert_success("assume keys import alice --add-config", &out);
    assert!(
        read(&env.config_path())
            .contains("[profile alice]\nregion = eu-west-1\ncredential_process = assume credential-process alice\n"),
        "{}",
        read(&env.config_path())
    );
    assert_eq!(read(&env.credentials_path()), "[alice]\n");

    let requests = recorded_requests(&env, || {
        let out = env
            .cmd()
            .args(["credential-process", "plain"])
            .envs(vault_vars(&env, "file"))
            .output()
            .unwrap();
        assert_success("assume credential-process plain", &out);
        check_credential_process_json(&out.stdout);
    });
    let signers: Vec<_> = requests.iter().filter_map(|r| r.access_key_id()).collect();
    assert_eq!(
        signers,
        [id.as_str()],
        "AssumeRole signed with the vault's key"
    );

    let requests = recorded_requests(&env, || {
        let out = env
            .aws()
            .envs(vault_vars(&env, "file"))
            .args(["sts", "get-caller-identity", "--profile", "alice"])
            .output()
            .unwrap();
        assert_success("aws sts get-caller-identity --profile alice", &out);
    });
    let signers: Vec<_> = requests.iter().filter_map(|r| r.access_key_id()).collect();
    assert!(
        signers.iter().all(|signer| *signer == id) && !signers.is_empty(),
        "the aws CLI signs with the vault's key: {signers:?}"
    );
    assert_eq!(files_holding(&env, &secret), Vec::<String>::new());
}

/// A file edited while the import runs (here, while the vault asks for its passphrase) is not
/// overwritten: the keys are then in the vault and still in the file, the message says so and
/// what to run, and running it finishes the move.
#[test]
fn a_file_changed_meanwhile_keeps_the_keys_and_says_so() {
    let env = file_vault_env();
    let (id, secret) = unique_keys();
    let credentials =
        format!("[alice]\naws_access_key_id = {id}\naws_secret_access_key = {secret}\n");
    env.write_credentials(&credentials);
    let vars: Vec<(String, String)> = env
        .env_for_shell()
        .into_iter()
        .chain(vault_vars(&env, "file"))
        .filter(|(name, _)| name != "ASSUME_VAULT_PASSPHRASE")
        .collect();
    let tmux = Tmux::new(
        &format!(
            "{} keys import alice",
            sh_quote(&crate::harness::assume_bin().display().to_string())
        ),
        &vars,
    );
    tmux.wait_for("New passphrase for", WAIT);
    let edited = format!("{credentials}[later]\nregion = us-east-1\n");
    env.write_credentials(&edited);
    answer(&tmux, PASSPHRASE, true, "Repeat it");
    answer(&tmux, PASSPHRASE, true, "it changed while importing");
    assert_eq!(tmux.wait_exit(WAIT), 1, "{}", tmux.capture());
    let screen = tmux.capture();
    assert!(
        screen.contains("the keys of alice are in the encrypted vault file but still in")
            && screen.contains("it changed while importing")
            && screen.contains("run `assume keys import alice` again"),
        "{screen}"
    );
    assert_eq!(read(&env.credentials_path()), edited);

    let out = import(&env, "file", &["alice"]);
    assert_success("assume keys import alice, again", &out);
    assert_eq!(
        read(&env.credentials_path()),
        "[alice]\n[later]\nregion = us-east-1\n"
    );
    assert_eq!(files_holding(&env, &secret), Vec::<String>::new());
}

/// A profile whose vault keys are another key: refused (exit 2), so that no key is replaced
/// unseen; the file keeps its keys.
#[test]
fn other_keys_in_the_vault_are_not_replaced() {
    let env = file_vault_env();
    let (first_id, first_secret) = unique_keys();
    env.write_credentials(&format!(
        "[alice]\naws_access_key_id = {first_id}\naws_secret_access_key = {first_secret}\n"
    ));
    assert_success("first import", &import(&env, "file", &["alice"]));
    let (id, secret) = unique_keys();
    let credentials =
        format!("[alice]\naws_access_key_id = {id}\naws_secret_access_key = {secret}\n");
    env.write_credentials(&credentials);
    let out = import(&env, "file", &["alice"]);
    let problems = check_failure(
        &out,
        2,
        &format!("profile 'alice' already has the keys {first_id} in the encrypted vault file"),
    );
    assert!(problems.is_empty(), "{problems:?}: {}", stderr(&out));
    assert_eq!(read(&env.credentials_path()), credentials);
}
