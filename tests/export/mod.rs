//! `grader export --students`: the student copy of the committed course, through the real
//! binary. It must be a course the grader runs, and hold nothing that only staff may see.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use grader::spec::{Course, Visibility};
use serde_json::Value as Json;

use super::{ROOT, Report, course_copy, edit, fixtures, grader, module, text};

/// The course at `course` exported into a fresh temporary folder: (the folder that holds it,
/// the copy).
fn export_of(course: &Path) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let copy = dir.path().join("student-course");
    let out = grader(&[
        "--course",
        course.to_str().expect("p"),
        "export",
        "--students",
        copy.to_str().expect("p"),
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "export: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    (dir, copy)
}

fn at(course: &Path, args: &[&str]) -> std::process::Output {
    let mut all = vec!["--course", course.to_str().expect("p")];
    all.extend(args);
    grader(&all)
}

fn staff() -> Course {
    Course::load(Path::new(ROOT)).expect("the committed course")
}

#[test]
fn the_student_copy_checks_and_lists_every_problem_and_item() {
    let (_dir, copy) = export_of(Path::new(ROOT));
    let out = at(&copy, &["check"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));

    let rows = |course: &Path| -> Vec<Json> {
        let out = at(course, &["list", "--format", "json"]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        serde_json::from_slice(&out.stdout).expect("list json")
    };
    let (ours, theirs) = (rows(&copy), rows(Path::new(ROOT)));
    assert_eq!(ours.len(), theirs.len());
    let (problems, _) = staff().everything().expect("staff course");
    for (row, staff_row) in ours.iter().zip(&theirs) {
        for key in ["id", "kind", "title"] {
            assert_eq!(row[key], staff_row[key], "{row} vs {staff_row}");
        }
        if row["kind"] == "code" {
            // The points and cases of the samples: hidden cases' points stay with staff.
            let problem = problems
                .iter()
                .find(|p| row["id"] == p.id.as_str())
                .expect("a staff problem");
            let samples: Vec<_> = problem
                .cases
                .iter()
                .filter(|c| c.visibility == Visibility::Sample)
                .collect();
            let points: f64 = samples.iter().map(|c| c.points).sum();
            assert_eq!(row["points"].as_f64(), Some(points), "{row}");
            let cases = if samples.len() == 1 {
                "1 case".to_string()
            } else {
                format!("{} cases", samples.len())
            };
            assert_eq!(row["graded"].as_str(), Some(cases.as_str()), "{row}");
        } else {
            assert_eq!(row, staff_row, "an item asks the same");
        }
    }
    let human = text(&at(&copy, &["list"]).stdout);
    for row in &theirs {
        let id = row["id"].as_str().expect("id");
        let title = row["title"].as_str().expect("title");
        assert!(
            human.contains(id) && human.contains(title),
            "{id} {title}:\n{human}"
        );
    }
    let show = text(&at(&copy, &["show", "q2.3"]).stdout);
    assert!(
        show.contains("without flipping the kernel")
            && show.contains("hidden cases: graded by staff, not in this student copy"),
        "{show}"
    );
}

#[test]
fn the_copy_records_the_staff_digest() {
    let (_dir, copy) = export_of(Path::new(ROOT));
    let digest = text(&grader(&["digest"]).stdout);
    let staff_digest = digest.split_whitespace().next().expect("a digest");
    assert!(staff_digest.starts_with("sha256:"), "{digest}");
    let config: toml::Table = std::fs::read_to_string(copy.join("grader.toml"))
        .expect("grader.toml")
        .parse()
        .expect("TOML");
    assert_eq!(config["course"]["student_copy"].as_bool(), Some(true));
    assert_eq!(
        config["course"]["staff_digest"].as_str(),
        Some(staff_digest)
    );
    let loaded = Course::load(&copy).expect("the copy loads");
    assert_eq!(loaded.staff_digest.as_deref(), Some(staff_digest));
    let copy_digest = text(&at(&copy, &["digest"]).stdout);
    assert!(
        copy_digest.starts_with("sha256:")
            && !copy_digest.starts_with(staff_digest)
            && copy_digest.contains(&format!("a student copy of {staff_digest}")),
        "{copy_digest}"
    );
}

/// How a number may be written in the copy: serde_json (ryu), Rust's Display and Debug, TOML.
fn renderings_of_float(x: f64) -> Vec<String> {
    let mut all = vec![
        serde_json::to_string(&x).unwrap_or_default(),
        format!("{x}"),
        format!("{x:?}"),
        toml::Value::Float(x).to_string(),
    ];
    all.retain(|s| !s.is_empty());
    all.sort();
    all.dedup();
    all
}

/// How a string may be written in the copy: as it is, JSON-escaped, TOML-escaped.
fn renderings_of_str(s: &str) -> Vec<String> {
    let strip = |t: String| t.trim_matches(|c| c == '"' || c == '\'').to_string();
    let mut all = vec![
        s.to_string(),
        strip(serde_json::to_string(s).unwrap_or_default()),
        strip(toml::Value::String(s.to_string()).to_string()),
    ];
    all.retain(|s| !s.is_empty());
    all.sort();
    all.dedup();
    all
}

/// One thing that must not be in the copy: where it comes from, and how it may be written.
#[derive(Debug)]
struct Needle {
    what: String,
    renderings: Vec<String>,
}

/// Every number and string of `json` that is not trivially common (0, ±1, booleans, whole
/// numbers below 10, one-character strings): all other floats and longer strings, and the keys
/// of nested objects (data, unlike the top-level field names of the contract).
fn needles_of_json(json: &Json, what: &str, top: bool, out: &mut Vec<Needle>) {
    match json {
        Json::Number(n) => {
            let x = n.as_f64().unwrap_or(0.0);
            if x.fract() == 0.0 && x.abs() < 10.0 {
                return;
            }
            let mut renderings = renderings_of_float(x);
            if let Some(i) = n.as_i64() {
                renderings.push(i.to_string());
            }
            out.push(Needle {
                what: format!("{what}: {n}"),
                renderings,
            });
        }
        Json::String(s) if s.chars().count() > 1 => {
            // Non-finite floats are written as these strings: they are common words.
            if ["inf", "-inf", "nan"].contains(&s.to_lowercase().as_str()) {
                return;
            }
            out.push(Needle {
                what: format!("{what}: {s:?}"),
                renderings: renderings_of_str(s),
            });
        }
        Json::Array(items) => {
            for item in items {
                needles_of_json(item, what, false, out);
            }
        }
        Json::Object(map) => {
            for (key, value) in map {
                if !top && key.chars().count() > 1 {
                    out.push(Needle {
                        what: format!("{what}: the key {key:?}"),
                        renderings: renderings_of_str(key),
                    });
                }
                needles_of_json(value, what, false, out);
            }
        }
        _ => {}
    }
}

fn case_json(case: &grader::spec::TestCase) -> (Json, Json) {
    let input = Json::Object(case.input.clone());
    let expected = Json::Object(
        case.expected
            .iter()
            .map(|(k, v)| (k.clone(), v.to_json()))
            .collect(),
    );
    (input, expected)
}

/// Everything of the staff course that only staff may see: hidden cases (names, inputs,
/// expected outputs), answer keys, rubrics, twin links, solution module names.
fn staff_only(course: &Course) -> Vec<Needle> {
    let (problems, items) = course.everything().expect("staff course");
    let mut needles = Vec::new();
    for p in &problems {
        for case in p
            .cases
            .iter()
            .filter(|c| c.visibility == Visibility::Hidden)
        {
            let what = format!("{} hidden case {}", p.id, case.name);
            needles.push(Needle {
                what: format!("{what}: its name"),
                renderings: renderings_of_str(&case.name),
            });
            let (input, expected) = case_json(case);
            needles_of_json(&input, &format!("{what} input"), true, &mut needles);
            needles_of_json(&expected, &format!("{what} expected"), true, &mut needles);
        }
        if let Some(solutions) = &p.solutions {
            let modules = std::iter::once(&solutions.reference)
                .chain(solutions.others.iter().map(|(m, _)| m));
            for module in modules {
                needles.push(Needle {
                    what: format!("{} solution module", p.id),
                    renderings: vec![module.clone()],
                });
            }
        }
    }
    for item in &items {
        for field in &item.fields {
            let what = format!("{} key of `{}`", item.id, field.name);
            let key = field.key.as_ref().expect("staff keys").to_json();
            // The key as the loader renders it, whole, and each of its values.
            if key.is_array() {
                needles.push(Needle {
                    what: what.clone(),
                    renderings: vec![key.to_string()],
                });
            }
            needles_of_json(&key, &what, false, &mut needles);
            if let Some(path) = &field.twin {
                needles.push(Needle {
                    what: format!("{} twin path of `{}`", item.id, field.name),
                    renderings: vec![path.clone()],
                });
            }
        }
        if let Some(rubric) = &item.rubric {
            needles.push(Needle {
                what: format!("{} rubric", item.id),
                renderings: vec![rubric.trim().to_string()],
            });
            for line in rubric
                .lines()
                .map(str::trim)
                .filter(|l| l.chars().count() >= 25)
            {
                needles.push(Needle {
                    what: format!("{} rubric line", item.id),
                    renderings: vec![line.to_string()],
                });
            }
        }
    }
    needles
}

/// What the staff course shows students anyway, as text: its grader.toml, every title and
/// statement, the contract (names, types, tolerances, limits), the sample cases (names, points,
/// every value in each rendering), and the items' questions (fields, options, precision,
/// points). A staff-only value that also occurs here is no leak when the copy holds it.
fn public_text(course: &Course) -> String {
    let (problems, items) = course.everything().expect("staff course");
    let mut out =
        std::fs::read_to_string(Path::new(ROOT).join("grader.toml")).expect("grader.toml");
    let mut push = |s: &str| {
        out.push_str(s);
        out.push('\n');
    };
    let mut scalars = Vec::new();
    for p in &problems {
        for s in [&p.id, &p.title, &p.statement] {
            push(s);
        }
        for i in &p.inputs {
            push(&format!("{} {}", i.name, i.ty));
        }
        for o in &p.outputs {
            push(&format!("{} {} {:?}", o.name, o.ty, o.shape));
            for x in [o.tolerance.rtol, o.tolerance.atol] {
                renderings_of_float(x).iter().for_each(|r| push(r));
            }
        }
        let l = &p.limits;
        for n in [
            l.run.fuel,
            l.run.wall.as_millis() as u64,
            l.run.memory_bytes >> 20,
            l.wasm_stack_bytes as u64 >> 10,
            l.run.stdout_bytes as u64 >> 10,
            l.run.stderr_bytes as u64 >> 10,
            l.module_bytes as u64 >> 20,
            l.run.compile.as_millis() as u64,
            l.run.compile_memory >> 20,
        ] {
            push(&n.to_string());
        }
        for case in p
            .cases
            .iter()
            .filter(|c| c.visibility == Visibility::Sample)
        {
            push(&case.name);
            renderings_of_float(case.points)
                .iter()
                .for_each(|r| push(r));
            let (input, expected) = case_json(case);
            needles_of_json(&input, "", false, &mut scalars);
            needles_of_json(&expected, "", false, &mut scalars);
        }
    }
    for item in &items {
        for s in [&item.id, &item.title, &item.statement] {
            push(s);
        }
        renderings_of_float(item.points)
            .iter()
            .for_each(|r| push(r));
        for f in &item.fields {
            push(&format!(
                "{} {} {:?} {:?}",
                f.name, f.ty, f.precision, f.options
            ));
            renderings_of_float(f.points).iter().for_each(|r| push(r));
        }
    }
    for s in scalars {
        s.renderings.iter().for_each(|r| push(r));
    }
    out
}

/// Every file under `dir`, as (path, text); bytes that are not UTF-8 are kept as U+FFFD.
fn files_under(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut files = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for entry in std::fs::read_dir(&d).expect("read_dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                let bytes = std::fs::read(&path).expect("read");
                files.push((path, String::from_utf8_lossy(&bytes).into_owned()));
            }
        }
    }
    files
}

