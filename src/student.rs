//! Whole submissions: a student's folder (contract §8) graded against the whole course.
//! One problem's failure never stops the others: each is a verdict or a warning in the report.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context;

use crate::grade::answer_file;
use crate::grade::answers::{ItemStatus, grade_answers};
use crate::grade::{self, CodeEntry, Missing, StudentReport};
use crate::handin;
use crate::sandbox::{Executor, Isolated, Sandbox};
use crate::spec::{Item, Kind, Problem};
use crate::submission::{self, Links, Refusal};

/// The most bytes of `answers.toml` read: a real one is a few KiB.
pub const ANSWERS_LIMIT: usize = 1 << 20;

/// The most warnings one source (the folder listing, the answers file) adds to a report.
const WARNINGS_PER_SOURCE: usize = 20;

/// Where modules run.
pub enum Isolation {
    /// In worker processes of this `grader` binary, killed on overrun: what grading uses.
    Workers(std::path::PathBuf),
    /// In this process, with wasmtime's limits only (no kill backstop): a baseline.
    InProcess,
}

/// The course's problems and items, loaded once, with a sandbox per wasm stack size.
pub struct Grader {
    problems: Vec<Problem>,
    items: Vec<Item>,
    sandboxes: BTreeMap<usize, Box<dyn Executor>>,
    jobs: usize,
}

impl Grader {
    /// `jobs`: how many problems are graded at once.
    pub fn new(problems: Vec<Problem>, items: Vec<Item>, jobs: usize) -> anyhow::Result<Self> {
        let exe = std::env::current_exe().context("finding the grader executable")?;
        Self::with(problems, items, jobs, &Isolation::Workers(exe))
    }

    /// Like [`Grader::new`], with the sandbox chosen: for the benchmark's baseline, and for
    /// programs other than `grader` that grade (their workers are a `grader` binary).
    pub fn with(
        problems: Vec<Problem>,
        items: Vec<Item>,
        jobs: usize,
        isolation: &Isolation,
    ) -> anyhow::Result<Self> {
        let mut sandboxes = BTreeMap::new();
        for p in &problems {
            let stack = p.limits.wasm_stack_bytes;
            if let std::collections::btree_map::Entry::Vacant(slot) = sandboxes.entry(stack) {
                let executor: Box<dyn Executor> = match isolation {
                    Isolation::Workers(exe) => Box::new(Isolated::new(exe.clone(), stack)),
                    Isolation::InProcess => {
                        Box::new(Sandbox::new(stack).context("starting the sandbox")?)
                    }
                };
                slot.insert(executor);
            }
        }
        Ok(Self {
            problems,
            items,
            sandboxes,
            jobs,
        })
    }

    /// The largest wasm stack of any problem: grading threads need more native stack.
    pub fn max_wasm_stack(&self) -> usize {
        self.sandboxes.keys().copied().max().unwrap_or(0)
    }

    /// Grades the folder `dir`: `<id>.wasm` per code problem and an optional `answers.toml`.
    pub fn grade_student(&self, dir: &Path) -> anyhow::Result<StudentReport> {
        let ids: Vec<String> = self.problems.iter().map(|p| p.id.clone()).collect();
        let hand_in = handin::read(dir, &ids)?;
        let mut warnings = submission::capped(hand_in.warnings, WARNINGS_PER_SOURCE, "folder");
        let folder = hand_in.dir.as_path();

        // Problems run in parallel, each on one thread; the report is the same for any `jobs`.
        let graded: Vec<anyhow::Result<CodeEntry>> = crate::parallel::parallel_map(
            &self.problems,
            self.jobs,
            self.max_wasm_stack(),
            |problem| {
                let name = hand_in
                    .modules
                    .get(&problem.id)
                    .cloned()
                    .unwrap_or_else(|| format!("{}.wasm", problem.id));
                let path = folder.join(&name);
                let sandbox = &self.sandboxes[&problem.limits.wasm_stack_bytes];
                let result =
                    match submission::read(&path, problem.limits.module_bytes, Links::Refuse) {
                        Ok(wasm) => Some(grade::grade(sandbox.as_ref(), problem, &name, &wasm, 1)),
                        Err(Refusal::NotFound) => None,
                        Err(refusal) => {
                            let reason = refusal.as_load_error(problem.limits.module_bytes);
                            Some(Ok(grade::refused(problem, &name, &reason)))
                        }
                    };
                let result = result.transpose()?;
                Ok(CodeEntry {
                    problem: problem.id.clone(),
                    title: problem.title.clone(),
                    score: result.as_ref().map_or(0.0, |r| r.score),
                    max_score: problem.max_score(),
                    result,
                })
            },
        );
        let mut missing = Vec::new();
        let mut problems = Vec::new();
        for entry in graded {
            // The grader's own failure (a worker that cannot start) stops this student.
            let entry = entry?;
            if entry.result.is_none() {
                missing.push(Missing {
                    id: entry.problem.clone(),
                    kind: Kind::Code,
                });
            }
            problems.push(entry);
        }

        let answers_path = folder.join(handin::ANSWERS_FILE);
        let code_ids: Vec<String> = self.problems.iter().map(|p| p.id.clone()).collect();
        // Read only as a regular file inside the folder: its text is the student's own, so a
        // warning may quote it. A broken table costs only its own question (contract §7).
        let answers = match submission::read(&answers_path, ANSWERS_LIMIT, Links::Refuse) {
            Ok(bytes) => {
                let text = match String::from_utf8(bytes) {
                    Ok(text) => text,
                    Err(e) => {
                        let at = e.utf8_error().valid_up_to();
                        let bytes = e.into_bytes();
                        let line = bytes[..at].iter().filter(|b| **b == b'\n').count() + 1;
                        warnings.push(format!(
                            "answers.toml line {line}: not UTF-8 text (byte {at}); each bad byte read as U+FFFD"
                        ));
                        String::from_utf8_lossy(&bytes).into_owned()
                    }
                };
                let ids: Vec<String> = self
                    .items
                    .iter()
                    .map(|i| i.id.clone())
                    .chain(code_ids.iter().cloned())
                    .collect();
                Some(answer_file::read(&text, &ids))
            }
            Err(Refusal::NotFound) => None,
            Err(e) => {
                warnings.push(format!("answers.toml {e}; no answer was graded"));
                None
            }
        };
        let (items, answer_warnings) = grade_answers(&self.items, answers.as_ref(), &code_ids);
        warnings.extend(submission::capped(
            answer_warnings,
            WARNINGS_PER_SOURCE,
            "answers.toml",
        ));
        missing.extend(
            items
                .iter()
                .filter(|i| i.status == ItemStatus::Missing)
                .map(|i| Missing {
                    id: i.id.clone(),
                    kind: i.kind,
                }),
        );

        let score = problems.iter().map(|p| p.score).fold(0.0, |a, b| a + b)
            + items.iter().map(|i| i.score).fold(0.0, |a, b| a + b);
        let max_score = problems.iter().map(|p| p.max_score).fold(0.0, |a, b| a + b)
            + items.iter().map(|i| i.max_score).fold(0.0, |a, b| a + b);
        let pending = items
            .iter()
            .filter(|i| i.status == ItemStatus::Pending)
            .map(|i| i.max_score)
            .fold(0.0, |a, b| a + b);
        Ok(StudentReport {
            student: dir.file_name().map_or_else(
                || dir.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            ),
            score,
            max_score,
            pending,
            problems,
            items,
            missing,
            notes: hand_in.notes,
            warnings,
        })
    }
}
