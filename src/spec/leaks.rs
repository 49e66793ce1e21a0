//! The "no free points" lint of `grader check` (contract §5): a pencil-and-paper key must not
//! be readable from what a student is shown. It looks in three places: the twin case itself
//! (it must be hidden), the visible cases of the code twin (same inputs, or the key's value
//! at the twin path), and the statement of the code part (the key's digits).

use serde_json::Value as Json;

use crate::compare::{Value, json_at, parse_float};

use super::{Item, Problem, SpecError, Visibility};

/// Every place where a student could read a paper key, as spec errors.
pub fn paper_key_leaks(problems: &[Problem], items: &[Item]) -> Vec<SpecError> {
    let mut errors = Vec::new();
    for item in items.iter().filter(|i| !i.fields.is_empty()) {
        let twin = item.twin.as_ref();
        let code = problems
            .iter()
            .find(|p| Some(&p.id) == twin.map(|t| &t.problem))
            .or_else(|| problems.iter().find(|p| p.id == item.id));
        if let (Some(twin), Some(problem)) = (twin, code) {
            errors.extend(twin_case_leaks(item, &twin.case, problem));
        }
        // The question's own statement is not checked: it holds the inputs of the question,
        // which may equal a key by chance (Q1.1 gives w = [0.2, …] and asks for z = 0.2).
        if let Some(problem) = code {
            errors.extend(statement_leaks(item, &problem.statement, &problem.file));
        }
    }
    errors
}

fn twin_case_leaks(item: &Item, twin_case: &str, problem: &Problem) -> Vec<SpecError> {
    let mut errors = Vec::new();
    let error = |file: &std::path::Path, key: String, message: String| SpecError {
        file: file.to_path_buf(),
        key: Some(key),
        message,
    };
    let Some(twin) = problem.cases.iter().find(|c| c.name == twin_case) else {
        // `verify` reports a twin that names no case.
        return errors;
    };
    if twin.visibility == Visibility::Sample {
        errors.push(error(
            &item.file,
            "twin.case".into(),
            format!(
                "`{twin_case}` of {} is a sample case, so `grader show {}` prints the answers \
                 of this question: make it hidden (contract §5, no free points)",
                problem.id, problem.id
            ),
        ));
    }
    for case in problem
        .cases
        .iter()
        .filter(|c| c.visibility == Visibility::Sample && c.name != twin_case)
    {
        if case.input == twin.input {
            errors.push(error(
                &problem.file,
                format!("cases.{}", case.name),
                format!(
                    "is a sample with the inputs of `{twin_case}`, the paper question {}: \
                     students would read its answers",
                    item.id
                ),
            ));
            continue;
        }
        let expected = Json::Object(
            case.expected
                .iter()
                .map(|(k, v)| (k.clone(), v.to_json()))
                .collect(),
        );
        for field in &item.fields {
            let (Some(path), Some(key)) =
                (&field.twin, field.key.as_ref().and_then(numbers_of_value))
            else {
                continue;
            };
            let Some(shown) = json_at(&expected, path).and_then(numbers_of_json) else {
                continue;
            };
            let allowed = |k: f64| field.precision.allowed_error(k);
            if shown.len() == key.len()
                && key
                    .iter()
                    .zip(&shown)
                    .all(|(k, s)| (k - s).abs() <= allowed(*k))
            {
                errors.push(error(
                    &problem.file,
                    format!("cases.{}.expected.{path}", case.name),
                    format!(
                        "is visible and equals the key of {} `{}` ({}): students would read \
                         the paper answer here; hide the case or change its inputs",
                        item.id,
                        field.name,
                        field.precision.describe()
                    ),
                ));
            }
        }
    }
    errors
}

/// Keys that are small whole numbers (a 3, a 32) occur in any statement for other reasons;
/// they are checked in visible cases only.
fn distinctive(key: f64) -> bool {
    !(key.fract() == 0.0 && key.abs() < 100.0)
}

