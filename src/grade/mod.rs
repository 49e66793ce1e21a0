//! Verdicts and scores: runs each case of a problem in the sandbox, compares, and decides.
//! What a student may see of a hidden case is decided here, once, for every report format.

use std::time::Duration;

pub mod answer_file;
pub mod answers;
pub mod class;

use serde::{Deserialize, Serialize};

pub use crate::verdict::Verdict;
use answers::ItemResult;

use crate::compare::{self, Comparison, Mismatch};
use crate::sandbox::{Execution, Executor, Limits, LoadError, Outcome, TrapKind};
use crate::spec::{Problem, TestCase, Visibility};

/// The result of one test case.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseResult {
    pub name: String,
    pub visibility: Visibility,
    pub verdict: Verdict,
    pub points: f64,
    pub max_points: f64,
    /// What happened, in words; for hidden cases without any of the case's data.
    pub message: String,
    /// The first wrong value of each output field that has one (visible cases only).
    pub mismatches: Vec<Mismatch>,
    /// The end of the program's stderr (visible cases only), valid UTF-8.
    pub stderr: Option<String>,
    /// Instructions used, in fuel units: identical on every run (staff view only for hidden
    /// cases: a count the program controls is a channel out).
    pub fuel: Option<u64>,
    /// Wall time of the run (staff view only for hidden cases).
    pub time_ms: Option<f64>,
}

/// The name a student sees for the `n`th hidden case of a problem (1-based), in every report
/// and in `show`: a case's own name (`kernel-equals-image`) would be a hint.
pub fn hidden_case_name(n: usize) -> String {
    format!("hidden-{n}")
}

impl CaseResult {
    /// What a student may see of this case: for a hidden case, its number, verdict and points,
    /// and a message fixed per verdict — nothing the program or the case's data can influence.
    fn for_student(self, hidden_number: usize) -> Self {
        if self.visibility == Visibility::Sample {
            return self;
        }
        CaseResult {
            name: hidden_case_name(hidden_number),
            message: self.verdict.hidden_message().to_string(),
            mismatches: Vec::new(),
            stderr: None,
            fuel: None,
            time_ms: None,
            ..self
        }
    }
}

/// The result of one submission to one problem.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProblemResult {
    pub problem: String,
    pub title: String,
    pub submission: String,
    pub score: f64,
    pub max_score: f64,
    /// Why the module could not be run at all, when it could not.
    pub invalid_submission: Option<String>,
    pub cases: Vec<CaseResult>,
}

impl ProblemResult {
    pub fn all_accepted(&self) -> bool {
        self.cases.iter().all(|c| c.verdict == Verdict::Accepted)
    }

    /// The student's view: hidden cases reduced to number, verdict and points (contract §5,
    /// "Hidden means hidden"). Grading always produces the staff view; every student-facing
    /// report goes through here.
    /// Sample cases come first, then `hidden-1`, `hidden-2`, … in the order of the spec.
    /// No case shows its time: cases run side by side, so a sample case's time would carry
    /// how busy the hidden case beside it kept the machine.
    pub fn for_student(mut self) -> Self {
        let mut hidden = 0;
        self.cases = self
            .cases
            .into_iter()
            .map(|c| {
                if c.visibility == Visibility::Hidden {
                    hidden += 1;
                }
                CaseResult {
                    time_ms: None,
                    ..c.for_student(hidden)
                }
            })
            .collect();
        self.cases
            .sort_by_key(|c| c.visibility == Visibility::Hidden);
        self
    }
}

/// One code problem in a whole-course report; `result` is `None` when nothing was submitted.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CodeEntry {
    pub problem: String,
    pub title: String,
    pub score: f64,
    pub max_score: f64,
    pub result: Option<ProblemResult>,
}

/// A part of the course with nothing handed in for it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Missing {
    pub id: String,
    pub kind: crate::spec::Kind,
}

impl Missing {
    /// The items of `items` with no answer.
    pub fn unanswered(items: &[ItemResult]) -> Vec<Missing> {
        items
            .iter()
            .filter(|i| i.status == answers::ItemStatus::Missing)
            .map(|i| Missing {
                id: i.id.clone(),
                kind: i.kind,
            })
            .collect()
    }
}

/// Everything one student handed in, graded: code problems, answers, what is missing.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StudentReport {
    pub student: String,
    pub score: f64,
    pub max_score: f64,
    /// Points of manual answers waiting for a TA and, on a student copy, of well-formed
    /// answers whose keys only staff hold (not in `score`).
    pub pending: f64,
    pub problems: Vec<CodeEntry>,
    pub items: Vec<ItemResult>,
    /// Code problems with no module and items with no answer.
    pub missing: Vec<Missing>,
    /// Names accepted under an alias, a folder descended into (contract §8).
    pub notes: Vec<String>,
    pub warnings: Vec<String>,
}

