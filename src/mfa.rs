//! Where an MFA code comes from: `--token-code`, else the profile's `mfa_process`, else a
//! prompt on the controlling terminal (`/dev/tty`), so that it reaches the person even while
//! stdout is captured by `eval "$(…)"`. A code is used once and never stored.
//!
//! `mfa_process` runs while the chain's lock is held, so it is bounded: at most
//! [`OUTPUT_LIMIT`] bytes of its output are read, for at most its timeout, and on Unix it runs
//! in a process group of its own that is killed when the answer is in and when `assume` ends.

#[cfg(unix)]
use std::fs::OpenOptions;
use std::io::Read;
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

use zeroize::Zeroizing;

use crate::config::Env;
use crate::error::{Class, Result};

/// How many times a person may mistype the code before `assume` gives up.
const ATTEMPTS: usize = 3;

/// How long `mfa_process` may take, unless [`TIMEOUT_VARIABLE`] says otherwise.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
const TIMEOUT_VARIABLE: &str = "ASSUME_MFA_PROCESS_TIMEOUT";

/// The most of `mfa_process`'s output that is read: a code is six digits and a newline.
const OUTPUT_LIMIT: usize = 4096;

/// After this long without an answer from `mfa_process`, `assume` says that it is waiting.
const QUIET_WAIT: Duration = Duration::from_secs(1);

pub struct Mfa {
    /// `--token-code`, spent on the first hop that needs a code.
    flag: Option<Zeroizing<String>>,
    /// How long an `mfa_process` may take.
    timeout: Duration,
}

impl Mfa {
    pub fn new(flag: Option<String>, env: &Env) -> Result<Self> {
        let flag = flag.map(Zeroizing::new);
        if let Some(code) = &flag
            && !is_valid_code(code)
        {
            return Err(MfaError::BadTokenCode.into());
        }
        let timeout = match env.get(TIMEOUT_VARIABLE) {
            None => DEFAULT_TIMEOUT,
            Some(text) => crate::config::parse_human_seconds(&text)
                .filter(|seconds| *seconds > 0)
                .map(|seconds| Duration::from_secs(seconds.into()))
                .ok_or(MfaError::BadTimeout { value: text })?,
        };
        Ok(Mfa { flag, timeout })
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
            Some(command) => run_process(command, profile, self.timeout),
            None => prompt(serial, profile),
        }
    }
}

/// Runs `mfa_process` through the shell; its trimmed stdout must be the code. Its stderr is
/// the person's; its output never is (it holds the code).
fn run_process(command: &str, profile: &str, timeout: Duration) -> Result<Zeroizing<String>> {
    let failed = |why: String| -> crate::error::Error {
        MfaError::Process {
            profile: profile.to_string(),
            why,
        }
        .into()
    };
    let helper = Helper::start(command).map_err(|e| failed(format!("could not start: {e}")))?;
    let answer = helper.answer(timeout, || {
        crate::say!(
            "waiting for mfa_process of profile '{profile}' (up to {} s)…",
            timeout.as_secs()
        );
    });
    // Whatever it left running goes now, before the code is used.
    drop(helper);
    let output = match answer {
        Answer::Exited(status, _) if !status.success() => {
            return Err(failed(format!("failed ({status})")));
        }
        Answer::Exited(_, output) => output,
        Answer::TooLong => {
            return Err(failed(format!(
                "printed more than {} KiB, where a 6-digit code was expected; it was stopped",
                OUTPUT_LIMIT / 1024
            )));
        }
        Answer::TimedOut => {
            return Err(failed(format!(
                "gave no code within {} s and was stopped (set {TIMEOUT_VARIABLE} to wait longer)",
                timeout.as_secs()
            )));
        }
        Answer::Unreadable(why) => return Err(failed(format!("could not be read ({why})"))),
    };
    let code = Zeroizing::new(String::from_utf8_lossy(&output).trim().to_string());
    if is_valid_code(&code) {
        Ok(code)
    } else {
        Err(failed("did not print a 6-digit code".into()))
    }
}

