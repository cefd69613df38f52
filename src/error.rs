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

/// The classes of failure, each with its exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    Internal,
    Usage,
    Config,
    Auth,
    Sts,
    Cache,
}

impl Class {
    pub fn code(self) -> u8 {
        match self {
            Class::Internal => exit::INTERNAL,
            Class::Usage => exit::USAGE,
            Class::Config => exit::CONFIG,
            Class::Auth => exit::AUTH,
            Class::Sts => exit::STS,
            Class::Cache => exit::CACHE,
        }
    }
}

/// Every failure. The typed ones say their class themselves ([`Error::class`]); the plain
/// ones are for what has one message and no data worth keeping.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error(transparent)]
    Mfa(#[from] crate::mfa::MfaError),
    #[error(transparent)]
    Aws(#[from] crate::sts::AwsError),
    #[error(transparent)]
    Vault(#[from] crate::vault::VaultError),
    /// The console's federation endpoint (not STS, but the same class).
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

    /// The class of failure; `None` for a passed-on status.
    pub fn class(&self) -> Option<Class> {
        Some(match self {
            Error::Usage(_) => Class::Usage,
            Error::Config(_) => Class::Config,
            Error::Mfa(e) => e.class(),
            Error::Aws(e) => e.class(),
            Error::Vault(e) => e.class(),
            Error::Sts(_) => Class::Sts,
            Error::Cache(_) => Class::Cache,
            Error::Internal(_) => Class::Internal,
            Error::Exit { .. } => return None,
        })
    }

    pub fn exit_code(&self) -> ExitCode {
        ExitCode::from(match (self, self.class()) {
            (Error::Exit { code, .. }, _) => *code,
            (_, Some(class)) => class.code(),
            (_, None) => exit::INTERNAL,
        })
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
