//! `JoinSet`: a group of spawned tasks, joined in the order they finish.
//!
//! asyncio's `TaskGroup` (and trio's nursery) tie tasks to a scope: the
//! group owns them, you collect their results as they come, and leaving the
//! scope cancels whatever still runs. A [`JoinSet`] is that scope as a value.
//! It owns one [`JoinHandle`] per task; dropping the set aborts them all.
//!
//! Where it sits in the turn of the loop: the children are ordinary tasks,
//! polled in step 1 like any other. When one finishes, its `JoinHandle`
//! wakes the waker it was last polled with. Here that is a *per-child* waker
//! (as in `join_all`, `src/join.rs`): it appends the child's slot to a ready
//! queue and wakes the task awaiting [`JoinSet::join_next`]. So `join_next`
//! polls only the children that finished, in the order they finished — never
//! a scan of the whole set, which would make joining n tasks cost n².

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

use super::{coop, JoinError, JoinHandle};
use crate::sync::{lock, replace_waker};

/// A set of spawned tasks whose results come out in completion order
/// (asyncio's `TaskGroup`, tokio's `JoinSet`).
///
/// - [`spawn`](JoinSet::spawn) starts a task and keeps its handle in the set.
/// - [`join_next`](JoinSet::join_next) waits for the *next task to finish*,
///   whichever it is, and gives its `Result`; `None` once the set is empty.
/// - [`abort_all`](JoinSet::abort_all) cancels every task; they still come
///   out of `join_next`, as cancelled `JoinError`s.
/// - Dropping the set aborts every task still in it: no task outlives its
///   group by accident (a detached task is what plain `spawn` is for).
///
/// asyncio's `TaskGroup` cancels the others when one fails. A `JoinSet`
/// leaves that choice to you, and it is one line — the "fail fast" loop:
///
/// ```
/// use std::time::Duration;
/// use evloop::task::JoinSet;
///
/// let rt = evloop::Runtime::builder().start_paused(true).build().unwrap();
/// rt.block_on(async {
///     let mut set = JoinSet::new();
///     for secs in [3u64, 1, 2] {
///         set.spawn(async move {
///             evloop::time::sleep(Duration::from_secs(secs)).await;
///             if secs == 2 { Err("two failed") } else { Ok(secs) }
///         });
///     }
///     let mut done = Vec::new();
///     while let Some(joined) = set.join_next().await {
///         match joined {
///             Ok(Ok(secs)) => done.push(secs),
///             Ok(Err(_)) => set.abort_all(), // like TaskGroup: cancel the rest
///             Err(cancelled) => assert!(cancelled.is_cancelled()),
///         }
///     }
///     assert_eq!(done, vec![1]); // the 3-second task was cancelled
/// });
/// ```
pub struct JoinSet<T> {
    /// Slot `i` holds child `i`, or `None` once it was joined (then `i` is
    /// in `free`, to be reused by a later spawn).
    slots: Vec<Option<Child<T>>>,
    free: Vec<usize>,
    /// Results of tasks found finished at `spawn` (see there).
    early: VecDeque<Result<T, JoinError>>,
    /// Children not yet joined (in `slots` or `early`).
    len: usize,
    ready: Arc<Ready>,
}

struct Child<T> {
    handle: JoinHandle<T>,
    /// The waker this child's handle is polled with (see [`SlotWaker`]).
    waker: Waker,
}

/// Slots woken since `join_next` last looked, and the waker of the task
/// awaiting `join_next`.
#[derive(Default)]
struct Ready {
    slots: Mutex<VecDeque<usize>>,
    parent: Mutex<Option<Waker>>,
}

/// The waker of slot `index`: note the slot, then wake the joining task.
struct SlotWaker {
    index: usize,
    ready: Arc<Ready>,
}

impl Wake for SlotWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        lock(&self.ready.slots).push_back(self.index);
        // Clone out and wake after unlocking (the crate's rule: never wake
        // under a lock — the woken task may run on another thread at once).
        let parent = lock(&self.ready.parent).clone();
        if let Some(parent) = parent {
            parent.wake();
        }
    }
}

impl<T> JoinSet<T> {
    /// An empty set.
    ///
    /// ```
    /// let set: evloop::task::JoinSet<()> = evloop::task::JoinSet::new();
    /// assert!(set.is_empty());
    /// ```
    pub fn new() -> JoinSet<T> {
        JoinSet {
            slots: Vec::new(),
            free: Vec::new(),
            early: VecDeque::new(),
            len: 0,
            ready: Arc::default(),
        }
    }

    /// How many tasks are in the set: spawned and not yet joined (a finished
    /// or aborted task counts until `join_next` hands out its result).
    ///
    /// ```
    /// evloop::run(async {
    ///     let mut set = evloop::task::JoinSet::new();
    ///     set.spawn(async {});
    ///     assert_eq!(set.len(), 1);
    ///     set.join_next().await;
    ///     assert_eq!(set.len(), 0);
    /// });
    /// ```
    pub fn len(&self) -> usize {
        self.len
    }

