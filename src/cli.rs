//! The command line, as clap derive types only.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

/// The examples of `--help`; `main` appends the table of exit codes (`app::Exit`).
pub const EXAMPLES: &str = "\
Examples (in the grader's repository, after scripts/demo):
  grader list
  grader show q2.3
  grader test q2.3 target/fixtures/q2_3.wasm
  grader test q2.3 target/fixtures/q2_3.wasm --format json
  grader grade target/cohort/ada
  grader batch target/cohort --out target/grades
  grader answers
  grader check
  grader verify
  grader gen q2.3
  grader answers --output answers.toml";

/// Grade WebAssembly submissions against a course's problem specs.
///
/// Student programs are WASI preview 1 command modules that read one JSON object of inputs
/// on stdin and print one JSON object of outputs. Every test case runs in a fresh sandbox
/// with limits on instructions, wall time, memory and output.
#[derive(Debug, Parser)]
#[command(name = "grader", version, after_help = EXAMPLES)]
pub struct Cli {
    /// The course directory: the one holding grader.toml.
    #[arg(
        long,
        global = true,
        default_value = ".",
        value_name = "DIR",
        env = "GRADER_COURSE"
    )]
    pub course: PathBuf,

    /// How many test cases (or, for `grade`, problems) run at once; default: one per core.
    #[arg(long, global = true, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: Option<u16>,

    /// When to color the human report.
    #[arg(long, global = true, value_enum, default_value_t = Color::Auto)]
    pub color: Color,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Grade one WebAssembly module against one problem.
    Test {
        /// The problem id, e.g. q2.3.
        problem: String,
        /// The student's module (.wasm).
        submission: PathBuf,
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
        /// Staff view: hidden cases with their names, messages, fuel, time and stderr.
        #[arg(long)]
        staff: bool,
    },
    /// Grade a student's folder: one <id>.wasm per code problem and an optional answers.toml.
    Grade {
        /// The student's folder.
        student: PathBuf,
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
        /// Staff view: hidden cases in full, answer keys and manual rubrics.
        #[arg(long)]
        staff: bool,
    },
    /// Grade a cohort (a folder of student folders) into a gradebook, with grades.csv,
    /// Gradescope results, manual.csv and report.html; only what changed since the last run
    /// is graded again.
    Batch {
        /// The cohort: one folder per student.
        cohort: PathBuf,
        /// The output folder: gradebook.sqlite and the exports.
        #[arg(long, value_name = "DIR", default_value = "grades")]
        out: PathBuf,
        /// Grade only slice I of N (e.g. 2/4), for one of N machines; `grader merge` combines
        /// the slices' output folders.
        #[arg(long, value_name = "I/N")]
        shard: Option<crate::cohort::Shard>,
        /// Where compiled modules are kept across runs [default: $XDG_CACHE_HOME/grader or
        /// ~/.cache/grader]; writable by you only, since what it holds is run as machine code.
        #[arg(long, value_name = "DIR", env = "GRADER_CACHE_DIR")]
        cache_dir: Option<PathBuf>,
        /// Compile every module afresh; keep nothing.
        #[arg(long, conflicts_with = "cache_dir")]
        no_cache: bool,
        /// No progress on stderr.
        #[arg(long, short)]
        quiet: bool,
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
    },
    /// Combine the output folders of `grader batch --shard` runs into one gradebook, as one
    /// unsharded run would have made it, and write its exports.
    Merge {
        /// The shards' output folders.
        #[arg(required = true)]
        shards: Vec<PathBuf>,
        /// The combined output folder.
        #[arg(long, value_name = "DIR", default_value = "grades")]
        out: PathBuf,
    },
    /// Read TA marks for manual answers (a filled-in manual.csv) into the gradebook and
    /// rewrite the exports; nothing is imported if any line is wrong.
    Import {
        /// The filled-in manual.csv.
        marks: PathBuf,
        /// The output folder holding the gradebook.
        #[arg(long, value_name = "DIR", default_value = "grades")]
        out: PathBuf,
    },
    /// Check grader.toml and every problem spec; exit 3 if anything is wrong.
    Check,
    /// Prove the problem set right: references accepted, known-wrong solutions earn their
    /// labels, answer keys agree with the references (exit 1 on any failure).
    Verify,
    /// Print a SHA-256 of grader.toml and the problems folder, for CI to pin.
    Digest,
    /// Write the data files of a problem's generated cases from its reference solution.
    Gen {
        /// The problem id, e.g. q2.3.
        problem: String,
    },
    /// List the problems and items: id, title, kind, points, cases or fields.
    List {
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
    },
    /// Print a blank answers.toml: a table per answer, choice and manual item, to fill in.
    Answers {
        /// Write it to FILE (never over an existing file) instead of stdout.
        #[arg(long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Show a problem's statement, its input/output contract and its sample cases.
    Show {
        /// The problem id, e.g. q2.3.
        problem: String,
    },
    /// Write a student's starter repository for the course into DIR (new or empty): a starter
    /// per code problem that reads its inputs and prints a well-formed wrong answer, a JSON
    /// helper, answers.toml, a README and a CI workflow.
    Init {
        /// The folder to write (created if missing; refused if not empty).
        dir: PathBuf,
        /// The language of the starters.
        #[arg(long, value_enum)]
        lang: crate::kit::Lang,
    },
    /// Build every starter of a kit made by `grader init` into DIR/handin/<id>.wasm, with a
    /// copy of answers.toml; a problem that does not compile does not stop the others.
    Build {
        /// The kit: a folder with a Cargo.toml (Rust) or a Makefile (C).
        dir: PathBuf,
    },
    /// Internal: a sandbox worker process, started by grader itself (requests on stdin).
    #[command(hide = true)]
    SandboxWorker {
        /// The wasm stack of its guests, in bytes.
        #[arg(long)]
        stack: usize,
        /// Where compiled modules are kept (`grader batch`'s cache).
        #[arg(long)]
        cache: Option<PathBuf>,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Human,
    Json,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Color {
    Auto,
    Always,
    Never,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }
}
