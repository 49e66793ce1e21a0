//! Grades a student's `answers.toml` (already parsed) against the answer, choice and manual
//! items: numbers to the precision asked, choices exactly, free text left pending for a TA.

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use super::answer_file::{AnswerFile, Broken, is_integer, quoted, shown};
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
    /// A manual item a TA has marked (`grader import`): `score` is the TA's.
    Marked,
    /// An answer or choice item graded on a student copy (`grader export --students`), which
    /// has no keys: each field's form is checked (its message is [`WELL_FORMED`] or what is
    /// wrong with it), no points are given, and staff grade it against the keys.
    Unkeyed,
}

/// The message of a field of an [`ItemStatus::Unkeyed`] item that is read as the type and
/// options asked for.
pub const WELL_FORMED: &str = "well-formed; no key in the student copy: graded by staff";

impl ItemResult {
    /// The fields of an unkeyed item that are not well-formed (missing, of the wrong type, not
    /// an option); none for other items.
    pub fn form_errors(&self) -> impl Iterator<Item = &FieldResult> {
        self.fields
            .iter()
            .filter(|f| self.status == ItemStatus::Unkeyed && f.message != WELL_FORMED)
    }

    /// Waiting for staff, with nothing the student can still fix: a manual answer, or, on a
    /// student copy, an answer of the right form.
    pub fn awaits_staff(&self) -> bool {
        match self.status {
            ItemStatus::Pending => true,
            ItemStatus::Unkeyed => self.form_errors().next().is_none(),
            _ => false,
        }
    }
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
    /// The TA's comment on a marked manual item.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// Grades every item against `answers` (what could be read of the student's file, if any).
/// Returns the results and warnings: the file's own (broken tables, stray lines), then those
/// about tables that name no item and fields that no item asks for.
pub fn grade_answers(
    items: &[Item],
    answers: Option<&AnswerFile>,
    code_ids: &[String],
) -> (Vec<ItemResult>, Vec<String>) {
    let mut warnings = Vec::new();
    if let Some(answers) = answers {
        warnings.extend(answers.warnings.iter().cloned());
        for (id, value) in &answers.tables {
            let shown_id = shown(id, 40);
            match items.iter().find(|i| &i.id == id) {
                None if code_ids.contains(id) => warnings.push(format!(
                    "answers.toml: [\"{shown_id}\"] is a code problem, graded from {shown_id}.wasm; the table is ignored"
                )),
                None => warnings.push(format!(
                    "answers.toml: [\"{shown_id}\"] is not a question of this course; ignored"
                )),
                Some(_) if !value.is_table() => warnings.push(format!(
                    "answers.toml: `{shown_id}` must be a table ([\"{shown_id}\"]), not a single value"
                )),
                Some(item) if item.kind == Kind::Manual => {}
                Some(item) => {
                    let mut unknown = Vec::new();
                    if let Some(table) = value.as_table() {
                        unknown_fields(table, "", &item.fields, &mut unknown);
                    }
                    let names: Vec<&str> = item.fields.iter().map(|f| f.name.as_str()).collect();
                    for name in unknown {
                        let hint = close_name(&name, &names)
                            .map(|n| format!("; did you mean `{n}`?"))
                            .unwrap_or_default();
                        warnings.push(format!(
                            "answers.toml: [\"{shown_id}\"] has no field `{}`{hint} (it asks for: {}); ignored",
                            shown(&name, 40),
                            names.join(", ")
                        ));
                    }
                }
            }
        }
    }
    let results = items
        .iter()
        .map(|item| match answers.and_then(|a| a.broken.get(&item.id)) {
            Some(broken) => grade_broken(item, broken),
            None => grade_item(
                item,
                answers
                    .and_then(|a| a.tables.get(&item.id))
                    .and_then(toml::Value::as_table),
            ),
        })
        .collect();
    (results, warnings)
}

/// The keys of `table` (dotted from `prefix`) that are no field of `fields` nor lead to one.
fn unknown_fields(
    table: &toml::Table,
    prefix: &str,
    fields: &[AnswerField],
    out: &mut Vec<String>,
) {
    for (key, value) in table {
        let path = format!("{prefix}{key}");
        if fields.iter().any(|f| f.name == path) {
            continue;
        }
        let inner = format!("{path}.");
        if fields.iter().any(|f| f.name.starts_with(&inner)) {
            // `BERT = "causal"` instead of a table: the fields under it say they are missing.
            if let Some(t) = value.as_table() {
                unknown_fields(t, &inner, fields, out);
            }
            continue;
        }
        out.push(path);
    }
}

/// The field name closest to `typed`, when it is close enough to be a slip.
fn close_name<'a>(typed: &str, names: &[&'a str]) -> Option<&'a str> {
    let typed = typed.to_lowercase();
    names
        .iter()
        .map(|n| (strsim::levenshtein(&typed, &n.to_lowercase()), *n))
        .filter(|(d, n)| *d <= 1 + n.chars().count() / 5)
        .min_by_key(|(d, _)| *d)
        .map(|(_, n)| n)
}