    /// Is the set empty (so `join_next` would return `None` at once)?
    ///
    /// ```
    /// let set = evloop::task::JoinSet::<u8>::new();
    /// assert!(set.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Spawn `future` as a task on the current runtime and add it to the set
    /// (asyncio's `group.create_task(coro)`). Like [`spawn`](crate::spawn),
    /// it starts on the loop's next turn.
    ///
    /// ```
    /// evloop::run(async {
    ///     let mut set = evloop::task::JoinSet::new();
    ///     set.spawn(async { 7 });
    ///     assert_eq!(set.join_next().await.unwrap().unwrap(), 7);
    /// });
    /// ```
    ///
    /// # Panics
    /// Outside a runtime, as `evloop::spawn` does.
    #[track_caller]
    pub fn spawn<F>(&mut self, future: F)
    where
        F: Future<Output = T> + Send + 'static,
        T: Send + 'static,
    {
        let handle = crate::spawn(future);
        let index = self.free.pop().unwrap_or(self.slots.len());
        if index == self.slots.len() {
            self.slots.push(None);
        }
        let ready = self.ready.clone();
        let waker = Waker::from(Arc::new(SlotWaker { index, ready }));
        let mut child = Child { handle, waker };
        self.len += 1;
        // Poll the handle once now, to leave the slot's waker with the task
        // before it can run: then even tasks that finish while nobody awaits
        // `join_next` queue up in the order they finished. (A task spawned
        // on this thread runs on the next turn at the earliest, so this is
        // `Pending`; a result is kept all the same, never lost.)
        let mut cx = Context::from_waker(&child.waker);
        match Pin::new(&mut child.handle).poll(&mut cx) {
            Poll::Pending => self.slots[index] = Some(child),
            Poll::Ready(result) => {
                self.free.push(index);
                self.early.push_back(result);
            }
        }
    }

    /// Wait for the next task to finish and give its result: `Ok(output)`,
    /// or a `JoinError` if it panicked or was aborted. `None` when the set
    /// is empty. Results come in the order the tasks finished.
    ///
    /// Cancel-safe: if this future is dropped before it is ready (say, in a
    /// `select`), no result is lost; the task stays in the set.
    ///
    /// ```
    /// use std::time::Duration;
    /// let rt = evloop::Runtime::builder().start_paused(true).build().unwrap();
    /// let order = rt.block_on(async {
    ///     let mut set = evloop::task::JoinSet::new();
    ///     for secs in [2u64, 1] {
    ///         set.spawn(async move {
    ///             evloop::time::sleep(Duration::from_secs(secs)).await;
    ///             secs
    ///         });
    ///     }
    ///     let mut order = Vec::new();
    ///     while let Some(r) = set.join_next().await {
    ///         order.push(r.unwrap());
    ///     }
    ///     order
    /// });
    /// assert_eq!(order, vec![1, 2]);
    /// ```
    pub async fn join_next(&mut self) -> Option<Result<T, JoinError>> {
        std::future::poll_fn(|cx| self.poll_join_next(cx)).await
    }

    fn poll_join_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<T, JoinError>>> {
        if self.len == 0 {
            return Poll::Ready(None);
        }
        if let Some(result) = self.early.pop_front() {
            self.len -= 1;
            return Poll::Ready(Some(result));
        }
        // Leave our waker first, so a child finishing while we look below
        // still wakes us.
        let old = replace_waker(&mut lock(&self.ready.parent), cx.waker());
        drop(old);
        loop {
            // Each child poll may spend budget; once it is spent, a child
            // would only answer `Pending` (and wake its slot again, looping
            // here forever), so yield to the loop instead.
            if coop::exhausted() {
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            let Some(index) = lock(&self.ready.slots).pop_front() else {
                return Poll::Pending;
            };
            // A stale entry (the slot was joined already) is skipped.
            let Some(child) = self.slots.get_mut(index).and_then(Option::as_mut) else {
                continue;
            };
            let mut child_cx = Context::from_waker(&child.waker);
            if let Poll::Ready(result) = Pin::new(&mut child.handle).poll(&mut child_cx) {
                self.slots[index] = None;
                self.free.push(index);
                self.len -= 1;
                return Poll::Ready(Some(result));
            }
        }
    }

    /// Cancel every task in the set (asyncio: what a `TaskGroup` does to the
    /// others when one fails). The tasks stay in the set: `join_next` still
    /// returns each one, as a cancelled `JoinError` — or as `Ok` if it had
    /// finished already.
    ///
    /// ```
    /// evloop::run(async {
    ///     let mut set = evloop::task::JoinSet::new();
    ///     set.spawn(std::future::pending::<()>());
    ///     set.abort_all();
    ///     assert!(set.join_next().await.unwrap().unwrap_err().is_cancelled());
    /// });
    /// ```
    pub fn abort_all(&mut self) {
        for child in self.slots.iter().flatten() {
            child.handle.abort();
        }
    }
}

impl<T> Default for JoinSet<T> {
    fn default() -> Self {
        JoinSet::new()
    }
}

impl<T> Drop for JoinSet<T> {
    /// Abort every task still in the set: leaving the scope ends the group.
    fn drop(&mut self) {
        self.abort_all();
    }
}

impl<T> fmt::Debug for JoinSet<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinSet").field("len", &self.len).finish()
    }
}
