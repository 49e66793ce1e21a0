//! What CI gets: JUnit, GitHub Actions annotations and job summary, a score gate, JSON
//! errors, a pinned course, completions and a man page.

use std::path::Path;
use std::process::{Command, Output};

use super::{ROOT, fixtures, grader, module, text};

fn grader_env(args: &[&str], envs: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_grader"))
        .args(args)
        .current_dir(ROOT)
        .env_remove("GRADER_COURSE")
        .env_remove("GITHUB_ACTIONS")
        .env_remove("GITHUB_STEP_SUMMARY")
        .envs(envs.iter().copied())
        .output()
        .expect("running grader")
}

fn student(name: &str) -> String {
    fixtures();
    Path::new(ROOT)
        .join("target/cohort")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

#[test]
fn junit_reports_parse_with_a_real_junit_parser_and_hide_hidden_cases() {
    let wrong = module("q2_3_flipped");
    let out = grader(&[
        "test",
        "q2.3",
        wrong.to_str().expect("p"),
        "--format",
        "junit",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let suites = junit_parser::from_reader(std::io::Cursor::new(out.stdout.clone()))
        .unwrap_or_else(|e| panic!("not JUnit: {e}\n{}", text(&out.stdout)));
    assert_eq!(suites.suites.len(), 1);
    let suite = &suites.suites[0];
    assert!(suite.name.starts_with("q2.3 "), "{}", suite.name);
    let (problem, _) = super::staff_report("q2.3", "q2_3_flipped");
    assert_eq!(suite.cases.len(), problem.cases.len());
    assert!(suite.failures > 0);
    let xml = text(&out.stdout);
    for case in problem.cases.iter().filter(|c| c.visibility == "hidden") {
        assert!(
            !xml.contains(&format!("\"{}\"", case.name)),
            "hidden name {} in JUnit",
            case.name
        );
    }
    let names: Vec<&str> = suite.cases.iter().map(|c| c.name.as_str()).collect();
    assert!(names.iter().any(|n| n.contains("hidden-1")), "{names:?}");

    let out = grader(&["grade", &student("ben"), "--format", "junit"]);
    assert_eq!(out.status.code(), Some(1));
    let suites = junit_parser::from_reader(std::io::Cursor::new(out.stdout.clone()))
        .unwrap_or_else(|e| panic!("not JUnit: {e}\n{}", text(&out.stdout)));
    assert_eq!(
        suites.suites.len(),
        25 + 1,
        "a suite per problem and one for answers.toml"
    );
    let answers = suites
        .suites
        .iter()
        .find(|s| s.name == "answers.toml")
        .expect("answers");
    assert_eq!(answers.cases.len(), 35);
    assert!(answers.skipped > 0, "pending manual answers are skipped");
}

#[test]
fn under_github_actions_annotations_go_to_stderr_and_a_summary_to_the_step_summary() {
    let dir = tempfile::tempdir().expect("tempdir");
    let summary = dir.path().join("summary.md");
    let wrong = module("q2_3_flipped");
    let out = grader_env(
        &["test", "q2.3", wrong.to_str().expect("p")],
        &[
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_STEP_SUMMARY", summary.to_str().expect("p")),
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.lines().any(|l| l.starts_with("::error title=q2.3 ")),
        "{stderr}"
    );
    assert!(
        stderr
            .lines()
            .any(|l| l.starts_with("::notice title=q2.3 score::")),
        "{stderr}"
    );
    assert!(
        !text(&out.stdout).contains("::error"),
        "stdout stays the report"
    );
    let md = std::fs::read_to_string(&summary).expect("summary written");
    assert!(md.starts_with("### q2.3 Valid 2-D convolution: "), "{md}");
    assert!(md.contains("| ❌ | hidden-1 | hidden |"), "{md}");
    // Outside Actions: neither.
    let out = grader(&["test", "q2.3", wrong.to_str().expect("p")]);
    assert!(!text(&out.stderr).contains("::error"));

    let out = grader_env(
        &["grade", &student("ben")],
        &[
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_STEP_SUMMARY", summary.to_str().expect("p")),
        ],
    );
    assert!(
        text(&out.stderr).contains("::notice title=ben total::173.5/362"),
        "{}",
        text(&out.stderr)
    );
    let md = std::fs::read_to_string(&summary).expect("summary appended");
    assert!(md.contains("### ben: 173.5/362"), "{md}");
}

#[test]
fn min_score_makes_the_exit_code_the_gate() {
    let ben = student("ben"); // 173.5 of 362 (47.9%)
    for (min, code) in [("150", 0), ("173.5", 0), ("174", 1), ("47%", 0), ("48%", 1)] {
        let out = grader(&["grade", &ben, "--min-score", min]);
        assert_eq!(out.status.code(), Some(code), "--min-score {min}");
    }
    let wrong = module("q2_3_flipped");
    let out = grader(&[
        "test",
        "q2.3",
        wrong.to_str().expect("p"),
        "--min-score",
        "0",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let out = grader(&[
        "test",
        "q2.3",
        wrong.to_str().expect("p"),
        "--min-score",
        "150%",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("not a score"));
}

fn json_error(out: &Output) -> serde_json::Value {
    let value: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}{}",
            text(&out.stdout),
            text(&out.stderr)
        )
    });
    assert_eq!(
        value["error"]["exit_code"].as_i64().map(|c| c as i32),
        out.status.code()
    );
    value
}

#[test]
fn errors_are_json_on_stdout_when_json_is_asked_for() {
    let out = grader(&["test", "q9.9", "x.wasm", "--format", "json"]);
    assert_eq!(out.status.code(), Some(2));
    let e = json_error(&out);
    assert_eq!(e["error"]["kind"], "usage");
    assert!(
        e["error"]["message"]
            .as_str()
            .expect("message")
            .contains("no code problem `q9.9`")
    );
    assert!(
        text(&out.stderr).contains("error:"),
        "people still get the text"
    );

    let out = grader(&["test", "q2.3", "--format", "json", "--frobnicate"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(json_error(&out)["error"]["kind"], "usage");

    let out = grader(&["test", "q2.3", "/nonexistent/x.wasm", "--format=json"]);
    assert_eq!(out.status.code(), Some(4));
    assert_eq!(json_error(&out)["error"]["kind"], "failure");

    let out = grader(&["--course", "/", "grade", "x", "--format", "json"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(json_error(&out)["error"]["kind"], "usage");
}

#[test]
fn a_pinned_digest_fails_before_grading_when_the_course_differs() {
    let digest = text(&grader(&["digest"]).stdout);
    let digest = digest.split_whitespace().next().expect("sha").to_string();
    assert!(digest.starts_with("sha256:"));
    let reference = module("q2_3");
    let out = grader(&[
        "test",
        "q2.3",
        reference.to_str().expect("p"),
        "--expect-digest",
        &digest,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let bare = digest.trim_start_matches("sha256:");
    let out = grader(&[
        "--expect-digest",
        bare,
        "test",
        "q2.3",
        reference.to_str().expect("p"),
    ]);
    assert_eq!(out.status.code(), Some(0), "the prefix is optional");
    let other = format!("sha256:{}", "0".repeat(64));
    let out = grader(&[
        "test",
        "q2.3",
        reference.to_str().expect("p"),
        "--expect-digest",
        &other,
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(3));
    let e = json_error(&out);
    assert_eq!(e["error"]["kind"], "invalid_spec");
    assert!(
        e["error"]["message"]
            .as_str()
            .expect("m")
            .contains("not the pinned")
    );
    assert!(
        !text(&out.stdout).contains("\"cases\""),
        "nothing was graded"
    );
}

#[test]
fn completions_and_a_man_page_come_from_the_command_line_definition() {
    for shell in ["bash", "zsh", "fish"] {
        let out = grader_env(&["--course", "/nonexistent", "completions", shell], &[]);
        assert_eq!(out.status.code(), Some(0), "{shell}: {}", text(&out.stderr));
        let script = text(&out.stdout);
        assert!(
            script.contains("grader") && script.contains("batch") && script.contains("min-score"),
            "{shell}"
        );
    }
    let out = grader(&["man"]);
    assert_eq!(out.status.code(), Some(0));
    let page = text(&out.stdout);
    assert!(
        page.starts_with(".ie") || page.contains(".TH grader"),
        "{}",
        &page[..page.len().min(200)]
    );
    assert!(
        page.contains("Exit codes"),
        "the man page carries the exit codes"
    );
}
