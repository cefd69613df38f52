//! `assume serve [PROFILE]`: the credential endpoint of `exec --server`, in the foreground,
//! for commands started from other terminals.

use crate::cli::ServeArgs;
use crate::config::Env;
use crate::error::{Error, Result};
use crate::handoff::Change;
use crate::handoff::endpoint::Server;
use crate::handoff::shell::{Shell, render};

pub fn run(args: ServeArgs, env: &Env) -> Result<()> {
    let mut source = super::served(args.credentials, env, "serve PROFILE")?;
    let server = Server::start()?;
    let shell = args.shell.unwrap_or_else(Shell::of_caller);
    let changes: Vec<Change<'_>> = server
        .variables()
        .map(|(name, value)| Change::Set(name, value))
        .to_vec();
    super::emit(&render(shell, &changes))?;
    crate::say!(
        "serving the credentials of '{}' at {} until Ctrl-C; give a command the variables above (and no AWS keys) and its SDK fetches them as they run low",
        source.plan.profile,
        server.uri
    );
    // Nothing stops it but a signal (Ctrl-C), which ends the process and so the endpoint.
    let code = server.serve(&mut source);
    Err(Error::Exit {
        code,
        message: None,
    })
}
