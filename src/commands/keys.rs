//! `assume keys add|import|list|remove|rotate`: IAM users' long-term keys in the vault
//! (the OS keyring, or an encrypted file), never in a plaintext file.

use serde::Serialize;
use zeroize::Zeroizing;

use crate::cache::{Cache, EntryKind, Mode};
use crate::cli::{
    KeysAddArgs, KeysArgs, KeysCommand, KeysImportArgs, KeysListArgs, KeysRemoveArgs,
    KeysRotateArgs, Output,
};
use crate::config::{Env, Loaded, Overrides};
use crate::credentials::{mfa_key, role_key};
use crate::error::{Error, Result};
use crate::vault::{self, Keys, Vault};

mod rotate;

pub fn run(args: KeysArgs, env: &Env) -> Result<()> {
    match args.command {
        KeysCommand::Add(args) => add(&args, env),
        KeysCommand::Import(args) => import(&args, env),
        KeysCommand::List(args) => list(&args, env),
        KeysCommand::Remove(args) => remove(&args, env),
        KeysCommand::Rotate(args) => rotate(&args, env),
    }
}

/// The line another tool's profile needs to get the keys through `assume`.
pub fn credential_process_line(profile: &str) -> String {
    format!("credential_process = assume credential-process {profile}")
}

/// A profile name that fits in a section header and on a `credential_process` line.
pub fn check_profile_name(profile: &str) -> Result<()> {
    let bad = profile.is_empty()
        || profile.chars().any(|c| {
            c.is_whitespace()
                || c.is_control()
                || matches!(
                    c,
                    '[' | ']' | '#' | ';' | '=' | '\'' | '"' | '\\' | '$' | '`'
                )
        });
    if bad {
        return Err(Error::Usage(format!(
            "'{}' is not a profile name for the vault: use letters, digits and - _ . @ + /",
            crate::message::clean(profile)
        )));
    }
    Ok(())
}

/// Checks the shapes of an access key id and its secret (never quoting the secret).
pub fn check_keys(keys: &Keys) -> Result<()> {
    let id = &keys.access_key_id;
    if !(16..=128).contains(&id.len())
        || !id
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    {
        return Err(Error::Usage(format!(
            "'{}' is not an access key id: it is 16 to 128 capital letters and digits, like AKIAIOSFODNN7EXAMPLE",
            crate::message::clean(id)
        )));
    }
    let secret = &keys.secret_access_key;
    if !(16..=128).contains(&secret.len()) || !secret.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(Error::Usage(format!(
            "the secret access key for {id} is not one: it is 40 letters, digits, + and / ({} characters were given)",
            secret.chars().count()
        )));
    }
    if let Some(token) = &keys.session_token
        && (token.is_empty() || !token.bytes().all(|b| b.is_ascii_graphic()))
    {
        return Err(Error::Usage(format!(
            "the session token for {id} is not one: it is printable characters without spaces"
        )));
    }
    Ok(())
}

/// The keys from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (/ AWS_SESSION_TOKEN).
fn keys_from_env(env: &Env) -> Result<Keys> {
    match (env.get("AWS_ACCESS_KEY_ID"), env.get("AWS_SECRET_ACCESS_KEY")) {
        (Some(id), Some(secret)) => Ok(Keys {
            access_key_id: id.trim().to_string(),
            secret_access_key: Zeroizing::new(secret.trim().to_string()),
            session_token: env
                .get("AWS_SESSION_TOKEN")
                .map(|token| Zeroizing::new(token.trim().to_string())),
        }),
        (Some(_), None) => Err(Error::Usage(
            "--env: AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not: set both".into(),
        )),
        (None, Some(_)) => Err(Error::Usage(
            "--env: AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not: set both".into(),
        )),
        (None, None) => Err(Error::Usage(
            "--env: neither AWS_ACCESS_KEY_ID nor AWS_SECRET_ACCESS_KEY is set: set both, or leave out --env to be asked".into(),
        )),
    }
}

