//! Renders results and courses: a colored report for people and JSON for programs, from the
//! models it is handed, never from the command line. A result of `grade` comes in the view it
//! is given (students' or staff's): what a student may see of it is decided in `grade`, never
//! here.
//!
//! - [`course`]: `grader list` and `grader show`, what a course asks.
//! - [`checks`]: `grader check` and `grader verify`, what the staff's checks found.
//! - [`summary`]: how a class did, at the end of `grader batch`.
//! - [`exports`]: the files a cohort run leaves: `grades.csv`, Gradescope results, ….
//! - [`html`]: `report.html`, the class at a glance.
//! - [`template`]: `grader answers`, a blank `answers.toml`.

use std::fmt::Write as _;

use colored::Colorize;

use crate::grade::answers::{ItemResult, ItemStatus};
use crate::grade::{CaseResult, ProblemResult, StudentReport, Verdict};
use crate::sanitize;
use crate::spec::Visibility;

pub mod checks;
pub mod ci;
pub mod course;
pub mod exports;
pub mod html;
pub mod summary;
pub mod template;

/// The version of the JSON reports' shape: raised when a field changes meaning or goes.
pub const SCHEMA_VERSION: u32 = 2;

/// The machine-readable report: a result model (one problem, or a whole student) as JSON,
/// with what made it: the schema version, the grader's version and the digest of the
/// problem set (`grader digest`), so that a stored report can be checked against a course.
pub fn json<T: serde::Serialize>(result: &T, course_digest: &str) -> String {
    let mut value = serde_json::to_value(result).unwrap_or_default();
    if let serde_json::Value::Object(map) = &mut value {
        map.insert("schema_version".into(), SCHEMA_VERSION.into());
        map.insert("grader_version".into(), env!("CARGO_PKG_VERSION").into());
        map.insert(
            "course_digest".into(),
            format!("sha256:{course_digest}").into(),
        );
    }
    serde_json::to_string_pretty(&value).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

/// A whole-course report for people: what needs attention first, then a line per problem
/// and item, then the total.
pub fn student_human(report: &StudentReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}",
        format!("student {}", sanitize::line(&report.student)).bold()
    );
    out.push_str(&attention(report));
    let width = report
        .problems
        .iter()
        .map(|p| p.title.chars().count())
        .chain(report.items.iter().map(|i| i.title.chars().count()))
        .max()
        .unwrap_or(0);
    let _ = writeln!(out, "{}", "Code".bold());
    for p in &report.problems {
        let score = format!("{}/{}", points(p.score), points(p.max_score));
        let status = match &p.result {
            None => "not submitted".yellow(),
            Some(r) if r.all_accepted() => "all cases accepted".green(),
            Some(r) => {
                if let Some(reason) = &r.invalid_submission {
                    format!("invalid submission: {}", sanitize::line(reason)).red()
                } else {
                    let mut counts: std::collections::BTreeMap<Verdict, usize> =
                        std::collections::BTreeMap::new();
                    for c in r.cases.iter().filter(|c| c.verdict != Verdict::Accepted) {
                        *counts.entry(c.verdict).or_default() += 1;
                    }
                    let failed: usize = counts.values().sum();
                    let kinds: Vec<String> = counts
                        .iter()
                        .map(|(v, n)| format!("{} ×{n}", verdict_words(*v)))
                        .collect();
                    format!(
                        "{failed} of {} cases failed: {}",
                        r.cases.len(),
                        kinds.join(", ")
                    )
                    .red()
                }
            }
        };
        let _ = writeln!(
            out,
            "  {:<7} {:<width$}  {score:>7}  {status}",
            p.problem, p.title
        );
    }
    if !report.items.is_empty() {
        let _ = writeln!(out, "{}", "Answers".bold());
    }
    for i in &report.items {
        let score = format!("{}/{}", points(i.score), points(i.max_score));
        let status = match i.status {
            ItemStatus::Correct => "correct".green(),
            ItemStatus::Pending => "pending: graded by a TA".cyan(),
            ItemStatus::Marked => "marked by a TA".cyan(),
            ItemStatus::Missing => "not answered".yellow(),
            ItemStatus::Unkeyed if i.awaits_staff() => {
                "well-formed; no key in the student copy: graded by staff".cyan()
            }
            ItemStatus::Unkeyed => {
                let wrong: Vec<String> = i
                    .form_errors()
                    .map(|f| sanitize::line(&format!("{}: {}", f.name, f.message)))
                    .collect();
                wrong.join("; ").red()
            }
            ItemStatus::Partial | ItemStatus::Incorrect => {
                let wrong: Vec<String> = i
                    .fields
                    .iter()
                    .filter(|f| !f.correct)
                    .map(|f| match &f.key {
                        Some(key) => format!("{}: {} (key: {key})", f.name, f.message),
                        None => format!("{}: {}", f.name, f.message),
                    })
                    .map(|text| sanitize::line(&text))
                    .collect();
                wrong.join("; ").red()
            }
        };
        let _ = writeln!(
            out,
            "  {:<7} {:<width$}  {score:>7}  {:<6}  {status}",
            i.id,
            i.title,
            i.kind.as_str()
        );
    }
    for n in &report.notes {
        let _ = writeln!(out, "{} {}", "note:".cyan().bold(), sanitize::line(n));
    }
    for w in &report.warnings {
        let _ = writeln!(out, "{} {}", "warning:".yellow().bold(), sanitize::line(w));
    }
    let pending = if report.pending > 0.0 {
        format!(" + {} pending", points(report.pending))
    } else {
        String::new()
    };
    let total = format!(
        "total {}/{}{pending}",
        points(report.score),
        points(report.max_score)
    );
    let _ = writeln!(
        out,
        "{}",
        if report.complete() {
            total.green().bold()
        } else {
            total.bold()
        }
    );
    out
}