impl StudentReport {
    /// The student's view: hidden cases as in [`ProblemResult::for_student`]; answer keys and
    /// manual rubrics only once the course has released them (contract §7).
    pub fn for_student(mut self, keys_released: bool) -> Self {
        for entry in &mut self.problems {
            entry.result = entry.result.take().map(ProblemResult::for_student);
        }
        if !keys_released {
            for item in &mut self.items {
                item.rubric = None;
                for field in &mut item.fields {
                    field.key = None;
                }
            }
        }
        self
    }

    /// Every auto-graded part at full marks and nothing missing (parts waiting for staff
    /// aside).
    pub fn complete(&self) -> bool {
        self.missing.is_empty()
            && self
                .problems
                .iter()
                .all(|p| p.result.as_ref().is_some_and(ProblemResult::all_accepted))
            && self.items.iter().all(|i| {
                i.awaits_staff()
                    || matches!(
                        i.status,
                        answers::ItemStatus::Correct | answers::ItemStatus::Marked
                    )
            })
    }
}

/// Grades `wasm` (the bytes of `submission`: a module, or Python source when its name ends in
/// `.py`) on every case of `problem`.
///
/// Cases run on up to `jobs` threads; the result is the same, in the same order, for any `jobs`.
/// An error is the grader's own failure (its sandbox could not run), never the submission's.
pub fn grade(
    executor: &dyn Executor,
    problem: &Problem,
    submission: &str,
    wasm: &[u8],
    jobs: usize,
) -> anyhow::Result<ProblemResult> {
    let limit = problem.limits.module_bytes;
    if wasm.len() > limit {
        return Ok(refused(problem, submission, &LoadError::too_large(limit)));
    }
    let stdins: Vec<Vec<u8>> = problem
        .cases
        .iter()
        .map(|case| serde_json::to_vec(&case.input).unwrap_or_default())
        .collect();
    let code = crate::sandbox::Code::of(submission, wasm);
    let executions = match executor.execute(code, &stdins, &problem.limits.run, jobs)? {
        Ok(executions) => executions,
        Err(reason) => return Ok(refused(problem, submission, &reason)),
    };
    let cases: Vec<CaseResult> = problem
        .cases
        .iter()
        .zip(&executions)
        .map(|(case, exec)| case_result(problem, case, exec))
        .collect();
    Ok(ProblemResult {
        problem: problem.id.clone(),
        title: problem.title.clone(),
        submission: submission.to_string(),
        score: cases.iter().map(|c| c.points).fold(0.0, |a, b| a + b),
        max_score: problem.max_score(),
        invalid_submission: None,
        cases,
    })
}

/// The result of a submission that cannot be run at all: every case `invalid_submission`
/// with `reason` ("the module {reason}", "the Python file {reason}").
pub fn refused(problem: &Problem, submission: &str, reason: &LoadError) -> ProblemResult {
    let what = if crate::sandbox::is_python(submission) {
        "the Python file"
    } else {
        "the module"
    };
    let cases: Vec<CaseResult> = problem
        .cases
        .iter()
        .map(|case| CaseResult {
            name: case.name.clone(),
            visibility: case.visibility,
            verdict: Verdict::InvalidSubmission,
            points: 0.0,
            max_points: case.points,
            message: format!("{what} {reason}"),
            mismatches: Vec::new(),
            stderr: None,
            fuel: Some(0),
            time_ms: Some(0.0),
        })
        .collect();
    ProblemResult {
        problem: problem.id.clone(),
        title: problem.title.clone(),
        submission: submission.to_string(),
        score: 0.0,
        max_score: problem.max_score(),
        invalid_submission: Some(format!("{what} {reason}")),
        cases,
    }
}

fn case_result(problem: &Problem, case: &TestCase, exec: &Execution) -> CaseResult {
    let (verdict, message, mismatches) = judge(exec, problem, case, &problem.limits.run);
    CaseResult {
        name: case.name.clone(),
        visibility: case.visibility,
        verdict,
        points: if verdict == Verdict::Accepted {
            case.points
        } else {
            0.0
        },
        max_points: case.points,
        message,
        mismatches,
        stderr: (!exec.stderr_tail.is_empty()).then(|| stderr_text(exec)),
        fuel: Some(exec.fuel_used),
        time_ms: Some(exec.wall_time.as_secs_f64() * 1e3),
    }
}

