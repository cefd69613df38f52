//! `assume completions SHELL` and `assume man`: the completion script and the man page, both
//! generated from the clap definition.
//!
//! The completion script It asks `assume` itself for candidates
//! (clap_complete's dynamic engine), so profile names come from the config files of the moment.

use std::io::Write;

use clap_complete::env::{Bash, Elvish, EnvCompleter, Fish, Powershell, Zsh};

use crate::cli::{CompletionShell, CompletionsArgs};
use crate::error::{Error, Result};

pub fn run(args: &CompletionsArgs) -> Result<()> {
    let mut out = Vec::new();
    let shell: &dyn EnvCompleter = match args.shell {
        CompletionShell::Bash => &Bash,
        CompletionShell::Zsh => &Zsh,
        CompletionShell::Fish => &Fish,
        CompletionShell::Powershell => &Powershell,
        CompletionShell::Elvish => &Elvish,
    };
    shell
        .write_registration("COMPLETE", "assume", "assume", "assume", &mut out)
        .and_then(|()| std::io::stdout().write_all(&out))
        .map_err(|e| Error::Internal(format!("cannot write the completion script: {e}")))
}

/// The man page, in roff.
pub fn man() -> Result<()> {
    use clap::CommandFactory;
    let mut out = Vec::new();
    clap_mangen::Man::new(crate::cli::Cli::command())
        .render(&mut out)
        .and_then(|()| std::io::stdout().write_all(&out))
        .map_err(|e| Error::Internal(format!("cannot write the man page: {e}")))
}
