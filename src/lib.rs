//! `assume`: trade the AWS credentials you have for a role's temporary credentials.
//!
//! Data flows one way: [`cli`] → [`profile`] (which profile, chosen once) → [`config`] (files →
//! profiles → a validated [`config::Plan`]) → [`credentials`] (the [`cache`] first, else a
//! refresh through [`sts`], the only module that talks to AWS, and [`mfa`]) → [`handoff`]
//! (shell exports, a child's environment, or the credential endpoint). [`commands`] holds one
//! file per subcommand, none of which imports another.
//!
//! Public for the binary and the tests: the command line, the config model (the conformance
//! suite runs it), the shell rendering (the fuzz suite evaluates it), errors and messages.

mod cache;
pub mod cli;
mod commands;
pub mod config;
mod credentials;
pub mod error;
pub mod handoff;
pub mod message;
mod mfa;
mod profile;
mod sts;
mod vault;

use cli::{Cli, Command};
pub use commands::init::classify;
use config::Env;
pub use error::{Error, Result};
pub use vault::VaultKind;

/// Runs one command line; the one place commands are dispatched.
pub fn run(cli: Cli) -> Result<()> {
    crate::message::set_verbose(cli.verbose);
    let env = Env::real();
    // `assume admin explain`: clap takes `admin` as the top-level PROFILE; say where it goes.
    if let (Some(_), Some(profile)) = (&cli.command, cli.assume.credentials.profile.get()) {
        return Err(Error::Usage(format!(
            "'{profile}' before a subcommand: put the profile after it, as in `assume explain {profile}`"
        )));
    }
    match cli.command {
        None => commands::assume::run(cli.assume, &env),
        Some(Command::Explain(args)) => commands::explain::run(&args, &env),
        Some(Command::CredentialProcess(args)) => commands::credential_process::run(args, &env),
        Some(Command::Clear(args)) => commands::clear::run(&args, &env),
        Some(Command::List(args)) => commands::list::run(&args, &env),
        Some(Command::Exec(args)) => commands::exec::run(args, &env),
        Some(Command::Console(args)) => commands::console::run(args, &env),
        Some(Command::Whoami(args)) => commands::whoami::run(&args, &env),
        Some(Command::Serve(args)) => commands::serve::run(args, &env),
        Some(Command::Shell(args)) => commands::subshell::run(args, &env),
        Some(Command::Init(args)) => commands::init::run(&args),
        Some(Command::Completions(args)) => commands::completions::run(&args),
        Some(Command::Man) => commands::completions::man(),
        Some(Command::Keys(args)) => commands::keys::run(args, &env),
    }
}
