//! The credential cache, end to end: the Secret Service, kernel keyutils and file stores and
//! the automatic fallbacks between them, reuse and refresh (min TTL), what makes a different
//! entry, single flight across processes, broken entries and index, a failed refresh; a cache
//! directory that is not this user's alone (another user's, writable by others, links, special
//! files), leftovers in `staging/`, a clock set back.
//!
//! Real parts only: moto on the wire (through each [`TestEnv`]'s recording proxy), the private
//! keyrings of `scripts/test` (see [`StoreCx`]), real processes (16 at once, one of them
//! SIGKILLed), a real terminal (tmux), a second real Unix user (as root; `useradd`, removed
//! again) and real clocks set by libfaketime.
//!
//! Isolation: every test has its own `XDG_CACHE_HOME` inside its TestEnv and its own
//! `mfa_serial`, so MFA sessions cached per (access key id, mfa_serial) never leak between
//! tests.

use std::collections::HashSet;
use std::net::TcpStream;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::harness::{
    self, FakeServer, MFA_SESSION_SECRET, Mode, REVOKE_AND_EXEC, RUN_TIMEOUT, Store, StoreCx,
    TestEnv, Vars, WAIT, actions, all_entries_parse, assert_success, assume_bin, chain_config,
    chain_env, check_credential_process_json, corrupt, entry_files, files_under,
    kernel_copy_search, kernel_expiry, keyctl, keyutils_read, keyutils_search, moto, proxy_port,
    recorded_sts_calls, refused_endpoint, rfc3339_secs, secret_service_delete,
    secret_service_lookup, standard_config, stored_secret, succeed, unique_suffix,
};

/// Lines of `stderr` that announce a store fallback.
fn fallback_lines(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|l| l.contains("caching in"))
        .collect()
}

/// What a fallback line says after "caching in" (before it: why the other stores failed,
/// which may name them too).
fn store_named(line: &str) -> &str {
    line.split_once("caching in").map_or("", |(_, rest)| rest)
}

/// Files under `dir` (except those `allowed`) whose bytes contain any of `secrets`.
fn files_containing(dir: &Path, secrets: &[&str], allowed: impl Fn(&Path) -> bool) -> Vec<String> {
    files_under(dir)
        .into_iter()
        .filter(|p| !allowed(p))
        .filter(|p| {
            let bytes = std::fs::read(p).unwrap_or_default();
            secrets
                .iter()
                .any(|s| bytes.windows(s.len()).any(|w| w == s.as_bytes()))
        })
        .map(|p| p.display().to_string())
        .collect()
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

/// The stored secret is a JSON document holding these credentials.
fn assert_entry_holds(secret: &str, vars: &Vars) {
    let json: Value = serde_json::from_str(secret.trim())
        .unwrap_or_else(|e| panic!("the cached secret is not JSON ({e}): {secret}"));
    let text = json.to_string();
    for k in [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
    ] {
        assert!(
            text.contains(&vars[k]),
            "the cached entry lacks {k}: {text}"
        );
    }
    // The expiration, as RFC 3339 text or as Unix seconds.
    let exp = &vars["AWS_CREDENTIAL_EXPIRATION"];
    let secs = rfc3339_secs(exp).unwrap_or_else(|| panic!("not RFC 3339: {exp}"));
    assert!(
        text.contains(&exp[..19]) || text.contains(&secs.to_string()),
        "the cached entry lacks the expiration {exp} ({secs}): {text}"
    );
}

// ---------------------------------------------------------------------------------------------
// The stores, and the fallbacks between them
// ---------------------------------------------------------------------------------------------

/// Default environment with a reachable Secret Service: the MFA code is needed once, the second
/// call is served from the Secret Service without STS, and no file holds a secret.
#[test]
fn secret_service_is_the_default_store() {
    let cx = StoreCx::new(Store::SecretService);
    let (first, stderr1) = cx.exports_with(&mut cx.cmd(), &["admin", "--token-code", "123456"]);
    assert!(
        fallback_lines(&stderr1).is_empty(),
        "no fallback: {stderr1}"
    );

    let (second, calls, stderr2) = cx.key_id_and_calls(&["admin"]);
    assert!(
        calls.is_empty(),
        "the second call made STS calls: {calls:?}"
    );
    assert_eq!(second, first["AWS_ACCESS_KEY_ID"]);
    assert!(fallback_lines(&stderr2).is_empty(), "{stderr2}");

    // In the Secret Service under its key, as a JSON document with the credentials.
    let key = cx.cache_key("admin");
    let secret = secret_service_lookup(&key)
        .unwrap_or_else(|| panic!("no Secret Service item service=assume username={key}"));
    assert_entry_holds(&secret, &first);
    let search = Command::new("secret-tool")
        .args(["search", "--all", "service", "assume"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&search.stdout).contains(&first["AWS_ACCESS_KEY_ID"]),
        "secret-tool search --all service assume does not show the entry"
    );
    // Not in the kernel keyring.
    assert_eq!(keyutils_search(&key), None);

    // No file anywhere under the test's root (HOME, XDG_CACHE_HOME) holds a secret.
    let leaks = files_containing(
        cx.env.root(),
        &[
            &first["AWS_SECRET_ACCESS_KEY"],
            &first["AWS_SESSION_TOKEN"],
            MFA_SESSION_SECRET,
        ],
        |_| false,
    );
    assert!(leaks.is_empty(), "secrets written to files: {leaks:?}");

    // The index knows the entry (key, profile, expiration) without any secret.
    let index = std::fs::read_to_string(cx.cache_dir().join("index.json"))
        .expect("$XDG_CACHE_HOME/assume/index.json");
    assert!(index.contains(&key), "index.json lacks the key: {index}");
    assert!(
        index.contains("\"admin\""),
        "index.json lacks the profile: {index}"
    );
    let exp = &first["AWS_CREDENTIAL_EXPIRATION"];
    let secs = rfc3339_secs(exp).unwrap().to_string();
    assert!(
        index.contains(&exp[..19]) || index.contains(&secs),
        "index.json lacks the expiration {exp} ({secs}): {index}"
    );
    assert_eq!(mode(&cx.cache_dir()), 0o700);
}

/// A Secret Service entry has a read-through copy in the kernel keyring, which the kernel drops
/// when the credentials expire: a hit from the copy opens no D-Bus session (it works with the
/// bus gone); once the copy is dropped (its kernel timeout shortened to a second here, as expiry
/// would), the next hit reads the Secret Service and puts the copy back; `clear` removes both.
#[test]
fn secret_service_entries_have_a_kernel_copy_until_they_expire() {
    let cx = StoreCx::new(Store::SecretService);
    let key = cx.cache_key("plain");
    let (first, calls, _) = cx.key_id_and_calls(&["plain"]);
    assert_eq!(actions(&calls), ["AssumeRole"]);
    let record = secret_service_lookup(&key).expect("the Secret Service entry");
    let copy = kernel_copy_search(&key).expect("a kernel copy after the fresh fetch");
    let payload = keyctl(&["pipe", &copy]).expect("keyctl pipe");
    assert_eq!(payload, record.trim(), "the copy holds the entry itself");
    let expiry = kernel_expiry(&copy).expect("the copy in /proc/keys");
    assert_ne!(expiry, "perm", "the copy has a kernel timeout");
    assert_eq!(keyutils_search(&key), None, "no keyutils store entry");

    // With the bus gone, the copy answers alone.
    let nowhere = format!("unix:path={}", cx.env.root().join("no-bus").display());
    let mut cmd = cx.cmd();
    cmd.env("DBUS_SESSION_BUS_ADDRESS", &nowhere).arg("-v");
    let (id, calls, stderr) = cx.key_id_and_calls_with(&mut cmd, &["plain"]);
    assert!(calls.is_empty(), "{calls:?}");
    assert_eq!(id, first);
    assert!(stderr.contains("kernel copy"), "{stderr}");
    assert!(
        !stderr.contains("unavailable"),
        "no store was opened: {stderr}"
    );

    // The kernel drops the copy at its timeout; the Secret Service still answers, and the copy
    // is made again.
    keyctl(&["timeout", &copy, "1"]).expect("keyctl timeout");
    let deadline = Instant::now() + Duration::from_secs(10);
    while kernel_copy_search(&key).is_some() {
        assert!(
            Instant::now() < deadline,
            "the kernel kept the copy past its timeout"
        );
        thread::sleep(Duration::from_millis(100));
    }
    let mut cmd = cx.cmd();
    cmd.arg("-v");
    let (id, calls, stderr) = cx.key_id_and_calls_with(&mut cmd, &["plain"]);
    assert!(calls.is_empty(), "{calls:?}");
    assert_eq!(id, first);
    assert!(
        stderr.contains("cache hit (keyring)") && !stderr.contains("kernel copy"),
        "{stderr}"
    );
    assert!(kernel_copy_search(&key).is_some(), "the copy is back");

    // `clear` from another login session (its own session keyring) cannot reach this
    // session's copy, but the copy is then no longer the indexed entry: it answers nothing.
    let other = cx
        .command("keyctl")
        .args(["session", "-"])
        .arg(assume_bin())
        .args(["clear", "plain"])
        .output()
        .unwrap();
    assert!(other.status.success(), "{other:?}");
    assert!(
        kernel_copy_search(&key).is_some(),
        "this session's copy is still there"
    );
    let (_, calls, _) = cx.key_id_and_calls(&["plain"]);
    assert_eq!(actions(&calls), ["AssumeRole"], "the cleared copy answered");

    // clear removes the entry and its copy.
    cx.ok(&["clear", "plain"]);
    assert_eq!(secret_service_lookup(&key), None);
    assert_eq!(kernel_copy_search(&key), None);
    let (_, calls, _) = cx.key_id_and_calls(&["plain"]);
    assert_eq!(actions(&calls), ["AssumeRole"]);
    // A copy whose Secret Service entry is already gone is removed by clear too.
    secret_service_delete(&key);
    assert!(kernel_copy_search(&key).is_some());
    cx.ok(&["clear", "--all"]);
    assert_eq!(kernel_copy_search(&key), None);

    // ASSUME_KEYRING_COPY=0: no copy.
    let mut cmd = cx.cmd();
    cmd.env("ASSUME_KEYRING_COPY", "0");
    let (_, calls, _) = cx.key_id_and_calls_with(&mut cmd, &["plain"]);
    assert_eq!(actions(&calls), ["AssumeRole"]);
    assert!(secret_service_lookup(&key).is_some());
    assert_eq!(kernel_copy_search(&key), None);
    // … but clear removes copies with it as without it.
    let (_, calls, _) = cx.key_id_and_calls(&["plain"]);
    assert!(calls.is_empty(), "{calls:?}");
    assert!(kernel_copy_search(&key).is_some(), "a hit makes the copy");
    cx.ok_with(&[("ASSUME_KEYRING_COPY", "0")], &["clear", "plain"]);
    assert_eq!(kernel_copy_search(&key), None);
    assert_eq!(secret_service_lookup(&key), None);
}

/// Entries of the keyutils store are in the session keyring, each with a kernel timeout.
#[test]
fn keyutils_entries_expire_in_the_kernel() {
    let cx = StoreCx::new(Store::Keyutils);
    cx.ok(&["plain"]);
    let id = keyutils_search(&cx.cache_key("plain")).expect("the keyutils entry");
    let expiry = kernel_expiry(&id).expect("the entry in /proc/keys");
    assert_ne!(expiry, "perm", "the entry has a kernel timeout");
    let linked = keyctl(&["show", "@s"]).unwrap_or_default();
    assert!(
        !linked.contains("_persistent"),
        "nothing links the persistent keyring into the session keyring:\n{linked}"
    );
    // Until the kernel has collected a key that `clear` invalidated, a search for it says
    // "revoked": that is a miss, not a broken store (ASSUME_CACHE forces keyutils here).
    for _ in 0..5 {
        cx.ok_with(&[("ASSUME_CACHE", "keyutils")], &["clear", "plain"]);
        let mut cmd = cx.cmd();
        cmd.env("ASSUME_CACHE", "keyutils");
        let (_, calls, _) = cx.key_id_and_calls_with(&mut cmd, &["plain"]);
        assert_eq!(actions(&calls), ["AssumeRole"]);
        assert!(keyutils_search(&cx.cache_key("plain")).is_some());
    }
}

/// No usable Secret Service: one note that it caches in the kernel keyring, hits afterwards, the
/// key is in the session keyring, and the note is not repeated.
fn falls_back_to_keyutils(store: Store) {
    let cx = StoreCx::new(store);
    if store != Store::Keyutils {
        // The premise: on that bus, nobody can store a secret.
        let probe = cx
            .wrapped("secret-tool")
            .args(["store", "--label", "p", "service", "probe", "username", "p"])
            .output()
            .unwrap();
        assert!(
            !probe.status.success(),
            "{store:?}: secret-tool could store a secret"
        );
    }
    let (first, calls, stderr) = cx.key_id_and_calls(&["admin", "--token-code", "123456"]);
    assert!(!calls.is_empty());
    let notes = fallback_lines(&stderr);
    assert_eq!(notes.len(), 1, "{store:?}: one fallback line: {stderr}");
    assert!(store_named(notes[0]).contains("keyutils"), "{stderr}");

    let (second, calls, stderr) = cx.key_id_and_calls(&["admin"]);
    assert!(
        calls.is_empty(),
        "{store:?}: the second call made STS calls: {calls:?}"
    );
    assert_eq!(second, first);
    assert!(
        fallback_lines(&stderr).is_empty(),
        "{store:?}: the fallback is announced once per cache dir: {stderr}"
    );

    let key = cx.cache_key("admin");
    let shown = cx.command("keyctl").args(["show", "@s"]).output().unwrap();
    let shown = String::from_utf8_lossy(&shown.stdout);
    assert!(
        shown.contains(&format!("keyring:{key}@assume")),
        "keyctl show @s lacks keyring:{key}@assume:\n{shown}"
    );
    let payload = keyutils_read(&key).unwrap();
    assert!(payload.contains(&first), "{payload}");
    assert_eq!(
        secret_service_lookup(&key),
        None,
        "not in the Secret Service"
    );

    // A third call (a miss for another profile) still says nothing about the fallback.
    let stderr = cx.ok(&["plain"]);
    assert!(fallback_lines(&stderr).is_empty(), "{store:?}: {stderr}");

    let leaks = files_containing(cx.env.root(), &[MFA_SESSION_SECRET], |_| false);
    assert!(leaks.is_empty(), "secrets written to files: {leaks:?}");
}

#[test]
fn no_session_bus_falls_back_to_keyutils() {
    falls_back_to_keyutils(Store::Keyutils);
}

#[test]
fn bus_without_secret_service_falls_back_to_keyutils() {
    falls_back_to_keyutils(Store::BusWithoutSecretService);
}

#[test]
fn locked_keyring_falls_back_to_keyutils() {
    falls_back_to_keyutils(Store::LockedSecretService);
}

/// No Secret Service and a kernel keyring that fails for real: files, 0600 in a 0700 dir.
#[test]
fn no_keyring_at_all_falls_back_to_files() {
    let cx = StoreCx::new(Store::FileFallback);
    // The premise: inside `keyctl session - sh -c 'keyctl revoke @s && …'` keyutils fails.
    let probe = cx
        .command("keyctl")
        .args(["session", "-", "sh", "-c", REVOKE_AND_EXEC, "sh"])
        .args(["keyctl", "add", "user", "probe", "x", "@s"])
        .output()
        .unwrap();
    assert!(
        !probe.status.success(),
        "keyctl add works in a revoked session keyring?"
    );

    let (first, stderr1) = cx.exports_with(&mut cx.cmd(), &["admin", "--token-code", "123456"]);
    let notes = fallback_lines(&stderr1);
    assert_eq!(notes.len(), 1, "one fallback line: {stderr1}");
    assert!(store_named(notes[0]).contains("file"), "{stderr1}");

    let (second, calls, stderr2) = cx.key_id_and_calls(&["admin"]);
    assert!(
        calls.is_empty(),
        "the second call made STS calls: {calls:?}"
    );
    assert_eq!(second, first["AWS_ACCESS_KEY_ID"]);
    assert!(fallback_lines(&stderr2).is_empty(), "{stderr2}");

    let key = cx.cache_key("admin");
    let entry = cx.entry_path(&key);
    let text = std::fs::read_to_string(&entry)
        .unwrap_or_else(|e| panic!("no file entry {}: {e}", entry.display()));
    assert_entry_holds(&text, &first);
    assert_eq!(mode(&entry), 0o600, "{}", entry.display());
    assert_eq!(mode(&cx.cache_dir()), 0o700);
    assert_eq!(secret_service_lookup(&key), None);
    assert_eq!(keyutils_search(&key), None);
    check_file_store_hygiene(&cx, &[&first["AWS_SECRET_ACCESS_KEY"], MFA_SESSION_SECRET]);
}

/// Secrets only in `entries/*.json` (never in the index, the locks or elsewhere), and no
/// leftover temp files next to the entries.
fn check_file_store_hygiene(cx: &StoreCx, secrets: &[&str]) {
    let entries = cx.cache_dir().join("entries");
    let leaks = files_containing(cx.env.root(), secrets, |p| {
        p.parent() == Some(entries.as_path()) && p.extension().is_some_and(|e| e == "json")
    });
    assert!(
        leaks.is_empty(),
        "secrets outside entries/*.json: {leaks:?}"
    );
    for f in files_under(&entries) {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            name.ends_with(".json") && !name.starts_with('.'),
            "stray file in entries/ (an unfinished temp file?): {name}"
        );
        assert_eq!(mode(&f), 0o600, "{}", f.display());
    }
}

