//! WASI preview 1 for graded programs: stdin from memory, stdout and stderr captured, and
//! nothing else — no files, no environment, one argument, virtual clocks, seeded randomness.
//! A language runtime (Python) is the one guest given more: its own arguments and environment,
//! and its own read-only files from memory ([`World`], [`super::files`]).
//!
//! Written here rather than taken from `wasmtime-wasi` because grading needs what a general
//! WASI host does not do: a stdout cap that stops the guest at once (the first limit hit is
//! the verdict), sleeps that advance a virtual clock instantly (a guest that sleeps an hour
//! costs nothing and is judged at once), and no host filesystem at all. Every preview 1
//! function is defined, so programs whose standard library imports the filesystem still link;
//! for a module those calls fail with `EBADF` as they would with no preopened directory.

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use wasmtime::{Caller, Engine, Extern, Linker, ResourceLimiter};

use super::Limits;
use super::files::{self, DIR_FD, Handle, Node, Table, Tree};

const MODULE: &str = "wasi_snapshot_preview1";

// errno values of WASI preview 1.
const SUCCESS: i32 = 0;
const EBADF: i32 = 8;
const EFAULT: i32 = 21;
const EINVAL: i32 = 28;
const ENOSYS: i32 = 52;
const ENOTSOCK: i32 = 57;
const ESPIPE: i32 = 70;

/// The wall clock reads 2024-01-01T00:00:00Z plus the virtual time of the run.
const EPOCH_NS: u64 = 1_704_067_200 * 1_000_000_000;
/// Each clock read moves virtual time on by this much, so busy-waiting loops end.
const CLOCK_STEP_NS: u64 = 1_000;

/// What a guest starts with besides its input: arguments, environment variables and files.
pub struct World {
    /// Each NUL-terminated.
    argv: Vec<Vec<u8>>,
    environ: Vec<Vec<u8>>,
    tree: Option<Tree>,
}

impl World {
    /// A language runtime's world: `argv`, `env` (`NAME=value`) and a read-only `tree`.
    pub fn new(argv: &[&str], env: &[(&str, &str)], tree: Option<Tree>) -> Self {
        let nul = |s: String| {
            let mut b = s.into_bytes();
            b.push(0);
            b
        };
        Self {
            argv: argv.iter().map(|a| nul(a.to_string())).collect(),
            environ: env.iter().map(|(k, v)| nul(format!("{k}={v}"))).collect(),
            tree,
        }
    }
}

/// The contract's world for a graded module: the program name `main`, nothing else.
static PROGRAM: LazyLock<Arc<World>> = LazyLock::new(|| Arc::new(World::new(&["main"], &[], None)));

/// Why the host stopped the guest (carried inside a `wasmtime::Error`).
#[derive(Debug, thiserror::Error)]
pub(super) enum Stop {
    #[error("the program exited with status {0}")]
    Exit(i32),
    #[error("the program wrote more to stdout than the limit")]
    OutputLimit,
    #[error("the program slept for {0:?}, past its wall-clock limit")]
    SleptPastLimit(Duration),
    #[error("the program asked for {0} bytes of memory, past its limit")]
    MemoryLimit(u64),
    #[error("the program used its whole instruction budget in a system call")]
    OutOfFuel,
}

/// Fuel every WASI call costs, on top of its bytes: a call does the work of hundreds of
/// instructions, and a loop of cheap calls (`sched_yield`) must end by the deterministic
/// instruction budget, not by the wall clock.
const CALL_FUEL: u64 = 1_000;

/// Takes `bytes` (plus the cost of a call) from the guest's fuel before the host does that
/// much work on its behalf: a `random_get` or `fd_write` of hundreds of MiB is paid for like
/// the instructions that would copy it, and one past the budget ends the run at once,
/// before any of the work is done.
fn charge(caller: &mut Ctx<'_>, bytes: u64) -> wasmtime::Result<()> {
    let cost = CALL_FUEL.saturating_add(bytes);
    // An unmetered store (the Python runtime's one-time start-up) pays nothing.
    let Ok(fuel) = caller.get_fuel() else {
        return Ok(());
    };
    if cost > fuel {
        caller.set_fuel(0)?;
        return Err(wasmtime::Error::new(Stop::OutOfFuel));
    }
    caller.set_fuel(fuel - cost)
}

/// The bytes an iovec array asks to move (0 when it is malformed: the call will fail).
fn iovec_bytes(caller: &mut Ctx<'_>, iovs: i32, count: i32) -> u64 {
    with_memory(
        caller,
        |mem, _| {
            Ok(iovecs(mem, iovs, count)
                .map(|v| v.iter().map(|(_, len)| *len as u64).sum())
                .unwrap_or(0))
        },
        0,
    )
    .unwrap_or(0)
}

/// Everything one execution's WASI functions read and write.
pub(super) struct GuestState {
    stdin: Vec<u8>,
    stdin_pos: usize,
    pub(super) stdout: Vec<u8>,
    stdout_cap: usize,
    pub(super) stderr: Tail,
    clock_ns: u64,
    slept: Duration,
    wall: Duration,
    rng: u64,
    pub(super) memory: MemoryLimiter,
    world: Arc<World>,
    fds: Table,
}

