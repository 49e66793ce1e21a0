//! `grader export --students`: the student copy of a course.
//!
//! A student copy is a course folder that `grader check`, `show`, `list`, `test` and `grade`
//! accept, holding what students may see: statements, I/O contracts, limits, the sample cases,
//! and the questions of the answer, choice and manual items (fields, options, precision,
//! points). It is written from the loaded, checked course through the serde model
//! (model.rs), one field at a time, never by copying a file: hidden and generated cases and
//! their data files, answer keys, rubrics, twin links and `[solutions]` cannot slip through a
//! file or a key nobody thought of.
//!
//! Its `grader.toml` says `[course] student_copy = true` and records the staff course's
//! `grader digest` as `staff_digest`. Under that flag the loader refuses hidden cases,
//! generators, solutions, keys, rubrics and twins, and an answer or choice field has no key:
//! `grader grade` checks its form (read, of the right type, one of the options) and reports
//! the item as `unkeyed`, "no key in the student copy: graded by staff", with 0 points, never
//! right or wrong. A code problem's points in the copy are those of its samples.

use std::path::PathBuf;

use serde_json::Value as Json;

use super::model::{
    AnswerFieldFile, CaseFile, CourseFile, CourseSection, InputFile, ItemFile, LimitsFile,
    OutputFile, ProblemFile, ToleranceFile,
};
use super::{
    COURSE_FILE, Course, ITEM_FILE, InvalidSpec, Item, Kind, PROBLEM_FILE, Precision, Problem,
    ProblemLimits, SPEC_VERSION, SpecError, Visibility,
};

/// The files of the student copy of `course`: paths relative to the copy's folder and their
/// bytes. Fails when the course is not valid (as `grader check` would) or cannot be written
/// as TOML.
pub fn student_copy(course: &Course) -> Result<Vec<(PathBuf, Vec<u8>)>, InvalidSpec> {
    let (problems, items) = course.everything()?;
    let leaks = super::paper_key_leaks(&problems, &items);
    if !leaks.is_empty() {
        return Err(InvalidSpec(leaks));
    }
    let (digest, _) = course.digest()?;
    let staff_digest = format!("sha256:{digest}");
    let problems_dir = PathBuf::from("problems");
    let mut files = Vec::new();

    let course_file = CourseFile {
        spec_version: SPEC_VERSION,
        course: CourseSection {
            name: course.name.clone(),
            problems: problems_dir.clone(),
            solutions: super::model::default_solutions_dir(),
            release_keys: false,
            student_copy: true,
            staff_digest: Some(staff_digest.clone()),
        },
        limits: course.limits.clone(),
        tolerance: ToleranceFile {
            rtol: Some(course.tolerance.rtol),
            atol: Some(course.tolerance.atol),
        },
    };
    let header = format!(
        "# A student copy of \"{}\",\n\
         # written by `grader export --students` from the staff course\n\
         # {staff_digest}:\n\
         # sample cases only, and the questions without their keys.\n",
        one_line(&course.name)
    );
    let text = header + &to_toml(&course_file, COURSE_FILE)?;
    files.push((PathBuf::from(COURSE_FILE), text.into_bytes()));

    let course_limits = limits_file(&course.resolve_limits(&LimitsFile::default()));
    for problem in &problems {
        let dir = problems_dir.join(&problem.id);
        let (spec, data) = problem_file(problem, &course_limits, &course.tolerance);
        let file = dir.join(PROBLEM_FILE);
        files.push((
            file.clone(),
            to_toml(&spec, &file.to_string_lossy())?.into_bytes(),
        ));
        for (name, json) in data {
            let bytes = serde_json::to_vec_pretty(&json).map_err(|e| error(&name, e))?;
            files.push((dir.join(name), bytes));
        }
    }
    for item in &items {
        let file = problems_dir.join(&item.id).join(ITEM_FILE);
        let text = to_toml(&item_file(item), &file.to_string_lossy())?;
        files.push((file, text.into_bytes()));
    }
    Ok(files)
}