/// Without `XDG_CACHE_HOME` the cache dir is `$HOME/.cache/assume`.
#[test]
fn cache_dir_defaults_to_home_dot_cache() {
    let cx = StoreCx::new(Store::File);
    let key = cx.cache_key("plain");
    let mut cmd = cx.cmd();
    cmd.env_remove("XDG_CACHE_HOME");
    let (first, calls, _) = cx.key_id_and_calls_with(&mut cmd, &["plain"]);
    assert_eq!(actions(&calls), ["AssumeRole"]);
    let dir = cx.env.home().join(".cache").join("assume");
    let entry = dir.join("entries").join(format!("{key}.json"));
    assert!(entry.is_file(), "no {}", entry.display());
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(&entry), 0o600);
    assert!(!cx.cache_home.exists(), "XDG_CACHE_HOME was not even set");
    let mut cmd = cx.cmd();
    cmd.env_remove("XDG_CACHE_HOME");
    let (again, calls, _) = cx.key_id_and_calls_with(&mut cmd, &["plain"]);
    assert!(calls.is_empty(), "{calls:?}");
    assert_eq!(again, first);
}

/// `ASSUME_CACHE=file` wins over a reachable Secret Service; `ASSUME_CACHE=keyutils` likewise.
#[test]
fn assume_cache_forces_a_store() {
    let cx = StoreCx::new(Store::SecretService);
    let key = cx.cache_key("plain");

    let mut forced = cx.cmd();
    forced.env("ASSUME_CACHE", "file");
    let (first, calls, stderr) = cx.key_id_and_calls_with(&mut forced, &["plain"]);
    assert_eq!(actions(&calls), ["AssumeRole"]);
    assert!(
        fallback_lines(&stderr).is_empty(),
        "forced, not a fallback: {stderr}"
    );
    assert!(cx.entry_path(&key).is_file(), "no entries/{key}.json");
    assert_eq!(mode(&cx.entry_path(&key)), 0o600);
    assert_eq!(
        secret_service_lookup(&key),
        None,
        "forced file, yet in the Secret Service"
    );
    assert_eq!(keyutils_search(&key), None);
    let mut forced = cx.cmd();
    forced.env("ASSUME_CACHE", "file");
    let (again, calls, _) = cx.key_id_and_calls_with(&mut forced, &["plain"]);
    assert!(calls.is_empty(), "{calls:?}");
    assert_eq!(again, first);

    // A different store is a different cache: keyutils misses, then holds it.
    let mut forced = cx.cmd();
    forced.env("ASSUME_CACHE", "keyutils");
    let (in_keyutils, calls, stderr) = cx.key_id_and_calls_with(&mut forced, &["plain"]);
    assert_eq!(actions(&calls), ["AssumeRole"], "{stderr}");
    assert!(fallback_lines(&stderr).is_empty(), "{stderr}");
    let payload = keyutils_read(&key).expect("forced keyutils: no keyring:<key>@assume");
    assert!(payload.contains(&in_keyutils));
    assert_eq!(secret_service_lookup(&key), None);

    // ASSUME_CACHE=keyring uses the Secret Service.
    let mut forced = cx.cmd();
    forced.env("ASSUME_CACHE", "keyring");
    let (in_keyring, calls, _) = cx.key_id_and_calls_with(&mut forced, &["plain"]);
    assert_eq!(actions(&calls), ["AssumeRole"]);
    assert!(secret_service_lookup(&key).unwrap().contains(&in_keyring));
}

