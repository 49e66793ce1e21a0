//! The commands: each loads what it needs, runs the pipeline, and prints data on stdout.

use std::fmt::Write as _;
use std::io::IsTerminal;
use std::path::Path;

use anyhow::Context;
use colored::Colorize;

use crate::batch::Grader;
use crate::cli::{Cli, Color, Command, Format};
use crate::grade::{self, ProblemResult};
use crate::report;
use crate::sandbox::Sandbox;
use crate::spec::{Course, InvalidSpec, Kind, Problem};
use crate::staff;

/// How a command that ran to the end turned out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Success,
    /// Graded, but not every case was accepted (exit 1).
    NotAllAccepted,
}

impl Status {
    /// `Success` when everything graded was accepted.
    fn graded(all_accepted: bool) -> Self {
        if all_accepted {
            Status::Success
        } else {
            Status::NotAllAccepted
        }
    }
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

    let jobs = cli.jobs.map_or_else(
        || std::thread::available_parallelism().map_or(1, usize::from),
        usize::from,
    );
    let course = Course::load(&cli.course)?;
    match &cli.command {
        Command::Test {
            problem,
            submission,
            format,
        } => {
            let problem = course.problem(problem)?;
            let result = grade_file(&problem, submission, jobs)?;
            match format {
                Format::Human => print!("{}", report::human(&result)),
                Format::Json => println!("{}", report::json(&result)),
            }
            Ok(Status::graded(result.all_accepted()))
        }
        Command::Grade { student, format } => {
            let (problems, items) = course.everything()?;
            let grader = Grader::new(problems, items, jobs)?;
            let report = grader.grade_student(student)?;
            match format {
                Format::Human => print!("{}", report::student_human(&report)),
                Format::Json => println!("{}", report::json(&report)),
            }
            Ok(Status::graded(report.complete()))
        }
        Command::Check => check(&course),
        Command::Verify => {
            let findings = staff::verify(&course, jobs)?;
            for f in &findings {
                let mark = if f.ok { "✓".green() } else { "✗".red() };
                println!("{mark} {:<14} {}", f.subject, f.detail);
            }
            let failed = findings.iter().filter(|f| !f.ok).count();
            if failed == 0 {
                println!(
                    "{} {} checks passed",
                    "verified:".green().bold(),
                    findings.len()
                );
                Ok(Status::Success)
            } else {
                println!(
                    "{} {failed} of {} checks failed",
                    "not verified:".red().bold(),
                    findings.len()
                );
                Ok(Status::NotAllAccepted)
            }
        }
        Command::Digest => {
            let (hex, files) = course.digest()?;
            println!("sha256:{hex}  ({files} files)");
            Ok(Status::Success)
        }
        Command::Gen { problem } => {
            for path in staff::generate(&course, problem)? {
                println!("wrote {}", path.display());
            }
            Ok(Status::Success)
        }
        Command::List { format } => list(&course, *format),
        Command::Show { problem } => {
            // A question may have a code part, a paper part, or both.
            let (items, _) = course.items()?;
            let item = items.iter().find(|i| &i.id == problem);
            let code = match course.problem(problem) {
                Ok(p) => Some(p),
                Err(_) if item.is_some() => None,
                Err(e) => return Err(e.into()),
            };
            if let Some(code) = &code {
                print!("{}", show(code));
            }
            if let Some(item) = item {
                if code.is_some() {
                    println!();
                }
                print!("{}", show_item(item));
            }
            Ok(Status::Success)
        }
    }
}

/// Grades one module file on one problem.
pub fn grade_file(
    problem: &Problem,
    submission: &Path,
    jobs: usize,
) -> anyhow::Result<ProblemResult> {
    let wasm = crate::batch::read_module(submission, problem.limits.module_bytes)
        .with_context(|| format!("cannot read submission `{}`", submission.display()))?;
    let sandbox = Sandbox::new(problem.limits.wasm_stack_bytes).context("starting the sandbox")?;
    let name = submission.display().to_string();
    Ok(grade::grade(&sandbox, problem, &name, &wasm, jobs))
}

fn check(course: &Course) -> anyhow::Result<Status> {
    let (problems, items) = course.everything()?;
    let cases: usize = problems.iter().map(|p| p.cases.len()).sum();
    println!(
        "{} {} with {cases} test cases and {} are valid ({})",
        "ok:".green().bold(),
        plural(problems.len(), "code problem"),
        plural(items.len(), "answer, choice or manual item"),
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
    let (problems, items) = course.everything()?;
    // (id, title, kind, points, what is graded)
    let mut rows: Vec<(String, String, Kind, f64, String)> = problems
        .iter()
        .map(|p| {
            (
                p.id.clone(),
                p.title.clone(),
                p.kind,
                p.max_score(),
                plural(p.cases.len(), "case"),
            )
        })
        .chain(items.iter().map(|i| {
            let parts = match i.kind {
                Kind::Manual => "TA-graded".to_string(),
                _ => plural(i.fields.len(), "field"),
            };
            (i.id.clone(), i.title.clone(), i.kind, i.points, parts)
        }))
        .collect();
    rows.sort_by(|a, b| {
        crate::spec::sort_key(&a.0)
            .cmp(&crate::spec::sort_key(&b.0))
            .then(a.2.cmp(&b.2))
    });
    match format {
        Format::Json => {
            let json: Vec<_> = rows
                .iter()
                .map(|(id, title, kind, points, parts)| {
                    serde_json::json!({"id": id, "title": title, "kind": kind.as_str(), "points": points, "graded": parts})
                })
                .collect();
            println!("{}", serde_json::to_string_pretty(&json)?);
        }
        Format::Human => {
            let width = rows.iter().map(|r| r.1.chars().count()).max().unwrap_or(5);
            println!(
                "{:<7} {:<width$}  {:<6} {:>6}  graded",
                "id", "title", "kind", "points"
            );
            for (id, title, kind, points, parts) in &rows {
                println!(
                    "{id:<7} {title:<width$}  {:<6} {:>6}  {parts}",
                    kind.as_str(),
                    report::points(*points)
                );
            }
            let count = |k: Kind| rows.iter().filter(|r| r.2 == k).count();
            println!(
                "{} code problems, {} answer items, {} choice, {} manual; {} points in all",
                count(Kind::Code),
                count(Kind::Answer),
                count(Kind::Choice),
                count(Kind::Manual),
                report::points(rows.iter().map(|r| r.3).sum())
            );
        }
    }
    Ok(Status::Success)
}

/// A paper item as the student sees it: statement, fields, points — never the key or rubric.
fn show_item(item: &crate::spec::Item) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} — {} ({}, {} points, in answers.toml)\n",
        item.id.bold(),
        item.title.bold(),
        item.kind.as_str(),
        report::points(item.points)
    );
    let _ = writeln!(out, "{}", item.statement.trim());
    if !item.fields.is_empty() {
        let _ = writeln!(out, "\n{}", "Fields:".bold());
    }
    for f in &item.fields {
        let options = f
            .options
            .as_ref()
            .map(|o| format!(", one of: {}", o.join(", ")))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "  {}: {} ({}{options}; {} pt)",
            f.name,
            f.ty,
            f.precision.describe(),
            report::points(f.points)
        );
    }
    out
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
