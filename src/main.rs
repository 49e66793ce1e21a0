//! The `grader` binary: parse the command line, run it, map the outcome to an exit code.

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};

use grader::app::{self, Exit};
use grader::cli::{Cli, EXAMPLES};

fn main() -> ExitCode {
    let command = Cli::command().after_help(format!("{EXAMPLES}\n\n{}", app::exit_codes_help()));
    let parsed = command
        .try_get_matches()
        .and_then(|matches| Cli::from_arg_matches(&matches));
    let cli = match parsed {
        Ok(cli) => cli,
        Err(err) => {
            // `--help` and `--version` are "errors" that print to stdout and exit 0.
            let _ = err.print();
            return ExitCode::from(if err.use_stderr() {
                Exit::Usage.code()
            } else {
                Exit::Success.code()
            });
        }
    };
    let exit = match app::run(&cli) {
        Ok(exit) => exit,
        Err(err) if app::is_broken_pipe(&err) => Exit::Success,
        Err(err) => {
            use std::io::Write;
            let _ = writeln!(std::io::stderr(), "error: {err:#}");
            Exit::of_error(&err)
        }
    };
    ExitCode::from(exit.code())
}
