//! The serde model of `grader.toml` and `problem.toml`, exactly as written on disk.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::compare::FieldType;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CourseFile {
    pub spec_version: u32,
    pub course: CourseSection,
    #[serde(default)]
    pub limits: LimitsFile,
    #[serde(default)]
    pub tolerance: ToleranceFile,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CourseSection {
    pub name: String,
    #[serde(default = "default_problems_dir")]
    pub problems: PathBuf,
}

fn default_problems_dir() -> PathBuf {
    PathBuf::from("problems")
}

/// Limits per test case; every one optional (problem → course → built-in default).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct LimitsFile {
    pub fuel: Option<u64>,
    pub wall_ms: Option<u64>,
    pub memory_mib: Option<u64>,
    pub stack_kib: Option<u64>,
    pub stdout_kib: Option<u64>,
    pub stderr_kib: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ToleranceFile {
    pub rtol: Option<f64>,
    pub atol: Option<f64>,
}

/// How a problem is graded. Only `code` exists so far; pencil-and-paper kinds come next.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Code,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Code => "code",
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ProblemFile {
    pub spec_version: u32,
    pub id: String,
    pub title: String,
    pub kind: Kind,
    pub statement: String,
    #[serde(default)]
    pub limits: LimitsFile,
    #[serde(default)]
    pub inputs: Vec<InputFile>,
    #[serde(default)]
    pub outputs: Vec<OutputFile>,
    #[serde(default)]
    pub cases: Vec<CaseFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct InputFile {
    pub name: String,
    #[serde(rename = "type")]
    pub ty: FieldType,
    #[serde(default)]
    pub optional: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct OutputFile {
    pub name: String,
    #[serde(rename = "type")]
    pub ty: FieldType,
    pub rtol: Option<f64>,
    pub atol: Option<f64>,
    pub exact: Option<bool>,
    pub shape: Option<Vec<usize>>,
}

#[derive(Debug, Deserialize)]
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
