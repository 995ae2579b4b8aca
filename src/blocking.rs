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
//! The pool itself — bounded at `MAX_THREADS` (16) threads, started on
//! demand, exiting after `IDLE_TIMEOUT` (10 s) idle — is a leaf driver in
//! `runtime/driver/blocking.rs`. `evloop::fs` is built on this, as
//! `aiofiles` is built on a thread pool.
//!
//! Inside a job, [`Handle::current`], `evloop::spawn` and `spawn_blocking`
//! itself reach the runtime that started it (as in tokio).

use std::future::Future;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::thread;

use crate::runtime::context;
use crate::runtime::shared::Shared;
use crate::runtime::Handle;
use crate::task::JoinHandle;

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
    let mut job = Some(f);
    // On a thread of the runtime (the loop, or a worker of a multi-thread one).
    let on_runtime = context::try_with_shared(|shared| {
        let f = job.take().expect("taken once");
        let slot = Arc::new(Mutex::new(Slot {
            result: None,
            waker: None,
        }));
        shared.blocking_in_flight.fetch_add(1, Ordering::AcqRel);
        let job_slot = slot.clone();
        let handle = Handle::new(shared.clone());
        shared.blocking.submit(Box::new(move || {
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
        WaitBlocking {
            slot,
            shared: shared.clone(),
            counted: true,
        }
    });
    if let Some(waiting) = on_runtime {
        let name = Some("spawn_blocking".into());
        return context::spawn("evloop::spawn_blocking", waiting, name);
    }
    // Not on a loop's thread: inside another blocking job (or under
    // `Handle::block_on`). Hand the submission to the loop as a task of its
    // own, which does the above there and passes the result (or the panic) on.
    let f = job.take().expect("not taken on this path");
    context::spawn(
        "evloop::spawn_blocking",
        async move {
            match spawn_blocking(f).await {
                Ok(value) => value,
                Err(error) => match error.try_into_panic() {
                    Ok(payload) => resume_unwind(payload),
                    Err(cancelled) => panic!("{cancelled}"),
                },
            }
        },
        Some("spawn_blocking".into()),
    )
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
