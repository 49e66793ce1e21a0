//! Work spread over threads whose native stacks are large enough for a guest's wasm stack
//! (wasmtime runs wasm on the calling thread's stack).

use anyhow::{Context, anyhow};

/// Runs `f` on a thread whose native stack is larger than the guests' wasm stack.
pub fn on_grading_thread<T: Send>(
    wasm_stack: usize,
    f: impl FnOnce() -> T + Send,
) -> anyhow::Result<T> {
    std::thread::scope(|scope| {
        let handle = std::thread::Builder::new()
            .name("grader-run".into())
            .stack_size(wasm_stack + (8 << 20))
            .spawn_scoped(scope, f)
            .context("starting a grading thread")?;
        handle
            .join()
            .map_err(|_| anyhow!("internal error: the grading thread panicked"))
    })
}

/// `f` over `items` on up to `jobs` threads (each with native stack for a `wasm_stack` guest),
/// results in the order of `items`.
pub fn parallel_map<T: Sync, R: Send>(
    items: &[T],
    jobs: usize,
    wasm_stack: usize,
    f: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let workers = jobs.clamp(1, items.len().max(1));
    let next = AtomicUsize::new(0);
    let mut results: Vec<(usize, R)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                std::thread::Builder::new()
                    .stack_size(wasm_stack + (8 << 20))
                    .spawn_scoped(scope, || {
                        let mut done = Vec::new();
                        loop {
                            let i = next.fetch_add(1, Ordering::Relaxed);
                            let Some(item) = items.get(i) else { break };
                            done.push((i, f(item)));
                        }
                        done
                    })
            })
            .collect();
        handles
            .into_iter()
            // A worker that cannot start or that panicked is a bug of the grader, not a
            // verdict: re-raise it rather than drop results silently.
            .flat_map(|h| match h.map(|h| h.join()) {
                Ok(Ok(done)) => done,
                Ok(Err(panic)) => std::panic::resume_unwind(panic),
                Err(e) => panic!("cannot start a grading thread: {e}"),
            })
            .collect()
    });
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, r)| r).collect()
}
