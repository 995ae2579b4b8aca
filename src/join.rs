//! Waiting on several futures: `join_all` (asyncio's `gather`), `join!`, `select`.
//!
//! These combine futures *inside one task*: nothing is spawned. They differ
//! in when they finish — all done (`join_all`, `join!`) or first done (`select`).
//!
//! `join_all` of `JoinHandle`s is the faithful `asyncio.gather`: every task
//! runs to its end and you get every `Result`, in input order — like
//! `gather(..., return_exceptions=True)`. Nothing is cancelled behind your back
//! when one fails; abort the others yourself if that is what you want.
//!
//! A combinator is polled *as part of its task*, in step 1 (or step 2, inside
//! `block_on`) of a turn, so it must behave like one well-mannered task: do a
//! bounded amount of work per poll and hand the thread back. `join_all` polls
//! each child at most once per poll for that reason.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use futures_task::{waker_ref, ArcWake};

use crate::sync::{lock, replace_waker};
use crate::task::coop;

/// Wait for every future; outputs in input order (asyncio's `gather`).
///
/// Each child gets its own waker, which records "child *i* is ready" before
/// waking this task; a poll of `JoinAll` then polls only the children that
/// were woken. Gathering 100,000 futures stays linear: each wake costs one
/// child poll, not a scan of all 100,000.
///
/// A child is polled at most once per poll of `JoinAll`. One that wakes
/// itself meanwhile (`yield_now`, or a busy loop that yields) is polled again
/// on the next poll, after the event loop has run everything else that was
/// ready: a `yield_now` inside `join_all` yields to the whole loop, as
/// `await asyncio.sleep(0)` does inside `gather`.
///
/// ```
/// use std::time::Duration;
/// let rt = evloop::Runtime::builder().start_paused(true).build().unwrap();
/// let out = rt.block_on(evloop::join_all((1..=3u64).map(|i| async move {
///     evloop::time::sleep(Duration::from_secs(i)).await;
///     i * 10
/// })));
/// assert_eq!(out, vec![10, 20, 30]);
/// ```
pub fn join_all<I>(futures: I) -> JoinAll<I::Item>
where
    I: IntoIterator,
    I::Item: Future,
{
    let children: Box<[Child<I::Item>]> = futures.into_iter().map(Child::Pending).collect();
    let ready = Arc::new(ReadyList {
        woken: Mutex::new((0..children.len()).collect()),
        parent: Mutex::new(None),
    });
    let wakers = (0..children.len())
        .map(|index| {
            // Every child starts "woken": it must be polled once to start.
            Arc::new(ChildWaker {
                index,
                queued: AtomicBool::new(true),
                list: ready.clone(),
            })
        })
        .collect();
    let remaining = children.len();
    JoinAll {
        children,
        wakers,
        ready,
        polling: Vec::new(),
        cursor: 0,
        remaining,
    }
}

enum Child<F: Future> {
    Pending(F),
    Done(F::Output),
    Taken,
}

/// The indices of children woken since the last poll, and the parent's waker.
struct ReadyList {
    woken: Mutex<Vec<usize>>,
    parent: Mutex<Option<Waker>>,
}

/// Child `index`'s waker: note the index, then wake the parent task.
struct ChildWaker {
    index: usize,
    /// Already in `woken`: a second wake before the next poll adds nothing.
    queued: AtomicBool,
    list: Arc<ReadyList>,
}

impl ArcWake for ChildWaker {
    fn wake_by_ref(arc_self: &Arc<Self>) {
        if !arc_self.queued.swap(true, Ordering::AcqRel) {
            let mut woken = lock(&arc_self.list.woken);
            let first = woken.is_empty();
            woken.push(arc_self.index);
            drop(woken);
            // Only the first child woken since the parent last took the list
            // wakes the parent: the parent will find the others there too.
            // (10,000 timers firing together wake it once, not 10,000 times.)
            if !first {
                return;
            }
            // Clone the parent's waker out and wake it after unlocking: a
            // wake may run code (some executors poll right there) that polls
            // this join, which locks `parent` again.
            let parent = lock(&arc_self.list.parent).clone();
            if let Some(parent) = parent {
                parent.wake();
            }
        }
    }
}

