//! Runs one WebAssembly command module on one input, under limits, and says what happened.
//!
//! The recipe follows wasmtime's own `run`: one [`Engine`] per configuration, each module
//! compiled once into an [`InstancePre`], and a fresh [`Store`] and instance per execution.
//! A guest's failure is never an `Err` here: it is an [`Outcome`]. The only errors are the
//! module's own (it does not compile or link: [`LoadError`]) and the host's.

mod files;
pub mod isolate;
pub mod python;
mod validate;
mod wasi;

pub use isolate::Isolated;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use wasmtime::{
    Config, Engine, InstancePre, Linker, Module, Store, Strategy, Trap, UpdateDeadline,
};

use wasi::{GuestState, Stop};

/// How often the wall-clock backstop looks at the time.
const EPOCH_TICK: Duration = Duration::from_millis(5);

/// The limits of one execution. Every field is a hard cap.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Instruction budget in wasmtime fuel units: the deterministic time limit.
    pub fuel: u64,
    /// Wall-clock backstop, for guests that are slow without executing many instructions.
    /// Time the guest asks to sleep counts against it too.
    pub wall: Duration,
    /// Linear memory, in bytes, across all of the instance's memories.
    pub memory_bytes: u64,
    /// Bytes the guest may write to stdout.
    pub stdout_bytes: usize,
    /// Bytes of stderr kept (the tail); writing more is allowed and dropped.
    pub stderr_bytes: usize,
    /// The longest compiling the module may take ([`Isolated`] enforces it).
    pub compile: Duration,
    /// The most resident memory compiling may use ([`Isolated`] enforces it).
    pub compile_memory: u64,
}

/// What ended an execution.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// `_start` returned or the guest called `proc_exit`.
    Exited(i32),
    /// The instruction budget ran out.
    OutOfFuel,
    /// The wall-clock backstop fired while the guest was running.
    WallTimeout,
    /// The guest asked to sleep past its wall-clock limit (sleeps take no real time here).
    SleptPastLimit { requested: Duration },
    /// The guest asked for more linear memory than the cap.
    MemoryLimit { requested: u64 },
    /// The guest wrote more than the cap to stdout.
    OutputLimit,
    /// A trap: stack overflow, out-of-bounds access, `unreachable` (a Rust panic), …
    Trapped { kind: TrapKind, message: String },
}

/// The traps a student is told about in different words.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrapKind {
    StackOverflow,
    /// `unreachable`: what a Rust panic or a C `abort()` ends in.
    Unreachable,
    Other,
}

/// Everything one execution produced.
#[derive(Clone, Debug)]
pub struct Execution {
    pub outcome: Outcome,
    pub stdout: Vec<u8>,
    /// The last [`Limits::stderr_bytes`] bytes of stderr.
    pub stderr_tail: Vec<u8>,
    /// True when stderr was longer than what is kept.
    pub stderr_truncated: bool,
    /// Fuel consumed: the same on every run of the same module and input.
    pub fuel_used: u64,
    pub wall_time: Duration,
}

/// Why a module cannot be run at all: the student's `invalid_submission`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadError(pub String);

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for LoadError {}

impl LoadError {
    /// A module larger than `limit` bytes, refused before it is compiled (or read whole).
    pub fn too_large(limit: usize) -> Self {
        LoadError(format!(
            "is larger than {}, the largest module accepted",
            crate::grade::human_bytes(limit as u64)
        ))
    }
}

/// What a submission is: a WebAssembly module, or a Python source file (named, for its
/// tracebacks) that runs in the Python runtime ([`python`]).
#[derive(Clone, Copy, Debug)]
pub enum Code<'a> {
    Wasm(&'a [u8]),
    Python { source: &'a [u8], name: &'a str },
}

impl<'a> Code<'a> {
    /// The submission `name` with contents `bytes`: Python when the name ends in `.py`.
    pub fn of(name: &'a str, bytes: &'a [u8]) -> Self {
        if is_python(name) {
            Code::Python {
                source: bytes,
                name,
            }
        } else {
            Code::Wasm(bytes)
        }
    }

    pub fn bytes(&self) -> &'a [u8] {
        match self {
            Code::Wasm(bytes) => bytes,
            Code::Python { source, .. } => source,
        }
    }
}

/// Whether the file `name` is a Python submission (`.py`, any letter case).
pub fn is_python(name: &str) -> bool {
    name.len() > 3
        && name
            .get(name.len() - 3..)
            .is_some_and(|ext| ext.eq_ignore_ascii_case(".py"))
}

