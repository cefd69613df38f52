//! `assume exec [PROFILE] -- CMD …`: run a command with the role's credentials. On Unix the
//! process is replaced, so signals and the exit status are the command's own.

use std::process::Command;

use crate::cli::ExecArgs;
use crate::config::Env;
use crate::error::{Error, Result};
use crate::shell::Change;

pub fn run(args: &ExecArgs, verbose: bool, env: &Env) -> Result<()> {
    let credentials_args = super::with_profile(&args.credentials, env, "exec PROFILE -- COMMAND")?;
    let (plan, credentials) = super::credentials(&credentials_args, verbose, env)?;
    let expiration = super::assume::expiration(&credentials);
    let changes = super::assume::credential_changes(&plan, &credentials, expiration.as_deref());
    let Some((program, rest)) = args.command.split_first() else {
        return Err(Error::Usage("no command: put it after --".into()));
    };
    let mut command = Command::new(program);
    command.args(rest);
    apply(&mut command, &changes);
    replace_process(command, &program.to_string_lossy())
}

/// Puts `changes` into a child's environment.
pub fn apply(command: &mut Command, changes: &[Change<'_>]) {
    for change in changes {
        match change {
            Change::Set(name, value) => command.env(name, value),
            Change::Unset(name) => command.env_remove(name),
        };
    }
}

/// Becomes `command` (Unix), or runs it and ends with its status (elsewhere). Returns only
/// on failure.
pub fn replace_process(mut command: Command, name: &str) -> Result<()> {
    let not_started = |e: std::io::Error| match e.kind() {
        std::io::ErrorKind::NotFound => Error::Exit {
            code: 127,
            message: Some(format!("command not found: {name}")),
        },
        std::io::ErrorKind::PermissionDenied => Error::Exit {
            code: 126,
            message: Some(format!("cannot run {name}: permission denied")),
        },
        _ => Error::Exit {
            code: 126,
            message: Some(format!("cannot run {name}: {e}")),
        },
    };
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        Err(not_started(command.exec()))
    }
    #[cfg(not(unix))]
    {
        // The child shares the console, so Ctrl-C reaches it; `assume` ignores it and waits
        // for the child's own status.
        let _ = ctrlc::set_handler(|| {});
        let status = command.status().map_err(not_started)?;
        Err(Error::Exit {
            code: status.code().map_or(1, |code| code.clamp(0, 255) as u8),
            message: None,
        })
    }
}
