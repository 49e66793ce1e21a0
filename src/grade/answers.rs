//! Grades a student's `answers.toml` (already parsed) against the answer, choice and manual
//! items: numbers to the precision asked, choices exactly, free text left pending for a TA.

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use crate::compare::{FieldType, Value, parse, show_float};
use crate::spec::{AnswerField, Item, Kind, Precision};

/// Where an item stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemStatus {
    Correct,
    Partial,
    Incorrect,
    /// No answer was given.
    Missing,
    /// A manual item with an answer, waiting for a TA.
    Pending,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldResult {
    pub name: String,
    pub correct: bool,
    pub points: f64,
    pub max_points: f64,
    /// Right or wrong and why, in words that never quote the key.
    pub message: String,
    /// The key and the precision asked, e.g. `0.5498 (to 4 decimal places)`: staff views
    /// always, students' only once the course releases keys (contract §7).
    pub key: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemResult {
    pub id: String,
    pub title: String,
    pub kind: Kind,
    pub status: ItemStatus,
    pub score: f64,
    pub max_score: f64,
    pub fields: Vec<FieldResult>,
    /// A manual item's answer, for the TA.
    pub answer: Option<String>,
    /// A manual item's rubric and reference solution, for the TA (staff views; students'
    /// once keys are released).
    pub rubric: Option<String>,
}

/// Grades every item against `answers` (the student's table of tables, if any).
/// Returns the results and warnings about tables that name no item.
pub fn grade_answers(
    items: &[Item],
    answers: Option<&toml::Table>,
    code_ids: &[String],
) -> (Vec<ItemResult>, Vec<String>) {
    let mut warnings = Vec::new();
    if let Some(answers) = answers {
        for (id, value) in answers {
            if !items.iter().any(|i| &i.id == id) {
                warnings.push(if code_ids.contains(id) {
                    format!("answers.toml: [\"{id}\"] is a code problem, graded from {id}.wasm; the table is ignored")
                } else {
                    format!("answers.toml: [\"{id}\"] is not a question of this course; ignored")
                });
            } else if !value.is_table() {
                warnings.push(format!(
                    "answers.toml: `{id}` must be a table ([\"{id}\"]), not a single value"
                ));
            }
        }
    }
    let results = items
        .iter()
        .map(|item| {
            grade_item(
                item,
                answers
                    .and_then(|a| a.get(&item.id))
                    .and_then(toml::Value::as_table),
            )
        })
        .collect();
    (results, warnings)
}

fn grade_item(item: &Item, table: Option<&toml::Table>) -> ItemResult {
    let base = ItemResult {
        id: item.id.clone(),
        title: item.title.clone(),
        kind: item.kind,
        status: ItemStatus::Missing,
        score: 0.0,
        max_score: item.points,
        fields: Vec::new(),
        answer: None,
        rubric: None,
    };
    let Some(table) = table else {
        return base;
    };
    if item.kind == Kind::Manual {
        let text = manual_text(table);
        return ItemResult {
            status: if text.trim().is_empty() {
                ItemStatus::Missing
            } else {
                ItemStatus::Pending
            },
            answer: (!text.trim().is_empty()).then_some(text),
            rubric: item.rubric.clone(),
            ..base
        };
    }
    let fields: Vec<FieldResult> = item
        .fields
        .iter()
        .map(|f| grade_field(f, lookup(table, &f.name)))
        .collect();
    let score: f64 = fields.iter().map(|f| f.points).fold(0.0, |a, b| a + b);
    let status = if fields.iter().all(|f| f.correct) {
        ItemStatus::Correct
    } else if fields.iter().any(|f| f.correct) {
        ItemStatus::Partial
    } else {
        ItemStatus::Incorrect
    };
    ItemResult {
        status,
        score,
        fields,
        ..base
    }
}

/// `BERT.masking` reaches into `BERT = { masking = … }`.
fn lookup<'a>(table: &'a toml::Table, name: &str) -> Option<&'a toml::Value> {
    let mut parts = name.split('.');
    let mut value = table.get(parts.next()?)?;
    for part in parts {
        value = value.as_table()?.get(part)?;
    }
    Some(value)
}

