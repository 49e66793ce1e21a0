//! `grader init` and `grader build` through the real binary: a fresh kit of each language
//! builds, every case of every code problem is graded and none is accepted (the starters print
//! well-formed wrong answers: never a crash, never invalid output), and a right solution
//! dropped into a starter is accepted on every case.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use grader::spec::Course;

use super::{ROOT, fixtures, grader, text};

/// The students' road: `grader export --students <tmp>/course`, then
/// `grader --course <tmp>/course init <tmp>/kit --lang <lang>`; returns the temp folder and
/// the kit's path.
fn init(lang: &str) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let course = tmp.path().join("course");
    let out = grader(&["export", "--students", course.to_str().expect("p")]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let kit = tmp.path().join("kit");
    let out = grader(&[
        "--course",
        course.to_str().expect("p"),
        "init",
        kit.to_str().expect("p"),
        "--lang",
        lang,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("25 starters"),
        "{}",
        text(&out.stdout)
    );
    (tmp, kit)
}

fn build(kit: &Path, env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_grader"));
    command
        .args(["build", kit.to_str().expect("p")])
        .current_dir(ROOT)
        .env_remove("GRADER_COURSE");
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().expect("grader build")
}

/// `grader grade <kit>/handin --format json`, with its exit code.
fn grade(kit: &Path) -> (serde_json::Value, Option<i32>) {
    let out = grader(&[
        "grade",
        kit.join("handin").to_str().expect("p"),
        "--format",
        "json",
    ]);
    let report = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}\n{}{}", text(&out.stdout), text(&out.stderr)));
    (report, out.status.code())
}

