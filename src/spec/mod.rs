//! The course configuration (`grader.toml`) and problem specs (`problems/<id>/problem.toml`):
//! their serde model, loading, and every check that can be made without running anything.
//! Each error names the file and the key.

mod dims;
mod export;
mod generate;
mod items;
mod leaks;
mod model;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value as Json;

use crate::compare::{FieldType, OutputField, Tolerance, Value, shape_of};
use crate::sandbox::Limits;

pub use dims::{Dim, Measure};
pub use export::student_copy;
pub use generate::Generator;
pub use items::{AnswerField, Item, Precision, Twin};
pub use leaks::paper_key_leaks;
use model::{CaseFile, CourseFile, LimitsFile, ProblemFile};
pub use model::{Kind, Visibility};

use crate::verdict::Verdict;

pub const SPEC_VERSION: u32 = 1;
pub const COURSE_FILE: &str = "grader.toml";
pub const PROBLEM_FILE: &str = "problem.toml";
pub const ITEM_FILE: &str = "answer.toml";

/// One thing wrong with a spec: the file, the key inside it, and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpecError {
    pub file: PathBuf,
    pub key: Option<String>,
    pub message: String,
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.key {
            Some(key) => write!(f, "{}: `{key}`: {}", self.file.display(), self.message),
            None => write!(f, "{}: {}", self.file.display(), self.message),
        }
    }
}

/// A course or problem spec that cannot be used (exit code 3).
#[derive(Debug, thiserror::Error)]
pub struct InvalidSpec(pub Vec<SpecError>);

impl fmt::Display for InvalidSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0.len();
        write!(
            f,
            "{n} problem{} in the course specs",
            if n == 1 { "" } else { "s" }
        )?;
        for e in &self.0 {
            write!(f, "\n  {e}")?;
        }
        Ok(())
    }
}

/// The limits a problem's cases run under.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProblemLimits {
    pub run: Limits,
    pub wasm_stack_bytes: usize,
    pub module_bytes: usize,
}

/// A loaded course: `grader.toml` and where its problems live.
#[derive(Clone, Debug)]
pub struct Course {
    pub root: PathBuf,
    pub name: String,
    pub problems_dir: PathBuf,
    /// Where the built modules named in `[solutions]` are.
    pub solutions_dir: PathBuf,
    /// `[course] release_keys`: students' reports print answer keys and rubrics (§7).
    pub keys_released: bool,
    /// `[course] staff_digest` of a student copy (`[course] student_copy = true`, written by
    /// `grader export --students`): the `sha256:…` digest of the staff course it was made
    /// from. `None` for a staff course.
    pub staff_digest: Option<String>,
    limits: LimitsFile,
    tolerance: Tolerance,
}

/// A declared input of a code problem.
#[derive(Clone, Debug, PartialEq)]
pub struct InputField {
    pub name: String,
    pub ty: FieldType,
    pub optional: bool,
}

/// One test case: what the program reads and what it must print.
#[derive(Clone, Debug, PartialEq)]
pub struct TestCase {
    pub name: String,
    pub visibility: Visibility,
    pub points: f64,
    /// The JSON object written to the program's stdin.
    pub input: serde_json::Map<String, Json>,
    pub expected: BTreeMap<String, Value>,
}

/// Lowercase hex of a digest.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A SHA-256 of everything grading a module on `problem` depends on (title, contract,
/// limits, cases) and of the grader's version: the gradebook regrades a module when it
/// changes. Where the spec lives is not part of it.
pub fn problem_fingerprint(problem: &Problem) -> String {
    use sha2::{Digest, Sha256};
    let p = problem;
    let text = format!(
        "{}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}",
        env!("CARGO_PKG_VERSION"),
        p.id,
        p.title,
        p.limits,
        p.inputs,
        p.outputs,
        p.cases
    );
    hex(&Sha256::digest(text.as_bytes()))
}

/// A SHA-256 of everything grading `answers.toml` depends on: every item but where it lives.
pub fn items_fingerprint(items: &[Item]) -> String {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    hasher.update(env!("CARGO_PKG_VERSION"));
    for i in items {
        hasher.update(format!(
            "\n{:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?}",
            i.id, i.title, i.kind, i.statement, i.twin, i.fields, i.points, i.rubric
        ));
    }
    hex(&hasher.finalize())
}

/// A loaded, checked problem.
#[derive(Clone, Debug, PartialEq)]
pub struct Problem {
    pub id: String,
    pub title: String,
    pub kind: Kind,
    pub statement: String,
    pub file: PathBuf,
    pub limits: ProblemLimits,
    pub inputs: Vec<InputField>,
    pub outputs: Vec<OutputField>,
    /// The declared shapes of `vec` and `mat` outputs in terms of the inputs, by output name
    /// (`dims` in the spec): a contract for students, checked against every case.
    pub dims: BTreeMap<String, Vec<Dim>>,
    /// Hand-written cases first, then generated ones.
    pub cases: Vec<TestCase>,
    pub generators: Vec<Generator>,
    pub solutions: Option<Solutions>,
}

/// The built modules that prove a problem right.
#[derive(Clone, Debug, PartialEq)]
pub struct Solutions {
    /// Accepted on every case; writes generated data and recomputes answer keys.
    pub reference: String,
    /// Other modules, each with the verdict it must earn.
    pub others: Vec<(String, Verdict)>,
}