/// The needles found in `files`: (what, rendering, file).
fn found<'a>(
    needles: &'a [Needle],
    files: &[(PathBuf, String)],
) -> Vec<(&'a str, String, PathBuf)> {
    let mut hits = Vec::new();
    for needle in needles {
        for (path, text) in files {
            if let Some(r) = needle.renderings.iter().find(|r| text.contains(r.as_str())) {
                hits.push((needle.what.as_str(), r.clone(), path.clone()));
            }
        }
    }
    hits
}

#[test]
fn nothing_only_staff_may_see_is_in_the_copy() {
    let course = staff();
    let (_dir, copy) = export_of(Path::new(ROOT));
    let (digest, _) = course.digest().expect("digest");
    // Every byte of every file, the staff digest (there by design: 64 hex digits that would
    // hold some number by chance) taken out.
    let files: Vec<(PathBuf, String)> = files_under(&copy)
        .into_iter()
        .map(|(p, t)| (p, t.replace(&digest, "<staff digest>")))
        .collect();
    assert!(files.len() > 50, "{files:?}");

    let public = public_text(&course);
    let (needles, shown): (Vec<Needle>, Vec<Needle>) = staff_only(&course)
        .into_iter()
        .partition(|n| !n.renderings.iter().any(|r| public.contains(r.as_str())));
    // Most of it is distinctive: hidden data that occurs nowhere students look.
    assert!(
        needles.len() > 1000 && needles.len() > 5 * shown.len(),
        "{} needles, {} also public",
        needles.len(),
        shown.len()
    );
    let hits = found(&needles, &files);
    assert!(
        hits.is_empty(),
        "{} staff-only values in the student copy, e.g. {:#?}",
        hits.len(),
        &hits[..hits.len().min(20)]
    );

    // And no table of the copy has a place for them: no key, rubric, twin, generator,
    // solutions or hidden case (the loader would refuse them; this reads the files as TOML).
    fn keys_of(value: &toml::Value, path: &str, out: &mut Vec<String>) {
        match value {
            toml::Value::Table(t) => {
                for (k, v) in t {
                    out.push(format!("{path}.{k} = {v}"));
                    keys_of(v, &format!("{path}.{k}"), out);
                }
            }
            toml::Value::Array(items) => items.iter().for_each(|v| keys_of(v, path, out)),
            _ => {}
        }
    }
    for (path, text) in files
        .iter()
        .filter(|(p, _)| p.extension().is_some_and(|e| e == "toml"))
    {
        let table: toml::Table = text.parse().expect("TOML");
        let mut keys = Vec::new();
        keys_of(&toml::Value::Table(table), "", &mut keys);
        for bad in [
            ".key =",
            ".rubric =",
            ".twin =",
            ".generate =",
            ".solutions =",
            "\"hidden\"",
        ] {
            assert!(
                !keys.iter().any(|k| k.contains(bad)),
                "{}: {bad}",
                path.display()
            );
        }
    }

    // Positive controls: the same scan finds what the copy must hold (the sample cases'
    // values), and a hidden value that is written into a file of the copy.
    let (problems, _) = course.everything().expect("staff");
    let mut samples = Vec::new();
    for p in &problems {
        for case in p
            .cases
            .iter()
            .filter(|c| c.visibility == Visibility::Sample)
        {
            let (input, expected) = case_json(case);
            needles_of_json(&input, &p.id, true, &mut samples);
            needles_of_json(&expected, &p.id, true, &mut samples);
        }
    }
    let seen = samples
        .iter()
        .filter(|n| !found(std::slice::from_ref(*n), &files).is_empty())
        .count();
    assert!(
        samples.len() > 100 && seen == samples.len(),
        "the scan finds {seen} of the {} sample values in the copy",
        samples.len()
    );
    let hidden = &needles[needles.len() / 2];
    let mut leaky = files.clone();
    leaky[0]
        .1
        .push_str(&format!("\n# {}\n", hidden.renderings[0]));
    assert!(
        found(&needles, &leaky)
            .iter()
            .any(|(what, _, _)| *what == hidden.what),
        "{hidden:?}"
    );
}

