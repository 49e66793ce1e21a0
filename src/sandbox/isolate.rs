//! Worker processes that the grader can kill: the second line of defence behind wasmtime's
//! own limits, as isolate, Judge0 and DOMjudge put each run in a process of its own.
//!
//! Inside one process, some work cannot be interrupted: compiling a module, and one bulk
//! instruction (`memory.fill` of 200 MiB) or a run of them with no loop or call between,
//! which no fuel or epoch check reaches. So every module is compiled and run in a worker
//! (`grader sandbox-worker`, the same binary): the supervisor sends it the module and the
//! inputs, the worker compiles once and runs the cases (in-process, with every in-process
//! limit), and reports each case as it starts and ends. The supervisor watches the clock
//! and the worker's resident memory, and kills it when a compile or a case outlives its
//! bound; the case is judged, the other cases go to a fresh worker. Workers are reused
//! between modules, so a run pays for a process start once per worker, not per case.
//!
//! The protocol is frames on the worker's stdin and stdout: a 4-byte little-endian length,
//! then the bytes (a JSON header, or a raw blob: module, input, output).

use std::collections::VecDeque;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Mutex;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use serde::{Deserialize, Serialize};

use super::{Code, Execution, Executor, Limits, LoadError, Outcome, Sandbox, TrapKind};

/// How far past its wall-clock limit a case may run before its worker is killed (the
/// in-process backstop stops ordinary code within a few milliseconds of the limit).
pub const WALL_MARGIN: Duration = Duration::from_millis(500);
/// Resident memory of a worker beyond its cases' own (engine, code, thread stacks), at least.
const WORKER_BASE_MEMORY: u64 = 256 << 20;
/// How often the supervisor looks at the clock and at the worker's memory.
const POLL: Duration = Duration::from_millis(5);
/// The longest a worker may take to open the Python runtime (prepared and compiled already by
/// the supervisor: a cache hit, seconds; the bound is for a cache evicted in between).
const RUNTIME_LOAD: Duration = Duration::from_secs(900);

#[derive(Serialize, Deserialize)]
struct Request {
    limits: WireLimits,
    jobs: usize,
    cases: usize,
    /// A Python source (the blob) and its file name; `None` for a module.
    python: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct WireLimits {
    fuel: u64,
    wall_ms: u64,
    memory_bytes: u64,
    stdout_bytes: usize,
    stderr_bytes: usize,
}

#[derive(Serialize, Deserialize)]
enum Event {
    /// The worker opened the Python runtime: its time and memory are not the submission's.
    RuntimeReady,
    /// The host failed (the Python runtime cannot be opened): not the submission's fault.
    HostError(String),
    /// Compiled; cases start with `runtime_memory` bytes that are the runtime's own.
    Loaded {
        runtime_memory: u64,
    },
    LoadError(String),
    Started(usize),
    /// Followed by two blobs: stdout and the stderr tail.
    Done {
        case: usize,
        outcome: WireOutcome,
        stderr_truncated: bool,
        fuel_used: u64,
        wall_ns: u64,
    },
    Finished,
}

#[derive(Serialize, Deserialize)]
enum WireOutcome {
    Exited(i32),
    OutOfFuel,
    WallTimeout,
    SleptPastLimit { ns: u64 },
    MemoryLimit { requested: u64 },
    OutputLimit,
    Trapped { kind: u8, message: String },
}

impl From<&Outcome> for WireOutcome {
    fn from(o: &Outcome) -> Self {
        match o {
            Outcome::Exited(code) => WireOutcome::Exited(*code),
            Outcome::OutOfFuel => WireOutcome::OutOfFuel,
            Outcome::WallTimeout => WireOutcome::WallTimeout,
            Outcome::SleptPastLimit { requested } => WireOutcome::SleptPastLimit {
                ns: u64::try_from(requested.as_nanos()).unwrap_or(u64::MAX),
            },
            Outcome::MemoryLimit { requested } => WireOutcome::MemoryLimit {
                requested: *requested,
            },
            Outcome::OutputLimit => WireOutcome::OutputLimit,
            Outcome::Trapped { kind, message } => WireOutcome::Trapped {
                kind: match kind {
                    TrapKind::StackOverflow => 0,
                    TrapKind::Unreachable => 1,
                    TrapKind::Other => 2,
                },
                message: message.clone(),
            },
        }
    }
}

impl From<WireOutcome> for Outcome {
    fn from(o: WireOutcome) -> Self {
        match o {
            WireOutcome::Exited(code) => Outcome::Exited(code),
            WireOutcome::OutOfFuel => Outcome::OutOfFuel,
            WireOutcome::WallTimeout => Outcome::WallTimeout,
            WireOutcome::SleptPastLimit { ns } => Outcome::SleptPastLimit {
                requested: Duration::from_nanos(ns),
            },
            WireOutcome::MemoryLimit { requested } => Outcome::MemoryLimit { requested },
            WireOutcome::OutputLimit => Outcome::OutputLimit,
            WireOutcome::Trapped { kind, message } => Outcome::Trapped {
                kind: match kind {
                    0 => TrapKind::StackOverflow,
                    1 => TrapKind::Unreachable,
                    _ => TrapKind::Other,
                },
                message,
            },
        }
    }
}

fn write_frame(out: &mut impl Write, bytes: &[u8]) -> std::io::Result<()> {
    let len = u32::try_from(bytes.len())
        .map_err(|_| std::io::Error::other("a frame larger than 4 GiB"))?;
    out.write_all(&len.to_le_bytes())?;
    out.write_all(bytes)
}

/// No frame is larger: a module, an input or an output is bounded far below this, and a
/// length read from a damaged stream must not make the other side allocate gigabytes.
const MAX_FRAME: usize = 1 << 30;

fn read_frame(input: &mut impl Read) -> std::io::Result<Vec<u8>> {
    let mut len = [0u8; 4];
    input.read_exact(&mut len)?;
    let len = u32::from_le_bytes(len) as usize;
    if len > MAX_FRAME {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("a frame of {len} bytes, more than any the protocol sends"),
        ));
    }
    let mut bytes = vec![0u8; len];
    input.read_exact(&mut bytes)?;
    Ok(bytes)
}

