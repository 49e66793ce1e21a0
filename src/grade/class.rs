//! A whole class's results: the model that the gradebook loads and the cohort exports
//! (CSV, Gradescope, HTML, the summary) render.

use serde::Serialize;

use super::StudentReport;
use crate::spec::Kind;

/// A part of the course, in course order: a code problem or an answer item.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Part {
    pub id: String,
    pub title: String,
    pub kind: Kind,
    pub max_score: f64,
}

/// One student of the class: graded (staff view, TA marks applied), or why not.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Entry {
    pub student: String,
    pub report: Option<StudentReport>,
    /// Why the folder could not be graded (then `report` is `None`).
    pub error: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Class {
    pub course: String,
    /// `sha256:…` of the problem set the class was graded against.
    pub course_digest: String,
    pub grader_version: String,
    pub parts: Vec<Part>,
    /// Sorted by student name.
    pub students: Vec<Entry>,
}

impl Class {
    /// The course's total points.
    pub fn max_score(&self) -> f64 {
        self.parts.iter().map(|p| p.max_score).sum()
    }
}