fn error(file: &str, e: impl std::fmt::Display) -> InvalidSpec {
    InvalidSpec(vec![SpecError {
        file: PathBuf::from(file),
        key: None,
        message: format!("cannot be written: {e}"),
    }])
}

fn to_toml<T: serde::Serialize>(value: &T, file: &str) -> Result<String, InvalidSpec> {
    toml::to_string(value).map_err(|e| error(file, e))
}

fn one_line(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('"', "'")
}

/// A code problem's spec with its hand-written sample cases only, and the data files of those samples
/// that TOML cannot hold (a `null`, an integer past i64): `(name in the problem's folder,
/// {"input": …, "expected": …})`. Limits and tolerances are written where they differ from
/// the copy's `grader.toml`, which carries the staff course's.
fn problem_file(
    problem: &Problem,
    course_limits: &LimitsFile,
    tolerance: &crate::compare::Tolerance,
) -> (ProblemFile, Vec<(String, Json)>) {
    let own = limits_file(&problem.limits);
    let differs = |pick: fn(&LimitsFile) -> Option<u64>| {
        (pick(&own) != pick(course_limits))
            .then(|| pick(&own))
            .flatten()
    };
    let limits = LimitsFile {
        fuel: differs(|l| l.fuel),
        wall_ms: differs(|l| l.wall_ms),
        memory_mib: differs(|l| l.memory_mib),
        stack_kib: differs(|l| l.stack_kib),
        stdout_kib: differs(|l| l.stdout_kib),
        stderr_kib: differs(|l| l.stderr_kib),
        module_mib: differs(|l| l.module_mib),
        compile_ms: differs(|l| l.compile_ms),
        compile_mib: differs(|l| l.compile_mib),
    };
    let outputs = problem
        .outputs
        .iter()
        .map(|o| OutputFile {
            name: o.name.clone(),
            ty: o.ty.clone(),
            rtol: (o.tolerance.rtol != tolerance.rtol).then_some(o.tolerance.rtol),
            atol: (o.tolerance.atol != tolerance.atol).then_some(o.tolerance.atol),
            exact: o.tolerance.exact.then_some(true),
            shape: o.shape.clone(),
            dims: problem
                .dims
                .get(&o.name)
                .map(|dims| dims.iter().map(ToString::to_string).collect()),
        })
        .collect();
    // Generated cases stay with staff even when visible: their data is the reference's output.
    let generated: Vec<String> = problem
        .generators
        .iter()
        .flat_map(|g| (0..g.count).map(|i| g.case_name(i)))
        .collect();
    let mut data = Vec::new();
    let mut cases = Vec::new();
    for (i, case) in problem
        .cases
        .iter()
        .filter(|c| c.visibility == Visibility::Sample && !generated.contains(&c.name))
        .enumerate()
    {
        let input = Json::Object(case.input.clone());
        let expected = Json::Object(
            case.expected
                .iter()
                .map(|(k, v)| (k.clone(), v.to_json()))
                .collect(),
        );
        let inline = match (toml_of(&input), toml_of(&expected)) {
            (Some(toml::Value::Table(input)), Some(toml::Value::Table(expected))) => {
                Some((input, expected))
            }
            _ => None,
        };
        let (input, expected, file) = match inline {
            Some((input, expected)) => (Some(input), Some(expected), None),
            None => {
                let safe = !case.name.is_empty()
                    && case
                        .name
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
                let name = if safe {
                    format!("data/{}.json", case.name)
                } else {
                    format!("data/sample-{}.json", i + 1)
                };
                let mut both = serde_json::Map::new();
                both.insert("input".into(), input);
                both.insert("expected".into(), expected);
                data.push((name.clone(), Json::Object(both)));
                (None, None, Some(PathBuf::from(name)))
            }
        };
        cases.push(CaseFile {
            name: case.name.clone(),
            visibility: Visibility::Sample,
            points: case.points,
            input,
            expected,
            data: file,
        });
    }
    let spec = ProblemFile {
        spec_version: SPEC_VERSION,
        id: problem.id.clone(),
        title: problem.title.clone(),
        kind: Kind::Code,
        statement: problem.statement.clone(),
        limits,
        inputs: problem
            .inputs
            .iter()
            .map(|i| InputFile {
                name: i.name.clone(),
                ty: i.ty.clone(),
                optional: i.optional,
            })
            .collect(),
        outputs,
        cases,
        generate: Vec::new(),
        solutions: None,
    };
    (spec, data)
}