#[test]
fn references_pass_the_samples_of_the_copy_and_a_student_is_graded_without_keys() {
    fixtures();
    let (_dir, copy) = export_of(Path::new(ROOT));
    let (problems, _) = staff().everything().expect("staff");
    for p in &problems {
        let reference = &p.solutions.as_ref().expect("a reference").reference;
        let path = module(reference);
        let out = at(
            &copy,
            &["test", &p.id, path.to_str().expect("p"), "--format", "json"],
        );
        let report: Report = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{}: {e}\n{}", p.id, text(&out.stderr)));
        let samples = p
            .cases
            .iter()
            .filter(|c| c.visibility == Visibility::Sample)
            .count();
        assert_eq!(out.status.code(), Some(0), "{}: {report:?}", p.id);
        assert_eq!(report.verdict(), "accepted", "{}", p.id);
        assert_eq!(report.cases.len(), samples, "{}", p.id);
        assert!(report.cases.iter().all(|c| c.visibility == "sample"));
        assert_eq!(report.score, report.max_score, "{}", p.id);
    }

    let ada = Path::new(ROOT).join("target/cohort/ada");
    let out = at(
        &copy,
        &["grade", ada.to_str().expect("p"), "--format", "json"],
    );
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{}",
        text(&out.stderr)
    );
    let report: Json = serde_json::from_slice(&out.stdout).expect("grade json");
    let items = report["items"].as_array().expect("items");
    assert!(!items.is_empty());
    for item in items {
        assert!(item["rubric"].is_null(), "{item}");
        for field in item["fields"].as_array().expect("fields") {
            assert!(field["key"].is_null(), "{item}");
        }
        match item["kind"].as_str() {
            // ada answers every question, right: in the copy that is "well-formed".
            Some("answer" | "choice") => {
                assert_eq!(item["status"], "unkeyed", "{item}");
                assert_eq!(item["score"], 0.0, "{item}");
            }
            _ => assert_eq!(item["status"], "pending", "{item}"),
        }
    }
    let human = text(&at(&copy, &["grade", ada.to_str().expect("p")]).stdout);
    assert!(
        human.contains("no key in the student copy: graded by staff") && !human.contains("key:"),
        "{human}"
    );
    // A wrong answer is not called wrong, and a malformed one is called malformed.
    let student = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        student.path().join("answers.toml"),
        "[\"q3.2\"]\nper_step = 0.1\ntotal = \"small\"\n",
    )
    .expect("write");
    let out = at(
        &copy,
        &[
            "grade",
            student.path().to_str().expect("p"),
            "--format",
            "json",
        ],
    );
    let report: Json = serde_json::from_slice(&out.stdout).expect("grade json");
    let q32 = report["items"]
        .as_array()
        .and_then(|items| items.iter().find(|i| i["id"] == "q3.2"))
        .expect("q3.2");
    assert_eq!(q32["status"], "unkeyed", "{q32}");
    let message = |name: &str| {
        q32["fields"]
            .as_array()
            .and_then(|f| f.iter().find(|f| f["name"] == name))
            .map(|f| f["message"].as_str().unwrap_or_default().to_string())
            .unwrap_or_default()
    };
    assert!(message("per_step").starts_with("well-formed"), "{q32}");
    assert!(message("total").contains("expected a number"), "{q32}");
}