/// Runs one submission on many inputs and returns an [`Execution`] per input, in order, or why
/// the module cannot run. [`Sandbox`] does it in this process; [`Isolated`] in worker
/// processes that the grader can kill, which is what grading uses. An `Err` is the host's
/// failure (a worker could not be started), never the guest's.
pub trait Executor: Sync {
    fn execute(
        &self,
        code: Code<'_>,
        stdins: &[Vec<u8>],
        limits: &Limits,
        jobs: usize,
    ) -> anyhow::Result<Result<Vec<Execution>, LoadError>>;
}

impl Executor for Sandbox {
    fn execute(
        &self,
        code: Code<'_>,
        stdins: &[Vec<u8>],
        limits: &Limits,
        jobs: usize,
    ) -> anyhow::Result<Result<Vec<Execution>, LoadError>> {
        let program = match self.load_code(code, limits)? {
            Ok(program) => program,
            Err(reason) => return Ok(Err(reason)),
        };
        Ok(Ok(crate::parallel::parallel_map(
            stdins,
            jobs,
            self.wasm_stack,
            |stdin| self.run(&program, stdin, limits),
        )))
    }
}

/// One wasmtime engine and the clock thread that drives its wall-clock backstop.
pub struct Sandbox {
    engine: Engine,
    wasm_stack: usize,
    linker: Linker<GuestState>,
    /// Where the Python runtime is prepared and compiled: the compile cache, or the default
    /// cache folder when students' modules are not cached.
    python_cache: Option<PathBuf>,
    /// Opened at the first Python submission (loading it costs about a second).
    python: OnceLock<Result<Arc<python::PythonRuntime>, String>>,
    /// The Python runtime's engine, for the clock thread, once it is opened.
    python_engine: Arc<OnceLock<Engine>>,
    ticker_stop: Arc<AtomicBool>,
    ticker: Option<JoinHandle<()>>,
}

/// wasmtime's compile cache in the folder `dir` (created if missing).
fn compile_cache(dir: &Path) -> anyhow::Result<wasmtime::Cache> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("creating the module cache `{}`", dir.display()))?;
    let mut settings = wasmtime::CacheConfig::new();
    // A class of 300 students × 25 Rust modules keeps about 1.1 GB, and the Python runtime
    // 0.2 GB; wasmtime's default soft limit (512 MiB) would evict half a cohort between runs.
    // wasmtime gets a folder of its own: its cleanup deletes every file it does not know, and
    // the Python runtime's snapshot lives beside it (`python/`).
    settings
        .with_directory(dir.join("wasmtime"))
        .with_files_total_size_soft_limit(8 << 30)
        .with_file_count_soft_limit(1 << 20);
    wasmtime::Cache::new(settings)
        .map_err(anyhow::Error::from)
        .with_context(|| format!("opening the module cache `{}`", dir.display()))
}

impl Sandbox {
    /// An engine whose guests get at most `wasm_stack_bytes` of wasm stack.
    pub fn new(wasm_stack_bytes: usize) -> anyhow::Result<Self> {
        Self::with_cache(wasm_stack_bytes, None)
    }

