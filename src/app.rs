//! The commands: each loads what it needs, runs the pipeline, and prints data on stdout.

use std::fmt::Write as _;
use std::io::IsTerminal;
use std::path::Path;

use anyhow::{Context, anyhow};
use colored::Colorize;

use crate::cli::{Cli, Color, Command, Format};
use crate::grade::{self, ProblemResult};
use crate::report;
use crate::sandbox::Sandbox;
use crate::spec::{Course, InvalidSpec, Problem};

/// How a command that ran to the end turned out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Success,
    /// Graded, but not every case was accepted (exit 1).
    NotAllAccepted,
}

/// The exit code for an error: 3 for an invalid spec, 4 for everything else.
pub fn exit_code(err: &anyhow::Error) -> u8 {
    if err.chain().any(|e| e.is::<InvalidSpec>()) {
        3
    } else {
        4
    }
}

pub fn run(cli: &Cli) -> anyhow::Result<Status> {
    let color = match cli.color {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    };
    colored::control::set_override(color);

    let course = Course::load(&cli.course)?;
    match &cli.command {
        Command::Test {
            problem,
            submission,
            format,
        } => {
            let problem = course.problem(problem)?;
            let result = grade_file(&problem, submission)?;
            match format {
                Format::Human => print!("{}", report::human(&result)),
                Format::Json => println!("{}", report::json(&result)),
            }
            Ok(if result.all_accepted() {
                Status::Success
            } else {
                Status::NotAllAccepted
            })
        }
        Command::Check => check(&course),
        Command::List { format } => list(&course, *format),
        Command::Show { problem } => {
            print!("{}", show(&course.problem(problem)?));
            Ok(Status::Success)
        }
    }
}

/// Grades one module file on one problem.
pub fn grade_file(problem: &Problem, submission: &Path) -> anyhow::Result<ProblemResult> {
    let wasm = std::fs::read(submission)
        .with_context(|| format!("cannot read submission `{}`", submission.display()))?;
    let sandbox = Sandbox::new(problem.limits.wasm_stack_bytes).context("starting the sandbox")?;
    let name = submission.display().to_string();
    on_grading_thread(problem.limits.wasm_stack_bytes, || {
        grade::grade(&sandbox, problem, &name, &wasm)
    })
}

/// Runs `f` on a thread whose native stack is larger than the guests' wasm stack.
pub fn on_grading_thread<T: Send>(
    wasm_stack: usize,
    f: impl FnOnce() -> T + Send,
) -> anyhow::Result<T> {
    std::thread::scope(|scope| {
        let handle = std::thread::Builder::new()
            .name("grader-run".into())
            .stack_size(wasm_stack + (8 << 20))
            .spawn_scoped(scope, f)
            .context("starting a grading thread")?;
        handle
            .join()
            .map_err(|_| anyhow!("internal error: the grading thread panicked"))
    })
}

fn check(course: &Course) -> anyhow::Result<Status> {
    let (problems, errors) = course.problems()?;
    if !errors.is_empty() {
        return Err(InvalidSpec(errors).into());
    }
    let cases: usize = problems.iter().map(|p| p.cases.len()).sum();
    println!(
        "{} {} and {cases} test cases are valid ({})",
        "ok:".green().bold(),
        plural(problems.len(), "problem"),
        course.root.join(crate::spec::COURSE_FILE).display()
    );
    Ok(Status::Success)
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

fn list(course: &Course, format: Format) -> anyhow::Result<Status> {
    let (problems, errors) = course.problems()?;
    if !errors.is_empty() {
        return Err(InvalidSpec(errors).into());
    }
    match format {
        Format::Json => {
            let rows: Vec<_> = problems
                .iter()
                .map(|p| {
                    serde_json::json!({
                        "id": p.id, "title": p.title, "kind": p.kind.as_str(),
                        "points": p.max_score(), "cases": p.cases.len(),
                    })
                })
                .collect();
            println!("{}", serde_json::to_string_pretty(&rows)?);
        }
        Format::Human => {
            let width = problems
                .iter()
                .map(|p| p.title.chars().count())
                .max()
                .unwrap_or(5);
            println!(
                "{:<7} {:<width$}  {:<6} {:>6} {:>5}",
                "id", "title", "kind", "points", "cases"
            );
            for p in &problems {
                println!(
                    "{:<7} {:<width$}  {:<6} {:>6} {:>5}",
                    p.id,
                    p.title,
                    p.kind.as_str(),
                    report::points(p.max_score()),
                    p.cases.len()
                );
            }
        }
    }
    Ok(Status::Success)
}

fn show(problem: &Problem) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{} — {}\n", problem.id.bold(), problem.title.bold());
    let _ = writeln!(out, "{}\n", problem.statement.trim());
    let _ = writeln!(out, "{}", "Input (one JSON object on stdin):".bold());
    for i in &problem.inputs {
        let opt = if i.optional { " (optional)" } else { "" };
        let _ = writeln!(out, "  {}: {}{opt}", i.name, i.ty);
    }
    let _ = writeln!(out, "{}", "Output (one JSON object on stdout):".bold());
    for o in &problem.outputs {
        let tol = if matches!(
            o.ty,
            crate::compare::FieldType::Int | crate::compare::FieldType::Str
        ) {
            "exact".to_string()
        } else {
            o.tolerance.describe()
        };
        let shape = o
            .shape
            .as_ref()
            .map(|s| format!(", shape {s:?}"))
            .unwrap_or_default();
        let _ = writeln!(out, "  {}: {}{shape}  ({tol})", o.name, o.ty);
    }
    let l = &problem.limits;
    let _ = writeln!(
        out,
        "{} {} fuel, {} wall, {} memory, {} stack, {} stdout",
        "Limits per case:".bold(),
        l.run.fuel,
        grade::human_duration(l.run.wall),
        grade::human_bytes(l.run.memory_bytes),
        grade::human_bytes(l.wasm_stack_bytes as u64),
        grade::human_bytes(l.run.stdout_bytes as u64),
    );
    let hidden = problem
        .cases
        .iter()
        .filter(|c| c.visibility == crate::spec::Visibility::Hidden)
        .count();
    let _ = writeln!(out, "\n{} ({} more hidden)", "Sample cases:".bold(), hidden);
    for case in problem
        .cases
        .iter()
        .filter(|c| c.visibility == crate::spec::Visibility::Sample)
    {
        let expected: serde_json::Map<_, _> = case
            .expected
            .iter()
            .map(|(k, v)| (k.clone(), v.to_json()))
            .collect();
        let _ = writeln!(
            out,
            "  {} ({} pt)",
            case.name.bold(),
            report::points(case.points)
        );
        let _ = writeln!(
            out,
            "    stdin:  {}",
            serde_json::Value::Object(case.input.clone())
        );
        let _ = writeln!(out, "    stdout: {}", serde_json::Value::Object(expected));
    }
    out
}