/// The keys asked on the terminal, the secret not echoed.
fn keys_from_terminal(profile: &str) -> Result<Keys> {
    let Some(term) = crate::mfa::terminal() else {
        return Err(Error::Usage(format!(
            "there is no terminal to ask for the keys of profile '{profile}' on: use --env with AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
        )));
    };
    let unreadable = |e: dialoguer::Error| Error::Usage(format!("could not read the keys: {e}"));
    let id: String = dialoguer::Input::new()
        .with_prompt(format!("Access key id for {profile}"))
        .report(false)
        .interact_text_on(&term)
        .map_err(unreadable)?;
    let secret = dialoguer::Password::new()
        .with_prompt(format!("Secret access key for {profile}"))
        .report(false)
        .interact_on(&term)
        .map(Zeroizing::new)
        .map_err(unreadable)?;
    Ok(Keys {
        access_key_id: id.trim().to_string(),
        secret_access_key: Zeroizing::new(secret.trim().to_string()),
        session_token: None,
    })
}

pub fn add(args: &KeysAddArgs, env: &Env) -> Result<()> {
    let profile = args.profile.as_str();
    check_profile_name(profile)?;
    // The config is read first, so that a broken one stops before any key is asked.
    let loaded = Loaded::load(env)?;
    let keys = if args.env {
        keys_from_env(env)?
    } else {
        keys_from_terminal(profile)?
    };
    check_keys(&keys)?;
    let mut vault = Vault::open(env)?;
    vault.put(profile, &keys, false)?;
    crate::say!(
        "stored the keys {} of profile '{profile}' in {}",
        keys.access_key_id,
        vault.kind().describe()
    );
    tell_config(&loaded, profile, args.add_config)
}

/// Adds the `credential_process` line (`--add-config`), or says which line to add.
pub fn tell_config(loaded: &Loaded, profile: &str, add_config: bool) -> Result<()> {
    let line = credential_process_line(profile);
    let path = loaded.locations.config.as_str();
    if !add_config {
        crate::say!(
            "for other tools and the AWS SDKs, add `{line}` to [profile {profile}] in {path} (or rerun with --add-config)"
        );
        return Ok(());
    }
    let text = match std::fs::read(path) {
        Ok(bytes) => String::from_utf8(bytes).map_err(|_| {
            Error::Config(crate::config::ConfigError::Unreadable {
                path: path.to_string(),
                reason: "it is not UTF-8 text; save it as UTF-8".into(),
            })
        })?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => {
            return Err(Error::Config(crate::config::ConfigError::Unreadable {
                path: path.to_string(),
                reason: e.to_string(),
            }));
        }
    };
    match with_credential_process(&text, profile) {
        Edit::Changed(new) => {
            crate::config::edit::replace_file(std::path::Path::new(path), &new)
                .map_err(|e| Error::Internal(format!("cannot write {path}: {e}")))?;
            crate::say!("added `{line}` to [profile {profile}] in {path}");
        }
        Edit::Already => crate::say!("[profile {profile}] in {path} already has `{line}`"),
        Edit::Other(value) => crate::say!(
            "[profile {profile}] in {path} has `credential_process = {value}`, left as it is: other tools get their keys from that; replace it with `{line}` for them to use the vault"
        ),
    }
    Ok(())
}

/// What adding the `credential_process` line to a config file's text comes to.
#[derive(Debug, PartialEq, Eq)]
pub enum Edit {
    /// The new text: every other byte as it was.
    Changed(String),
    /// The line is there already.
    Already,
    /// The profile has another `credential_process`, this one.
    Other(String),
}

/// The profile `name` of a config file section header line (`[profile NAME]`, `[default]`).
fn header_profile(line: &str) -> Option<&str> {
    let inner = line.trim().strip_prefix('[')?;
    let inner = inner[..inner.find(']')?].trim();
    if inner == "default" {
        return Some(inner);
    }
    let rest = inner.strip_prefix("profile")?;
    rest.starts_with([' ', '\t']).then(|| rest.trim())
}