/// An item's question: statement, fields with type, precision, options and points; no key,
/// rubric or twin.
fn item_file(item: &Item) -> ItemFile {
    ItemFile {
        spec_version: SPEC_VERSION,
        id: item.id.clone(),
        title: item.title.clone(),
        kind: item.kind,
        statement: item.statement.clone(),
        twin: None,
        fields: item
            .fields
            .iter()
            .map(|f| AnswerFieldFile {
                name: f.name.clone(),
                ty: f.ty.clone(),
                key: None,
                points: f.points,
                decimals: match f.precision {
                    Precision::Decimals(d) => Some(d),
                    _ => None,
                },
                sig_figs: match f.precision {
                    Precision::SigFigs(s) => Some(s),
                    _ => None,
                },
                options: f.options.clone(),
                twin: None,
            })
            .collect(),
        points: (item.kind == Kind::Manual).then_some(item.points),
        rubric: None,
    }
}

/// Resolved limits in the units of `[limits]` (the inverse of `Course::resolve_limits`).
fn limits_file(l: &ProblemLimits) -> LimitsFile {
    const KIB: u64 = 1024;
    const MIB: u64 = 1 << 20;
    let u = |n: usize| u64::try_from(n).unwrap_or(u64::MAX);
    LimitsFile {
        fuel: Some(l.run.fuel),
        wall_ms: Some(u64::try_from(l.run.wall.as_millis()).unwrap_or(u64::MAX)),
        memory_mib: Some(l.run.memory_bytes / MIB),
        stack_kib: Some(u(l.wasm_stack_bytes) / KIB),
        stdout_kib: Some(u(l.run.stdout_bytes) / KIB),
        stderr_kib: Some(u(l.run.stderr_bytes) / KIB),
        module_mib: Some(u(l.module_bytes) / MIB),
        compile_ms: Some(u64::try_from(l.run.compile.as_millis()).unwrap_or(u64::MAX)),
        compile_mib: Some(l.run.compile_memory / MIB),
    }
}

