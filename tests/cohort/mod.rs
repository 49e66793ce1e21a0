//! `grader batch`, `merge` and `import` through the real binary, on the sample cohort.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use super::{ROOT, course_copy, edit, fixtures, grader, text};

fn cohort() -> PathBuf {
    fixtures();
    Path::new(ROOT).join("target/cohort")
}

/// `grader batch` with its run report (`--format json`), compiled modules kept in `cache`.
fn batch(course: &Path, cohort: &Path, out: &Path, extra: &[&str]) -> (serde_json::Value, Output) {
    let cache = out.with_extension("cache");
    let mut args = vec![
        "--course",
        course.to_str().expect("p"),
        "batch",
        cohort.to_str().expect("p"),
        "--out",
        out.to_str().expect("p"),
        "--cache-dir",
        cache.to_str().expect("p"),
        "--format",
        "json",
    ];
    args.extend(extra);
    let output = grader(&args);
    let value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "batch {args:?}: {e}\n{}{}",
            text(&output.stdout),
            text(&output.stderr)
        )
    });
    (value, output)
}

fn run_counts(report: &serde_json::Value) -> (u64, u64, u64, u64) {
    let run = &report["run"];
    let n = |k: &str| {
        run[k]
            .as_u64()
            .unwrap_or_else(|| panic!("no run.{k}: {run}"))
    };
    (
        n("graded"),
        n("unchanged"),
        n("modules_run"),
        n("modules_reused"),
    )
}

/// Every row of every table of the gradebook in `out`, in key order, as text; `time_ms`
/// (a measurement) left out. Two gradebooks with the same dump hold the same grades.
fn dump(out: &Path) -> String {
    let conn = rusqlite::Connection::open(out.join("gradebook.sqlite")).expect("open gradebook");
    let mut text = String::new();
    for table in [
        "meta",
        "parts",
        "students",
        "files",
        "submissions",
        "cases",
        "answers",
        "manual_marks",
    ] {
        let mut stmt = conn
            .prepare(&format!("SELECT * FROM {table}"))
            .expect("prepare");
        let names: Vec<String> = stmt.column_names().map(String::from).collect();
        let mut rows: Vec<String> = stmt
            .query_map([], |r| {
                let mut row = Vec::new();
                for (i, name) in names.iter().enumerate() {
                    if name != "time_ms" {
                        row.push(format!("{name}={:?}", r.get_ref(i)?));
                    }
                }
                Ok(row.join(" "))
            })
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("rows");
        rows.sort();
        text += &format!("## {table} ({} rows)\n{}\n", rows.len(), rows.join("\n"));
    }
    text
}

fn count(out: &Path, sql: &str) -> i64 {
    rusqlite::Connection::open(out.join("gradebook.sqlite"))
        .and_then(|c| c.query_row(sql, [], |r| r.get(0)))
        .unwrap_or(0)
}

fn csv_rows(path: &Path) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(path).expect("csv");
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .expect("header")
        .iter()
        .map(String::from)
        .collect();
    let mut rows = vec![header];
    for r in reader.records() {
        rows.push(r.expect("record").iter().map(String::from).collect());
    }
    rows
}

fn row<'a>(rows: &'a [Vec<String>], student: &str) -> &'a [String] {
    rows.iter()
        .find(|r| r[0] == student)
        .unwrap_or_else(|| panic!("no row for {student}"))
}

