use std::process::ExitCode;

use clap::{CommandFactory, Parser};

fn main() -> ExitCode {
    // Shell completion requests (`COMPLETE=bash assume -- …`) are answered here and exit.
    clap_complete::CompleteEnv::with_factory(assume::cli::Cli::command).complete();
    let cli = assume::cli::Cli::parse();
    match assume::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            if !error.is_quiet() {
                eprintln!("assume: {error}");
            }
            error.exit_code()
        }
    }
}