impl GuestState {
    pub(super) fn new(stdin: Vec<u8>, limits: &Limits) -> Self {
        Self {
            stdin,
            stdin_pos: 0,
            stdout: Vec::new(),
            stdout_cap: limits.stdout_bytes,
            stderr: Tail::new(limits.stderr_bytes),
            clock_ns: 0,
            slept: Duration::ZERO,
            wall: limits.wall,
            rng: 0x9E37_79B9_7F4A_7C15,
            memory: MemoryLimiter {
                cap: limits.memory_bytes,
                used: 0,
                refused: None,
            },
            world: Arc::clone(&PROGRAM),
            fds: Table::default(),
        }
    }

    /// A guest of a language runtime, in `world` (its arguments, environment and files). Its
    /// clocks, random stream and descriptors start afresh, as a module's do: a snapshot of the
    /// runtime holds none open.
    pub(super) fn in_world(stdin: Vec<u8>, limits: &Limits, world: Arc<World>) -> Self {
        let mut state = Self::new(stdin, limits);
        state.world = world;
        state
    }

    fn now(&mut self, clock_id: i32) -> Option<u64> {
        self.clock_ns += CLOCK_STEP_NS;
        match clock_id {
            0 => Some(EPOCH_NS + self.clock_ns),
            // Monotonic, process and thread CPU time all read the virtual clock.
            1..=3 => Some(self.clock_ns),
            _ => None,
        }
    }

    /// splitmix64: the same bytes on every run.
    fn next_random(&mut self) -> u64 {
        self.rng = self.rng.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// The last `cap` bytes written to a stream.
pub(super) struct Tail {
    bytes: Vec<u8>,
    cap: usize,
    dropped: bool,
}

impl Tail {
    fn new(cap: usize) -> Self {
        Self {
            bytes: Vec::new(),
            cap,
            dropped: false,
        }
    }

    fn push(&mut self, data: &[u8]) {
        // Never copy more of one write than can be kept: a 200 MiB write costs nothing here.
        if data.len() >= self.cap {
            self.dropped |= !self.bytes.is_empty() || data.len() > self.cap;
            self.bytes.clear();
            self.bytes.extend_from_slice(&data[data.len() - self.cap..]);
            return;
        }
        self.bytes.extend_from_slice(data);
        // Trim in batches so that a flood of small writes stays linear.
        if self.bytes.len() > self.cap.saturating_mul(2).max(4096) {
            let excess = self.bytes.len() - self.cap;
            self.bytes.drain(..excess);
            self.dropped = true;
        }
    }

    /// What is kept so far.
    pub(super) fn peek(&self) -> &[u8] {
        &self.bytes
    }

    pub(super) fn into_tail(mut self) -> (Vec<u8>, bool) {
        if self.bytes.len() > self.cap {
            let excess = self.bytes.len() - self.cap;
            self.bytes.drain(..excess);
            self.dropped = true;
        }
        (self.bytes, self.dropped)
    }
}

/// Caps linear memory and remembers the request that went past the cap.
pub(super) struct MemoryLimiter {
    cap: u64,
    used: u64,
    pub(super) refused: Option<u64>,
}

/// What one table element costs the host: a pointer.
const TABLE_ELEMENT_BYTES: u64 = 8;

impl MemoryLimiter {
    /// Books `added` bytes, or stops the guest with the total it asked for.
    fn book(&mut self, added: u64) -> wasmtime::Result<bool> {
        let wanted = self.used.saturating_add(added);
        if wanted > self.cap {
            self.refused = Some(wanted);
            // Trap at once rather than let `memory.grow` return -1: the Rust allocator
            // would abort with a bare `unreachable`, and a refusal is the verdict anyway.
            return Err(wasmtime::Error::new(Stop::MemoryLimit(wanted)));
        }
        self.used = wanted;
        Ok(true)
    }
}

/// Linear memories and tables share the case's memory limit: a table of a million entries
/// is host memory too.
impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        // A grow past the memory's own declared maximum fails (-1) as the module asked;
        // it is not a request against the limit.
        if maximum.is_some_and(|max| desired > max) {
            return Ok(false);
        }
        self.book(desired.saturating_sub(current) as u64)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if maximum.is_some_and(|max| desired > max) {
            return Ok(false);
        }
        let added = desired.saturating_sub(current) as u64;
        self.book(added.saturating_mul(TABLE_ELEMENT_BYTES))
    }

    fn instances(&self) -> usize {
        1
    }

    fn memories(&self) -> usize {
        super::validate::MAX_MEMORIES
    }

    fn tables(&self) -> usize {
        super::validate::MAX_TABLES
    }
}

/// Whether `module::name` is an import this host defines.
pub(super) fn provides(module: &str, name: &str) -> bool {
    module == MODULE && FUNCTIONS.contains(&name)
}

