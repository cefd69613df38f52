//! A role's credentials in a child process: its environment, run in place of `assume`
//! (`exec`, `shell`), or run beside the credential endpoint (`exec --server`) with AWS files of
//! its own, signals passed on, and its exit status handed back.

use std::collections::BTreeMap;
use std::process::Command;

use super::Change;
use super::endpoint::Server;
use crate::config::{Env, Loaded, Plan, ProfileSet};
use crate::credentials::Source;
use crate::error::{Error, Result, exit};

/// Runs `command` served by the credential endpoint, not given keys, with AWS files of its
/// own, so that nothing in the person's files or environment answers for it before the
/// endpoint does. `assume` serves until the child exits, passes TERM, HUP and INT on to it,
/// and then ends with its status. `source` has already answered once (any MFA code asked
/// before the command starts).
pub fn serve_child(mut command: Command, name: &str, source: &mut Source, env: &Env) -> Result<()> {
    let files = ChildFiles::write(&source.plan, env)?;
    let server = Server::start()?;
    apply(
        &mut command,
        &super::endpoint_changes(&source.plan, &server, &files),
    );
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
                    crate::say!("cannot wait for {name}: {e}");
                    exit::INTERNAL
                }
            };
            stopper.stop(code);
        });
    }
    let code = server.serve(source);
    // The port closes, then the child's files go.
    drop(server);
    drop(files);
    Err(Error::Exit {
        code,
        message: None,
    })
}

/// The child's own AWS files, in a private (0700) directory removed on drop: a config whose
/// `[default]` holds the settings of the selected profile's chain but none that says where
/// credentials come from, with the config's `[services …]` and `[sso-session …]` sections;
/// and an empty credentials file. Nothing in them is secret.
pub struct ChildFiles {
    _dir: tempfile::TempDir,
    pub config: String,
    pub credentials: String,
}

impl ChildFiles {
    fn write(plan: &Plan, env: &Env) -> Result<ChildFiles> {
        let loaded = Loaded::load(env)?;
        let failed = |e: &dyn std::fmt::Display| {
            Error::Internal(format!("cannot write the command's AWS files: {e}"))
        };
        let mut builder = tempfile::Builder::new();
        builder.prefix("assume-exec-");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            builder.permissions(std::fs::Permissions::from_mode(0o700));
        }
        let dir = builder.tempdir().map_err(|e| failed(&e))?;
        let path = |name: &str| {
            dir.path()
                .join(name)
                .to_str()
                .map(str::to_string)
                .ok_or_else(|| failed(&"the temporary directory's path is not UTF-8"))
        };
        let (config, credentials) = (path("config")?, path("credentials")?);
        std::fs::write(
            &config,
            child_config(&loaded.profiles, &chain_profiles(plan)),
        )
        .and_then(|()| std::fs::write(&credentials, ""))
        .map_err(|e| failed(&e))?;
        Ok(ChildFiles {
            _dir: dir,
            config,
            credentials,
        })
    }
}

/// The chain's profiles, the selected one first: where a setting is looked up, as for the plan.
fn chain_profiles(plan: &Plan) -> Vec<&str> {
    let mut names: Vec<&str> = plan
        .hops
        .iter()
        .rev()
        .map(|hop| hop.profile.as_str())
        .collect();
    names.push(plan.base.profile());
    names
}

/// Settings that say who the caller is or how to get credentials. `sso_*` too.
const CREDENTIAL_SETTINGS: [&str; 17] = [
    "aws_access_key_id",
    "aws_secret_access_key",
    "aws_session_token",
    "aws_security_token",
    "aws_account_id",
    "role_arn",
    "source_profile",
    "credential_source",
    "credential_process",
    "web_identity_token_file",
    "role_session_name",
    "external_id",
    "duration_seconds",
    "mfa_serial",
    "mfa_process",
    "mfa_session_duration",
    "login_session",
];

fn is_credential_setting(key: &str) -> bool {
    CREDENTIAL_SETTINGS.contains(&key) || key.starts_with("sso_")
}

/// Keys that are secrets: never written to the child's files, from any profile.
const SECRETS: [&str; 4] = [
    "aws_access_key_id",
    "aws_secret_access_key",
    "aws_session_token",
    "aws_security_token",
];

