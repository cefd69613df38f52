//! Every failure `assume` can report, each with the exit status its class maps to.
//! Messages are one line and say what to do next; none ever carries a secret.

use std::process::ExitCode;

/// Exit statuses, documented in README.md.
pub mod exit {
    /// Anything unexpected (a bug, an I/O error with no better class).
    pub const INTERNAL: u8 = 1;
    /// Bad command line (clap uses the same code).
    pub const USAGE: u8 = 2;
    /// The config files or the selected profile cannot be used as they are.
    pub const CONFIG: u8 = 3;
    /// Credentials or MFA: no code, a wrong code, keys AWS rejects, access denied.
    pub const AUTH: u8 = 4;
    /// STS or the network: unreachable, timed out, throttled, any other service error.
    pub const STS: u8 = 5;
    /// The credential cache: a forced store that cannot be used.
    pub const CACHE: u8 = 6;
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error("{0}")]
    Auth(String),
    #[error("{0}")]
    Sts(String),
    #[error("{0}")]
    Cache(String),
    #[error("{0}")]
    Internal(String),
    /// Ends with this status; the message, if any, is printed like any other error. Used for
    /// `exec`'s "command not found" (127) and for passing on a child's status.
    #[error("{}", message.as_deref().unwrap_or_default())]
    Exit { code: u8, message: Option<String> },
}

impl Error {
    /// Whether there is anything to print (a passed-on status has nothing to say).
    pub fn is_quiet(&self) -> bool {
        matches!(self, Error::Exit { message: None, .. })
    }

    pub fn exit_code(&self) -> ExitCode {
        ExitCode::from(match self {
            Error::Usage(_) => exit::USAGE,
            Error::Config(_) => exit::CONFIG,
            Error::Auth(_) => exit::AUTH,
            Error::Sts(_) => exit::STS,
            Error::Cache(_) => exit::CACHE,
            Error::Internal(_) => exit::INTERNAL,
            Error::Exit { code, .. } => *code,
        })
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