/// `module` with a custom section appended: other bytes, the same program.
pub fn with_custom_section(mut module: Vec<u8>, payload: &[u8]) -> Vec<u8> {
    let name = b"grader-test";
    let mut body = super::leb(name.len() as u64);
    body.extend_from_slice(name);
    body.extend_from_slice(payload);
    module.push(0);
    module.extend(super::leb(body.len() as u64));
    module.extend(body);
    module
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read_dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

#[test]
fn a_batch_writes_the_gradebook_and_every_export_with_the_totals_of_grade() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("grades");
    let (report, output) = batch(Path::new(ROOT), &cohort(), &out, &[]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert_eq!(run_counts(&report).0, 5);
    // ben's and ada's modules share bytes: those are graded once.
    assert!(run_counts(&report).3 > 0, "{report}");

    let rows = csv_rows(&out.join("grades.csv"));
    let header = &rows[0];
    assert_eq!(
        &header[..5],
        ["student", "score", "max_score", "pending", "status"]
    );
    assert!(
        header.contains(&"q2.3:code".to_string()) && header.contains(&"q12.2:manual".to_string())
    );
    assert_eq!(header.len(), 5 + 25 + 35);
    for (name, score, pending) in [
        ("ada", "322", "40"),
        ("ben", "173.5", "2"),
        ("cyd", "19", "0"),
        ("dee", "18", "0"),
        ("eve", "26", "0"),
    ] {
        let r = row(&rows, name);
        assert_eq!((r[1].as_str(), r[3].as_str()), (score, pending), "{name}");
        assert_eq!(r[2], "362");
    }
    assert_eq!(
        row(&rows, "ada")[header.iter().position(|h| h == "q2.3:code").expect("col")],
        "15"
    );

    // Gradescope: the student's view. Hidden cases are `hidden` and carry no case name.
    let gs: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("gradescope/ben/results.json")).expect("results.json"),
    )
    .expect("json");
    assert_eq!(gs["score"], 173.5);
    let tests = gs["tests"].as_array().expect("tests");
    let hidden: Vec<_> = tests
        .iter()
        .filter(|t| t["visibility"] == "hidden")
        .collect();
    assert!(!hidden.is_empty());
    let staff_names: Vec<String> = {
        let conn = rusqlite::Connection::open(out.join("gradebook.sqlite")).expect("open");
        let mut stmt = conn
            .prepare("SELECT DISTINCT name FROM cases WHERE visibility = 'hidden'")
            .expect("prepare");
        stmt.query_map([], |r| r.get(0))
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("names")
    };
    for t in &hidden {
        let name = t["name"].as_str().expect("name");
        assert!(name.contains(" hidden-"), "{name}");
    }
    let file = std::fs::read_to_string(out.join("gradescope/ben/results.json")).expect("read");
    for name in staff_names.iter().filter(|n| n.len() > 8) {
        assert!(
            !file.contains(&format!("\"{name}")),
            "hidden case name {name} in results.json"
        );
    }

    // manual.csv: a row per manual answer handed in, blank points for TAs.
    let manual = csv_rows(&out.join("manual.csv"));
    assert_eq!(
        manual[0][..5],
        ["student", "item", "max_points", "points", "comment"]
    );
    let pending = report["summary"]["pending_answers"]
        .as_u64()
        .expect("pending");
    assert!(pending > 0);
    assert_eq!(
        manual.len() - 1,
        pending as usize,
        "a row per pending manual answer"
    );
    let html = std::fs::read_to_string(out.join("report.html")).expect("report.html");
    assert!(html.contains("<svg") || html.contains("<table"));
    // A second run finds nothing to do.
    let (again, _) = batch(Path::new(ROOT), &cohort(), &out, &[]);
    assert_eq!(run_counts(&again), (0, 5, 0, 0));
}