/// The child's config file: `[default]` with each non-credential setting of `chain` (the
/// first profile that has it wins), then of the person's own `[default]`; every other profile
/// as it is but for its secrets (it applies only when the child names it); the other
/// sections as they are. Only keys and values every SDK reads the same way are written: a
/// key of `[a-z0-9_]` and a value without control characters (botocore also splits lines at a
/// lone CR and keys at `:`, so anything else could smuggle a setting in).
fn child_config(set: &ProfileSet, chain: &[&str]) -> String {
    let mut settings: BTreeMap<&str, &str> = BTreeMap::new();
    let defaults = chain.iter().copied().chain(std::iter::once("default"));
    for profile in defaults.filter_map(|name| set.profile(name)) {
        for (key, value) in &profile.properties {
            if !is_credential_setting(key) {
                settings.entry(key).or_insert(value);
            }
        }
    }
    let mut text = String::from(
        "# Written by `assume exec --server` for one command: its profile's settings, and no\n\
         # credentials, which the command gets from the endpoint.\n[default]\n",
    );
    for (key, value) in settings {
        property(&mut text, key, value);
    }
    let profiles = set
        .profiles
        .iter()
        .filter(|(name, _)| *name != "default")
        .map(|(name, section)| (format!("profile {name}"), section));
    let sections = set
        .sso_sessions
        .iter()
        .map(|(name, section)| (format!("sso-session {name}"), section))
        .chain(
            set.other_sections
                .iter()
                .map(|((prefix, name), section)| (format!("{prefix} {name}"), section)),
        );
    for (header, section) in profiles.chain(sections) {
        if !is_plain(&header) {
            continue;
        }
        text.push_str(&format!("[{header}]\n"));
        for (key, value) in &section.properties {
            if !SECRETS.contains(&key) {
                property(&mut text, key, value);
            }
        }
    }
    text
}

/// `key = value`, or a key with sub-properties, each indented on a line of its own; a key or
/// value that is not plain is left out.
fn property(text: &mut String, key: &str, value: &str) {
    if !is_key(key) {
        return;
    }
    if !value.contains('\n') {
        if is_plain(value) {
            text.push_str(&format!("{key} = {value}\n"));
        }
        return;
    }
    text.push_str(&format!("{key} =\n"));
    for (sub_key, sub_value) in crate::config::parse_sub_properties(value) {
        if is_key(&sub_key) && is_plain(&sub_value) {
            text.push_str(&format!("  {sub_key} = {sub_value}\n"));
        }
    }
}

fn is_key(key: &str) -> bool {
    !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

fn is_plain(value: &str) -> bool {
    !value.chars().any(char::is_control)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::FileKind;

    #[test]
    fn child_config_keeps_settings_and_drops_credentials() {
        let mut set = ProfileSet::default();
        set.merge_file(
            FileKind::Config,
            "config",
            "[default]\nregion = ap-south-1\nca_bundle = /etc/ca.pem\n\
             [profile base]\nregion = eu-west-1\nretry_mode = adaptive\nsso_start_url = https://x\n\
             output = json\rcredential_process = /tmp/evil\n\
             [profile admin]\nrole_arn = arn:aws:iam::123456789012:role/A\nsource_profile = base\n\
             mfa_serial = arn:aws:iam::123456789012:mfa/a\noutput = text\n\
             credential_process:/tmp/evil = 1\n\
             s3 =\n  addressing_style = path\n  use_accelerate_endpoint = true\n\
             [services local]\nsts =\n  endpoint_url = http://127.0.0.1:1\n\
             [sso-session corp]\nsso_region = eu-west-1\n",
        )
        .unwrap();
        set.merge_file(
            FileKind::Credentials,
            "credentials",
            "[base]\naws_access_key_id = AKIAEXAMPLE\naws_secret_access_key = s3cr3t\n",
        )
        .unwrap();
        let text = child_config(&set, &["admin", "base"]);
        assert_eq!(
            text.lines()
                .filter(|l| !l.starts_with('#'))
                .collect::<Vec<_>>(),
            [
                "[default]",
                "ca_bundle = /etc/ca.pem",
                "output = text",
                "region = eu-west-1",
                "retry_mode = adaptive",
                "s3 =",
                "  addressing_style = path",
                "  use_accelerate_endpoint = true",
                "[profile admin]",
                "mfa_serial = arn:aws:iam::123456789012:mfa/a",
                "output = text",
                "role_arn = arn:aws:iam::123456789012:role/A",
                "s3 =",
                "  addressing_style = path",
                "  use_accelerate_endpoint = true",
                "source_profile = base",
                "[profile base]",
                "region = eu-west-1",
                "retry_mode = adaptive",
                "sso_start_url = https://x",
                "[sso-session corp]",
                "sso_region = eu-west-1",
                "[services local]",
                "sts =",
                "  endpoint_url = http://127.0.0.1:1",
            ]
        );
        assert!(!text.contains("evil") && !text.contains('\r') && !text.contains("s3cr3t"));
        // It reads back as the SDKs would read it.
        let mut again = ProfileSet::default();
        again.merge_file(FileKind::Config, "child", &text).unwrap();
        let default = again.profile("default").unwrap();
        assert_eq!(again.profiles.len(), 3);
        assert_eq!(default.sub_properties("s3")["addressing_style"], "path");
        assert_eq!(default.get("credential_process"), None);
        assert_eq!(
            again.other_sections[&("services".into(), "local".into())].sub_properties("sts")["endpoint_url"],
            "http://127.0.0.1:1"
        );
    }
}
