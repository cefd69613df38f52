//! One module per subcommand; this one holds what they share: from the command line to a plan.

pub mod assume;
pub mod clear;
pub mod completions;
pub mod console;
pub mod credential_process;
pub mod exec;
pub mod explain;
pub mod init;
pub mod keys;
pub mod list;
pub mod serve;
pub mod subshell;
pub mod whoami;

use std::time::Duration;

use crate::cache::{Cache, Mode};
use crate::cli::{ChainArgs, CredentialArgs};
use crate::config::{ChainError, ConfigError, Env, Loaded, Overrides, Plan, Resolver};
use crate::credentials::Source;
use crate::error::{Error, Result};
use crate::handoff::Role;
use crate::mfa::Mfa;
use crate::profile::{self, Asking};

/// Writes `text` to stdout, the one place machine output leaves: a reader that went away (a
/// closed pipe, `| head`) ends the run quietly with the status a shell gives SIGPIPE, never a
/// panic.
pub fn emit(text: &str) -> Result<()> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    written(
        stdout
            .write_all(text.as_bytes())
            .and_then(|()| stdout.flush()),
    )
}

/// [`emit`] of `value` as pretty JSON and a newline, written as it is made: a big listing
/// goes out in pieces instead of being held whole.
pub fn emit_json<T: serde::Serialize + ?Sized>(value: &T) -> Result<()> {
    use std::io::Write;
    let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    written(
        serde_json::to_writer_pretty(&mut out, value)
            .map_err(std::io::Error::from)
            .and_then(|()| out.write_all(b"\n"))
            .and_then(|()| out.flush()),
    )
}

/// What a write to stdout came to, as [`emit`] says it.
fn written(result: std::io::Result<()>) -> Result<()> {
    match result {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Err(Error::Exit {
            code: 141,
            message: None,
        }),
        Err(e) => Err(Error::Internal(format!("cannot write to stdout: {e}"))),
    }
}

/// What obtaining credentials for `profile` takes, from the command line's credential
/// options: the plan, the MFA source (the `--token-code` moves into it), the cache.
pub fn source(args: CredentialArgs, profile: &str, env: &Env) -> Result<Source> {
    let mode = Mode::from_env(env, args.no_cache)?;
    let min_ttl = MinTtl::of(&args, env)?;
    let plan = plan(profile, &args.chain, env)?;
    min_ttl.check(&plan, mode != Mode::None)?;
    let mfa = Mfa::new(args.token_code, env)?;
    for notice in &plan.notices {
        crate::say!("{notice}");
    }
    Ok(Source {
        plan,
        mfa,
        cache: Cache::new(mode, env),
        min_ttl: Duration::from_secs(min_ttl.seconds.into()),
        current: None,
    })
}

/// For a command a person runs: the profile chosen ([`profile::choose`]), a [`Source`] for
/// it and the credentials it gives now (so any MFA code is asked now), the profile put first
/// in the picker's list.
fn chosen(
    args: CredentialArgs,
    env: &Env,
    usage: &'static str,
) -> Result<(Source, aws_credential_types::Credentials)> {
    let name = profile::choose(&args.profile, env, Asking::Person { usage })?;
    let mut source = source(args, &name, env)?;
    let credentials = source.credentials()?;
    profile::picker::record(env, &source.plan.profile);
    Ok((source, credentials))
}

/// [`chosen`], for a command that goes on asking (the credential endpoint).
pub fn served(args: CredentialArgs, env: &Env, usage: &'static str) -> Result<Source> {
    Ok(chosen(args, env, usage)?.0)
}

/// [`chosen`], for a command that hands the credentials on once.
pub fn role(args: CredentialArgs, env: &Env, usage: &'static str) -> Result<Role> {
    let (source, credentials) = chosen(args, env, usage)?;
    Ok(Role::new(source.plan, credentials))
}

/// `--min-ttl`, else `ASSUME_MIN_TTL`, else 5 min; and how to name it in a message.
struct MinTtl {
    seconds: u32,
    /// As given: `--min-ttl 2h` or `ASSUME_MIN_TTL=2h`.
    shown: String,
    /// What to change: `--min-ttl` or `ASSUME_MIN_TTL`.
    name: &'static str,
}

impl MinTtl {
    const DEFAULT_SECONDS: u32 = 5 * 60;

