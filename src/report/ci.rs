//! Reports for CI: JUnit XML, GitHub Actions annotations and the Markdown job summary. Each
//! renders the view it is given (the student's unless `--staff`), so a hidden case appears
//! as `hidden-N` with its fixed message, exactly as in the human and JSON reports.

use std::fmt::Write as _;

use quick_junit::{NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestSuite};

use super::points;
use crate::grade::answers::ItemStatus;
use crate::grade::{ProblemResult, StudentReport, Verdict};
use crate::sanitize;

/// The most annotations written: GitHub shows ten errors per step.
const ANNOTATIONS: usize = 10;

fn suite(result: &ProblemResult) -> TestSuite {
    let mut suite = TestSuite::new(format!("{} {}", result.problem, result.title));
    suite.add_property(Property::new("score", points(result.score)));
    suite.add_property(Property::new("max_score", points(result.max_score)));
    suite.add_property(Property::new("submission", result.submission.as_str()));
    for case in &result.cases {
        let status = if case.verdict == Verdict::Accepted {
            TestCaseStatus::success()
        } else {
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
            status
                .set_message(format!("{}: {}", case.verdict.as_str(), case.message))
                .set_type(case.verdict.as_str());
            status
        };
        let mut test = TestCase::new(case.name.as_str(), status);
        test.set_classname(result.problem.as_str());
        test.add_property(Property::new("points", points(case.points)));
        test.add_property(Property::new("max_points", points(case.max_points)));
        test.add_property(Property::new("visibility", case.visibility.as_str()));
        if let Some(ms) = case.time_ms {
            test.set_time(std::time::Duration::from_secs_f64(ms.max(0.0) / 1e3));
        }
        if let Some(stderr) = &case.stderr {
            test.set_system_err(stderr.as_str());
        }
        suite.add_test_case(test);
    }
    suite
}

/// `grader test` as JUnit XML: one testsuite, a testcase per case.
pub fn junit_problem(result: &ProblemResult) -> String {
    let mut report = Report::new("grader");
    report.add_test_suite(suite(result));
    report
        .to_string()
        .unwrap_or_else(|e| format!("<!-- cannot write JUnit: {e} -->\n"))
}

/// `grader grade` as JUnit XML: a testsuite per code problem (one failing testcase when
/// nothing was handed in) and one for answers.toml, a testcase per item (a manual answer
/// waiting for a TA is skipped).
pub fn junit_student(report: &StudentReport) -> String {
    let mut junit = Report::new(format!("grader {}", report.student));
    for entry in &report.problems {
        match &entry.result {
            Some(result) => {
                junit.add_test_suite(suite(result));
            }
            None => {
                let mut suite = TestSuite::new(format!("{} {}", entry.problem, entry.title));
                let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
                status.set_message(format!("not submitted ({}.wasm)", entry.problem));
                let mut test = TestCase::new("submitted", status);
                test.set_classname(entry.problem.as_str());
                suite.add_test_case(test);
                junit.add_test_suite(suite);
            }
        }
    }
    if !report.items.is_empty() {
        let mut suite = TestSuite::new("answers.toml");
        for item in &report.items {
            let status = match item.status {
                ItemStatus::Correct => TestCaseStatus::success(),
                ItemStatus::Marked if item.score >= item.max_score => TestCaseStatus::success(),
                ItemStatus::Pending => {
                    let mut s = TestCaseStatus::skipped();
                    s.set_message("waiting for a TA");
                    s
                }
                _ => {
                    let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                    s.set_message(item_problem(item));
                    s
                }
            };
            let mut test = TestCase::new(format!("{} {}", item.id, item.title), status);
            test.set_classname("answers.toml");
            test.add_property(Property::new("points", points(item.score)));
            test.add_property(Property::new("max_points", points(item.max_score)));
            suite.add_test_case(test);
        }
        junit.add_test_suite(suite);
    }
    junit
        .to_string()
        .unwrap_or_else(|e| format!("<!-- cannot write JUnit: {e} -->\n"))
}

fn item_problem(item: &crate::grade::answers::ItemResult) -> String {
    match item.status {
        ItemStatus::Missing => "not answered in answers.toml".to_string(),
        ItemStatus::Marked => format!(
            "marked by a TA: {}/{}",
            points(item.score),
            points(item.max_score)
        ),
        _ => item
            .fields
            .iter()
            .filter(|f| !f.correct)
            .map(|f| format!("{}: {}", f.name, f.message))
            .collect::<Vec<_>>()
            .join("; "),
    }
}

