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
            write_keeping_mode(std::path::Path::new(path), new.as_bytes())?;
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

/// Replaces `path` with `bytes` atomically (a file beside it, renamed over it), keeping its
/// mode (a new file: 0600).
fn write_keeping_mode(path: &std::path::Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write as _;
    let failed =
        |e: std::io::Error| Error::Internal(format!("cannot write {}: {e}", path.display()));
    let dir = path
        .parent()
        .filter(|dir| !dir.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    std::fs::create_dir_all(dir).map_err(failed)?;
    let mut file = tempfile::NamedTempFile::new_in(dir).map_err(failed)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(path).map_or(0o600, |meta| meta.permissions().mode() & 0o7777);
        file.as_file()
            .set_permissions(std::fs::Permissions::from_mode(mode))
            .map_err(failed)?;
    }
    file.write_all(bytes)
        .and_then(|()| file.as_file().sync_all())
        .map_err(failed)?;
    file.persist(path).map_err(|e| failed(e.error))?;
    Ok(())
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
        Output::Json => {
            let mut text = serde_json::to_string_pretty(&rows)
                .map_err(|e| Error::Internal(format!("cannot write JSON: {e}")))?;
            text.push('\n');
            text
        }
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

/// Not yet: `keys import`.
pub fn import(_args: &KeysImportArgs, _env: &Env) -> Result<()> {
    Err(Error::Usage(
        "`assume keys import` is not yet available".into(),
    ))
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
