//! The cohort benchmark: `grader batch` on a synthetic class, every figure next to the others
//! of the same run. Each student hands in the 25 reference modules of the sample student
//! `ada`, each made distinct by a custom section holding the student's name (so nothing is
//! graded once for two students), and ada's answers.toml.
//!
//! Phases: cold (empty gradebook, empty module cache), unchanged (the same command again),
//! incremental (one student's module replaced), warm (empty gradebook, module cache filled),
//! and 1 against 2 jobs on a slice of the class (each with an empty cache).
//!
//! Run with `scripts/bench-cohort [students] [slice]` (it builds the fixtures and the grader).

#[path = "support/proctree.rs"]
mod proctree;
#[path = "support/watched.rs"]
mod watched;

use watched::with_custom_section;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, bail};

/// Writes `students` student folders into `dir` from the modules and answers of `model`.
fn synthesize(model: &Path, dir: &Path, students: usize) -> anyhow::Result<usize> {
    let mut modules = Vec::new();
    for entry in std::fs::read_dir(model).with_context(|| format!("reading {}", model.display()))? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "wasm") {
            modules.push((
                path.file_name().map(|n| n.to_owned()),
                std::fs::read(&path)?,
            ));
        }
    }
    let answers = std::fs::read(model.join("answers.toml"))?;
    for s in 0..students {
        let student = dir.join(format!("student-{s:03}"));
        std::fs::create_dir_all(&student)?;
        for (name, bytes) in &modules {
            let Some(name) = name else { continue };
            let payload = format!("student-{s:03}");
            std::fs::write(
                student.join(name),
                with_custom_section(bytes.clone(), payload.as_bytes()),
            )?;
        }
        std::fs::write(student.join("answers.toml"), &answers)?;
    }
    Ok(modules.len())
}

struct Run {
    wall: Duration,
    peak_rss: u64,
    report: serde_json::Value,
}

/// Runs `grader batch` and samples its process tree's resident memory every 20 ms.
fn batch(grader: &Path, cohort: &Path, out: &Path, extra: &[&str]) -> anyhow::Result<Run> {
    let mut command = Command::new(grader);
    command
        .arg("batch")
        .arg(cohort)
        .arg("--out")
        .arg(out)
        .args(["--quiet", "--format", "json"])
        .args(extra);
    let run = watched::watch(command)?;
    if !run.status.success() {
        bail!(
            "grader batch failed ({}): {}",
            run.status,
            String::from_utf8_lossy(&run.stdout)
        );
    }
    Ok(Run {
        wall: run.wall,
        peak_rss: run.peak_rss,
        report: serde_json::from_slice(&run.stdout).context("batch's JSON")?,
    })
}

fn line(name: &str, run: &Run, target: &str) {
    let r = &run.report["run"];
    println!(
        "{name:<34} {:>8.1} s {:>7.0} MiB   graded {:>3} unchanged {:>3} run {:>5} reused {:>5}   {target}",
        run.wall.as_secs_f64(),
        run.peak_rss as f64 / (1 << 20) as f64,
        r["graded"],
        r["unchanged"],
        r["modules_run"],
        r["modules_reused"],
    );
}

fn main() -> anyhow::Result<()> {
    // `cargo bench` adds `--bench`: only the plain arguments are ours.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let (Some(grader), Some(model), Some(work)) = (args.first(), args.get(1), args.get(2)) else {
        bail!("usage: cohort <grader binary> <model student folder> <work dir> [students] [slice]");
    };
    let students: usize = args.get(3).map_or(Ok(300), |s| s.parse())?;
    let slice: usize = args.get(4).map_or(Ok(40), |s| s.parse())?;
    let grader = PathBuf::from(grader);
    let work = PathBuf::from(work);
    if work.exists() {
        std::fs::remove_dir_all(&work)?;
    }
    let cohort = work.join("cohort");
    let per_student = synthesize(Path::new(model), &cohort, students)?;
    let modules = students * per_student;
    println!(
        "cohort: {students} students × {per_student} modules = {modules} distinct modules, jobs 2 unless said"
    );
    let cache = work.join("cache");
    let cache_arg = cache.to_str().context("path")?;
    // The whole class, two jobs, the shared module cache, into `out`.
    let class = |out: &str| {
        batch(
            &grader,
            &cohort,
            &work.join(out),
            &["--jobs", "2", "--cache-dir", cache_arg],
        )
    };

    let cold = class("cold")?;
    line(
        "cold (empty gradebook and cache)",
        &cold,
        "target ≤ 180 s, ≤ 1024 MiB",
    );
    println!(
        "    {:.1} ms per module, {:.0} cases/s",
        cold.wall.as_secs_f64() * 1e3 / modules as f64,
        watched::count_cases(&cold.report) / cold.wall.as_secs_f64()
    );
    let unchanged = class("cold")?;
    line(
        "unchanged (same command again)",
        &unchanged,
        "target ≤ 30 s",
    );

    let changed = cohort.join("student-000/q2.3.wasm");
    let bytes = std::fs::read(&changed)?;
    std::fs::write(&changed, with_custom_section(bytes, b"resubmitted"))?;
    let incremental = class("cold")?;
    line(
        "incremental (one module changed)",
        &incremental,
        "target ≤ 2 s",
    );

    let warm = class("warm")?;
    line("warm (empty gradebook, cache filled)", &warm, "");
    println!(
        "    the module cache: cold/warm = {:.2}×",
        cold.wall.as_secs_f64() / warm.wall.as_secs_f64()
    );

    // 1 against 2 jobs on a slice, each from an empty cache: the same work, twice.
    let part = work.join("slice");
    std::fs::create_dir_all(&part)?;
    for s in 0..slice.min(students) {
        let name = format!("student-{s:03}");
        let from = cohort.join(&name);
        let to = part.join(&name);
        std::fs::create_dir_all(&to)?;
        for entry in std::fs::read_dir(&from)? {
            let entry = entry?;
            std::fs::copy(entry.path(), to.join(entry.file_name()))?;
        }
    }
    let mut runs = Vec::new();
    for jobs in ["1", "2"] {
        let cache = work.join(format!("cache-{jobs}"));
        let run = batch(
            &grader,
            &part,
            &work.join(format!("slice-{jobs}")),
            &[
                "--jobs",
                jobs,
                "--cache-dir",
                cache.to_str().context("path")?,
            ],
        )?;
        line(&format!("slice of {slice}, cold, jobs {jobs}"), &run, "");
        runs.push(run);
    }
    println!(
        "    jobs 1 → 2: {:.2}× (target ≥ 1.6×)",
        runs[0].wall.as_secs_f64() / runs[1].wall.as_secs_f64()
    );
    let nocache = batch(
        &grader,
        &part,
        &work.join("slice-nocache"),
        &["--jobs", "2", "--no-cache"],
    )?;
    line(
        &format!("slice of {slice}, --no-cache, jobs 2"),
        &nocache,
        "",
    );
    println!(
        "    writing the module cache costs {:.2}× a run without it",
        runs[1].wall.as_secs_f64() / nocache.wall.as_secs_f64()
    );
    Ok(())
}
