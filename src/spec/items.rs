//! `answer.toml`: a question's pencil-and-paper answer, choice, or manual (TA-graded) part.

use std::path::{Path, PathBuf};

use crate::compare::{FieldType, Value};

use super::model::{ItemFile, Kind};
use super::{SPEC_VERSION, SpecError, read_toml, toml_to_json};

/// How close a student's number must be to the key.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Precision {
    /// Equal (ints, strings), or within 1e-9 for floats.
    Exact,
    /// Right to this many decimal places: within one unit of the last.
    Decimals(u32),
    /// Right to this many significant figures: within one unit of the last.
    SigFigs(u32),
}

impl Precision {
    /// The largest accepted |answer − key|.
    pub fn allowed_error(&self, key: f64) -> f64 {
        // A hair over one unit: 0.7277 vs 0.7278 is one unit, whatever the binary rounding.
        const SLACK: f64 = 1.0 + 1e-9;
        match *self {
            Precision::Exact => 1e-9,
            Precision::Decimals(n) => 10f64.powi(-(n as i32)) * SLACK,
            Precision::SigFigs(n) => {
                let magnitude = if key == 0.0 {
                    0
                } else {
                    key.abs().log10().floor() as i32
                };
                10f64.powi(magnitude - n as i32 + 1) * SLACK
            }
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Precision::Exact => "exact".into(),
            Precision::Decimals(n) => format!("to {n} decimal places"),
            Precision::SigFigs(n) => format!("to {n} significant figures"),
        }
    }
}

/// One quantity a question asks for.
#[derive(Clone, Debug, PartialEq)]
pub struct AnswerField {
    /// The key in the student's table; dots reach into nested tables.
    pub name: String,
    pub ty: FieldType,
    /// `None` in a student copy (`[course] student_copy`): the answer is checked for form
    /// and left to staff.
    pub key: Option<Value>,
    pub points: f64,
    pub precision: Precision,
    pub options: Option<Vec<String>>,
    /// Where the twin code problem's output holds this value.
    pub twin: Option<String>,
}

/// The code problem and case whose reference output must agree with the keys.
#[derive(Clone, Debug, PartialEq)]
pub struct Twin {
    pub problem: String,
    pub case: String,
}

/// A loaded, checked answer, choice or manual item.
#[derive(Clone, Debug, PartialEq)]
pub struct Item {
    pub id: String,
    pub title: String,
    pub kind: Kind,
    pub statement: String,
    pub file: PathBuf,
    pub twin: Option<Twin>,
    pub fields: Vec<AnswerField>,
    pub points: f64,
    pub rubric: Option<String>,
}