/// The contract's JSON as TOML, or `None` where TOML has no such value (`null`, an integer
/// past i64).
fn toml_of(json: &Json) -> Option<toml::Value> {
    Some(match json {
        Json::Null => return None,
        Json::Bool(b) => toml::Value::Boolean(*b),
        Json::Number(n) => match n.as_i64() {
            Some(i) => toml::Value::Integer(i),
            None if n.is_f64() => toml::Value::Float(n.as_f64()?),
            None => return None,
        },
        Json::String(s) => toml::Value::String(s.clone()),
        Json::Array(items) => toml::Value::Array(items.iter().map(toml_of).collect::<Option<_>>()?),
        Json::Object(map) => toml::Value::Table(
            map.iter()
                .map(|(k, v)| Some((k.clone(), toml_of(v)?)))
                .collect::<Option<toml::Table>>()?,
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    /// The committed course exported, written to a folder and loaded again.
    fn exported() -> (Course, Course, tempfile::TempDir) {
        let staff = Course::load(Path::new(env!("CARGO_MANIFEST_DIR"))).expect("course");
        let files = student_copy(&staff).expect("export");
        let dir = tempfile::tempdir().expect("tempdir");
        for (path, bytes) in &files {
            let path = dir.path().join(path);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(path, bytes).expect("write");
        }
        let copy = Course::load(dir.path()).expect("the copy loads");
        (staff, copy, dir)
    }

    #[test]
    fn the_copy_asks_what_the_course_asks_with_the_samples_only() {
        let (staff, copy, _dir) = exported();
        let (problems, items) = staff.everything().expect("staff");
        let (copied, copied_items) = copy.everything().expect("copy");
        assert!(copy.is_student_copy() && !staff.is_student_copy());
        assert_eq!(
            copy.staff_digest,
            Some(format!("sha256:{}", staff.digest().expect("digest").0))
        );
        assert_eq!(problems.len(), copied.len());
        for (p, c) in problems.iter().zip(&copied) {
            assert_eq!(
                (&p.id, &p.title, &p.statement, &p.limits),
                (&c.id, &c.title, &c.statement, &c.limits)
            );
            assert_eq!((&p.inputs, &p.outputs), (&c.inputs, &c.outputs), "{}", p.id);
            let generated = |name: &str| {
                p.generators
                    .iter()
                    .any(|g| (0..g.count).any(|i| g.case_name(i) == name))
            };
            let samples: Vec<_> = p
                .cases
                .iter()
                .filter(|c| c.visibility == Visibility::Sample && !generated(&c.name))
                .collect();
            assert_eq!(samples, c.cases.iter().collect::<Vec<_>>(), "{}", p.id);
            assert!(c.generators.is_empty() && c.solutions.is_none());
        }
        assert_eq!(items.len(), copied_items.len());
        for (i, c) in items.iter().zip(&copied_items) {
            assert_eq!(
                (&i.id, &i.title, i.kind, &i.statement, i.points),
                (&c.id, &c.title, c.kind, &c.statement, c.points)
            );
            assert!(c.rubric.is_none() && c.twin.is_none());
            assert_eq!(i.fields.len(), c.fields.len());
            for (f, g) in i.fields.iter().zip(&c.fields) {
                assert_eq!(
                    (&f.name, &f.ty, f.points, f.precision, &f.options),
                    (&g.name, &g.ty, g.points, g.precision, &g.options)
                );
                assert!(g.key.is_none() && g.twin.is_none());
            }
        }
    }

    #[test]
    fn a_student_copy_refuses_what_it_must_not_hold() {
        let (_, copy, dir) = exported();
        let edit = |file: &str, from: &str, to: &str| {
            let path = dir.path().join(file);
            let text = std::fs::read_to_string(&path).expect("read");
            assert!(text.contains(from), "{file}: {from}\n{text}");
            std::fs::write(&path, text.replacen(from, to, 1)).expect("write");
        };
        edit(
            "problems/q2.3/problem.toml",
            "visibility = \"sample\"",
            "visibility = \"hidden\"",
        );
        let error = copy.problem("q2.3").expect_err("a hidden case");
        assert!(error.to_string().contains("sample cases only"), "{error}");
        edit(
            "problems/q3.2/answer.toml",
            "type = \"float\"",
            "type = \"float\"\nkey = 4.2e-7",
        );
        let (_, errors) = copy.items().expect("items");
        assert!(
            errors.iter().any(|e| e.message.contains("no keys")),
            "{errors:?}"
        );
        edit("grader.toml", "student_copy = true", "student_copy = false");
        let error = Course::load(dir.path()).expect_err("a digest without the flag");
        assert!(error.to_string().contains("only a student copy"), "{error}");
    }

    #[test]
    fn json_values_toml_cannot_hold_are_refused() {
        assert_eq!(toml_of(&serde_json::json!({"a": null})), None);
        assert_eq!(toml_of(&serde_json::json!([u64::MAX])), None);
        assert_eq!(
            toml_of(&serde_json::json!({"a": [1, 2.5, "-inf"]})).map(|v| v.to_string()),
            Some("{ a = [1, 2.5, \"-inf\"] }".to_string())
        );
    }
}
