//! Running a plan: the cache first; else, under the chain's refresh lock, the base
//! credentials, an MFA session when one can serve, and each hop in turn.

use std::time::{Duration, Instant, SystemTime};

use aws_credential_types::Credentials;
use serde::Serialize;

use crate::cache::{self, Cache, EntryKind};
use crate::config::{Base, Plan};
use crate::error::{Error, Result};
use crate::mfa::Mfa;
use crate::sts::{self, Sts};

/// The session length AWS gives a role when none is asked for.
pub const DEFAULT_ROLE_SECONDS: u32 = 3600;

/// Everything needed to hand out credentials that live long enough, again and again (the
/// credential endpoint asks on every request).
pub struct Source {
    pub plan: Plan,
    pub mfa: Mfa,
    pub cache: Cache,
    pub min_ttl: Duration,
    /// The last credentials served, reused while they live longer than `min_ttl`.
    pub current: Option<Current>,
}

/// Credentials served, and what they had left when they came, by the monotonic clock: a
/// system clock set back later cannot make them look younger than they are.
pub struct Current {
    credentials: Credentials,
    since: Instant,
    /// `None`: they do not expire.
    left: Option<Duration>,
}

impl Current {
    fn new(credentials: Credentials) -> Current {
        let left = credentials
            .expiry()
            .map(|expiry| expiry.duration_since(SystemTime::now()).unwrap_or_default());
        Current {
            credentials,
            since: Instant::now(),
            left,
        }
    }

    /// Whether they live longer than `min_ttl`.
    fn lives_longer_than(&self, min_ttl: Duration) -> bool {
        self.left(SystemTime::now(), self.since.elapsed())
            .is_none_or(|left| left > min_ttl)
    }

    /// What is left when the system clock reads `now`, `elapsed` after they came, by both
    /// clocks (the monotonic one stands still while the machine sleeps, the system one may be
    /// set back: each catches what the other misses). `None`: they do not expire.
    fn left(&self, now: SystemTime, elapsed: Duration) -> Option<Duration> {
        let (left, expiry) = (self.left?, self.credentials.expiry()?);
        let by_instant = left.saturating_sub(elapsed);
        let by_clock = expiry.duration_since(now).unwrap_or_default();
        Some(by_instant.min(by_clock))
    }
}

impl Source {
    /// Credentials that live longer than the min TTL: the last ones, cached ones, or new ones.
    pub fn credentials(&mut self) -> Result<Credentials> {
        if let Some(current) = &self.current
            && current.lives_longer_than(self.min_ttl)
        {
            return Ok(current.credentials.clone());
        }
        let fresh = obtain(&self.plan, &mut self.mfa, &mut self.cache, self.min_ttl)?;
        self.current = Some(Current::new(fresh.clone()));
        Ok(fresh)
    }
}