/// The future returned by [`join_all`].
#[must_use = "futures do nothing unless you `.await` them"]
pub struct JoinAll<F: Future> {
    children: Box<[Child<F>]>,
    /// One waker per child. A `Waker` is made from it only for the length of
    /// a poll (`waker_ref`: no clone, no allocation); a child that keeps it
    /// clones it, as any future does.
    wakers: Vec<Arc<ChildWaker>>,
    ready: Arc<ReadyList>,
    /// The indices being polled now, swapped with `ready.woken` at the start
    /// of a poll: two buffers passed back and forth, so no poll allocates.
    polling: Vec<usize>,
    /// How far into `polling` we got: a poll that runs out of budget stops
    /// here, and the next one goes on from here before taking newer wakes.
    cursor: usize,
    remaining: usize,
}

impl<F: Future> Future for JoinAll<F> {
    type Output = Vec<F::Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Vec<F::Output>> {
        // ANCHOR: join_all_pin
        // SAFETY: the children live in a boxed slice that is never resized or
        // moved out of; each child future stays at its address until it is
        // dropped in place (replaced by `Done`). That is structural pinning.
        let this = unsafe { self.get_unchecked_mut() };
        // ANCHOR_END: join_all_pin

        // Remember who to wake (before polling: a child may wake at once).
        // A replaced waker is dropped only after the lock is released: it
        // may be the last reference to a task whose destructor re-enters.
        let old = replace_waker(&mut lock(&this.ready.parent), cx.waker());
        drop(old);

        // Take the children woken so far, and poll each of them once. A child
        // woken again meanwhile (by itself or a sibling) goes back into
        // `woken` and its waker wakes this task, so it runs on our *next*
        // poll, after the loop has let every other ready task run. Looping
        // here until `woken` stayed empty would let one child that wakes
        // itself (`yield_now`) keep the whole thread forever.
        // (If the last poll ran out of budget, first finish what it took.)
        let resumed = this.cursor < this.polling.len();
        if !resumed {
            this.polling.clear();
            this.cursor = 0;
            std::mem::swap(&mut this.polling, &mut *lock(&this.ready.woken));
        }
        while this.cursor < this.polling.len() {
            // The task's cooperative budget is spent (`task/coop.rs`): every
            // child polled now would only say `Pending` and wake itself.
            // Keep the rest, still queued, ahead of any woken since, wake
            // ourselves and let the loop run others first. (Without this,
            // gathering 10,000 timers that fire together polled ~78 × 10,000
            // children.)
            if coop::exhausted() {
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            let index = this.polling[this.cursor];
            this.cursor += 1;
            let child_waker = &this.wakers[index];
            child_waker.queued.store(false, Ordering::Release);
            let waker = waker_ref(child_waker);
            // ANCHOR: join_all_child
            if let Child::Pending(future) = &mut this.children[index] {
                // SAFETY: see above; the future is not moved.
                let future = unsafe { Pin::new_unchecked(future) };
                // ANCHOR_END: join_all_child
                if let Poll::Ready(out) = future.poll(&mut Context::from_waker(&waker)) {
                    this.children[index] = Child::Done(out);
                    this.remaining -= 1;
                }
            }
        }
        if this.remaining > 0 {
            // Finished an old list: children woken meanwhile are still in
            // `woken`, and the one wake they sent (see `ChildWaker`) was spent
            // on this poll. Ask for another, or they would wait forever.
            if resumed && !lock(&this.ready.woken).is_empty() {
                cx.waker().wake_by_ref();
            }
            return Poll::Pending;
        }
        let outputs = this
            .children
            .iter_mut()
            .map(|c| match std::mem::replace(c, Child::Taken) {
                Child::Done(out) => out,
                _ => panic!("JoinAll polled after it completed"),
            })
            .collect();
        Poll::Ready(outputs)
    }
}

impl<F: Future> Drop for JoinAll<F> {
    fn drop(&mut self) {
        // A child's waker can outlive the join (a channel or a timer still
        // holds it), and through the shared list it reaches the parent's
        // waker. Let go of that now, so a finished join does not keep its
        // task alive. Taken under the lock, dropped after it.
        let parent = lock(&self.ready.parent).take();
        drop(parent);
    }
}

impl<F: Future> fmt::Debug for JoinAll<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinAll")
            .field("len", &self.children.len())
            .field("remaining", &self.remaining)
            .finish_non_exhaustive()
    }
}