fn write_json(out: &mut impl Write, value: &impl Serialize) -> std::io::Result<()> {
    write_frame(
        out,
        &serde_json::to_vec(value).map_err(std::io::Error::other)?,
    )
}

fn read_json<T: for<'de> Deserialize<'de>>(input: &mut impl Read) -> std::io::Result<T> {
    serde_json::from_slice(&read_frame(input)?).map_err(std::io::Error::other)
}

/// The worker's side: serves requests from stdin until it closes. Each request is compiled
/// once and its cases run on up to `jobs` threads, every case reported as it starts and ends.
pub fn serve(wasm_stack: usize, cache: Option<&std::path::Path>) -> anyhow::Result<()> {
    // A worker outlives no supervisor: when the grader is killed, this process is handed to
    // init and must end, even in the middle of a guest that would run for hours. (Its stdin
    // closing is not enough: it reads stdin only between modules.) This is a second program
    // in the same binary, so it ends itself here rather than in `main`.
    let supervisor = std::os::unix::process::parent_id();
    std::thread::Builder::new()
        .name("grader-worker-watchdog".into())
        .spawn(move || {
            loop {
                std::thread::sleep(Duration::from_millis(50));
                if std::os::unix::process::parent_id() != supervisor {
                    std::process::exit(1);
                }
            }
        })
        .context("starting the worker's watchdog")?;
    let sandbox = Sandbox::with_cache(wasm_stack, cache).context("starting the sandbox")?;
    let mut input = BufReader::new(std::io::stdin().lock());
    let output = Mutex::new(BufWriter::new(std::io::stdout()));
    let send = |event: &Event, blobs: &[&[u8]]| -> std::io::Result<()> {
        let mut out = output
            .lock()
            .map_err(|_| std::io::Error::other("poisoned"))?;
        write_json(&mut *out, event)?;
        for blob in blobs {
            write_frame(&mut *out, blob)?;
        }
        out.flush()
    };
    loop {
        let request: Request = match read_json(&mut input) {
            Ok(request) => request,
            // The supervisor closed our stdin: no more work.
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        let wasm = read_frame(&mut input)?;
        let stdins = (0..request.cases)
            .map(|_| read_frame(&mut input))
            .collect::<std::io::Result<Vec<_>>>()?;
        let limits = Limits {
            fuel: request.limits.fuel,
            wall: Duration::from_millis(request.limits.wall_ms),
            memory_bytes: request.limits.memory_bytes,
            stdout_bytes: request.limits.stdout_bytes,
            stderr_bytes: request.limits.stderr_bytes,
            // The supervisor watches the compile.
            compile: Duration::MAX,
            compile_memory: u64::MAX,
        };
        let code = match &request.python {
            Some(name) => {
                if let Err(e) = sandbox.python() {
                    send(&Event::HostError(format!("{e:#}")), &[])?;
                    continue;
                }
                send(&Event::RuntimeReady, &[])?;
                Code::Python {
                    source: &wasm,
                    name,
                }
            }
            None => Code::Wasm(&wasm),
        };
        let program = match sandbox.load_code(code, &limits) {
            Ok(Ok(program)) => program,
            Ok(Err(LoadError(reason))) => {
                send(&Event::LoadError(reason), &[])?;
                continue;
            }
            Err(e) => {
                send(&Event::HostError(format!("{e:#}")), &[])?;
                continue;
            }
        };
        send(
            &Event::Loaded {
                runtime_memory: sandbox.runtime_memory(&program),
            },
            &[],
        )?;
        let indexed: Vec<(usize, &Vec<u8>)> = stdins.iter().enumerate().collect();
        let sent =
            crate::parallel::parallel_map(&indexed, request.jobs, wasm_stack, |(i, stdin)| {
                send(&Event::Started(*i), &[])?;
                let exec = sandbox.run(&program, stdin, &limits);
                let done = Event::Done {
                    case: *i,
                    outcome: WireOutcome::from(&exec.outcome),
                    stderr_truncated: exec.stderr_truncated,
                    fuel_used: exec.fuel_used,
                    wall_ns: u64::try_from(exec.wall_time.as_nanos()).unwrap_or(u64::MAX),
                };
                send(&done, &[&exec.stdout, &exec.stderr_tail])
            });
        sent.into_iter().collect::<std::io::Result<()>>()?;
        send(&Event::Finished, &[])?;
    }
}

/// What the reader thread passes on from a worker's stdout.
enum Message {
    Event(Event, Vec<Vec<u8>>),
    /// The worker's stdout closed: it exited or was killed.
    Gone,
}

/// A running worker process.
struct Worker {
    child: Child,
    stdin: BufWriter<ChildStdin>,
    events: Receiver<Message>,
}

impl Worker {
    fn spawn(exe: &PathBuf, wasm_stack: usize, cache: Option<&PathBuf>) -> anyhow::Result<Self> {
        let mut command = Command::new(exe);
        command
            .arg("sandbox-worker")
            .arg("--stack")
            .arg(wasm_stack.to_string());
        if let Some(dir) = cache {
            command.arg("--cache").arg(dir);
        }
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("starting a sandbox worker (`{}`)", exe.display()))?;
        let stdin = child
            .stdin
            .take()
            .ok_or_else(|| anyhow!("worker has no stdin"))?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| anyhow!("worker has no stdout"))?;
        let (tx, events) = mpsc::channel();
        std::thread::Builder::new()
            .name("grader-worker-reader".into())
            .spawn(move || {
                let mut stdout = BufReader::new(stdout);
                loop {
                    let message = read_json::<Event>(&mut stdout).and_then(|event| {
                        let blobs = match event {
                            Event::Done { .. } => {
                                vec![read_frame(&mut stdout)?, read_frame(&mut stdout)?]
                            }
                            _ => Vec::new(),
                        };
                        Ok(Message::Event(event, blobs))
                    });
                    let gone = message.is_err();
                    if tx.send(message.unwrap_or(Message::Gone)).is_err() || gone {
                        return;
                    }
                }
            })
            .context("starting a worker reader thread")?;
        Ok(Self {
            child,
            stdin: BufWriter::new(stdin),
            events,
        })
    }

    /// Resident memory of the worker, from /proc (0 when it cannot be read).
    fn resident_bytes(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map_or(0, |kib| kib * 1024)
    }

    fn kill(mut self) {
        // Already gone is fine; either way it is reaped.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    fn send(&mut self, request: &Request, wasm: &[u8], stdins: &[&[u8]]) -> std::io::Result<()> {
        write_json(&mut self.stdin, request)?;
        write_frame(&mut self.stdin, wasm)?;
        for stdin in stdins {
            write_frame(&mut self.stdin, stdin)?;
        }
        self.stdin.flush()
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs modules in worker processes under the bounds above; see the module documentation.
pub struct Isolated {
    exe: PathBuf,
    wasm_stack: usize,
    cache: Option<PathBuf>,
    idle: Mutex<Vec<Worker>>,
    /// Whether the Python runtime was prepared (see [`Isolated::prepare_python`]).
    python: std::sync::OnceLock<Result<(), String>>,
}

/// How one worker's turn ended.
enum Turn {
    /// Every case sent was reported; the worker may be reused.
    Finished(Worker),
    /// The module does not compile or link (or broke a compile bound).
    Refused(LoadError),
    /// The worker was killed or died; these cases still need a run.
    Again(Vec<usize>),
}

impl Isolated {
    /// Workers are `exe sandbox-worker` (the grader binary itself) with `wasm_stack`.
    pub fn new(exe: PathBuf, wasm_stack: usize) -> Self {
        Self {
            exe,
            wasm_stack,
            cache: None,
            idle: Mutex::new(Vec::new()),
            python: std::sync::OnceLock::new(),
        }
    }

    /// Workers keep compiled modules in `cache` (see [`Sandbox::with_cache`]).
    pub fn with_cache(mut self, cache: Option<PathBuf>) -> Self {
        self.cache = cache;
        self
    }

    /// The grader binary that is running, as the worker: for the `grader` command itself.
    pub fn here(wasm_stack: usize) -> anyhow::Result<Self> {
        let exe = std::env::current_exe().context("finding the grader executable")?;
        Ok(Self::new(exe, wasm_stack))
    }

    /// Prepares the Python runtime in this process, once, before any worker opens it: the
    /// one-time cost (minutes) is reported on stderr and never counted against a submission.
    fn prepare_python(&self) -> anyhow::Result<()> {
        let done = self.python.get_or_init(|| {
            super::python::cache_folder(self.cache.as_deref())
                .and_then(|cache| super::python::prepare_visibly(&cache, self.wasm_stack))
                .map(|_| ())
                .map_err(|e| format!("{e:#}"))
        });
        done.clone().map_err(|e| anyhow!(e))
    }

    fn checkout(&self) -> anyhow::Result<Worker> {
        let idle = self.idle.lock().ok().and_then(|mut idle| idle.pop());
        match idle {
            Some(worker) => Ok(worker),
            None => Worker::spawn(&self.exe, self.wasm_stack, self.cache.as_ref()),
        }
    }

    fn give_back(&self, worker: Worker) {
        if let Ok(mut idle) = self.idle.lock() {
            idle.push(worker);
        }
    }

    /// One worker's turn at `cases` (indices into `stdins`): fills `results` as cases end.
    #[allow(clippy::too_many_arguments)]
    fn turn(
        &self,
        mut worker: Worker,
        code: Code<'_>,
        stdins: &[Vec<u8>],
        cases: &[usize],
        limits: &Limits,
        jobs: usize,
        results: &mut [Option<Execution>],
    ) -> anyhow::Result<(Turn, bool)> {
        let request = Request {
            limits: WireLimits {
                fuel: limits.fuel,
                wall_ms: u64::try_from(limits.wall.as_millis()).unwrap_or(u64::MAX),
                memory_bytes: limits.memory_bytes,
                stdout_bytes: limits.stdout_bytes,
                stderr_bytes: limits.stderr_bytes,
            },
            jobs,
            cases: cases.len(),
            python: match code {
                Code::Python { name, .. } => Some(name.to_string()),
                Code::Wasm(_) => None,
            },
        };
        let inputs: Vec<&[u8]> = cases.iter().map(|&i| stdins[i].as_slice()).collect();
        if worker.send(&request, code.bytes(), &inputs).is_err() {
            // A worker that died while idle: the cases go to a fresh one.
            worker.kill();
            return Ok((Turn::Again(cases.to_vec()), false));
        }

        // Compiling (for Python: opening the runtime first, when this worker has not yet,
        // under its own bound, then checking the source under the submission's).
        let mut started = Instant::now();
        let mut opening = matches!(code, Code::Python { .. });
        // A reused worker's own memory (engine, a Python runtime it opened before) is not the
        // submission's compile.
        let mut compile_base = worker.resident_bytes();
        let runtime_memory = loop {
            if opening {
                if started.elapsed() > RUNTIME_LOAD {
                    worker.kill();
                    bail!(
                        "a sandbox worker took longer than {} to open the Python runtime",
                        crate::grade::human_duration(RUNTIME_LOAD)
                    );
                }
            } else if started.elapsed() > limits.compile {
                worker.kill();
                return Ok((
                    Turn::Refused(LoadError(format!(
                        "took longer than {} to compile",
                        crate::grade::human_duration(limits.compile)
                    ))),
                    false,
                ));
            }
            if !opening
                && worker.resident_bytes().saturating_sub(compile_base) > limits.compile_memory
            {
                worker.kill();
                return Ok((
                    Turn::Refused(LoadError(format!(
                        "needed more than {} of memory to compile",
                        crate::grade::human_bytes(limits.compile_memory)
                    ))),
                    false,
                ));
            }
            match worker.events.recv_timeout(POLL) {
                Ok(Message::Event(Event::RuntimeReady, _)) if opening => {
                    opening = false;
                    started = Instant::now();
                    compile_base = worker.resident_bytes();
                }
                Ok(Message::Event(Event::HostError(reason), _)) => {
                    // Not reused: it keeps the failure it met.
                    worker.kill();
                    bail!("{reason}");
                }
                Ok(Message::Event(Event::Loaded { runtime_memory }, _)) => break runtime_memory,
                Ok(Message::Event(Event::LoadError(reason), _)) => {
                    self.give_back(worker);
                    return Ok((Turn::Refused(LoadError(reason)), false));
                }
                Ok(Message::Event(..)) => bail!("a sandbox worker broke its protocol"),
                Ok(Message::Gone) | Err(RecvTimeoutError::Disconnected) if opening => {
                    worker.kill();
                    bail!("a sandbox worker died while opening the Python runtime");
                }
                Ok(Message::Gone) | Err(RecvTimeoutError::Disconnected) => {
                    worker.kill();
                    return Ok((
                        Turn::Refused(LoadError("crashed the compiler".into())),
                        false,
                    ));
                }
                Err(RecvTimeoutError::Timeout) => {}
            }
        };

        // Running: (case, when its worker said it started). The worker's own memory after
        // compiling (engine, compiled code) is its baseline: a large module's code is not a
        // case's fault.
        let baseline = worker.resident_bytes().max(WORKER_BASE_MEMORY);
        let memory_bound = baseline.saturating_add(
            (jobs as u64).saturating_mul(
                limits
                    .memory_bytes
                    .saturating_add(limits.stdout_bytes as u64)
                    .saturating_add(runtime_memory)
                    .saturating_add(self.wasm_stack as u64)
                    .saturating_add(64 << 20),
            ),
        );
        let mut running: Vec<(usize, Instant)> = Vec::new();
        let mut done = vec![false; cases.len()];
        let again = |done: &[bool]| -> Vec<usize> {
            (0..cases.len())
                .filter(|&i| !done[i])
                .map(|i| cases[i])
                .collect()
        };
        loop {
            let now = Instant::now();
            if let Some(&(late, since)) = running
                .iter()
                .find(|(_, since)| now.duration_since(*since) > limits.wall + WALL_MARGIN)
            {
                worker.kill();
                results[cases[late]] = Some(stopped(Outcome::WallTimeout, now - since));
                done[late] = true;
                // Others already past their limit would have been stopped too: judge them now
                // rather than run them again.
                for &(other, since) in &running {
                    if !done[other] && now.duration_since(since) > limits.wall {
                        results[cases[other]] = Some(stopped(Outcome::WallTimeout, now - since));
                        done[other] = true;
                    }
                }
                return Ok((Turn::Again(again(&done)), false));
            }
            let resident = worker.resident_bytes();
            if resident > memory_bound {
                worker.kill();
                if let [(alone, since)] = running[..] {
                    results[cases[alone]] = Some(stopped(
                        Outcome::MemoryLimit {
                            requested: resident,
                        },
                        now - since,
                    ));
                    done[alone] = true;
                    return Ok((Turn::Again(again(&done)), false));
                }
                // Several cases ran at once: run the rest one at a time to find which.
                return Ok((Turn::Again(again(&done)), true));
            }
            match worker.events.recv_timeout(POLL) {
                Ok(Message::Event(Event::Started(i), _)) if i < cases.len() => {
                    running.push((i, Instant::now()));
                }
                Ok(Message::Event(
                    Event::Done {
                        case,
                        outcome,
                        stderr_truncated,
                        fuel_used,
                        wall_ns,
                    },
                    blobs,
                )) if case < cases.len() => {
                    let mut blobs = blobs.into_iter();
                    results[cases[case]] = Some(Execution {
                        outcome: outcome.into(),
                        stdout: blobs.next().unwrap_or_default(),
                        stderr_tail: blobs.next().unwrap_or_default(),
                        stderr_truncated,
                        fuel_used,
                        wall_time: Duration::from_nanos(wall_ns),
                    });
                    done[case] = true;
                    running.retain(|(i, _)| *i != case);
                }
                Ok(Message::Event(Event::Finished, _)) => {
                    if done.iter().all(|d| *d) {
                        return Ok((Turn::Finished(worker), false));
                    }
                    bail!("a sandbox worker finished without reporting every case");
                }
                Ok(Message::Event(..)) => bail!("a sandbox worker broke its protocol"),
                Ok(Message::Gone) | Err(RecvTimeoutError::Disconnected) => {
                    // The worker died under a case (the OS killed it, or it crashed).
                    worker.kill();
                    if let [(alone, since)] = running[..] {
                        let message = "the sandbox process running it died".to_string();
                        results[cases[alone]] = Some(stopped(
                            Outcome::Trapped {
                                kind: TrapKind::Other,
                                message,
                            },
                            Instant::now() - since,
                        ));
                        done[alone] = true;
                    }
                    return Ok((Turn::Again(again(&done)), true));
                }
                Err(RecvTimeoutError::Timeout) => {}
            }
        }
    }
}

/// The execution of a case its worker was killed under.
fn stopped(outcome: Outcome, wall_time: Duration) -> Execution {
    Execution {
        outcome,
        stdout: Vec::new(),
        stderr_tail: Vec::new(),
        stderr_truncated: false,
        fuel_used: 0,
        wall_time,
    }
}

impl Executor for Isolated {
    fn execute(
        &self,
        code: Code<'_>,
        stdins: &[Vec<u8>],
        limits: &Limits,
        jobs: usize,
    ) -> anyhow::Result<Result<Vec<Execution>, LoadError>> {
        if let Code::Python { .. } = code {
            self.prepare_python()?;
        }
        let mut results: Vec<Option<Execution>> = vec![None; stdins.len()];
        let mut pending: VecDeque<usize> = (0..stdins.len()).collect();
        let mut jobs = jobs.max(1);
        // Every turn ends at least one case or the compile, except a worker that died idle:
        // a bound on turns keeps a worker that cannot start from looping forever.
        let mut turns_left = 2 * stdins.len() + 2;
        loop {
            let cases: Vec<usize> = pending.drain(..).collect();
            let worker = self.checkout()?;
            let (turn, one_at_a_time) =
                self.turn(worker, code, stdins, &cases, limits, jobs, &mut results)?;
            if one_at_a_time {
                jobs = 1;
            }
            match turn {
                Turn::Finished(worker) => {
                    self.give_back(worker);
                    break;
                }
                Turn::Refused(reason) => return Ok(Err(reason)),
                Turn::Again(left) if left.is_empty() => break,
                Turn::Again(left) => pending.extend(left),
            }
            turns_left -= 1;
            if turns_left == 0 {
                // The module kills every worker it runs in: its cases are its verdicts, and
                // the rest of the hand-in is graded.
                for case in pending.drain(..) {
                    results[case] = Some(stopped(
                        Outcome::Trapped {
                            kind: TrapKind::Other,
                            message: "the sandbox process running it died again and again".into(),
                        },
                        Duration::ZERO,
                    ));
                }
                break;
            }
        }
        results
            .into_iter()
            .map(|r| r.ok_or_else(|| anyhow!("a case of this module was never run")))
            .collect::<anyhow::Result<Vec<_>>>()
            .map(Ok)
    }
}
