//! `assume PROFILE`: print shell code that exports the role's credentials, and
//! `assume --unset`: print the code that switches back.

use std::io::{IsTerminal, Write};

use zeroize::Zeroizing;

use crate::cli::AssumeArgs;
use aws_credential_types::Credentials;

use crate::config::{Env, Plan, RegionSource};
use crate::error::{Error, Result};
use crate::shell::{Change, Shell, render};

/// Variables that were there before the first switch, kept aside so `--unset` can put them back.
const SAVED: [(&str, &str); 4] = [
    ("AWS_PROFILE", "ASSUME_SAVED_AWS_PROFILE"),
    ("AWS_DEFAULT_PROFILE", "ASSUME_SAVED_AWS_DEFAULT_PROFILE"),
    ("AWS_REGION", "ASSUME_SAVED_AWS_REGION"),
    ("AWS_DEFAULT_REGION", "ASSUME_SAVED_AWS_DEFAULT_REGION"),
];

pub fn run(args: &AssumeArgs, env: &Env) -> Result<()> {
    let shell = args.shell.unwrap_or_else(Shell::of_caller);
    if args.unset {
        let previous: Vec<(&'static str, &'static str, Option<String>)> = SAVED
            .iter()
            .map(|(var, saved)| (*var, *saved, env.get(saved)))
            .collect();
        let assumed = env.get("ASSUME_PROFILE").is_some();
        return emit(&render(shell, &unset_changes(&previous, assumed)));
    }
    let credentials_args = super::with_profile(&args.credentials, env, "PROFILE")?;
    let (plan, credentials) = super::credentials(&credentials_args, env)?;
    crate::picker::record(env, &plan.profile);
    let expiration = crate::credentials::expiration(&credentials);
    let mut changes = credential_changes(&plan, &credentials, expiration.as_deref());
    // On the first switch, keep what the shell had so that `--unset` restores it.
    let saved: Vec<(&str, String)> = if env.get("ASSUME_PROFILE").is_none() {
        SAVED
            .iter()
            .filter_map(|(var, saved)| env.get(var).map(|value| (*saved, value)))
            .collect()
    } else {
        Vec::new()
    };
    changes.extend(saved.iter().map(|(saved, value)| Change::Set(saved, value)));

    let code = Zeroizing::new(render(shell, &changes));
    emit(&code)?;
    if std::io::stdout().is_terminal() {
        let name = &plan.profile;
        crate::say!(
            "these are the credentials of '{name}'; to set them in this shell, run: {}",
            shell.eval_hint(name)
        );
    }
    Ok(())
}

/// The environment a role's credentials make: the variables to set, and those to remove so
/// that SDKs do not mix two identities.
pub fn credential_changes<'a>(
    plan: &'a Plan,
    credentials: &'a Credentials,
    expiration: Option<&'a str>,
) -> Vec<Change<'a>> {
    let mut changes = vec![
        Change::Set("AWS_ACCESS_KEY_ID", credentials.access_key_id()),
        Change::Set("AWS_SECRET_ACCESS_KEY", credentials.secret_access_key()),
    ];
    changes.push(match credentials.session_token() {
        Some(token) => Change::Set("AWS_SESSION_TOKEN", token),
        None => Change::Unset("AWS_SESSION_TOKEN"),
    });
    changes.push(match expiration {
        Some(expiration) => Change::Set("AWS_CREDENTIAL_EXPIRATION", expiration),
        None => Change::Unset("AWS_CREDENTIAL_EXPIRATION"),
    });
    changes.push(Change::Unset("AWS_SECURITY_TOKEN"));
    changes.extend(profile_changes(plan));
    changes
}

/// The variables that carry credentials: all of them go when a shell switches back.
pub const CREDENTIAL_VARIABLES: [&str; 5] = [
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_CREDENTIAL_EXPIRATION",
];

/// What every way of handing on a role sets besides credentials: the region (when one is
/// known) and `ASSUME_PROFILE`; and what it removes, so SDKs do not mix two identities.
pub fn profile_changes(plan: &Plan) -> Vec<Change<'_>> {
    let mut changes = Vec::new();
    if plan.region_source != RegionSource::Default {
        changes.push(Change::Set("AWS_REGION", &plan.region));
        changes.push(Change::Set("AWS_DEFAULT_REGION", &plan.region));
    }
    changes.push(Change::Set("ASSUME_PROFILE", &plan.profile));
    changes.extend(["AWS_PROFILE", "AWS_DEFAULT_PROFILE"].map(Change::Unset));
    changes
}

/// What `--unset` prints: remove every variable `assume` sets, and put back what it saved.
fn unset_changes<'a>(
    previous: &'a [(&'static str, &'static str, Option<String>)],
    assumed: bool,
) -> Vec<Change<'a>> {
    let mut changes: Vec<Change<'a>> = CREDENTIAL_VARIABLES.map(Change::Unset).to_vec();
    changes.push(Change::Unset("ASSUME_PROFILE"));
    for (var, saved, value) in previous {
        match value {
            Some(value) => {
                changes.push(Change::Set(var, value));
                changes.push(Change::Unset(saved));
            }
            // Regions were ours only if a role is assumed; a region the user set stays.
            None if assumed && var.contains("REGION") => changes.push(Change::Unset(var)),
            None => {}
        }
    }
    changes
}

fn emit(code: &str) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(code.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(|e| Error::Internal(format!("cannot write to stdout: {e}")))
}