#[test]
fn a_batch_killed_with_sigkill_resumes_to_the_gradebook_of_an_uninterrupted_run() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let whole = tmp.path().join("whole");
    let (_, output) = batch(Path::new(ROOT), &cohort(), &whole, &["--jobs", "1"]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));

    let killed = tmp.path().join("killed");
    let mut child = Command::new(env!("CARGO_BIN_EXE_grader"))
        .args([
            "batch",
            cohort().to_str().expect("p"),
            "--jobs",
            "1",
            "-q",
            "--out",
        ])
        .arg(&killed)
        .arg("--cache-dir")
        .arg(tmp.path().join("killed.cache"))
        .current_dir(ROOT)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let started = Instant::now();
    while count(&killed, "SELECT count(*) FROM students") < 1 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no student written in 60 s"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    child.kill().expect("SIGKILL");
    child.wait().expect("wait");
    let committed = count(&killed, "SELECT count(*) FROM students");
    assert!(
        (1..5).contains(&committed),
        "killed after {committed} of 5 students: the test needs a kill mid-run"
    );

    let (resumed, output) = batch(Path::new(ROOT), &cohort(), &killed, &["--jobs", "1"]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let (graded, unchanged, _, _) = run_counts(&resumed);
    assert_eq!(
        (graded, unchanged),
        (5 - committed as u64, committed as u64)
    );
    assert_eq!(dump(&killed), dump(&whole));
    // No export is left half-written: every file is whole or absent.
    for entry in std::fs::read_dir(&killed).expect("read_dir") {
        let name = entry.expect("entry").file_name();
        assert!(!name.to_string_lossy().ends_with(".partial"), "{name:?}");
    }
}

#[test]
fn a_rerun_grades_only_the_modules_and_problems_that_changed() {
    let course = course_copy();
    let tmp = tempfile::tempdir().expect("tempdir");
    let students = tmp.path().join("cohort");
    copy_dir(&cohort(), &students);
    let out = tmp.path().join("grades");
    let (first, _) = batch(course.path(), &students, &out, &[]);
    assert_eq!(run_counts(&first).0, 5);

    // ada swaps her q2.3 for a kernel-flipping one of her own (bytes no one else has): only
    // that module runs again.
    let flipped = std::fs::read(fixtures().join("q2_3_flipped.wasm")).expect("read");
    std::fs::write(
        students.join("ada/q2.3.wasm"),
        with_custom_section(flipped, b"ada"),
    )
    .expect("write");
    let (second, _) = batch(course.path(), &students, &out, &[]);
    assert_eq!(run_counts(&second), (1, 4, 1, 24), "{}", second["run"]);
    let rows = csv_rows(&out.join("grades.csv"));
    let col = rows[0]
        .iter()
        .position(|h| h == "q2.3:code")
        .expect("column");
    assert_ne!(row(&rows, "ada")[col], "15", "the new q2.3 is graded");

    // The q2.3 spec changes: each distinct q2.3 module runs again, nothing else does (every
    // student's q2.3 entry is rewritten: its title is part of the report).
    edit(
        course.path(),
        "problems/q2.3/problem.toml",
        "title = \"Valid 2-D convolution\"",
        "title = \"Valid 2-D convolution (no flip)\"",
    );
    let q23 = count(
        &out,
        "SELECT count(DISTINCT sha256) FROM submissions WHERE problem = 'q2.3' AND file IS NOT NULL",
    ) as u64;
    let modules = count(
        &out,
        "SELECT count(*) FROM submissions WHERE file IS NOT NULL",
    ) as u64;
    let (third, _) = batch(course.path(), &students, &out, &[]);
    let (graded, _, ran, reused) = run_counts(&third);
    assert_eq!(graded, 5, "{}", third["run"]);
    assert_eq!(ran, q23, "{}", third["run"]);
    assert_eq!(ran + reused, modules, "{}", third["run"]);
    assert_eq!(
        count(
            &out,
            "SELECT count(*) FROM parts WHERE title = 'Valid 2-D convolution (no flip)'"
        ),
        1
    );
}