/// The role credentials at the end of `plan`: cached ones that live longer than `min_ttl`,
/// else fresh ones (then cached). A failed refresh leaves the cached entry as it was.
pub fn obtain(
    plan: &Plan,
    mfa: &mut Mfa,
    cache: &mut Cache,
    min_ttl: Duration,
) -> Result<Credentials> {
    let verbose = cache.verbose;
    let runtime_ = || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::Internal(format!("cannot start the async runtime: {e}")))
    };
    if plan.hops.is_empty() {
        // No role: the profile's own credentials, as the SDK loads them; nothing to cache.
        return runtime_()?.block_on(sts::base_credentials(plan));
    }
    // A base that only loading identifies is loaded first: whose role session is cached
    // depends on who it returns (the key holds its access key id).
    let mut runtime = None;
    let mut loaded = None;
    if plan.base_identity.is_none() {
        let started = runtime.insert(runtime_()?);
        if verbose {
            crate::say!("{}", describe_base(&plan.base));
        }
        loaded = Some(started.block_on(sts::base_credentials(plan))?);
    }
    let key = role_key(plan, loaded.as_ref())
        .ok_or_else(|| Error::Internal("no cache key for the chain".into()))?;
    if let Some(hit) = cache.get(&key, min_ttl)? {
        return Ok(hit);
    }
    // Single flight: one process refreshes, the others wait here and then find its entry.
    let _lock = cache.enabled().then(|| cache.lock(&key));
    if _lock.is_some()
        && let Some(hit) = cache.recheck(&key, min_ttl)?
    {
        return Ok(hit);
    }

    let runtime = match runtime {
        Some(runtime) => runtime,
        None => runtime_()?,
    };
    let client = Sts::new(plan);
    // No spinner here: a credential_process or SSO source may prompt on the terminal itself.
    let mut credentials = match loaded {
        Some(loaded) => loaded,
        None => {
            if verbose {
                crate::say!("{}", describe_base(&plan.base));
            }
            runtime.block_on(sts::base_credentials(plan))?
        }
    };
    let session = mfa_session(
        plan,
        &credentials,
        mfa,
        cache,
        min_ttl,
        |keys, serial, code| {
            with_spinner(
                verbose,
                format!("starting an MFA session with {serial}"),
                || {
                    runtime.block_on(client.get_session_token(
                        keys,
                        plan.base.profile(),
                        plan.mfa_session_seconds,
                        serial,
                        code,
                    ))
                },
            )
        },
    )?;
    let first_hop_has_session = session.is_some();
    if let Some(session) = session {
        credentials = session;
    }
    for (index, hop) in plan.hops.iter().enumerate() {
        let session_name = sts::session_name(hop.role_session_name.as_deref());
        let code = match &hop.mfa_serial {
            Some(serial) if !(index == 0 && first_hop_has_session) => Some((
                serial.as_str(),
                mfa.code(serial, &hop.profile, hop.mfa_process.as_deref())?,
            )),
            _ => None,
        };
        if verbose {
            let with = match (&hop.mfa_serial, &code) {
                (_, Some((serial, _))) => format!(" with MFA {serial}"),
                (Some(_), None) => " from the MFA session".to_string(),
                (None, None) => String::new(),
            };
            crate::say!(
                "hop {}/{}: [{}] AssumeRole {} as {session_name}{}{with}",
                index + 1,
                plan.hops.len(),
                hop.profile,
                hop.role_arn,
                hop.duration_seconds
                    .map(|s| format!(" for {s}s"))
                    .unwrap_or_default(),
            );
        }
        credentials = with_spinner(verbose, format!("assuming {}", hop.role_arn), || {
            runtime.block_on(client.assume_role(
                credentials,
                hop,
                &session_name,
                hop.duration_seconds,
                code.as_ref().map(|(serial, code)| (*serial, code.as_str())),
            ))
        })?;
    }
    if let Err(e) = cache.put(&key, EntryKind::Role, &plan.profile, &credentials) {
        crate::say!("{e}");
    }
    Ok(credentials)
}

/// A spinner on stderr while `call` runs: only on a terminal, and never while `-v` is
/// printing (prompts are over before a call starts).
fn with_spinner<T>(verbose: bool, message: String, call: impl FnOnce() -> T) -> T {
    use std::io::IsTerminal;
    if verbose || !std::io::stderr().is_terminal() {
        return call();
    }
    let spinner = indicatif::ProgressBar::new_spinner().with_message(message);
    spinner.enable_steady_tick(Duration::from_millis(80));
    let result = call();
    spinner.finish_and_clear();
    result
}

/// The cache key of a plan's final credentials: every input that shapes them, and who the
/// base credentials are. `loaded` is the base credentials when they have been loaded; a plan
/// whose base only loading identifies (`credential_process`) has no key without them.
pub fn role_key(plan: &Plan, loaded: Option<&Credentials>) -> Option<String> {
    #[derive(Serialize)]
    struct HopInputs<'a> {
        role_arn: &'a str,
        role_session_name: Option<&'a str>,
        external_id: Option<&'a str>,
        duration_seconds: Option<u32>,
        mfa_serial: Option<&'a str>,
    }
    let identity = match (&plan.base_identity, loaded) {
        (Some(identity), _) => identity.clone(),
        (None, Some(loaded)) => format!(
            "{}:{}:{}",
            plan.base.kind(),
            plan.base.profile(),
            loaded.access_key_id()
        ),
        (None, None) => return None,
    };
    let hops: Vec<HopInputs<'_>> = plan
        .hops
        .iter()
        .map(|hop| HopInputs {
            role_arn: &hop.role_arn,
            role_session_name: hop.role_session_name.as_deref(),
            external_id: hop.external_id.as_deref(),
            duration_seconds: hop.duration_seconds,
            mfa_serial: hop.mfa_serial.as_deref(),
        })
        .collect();
    Some(cache::key(
        "role",
        &(
            &plan.profile,
            identity,
            &plan.region,
            &plan.endpoint_url,
            hops,
        ),
    ))
}

/// The cache key of the MFA session a plan would use: per access key id, MFA device, region
/// and endpoint. `None` when the plan cannot use one.
pub fn mfa_key(plan: &Plan) -> Option<String> {
    let serial = plan.hops.first()?.mfa_serial.as_deref()?;
    let Base::Static { credentials, .. } = &plan.base else {
        return None;
    };
    Some(cache::key(
        "mfa",
        &(
            credentials.access_key_id(),
            serial,
            &plan.region,
            &plan.endpoint_url,
        ),
    ))
}

