//! Shell code that sets or removes variables, for bash, zsh, fish, PowerShell and nushell.
//! Every value is quoted so that nothing in it (quotes, `$(…)`, backticks, newlines) can run.

use std::fmt::Write as _;

use clap::ValueEnum;

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
    /// The shell `$SHELL` names; bash when it names none we know (or is unset).
    pub fn detect(shell_var: Option<&str>) -> Shell {
        let name = shell_var
            .and_then(|path| path.rsplit(['/', '\\']).next())
            .map(|name| name.trim_end_matches(".exe").to_ascii_lowercase());
        match name.as_deref() {
            Some("zsh") => Shell::Zsh,
            Some("fish") => Shell::Fish,
            Some("pwsh" | "powershell") => Shell::Powershell,
            Some("nu") => Shell::Nu,
            _ if cfg!(windows) && name.is_none() => Shell::Powershell,
            _ => Shell::Bash,
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

/// One change to the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change<'a> {
    Set(&'static str, &'a str),
    Unset(&'static str),
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
    fn detects_from_shell_path() {
        assert_eq!(Shell::detect(Some("/usr/bin/zsh")), Shell::Zsh);
        assert_eq!(Shell::detect(Some("/usr/local/bin/fish")), Shell::Fish);
        assert_eq!(Shell::detect(Some("/opt/pwsh")), Shell::Powershell);
        assert_eq!(Shell::detect(Some("/bin/bash")), Shell::Bash);
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
