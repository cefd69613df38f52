use std::process::ExitCode;

use clap::{CommandFactory, Parser};

fn main() -> ExitCode {
    // Shell completion requests (`COMPLETE=bash assume -- …`) are answered here and exit.
    clap_complete::CompleteEnv::with_factory(assume::cli::Cli::command).complete();
    let cli = match assume::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) if !error.use_stderr() => error.exit(), // --help, --version
        Err(error) => {
            eprintln!("assume: {}", assume::cli::one_line(&error));
            return ExitCode::from(assume::error::exit::USAGE);
        }
    };
    match assume::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            if !error.is_quiet() {
                // One line, whatever a message from AWS or elsewhere carried.
                let line = error.to_string().replace(['\r', '\n'], " ");
                eprintln!("assume: {line}");
            }
            error.exit_code()
        }
    }
}