/// The verdict for one execution, the message and the first mismatch: the staff view, with
/// every detail ([`ProblemResult::for_student`] takes out what a student may not see).
fn judge(
    exec: &Execution,
    problem: &Problem,
    case: &TestCase,
    limits: &Limits,
) -> (Verdict, String, Vec<Mismatch>) {
    use Verdict::*;
    let (verdict, message) = match &exec.outcome {
        Outcome::Exited(0) => {
            match compare::compare(&problem.outputs, &case.expected, &exec.stdout) {
                Comparison::Match => (Accepted, "accepted".to_string()),
                Comparison::Mismatch(mismatches) => {
                    let first = mismatches
                        .first()
                        .map(Mismatch::describe)
                        .unwrap_or_default();
                    return (WrongAnswer, format!("wrong answer: {first}"), mismatches);
                }
                Comparison::Invalid {
                    field: None,
                    message,
                } => (
                    InvalidOutput,
                    format!("invalid output: {message}{}", stdout_preview(&exec.stdout)),
                ),
                Comparison::Invalid { message, .. } => {
                    (InvalidOutput, format!("invalid output: {message}"))
                }
            }
        }
        Outcome::Exited(code) => (
            RuntimeError,
            format!("the program exited with status {code} (expected 0)"),
        ),
        Outcome::OutOfFuel => (
            TimeLimitExceeded,
            format!(
                "used its whole instruction budget ({} fuel): an endless loop, or an algorithm too slow",
                human_count(limits.fuel)
            ),
        ),
        Outcome::WallTimeout => (
            TimeLimitExceeded,
            format!(
                "ran past the wall-clock limit of {}",
                human_duration(limits.wall)
            ),
        ),
        Outcome::SleptPastLimit { requested } => (
            TimeLimitExceeded,
            format!(
                "slept {} in all, past the wall-clock limit of {} (sleeping counts against it)",
                human_duration(*requested),
                human_duration(limits.wall)
            ),
        ),
        Outcome::MemoryLimit { requested } => (
            MemoryLimitExceeded,
            format!(
                "asked for {} of memory; the limit is {}",
                human_bytes(*requested),
                human_bytes(limits.memory_bytes)
            ),
        ),
        Outcome::OutputLimit => (
            OutputLimitExceeded,
            format!(
                "wrote more than {} to stdout",
                human_bytes(limits.stdout_bytes as u64)
            ),
        ),
        Outcome::Trapped { kind, message } => (
            RuntimeError,
            match kind {
                TrapKind::StackOverflow => {
                    "stack overflow: the call stack is exhausted (unbounded recursion?)".to_string()
                }
                TrapKind::Unreachable => {
                    "the program aborted (a Rust panic or C abort(); see stderr)".to_string()
                }
                TrapKind::Other if message.contains("out of bounds memory access") => format!(
                    "the program crashed: {message} (a bad index or pointer, or a stack overflow \
                     inside the program's own stack in linear memory)"
                ),
                TrapKind::Other => format!("the program crashed: {message}"),
            },
        ),
    };
    (verdict, message, Vec::new())
}

/// How stdout began, for output that is not one JSON object: the first 200 bytes, and a
/// hint when a debug print came before the JSON.
fn stdout_preview(stdout: &[u8]) -> String {
    const SHOWN: usize = 200;
    let text = String::from_utf8_lossy(&stdout[..stdout.len().min(SHOWN)]);
    let shown = crate::sanitize::line(text.trim_end());
    let more = if stdout.len() > SHOWN { "…" } else { "" };
    let trimmed = String::from_utf8_lossy(stdout);
    let trimmed = trimmed.trim_start();
    let debug_first = !trimmed.starts_with('{') && trimmed.contains('{');
    let hint = if debug_first {
        "; something was printed before the JSON object: debug output belongs on stderr \
         (eprintln! in Rust, fprintf(stderr, …) in C)"
    } else {
        ""
    };
    if stdout.iter().all(u8::is_ascii_whitespace) {
        String::new()
    } else {
        format!("; stdout began: `{shown}{more}`{hint}")
    }
}

fn stderr_text(exec: &Execution) -> String {
    let text = String::from_utf8_lossy(&exec.stderr_tail);
    // A cut may fall inside a multi-byte character: drop the replacement it leaves.
    let text = if exec.stderr_truncated {
        format!("…{}", text.trim_start_matches('\u{FFFD}'))
    } else {
        text.into_owned()
    };
    text.trim_end().to_string()
}

pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 || value.fract() == 0.0 {
        format!("{value:.0} {}", UNITS[unit])
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

fn human_count(n: u64) -> String {
    if n >= 1_000_000_000 && n.is_multiple_of(100_000_000) {
        format!("{}e9", n as f64 / 1e9)
    } else if n >= 1_000_000 && n.is_multiple_of(100_000) {
        format!("{}e6", n as f64 / 1e6)
    } else {
        n.to_string()
    }
}

pub fn human_duration(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s >= 1.0 {
        format!("{} s", (s * 1000.0).round() / 1000.0)
    } else {
        format!("{} ms", d.as_millis())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_durations_read_naturally() {
        assert_eq!(human_bytes(256 << 20), "256 MiB");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_duration(Duration::from_secs(3600)), "3600 s");
        assert_eq!(human_duration(Duration::from_millis(250)), "250 ms");
        assert_eq!(human_count(2_000_000_000), "2e9");
    }
}
