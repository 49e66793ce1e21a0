//! The `grader` binary: parse the command line, run it, map the outcome to an exit code.

use std::process::ExitCode;

use clap::Parser;

use grader::app::{self, Status};
use grader::cli::Cli;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match app::run(&cli) {
        Ok(Status::Success) => ExitCode::SUCCESS,
        Ok(Status::NotAllAccepted) => ExitCode::from(1),
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(app::exit_code(&err))
        }
    }
}