/// An item whose table the student wrote but that could not be read: answered, and 0.
fn grade_broken(item: &Item, broken: &Broken) -> ItemResult {
    let message = format!(
        "the table [{}] could not be read (line {}: {})",
        shown(&quoted(&item.id), 40),
        broken.line,
        broken.reason
    );
    let fields = if item.kind == Kind::Manual {
        vec![FieldResult {
            name: "answer".into(),
            correct: false,
            points: 0.0,
            max_points: item.points,
            message,
            key: None,
        }]
    } else {
        item.fields
            .iter()
            .map(|f| FieldResult {
                name: f.name.clone(),
                correct: false,
                points: 0.0,
                max_points: f.points,
                message: message.clone(),
                key: describe_key(f),
            })
            .collect()
    };
    ItemResult {
        id: item.id.clone(),
        title: item.title.clone(),
        kind: item.kind,
        status: ItemStatus::Incorrect,
        score: 0.0,
        max_score: item.points,
        fields,
        answer: None,
        rubric: None,
        comment: None,
    }
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
        comment: None,
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
            comment: None,
            ..base
        };
    }
    // A table with none of the fields filled in (the `grader answers` template as it comes)
    // is not an answer yet.
    if item
        .fields
        .iter()
        .all(|f| answered(lookup(table, &f.name)).is_none())
    {
        return base;
    }
    let fields: Vec<FieldResult> = item
        .fields
        .iter()
        .map(|f| grade_field(f, answered(lookup(table, &f.name))))
        .collect();
    let score: f64 = fields.iter().map(|f| f.points).fold(0.0, |a, b| a + b);
    let status = if item.fields.iter().any(|f| f.key.is_none()) {
        ItemStatus::Unkeyed
    } else if fields.iter().all(|f| f.correct) {
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

/// `value`, unless it is a blank string: what `grader answers` leaves to fill in.
fn answered(value: Option<&toml::Value>) -> Option<&toml::Value> {
    value.filter(|v| v.as_str().is_none_or(|s| !s.trim().is_empty()))
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
    match &field.key {
        Some(key) => first_error(key, value, field.precision),
        None => Some(format!("`{}` has no key", field.name)),
    }
}

fn grade_field(field: &AnswerField, given: Option<&toml::Value>) -> FieldResult {
    let result = |correct: bool, message: String| FieldResult {
        name: field.name.clone(),
        correct,
        points: if correct { field.points } else { 0.0 },
        max_points: field.points,
        message,
        key: describe_key(field),
    };
    let Some(given) = given else {
        return result(false, format!("missing `{}`", field.name));
    };
    let json = match crate::spec::toml_to_json(given) {
        Ok(j) => match lenient(j, &field.ty, &field.name) {
            Ok(j) => j,
            Err(why) => return result(false, why),
        },
        Err(e) => return result(false, format!("`{}`: {e}", field.name)),
    };
    let value = match parse(&json, &field.ty, &field.name) {
        Ok(v) => v,
        Err(e) => return result(false, format!("{e}")),
    };
    if let (Value::Str(got), Some(options)) = (&value, &field.options)
        && !options.iter().any(|o| o.to_lowercase() == *got)
    {
        return result(
            false,
            format!("`{}` is not one of: {}", shown(got, 40), options.join(", ")),
        );
    }
    match &field.key {
        None => result(false, WELL_FORMED.into()),
        Some(key) => match first_error(key, &value, field.precision) {
            None => result(true, "correct".into()),
            Some(why) => result(false, why),
        },
    }
}

/// Paper answers are forgiving about form: `73856.0` for an int, `"Causal"` for `causal`,
/// and a number written as a string (`"0.4050"`) or as a fraction in one (`"24/25"`), also
/// inside a vector or matrix. Anything else that is not a number is refused here, saying
/// what was expected and which forms are accepted.
fn lenient(json: Json, ty: &FieldType, name: &str) -> Result<Json, String> {
    let json = match ty {
        FieldType::Int | FieldType::Float => number(json, ty, name)?,
        FieldType::Vec => match json {
            Json::Array(v) => Json::Array(
                v.into_iter()
                    .map(|x| number(x, ty, name))
                    .collect::<Result<_, _>>()?,
            ),
            other => number(other, ty, name)?,
        },
        FieldType::Mat => match json {
            Json::Array(rows) => Json::Array(
                rows.into_iter()
                    .map(|row| match row {
                        Json::Array(v) => v
                            .into_iter()
                            .map(|x| number(x, ty, name))
                            .collect::<Result<_, _>>()
                            .map(Json::Array),
                        other => number(other, ty, name),
                    })
                    .collect::<Result<_, _>>()?,
            ),
            other => number(other, ty, name)?,
        },
        FieldType::Str => match json {
            Json::String(s) => Json::String(s.trim().to_lowercase()),
            other => other,
        },
        _ => json,
    };
    Ok(match (ty, &json) {
        (FieldType::Int, Json::Number(n)) if n.is_f64() => match n.as_f64() {
            Some(x) if x.fract() == 0.0 && x.abs() < 9e15 => Json::from(x as i64),
            _ => json,
        },
        _ => json,
    })
}

/// A string that is a number (`" 0.405 "`) or a simple fraction (`"-3/4"`) as that number;
/// any other value as it is, for the type check to judge.
fn number(json: Json, ty: &FieldType, name: &str) -> Result<Json, String> {
    let Json::String(text) = &json else {
        return Ok(json);
    };
    let s = text.trim();
    let refuse = |why: &str| {
        let what = match ty {
            FieldType::Int => "an integer",
            FieldType::Vec => "a list of numbers",
            FieldType::Mat => "a matrix (a list of rows of numbers)",
            _ => "a number",
        };
        Err(format!(
            "`{name}`: expected {what}, got the string \"{}\"{why}; write numbers as 0.405, \"0.405\" or a fraction \"24/25\"",
            shown(text, 40)
        ))
    };
    if let Some((top, bottom)) = s.split_once('/') {
        let (top, bottom) = (top.trim(), bottom.trim());
        if !(is_integer(top) && is_integer(bottom)) {
            return refuse(" (a fraction is an integer over an integer)");
        }
        let (Ok(top), Ok(bottom)) = (top.parse::<f64>(), bottom.parse::<f64>()) else {
            return refuse("");
        };
        if bottom == 0.0 {
            return refuse(" (its denominator is 0)");
        }
        let x = top / bottom;
        return if x.is_finite() {
            Ok(Json::from(x))
        } else {
            refuse("")
        };
    }
    // Only plain decimals: Rust would also read "inf" and "NaN".
    let plain = s.bytes().any(|b| b.is_ascii_digit())
        && s.bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'+' | b'-' | b'.' | b'e' | b'E'));
    match s.parse::<f64>() {
        Ok(x) if plain && x.is_finite() => Ok(Json::from(x)),
        _ => refuse(""),
    }
}

