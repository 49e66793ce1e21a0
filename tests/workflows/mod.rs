//! The two shipped workflows, run locally: every `run:` step as written, from a clean folder,
//! with GitHub's checkouts and installs replaced by local copies of the same things.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use super::{ROOT, fixtures, text};

/// The steps of a workflow: (name, script) for each step with `run:`, in order, and the
/// top-level `env:`. Enough YAML for the two files we ship (block scalars and plain lines).
fn steps(yaml: &str) -> (Vec<(String, String)>, BTreeMap<String, String>) {
    let lines: Vec<&str> = yaml.lines().collect();
    let indent = |l: &str| l.len() - l.trim_start().len();
    let mut steps = Vec::new();
    let mut env = BTreeMap::new();
    let mut name = String::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let trimmed = line.trim_start();
        if line == "env:" {
            i += 1;
            while i < lines.len() && (lines[i].starts_with("  ") || lines[i].trim().is_empty()) {
                let l = lines[i].trim();
                if let Some((k, v)) = l.split_once(": ")
                    && !l.starts_with('#')
                {
                    env.insert(k.to_string(), v.trim_matches('"').to_string());
                }
                i += 1;
            }
            continue;
        }
        if let Some(n) = trimmed.strip_prefix("- name: ") {
            name = n.to_string();
        }
        if let Some(rest) = trimmed.strip_prefix("run:") {
            let rest = rest.trim();
            if rest == "|" {
                let base = indent(lines[i + 1]);
                let mut script = String::new();
                i += 1;
                while i < lines.len() && (lines[i].trim().is_empty() || indent(lines[i]) >= base) {
                    script += lines[i].get(base..).unwrap_or("");
                    script.push('\n');
                    i += 1;
                }
                steps.push((name.clone(), script));
                continue;
            }
            // `defaults: run: shell: bash` is a mapping, not a step.
            if !rest.is_empty() {
                steps.push((name.clone(), rest.to_string()));
            }
        }
        i += 1;
    }
    (steps, env)
}

/// Runs a step's script as Actions does with `shell: bash` (`bash -e -o pipefail`).
fn run_step(script: &str, dir: &Path, env: &BTreeMap<String, String>, summary: &Path) -> Output {
    let grader_dir = Path::new(env!("CARGO_BIN_EXE_grader"))
        .parent()
        .expect("bin dir")
        .to_path_buf();
    let path = format!(
        "{}:{}",
        grader_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    Command::new("bash")
        .args([
            "--noprofile",
            "--norc",
            "-e",
            "-o",
            "pipefail",
            "-c",
            script,
        ])
        .current_dir(dir)
        .env_remove("GRADER_COURSE")
        .env_remove("CARGO_TARGET_DIR")
        .envs(env)
        .env("PATH", path)
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_STEP_SUMMARY", summary)
        .output()
        .expect("bash")
}

fn grader_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_grader"))
        .args(args)
        .current_dir(dir)
        .env_remove("GRADER_COURSE")
        .output()
        .expect("grader")
}