    /// Like [`Sandbox::new`], keeping compiled modules in `cache` (a folder) across runs and
    /// processes: wasmtime's own compilation cache, keyed by the module's bytes, the engine's
    /// settings and this executable. What it holds is loaded as machine code without checks,
    /// so the folder must be writable by the grader's user only.
    pub fn with_cache(wasm_stack_bytes: usize, cache: Option<&Path>) -> anyhow::Result<Self> {
        let mut config = Config::new();
        if let Some(dir) = cache {
            config.cache(Some(compile_cache(dir)?));
        }
        // Winch compiles about 5x faster than Cranelift and runs 1.1-1.8x slower: grading
        // compiles every submission once and runs it on a handful of small cases.
        config
            .strategy(Strategy::Winch)
            // Grading already keeps every core busy with one student or module each.
            .parallel_compilation(false)
            .consume_fuel(true)
            .epoch_interruption(true)
            .max_wasm_stack(wasm_stack_bytes)
            // Engine::new refuses a wasm stack above this even without async support.
            .async_stack_size(wasm_stack_bytes.max(2 << 20))
            // Same NaN bits on every machine and compiler: reports are byte-identical.
            .cranelift_nan_canonicalization(true)
            // Winch compiles the guest's functions; Cranelift still compiles the trampolines
            // between host and guest (one per exported or table-referenced function: a third
            // of all compile time for a Rust module). They are a few instructions each:
            // optimizing them, or allocating their registers well, buys nothing measurable.
            .cranelift_opt_level(wasmtime::OptLevel::None)
            .cranelift_regalloc_algorithm(wasmtime::RegallocAlgorithm::SinglePass);
        let engine = Engine::new(&config)?;
        let linker = wasi::linker(&engine)?;

        let ticker_stop = Arc::new(AtomicBool::new(false));
        let python_engine: Arc<OnceLock<Engine>> = Arc::default();
        let ticker = {
            let engine = engine.clone();
            let python = Arc::clone(&python_engine);
            let stop = Arc::clone(&ticker_stop);
            std::thread::Builder::new()
                .name("grader-epoch".into())
                .spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        std::thread::sleep(EPOCH_TICK);
                        engine.increment_epoch();
                        if let Some(python) = python.get() {
                            python.increment_epoch();
                        }
                    }
                })?
        };
        Ok(Self {
            engine,
            wasm_stack: wasm_stack_bytes,
            linker,
            python_cache: cache.map(Path::to_path_buf),
            python: OnceLock::new(),
            python_engine,
            ticker_stop,
            ticker: Some(ticker),
        })
    }

    /// The Python runtime: prepared under the cache folder if it is not yet (the one-time
    /// cost, shown as [`python::prepare_visibly`] shows it), then opened, once per sandbox. An
    /// error is the host's (the runtime is not installed), never the student's.
    pub fn python(&self) -> anyhow::Result<Arc<python::PythonRuntime>> {
        let opened = self.python.get_or_init(|| {
            let runtime = python::cache_folder(self.python_cache.as_deref())
                .and_then(|cache| {
                    python::prepare_visibly(&cache, self.wasm_stack)?;
                    python::PythonRuntime::open(&cache, self.wasm_stack)
                })
                .map_err(|e| format!("{e:#}"))?;
            let _ = self.python_engine.set(runtime.engine().clone());
            Ok(Arc::new(runtime))
        });
        opened.clone().map_err(|e| anyhow::anyhow!(e))
    }

    /// Loads a submission of either kind, for any number of executions. `Err` is the host's
    /// failure (the Python runtime is missing); `Ok(Err)` the submission's.
    pub fn load_code(
        &self,
        code: Code<'_>,
        limits: &Limits,
    ) -> anyhow::Result<Result<Program, LoadError>> {
        Ok(match code {
            Code::Wasm(bytes) => self.load(bytes),
            Code::Python { source, name } => {
                let runtime = self.python()?;
                runtime.load(source, name, limits).map(|program| Program {
                    kind: Kind::Python(runtime, program),
                })
            }
        })
    }

    /// Bytes of linear memory a program starts with that are its runtime's, not the student's
    /// (the Python interpreter's snapshot): on top of the case's memory limit.
    pub fn runtime_memory(&self, program: &Program) -> u64 {
        match &program.kind {
            Kind::Python(runtime, _) => runtime.base_memory(),
            Kind::Wasm(_) => 0,
        }
    }

    /// Compiles and links a module once, for any number of executions.
    pub fn load(&self, bytes: &[u8]) -> Result<Program, LoadError> {
        if bytes.len() >= 8 && bytes[..4] == *b"\0asm" && bytes[4..8] != [1, 0, 0, 0] {
            if bytes[6..8] == [1, 0] {
                return Err(LoadError(
                    "is a WebAssembly component (WASI preview 2); components are not supported \
                     yet: build a WASI preview 1 command module (`--target wasm32-wasip1`)"
                        .into(),
                ));
            }
            return Err(LoadError(format!(
                "has an unsupported WebAssembly binary version {:?}",
                &bytes[4..8]
            )));
        }
        if !bytes.starts_with(b"\0asm") {
            let head = &bytes[..bytes.len().min(4096)];
            let text = std::str::from_utf8(head).is_ok_and(|t| !t.trim().is_empty());
            if text {
                return Err(LoadError(
                    "is a text file, not a compiled WebAssembly module (source code? build it \
                     for wasm32-wasip1 and submit the .wasm; Python is handed in as a `.py` file)"
                        .into(),
                ));
            }
        }
        validate::check(bytes).map_err(LoadError)?;
        // `from_binary`, not `new`: `new` would also accept WAT text and give text uploads
        // confusing WAT syntax errors.
        let module = Module::from_binary(&self.engine, bytes).map_err(|e| {
            LoadError(format!(
                "is not a valid WebAssembly module: {}",
                one_line(&e.root_cause().to_string())
            ))
        })?;
        for import in module.imports() {
            if !wasi::provides(import.module(), import.name()) {
                return Err(LoadError(format!(
                    "imports `{}::{}`, which the sandbox does not provide (only WASI preview 1 \
                     `wasi_snapshot_preview1` functions are available)",
                    import.module(),
                    import.name()
                )));
            }
        }
        match module.get_export("_start") {
            Some(wasmtime::ExternType::Func(f))
                if f.params().len() == 0 && f.results().len() == 0 => {}
            Some(wasmtime::ExternType::Func(_)) => {
                return Err(LoadError(
                    "has a `_start` that takes parameters or returns results; a WASI command's \
                     `_start` takes and returns nothing"
                        .into(),
                ));
            }
            _ => {
                return Err(LoadError(
                    "has no `_start` function: build a command (a program with `main`), \
                     not a library"
                        .into(),
                ));
            }
        }
        let pre = self.linker.instantiate_pre(&module).map_err(|e| {
            LoadError(format!(
                "cannot be linked: {}",
                one_line(&e.root_cause().to_string())
            ))
        })?;
        Ok(Program {
            kind: Kind::Wasm(pre),
        })
    }

    /// Runs `program` once with `stdin` as its whole standard input.
    pub fn run(&self, program: &Program, stdin: &[u8], limits: &Limits) -> Execution {
        let pre = match &program.kind {
            Kind::Wasm(pre) => pre,
            Kind::Python(runtime, python) => return runtime.run(python, stdin, limits),
        };
        let started = Instant::now();
        let state = GuestState::new(stdin.to_vec(), limits);
        execute(&self.engine, state, limits, started, |store| {
            pre.instantiate(&mut *store).and_then(|instance| {
                let start = instance.get_typed_func::<(), ()>(&mut *store, "_start")?;
                start.call(&mut *store, ()).map(|()| 0)
            })
        })
    }
}

