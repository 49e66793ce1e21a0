//! `grader answers`: a blank `answers.toml` for the course, a table per answer, choice and
//! manual item in sheet order, each field left as `""` to fill in. Built from the items'
//! titles, types, precision and options only: never a key or a rubric.

use std::fmt::Write as _;

use crate::compare::FieldType;
use crate::spec::{AnswerField, Item, Kind, Precision};

/// The template. Graded as it is, every item is "not answered", with no warning: a blank
/// string is no answer.
pub fn answers_template(items: &[Item]) -> String {
    let mut items: Vec<&Item> = items.iter().filter(|i| i.kind != Kind::Code).collect();
    items.sort_by_key(|i| crate::spec::sort_key(&i.id));
    let mut out = String::from(
        "# answers.toml: your pencil-and-paper, choice and free-text answers.\n\
         # Write each answer between the quotes, or replace the quotes with a number.\n\
         # Numbers may be written as 0.405, \"0.405\" or a fraction \"24/25\"; a field left\n\
         # as \"\" is not answered. A table that cannot be read costs only its own question.\n",
    );
    for item in items {
        let _ = writeln!(
            out,
            "\n# {} — {} ({}, {})",
            item.id,
            one_line(&item.title),
            item.kind.as_str(),
            points(item.points)
        );
        let _ = writeln!(out, "[{}]", crate::grade::answer_file::quoted(&item.id));
        if item.kind == Kind::Manual {
            let _ = writeln!(out, "# free text, graded by a TA");
            let _ = writeln!(out, "answer = \"\"");
            continue;
        }
        for field in &item.fields {
            let _ = writeln!(
                out,
                "# {}: {} ({})",
                field.name,
                describe(field),
                points(field.points)
            );
            let _ = writeln!(out, "{} = \"\"", key(&field.name));
        }
    }
    out
}

/// What a field asks for, in a student's words.
fn describe(field: &AnswerField) -> String {
    if let Some(options) = &field.options {
        return format!("one of: {}", options.join(", "));
    }
    let what = match &field.ty {
        FieldType::Int => "an integer".to_string(),
        FieldType::Float => "a number".to_string(),
        FieldType::Vec => "a list of numbers, e.g. [0.5, 0.5]".to_string(),
        FieldType::Mat => "a matrix as a list of rows, e.g. [[1, 2], [3, 4]]".to_string(),
        FieldType::Str => "a word".to_string(),
        other => other.to_string(),
    };
    match field.precision {
        Precision::Exact
            if matches!(field.ty, FieldType::Float | FieldType::Vec | FieldType::Mat) =>
        {
            format!("{what}, exact")
        }
        Precision::Exact => what,
        p => format!("{what}, {}", p.describe()),
    }
}

fn points(p: f64) -> String {
    let n = super::points(p);
    if p == 1.0 {
        format!("{n} point")
    } else {
        format!("{n} points")
    }
}

/// A field name as a TOML key: `BERT.masking` is a dotted key; odd parts are quoted.
fn key(name: &str) -> String {
    name.split('.')
        .map(|part| {
            if !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            {
                part.to_string()
            } else {
                crate::grade::answer_file::quoted(part)
            }
        })
        .collect::<Vec<_>>()
        .join(".")
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grade::answers::{ItemStatus, grade_answers};

    #[test]
    fn the_template_grades_as_all_unanswered_and_shows_no_key() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let course = crate::spec::Course::load(root).expect("course");
        let (items, errors) = course.items().expect("items");
        assert!(errors.is_empty());
        let text = answers_template(&items);
        let ids: Vec<String> = items.iter().map(|i| i.id.clone()).collect();
        let file = crate::grade::answer_file::read(&text, &ids);
        assert!(file.broken.is_empty(), "{:?}", file.broken);
        assert_eq!(file.tables.len(), items.len());
        let (results, warnings) = grade_answers(&items, Some(&file), &[]);
        assert!(warnings.is_empty(), "{warnings:?}");
        assert!(
            results
                .iter()
                .all(|r| r.status == ItemStatus::Missing && r.score == 0.0)
        );
        assert!(
            text.contains("# h3: a number, to 4 decimal places (1 point)"),
            "{text}"
        );
        assert!(text.contains("BERT.masking = \"\""), "{text}");
        assert!(
            text.contains("# free text, graded by a TA\nanswer = \"\""),
            "{text}"
        );
        for item in &items {
            if let Some(rubric) = &item.rubric {
                assert!(!text.contains(rubric.trim()), "{}", item.id);
            }
        }
        assert!(!text.contains("2147483648"), "no key: {text}");
        // Sheet order: q2.x before q12.x.
        let at = |id: &str| text.find(&format!("[\"{id}\"]")).expect(id);
        assert!(at("q1.1") < at("q2.1") && at("q9.3") < at("q12.1"));
    }
}
