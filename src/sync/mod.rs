//! Channels: how tasks hand values to each other — built here, on wakers.
//!
//! A **channel** is a queue with two ends. One end (the *sender*) puts values
//! in, the other (the *receiver*) takes them out, and when the receiver finds
//! the queue empty it does not spin or block the thread: it leaves its
//! [`Waker`] with the channel and returns `Pending`. The next `send` takes
//! that waker and wakes it, and the event loop polls the receiving task
//! again. That hand-off — *park a waker, get woken by the other side* — is
//! the whole trick, and the reason this module exists: every async primitive
//! (timers, sockets, locks) waits the same way.
//!
//! Python programmers know this as `asyncio.Queue`:
//!
//! | asyncio | evloop |
//! |---|---|
//! | `q = asyncio.Queue(maxsize=8)` | `let (tx, mut rx) = mpsc::channel(8);` |
//! | `q = asyncio.Queue()` (no limit) | `let (tx, mut rx) = mpsc::unbounded_channel();` |
//! | `await q.put(v)` | `tx.send(v).await?` (waits for room) |
//! | `q.put_nowait(v)` → `QueueFull` | `tx.try_send(v)` → `Err(TrySendError::Full(v))` |
//! | `await q.get()` | `rx.recv().await` → `Some(v)`, or `None` once every sender is gone |
//! | `q.get_nowait()` → `QueueEmpty` | `rx.try_recv()` → `Err(TryRecvError::Empty)` |
//! | `q.shutdown()` (3.13) | `rx.close()`, or just drop the senders |
//! | a `Future` set once: `fut.set_result(v)` / `await fut` | `oneshot::channel()`: `tx.send(v)` / `rx.await` |
//!
//! Two differences from asyncio are on purpose. First, the ends are separate
//! values with owners, so the channel knows when one side is *gone*: when the
//! last sender is dropped the receiver gets `None` instead of waiting forever,
//! and when the receiver is dropped a sender gets its value back in an error.
//! A closed channel is an error value, never a hang. Second, `mpsc` means
//! *multi-producer, single-consumer*: [`mpsc::Sender`] can be cloned, the
//! receiver cannot.
//!
//! What is here:
//! - [`mpsc`] — a stream of values: [`mpsc::channel`] (bounded: senders wait
//!   for room, which is *backpressure*) and [`mpsc::unbounded_channel`].
//! - [`oneshot`] — exactly one value, e.g. a reply to a request.
//! - [`Semaphore`] — at most N at once (asyncio's `Semaphore`), served
//!   first come, first served.
//! - [`Notify`] — a signal with no value: wake one waiter or all of them
//!   (asyncio's `Event` / `Condition`).
//!
//! Nothing in this module knows about evloop's runtime. It uses only `std`: a
//! `Mutex` around the shared state and the `Waker` in the `Context` it is
//! polled with. So these channels work under any executor — tokio's, a
//! hand-written `block_on`, or the event loop of lesson 14 (a data pipeline
//! with channels) — and they are `Send` and `Sync` whenever `T: Send`.

pub mod mpsc;
mod notify;
pub mod oneshot;
mod semaphore;
mod waiters;

pub use notify::{Notified, Notify};
pub use semaphore::{Acquire, AcquireError, Semaphore, SemaphorePermit, TryAcquireError};

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::task::Waker;

/// Store `new` as the waker to wake later; hand back the one it replaces.
///
/// Two rules live here, so that every waker slot in `sync` and `join` keeps
/// them the same way:
///
/// 1. **Clone only if it changed.** A task is usually polled with the same
///    waker every time, and `will_wake` spots that cheaply, so the common case
///    costs no clone (an atomic increment, or worse for some executors).
/// 2. **Never drop a waker under a lock.** The slot usually sits behind a
///    `Mutex`, and a waker may be the *last* reference to its task: dropping
///    it drops the task's future, and everything that future owns — maybe a
///    `Sender` of this very channel, whose `Drop` locks it again. So the old
///    waker is returned, and the caller drops it once the guard is gone:
///
/// ```text
/// let old = replace_waker(&mut state.recv_waker, cx.waker());
/// drop(state); // unlock first...
/// drop(old);   // ...then let the old waker (and perhaps its task) go
/// ```
#[must_use = "drop the old waker after releasing the lock, not under it"]
pub(crate) fn replace_waker(slot: &mut Option<Waker>, new: &Waker) -> Option<Waker> {
    match slot {
        Some(old) => update_waker(old, new),
        None => slot.replace(new.clone()),
    }
}

/// [`replace_waker`] for a slot that always holds a waker (a waiting sender).
#[must_use = "drop the old waker after releasing the lock, not under it"]
pub(crate) fn update_waker(slot: &mut Waker, new: &Waker) -> Option<Waker> {
    if slot.will_wake(new) {
        None
    } else {
        Some(std::mem::replace(slot, new.clone()))
    }
}

/// A channel end is about to return `Pending`: note on the polled task that
/// it waits on a channel (what `Runtime::tasks` reports).
pub(crate) fn waiting_on_channel() {
    crate::task::wait::record(crate::task::WaitReason::Channel);
}

/// Lock a channel's state, ignoring poisoning.
///
/// A mutex is poisoned when a thread panics while holding it. Our critical
/// sections run none of the caller's code (values and wakers are dropped, and
/// wakers woken, only after the guard is gone), so the state is consistent
/// even then, and a panic in one task must not turn every later `send` into
/// a second panic.
pub(crate) fn lock<S>(mutex: &Mutex<S>) -> MutexGuard<'_, S> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