/// One execution in a fresh store holding `state`: memory limited, fuel armed before the
/// guest's first instruction (a start function runs inside instantiation), the wall-clock
/// backstop set from `started`. `body` instantiates and runs the guest: its `Ok` is the exit
/// status of a guest that returned.
fn execute(
    engine: &Engine,
    state: GuestState,
    limits: &Limits,
    started: Instant,
    body: impl FnOnce(&mut Store<GuestState>) -> wasmtime::Result<i32>,
) -> Execution {
    let mut store = Store::new(engine, state);
    store.limiter(|s| &mut s.memory);
    let fuel_armed = store.set_fuel(limits.fuel).is_ok();
    // At every tick the guest is checked against real elapsed time, not a count of ticks:
    // on a loaded machine the ticker falls behind, and the limit must not stretch with it.
    let deadline = started + limits.wall;
    store.set_epoch_deadline(1);
    store.epoch_deadline_callback(move |_| {
        Ok(if Instant::now() >= deadline {
            UpdateDeadline::Interrupt
        } else {
            UpdateDeadline::Continue(1)
        })
    });
    let result = body(&mut store);
    let fuel_left = store.get_fuel().unwrap_or(0);
    let fuel_used = if fuel_armed {
        limits.fuel.saturating_sub(fuel_left)
    } else {
        0
    };
    let outcome = match result {
        Ok(status) => Outcome::Exited(status),
        Err(error) => classify(&error, store.data()),
    };
    let state = store.into_data();
    let (stderr_tail, stderr_truncated) = state.stderr.into_tail();
    Execution {
        outcome,
        stdout: state.stdout,
        stderr_tail,
        stderr_truncated,
        fuel_used,
        wall_time: started.elapsed(),
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        self.ticker_stop.store(true, Ordering::Relaxed);
        if let Some(ticker) = self.ticker.take() {
            // A ticker that panicked has nothing left to clean up.
            let _ = ticker.join();
        }
    }
}

/// A compiled, linked module, or a checked Python source, ready to run any number of times.
#[derive(Clone)]
pub struct Program {
    kind: Kind,
}

#[derive(Clone)]
enum Kind {
    Wasm(InstancePre<GuestState>),
    Python(Arc<python::PythonRuntime>, python::PythonProgram),
}

/// wasmparser's messages may span lines (a pretty-printed byte array): one line for reports.
fn one_line(message: &str) -> String {
    message
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace("[ ", "[")
        .replace(", ]", "]")
}

fn classify(error: &wasmtime::Error, state: &GuestState) -> Outcome {
    if let Some(stop) = error.downcast_ref::<Stop>() {
        return match *stop {
            Stop::Exit(code) => Outcome::Exited(code),
            Stop::OutputLimit => Outcome::OutputLimit,
            Stop::SleptPastLimit(requested) => Outcome::SleptPastLimit { requested },
            Stop::MemoryLimit(requested) => Outcome::MemoryLimit { requested },
            Stop::OutOfFuel => Outcome::OutOfFuel,
        };
    }
    if let Some(requested) = state.memory.refused {
        return Outcome::MemoryLimit { requested };
    }
    if let Some(trap) = error.downcast_ref::<Trap>() {
        let kind = match trap {
            Trap::OutOfFuel => return Outcome::OutOfFuel,
            Trap::Interrupt => return Outcome::WallTimeout,
            Trap::StackOverflow => TrapKind::StackOverflow,
            Trap::UnreachableCodeReached => TrapKind::Unreachable,
            _ => TrapKind::Other,
        };
        return Outcome::Trapped {
            kind,
            message: trap.to_string(),
        };
    }
    Outcome::Trapped {
        kind: TrapKind::Other,
        message: error.root_cause().to_string(),
    }
}
