//! Handing a role's credentials on. This module says which variables a role sets and removes
//! (and what `--unset` puts back); [`shell`] renders that as code for a shell to evaluate,
//! [`child`] puts it into a command's environment, and [`endpoint`] serves the credentials to a
//! child's SDK as they are refreshed.

pub(crate) mod child;
pub(crate) mod endpoint;
pub mod shell;

use aws_credential_types::Credentials;

use crate::config::{Env, Plan, RegionSource};
use child::ChildFiles;
use endpoint::Server;

/// One change to the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change<'a> {
    Set(&'static str, &'a str),
    Unset(&'static str),
}

/// A role's credentials, ready to hand on: the plan they were made for and their expiration
/// in RFC 3339.
pub struct Role {
    pub plan: Plan,
    pub credentials: Credentials,
    pub expiration: Option<String>,
}

impl Role {
    pub fn new(plan: Plan, credentials: Credentials) -> Role {
        let expiration = crate::credentials::expiration(&credentials);
        Role {
            plan,
            credentials,
            expiration,
        }
    }

    /// The environment these credentials make.
    pub fn changes(&self) -> Vec<Change<'_>> {
        credential_changes(&self.plan, &self.credentials, self.expiration.as_deref())
    }
}

/// Variables that were there before the first switch, kept aside so `--unset` can put them back.
pub const SAVED: [(&str, &str); 4] = [
    ("AWS_PROFILE", "ASSUME_SAVED_AWS_PROFILE"),
    ("AWS_DEFAULT_PROFILE", "ASSUME_SAVED_AWS_DEFAULT_PROFILE"),
    ("AWS_REGION", "ASSUME_SAVED_AWS_REGION"),
    ("AWS_DEFAULT_REGION", "ASSUME_SAVED_AWS_DEFAULT_REGION"),
];

/// On the first switch (no `ASSUME_PROFILE` yet), what the shell had of [`SAVED`], kept aside
/// so that `--unset` restores it: `(ASSUME_SAVED_…, value)`.
pub fn saved_values(env: &Env) -> Vec<(&'static str, String)> {
    if env.get("ASSUME_PROFILE").is_some() {
        return Vec::new();
    }
    SAVED
        .iter()
        .filter_map(|(var, saved)| env.get(var).map(|value| (*saved, value)))
        .collect()
}

/// The values kept aside by the first switch: `(variable, ASSUME_SAVED_…, value)`.
pub fn previous_values(env: &Env) -> Vec<(&'static str, &'static str, Option<String>)> {
    SAVED
        .iter()
        .map(|(var, saved)| (*var, *saved, env.get(saved)))
        .collect()
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
pub fn unset_changes<'a>(
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

/// Variables that would give the child credentials, or a way to get them, ahead of the
/// endpoint: the SDKs read the environment, then web identity, then the shared files.
const AHEAD_OF_THE_ENDPOINT: [&str; 12] = [
    // Older spellings of the key variables that the Go, Java and Ruby SDKs still read.
    "AWS_ACCESS_KEY",
    "AWS_SECRET_KEY",
    "AMAZON_ACCESS_KEY_ID",
    "AMAZON_SECRET_ACCESS_KEY",
    "AMAZON_SESSION_TOKEN",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_SESSION_NAME",
    "AWS_ACCOUNT_ID",
    // botocore's legacy key file.
    "AWS_CREDENTIAL_FILE",
];

/// The environment of a command served by the endpoint: its two variables instead of keys,
/// and its own AWS files.
pub fn endpoint_changes<'a>(
    plan: &'a Plan,
    server: &'a Server,
    files: &'a ChildFiles,
) -> Vec<Change<'a>> {
    let mut changes: Vec<Change<'a>> = CREDENTIAL_VARIABLES.map(Change::Unset).to_vec();
    changes.extend(AHEAD_OF_THE_ENDPOINT.map(Change::Unset));
    changes.extend([
        Change::Set("AWS_CONFIG_FILE", &files.config),
        Change::Set("AWS_SHARED_CREDENTIALS_FILE", &files.credentials),
        // botocore also reads keys from boto 2's config (~/.boto, /etc/boto.cfg).
        Change::Set("BOTO_CONFIG", &files.credentials),
    ]);
    changes.extend(
        server
            .variables()
            .map(|(name, value)| Change::Set(name, value)),
    );
    changes.extend(profile_changes(plan));
    changes
}
