//! What the cohort benchmarks share: modules made distinct without changing what they do, and
//! a `grader` run watched for its wall time and its process tree's peak resident memory.
#![allow(dead_code)]

use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;

/// `module` with a custom section named `grader-bench` holding `payload` appended: other
/// bytes, the same program.
pub fn with_custom_section(mut module: Vec<u8>, payload: &[u8]) -> Vec<u8> {
    fn leb(mut n: usize, out: &mut Vec<u8>) {
        loop {
            let byte = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                out.push(byte);
                return;
            }
            out.push(byte | 0x80);
        }
    }
    let name = b"grader-bench";
    let mut body = Vec::new();
    leb(name.len(), &mut body);
    body.extend_from_slice(name);
    body.extend_from_slice(payload);
    module.push(0);
    leb(body.len(), &mut module);
    module.extend(body);
    module
}

/// One watched run: its wall time, the peak resident memory of its process tree (sampled
/// every 20 ms), its exit status and its stdout.
pub struct Watched {
    pub wall: Duration,
    pub peak_rss: u64,
    pub status: ExitStatus,
    pub stdout: Vec<u8>,
}

/// Runs `command` (stderr inherited) and watches it.
pub fn watch(mut command: Command) -> anyhow::Result<Watched> {
    let started = Instant::now();
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .context("starting grader")?;
    let stdout = child.stdout.take().context("no stdout")?;
    let reader = std::thread::spawn(move || -> std::io::Result<Vec<u8>> {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut { stdout }, &mut buf)?;
        Ok(buf)
    });
    let mut peak = 0;
    let status = loop {
        peak = peak.max(super::proctree::tree_resident_bytes(child.id()));
        if let Some(status) = child.try_wait()? {
            break status;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let wall = started.elapsed();
    let stdout = reader
        .join()
        .map_err(|_| anyhow::anyhow!("reader panicked"))??;
    Ok(Watched {
        wall,
        peak_rss: peak,
        status,
        stdout,
    })
}

/// Cases judged in a `grader batch --format json` report: the verdict counts of every part.
pub fn count_cases(report: &serde_json::Value) -> f64 {
    report["summary"]["parts"].as_array().map_or(0.0, |parts| {
        parts
            .iter()
            .flat_map(|p| {
                p["verdicts"]
                    .as_object()
                    .into_iter()
                    .flat_map(|v| v.values())
            })
            .filter_map(|n| n.as_f64())
            .sum()
    })
}
