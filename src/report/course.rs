//! What a course asks, as a student sees it: `grader list`'s table of problems and items, and
//! `grader show`'s statement of one of them (sample cases only, never a key or a rubric).

use std::fmt::Write as _;

use colored::Colorize;

use super::{plural, points};
use crate::grade;
use crate::spec::{Item, Kind, Problem, Visibility};

/// One line of `grader list`: a code problem or a paper item.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    pub id: String,
    pub title: String,
    pub kind: Kind,
    pub points: f64,
    pub graded: Graded,
}

/// What is graded in a part.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Graded {
    /// A code problem's test cases.
    Cases(usize),
    /// An answer or choice item's fields.
    Fields(usize),
    /// A manual item, marked by a TA.
    ByTa,
}

impl Graded {
    fn describe(self) -> String {
        match self {
            Graded::Cases(n) => plural(n, "case"),
            Graded::Fields(n) => plural(n, "field"),
            Graded::ByTa => "TA-graded".to_string(),
        }
    }
}

/// The list as a table, with a line of counts and the course's points at the end.
pub fn list_human(rows: &[Row]) -> String {
    let mut out = String::new();
    let width = rows
        .iter()
        .map(|r| r.title.chars().count())
        .max()
        .unwrap_or(5);
    let _ = writeln!(
        out,
        "{:<7} {:<width$}  {:<6} {:>6}  graded",
        "id", "title", "kind", "points"
    );
    for row in rows {
        let _ = writeln!(
            out,
            "{:<7} {:<width$}  {:<6} {:>6}  {}",
            row.id,
            row.title,
            row.kind.as_str(),
            points(row.points),
            row.graded.describe()
        );
    }
    let count = |k: Kind| rows.iter().filter(|r| r.kind == k).count();
    let _ = writeln!(
        out,
        "{} code problems, {} answer items, {} choice, {} manual; {} points in all",
        count(Kind::Code),
        count(Kind::Answer),
        count(Kind::Choice),
        count(Kind::Manual),
        points(rows.iter().map(|r| r.points).sum())
    );
    out
}

/// The list as a JSON array, one object per row.
pub fn list_json(rows: &[Row]) -> serde_json::Result<String> {
    let json: Vec<_> = rows
        .iter()
        .map(|r| {
            serde_json::json!({
                "id": r.id,
                "title": r.title,
                "kind": r.kind.as_str(),
                "points": r.points,
                "graded": r.graded.describe(),
            })
        })
        .collect();
    serde_json::to_string_pretty(&json)
}

/// `grader show`: a question's code part, its paper part, or both, one after the other.
/// `student_copy`: the course is a student copy, whose hidden cases only staff hold.
pub fn show(code: Option<&Problem>, item: Option<&Item>, student_copy: bool) -> String {
    let mut out = String::new();
    if let Some(code) = code {
        out += &problem(code, student_copy);
    }
    if let Some(item) = item {
        if code.is_some() {
            out.push('\n');
        }
        out += &paper_item(item);
    }
    out
}

/// An output's declared shape in words: `, length len(z)` or `, rows(q) × cols(v)`.
fn dims(dims: &[crate::spec::Dim]) -> String {
    let part = |d: &crate::spec::Dim| match d {
        crate::spec::Dim::Op(..) if dims.len() > 1 => format!("({d})"),
        _ => d.to_string(),
    };
    match dims {
        [one] => format!(", length {}", part(one)),
        _ => format!(
            ", {}",
            dims.iter().map(part).collect::<Vec<_>>().join(" × ")
        ),
    }
}

/// A code problem: statement, input and output fields, limits, sample cases.
fn problem(problem: &Problem, student_copy: bool) -> String {
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
        let tol = if o.ty.has_floats() {
            o.tolerance.describe()
        } else {
            "exact".to_string()
        };
        let shape = o
            .shape
            .as_ref()
            .map(|s| format!(", shape {s:?}"))
            .unwrap_or_default();
        let dims = problem
            .dims
            .get(&o.name)
            .map(|d| dims(d))
            .unwrap_or_default();
        let _ = writeln!(out, "  {}: {}{shape}{dims}  ({tol})", o.name, o.ty);
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
        .filter(|c| c.visibility == Visibility::Hidden)
        .count();
    let hidden_names = match hidden {
        0 if student_copy => "hidden cases: graded by staff, not in this student copy".to_string(),
        0 => "no hidden cases".to_string(),
        1 => format!("1 hidden case, reported as {}", grade::hidden_case_name(1)),
        n => format!(
            "{n} hidden cases, reported as {} … {}",
            grade::hidden_case_name(1),
            grade::hidden_case_name(n)
        ),
    };
    let _ = writeln!(out, "\n{} ({hidden_names})", "Sample cases:".bold());
    for case in problem
        .cases
        .iter()
        .filter(|c| c.visibility == Visibility::Sample)
    {
        let expected: serde_json::Map<_, _> = case
            .expected
            .iter()
            .map(|(k, v)| (k.clone(), v.to_json()))
            .collect();
        let _ = writeln!(out, "  {} ({} pt)", case.name.bold(), points(case.points));
        let _ = writeln!(
            out,
            "    stdin:  {}",
            serde_json::Value::Object(case.input.clone())
        );
        let _ = writeln!(out, "    stdout: {}", serde_json::Value::Object(expected));
    }
    out
}

/// A paper item: statement, fields, points — never the key or rubric.
fn paper_item(item: &Item) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} — {} ({}, {} points, in answers.toml)\n",
        item.id.bold(),
        item.title.bold(),
        item.kind.as_str(),
        points(item.points)
    );
    let _ = writeln!(out, "{}", item.statement.trim());
    if !item.fields.is_empty() {
        let _ = writeln!(out, "\n{}", "Fields:".bold());
    }
    for f in &item.fields {
        // Choices are compared as the README says: letter case and surrounding spaces aside.
        let how = match &f.options {
            Some(options) => format!(
                "one of: {}; letter case and surrounding spaces ignored",
                options.join(", ")
            ),
            None => f.precision.describe(),
        };
        let _ = writeln!(
            out,
            "  {}: {} ({how}; {} pt)",
            f.name,
            f.ty,
            points(f.points)
        );
    }
    out
}