/// One MFA code for many roles: when the first hop wants MFA and the chain starts from an IAM
/// user's long-term keys, a GetSessionToken session made with the code is cached per (key,
/// MFA device) and every role behind that device is assumed from it without asking again.
/// `None` means "pass the code on AssumeRole instead" (said why under -v).
fn mfa_session(
    plan: &Plan,
    base: &Credentials,
    mfa: &mut Mfa,
    cache: &mut Cache,
    min_ttl: Duration,
    get_session_token: impl FnOnce(Credentials, &str, &str) -> Result<Credentials>,
) -> Result<Option<Credentials>> {
    let Some(serial) = plan.hops.first().and_then(|hop| hop.mfa_serial.as_deref()) else {
        return Ok(None);
    };
    if let Some(why) = why_no_mfa_session(plan, cache.enabled(), base.session_token().is_some()) {
        if cache.verbose {
            crate::say!("no MFA session: {why}; the MFA code goes on AssumeRole");
        }
        return Ok(None);
    }
    let Some(key) = mfa_key(plan) else {
        return Ok(None);
    };
    if let Some(session) = cache.get(&key, min_ttl)? {
        if cache.verbose {
            crate::say!("MFA session for {serial} reused");
        }
        return Ok(Some(session));
    }
    let _lock = cache.lock(&key);
    if let Some(session) = cache.recheck(&key, min_ttl)? {
        return Ok(Some(session));
    }
    let hop = &plan.hops[0];
    let code = mfa.code(serial, &hop.profile, hop.mfa_process.as_deref())?;
    if cache.verbose {
        crate::say!(
            "MFA session: GetSessionToken for {serial}, {}s",
            plan.mfa_session_seconds
        );
    }
    let session = get_session_token(base.clone(), serial, &code)?;
    if let Err(e) = cache.put(&key, EntryKind::MfaSession, plan.base.profile(), &session) {
        crate::say!("{e}");
    }
    Ok(Some(session))
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
    if !matches!(plan.base, Base::Static { .. }) || temporary_base {
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

/// Whether `plan` caches an MFA session (see [`mfa_session`]).
pub fn uses_mfa_session(plan: &Plan, cache_enabled: bool) -> bool {
    let temporary = match &plan.base {
        Base::Static { credentials, .. } => credentials.session_token().is_some(),
        _ => true,
    };
    plan.hops
        .first()
        .is_some_and(|hop| hop.mfa_serial.is_some())
        && why_no_mfa_session(plan, cache_enabled, temporary).is_none()
}

/// The credentials' expiration in RFC 3339 (UTC), if they expire.
pub fn expiration(credentials: &Credentials) -> Option<String> {
    use aws_smithy_types::DateTime;
    use aws_smithy_types::date_time::Format;
    credentials
        .expiry()
        .and_then(|expiry| DateTime::from(expiry).fmt(Format::DateTime).ok())
}

/// Where the chain starts, in words; names the access key id, never the secret.
pub fn describe_base(base: &Base) -> String {
    match base {
        Base::Static {
            profile,
            credentials,
        } => format!(
            "source: static keys {} of profile '{profile}'",
            credentials.access_key_id()
        ),
        Base::CredentialSource { profile, source } => {
            format!("source: credential_source {source} of profile '{profile}'")
        }
        Base::WebIdentity {
            profile,
            role_arn,
            token_file,
            ..
        } => {
            format!("source: web identity token {token_file} for {role_arn} (profile '{profile}')")
        }
        Base::Sdk { profile, via } => {
            format!("source: {via} credentials of profile '{profile}', loaded by the AWS SDK")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: Duration = Duration::from_secs(60);

    /// Served at `served` with an hour left.
    fn current(served: SystemTime) -> Current {
        Current {
            credentials: Credentials::new("AKID", "secret", None, Some(served + 60 * MINUTE), "t"),
            since: Instant::now(),
            left: Some(60 * MINUTE),
        }
    }

    #[test]
    fn served_credentials_age_by_both_clocks() {
        let served = SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_000_000);
        let current = current(served);
        // 50 min later by both clocks: 10 min left.
        assert_eq!(
            current.left(served + 50 * MINUTE, 50 * MINUTE),
            Some(10 * MINUTE)
        );
        // 50 min later, but the system clock was set back an hour on the way: by it, 70 min
        // would be left; the monotonic clock knows better.
        assert_eq!(
            current.left(served - 10 * MINUTE, 50 * MINUTE),
            Some(10 * MINUTE)
        );
        // The machine slept 30 min (the monotonic clock stood still): the system clock knows.
        assert_eq!(
            current.left(served + 50 * MINUTE, 20 * MINUTE),
            Some(10 * MINUTE)
        );
        // Past the expiry by either: nothing left.
        assert_eq!(
            current.left(served - 10 * MINUTE, 70 * MINUTE),
            Some(Duration::ZERO)
        );
    }
}
