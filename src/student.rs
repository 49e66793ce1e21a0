//! Whole submissions: a student's folder (contract §8) graded against the whole course.
//! One problem's failure never stops the others: each is a verdict or a warning in the report.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context;

use crate::grade::answer_file;
use crate::grade::answers::grade_answers;
use crate::grade::{self, CodeEntry, Missing, ProblemResult, StudentReport};
use crate::handin;
use crate::sandbox::{Executor, Isolated, Sandbox};
use crate::spec::{Item, Kind, Problem};
use crate::submission::{self, FileStat, Links, Refusal};

/// The most bytes of `answers.toml` read: a real one is a few KiB.
pub const ANSWERS_LIMIT: usize = 1 << 20;

/// The most warnings one source (the folder listing, the answers file) adds to a report.
const WARNINGS_PER_SOURCE: usize = 20;

/// A file of a hand-in as graded: what a gradebook keeps to know it again.
#[derive(Clone, Debug, PartialEq)]
pub struct HandedFile {
    /// The code problem it was graded as; `None` for `answers.toml`.
    pub problem: Option<String>,
    /// Its name in the folder.
    pub name: String,
    pub sha256: String,
    pub stat: FileStat,
}

/// A student's folder, graded: the report (staff view) and the files it was made from.
pub struct Graded {
    pub report: StudentReport,
    pub files: Vec<HandedFile>,
    /// How many modules were compiled and run (the rest had results from before).
    pub ran: usize,
}

/// Results known from before, so that a cohort run grades only what changed: a module's
/// bytes already hashed, a (problem, module) pair already graded.
pub trait Known: Sync {
    /// The SHA-256 of the file `name`, if this very version of it (`stat`) was hashed before.
    fn hash_of(&self, name: &str, stat: &FileStat) -> Option<String>;
    /// The result of `problem` for the module (or, with `python`, the Python file) whose bytes
    /// hash to `sha256`: one known from before for the same kind of file, or `grade()`'s.
    fn result(
        &self,
        problem: &Problem,
        sha256: &str,
        python: bool,
        grade: &mut dyn FnMut() -> anyhow::Result<ProblemResult>,
    ) -> anyhow::Result<(ProblemResult, bool)>;
}

/// Nothing is known: every module is graded (`grader grade`).
pub struct Fresh;

impl Known for Fresh {
    fn hash_of(&self, _: &str, _: &FileStat) -> Option<String> {
        None
    }
    fn result(
        &self,
        _: &Problem,
        _: &str,
        _: bool,
        grade: &mut dyn FnMut() -> anyhow::Result<ProblemResult>,
    ) -> anyhow::Result<(ProblemResult, bool)> {
        Ok((grade()?, true))
    }
}