#[test]
fn four_shards_merged_are_one_run() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let whole = tmp.path().join("whole");
    batch(Path::new(ROOT), &cohort(), &whole, &[]);
    let mut shards = Vec::new();
    let mut total = 0;
    for i in 1..=4 {
        let dir = tmp.path().join(format!("shard-{i}"));
        let (report, output) = batch(
            Path::new(ROOT),
            &cohort(),
            &dir,
            &["--shard", &format!("{i}/4")],
        );
        assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
        total += report["run"]["students"].as_u64().expect("students");
        shards.push(dir);
    }
    assert_eq!(total, 5, "every student is in exactly one shard");
    let merged = tmp.path().join("merged");
    let mut args = vec!["merge", "--out", merged.to_str().expect("p")];
    args.extend(shards.iter().map(|s| s.to_str().expect("p")));
    let output = grader(&args);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert_eq!(dump(&merged), dump(&whole));
    assert_eq!(
        std::fs::read_to_string(merged.join("grades.csv")).expect("csv"),
        std::fs::read_to_string(whole.join("grades.csv")).expect("csv")
    );

    // A student in two shards is refused, naming both.
    let s = shards
        .iter()
        .find(|s| count(s, "SELECT count(*) FROM students") > 0)
        .expect("a shard");
    let output = grader(&[
        "merge",
        "--out",
        tmp.path().join("twice").to_str().expect("p"),
        s.to_str().expect("p"),
        s.to_str().expect("p"),
    ]);
    assert_eq!(output.status.code(), Some(4));
    assert!(
        text(&output.stderr).contains("is in both"),
        "{}",
        text(&output.stderr)
    );
    // A gradebook holds one shard: another shard into the same folder is a usage error.
    let output = grader(&[
        "batch",
        cohort().to_str().expect("p"),
        "--out",
        shards[0].to_str().expect("p"),
        "--shard",
        "2/4",
    ]);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output.stderr));
    assert!(text(&output.stderr).contains("holds the gradebook of shard 1/4"));
}