    fn of(args: &CredentialArgs, env: &Env) -> Result<MinTtl> {
        let flag = |seconds| MinTtl {
            seconds,
            shown: format!("--min-ttl {}", human(seconds)),
            name: "--min-ttl",
        };
        if let Some(seconds) = args.min_ttl {
            return Ok(flag(seconds));
        }
        let Some(text) = env.get("ASSUME_MIN_TTL") else {
            return Ok(flag(Self::DEFAULT_SECONDS));
        };
        let seconds = crate::cli::parse_duration(&text)
            .map_err(|e| Error::Usage(format!("ASSUME_MIN_TTL={text}: {e}")))?;
        Ok(MinTtl {
            seconds,
            shown: format!("ASSUME_MIN_TTL={text}"),
            name: "ASSUME_MIN_TTL",
        })
    }

    /// Refuses a minimum that the cached credentials could never outlive: nothing would ever
    /// be reused, every call would go to STS and concurrent callers would each make their own
    /// session. What counts is the session the plan asks for the role (the last hop's
    /// duration, else AWS's 1 h) and, when it caches one, the MFA session: the shorter of the
    /// two. (An MFA session serves only a first role that asks for no more than it lasts, so
    /// it is the shorter only in a chain whose later role asks for more than the first.)
    fn check(&self, plan: &Plan, cache_enabled: bool) -> Result<()> {
        let Some(last) = plan.hops.last() else {
            return Ok(()); // no role: nothing is cached
        };
        let role = last
            .duration_seconds
            .unwrap_or(crate::credentials::DEFAULT_ROLE_SECONDS);
        if self.seconds >= role {
            return Err(Error::Usage(format!(
                "{} is not shorter than the {} session of profile '{}', so its credentials \
                 could never be reused: use a shorter {} or a longer --duration",
                self.shown,
                human(role),
                plan.profile,
                self.name
            )));
        }
        if crate::credentials::uses_mfa_session(plan, cache_enabled)
            && self.seconds >= plan.mfa_session_seconds
        {
            return Err(Error::Usage(format!(
                "{} is not shorter than the {} MFA session (mfa_session_duration) that \
                 profile '{}' uses, so that session could never be reused: use a shorter {} or \
                 a longer mfa_session_duration",
                self.shown,
                human(plan.mfa_session_seconds),
                plan.profile,
                self.name
            )));
        }
        Ok(())
    }
}

/// `5400` → `1h30m`.
fn human(seconds: u32) -> String {
    humantime::format_duration(Duration::from_secs(seconds.into()))
        .to_string()
        .replace(' ', "")
}

/// Reads the files and resolves `profile` with the command line's overrides.
pub fn plan(profile: &str, chain: &ChainArgs, env: &Env) -> Result<Plan> {
    let loaded = Loaded::load(env)?;
    let overrides = Overrides {
        duration_seconds: chain.duration,
        region: chain.region.clone(),
    };
    Ok(plan_of(&loaded, profile, &overrides, env)?)
}

/// The plan for one profile of files already loaded.
pub fn plan_of(
    loaded: &Loaded,
    name: &str,
    overrides: &Overrides,
    env: &Env,
) -> Result<Plan, ConfigError> {
    plan_in(
        &mut Resolver::new(&loaded.profiles),
        loaded,
        name,
        overrides,
        env,
    )
}

/// [`plan_of`] with a resolver that has resolved other profiles of these files already, and
/// reuses their chains (`list`).
pub fn plan_in<'a>(
    resolver: &mut Resolver<'a>,
    loaded: &'a Loaded,
    name: &str,
    overrides: &Overrides,
    env: &Env,
) -> Result<Plan, ConfigError> {
    let resolved = resolver.resolve(name).map_err(|err| match err {
        ChainError::MissingSelected { profile } => not_found(loaded, profile),
        other => ConfigError::Chain(other),
    })?;
    Plan::build(&loaded.profiles, &resolved, overrides, env)
}

/// "not found", with the closest names there are.
fn not_found(loaded: &Loaded, profile: String) -> ConfigError {
    let mut close: Vec<(f64, &str)> = loaded
        .profiles
        .profiles
        .keys()
        .map(|name| (strsim::jaro_winkler(&profile, name), name))
        .filter(|(score, _)| *score > 0.8)
        .collect();
    close.sort_by(|a, b| b.0.total_cmp(&a.0));
    let names: Vec<&str> = loaded.profiles.profiles.keys().collect();
    let suggestion = match (close.as_slice(), names.len()) {
        ([(_, one)], _) => format!("did you mean '{one}'?"),
        ([(_, one), (_, two), ..], _) => format!("did you mean '{one}' or '{two}'?"),
        ([], 0) => "add a [profile NAME] section to the config file".to_string(),
        ([], 1..=8) => format!("the profiles there are: {}", names.join(", ")),
        ([], n) => format!("there are {n} profiles, starting {}", names[..5].join(", ")),
    };
    ConfigError::ProfileNotFound {
        profile,
        config: loaded.locations.config.clone(),
        credentials: loaded.locations.credentials.clone(),
        suggestion,
    }
}