/// `text` with `credential_process = assume credential-process PROFILE` in the profile's
/// section (after its last line), or a new `[profile PROFILE]` section at the end.
pub fn with_credential_process(text: &str, profile: &str) -> Edit {
    let newline = if text.contains("\r\n") { "\r\n" } else { "\n" };
    let value = format!("assume credential-process {profile}");
    let line = format!("credential_process = {value}");
    // Each line with its offset; lines keep their endings.
    let mut lines = Vec::new();
    let mut offset = 0;
    for piece in text.split_inclusive('\n') {
        lines.push((offset, piece));
        offset += piece.len();
    }
    let start = lines
        .iter()
        .position(|(_, line)| header_profile(line).is_some_and(|name| name == profile));
    let Some(start) = start else {
        let mut new = text.to_string();
        if !new.is_empty() && !new.ends_with('\n') {
            new.push_str(newline);
        }
        if !new.is_empty() && !new.ends_with(&format!("{newline}{newline}")) {
            new.push_str(newline);
        }
        let header = if profile == "default" {
            "[default]".to_string()
        } else {
            format!("[profile {profile}]")
        };
        new.push_str(&format!("{header}{newline}{line}{newline}"));
        return Edit::Changed(new);
    };
    let end = lines[start + 1..]
        .iter()
        .position(|(_, line)| line.trim_start().starts_with('['))
        .map_or(lines.len(), |at| start + 1 + at);
    for (_, existing) in &lines[start + 1..end] {
        if let Some((key, existing_value)) = existing.split_once('=')
            && key.trim().eq_ignore_ascii_case("credential_process")
        {
            let existing_value = existing_value.trim();
            return if existing_value == value {
                Edit::Already
            } else {
                Edit::Other(existing_value.to_string())
            };
        }
    }
    // After the section's last line that is not blank.
    let last = (start..end)
        .rev()
        .find(|at| !lines[*at].1.trim().is_empty())
        .unwrap_or(start);
    let (at, piece) = lines[last];
    let insert_at = at + piece.len();
    let mut new = String::with_capacity(text.len() + line.len() + 2);
    new.push_str(&text[..insert_at]);
    if !piece.ends_with('\n') {
        new.push_str(newline);
    }
    new.push_str(&line);
    new.push_str(newline);
    new.push_str(&text[insert_at..]);
    Edit::Changed(new)
}

#[derive(Serialize)]
struct Row {
    profile: String,
    access_key_id: String,
    store: vault::VaultKind,
    added_at: String,
    rotated_at: Option<String>,
}

fn timestamp(seconds: u64) -> String {
    humantime::format_rfc3339_seconds(
        std::time::UNIX_EPOCH + std::time::Duration::from_secs(seconds),
    )
    .to_string()
}

pub fn list(args: &KeysListArgs, env: &Env) -> Result<()> {
    let rows: Vec<Row> = vault::index(env)
        .into_iter()
        .map(|(profile, listed)| Row {
            profile,
            access_key_id: listed.access_key_id,
            store: listed.store,
            added_at: timestamp(listed.added_at),
            rotated_at: listed.rotated_at.map(timestamp),
        })
        .collect();
    let text = match args.output {
        Output::Json => return super::emit_json(&rows),
        Output::Text => {
            if rows.is_empty() {
                crate::say!("no keys in the vault: add some with `assume keys add PROFILE`");
                return Ok(());
            }
            let width = rows
                .iter()
                .map(|row| row.profile.len())
                .max()
                .unwrap_or(7)
                .max(7);
            let mut text = format!(
                "{:width$}  {:20}  {:7}  {:20}  {}\n",
                "PROFILE", "ACCESS KEY ID", "STORE", "ADDED", "ROTATED"
            );
            for row in &rows {
                text.push_str(&format!(
                    "{:width$}  {:20}  {:7}  {:20}  {}\n",
                    row.profile,
                    row.access_key_id,
                    row.store.name(),
                    row.added_at,
                    row.rotated_at.as_deref().unwrap_or("-")
                ));
            }
            text
        }
    };
    super::emit(&text)
}

pub fn remove(args: &KeysRemoveArgs, env: &Env) -> Result<()> {
    let profile = args.profile.as_str();
    let listed = vault::index(env).get(profile).cloned();
    let Some(listed) = listed else {
        return Err(Error::Usage(format!(
            "profile '{}' has no keys in the vault: `assume keys list` shows the ones that do",
            crate::message::clean(profile)
        )));
    };
    // What was cached from these keys, found before they go: every profile whose chain
    // starts from this one.
    let cached = cached_from(env, profile);
    let mut vault = Vault::open(env)?;
    vault.remove(profile)?;
    let mut cache = Cache::new(Mode::from_env(env, false)?, env);
    let removed = cache.forget(&cached, false)?;
    crate::say!(
        "removed the keys {} of profile '{profile}' from {}, and {removed} cached entries made with them",
        listed.access_key_id,
        listed.store.describe()
    );
    Ok(())
}