/// Whether loading a problem needs the data files of its generated cases.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Generated {
    Required,
    /// For `grader gen`, which writes them.
    Skipped,
}

impl Problem {
    /// The folder of the problem's spec.
    pub fn dir(&self) -> &Path {
        self.file.parent().unwrap_or(Path::new("."))
    }

    pub fn max_score(&self) -> f64 {
        self.cases.iter().map(|c| c.points).fold(0.0, |a, b| a + b)
    }
}

const DEFAULT_LIMITS: LimitsFile = LimitsFile {
    fuel: Some(2_000_000_000),
    wall_ms: Some(10_000),
    memory_mib: Some(256),
    stack_kib: Some(512),
    stdout_kib: Some(1024),
    stderr_kib: Some(16),
    module_mib: Some(32),
    compile_ms: Some(10_000),
    compile_mib: Some(1024),
};

/// Largest wasm stack a spec may ask for; grading threads get this much native stack more.
pub const MAX_STACK_KIB: u64 = 16 * 1024;

fn read_toml<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, SpecError> {
    let text = std::fs::read_to_string(path).map_err(|e| SpecError {
        file: path.to_path_buf(),
        key: None,
        message: format!("cannot read: {e}"),
    })?;
    toml::from_str(&text).map_err(|e| SpecError {
        file: path.to_path_buf(),
        key: None,
        message: e.to_string().trim_end().replace('\n', "\n    "),
    })
}