/// What needs the student's attention, before the full listing: problems not at full marks
/// and why, answers not right, what is missing, what waits for a TA.
fn attention(report: &StudentReport) -> String {
    let mut lines = Vec::new();
    for p in &report.problems {
        let Some(result) = &p.result else { continue };
        if result.all_accepted() {
            continue;
        }
        let why = match &result.invalid_submission {
            Some(reason) => format!("invalid submission: {}", sanitize::line(reason)),
            None => {
                let failed = result
                    .cases
                    .iter()
                    .filter(|c| c.verdict != Verdict::Accepted);
                let first = result
                    .cases
                    .iter()
                    .find(|c| c.verdict != Verdict::Accepted)
                    .map(|c| verdict_words(c.verdict))
                    .unwrap_or_default();
                format!("{} cases failed (first: {first})", failed.count())
            }
        };
        lines.push(format!(
            "{:<7} {}/{}  {why}",
            p.problem,
            points(p.score),
            points(p.max_score)
        ));
    }
    for i in &report.items {
        let malformed: Vec<&str> = i.form_errors().map(|f| f.name.as_str()).collect();
        if !malformed.is_empty() {
            lines.push(format!(
                "{:<7} {}  not of the form asked: {}",
                i.id,
                i.kind.as_str(),
                malformed.join(", ")
            ));
        }
        if matches!(i.status, ItemStatus::Partial | ItemStatus::Incorrect) {
            let wrong: Vec<&str> = i
                .fields
                .iter()
                .filter(|f| !f.correct)
                .map(|f| f.name.as_str())
                .collect();
            lines.push(format!(
                "{:<7} {}/{}  {} wrong: {}",
                i.id,
                points(i.score),
                points(i.max_score),
                i.kind.as_str(),
                wrong.join(", ")
            ));
        }
    }
    if !report.missing.is_empty() {
        let listed: Vec<String> = report
            .missing
            .iter()
            .map(|m| format!("{} ({})", m.id, m.kind.as_str()))
            .collect();
        lines.push(format!(
            "missing ({}): {}",
            report.missing.len(),
            listed.join(", ")
        ));
    }
    for (status, what) in [
        (ItemStatus::Pending, "pending, graded by a TA"),
        (
            ItemStatus::Unkeyed,
            "no key in the student copy, graded by staff",
        ),
    ] {
        let waiting: Vec<&ItemResult> = report
            .items
            .iter()
            .filter(|i| i.status == status && i.awaits_staff())
            .collect();
        if !waiting.is_empty() {
            let ids: Vec<&str> = waiting.iter().map(|i| i.id.as_str()).collect();
            lines.push(format!(
                "{what} ({} points): {}",
                points(waiting.iter().map(|i| i.max_score).fold(0.0, |a, b| a + b)),
                ids.join(", ")
            ));
        }
    }
    if lines.is_empty() {
        return String::new();
    }
    let mut out = format!("{}\n", "Needs attention".bold());
    for line in lines {
        let _ = writeln!(out, "  {line}");
    }
    let _ = writeln!(
        out,
        "  {}",
        "details of a problem: grader test <id> <folder>/<id>.wasm (or .py)".dimmed()
    );
    out
}