/// `ASSUME_CACHE=none` and `--no-cache`: every call goes to STS and nothing is read or written.
#[test]
fn no_cache_reads_and_writes_nothing() {
    let cx = StoreCx::new(Store::SecretService);
    let key = cx.cache_key("plain");
    let mut seen = HashSet::new();
    for _ in 0..2 {
        let mut none = cx.cmd();
        none.env("ASSUME_CACHE", "none");
        let (id, calls, _) = cx.key_id_and_calls_with(&mut none, &["plain"]);
        assert_eq!(actions(&calls), ["AssumeRole"]);
        assert!(seen.insert(id));
    }
    for _ in 0..2 {
        let (id, calls, _) = cx.key_id_and_calls(&["plain", "--no-cache"]);
        assert_eq!(actions(&calls), ["AssumeRole"]);
        assert!(seen.insert(id));
    }
    assert_eq!(
        secret_service_lookup(&key),
        None,
        "written despite no cache"
    );
    assert_eq!(keyutils_search(&key), None);
    let written: Vec<PathBuf> = files_under(&cx.cache_home)
        .into_iter()
        .filter(|p| p.starts_with(cx.cache_dir().join("entries")) || p.ends_with("index.json"))
        .collect();
    assert!(written.is_empty(), "written despite no cache: {written:?}");

    // With an entry cached, --no-cache neither uses it nor replaces it.
    let (cached, _, _) = cx.key_id_and_calls(&["plain"]);
    let (id, calls, _) = cx.key_id_and_calls(&["plain", "--no-cache"]);
    assert_eq!(actions(&calls), ["AssumeRole"], "--no-cache read the cache");
    assert_ne!(id, cached);
    let out = cx.run(&["credential-process", "plain", "--no-cache"]);
    assert_success(&["credential-process", "plain", "--no-cache"], &out);
    let json = check_credential_process_json(&out.stdout);
    assert_ne!(json["AccessKeyId"], Value::from(cached.as_str()));
    let (after, calls, _) = cx.key_id_and_calls(&["plain"]);
    assert!(calls.is_empty(), "{calls:?}");
    assert_eq!(after, cached, "--no-cache overwrote the cached entry");

    // ASSUME_CACHE=none with an entry present: not read either.
    let mut none = cx.cmd();
    none.env("ASSUME_CACHE", "none");
    let (id, calls, _) = cx.key_id_and_calls_with(&mut none, &["plain"]);
    assert_eq!(actions(&calls), ["AssumeRole"]);
    assert_ne!(id, cached);
}

/// A bad `ASSUME_CACHE` is refused with a message naming it; a forced store that cannot be used
/// is a cache error (6), not a silent fallback.
#[test]
fn bad_or_unusable_forced_store_is_an_error() {
    let cx = StoreCx::new(Store::Keyutils);
    let calls = recorded_sts_calls(&cx.env, || {
        let out = cx
            .cmd()
            .args(["plain"])
            .env("ASSUME_CACHE", "bogus")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success(),
            "ASSUME_CACHE=bogus accepted: {stderr}"
        );
        assert!(out.stdout.is_empty());
        assert!(stderr.contains("ASSUME_CACHE"), "{stderr}");
    });
    assert!(calls.is_empty(), "{calls:?}");

    // Forced Secret Service without a session bus.
    let out = cx
        .cmd()
        .args(["plain"])
        .env("ASSUME_CACHE", "keyring")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(6), "{stderr}");
    assert!(out.stdout.is_empty(), "{stderr}");
}

/// No D-Bus at all (automatic mode): the kernel keyring takes the entry, said in one line.
#[test]
fn no_dbus_falls_back_with_one_warning() {
    let cx = StoreCx::new(Store::Keyutils);
    let (_, stderr) = succeed(cx.cmd().arg("plain"));
    assert_eq!(stderr.len(), 1, "one line about the fallback: {stderr:?}");
    assert!(
        stderr[0].starts_with("assume: ") && stderr[0].contains("kernel keyring"),
        "{stderr:?}"
    );
}

/// A locked Secret Service (gnome-keyring with a password-protected login keyring and no way
/// to prompt): the kernel keyring takes the entry, said in one line.
#[test]
fn locked_keyring_falls_back_with_one_warning() {
    let cx = StoreCx::new(Store::LockedSecretService);
    let (_, stderr) = succeed(cx.cmd().arg("plain"));
    let ours: Vec<&String> = stderr
        .iter()
        .filter(|l| l.starts_with("assume: "))
        .collect();
    assert_eq!(ours.len(), 1, "one line about the fallback: {stderr:?}");
    assert!(ours[0].contains("caching in"), "{stderr:?}");
}