impl Course {
    /// Loads `<root>/grader.toml`.
    pub fn load(root: &Path) -> Result<Self, InvalidSpec> {
        let file = root.join(COURSE_FILE);
        let spec: CourseFile = read_toml(&file).map_err(|e| InvalidSpec(vec![e]))?;
        let mut errors = Vec::new();
        let err = |key: &str, message: String| SpecError {
            file: file.clone(),
            key: Some(key.into()),
            message,
        };
        if spec.spec_version != SPEC_VERSION {
            errors.push(err(
                "spec_version",
                format!(
                    "is {}, this grader reads version {SPEC_VERSION}",
                    spec.spec_version
                ),
            ));
        }
        errors.extend(check_limits(&spec.limits, "limits", &file));
        let tolerance = Tolerance {
            rtol: spec.tolerance.rtol.unwrap_or(Tolerance::default().rtol),
            atol: spec.tolerance.atol.unwrap_or(Tolerance::default().atol),
            exact: false,
        };
        for (key, v) in [
            ("tolerance.rtol", tolerance.rtol),
            ("tolerance.atol", tolerance.atol),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                errors.push(err(key, format!("must be a finite number ≥ 0, is {v}")));
            }
        }
        match (spec.course.student_copy, &spec.course.staff_digest) {
            (true, None) => errors.push(err(
                "course.staff_digest",
                "a student copy names the digest of the staff course it was made from".into(),
            )),
            (false, Some(_)) => errors.push(err(
                "course.staff_digest",
                "only a student copy (`student_copy = true`) has a staff digest".into(),
            )),
            (true, Some(d)) if !is_digest(d) => errors.push(err(
                "course.staff_digest",
                format!("`{d}` is not `sha256:` and 64 hex digits, as `grader digest` prints it"),
            )),
            _ => {}
        }
        let problems_dir = root.join(&spec.course.problems);
        if !problems_dir.is_dir() {
            errors.push(err(
                "course.problems",
                format!("`{}` is not a directory", problems_dir.display()),
            ));
        }
        if !errors.is_empty() {
            return Err(InvalidSpec(errors));
        }
        Ok(Self {
            root: root.to_path_buf(),
            name: spec.course.name,
            problems_dir,
            solutions_dir: root.join(&spec.course.solutions),
            keys_released: spec.course.release_keys,
            staff_digest: spec
                .course
                .student_copy
                .then_some(spec.course.staff_digest)
                .flatten(),
            limits: spec.limits,
            tolerance,
        })
    }

    /// The ids of all problems, sorted as the course sheet orders them (q2.10 after q2.9).
    pub fn problem_ids(&self) -> Result<Vec<String>, InvalidSpec> {
        let entries = std::fs::read_dir(&self.problems_dir).map_err(|e| {
            InvalidSpec(vec![SpecError {
                file: self.problems_dir.clone(),
                key: None,
                message: format!("cannot list: {e}"),
            }])
        })?;
        let mut ids: Vec<String> = entries
            .filter_map(Result::ok)
            .filter(|e| e.path().join(PROBLEM_FILE).is_file() || e.path().join(ITEM_FILE).is_file())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        ids.sort_by_key(|id| sort_key(id));
        Ok(ids)
    }

    /// Loads and checks one code problem by id.
    pub fn problem(&self, id: &str) -> Result<Problem, InvalidSpec> {
        self.load_problem(id, Generated::Required)
    }

    pub fn load_problem(&self, id: &str, generated: Generated) -> Result<Problem, InvalidSpec> {
        let file = self.problems_dir.join(id).join(PROBLEM_FILE);
        if !file.is_file() {
            let known = self.code_ids().join(", ");
            return Err(InvalidSpec(vec![SpecError {
                file: self.problems_dir.clone(),
                key: None,
                message: format!(
                    "no code problem `{id}` (there is no {}); known: {known}",
                    file.display()
                ),
            }]));
        }
        let spec: ProblemFile = read_toml(&file).map_err(|e| InvalidSpec(vec![e]))?;
        self.check_problem(id, &file, spec, generated)
    }

    /// Checks a problem spec given as text, as if it were `file` (data files are read next
    /// to it). For fuzzing the parser and the checks together.
    pub fn problem_from_text(
        &self,
        id: &str,
        file: &Path,
        text: &str,
    ) -> Result<Problem, InvalidSpec> {
        let spec: ProblemFile = toml::from_str(text).map_err(|e| {
            InvalidSpec(vec![SpecError {
                file: file.to_path_buf(),
                key: None,
                message: e.to_string(),
            }])
        })?;
        self.check_problem(id, file, spec, Generated::Required)
    }

    /// The ids of the code problems (those with a problem.toml), sorted as the sheet is.
    pub fn code_ids(&self) -> Vec<String> {
        self.problem_ids()
            .unwrap_or_default()
            .into_iter()
            .filter(|id| self.problems_dir.join(id).join(PROBLEM_FILE).is_file())
            .collect()
    }

    /// Loads every code problem; returns those that load and every error of those that do not.
    pub fn problems(&self) -> Result<(Vec<Problem>, Vec<SpecError>), InvalidSpec> {
        let mut problems = Vec::new();
        let mut errors = Vec::new();
        for id in self.code_ids() {
            match self.problem(&id) {
                Ok(p) => problems.push(p),
                Err(InvalidSpec(e)) => errors.extend(e),
            }
        }
        Ok((problems, errors))
    }

    /// Loads every problem and item, or fails with every error in any of them.
    pub fn everything(&self) -> Result<(Vec<Problem>, Vec<Item>), InvalidSpec> {
        let (problems, mut errors) = self.problems()?;
        let (items, item_errors) = self.items()?;
        errors.extend(item_errors);
        if errors.is_empty() {
            Ok((problems, items))
        } else {
            Err(InvalidSpec(errors))
        }
    }

    /// Loads every pencil-and-paper, choice and manual item.
    pub fn items(&self) -> Result<(Vec<Item>, Vec<SpecError>), InvalidSpec> {
        let mut items = Vec::new();
        let mut errors = Vec::new();
        for id in self.problem_ids()? {
            let file = self.problems_dir.join(&id).join(ITEM_FILE);
            if file.is_file() {
                match items::load(&id, &file, self.is_student_copy()) {
                    Ok(item) => items.push(item),
                    Err(e) => errors.extend(e),
                }
            }
        }
        Ok((items, errors))
    }

    /// A SHA-256 over grader.toml and every file under the problems folder (paths and bytes,
    /// in sorted order): CI pins it so that a student's change to the problem set is caught.
    pub fn digest(&self) -> Result<(String, usize), InvalidSpec> {
        use sha2::{Digest, Sha256};
        let io = |path: &Path, e: std::io::Error| {
            InvalidSpec(vec![SpecError {
                file: path.to_path_buf(),
                key: None,
                message: format!("cannot read: {e}"),
            }])
        };
        let mut files = vec![self.root.join(COURSE_FILE)];
        let mut dirs = vec![self.problems_dir.clone()];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).map_err(|e| io(&dir, e))? {
                let path = entry.map_err(|e| io(&dir, e))?.path();
                if path.is_dir() {
                    dirs.push(path)
                } else {
                    files.push(path)
                }
            }
        }
        let name = |p: &Path| {
            p.strip_prefix(&self.root)
                .unwrap_or(p)
                .to_string_lossy()
                .replace('\\', "/")
        };
        files.sort_by_key(|p| name(p));
        let mut hasher = Sha256::new();
        for path in &files {
            let bytes = std::fs::read(path).map_err(|e| io(path, e))?;
            hasher.update(name(path).as_bytes());
            hasher.update([0]);
            hasher.update((bytes.len() as u64).to_le_bytes());
            hasher.update(&bytes);
        }
        Ok((hex(&hasher.finalize()), files.len()))
    }

    /// Whether this is a student copy (see [`Course::staff_digest`]).
    pub fn is_student_copy(&self) -> bool {
        self.staff_digest.is_some()
    }

    /// The path of a solution named in a `[solutions]` table: its built module
    /// (`<name>.wasm`), else its Python file (`<name>.py`); the module's path when neither is
    /// there.
    pub fn solution_path(&self, module: &str) -> PathBuf {
        let wasm = self.solutions_dir.join(format!("{module}.wasm"));
        let python = self.solutions_dir.join(format!("{module}.py"));
        if !wasm.is_file() && python.is_file() {
            python
        } else {
            wasm
        }
    }

    fn check_problem(
        &self,
        dir_id: &str,
        file: &Path,
        spec: ProblemFile,
        generated: Generated,
    ) -> Result<Problem, InvalidSpec> {
        let mut errors = Vec::new();
        let err = |key: String, message: String| SpecError {
            file: file.to_path_buf(),
            key: Some(key),
            message,
        };
        if spec.spec_version != SPEC_VERSION {
            errors.push(err(
                "spec_version".into(),
                format!(
                    "is {}, this grader reads version {SPEC_VERSION}",
                    spec.spec_version
                ),
            ));
        }
        if spec.kind != Kind::Code {
            errors.push(err(
                "kind".into(),
                format!("is `{}`, but problem.toml holds code problems (answer, choice and manual items go in {ITEM_FILE})", spec.kind.as_str()),
            ));
        }
        if spec.id != dir_id {
            errors.push(err(
                "id".into(),
                format!("is `{}` but the problem's directory is `{dir_id}`", spec.id),
            ));
        }
        errors.extend(check_limits(&spec.limits, "limits", file));
        if self.is_student_copy() {
            // What `grader export --students` leaves out; a copy that has it is no student copy.
            let hidden = spec
                .cases
                .iter()
                .position(|c| c.visibility == Visibility::Hidden);
            if let Some(i) = hidden {
                errors.push(err(
                    format!("cases[{i}].visibility"),
                    "a student copy holds sample cases only".into(),
                ));
            }
            if !spec.generate.is_empty() {
                errors.push(err(
                    "generate".into(),
                    "a student copy holds no generated cases".into(),
                ));
            }
            if spec.solutions.is_some() {
                errors.push(err(
                    "solutions".into(),
                    "a student copy names no solutions".into(),
                ));
            }
        }

        let inputs: Vec<InputField> = spec
            .inputs
            .iter()
            .map(|i| InputField {
                name: i.name.clone(),
                ty: i.ty.clone(),
                optional: i.optional,
            })
            .collect();
        errors.extend(duplicates(
            spec.inputs.iter().map(|i| i.name.as_str()),
            "inputs",
            file,
        ));
        errors.extend(duplicates(
            spec.outputs.iter().map(|o| o.name.as_str()),
            "outputs",
            file,
        ));
        if spec.outputs.is_empty() {
            errors.push(err(
                "outputs".into(),
                "a code problem declares at least one output".into(),
            ));
        }
        let outputs: Vec<OutputField> = spec
            .outputs
            .iter()
            .enumerate()
            .map(|(i, o)| {
                let tolerance = Tolerance {
                    rtol: o.rtol.unwrap_or(self.tolerance.rtol),
                    atol: o.atol.unwrap_or(self.tolerance.atol),
                    exact: o.exact.unwrap_or(false),
                };
                for (key, v) in [("rtol", tolerance.rtol), ("atol", tolerance.atol)] {
                    if !(v.is_finite() && v >= 0.0) {
                        errors.push(err(
                            format!("outputs[{i}].{key}"),
                            format!("must be a finite number ≥ 0, is {v}"),
                        ));
                    }
                }
                OutputField {
                    name: o.name.clone(),
                    ty: o.ty.clone(),
                    tolerance,
                    shape: o.shape.clone(),
                }
            })
            .collect();

        if spec.cases.is_empty() && spec.generate.is_empty() {
            errors.push(err(
                "cases".into(),
                "a code problem has at least one test case".into(),
            ));
        } else if !spec
            .cases
            .iter()
            .any(|c| c.visibility == Visibility::Sample)
        {
            errors.push(err(
                "cases".into(),
                "at least one case must be a `sample` the student can see".into(),
            ));
        }
        let dir = file.parent().unwrap_or(Path::new("."));
        let mut cases = Vec::new();
        for (i, case) in spec.cases.iter().enumerate() {
            match load_case(case, i, dir, file, &inputs, &outputs) {
                Ok(c) => cases.push(c),
                Err(e) => errors.extend(e),
            }
        }
        let mut generators = Vec::new();
        for (g, gen_file) in spec.generate.iter().enumerate() {
            let generator = match Generator::from_file(gen_file) {
                Ok(generator) => generator,
                Err(message) => {
                    errors.push(SpecError {
                        file: file.to_path_buf(),
                        key: Some(format!("generate[{g}]")),
                        message,
                    });
                    continue;
                }
            };
            if generated == Generated::Required {
                for i in 0..generator.count {
                    let case = CaseFile {
                        name: generator.case_name(i),
                        visibility: generator.visibility,
                        points: generator.points,
                        input: None,
                        expected: None,
                        data: Some(PathBuf::from(generator.data_file(i))),
                    };
                    let loaded = generated_case(
                        &generator, i, &case, dir, file, &inputs, &outputs, &spec.id,
                    );
                    match loaded {
                        Ok(c) => cases.push(c),
                        Err(e) => errors.extend(e),
                    }
                }
            }
            generators.push(generator);
        }
        let names: Vec<&str> = spec
            .cases
            .iter()
            .map(|c| c.name.as_str())
            .chain(generators.iter().map(|g| g.name.as_str()))
            .collect();
        errors.extend(duplicates(names.into_iter(), "cases", file));
        let dims = check_dims(&spec.outputs, &inputs, &cases, file, &mut errors);
        let solutions = spec.solutions.as_ref().map(|s| Solutions {
            reference: s.reference.clone(),
            others: s
                .others
                .iter()
                .filter_map(|(module, label)| match Verdict::parse(label) {
                    Some(v) => Some((module.clone(), v)),
                    None => {
                        errors.push(err(
                            format!("solutions.others.{module}"),
                            format!("`{label}` is not a verdict (accepted, wrong_answer, invalid_output, runtime_error, …)"),
                        ));
                        None
                    }
                })
                .collect(),
        });
        if !errors.is_empty() {
            return Err(InvalidSpec(errors));
        }
        Ok(Problem {
            id: spec.id,
            title: spec.title,
            kind: spec.kind,
            statement: spec.statement,
            file: file.to_path_buf(),
            limits: self.resolve_limits(&spec.limits),
            inputs,
            outputs,
            dims,
            cases,
            generators,
            solutions,
        })
    }

    fn resolve_limits(&self, problem: &LimitsFile) -> ProblemLimits {
        let pick = |f: fn(&LimitsFile) -> Option<u64>| {
            f(problem)
                .or(f(&self.limits))
                .or(f(&DEFAULT_LIMITS))
                .unwrap_or(0)
        };
        let kib = |n: u64| usize::try_from(n.saturating_mul(1024)).unwrap_or(usize::MAX);
        ProblemLimits {
            run: Limits {
                fuel: pick(|l| l.fuel),
                wall: Duration::from_millis(pick(|l| l.wall_ms)),
                memory_bytes: pick(|l| l.memory_mib).saturating_mul(1 << 20),
                stdout_bytes: kib(pick(|l| l.stdout_kib)),
                stderr_bytes: kib(pick(|l| l.stderr_kib)),
                compile: Duration::from_millis(pick(|l| l.compile_ms)),
                compile_memory: pick(|l| l.compile_mib).saturating_mul(1 << 20),
            },
            wasm_stack_bytes: kib(pick(|l| l.stack_kib)),
            module_bytes: kib(pick(|l| l.module_mib).saturating_mul(1024)),
        }
    }
}