/// Why no MFA code could be had.
#[derive(Debug, thiserror::Error)]
pub enum MfaError {
    #[error("--token-code must be the 6 digits your MFA device shows")]
    BadTokenCode,
    #[error(
        "{TIMEOUT_VARIABLE}='{value}' is not a timeout: set it to seconds (at least 1), or e.g. 90s or 2m"
    )]
    BadTimeout { value: String },
    #[error(
        "profile '{profile}': mfa_process {why}; fix the command or remove mfa_process to be prompted"
    )]
    Process { profile: String, why: String },
    #[error(
        "profile '{profile}' needs an MFA code for {serial} and there is no terminal to ask on: pass --token-code CODE"
    )]
    NoTerminal { profile: String, serial: String },
    #[error("could not read the MFA code: {0}")]
    Unreadable(String),
    #[error(
        "no valid MFA code for {serial} after {ATTEMPTS} tries: an MFA code is the 6 digits your device shows"
    )]
    NoValidCode { serial: String },
}

impl MfaError {
    /// A bad value on the command line or in the environment is a usage error; every other
    /// failure to get a code is an authentication one.
    pub fn class(&self) -> Class {
        match self {
            MfaError::BadTokenCode | MfaError::BadTimeout { .. } => Class::Usage,
            _ => Class::Auth,
        }
    }
}

/// What became of an `mfa_process`.
enum Answer {
    /// It closed its output and exited.
    Exited(ExitStatus, Zeroizing<Vec<u8>>),
    /// It printed more than [`OUTPUT_LIMIT`] bytes.
    TooLong,
    /// Its output could not be read.
    Unreadable(String),
    /// It had not finished at the timeout.
    TimedOut,
}

/// A running `mfa_process`. A thread of its own reads its output (bounded) and waits for it,
/// so that `assume` can stop waiting at the timeout. On Unix, dropping the Helper kills its
/// whole process group: the helper, if still running, and anything it left behind.
struct Helper {
    answers: mpsc::Receiver<Answer>,
    #[cfg(unix)]
    _group: Group,
}

impl Helper {
    fn start(command: &str) -> std::io::Result<Helper> {
        let mut shell = if cfg!(windows) {
            let mut shell = Command::new("cmd");
            shell.arg("/C");
            shell
        } else {
            let mut shell = Command::new("sh");
            shell.arg("-c");
            shell
        };
        shell
            .arg(command)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        #[cfg(unix)]
        let group = {
            use std::os::unix::process::CommandExt;
            let group = Group::start()?;
            shell.process_group(group.id);
            group
        };
        let mut child = shell.spawn()?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| std::io::Error::other("no pipe for its output"))?;
        let (report, answers) = mpsc::channel();
        std::thread::Builder::new()
            .name("mfa_process".into())
            .spawn(move || read_and_wait(child, stdout, &report))?;
        Ok(Helper {
            answers,
            #[cfg(unix)]
            _group: group,
        })
    }

    /// The answer, or [`Answer::TimedOut`] after `timeout`; `waiting` runs once if the answer
    /// takes longer than [`QUIET_WAIT`].
    fn answer(&self, timeout: Duration, waiting: impl FnOnce()) -> Answer {
        let started = Instant::now();
        let disconnected = || Answer::Unreadable("its reader stopped".into());
        match self.answers.recv_timeout(QUIET_WAIT.min(timeout)) {
            Ok(answer) => return answer,
            Err(RecvTimeoutError::Disconnected) => return disconnected(),
            Err(RecvTimeoutError::Timeout) => {}
        }
        let left = timeout.saturating_sub(started.elapsed());
        if left.is_zero() {
            return Answer::TimedOut;
        }
        waiting();
        match self.answers.recv_timeout(left) {
            Ok(answer) => answer,
            Err(RecvTimeoutError::Disconnected) => disconnected(),
            Err(RecvTimeoutError::Timeout) => Answer::TimedOut,
        }
    }
}

