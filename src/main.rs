use std::process::ExitCode;

use clap::{CommandFactory, Parser};

fn main() -> ExitCode {
    // Shell completion requests (`COMPLETE=bash assume -- …`) are answered here and exit.
    clap_complete::CompleteEnv::with_factory(assume::cli::Cli::command).complete();
    // `assume __classify ARGS…`, asked by the `init` shell functions before every call: is
    // ARGS the switch (whose output they evaluate) or anything else (run as it is)?
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if args.get(1).is_some_and(|arg| arg == "__classify") {
        use std::io::Write;
        // Only the shell function reads this; if it went away, there is no one to tell.
        let _ = writeln!(std::io::stdout(), "{}", assume::classify(&args[2..]));
        return ExitCode::SUCCESS;
    }
    let cli = match assume::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) if !error.use_stderr() => error.exit(), // --help, --version
        Err(error) => {
            assume::message::say(assume::cli::one_line(&error));
            return ExitCode::from(assume::error::exit::USAGE);
        }
    };
    match assume::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            if !error.is_quiet() {
                // One line, whatever a message from AWS or elsewhere carried.
                assume::message::say(&error);
            }
            error.exit_code()
        }
    }
}
