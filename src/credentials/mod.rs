//! Getting a plan's credentials: the cache first; else, under the chain's refresh lock, a
//! [`Refresh`]: the base credentials, an MFA session when one can serve, and each hop in turn.

mod keys;
mod mfa_session;
mod refresh;

pub use keys::{mfa_key, mfa_key_of, role_key};
pub use mfa_session::uses_mfa_session;
use refresh::Refresh;
pub use refresh::{runtime, with_spinner};

use std::time::{Duration, Instant, SystemTime};

use aws_credential_types::Credentials;

use crate::cache::{Cache, EntryKind};
use crate::config::{Base, Plan};
use crate::error::Result;
use crate::mfa::Mfa;

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
    if plan.hops.is_empty() {
        // No role: the profile's own credentials, as the SDK loads them; nothing to cache.
        return Refresh::new(plan)?.base();
    }
    let key = role_key(plan);
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
    let refresh = Refresh::new(plan)?;
    let base = refresh.base()?;
    let credentials = match mfa_session::obtain(plan, &base, mfa, cache, min_ttl, &refresh)? {
        Some(session) => refresh.hops(session, true, mfa)?,
        None => refresh.hops(base, false, mfa)?,
    };
    if let Err(e) = cache.put(&key, EntryKind::Role, &plan.profile, &credentials) {
        crate::say!("{e}");
    }
    Ok(credentials)
}

/// Where an IAM user's own MFA session is made and cached: its long-term keys, its MFA device
/// and `mfa_process`, the STS region and endpoint, how long a new session lasts.
pub struct UserMfa<'a> {
    pub profile: &'a str,
    pub serial: &'a str,
    pub process: Option<&'a str>,
    pub region: &'a str,
    pub endpoint_url: &'a Option<String>,
    pub seconds: u32,
}

/// The MFA session of the long-term `keys` (for calls their user's policy allows only with
/// MFA, as `keys rotate`'s IAM calls): the one cached for that key, device, region and
/// endpoint — the one `assume` makes for a role behind the device — else a new one
/// (GetSessionToken with a code), then cached.
pub fn user_mfa_session(
    keys: &Credentials,
    user: &UserMfa<'_>,
    mfa: &mut Mfa,
    cache: &mut Cache,
    min_ttl: Duration,
) -> Result<Credentials> {
    let key = mfa_key_of(
        keys.access_key_id(),
        user.serial,
        user.region,
        user.endpoint_url,
    );
    mfa_session::cached_or_new(cache, &key, min_ttl, user.serial, user.profile, || {
        let code = mfa.code(user.serial, user.profile, user.process)?;
        crate::verbose!(
            "MFA session: GetSessionToken for {}, {}s",
            user.serial,
            user.seconds
        );
        let runtime = refresh::runtime()?;
        let sts = crate::sts::Sts::at(user.region, user.endpoint_url.clone());
        refresh::with_spinner(
            format!("starting an MFA session with {}", user.serial),
            || {
                runtime.block_on(sts.get_session_token(
                    keys.clone(),
                    user.profile,
                    user.seconds,
                    user.serial,
                    &code,
                ))
            },
        )
    })
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
        Base::Vault {
            profile,
            access_key_id,
            store,
            shadowed,
        } => {
            let mut text = format!(
                "source: static keys {access_key_id} from {} (profile '{profile}')",
                store.describe()
            );
            if let Some(file_key) = shadowed {
                text.push_str(&format!(
                    "; the keys {file_key} in the files for this profile are not used: the vault's win"
                ));
            }
            text
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
