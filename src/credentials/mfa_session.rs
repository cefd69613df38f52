//! One MFA code for many roles: a GetSessionToken session made with the code, cached per
//! (access key id, MFA device), from which every role behind that device is assumed.

use std::time::Duration;

use aws_credential_types::Credentials;

use super::DEFAULT_ROLE_SECONDS;
use super::keys::mfa_key;
use super::refresh::Refresh;
use crate::cache::{Cache, EntryKind};
use crate::config::{Base, Plan};
use crate::error::Result;
use crate::mfa::Mfa;

/// The MFA session for `plan`, when its first hop wants MFA and the chain starts from an IAM
/// user's long-term keys (`base`): a cached one, else a new one made with a code. `None` means
/// "pass the code on AssumeRole instead" (said why under -v).
pub fn obtain(
    plan: &Plan,
    base: &Credentials,
    mfa: &mut Mfa,
    cache: &mut Cache,
    min_ttl: Duration,
    refresh: &Refresh<'_>,
) -> Result<Option<Credentials>> {
    let Some(serial) = plan.hops.first().and_then(|hop| hop.mfa_serial.as_deref()) else {
        return Ok(None);
    };
    if let Some(why) = why_no_mfa_session(plan, cache.enabled(), base.session_token().is_some()) {
        crate::verbose!("no MFA session: {why}; the MFA code goes on AssumeRole");
        return Ok(None);
    }
    let Some(key) = mfa_key(plan) else {
        return Ok(None);
    };
    let hop = &plan.hops[0];
    cached_or_new(cache, &key, min_ttl, serial, plan.base.profile(), || {
        let code = mfa.code(serial, &hop.profile, hop.mfa_process.as_deref())?;
        crate::verbose!(
            "MFA session: GetSessionToken for {serial}, {}s",
            plan.mfa_session_seconds
        );
        refresh.session_token(base.clone(), serial, &code)
    })
    .map(Some)
}

/// The MFA session cached under `key` for `serial` (of the keys of `profile`), else a `new`
/// one, made under the key's refresh lock and then cached.
pub(super) fn cached_or_new(
    cache: &mut Cache,
    key: &str,
    min_ttl: Duration,
    serial: &str,
    profile: &str,
    new: impl FnOnce() -> Result<Credentials>,
) -> Result<Credentials> {
    if let Some(session) = cache.get(key, min_ttl)? {
        crate::verbose!("MFA session for {serial} reused");
        return Ok(session);
    }
    let _lock = cache.lock(key);
    if let Some(session) = cache.recheck(key, min_ttl)? {
        return Ok(session);
    }
    let session = new()?;
    if let Err(e) = cache.put(key, EntryKind::MfaSession, profile, &session) {
        crate::say!("{e}");
    }
    Ok(session)
}

/// Why a plan whose first hop wants MFA cannot use an MFA session, if it cannot:
/// `temporary_base` when the source credentials carry a session token.
pub fn why_no_mfa_session(
    plan: &Plan,
    cache_enabled: bool,
    temporary_base: bool,
) -> Option<String> {
    if !cache_enabled {
        return Some("the cache is off".to_string());
    }
    if !matches!(plan.base, Base::Static { .. } | Base::Vault { .. }) || temporary_base {
        return Some(format!(
            "the chain starts from {} credentials, not an IAM user's long-term keys",
            plan.base.kind()
        ));
    }
    let wanted = plan
        .hops
        .first()?
        .duration_seconds
        .unwrap_or(DEFAULT_ROLE_SECONDS);
    (wanted > plan.mfa_session_seconds).then(|| {
        format!(
            "the role wants {wanted}s, longer than the {}s MFA session (mfa_session_duration)",
            plan.mfa_session_seconds
        )
    })
}

/// Whether `plan` caches an MFA session (see [`obtain`]).
pub fn uses_mfa_session(plan: &Plan, cache_enabled: bool) -> bool {
    let temporary = match &plan.base {
        Base::Static { credentials, .. } => credentials.session_token().is_some(),
        // Temporary keys (with a session token) are ASIA…; an IAM user's are AKIA….
        Base::Vault { access_key_id, .. } => access_key_id.starts_with("ASIA"),
        _ => true,
    };
    plan.hops
        .first()
        .is_some_and(|hop| hop.mfa_serial.is_some())
        && why_no_mfa_session(plan, cache_enabled, temporary).is_none()
}