/// A student's repository as `grader init --lang <lang>` makes it from the students' copy of
/// the course (left in `root/student-course`).
fn student_repo(root: &Path, lang: &str) -> PathBuf {
    let course = root.join("student-course");
    let out = grader_in(
        Path::new(ROOT),
        &["export", "--students", course.to_str().expect("p")],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let repo = root.join("student");
    let out = grader_in(
        Path::new(ROOT),
        &[
            "--course",
            course.to_str().expect("p"),
            "init",
            repo.to_str().expect("p"),
            "--lang",
            lang,
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    repo
}

#[test]
fn the_students_workflow_runs_as_shipped() {
    fixtures();
    students_workflow_runs(
        "rust",
        &[
            "Install the toolchain",
            "Install grader",
            "Get the course",
            "Build every problem into handin/",
            "Grade the hand-in on the sample cases",
        ],
    );
}

/// The Python kit's workflow also installs the Python runtime (and caches it per grader).
#[test]
fn the_students_python_workflow_runs_as_shipped() {
    students_workflow_runs(
        "python",
        &[
            "Install the toolchain",
            "Install grader",
            "Which grader",
            "Install the Python runtime",
            "Get the course",
            "Build every problem into handin/",
            "Grade the hand-in on the sample cases",
        ],
    );
}

/// Runs the steps of a `lang` kit's check.yml from "Get the course" on (the installs before it
/// need the network; here they are in place), with the students' copy of the course where the
/// workflow clones it.
fn students_workflow_runs(lang: &str, expected_steps: &[&str]) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let repo = student_repo(tmp.path(), lang);
    let yaml = std::fs::read_to_string(repo.join(".github/workflows/check.yml")).expect("workflow");
    let (steps, env) = steps(&yaml);
    let names: Vec<&str> = steps.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, expected_steps);
    // "Get the course": the students' copy, where the workflow puts it.
    let course = repo.join(&env["GRADER_COURSE"]);
    let copy = Command::new("cp")
        .args(["-r"])
        .arg(tmp.path().join("student-course"))
        .arg(&course)
        .status()
        .expect("cp");
    assert!(copy.success());
    let summary = tmp.path().join("summary.md");
    let installs = names
        .iter()
        .position(|n| *n == "Get the course")
        .expect("a step gets the course");
    for (name, script) in steps.iter().skip(installs + 1) {
        let out = run_step(script, &repo, &env, &summary);
        let expected = if name.starts_with("Grade") { 1 } else { 0 };
        assert_eq!(
            out.status.code(),
            Some(expected),
            "step `{name}`:\n{script}\n{}{}",
            text(&out.stdout),
            text(&out.stderr)
        );
        if name.starts_with("Grade") {
            assert!(
                text(&out.stderr).contains("::warning title=q2.3 "),
                "annotations"
            );
        }
    }
    let junit = std::fs::read(repo.join("grader-junit.xml")).expect("junit written");
    let suites = junit_parser::from_reader(std::io::Cursor::new(junit)).expect("JUnit");
    assert_eq!(suites.suites.len(), 25 + 1);
    // (Sample cases may say "hidden": q3.1's `two-hidden-three-inputs` is about hidden units.)
    let hidden: Vec<&str> = suites
        .suites
        .iter()
        .flat_map(|s| &s.cases)
        .map(|c| c.name.as_str())
        .filter(|n| n.contains("hidden-") && n.ends_with(|c: char| c.is_ascii_digit()))
        .collect();
    assert!(
        hidden.is_empty(),
        "the students' copy has no hidden case: {hidden:?}"
    );
    let md = std::fs::read_to_string(&summary).expect("job summary");
    assert!(md.contains("| q2.3 "), "{md}");
}

#[test]
fn the_staff_workflow_runs_as_shipped() {
    fixtures();
    let tmp = tempfile::tempdir().expect("tempdir");
    let student = student_repo(tmp.path(), "rust");
    let work = tmp.path().join("runner");
    std::fs::create_dir_all(&work).expect("mkdir");
    std::os::unix::fs::symlink(&student, work.join("student")).expect("student checkout");
    std::os::unix::fs::symlink(ROOT, work.join("staff")).expect("staff checkout");
    let yaml = std::fs::read_to_string(
        Path::new(ROOT).join("examples/github-actions/grade-submission.yml"),
    )
    .expect("workflow");
    let (steps, mut env) = steps(&yaml);
    let names: Vec<&str> = steps.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "Install the toolchains",
            "Install grader",
            "Check the course",
            "Build the student's hand-in",
            "Grade"
        ]
    );
    let digest = text(&grader_in(Path::new(ROOT), &["digest"]).stdout);
    let digest = digest
        .split_whitespace()
        .next()
        .expect("digest")
        .to_string();
    env.insert("COURSE_DIGEST".into(), digest);
    let summary = tmp.path().join("summary.md");
    for (name, script) in steps.iter().skip(2) {
        let out = run_step(script, &work, &env, &summary);
        assert_eq!(
            out.status.code(),
            Some(0),
            "step `{name}`:\n{script}\n{}{}",
            text(&out.stdout),
            text(&out.stderr)
        );
    }
    let junit = std::fs::read(work.join("report/junit.xml")).expect("junit");
    let suites = junit_parser::from_reader(std::io::Cursor::new(junit)).expect("JUnit");
    assert!(
        suites
            .suites
            .iter()
            .any(|s| s.cases.iter().any(|c| c.name.contains("hidden-"))),
        "hidden cases graded, as hidden-N"
    );
    let staff: serde_json::Value =
        serde_json::from_slice(&std::fs::read(work.join("report/staff.json")).expect("staff.json"))
            .expect("json");
    assert_eq!(staff["student"], "handin");
    assert!(
        staff.to_string().contains("\"hidden\""),
        "the staff view keeps hidden cases"
    );

    // A course that is not the pinned one stops the run before grading.
    env.insert("COURSE_DIGEST".into(), format!("sha256:{}", "0".repeat(64)));
    let (_, check) = &steps[2];
    let out = run_step(check, &work, &env, &summary);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
}