const FUNCTIONS: &[&str] = &[
    "args_get",
    "args_sizes_get",
    "environ_get",
    "environ_sizes_get",
    "clock_res_get",
    "clock_time_get",
    "fd_advise",
    "fd_allocate",
    "fd_close",
    "fd_datasync",
    "fd_fdstat_get",
    "fd_fdstat_set_flags",
    "fd_fdstat_set_rights",
    "fd_filestat_get",
    "fd_filestat_set_size",
    "fd_filestat_set_times",
    "fd_pread",
    "fd_prestat_get",
    "fd_prestat_dir_name",
    "fd_pwrite",
    "fd_read",
    "fd_readdir",
    "fd_renumber",
    "fd_seek",
    "fd_sync",
    "fd_tell",
    "fd_write",
    "path_create_directory",
    "path_filestat_get",
    "path_filestat_set_times",
    "path_link",
    "path_open",
    "path_readlink",
    "path_remove_directory",
    "path_rename",
    "path_symlink",
    "path_unlink_file",
    "poll_oneoff",
    "proc_exit",
    "proc_raise",
    "random_get",
    "sched_yield",
    "sock_accept",
    "sock_recv",
    "sock_send",
    "sock_shutdown",
];

type Ctx<'a> = Caller<'a, GuestState>;

/// A guest pointer or length that does not fit in its memory.
struct Fault;

impl From<Fault> for i32 {
    fn from(_: Fault) -> i32 {
        EFAULT
    }
}

fn range(mem: &[u8], ptr: i32, len: usize) -> Result<std::ops::Range<usize>, Fault> {
    let start = ptr as u32 as usize;
    let end = start.checked_add(len).ok_or(Fault)?;
    if end > mem.len() {
        return Err(Fault);
    }
    Ok(start..end)
}

fn read_u32(mem: &[u8], ptr: i32) -> Result<u32, Fault> {
    let r = range(mem, ptr, 4)?;
    let mut b = [0; 4];
    b.copy_from_slice(&mem[r]);
    Ok(u32::from_le_bytes(b))
}

fn read_u64(mem: &[u8], ptr: i32) -> Result<u64, Fault> {
    let r = range(mem, ptr, 8)?;
    let mut b = [0; 8];
    b.copy_from_slice(&mem[r]);
    Ok(u64::from_le_bytes(b))
}

fn write(mem: &mut [u8], ptr: i32, bytes: &[u8]) -> Result<(), Fault> {
    let r = range(mem, ptr, bytes.len())?;
    mem[r].copy_from_slice(bytes);
    Ok(())
}

/// The `(buf, len)` pairs of an iovec array.
fn iovecs(mem: &[u8], iovs: i32, count: i32) -> Result<Vec<(i32, usize)>, Fault> {
    let count = count as u32 as usize;
    // wasi-libc's IOV_MAX; more would only let a guest make the host allocate.
    if count > 1024 {
        return Err(Fault);
    }
    range(mem, iovs, count * 8)?;
    (0..count)
        .map(|i| {
            let at = iovs.wrapping_add((i * 8) as i32);
            let buf = read_u32(mem, at)? as i32;
            let len = read_u32(mem, at.wrapping_add(4))? as usize;
            range(mem, buf, len)?;
            Ok((buf, len))
        })
        .collect()
}

/// Runs `f` on the guest's memory and state; a guest without a `memory` export gets EFAULT.
fn with_memory<R>(
    caller: &mut Ctx<'_>,
    f: impl FnOnce(&mut [u8], &mut GuestState) -> wasmtime::Result<R>,
    no_memory: R,
) -> wasmtime::Result<R> {
    match caller.get_export("memory") {
        Some(Extern::Memory(memory)) => {
            let (mem, state) = memory.data_and_store_mut(caller);
            f(mem, state)
        }
        _ => Ok(no_memory),
    }
}

fn errno(result: Result<(), Fault>) -> wasmtime::Result<i32> {
    Ok(result.map_or_else(i32::from, |()| SUCCESS))
}

/// `*count` and `*size` of a list of NUL-terminated strings (`args_sizes_get`).
fn sizes(mem: &mut [u8], list: &[Vec<u8>], count: i32, size: i32) -> Result<(), Fault> {
    let bytes: usize = list.iter().map(Vec::len).sum();
    write(mem, count, &(list.len() as u32).to_le_bytes())?;
    write(mem, size, &(bytes as u32).to_le_bytes())
}

/// The strings at `buf` and a pointer to each at `ptrs` (`args_get`).
fn strings(mem: &mut [u8], list: &[Vec<u8>], ptrs: i32, buf: i32) -> Result<(), Fault> {
    let mut at = buf;
    for (i, s) in list.iter().enumerate() {
        write(
            mem,
            ptrs.wrapping_add(4 * i as i32),
            &(at as u32).to_le_bytes(),
        )?;
        write(mem, at, s)?;
        at = at.wrapping_add(s.len() as i32);
    }
    Ok(())
}

fn is_stdio(fd: i32) -> bool {
    (0..=2).contains(&fd)
}

/// Defines a call that does no work but answer `$answer` (an errno): it still costs a call's
/// fuel, like every WASI call.
macro_rules! answer {
    ($linker:expr, $name:literal, |$($arg:tt: $ty:ty),*| $answer:expr) => {
        $linker.func_wrap(
            MODULE,
            $name,
            |mut c: Ctx<'_>, $($arg: $ty),*| -> wasmtime::Result<i32> {
                charge(&mut c, 0)?;
                Ok($answer)
            },
        )?
    };
}