#[test]
fn an_export_replaces_only_an_earlier_export() {
    let (dir, copy) = export_of(Path::new(ROOT));
    let again = |target: &Path| grader(&["export", "--students", target.to_str().expect("p")]);
    let before = files_under(&copy);
    std::fs::write(copy.join("problems/q2.3/notes.md"), "left over").expect("write");
    let out = again(&copy);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let mut after = files_under(&copy);
    let mut before = before;
    before.sort();
    after.sort();
    assert_eq!(before, after, "the same copy, and nothing left over");

    let other = dir.path().join("other");
    std::fs::create_dir(&other).expect("mkdir");
    std::fs::write(other.join("thesis.tex"), "mine").expect("write");
    let out = again(&other);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
    assert!(text(&out.stderr).contains("not overwritten"));
    assert_eq!(
        std::fs::read_to_string(other.join("thesis.tex"))
            .ok()
            .as_deref(),
        Some("mine")
    );
    // A student copy with other things beside it is not replaced either.
    std::fs::write(copy.join("solutions.rs"), "mine").expect("write");
    assert_eq!(again(&copy).status.code(), Some(2));
    // Nor is the course itself, nor is a student copy exported again.
    assert_eq!(again(Path::new(ROOT)).status.code(), Some(2));
    let out = at(&copy, &["export", "--students", "unused"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .expect("read_dir")
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().contains(".export-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn a_sample_that_toml_cannot_hold_is_written_as_a_data_file() {
    fixtures();
    // q7.2's `limit-zero` expects `answer = null`, which TOML has no word for.
    let course = course_copy();
    edit(
        course.path(),
        "problems/q7.2/problem.toml",
        "name = \"limit-zero\"\nvisibility = \"hidden\"",
        "name = \"limit-zero\"\nvisibility = \"sample\"",
    );
    let (_dir, copy) = export_of(course.path());
    let data = copy.join("problems/q7.2/data/limit-zero.json");
    let json: Json = serde_json::from_str(&std::fs::read_to_string(&data).expect("the data file"))
        .expect("JSON");
    assert!(json["expected"]["answer"].is_null(), "{json}");
    let files: BTreeSet<String> = files_under(&copy.join("problems/q7.2"))
        .into_iter()
        .map(|(p, _)| p.strip_prefix(&copy).expect("inside").display().to_string())
        .collect();
    assert_eq!(
        files,
        BTreeSet::from([
            "problems/q7.2/problem.toml".to_string(),
            "problems/q7.2/data/limit-zero.json".to_string()
        ])
    );
    let path = module("q7_2");
    let out = at(&copy, &["test", "q7.2", path.to_str().expect("p")]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert!(
        text(&out.stdout).contains("limit-zero"),
        "{}",
        text(&out.stdout)
    );
}