/// The answer's text for the TA: every non-blank value, with its key.
/// One value is the answer as written; several are each given with their key.
fn manual_text(table: &toml::Table) -> String {
    let given: Vec<(&String, &toml::Value)> = table
        .iter()
        .filter(|(_, v)| v.as_str().is_none_or(|s| !s.trim().is_empty()))
        .collect();
    if let [(_, toml::Value::String(text))] = given[..] {
        return text.clone();
    }
    given
        .into_iter()
        .map(|(k, v)| match v {
            toml::Value::String(s) => format!("{k}: {s}"),
            other => format!("{k}: {other}"),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Why `value` is not the field's key, or `None` when it is (within the field's precision).
pub fn key_error(field: &AnswerField, value: &Value) -> Option<String> {
    first_error(&field.key, value, field.precision)
}

fn grade_field(field: &AnswerField, given: Option<&toml::Value>) -> FieldResult {
    let result = |correct: bool, message: String| FieldResult {
        name: field.name.clone(),
        correct,
        points: if correct { field.points } else { 0.0 },
        max_points: field.points,
        message,
        key: Some(describe_key(field)),
    };
    let Some(given) = given else {
        return result(false, format!("missing `{}`", field.name));
    };
    let json = match crate::spec::toml_to_json(given) {
        Ok(j) => lenient(j, &field.ty),
        Err(e) => return result(false, format!("`{}`: {e}", field.name)),
    };
    let value = match parse(&json, &field.ty, &field.name) {
        Ok(v) => v,
        Err(e) => return result(false, format!("{e}")),
    };
    match first_error(&field.key, &value, field.precision) {
        None => result(true, "correct".into()),
        Some(why) => result(false, why),
    }
}

/// Paper answers are forgiving about form: `73856.0` for an int, `"Causal"` for `causal`.
fn lenient(json: Json, ty: &FieldType) -> Json {
    match (ty, &json) {
        (FieldType::Int, Json::Number(n)) if n.is_f64() => match n.as_f64() {
            Some(x) if x.fract() == 0.0 && x.abs() < 9e15 => Json::from(x as i64),
            _ => json,
        },
        (FieldType::Str, Json::String(s)) => Json::String(s.trim().to_lowercase()),
        _ => json,
    }
}

/// The key as a student would write it, and the precision asked.
fn describe_key(field: &AnswerField) -> String {
    match (&field.key, field.precision) {
        (Value::Str(k), _) => format!("`{k}`"),
        (k, Precision::Exact) => k.to_json().to_string(),
        (k, p) => format!("{} ({})", k.to_json(), p.describe()),
    }
}

fn close(key: f64, got: f64, precision: Precision) -> bool {
    if key.is_nan() || got.is_nan() {
        return key.is_nan() && got.is_nan();
    }
    if key.is_infinite() || got.is_infinite() {
        return key == got;
    }
    (got - key).abs() <= precision.allowed_error(key)
}

/// Why `got` is not `key`, in words that quote what the student gave but never the key: a
/// report may reach a student before keys are released.
fn first_error(key: &Value, got: &Value, precision: Precision) -> Option<String> {
    let wrong = |g: f64| {
        format!(
            "{} is not right {}",
            show_float(g),
            match precision {
                Precision::Exact => "(exact)".to_string(),
                p => p.describe(),
            }
        )
    };
    match (key, got) {
        (Value::Float(k), Value::Float(g)) => (!close(*k, *g, precision)).then(|| wrong(*g)),
        (Value::Vec(k), Value::Vec(g)) if k.len() == g.len() => {
            k.iter().zip(g).enumerate().find_map(|(i, (k, g))| {
                (!close(*k, *g, precision)).then(|| format!("[{i}]: {}", wrong(*g)))
            })
        }
        (Value::Mat(k), Value::Mat(g)) if k.shape() == g.shape() => {
            k.indexed_iter().find_map(|((i, j), k)| {
                let g = g[(i, j)];
                (!close(*k, g, precision)).then(|| format!("[{i}][{j}]: {}", wrong(g)))
            })
        }
        (Value::Vec(k), Value::Vec(g)) => {
            Some(format!("expected {} values, got {}", k.len(), g.len()))
        }
        (Value::Mat(k), Value::Mat(g)) => Some(format!(
            "expected a {}×{} matrix, got {}×{}",
            k.nrows(),
            k.ncols(),
            g.nrows(),
            g.ncols()
        )),
        (Value::Str(k), Value::Str(g)) => {
            (k != g).then(|| format!("`{g}` is not the right choice"))
        }
        (k, g) => (k != g).then(|| format!("{} is not right", g.to_json())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::FieldType;

    fn field(ty: &str, key: Json, precision: Precision) -> AnswerField {
        let ty: FieldType = ty.parse().expect("type");
        AnswerField {
            name: "x".into(),
            key: parse(&key, &ty, "x").expect("key"),
            ty,
            points: 1.0,
            precision,
            options: None,
            twin: None,
        }
    }

    fn given(text: &str) -> toml::Value {
        toml::from_str::<toml::Table>(&format!("x = {text}")).expect("toml")["x"].clone()
    }

    #[test]
    fn numbers_to_the_requested_digits() {
        let h3 = field("float", serde_json::json!(0.7278), Precision::Decimals(4));
        for (text, ok) in [
            ("0.7278", true),
            ("0.7277", true),
            ("0.72", false),
            ("\"0.7278\"", false),
            ("7278e-4", true),
        ] {
            assert_eq!(grade_field(&h3, Some(&given(text))).correct, ok, "{text}");
        }
        let bytes = field("int", serde_json::json!(2147483648u64), Precision::Exact);
        assert!(grade_field(&bytes, Some(&given("2147483648"))).correct);
        assert!(grade_field(&bytes, Some(&given("2147483648.0"))).correct);
        assert!(!grade_field(&bytes, Some(&given("-2147483648"))).correct);
        let z2 = field(
            "vec",
            serde_json::json!([0.196, 0.804]),
            Precision::Decimals(3),
        );
        assert!(grade_field(&z2, Some(&given("[0.196, 0.804]"))).correct);
        let short = grade_field(&z2, Some(&given("[0.196]")));
        assert!(
            !short.correct && short.message.contains("expected 2 values"),
            "{}",
            short.message
        );
    }

    #[test]
    fn choices_ignore_case_and_space_but_not_the_word() {
        let c = field("str", serde_json::json!("causal"), Precision::Exact);
        assert!(grade_field(&c, Some(&given("\" Causal \""))).correct);
        assert!(!grade_field(&c, Some(&given("\"bidirectional\""))).correct);
        let missing = grade_field(&c, None);
        assert!(!missing.correct && missing.message.contains("missing"));
    }

    proptest::proptest! {
        /// Fuzz target: any edit of a full answers.toml that still parses grades without panicking,
        /// and never above the maximum.
        #[test]
        fn fuzz_answer_files(edits in proptest::collection::vec((0usize..4, proptest::prelude::any::<usize>(), proptest::prelude::any::<u8>()), 1..8)) {
            let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
            let course = crate::spec::Course::load(root).expect("course");
            let (items, errors) = course.items().expect("items");
            proptest::prop_assert!(errors.is_empty());
            let mut text = std::fs::read(root.join("fixtures/cohort/ada/answers.toml")).expect("ada");
            for (kind, at, byte) in edits {
                if text.is_empty() {
                    break;
                }
                let at = at % text.len();
                match kind {
                    0 => text[at] = byte,
                    1 => { text.remove(at); }
                    2 => text.insert(at, byte),
                    _ => text.truncate(at),
                }
            }
            if let Ok(table) = toml::from_str::<toml::Table>(&String::from_utf8_lossy(&text)) {
                let (results, _) = grade_answers(&items, Some(&table), &[]);
                for r in results {
                    proptest::prop_assert!(r.score >= 0.0 && r.score <= r.max_score, "{r:?}");
                }
            }
        }
    }

    #[test]
    fn nested_names_reach_into_tables() {
        let t: toml::Table =
            toml::from_str("BERT = { masking = \"bidirectional\" }").expect("toml");
        assert_eq!(
            lookup(&t, "BERT.masking").and_then(toml::Value::as_str),
            Some("bidirectional")
        );
        assert!(lookup(&t, "GPT.masking").is_none());
    }
}