pub(super) fn linker(engine: &Engine) -> anyhow::Result<Linker<GuestState>> {
    let mut l = Linker::new(engine);

    l.func_wrap(
        MODULE,
        "args_sizes_get",
        |mut c: Ctx<'_>, count: i32, size: i32| {
            charge(&mut c, 0)?;
            with_memory(
                &mut c,
                |mem, s| errno(sizes(mem, &s.world.argv, count, size)),
                EFAULT,
            )
        },
    )?;
    l.func_wrap(MODULE, "args_get", |mut c: Ctx<'_>, ptrs: i32, buf: i32| {
        charge(&mut c, 0)?;
        with_memory(
            &mut c,
            |mem, s| errno(strings(mem, &s.world.argv, ptrs, buf)),
            EFAULT,
        )
    })?;
    l.func_wrap(
        MODULE,
        "environ_sizes_get",
        |mut c: Ctx<'_>, count: i32, size: i32| {
            charge(&mut c, 0)?;
            with_memory(
                &mut c,
                |mem, s| errno(sizes(mem, &s.world.environ, count, size)),
                EFAULT,
            )
        },
    )?;
    l.func_wrap(
        MODULE,
        "environ_get",
        |mut c: Ctx<'_>, ptrs: i32, buf: i32| {
            charge(&mut c, 0)?;
            with_memory(
                &mut c,
                |mem, s| errno(strings(mem, &s.world.environ, ptrs, buf)),
                EFAULT,
            )
        },
    )?;

    l.func_wrap(
        MODULE,
        "clock_res_get",
        |mut c: Ctx<'_>, id: i32, res: i32| {
            charge(&mut c, 0)?;
            with_memory(
                &mut c,
                |mem, _| {
                    if !(0..=3).contains(&id) {
                        return Ok(EINVAL);
                    }
                    errno(write(mem, res, &CLOCK_STEP_NS.to_le_bytes()))
                },
                EFAULT,
            )
        },
    )?;
    l.func_wrap(
        MODULE,
        "clock_time_get",
        |mut c: Ctx<'_>, id: i32, _precision: i64, out: i32| {
            charge(&mut c, 0)?;
            with_memory(
                &mut c,
                |mem, state| match state.now(id) {
                    Some(t) => errno(write(mem, out, &t.to_le_bytes())),
                    None => Ok(EINVAL),
                },
                EFAULT,
            )
        },
    )?;

    l.func_wrap(
        MODULE,
        "fd_write",
        |mut c: Ctx<'_>, fd: i32, iovs: i32, count: i32, written: i32| {
            let bytes = iovec_bytes(&mut c, iovs, count);
            charge(&mut c, bytes)?;
            with_memory(
                &mut c,
                |mem, state| fd_write(mem, state, fd, iovs, count, written),
                EFAULT,
            )
        },
    )?;
    l.func_wrap(
        MODULE,
        "fd_read",
        |mut c: Ctx<'_>, fd: i32, iovs: i32, count: i32, read: i32| {
            let left = readable(c.data(), fd, None);
            let bytes = iovec_bytes(&mut c, iovs, count).min(left);
            charge(&mut c, bytes)?;
            with_memory(
                &mut c,
                |mem, state| fd_read(mem, state, fd, iovs, count, read),
                EFAULT,
            )
        },
    )?;
    answer!(
        l,
        "fd_fdstat_set_flags",
        |fd: i32, _: i32| if is_stdio(fd) { SUCCESS } else { EBADF }
    );
    answer!(l, "fd_sync", |fd: i32| if is_stdio(fd) {
        SUCCESS
    } else {
        EBADF
    });
    answer!(l, "fd_datasync", |fd: i32| if is_stdio(fd) {
        SUCCESS
    } else {
        EBADF
    });

    l.func_wrap(
        MODULE,
        "poll_oneoff",
        |mut c: Ctx<'_>, subs: i32, events: i32, count: i32, nevents: i32| {
            charge(&mut c, u64::from(count as u32) * 48)?;
            with_memory(
                &mut c,
                |mem, state| poll_oneoff(mem, state, subs, events, count, nevents),
                EFAULT,
            )
        },
    )?;
    l.func_wrap(MODULE, "proc_exit", |code: i32| -> wasmtime::Result<()> {
        Err(wasmtime::Error::new(Stop::Exit(code)))
    })?;
    answer!(l, "proc_raise", |_: i32| ENOSYS);
    l.func_wrap(MODULE, "sched_yield", |mut c: Ctx<'_>| {
        charge(&mut c, 0).map(|()| SUCCESS)
    })?;
    l.func_wrap(
        MODULE,
        "random_get",
        |mut c: Ctx<'_>, buf: i32, len: i32| {
            // Making random bytes costs about four times what copying them does.
            charge(&mut c, u64::from(len as u32).saturating_mul(4))?;
            with_memory(
                &mut c,
                |mem, state| {
                    let r = match range(mem, buf, len as u32 as usize) {
                        Ok(r) => r,
                        Err(f) => return Ok(i32::from(f)),
                    };
                    for chunk in mem[r].chunks_mut(8) {
                        let word = state.next_random().to_le_bytes();
                        chunk.copy_from_slice(&word[..chunk.len()]);
                    }
                    Ok(SUCCESS)
                },
                EFAULT,
            )
        },
    )?;

    // Nothing below is offered, to a module or to a runtime's read-only files: it fails as in a
    // process with no preopened directory (`EBADF`).
    answer!(l, "fd_allocate", |_: i32, _: i64, _: i64| EBADF);
    answer!(l, "fd_fdstat_set_rights", |_: i32, _: i64, _: i64| EBADF);
    answer!(l, "fd_filestat_set_size", |_: i32, _: i64| EBADF);
    answer!(
        l,
        "fd_filestat_set_times",
        |_: i32, _: i64, _: i64, _: i32| EBADF
    );
    answer!(l, "fd_pwrite", |_: i32, _: i32, _: i32, _: i64, _: i32| {
        EBADF
    });
    answer!(l, "fd_renumber", |_: i32, _: i32| EBADF);
    answer!(l, "path_create_directory", |_: i32, _: i32, _: i32| EBADF);
    answer!(
        l,
        "path_filestat_set_times",
        |_: i32, _: i32, _: i32, _: i32, _: i64, _: i64, _: i32| EBADF
    );
    answer!(l, "path_link", |_: i32,
                             _: i32,
                             _: i32,
                             _: i32,
                             _: i32,
                             _: i32,
                             _: i32| EBADF);
    answer!(
        l,
        "path_readlink",
        |_: i32, _: i32, _: i32, _: i32, _: i32, _: i32| EBADF
    );
    answer!(l, "path_remove_directory", |_: i32, _: i32, _: i32| EBADF);
    answer!(l, "path_rename", |_: i32,
                               _: i32,
                               _: i32,
                               _: i32,
                               _: i32,
                               _: i32| {
        EBADF
    });
    answer!(l, "path_symlink", |_: i32,
                                _: i32,
                                _: i32,
                                _: i32,
                                _: i32| {
        EBADF
    });
    answer!(l, "path_unlink_file", |_: i32, _: i32, _: i32| EBADF);
    answer!(l, "sock_accept", |_: i32, _: i32, _: i32| EBADF);
    answer!(l, "sock_recv", |_: i32,
                             _: i32,
                             _: i32,
                             _: i32,
                             _: i32,
                             _: i32| EBADF);
    answer!(l, "sock_send", |_: i32, _: i32, _: i32, _: i32, _: i32| {
        EBADF
    });
    // stdio exists but is not a socket.
    answer!(l, "sock_shutdown", |fd: i32, _: i32| if is_stdio(fd) {
        ENOTSOCK
    } else {
        EBADF
    });
    define_files(&mut l)?;
    Ok(l)
}