/// The verdicts of `grader test <id> <module>`, with its exit code.
fn test_verdicts(id: &str, module: &Path) -> (Vec<String>, Option<i32>) {
    let out = grader(&["test", id, module.to_str().expect("p"), "--format", "json"]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}\n{}{}", text(&out.stdout), text(&out.stderr)));
    let verdicts = report["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .map(|c| c["verdict"].as_str().expect("verdict").to_string())
        .collect();
    (verdicts, out.status.code())
}

/// Every code problem has a result, every case graded, and each one is a wrong answer.
fn assert_all_wrong_answers(kit: &Path) {
    let (report, code) = grade(kit);
    assert_eq!(code, Some(1), "{report}");
    let course = Course::load(Path::new(ROOT)).expect("course");
    let ids = course.code_ids();
    assert_eq!(ids.len(), 25);
    let problems = report["problems"].as_array().expect("problems");
    for id in &ids {
        let entry = problems
            .iter()
            .find(|p| p["problem"] == id.as_str())
            .unwrap_or_else(|| panic!("{id} is not in the report"));
        let result = &entry["result"];
        assert!(result.is_object(), "{id} has no result: {entry}");
        assert!(
            result["invalid_submission"].is_null(),
            "{id}: {}",
            result["invalid_submission"]
        );
        let cases = result["cases"].as_array().expect("cases");
        let expected = course.problem(id).expect("problem").cases.len();
        assert_eq!(cases.len(), expected, "{id}: not every case graded");
        for case in cases {
            assert_eq!(
                case["verdict"], "wrong_answer",
                "{id} case {}: {}",
                case["name"], case["message"]
            );
        }
    }
    let missing_code = report["missing"]
        .as_array()
        .expect("missing")
        .iter()
        .filter(|m| m["kind"] == "code")
        .count();
    assert_eq!(missing_code, 0, "{}", report["missing"]);
    assert!(kit.join("handin/answers.toml").is_file());
}

/// Replaces a starter with `source`, rebuilds, and checks the problem is accepted on every case.
fn assert_solution_accepted(kit: &Path, id: &str, file: &str, source: &str) {
    std::fs::write(kit.join(file), source).expect("write solution");
    let out = build(kit, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let ext = if file.ends_with(".py") { "py" } else { "wasm" };
    let (verdicts, code) = test_verdicts(id, &kit.join(format!("handin/{id}.{ext}")));
    assert!(
        !verdicts.is_empty() && verdicts.iter().all(|v| v == "accepted"),
        "{id}: {verdicts:?}"
    );
    assert_eq!(code, Some(0));
}

/// A starter that does not compile: reported, its stale module removed, the others built.
fn assert_broken_starter_is_reported(kit: &Path, file: &str) {
    let path = kit.join(file);
    let source = std::fs::read_to_string(&path).expect("read starter");
    std::fs::write(&path, source + "\nthis does not compile\n").expect("write");
    let out = build(kit, &[]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("did not build: q2.3"), "{stdout}");
    assert!(
        text(&out.stderr).contains("error"),
        "the compiler's messages: {}",
        text(&out.stderr)
    );
    assert!(!kit.join("handin/q2.3.wasm").exists());
    assert!(kit.join("handin/q1.1.wasm").is_file());
    assert!(kit.join("handin/q12.3.wasm").is_file());
}

/// A Python file with a syntax error is copied all the same (nothing is compiled); grading
/// reports it as its problem's `invalid_submission`, with the line, and grades the others.
fn assert_syntax_error_is_graded(kit: &Path, file: &str) {
    let path = kit.join(file);
    let source = std::fs::read_to_string(&path).expect("read starter");
    // A colon missing, as people do.
    std::fs::write(&path, source + "\nif True\n    pass\n").expect("write");
    let out = build(kit, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(kit.join("handin/q2.3.py").is_file());
    let (report, code) = grade(kit);
    assert_eq!(code, Some(1), "{report}");
    let problems = report["problems"].as_array().expect("problems");
    let result = |id: &str| {
        problems
            .iter()
            .find(|p| p["problem"] == id)
            .map(|p| p["result"].clone())
            .unwrap_or_else(|| panic!("{id} is not in the report"))
    };
    let broken = result("q2.3");
    let message = broken["invalid_submission"].as_str().unwrap_or_default();
    assert!(
        message.contains("SyntaxError") && message.contains("line"),
        "{broken}"
    );
    let verdicts = |id: &str| -> Vec<String> {
        result(id)["cases"]
            .as_array()
            .expect("cases")
            .iter()
            .map(|c| c["verdict"].as_str().unwrap_or_default().to_string())
            .collect()
    };
    let solved = verdicts("q1.1");
    assert!(
        !solved.is_empty() && solved.iter().all(|v| v == "accepted"),
        "{solved:?}"
    );
    let starter = verdicts("q12.3");
    assert!(
        !starter.is_empty() && starter.iter().all(|v| v == "wrong_answer"),
        "{starter:?}"
    );
}

const RUST_Q1_1: &str = r#"
fn main() {
    let input = kit_io::read_input();
    let w = input.vec("w");
    let b = input.float("b");
    let x = input.vec("x");
    let z = w.iter().zip(&x).map(|(w, x)| w * x).sum::<f64>() + b;
    let mut out = kit_io::Output::new();
    out.float("z", z).float("a", 1.0 / (1.0 + (-z).exp()));
    kit_io::write_output(&out);
}
"#;

const RUST_Q4_3: &str = r#"
fn main() {
    let n = kit_io::read_input().int("n");
    let mask: Vec<Vec<f64>> = (0..n)
        .map(|i| (0..n).map(|j| if j <= i { 0.0 } else { f64::NEG_INFINITY }).collect())
        .collect();
    let mut out = kit_io::Output::new();
    out.mat("mask", &mask);
    kit_io::write_output(&out);
}
"#;

const C_Q1_1: &str = r#"
#include <math.h>
#include "json.h"

int main(void) {
    Json *in = json_read_stdin();
    size_t w_len, x_len;
    double *w = json_get_vec(in, "w", &w_len);
    double b = json_get_float(in, "b");
    double *x = json_get_vec(in, "x", &x_len);
    double z = b;
    for (size_t i = 0; i < w_len && i < x_len; i++) z += w[i] * x[i];
    Json *out = json_new_object();
    json_set(out, "z", json_new_float(z));
    json_set(out, "a", json_new_float(1.0 / (1.0 + exp(-z))));
    json_write_stdout(out);
    return 0;
}
"#;

const C_Q4_3: &str = r#"
#include <math.h>
#include "json.h"

int main(void) {
    long long n = json_get_int(json_read_stdin(), "n");
    Json *mask = json_new_array();
    for (long long i = 0; i < n; i++) {
        Json *row = json_new_array();
        for (long long j = 0; j < n; j++) json_push(row, json_new_float(j <= i ? 0.0 : -INFINITY));
        json_push(mask, row);
    }
    Json *out = json_new_object();
    json_set(out, "mask", mask);
    json_write_stdout(out);
    return 0;
}
"#;

#[test]
fn a_rust_kit_builds_grades_wrong_and_accepts_a_solution() {
    let (_tmp, kit) = init("rust");
    for file in [
        "Cargo.toml",
        "Cargo.lock",
        "io/src/lib.rs",
        "q2_3/src/main.rs",
    ] {
        assert!(kit.join(file).is_file(), "{file}");
    }
    let stub = std::fs::read_to_string(kit.join("q2_3/src/main.rs")).expect("stub");
    assert!(stub.contains("Valid 2-D convolution") && stub.contains("grader show q2.3"));
    let out = build(&kit, &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    // One workspace build in the kit's own target folder, whatever CARGO_TARGET_DIR says.
    assert!(kit.join("target/wasm32-wasip1/release/q2_3.wasm").is_file());
    assert_all_wrong_answers(&kit);
    assert_solution_accepted(&kit, "q1.1", "q1_1/src/main.rs", RUST_Q1_1);
    assert_solution_accepted(&kit, "q4.3", "q4_3/src/main.rs", RUST_Q4_3);
    assert_broken_starter_is_reported(&kit, "q2_3/src/main.rs");
}

#[test]
fn a_c_kit_builds_grades_wrong_and_accepts_a_solution() {
    // scripts/build-fixtures installs clang-19 and wasi-libc; without them this test fails
    // rather than skips.
    fixtures();
    let clang = Command::new("clang-19").arg("--version").output();
    assert!(
        clang.is_ok_and(|o| o.status.success()),
        "clang-19 is needed for the C kit (apt-get install clang-19 lld-19 libclang-rt-19-dev-wasm32 wasi-libc)"
    );
    assert!(
        Path::new("/usr/lib/wasm32-wasi/libc.a").is_file(),
        "wasi-libc is needed for the C kit (apt-get install wasi-libc)"
    );
    let (_tmp, kit) = init("c");
    for file in ["Makefile", "json.h", "json.c", "q2_3.c"] {
        assert!(kit.join(file).is_file(), "{file}");
    }
    let out = build(&kit, &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert_all_wrong_answers(&kit);
    assert_solution_accepted(&kit, "q1.1", "q1_1.c", C_Q1_1);
    assert_solution_accepted(&kit, "q4.3", "q4_3.c", C_Q4_3);
    assert_broken_starter_is_reported(&kit, "q2_3.c");
}

#[test]
fn a_python_kit_is_copied_grades_wrong_and_accepts_a_solution() {
    let (_tmp, kit) = init("python");
    for file in ["pyproject.toml", "q1_1.py", "q2_3.py", "q12_3.py"] {
        assert!(kit.join(file).is_file(), "{file}");
    }
    let stub = std::fs::read_to_string(kit.join("q2_3.py")).expect("stub");
    assert!(
        stub.contains("Valid 2-D convolution")
            && stub.contains("grader show q2.3")
            && stub.contains("kit helpers")
            && stub.contains("data = json.load(sys.stdin)")
    );
    // Nothing to compile, so nothing on PATH is needed: the grader runs the files itself.
    let out = build(&kit, &[("PATH", "/nonexistent")]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("copied all 25 problems"), "{stdout}");
    let copy = std::fs::read_to_string(kit.join("handin/q2.3.py")).expect("handin/q2.3.py");
    assert_eq!(copy, stub, "copied as it is");
    assert_all_wrong_answers(&kit);

    // A module left in the hand-in would be graded instead of the Python file: build removes it.
    std::fs::write(kit.join("handin/q1.1.wasm"), "stale").expect("write");
    let reference = std::fs::read_to_string(Path::new(ROOT).join("fixtures/python/py_q1_1.py"))
        .expect("fixtures/python/py_q1_1.py");
    assert_solution_accepted(&kit, "q1.1", "q1_1.py", &reference);
    assert!(!kit.join("handin/q1.1.wasm").exists());
    // A solution written in the starter, through its helpers: numpy arrays and -inf.
    let starter = std::fs::read_to_string(kit.join("q4_3.py")).expect("q4_3.py");
    let placeholder = "mask = np.full((n, n), np.nan)";
    assert!(starter.contains(placeholder), "{starter}");
    let solution = starter.replace(placeholder, "mask = np.triu(np.full((n, n), -np.inf), k=1)");
    assert_solution_accepted(&kit, "q4.3", "q4_3.py", &solution);
    assert_syntax_error_is_graded(&kit, "q2_3.py");
}

#[test]
fn a_missing_toolchain_is_named_with_the_command_that_installs_it() {
    let (_tmp, kit) = init("c");
    let out = build(&kit, &[("CC", "clang-that-is-not-there")]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    assert!(
        stderr.contains("clang-that-is-not-there")
            && stderr.contains("apt-get install -y --no-install-recommends clang-19"),
        "{stderr}"
    );
    assert!(!kit.join("handin").exists(), "nothing is built");

    let (_tmp, kit) = init("rust");
    // No cargo on PATH.
    let out = build(&kit, &[("PATH", "/nonexistent")]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    assert!(
        stderr.contains("rustup target add wasm32-wasip1"),
        "{stderr}"
    );
}

#[test]
fn init_refuses_a_folder_that_is_not_empty_and_build_a_folder_that_is_not_a_kit() {
    let tmp = tempfile::tempdir().expect("tempdir");
    std::fs::write(tmp.path().join("notes.txt"), "mine").expect("write");
    let out = grader(&["init", tmp.path().to_str().expect("p"), "--lang", "rust"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("is not empty"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(
        std::fs::read_dir(tmp.path()).expect("dir").count(),
        1,
        "nothing written"
    );
    let out = build(tmp.path(), &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("is not a kit"),
        "{}",
        text(&out.stderr)
    );
    // A pyproject.toml of some other project does not make a Python kit.
    std::fs::write(tmp.path().join("pyproject.toml"), "[tool.ruff]\n").expect("write");
    let out = build(tmp.path(), &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("is not a kit"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_kit_holds_no_case_and_no_key() {
    let (_tmp, kit) = init("rust");
    let (_tmp_c, kit_c) = init("c");
    let (_tmp_python, kit_python) = init("python");
    let mut all = String::new();
    for dir in [&kit, &kit_c, &kit_python] {
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            for entry in std::fs::read_dir(&d).expect("dir") {
                let path = entry.expect("entry").path();
                if path.is_dir() {
                    stack.push(path);
                } else {
                    all += &std::fs::read_to_string(&path).expect("text");
                }
            }
        }
    }
    // Case names and data of q2.3, and answer keys, appear nowhere.
    for secret in [
        "sheet-example",
        "asymmetric-kernel",
        "73856",
        "0.5498",
        "-4, -4",
    ] {
        assert!(!all.contains(secret), "the kit holds `{secret}`");
    }
}
