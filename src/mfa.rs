//! Where an MFA code comes from: `--token-code`, else the profile's `mfa_process`, else a
//! prompt on the controlling terminal (`/dev/tty`), so that it reaches the person even while
//! stdout is captured by `eval "$(…)"`. A code is used once and never stored.

#[cfg(unix)]
use std::fs::OpenOptions;

use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// How many times a person may mistype the code before `assume` gives up.
const ATTEMPTS: usize = 3;

pub struct Mfa {
    /// `--token-code`, spent on the first hop that needs a code.
    flag: Option<Zeroizing<String>>,
}

impl Mfa {
    pub fn new(flag: Option<String>) -> Result<Self> {
        let flag = flag.map(Zeroizing::new);
        if let Some(code) = &flag
            && !is_valid_code(code)
        {
            return Err(Error::Usage(
                "--token-code must be the 6 digits your MFA device shows".into(),
            ));
        }
        Ok(Mfa { flag })
    }

    /// A code for `serial`, asked for by `profile`, whose `mfa_process` is `process`.
    pub fn code(
        &mut self,
        serial: &str,
        profile: &str,
        process: Option<&str>,
    ) -> Result<Zeroizing<String>> {
        if let Some(code) = self.flag.take() {
            return Ok(code);
        }
        match process {
            Some(command) => run_process(command, profile),
            None => prompt(serial, profile),
        }
    }
}

/// Runs `mfa_process` through the shell; its trimmed stdout must be the code.
fn run_process(command: &str, profile: &str) -> Result<Zeroizing<String>> {
    let failed = |why: String| {
        Error::Auth(format!(
            "profile '{profile}': mfa_process {why}; fix the command or remove mfa_process to be prompted"
        ))
    };
    let mut shell = if cfg!(windows) {
        let mut shell = std::process::Command::new("cmd");
        shell.arg("/C");
        shell
    } else {
        let mut shell = std::process::Command::new("sh");
        shell.arg("-c");
        shell
    };
    let output = shell
        .arg(command)
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|e| failed(format!("could not start: {e}")))?;
    let stdout = Zeroizing::new(output.stdout);
    if !output.status.success() {
        return Err(failed(format!("failed ({})", output.status)));
    }
    let code = Zeroizing::new(String::from_utf8_lossy(&stdout).trim().to_string());
    if is_valid_code(&code) {
        Ok(code)
    } else {
        Err(failed("did not print a 6-digit code".into()))
    }
}

fn is_valid_code(code: &str) -> bool {
    code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit())
}

/// The person's terminal, even when stdin, stdout and stderr are pipes: the controlling
/// terminal (`/dev/tty`) on Unix, the console elsewhere. `None` when there is none.
pub fn terminal() -> Option<console::Term> {
    #[cfg(unix)]
    let term = {
        let open = || OpenOptions::new().read(true).write(true).open("/dev/tty");
        let (Ok(read), Ok(write)) = (open(), open()) else {
            return None;
        };
        console::Term::read_write_pair(read, write)
    };
    #[cfg(not(unix))]
    let term = console::Term::stderr();
    term.is_term().then_some(term)
}

fn prompt(serial: &str, profile: &str) -> Result<Zeroizing<String>> {
    let no_terminal = || {
        Error::Auth(format!(
            "profile '{profile}' needs an MFA code for {serial} and there is no terminal to ask on: pass --token-code CODE"
        ))
    };
    let Some(term) = terminal() else {
        return Err(no_terminal());
    };
    for attempt in 1..=ATTEMPTS {
        let code = dialoguer::Input::<String>::new()
            .with_prompt(format!("MFA code for {serial}"))
            .allow_empty(true)
            .report(false)
            .interact_text_on(&term)
            .map(Zeroizing::new)
            .map_err(|e| Error::Auth(format!("could not read the MFA code: {e}")))?;
        let code = Zeroizing::new(code.trim().to_string());
        if is_valid_code(&code) {
            return Ok(code);
        }
        if attempt < ATTEMPTS {
            let _ = term.write_line("An MFA code is 6 digits; try again.");
        }
    }
    Err(Error::Auth(format!(
        "no valid MFA code for {serial} after {ATTEMPTS} tries: an MFA code is the 6 digits your device shows"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_six_digits() {
        assert!(is_valid_code("012345"));
        for bad in ["", "12345", "1234567", "12345a", "١٢٣٤٥٦"] {
            assert!(!is_valid_code(bad), "{bad}");
        }
    }

    #[test]
    fn flag_is_validated_and_spent_once() {
        assert!(Mfa::new(Some("12".into())).is_err());
        let mut mfa = Mfa::new(Some("123456".into())).unwrap();
        assert_eq!(
            mfa.flag.take().as_deref().map(String::as_str),
            Some("123456")
        );
    }
}