fn fd_write(
    mem: &mut [u8],
    state: &mut GuestState,
    fd: i32,
    iovs: i32,
    count: i32,
    written: i32,
) -> wasmtime::Result<i32> {
    if fd != 1 && fd != 2 {
        return Ok(EBADF);
    }
    let vecs = match iovecs(mem, iovs, count) {
        Ok(v) => v,
        Err(f) => return Ok(f.into()),
    };
    let mut total = 0usize;
    for (buf, len) in vecs {
        let data = &mem[buf as u32 as usize..][..len];
        if fd == 1 {
            let room = state.stdout_cap.saturating_sub(state.stdout.len());
            if len > room {
                state.stdout.extend_from_slice(&data[..room]);
                return Err(wasmtime::Error::new(Stop::OutputLimit));
            }
            state.stdout.extend_from_slice(data);
        } else {
            state.stderr.push(data);
        }
        total += len;
    }
    errno(write(mem, written, &(total as u32).to_le_bytes()))
}

fn fd_read(
    mem: &mut [u8],
    state: &mut GuestState,
    fd: i32,
    iovs: i32,
    count: i32,
    read: i32,
) -> wasmtime::Result<i32> {
    if fd != 0 {
        let (index, pos) = match handle(state, fd) {
            Some((Handle::File { index, pos }, _)) => (index, pos),
            Some((Handle::Dir, _)) => return Ok(files::EISDIR),
            None => return Ok(EBADF),
        };
        let Some(tree) = state.world.tree.as_ref() else {
            return Ok(EBADF);
        };
        let n = match read_file(mem, tree, index, pos, iovs, count) {
            Ok(n) => n,
            Err(f) => return Ok(f.into()),
        };
        if let Some(Handle::File { pos, .. }) = state.fds.get_mut(fd) {
            *pos += n as u64;
        }
        return errno(write(mem, read, &(n as u32).to_le_bytes()));
    }
    let vecs = match iovecs(mem, iovs, count) {
        Ok(v) => v,
        Err(f) => return Ok(f.into()),
    };
    let mut total = 0usize;
    for (buf, len) in vecs {
        let rest = &state.stdin[state.stdin_pos..];
        let n = len.min(rest.len());
        let start = buf as u32 as usize;
        mem[start..start + n].copy_from_slice(&rest[..n]);
        state.stdin_pos += n;
        total += n;
        if n < len {
            break;
        }
    }
    errno(write(mem, read, &(total as u32).to_le_bytes()))
}

