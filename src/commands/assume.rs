//! `assume PROFILE`: print shell code that exports the role's credentials, and
//! `assume --unset`: print the code that switches back.

use std::io::IsTerminal;

use zeroize::Zeroizing;

use crate::cli::AssumeArgs;
use crate::config::Env;
use crate::error::Result;
use crate::handoff::shell::{Shell, render};
use crate::handoff::{self, Change};

pub fn run(args: AssumeArgs, env: &Env) -> Result<()> {
    let shell = args.shell.unwrap_or_else(Shell::of_caller);
    if args.unset {
        let previous = handoff::previous_values(env);
        let assumed = env.get("ASSUME_PROFILE").is_some();
        return super::emit(&render(shell, &handoff::unset_changes(&previous, assumed)));
    }
    let role = super::role(args.credentials, env, "PROFILE")?;
    let plan = &role.plan;
    let mut changes = role.changes();
    let saved = handoff::saved_values(env);
    changes.extend(saved.iter().map(|(saved, value)| Change::Set(saved, value)));

    let code = Zeroizing::new(render(shell, &changes));
    super::emit(&code)?;
    if std::io::stdout().is_terminal() {
        let name = &plan.profile;
        crate::say!(
            "these are the credentials of '{name}'; to set them in this shell, run: {}",
            shell.eval_hint(name)
        );
    }
    Ok(())
}
