//! The blocking pool: a few threads for work that would block the loop.
//!
//! A leaf driver (it imports nothing from `crate::runtime`): it runs boxed
//! closures on threads and knows nothing of tasks or wakers. `spawn_blocking`
//! (`src/blocking.rs`) wraps each job so that its result reaches the waiting
//! task; the pool only decides, under one lock, between waking an idle thread
//! and starting a new one.
//!
//! The pool is bounded ([`MAX_THREADS`]): threads are started on demand, reused
//! for later jobs, and exit after [`IDLE_TIMEOUT`] without work. Jobs beyond
//! the bound wait in a queue.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread;
use std::time::Duration;

/// At most this many pool threads per runtime.
pub(crate) const MAX_THREADS: usize = 16;
/// A pool thread with no work for this long exits.
pub(crate) const IDLE_TIMEOUT: Duration = Duration::from_secs(10);

/// A unit of work: anything that runs once, on any thread.
pub(crate) type Job = Box<dyn FnOnce() + Send>;

/// The pool: a job queue, and the bookkeeping that decides between waking an
/// idle thread and starting a new one. One lock guards it all, so a job is
/// never handed to a thread that is at the same moment deciding to exit.
pub(crate) struct BlockingPool {
    inner: Arc<PoolInner>,
}

struct PoolInner {
    state: Mutex<PoolState>,
    /// Idle threads wait here for work.
    work: Condvar,
}

#[derive(Default)]
struct PoolState {
    jobs: VecDeque<Job>,
    /// Threads alive (busy or idle).
    threads: usize,
    /// Threads waiting for work that nobody has claimed yet.
    idle: usize,
    /// Idle threads that `submit` claimed and signalled: each wake-up with
    /// `notified > 0` is a real one (a condvar may also wake for nothing).
    notified: usize,
    /// The runtime is gone: finish the queue, then exit.
    shutdown: bool,
}

impl BlockingPool {
    pub(crate) fn new() -> BlockingPool {
        let inner = PoolInner {
            state: Mutex::default(),
            work: Condvar::new(),
        };
        BlockingPool {
            inner: Arc::new(inner),
        }
    }

    /// Run `job` on a pool thread, as soon as one is free.
    pub(crate) fn submit(&self, job: Job) {
        let mut state = lock(&self.inner.state);
        state.jobs.push_back(job);
        if state.idle > 0 {
            // Claim an idle thread *now*, so the next job of a burst sees one
            // fewer idle thread and starts a new one instead of queueing.
            state.idle -= 1;
            state.notified += 1;
            self.inner.work.notify_one();
        } else if state.threads < MAX_THREADS {
            state.threads += 1;
            let inner = self.inner.clone();
            let spawned = thread::Builder::new()
                .name("evloop-blocking".into())
                .spawn(move || worker(&inner));
            if spawned.is_err() {
                // The OS refused a thread; the job waits for a running one.
                state.threads -= 1;
            }
        }
        // Else: every thread is busy and we are at the bound; the job waits.
    }
}

impl BlockingPool {
    /// The runtime is gone: idle threads exit now, busy ones after the queue
    /// is empty (a job cannot be stopped from outside).
    pub(crate) fn shutdown(&self) {
        lock(&self.inner.state).shutdown = true;
        self.inner.work.notify_all();
    }
}

impl Drop for BlockingPool {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A pool thread: run queued jobs; when there are none, wait (idle) for at
/// most `IDLE_TIMEOUT`, then exit.
fn worker(pool: &PoolInner) {
    let mut state = lock(&pool.state);
    loop {
        if let Some(job) = state.jobs.pop_front() {
            drop(state); // never hold the lock while a job runs
            job();
            state = lock(&pool.state);
            continue;
        }
        if state.shutdown {
            break;
        }
        state.idle += 1;
        let (mut woken, timeout) = pool
            .work
            .wait_timeout(state, IDLE_TIMEOUT)
            .unwrap_or_else(|e| e.into_inner());
        if woken.notified > 0 {
            // `submit` claimed us (it already took us off `idle`).
            woken.notified -= 1;
        } else {
            // Timed out, shut down, or woken for nothing: we are still counted idle.
            woken.idle -= 1;
            if timeout.timed_out() && woken.jobs.is_empty() {
                state = woken;
                break;
            }
        }
        state = woken;
    }
    state.threads -= 1;
}
