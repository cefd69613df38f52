//! `assume exec [PROFILE] -- CMD …`: run a command with the role's credentials. On Unix the
//! process is replaced, so signals and the exit status are the command's own.

use std::process::Command;
use std::time::Duration;

use super::assume::CREDENTIAL_VARIABLES;
use crate::cli::ExecArgs;
use crate::config::{Env, Plan};
use crate::error::{Error, Result};
use crate::server::Server;
use crate::shell::Change;

pub fn run(args: &ExecArgs, verbose: bool, env: &Env) -> Result<()> {
    let Some((program, rest)) = args.command.split_first() else {
        return Err(Error::Usage(
            "no command: put it after --, as in `assume exec PROFILE -- aws s3 ls`".into(),
        ));
    };
    let mut command = Command::new(program);
    command.args(rest);
    let name = program.to_string_lossy();
    let credentials_args = super::with_profile(&args.credentials, env, "exec PROFILE -- COMMAND")?;
    if args.server {
        return with_server(command, &name, &credentials_args, verbose, env);
    }
    let (plan, credentials) = super::credentials(&credentials_args, verbose, env)?;
    crate::picker::record(env, &plan.profile);
    let expiration = crate::credentials::expiration(&credentials);
    let changes = super::assume::credential_changes(&plan, &credentials, expiration.as_deref());
    apply(&mut command, &changes);
    replace_process(command, &name)
}

/// `exec --server`: the child gets the endpoint and its token, never keys; `assume` serves
/// until the child exits, then ends with its status.
fn with_server(
    mut command: Command,
    name: &str,
    credentials_args: &crate::cli::CredentialArgs,
    verbose: bool,
    env: &Env,
) -> Result<()> {
    let mut source = super::source(credentials_args, verbose, env)?;
    // Ask for any MFA code now, before the command starts.
    source.credentials()?;
    crate::picker::record(env, &source.plan.profile);
    let server = Server::start()?;
    apply(&mut command, &endpoint_changes(&source.plan, &server));
    let mut child = command.spawn().map_err(|e| not_started(e, name))?;
    // Ctrl-C goes to the command from the terminal; `assume` keeps serving until it exits.
    let _ = ctrlc::set_handler(|| {});
    loop {
        match child.try_wait() {
            Ok(Some(status)) => {
                return Err(Error::Exit {
                    code: exit_code(status),
                    message: None,
                });
            }
            Ok(None) => server.serve_one(&mut source, Duration::from_millis(50)),
            Err(e) => return Err(Error::Internal(format!("cannot wait for {name}: {e}"))),
        }
    }
}

/// The environment of a command served by the endpoint: its two variables instead of keys.
pub fn endpoint_changes<'a>(plan: &'a Plan, server: &'a Server) -> Vec<Change<'a>> {
    let mut changes: Vec<Change<'a>> = CREDENTIAL_VARIABLES.map(Change::Unset).to_vec();
    changes.extend(
        [
            "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
            "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
        ]
        .map(Change::Unset),
    );
    changes.extend(
        server
            .variables()
            .map(|(name, value)| Change::Set(name, value)),
    );
    changes.extend(super::assume::profile_changes(plan));
    changes
}

/// A child's status as a shell reports it: its code, or 128 + the signal that ended it.
fn exit_code(status: std::process::ExitStatus) -> u8 {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return (128 + signal).clamp(0, 255) as u8;
        }
    }
    status.code().map_or(1, |code| code.clamp(0, 255) as u8)
}

fn not_started(e: std::io::Error, name: &str) -> Error {
    match e.kind() {
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
    }
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
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        Err(not_started(command.exec(), name))
    }
    #[cfg(not(unix))]
    {
        // The child shares the console, so Ctrl-C reaches it; `assume` ignores it and waits
        // for the child's own status.
        let _ = ctrlc::set_handler(|| {});
        let status = command.status().map_err(|e| not_started(e, name))?;
        Err(Error::Exit {
            code: exit_code(status),
            message: None,
        })
    }
}