/// Sleeps take no real time: the earliest clock subscription fires at once and virtual time
/// jumps to it. Time slept counts against the wall-clock limit.
fn poll_oneoff(
    mem: &mut [u8],
    state: &mut GuestState,
    subs: i32,
    events: i32,
    count: i32,
    nevents: i32,
) -> wasmtime::Result<i32> {
    const SUB: usize = 48;
    const EVENT: usize = 32;
    let count = count as u32 as usize;
    // Real programs wait on a handful of events; a cap keeps host allocations small.
    if count == 0 || count > 4096 {
        return Ok(EINVAL);
    }
    let Some(sub_bytes) = count.checked_mul(SUB) else {
        return Ok(EFAULT);
    };
    if range(mem, subs, sub_bytes).is_err() || range(mem, events, count * EVENT).is_err() {
        return Ok(EFAULT);
    }
    let base = subs as u32 as usize;
    // (userdata, type, errno, nbytes) of each event to report.
    let mut ready: Vec<(u64, u8, u16, u64)> = Vec::new();
    let mut clocks: Vec<(u64, u64)> = Vec::new();
    for i in 0..count {
        let at = (base + i * SUB) as i32;
        let userdata = read_u64(mem, at).unwrap_or(0);
        let tag = mem[base + i * SUB + 8];
        match tag {
            0 => {
                let id = read_u32(mem, at.wrapping_add(16)).unwrap_or(u32::MAX) as i32;
                let timeout = read_u64(mem, at.wrapping_add(24)).unwrap_or(0);
                let flags =
                    u16::from_le_bytes([mem[base + i * SUB + 40], mem[base + i * SUB + 41]]);
                let Some(now) = state.now(id) else {
                    ready.push((userdata, 0, EINVAL as u16, 0));
                    continue;
                };
                let relative = if flags & 1 == 1 {
                    timeout.saturating_sub(now)
                } else {
                    timeout
                };
                clocks.push((userdata, relative));
            }
            1 | 2 => {
                let fd = read_u32(mem, at.wrapping_add(16)).unwrap_or(u32::MAX) as i32;
                let (err, nbytes) = match (tag, fd) {
                    (1, 0) => (0, (state.stdin.len() - state.stdin_pos) as u64),
                    (2, 1 | 2) => (0, 0),
                    _ => (EBADF as u16, 0),
                };
                ready.push((userdata, tag, err, nbytes));
            }
            _ => ready.push((userdata, tag, EINVAL as u16, 0)),
        }
    }
    if ready.is_empty()
        && let Some(&(_, earliest)) = clocks.iter().min_by_key(|(_, t)| *t)
    {
        state.clock_ns = state.clock_ns.saturating_add(earliest);
        state.slept = state.slept.saturating_add(Duration::from_nanos(earliest));
        if state.slept > state.wall {
            return Err(wasmtime::Error::new(Stop::SleptPastLimit(state.slept)));
        }
        ready.extend(
            clocks
                .iter()
                .filter(|(_, t)| *t == earliest)
                .map(|&(userdata, _)| (userdata, 0, 0, 0)),
        );
    }
    let out = events as u32 as usize;
    for (i, &(userdata, kind, err, nbytes)) in ready.iter().enumerate() {
        let mut event = [0u8; EVENT];
        event[0..8].copy_from_slice(&userdata.to_le_bytes());
        event[8..10].copy_from_slice(&err.to_le_bytes());
        event[10] = kind;
        event[16..24].copy_from_slice(&nbytes.to_le_bytes());
        mem[out + i * EVENT..out + (i + 1) * EVENT].copy_from_slice(&event);
    }
    errno(write(mem, nevents, &(ready.len() as u32).to_le_bytes()))
}

/// Bytes a read on `fd` could return (at `at`, or at the file's position): what it is charged
/// for at most.
fn readable(state: &GuestState, fd: i32, at: Option<u64>) -> u64 {
    if fd == 0 {
        return (state.stdin.len() - state.stdin_pos) as u64;
    }
    match (state.fds.get(fd), &state.world.tree) {
        (Some(Handle::File { index, pos }), Some(tree)) => {
            (tree.bytes(index).len() as u64).saturating_sub(at.unwrap_or(pos))
        }
        _ => 0,
    }
}

/// The descriptor's handle when the world has files: `None` is `EBADF`.
fn handle(state: &GuestState, fd: i32) -> Option<(Handle, &Tree)> {
    let tree = state.world.tree.as_ref()?;
    Some((state.fds.get(fd)?, tree))
}

/// Copies `data` into the iovecs; the count copied.
fn scatter(mem: &mut [u8], iovs: i32, count: i32, data: &[u8]) -> Result<usize, Fault> {
    let mut done = 0;
    for (buf, len) in iovecs(mem, iovs, count)? {
        let n = len.min(data.len() - done);
        let start = buf as u32 as usize;
        mem[start..start + n].copy_from_slice(&data[done..done + n]);
        done += n;
        if done == data.len() {
            break;
        }
    }
    Ok(done)
}

/// Reads an open file from `at` into the iovecs; the count read.
fn read_file(
    mem: &mut [u8],
    tree: &Tree,
    index: usize,
    at: u64,
    iovs: i32,
    count: i32,
) -> Result<usize, Fault> {
    let bytes = tree.bytes(index);
    let from = usize::try_from(at).unwrap_or(usize::MAX).min(bytes.len());
    scatter(mem, iovs, count, &bytes[from..])
}

/// The guest path `path` (pointer, length) as bytes, or an errno.
fn path_bytes(mem: &[u8], path: i32, len: i32) -> Result<Vec<u8>, i32> {
    let len = len as u32 as usize;
    // PATH_MAX: a longer path names nothing here.
    if len > 4096 {
        return Err(EINVAL);
    }
    range(mem, path, len)
        .map(|r| mem[r].to_vec())
        .map_err(i32::from)
}

