//! Tasks: `spawn`, `JoinHandle`, `JoinError`, `yield_now`.
//!
//! asyncio's `create_task(coro)` is [`spawn`]`(future)`: the future
//! is wrapped in a task and put on the run queue; it starts running on the
//! loop's next turn, not now. Awaiting the returned [`JoinHandle`] is awaiting
//! the asyncio `Task`: it gives the output, or a [`JoinError`] if the task
//! panicked or was aborted. Dropping the handle lets the task run on, detached.
//!
//! How a task is laid out and woken is in `task/raw.rs`; who may touch which
//! part of it, and when, is decided by one atomic state word, `task/state.rs`
//! (checked under loom by `task/loom_tests.rs`). What each task waits on is
//! noted by the leaf futures through `task/wait.rs`. Lesson 03 builds the
//! same waker by hand, with a `RawWakerVTable`, to show what `ArcWake` saves us.

pub(crate) mod coop;
pub(crate) mod header;
pub(crate) mod raw;
pub(crate) mod state;

mod error;
mod join_handle;
mod join_set;
#[cfg(all(test, feature = "loom"))]
mod loom_tests;
pub(crate) mod wait;

pub use coop::{unconstrained, Unconstrained, BUDGET};
pub use error::JoinError;
pub use join_handle::JoinHandle;
pub use join_set::JoinSet;
pub use wait::{TaskInfo, TaskState, WaitReason};

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::runtime::context;

/// A task's id inside the crate: `task-N` is `TaskId(N)`, and the `block_on`
/// future, which is not a task but is polled like one, is [`TaskId::MAIN`].
/// The public API and the trace speak plain `u64`s.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct TaskId(pub(crate) u64);

impl TaskId {
    /// The `block_on` future ("main" in the trace).
    pub(crate) const MAIN: TaskId = TaskId(0);
}

/// The message of a panic payload, when it is a string (as `panic!("...")` makes).
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> Option<&str> {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
}

/// How messages name a task: `` task `fetcher` `` when it has a name, else
/// `task-3`. (The slow-poll warning and `JoinError` both speak this way.)
pub(crate) fn describe(id: u64, name: Option<&str>) -> String {
    match name {
        Some(name) => format!("task `{name}`"),
        None => format!("task-{id}"),
    }
}

/// Spawn a future as a new task on the current runtime (asyncio's `create_task`).
///
/// The task is queued, not run: it is first polled on the loop's next turn.
/// The returned [`JoinHandle`] is a future of the task's output.
///
/// ```
/// let answer = evloop::run(async {
///     let handle = evloop::spawn(async { 6 * 7 });
///     handle.await.unwrap()
/// });
/// assert_eq!(answer, 42);
/// ```
///
/// # Panics
/// Outside a runtime (`evloop::run` / `Runtime::block_on`), with a message that says so.
///
/// # Why `Send + 'static`, on a one-thread runtime
/// The runtime owns the task: it can outlive the caller (dropping the
/// `JoinHandle` detaches it), hence `'static`. Its waker is `Send + Sync` by
/// the standard library's contract and may end up on any thread (a
/// `spawn_blocking` job, a timer of another runtime), holding the task's
/// allocation alive — possibly as its last owner; its `JoinHandle` and output
/// may be sent to and awaited on other threads; and `spawn` works from a
/// `spawn_blocking` job, moving the future across. So the future and its
/// output must be `Send`. The book's chapter "spawn's Send + 'static" has more.
///
#[doc = include_str!("spawn_send_static.md")]
#[track_caller]
pub fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    context::spawn("evloop::spawn", future, None)
}

/// Spawn with options: for now, a name that the trace, `Turn::polled` and the
/// slow-poll warning show instead of `task-N`.
///
/// ```
/// evloop::run(async {
///     let h = evloop::task::Builder::new().name("fetcher").spawn(async { "done" });
///     assert_eq!(h.await.unwrap(), "done");
/// });
/// ```
#[derive(Debug, Default, Clone)]
pub struct Builder {
    name: Option<String>,
}

impl Builder {
    /// A builder with no name set.
    pub fn new() -> Builder {
        Builder::default()
    }

    /// Name the task. Names need not be unique; they are for people.
    pub fn name(mut self, name: impl Into<String>) -> Builder {
        self.name = Some(name.into());
        self
    }

    /// Spawn the future as a task with these options (see [`spawn`]).
    /// Unlike tokio's, this cannot fail, so it returns the handle directly.
    #[track_caller]
    pub fn spawn<F>(self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let name = self.name.map(String::into_boxed_str);
        context::spawn("evloop::task::Builder::spawn", future, name)
    }
}

/// Give the other ready tasks a turn (asyncio's `await asyncio.sleep(0)`).
///
/// The first poll wakes its own task and returns `Pending`, so the task goes
/// to the back of the run queue and runs again on the *next* turn of the loop.
///
/// ```
/// evloop::run(async {
///     evloop::yield_now().await;
/// });
/// ```
pub fn yield_now() -> YieldNow {
    YieldNow { yielded: false }
}

/// The future returned by [`yield_now`].
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` them"]
pub struct YieldNow {
    yielded: bool,
}

impl Future for YieldNow {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            return Poll::Ready(());
        }
        self.yielded = true;
        // Waking ourselves puts the task back on the queue; returning Pending
        // hands the loop back so everything queued before us runs first.
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}
