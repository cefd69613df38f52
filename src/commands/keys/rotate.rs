//! `assume keys rotate PROFILE`: a new access key for the profile's IAM user, made, checked and
//! stored before the old one is deleted, so that at every step a working key is stored.

use std::time::Duration;

use aws_credential_types::Credentials;
use zeroize::Zeroizing;

use crate::cache::{Cache, Mode};
use crate::config::plan::{DEFAULT_MFA_SESSION_SECONDS, profile_endpoint_url, profile_region};
use crate::config::{ConfigError, Env, Loaded, Overrides, ProfileSet};
use crate::credentials::{UserMfa, runtime, user_mfa_session, with_spinner};
use crate::error::{Error, Result};
use crate::mfa::Mfa;
use crate::sts::{AwsError, Iam, OldKeyLeft, Sts};
use crate::vault::{Keys, Vault};

/// How long a cached MFA session must still live to be used for the IAM calls.
const MFA_MIN_TTL: Duration = Duration::from_secs(5 * 60);

/// Rotates the vault keys of `profile`: CreateAccessKey, the new key checked with STS, stored,
/// then DeleteAccessKey of the old one. A failure before the new key is stored deletes the new
/// key again and leaves the old one; one after says how to delete the old one by hand.
pub fn rotate(profile: &str, token_code: Option<String>, env: &Env) -> Result<()> {
    let mut mfa = Mfa::new(token_code, env)?;
    let loaded = Loaded::load(env)?;
    // The index first: no store is opened (no passphrase asked) for a profile it lacks.
    let no_keys = || {
        Error::Usage(format!(
            "profile '{}' has no keys in the vault to rotate; put them there first: assume keys add {profile} (or assume keys import {profile})",
            crate::message::clean(profile)
        ))
    };
    if !crate::vault::index(env).contains_key(profile) {
        return Err(no_keys());
    }
    let mut vault = Vault::open(env)?;
    let Some(old) = vault.get(profile)? else {
        return Err(no_keys());
    };
    if old.session_token.is_some() {
        return Err(no_key(
            profile,
            "its keys carry a session token, so they are temporary: only an IAM user's long-term access key can be rotated".into(),
        ));
    }
    let old_id = old.access_key_id.clone();
    let old_credentials = Credentials::new(
        old.access_key_id.clone(),
        old.secret_access_key.as_str(),
        None,
        None,
        "assume-vault",
    );

    let set = &loaded.profiles;
    let region = profile_region(set, profile, env);
    let sts_endpoint = profile_endpoint_url(set, profile, env, "sts");
    let sts = Sts::at(&region, sts_endpoint.clone());
    let iam = Iam::new(profile, profile_endpoint_url(set, profile, env, "iam"));
    let runtime = runtime()?;

    let user = with_spinner("asking STS whose keys these are".into(), || {
        runtime.block_on(sts.user_name(old_credentials.clone(), profile))
    })?;
    // The IAM calls: as the user, through an MFA session when a device is configured.
    let caller = match mfa_device(set, profile) {
        Some(device) => {
            // Where `assume ROLE` makes and caches this device's session for these keys, so
            // that it is the one found: that role's plan, else this profile's own settings.
            let role_plan = device.role.as_deref().and_then(|role| {
                super::super::plan_of(&loaded, role, &Overrides::default(), env).ok()
            });
            let (mfa_region, mfa_endpoint, seconds) = match &role_plan {
                Some(plan) => (
                    plan.region.clone(),
                    plan.endpoint_url.clone(),
                    plan.mfa_session_seconds,
                ),
                None => (
                    region.clone(),
                    sts_endpoint.clone(),
                    DEFAULT_MFA_SESSION_SECONDS,
                ),
            };
            let mode = Mode::from_env(env, false)?;
            let mut cache = Cache::new(mode, env);
            user_mfa_session(
                &old_credentials,
                &UserMfa {
                    profile,
                    serial: &device.serial,
                    process: device.process.as_deref(),
                    region: &mfa_region,
                    endpoint_url: &mfa_endpoint,
                    seconds,
                },
                &mut mfa,
                &mut cache,
                MFA_MIN_TTL,
            )?
        }
        None => old_credentials.clone(),
    };

    // 1. The new key.
    let new = with_spinner(format!("creating a new access key for {user}"), || {
        runtime.block_on(iam.create_access_key(caller.clone(), &user, &old_id))
    })?;
    let new_id = new.access_key_id().to_string();
    crate::verbose!("IAM user {user}: new access key {new_id}");
    let forget_new = |why: &str| {
        let deleted = runtime.block_on(iam.delete_access_key(caller.clone(), &user, &new_id));
        if let Err(e) = deleted {
            crate::say!(
                "{why}, and deleting the new key failed too ({e}); delete it by hand: aws iam delete-access-key --access-key-id {new_id} --user-name {user}"
            );
        }
    };

    // 2. It works (asked again while IAM propagates it).
    let works = with_spinner(format!("checking the new key {new_id}"), || {
        runtime.block_on(sts.key_works(new.clone(), profile))
    });
    if let Err(e) = works {
        forget_new(&format!(
            "profile '{profile}': the new key {new_id} did not work"
        ));
        return Err(AwsError::NewKeyRejected {
            profile: profile.to_string(),
            new_key: new_id,
            old_key: old_id,
            detail: e.to_string(),
        }
        .into());
    }

    // 3. The switch: the new key is stored.
    let keys = Keys {
        access_key_id: new_id.clone(),
        secret_access_key: Zeroizing::new(new.secret_access_key().to_string()),
        session_token: None,
    };
    if let Err(e) = vault.put(profile, &keys, true) {
        forget_new(&format!(
            "profile '{profile}': the new key {new_id} could not be stored"
        ));
        return Err(e);
    }

    // 4. The old key goes.
    let deleted = with_spinner(format!("deleting the old access key {old_id}"), || {
        runtime.block_on(iam.delete_access_key(caller.clone(), &user, &old_id))
    });
    if let Err(e) = deleted {
        let class = e.class().unwrap_or(crate::error::Class::Sts);
        return Err(AwsError::OldKeyNotDeleted(Box::new(OldKeyLeft {
            profile: profile.to_string(),
            new_key: new_id,
            old_key: old_id,
            user,
            detail: e.to_string(),
            class,
        }))
        .into());
    }
    crate::say!(
        "profile '{profile}': rotated: the new access key {new_id} works and is stored in {}; the old one, {old_id}, is deleted",
        vault.kind().describe()
    );
    Ok(())
}

/// A profile with no long-term key to rotate: a config error.
fn no_key(profile: &str, message: String) -> Error {
    ConfigError::Invalid {
        profile: profile.to_string(),
        message,
    }
    .into()
}

/// An MFA device the user's IAM calls go through.
struct Device {
    serial: String,
    process: Option<String>,
    /// The role profile it was found in, if not the user's own.
    role: Option<String>,
}

/// The MFA device the user's IAM calls go through, and its `mfa_process`: the profile's own
/// `mfa_serial`, else that of the first role profile whose `source_profile` it is.
fn mfa_device(set: &ProfileSet, profile: &str) -> Option<Device> {
    let own = set
        .profile(profile)
        .filter(|p| p.get("mfa_serial").is_some());
    let section = own.or_else(|| {
        set.profiles.values().find(|p| {
            p.get("source_profile") == Some(profile)
                && p.get("role_arn").is_some()
                && p.get("mfa_serial").is_some()
        })
    })?;
    Some(Device {
        serial: section.get("mfa_serial")?.to_string(),
        process: section.get("mfa_process").map(str::to_string),
        role: (section.name != profile).then(|| section.name.clone()),
    })
}
