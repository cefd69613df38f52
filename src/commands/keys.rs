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
    if add_config {
        crate::say!(
            "--add-config is not yet available: add `{line}` to [profile {profile}] in {}",
            loaded.locations.config
        );
    } else {
        crate::say!(
            "for other tools and the AWS SDKs, add `{line}` to [profile {profile}] in {} (or rerun with --add-config)",
            loaded.locations.config
        );
    }
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
