//! How a class did: the statistics every cohort export shows (the end of `grader batch`,
//! the HTML report), computed once from the class's results.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use colored::Colorize;
use serde::Serialize;

use super::points;
use crate::grade::Verdict;
use crate::grade::class::Class;
use crate::sanitize;
use crate::spec::{Kind, Visibility};

/// How many of the hardest cases are listed.
const HARDEST: usize = 10;

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PartStats {
    pub id: String,
    pub title: String,
    pub kind: Kind,
    pub max_score: f64,
    /// Students who handed something in for it.
    pub submitted: usize,
    /// Students at full marks on it.
    pub full_marks: usize,
    /// Full marks among the graded students, 0–1.
    pub pass_rate: f64,
    pub mean_score: f64,
    /// Code problems: how many case results had each verdict.
    pub verdicts: BTreeMap<Verdict, usize>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CaseStats {
    pub problem: String,
    /// The case's own name (a staff view).
    pub case: String,
    pub visibility: Visibility,
    /// Submissions that ran it.
    pub attempts: usize,
    pub accepted: usize,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Summary {
    pub students: usize,
    /// Students with a report (the others could not be graded).
    pub graded: usize,
    pub max_score: f64,
    pub mean: f64,
    pub median: f64,
    pub min: f64,
    pub max: f64,
    /// Every graded student's score (marked manual answers included), sorted.
    pub scores: Vec<f64>,
    pub parts: Vec<PartStats>,
    /// The cases accepted least often (hidden ones included), hardest first.
    pub hardest: Vec<CaseStats>,
    /// Students with parts not handed in, and which.
    pub missing: Vec<(String, Vec<String>)>,
    /// Manual answers waiting for a TA.
    pub pending_answers: usize,
    /// Students who could not be graded, and why.
    pub failed: Vec<(String, String)>,
}

impl Summary {
    pub fn of(class: &Class) -> Summary {
        let reports: Vec<_> = class
            .students
            .iter()
            .filter_map(|s| s.report.as_ref())
            .collect();
        let mut scores: Vec<f64> = reports.iter().map(|r| r.score).collect();
        scores.sort_by(f64::total_cmp);
        let n = scores.len();
        let mean = if n == 0 {
            0.0
        } else {
            scores.iter().sum::<f64>() / n as f64
        };
        let median = match n {
            0 => 0.0,
            n if n % 2 == 1 => scores[n / 2],
            n => (scores[n / 2 - 1] + scores[n / 2]) / 2.0,
        };

        let mut parts = Vec::new();
        let mut cases: BTreeMap<(String, usize), CaseStats> = BTreeMap::new();
        for part in &class.parts {
            let mut stats = PartStats {
                id: part.id.clone(),
                title: part.title.clone(),
                kind: part.kind,
                max_score: part.max_score,
                submitted: 0,
                full_marks: 0,
                pass_rate: 0.0,
                mean_score: 0.0,
                verdicts: BTreeMap::new(),
            };
            let mut total = 0.0;
            for r in &reports {
                let (handed_in, score) = if part.kind == Kind::Code {
                    let Some(entry) = r.problems.iter().find(|p| p.problem == part.id) else {
                        continue;
                    };
                    if let Some(result) = &entry.result {
                        for (i, case) in result.cases.iter().enumerate() {
                            *stats.verdicts.entry(case.verdict).or_default() += 1;
                            let c = cases.entry((part.id.clone(), i)).or_insert(CaseStats {
                                problem: part.id.clone(),
                                case: case.name.clone(),
                                visibility: case.visibility,
                                attempts: 0,
                                accepted: 0,
                            });
                            c.attempts += 1;
                            c.accepted += usize::from(case.verdict == Verdict::Accepted);
                        }
                    }
                    (entry.result.is_some(), entry.score)
                } else {
                    let Some(item) = r.items.iter().find(|i| i.id == part.id) else {
                        continue;
                    };
                    let answered = item.status != crate::grade::answers::ItemStatus::Missing;
                    (answered, item.score)
                };
                stats.submitted += usize::from(handed_in);
                stats.full_marks += usize::from(score >= part.max_score && part.max_score > 0.0);
                total += score;
            }
            if n > 0 {
                stats.pass_rate = stats.full_marks as f64 / n as f64;
                stats.mean_score = total / n as f64;
            }
            parts.push(stats);
        }
        let mut hardest: Vec<CaseStats> = cases
            .into_values()
            .filter(|c| c.attempts > 0 && c.accepted < c.attempts)
            .collect();
        hardest.sort_by(|a, b| {
            let rate = |c: &CaseStats| c.accepted as f64 / c.attempts as f64;
            rate(a)
                .total_cmp(&rate(b))
                .then(b.attempts.cmp(&a.attempts))
                .then_with(|| {
                    crate::spec::sort_key(&a.problem).cmp(&crate::spec::sort_key(&b.problem))
                })
                .then_with(|| a.case.cmp(&b.case))
        });
        hardest.truncate(HARDEST);

        let missing = reports
            .iter()
            .filter(|r| !r.missing.is_empty())
            .map(|r| {
                (
                    r.student.clone(),
                    r.missing.iter().map(|m| m.id.clone()).collect(),
                )
            })
            .collect();
        let pending_answers = reports
            .iter()
            .flat_map(|r| &r.items)
            .filter(|i| i.status == crate::grade::answers::ItemStatus::Pending)
            .count();
        let failed = class
            .students
            .iter()
            .filter_map(|s| s.error.as_ref().map(|e| (s.student.clone(), e.clone())))
            .collect();
        Summary {
            students: class.students.len(),
            graded: n,
            max_score: class.max_score(),
            mean,
            median,
            min: scores.first().copied().unwrap_or(0.0),
            max: scores.last().copied().unwrap_or(0.0),
            scores,
            parts,
            hardest,
            missing,
            pending_answers,
            failed,
        }
    }

    /// The summary for people: the class in a dozen lines, then what needs a TA.
    pub fn human(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{} {} graded of {}; mean {} median {} (min {}, max {}) of {} points",
            "class:".bold(),
            self.graded,
            self.students,
            points(self.mean),
            points(self.median),
            points(self.min),
            points(self.max),
            points(self.max_score)
        );
        let _ = writeln!(
            out,
            "{}",
            "Code problems, share of students with every case accepted:".bold()
        );
        let code: Vec<&PartStats> = self.parts.iter().filter(|p| p.kind == Kind::Code).collect();
        for chunk in code.chunks(6) {
            let line: Vec<String> = chunk
                .iter()
                .map(|p| format!("{:<6} {:>3.0}%", p.id, p.pass_rate * 100.0))
                .collect();
            let _ = writeln!(out, "  {}", line.join("   "));
        }
        let paper: Vec<&PartStats> = self.parts.iter().filter(|p| p.kind != Kind::Code).collect();
        if !paper.is_empty() {
            let mean: f64 = paper.iter().map(|p| p.mean_score).sum();
            let max: f64 = paper.iter().map(|p| p.max_score).sum();
            let _ = writeln!(
                out,
                "{} {} items, mean {} of {} points",
                "answers.toml:".bold(),
                paper.len(),
                points(mean),
                points(max)
            );
        }
        if !self.hardest.is_empty() {
            let _ = writeln!(out, "{}", "Hardest cases:".bold());
            for c in &self.hardest {
                let _ = writeln!(
                    out,
                    "  {:<7} {:<32} {:>4}/{:<4} accepted{}",
                    c.problem,
                    sanitize::line(&c.case),
                    c.accepted,
                    c.attempts,
                    if c.visibility == Visibility::Hidden {
                        " (hidden)"
                    } else {
                        ""
                    }
                );
            }
        }
        if !self.missing.is_empty() {
            let _ = writeln!(
                out,
                "{} {} students",
                "Missing work:".bold(),
                self.missing.len()
            );
            for (student, ids) in &self.missing {
                let shown: Vec<&str> = ids.iter().take(8).map(String::as_str).collect();
                let more = if ids.len() > shown.len() { ", …" } else { "" };
                let _ = writeln!(
                    out,
                    "  {}: {} parts ({}{more})",
                    sanitize::line(student),
                    ids.len(),
                    shown.join(", ")
                );
            }
        }
        if self.pending_answers > 0 {
            let _ = writeln!(
                out,
                "{} {} manual answers wait for a TA (manual.csv; `grader import` reads it back)",
                "Pending:".bold(),
                self.pending_answers
            );
        }
        for (student, error) in &self.failed {
            let _ = writeln!(
                out,
                "{} {}: {}",
                "not graded:".red().bold(),
                sanitize::line(student),
                sanitize::line(error)
            );
        }
        out
    }
}