/// The result of [`select`]: which future finished first, and its output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Either<L, R> {
    /// The first (left) future won.
    Left(L),
    /// The second (right) future won.
    Right(R),
}

/// Wait for whichever of `a` and `b` finishes first; drop the other
/// (asyncio's `wait(..., return_when=FIRST_COMPLETED)`, then cancelling the rest).
///
/// Both must be `Unpin`: `Box::pin` them, or `std::pin::pin!` them and pass
/// `&mut`. If both are ready at the same poll, `a` wins.
///
/// ```
/// use std::time::Duration;
/// use evloop::{select, Either, time::sleep};
/// let rt = evloop::Runtime::builder().start_paused(true).build().unwrap();
/// rt.block_on(async {
///     let fast = Box::pin(async { sleep(Duration::from_secs(1)).await; "fast" });
///     let slow = Box::pin(async { sleep(Duration::from_secs(9)).await; "slow" });
///     assert_eq!(select(fast, slow).await, Either::Left("fast"));
/// });
/// ```
///
/// An `async` block is not `Unpin` (it may point into itself once polled:
/// see the book's "Why Pin"), so passing one straight in does not compile —
/// "cannot be unpinned", with a note to use the `pin!` macro:
///
/// ```compile_fail,E0277
/// # use std::time::Duration;
/// # use evloop::{select, time::sleep};
/// evloop::run(async {
///     let fast = async { sleep(Duration::from_secs(1)).await };
///     let slow = async { sleep(Duration::from_secs(9)).await };
///     select(fast, slow).await; // error[E0277]: `{async block}` cannot be unpinned
/// });
/// ```
///
/// Pinning them on the stack with `pin!` fixes it without a heap allocation
/// (`Pin<&mut F>` is `Unpin`: it is a pointer, and moving a pointer does not
/// move what it points at):
///
/// ```
/// # use std::pin::pin;
/// # use std::time::Duration;
/// # use evloop::{select, Either, time::sleep};
/// # let rt = evloop::Runtime::builder().start_paused(true).build().unwrap();
/// rt.block_on(async {
///     let fast = pin!(async { sleep(Duration::from_secs(1)).await; "fast" });
///     let slow = pin!(async { sleep(Duration::from_secs(9)).await; "slow" });
///     assert_eq!(select(fast, slow).await, Either::Left("fast"));
/// });
/// ```
pub fn select<A, B>(a: A, b: B) -> Select<A, B>
where
    A: Future + Unpin,
    B: Future + Unpin,
{
    Select {
        a: Some(a),
        b: Some(b),
    }
}

/// The future returned by [`select`].
#[must_use = "futures do nothing unless you `.await` them"]
#[derive(Debug)]
pub struct Select<A, B> {
    a: Option<A>,
    b: Option<B>,
}

