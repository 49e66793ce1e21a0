//! Benchmarks of the sandbox, with every figure next to a baseline measured in the same run:
//! compile time per module, and time per test case in the sandbox against the same program
//! built natively and spawned as one process per case.
//!
//! Run with `scripts/bench` (it builds the fixtures, the grader and the native baseline first).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use grader::sandbox::{Code, Executor, Isolated, Limits, Outcome, Sandbox};
use grader::student::{Grader, Isolation};

const ROUNDS: usize = 5;
const CASES_PER_ROUND: usize = 200;
const INPUT: &[u8] = br#"{"x": [[1,2,3],[4,5,6],[7,8,9]], "k": [[1,0],[0,-1]]}"#;

fn median(mut xs: Vec<Duration>) -> Duration {
    xs.sort();
    xs[xs.len() / 2]
}

fn micros(d: Duration) -> String {
    format!("{:.1} µs", d.as_secs_f64() * 1e6)
}

fn main() -> anyhow::Result<()> {
    // `cargo bench` adds `--bench`: only the plain arguments are ours.
    let mut args = std::env::args().skip(1).filter(|a| !a.starts_with("--"));
    let (Some(fixtures), Some(native), Some(grader_exe)) = (args.next(), args.next(), args.next())
    else {
        bail!("usage: sandbox <fixtures dir> <native build of q2_3> <grader binary>");
    };
    let fixtures = PathBuf::from(fixtures);
    let native = PathBuf::from(native);
    let grader_exe = PathBuf::from(grader_exe);
    let limits = Limits {
        fuel: 2_000_000_000,
        wall: Duration::from_secs(10),
        memory_bytes: 256 << 20,
        stdout_bytes: 1 << 20,
        stderr_bytes: 16 << 10,
        compile: Duration::from_secs(10),
        compile_memory: 1 << 30,
    };
    let sandbox = Sandbox::new(512 << 10)?;

    println!("## Compile (Winch), median of {ROUNDS}\n");
    println!("| module | bytes | compile + link |");
    println!("|---|---|---|");
    let mut compile_times = Vec::new();
    for name in ["q1_1", "q2_3", "q4_3", "q6_1", "panics", "stdout_flood"] {
        let bytes = read(&fixtures, name)?;
        let times: Vec<Duration> = (0..ROUNDS)
            .map(|_| {
                let t = Instant::now();
                let program = sandbox.load(&bytes);
                let elapsed = t.elapsed();
                program
                    .map(|_| elapsed)
                    .map_err(|e| anyhow::anyhow!("{name}: {e}"))
            })
            .collect::<anyhow::Result<_>>()?;
        let m = median(times);
        compile_times.push(m);
        println!(
            "| {name} | {} | {:.1} ms |",
            bytes.len(),
            m.as_secs_f64() * 1e3
        );
    }

    let program = sandbox
        .load(&read(&fixtures, "q2_3")?)
        .map_err(|e| anyhow::anyhow!("q2_3: {e}"))?;
    let check = sandbox.run(&program, INPUT, &limits);
    if check.outcome != Outcome::Exited(0) {
        bail!("q2_3 did not run cleanly: {:?}", check.outcome);
    }
    let native_out = spawn_native(&native)?;
    if native_out.trim() != String::from_utf8_lossy(&check.stdout).trim() {
        bail!(
            "native and sandboxed outputs differ: {native_out} vs {:?}",
            check.stdout
        );
    }

    // Rounds interleave the two modes so that machine noise hits both alike.
    let mut sandboxed = Vec::new();
    let mut spawned = Vec::new();
    for _ in 0..ROUNDS {
        for _ in 0..CASES_PER_ROUND {
            let t = Instant::now();
            let exec = sandbox.run(&program, INPUT, &limits);
            sandboxed.push(t.elapsed());
            std::hint::black_box(exec);
        }
        for _ in 0..CASES_PER_ROUND / 4 {
            let t = Instant::now();
            spawn_native(&native)?;
            spawned.push(t.elapsed());
        }
    }
    let (s, n) = (median(sandboxed), median(spawned));
    println!("\n## One test case of q2.3 (the sheet's 3×3 example), median\n");
    println!("| mode | per case | ratio |");
    println!("|---|---|---|");
    println!(
        "| sandbox: fresh instance from InstancePre, fuel + epoch + limits | {} | 1.00 |",
        micros(s)
    );
    println!(
        "| native process per case (same Rust source, x86_64) | {} | {:.1}x slower |",
        micros(n),
        n.as_secs_f64() / s.as_secs_f64()
    );
    let compile = median(compile_times);
    println!(
        "\nCompiling one module costs as much as {:.0} sandboxed cases.",
        compile.as_secs_f64() / s.as_secs_f64()
    );

    // The same 200 cases run in this process and in a worker process (what grading does):
    // both compile once; the difference is the process boundary.
    let isolated = Isolated::new(grader_exe.clone(), 512 << 10);
    let wasm = read(&fixtures, "q2_3")?;
    let stdins = vec![INPUT.to_vec(); CASES_PER_ROUND];
    let (mut here, mut there) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        let t = Instant::now();
        let runs = sandbox.execute(Code::Wasm(&wasm), &stdins, &limits, 1)?;
        here.push(t.elapsed() / CASES_PER_ROUND as u32);
        std::hint::black_box(runs.map_err(|e| anyhow::anyhow!("{e}"))?);
        let t = Instant::now();
        let runs = isolated.execute(Code::Wasm(&wasm), &stdins, &limits, 1)?;
        there.push(t.elapsed() / CASES_PER_ROUND as u32);
        std::hint::black_box(runs.map_err(|e| anyhow::anyhow!("{e}"))?);
    }
    let (here, there) = (median(here), median(there));
    println!(
        "\n## {CASES_PER_ROUND} cases of q2.3 with one compile, per case, median of {ROUNDS}\n"
    );
    println!("| where | per case | ratio |");
    println!("|---|---|---|");
    println!(
        "| in this process (no kill backstop) | {} | 1.00 |",
        micros(here)
    );
    println!(
        "| in a worker process the grader can kill | {} | {:.2}x |",
        micros(there),
        there.as_secs_f64() / here.as_secs_f64()
    );

    // A cold `grader test`: process start, course, worker start, compile, every case.
    let (problem, module) = ("q3.5", fixtures.join("q3_5.wasm"));
    let runs = 20;
    let cpu_before = children_cpu()?;
    let mut walls = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        let status = Command::new(&grader_exe)
            .args(["test", problem])
            .arg(&module)
            .stdout(Stdio::null())
            .status()?;
        walls.push(t.elapsed());
        if !status.success() {
            bail!("grader test {problem} failed: {status}");
        }
    }
    let cpu = (children_cpu()? - cpu_before) / runs;
    let cases = grader::spec::Course::load(Path::new("."))?
        .problem(problem)?
        .cases
        .len();
    println!("\n## A cold `grader test {problem}` ({cases} cases), {runs} runs\n");
    println!(
        "CPU (grader and its worker) {:.0} ms per run; wall {:.0} ms (median).",
        cpu.as_secs_f64() * 1e3,
        median(walls).as_secs_f64() * 1e3
    );

    // A whole hand-in: 25 modules compiled and 154 cases run, on one thread and on two.
    let course = grader::spec::Course::load(Path::new("."))?;
    let (problems, _) = course.problems()?;
    let (items, _) = course.items()?;
    let student = Path::new("target/cohort/ada");
    let workers = Isolation::Workers(grader_exe, None);
    let mut rows = Vec::new();
    for (isolation, label) in [
        (&Isolation::InProcess, "in this process"),
        (&workers, "in worker processes"),
    ] {
        let one = Grader::with(problems.clone(), items.clone(), 1, isolation)?;
        let two = Grader::with(problems.clone(), items.clone(), 2, isolation)?;
        let (mut t1, mut t2) = (Vec::new(), Vec::new());
        for _ in 0..3 {
            let t = Instant::now();
            std::hint::black_box(one.grade_student(student)?);
            t1.push(t.elapsed());
            let t = Instant::now();
            std::hint::black_box(two.grade_student(student)?);
            t2.push(t.elapsed());
        }
        rows.push((label, median(t1), median(t2)));
    }
    let cases: usize = problems.iter().map(|p| p.cases.len()).sum();
    println!(
        "\n## One student's whole hand-in ({} modules, {cases} cases, answers.toml), median of 3\n",
        problems.len()
    );
    println!("| where | --jobs 1 | --jobs 2 | 1 → 2 |");
    println!("|---|---|---|---|");
    let base = rows[0].1;
    for (label, t1, t2) in rows {
        println!(
            "| {label} | {:.0} ms ({:.2}x) | {:.0} ms | {:.2}x faster |",
            t1.as_secs_f64() * 1e3,
            t1.as_secs_f64() / base.as_secs_f64(),
            t2.as_secs_f64() * 1e3,
            t1.as_secs_f64() / t2.as_secs_f64()
        );
    }
    if let Some(peak) = peak_rss_kib() {
        println!(
            "Peak resident memory of this benchmark process: {:.1} MiB.",
            peak as f64 / 1024.0
        );
    }
    Ok(())
}

fn read(dir: &Path, name: &str) -> anyhow::Result<Vec<u8>> {
    let path = dir.join(format!("{name}.wasm"));
    std::fs::read(&path)
        .with_context(|| format!("reading {} (run scripts/build-fixtures)", path.display()))
}

fn spawn_native(binary: &Path) -> anyhow::Result<String> {
    let mut child = Command::new(binary)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .with_context(|| format!("spawning {}", binary.display()))?;
    child.stdin.take().context("stdin")?.write_all(INPUT)?;
    let out = child.wait_with_output()?;
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// CPU time of this process's waited-for children (and theirs), from /proc/self/stat.
fn children_cpu() -> anyhow::Result<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat")?;
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .context("/proc/self/stat")?
        .split_whitespace()
        .collect();
    // After the name: state is field 3 of stat(5); cutime and cstime are fields 16 and 17.
    let ticks = |i: usize| -> anyhow::Result<u64> {
        Ok(fields
            .get(i - 3)
            .context("/proc/self/stat field")?
            .parse()?)
    };
    // The kernel reports these in clock ticks of 1/100 s on Linux.
    Ok(Duration::from_millis((ticks(16)? + ticks(17)?) * 10))
}