/// The node `path` names under the directory descriptor `dir`.
fn resolve(state: &GuestState, dir: i32, path: &[u8]) -> Result<(Node, usize), i32> {
    match handle(state, dir) {
        Some((Handle::Dir, tree)) => tree.lookup(path).map(|node| {
            let size = match node {
                Node::File(i) => tree.bytes(i).len(),
                Node::Dir => 0,
            };
            (node, size)
        }),
        Some((Handle::File { .. }, _)) => Err(files::ENOTDIR),
        None => Err(EBADF),
    }
}

/// The functions that touch files: stdio, and the world's read-only directory when it has one.
/// Opening a file to create or truncate it fails with `EROFS`; writing to an open file fails
/// with `EBADF` (it was opened read-only), as do the calls that create, rename or remove
/// (defined with the others in `linker`); every call fails when the world has no files. Path
/// calls are charged for the path's bytes.
fn define_files(l: &mut Linker<GuestState>) -> anyhow::Result<()> {
    l.func_wrap(
        MODULE,
        "fd_prestat_get",
        |mut c: Ctx<'_>, fd: i32, out: i32| {
            charge(&mut c, 0)?;
            with_memory(
                &mut c,
                |mem, s| match (&s.world.tree, fd) {
                    (Some(tree), DIR_FD) => {
                        let mut prestat = [0u8; 8];
                        prestat[4..8]
                            .copy_from_slice(&(tree.dir_name().len() as u32).to_le_bytes());
                        errno(write(mem, out, &prestat))
                    }
                    _ => Ok(EBADF),
                },
                EFAULT,
            )
        },
    )?;
    l.func_wrap(
        MODULE,
        "fd_prestat_dir_name",
        |mut c: Ctx<'_>, fd: i32, path: i32, len: i32| {
            charge(&mut c, 0)?;
            with_memory(
                &mut c,
                |mem, s| match (&s.world.tree, fd) {
                    (Some(tree), DIR_FD) => {
                        let name = tree.dir_name();
                        if (len as u32 as usize) < name.len() {
                            return Ok(EINVAL);
                        }
                        errno(write(mem, path, name))
                    }
                    _ => Ok(EBADF),
                },
                EFAULT,
            )
        },
    )?;
    l.func_wrap(
        MODULE,
        "fd_fdstat_get",
        |mut c: Ctx<'_>, fd: i32, out: i32| {
            charge(&mut c, 0)?;
            with_memory(
                &mut c,
                |mem, s| {
                    // stdio: a character device with seek rights: not a tty, so C's stdio and
                    // Python buffer fully.
                    let kind = if is_stdio(fd) {
                        2
                    } else {
                        match handle(s, fd) {
                            Some((Handle::Dir, _)) => 3,
                            Some((Handle::File { .. }, _)) => 4,
                            None => return Ok(EBADF),
                        }
                    };
                    let mut stat = [0u8; 24];
                    stat[0] = kind;
                    stat[8..16].copy_from_slice(&0x1FFF_FFFFu64.to_le_bytes());
                    stat[16..24].copy_from_slice(&0x1FFF_FFFFu64.to_le_bytes());
                    errno(write(mem, out, &stat))
                },
                EFAULT,
            )
        },
    )?;
    l.func_wrap(
        MODULE,
        "fd_filestat_get",
        |mut c: Ctx<'_>, fd: i32, out: i32| {
            charge(&mut c, 0)?;
            with_memory(
                &mut c,
                |mem, s| {
                    if is_stdio(fd) {
                        let mut stat = [0u8; 64];
                        stat[16] = 2;
                        return errno(write(mem, out, &stat));
                    }
                    match handle(s, fd) {
                        Some((Handle::Dir, tree)) => {
                            errno(write(mem, out, &tree.filestat(Node::Dir)))
                        }
                        Some((Handle::File { index, .. }, tree)) => {
                            errno(write(mem, out, &tree.filestat(Node::File(index))))
                        }
                        None => Ok(EBADF),
                    }
                },
                EFAULT,
            )
        },
    )?;
    l.func_wrap(
        MODULE,
        "path_filestat_get",
        |mut c: Ctx<'_>, dir: i32, _flags: i32, path: i32, len: i32, out: i32| {
            charge(&mut c, u64::from(len as u32).min(4096))?;
            with_memory(
                &mut c,
                |mem, s| {
                    let path = match path_bytes(mem, path, len) {
                        Ok(p) => p,
                        Err(e) => return Ok(e),
                    };
                    match resolve(s, dir, &path) {
                        Ok((node, _)) => match &s.world.tree {
                            Some(tree) => errno(write(mem, out, &tree.filestat(node))),
                            None => Ok(EBADF),
                        },
                        Err(e) => Ok(e),
                    }
                },
                EFAULT,
            )
        },
    )?;
    l.func_wrap(
        MODULE,
        "path_open",
        |mut c: Ctx<'_>,
         dir: i32,
         _dirflags: i32,
         path: i32,
         len: i32,
         oflags: i32,
         _rights: i64,
         _inheriting: i64,
         fdflags: i32,
         out: i32| {
            charge(&mut c, u64::from(len as u32).min(4096))?;
            with_memory(
                &mut c,
                |mem, s| {
                    let path = match path_bytes(mem, path, len) {
                        Ok(p) => p,
                        Err(e) => return Ok(e),
                    };
                    let node = match resolve(s, dir, &path) {
                        Ok((node, _)) => node,
                        // O_CREAT of a new file: the directory is read-only.
                        Err(files::ENOENT) if oflags & 1 != 0 => return Ok(files::EROFS),
                        Err(e) => return Ok(e),
                    };
                    // O_TRUNC, O_EXCL of an existing file, or append/sync writes: read-only.
                    if oflags & (4 | 8) != 0 || fdflags & (1 | 2 | 8 | 16) != 0 {
                        return Ok(files::EROFS);
                    }
                    let handle = match node {
                        Node::Dir => Handle::Dir,
                        Node::File(_) if oflags & 2 != 0 => return Ok(files::ENOTDIR),
                        Node::File(index) => Handle::File { index, pos: 0 },
                    };
                    match s.fds.insert(handle) {
                        Ok(fd) => errno(write(mem, out, &(fd as u32).to_le_bytes())),
                        Err(e) => Ok(e),
                    }
                },
                EFAULT,
            )
        },
    )?;
    l.func_wrap(
        MODULE,
        "fd_pread",
        |mut c: Ctx<'_>, fd: i32, iovs: i32, count: i32, at: i64, read: i32| {
            let left = readable(c.data(), fd, Some(at as u64));
            let bytes = iovec_bytes(&mut c, iovs, count).min(left);
            charge(&mut c, bytes)?;
            with_memory(
                &mut c,
                |mem, s| match handle(s, fd) {
                    Some((Handle::File { index, .. }, tree)) => {
                        match read_file(mem, tree, index, at as u64, iovs, count) {
                            Ok(n) => errno(write(mem, read, &(n as u32).to_le_bytes())),
                            Err(f) => Ok(f.into()),
                        }
                    }
                    Some((Handle::Dir, _)) => Ok(files::EISDIR),
                    None if is_stdio(fd) => Ok(ESPIPE),
                    None => Ok(EBADF),
                },
                EFAULT,
            )
        },
    )?;
    l.func_wrap(
        MODULE,
        "fd_seek",
        |mut c: Ctx<'_>, fd: i32, offset: i64, whence: i32, out: i32| {
            charge(&mut c, 0)?;
            with_memory(
                &mut c,
                |mem, s| {
                    if is_stdio(fd) {
                        return Ok(ESPIPE);
                    }
                    let size = match handle(s, fd) {
                        Some((Handle::File { index, .. }, tree)) => tree.bytes(index).len() as i64,
                        Some((Handle::Dir, _)) => return Ok(files::EISDIR),
                        None => return Ok(EBADF),
                    };
                    let Some(Handle::File { pos, .. }) = s.fds.get_mut(fd) else {
                        return Ok(EBADF);
                    };
                    let base = match whence {
                        0 => 0,
                        1 => *pos as i64,
                        2 => size,
                        _ => return Ok(EINVAL),
                    };
                    let Some(new) = base.checked_add(offset).filter(|n| *n >= 0) else {
                        return Ok(EINVAL);
                    };
                    *pos = new as u64;
                    errno(write(mem, out, &(new as u64).to_le_bytes()))
                },
                EFAULT,
            )
        },
    )?;
    l.func_wrap(MODULE, "fd_tell", |mut c: Ctx<'_>, fd: i32, out: i32| {
        charge(&mut c, 0)?;
        with_memory(
            &mut c,
            |mem, s| match handle(s, fd) {
                Some((Handle::File { pos, .. }, _)) => errno(write(mem, out, &pos.to_le_bytes())),
                Some((Handle::Dir, _)) => Ok(files::EISDIR),
                None if is_stdio(fd) => Ok(ESPIPE),
                None => Ok(EBADF),
            },
            EFAULT,
        )
    })?;
    l.func_wrap(MODULE, "fd_close", |mut c: Ctx<'_>, fd: i32| {
        charge(&mut c, 0)?;
        let s = c.data_mut();
        Ok(
            if is_stdio(fd) || (s.world.tree.is_some() && s.fds.close(fd)) {
                SUCCESS
            } else {
                EBADF
            },
        )
    })?;
    l.func_wrap(
        MODULE,
        "fd_advise",
        |mut c: Ctx<'_>, fd: i32, _: i64, _: i64, _: i32| {
            charge(&mut c, 0)?;
            Ok(match handle(c.data(), fd) {
                Some((Handle::File { .. }, _)) => SUCCESS,
                Some((Handle::Dir, _)) => files::EISDIR,
                None => EBADF,
            })
        },
    )?;
    l.func_wrap(
        MODULE,
        "fd_readdir",
        |mut c: Ctx<'_>, fd: i32, buf: i32, len: i32, cookie: i64, used: i32| {
            let room = (len as u32 as usize).min(1 << 16);
            charge(&mut c, room as u64)?;
            with_memory(
                &mut c,
                |mem, s| match handle(s, fd) {
                    Some((Handle::Dir, tree)) => {
                        let listing = tree.dirents(cookie as u64, room);
                        errno(
                            write(mem, buf, &listing).and_then(|()| {
                                write(mem, used, &(listing.len() as u32).to_le_bytes())
                            }),
                        )
                    }
                    Some((Handle::File { .. }, _)) => Ok(files::ENOTDIR),
                    None => Ok(EBADF),
                },
                EFAULT,
            )
        },
    )?;
    Ok(())
}
