//! The real `grader` binary on the fixture submissions: verdicts, exit codes, reports.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use serde::Deserialize;

mod ci;
mod cohort;
mod export;
mod kit;
#[path = "../benches/support/proctree.rs"]
mod proctree;
mod python;
mod workflows;
use proctree::{all_processes, parent_of, tree_resident_bytes};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// The JSON report, locked: a field added or renamed fails these tests.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Report {
    /// What made the report: at the top level only (a `grade` report's problems lack them).
    #[serde(default)]
    schema_version: Option<u32>,
    #[serde(default)]
    grader_version: Option<String>,
    #[serde(default)]
    course_digest: Option<String>,
    problem: String,
    title: String,
    submission: String,
    score: f64,
    max_score: f64,
    invalid_submission: Option<String>,
    cases: Vec<Case>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    visibility: String,
    verdict: String,
    points: f64,
    max_points: f64,
    message: String,
    mismatches: Vec<Mismatch>,
    stderr: Option<String>,
    fuel: Option<u64>,
    time_ms: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Mismatch {
    path: String,
    expected: String,
    got: String,
    abs_error: Option<f64>,
    rel_error: Option<f64>,
    tolerance: Option<String>,
}

impl Report {
    /// The submission's verdict: that of its first case not accepted.
    fn verdict(&self) -> &str {
        self.cases
            .iter()
            .map(|c| c.verdict.as_str())
            .find(|v| *v != "accepted")
            .unwrap_or("accepted")
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expectations {
    fixture: Vec<Expectation>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expectation {
    module: String,
    problem: String,
    verdict: String,
}

/// Builds the fixtures once per test run (the script is incremental) and returns their folder.
fn fixtures() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let status = Command::new("bash")
            .arg(Path::new(ROOT).join("scripts/build-fixtures"))
            .status()
            .expect("running scripts/build-fixtures");
        assert!(status.success(), "scripts/build-fixtures failed");
        let dir = Path::new(ROOT).join("target/fixtures");
        generate(&dir);
        dir
    })
}

/// The modules made here rather than compiled: WAT files and deliberately broken bytes.
fn generate(dir: &Path) {
    let wat_dir = Path::new(ROOT).join("fixtures/wat");
    for entry in std::fs::read_dir(&wat_dir).expect("fixtures/wat") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "wat") {
            let bytes =
                wat::parse_file(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let name = path.file_stem().expect("stem");
            std::fs::write(dir.join(name).with_extension("wasm"), bytes).expect("write wat module");
        }
    }
    // Deterministic noise: the same "random" bytes every run.
    let mut state: u32 = 0x2545_F491;
    let noise: Vec<u8> = (0..4096)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state as u8
        })
        .collect();
    std::fs::write(dir.join("random_bytes.wasm"), noise).expect("write noise");
    std::fs::copy(
        Path::new(ROOT).join("fixtures/rust/src/bin/q2_3.rs"),
        dir.join("source_renamed.wasm"),
    )
    .expect("copy source");
    // A valid header and one 50 MB custom section.
    let size: u32 = 50 << 20;
    let mut huge = b"\0asm\x01\0\0\0\0".to_vec();
    huge.extend(leb(u64::from(size) + 5));
    huge.extend_from_slice(b"\x04huge");
    huge.resize(huge.len() + size as usize, 0);
    std::fs::write(dir.join("huge_module.wasm"), huge).expect("write huge");
    // Compile bombs: valid modules whose shape alone would cost the compiler gigabytes.
    std::fs::write(
        dir.join("many_functions.wasm"),
        module_of(&vec![vec![0x00]; 1_000_000]),
    )
    .expect("write many_functions");
    let mut v128_locals = leb(1);
    v128_locals.extend(leb(50_000));
    v128_locals.push(0x7b);
    std::fs::write(
        dir.join("v128_locals.wasm"),
        module_of(&vec![v128_locals; 5000]),
    )
    .expect("write v128_locals");
    let depth = 3_000_000;
    let mut deep = vec![0x00];
    for _ in 0..depth {
        deep.extend([0x02, 0x40]);
    }
    deep.extend(std::iter::repeat_n(0x0b, depth));
    std::fs::write(dir.join("deep_blocks.wasm"), module_of(&[deep])).expect("write deep_blocks");
    let reference = std::fs::read(dir.join("q2_3.wasm")).expect("q2_3.wasm");
    std::fs::write(
        dir.join("truncated.wasm"),
        &reference[..reference.len() / 2],
    )
    .expect("write truncated");
}

fn leb(mut n: u64) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        out.push(if n == 0 { byte } else { byte | 0x80 });
        if n == 0 {
            return out;
        }
    }
}

/// A module of functions `() -> ()` whose bodies are `bodies` (locals and code, without the
/// final `end`), the first exported as `_start`.
fn module_of(bodies: &[Vec<u8>]) -> Vec<u8> {
    let section = |id: u8, contents: Vec<u8>| {
        let mut s = vec![id];
        s.extend(leb(contents.len() as u64));
        s.extend(contents);
        s
    };
    let mut functions = leb(bodies.len() as u64);
    functions.extend(std::iter::repeat_n(0x00, bodies.len()));
    let mut code = leb(bodies.len() as u64);
    for body in bodies {
        code.extend(leb(body.len() as u64 + 1));
        code.extend(body);
        code.push(0x0b);
    }
    let mut module = b"\0asm\x01\0\0\0".to_vec();
    module.extend(section(1, vec![0x01, 0x60, 0x00, 0x00]));
    module.extend(section(3, functions));
    module.extend(section(
        7,
        [vec![0x01, 0x06], b"_start".to_vec(), vec![0x00, 0x00]].concat(),
    ));
    module.extend(section(10, code));
    module
}

/// A fixture submission: the built module `<name>.wasm`, or the Python file `<name>.py`.
fn module(name: &str) -> PathBuf {
    let wasm = fixtures().join(format!("{name}.wasm"));
    let python = fixtures().join(format!("{name}.py"));
    if !wasm.exists() && python.exists() {
        python
    } else {
        wasm
    }
}

fn grader(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_grader"))
        .args(args)
        .current_dir(ROOT)
        .env_remove("GRADER_COURSE")
        .output()
        .expect("running grader")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The student's view of `grader test` in JSON.
fn json_report(problem: &str, module_name: &str) -> (Report, Output) {
    json_report_as(problem, module_name, &[])
}

/// The staff view (`--staff`): hidden cases in full.
fn staff_report(problem: &str, module_name: &str) -> (Report, Output) {
    json_report_as(problem, module_name, &["--staff"])
}

fn json_report_as(problem: &str, module_name: &str, extra: &[&str]) -> (Report, Output) {
    let path = module(module_name);
    let mut args = vec![
        "test",
        problem,
        path.to_str().expect("path"),
        "--format",
        "json",
    ];
    args.extend(extra);
    let out = grader(&args);
    let report: Report = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{module_name}: report is not the locked JSON ({e}):\n{}\n{}",
            text(&out.stdout),
            text(&out.stderr)
        )
    });
    (report, out)
}