/// The cache keys of everything obtained with `profile`'s keys: the role credentials of
/// every profile whose chain starts from it, and its MFA sessions.
fn cached_from(env: &Env, profile: &str) -> Vec<String> {
    let Ok(mode) = Mode::from_env(env, false) else {
        return Vec::new();
    };
    let index = Cache::new(mode, env).index();
    let mut keys: Vec<String> = index
        .iter()
        .filter(|(_, entry)| entry.kind == EntryKind::MfaSession && entry.profile == profile)
        .map(|(key, _)| key.clone())
        .collect();
    if let Ok(loaded) = Loaded::load(env) {
        for name in loaded.profiles.profiles.keys() {
            let Ok(plan) = super::plan_of(&loaded, name, &Overrides::default(), env) else {
                continue;
            };
            if plan.base.profile() != profile {
                continue;
            }
            keys.extend(
                index
                    .iter()
                    .filter(|(_, entry)| entry.kind == EntryKind::Role && entry.profile == *name)
                    .map(|(key, _)| key.clone()),
            );
            keys.push(role_key(&plan));
            keys.extend(mfa_key(&plan));
        }
    }
    keys.sort();
    keys.dedup();
    keys
}

/// `keys import`: the static keys of the two files into the vault, then out of the files.
/// Every profile is checked before anything changes; the vault is written and read back
/// before a file is rewritten, so a failure in between leaves keys in both places (and says
/// so), never in neither.
pub fn import(args: &KeysImportArgs, env: &Env) -> Result<()> {
    let loaded = Loaded::load(env)?;
    let files = ImportFile::read_both(&loaded)?;
    let profiles: Vec<String> = if args.profiles.is_empty() {
        let all: Vec<String> = loaded
            .profiles
            .profiles
            .values()
            .filter(|section| has_static_keys(section))
            .map(|section| section.name.clone())
            .collect();
        if all.is_empty() {
            crate::say!(
                "no profile has static keys in {} or {}: nothing to import",
                loaded.locations.credentials,
                loaded.locations.config
            );
            return Ok(());
        }
        all
    } else {
        let mut named: Vec<String> = Vec::new();
        for profile in &args.profiles {
            if !named.contains(profile) {
                named.push(profile.clone());
            }
        }
        named
    };
    let index = vault::index(env);
    let mut imports: Vec<(&str, Keys)> = Vec::new();
    for profile in &profiles {
        check_profile_name(profile)?;
        let keys = static_keys_of(&loaded, &files, profile)?;
        if let Some(listed) = index.get(profile.as_str())
            && listed.access_key_id != keys.access_key_id
        {
            return Err(Error::Usage(format!(
                "profile '{profile}' already has the keys {} in {}, not the {} of the files: \
                 `assume keys remove {profile}` first to replace them; nothing was changed",
                listed.access_key_id,
                listed.store.describe(),
                keys.access_key_id
            )));
        }
        imports.push((profile.as_str(), keys));
    }
    if args.profiles.is_empty() && !args.yes && !confirm_import(&profiles, &loaded)? {
        crate::say!("nothing was imported");
        return Ok(());
    }

    let mut vault = Vault::open(env)?;
    let store = vault.kind().describe();
    let names: Vec<&str> = imports.iter().map(|(profile, _)| *profile).collect();
    let again = format!("`assume keys import {}`", names.join(" "));
    for (done, (profile, keys)) in imports.iter().enumerate() {
        if let Err(err) = store_and_check(&mut vault, profile, keys) {
            if done > 0 {
                crate::say!(
                    "the keys of {} are in {store} and still in the files: run {again} again to finish",
                    names[..done].join(", ")
                );
            }
            return Err(err);
        }
    }

    for file in &files {
        let Some(text) = &file.text else { continue };
        let held: Vec<&str> = names
            .iter()
            .copied()
            .filter(|name| file.profiles.profile(name).is_some_and(has_static_keys))
            .collect();
        if held.is_empty() {
            continue;
        }
        let in_both = |why: String| {
            Error::Internal(format!(
                "the keys of {} are in {store} but still in {path}: {why}; run {again} again, \
                 or remove their lines from {path} by hand",
                held.join(", "),
                path = file.path
            ))
        };
        // Someone may have edited the file meanwhile; that edit is not overwritten.
        let current = crate::config::read_file(&file.path)
            .map_err(|e| in_both(e.to_string()))?
            .map(Zeroizing::new);
        if current.as_ref() != Some(text) {
            return Err(in_both("it changed while importing".into()));
        }
        let edited = Zeroizing::new(
            crate::config::edit::remove_static_keys(file.kind, &file.path, text, &held)
                .map_err(crate::config::ConfigError::from)?,
        );
        crate::config::edit::replace_file(std::path::Path::new(&file.path), &edited)
            .map_err(|e| in_both(format!("cannot rewrite it ({e})")))?;
    }

    let loaded = Loaded::load(env)?;
    for (profile, keys) in &imports {
        let from: Vec<&str> = files
            .iter()
            .filter(|file| file.profiles.profile(profile).is_some_and(has_static_keys))
            .map(|file| file.path.as_str())
            .collect();
        crate::say!(
            "moved the keys {} of profile '{profile}' into {store}, out of {}",
            keys.access_key_id,
            from.join(" and ")
        );
        tell_config(&loaded, profile, args.add_config)?;
    }
    Ok(())
}

