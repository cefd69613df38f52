//! Making fresh credentials for a plan, step by step: the base credentials, the MFA session,
//! each role hop in call order. Each step is one call to [`sts`](crate::sts), on one runtime.

use std::time::Duration;

use aws_credential_types::Credentials;

use super::describe_base;
use crate::config::Plan;
use crate::error::{Error, Result};
use crate::mfa::Mfa;
use crate::sts::{self, Sts};

/// The runtime and STS client one refresh of `plan` uses.
pub struct Refresh<'a> {
    plan: &'a Plan,
    runtime: tokio::runtime::Runtime,
    sts: Sts,
}

impl<'a> Refresh<'a> {
    pub fn new(plan: &'a Plan) -> Result<Self> {
        Ok(Refresh {
            plan,
            runtime: runtime()?,
            sts: Sts::new(plan),
        })
    }

    /// The credentials the chain starts from. No spinner: a `credential_process` or SSO
    /// source may prompt on the terminal itself.
    pub fn base(&self) -> Result<Credentials> {
        crate::verbose!("{}", describe_base(&self.plan.base));
        self.runtime.block_on(sts::base_credentials(self.plan))
    }

    /// A GetSessionToken session of the base's long-term keys, made with an MFA code.
    pub fn session_token(
        &self,
        base: Credentials,
        serial: &str,
        code: &str,
    ) -> Result<Credentials> {
        with_spinner(format!("starting an MFA session with {serial}"), || {
            self.runtime.block_on(self.sts.get_session_token(
                base,
                self.plan.base.profile(),
                self.plan.mfa_session_seconds,
                serial,
                code,
            ))
        })
    }

    /// Each hop in turn, from `start`: the base credentials, or the MFA session when
    /// `from_session` (then the first hop needs no code of its own).
    pub fn hops(
        &self,
        start: Credentials,
        from_session: bool,
        mfa: &mut Mfa,
    ) -> Result<Credentials> {
        let plan = self.plan;
        let mut credentials = start;
        for (index, hop) in plan.hops.iter().enumerate() {
            let session_name = sts::session_name(hop.role_session_name.as_deref());
            let code = match &hop.mfa_serial {
                Some(serial) if !(index == 0 && from_session) => Some((
                    serial.as_str(),
                    mfa.code(serial, &hop.profile, hop.mfa_process.as_deref())?,
                )),
                _ => None,
            };
            let with = match (&hop.mfa_serial, &code) {
                (_, Some((serial, _))) => format!(" with MFA {serial}"),
                (Some(_), None) => " from the MFA session".to_string(),
                (None, None) => String::new(),
            };
            crate::verbose!(
                "hop {}/{}: [{}] AssumeRole {} as {session_name}{}{with}",
                index + 1,
                plan.hops.len(),
                hop.profile,
                hop.role_arn,
                hop.duration_seconds
                    .map(|s| format!(" for {s}s"))
                    .unwrap_or_default(),
            );
            credentials = with_spinner(format!("assuming {}", hop.role_arn), || {
                self.runtime.block_on(self.sts.assume_role(
                    credentials,
                    hop,
                    &session_name,
                    hop.duration_seconds,
                    code.as_ref().map(|(serial, code)| (*serial, code.as_str())),
                ))
            })?;
        }
        Ok(credentials)
    }
}

/// The one-thread runtime the calls to AWS run on.
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Internal(format!("cannot start the async runtime: {e}")))
}

/// A spinner on stderr while `call` runs: only on a terminal, and never while `-v` is
/// printing (prompts are over before a call starts).
pub fn with_spinner<T>(message: String, call: impl FnOnce() -> T) -> T {
    use std::io::IsTerminal;
    if crate::message::verbose() || !std::io::stderr().is_terminal() {
        return call();
    }
    let spinner =
        indicatif::ProgressBar::new_spinner().with_message(crate::message::clean(&message));
    spinner.enable_steady_tick(Duration::from_millis(80));
    let result = call();
    spinner.finish_and_clear();
    result
}