fn verdict_words(v: Verdict) -> &'static str {
    match v {
        Verdict::Accepted => "accepted",
        Verdict::WrongAnswer => "wrong answer",
        Verdict::InvalidOutput => "invalid output",
        Verdict::RuntimeError => "runtime error",
        Verdict::TimeLimitExceeded => "time limit exceeded",
        Verdict::MemoryLimitExceeded => "memory limit exceeded",
        Verdict::OutputLimitExceeded => "output limit exceeded",
        Verdict::InvalidSubmission => "invalid submission",
    }
}

/// Points without a useless `.0`.
pub fn points(p: f64) -> String {
    // Sums of fractional points carry binary noise (9.299999999999999): two decimals, with
    // trailing zeros dropped, say every score a spec can give.
    let text = format!("{p:.2}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" {
        "0".to_string()
    } else {
        text.to_string()
    }
}

/// A count and its noun: `1 case`, `3 cases`.
pub fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// The report for people. Colors follow the `colored` crate's global switch.
pub fn human(result: &ProblemResult) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} {} — {}",
        result.problem.bold(),
        result.title,
        sanitize::line(&result.submission).dimmed()
    );
    if let Some(reason) = &result.invalid_submission {
        let _ = writeln!(
            out,
            "  {} {}",
            "invalid submission:".red().bold(),
            sanitize::line(reason)
        );
    }
    let name_width = result
        .cases
        .iter()
        .map(|c| c.name.chars().count())
        .max()
        .unwrap_or(0);
    for case in &result.cases {
        if result.invalid_submission.is_some() {
            let _ = writeln!(
                out,
                "  {} {:<name_width$}  {:<6}  {}/{}",
                "✗".red(),
                case.name,
                case.visibility.as_str(),
                points(case.points),
                points(case.max_points)
            );
            continue;
        }
        case_line(&mut out, case, name_width);
    }
    let accepted = result
        .cases
        .iter()
        .filter(|c| c.verdict == Verdict::Accepted)
        .count();
    let summary = format!(
        "score {}/{}  ({accepted} of {} cases accepted)",
        points(result.score),
        points(result.max_score),
        result.cases.len()
    );
    let _ = writeln!(
        out,
        "{}",
        if result.all_accepted() {
            summary.green().bold()
        } else {
            summary.yellow().bold()
        }
    );
    out
}

fn case_line(out: &mut String, case: &CaseResult, name_width: usize) {
    let accepted = case.verdict == Verdict::Accepted;
    let mark = if accepted { "✓".green() } else { "✗".red() };
    let verdict = verdict_words(case.verdict);
    let verdict = if accepted {
        verdict.green()
    } else {
        verdict.red()
    };
    let _ = writeln!(
        out,
        "  {mark} {:<name_width$}  {:<6}  {:>5}  {:<21}  {}",
        case.name,
        case.visibility.as_str(),
        format!("{}/{}", points(case.points), points(case.max_points)),
        verdict,
        case.time_ms
            .map(|ms| format!("{ms:.1} ms"))
            .unwrap_or_default()
            .dimmed(),
    );
    if !accepted {
        let _ = writeln!(out, "      {}", sanitize::text(&case.message));
        // The first wrong value of every other output field, too: a bug in `weights` shows
        // even when `z` is also wrong.
        for m in case.mismatches.iter().skip(1) {
            let _ = writeln!(out, "      also: {}", sanitize::text(&m.describe()));
        }
    }
    if let (Some(stderr), false) = (&case.stderr, accepted)
        && case.visibility == Visibility::Sample
    {
        let _ = writeln!(out, "      {}", "stderr:".dimmed());
        for line in stderr
            .lines()
            .rev()
            .take(12)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
        {
            let _ = writeln!(out, "        {}", sanitize::line(line).dimmed());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_drop_useless_decimals() {
        assert_eq!(points(3.0), "3");
        assert_eq!(points(0.5), "0.5");
        assert_eq!(points(9.299999999999999), "9.3");
        assert_eq!(points(173.5), "173.5");
        assert_eq!(points(-0.001), "0");
        assert_eq!(points(1.0 / 3.0), "0.33");
    }

    #[test]
    fn plural_adds_an_s_except_for_one() {
        assert_eq!(plural(0, "case"), "0 cases");
        assert_eq!(plural(1, "case"), "1 case");
        assert_eq!(plural(2, "field"), "2 fields");
    }
}