/// A workflow command's data: `%`, CR and LF escaped as GitHub documents; controls removed.
fn command_data(text: &str) -> String {
    sanitize::line(text)
        .replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// A workflow command's property value: also `:` and `,`.
fn command_property(text: &str) -> String {
    command_data(text).replace(':', "%3A").replace(',', "%2C")
}

fn annotation(level: &str, title: &str, message: &str) -> String {
    format!(
        "::{level} title={}::{}",
        command_property(title),
        command_data(message)
    )
}

/// GitHub Actions annotations for `grader test`: an error per case not accepted (at most ten)
/// and a notice with the score.
pub fn annotations_problem(result: &ProblemResult) -> Vec<String> {
    let mut lines: Vec<String> = result
        .cases
        .iter()
        .filter(|c| c.verdict != Verdict::Accepted)
        .take(ANNOTATIONS)
        .map(|c| {
            annotation(
                "error",
                &format!("{} {}: {}", result.problem, c.name, c.verdict.as_str()),
                &c.message,
            )
        })
        .collect();
    lines.push(annotation(
        "notice",
        &format!("{} score", result.problem),
        &format!(
            "{}/{} ({} of {} cases accepted)",
            points(result.score),
            points(result.max_score),
            result
                .cases
                .iter()
                .filter(|c| c.verdict == Verdict::Accepted)
                .count(),
            result.cases.len()
        ),
    ));
    lines
}

/// GitHub Actions annotations for `grader grade`: a warning per problem or item not at full
/// marks (at most ten) and a notice with the total.
pub fn annotations_student(report: &StudentReport) -> Vec<String> {
    let mut lines = Vec::new();
    for entry in &report.problems {
        let message = match &entry.result {
            None => format!("not submitted ({}.wasm)", entry.problem),
            Some(r) if r.all_accepted() => continue,
            Some(r) => {
                let failed: Vec<&str> = r
                    .cases
                    .iter()
                    .filter(|c| c.verdict != Verdict::Accepted)
                    .map(|c| c.verdict.as_str())
                    .collect();
                format!(
                    "{}/{}: {} of {} cases not accepted ({})",
                    points(r.score),
                    points(r.max_score),
                    failed.len(),
                    r.cases.len(),
                    failed.join(", ")
                )
            }
        };
        lines.push(annotation(
            "warning",
            &format!("{} {}", entry.problem, entry.title),
            &message,
        ));
    }
    for item in &report.items {
        if matches!(item.status, ItemStatus::Correct | ItemStatus::Pending)
            || item.score >= item.max_score
        {
            continue;
        }
        lines.push(annotation(
            "warning",
            &format!("{} {} (answers.toml)", item.id, item.title),
            &item_problem(item),
        ));
    }
    lines.truncate(ANNOTATIONS);
    lines.push(annotation(
        "notice",
        &format!("{} total", report.student),
        &format!(
            "{}/{}{}",
            points(report.score),
            points(report.max_score),
            pending(report)
        ),
    ));
    lines
}

/// ` (+ N pending a TA)` when manual points wait for a TA.
fn pending(report: &StudentReport) -> String {
    if report.pending > 0.0 {
        format!(" (+ {} pending a TA)", points(report.pending))
    } else {
        String::new()
    }
}

/// Text for a Markdown table cell: no HTML, no pipes, no line breaks, no controls.
fn cell(text: &str) -> String {
    sanitize::line(text)
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('|', "\\|")
        .replace('`', "\\`")
        .replace(['\n', '\r'], " ")
}

fn mark(ok: bool) -> &'static str {
    if ok { "✅" } else { "❌" }
}

/// The job summary of `grader test`, in Markdown.
pub fn summary_problem(result: &ProblemResult) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "### {} {}: {}/{}\n",
        cell(&result.problem),
        cell(&result.title),
        points(result.score),
        points(result.max_score)
    );
    let _ = writeln!(out, "| | case | visibility | verdict | points | message |");
    let _ = writeln!(out, "|---|---|---|---|---|---|");
    for c in &result.cases {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {}/{} | {} |",
            mark(c.verdict == Verdict::Accepted),
            cell(&c.name),
            c.visibility.as_str(),
            c.verdict.as_str(),
            points(c.points),
            points(c.max_points),
            cell(&c.message)
        );
    }
    out
}

/// The job summary of `grader grade`, in Markdown.
pub fn summary_student(report: &StudentReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "### {}: {}/{}{}\n",
        cell(&report.student),
        points(report.score),
        points(report.max_score),
        pending(report)
    );
    let _ = writeln!(out, "| | problem | score | status |");
    let _ = writeln!(out, "|---|---|---|---|");
    for e in &report.problems {
        let (ok, status) = match &e.result {
            None => (false, "not submitted".to_string()),
            Some(r) => (
                r.all_accepted(),
                format!(
                    "{} of {} cases accepted",
                    r.cases
                        .iter()
                        .filter(|c| c.verdict == Verdict::Accepted)
                        .count(),
                    r.cases.len()
                ),
            ),
        };
        let _ = writeln!(
            out,
            "| {} | {} {} | {}/{} | {} |",
            mark(ok),
            cell(&e.problem),
            cell(&e.title),
            points(e.score),
            points(e.max_score),
            cell(&status)
        );
    }
    if !report.items.is_empty() {
        let score: f64 = report.items.iter().map(|i| i.score).sum();
        let max: f64 = report.items.iter().map(|i| i.max_score).sum();
        let count = |s: ItemStatus| report.items.iter().filter(|i| i.status == s).count();
        let _ = writeln!(
            out,
            "\n**answers.toml**: {}/{} points; {} correct, {} partly, {} wrong, {} not answered, {} waiting for a TA",
            points(score),
            points(max),
            count(ItemStatus::Correct),
            count(ItemStatus::Partial),
            count(ItemStatus::Incorrect),
            count(ItemStatus::Missing),
            count(ItemStatus::Pending)
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workflow_commands_cannot_be_forged_by_a_message() {
        let line = annotation(
            "error",
            "q1.1 a, b: c",
            "got 1%\n::error title=fake::owned\r\u{1b}[31m",
        );
        assert_eq!(line.lines().count(), 1, "{line}");
        assert!(
            line.starts_with("::error title=q1.1 a%2C b%3A c::got 1%25"),
            "{line}"
        );
        assert!(!line.contains('\u{1b}'), "{line}");
    }

    #[test]
    fn markdown_cells_carry_no_html_or_table_breaks() {
        assert_eq!(
            cell("<img src=x onerror=alert(1)> | `x`\nnext"),
            "&lt;img src=x onerror=alert(1)&gt; \\| \\`x\\`\\nnext"
        );
    }
}
