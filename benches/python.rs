//! Benchmarks of Python submissions, each figure beside a baseline run in the same process:
//!
//! 1. Per case, in process: the numpy references of six problems graded on all their cases,
//!    against the Rust references of the same problems in the same sandbox.
//! 2. A class: `grader batch` on S students × 5 problems of Python files (every file distinct,
//!    so nothing is deduplicated), against the same class handing in the Rust modules (every
//!    module distinct, compile cache empty), both with two jobs.
//!
//! Run with `scripts/bench-python` (it fetches and prepares the runtime, builds the fixtures).

#[path = "support/proctree.rs"]
mod proctree;
#[path = "support/watched.rs"]
mod watched;

use watched::with_custom_section;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use grader::grade;
use grader::sandbox::Sandbox;
use grader::spec::Course;

const ROUNDS: usize = 5;
/// (problem, Python reference, Rust reference, Python mistake).
const PROBLEMS: [(&str, &str, &str, &str); 6] = [
    ("q1.1", "py_q1_1", "q1_1", "py_q1_1_overflow"),
    ("q1.2", "py_q1_2", "q1_2", "py_q1_2_unstable"),
    ("q2.3", "py_q2_3", "q2_3", "py_q2_3_flipped"),
    ("q4.2", "py_q4_2", "q4_2", "py_q4_2_no_max_shift"),
    ("q6.3", "py_q6_3", "q6_3", "py_q6_3_zero_based"),
    ("q12.1", "py_q12_1", "q12_1", "py_q12_1_naive"),
];