/// Automatic mode with no keyring at all and an unusable cache directory: success, with one
/// warning that nothing is cached.
#[test]
fn automatic_mode_with_unwritable_cache_dir_warns_and_succeeds() {
    let cx = StoreCx::new(Store::FileFallback);
    let env = &cx.env;
    let file = env.root().join("cache-is-a-file");
    std::fs::write(&file, "x").unwrap();
    let (_, stderr) = succeed(cx.cmd().env("XDG_CACHE_HOME", &file).arg("plain"));
    // keyctl's own "Joined session keyring: N" aside.
    let stderr: Vec<&String> = stderr
        .iter()
        .filter(|l| !l.starts_with("Joined session keyring"))
        .collect();
    assert_eq!(stderr.len(), 1, "one warning: {stderr:?}");
    assert!(
        stderr[0].starts_with("assume: ") && stderr[0].contains("not cached"),
        "{stderr:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Single flight
// ---------------------------------------------------------------------------------------------

/// Spawns `n` `assume credential-process ARGS` at once; their AccessKeyIds.
fn parallel_credential_process(cx: &StoreCx, n: usize, args: &[&str]) -> Vec<String> {
    let children: Vec<_> = (0..n)
        .map(|_| {
            cx.std_cmd()
                .arg("credential-process")
                .args(args)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let deadline = Instant::now() + RUN_TIMEOUT;
    children
        .into_iter()
        .map(|mut child| {
            let ok =
                harness::wait_until(deadline.saturating_duration_since(Instant::now()), || {
                    child.try_wait().unwrap().is_some()
                });
            if !ok {
                let _ = child.kill();
            }
            let out = child.wait_with_output().unwrap();
            assert_success(&["credential-process"], &out);
            let json = check_credential_process_json(&out.stdout);
            json["AccessKeyId"].as_str().unwrap().to_string()
        })
        .collect()
}

/// 16 concurrent `credential-process admin --token-code` on a cold cache: one GetSessionToken,
/// one AssumeRole, one AccessKeyId.
#[test]
fn sixteen_concurrent_callers_with_mfa_make_one_call_each() {
    let cx = StoreCx::new(Store::File);
    let mut ids = Vec::new();
    let calls = recorded_sts_calls(&cx.env, || {
        ids = parallel_credential_process(&cx, 16, &["admin", "--token-code", "123456"]);
    });
    assert_eq!(
        actions(&calls),
        ["GetSessionToken", "AssumeRole"],
        "{calls:?}"
    );
    let distinct: HashSet<&String> = ids.iter().collect();
    assert_eq!(distinct.len(), 1, "different credentials: {ids:?}");
    assert_eq!(ids.len(), 16);
}

/// Same without MFA, with the default store (the Secret Service).
#[test]
fn sixteen_concurrent_callers_make_one_assume_role() {
    let cx = StoreCx::new(Store::SecretService);
    let mut ids = Vec::new();
    let calls = recorded_sts_calls(&cx.env, || {
        ids = parallel_credential_process(&cx, 16, &["plain"]);
    });
    assert_eq!(actions(&calls), ["AssumeRole"], "{calls:?}");
    let distinct: HashSet<&String> = ids.iter().collect();
    assert_eq!(distinct.len(), 1, "different credentials: {ids:?}");
    // And the next caller hits.
    let calls = recorded_sts_calls(&cx.env, || {
        let json = cx.credential_process(&["plain"]);
        assert_eq!(json["AccessKeyId"].as_str(), Some(ids[0].as_str()));
    });
    assert!(calls.is_empty(), "{calls:?}");
}

// ---------------------------------------------------------------------------------------------
// What is a different entry, when an entry is reused
// ---------------------------------------------------------------------------------------------

/// Every input of the chain is part of the key: changing any one misses; going back hits the
/// original entry again.
#[test]
fn any_changed_input_is_a_miss() {
    let cx = StoreCx::new(Store::File);
    let m = moto();
    let base = standard_config(&cx.mfa);
    let plain = format!(
        "[profile plain]\nrole_arn = {}\nsource_profile = alice\n",
        m.role_arn("Administrators")
    );
    assert!(base.contains(&plain));
    let (original, calls, _) = cx.key_id_and_calls(&["plain"]);
    assert_eq!(actions(&calls), ["AssumeRole"]);
    let mut seen = HashSet::from([original.clone()]);

    let mallory = cx.env.user_credentials_section("mallory", "mallory");
    let variants: Vec<(&str, String, &str)> = vec![
        (
            "role_session_name",
            format!("{plain}role_session_name = cache-one\n"),
            "RoleSessionName=cache-one",
        ),
        (
            "another role_session_name",
            format!("{plain}role_session_name = cache-two\n"),
            "RoleSessionName=cache-two",
        ),
        (
            "external_id",
            format!("{plain}external_id = ext-1\n"),
            "ExternalId=ext-1",
        ),
        (
            "duration_seconds",
            format!("{plain}duration_seconds = 1800\n"),
            "DurationSeconds=1800",
        ),
        ("region", format!("{plain}region = us-west-2\n"), ""),
        (
            "role_arn",
            plain.replace(&m.role_arn("Administrators"), &m.role_arn("ReadOnly")),
            "",
        ),
        (
            "base identity",
            // mallory in alice's region: only the identity differs.
            plain.replace("source_profile = alice", "source_profile = mallory")
                + "[profile mallory]\nregion = eu-west-1\n",
            "",
        ),
        (
            "mfa_serial",
            format!("{plain}mfa_serial = {}\n", cx.mfa),
            "",
        ),
    ];
    cx.env.write_credentials(&format!(
        "{}{mallory}",
        cx.env.user_credentials_section("alice", "alice")
    ));
    for (what, profile, expect) in &variants {
        cx.env.write_config(&base.replace(&plain, profile));
        let args: &[&str] = if *what == "mfa_serial" {
            &["plain", "--token-code", "123456"]
        } else {
            &["plain"]
        };
        let (id, calls, stderr) = cx.key_id_and_calls(args);
        assert_eq!(
            calls.last().map(|c| c["Action"].as_str()),
            Some("AssumeRole"),
            "changing {what} made no AssumeRole: {calls:?}\n{stderr}"
        );
        if let Some((k, v)) = expect.split_once('=') {
            assert_eq!(calls.last().unwrap()[k], v, "{what}");
        }
        assert!(
            seen.insert(id.clone()),
            "changing {what} reused credentials {id}"
        );
        // … and that new entry is then a hit of its own.
        let (again, calls, _) = cx.key_id_and_calls(&["plain"]);
        assert!(calls.is_empty(), "{what}: {calls:?}");
        assert_eq!(again, id);
    }

    // Back to the original inputs: the original entry.
    cx.env.write_config(&base);
    let (back, calls, _) = cx.key_id_and_calls(&["plain"]);
    assert!(calls.is_empty(), "{calls:?}");
    assert_eq!(back, original);

    // The endpoint is an input too: another endpoint (a second proxy to the same moto) misses.
    let other = TestEnv::new(moto());
    let mut cmd = cx.cmd();
    cmd.env("AWS_ENDPOINT_URL", &other.endpoint);
    let calls = recorded_sts_calls(&other, || {
        let (vars, _) = cx.exports_with(&mut cmd, &["plain"]);
        assert!(seen.insert(vars["AWS_ACCESS_KEY_ID"].clone()));
    });
    assert_eq!(actions(&calls), ["AssumeRole"]);
}

/// The AssumeRole calls one `assume` run makes, and the access key each was signed with.
fn assume_role_signers(env: &TestEnv, args: &[&str], vars: &[(&str, &str)]) -> Vec<String> {
    let requests = harness::recorded_requests(env, || {
        let out = env
            .cmd()
            .args(args)
            .envs(vars.iter().copied())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "assume {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    });
    requests
        .iter()
        .filter(|r| r.params().get("Action").map(String::as_str) == Some("AssumeRole"))
        .map(|r| r.access_key_id().unwrap_or_default())
        .collect()
}

/// A role cached for one IAM user's keys in the environment is not handed to another user
/// whose keys are there later: the cache key holds who the source credentials are.
#[test]
fn credential_source_environment_is_cached_per_identity() {
    let env = chain_env(moto());
    env.write_config(&format!(
        "{}[profile env-admin]\nrole_arn = {}\ncredential_source = Environment\n",
        chain_config(moto()),
        moto().role_arn("ChainedAny"),
    ));
    let (alice, alice_secret) = moto().keys("alice");
    let (mallory, mallory_secret) = moto().keys("mallory");
    let as_alice = [
        ("AWS_ACCESS_KEY_ID", alice.as_str()),
        ("AWS_SECRET_ACCESS_KEY", alice_secret.as_str()),
    ];
    let as_mallory = [
        ("AWS_ACCESS_KEY_ID", mallory.as_str()),
        ("AWS_SECRET_ACCESS_KEY", mallory_secret.as_str()),
    ];
    assert_eq!(
        assume_role_signers(&env, &["env-admin"], &as_alice),
        std::slice::from_ref(&alice)
    );
    // The same user again: a cache hit.
    assert!(assume_role_signers(&env, &["env-admin"], &as_alice).is_empty());
    // Another user: a role session of her own, signed with her key.
    assert_eq!(
        assume_role_signers(&env, &["env-admin"], &as_mallory),
        [mallory]
    );
}

/// For a `credential_process` source, the command line says who it is: a cache hit does not
/// run it (a helper that prompts would prompt every time), and another command makes a role
/// session of its own, with the keys that command returns.
#[test]
fn credential_process_source_is_cached_per_command() {
    let env = chain_env(moto());
    let (alice, _) = moto().keys("alice");
    let (mallory, mallory_secret) = moto().keys("mallory");
    std::fs::write(
        env.home().join("mallory.json"),
        format!(
            r#"{{"Version": 1, "AccessKeyId": "{mallory}", "SecretAccessKey": "{mallory_secret}"}}"#
        ),
    )
    .unwrap();
    let config = |who: &str| {
        format!(
            "{}[profile counted-proc]\ncredential_process = sh -c 'echo run >> \"$HOME/runs\" && cat \"$HOME/{who}.json\"'\n\
             [profile chained-proc]\nrole_arn = {}\nsource_profile = counted-proc\n",
            chain_config(moto()),
            moto().role_arn("ChainedAny"),
        )
    };
    let runs = || {
        std::fs::read_to_string(env.home().join("runs"))
            .unwrap_or_default()
            .lines()
            .count()
    };
    env.write_config(&config("alice"));
    assert_eq!(assume_role_signers(&env, &["chained-proc"], &[]), [alice]);
    assert_eq!(runs(), 1);
    // A hit: no AssumeRole, and the process is not run.
    assert!(assume_role_signers(&env, &["chained-proc"], &[]).is_empty());
    assert_eq!(runs(), 1);
    // Another command (here: one that returns mallory's keys): a session of its own.
    env.write_config(&config("mallory"));
    assert_eq!(assume_role_signers(&env, &["chained-proc"], &[]), [mallory]);
    assert_eq!(runs(), 2);
}

/// `--min-ttl` / `ASSUME_MIN_TTL` longer than what is left forces a refresh, shorter reuses;
/// the refreshed entry replaces the file atomically (a new inode). Time passing is played by
/// [`harness::age_file_entry`]: the entry then has 20 min left of its hour.
#[test]
fn min_ttl_decides_reuse() {
    let cx = StoreCx::new(Store::File);
    let key = cx.cache_key("plain");
    let entry = cx.entry_path(&key);
    let (k1, calls, _) = cx.key_id_and_calls(&["plain"]);
    assert_eq!(actions(&calls), ["AssumeRole"]);
    let inode1 = std::fs::metadata(&entry).unwrap().ino();

    // 3600 s credentials: a 30 min minimum is fine while they are new…
    let (k, calls, _) = cx.key_id_and_calls(&["plain", "--min-ttl", "30m"]);
    assert!(calls.is_empty(), "{calls:?}");
    assert_eq!(k, k1);
    // … not once only 20 min are left; 10 min still are.
    harness::age_file_entry(&entry, 20 * 60);
    let (k, calls, _) = cx.key_id_and_calls(&["plain", "--min-ttl", "10m"]);
    assert!(calls.is_empty(), "{calls:?}");
    assert_eq!(k, k1);
    let (k2, calls, _) = cx.key_id_and_calls(&["plain", "--min-ttl", "30m"]);
    assert_eq!(actions(&calls), ["AssumeRole"]);
    assert_ne!(k2, k1);
    let inode2 = std::fs::metadata(&entry).unwrap().ino();
    assert_ne!(
        inode1, inode2,
        "the entry was rewritten in place, not temp + rename"
    );
    // The refreshed entry is the one reused.
    let (k, calls, _) = cx.key_id_and_calls(&["plain"]);
    assert!(calls.is_empty(), "{calls:?}");
    assert_eq!(k, k2);

    // Seconds, too.
    harness::age_file_entry(&entry, 20 * 60);
    let (k3, calls, _) = cx.key_id_and_calls(&["plain", "--min-ttl", "1500"]);
    assert_eq!(actions(&calls), ["AssumeRole"]);
    assert_ne!(k3, k2);

    // The variable.
    harness::age_file_entry(&entry, 20 * 60);
    let mut cmd = cx.cmd();
    cmd.env("ASSUME_MIN_TTL", "25m");
    let (k4, calls, _) = cx.key_id_and_calls_with(&mut cmd, &["plain"]);
    assert_eq!(actions(&calls), ["AssumeRole"]);
    assert_ne!(k4, k3);
    harness::age_file_entry(&entry, 20 * 60);
    let mut cmd = cx.cmd();
    cmd.env("ASSUME_MIN_TTL", "10m");
    let (k, calls, _) = cx.key_id_and_calls_with(&mut cmd, &["plain"]);
    assert!(calls.is_empty(), "{calls:?}");
    assert_eq!(k, k4);
    // The flag wins over the variable.
    let mut cmd = cx.cmd();
    cmd.env("ASSUME_MIN_TTL", "10m");
    let (k5, calls, _) = cx.key_id_and_calls_with(&mut cmd, &["plain", "--min-ttl", "25m"]);
    assert_eq!(actions(&calls), ["AssumeRole"]);
    assert_ne!(k5, k4);
    // credential-process honours it as well.
    harness::age_file_entry(&entry, 20 * 60);
    let calls = recorded_sts_calls(&cx.env, || {
        let out = cx
            .cmd()
            .args(["credential-process", "plain"])
            .env("ASSUME_MIN_TTL", "25m")
            .output()
            .unwrap();
        assert_success(&["credential-process", "plain"], &out);
        let json = check_credential_process_json(&out.stdout);
        assert_ne!(json["AccessKeyId"], Value::from(k5.as_str()));
    });
    assert_eq!(actions(&calls), ["AssumeRole"]);

    // Relative to the real expiration: 2 h credentials survive a 90 min minimum until less
    // than that is left.
    cx.env.write_config(&format!(
        "{}[profile long]\nrole_arn = {}\nsource_profile = alice\nduration_seconds = 7200\n",
        standard_config(&cx.mfa),
        moto().role_arn("ReadOnly")
    ));
    let long = cx.entry_path(&cx.cache_key("long"));
    let (l1, calls, _) = cx.key_id_and_calls(&["long"]);
    assert_eq!(actions(&calls), ["AssumeRole"]);
    let (l, calls, _) = cx.key_id_and_calls(&["long", "--min-ttl", "90m"]);
    assert!(calls.is_empty(), "{calls:?}");
    assert_eq!(l, l1);
    harness::age_file_entry(&long, 80 * 60);
    let (l, calls, _) = cx.key_id_and_calls(&["long", "--min-ttl", "90m"]);
    assert_eq!(actions(&calls), ["AssumeRole"]);
    assert_ne!(l, l1);
    check_file_store_hygiene(&cx, &[]);
}

/// A minimum TTL that is not shorter than the session the credentials are made for could never
/// be met: nothing would ever be reused (and 16 parallel callers would make 16 AssumeRole).
/// It is refused before any STS call, naming where it came from; a shorter one, or a longer
/// session, is fine. With an MFA session, the shorter of the two sessions counts.
#[test]
fn min_ttl_not_shorter_than_the_session_is_a_usage_error() {
    let cx = StoreCx::new(Store::File);
    // Its own MFA device: not the 8 h session `admin` makes below.
    let brief_mfa = format!("{}-brief", cx.mfa);
    cx.env.write_config(&format!(
        "{}[profile long]\nrole_arn = {}\nsource_profile = alice\nduration_seconds = 7200\n\
         [profile brief-first]\nrole_arn = {}\nsource_profile = alice\nmfa_serial = {}\n\
         duration_seconds = 900\n\
         [profile brief]\nrole_arn = {}\nsource_profile = brief-first\nmfa_session_duration = 15m\n",
        standard_config(&cx.mfa),
        moto().role_arn("ReadOnly"),
        moto().role_arn("ReadOnly"),
        brief_mfa,
        moto().role_arn("Administrators"),
    ));
    let refused: Vec<(Vec<&str>, Option<&str>, &str)> = vec![
        (vec!["plain", "--min-ttl", "2h"], None, "--min-ttl 2h"),
        (vec!["plain", "--min-ttl", "1h"], None, "--min-ttl 1h"),
        (vec!["plain", "--min-ttl", "3600"], None, "--min-ttl 1h"),
        (vec!["plain"], Some("2h"), "ASSUME_MIN_TTL=2h"),
        (
            vec!["plain", "--no-cache", "--min-ttl", "2h"],
            None,
            "--min-ttl",
        ),
        (
            vec!["plain", "--duration", "30m", "--min-ttl", "45m"],
            None,
            "--min-ttl",
        ),
        (vec!["long", "--min-ttl", "2h"], None, "--min-ttl 2h"),
        (
            vec!["credential-process", "plain", "--min-ttl", "2h"],
            None,
            "--min-ttl",
        ),
        (
            vec!["credential-process", "plain"],
            Some("90m"),
            "ASSUME_MIN_TTL=90m",
        ),
        (
            vec!["exec", "plain", "--min-ttl", "2h", "--", "true"],
            None,
            "--min-ttl",
        ),
        (
            vec!["brief", "--min-ttl", "20m", "--token-code", "123456"],
            None,
            "mfa_session_duration",
        ),
    ];
    for (args, variable, named) in &refused {
        let calls = recorded_sts_calls(&cx.env, || {
            let mut cmd = cx.cmd();
            if let Some(value) = variable {
                cmd.env("ASSUME_MIN_TTL", value);
            }
            let out = cmd.args(args).output().unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(
                out.status.code(),
                Some(2),
                "{args:?} {variable:?}: {stderr}"
            );
            assert!(out.stdout.is_empty(), "{args:?}: stdout {:?}", out.stdout);
            let lines: Vec<&str> = stderr.lines().collect();
            assert_eq!(lines.len(), 1, "{args:?}: one line: {stderr}");
            assert!(lines[0].starts_with("assume: "), "{stderr}");
            assert!(
                lines[0].contains(named),
                "{args:?}: does not name {named}: {stderr}"
            );
            assert!(
                lines[0].contains("use a shorter"),
                "{args:?}: what to do? {stderr}"
            );
            assert!(!stderr.contains("panicked"), "{stderr}");
        });
        assert!(
            calls.is_empty(),
            "{args:?}: STS calls before the refusal: {calls:?}"
        );
    }
    let out = cx.run(&["plain", "--min-ttl", "2h"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--duration"), "{stderr}");
    let mut cmd = cx.cmd();
    cmd.env("ASSUME_MIN_TTL", "2h");
    let out = cmd.arg("plain").output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--duration"), "{stderr}");

    // Shorter than the session: accepted, and the credentials are then reused.
    let (k, calls, _) = cx.key_id_and_calls(&["plain", "--min-ttl", "59m"]);
    assert_eq!(actions(&calls), ["AssumeRole"]);
    let (again, calls, _) = cx.key_id_and_calls(&["plain", "--min-ttl", "59m"]);
    assert!(calls.is_empty(), "{calls:?}");
    assert_eq!(again, k);
    // A longer session makes room for a longer minimum.
    let (_, calls, _) = cx.key_id_and_calls(&["plain", "--min-ttl", "2h", "--duration", "3h"]);
    assert_eq!(actions(&calls), ["AssumeRole"]);
    assert_eq!(calls[0]["DurationSeconds"], "10800");
    let (_, calls, _) = cx.key_id_and_calls(&["long", "--min-ttl", "90m"]);
    assert_eq!(actions(&calls), ["AssumeRole"]);
    // An MFA session of 8 h (the default) leaves room for 20 min; one of 15 min (in a chain
    // whose first role asks for 15 min, so the session serves it) for 10 min.
    let (_, calls, _) =
        cx.key_id_and_calls(&["admin", "--min-ttl", "20m", "--token-code", "123456"]);
    assert_eq!(actions(&calls), ["GetSessionToken", "AssumeRole"]);
    let (_, calls, _) =
        cx.key_id_and_calls(&["brief", "--min-ttl", "10m", "--token-code", "123456"]);
    assert_eq!(
        actions(&calls),
        ["GetSessionToken", "AssumeRole", "AssumeRole"],
        "{calls:?}"
    );
    assert_eq!(calls[0]["DurationSeconds"], "900");
}

// ---------------------------------------------------------------------------------------------
// Broken entries, a broken index
// ---------------------------------------------------------------------------------------------

fn broken_entries_recover(store: Store) {
    let cx = StoreCx::new(store);
    let key = cx.cache_key("plain");
    let (mut current, _, _) = cx.key_id_and_calls(&["plain"]);
    let good = stored_secret(&cx, &key).expect("the entry after the first call");
    let truncated = good[..good.len() / 2].to_string();
    let mut junks = vec!["garbage", truncated.as_str(), r#"{"hello": "world"}"#];
    if store != Store::Keyutils {
        // (The kernel refuses an empty user key.)
        junks.push("");
    }
    for junk in junks {
        corrupt(&cx, &key, junk);
        let (id, calls, stderr) = cx.key_id_and_calls(&["plain"]);
        assert_eq!(
            actions(&calls),
            ["AssumeRole"],
            "{store:?}, entry {junk:?}: not a miss: {stderr}"
        );
        assert!(
            stderr.contains("ignoring"),
            "{store:?}, entry {junk:?}: no warning: {stderr}"
        );
        assert_ne!(id, current);
        // Good again.
        let (again, calls, stderr) = cx.key_id_and_calls(&["plain"]);
        assert!(calls.is_empty(), "{store:?}: {calls:?}");
        assert!(!stderr.contains("ignoring"), "{stderr}");
        assert_eq!(again, id);
        current = id;
    }
    // credential-process copes the same way.
    corrupt(&cx, &key, "garbage");
    let out = cx.run(&["credential-process", "plain"]);
    assert_success(&["credential-process", "plain"], &out);
    check_credential_process_json(&out.stdout);
    assert!(String::from_utf8_lossy(&out.stderr).contains("ignoring"));
}

#[test]
fn broken_file_entry_is_a_miss() {
    broken_entries_recover(Store::File);
}

#[test]
fn broken_secret_service_entry_is_a_miss() {
    broken_entries_recover(Store::SecretService);
}

#[test]
fn broken_keyutils_entry_is_a_miss() {
    broken_entries_recover(Store::Keyutils);
}

/// A corrupt entry (file store): one warning, success, and the entry is replaced.
#[test]
fn corrupt_cache_entry_is_a_miss_with_a_warning() {
    let cx = StoreCx::new(Store::File);
    let cache_home = cx.cache_home.clone();
    let cmd = || {
        let mut cmd = cx.cmd();
        cmd.arg("plain");
        cmd
    };
    succeed(&mut cmd());
    let entries = entry_files(&cache_home);
    assert_eq!(entries.len(), 1, "{entries:?}");
    for garbage in [
        &b"{\"version\": 1, \"trunc"[..],
        b"\xff\xfe garbage",
        b"",
        b"{\"version\": 99}",
    ] {
        std::fs::write(&entries[0], garbage).unwrap();
        let (_, stderr) = succeed(&mut cmd());
        assert_eq!(stderr.len(), 1, "one warning: {stderr:?}");
        assert!(
            stderr[0].contains("ignoring an unreadable cache entry"),
            "{stderr:?}"
        );
        all_entries_parse(&cache_home);
        let (_, stderr) = succeed(&mut cmd());
        assert!(stderr.is_empty(), "replaced, so a clean hit: {stderr:?}");
    }
}

/// A broken index (it only lists what is cached) does not stop `assume`, and `clear` still
/// removes what it is asked to: `clear PROFILE` and `clear --all` after the index was broken.
#[test]
fn broken_index_is_not_fatal() {
    let cx = StoreCx::new(Store::File);
    let index = cx.cache_dir().join("index.json");
    let (first, _, _) = cx.key_id_and_calls(&["plain"]);
    std::fs::write(&index, "{garbage").unwrap();
    let (id, calls, _) = cx.key_id_and_calls(&["plain"]);
    assert!(calls.is_empty(), "{calls:?}");
    assert_eq!(id, first);
    let out = cx.run(&["list", "--output", "json"]);
    assert_success(&["list"], &out);

    std::fs::write(&index, "{garbage").unwrap();
    cx.ok(&["clear", "plain"]);
    let (_, calls, _) = cx.key_id_and_calls(&["plain"]);
    assert_eq!(
        actions(&calls),
        ["AssumeRole"],
        "clear plain with a broken index"
    );

    std::fs::write(&index, "{garbage").unwrap();
    let stderr = cx.ok(&["clear", "--all"]);
    let (_, calls, _) = cx.key_id_and_calls(&["plain"]);
    assert_eq!(
        actions(&calls),
        ["AssumeRole"],
        "clear --all with a broken index left the cached credentials ({})",
        stderr.trim()
    );
}

// ---------------------------------------------------------------------------------------------
// A SIGKILLed lock holder
// ---------------------------------------------------------------------------------------------

/// `(inode, pid)` of each lock in /proc/locks (blocked waiters, `->`, excluded; an OFD lock
/// has pid -1).
fn held_locks() -> Vec<(u64, i64)> {
    let text = std::fs::read_to_string("/proc/locks").unwrap_or_default();
    text.lines()
        .filter(|l| !l.contains("->"))
        .filter_map(|l| {
            // "1: FLOCK  ADVISORY  WRITE 1234 00:2a:5678 0 EOF"
            let f: Vec<&str> = l.split_whitespace().collect();
            let pid = f.get(4)?.parse::<i64>().ok()?;
            let inode = f.get(5)?.rsplit(':').next()?.parse::<u64>().ok()?;
            Some((inode, pid))
        })
        .collect()
}

/// Inodes of the files under `$XDG_CACHE_HOME/assume/locks/`.
fn lock_inodes(cx: &StoreCx) -> HashSet<u64> {
    files_under(&cx.cache_dir().join("locks"))
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.ino())
        .collect()
}

#[test]
fn a_killed_lock_holder_does_not_block() {
    let cx = StoreCx::new(Store::File);
    let pid_file = cx.env.root().join("pid");
    // The pane's sh writes its pid and becomes assume, which waits at the MFA prompt.
    let tmux = cx.tmux(&format!(
        "echo $$ >{}; exec assume admin >/dev/null 2>&1",
        pid_file.display()
    ));
    tmux.wait_for("MFA code for", WAIT);
    let pid: i64 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    assert!(
        String::from_utf8_lossy(&cmdline).contains("assume"),
        "pid {pid} is not assume"
    );

    // While it prompts it holds a lock on a file under locks/ (else there is no single flight).
    let held = harness::wait_until(WAIT, || {
        let inodes = lock_inodes(&cx);
        held_locks()
            .iter()
            .any(|(ino, p)| inodes.contains(ino) && (*p == pid || *p == -1))
    });
    assert!(
        held,
        "assume waiting at the MFA prompt holds no lock on a file under {}/locks (files: {:?})\n\
         /proc/locks:\n{}",
        cx.cache_dir().display(),
        files_under(&cx.cache_dir().join("locks")),
        std::fs::read_to_string("/proc/locks").unwrap_or_default()
    );
    let lock_files = files_under(&cx.cache_dir().join("locks"));
    let leaks = files_containing(cx.env.root(), &[MFA_SESSION_SECRET], |_| false);
    assert!(leaks.is_empty());
    for f in &lock_files {
        let text = std::fs::read_to_string(f).unwrap_or_default();
        assert!(
            !text.contains(&moto().keys("alice").1),
            "a lock file holds a secret: {}",
            f.display()
        );
    }

    // A second caller that starts while the lock is held, then the holder dies by SIGKILL.
    let waiter = cx
        .std_cmd()
        .args(["credential-process", "admin", "--token-code", "123456"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let killed = Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    assert_eq!(tmux.wait_exit(WAIT), 128 + 9);

    let started = Instant::now();
    let mut waiter = waiter;
    let done = harness::wait_until(Duration::from_secs(10), || {
        waiter.try_wait().unwrap().is_some()
    });
    if !done {
        let _ = waiter.kill();
    }
    let out = waiter.wait_with_output().unwrap();
    assert!(
        done,
        "the waiting caller was still blocked 10 s after the holder was killed"
    );
    assert_success(&["credential-process", "admin"], &out);
    let waited = check_credential_process_json(&out.stdout);

    // And a fresh caller is not blocked either (it hits what the waiter cached).
    let (id, calls, _) = cx.key_id_and_calls(&["admin", "--token-code", "123456"]);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
    assert!(calls.is_empty(), "{calls:?}");
    assert_eq!(waited["AccessKeyId"].as_str(), Some(id.as_str()));
}

// ---------------------------------------------------------------------------------------------
// A failed refresh keeps the old entry
// ---------------------------------------------------------------------------------------------

/// A refresh that fails because STS is unreachable: exit 5, and the old entry is still served
/// afterwards.
///
/// Two ways to make STS unreachable. (a) As a user would see it: `AWS_ENDPOINT_URL` to a closed
/// port. The endpoint is part of the cache key, so that call is a miss for another key; the
/// entry made through the working endpoint must survive it. (b) The same key: the entry is made
/// through a forwarder on its own port, then the forwarder closes every connection, so the
/// refresh really is of that entry.
#[test]
fn failed_refresh_keeps_the_old_entry() {
    let cx = StoreCx::new(Store::File);
    let key = cx.cache_key("admin");

    // (a)
    let (first, calls, _) = cx.key_id_and_calls(&["admin", "--token-code", "123456"]);
    assert_eq!(actions(&calls), ["GetSessionToken", "AssumeRole"]);
    let entry = std::fs::read(cx.entry_path(&key)).unwrap();
    let out = cx
        .cmd()
        .args(["admin", "--token-code", "123456"])
        .env("AWS_ENDPOINT_URL", refused_endpoint())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(5), "{stderr}");
    assert!(out.stdout.is_empty());
    let (id, calls, _) = cx.key_id_and_calls(&["admin"]);
    assert!(calls.is_empty(), "{calls:?}");
    assert_eq!(id, first);
    assert_eq!(std::fs::read(cx.entry_path(&key)).unwrap(), entry);

    // (b)
    let fwd = FakeServer::start(Mode::Forward(proxy_port(&cx.env)));
    let endpoint = fwd.endpoint();
    let mut cmd = cx.cmd();
    cmd.env("AWS_ENDPOINT_URL", &endpoint);
    let (cached, calls, _) =
        cx.key_id_and_calls_with(&mut cmd, &["admin", "--token-code", "123456"]);
    assert_eq!(actions(&calls).last(), Some(&"AssumeRole"), "{calls:?}");
    assert_ne!(cached, first, "another endpoint is another entry");
    // Time passes: 20 min left, so a 30 min minimum asks for a refresh of this very entry.
    let out = cx
        .cmd()
        .args(["explain", "admin", "--output", "json"])
        .env("AWS_ENDPOINT_URL", &endpoint)
        .output()
        .unwrap();
    let explained: Value = serde_json::from_slice(&out.stdout).unwrap();
    let forwarded = cx.entry_path(explained["cache_key"].as_str().unwrap());
    harness::age_file_entry(&forwarded, 20 * 60);
    let aged = std::fs::read(&forwarded).unwrap();
    fwd.set(Mode::Close);
    let mut probe = TcpStream::connect(("127.0.0.1", fwd.port)).unwrap();
    probe
        .set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .unwrap();
    assert_eq!(
        std::io::Read::read(&mut probe, &mut [0; 1]).unwrap_or(0),
        0,
        "the forwarder still answers"
    );
    for args in [
        vec!["admin", "--min-ttl", "30m", "--token-code", "123456"],
        vec!["admin", "--min-ttl", "30m"],
    ] {
        let out = cx
            .cmd()
            .args(&args)
            .env("AWS_ENDPOINT_URL", &endpoint)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(5), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty());
        assert_eq!(std::fs::read(&forwarded).unwrap(), aged, "{args:?}");
    }
    // Default min TTL, STS still unreachable: the old entry.
    let mut cmd = cx.cmd();
    cmd.env("AWS_ENDPOINT_URL", &endpoint);
    let (vars, stderr) = cx.exports_with(&mut cmd, &["admin"]);
    assert_eq!(vars["AWS_ACCESS_KEY_ID"], cached, "{stderr}");
}

// ---------------------------------------------------------------------------------------------
// A cache directory that is not this user's alone; leftovers in staging/
// ---------------------------------------------------------------------------------------------

/// What a planted entry hands out; never to be exported.
const PLANTED_KEY_ID: &str = "ASIAPLANTEDBYANOTHER";

/// A well-formed entry, as the file store writes them, with credentials nobody got from STS.
fn planted_entry() -> String {
    let now = harness::unix_now();
    serde_json::json!({
        "version": 1,
        "kind": "role",
        "profile": "plain",
        "access_key_id": PLANTED_KEY_ID,
        "secret_access_key": "planted-secret",
        "session_token": "planted-token",
        "expires_at": now + 86_400,
        "written_at": now - 60,
    })
    .to_string()
}

/// `dir` (mode 0700) with `entries/KEY.json` a planted entry and a `fallback` marker that
/// sends automatic mode to the file store.
fn plant(dir: &Path, key: &str) {
    std::fs::create_dir_all(dir.join("entries")).unwrap();
    std::fs::write(
        dir.join("entries").join(format!("{key}.json")),
        planted_entry(),
    )
    .unwrap();
    std::fs::write(dir.join("fallback"), "file").unwrap();
    for d in [dir.to_path_buf(), dir.join("entries")] {
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o700)).unwrap();
    }
}

fn is_root() -> bool {
    let out = Command::new("id").arg("-u").output().expect("run id");
    String::from_utf8_lossy(&out.stdout).trim() == "0"
}

/// A second local user for one test, removed again on drop (also when the test fails).
struct OtherUser {
    name: String,
    uid: u32,
}

impl OtherUser {
    /// `None` (said on stderr) when this is not root: only root can add a user and hand it files.
    fn new() -> Option<OtherUser> {
        if !is_root() {
            eprintln!("skipped: not root");
            return None;
        }
        let name = format!("assume-{}", unique_suffix());
        // useradd locks /etc/passwd; a parallel test may hold that lock for a moment.
        let mut last = String::new();
        let added = harness::wait_until(Duration::from_secs(20), || {
            let out = Command::new("useradd")
                .args(["-M", "-s", "/usr/sbin/nologin", &name])
                .stdin(Stdio::null())
                .output()
                .expect("run useradd");
            last = String::from_utf8_lossy(&out.stderr).into_owned();
            out.status.success()
        });
        assert!(added, "useradd {name} failed: {last}");
        let mut user = OtherUser { name, uid: 0 };
        let out = Command::new("id")
            .args(["-u", &user.name])
            .output()
            .unwrap();
        user.uid = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
        Some(user)
    }

    /// Hands `path` and everything under it (links themselves, not what they point to) to
    /// this user.
    fn give(&self, path: &Path) {
        let owner = format!("{}:{}", self.name, self.name);
        let out = Command::new("chown")
            .args(["-hR", &owner])
            .arg(path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for OtherUser {
    fn drop(&mut self) {
        let _ = harness::wait_until(Duration::from_secs(20), || {
            Command::new("userdel")
                .arg(&self.name)
                .stdin(Stdio::null())
                .output()
                .is_ok_and(|out| out.status.success())
        });
    }
}

/// Exit 6, nothing on stdout, and one line (keyctl's own aside) `assume: WHAT…: remove it or
/// set XDG_CACHE_HOME to a private directory`.
fn assert_refused(out: &Output, what: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(6), "{what}: {stderr}");
    assert!(
        out.stdout.is_empty(),
        "{what}: stdout {}",
        String::from_utf8_lossy(&out.stdout)
    );
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| !l.starts_with("Joined session keyring"))
        .collect();
    assert_eq!(lines.len(), 1, "{what}: one line: {stderr}");
    assert!(
        lines[0].starts_with(&format!("assume: {what}")),
        "expected `assume: {what}…`: {stderr}"
    );
    assert!(
        lines[0].ends_with("remove it or set XDG_CACHE_HOME to a private directory"),
        "{stderr}"
    );
}

/// Entries planted in another user's cache directory (a shared XDG_CACHE_HOME, or root with
/// someone's HOME) are never used. With the file store forced, or left as the only store, that
/// is an error naming the directory and its owner; with a keyring to cache in, the directory
/// (and the fallback marker planted there to lead to the planted entry) is passed over, said.
#[test]
fn another_users_cache_directory_is_refused() {
    let Some(other) = OtherUser::new() else {
        return;
    };
    for store in [Store::File, Store::FileFallback] {
        let cx = StoreCx::new(store);
        let key = cx.cache_key("plain");
        plant(&cx.cache_dir(), &key);
        other.give(&cx.cache_dir());
        let calls = recorded_sts_calls(&cx.env, || {
            let out = cx.run(&["plain"]);
            assert_refused(
                &out,
                &format!(
                    "the cache directory {} is owned by uid {}",
                    cx.cache_dir().display(),
                    other.uid
                ),
            );
        });
        assert!(calls.is_empty(), "{store:?}: {calls:?}");
    }

    let cx = StoreCx::new(Store::SecretService);
    let key = cx.cache_key("plain");
    plant(&cx.cache_dir(), &key);
    other.give(&cx.cache_dir());
    let (id, calls, stderr) = cx.key_id_and_calls(&["plain"]);
    assert_ne!(id, PLANTED_KEY_ID, "the planted entry was used: {stderr}");
    assert_eq!(actions(&calls), ["AssumeRole"], "{stderr}");
    assert!(
        stderr.contains(&format!(
            "assume: the cache directory {} is owned by uid {}",
            cx.cache_dir().display(),
            other.uid
        )),
        "not said: {stderr}"
    );
    assert!(secret_service_lookup(&key).is_some_and(|s| s.contains(&id)));
    let (again, calls, _) = cx.key_id_and_calls(&["plain"]);
    assert!(calls.is_empty(), "{calls:?}");
    assert_eq!(again, id);
}

/// A cache directory that others can write (a careless chmod, a shared directory) is refused,
/// whatever it holds. A world-writable sticky XDG_CACHE_HOME (as /tmp is) is fine: the
/// directory `assume` makes in it is its own, 0700, and so are the parents it makes.
#[test]
fn cache_directory_writable_by_others_is_refused() {
    for mode in [0o777, 0o770, 0o703] {
        let cx = StoreCx::new(Store::File);
        let key = cx.cache_key("plain");
        plant(&cx.cache_dir(), &key);
        std::fs::set_permissions(cx.cache_dir(), std::fs::Permissions::from_mode(mode)).unwrap();
        let calls = recorded_sts_calls(&cx.env, || {
            let out = cx.run(&["plain"]);
            assert_refused(
                &out,
                &format!(
                    "the cache directory {} is writable by others (mode {mode:o})",
                    cx.cache_dir().display()
                ),
            );
        });
        assert!(calls.is_empty(), "{mode:o}: {calls:?}");
        // Not "fixed" behind the user's back either.
        assert_eq!(mode_of(&cx.cache_dir()), mode);
    }

    let cx = StoreCx::new(Store::File);
    std::fs::create_dir_all(&cx.cache_home).unwrap();
    std::fs::set_permissions(&cx.cache_home, std::fs::Permissions::from_mode(0o1777)).unwrap();
    let (first, calls, _) = cx.key_id_and_calls(&["plain"]);
    assert_eq!(actions(&calls), ["AssumeRole"]);
    assert_eq!(mode(&cx.cache_dir()), 0o700);
    let (again, calls, _) = cx.key_id_and_calls(&["plain"]);
    assert!(calls.is_empty(), "{calls:?}");
    assert_eq!(again, first);

    let cx = StoreCx::new(Store::File);
    let mut cmd = cx.cmd();
    let deep = cx.env.root().join("made").join("by").join("assume");
    cmd.env("XDG_CACHE_HOME", &deep);
    cx.key_id_and_calls_with(&mut cmd, &["plain"]);
    for dir in [
        cx.env.root().join("made"),
        cx.env.root().join("made").join("by"),
        deep.clone(),
        deep.join("assume"),
    ] {
        assert_eq!(mode(&dir), 0o700, "{}", dir.display());
    }
}

/// The permission bits with the sticky bit (`mode` masks it off).
fn mode_of(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

/// No link in the cache directory is followed: `entries`, `locks`, `staging`, `index.json` or
/// `fallback` as a symbolic link to something elsewhere is refused, naming it, before any STS
/// call, and what it points to stays as it was (not read from, written, chmodded).
#[test]
fn links_in_the_cache_directory_are_refused() {
    for store in [Store::File, Store::FileFallback] {
        for name in ["entries", "locks", "staging", "index.json", "fallback"] {
            let cx = StoreCx::new(store);
            let key = cx.cache_key("plain");
            let dir = cx.cache_dir();
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
            let victim = cx.env.root().join("victim");
            let is_dir = !name.contains('.') && name != "fallback";
            if is_dir {
                std::fs::create_dir(&victim).unwrap();
                std::fs::write(victim.join(format!("{key}.json")), planted_entry()).unwrap();
                std::fs::set_permissions(&victim, std::fs::Permissions::from_mode(0o755)).unwrap();
            } else {
                std::fs::write(&victim, "victim\n").unwrap();
                std::fs::set_permissions(&victim, std::fs::Permissions::from_mode(0o644)).unwrap();
            }
            let before: Vec<PathBuf> = files_under(&victim);
            std::os::unix::fs::symlink(&victim, dir.join(name)).unwrap();
            let calls = recorded_sts_calls(&cx.env, || {
                let out = cx.run(&["plain"]);
                let what = if is_dir {
                    format!(
                        "the cache directory {}/{name} is a symbolic link",
                        dir.display()
                    )
                } else {
                    format!("the cache file {}/{name} is a symbolic link", dir.display())
                };
                assert_refused(&out, &what);
            });
            assert!(calls.is_empty(), "{store:?} {name}: {calls:?}");
            if is_dir {
                assert_eq!(
                    mode(&victim),
                    0o755,
                    "{store:?} {name}: chmodded what it points to"
                );
                assert_eq!(files_under(&victim), before, "{store:?} {name}");
                assert_eq!(
                    std::fs::read_to_string(victim.join(format!("{key}.json"))).unwrap(),
                    std::fs::read_to_string(&before[0]).unwrap()
                );
            } else {
                assert_eq!(mode(&victim), 0o644, "{store:?} {name}");
                assert_eq!(
                    std::fs::read_to_string(&victim).unwrap(),
                    "victim\n",
                    "{store:?} {name}: wrote through the link"
                );
            }
            assert!(
                std::fs::symlink_metadata(dir.join(name))
                    .unwrap()
                    .file_type()
                    .is_symlink(),
                "{store:?} {name}: the link was replaced"
            );
        }
    }
}

/// An entry that is not a small regular file of this user's is not read: a FIFO (a reader
/// would block forever), a link to /dev/zero (endless) or to an entry elsewhere, a sparse
/// 8 GiB file. Each is a miss with a warning, and the refresh puts a real entry in its place.
/// `assume` runs under a 2 GiB address-space limit, so a reader that tried anyway fails here
/// instead of eating the machine's memory.
#[test]
fn entries_that_are_not_small_regular_files_are_not_read() {
    let cx = StoreCx::new(Store::File);
    let key = cx.cache_key("plain");
    let entry = cx.entry_path(&key);
    cx.ok(&["plain"]);
    let elsewhere = cx.env.root().join("elsewhere.json");
    let planted = planted_entry();
    std::fs::write(&elsewhere, &planted).unwrap();
    for what in [
        "a FIFO",
        "a link to /dev/zero",
        "a link to an entry elsewhere",
        "a sparse 8 GiB file",
    ] {
        std::fs::remove_file(&entry).unwrap();
        match what {
            "a FIFO" => {
                let made = Command::new("mkfifo").arg(&entry).status().unwrap();
                assert!(made.success());
            }
            "a link to /dev/zero" => std::os::unix::fs::symlink("/dev/zero", &entry).unwrap(),
            "a link to an entry elsewhere" => {
                std::os::unix::fs::symlink(&elsewhere, &entry).unwrap()
            }
            _ => std::fs::File::create(&entry)
                .unwrap()
                .set_len(8 << 30)
                .unwrap(),
        }
        let mut out = None;
        let calls = recorded_sts_calls(&cx.env, || {
            let mut cmd = assert_cmd::Command::new("sh");
            cmd.args(["-c", "ulimit -v 2097152 && exec \"$0\" \"$@\""])
                .arg(assume_bin())
                .arg("plain")
                .env_clear()
                .envs(cx.vars())
                .current_dir(cx.env.home())
                .timeout(Duration::from_secs(20));
            out = Some(cmd.output().unwrap());
        });
        let out = out.unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_success(&["plain"], &out);
        assert!(
            !String::from_utf8_lossy(&out.stdout).contains(PLANTED_KEY_ID),
            "{what}: the entry it points to was used"
        );
        assert!(
            stderr.contains("ignoring an unreadable cache entry"),
            "{what}: no warning: {stderr}"
        );
        assert_eq!(actions(&calls), ["AssumeRole"], "{what}: {stderr}");
        let meta = std::fs::symlink_metadata(&entry).unwrap();
        assert!(meta.file_type().is_file(), "{what}: not replaced");
        assert!(meta.len() < 4096, "{what}: not replaced");
        let (_, calls, _) = cx.key_id_and_calls(&["plain"]);
        assert!(calls.is_empty(), "{what}: {calls:?}");
    }
    assert_eq!(std::fs::read_to_string(&elsewhere).unwrap(), planted);
}

/// The second look, after waiting for another refresh's lock, opens the directory afresh: an
/// `entries/` swapped for a link to planted entries while this caller waited is refused, not
/// read through a store opened before.
#[test]
fn the_look_after_the_lock_checks_the_directory_again() {
    let cx = StoreCx::new(Store::File);
    let key = cx.cache_key("plain");
    let dir = cx.cache_dir();
    let locks = dir.join("locks");
    std::fs::create_dir_all(&locks).unwrap();
    for d in [&dir, &locks] {
        std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o700)).unwrap();
    }
    // This test holds the refresh lock, as another `assume` would.
    let lock = std::fs::File::create(locks.join(format!("{key}.lock"))).unwrap();
    lock.lock().unwrap();
    let mut child = cx
        .std_cmd()
        .args(["-v", "plain"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (lines, seen) = std::sync::mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    let reader = thread::spawn(move || {
        use std::io::BufRead;
        let mut all = Vec::new();
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            let _ = lines.send(line.clone());
            all.push(line);
        }
        all
    });
    let waiting = harness::poll_until(WAIT, || {
        seen.try_iter()
            .any(|line| line.contains("waiting for it"))
            .then_some(())
    });
    if waiting.is_none() {
        let _ = child.kill();
    }
    assert!(waiting.is_some(), "never waited for the lock");

    // While it waits: entries/ becomes a link to a directory of planted entries.
    let planted = cx.env.root().join("planted");
    std::fs::create_dir(&planted).unwrap();
    std::fs::write(planted.join(format!("{key}.json")), planted_entry()).unwrap();
    std::fs::rename(dir.join("entries"), dir.join("entries-before")).unwrap();
    std::os::unix::fs::symlink(&planted, dir.join("entries")).unwrap();
    drop(lock);

    let done = harness::wait_until(RUN_TIMEOUT, || child.try_wait().unwrap().is_some());
    if !done {
        let _ = child.kill();
    }
    let out = child.wait_with_output().unwrap();
    let stderr = reader.join().unwrap().join("\n");
    assert!(done, "still running after the lock was released: {stderr}");
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains(PLANTED_KEY_ID),
        "the planted entry was used: {stderr}"
    );
    assert_eq!(out.status.code(), Some(6), "{stderr}");
    assert!(out.stdout.is_empty());
    let last = stderr.lines().last().unwrap_or_default();
    assert_eq!(
        last,
        format!(
            "assume: the cache directory {}/entries is a symbolic link: remove it or set \
             XDG_CACHE_HOME to a private directory",
            dir.display()
        ),
        "{stderr}"
    );
}

/// A writer killed between writing and renaming leaves its file in `staging/`: each write
/// sweeps the ones older than a minute (a younger one may be another writer's, still at work),
/// and `clear --all` removes them all.
#[test]
fn stale_staging_files_are_swept() {
    let cx = StoreCx::new(Store::File);
    cx.ok(&["plain"]);
    let staging = cx.cache_dir().join("staging");
    assert!(staging.is_dir(), "no {}", staging.display());
    let stale = staging.join("left-behind");
    let fresh = staging.join("in-progress");
    for file in [&stale, &fresh] {
        std::fs::write(file, planted_entry()).unwrap();
    }
    let ten_minutes_ago = std::time::SystemTime::now() - Duration::from_secs(600);
    std::fs::File::options()
        .write(true)
        .open(&stale)
        .unwrap()
        .set_modified(ten_minutes_ago)
        .unwrap();

    // A hit writes nothing, so sweeps nothing.
    cx.ok(&["plain"]);
    assert!(stale.exists());
    // A write does.
    cx.ok(&["clear", "plain"]);
    let (_, calls, _) = cx.key_id_and_calls(&["plain"]);
    assert_eq!(actions(&calls), ["AssumeRole"]);
    assert!(!stale.exists(), "a stale staging file survived a write");
    assert!(
        fresh.exists(),
        "a young staging file (another writer's?) was swept"
    );

    cx.ok(&["clear", "--all"]);
    assert_eq!(
        files_under(&staging),
        Vec::<PathBuf>::new(),
        "clear --all left them"
    );
}

// ---------------------------------------------------------------------------------------------
// A clock that cannot be trusted
// ---------------------------------------------------------------------------------------------

/// `assume ARGS` under libfaketime's clock `spec` (`faketime`, Debian package faketime).
fn faketime(cx: &StoreCx, spec: &str) -> assert_cmd::Command {
    assert!(
        Command::new("faketime").arg("--help").output().is_ok(),
        "faketime is missing (Debian: apt-get install faketime; scripts/test installs it)"
    );
    let mut cmd = assert_cmd::Command::new("faketime");
    cmd.args(["-f", spec])
        .arg(assume_bin())
        .env_clear()
        .envs(cx.vars())
        .env("FAKETIME_DONT_FAKE_MONOTONIC", "1")
        .current_dir(cx.env.home())
        .timeout(RUN_TIMEOUT);
    cmd
}

/// Reuse is decided by the clock, so a clock that cannot be trusted reuses nothing. Set back
/// to before an entry was written, the entry would look younger than it is and be used past its
/// real expiry; before 1970, every entry would look valid. Both are a miss, said under -v.
#[test]
fn a_clock_set_back_reuses_nothing() {
    let cx = StoreCx::new(Store::File);
    let (first, calls, _) = cx.key_id_and_calls(&["plain"]);
    assert_eq!(actions(&calls), ["AssumeRole"]);

    let (after, calls, stderr) =
        cx.key_id_and_calls_with(&mut faketime(&cx, "-1h"), &["-v", "plain"]);
    assert_eq!(
        actions(&calls),
        ["AssumeRole"],
        "an hour back: reused: {stderr}"
    );
    assert_ne!(after, first);
    assert!(stderr.contains("clock"), "-v says why: {stderr}");
    // The entry written then is used again once the clock is right (it was written before now).
    let (again, calls, _) = cx.key_id_and_calls(&["plain"]);
    assert!(calls.is_empty(), "{calls:?}");
    assert_eq!(again, after);

    let out = faketime(&cx, "@1969-12-31 12:00:00")
        .args(["-v", "plain"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains(&after),
        "before 1970: reused: {stderr}"
    );
    assert!(stderr.contains("1970"), "-v says why: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}
