//! Shell code that sets or removes variables, for bash, zsh, fish, PowerShell and nushell.
//! Every value is quoted so that nothing in it (quotes, `$(…)`, backticks, newlines) can run.

use std::fmt::Write as _;

use clap::ValueEnum;

use super::Change;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
    #[value(alias = "pwsh")]
    Powershell,
    #[value(alias = "nushell")]
    Nu,
}

impl Shell {
    /// The shell that will read the output when `--shell` does not say: the process that
    /// started `assume`, when it is a shell we know (Linux shows it in `/proc`), else POSIX
    /// syntax, which every `sh`-like shell reads (PowerShell on Windows). Never `$SHELL`: that
    /// is the login shell, and a fish user's bash script must still get POSIX code.
    pub fn of_caller() -> Shell {
        parent_name()
            .and_then(|name| Shell::from_program(&name))
            .unwrap_or(if cfg!(windows) {
                Shell::Powershell
            } else {
                Shell::Bash
            })
    }

    /// The shell a program name or path is, if it is one whose syntax we print.
    pub fn from_program(program: &str) -> Option<Shell> {
        let name = program.rsplit(['/', '\\']).next()?;
        let name = name.trim_end_matches(".exe").trim_start_matches('-');
        match name.to_ascii_lowercase().as_str() {
            "bash" | "sh" | "dash" | "ash" | "ksh" | "mksh" | "busybox" => Some(Shell::Bash),
            "zsh" => Some(Shell::Zsh),
            "fish" => Some(Shell::Fish),
            "pwsh" | "powershell" => Some(Shell::Powershell),
            "nu" => Some(Shell::Nu),
            _ => None,
        }
    }

    /// How the person runs our output in this shell, for the hint on stderr.
    pub fn eval_hint(self, args: &str) -> String {
        match self {
            Shell::Bash | Shell::Zsh => format!("eval \"$(assume {args})\""),
            Shell::Fish => format!("assume {args} | source"),
            Shell::Powershell => format!("assume {args} | Out-String | Invoke-Expression"),
            Shell::Nu => format!("assume {args} --shell nu | from nuon | load-env"),
        }
    }
}

/// The name of the parent process, where the OS tells it cheaply.
fn parent_name() -> Option<String> {
    #[cfg(target_os = "linux")]
    {
        let parent = std::os::unix::process::parent_id();
        let comm = std::fs::read_to_string(format!("/proc/{parent}/comm")).ok()?;
        Some(comm.trim_end().to_string())
    }
    #[cfg(not(target_os = "linux"))]
    None
}

/// The code for `changes`, one statement per line.
///
/// Nushell cannot evaluate a string in the caller's scope, so for it the output is a nuon
/// record for `from nuon | load-env`; variables to remove are left out of it (nushell users
/// remove them with `hide-env`), and a record of only removals is their list of names.
pub fn render(shell: Shell, changes: &[Change<'_>]) -> String {
    let mut out = String::new();
    match shell {
        Shell::Bash | Shell::Zsh => {
            for change in changes {
                let _ = match change {
                    Change::Set(name, value) => writeln!(out, "export {name}={}", posix(value)),
                    Change::Unset(name) => writeln!(out, "unset {name}"),
                };
            }
        }
        Shell::Fish => {
            for change in changes {
                let _ = match change {
                    Change::Set(name, value) => writeln!(out, "set -gx {name} {}", fish(value)),
                    // `set -e` of an unset variable fails: the code's status must stay 0.
                    Change::Unset(name) => writeln!(out, "set -e {name}; or true"),
                };
            }
        }
        Shell::Powershell => {
            for change in changes {
                let _ = match change {
                    Change::Set(name, value) => {
                        writeln!(out, "$env:{name} = {}", powershell(value))
                    }
                    Change::Unset(name) => writeln!(
                        out,
                        "Remove-Item -Path Env:{name} -ErrorAction SilentlyContinue"
                    ),
                };
            }
        }
        Shell::Nu => {
            let sets: Vec<String> = changes
                .iter()
                .filter_map(|change| match change {
                    Change::Set(name, value) => Some(format!("{name}: {}", nu(value))),
                    Change::Unset(_) => None,
                })
                .collect();
            if sets.is_empty() {
                let names: Vec<&str> = changes
                    .iter()
                    .filter_map(|change| match change {
                        Change::Unset(name) => Some(*name),
                        Change::Set(..) => None,
                    })
                    .collect();
                let _ = writeln!(out, "[{}]", names.join(", "));
            } else {
                let _ = writeln!(out, "{{{}}}", sets.join(", "));
            }
        }
    }
    out
}

/// POSIX single quotes, valid in bash and zsh: no character is special inside them.
fn posix(value: &str) -> String {
    String::from_utf8_lossy(&shell_quote::Sh::quote_vec(value)).into_owned()
}

fn fish(value: &str) -> String {
    String::from_utf8_lossy(&shell_quote::Fish::quote_vec(value)).into_owned()
}

/// PowerShell single quotes; a quote (including the typographic ones PowerShell also honours)
/// is escaped by doubling it.
fn powershell(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('\'');
    for c in value.chars() {
        if matches!(c, '\'' | '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}') {
            out.push(c);
        }
        out.push(c);
    }
    out.push('\'');
    out
}

/// A nushell raw string `r#'…'#` with enough `#` that the value cannot close it.
fn nu(value: &str) -> String {
    let mut hashes = 1;
    while value.contains(&format!("'{}", "#".repeat(hashes))) {
        hashes += 1;
    }
    let fence = "#".repeat(hashes);
    format!("r{fence}'{value}'{fence}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shells_by_program_name() {
        assert_eq!(Shell::from_program("/usr/bin/zsh"), Some(Shell::Zsh));
        assert_eq!(Shell::from_program("fish"), Some(Shell::Fish));
        assert_eq!(Shell::from_program("-bash"), Some(Shell::Bash));
        assert_eq!(Shell::from_program("dash"), Some(Shell::Bash));
        assert_eq!(Shell::from_program("pwsh.exe"), Some(Shell::Powershell));
        assert_eq!(Shell::from_program("python3"), None);
    }

    #[test]
    fn powershell_doubles_every_quote_kind() {
        assert_eq!(powershell("a'b\u{2019}c"), "'a''b\u{2019}\u{2019}c'");
    }

    #[test]
    fn nu_raw_strings_outgrow_their_content() {
        assert_eq!(nu("x"), "r#'x'#");
        assert_eq!(nu("a'#b"), "r##'a'#b'##");
    }

    #[test]
    fn posix_quotes_are_inert() {
        let out = render(Shell::Bash, &[Change::Set("A", "$(touch x)'`")]);
        assert!(out.starts_with("export A="), "{out}");
        assert!(!out.contains("\n\n"));
    }
}