fn median(mut xs: Vec<Duration>) -> Duration {
    xs.sort();
    xs[xs.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Runs `grader batch` with two jobs; (wall time, peak resident memory of its process tree,
/// cases run).
fn batch(
    grader: &Path,
    course: &Path,
    cohort: &Path,
    out: &Path,
    extra: &[&str],
) -> anyhow::Result<(Duration, u64, u64)> {
    let mut command = Command::new(grader);
    command
        .arg("--course")
        .arg(course)
        .arg("batch")
        .arg(cohort)
        .arg("--out")
        .arg(out)
        .args(["--quiet", "--format", "json", "--jobs", "2"])
        .args(extra);
    let watched::Watched {
        wall,
        peak_rss: peak,
        status,
        stdout,
    } = watched::watch(command)?;
    let report: serde_json::Value = serde_json::from_slice(&stdout).with_context(|| {
        format!(
            "grader batch ({status}) printed no report: {}",
            String::from_utf8_lossy(&stdout)
        )
    })?;
    let graded = report["run"]["graded"].as_u64().unwrap_or(0);
    if graded == 0 {
        bail!("grader batch graded nobody: {report}");
    }
    let cases = watched::count_cases(&report) as u64;
    Ok((wall, peak, cases))
}

fn main() -> anyhow::Result<()> {
    // `cargo bench` adds `--bench`: only the plain arguments are ours.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let (Some(grader_exe), Some(fixtures), Some(work)) = (args.first(), args.get(1), args.get(2))
    else {
        bail!("usage: python <grader binary> <fixtures dir> <work dir> [students]");
    };
    let students: usize = args.get(3).map_or(Ok(300), |s| s.parse())?;
    let grader_exe = PathBuf::from(grader_exe);
    let fixtures = PathBuf::from(fixtures);
    let work = PathBuf::from(work);
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let course = Course::load(root).map_err(|e| anyhow::anyhow!("{e}"))?;

    // 1. Per case, in process.
    let sandbox = Sandbox::new(512 << 10)?;
    let opened = Instant::now();
    sandbox.python()?;
    println!(
        "opening the prepared Python runtime (compile cache hit): {:.0} ms\n",
        ms(opened.elapsed())
    );
    println!("## Per case, in process, median of {ROUNDS} gradings of every case\n");
    println!(
        "| problem | cases | Python + numpy per case | fuel per case | Rust (Winch) per case | Python / Rust |"
    );
    println!("|---|---|---|---|---|---|");
    let mut ratios = Vec::new();
    for (id, python, rust, _) in PROBLEMS {
        let problem = course.problem(id).map_err(|e| anyhow::anyhow!("{e}"))?;
        let cases = problem.cases.len();
        let time = |name: &str| -> anyhow::Result<(Duration, u64)> {
            let bytes = std::fs::read(fixtures.join(name))
                .with_context(|| format!("reading {name} (scripts/build-fixtures)"))?;
            let mut times = Vec::new();
            let mut fuel = 0;
            for _ in 0..ROUNDS {
                let t = Instant::now();
                let result = grade::grade(&sandbox, &problem, name, &bytes, 1)?;
                times.push(t.elapsed());
                if result.score != result.max_score {
                    bail!("{name} is not accepted on {id}");
                }
                fuel = result.cases.iter().filter_map(|c| c.fuel).sum::<u64>() / cases as u64;
            }
            Ok((median(times) / cases as u32, fuel))
        };
        let (py, py_fuel) = time(&format!("{python}.py"))?;
        let (rs, _) = time(&format!("{rust}.wasm"))?;
        let ratio = py.as_secs_f64() / rs.as_secs_f64();
        ratios.push(ratio);
        println!(
            "| {id} | {cases} | {:.1} ms | {:.1} M | {:.2} ms | {ratio:.1}× |",
            ms(py),
            py_fuel as f64 / 1e6,
            ms(rs)
        );
    }
    println!(
        "\nPython / Rust per case, median over problems: {:.1}× (the Rust figure includes \
         compiling the module once per grading; the Python one, checking the file's syntax)\n",
        median(ratios.iter().map(|r| Duration::from_secs_f64(*r)).collect()).as_secs_f64()
    );

    // 2. A class, Python against Rust modules.
    if work.exists() {
        std::fs::remove_dir_all(&work)?;
    }
    let five = &PROBLEMS[..5];
    let (py_cohort, rs_cohort) = (work.join("python"), work.join("rust"));
    for s in 0..students {
        let name = format!("student-{s:03}");
        for dir in [&py_cohort, &rs_cohort] {
            std::fs::create_dir_all(dir.join(&name))?;
        }
        for (i, (id, python, rust, mistake)) in five.iter().enumerate() {
            // A third of the class makes the classic mistake.
            let file = if (s + i) % 3 == 0 { mistake } else { python };
            let source = std::fs::read(fixtures.join(format!("{file}.py")))?;
            let mut own = format!("# {name}\n").into_bytes();
            own.extend(source);
            std::fs::write(py_cohort.join(&name).join(format!("{id}.py")), own)?;
            let module = std::fs::read(fixtures.join(format!("{rust}.wasm")))?;
            std::fs::write(
                rs_cohort.join(&name).join(format!("{id}.wasm")),
                with_custom_section(module, name.as_bytes()),
            )?;
        }
    }
    println!("## A class: {students} students × 5 problems, every file distinct, 2 jobs\n");
    println!("| hand-ins | wall | per student | cases | per case | peak memory |");
    println!("|---|---|---|---|---|---|");
    let rust_cache = work.join("rust-cache");
    let rows = [
        ("Python files (runtime prepared)", &py_cohort, Vec::new()),
        (
            "Rust modules (compile cache empty)",
            &rs_cohort,
            vec!["--cache-dir", rust_cache.to_str().context("path")?],
        ),
    ];
    let mut walls = Vec::new();
    for (label, cohort, extra) in rows {
        let out = work.join(format!("out-{}", walls.len()));
        let (wall, peak, cases) = batch(&grader_exe, root, cohort, &out, &extra)?;
        walls.push(wall);
        println!(
            "| {label} | {:.1} s | {:.0} ms | {cases} | {:.1} ms | {:.0} MiB |",
            wall.as_secs_f64(),
            ms(wall) / students as f64,
            if cases > 0 {
                ms(wall) / cases as f64
            } else {
                0.0
            },
            peak as f64 / (1 << 20) as f64
        );
    }
    println!(
        "\nPython class / Rust class: {:.2}×",
        walls[0].as_secs_f64() / walls[1].as_secs_f64()
    );
    Ok(())
}