fn statement_leaks(item: &Item, statement: &str, file: &std::path::Path) -> Vec<SpecError> {
    let tokens = number_tokens(statement);
    let mut errors = Vec::new();
    for field in &item.fields {
        let Some(keys) = field.key.as_ref().and_then(numbers_of_value) else {
            continue;
        };
        let allowed = |k: f64| field.precision.allowed_error(k);
        let quoted = keys.iter().filter(|k| distinctive(**k)).find_map(|k| {
            tokens
                .iter()
                .find(|(_, t)| (t - k).abs() <= allowed(*k))
                .map(|(text, _)| text)
        });
        if let Some(text) = quoted {
            errors.push(SpecError {
                file: file.to_path_buf(),
                key: Some("statement".into()),
                message: format!(
                    "quotes `{text}`, the key of {} `{}` ({}): a statement must not give \
                     the paper answer away",
                    item.id,
                    field.name,
                    field.precision.describe()
                ),
            });
        }
    }
    errors
}

/// The numbers of a key, flattened: `None` for strings and other non-numeric keys.
fn numbers_of_value(value: &Value) -> Option<Vec<f64>> {
    match value {
        Value::Int(i) => Some(vec![*i as f64]),
        Value::Float(x) => Some(vec![*x]),
        Value::Vec(v) => Some(v.to_vec()),
        Value::Mat(m) => Some(m.iter().copied().collect()),
        _ => None,
    }
}

fn numbers_of_json(json: &Json) -> Option<Vec<f64>> {
    match json {
        Json::Array(items) => {
            let mut all = Vec::new();
            for item in items {
                all.extend(numbers_of_json(item)?);
            }
            Some(all)
        }
        other => parse_float(other).map(|x| vec![x]),
    }
}

/// The decimal numbers written in `text` (`0.5370`, `-4`, `4.2e-7`), as written and parsed.
fn number_tokens(text: &str) -> Vec<(String, f64)> {
    let bytes = text.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let starts_number = bytes[i].is_ascii_digit()
            || (bytes[i] == b'.' && bytes.get(i + 1).is_some_and(u8::is_ascii_digit));
        let inside_word = i > 0 && (bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_');
        if !starts_number || inside_word {
            i += 1;
            continue;
        }
        let start = if i > 0 && bytes[i - 1] == b'-' {
            i - 1
        } else {
            i
        };
        let mut end = i;
        while end < bytes.len() && (bytes[end].is_ascii_digit() || bytes[end] == b'.') {
            end += 1;
        }
        // An exponent: e-7, E+3, e10.
        if end < bytes.len() && matches!(bytes[end], b'e' | b'E') {
            let mut exp = end + 1;
            if exp < bytes.len() && matches!(bytes[exp], b'+' | b'-') {
                exp += 1;
            }
            if exp < bytes.len() && bytes[exp].is_ascii_digit() {
                while exp < bytes.len() && bytes[exp].is_ascii_digit() {
                    exp += 1;
                }
                end = exp;
            }
        }
        let written = text[start..end].trim_end_matches('.');
        if let Ok(value) = written.parse::<f64>() {
            tokens.push((written.to_string(), value));
        }
        i = end.max(i + 1);
    }
    tokens
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_read_as_written() {
        let found: Vec<String> =
            number_tokens("h = 0.5370, 0.4050 and 4.2e-7; q2_3 x1 -4 (2.15 GB) 1.5. v2 .5")
                .into_iter()
                .map(|(t, _)| t)
                .collect();
        assert_eq!(
            found,
            ["0.5370", "0.4050", "4.2e-7", "-4", "2.15", "1.5", ".5"]
        );
    }

    #[test]
    fn small_whole_numbers_are_not_distinctive() {
        assert!(!distinctive(32.0) && !distinctive(-4.0) && !distinctive(1.0));
        assert!(distinctive(73856.0) && distinctive(0.5) && distinctive(4.2e-7));
    }
}
