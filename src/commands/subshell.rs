//! `assume shell [PROFILE]`: a new shell with the role's credentials; leaving it is the
//! switch back, since the parent shell never had them.

use std::path::PathBuf;
use std::process::Command;

use crate::cache::unix_now;
use crate::cli::ShellArgs;
use crate::config::Env;
use crate::error::Result;
use crate::handoff::{Change, child};

pub fn run(args: ShellArgs, env: &Env) -> Result<()> {
    let role = super::role(args.credentials, env, "shell PROFILE")?;
    let (plan, credentials, expiration) = (&role.plan, &role.credentials, &role.expiration);
    let mut changes = role.changes();
    changes.push(Change::Set("ASSUME_SHELL", &plan.profile));

    if let Some(outer) = env.get("ASSUME_SHELL") {
        crate::say!(
            "already in an assume shell for '{outer}'; this one has the credentials of '{}' until you exit it",
            plan.profile
        );
    }
    let shell = args
        .shell_path
        .clone()
        .or_else(|| env.get("SHELL").map(PathBuf::from))
        .unwrap_or_else(|| {
            PathBuf::from(if cfg!(windows) {
                "powershell.exe"
            } else {
                "/bin/sh"
            })
        });
    let until = match (&expiration, credentials.expiry()) {
        (Some(at), Some(expiry)) => {
            let left = crate::cache::unix_seconds(expiry).saturating_sub(unix_now()) / 60;
            format!("; the credentials expire at {at} (in {left} min)")
        }
        _ => String::new(),
    };
    crate::say!(
        "starting {} as '{}'{until}; exit it to switch back",
        shell.display(),
        plan.profile
    );
    let mut command = Command::new(&shell);
    child::apply(&mut command, &changes);
    child::replace_process(command, &shell.display().to_string())
}
