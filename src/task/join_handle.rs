//! `JoinHandle`: the awaitable end of a spawned task.

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::header::TaskRef;
use super::JoinError;

/// An owned permission to await a task's output (asyncio's `Task` object).
///
/// - `handle.await` gives `Ok(output)`, or `Err(e)` with `e.is_panic()` if the
///   task panicked, or `e.is_cancelled()` if it was aborted.
/// - [`abort`](JoinHandle::abort) cancels the task (asyncio's `task.cancel()`).
///   By the time `handle.await` returns the cancellation error, the task's
///   future has been dropped — so its destructors (closing sockets, releasing
///   locks) have run.
/// - Dropping the handle *detaches* the task: it keeps running, and its output
///   is dropped when it finishes.
///
/// `JoinHandle` is `Unpin`, so it can go straight into [`select`](crate::select).
pub struct JoinHandle<T> {
    /// The task, as one word (its output type is erased; `T` below restores it).
    raw: TaskRef,
    /// The task's output type. As a `fn() -> T`, so the handle is `Send`,
    /// `Sync` and `Unpin` whatever `T` is, as the task it points at (`spawn`
    /// already asks `T: Send`), and the handle never holds a `T` itself.
    _output: PhantomData<fn() -> T>,
}

impl<T> JoinHandle<T> {
    /// The handle of `raw`, whose future's output is `T` (the caller knows).
    pub(crate) fn new(raw: TaskRef) -> JoinHandle<T> {
        JoinHandle {
            raw,
            _output: PhantomData,
        }
    }

    /// Cancel the task. Its future is dropped on the loop's next turn (or
    /// never polled again if it is finished already, in which case this does
    /// nothing). Awaiting the handle afterwards gives a cancelled `JoinError`.
    pub fn abort(&self) {
        // SAFETY: the vtable is the task's own.
        unsafe { (self.raw.header().vtable().abort)(self.raw.as_ptr()) }
    }

    /// Has the task finished — returned, panicked, or been cancelled?
    /// Does not wait; a finished task's handle resolves at once.
    pub fn is_finished(&self) -> bool {
        self.raw.header().is_complete()
    }

    /// The task's id: `N` in `task-N`, unique within its runtime.
    pub fn id(&self) -> u64 {
        self.raw.header().id().0
    }

    /// The task's name, if it was spawned with `task::Builder::name`.
    pub fn name(&self) -> Option<&str> {
        self.raw.header().name()
    }
}

impl<T> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut out = Poll::Pending;
        // SAFETY: the task's future has output `T` (a handle is made only by
        // `spawn` for that future), so `poll_join` writes the type `out` has.
        unsafe {
            (self.raw.header().vtable().poll_join)(
                self.raw.as_ptr(),
                cx,
                (&mut out as *mut Poll<Result<T, JoinError>>).cast(),
            )
        };
        out
    }
}

impl<T> Drop for JoinHandle<T> {
    /// Detach: the task runs on; its output is dropped when it finishes (or
    /// now, if it already has — a panic in that drop is contained and logged).
    fn drop(&mut self) {
        // SAFETY: the vtable is the task's own.
        unsafe { (self.raw.header().vtable().drop_join_handle)(self.raw.as_ptr()) }
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle")
            .field("task", &self.raw.header().display_name())
            .field("finished", &self.is_finished())
            .finish()
    }
}