/// Loads `answer.toml`. In a student copy (`student_copy`) fields carry no key, manual items
/// no rubric, and nothing names a twin; elsewhere keys and rubrics are required.
pub(super) fn load(dir_id: &str, file: &Path, student_copy: bool) -> Result<Item, Vec<SpecError>> {
    let spec: ItemFile = read_toml(file).map_err(|e| vec![e])?;
    let mut errors = Vec::new();
    let mut err = |key: String, message: String| {
        errors.push(SpecError {
            file: file.to_path_buf(),
            key: Some(key),
            message,
        })
    };
    if spec.spec_version != SPEC_VERSION {
        err(
            "spec_version".into(),
            format!(
                "is {}, this grader reads version {SPEC_VERSION}",
                spec.spec_version
            ),
        );
    }
    if spec.id != dir_id {
        err(
            "id".into(),
            format!("is `{}` but the item's directory is `{dir_id}`", spec.id),
        );
    }
    match spec.kind {
        Kind::Code => err(
            "kind".into(),
            "answer.toml holds answer, choice or manual items; code problems go in problem.toml"
                .into(),
        ),
        Kind::Manual => {
            if !spec.fields.is_empty() {
                err(
                    "fields".into(),
                    "a manual item has no keyed fields: its answer is free text".into(),
                );
            }
            if student_copy {
                if spec.rubric.is_some() {
                    err(
                        "rubric".into(),
                        "a student copy carries no rubrics (contract §7)".into(),
                    );
                }
            } else if spec.rubric.as_deref().is_none_or(|r| r.trim().is_empty()) {
                err(
                    "rubric".into(),
                    "a manual item needs a rubric (the reference solution) for the TA".into(),
                );
            }
            if !spec.points.is_some_and(|p| p.is_finite() && p > 0.0) {
                err("points".into(), "a manual item needs points > 0".into());
            }
        }
        Kind::Answer | Kind::Choice => {
            if spec.fields.is_empty() {
                err(
                    "fields".into(),
                    format!("an {} item asks for at least one field", spec.kind.as_str()),
                );
            }
            if spec.points.is_some() {
                err(
                    "points".into(),
                    "the points of an answer or choice item are those of its fields".into(),
                );
            }
        }
    }
    if student_copy && spec.twin.is_some() {
        err(
            "twin".into(),
            "a student copy names no twin case (it would name a hidden case)".into(),
        );
    }
    let mut fields = Vec::new();
    for (i, f) in spec.fields.iter().enumerate() {
        let key = format!("fields[{i}]");
        let value = match (&f.key, student_copy) {
            (None, true) => None,
            (Some(_), true) => {
                err(
                    format!("{key}.key"),
                    "a student copy carries no keys (contract §7)".into(),
                );
                continue;
            }
            (None, false) => {
                err(format!("{key}.key"), "missing: the answer key".into());
                continue;
            }
            (Some(k), false) => {
                let value = toml_to_json(k)
                    .map_err(|e| e.to_string())
                    .and_then(|j| crate::compare::parse(&j, &f.ty, &f.name).map_err(|e| e.message));
                match value {
                    Ok(v) => Some(v),
                    Err(m) => {
                        err(format!("{key}.key"), m);
                        continue;
                    }
                }
            }
        };
        let precision = match (f.decimals, f.sig_figs) {
            (None, None) => Precision::Exact,
            (Some(d), None) => Precision::Decimals(d),
            (None, Some(s)) if s > 0 => Precision::SigFigs(s),
            (None, Some(_)) => {
                err(format!("{key}.sig_figs"), "must be at least 1".into());
                Precision::Exact
            }
            (Some(_), Some(_)) => {
                err(
                    key.clone(),
                    "give `decimals` or `sig_figs`, not both".into(),
                );
                Precision::Exact
            }
        };
        if spec.kind == Kind::Choice {
            match (&f.options, &value) {
                (Some(options), Some(Value::Str(k))) if options.contains(k) => {}
                (Some(_), None) => {}
                (Some(_), _) => err(format!("{key}.key"), "must be one of the `options`".into()),
                (None, _) => err(
                    format!("{key}.options"),
                    "a choice lists its options".into(),
                ),
            }
        } else if f.options.is_some() {
            err(
                format!("{key}.options"),
                "only choice items have options".into(),
            );
        }
        if !(f.points.is_finite() && f.points >= 0.0) {
            err(
                format!("{key}.points"),
                format!("must be a number ≥ 0, is {}", f.points),
            );
        }
        if f.twin.is_some() && student_copy {
            err(
                format!("{key}.twin"),
                "a student copy names no twin case (it would name a hidden case)".into(),
            );
        } else if f.twin.is_some() && spec.twin.is_none() {
            err(
                format!("{key}.twin"),
                "names a path in the twin's output, but the item has no `twin`".into(),
            );
        }
        fields.push(AnswerField {
            name: f.name.clone(),
            ty: f.ty.clone(),
            key: value,
            points: f.points,
            precision,
            options: f.options.clone(),
            twin: f.twin.clone(),
        });
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let points = match spec.kind {
        Kind::Manual => spec.points.unwrap_or(0.0),
        _ => fields.iter().map(|f| f.points).fold(0.0, |a, b| a + b),
    };
    Ok(Item {
        id: spec.id,
        title: spec.title,
        kind: spec.kind,
        statement: spec.statement,
        file: file.to_path_buf(),
        twin: spec.twin.map(|t| Twin {
            problem: t.problem,
            case: t.case,
        }),
        fields,
        points,
        rubric: spec.rubric,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_aware_tolerances() {
        let four_dp = Precision::Decimals(4);
        for (answer, ok) in [
            (0.7278, true),
            (0.7277, true),
            (0.7279, true),
            (0.7276, false),
            (0.72, false),
        ] {
            assert_eq!(
                (answer - 0.7278f64).abs() <= four_dp.allowed_error(0.7278),
                ok,
                "{answer}"
            );
        }
        let two_sig = Precision::SigFigs(2);
        let key: f64 = 4.2e-7;
        for (answer, ok) in [
            (4.2e-7, true),
            (4.3e-7, true),
            (4.2277e-7, true),
            (1.5e-7, false),
            (4.4e-7, false),
        ] {
            assert_eq!(
                (answer - key).abs() <= two_sig.allowed_error(key),
                ok,
                "{answer}"
            );
        }
    }
}