/// The key as a student would write it, and the precision asked (none in a student copy).
fn describe_key(field: &AnswerField) -> Option<String> {
    Some(match (field.key.as_ref()?, field.precision) {
        (Value::Str(k), _) => format!("`{k}`"),
        (k, Precision::Exact) => k.to_json().to_string(),
        (k, p) => format!("{} ({})", k.to_json(), p.describe()),
    })
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
            key: Some(parse(&key, &ty, "x").expect("key")),
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
            ("\"0.7278\"", true),
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

    #[test]
    fn without_a_key_only_the_form_is_checked() {
        let mut h3 = field("float", serde_json::json!(0.7278), Precision::Decimals(4));
        h3.key = None;
        let mut choice = named(
            "GPT.masking",
            field("str", serde_json::json!("causal"), Precision::Exact),
        );
        choice.key = None;
        choice.options = Some(vec!["causal".into(), "bidirectional".into()]);
        let q = item("q9.9", Kind::Answer, vec![h3.clone()]);
        let c = item("q9.8", Kind::Choice, vec![choice]);
        let answers = |text: &str| {
            let ids = ["q9.9".to_string(), "q9.8".to_string()];
            crate::grade::answer_file::read(text, &ids)
        };
        let file =
            answers("[\"q9.9\"]\nx = \"24/25\"\n[\"q9.8\"]\nGPT = { masking = \"Causal\" }\n");
        let (results, warnings) = grade_answers(&[q.clone(), c.clone()], Some(&file), &[]);
        assert!(warnings.is_empty(), "{warnings:?}");
        for r in &results {
            assert_eq!((r.status, r.score), (ItemStatus::Unkeyed, 0.0), "{r:?}");
            assert!(
                r.awaits_staff() && r.fields.iter().all(|f| f.key.is_none()),
                "{r:?}"
            );
        }
        let file =
            answers("[\"q9.9\"]\nx = \"about 1\"\n[\"q9.8\"]\nGPT = { masking = \"masked\" }\n");
        let (results, _) = grade_answers(&[q, c], Some(&file), &[]);
        for r in &results {
            assert_eq!(r.status, ItemStatus::Unkeyed);
            assert!(!r.awaits_staff(), "{r:?}");
            assert_eq!(r.form_errors().count(), 1, "{r:?}");
        }
        assert!(results[0].fields[0].message.contains("expected a number"));
        assert!(results[1].fields[0].message.contains("is not one of"));
    }

    proptest::proptest! {
        /// Fuzz target: any byte edit of a full answers.toml, parsed or not, is read table by
        /// table and graded without panicking, never above the maximum, with few, short
        /// warnings.
        #[test]
        fn fuzz_answer_files(edits in proptest::collection::vec((0usize..4, proptest::prelude::any::<usize>(), proptest::prelude::any::<u8>()), 1..8)) {
            let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
            let course = crate::spec::Course::load(root).expect("course");
            let (items, errors) = course.items().expect("items");
            proptest::prop_assert!(errors.is_empty());
            let ids: Vec<String> = items.iter().map(|i| i.id.clone()).collect();
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
            let file = crate::grade::answer_file::read(&String::from_utf8_lossy(&text), &ids);
            let (results, warnings) = grade_answers(&items, Some(&file), &[]);
            proptest::prop_assert_eq!(results.len(), items.len());
            for r in results {
                proptest::prop_assert!(r.score >= 0.0 && r.score <= r.max_score, "{r:?}");
            }
            let warnings = crate::submission::capped(warnings, 20, "answers.toml");
            proptest::prop_assert!(warnings.len() <= 21);
            for w in &warnings {
                proptest::prop_assert!(w.chars().count() <= 400 && !w.contains('\n'), "{w}");
            }
        }
    }

    fn item(id: &str, kind: Kind, fields: Vec<AnswerField>) -> Item {
        Item {
            id: id.into(),
            title: id.into(),
            kind,
            statement: String::new(),
            file: std::path::PathBuf::new(),
            twin: None,
            points: fields.iter().map(|f| f.points).sum::<f64>().max(1.0),
            fields,
            rubric: None,
        }
    }

    fn named(name: &str, mut f: AnswerField) -> AnswerField {
        f.name = name.into();
        f
    }

    /// A small course: q6.1 asks for `cos`, q4.4 for `d_k`, q5.1 for choices, q4.5 is manual.
    fn sheet() -> Vec<Item> {
        let choice = |name: &str, key: &str| {
            let mut f = named(name, field("str", serde_json::json!(key), Precision::Exact));
            f.options = Some(
                ["bidirectional", "causal", "encoder-decoder"]
                    .map(String::from)
                    .to_vec(),
            );
            f
        };
        vec![
            item(
                "q6.1",
                Kind::Answer,
                vec![named(
                    "cos",
                    field("float", serde_json::json!(0.96), Precision::Decimals(2)),
                )],
            ),
            item(
                "q4.4",
                Kind::Answer,
                vec![named(
                    "d_k",
                    field("int", serde_json::json!(64), Precision::Exact),
                )],
            ),
            item(
                "q5.1",
                Kind::Choice,
                vec![
                    choice("BERT.masking", "bidirectional"),
                    choice("GPT.masking", "causal"),
                ],
            ),
            item("q4.5", Kind::Manual, Vec::new()),
        ]
    }

    fn grade_text(text: &str) -> (Vec<ItemResult>, Vec<String>) {
        let items = sheet();
        let ids: Vec<String> = items.iter().map(|i| i.id.clone()).collect();
        let file = crate::grade::answer_file::read(text, &ids);
        grade_answers(&items, Some(&file), &[])
    }

    fn result<'a>(results: &'a [ItemResult], id: &str) -> &'a ItemResult {
        results.iter().find(|r| r.id == id).expect("item")
    }

    #[test]
    fn a_broken_table_is_answered_but_invalid_and_the_rest_still_score() {
        let (results, warnings) = grade_text(
            "[\"q6.1\"]\ncos = 24/25\n\n[\"q4.4\"]\nd_k = 64\n\n[\"q4.5\"]\nanswer = \"x\ny\"\n",
        );
        let q61 = result(&results, "q6.1");
        assert_eq!((q61.status, q61.score), (ItemStatus::Incorrect, 0.0));
        assert!(
            q61.fields[0]
                .message
                .starts_with("the table [\"q6.1\"] could not be read (line 2: "),
            "{q61:?}"
        );
        assert_eq!(result(&results, "q4.4").status, ItemStatus::Correct);
        let q45 = result(&results, "q4.5");
        assert_eq!(
            (q45.status, q45.fields.len()),
            (ItemStatus::Incorrect, 1),
            "{q45:?}"
        );
        assert_eq!(result(&results, "q5.1").status, ItemStatus::Missing);
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(warnings.iter().all(|w| w.contains("could not be read")));
    }

    #[test]
    fn a_bad_value_costs_only_its_field() {
        let (results, warnings) =
            grade_text("[\"q6.1\"]\ncos = \"about one\"\n[\"q4.4\"]\nd_k = \"64\"\n");
        assert!(warnings.is_empty(), "{warnings:?}");
        let q61 = result(&results, "q6.1");
        assert_eq!(q61.status, ItemStatus::Incorrect);
        assert_eq!(
            q61.fields[0].message,
            "`cos`: expected a number, got the string \"about one\"; write numbers as 0.405, \"0.405\" or a fraction \"24/25\""
        );
        assert_eq!(result(&results, "q4.4").status, ItemStatus::Correct);
    }

    #[test]
    fn numbers_as_strings_and_fractions() {
        let cos = field("float", serde_json::json!(0.96), Precision::Decimals(2));
        for (text, ok) in [
            ("\"0.96\"", true),
            ("\" 0.96 \"", true),
            ("\"24/25\"", true),
            ("\" 24 / 25 \"", true),
            ("\"-24/-25\"", true),
            ("\"3/4\"", false),
            ("\"0.9.6\"", false),
            ("\"NaN\"", false),
            ("\"inf\"", false),
            ("\"24/25.0\"", false),
        ] {
            assert_eq!(grade_field(&cos, Some(&given(text))).correct, ok, "{text}");
        }
        let neg = field("float", serde_json::json!(-0.75), Precision::Decimals(2));
        assert!(grade_field(&neg, Some(&given("\"-3/4\""))).correct);
        let int = field("int", serde_json::json!(24), Precision::Exact);
        assert!(grade_field(&int, Some(&given("\"48/2\""))).correct);
        assert!(grade_field(&int, Some(&given("\"24\""))).correct);
        let z = field(
            "vec",
            serde_json::json!([0.5, 0.75]),
            Precision::Decimals(2),
        );
        assert!(grade_field(&z, Some(&given("[\"1/2\", \"0.75\"]"))).correct);
        let y = field(
            "mat",
            serde_json::json!([[-4, 0.5], [1, 2]]),
            Precision::Exact,
        );
        assert!(grade_field(&y, Some(&given("[[\"-4\", \"1/2\"], [1, \"2\"]]"))).correct);
        let bad = grade_field(&y, Some(&given("[[\"-4\", \"half\"], [1, 2]]")));
        assert!(
            !bad.correct
                && bad
                    .message
                    .contains("expected a matrix (a list of rows of numbers)"),
            "{}",
            bad.message
        );
    }

    #[test]
    fn a_fraction_over_zero_is_refused() {
        let cos = field("float", serde_json::json!(0.96), Precision::Decimals(2));
        let r = grade_field(&cos, Some(&given("\"24/0\"")));
        assert!(!r.correct);
        assert_eq!(
            r.message,
            "`x`: expected a number, got the string \"24/0\" (its denominator is 0); write numbers as 0.405, \"0.405\" or a fraction \"24/25\""
        );
    }

    #[test]
    fn unknown_fields_are_warned_with_a_did_you_mean() {
        let (results, warnings) = grade_text(
            "[\"q4.4\"]\nd_k = 64\nheads = 8\ndk = 64\n[\"q5.1\".BERT]\nmasking = \"bidirectional\"\nobjective = \"x\"\n[\"q4.5\"]\nanything = \"goes\"\n",
        );
        assert_eq!(
            warnings,
            [
                "answers.toml: [\"q4.4\"] has no field `dk`; did you mean `d_k`? (it asks for: d_k); ignored",
                "answers.toml: [\"q4.4\"] has no field `heads` (it asks for: d_k); ignored",
                "answers.toml: [\"q5.1\"] has no field `BERT.objective` (it asks for: BERT.masking, GPT.masking); ignored",
            ]
        );
        assert_eq!(result(&results, "q4.4").status, ItemStatus::Correct);
        assert_eq!(result(&results, "q5.1").status, ItemStatus::Partial);
        assert_eq!(result(&results, "q4.5").status, ItemStatus::Pending);
    }

    #[test]
    fn a_wrong_choice_lists_the_options() {
        let (results, _) =
            grade_text("[\"q5.1\"]\nBERT = { masking = \"Masked\" }\nGPT.masking = \"causal\"\n");
        let q51 = result(&results, "q5.1");
        assert_eq!(q51.status, ItemStatus::Partial);
        assert_eq!(
            q51.fields[0].message,
            "`masked` is not one of: bidirectional, causal, encoder-decoder"
        );
        let (results, _) = grade_text("[\"q5.1\"]\nBERT.masking = \"causal\"\n");
        assert_eq!(
            result(&results, "q5.1").fields[0].message,
            "`causal` is not the right choice"
        );
    }

    #[test]
    fn blank_fields_are_not_answers() {
        let (results, warnings) = grade_text(
            "[\"q6.1\"]\ncos = \"\"\n[\"q5.1\"]\nBERT.masking = \" \"\nGPT.masking = \"\"\n[\"q4.5\"]\nanswer = \"\"\n",
        );
        assert!(warnings.is_empty(), "{warnings:?}");
        assert!(
            results.iter().all(|r| r.status == ItemStatus::Missing),
            "{results:?}"
        );
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
