//! `assume init SHELL`: the shell function (kept as template files) that makes `assume
//! PROFILE` and `assume --unset` change the shell's own variables; and `assume __classify`,
//! which tells that function whether a command line is one of those two.

use std::ffi::OsString;

use clap::Parser;

use crate::cli::{Cli, InitArgs, InitShell};
use crate::error::Result;

pub fn run(args: &InitArgs) -> Result<()> {
    super::emit(&script(args.shell))
}

/// The template for `shell`.
pub fn script(shell: InitShell) -> String {
    // bash and zsh share one template: the function is the same POSIX-style code.
    let posix = |name: &str, rc: &str| {
        include_str!("../../templates/init.sh")
            .replace("{{SHELL}}", name)
            .replace("{{RC}}", rc)
    };
    match shell {
        InitShell::Bash => posix("bash", "~/.bashrc"),
        InitShell::Zsh => posix("zsh", "~/.zshrc"),
        InitShell::Fish => include_str!("../../templates/init.fish").to_string(),
        InitShell::Powershell => include_str!("../../templates/init.ps1").to_string(),
    }
}

/// `switch` when `args` (a command line after `assume`) is the switch or `--unset`, whose
/// output the shell function evaluates; `run` for everything else, including a line clap
/// rejects (run as it is, it prints its own error). Parsed by the very parser `assume` uses.
pub fn classify(args: &[OsString]) -> &'static str {
    // `assume __classify …` itself is not a profile to switch to.
    if args.first().is_some_and(|arg| arg == "__classify") {
        return "run";
    }
    let line = std::iter::once(OsString::from("assume")).chain(args.iter().cloned());
    match Cli::try_parse_from(line) {
        Ok(Cli { command: None, .. }) => "switch",
        _ => "run",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(line: &str) -> &'static str {
        let args: Vec<OsString> = line.split_whitespace().map(OsString::from).collect();
        classify(&args)
    }

    #[test]
    fn only_the_switch_and_unset_are_evaluated() {
        for switch in [
            "",
            "admin",
            "--unset",
            "-v admin",
            "-p list",
            "--profile explain -v",
        ] {
            assert_eq!(kind(switch), "switch", "{switch:?}");
        }
        for run in [
            "-v list",
            "-v whoami",
            "--region x explain P",
            "admin explain",
            "exec admin -- echo hi",
            "--help",
            "-V",
            "--bogus",
            "init bash",
            "__classify --unset",
        ] {
            assert_eq!(kind(run), "run", "{run:?}");
        }
    }
}