/// The id in `ids` that the user most likely meant by `typed`: the same up to letter case and
/// `_`/`-` for `.` (`Q4_3` is `q4.3`, as cargo names a module), else one at edit distance 1
/// (`q4.33` → `q4.3`); ids are short, so anything further is a different id.
pub fn did_you_mean<'a>(typed: &str, ids: &'a [String]) -> Option<&'a str> {
    let normal = |s: &str| s.to_lowercase().replace(['_', '-'], ".");
    if let Some(id) = ids.iter().find(|id| normal(id) == normal(typed)) {
        return Some(id);
    }
    ids.iter()
        .map(|id| (strsim::levenshtein(&normal(typed), id), id))
        .filter(|(distance, _)| *distance <= 1)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, id)| id.as_str())
}

/// `sha256:` and 64 lowercase hex digits, as `grader digest` prints a digest.
fn is_digest(text: &str) -> bool {
    text.strip_prefix("sha256:").is_some_and(|hex| {
        hex.len() == 64
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

/// Orders `q2.10` after `q2.9`: numbers compare as numbers.
pub fn sort_key(id: &str) -> Vec<(String, u64)> {
    let mut key = Vec::new();
    let mut text = String::new();
    let mut digits = String::new();
    for ch in id.chars().chain(std::iter::once('\0')) {
        if ch.is_ascii_digit() {
            digits.push(ch);
        } else {
            if !digits.is_empty() {
                key.push((
                    std::mem::take(&mut text),
                    digits.parse().unwrap_or(u64::MAX),
                ));
                digits.clear();
            }
            text.push(ch);
        }
    }
    key.push((text, 0));
    key
}

/// Parses the outputs' `dims`, checks that each reads required inputs of the right kind, and
/// proves it on every case: the expected value has the shape the expressions give.
fn check_dims(
    outputs: &[model::OutputFile],
    inputs: &[InputField],
    cases: &[TestCase],
    file: &Path,
    errors: &mut Vec<SpecError>,
) -> BTreeMap<String, Vec<Dim>> {
    let mut all = BTreeMap::new();
    for (i, output) in outputs.iter().enumerate() {
        let Some(texts) = &output.dims else { continue };
        let key = format!("outputs[{i}].dims");
        let err = |message: String| SpecError {
            file: file.to_path_buf(),
            key: Some(key.clone()),
            message,
        };
        let rank = match output.ty {
            FieldType::Vec => 1,
            FieldType::Mat => 2,
            _ => {
                errors.push(err(format!(
                    "is for `vec` and `mat` outputs; `{}` is a {}",
                    output.name, output.ty
                )));
                continue;
            }
        };
        if texts.len() != rank {
            errors.push(err(format!(
                "a {} has {rank} dimension{}, `dims` gives {}",
                output.ty,
                if rank == 1 { "" } else { "s" },
                texts.len()
            )));
            continue;
        }
        let mut dims = Vec::new();
        let mut ok = true;
        for text in texts {
            match Dim::parse(text) {
                Ok(dim) => dims.push(dim),
                Err(e) => {
                    errors.push(err(format!("`{text}`: {e}")));
                    ok = false;
                }
            }
        }
        for (measure, name) in dims.iter().flat_map(Dim::inputs) {
            let Some(input) = inputs.iter().find(|i| i.name == name) else {
                errors.push(err(format!("`{name}` is not an input")));
                ok = false;
                continue;
            };
            let fits = match measure {
                Measure::Value => input.ty == FieldType::Int,
                Measure::Len => matches!(input.ty, FieldType::Vec | FieldType::List(_)),
                Measure::Rows => matches!(input.ty, FieldType::Mat | FieldType::List(_)),
                Measure::Cols => input.ty == FieldType::Mat,
            };
            let wanted = match measure {
                Measure::Value => "an int",
                Measure::Len => "a vec or a list",
                Measure::Rows => "a mat or a list",
                Measure::Cols => "a mat",
            };
            if !fits {
                errors.push(err(format!(
                    "`{name}` is a {}, the size needs {wanted}",
                    input.ty
                )));
                ok = false;
            } else if input.optional {
                errors.push(err(format!(
                    "`{name}` is optional: a size may read required inputs only"
                )));
                ok = false;
            }
        }
        if !ok {
            continue;
        }
        for case in cases {
            let Some(expected) = case.expected.get(&output.name).and_then(shape_of) else {
                continue;
            };
            let given: Option<Vec<usize>> = dims
                .iter()
                .map(|d| d.eval(&case.input).and_then(|n| usize::try_from(n).ok()))
                .collect();
            if given.as_ref() != Some(&expected) {
                let given = given.map_or("no size".to_string(), |g| format!("{g:?}"));
                errors.push(err(format!(
                    "case `{}`: gives {given}, but the expected `{}` has shape {expected:?}",
                    case.name, output.name
                )));
            }
        }
        all.insert(output.name.clone(), dims);
    }
    all
}

fn check_limits(limits: &LimitsFile, prefix: &str, file: &Path) -> Vec<SpecError> {
    let mut errors = Vec::new();
    for (key, value) in [
        ("fuel", limits.fuel),
        ("wall_ms", limits.wall_ms),
        ("memory_mib", limits.memory_mib),
        ("stack_kib", limits.stack_kib),
        ("stdout_kib", limits.stdout_kib),
        ("stderr_kib", limits.stderr_kib),
        ("module_mib", limits.module_mib),
        ("compile_ms", limits.compile_ms),
        ("compile_mib", limits.compile_mib),
    ] {
        if value == Some(0) {
            errors.push(SpecError {
                file: file.to_path_buf(),
                key: Some(format!("{prefix}.{key}")),
                message: "must be greater than 0".into(),
            });
        }
    }
    if let Some(stack) = limits.stack_kib.filter(|s| *s > MAX_STACK_KIB) {
        errors.push(SpecError {
            file: file.to_path_buf(),
            key: Some(format!("{prefix}.stack_kib")),
            message: format!("{stack} is more than the most the grader allows ({MAX_STACK_KIB})"),
        });
    }
    if let Some(mem) = limits.memory_mib.filter(|m| *m > 4096) {
        errors.push(SpecError {
            file: file.to_path_buf(),
            key: Some(format!("{prefix}.memory_mib")),
            message: format!("{mem} is more than a 32-bit WebAssembly memory can hold (4096)"),
        });
    }
    errors
}

fn duplicates<'a>(names: impl Iterator<Item = &'a str>, key: &str, file: &Path) -> Vec<SpecError> {
    let mut seen = BTreeSet::new();
    names
        .filter(|n| !seen.insert(*n))
        .map(|n| SpecError {
            file: file.to_path_buf(),
            key: Some(key.into()),
            message: format!("the name `{n}` is used twice"),
        })
        .collect()
}

/// Converts TOML to the contract's JSON: non-finite floats become `"inf"`, `"-inf"`, `"nan"`.
pub(crate) fn toml_to_json(v: &toml::Value) -> Result<Json, String> {
    Ok(match v {
        toml::Value::String(s) => Json::String(s.clone()),
        toml::Value::Integer(i) => Json::from(*i),
        toml::Value::Float(x) => crate::compare::float_to_json(*x),
        toml::Value::Boolean(b) => Json::Bool(*b),
        toml::Value::Datetime(d) => {
            return Err(format!("dates are not values a program reads ({d})"));
        }
        toml::Value::Array(items) => {
            Json::Array(items.iter().map(toml_to_json).collect::<Result<_, _>>()?)
        }
        toml::Value::Table(t) => Json::Object(
            t.iter()
                .map(|(k, v)| Ok((k.clone(), toml_to_json(v)?)))
                .collect::<Result<_, String>>()?,
        ),
    })
}

/// A generated case: its data file must exist and hold the inputs the generator draws now.
#[allow(clippy::too_many_arguments)]
fn generated_case(
    generator: &Generator,
    index: usize,
    case: &CaseFile,
    dir: &Path,
    file: &Path,
    inputs: &[InputField],
    outputs: &[OutputField],
    id: &str,
) -> Result<TestCase, Vec<SpecError>> {
    let path = dir.join(generator.data_file(index));
    let key = format!("generate.{}", generator.name);
    if !path.is_file() {
        return Err(vec![SpecError {
            file: file.to_path_buf(),
            key: Some(key),
            message: format!("missing {}: run `grader gen {id}`", path.display()),
        }]);
    }
    let loaded = load_case(case, index, dir, file, inputs, outputs)?;
    let drawn = generator.inputs(index).map_err(|message| {
        vec![SpecError {
            file: file.to_path_buf(),
            key: Some(key.clone()),
            message,
        }]
    })?;
    if drawn != loaded.input {
        return Err(vec![SpecError {
            file: path,
            key: Some("input".into()),
            message: format!(
                "does not match what `[[generate]] {}` draws now: run `grader gen {id}`",
                generator.name
            ),
        }]);
    }
    Ok(loaded)
}

fn load_case(
    case: &CaseFile,
    index: usize,
    dir: &Path,
    file: &Path,
    inputs: &[InputField],
    outputs: &[OutputField],
) -> Result<TestCase, Vec<SpecError>> {
    let key = format!("cases[{index}]");
    let at = |file: &Path, k: String, message: String| SpecError {
        file: file.to_path_buf(),
        key: Some(k),
        message,
    };
    // Where the values come from, for error messages: the spec or a data file.
    let (source, input_key, expected_key, input, expected) = match (
        &case.data,
        &case.input,
        &case.expected,
    ) {
        (Some(data), None, None) => {
            let path = dir.join(data);
            let text = std::fs::read_to_string(&path).map_err(|e| {
                vec![at(
                    file,
                    format!("{key}.data"),
                    format!("cannot read `{}`: {e}", path.display()),
                )]
            })?;
            let json: Json = serde_json::from_str(&text).map_err(|e| {
                vec![at(&path, String::new(), format!("not valid JSON: {e}")).without_key()]
            })?;
            let part = |name: &str| match json.get(name) {
                Some(Json::Object(m)) => Ok(m.clone()),
                _ => Err(vec![at(
                    &path,
                    name.into(),
                    "missing, or not an object".into(),
                )]),
            };
            (
                path.clone(),
                "input".to_string(),
                "expected".to_string(),
                part("input")?,
                part("expected")?,
            )
        }
        (None, Some(input), Some(expected)) => {
            let convert = |t: &toml::Table, k: String| {
                toml_to_json(&toml::Value::Table(t.clone()))
                    .map_err(|m| vec![at(file, k.clone(), m)])
                    .map(|j| match j {
                        Json::Object(m) => m,
                        _ => serde_json::Map::new(),
                    })
            };
            (
                file.to_path_buf(),
                format!("{key}.input"),
                format!("{key}.expected"),
                convert(input, format!("{key}.input"))?,
                convert(expected, format!("{key}.expected"))?,
            )
        }
        _ => {
            return Err(vec![at(
                file,
                key,
                "give either `data` (a JSON file with `input` and `expected`) or both `input` and `expected`".into(),
            )]);
        }
    };
    let mut errors = Vec::new();
    for field in inputs {
        match input.get(&field.name) {
            None if field.optional => {}
            None => errors.push(at(
                &source,
                format!("{input_key}.{}", field.name),
                format!("missing (a {})", field.ty),
            )),
            Some(v) => {
                if let Err(e) = crate::compare::parse(v, &field.ty, &field.name) {
                    errors.push(at(&source, format!("{input_key}.{}", e.path), e.message));
                }
            }
        }
    }
    for name in input
        .keys()
        .filter(|k| !inputs.iter().any(|i| &i.name == *k))
    {
        errors.push(at(
            &source,
            format!("{input_key}.{name}"),
            "is not a declared input".into(),
        ));
    }
    let mut typed = BTreeMap::new();
    for field in outputs {
        match expected.get(&field.name) {
            None => errors.push(at(
                &source,
                format!("{expected_key}.{}", field.name),
                format!("missing (a {})", field.ty),
            )),
            Some(v) => match crate::compare::parse(v, &field.ty, &field.name) {
                Err(e) => errors.push(at(&source, format!("{expected_key}.{}", e.path), e.message)),
                Ok(value) => {
                    if let (Some(want), Some(shape)) = (&field.shape, shape_of(&value))
                        && *want != shape
                    {
                        errors.push(at(
                            &source,
                            format!("{expected_key}.{}", field.name),
                            format!("has shape {shape:?}, the output declares {want:?}"),
                        ));
                    }
                    typed.insert(field.name.clone(), value);
                }
            },
        }
    }
    for name in expected
        .keys()
        .filter(|k| !outputs.iter().any(|o| &o.name == *k))
    {
        errors.push(at(
            &source,
            format!("{expected_key}.{name}"),
            "is not a declared output".into(),
        ));
    }
    if !(case.points.is_finite() && case.points >= 0.0) {
        errors.push(at(
            file,
            format!("{key}.points"),
            format!("must be a number ≥ 0, is {}", case.points),
        ));
    }
    if case.name.trim().is_empty() {
        errors.push(at(file, format!("{key}.name"), "must not be empty".into()));
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(TestCase {
        name: case.name.clone(),
        visibility: case.visibility,
        points: case.points,
        input,
        expected: typed,
    })
}

impl SpecError {
    fn without_key(mut self) -> Self {
        self.key = None;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use proptest::prelude::*;

    /// Edits that keep most of a spec intact, so that the checks behind the parser run too.
    fn mutate(text: &str, edits: &[(u8, usize, usize, u8)]) -> String {
        let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
        for &(kind, a, b, byte) in edits {
            if lines.is_empty() {
                break;
            }
            let (i, j) = (a % lines.len(), b % lines.len());
            match kind % 4 {
                0 => {
                    lines.remove(i);
                }
                1 => {
                    let copy = lines[j].clone();
                    lines.insert(i, copy);
                }
                2 => {
                    let mut bytes = lines[i].clone().into_bytes();
                    if !bytes.is_empty() {
                        let at = b % bytes.len();
                        bytes[at] = byte;
                    }
                    lines[i] = String::from_utf8_lossy(&bytes).into_owned();
                }
                _ => lines.swap(i, j),
            }
        }
        lines.join("\n")
    }

    fn course() -> Course {
        Course::load(Path::new(env!("CARGO_MANIFEST_DIR"))).expect("the committed course loads")
    }

    proptest! {
        /// Fuzz target: any edit of committed specs gives a problem or errors, never a panic.
        #[test]
        fn fuzz_problem_specs(id in prop::sample::select(vec!["q4.2", "q7.2", "q6.3", "q1.4", "q2.3"]),
                             edits in prop::collection::vec((any::<u8>(), any::<usize>(), any::<usize>(), any::<u8>()), 1..6)) {
            let course = course();
            let file = course.problems_dir.join(id).join(PROBLEM_FILE);
            let text = std::fs::read_to_string(&file).expect("committed spec");
            let _ = course.problem_from_text(id, &file, &mutate(&text, &edits));
        }

        /// Fuzz target: answer, choice and manual item specs.
        #[test]
        fn fuzz_item_specs(id in prop::sample::select(vec!["q3.1", "q5.1", "q3.2", "q12.2"]),
                           edits in prop::collection::vec((any::<u8>(), any::<usize>(), any::<usize>(), any::<u8>()), 1..6)) {
            let course = course();
            let text = std::fs::read_to_string(course.problems_dir.join(id).join(ITEM_FILE)).expect("committed item");
            let dir = tempfile::tempdir().expect("tempdir");
            let file = dir.path().join(ITEM_FILE);
            std::fs::write(&file, mutate(&text, &edits)).expect("write");
            let _ = items::load(id, &file, false);
        }
    }

    #[test]
    fn the_committed_specs_load_from_text_too() {
        let course = course();
        let file = course.problems_dir.join("q4.2").join(PROBLEM_FILE);
        let text = std::fs::read_to_string(&file).expect("spec");
        assert_eq!(
            course.problem_from_text("q4.2", &file, &text).ok(),
            course.problem("q4.2").ok()
        );
    }

    #[test]
    fn output_dims_are_proved_on_every_case() {
        let course = course();
        let file = course.problems_dir.join("q2.3").join(PROBLEM_FILE);
        let text = std::fs::read_to_string(&file).expect("spec");
        let good = r#"dims = ["rows(x) - rows(k) + 1", "cols(x) - cols(k) + 1"]"#;
        assert!(text.contains(good));
        let problem = course
            .problem_from_text("q2.3", &file, &text)
            .expect("loads");
        assert_eq!(problem.dims["y"][0].to_string(), "rows(x) - rows(k) + 1");
        for (bad, wanted) in [
            (
                r#"dims = ["rows(x)", "cols(x)"]"#,
                "but the expected `y` has shape",
            ),
            (
                r#"dims = ["rows(x) - rows(k) + 1"]"#,
                "a mat has 2 dimensions",
            ),
            (
                r#"dims = ["len(x)", "cols(k)"]"#,
                "`x` is a mat, the size needs a vec",
            ),
            (r#"dims = ["rows(w)", "cols(k)"]"#, "`w` is not an input"),
            (
                r#"dims = ["rows(x) ^ 2", "cols(k)"]"#,
                "write sizes with integers",
            ),
        ] {
            let Err(InvalidSpec(errors)) =
                course.problem_from_text("q2.3", &file, &text.replace(good, bad))
            else {
                panic!("{bad} is accepted")
            };
            assert!(
                errors.iter().any(|e| e.to_string().contains(wanted)
                    && e.key.as_deref() == Some("outputs[0].dims")),
                "{bad}: {errors:?}"
            );
        }
    }

    #[test]
    fn unknown_ids_get_a_suggestion() {
        let ids: Vec<String> = ["q4.3", "q4.4", "q12.1"].map(String::from).to_vec();
        for (typed, meant) in [
            ("Q4.3", Some("q4.3")),
            ("q4_3", Some("q4.3")),
            ("q4.33", Some("q4.3")),
            ("q12-1", Some("q12.1")),
            ("conv", None),
        ] {
            assert_eq!(did_you_mean(typed, &ids), meant, "{typed}");
        }
    }

    #[test]
    fn ids_sort_like_the_course_sheet() {
        let mut ids = vec!["q12.1", "q2.10", "q2.9", "q1.1", "q10.2"];
        ids.sort_by_key(|id| sort_key(id));
        assert_eq!(ids, ["q1.1", "q2.9", "q2.10", "q10.2", "q12.1"]);
    }

    #[test]
    fn toml_infinities_become_contract_strings() {
        let v: toml::Value = toml::from_str("m = [[0.0, -inf], [nan, inf]]").expect("toml");
        let j = toml_to_json(&v).expect("json");
        assert_eq!(j, serde_json::json!({"m": [[0.0, "-inf"], ["nan", "inf"]]}));
    }
}