/// The reader thread: at most [`OUTPUT_LIMIT`] + 1 bytes, then the exit status. Reports as soon
/// as the output is too long (and stops reading), so that the helper is stopped at once.
fn read_and_wait(mut child: Child, stdout: ChildStdout, report: &mpsc::Sender<Answer>) {
    let mut output = Zeroizing::new(Vec::with_capacity(OUTPUT_LIMIT + 1));
    let read = stdout
        .take(OUTPUT_LIMIT as u64 + 1)
        .read_to_end(&mut output);
    let answer = match read {
        Err(e) => Answer::Unreadable(e.to_string()),
        Ok(_) if output.len() > OUTPUT_LIMIT => Answer::TooLong,
        Ok(_) => match child.wait() {
            Ok(status) => Answer::Exited(status, output),
            Err(e) => Answer::Unreadable(e.to_string()),
        },
    };
    let _ = report.send(answer);
    // Reaped here in every case (at once, or once it has been killed).
    let _ = child.wait();
}

/// The process group an `mfa_process` runs in. Its leader is a small `sh` that blocks reading
/// a pipe only `assume` holds the other end of: when `assume` ends, however it ends (SIGKILL
/// included, which no handler sees), the pipe closes and the leader kills the group — the
/// helper and whatever it started. Dropping the Group kills it at once.
#[cfg(unix)]
struct Group {
    leader: Child,
    /// The group's id: its leader's pid.
    id: i32,
}

#[cfg(unix)]
impl Group {
    fn start() -> std::io::Result<Group> {
        use std::os::unix::process::CommandExt;
        let mut leader = Command::new("sh")
            .args(["-c", "read _; kill -s KILL 0"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()?;
        match i32::try_from(leader.id()) {
            Ok(id) if id > 0 => Ok(Group { leader, id }),
            _ => {
                let _ = leader.kill();
                let _ = leader.wait();
                Err(std::io::Error::other("a process id out of range"))
            }
        }
    }
}

#[cfg(unix)]
impl Drop for Group {
    fn drop(&mut self) {
        use nix::sys::signal::{Signal, killpg};
        // The leader is not reaped before the wait below, so the id still names this group.
        let _ = killpg(nix::unistd::Pid::from_raw(self.id), Signal::SIGKILL);
        drop(self.leader.stdin.take());
        let _ = self.leader.wait();
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
    let Some(term) = terminal() else {
        return Err(MfaError::NoTerminal {
            profile: profile.to_string(),
            serial: serial.to_string(),
        }
        .into());
    };
    for attempt in 1..=ATTEMPTS {
        let code = dialoguer::Input::<String>::new()
            .with_prompt(format!("MFA code for {serial}"))
            .allow_empty(true)
            .report(false)
            .interact_text_on(&term)
            .map(Zeroizing::new)
            .map_err(|e| MfaError::Unreadable(e.to_string()))?;
        let code = Zeroizing::new(code.trim().to_string());
        if is_valid_code(&code) {
            return Ok(code);
        }
        if attempt < ATTEMPTS {
            let _ = term.write_line("An MFA code is 6 digits; try again.");
        }
    }
    Err(MfaError::NoValidCode {
        serial: serial.to_string(),
    }
    .into())
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
    fn process_timeout_comes_from_the_environment() {
        let timeout = |value: &str| {
            Mfa::new(None, &Env::from_pairs([(TIMEOUT_VARIABLE, value)])).map(|mfa| mfa.timeout)
        };
        assert_eq!(timeout("").unwrap(), DEFAULT_TIMEOUT);
        assert_eq!(timeout("90").unwrap(), Duration::from_secs(90));
        assert_eq!(timeout("2m").unwrap(), Duration::from_secs(120));
        for bad in ["0", "soon", "-1", "1.5"] {
            assert!(
                matches!(
                    timeout(bad),
                    Err(crate::error::Error::Mfa(MfaError::BadTimeout { .. }))
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn flag_is_validated_and_spent_once() {
        let env = Env::from_pairs::<&str, &str>([]);
        assert!(Mfa::new(Some("12".into()), &env).is_err());
        let mut mfa = Mfa::new(Some("123456".into()), &env).unwrap();
        assert_eq!(
            mfa.flag.take().as_deref().map(String::as_str),
            Some("123456")
        );
    }
}
