//! What the staff's checks of a course found: `grader check`'s one line on a valid course,
//! `grader verify`'s line per finding and its verdict.

use std::fmt::Write as _;
use std::path::Path;

use colored::Colorize;

use super::plural;
use crate::staff::Finding;

/// `grader check` on a valid course: what it holds, and the file it was read from.
pub fn valid(problems: usize, cases: usize, items: usize, course_file: &Path) -> String {
    format!(
        "{} {} with {cases} test cases and {} are valid ({})\n",
        "ok:".green().bold(),
        plural(problems, "code problem"),
        plural(items, "answer, choice or manual item"),
        course_file.display()
    )
}

/// `grader verify`: a line per finding, then how many checks passed or failed.
pub fn verified(findings: &[Finding]) -> String {
    let mut out = String::new();
    for f in findings {
        let mark = if f.ok { "✓".green() } else { "✗".red() };
        let _ = writeln!(out, "{mark} {:<14} {}", f.subject, f.detail);
    }
    let failed = findings.iter().filter(|f| !f.ok).count();
    if failed == 0 {
        let _ = writeln!(
            out,
            "{} {} checks passed",
            "verified:".green().bold(),
            findings.len()
        );
    } else {
        let _ = writeln!(
            out,
            "{} {failed} of {} checks failed",
            "not verified:".red().bold(),
            findings.len()
        );
    }
    out
}
