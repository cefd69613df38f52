//! `assume exec [PROFILE] -- CMD …`: run a command with the role's credentials. On Unix the
//! process is replaced, so signals and the exit status are the command's own; with
//! `--server` the command gets the credential endpoint instead of keys.

use std::process::Command;

use crate::cli::ExecArgs;
use crate::config::Env;
use crate::error::{Error, Result};
use crate::handoff::child;

pub fn run(args: ExecArgs, env: &Env) -> Result<()> {
    let Some((program, rest)) = args.command.split_first() else {
        return Err(Error::Usage(
            "no command: put it after --, as in `assume exec PROFILE -- aws s3 ls`".into(),
        ));
    };
    let mut command = Command::new(program);
    command.args(rest);
    let name = program.to_string_lossy();
    const USAGE: &str = "exec PROFILE -- COMMAND";
    if args.server {
        let mut source = super::served(args.credentials, env, USAGE)?;
        return child::serve_child(command, &name, &mut source, env);
    }
    let role = super::role(args.credentials, env, USAGE)?;
    child::apply(&mut command, &role.changes());
    child::replace_process(command, &name)
}
