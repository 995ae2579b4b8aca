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

use std::future::Future;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::thread;
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender};

use crate::runtime::context;
use crate::runtime::shared::Shared;
use crate::task::JoinHandle;

/// At most this many pool threads per runtime.
pub const MAX_THREADS: usize = 16;
/// A pool thread with no work for this long exits.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(10);

type Job = Box<dyn FnOnce() + Send>;

/// The pool: a job queue and the counters that decide when to start a thread.
pub(crate) struct BlockingPool {
    jobs: Sender<Job>,
    /// Cloned into each new thread. Threads hold no `Sender`, so when the
    /// runtime (and this pool) is dropped they drain the queue and exit.
    receiver: Receiver<Job>,
    counts: Arc<Counts>,
}

#[derive(Default)]
struct Counts {
    threads: AtomicUsize,
    idle: AtomicUsize,
}

impl BlockingPool {
    pub(crate) fn new() -> BlockingPool {
        let (jobs, receiver) = crossbeam_channel::unbounded();
        BlockingPool {
            jobs,
            receiver,
            counts: Arc::default(),
        }
    }

    fn submit(&self, job: Job) {
        let _ = self.jobs.send(job);
        let counts = &self.counts;
        // Reuse an idle thread if there is one; else start one, up to the bound.
        if counts.idle.load(Ordering::Acquire) == 0
            && counts.threads.load(Ordering::Acquire) < MAX_THREADS
        {
            counts.threads.fetch_add(1, Ordering::AcqRel);
            let receiver = self.receiver.clone();
            let counts = self.counts.clone();
            let spawned = thread::Builder::new()
                .name("evloop-blocking".into())
                .spawn(move || worker(receiver, counts.clone()));
            if spawned.is_err() {
                // The OS refused a thread; the job waits for an existing one.
                self.counts.threads.fetch_sub(1, Ordering::AcqRel);
            }
        }
    }
}

fn worker(jobs: Receiver<Job>, counts: Arc<Counts>) {
    loop {
        // Idle while waiting: `submit` hands new work to us instead of starting a thread.
        counts.idle.fetch_add(1, Ordering::AcqRel);
        let next = jobs.recv_timeout(IDLE_TIMEOUT);
        counts.idle.fetch_sub(1, Ordering::AcqRel);
        match next {
            Ok(job) => job(),
            // Idle too long, or the runtime is gone: this thread is done.
            Err(_) => break,
        }
    }
    counts.threads.fetch_sub(1, Ordering::AcqRel);
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
        core.blocking.submit(Box::new(move || {
            let result = catch_unwind(AssertUnwindSafe(f));
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

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<R> {
        let result = {
            let mut slot = self.slot.lock().unwrap_or_else(|e| e.into_inner());
            match slot.result.take() {
                Some(result) => result,
                None => {
                    slot.waker = Some(cx.waker().clone());
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
}

impl<R> Drop for WaitBlocking<R> {
    fn drop(&mut self) {
        self.uncount();
    }
}