impl<A: Future + Unpin, B: Future + Unpin> Future for Select<A, B> {
    type Output = Either<A::Output, B::Output>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let (a, b) = match (this.a.as_mut(), this.b.as_mut()) {
            (Some(a), Some(b)) => (a, b),
            _ => panic!("Select polled after it completed"),
        };
        let winner = if let Poll::Ready(v) = Pin::new(a).poll(cx) {
            Either::Left(v)
        } else if let Poll::Ready(v) = Pin::new(b).poll(cx) {
            Either::Right(v)
        } else {
            return Poll::Pending;
        };
        // Drop the loser now, not whenever the `Select` goes: its timers and
        // sockets are released the moment the race is decided.
        this.a = None;
        this.b = None;
        Poll::Ready(winner)
    }
}

/// Wait for several futures at once, in one task; gives a tuple of outputs.
///
/// `join!(a, b, c)` must be used inside `async` code (it awaits). Unlike
/// [`join_all`], the futures may have different types.
///
/// ```
/// let rt = evloop::Runtime::new().unwrap();
/// let (a, b) = rt.block_on(async { evloop::join!(async { 1 }, async { "two" }) });
/// assert_eq!((a, b), (1, "two"));
/// ```
#[macro_export]
macro_rules! join {
    ($($future:expr),+ $(,)?) => {
        $crate::join::Join::new(($($crate::join::MaybeDone::Pending($future),)+)).await
    };
}

/// A future inside [`join!`]: still running, or finished with its output.
#[doc(hidden)]
pub enum MaybeDone<F: Future> {
    Pending(F),
    Done(F::Output),
    Taken,
}

impl<F: Future> MaybeDone<F> {
    /// Poll if still pending; true once done.
    // ANCHOR: maybe_done
    fn poll_done(self: Pin<&mut Self>, cx: &mut Context<'_>) -> bool {
        // SAFETY: structural pinning, as in `JoinAll`: the future is only
        // dropped in place, never moved.
        let this = unsafe { self.get_unchecked_mut() };
        if let MaybeDone::Pending(f) = this {
            // SAFETY: `f` lives inside the pinned `MaybeDone` and is only ever
            // dropped in place (overwritten by `Done` below), never moved.
            match unsafe { Pin::new_unchecked(f) }.poll(cx) {
                Poll::Ready(out) => *this = MaybeDone::Done(out),
                Poll::Pending => return false,
            }
        }
        true
    }
    // ANCHOR_END: maybe_done

    fn take(&mut self) -> F::Output {
        match std::mem::replace(self, MaybeDone::Taken) {
            MaybeDone::Done(out) => out,
            _ => panic!("join! output taken twice"),
        }
    }
}

/// The future behind [`join!`]: a tuple of `MaybeDone`s, polled in order.
#[doc(hidden)]
pub struct Join<T>(T);

impl<T> Join<T> {
    #[doc(hidden)]
    pub fn new(futures: T) -> Join<T> {
        Join(futures)
    }
}

macro_rules! impl_join_tuple {
    ($($F:ident $i:tt),+) => {
        impl<$($F: Future),+> Future for Join<($(MaybeDone<$F>,)+)> {
            type Output = ($($F::Output,)+);

            fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
                // SAFETY: structural pinning of each tuple field; none is moved.
                let this = unsafe { self.get_unchecked_mut() };
                let mut all_done = true;
                $( all_done &= unsafe { Pin::new_unchecked(&mut (this.0).$i) }.poll_done(cx); )+
                if !all_done {
                    return Poll::Pending;
                }
                Poll::Ready(($((this.0).$i.take(),)+))
            }
        }
    };
}

impl_join_tuple!(A 0);
impl_join_tuple!(A 0, B 1);
impl_join_tuple!(A 0, B 1, C 2);
impl_join_tuple!(A 0, B 1, C 2, D 3);
impl_join_tuple!(A 0, B 1, C 2, D 3, E 4);
impl_join_tuple!(A 0, B 1, C 2, D 3, E 4, F 5);
impl_join_tuple!(A 0, B 1, C 2, D 3, E 4, F 5, G 6);
impl_join_tuple!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7);
