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
  grader export --students target/student-course
  grader answers --output answers.toml";

/// Grade WebAssembly submissions against a course's problem specs.
///
/// Student programs are WASI preview 1 command modules, or Python files (CPython with numpy,
/// run in the same sandbox), that read one JSON object of inputs on stdin and print one JSON
/// object of outputs. Every test case runs in a fresh sandbox
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

    /// Fail before grading (exit 3) unless the course's digest (`grader digest`) is SHA: for
    /// CI that grades against a pinned course.
    #[arg(long, global = true, value_name = "SHA")]
    pub expect_digest: Option<String>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Grade one submission against one problem: a WebAssembly module or a Python file.
    Test {
        /// The problem id, e.g. q2.3.
        problem: String,
        /// The student's module (.wasm) or Python file (.py, run with numpy available).
        submission: PathBuf,
        #[arg(long, value_enum, default_value_t = ReportFormat::Human)]
        format: ReportFormat,
        /// Staff view: hidden cases with their names, messages, fuel, time and stderr.
        #[arg(long)]
        staff: bool,
        /// Exit 0 when the score reaches SCORE (points, or a percentage such as 80%), else 1,
        /// instead of 0 only when every case is accepted.
        #[arg(long, value_name = "SCORE")]
        min_score: Option<MinScore>,
    },
    /// Grade a student's folder: one <id>.wasm or <id>.py per code problem and an optional
    /// answers.toml.
    Grade {
        /// The student's folder.
        student: PathBuf,
        #[arg(long, value_enum, default_value_t = ReportFormat::Human)]
        format: ReportFormat,
        /// Staff view: hidden cases in full, answer keys and manual rubrics.
        #[arg(long)]
        staff: bool,
        /// Exit 0 when the score reaches SCORE (points, or a percentage such as 80%), else 1,
        /// instead of 0 only when everything auto-graded is at full marks.
        #[arg(long, value_name = "SCORE")]
        min_score: Option<MinScore>,
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
        /// Compile every module afresh; keep nothing (the Python runtime, prepared once, stays
        /// in the default cache folder).
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
    /// Write the course as students may see it: statements, I/O contracts, limits, sample
    /// cases and the questions of the answer, choice and manual items, without hidden or
    /// generated cases, keys, rubrics or solutions; its grader.toml records this course's
    /// digest.
    Export {
        /// The folder to write: new, empty, or a student copy written before (replaced).
        #[arg(long, value_name = "DIR")]
        students: PathBuf,
    },
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
    /// Print a shell completion script, e.g. `grader completions bash > /etc/bash_completion.d/grader`.
    Completions { shell: clap_complete::Shell },
    /// Print the manual page (roff), e.g. `grader man > grader.1 && man ./grader.1`.
    Man,
    /// Write a student's starter repository for the course into DIR (new or empty): a starter
    /// per code problem that reads its inputs and prints a well-formed wrong answer, the JSON
    /// helpers (a crate, C files, or a block at the top of each Python file), answers.toml, a
    /// README and a CI workflow.
    Init {
        /// The folder to write (created if missing; refused if not empty).
        dir: PathBuf,
        /// The language of the starters. Python files need no toolchain: grader runs them in
        /// its own Python, installed once with scripts/fetch-python and `grader python`.
        #[arg(long, value_enum)]
        lang: crate::kit::Lang,
    },
    /// Build every starter of a kit made by `grader init` into DIR/handin/<id>.wasm (a Python
    /// kit's files are copied to DIR/handin/<id>.py), with a copy of answers.toml; a problem
    /// that does not compile does not stop the others.
    Build {
        /// The kit: a folder with a Cargo.toml (Rust), a Makefile (C) or a pyproject.toml with
        /// [tool.grader] (Python).
        dir: PathBuf,
    },
    /// Prepare the Python runtime that runs `.py` submissions, once per machine (minutes):
    /// check the files scripts/fetch-python installed, start the interpreter and import numpy,
    /// snapshot it, compile it into the cache. Grading does this by itself when needed; this
    /// does it ahead (in CI, on a new machine) and says what to install when it is missing.
    Python {
        /// Where the compiled runtime is kept [default: $XDG_CACHE_HOME/grader or
        /// ~/.cache/grader]; writable by you only, since what it holds is run as machine code.
        #[arg(long, value_name = "DIR", env = "GRADER_CACHE_DIR")]
        cache_dir: Option<PathBuf>,
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

impl Cli {
    /// The command as `main` builds it: with the examples and the exit codes in `--help`
    /// (and so in the man page).
    pub fn command_with_help() -> clap::Command {
        use clap::CommandFactory;
        Cli::command().after_help(format!("{EXAMPLES}\n\n{}", crate::app::exit_codes_help()))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Human,
    Json,
}

/// The formats of `test` and `grade`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    Human,
    Json,
    /// JUnit XML: a testsuite per problem, a testcase per case.
    Junit,
}

/// A passing score: points, or a percentage of the maximum.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum MinScore {
    Points(f64),
    Percent(f64),
}

impl std::str::FromStr for MinScore {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("`{s}` is not a score: write points (250) or a percentage (80%)");
        let (number, percent) = match s.trim().strip_suffix('%') {
            Some(n) => (n, true),
            None => (s.trim(), false),
        };
        let value: f64 = number.trim().parse().map_err(|_| bad())?;
        if !value.is_finite() || value < 0.0 || (percent && value > 100.0) {
            return Err(bad());
        }
        Ok(if percent {
            MinScore::Percent(value)
        } else {
            MinScore::Points(value)
        })
    }
}

impl MinScore {
    /// Whether `score` of `max` passes.
    pub fn passes(self, score: f64, max: f64) -> bool {
        // A hair of slack for sums of fractional points (0.1 + 0.2).
        match self {
            MinScore::Points(p) => score + 1e-9 >= p,
            MinScore::Percent(_) if max <= 0.0 => true,
            MinScore::Percent(p) => score + 1e-9 >= p / 100.0 * max,
        }
    }
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

    #[test]
    fn min_scores_are_points_or_percentages() {
        let p = |s: &str| s.parse::<MinScore>();
        assert_eq!(p("250"), Ok(MinScore::Points(250.0)));
        assert_eq!(p("80%"), Ok(MinScore::Percent(80.0)));
        assert_eq!(p(" 12.5 % "), Ok(MinScore::Percent(12.5)));
        for bad in ["", "%", "-1", "101%", "abc", "nan", "inf"] {
            assert!(p(bad).is_err(), "{bad}");
        }
        assert!(MinScore::Percent(80.0).passes(8.0, 10.0));
        assert!(!MinScore::Percent(80.0).passes(7.9, 10.0));
        assert!(MinScore::Points(0.3).passes(0.1 + 0.2, 1.0));
        assert!(!MinScore::Points(5.0).passes(4.5, 10.0));
    }
}