#[test]
fn ta_marks_are_imported_checked_line_by_line_and_counted_in_totals() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("grades");
    batch(Path::new(ROOT), &cohort(), &out, &[]);
    let manual = csv_rows(&out.join("manual.csv"));
    let header = manual[0].clone();
    let at = |name: &str| header.iter().position(|h| h == name).expect("column");
    let ada: Vec<&Vec<String>> = manual.iter().filter(|r| r[0] == "ada").collect();
    assert!(ada.len() >= 2);

    // A file with four bad lines: nothing is imported, each line is named.
    let mut bad = csv::Writer::from_writer(Vec::new());
    bad.write_record(&header).expect("w");
    let mut r = ada[0].clone();
    r[at("points")] = "999".into();
    bad.write_record(&r).expect("w");
    let mut r = ada[1].clone();
    r[at("points")] = "lots".into();
    bad.write_record(&r).expect("w");
    let mut r = ada[0].clone();
    r[at("student")] = "adaa".into();
    r[at("points")] = "1".into();
    bad.write_record(&r).expect("w");
    let mut r = ada[0].clone();
    r[at("item")] = "q99.9".into();
    r[at("points")] = "1".into();
    bad.write_record(&r).expect("w");
    let bad_file = tmp.path().join("bad.csv");
    std::fs::write(&bad_file, bad.into_inner().expect("csv")).expect("write");
    let output = grader(&[
        "import",
        bad_file.to_str().expect("p"),
        "--out",
        out.to_str().expect("p"),
    ]);
    let err = text(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{err}");
    for line in ["row 2:", "row 3 (", "row 4 (", "row 5 ("] {
        assert!(err.contains(line), "{line} in {err}");
    }
    assert!(
        err.contains("outside 0–") && err.contains("not a number"),
        "{err}"
    );
    assert!(err.contains("did you mean `ada`"), "{err}");
    assert!(err.contains("no manual item `q99.9`"), "{err}");
    assert_eq!(count(&out, "SELECT count(*) FROM manual_marks"), 0);

    // Full marks on the first, 1 point on the second, the rest left blank.
    let mut good = csv::Writer::from_writer(Vec::new());
    good.write_record(&header).expect("w");
    let max0: f64 = ada[0][at("max_points")].parse().expect("max");
    for (i, r) in manual.iter().skip(1).enumerate() {
        let mut r = r.clone();
        if r[0] == "ada"
            && i == manual
                .iter()
                .skip(1)
                .position(|x| x[0] == "ada")
                .expect("i")
        {
            r[at("points")] = ada[0][at("max_points")].clone();
            r[at("comment")] = "=clear and complete".into();
        } else if r == *ada[1] {
            r[at("points")] = "1".into();
        }
        good.write_record(&r).expect("w");
    }
    let good_file = tmp.path().join("good.csv");
    std::fs::write(&good_file, good.into_inner().expect("csv")).expect("write");
    let output = grader(&[
        "import",
        good_file.to_str().expect("p"),
        "--out",
        out.to_str().expect("p"),
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert!(
        text(&output.stdout).contains("2 marks written"),
        "{}",
        text(&output.stdout)
    );
    let rows = csv_rows(&out.join("grades.csv"));
    let ada_row = row(&rows, "ada");
    assert_eq!(
        ada_row[1].parse::<f64>().expect("score"),
        322.0 + max0 + 1.0
    );
    let max1: f64 = ada[1][at("max_points")].parse().expect("max");
    assert_eq!(
        ada_row[3].parse::<f64>().expect("pending"),
        40.0 - max0 - max1
    );
    // The TA's comment is kept as written, and a formula never reaches a spreadsheet.
    let manual = std::fs::read_to_string(out.join("manual.csv")).expect("manual");
    assert!(manual.contains(",'=clear and complete,"), "{manual}");
    let gs = std::fs::read_to_string(out.join("gradescope/ada/results.json")).expect("gs");
    assert!(gs.contains("marked by a TA: =clear and complete"), "{gs}");
    // Importing the same file again changes nothing.
    let output = grader(&[
        "import",
        good_file.to_str().expect("p"),
        "--out",
        out.to_str().expect("p"),
    ]);
    assert!(
        text(&output.stdout).contains("0 marks written"),
        "{}",
        text(&output.stdout)
    );
}

#[test]
fn a_broken_student_folder_never_stops_the_run() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let students = tmp.path().join("cohort");
    copy_dir(&cohort().join("ada"), &students.join("ada"));
    std::os::unix::fs::symlink(cohort().join("ben"), students.join("mallory")).expect("symlink");
    std::fs::write(students.join("roster.txt"), "ada\nmallory\n").expect("write");
    std::fs::create_dir(students.join("zed")).expect("mkdir");
    let out = tmp.path().join("grades");
    let (report, output) = batch(Path::new(ROOT), &students, &out, &[]);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    let failed = &report["run"]["failed"];
    assert_eq!(failed.as_array().map(Vec::len), Some(1), "{failed}");
    assert_eq!(failed[0][0], "mallory");
    assert!(
        failed[0][1]
            .as_str()
            .expect("why")
            .contains("symbolic link")
    );
    assert_eq!(report["run"]["skipped"], serde_json::json!(["roster.txt"]));
    let rows = csv_rows(&out.join("grades.csv"));
    assert_eq!(row(&rows, "ada")[1], "322");
    assert!(row(&rows, "mallory")[4].starts_with("not graded: "));
    assert_eq!(
        row(&rows, "zed")[1],
        "0",
        "an empty folder is a student with nothing handed in"
    );
    assert!(!out.join("gradescope/mallory").exists());
}

#[test]
fn one_writer_at_a_time_per_output_folder() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("grades");
    std::fs::create_dir_all(&out).expect("mkdir");
    let held = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(out.join("gradebook.lock"))
        .expect("open");
    held.try_lock().expect("lock");
    let output = grader(&[
        "batch",
        cohort().to_str().expect("p"),
        "--out",
        out.to_str().expect("p"),
    ]);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output.stderr));
    assert!(text(&output.stderr).contains("another grader is writing to"));
    assert!(!out.join("gradebook.sqlite").exists(), "nothing written");
    drop(held);
}
