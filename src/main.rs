//! The `grader` binary: parse the command line, run it, map the outcome to an exit code.

use std::process::ExitCode;

use clap::FromArgMatches;

use grader::app::{self, Exit};
use grader::cli::Cli;

fn main() -> ExitCode {
    let command = Cli::command_with_help();
    let parsed = command
        .try_get_matches()
        .and_then(|matches| Cli::from_arg_matches(&matches));
    let args: Vec<String> = std::env::args().collect();
    let json = app::wants_json(&args);
    let cli = match parsed {
        Ok(cli) => cli,
        Err(err) => {
            // `--help` and `--version` are "errors" that print to stdout and exit 0.
            let _ = err.print();
            if !err.use_stderr() {
                return ExitCode::from(Exit::Success.code());
            }
            if json {
                print_json(&app::error_json(
                    Exit::Usage,
                    err.render().to_string().trim(),
                ));
            }
            return ExitCode::from(Exit::Usage.code());
        }
    };
    let exit = match app::run(&cli) {
        Ok(exit) => exit,
        Err(err) if app::is_broken_pipe(&err) => Exit::Success,
        Err(err) => {
            use std::io::Write;
            let _ = writeln!(std::io::stderr(), "error: {err:#}");
            let exit = Exit::of_error(&err);
            if json {
                print_json(&app::error_json(exit, &format!("{err:#}")));
            }
            exit
        }
    };
    ExitCode::from(exit.code())
}

fn print_json(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    // A closed stdout has no reader left to tell.
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}