/// One of the two files as `import` read it, to check and to rewrite.
struct ImportFile {
    kind: crate::config::FileKind,
    path: String,
    /// `None` when there is no such file.
    text: Option<Zeroizing<String>>,
    /// This file alone, parsed.
    profiles: crate::config::ProfileSet,
}

impl ImportFile {
    fn read_both(loaded: &Loaded) -> Result<Vec<ImportFile>> {
        use crate::config::FileKind;
        let locations = &loaded.locations;
        let mut files = Vec::new();
        for (kind, path) in [
            (FileKind::Credentials, &locations.credentials),
            (FileKind::Config, &locations.config),
        ] {
            let text = crate::config::read_file(path)?.map(Zeroizing::new);
            let mut profiles = crate::config::ProfileSet::default();
            if let Some(text) = &text {
                profiles
                    .merge_file(kind, path, text)
                    .map_err(crate::config::ConfigError::from)?;
            }
            files.push(ImportFile {
                kind,
                path: path.clone(),
                text,
                profiles,
            });
        }
        Ok(files)
    }
}

fn has_static_keys(section: &crate::config::Section) -> bool {
    crate::config::edit::STATIC_KEYS
        .iter()
        .any(|key| section.get(key).is_some())
}

/// A profile's keys as the SDKs read them from the files; an error, before anything
/// changes, for a profile that has none, only one of the two, or different ones in each file.
fn static_keys_of(loaded: &Loaded, files: &[ImportFile], profile: &str) -> Result<Keys> {
    use crate::config::ConfigError;
    let invalid = |message: String| {
        Error::Config(ConfigError::Invalid {
            profile: profile.to_string(),
            message: format!("{message}; nothing was changed"),
        })
    };
    let where_ = format!(
        "{} or {}",
        loaded.locations.credentials, loaded.locations.config
    );
    let Some(section) = loaded.profiles.profile(profile) else {
        return Err(super::not_found(loaded, profile.to_string()).into());
    };
    let value = |key: &str| section.get(key).filter(|value| !value.is_empty());
    let keys = match (value("aws_access_key_id"), value("aws_secret_access_key")) {
        (Some(id), Some(secret)) => Keys {
            access_key_id: id.to_string(),
            secret_access_key: Zeroizing::new(secret.to_string()),
            session_token: value("aws_session_token").map(|token| Zeroizing::new(token.into())),
        },
        (None, None) => {
            return Err(invalid(format!(
                "it has no static keys (aws_access_key_id and aws_secret_access_key) in {where_}"
            )));
        }
        (Some(_), None) => {
            return Err(invalid(format!(
                "it has an aws_access_key_id but no aws_secret_access_key in {where_}: add the secret or remove the id"
            )));
        }
        (None, Some(_)) => {
            return Err(invalid(format!(
                "it has an aws_secret_access_key but no aws_access_key_id in {where_}: add the id or remove the secret"
            )));
        }
    };
    // The credentials file wins over the config file; the losing keys would be lost.
    for file in files {
        let Some(own) = file.profiles.profile(profile) else {
            continue;
        };
        for key in crate::config::edit::STATIC_KEYS {
            if own
                .get(key)
                .is_some_and(|value| section.get(key) != Some(value))
            {
                return Err(invalid(format!(
                    "its {key} in {} differs from the one in {}: keep one of them",
                    file.path,
                    files
                        .iter()
                        .map(|other| other.path.as_str())
                        .find(|path| *path != file.path)
                        .unwrap_or_default()
                )));
            }
        }
    }
    check_keys(&keys).map_err(|err| invalid(err.to_string()))?;
    Ok(keys)
}

