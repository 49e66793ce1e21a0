//! Whole submissions: a student's folder (contract §8) graded against the whole course.
//! One problem's failure never stops the others: each is a verdict or a warning in the report.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context;

use crate::grade::answers::{ItemStatus, grade_answers};
use crate::grade::{self, CodeEntry, StudentReport};
use crate::sandbox::Sandbox;
use crate::spec::{Item, Problem};

/// Reads a submitted module, but never more than one byte past `limit`: a huge upload is
/// rejected by its size without being read whole.
pub fn read_module(path: &Path, limit: usize) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(limit as u64 + 1)
        .read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// The course's problems and items, loaded once, with a sandbox per wasm stack size.
pub struct Grader {
    problems: Vec<Problem>,
    items: Vec<Item>,
    sandboxes: BTreeMap<usize, Sandbox>,
    jobs: usize,
}

impl Grader {
    /// `jobs`: how many problems are graded at once.
    pub fn new(problems: Vec<Problem>, items: Vec<Item>, jobs: usize) -> anyhow::Result<Self> {
        let mut sandboxes = BTreeMap::new();
        for p in &problems {
            let stack = p.limits.wasm_stack_bytes;
            if let std::collections::btree_map::Entry::Vacant(slot) = sandboxes.entry(stack) {
                slot.insert(Sandbox::new(stack).context("starting the sandbox")?);
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
        let listing = std::fs::read_dir(dir)
            .with_context(|| format!("cannot read the student folder `{}`", dir.display()))?;
        let mut warnings = Vec::new();
        let mut names: Vec<String> = listing
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        for name in &names {
            let known = name == "answers.toml"
                || name
                    .strip_suffix(".wasm")
                    .is_some_and(|id| self.problems.iter().any(|p| p.id == id));
            if !known {
                warnings.push(format!(
                    "{name}: not a module of a code problem nor answers.toml; ignored"
                ));
            }
        }

        // Problems run in parallel, each on one thread; the report is the same for any `jobs`.
        let graded = grade::parallel_map(
            &self.problems,
            self.jobs,
            self.max_wasm_stack(),
            |problem| {
                let path = dir.join(format!("{}.wasm", problem.id));
                let (result, warning) = match read_module(&path, problem.limits.module_bytes) {
                    Ok(wasm) => {
                        let sandbox = &self.sandboxes[&problem.limits.wasm_stack_bytes];
                        (
                            Some(grade::grade(
                                sandbox,
                                problem,
                                &format!("{}.wasm", problem.id),
                                &wasm,
                                1,
                            )),
                            None,
                        )
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => (None, None),
                    Err(e) => (
                        None,
                        Some(format!(
                            "{}.wasm: cannot be read ({e}); graded as not submitted",
                            problem.id
                        )),
                    ),
                };
                let entry = CodeEntry {
                    problem: problem.id.clone(),
                    title: problem.title.clone(),
                    score: result.as_ref().map_or(0.0, |r| r.score),
                    max_score: problem.max_score(),
                    result,
                };
                (entry, warning)
            },
        );
        let mut missing = Vec::new();
        let mut problems = Vec::new();
        for (entry, warning) in graded {
            if entry.result.is_none() {
                missing.push(entry.problem.clone());
            }
            warnings.extend(warning);
            problems.push(entry);
        }

        let answers_path = dir.join("answers.toml");
        let answers = match std::fs::read_to_string(&answers_path) {
            Ok(text) => {
                match toml::from_str::<toml::Table>(&text) {
                    Ok(table) => Some(table),
                    Err(e) => {
                        let detail = e.to_string().trim_end().replace('\n', "\n    ");
                        warnings.push(format!("answers.toml is not valid TOML, so no answer in it was graded: {detail}"));
                        None
                    }
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => {
                warnings.push(format!(
                    "answers.toml cannot be read ({e}); no answer was graded"
                ));
                None
            }
        };
        let code_ids: Vec<String> = self.problems.iter().map(|p| p.id.clone()).collect();
        let (items, answer_warnings) = grade_answers(&self.items, answers.as_ref(), &code_ids);
        warnings.extend(answer_warnings);
        missing.extend(
            items
                .iter()
                .filter(|i| i.status == ItemStatus::Missing)
                .map(|i| format!("{} ({})", i.id, i.kind.as_str())),
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
            warnings,
        })
    }
}
