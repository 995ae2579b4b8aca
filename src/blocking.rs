//! `spawn_blocking`: run blocking code on a small thread pool (asyncio's `to_thread`).
//!
//! The loop has one thread. A call that blocks it — reading a file, hashing a
//! password, `std::thread::sleep` — stops *every* task (lesson 08 shows the
//! warning that catches it). `spawn_blocking(f)` sends `f` to a pool thread
//! instead and returns a [`JoinHandle`] at once; when `f` returns, the pool
//! thread wakes the waiting task. That wake comes from another thread, so if
//! the loop is parked it is interrupted through the `mio::Waker` (see
//! `runtime::shared`).
//!
//! The pool is bounded ([`MAX_THREADS`]): threads are started on demand, reused
//! for later jobs, and exit after [`IDLE_TIMEOUT`] without work. Jobs beyond
//! the bound wait in a queue. `evloop::fs` is built on this, as `aiofiles` is
//! built on a thread pool.

use std::collections::VecDeque;
use std::future::Future;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::thread;
use std::time::Duration;

use crate::runtime::context;
use crate::runtime::shared::Shared;
use crate::runtime::Handle;
use crate::task::JoinHandle;

/// At most this many pool threads per runtime.
pub const MAX_THREADS: usize = 16;
/// A pool thread with no work for this long exits.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(10);

type Job = Box<dyn FnOnce() + Send>;

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

    fn submit(&self, job: Job) {
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

impl Drop for BlockingPool {
    fn drop(&mut self) {
        lock(&self.inner.state).shutdown = true;
        self.inner.work.notify_all();
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

/// Run `f` on the blocking pool; await its result (asyncio's `to_thread`).
///
/// A panic in `f` comes back as a [`JoinError`](crate::JoinError) with
/// `is_panic()`. `abort()` on the handle stops the *waiting*, not `f`: a thread
/// cannot be cancelled from outside, so `f` runs to the end regardless.
///
/// ```
/// let n = evloop::run(async {
///     evloop::spawn_blocking(|| (1..=10u64).product::<u64>()).await.unwrap()
/// });
/// assert_eq!(n, 3_628_800);
/// ```
#[track_caller]
// ANCHOR: spawn_blocking
pub fn spawn_blocking<F, R>(f: F) -> JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    context::with_core("evloop::spawn_blocking", |core| {
        let slot = Arc::new(Mutex::new(Slot {
            result: None,
            waker: None,
        }));
        core.shared
            .blocking_in_flight
            .fetch_add(1, Ordering::AcqRel);
        let job_slot = slot.clone();
        let handle = Handle::new(core.shared.clone());
        core.blocking.submit(Box::new(move || {
            // Inside the job, `Handle::current()` and `evloop::spawn` reach this runtime.
            let guard = context::enter_handle(handle);
            let result = catch_unwind(AssertUnwindSafe(f));
            drop(guard);
            let waker = {
                let mut slot = job_slot.lock().unwrap_or_else(|e| e.into_inner());
                slot.result = Some(result);
                slot.waker.take()
            };
            if let Some(waker) = waker {
                waker.wake();
            }
        }));
        let waiting = WaitBlocking {
            slot,
            shared: core.shared.clone(),
            counted: true,
        };
        core.spawn(waiting, Some("spawn_blocking".into()))
    })
}
// ANCHOR_END: spawn_blocking

struct Slot<R> {
    result: Option<thread::Result<R>>,
    waker: Option<Waker>,
}

/// The task that waits for a pool job's result.
struct WaitBlocking<R> {
    slot: Arc<Mutex<Slot<R>>>,
    shared: Arc<Shared>,
    /// Still counted in `blocking_in_flight`.
    counted: bool,
}

impl<R> WaitBlocking<R> {
    /// The job is no longer awaited: let a paused clock move again.
    fn uncount(&mut self) {
        if std::mem::take(&mut self.counted) {
            self.shared
                .blocking_in_flight
                .fetch_sub(1, Ordering::AcqRel);
        }
    }
}

impl<R> Future for WaitBlocking<R> {
    type Output = R;

    // ANCHOR: wait
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<R> {
        let result = {
            let mut slot = self.slot.lock().unwrap_or_else(|e| e.into_inner());
            match slot.result.take() {
                Some(result) => result,
                None => {
                    let old = slot.waker.replace(cx.waker().clone());
                    drop(slot); // a waker's drop may run a task's destructors: unlock first
                    drop(old);
                    crate::task::wait::record(crate::task::WaitReason::Blocking);
                    return Poll::Pending;
                }
            }
        };
        // Counted down here, on the loop thread, only once the result is in
        // hand: a paused clock never jumps past a job whose result is on its way.
        self.uncount();
        match result {
            Ok(value) => Poll::Ready(value),
            // Re-raise inside the task: the task machinery turns it into JoinError::Panic.
            Err(payload) => resume_unwind(payload),
        }
    }
    // ANCHOR_END: wait
}

impl<R> Drop for WaitBlocking<R> {
    fn drop(&mut self) {
        self.uncount();
    }
}
