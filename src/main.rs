use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = assume::cli::Cli::parse();
    match assume::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("assume: {error}");
            error.exit_code()
        }
    }
}