/// Asks on the terminal before importing every profile; no terminal is a usage error.
fn confirm_import(profiles: &[String], loaded: &Loaded) -> Result<bool> {
    let Some(term) = crate::mfa::terminal() else {
        return Err(Error::Usage(
            "no profile named and no terminal to confirm on: name the profiles \
             (`assume keys import alice`) or pass --yes to import every one with static keys"
                .into(),
        ));
    };
    dialoguer::Confirm::new()
        .with_prompt(format!(
            "Move the static keys of {} into the vault and remove them from {} and {}?",
            profiles.join(", "),
            loaded.locations.credentials,
            loaded.locations.config
        ))
        .default(false)
        .report(false)
        .interact_on(&term)
        .map_err(|e| Error::Usage(format!("could not read the answer: {e}")))
}

/// Stores the keys and reads them back: only keys the vault returns intact leave the files.
fn store_and_check(vault: &mut Vault, profile: &str, keys: &Keys) -> Result<()> {
    vault.put(profile, keys, false)?;
    let back = vault.get(profile)?;
    let intact = back.is_some_and(|back| {
        back.access_key_id == keys.access_key_id
            && back.secret_access_key == keys.secret_access_key
            && back.session_token == keys.session_token
    });
    if intact {
        Ok(())
    } else {
        Err(Error::Cache(format!(
            "the keys of profile '{profile}' did not read back intact from {}; they stay in the files",
            vault.kind().describe()
        )))
    }
}

/// `keys rotate`: see [`rotate::rotate`].
pub fn rotate(args: &KeysRotateArgs, env: &Env) -> Result<()> {
    rotate::rotate(&args.profile, args.token_code.clone(), env)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_process_goes_in_the_profile_keeping_every_other_byte() {
        let text =
            "# top\n[profile alice]\nregion = eu-west-1 # here\n\n[profile admin]\nrole_arn = x\n";
        assert_eq!(
            with_credential_process(text, "alice"),
            Edit::Changed(
                "# top\n[profile alice]\nregion = eu-west-1 # here\ncredential_process = assume credential-process alice\n\n[profile admin]\nrole_arn = x\n"
                    .into()
            )
        );
        assert_eq!(
            with_credential_process("[profile admin]\r\nrole_arn = x", "alice"),
            Edit::Changed(
                "[profile admin]\r\nrole_arn = x\r\n\r\n[profile alice]\r\ncredential_process = assume credential-process alice\r\n"
                    .into()
            )
        );
        assert_eq!(
            with_credential_process("", "default"),
            Edit::Changed(
                "[default]\ncredential_process = assume credential-process default\n".into()
            )
        );
        assert_eq!(
            with_credential_process(
                "[profile a]\ncredential_process = assume credential-process a\n",
                "a"
            ),
            Edit::Already
        );
        assert_eq!(
            with_credential_process("[profile a]\nCredential_Process = op run\n", "a"),
            Edit::Other("op run".into())
        );
        // `[profile alice2]` is not alice's.
        assert!(matches!(
            with_credential_process("[profile alice2]\n", "alice"),
            Edit::Changed(new) if new.ends_with("[profile alice]\ncredential_process = assume credential-process alice\n")
        ));
    }
}
