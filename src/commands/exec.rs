//! `assume exec [PROFILE] -- CMD …`: run a command with the role's credentials. On Unix the
//! process is replaced, so signals and the exit status are the command's own.

use std::process::Command;

use super::assume::CREDENTIAL_VARIABLES;
use crate::cli::ExecArgs;
use crate::config::{Env, Plan};
use crate::error::{Error, Result, exit};
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
/// until the child exits, passes TERM, HUP and INT on to it, and then ends with its status.
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
    {
        // The child and the signals belong to the endpoint's runtime, which reaps the child.
        let _entered = server.runtime().enter();
        // Listening before the child starts, so that no signal is lost in between.
        let signals = forward::Signals::listen()
            .map_err(|e| Error::Internal(format!("cannot listen for signals: {e}")))?;
        let child = tokio::process::Command::from(command)
            .spawn()
            .map_err(|e| not_started(e, name))?;
        let stopper = server.stopper();
        let name = name.to_string();
        server.runtime().spawn(async move {
            let code = match forward::supervise(child, signals).await {
                Ok(status) => exit_code(status),
                Err(e) => {
                    eprintln!("assume: cannot wait for {name}: {e}");
                    exit::INTERNAL
                }
            };
            stopper.stop(code);
        });
    }
    let code = server.serve(&mut source);
    // The port closes.
    drop(server);
    Err(Error::Exit {
        code,
        message: None,
    })
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

/// Signals for the child: TERM, HUP and INT are passed on to it (Unix).
#[cfg(unix)]
mod forward {
    use std::process::ExitStatus;

    use nix::sys::signal::{Signal, kill};
    use nix::unistd::{Pid, getpgrp, tcgetpgrp};
    use tokio::signal::unix::{SignalKind, signal};

    pub struct Signals {
        term: tokio::signal::unix::Signal,
        hup: tokio::signal::unix::Signal,
        int: tokio::signal::unix::Signal,
    }

    impl Signals {
        /// From now on these three no longer end `assume`; [`supervise`] passes them on.
        pub fn listen() -> std::io::Result<Signals> {
            Ok(Signals {
                term: signal(SignalKind::terminate())?,
                hup: signal(SignalKind::hangup())?,
                int: signal(SignalKind::interrupt())?,
            })
        }

        async fn next(&mut self) -> Signal {
            tokio::select! {
                Some(()) = self.term.recv() => Signal::SIGTERM,
                Some(()) = self.hup.recv() => Signal::SIGHUP,
                Some(()) = self.int.recv() => Signal::SIGINT,
                else => std::future::pending().await,
            }
        }
    }

    /// Waits for the child, passing each signal on while it runs. The child is reaped here
    /// and nowhere else, so its pid cannot be another process's when a signal is sent.
    pub async fn supervise(
        mut child: tokio::process::Child,
        mut signals: Signals,
    ) -> std::io::Result<ExitStatus> {
        loop {
            tokio::select! {
                status = child.wait() => return status,
                signal = signals.next() => {
                    let pid = child.id().and_then(|pid| i32::try_from(pid).ok());
                    if let Some(pid) = pid
                        && !(signal == Signal::SIGINT && terminal_sent_it())
                    {
                        let _ = kill(Pid::from_raw(pid), signal);
                    }
                }
            }
        }
    }

    /// Whether `assume` is in its terminal's foreground process group. A Ctrl-C there has
    /// reached the child as well, from the terminal: a second one could make it give up its
    /// clean-up (terraform, for one, stops at once on a second interrupt).
    fn terminal_sent_it() -> bool {
        std::fs::File::open("/dev/tty")
            .ok()
            .and_then(|tty| tcgetpgrp(&tty).ok())
            == Some(getpgrp())
    }
}

/// Elsewhere the child shares the console, so Ctrl-C reaches it; `assume` ignores it and
/// waits for the child's own status.
#[cfg(not(unix))]
mod forward {
    use std::process::ExitStatus;

    pub struct Signals;

    impl Signals {
        pub fn listen() -> std::io::Result<Signals> {
            let _ = ctrlc::set_handler(|| {});
            Ok(Signals)
        }
    }

    pub async fn supervise(
        mut child: tokio::process::Child,
        _signals: Signals,
    ) -> std::io::Result<ExitStatus> {
        child.wait().await
    }
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