/// Where modules run.
pub enum Isolation {
    /// In worker processes of this `grader` binary, killed on overrun: what grading uses;
    /// with a folder where compiled modules are kept across runs.
    Workers(std::path::PathBuf, Option<std::path::PathBuf>),
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
        Self::with(problems, items, jobs, &Isolation::Workers(exe, None))
    }

    pub fn problems(&self) -> &[Problem] {
        &self.problems
    }

    pub fn items(&self) -> &[Item] {
        &self.items
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
                    Isolation::Workers(exe, cache) => {
                        Box::new(Isolated::new(exe.clone(), stack).with_cache(cache.clone()))
                    }
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
        Ok(self.grade_folder(dir, &Fresh)?.report)
    }

    /// Grades the folder `dir`, taking from `known` what was graded before.
    pub fn grade_folder(&self, dir: &Path, known: &dyn Known) -> anyhow::Result<Graded> {
        let ids: Vec<String> = self.problems.iter().map(|p| p.id.clone()).collect();
        let hand_in = handin::read(dir, &ids)?;
        let mut warnings = submission::capped(hand_in.warnings, WARNINGS_PER_SOURCE, "folder");
        let folder = hand_in.dir.as_path();

        // Problems run in parallel, each on one thread; the report is the same for any `jobs`.
        let graded: Vec<anyhow::Result<(CodeEntry, Option<HandedFile>, bool)>> =
            crate::parallel::parallel_map(
                &self.problems,
                self.jobs,
                self.max_wasm_stack(),
                |problem| {
                    let name = hand_in
                        .modules
                        .get(&problem.id)
                        .cloned()
                        .unwrap_or_else(|| format!("{}.wasm", problem.id));
                    let (result, file, ran) = self.grade_module(folder, &name, problem, known)?;
                    let entry = CodeEntry {
                        problem: problem.id.clone(),
                        title: problem.title.clone(),
                        score: result.as_ref().map_or(0.0, |r| r.score),
                        max_score: problem.max_score(),
                        result,
                    };
                    Ok((entry, file, ran))
                },
            );
        let mut files = Vec::new();
        let mut ran = 0;
        let mut missing = Vec::new();
        let mut problems = Vec::new();
        for entry in graded {
            // The grader's own failure (a worker that cannot start) stops this student.
            let (entry, file, did_run) = entry?;
            files.extend(file);
            ran += usize::from(did_run);
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
        let read = submission::open(&answers_path, Links::Refuse).and_then(|opened| {
            let stat = opened.stat;
            Ok((opened.read(ANSWERS_LIMIT)?, stat))
        });
        let answers = match read {
            Ok((bytes, stat)) => {
                files.push(HandedFile {
                    problem: None,
                    name: handin::ANSWERS_FILE.to_string(),
                    sha256: submission::sha256_hex(&bytes),
                    stat,
                });
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
        missing.extend(Missing::unanswered(&items));

        let score = problems.iter().map(|p| p.score).fold(0.0, |a, b| a + b)
            + items.iter().map(|i| i.score).fold(0.0, |a, b| a + b);
        let max_score = problems.iter().map(|p| p.max_score).fold(0.0, |a, b| a + b)
            + items.iter().map(|i| i.max_score).fold(0.0, |a, b| a + b);
        let pending = items
            .iter()
            .filter(|i| i.awaits_staff())
            .map(|i| i.max_score)
            .fold(0.0, |a, b| a + b);
        let report = StudentReport {
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
        };
        Ok(Graded { report, files, ran })
    }

    /// One problem's module, `name` in `folder`: its result (`None` when there is no such
    /// file), the file as graded, and whether it was compiled and run here.
    fn grade_module(
        &self,
        folder: &Path,
        name: &str,
        problem: &Problem,
        known: &dyn Known,
    ) -> anyhow::Result<(Option<ProblemResult>, Option<HandedFile>, bool)> {
        let path = folder.join(name);
        let limit = problem.limits.module_bytes;
        let sandbox = &self.sandboxes[&problem.limits.wasm_stack_bytes];
        let refused = |refusal: Refusal| {
            let reason = refusal.as_load_error(limit);
            Ok((Some(grade::refused(problem, name, &reason)), None, false))
        };
        let opened = match submission::open(&path, Links::Refuse) {
            Ok(opened) => opened,
            Err(Refusal::NotFound) => return Ok((None, None, false)),
            Err(refusal) => return refused(refusal),
        };
        let stat = opened.stat;
        let (sha256, mut bytes) = match known.hash_of(name, &stat) {
            Some(sha256) => (sha256, None),
            None => match opened.read(limit) {
                Ok(bytes) => (submission::sha256_hex(&bytes), Some(bytes)),
                Err(refusal) => return refused(refusal),
            },
        };
        let python = crate::sandbox::is_python(name);
        let (mut result, ran) = known.result(problem, &sha256, python, &mut || {
            let wasm = match bytes.take() {
                Some(bytes) => bytes,
                None => {
                    // Known by its hash but not known how to grade: read it now, and only if
                    // it is still the version that was hashed.
                    let bytes = submission::read(&path, limit, Links::Refuse)
                        .map_err(|e| anyhow::anyhow!("`{name}` {e}"))?;
                    if submission::sha256_hex(&bytes) != sha256 {
                        anyhow::bail!("`{name}` changed while it was being graded");
                    }
                    bytes
                }
            };
            grade::grade(sandbox.as_ref(), problem, name, &wasm, 1)
        })?;
        // A result known from another file with the same bytes carries that file's name.
        result.submission = name.to_string();
        let file = HandedFile {
            problem: Some(problem.id.clone()),
            name: name.to_string(),
            sha256,
            stat,
        };
        Ok((Some(result), Some(file), ran))
    }
}
