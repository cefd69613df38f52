//! `assume init SHELL`: the shell function (kept as template files) that makes `assume
//! PROFILE` and `assume --unset` change the shell's own variables.

use clap::CommandFactory;

use crate::cli::{Cli, InitArgs, InitShell};
use crate::error::Result;

pub fn run(args: &InitArgs) -> Result<()> {
    print!("{}", script(args.shell));
    Ok(())
}

/// The template with the subcommands (which pass through unchanged) filled in.
pub fn script(shell: InitShell) -> String {
    let mut names: Vec<String> = Cli::command()
        .get_subcommands()
        .map(|command| command.get_name().to_string())
        .collect();
    names.push("help".into());
    // bash and zsh share one template: the function is the same POSIX-style code.
    let posix = |name: &str, rc: &str| {
        include_str!("../../templates/init.sh")
            .replace("{{SHELL}}", name)
            .replace("{{RC}}", rc)
    };
    let (template, list) = match shell {
        InitShell::Bash => (posix("bash", "~/.bashrc"), names.join(" | ")),
        InitShell::Zsh => (posix("zsh", "~/.zshrc"), names.join(" | ")),
        InitShell::Fish => (
            include_str!("../../templates/init.fish").to_string(),
            names.join(" "),
        ),
        InitShell::Powershell => (
            include_str!("../../templates/init.ps1").to_string(),
            names
                .iter()
                .map(|name| format!("'{name}'"))
                .collect::<Vec<_>>()
                .join(", "),
        ),
    };
    template.replace("{{SUBCOMMANDS}}", &list)
}
