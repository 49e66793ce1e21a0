//! The serde model of `grader.toml`, `problem.toml` and `answer.toml`, exactly as written on
//! disk. It is read by the loader and written by `grader export --students` (export.rs), so
//! what an export writes is always something this model reads back.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::compare::FieldType;

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CourseFile {
    pub spec_version: u32,
    pub course: CourseSection,
    #[serde(default)]
    pub limits: LimitsFile,
    #[serde(default)]
    pub tolerance: ToleranceFile,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CourseSection {
    pub name: String,
    #[serde(default = "default_problems_dir")]
    pub problems: PathBuf,
    /// Where the built modules named in problems' `[solutions]` are.
    #[serde(
        default = "default_solutions_dir",
        skip_serializing_if = "is_default_solutions_dir"
    )]
    pub solutions: PathBuf,
    /// Whether students' reports print answer keys and manual rubrics (contract §7).
    #[serde(default, skip_serializing_if = "is_false")]
    pub release_keys: bool,
    /// A student copy, written by `grader export --students`: sample cases only, no keys,
    /// rubrics, twins, generators or solutions (the loader refuses them here), and answer and
    /// choice fields graded for form only (`ItemStatus::Unkeyed`).
    #[serde(default, skip_serializing_if = "is_false")]
    pub student_copy: bool,
    /// The `grader digest` (`sha256:…`) of the staff course a student copy was made from.
    pub staff_digest: Option<String>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

pub(super) fn default_solutions_dir() -> PathBuf {
    PathBuf::from("target/fixtures")
}

fn is_default_solutions_dir(dir: &std::path::Path) -> bool {
    dir == default_solutions_dir()
}

fn default_problems_dir() -> PathBuf {
    PathBuf::from("problems")
}

/// Limits per test case; every one optional (problem → course → built-in default).
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(super) struct LimitsFile {
    pub fuel: Option<u64>,
    pub wall_ms: Option<u64>,
    pub memory_mib: Option<u64>,
    pub stack_kib: Option<u64>,
    pub stdout_kib: Option<u64>,
    pub stderr_kib: Option<u64>,
    /// Largest module accepted, before compiling it.
    pub module_mib: Option<u64>,
    /// Longest and largest a compile may be (the worker is killed past either).
    pub compile_ms: Option<u64>,
    pub compile_mib: Option<u64>,
}

impl LimitsFile {
    fn is_empty(&self) -> bool {
        *self == LimitsFile::default()
    }
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ToleranceFile {
    pub rtol: Option<f64>,
    pub atol: Option<f64>,
}

/// How an item is graded (contract §1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A WebAssembly program, run on test cases (`problem.toml`).
    Code,
    /// Numbers or small matrices in `answers.toml`, compared with the key to the digits asked.
    Answer,
    /// A choice or matching in `answers.toml`, compared exactly.
    Choice,
    /// Free text in `answers.toml`, graded by a TA: reported as pending.
    Manual,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Code => "code",
            Kind::Answer => "answer",
            Kind::Choice => "choice",
            Kind::Manual => "manual",
        }
    }
}

/// Whether a student sees a case's data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    Sample,
    Hidden,
}

impl Visibility {
    pub fn as_str(self) -> &'static str {
        match self {
            Visibility::Sample => "sample",
            Visibility::Hidden => "hidden",
        }
    }
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ProblemFile {
    pub spec_version: u32,
    pub id: String,
    pub title: String,
    pub kind: Kind,
    pub statement: String,
    #[serde(default, skip_serializing_if = "LimitsFile::is_empty")]
    pub limits: LimitsFile,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inputs: Vec<InputFile>,
    #[serde(default)]
    pub outputs: Vec<OutputFile>,
    #[serde(default)]
    pub cases: Vec<CaseFile>,
    /// Seeded random cases whose data `grader gen` writes from the reference's outputs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub generate: Vec<GeneratorFile>,
    pub solutions: Option<SolutionsFile>,
}

/// The built solutions that prove a problem right (`grader verify`).
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SolutionsFile {
    /// The staff solution: accepted on every case, the source of generated data.
    pub reference: String,
    /// Other modules and the verdict each must earn (e.g. a classic mistake: "wrong_answer").
    #[serde(default)]
    pub others: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(super) struct GeneratorFile {
    /// Cases are named `<name>-1` … `<name>-<count>`, data in `data/<name>-<i>.json`.
    pub name: String,
    pub count: usize,
    pub seed: u64,
    #[serde(default = "hidden")]
    pub visibility: Visibility,
    #[serde(default = "one")]
    pub points: f64,
    /// Sizes drawn per case, `{ n = [1, 8] }`; a bound may name another size.
    #[serde(default)]
    pub dims: BTreeMap<String, [toml::Value; 2]>,
    pub inputs: BTreeMap<String, InputGenFile>,
}

fn hidden() -> Visibility {
    Visibility::Hidden
}

/// How one input is drawn: a float, vector or matrix in `range` (with `shape`), an int in
/// `int`, or a fixed `value`.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(super) struct InputGenFile {
    pub shape: Option<Vec<toml::Value>>,
    pub range: Option<[f64; 2]>,
    pub decimals: Option<u32>,
    pub int: Option<[toml::Value; 2]>,
    pub value: Option<toml::Value>,
}

/// `answer.toml`: the pencil-and-paper, choice or manual part of a question.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ItemFile {
    pub spec_version: u32,
    pub id: String,
    pub title: String,
    pub kind: Kind,
    pub statement: String,
    /// The code problem and case whose reference output recomputes the keys.
    pub twin: Option<TwinFile>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<AnswerFieldFile>,
    /// Points of a manual item.
    pub points: Option<f64>,
    /// For the TA: the reference solution and what earns the points.
    pub rubric: Option<String>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TwinFile {
    pub problem: String,
    pub case: String,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AnswerFieldFile {
    /// The key in the student's table; dots reach into nested tables (`BERT.masking`).
    pub name: String,
    #[serde(rename = "type")]
    pub ty: FieldType,
    /// Required, except in a student copy, which has none.
    pub key: Option<toml::Value>,
    #[serde(default = "one")]
    pub points: f64,
    /// Right to this many decimal places: within one unit of the last digit.
    pub decimals: Option<u32>,
    /// Right to this many significant figures: within one unit of the last one.
    pub sig_figs: Option<u32>,
    /// For choices: the allowed answers.
    pub options: Option<Vec<String>>,
    /// Where the twin's output holds this value, e.g. `hs[2][0]`.
    pub twin: Option<String>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(super) struct InputFile {
    pub name: String,
    #[serde(rename = "type")]
    pub ty: FieldType,
    #[serde(default, skip_serializing_if = "is_false")]
    pub optional: bool,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(super) struct OutputFile {
    pub name: String,
    #[serde(rename = "type")]
    pub ty: FieldType,
    pub rtol: Option<f64>,
    pub atol: Option<f64>,
    pub exact: Option<bool>,
    pub shape: Option<Vec<usize>>,
    /// The shape in terms of the inputs, one expression per dimension (`spec::dims`).
    pub dims: Option<Vec<String>>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CaseFile {
    pub name: String,
    pub visibility: Visibility,
    #[serde(default = "one")]
    pub points: f64,
    pub input: Option<toml::Table>,
    pub expected: Option<toml::Table>,
    /// A JSON file, relative to the spec, holding `{"input": {…}, "expected": {…}}`.
    pub data: Option<PathBuf>,
}

fn one() -> f64 {
    1.0
}