#[test]
fn every_fixture_earns_its_verdict() {
    let table: Expectations = toml::from_str(
        &std::fs::read_to_string(Path::new(ROOT).join("fixtures/expectations.toml")).expect("read"),
    )
    .expect("fixtures/expectations.toml");
    let mut failures = Vec::new();
    let mut verdicts_seen = std::collections::BTreeSet::new();
    for row in &table.fixture {
        let (report, out) = staff_report(&row.problem, &row.module);
        let (again, _) = staff_report(&row.problem, &row.module);
        let summary = |r: &Report| {
            r.cases
                .iter()
                .map(|c| {
                    (
                        c.verdict.clone(),
                        c.message.clone(),
                        c.fuel,
                        c.stderr.clone(),
                    )
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(
            summary(&report),
            summary(&again),
            "{}: a second run differs",
            row.module
        );
        let code = out.status.code();
        let want_code = if row.verdict == "accepted" { 0 } else { 1 };
        if report.verdict() != row.verdict || code != Some(want_code) {
            failures.push(format!(
                "{} on {}: got {} (exit {code:?}), want {} (exit {want_code}); first message: {}",
                row.module,
                row.problem,
                report.verdict(),
                row.verdict,
                report
                    .cases
                    .iter()
                    .find(|c| c.verdict != "accepted")
                    .map_or("", |c| c.message.as_str())
            ));
        }
        assert_eq!(report.problem, row.problem);
        assert!(
            !report.title.is_empty()
                && Path::new(&report.submission).file_name() == module(&row.module).file_name()
        );
        assert_eq!(
            report.score,
            report.cases.iter().map(|c| c.points).sum::<f64>()
        );
        assert_eq!(
            report.max_score,
            report.cases.iter().map(|c| c.max_points).sum::<f64>()
        );
        verdicts_seen.insert(row.verdict.clone());
    }
    assert!(
        failures.is_empty(),
        "fixtures that did not earn their verdict:\n{}",
        failures.join("\n")
    );
    let all = [
        "accepted",
        "wrong_answer",
        "invalid_output",
        "runtime_error",
        "time_limit_exceeded",
        "memory_limit_exceeded",
        "output_limit_exceeded",
        "invalid_submission",
    ];
    for v in all {
        assert!(verdicts_seen.contains(v), "no fixture earns {v}");
    }
}

#[test]
fn reference_is_accepted_with_a_full_score_and_exit_0() {
    let path = module("q2_3");
    let out = grader(&[
        "test",
        "q2.3",
        path.to_str().expect("path"),
        "--color",
        "never",
    ]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("✓ wide-image"), "{stdout}");
    assert!(
        stdout.contains("score 15/15  (10 of 10 cases accepted)"),
        "{stdout}"
    );
    assert!(
        !stdout.contains('\u{1b}'),
        "no color codes when not a terminal"
    );
}

/// The human report with what changes from run to run or machine to machine filtered out:
/// durations, and where the repository is.
fn stable(report: &str) -> String {
    let report = report.replace(ROOT, "<root>");
    let mut out = String::new();
    for line in report.lines() {
        let mut line = line.to_string();
        if let Some(at) = line.rfind(" ms") {
            let start = line[..at].rfind(' ').map_or(0, |i| i + 1);
            if line[start..at].parse::<f64>().is_ok() {
                line.replace_range(start..at, "<t>");
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// Compares with `tests/snapshots/<name>.txt`; `UPDATE_SNAPSHOTS=1` rewrites it.
fn snapshot(name: &str, actual: &str) {
    let path = Path::new(ROOT)
        .join("tests/snapshots")
        .join(format!("{name}.txt"));
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, actual).expect("write snapshot");
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        expected == actual,
        "{name} changed (UPDATE_SNAPSHOTS=1 to accept):\n--- expected\n{expected}\n--- actual\n{actual}"
    );
}

#[test]
fn human_reports_match_their_snapshots() {
    let flipped = module("q2_3_flipped");
    let out = grader(&[
        "test",
        "q2.3",
        flipped.to_str().expect("p"),
        "--color",
        "never",
    ]);
    snapshot("test_q2_3_flipped", &stable(&text(&out.stdout)));
    let panics = module("panics");
    let out = grader(&[
        "test",
        "q2.3",
        panics.to_str().expect("p"),
        "--color",
        "never",
    ]);
    snapshot("test_q2_3_panics", &stable(&text(&out.stdout)));
    let ben = Path::new(ROOT).join("target/cohort/ben");
    let out = grader(&["grade", ben.to_str().expect("p"), "--color", "never"]);
    snapshot("grade_ben", &stable(&text(&out.stdout)));
}

#[test]
fn wrong_answer_names_field_index_values_and_tolerance() {
    let path = module("q2_3_flipped");
    let out = grader(&["test", "q2.3", path.to_str().expect("path")]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout.contains(
            "wrong answer: y[0][0]: expected 44, got 26 (abs error 18, rel error 0.4091; allowed |got − expected| ≤ 1e-9 + 1e-6·|expected|)"
        ),
        "{stdout}"
    );
    let (report, _) = json_report("q2.3", "q2_3_flipped");
    // Students' reports list the sample cases first.
    let m = report.cases[0]
        .mismatches
        .first()
        .expect("sample mismatch is shown");
    assert_eq!(
        (m.path.as_str(), m.expected.as_str(), m.got.as_str()),
        ("y[0][0]", "44", "26")
    );
    assert_eq!(m.abs_error, Some(18.0));
    assert!(m.rel_error.is_some_and(|r| (r - 18.0 / 44.0).abs() < 1e-12));
    assert!(m.tolerance.as_deref().is_some_and(|t| t.contains("1e-6")));
}

#[test]
fn a_panic_message_reaches_the_student() {
    let path = module("panics");
    let out = grader(&["test", "q2.3", path.to_str().expect("path")]);
    let stdout = text(&out.stdout);
    assert!(stdout.contains("runtime error"), "{stdout}");
    assert!(
        stdout.contains("row index 9 out of range for a 2-row image"),
        "{stdout}"
    );
    let (report, _) = json_report("q2.3", "panics");
    for case in &report.cases {
        assert_eq!(
            case.stderr.is_some(),
            case.visibility == "sample",
            "{}",
            case.name
        );
    }
}

#[test]
fn hidden_cases_show_their_verdict_but_none_of_their_data() {
    // A hidden expected value of q2.3 ("asymmetric-kernel": y[0][0] = 4) and a value the
    // flipped solution prints for it would show up in a leaking report.
    let (report, out) = json_report("q2.3", "q2_3_flipped");
    let human =
        text(&grader(&["test", "q2.3", module("q2_3_flipped").to_str().expect("p")]).stdout);
    let hidden: Vec<&Case> = report
        .cases
        .iter()
        .filter(|c| c.visibility == "hidden")
        .collect();
    assert!(hidden.len() >= 2, "q2.3 has hidden cases");
    for (n, case) in hidden.iter().enumerate() {
        assert_eq!(
            case.name,
            format!("hidden-{}", n + 1),
            "hidden names are numbers"
        );
        assert!(
            case.mismatches.is_empty()
                && case.stderr.is_none()
                && case.fuel.is_none()
                && case.time_ms.is_none(),
            "{case:?}"
        );
        if case.verdict == "wrong_answer" {
            assert_eq!(case.message, "hidden case: an output is wrong");
        }
    }
    let spec = std::fs::read_to_string(Path::new(ROOT).join("problems/q2.3/data/random-1.json"))
        .expect("data");
    let data: serde_json::Value = serde_json::from_str(&spec).expect("json");
    let hidden_value = data["expected"]["y"][0][0].to_string();
    for rendered in [text(&out.stdout), human] {
        assert!(
            !rendered.contains(&hidden_value),
            "hidden value {hidden_value} leaked:\n{rendered}"
        );
        assert!(!rendered.contains("asymmetric-kernel: y"), "{rendered}");
    }
}

#[test]
fn a_sleeping_submission_is_stopped_at_once_and_a_busy_loop_by_fuel_every_time() {
    let (sleep, _) = staff_report("q2.3", "sleeps");
    for case in &sleep.cases {
        assert_eq!(case.verdict, "time_limit_exceeded");
        assert!(case.message.contains("slept 3600 s"), "{}", case.message);
        // Far inside the 10 s backstop: sleeping takes no real time.
        let ms = case.time_ms.expect("staff reports carry times");
        assert!(ms < 10_000.0, "{} took {ms} ms", case.name);
    }
    let (first, _) = staff_report("q2.3", "busy_loop");
    let (second, _) = staff_report("q2.3", "busy_loop");
    for (a, b) in first.cases.iter().zip(&second.cases) {
        assert_eq!(a.verdict, "time_limit_exceeded");
        assert!(a.message.contains("instruction budget"), "{}", a.message);
        assert_eq!((a.fuel, &a.message), (b.fuel, &b.message));
    }
}

#[test]
fn fuel_counts_are_identical_across_runs() {
    let (a, _) = staff_report("q2.3", "q2_3");
    let (b, _) = staff_report("q2.3", "q2_3");
    let fuel = |r: &Report| r.cases.iter().map(|c| c.fuel).collect::<Vec<_>>();
    assert_eq!(fuel(&a), fuel(&b));
    assert!(fuel(&a).iter().all(|f| f.is_some_and(|f| f > 0)));
}

#[test]
fn invalid_submissions_say_why_in_plain_words() {
    for (name, needle) in [
        ("random_bytes", "not a valid WebAssembly module"),
        ("truncated", "unexpected end-of-file"),
        (
            "unknown_import",
            "imports `env::evil`, which the sandbox does not provide",
        ),
        ("no_start", "has no `_start` function"),
        ("component", "component (WASI preview 2)"),
        (
            "huge_module",
            "is larger than 32 MiB, the largest module accepted",
        ),
        (
            "source_renamed",
            "is a text file, not a compiled WebAssembly module",
        ),
    ] {
        let (report, _) = json_report("q2.3", name);
        let reason = report.invalid_submission.as_deref().unwrap_or_default();
        assert!(reason.contains(needle), "{name}: {reason}");
        assert_eq!(report.score, 0.0);
    }
}

#[test]
fn missing_submission_file_is_an_io_error_naming_it() {
    let out = grader(&["test", "q2.3", "no/such/file.wasm"]);
    assert_eq!(out.status.code(), Some(4));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("cannot read submission `no/such/file.wasm`"),
        "{stderr}"
    );
}

#[test]
fn unknown_problem_ids_are_usage_errors_with_a_suggestion() {
    let out = grader(&["test", "q9.9", "x.wasm"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("no code problem `q9.9`") && stderr.contains("q2.3"),
        "{stderr}"
    );
    for typed in ["q4.33", "Q4.3", "q4_3"] {
        let out = grader(&["test", typed, "x.wasm"]);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{typed}: {stderr}");
        assert!(stderr.contains("did you mean `q4.3`?"), "{typed}: {stderr}");
    }
    let out = grader(&["show", "Q5.1"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("did you mean `q5.1`?"));
}

#[test]
fn outside_a_course_the_error_says_how_to_point_at_one() {
    let empty = tempfile::tempdir().expect("tempdir");
    let out = Command::new(env!("CARGO_BIN_EXE_grader"))
        .arg("list")
        .current_dir(empty.path())
        .env_remove("GRADER_COURSE")
        .output()
        .expect("grader");
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("no grader.toml in `.`")
            && stderr.contains("--course DIR")
            && stderr.contains("GRADER_COURSE"),
        "{stderr}"
    );
}

#[test]
fn a_closed_pipe_ends_the_program_quietly() {
    use std::process::Stdio;
    for args in [&["show", "q1.1"][..], &["list"], &["--help"]] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_grader"))
            .args(args)
            .current_dir(ROOT)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("grader");
        // The reader goes away before the grader writes a byte, as `| head -c5` would.
        drop(child.stdout.take());
        let out = child.wait_with_output().expect("wait");
        let stderr = text(&out.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
    }
}

#[test]
fn exit_codes_are_one_table_in_help_and_readme() {
    let help = text(&grader(&["--help"]).stdout);
    let readme = std::fs::read_to_string(Path::new(ROOT).join("README.md")).expect("README");
    for exit in grader::app::Exit::ALL {
        let (code, meaning) = (exit.code(), exit.meaning());
        assert!(
            help.contains(&format!("  {code}  {meaning}")),
            "--help lacks exit {code}:\n{help}"
        );
        assert!(
            readme.contains(&format!("| {code} | {meaning} |")),
            "README lacks exit {code}"
        );
    }
}

#[test]
fn list_and_show() {
    let out = grader(&["list"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0));
    for id in ["q1.1", "q2.3", "q4.3", "q6.1"] {
        assert!(stdout.contains(id), "{stdout}");
    }
    let rows: Vec<serde_json::Value> =
        serde_json::from_slice(&grader(&["list", "--format", "json"]).stdout).expect("list json");
    let q23 = rows
        .iter()
        .find(|r| r["id"] == "q2.3" && r["kind"] == "code")
        .expect("q2.3 listed");
    assert_eq!(
        (q23["graded"].as_str(), q23["points"].as_f64()),
        (Some("10 cases"), Some(15.0))
    );
    let count = |kind: &str| rows.iter().filter(|r| r["kind"] == kind).count();
    assert_eq!(
        (
            count("code"),
            count("answer"),
            count("choice"),
            count("manual")
        ),
        (25, 15, 1, 19),
        "the whole sheet is gradable"
    );

    let out = grader(&["show", "q2.3"]);
    let stdout = text(&out.stdout);
    assert!(stdout.contains("without flipping the kernel"), "{stdout}");
    assert!(
        stdout.contains("x: mat") && stdout.contains("y: mat"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("[[-4.0,-4.0],[-4.0,-4.0]]"),
        "the sheet's example is the paper question Q2.3: its answer stays hidden: {stdout}"
    );
    let hidden = grader::spec::Course::load(Path::new(ROOT))
        .and_then(|c| c.problem("q2.3"))
        .expect("q2.3")
        .cases
        .iter()
        .filter(|c| c.visibility == grader::spec::Visibility::Hidden)
        .count();
    assert!(
        stdout.contains(&format!(
            "{hidden} hidden cases, reported as hidden-1 … hidden-{hidden}"
        )),
        "{stdout}"
    );
    assert!(
        !stdout.contains("asymmetric-kernel"),
        "hidden case names stay hidden: {stdout}"
    );
}

#[test]
fn show_covers_paper_items_without_their_keys() {
    let out = grader(&["show", "q3.2"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        stdout.contains("Vanishing gradients through time")
            && stdout.contains("Vanishing gradients, by hand"),
        "{stdout}"
    );
    assert!(
        stdout.contains("total: float (to 2 significant figures; 1 pt)"),
        "{stdout}"
    );
    let item_part = stdout
        .split("Vanishing gradients, by hand")
        .nth(1)
        .unwrap_or_default();
    assert!(
        !item_part.contains("4.2e-07") && !item_part.contains("4.2e-7"),
        "the key stays hidden: {item_part}"
    );
    let out = grader(&["show", "q5.1"]);
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("one of: bidirectional, causal, encoder-decoder"),
        "{stdout}"
    );
    let manual = text(&grader(&["show", "q9.2"]).stdout);
    assert!(
        manual.contains("manual, 2 points") && !manual.contains("least-privilege"),
        "no rubric: {manual}"
    );
}

#[test]
fn check_accepts_the_committed_course() {
    let out = grader(&["check"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("25 code problems with"),
        "{}",
        text(&out.stdout)
    );
}

/// A course in a temporary folder, with one problem whose spec is `problem`.
fn course_with(problem: &str, data: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("grader.toml"),
        "spec_version = 1\n[course]\nname = \"t\"\n",
    )
    .expect("write");
    let p = dir.path().join("problems/p1");
    std::fs::create_dir_all(&p).expect("mkdir");
    std::fs::write(p.join("problem.toml"), problem).expect("write");
    for (name, contents) in data {
        std::fs::write(p.join(name), contents).expect("write data");
    }
    dir
}

const GOOD: &str = r#"spec_version = 1
id = "p1"
title = "t"
kind = "code"
statement = "s"
[[inputs]]
name = "x"
type = "vec"
[[outputs]]
name = "y"
type = "float"
[[cases]]
name = "c1"
visibility = "sample"
input = { x = [1.0] }
expected = { y = 1.0 }
"#;

#[test]
fn check_names_the_file_and_key_of_each_spec_error() {
    type Broken<'a> = (String, Vec<(&'a str, &'a str)>, &'a str);
    let cases: BTreeMap<&str, Broken> = BTreeMap::from([
        (
            "unknown key",
            (
                GOOD.replace("kind = \"code\"", "kind = \"code\"\npionts = 3"),
                vec![],
                "unknown field `pionts`",
            ),
        ),
        (
            "bad kind",
            (
                GOOD.replace("kind = \"code\"", "kind = \"essay\""),
                vec![],
                "unknown variant `essay`",
            ),
        ),
        (
            "bad type",
            (
                GOOD.replace("type = \"float\"", "type = \"real\""),
                vec![],
                "unknown type `real`",
            ),
        ),
        (
            "expected of wrong type",
            (
                GOOD.replace("expected = { y = 1.0 }", "expected = { y = \"one\" }"),
                vec![],
                "`cases[0].expected.y`: expected a number",
            ),
        ),
        (
            "missing input",
            (
                GOOD.replace("input = { x = [1.0] }", "input = { z = [1.0] }"),
                vec![],
                "`cases[0].input.x`: missing",
            ),
        ),
        (
            "missing data file",
            (
                GOOD.replace(
                    "input = { x = [1.0] }\nexpected = { y = 1.0 }",
                    "data = \"nope.json\"",
                ),
                vec![],
                "`cases[0].data`: cannot read",
            ),
        ),
        (
            "bad data file",
            (
                GOOD.replace(
                    "input = { x = [1.0] }\nexpected = { y = 1.0 }",
                    "data = \"d.json\"",
                ),
                vec![("d.json", r#"{"input": {"x": [1]}, "expected": {"y": [1]}}"#)],
                "d.json: `expected.y`: expected a number",
            ),
        ),
        (
            "id mismatch",
            (
                GOOD.replace("id = \"p1\"", "id = \"p2\""),
                vec![],
                "`id`: is `p2` but the problem's directory is `p1`",
            ),
        ),
        (
            "no sample",
            (
                GOOD.replace("\"sample\"", "\"hidden\""),
                vec![],
                "`cases`: at least one case must be a `sample`",
            ),
        ),
        (
            "negative tolerance",
            (
                GOOD.replace("type = \"float\"", "type = \"float\"\nrtol = -1.0"),
                vec![],
                "`outputs[0].rtol`: must be a finite number ≥ 0",
            ),
        ),
    ]);
    for (what, (spec, data, needle)) in cases {
        let dir = course_with(&spec, &data);
        let out = grader(&["--course", dir.path().to_str().expect("p"), "check"]);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{what}: {stderr}");
        assert!(
            stderr.contains("problems/p1/"),
            "{what}: names the file: {stderr}"
        );
        assert!(
            stderr.contains(needle),
            "{what}: wanted `{needle}` in:\n{stderr}"
        );
    }
    let dir = course_with(GOOD, &[]);
    let out = grader(&["--course", dir.path().to_str().expect("p"), "check"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

#[test]
fn a_broken_course_file_is_exit_3_naming_it() {
    let dir = course_with(GOOD, &[]);
    std::fs::write(
        dir.path().join("grader.toml"),
        "spec_version = 1\n[course]\nname = 3\n",
    )
    .expect("write");
    let out = grader(&["--course", dir.path().to_str().expect("p"), "list"]);
    assert_eq!(out.status.code(), Some(3));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("grader.toml") && stderr.contains("name"),
        "{stderr}"
    );
}

/// A copy of the committed course in a temporary folder, solutions read from the built ones,
/// so that a test can break one thing in it.
fn course_copy() -> tempfile::TempDir {
    fn copy(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).expect("mkdir");
        for entry in std::fs::read_dir(from).expect("read_dir") {
            let entry = entry.expect("entry");
            let target = to.join(entry.file_name());
            if entry.path().is_dir() {
                copy(&entry.path(), &target);
            } else {
                std::fs::copy(entry.path(), &target).expect("copy");
            }
        }
    }
    let dir = tempfile::tempdir().expect("tempdir");
    copy(
        &Path::new(ROOT).join("problems"),
        &dir.path().join("problems"),
    );
    let config = std::fs::read_to_string(Path::new(ROOT).join("grader.toml")).expect("grader.toml");
    let solutions = format!("solutions = {:?}\n", fixtures().display().to_string());
    let config = config.replace(
        "problems = \"problems\"\n",
        &format!("problems = \"problems\"\n{solutions}"),
    );
    std::fs::write(dir.path().join("grader.toml"), config).expect("write");
    dir
}

fn edit(dir: &Path, file: &str, from: &str, to: &str) {
    let path = dir.join(file);
    let text = std::fs::read_to_string(&path).expect("read");
    assert!(text.contains(from), "{file} has no `{from}`");
    std::fs::write(&path, text.replacen(from, to, 1)).expect("write");
}

fn verify_in(dir: &Path) -> (Option<i32>, String) {
    let out = grader(&["--course", dir.to_str().expect("p"), "verify"]);
    (out.status.code(), text(&out.stdout) + &text(&out.stderr))
}

#[test]
fn verify_passes_on_the_committed_set() {
    fixtures();
    let out = grader(&["verify"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(!stdout.contains('✗'), "{stdout}");
    assert!(
        stdout.contains("q3.2 (answer)  keys per_step, total agree with q3_2"),
        "{stdout}"
    );
    assert!(
        stdout.contains("c_q2_1 earns accepted") && stdout.contains("c_q12_3 earns accepted"),
        "{stdout}"
    );
    // The numpy references and their classic mistakes, run in the Python runtime.
    for (id, mistake) in [
        ("q1_1", "q1_1_overflow"),
        ("q1_2", "q1_2_unstable"),
        ("q2_3", "q2_3_flipped"),
        ("q4_2", "q4_2_no_max_shift"),
        ("q6_3", "q6_3_zero_based"),
        ("q12_1", "q12_1_naive"),
    ] {
        for line in [
            format!("py_{id} earns accepted"),
            format!("py_{mistake} earns wrong_answer"),
        ] {
            assert!(stdout.contains(&line), "no `{line}`: {stdout}");
        }
    }
}

#[test]
fn verify_fails_naming_the_problem_and_case_when_a_reference_breaks() {
    let dir = course_copy();
    edit(
        dir.path(),
        "problems/q2.3/problem.toml",
        "reference = \"q2_3\"",
        "reference = \"q2_3_transposed\"",
    );
    let (code, out) = verify_in(dir.path());
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("✗ q2.3")
            && out.contains(
                "reference q2_3_transposed is not accepted: case `wide-image`: wrong_answer"
            ),
        "{out}"
    );
}

#[test]
fn verify_fails_when_a_known_wrong_solution_starts_passing() {
    let dir = course_copy();
    // As if the "wrong" module had been fixed: the reference itself, labelled wrong.
    edit(
        dir.path(),
        "problems/q4.3/problem.toml",
        "q4_3_big_negative = ",
        "q4_3 = ",
    );
    let (code, out) = verify_in(dir.path());
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("q4_3 should earn wrong_answer but earns accepted"),
        "{out}"
    );
}

#[test]
fn verify_rejects_the_sheets_slip_in_q3_2() {
    let dir = course_copy();
    edit(
        dir.path(),
        "problems/q3.2/answer.toml",
        "key = 4.2e-07",
        "key = 1.5e-7",
    );
    let (code, out) = verify_in(dir.path());
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("✗ q3.2 (answer)")
            && out.contains("key `total` = 1.5e-7 disagrees with the reference"),
        "{out}"
    );
}

#[test]
fn gen_writes_the_same_bytes_on_every_run() {
    let dir = course_copy();
    let data = dir.path().join("problems/q2.3/data");
    std::fs::remove_dir_all(&data).expect("rm data");
    let out = grader(&["--course", dir.path().to_str().expect("p"), "check"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(
        text(&out.stderr).contains("run `grader gen q2.3`"),
        "{}",
        text(&out.stderr)
    );
    let out = grader(&["--course", dir.path().to_str().expect("p"), "gen", "q2.3"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    for i in 1..=3 {
        let name = format!("random-{i}.json");
        let committed = std::fs::read(Path::new(ROOT).join("problems/q2.3/data").join(&name))
            .expect("committed");
        assert_eq!(
            std::fs::read(data.join(&name)).expect("generated"),
            committed,
            "{name} differs"
        );
    }
}

#[test]
fn a_stale_generated_file_is_a_spec_error() {
    let dir = course_copy();
    edit(
        dir.path(),
        "problems/q2.3/problem.toml",
        "seed = 23",
        "seed = 24",
    );
    let out = grader(&["--course", dir.path().to_str().expect("p"), "check"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(
        text(&out.stderr).contains("does not match what `[[generate]] random` draws now"),
        "{}",
        text(&out.stderr)
    );
}

/// The whole-course JSON report, locked at its top level (problems hold the locked `Report`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StudentSummary {
    schema_version: u32,
    grader_version: String,
    course_digest: String,
    student: String,
    score: f64,
    max_score: f64,
    pending: f64,
    missing: Vec<MissingPart>,
    notes: Vec<String>,
    warnings: Vec<String>,
    problems: Vec<serde_json::Value>,
    items: Vec<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct MissingPart {
    id: String,
    kind: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct CodeEntry {
    problem: String,
    title: String,
    score: f64,
    max_score: f64,
    result: Option<Report>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct ItemEntry {
    id: String,
    title: String,
    kind: String,
    status: String,
    score: f64,
    max_score: f64,
    fields: Vec<FieldEntry>,
    answer: Option<String>,
    rubric: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct FieldEntry {
    name: String,
    correct: bool,
    points: f64,
    max_points: f64,
    message: String,
    key: Option<String>,
}

fn grade_student(name: &str) -> (StudentSummary, Output) {
    grade_student_as(name, &[])
}

fn grade_student_as(name: &str, extra: &[&str]) -> (StudentSummary, Output) {
    fixtures();
    let dir = Path::new(ROOT).join("target/cohort").join(name);
    let mut args = vec!["grade", dir.to_str().expect("p"), "--format", "json"];
    args.extend(extra);
    let out = grader(&args);
    let report = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{name}: {e}\n{}{}", text(&out.stdout), text(&out.stderr)));
    (report, out)
}

/// The human `grade` report of a sample student.
fn grade_human(name: &str) -> String {
    fixtures();
    let dir = Path::new(ROOT).join("target/cohort").join(name);
    text(&grader(&["grade", dir.to_str().expect("p")]).stdout)
}

fn item<'a>(r: &'a StudentSummary, id: &str) -> &'a serde_json::Value {
    r.items
        .iter()
        .find(|i| i["id"] == id)
        .unwrap_or_else(|| panic!("no item {id}"))
}

#[test]
fn the_sample_cohort_gets_its_expected_totals() {
    // (student, score, pending, missing, warnings, exit code)
    for (name, score, pending, missing, warnings, code) in [
        // ada hands in every reference and every right answer: all but the pending manual
        // items' 40 points.
        ("ada", 322.0, 40.0, 0, 0, 0),
        ("ben", 173.5, 2.0, 34, 0, 1),
        ("cyd", 19.0, 0.0, 52, 0, 1),
        // dee's h1 = "0.5370" is a number written as a string: read as one (contract §7).
        ("dee", 18.0, 0.0, 54, 2, 1),
        // eve's two lines of Python are outside any table: a warning each.
        ("eve", 26.0, 0.0, 58, 2, 1),
    ] {
        let (r, out) = grade_student(name);
        assert_eq!(r.student, name);
        assert_eq!(r.max_score, 362.0, "{name}");
        assert_eq!((r.score, r.pending), (score, pending), "{name}");
        assert_eq!(
            (r.missing.len(), r.warnings.len()),
            (missing, warnings),
            "{name}: {:?} {:?}",
            r.missing,
            r.warnings
        );
        assert_eq!(r.problems.len(), 25);
        assert_eq!(r.items.len(), 35);
        for p in &r.problems {
            let entry: CodeEntry = serde_json::from_value(p.clone())
                .unwrap_or_else(|e| panic!("{name}: locked shape: {e}"));
            assert_eq!(entry.score, entry.result.as_ref().map_or(0.0, |r| r.score));
        }
        for i in &r.items {
            let entry: ItemEntry = serde_json::from_value(i.clone())
                .unwrap_or_else(|e| panic!("{name}: locked shape: {e}"));
            assert!(entry.score <= entry.max_score);
        }
        assert_eq!(out.status.code(), Some(code), "{name}");
    }
}

#[test]
fn answers_are_graded_to_the_digits_asked_and_pending_items_carry_the_rubric() {
    let (ada, _) = grade_student_as("ada", &["--staff"]);
    let manual = item(&ada, "q12.2");
    assert_eq!(
        (
            manual["status"].as_str(),
            manual["score"].as_f64(),
            manual["max_score"].as_f64()
        ),
        (Some("pending"), Some(0.0), Some(3.0))
    );
    assert!(
        manual["rubric"]
            .as_str()
            .is_some_and(|r| r.contains("R((n − m)θ)")),
        "{manual}"
    );
    let (ben, out) = grade_student("ben");
    let q31 = item(&ben, "q3.1");
    assert_eq!(
        q31["status"], "correct",
        "h2 = 0.4051 and h3 = 0.7277 are right to 4 dp: {q31}"
    );
    let q32 = item(&ben, "q3.2");
    assert_eq!(
        (q32["status"].as_str(), q32["score"].as_f64()),
        (Some("partial"), Some(1.0)),
        "{q32}"
    );
    assert!(
        q32["fields"][1]["message"]
            .as_str()
            .is_some_and(|m| m == "1.5e-7 is not right to 2 significant figures"),
        "{q32}"
    );
    let q51 = item(&ben, "q5.1");
    assert_eq!(
        q51["score"].as_f64(),
        Some(2.5),
        "case-insensitive choices, one wrong: {q51}"
    );
    let human = grade_human("ben");
    assert!(human.contains("total 173.5/362 + 2 pending"), "{human}");
    assert!(
        human.contains("9 of 10 cases failed: wrong answer ×9"),
        "{human}"
    );
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn bad_answer_files_are_reported_not_fatal() {
    let (dee, _) = grade_student("dee");
    assert!(
        dee.warnings
            .iter()
            .any(|w| w.contains("[\"q9.9\"] is not a question of this course")),
        "{:?}",
        dee.warnings
    );
    assert!(
        dee.warnings.iter().any(|w| w.contains("notes.txt")),
        "{:?}",
        dee.warnings
    );
    // A number written as a string is read as one (contract §7); other strings are refused.
    let q31 = item(&dee, "q3.1");
    assert_eq!(q31["fields"][0]["correct"], true, "{q31}");
    let q23 = item(&dee, "q2.3");
    assert!(
        q23["fields"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("got the string \"see my code\"")),
        "{q23}"
    );
    assert_eq!(
        item(&dee, "q4.5")["status"],
        "missing",
        "an empty manual answer is not pending"
    );
    let (eve, _) = grade_student("eve");
    // Text outside any table costs nothing but a warning naming its line.
    assert!(
        eve.warnings[0].starts_with("answers.toml line 2: `answers = {\"q1.1\": {\"z\": 0.2}}` is not inside a question's table"),
        "{:?}",
        eve.warnings
    );
    let (cyd, _) = grade_student("cyd");
    let q23 = cyd
        .problems
        .iter()
        .find(|p| p["problem"] == "q2.3")
        .expect("q2.3");
    assert!(
        q23["result"]["invalid_submission"]
            .as_str()
            .is_some_and(|m| m.contains("is a text file")),
        "{q23}"
    );
}

#[test]
fn a_missing_student_folder_is_an_io_error() {
    let out = grader(&["grade", "no/such/student"]);
    assert_eq!(out.status.code(), Some(4));
    assert!(text(&out.stderr).contains("cannot read the student folder `no/such/student`"));
}

use grader::sandbox::{Limits, Outcome, Sandbox};

fn sheet_input() -> Vec<u8> {
    br#"{"x": [[1,2,3],[4,5,6],[7,8,9]], "k": [[1,0],[0,-1]]}"#.to_vec()
}

fn limits() -> Limits {
    Limits {
        fuel: 2_000_000_000,
        wall: std::time::Duration::from_secs(10),
        memory_bytes: 256 << 20,
        stdout_bytes: 1 << 20,
        stderr_bytes: 16 << 10,
        compile: std::time::Duration::from_secs(10),
        compile_memory: 1 << 30,
    }
}

#[test]
fn the_snooping_fixture_finds_nothing_of_the_host() {
    let sandbox = Sandbox::new(512 << 10).expect("sandbox");
    let program = sandbox
        .load(&std::fs::read(module("snoop")).expect("snoop"))
        .expect("loads");
    let exec = sandbox.run(&program, &sheet_input(), &limits());
    assert_eq!(exec.outcome, Outcome::Exited(0));
    let out: serde_json::Value = serde_json::from_slice(&exec.stdout).expect("json");
    assert_eq!(
        out["found"],
        serde_json::json!([]),
        "the guest saw host data: {out}"
    );
    let tried: Vec<&str> = out["tried"]
        .as_array()
        .expect("tried")
        .iter()
        .filter_map(|t| t.as_str())
        .collect();
    for attempt in [
        "read /etc/passwd: NotFound",
        "read grader.toml: NotFound",
        "read problems/q2.3/problem.toml: NotFound",
        "list /: NotFound",
        "list ..: NotFound",
        "write escape.txt: NotFound",
        "env: none",
        "args: [\"main\"]",
        "tcp: Unsupported",
    ] {
        assert!(tried.contains(&attempt), "{attempt} not in {tried:?}");
    }
    assert!(!Path::new(ROOT).join("escape.txt").exists() && !Path::new("/escape.txt").exists());
}

#[test]
fn clocks_randomness_and_hash_order_are_the_same_on_every_run() {
    let sandbox = Sandbox::new(512 << 10).expect("sandbox");
    let program = sandbox
        .load(&std::fs::read(module("clock_random")).expect("module"))
        .expect("loads");
    let first = sandbox.run(&program, &sheet_input(), &limits());
    let other = Sandbox::new(512 << 10).expect("sandbox");
    let program2 = other
        .load(&std::fs::read(module("clock_random")).expect("module"))
        .expect("loads");
    let second = other.run(&program2, &sheet_input(), &limits());
    assert_eq!(first.outcome, Outcome::Exited(0));
    assert_eq!(first.stdout, second.stdout, "byte-identical output");
    assert_eq!(first.fuel_used, second.fuel_used);
    let out: serde_json::Value = serde_json::from_slice(&first.stdout).expect("json");
    // 2024-01-01T00:00:00Z plus a few virtual microseconds; the 5 ms sleep took no real time
    // but moved the virtual clock by exactly 5 ms.
    let wall: u128 = out["wall_ns"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("wall");
    assert!(
        (1_704_067_200_000_000_000..1_704_067_200_001_000_000).contains(&wall),
        "{wall}"
    );
    let elapsed: u128 = out["elapsed_ns"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("elapsed");
    assert!((5_000_000..5_100_000).contains(&elapsed), "{elapsed}");
}

#[test]
fn nans_are_canonical_so_float_bits_do_not_depend_on_the_machine() {
    let sandbox = Sandbox::new(512 << 10).expect("sandbox");
    let program = sandbox
        .load(&std::fs::read(module("nan_bits")).expect("module"))
        .expect("loads");
    let exec = sandbox.run(&program, b"{}", &limits());
    assert_eq!(exec.outcome, Outcome::Exited(0));
    assert_eq!(exec.stdout, 0x7ff8_0000_0000_0000u64.to_le_bytes().to_vec());
}

#[test]
fn bad_pointers_descriptors_and_counts_get_error_codes() {
    let sandbox = Sandbox::new(512 << 10).expect("sandbox");
    let program = sandbox
        .load(&std::fs::read(module("wasi_abuse")).expect("module"))
        .expect("loads");
    let exec = sandbox.run(&program, b"", &limits());
    assert_eq!(exec.outcome, Outcome::Exited(0));
    const EBADF: u8 = 8;
    const EFAULT: u8 = 21;
    const EINVAL: u8 = 28;
    assert_eq!(
        exec.stdout,
        [
            EFAULT, EFAULT, EBADF, EFAULT, EINVAL, EINVAL, EBADF, EFAULT, EBADF, EBADF
        ]
    );
}

#[test]
fn a_grow_past_a_memorys_own_maximum_fails_without_touching_the_limit() {
    // (memory 1 2): growing by 100 pages fails (-1) as the module declared, and is not booked
    // as a request against the limit; then `sock_shutdown` on stdout is ENOTSOCK (57).
    let wat = r#"(module
      (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "sock_shutdown" (func $shutdown (param i32 i32) (result i32)))
      (memory (export "memory") 1 2)
      (func (export "_start")
        (i32.store8 (i32.const 100) (i32.eq (memory.grow (i32.const 100)) (i32.const -1)))
        (i32.store8 (i32.const 101) (i32.eq (memory.grow (i32.const 1)) (i32.const 1)))
        (i32.store8 (i32.const 102) (call $shutdown (i32.const 1) (i32.const 0)))
        (i32.store (i32.const 0) (i32.const 100))
        (i32.store (i32.const 4) (i32.const 3))
        (drop (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))"#;
    let sandbox = Sandbox::new(512 << 10).expect("sandbox");
    let program = sandbox
        .load(&wat::parse_str(wat).expect("wat"))
        .expect("loads");
    let exec = sandbox.run(&program, b"", &limits());
    assert_eq!(exec.outcome, Outcome::Exited(0));
    assert_eq!(exec.stdout, [1, 1, 57]);
}

#[test]
fn the_stderr_tail_is_bounded_and_valid_utf8() {
    let (report, _) = json_report("q2.3", "stderr_flood");
    let sample = report
        .cases
        .iter()
        .find(|c| c.visibility == "sample")
        .expect("a sample case");
    let stderr = sample.stderr.as_deref().expect("sample case shows stderr");
    assert!(stderr.len() <= (16 << 10) + 4, "{} bytes", stderr.len());
    assert!(
        stderr.starts_with('…') && stderr.contains("9999: débordement"),
        "{}",
        &stderr[..200.min(stderr.len())]
    );
    assert!(!stderr.contains('\u{FFFD}'), "no broken characters");
    assert_eq!(report.verdict(), "accepted");
}

#[test]
fn the_wall_clock_backstop_stops_a_guest_that_burns_no_fuel() {
    let dir = course_copy();
    edit(
        dir.path(),
        "grader.toml",
        "wall_ms = 10_000",
        "wall_ms = 300",
    );
    let path = module("wall_hog");
    let out = grader(&[
        "--course",
        dir.path().to_str().expect("p"),
        "test",
        "q4.4",
        path.to_str().expect("p"),
        "--format",
        "json",
        "--staff",
    ]);
    let report: Report = serde_json::from_slice(&out.stdout).expect("report");
    for case in &report.cases {
        assert_eq!(case.verdict, "time_limit_exceeded", "{case:?}");
        assert_eq!(case.message, "ran past the wall-clock limit of 300 ms");
        let fuel = case.fuel.expect("staff reports carry fuel");
        assert!(
            fuel < 1_000_000,
            "stopped by the clock, not by fuel: {fuel}"
        );
    }
}

#[test]
fn a_large_wasm_stack_still_ends_recursion_as_a_runtime_error() {
    let dir = course_copy();
    edit(
        dir.path(),
        "grader.toml",
        "stack_kib = 512 ",
        "stack_kib = 8192 ",
    );
    let path = module("stack_overflow");
    let out = grader(&[
        "--course",
        dir.path().to_str().expect("p"),
        "test",
        "q2.3",
        path.to_str().expect("p"),
        "--format",
        "json",
        "--staff",
    ]);
    let report: Report = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", text(&out.stderr)));
    // With 8 MiB of wasm stack, Rust's own 1 MiB stack in linear memory runs out first.
    assert_eq!(report.verdict(), "runtime_error", "{:?}", report.cases[0]);
    let message = &report.cases[0].message;
    assert!(message.contains("stack overflow"), "{message}");
}

#[test]
fn many_submissions_at_once_get_the_reports_they_get_alone() {
    let course = grader::spec::Course::load(Path::new(ROOT)).expect("course");
    let problem = course.problem("q2.3").expect("q2.3");
    // One pool of worker processes for every submission, as `grade` uses it.
    let sandbox = grader::sandbox::Isolated::new(
        PathBuf::from(env!("CARGO_BIN_EXE_grader")),
        problem.limits.wasm_stack_bytes,
    );
    let names = [
        "q2_3",
        "q2_3_flipped",
        "panics",
        "ragged_matrix",
        "exit3",
        "c_q2_3",
        "nan_output",
        "snoop",
        "stack_overflow",
        "memory_bomb",
    ];
    let modules: Vec<Vec<u8>> = names
        .iter()
        .map(|n| std::fs::read(module(n)).expect("module"))
        .collect();
    let strip = |r: grader::grade::ProblemResult| {
        r.cases
            .into_iter()
            .map(|c| (c.name, c.verdict, c.message, c.fuel, c.stderr))
            .collect::<Vec<_>>()
    };
    let alone: Vec<_> = names
        .iter()
        .zip(&modules)
        .map(|(n, m)| strip(grader::grade::grade(&sandbox, &problem, n, m, 1).expect("graded")))
        .collect();
    let together: Vec<_> = grader::parallel::parallel_map(
        &names.iter().zip(&modules).collect::<Vec<_>>(),
        8,
        problem.limits.wasm_stack_bytes,
        |(n, m)| strip(grader::grade::grade(&sandbox, &problem, n, m, 4).expect("graded")),
    );
    assert_eq!(alone, together);
}

/// A JSON report with every `time_ms` removed: what must be byte-identical across runs.
fn without_timings(bytes: &[u8]) -> String {
    fn strip(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(m) => {
                m.remove("time_ms");
                m.values_mut().for_each(strip);
            }
            serde_json::Value::Array(a) => a.iter_mut().for_each(strip),
            _ => {}
        }
    }
    let mut v: serde_json::Value = serde_json::from_slice(bytes).expect("json");
    strip(&mut v);
    v.to_string()
}

#[test]
fn reports_are_identical_with_one_thread_or_many() {
    fixtures();
    let ada = Path::new(ROOT).join("target/cohort/ben");
    let ada = ada.to_str().expect("p");
    let one = grader(&["grade", ada, "--format", "json", "--jobs", "1"]);
    let many = grader(&["grade", ada, "--format", "json", "--jobs", "6"]);
    assert_eq!(without_timings(&one.stdout), without_timings(&many.stdout));
    let path = module("q2_3_flipped");
    let path = path.to_str().expect("p");
    let one = grader(&["test", "q2.3", path, "--format", "json", "--jobs", "1"]);
    let many = grader(&["test", "q2.3", path, "--format", "json", "--jobs", "5"]);
    assert_eq!(without_timings(&one.stdout), without_timings(&many.stdout));
}

#[test]
fn hidden_data_appears_in_no_report_format() {
    fixtures();
    let data: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(Path::new(ROOT).join("problems/q2.3/data/random-1.json"))
            .expect("data"),
    )
    .expect("json");
    // Distinctive values of a hidden case: an input, an expected output.
    let needles = [
        data["input"]["x"][0][0].to_string(),
        data["expected"]["y"][0][0].to_string(),
    ];
    let ben = Path::new(ROOT).join("target/cohort/ben");
    let flipped = module("q2_3_flipped");
    let outputs = [
        grader(&["grade", ben.to_str().expect("p"), "--format", "json"]).stdout,
        grader(&["grade", ben.to_str().expect("p")]).stdout,
        grader(&[
            "test",
            "q2.3",
            flipped.to_str().expect("p"),
            "--format",
            "json",
        ])
        .stdout,
        grader(&["test", "q2.3", flipped.to_str().expect("p")]).stdout,
        grader(&["show", "q2.3"]).stdout,
    ];
    for out in &outputs {
        let out = text(out);
        for needle in &needles {
            assert!(needle.len() > 4, "needle {needle} is distinctive");
            assert!(
                !out.contains(needle.as_str()),
                "hidden value {needle} leaked:\n{out}"
            );
        }
    }
}

#[test]
fn the_digest_pins_the_problem_set() {
    let here = text(&grader(&["digest"]).stdout);
    let there = text(&grader(&["--course", ROOT, "digest"]).stdout);
    assert!(
        here.starts_with("sha256:") && here == there,
        "{here} vs {there}"
    );
    let dir = course_copy();
    let copy_out = grader(&["--course", dir.path().to_str().expect("p"), "digest"]);
    let copy = text(&copy_out.stdout);
    edit(
        dir.path(),
        "problems/q2.3/problem.toml",
        "points = 2",
        "points = 3",
    );
    let changed = text(&grader(&["--course", dir.path().to_str().expect("p"), "digest"]).stdout);
    assert_ne!(copy, changed, "a changed spec changes the digest");
}

/// What a student's report shows of a case, apart from its name and points: for hidden cases
/// this must be the same whatever the hidden input was.
fn observable(case: &Case) -> String {
    format!(
        "{} {} {:?} {:?} {:?} {:?}",
        case.verdict, case.message, case.mismatches, case.stderr, case.fuel, case.time_ms
    )
}

#[test]
fn no_report_is_a_channel_out_of_a_hidden_case() {
    // Each probe turns the hidden input into one thing a report could print: the exit status,
    // fuel and time, the memory asked for, the time slept, stdout before the output cap, the
    // way it crashes and its stderr. (probe, what differs between hidden cases for staff)
    type Channel = fn(&Case) -> String;
    let probes: [(&str, Channel); 6] = [
        ("leak_exit", |c| c.message.clone()),
        ("leak_fuel", |c| format!("{:?}", c.fuel)),
        ("leak_memory", |c| c.message.clone()),
        ("leak_sleep", |c| c.message.clone()),
        ("leak_output", |c| format!("{:?}", c.fuel)),
        ("leak_trap", |c| format!("{} {:?}", c.message, c.stderr)),
    ];
    for (probe, channel) in probes {
        let (student, out) = json_report("q2.3", probe);
        let hidden: Vec<&Case> = student
            .cases
            .iter()
            .filter(|c| c.visibility == "hidden")
            .collect();
        assert!(hidden.len() >= 3, "{probe}");
        for case in &hidden {
            assert_eq!(
                observable(case),
                observable(hidden[0]),
                "{probe}: hidden cases must look alike"
            );
        }
        // The human report: hidden lines alike once the name and points are taken out.
        let human = text(&grader(&["test", "q2.3", module(probe).to_str().expect("p")]).stdout);
        let mut in_hidden = false;
        let mut lines = std::collections::BTreeSet::new();
        for line in human.lines().skip(1) {
            if line.starts_with("  ✓") || line.starts_with("  ✗") || line.starts_with("score") {
                in_hidden = line.contains("hidden-");
            }
            if in_hidden {
                lines.insert(
                    line.split_whitespace()
                        .filter(|w| !w.starts_with("hidden-") && !w.contains('/'))
                        .collect::<Vec<_>>()
                        .join(" "),
                );
            }
        }
        assert!(lines.len() <= 2, "{probe}: hidden lines differ:\n{human}");
        assert_eq!(out.status.code(), Some(1));

        // The channel is real: staff see the difference.
        let (staff, _) = staff_report("q2.3", probe);
        let seen: std::collections::BTreeSet<String> = staff
            .cases
            .iter()
            .filter(|c| c.visibility == "hidden")
            .map(channel)
            .collect();
        assert!(
            seen.len() > 1,
            "{probe}: the probe should vary between hidden cases for staff: {seen:?}"
        );
    }
}

#[test]
fn answer_keys_are_printed_only_once_released() {
    // ben's q3.2 `total` is wrong (1.5e-7, the sheet's slip); its key is 4.2e-7.
    let (ben, _) = grade_student("ben");
    let field = &item(&ben, "q3.2")["fields"][1];
    assert!(field["key"].is_null(), "{field}");
    assert!(
        !field.to_string().contains("4.2"),
        "the key is not in the message: {field}"
    );
    assert!(item(&grade_student("ada").0, "q12.2")["rubric"].is_null());
    let human = grade_human("ben");
    assert!(
        !human.contains("4.2e-7") && !human.contains("key:"),
        "{human}"
    );

    let (staff, _) = grade_student_as("ben", &["--staff"]);
    assert_eq!(
        item(&staff, "q3.2")["fields"][1]["key"],
        "4.2e-7 (to 2 significant figures)"
    );

    let dir = course_copy();
    edit(
        dir.path(),
        "grader.toml",
        "release_keys = false",
        "release_keys = true",
    );
    let ben_dir = Path::new(ROOT).join("target/cohort/ben");
    let out = grader(&[
        "--course",
        dir.path().to_str().expect("p"),
        "grade",
        ben_dir.to_str().expect("p"),
    ]);
    let human = text(&out.stdout);
    assert!(
        human.contains("total: 1.5e-7 is not right to 2 significant figures (key: 4.2e-7 (to 2 significant figures))"),
        "{human}{}",
        text(&out.stderr)
    );
}

/// Writes `leaky` over `file` in the course copy `dir`, checks that `grader check` fails with
/// `error` (and first that the committed course passes), and puts the file back.
fn check_refuses(dir: &Path, file: &str, leaky: &str, error: &str) {
    let path = dir.join(file);
    let before = std::fs::read_to_string(&path).expect("spec");
    assert_ne!(before, leaky, "{error}: the edit changes {file}");
    std::fs::write(&path, leaky).expect("write");
    let out = grader(&["--course", dir.to_str().expect("p"), "check"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains(error), "{stderr}");
    std::fs::write(&path, before).expect("restore");
}

#[test]
fn check_rejects_a_course_that_gives_paper_keys_away() {
    let dir = course_copy();
    let out = grader(&["--course", dir.path().to_str().expect("p"), "check"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // The paper question Q3.1 is the code twin's case `sheet-example`: quoting its answer in
    // the code statement, or showing the case, gives its 3 points away.
    let q31 = std::fs::read_to_string(dir.path().join("problems/q3.1/problem.toml")).expect("q3.1");
    check_refuses(
        dir.path(),
        "problems/q3.1/problem.toml",
        &q31.replacen(
            "statement = \"\"\"\n",
            "statement = \"\"\"\nFor the sheet's example, h = 0.5370, 0.4050, 0.7278.\n",
            1,
        ),
        "problems/q3.1/problem.toml: `statement`: quotes `0.5370`, the key of q3.1 `h1`",
    );
    check_refuses(
        dir.path(),
        "problems/q3.1/problem.toml",
        &q31.replacen(
            "name = \"sheet-example\"\nvisibility = \"hidden\"",
            "name = \"sheet-example\"\nvisibility = \"sample\"",
            1,
        ),
        "problems/q3.1/answer.toml: `twin.case`: `sheet-example` of q3.1 is a sample case",
    );
    // A visible case with other inputs whose output is the key (d_k = 64 of Q4.4).
    let q44 = std::fs::read_to_string(dir.path().join("problems/q4.4/problem.toml")).expect("q4.4");
    check_refuses(
        dir.path(),
        "problems/q4.4/problem.toml",
        &format!(
            "{q44}\n[[cases]]\nname = \"leaky\"\nvisibility = \"sample\"\n\
             input = {{ d_model = 1024, heads = 16 }}\nexpected = {{ d_k = 64 }}\n"
        ),
        "problems/q4.4/problem.toml: `cases.leaky.expected.d_k`: is visible and equals the key of q4.4 `d_k`",
    );
}

/// Runs grader with `args`, failing the test if it has not finished in `seconds`: a hang
/// fails the test instead of stalling the suite.
fn grader_within(seconds: u64, args: &[&str], envs: &[(&str, &str)]) -> Output {
    watched(args, envs, seconds).0
}

/// Runs grader, draining its pipes on threads (a large report cannot block it) and sampling
/// the resident memory of its process tree (it and its workers) every few milliseconds; kills
/// it and fails after `seconds`. The output, the time it took and the peak memory.
fn watched(
    args: &[&str],
    envs: &[(&str, &str)],
    seconds: u64,
) -> (Output, std::time::Duration, u64) {
    use std::process::Stdio;
    let started = std::time::Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_grader"))
        .args(args)
        .envs(envs.iter().copied())
        .current_dir(ROOT)
        .env_remove("GRADER_COURSE")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("grader");
    let drain = |mut pipe: Box<dyn std::io::Read + Send>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            pipe.read_to_end(&mut buf).map(|_| buf)
        })
    };
    let out_reader = drain(Box::new(child.stdout.take().expect("stdout")));
    let err_reader = drain(Box::new(child.stderr.take().expect("stderr")));
    let mut peak = 0;
    let status = loop {
        peak = peak.max(tree_resident_bytes(child.id()));
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if started.elapsed() > std::time::Duration::from_secs(seconds) {
            let _ = child.kill();
            panic!("grader {args:?} did not finish within {seconds} s");
        }
        std::thread::sleep(std::time::Duration::from_millis(3));
    };
    let output = Output {
        status,
        stdout: out_reader.join().expect("join").expect("read"),
        stderr: err_reader.join().expect("join").expect("read"),
    };
    (output, started.elapsed(), peak)
}

#[test]
fn a_student_folder_is_a_jail() {
    fixtures();
    let dir = tempfile::tempdir().expect("tempdir");
    let student = dir.path().join("mallory");
    std::fs::create_dir(&student).expect("mkdir");
    let link = |target: &Path, name: &str| {
        std::os::unix::fs::symlink(target, student.join(name)).expect("symlink");
    };
    // A classmate's (here: the reference) module, the grader's environment, a device.
    link(&module("q2_3"), "q2.3.wasm");
    link(Path::new("/proc/self/environ"), "answers.toml");
    link(Path::new("/dev/zero"), "q4.3.wasm");
    let fifo = student.join("q1.1.wasm");
    let made = Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
    assert!(made.success());
    std::fs::create_dir(student.join("q1.2.wasm")).expect("mkdir");
    for i in 0..100 {
        std::fs::write(student.join(format!("junk-{i}.txt")), "x").expect("junk");
    }
    let secret = "s3cret-token-in-the-graders-environment";
    let out = grader_within(
        120,
        &["grade", student.to_str().expect("p"), "--format", "json"],
        &[("CI_TOKEN", secret)],
    );
    let stdout = text(&out.stdout);
    assert!(
        !stdout.contains(secret),
        "the environment leaked:\n{stdout}"
    );
    let report: StudentSummary = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!("{e}\n{stdout}{}", text(&out.stderr));
    });
    let reason = |id: &str| {
        let entry = report
            .problems
            .iter()
            .find(|p| p["problem"] == id)
            .expect("problem");
        assert_eq!(entry["score"].as_f64(), Some(0.0), "{id}");
        entry["result"]["invalid_submission"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    assert!(
        reason("q2.3").contains("is a symbolic link"),
        "{}",
        reason("q2.3")
    );
    assert!(reason("q4.3").contains("is a symbolic link"));
    assert!(reason("q1.1").contains("is a FIFO"), "{}", reason("q1.1"));
    assert!(reason("q1.2").contains("is a folder"), "{}", reason("q1.2"));
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.starts_with("answers.toml is a symbolic link")),
        "{:?}",
        report.warnings
    );
    assert!(
        report.warnings.len() <= 22
            && report
                .warnings
                .iter()
                .any(|w| w.contains("80 more warnings like these")),
        "junk files give a bounded list: {:?}",
        report.warnings
    );

    // A regular but huge answers file is refused by its size, unread.
    let big = dir.path().join("big");
    std::fs::create_dir(&big).expect("mkdir");
    let table = "[\"q9.9\"]\nx = 1\n";
    std::fs::write(big.join("answers.toml"), table.repeat(200_000)).expect("write");
    let out = grader_within(
        60,
        &["grade", big.to_str().expect("p"), "--format", "json"],
        &[],
    );
    let report: StudentSummary = serde_json::from_slice(&out.stdout).expect("report");
    assert_eq!(
        report.warnings,
        ["answers.toml is larger than 1 MiB, the most read; no answer was graded"]
    );
}

#[test]
fn no_terminal_escape_from_a_student_reaches_a_report() {
    fixtures();
    for name in ["escape_import", "escape_stderr"] {
        let path = module(name);
        for extra in [&[][..], &["--staff"]] {
            let mut args = vec![
                "test",
                "q2.3",
                path.to_str().expect("p"),
                "--color",
                "never",
            ];
            args.extend(extra);
            let out = text(&grader(&args).stdout);
            assert!(
                !out.contains('\u{1b}') && !out.contains('\u{7}'),
                "{name}:\n{out}"
            );
            assert!(
                out.contains("\\u{1b}"),
                "{name}: the escape is shown, harmless:\n{out}"
            );
        }
    }
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("\u{1b}[31mq2.3.wasm"), "x").expect("write");
    // A newline in a file name must not draw a line of its own, e.g. a fake total.
    std::fs::write(
        dir.path().join("notes\ntotal 362\u{2215}362\nq1.1.txt"),
        "x",
    )
    .expect("write");
    let out = text(&grader(&["grade", dir.path().to_str().expect("p"), "--color", "never"]).stdout);
    assert!(!out.contains('\u{1b}'), "{out}");
    assert!(
        !out.lines().any(|l| l.starts_with("total 362")),
        "a file name drew a line:\n{out}"
    );
}

#[test]
fn hostile_modules_end_within_bounded_time_and_memory() {
    fixtures();
    let dir = course_copy();
    edit(
        dir.path(),
        "grader.toml",
        "wall_ms = 10_000",
        "wall_ms = 1_000",
    );
    // Only fill_bomb needs the short wall limit; the others end by other limits, and keep
    // the course's 10 s wall so that a loaded machine cannot change which limit ends them.
    let short_wall = dir.path().to_str().expect("p");
    const MIB: u64 = 1 << 20;
    // (module, problem, jobs, verdict, message, most seconds, most MiB for the process tree).
    // The seconds are bounds against a hang, generous for a loaded machine: unbounded, these
    // ran for minutes to hours (fill_bomb ≈ 50 s a case), or took gigabytes.
    #[rustfmt::skip]
    let table: [(&str, &str, &str, &str, &str, f64, u64); 10] = [
        ("fill_bomb", "q4.4", "2", "time_limit_exceeded", "ran past the wall-clock limit of 1 s", 30.0, 1024),
        ("random_bomb", "q4.4", "2", "time_limit_exceeded", "instruction budget", 30.0, 1024),
        ("iovec_bomb", "q4.4", "2", "time_limit_exceeded", "instruction budget", 20.0, 1024),
        ("yield_loop", "q4.4", "2", "time_limit_exceeded", "instruction budget", 20.0, 256),
        ("clock_loop", "q4.4", "2", "time_limit_exceeded", "instruction budget", 20.0, 256),
        ("table_bomb", "q4.4", "1", "memory_limit_exceeded", "asked for 264 MiB", 20.0, 600),
        ("stderr_bomb", "q4.4", "1", "invalid_output", "printed nothing", 20.0, 350),
        ("v128_locals", "q4.4", "2", "invalid_submission", "locals in all its functions", 20.0, 256),
        ("many_functions", "q4.4", "2", "invalid_submission", "defines 1000000 functions", 20.0, 256),
        ("deep_blocks", "q4.4", "2", "invalid_submission", "nested more than 10000 deep", 20.0, 256),
    ];
    for (name, problem, jobs, verdict, message, seconds, mib) in table {
        let path = module(name);
        let course = if name == "fill_bomb" {
            short_wall
        } else {
            ROOT
        };
        let (out, took, peak) = watched(
            &[
                "--course",
                course,
                "--jobs",
                jobs,
                "test",
                problem,
                path.to_str().expect("p"),
                "--format",
                "json",
                "--staff",
            ],
            &[],
            120,
        );
        let report: Report = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{name}: {e}: {}", text(&out.stderr)));
        for case in &report.cases {
            assert_eq!(case.verdict, verdict, "{name}: {case:?}");
            assert!(case.message.contains(message), "{name}: {}", case.message);
        }
        assert!(
            took.as_secs_f64() < seconds,
            "{name}: took {took:?}, more than {seconds} s"
        );
        assert!(
            peak < mib * MIB,
            "{name}: the grader and its workers peaked at {} MiB, more than {mib}",
            peak / MIB
        );
        println!(
            "{name}: {:.2} s, peak {} MiB",
            took.as_secs_f64(),
            peak / MIB
        );
    }
}

#[test]
fn a_compile_past_its_bound_is_an_invalid_submission() {
    fixtures();
    let dir = course_copy();
    edit(
        dir.path(),
        "grader.toml",
        "compile_ms = 10_000",
        "compile_ms = 1",
    );
    let path = module("q2_3");
    let out = grader_within(
        60,
        &[
            "--course",
            dir.path().to_str().expect("p"),
            "test",
            "q2.3",
            path.to_str().expect("p"),
            "--format",
            "json",
        ],
        &[],
    );
    let report: Report = serde_json::from_slice(&out.stdout).expect("report");
    assert_eq!(
        report.invalid_submission.as_deref(),
        Some("the module took longer than 1 ms to compile"),
        "{report:?}"
    );
}

#[test]
fn modules_named_as_toolchains_name_them_are_graded_with_a_note() {
    fixtures();
    let dir = tempfile::tempdir().expect("tempdir");
    // An archive that unpacked into one more folder, holding cargo's names.
    let inner = dir.path().join("ada").join("handin");
    std::fs::create_dir_all(&inner).expect("mkdir");
    std::fs::copy(module("q4_3"), inner.join("q4_3.wasm")).expect("copy");
    std::fs::copy(module("q2_3"), inner.join("Q2.3.WASM")).expect("copy");
    std::fs::write(inner.join("q43.wasm"), "x").expect("write");
    let student = dir.path().join("ada");
    let out = grader(&["grade", student.to_str().expect("p"), "--format", "json"]);
    let report: StudentSummary = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", text(&out.stderr)));
    assert_eq!(report.student, "ada");
    for id in ["q4.3", "q2.3"] {
        let entry = report
            .problems
            .iter()
            .find(|p| p["problem"] == id)
            .expect("problem");
        assert_eq!(entry["score"], entry["max_score"], "{id}: {entry}");
    }
    assert_eq!(
        report.notes,
        [
            "graded the folder `handin/`: the hand-in holds a single folder and no modules",
            "Q2.3.WASM is graded as q2.3 (a file is named by its problem id: `q2.3.wasm`)",
            "q4_3.wasm is graded as q4.3 (a file is named by its problem id: `q4.3.wasm`)",
        ]
    );
    assert_eq!(
        report.warnings,
        [
            "q43.wasm: not a code problem's module or Python file, nor answers.toml; ignored (did you mean `q4.3.wasm`?)"
        ]
    );
}

#[test]
fn reports_teach_what_went_wrong() {
    fixtures();
    let shown = |problem: &str, name: &str| {
        let path = module(name);
        text(
            &grader(&[
                "test",
                problem,
                path.to_str().expect("p"),
                "--color",
                "never",
            ])
            .stdout,
        )
    };
    let debug = shown("q2.3", "debug_print");
    assert!(
        debug.contains("stdout began: `debug: x is")
            && debug.contains("debug output belongs on stderr"),
        "{debug}"
    );
    let null = shown("q2.3", "null_output");
    assert!(
        null.contains("found null (a NaN or an infinity? serde_json prints those as null"),
        "{null}"
    );
    // Softmax over the wrong axis: `weights` is wrong as well as `z`, and both are named.
    let axis = shown("q4.2", "q4_2_column_softmax");
    assert!(
        axis.contains("wrong answer: z[") && axis.contains("also: weights["),
        "{axis}"
    );
}

#[test]
fn json_reports_say_what_made_them() {
    let (report, _) = json_report("q2.3", "q2_3");
    let digest = text(&grader(&["digest"]).stdout);
    let digest = digest
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string();
    assert_eq!(report.schema_version, Some(2));
    assert_eq!(
        report.grader_version.as_deref(),
        Some(env!("CARGO_PKG_VERSION"))
    );
    assert_eq!(report.course_digest.as_deref(), Some(digest.as_str()));
    let (ben, _) = grade_student("ben");
    assert_eq!(
        (ben.schema_version, ben.course_digest.as_str()),
        (2, digest.as_str())
    );
    assert!(!ben.grader_version.is_empty());
    // Missing parts are structured, each once.
    let q14 = ben.missing.iter().filter(|m| m.id == "q1.4").count();
    assert_eq!(q14, 1);
    assert!(
        ben.missing
            .iter()
            .any(|m| m.id == "q1.4" && m.kind == "code")
    );
    assert!(
        ben.missing
            .iter()
            .any(|m| m.id == "q1.3" && m.kind == "answer")
    );
}

/// The `grader …` lines of the README's code blocks and of `grader --help`'s examples.
fn documented_commands() -> Vec<String> {
    let readme = std::fs::read_to_string(Path::new(ROOT).join("README.md")).expect("README");
    let mut in_block = false;
    let mut commands = Vec::new();
    for line in readme.lines() {
        if line.starts_with("```") {
            in_block = !in_block;
        } else if in_block && line.starts_with("grader ") {
            commands.push(line.split(" # ").next().unwrap_or(line).trim().to_string());
        }
    }
    let help = text(&grader(&["--help"]).stdout);
    commands.extend(
        help.lines()
            .skip_while(|l| !l.starts_with("Examples"))
            .skip(1)
            .take_while(|l| l.starts_with("  grader "))
            .map(|l| l.trim().to_string()),
    );
    commands
}

#[test]
fn every_documented_example_runs_as_written() {
    fixtures();
    let commands = documented_commands();
    assert!(commands.len() >= 15, "{commands:?}");
    // In a copy of the course (gen writes data files), with the repository's built modules.
    let dir = course_copy();
    std::os::unix::fs::symlink(Path::new(ROOT).join("target"), dir.path().join("target"))
        .expect("symlink target");
    for command in commands {
        // A line with a <placeholder> is a template for the reader's own files.
        if command.contains('<') {
            continue;
        }
        let args: Vec<&str> = command.split_whitespace().skip(1).collect();
        let out = Command::new(env!("CARGO_BIN_EXE_grader"))
            .args(&args)
            .current_dir(dir.path())
            .env_remove("GRADER_COURSE")
            .output()
            .expect("grader");
        let stderr = text(&out.stderr);
        assert!(
            matches!(out.status.code(), Some(0 | 1)) && !stderr.contains("error:"),
            "`{command}` does not run as written ({:?}): {stderr}",
            out.status.code()
        );
    }
}

/// ada's answers.toml with `edits` applied (each `(from, to)` once), in a fresh folder.
fn student_with_answers(edits: &[(&str, &str)]) -> tempfile::TempDir {
    let mut text =
        std::fs::read_to_string(Path::new(ROOT).join("fixtures/cohort/ada/answers.toml"))
            .expect("ada");
    for (from, to) in edits {
        assert!(text.contains(from), "{from}");
        text = text.replacen(from, to, 1);
    }
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("answers.toml"), text).expect("write");
    dir
}

fn grade_folder(dir: &Path) -> (StudentSummary, Output) {
    let out = grader(&["grade", dir.to_str().expect("p"), "--format", "json"]);
    let report = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}\n{}{}", text(&out.stdout), text(&out.stderr)));
    (report, out)
}

#[test]
fn a_partly_broken_answers_file_costs_only_the_broken_questions() {
    let dir = student_with_answers(&[
        ("cos = 0.96", "cos = 24/25"),
        ("[\"q2.3\"]", "[\"q2.2\"]\nparams = 1\n\n[\"q2.3\"]"),
        ("d_k = 64", "d_k = 64\nheads = 8"),
        ("h2 = 0.4050", "h2 = \"0.4050\""),
        ("z = 0.2", "z = \"1/5\""),
        ("[\"q12.1\"]", "[q12.1]"),
    ]);
    let (report, out) = grade_folder(dir.path());
    let status = |id: &str| {
        item(&report, id)["status"]
            .as_str()
            .unwrap_or("")
            .to_string()
    };
    for id in ["q1.1", "q3.1", "q4.4", "q12.1", "q2.3", "q5.1"] {
        assert_eq!(status(id), "correct", "{id}: {}", item(&report, id));
    }
    for id in ["q6.1", "q2.2"] {
        let it = item(&report, id);
        assert_eq!(
            (it["status"].as_str(), it["score"].as_f64()),
            (Some("incorrect"), Some(0.0)),
            "{it}"
        );
        assert!(
            it["fields"][0]["message"].as_str().is_some_and(
                |m| m.starts_with(&format!("the table [\"{id}\"] could not be read (line "))
            ),
            "{it}"
        );
    }
    // Every answer item but the two broken ones at full marks, manual items pending.
    let answer_points: f64 = report
        .items
        .iter()
        .map(|i| i["score"].as_f64().unwrap_or(0.0))
        .sum();
    let lost = item(&report, "q6.1")["max_score"].as_f64().unwrap_or(0.0)
        + item(&report, "q2.2")["max_score"].as_f64().unwrap_or(0.0);
    let auto: f64 = report
        .items
        .iter()
        .filter(|i| i["kind"] != "manual")
        .map(|i| i["max_score"].as_f64().unwrap_or(0.0))
        .sum();
    assert_eq!(answer_points, auto - lost);
    let written = std::fs::read_to_string(dir.path().join("answers.toml")).expect("answers");
    let line_of = |needle: &str| {
        written
            .lines()
            .position(|l| l == needle)
            .map(|n| n + 1)
            .expect(needle)
    };
    let (cos, twice) = (line_of("cos = 24/25"), 19);
    assert_eq!(line_of("params = 1"), twice + 1);
    let w = &report.warnings;
    assert!(
        w.iter().any(|w| w.starts_with(&format!(
            "answers.toml line {cos}: [\"q6.1\"] could not be read, so the question scores 0: "
        )) && w.contains("write a fraction in quotes")),
        "{w:?}"
    );
    assert!(
        w.iter().any(|w| w.starts_with(&format!(
            "answers.toml line {twice}: [\"q2.2\"] could not be read"
        )) && w.contains("the table is given twice")),
        "{w:?}"
    );
    assert!(
        w.iter()
            .any(|w| w
                == "answers.toml: [\"q4.4\"] has no field `heads` (it asks for: d_k); ignored"),
        "{w:?}"
    );
    assert_eq!(w.len(), 3, "{w:?}");
    assert_eq!(out.status.code(), Some(1));
    let human = text(&grader(&["grade", dir.path().to_str().expect("p")]).stdout);
    assert!(human.contains("could not be read"), "{human}");
}

#[test]
fn the_answers_template_grades_as_all_unanswered() {
    let out = grader(&["answers"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let template = text(&out.stdout);
    toml::from_str::<toml::Table>(&template).expect("the template is TOML");
    assert!(
        !template.contains("0.5498") && !template.contains("rubric"),
        "{template}"
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("answers.toml");
    let out = grader(&["answers", "--output", path.to_str().expect("p")]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(std::fs::read_to_string(&path).expect("written"), template);
    let (report, _) = grade_folder(dir.path());
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
    assert_eq!(report.score, 0.0);
    assert_eq!(report.items.len(), 35);
    assert!(
        report.items.iter().all(|i| i["status"] == "missing"),
        "{:?}",
        report.items
    );
    assert_eq!(report.missing.len(), 25 + 35);
    // Never over an existing file.
    std::fs::write(&path, "mine").expect("write");
    let out = grader(&["answers", "--output", path.to_str().expect("p")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("already exists; not overwritten"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(std::fs::read_to_string(&path).expect("kept"), "mine");
}

/// The processes whose parent is `pid`.
fn children_of(pid: u32) -> Vec<u32> {
    all_processes()
        .into_iter()
        .filter(|&p| parent_of(p) == Some(pid))
        .collect()
}

#[test]
fn workers_end_when_the_grader_is_killed() {
    use std::process::Stdio;
    fixtures();
    // fill_bomb keeps its worker busy for 10 s a case: killed, the grader must not leave it.
    let path = module("fill_bomb");
    let mut child = Command::new(env!("CARGO_BIN_EXE_grader"))
        .args(["test", "q4.4", path.to_str().expect("p")])
        .current_dir(ROOT)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("grader");
    let started = std::time::Instant::now();
    let workers = loop {
        let workers = children_of(child.id());
        if !workers.is_empty() {
            break workers;
        }
        assert!(started.elapsed().as_secs() < 20, "no worker started");
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    std::thread::sleep(std::time::Duration::from_millis(300));
    child.kill().expect("kill");
    child.wait().expect("wait");
    let killed = std::time::Instant::now();
    let alive = |pid: u32| {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|stat| {
                stat.rsplit(')')
                    .next()
                    .map(|r| !r.trim_start().starts_with('Z'))
            })
            .unwrap_or(false)
    };
    while workers.iter().any(|&w| alive(w)) {
        assert!(
            killed.elapsed().as_secs() < 5,
            "workers {workers:?} outlived their grader"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}
