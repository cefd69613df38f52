//! Which profile a command line means, chosen once: the one it names, else `AWS_PROFILE`,
//! else `AWS_DEFAULT_PROFILE`; then, for commands a person runs, one picked on the terminal
//! ([`picker`]), and for the others the SDKs' `default`.

pub mod picker;

use crate::cli::ProfileArg;
use crate::config::{Env, named_profile, selected_profile};
use crate::error::{Error, Result};

/// Who the profile is for when the command line names none.
#[derive(Debug, Clone, Copy)]
pub enum Asking {
    /// A person at a terminal (`assume`, `exec`, `shell`, `console`, `serve`): the picker, or
    /// with no terminal an error whose hint is `assume {usage}`.
    Person { usage: &'static str },
    /// What the AWS SDKs would use (`explain`, `credential-process`): `default`.
    Sdk,
}

/// The profile `arg` (or the environment, or the person) means.
pub fn choose(arg: &ProfileArg, env: &Env, asking: Asking) -> Result<String> {
    match asking {
        Asking::Sdk => Ok(selected_profile(arg.get(), env)),
        Asking::Person { usage } => match named_profile(arg.get(), env) {
            Some(name) => Ok(name),
            None => picker::pick(env)?.ok_or_else(|| {
                Error::Usage(format!(
                    "no profile: name one (assume {usage}) or set AWS_PROFILE"
                ))
            }),
        },
    }
}
