//! `Semaphore`: at most N at once, built on wakers like the channels.
//!
//! A semaphore holds a count of *permits*. `acquire` takes one, or waits —
//! by leaving its waker in a queue and returning `Pending` — until a permit
//! is released. Releasing (dropping a [`SemaphorePermit`]) hands the permit
//! straight to the oldest waiter and wakes it; the loop polls that task on
//! its next turn, in step 1, and its `acquire` completes.
//!
//! The queue is the one of the bounded channel (`sync/waiters.rs`): one
//! `Mutex`, a FIFO of waiters identified by *ticket*, and permits *assigned*
//! to a waiter before it is woken. Assigning (not just waking) is what makes
//! it fair: a newcomer cannot take a permit meant for a waiter, and a request
//! for many permits at the head is not overtaken by small ones behind it.

use std::error::Error;
use std::fmt;
use std::future::Future;
use std::mem;
use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context, Poll, Waker};

use crate::sync::waiters::Waiters;
use crate::sync::{lock, update_waker};
use crate::task::coop;

/// A count of permits that tasks acquire and release (asyncio's
/// `asyncio.Semaphore`): the usual way to say "at most N of these at once" —
/// N open connections, N downloads, N jobs in flight.
///
/// | asyncio | evloop |
/// |---|---|
/// | `sem = asyncio.Semaphore(3)` | `let sem = Semaphore::new(3);` |
/// | `async with sem: ...` | `let _permit = sem.acquire().await?; ...` (released on drop) |
/// | `sem.locked()` | `sem.available_permits() == 0` |
/// | `sem.release()` | drop the permit, or `sem.add_permits(1)` |
///
/// Waiters are served first come, first served; `acquire` fails only once
/// the semaphore is [closed](Semaphore::close). To share one between tasks,
/// put it in an `Arc`.
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use evloop::sync::Semaphore;
///
/// let rt = evloop::Runtime::builder().start_paused(true).build().unwrap();
/// rt.block_on(async {
///     let sem = Arc::new(Semaphore::new(2)); // at most two downloads at once
///     let mut set = evloop::task::JoinSet::new();
///     for _ in 0..6 {
///         let sem = sem.clone();
///         set.spawn(async move {
///             let _permit = sem.acquire().await.unwrap();
///             evloop::time::sleep(Duration::from_secs(1)).await; // "download"
///         });
///     }
///     let start = evloop::time::Instant::now();
///     while set.join_next().await.is_some() {}
///     assert_eq!(start.elapsed(), Duration::from_secs(3)); // 6 jobs, 2 at a time
/// });
/// ```
#[derive(Debug)]
pub struct Semaphore {
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    /// Permits free right now. Invariant: if `waiters` is not empty, the
    /// head needs more than this (else it would have been served).
    permits: usize,
    /// Acquirers waiting, oldest first, each with the permits it needs
    /// (`sync/waiters.rs`).
    waiters: Waiters<usize>,
    /// Set by `close`: the ticket of the first waiter refused. Waiters are
    /// served from the front, so every ticket below it left the queue with
    /// its permits and every ticket from it on left with an error.
    closed_at: Option<u64>,
}

/// Permits held by a task; dropping it gives them back to the semaphore
/// (the end of asyncio's `async with sem:` block).
///
/// ```
/// let sem = evloop::sync::Semaphore::new(1);
/// let permit = sem.try_acquire().unwrap();
/// assert_eq!(sem.available_permits(), 0);
/// drop(permit);
/// assert_eq!(sem.available_permits(), 1);
/// ```
#[derive(Debug)]
#[must_use = "the permit is released as soon as it is dropped"]
pub struct SemaphorePermit<'a> {
    sem: &'a Semaphore,
    permits: usize,
}

/// `acquire` failed: the semaphore was closed.
///
/// ```
/// let sem = evloop::sync::Semaphore::new(0);
/// sem.close();
/// evloop::run(async {
///     assert_eq!(sem.acquire().await.unwrap_err(), evloop::sync::AcquireError);
/// });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AcquireError;

/// Why `try_acquire` gave no permit.
///
/// ```
/// use evloop::sync::{Semaphore, TryAcquireError};
/// let sem = Semaphore::new(0);
/// assert_eq!(sem.try_acquire().unwrap_err(), TryAcquireError::NoPermits);
/// sem.close();
/// assert_eq!(sem.try_acquire().unwrap_err(), TryAcquireError::Closed);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TryAcquireError {
    /// The semaphore was closed.
    Closed,
    /// Not enough permits free now, or other tasks are queued first.
    NoPermits,
}

impl Semaphore {
    /// The most permits a semaphore may hold; `add_permits` past it panics.
    pub const MAX_PERMITS: usize = usize::MAX >> 3;

    /// A semaphore with `permits` free permits.
    ///
    /// ```
    /// let sem = evloop::sync::Semaphore::new(3);
    /// assert_eq!(sem.available_permits(), 3);
    /// ```
    pub fn new(permits: usize) -> Semaphore {
        assert!(permits <= Self::MAX_PERMITS, "too many permits");
        Semaphore {
            state: Mutex::new(State {
                permits,
                waiters: Waiters::new(),
                closed_at: None,
            }),
        }
    }

    /// Permits free right now (not counting ones assigned to woken waiters).
    ///
    /// ```
    /// let sem = evloop::sync::Semaphore::new(2);
    /// let _p = sem.try_acquire().unwrap();
    /// assert_eq!(sem.available_permits(), 1);
    /// ```
    pub fn available_permits(&self) -> usize {
        lock(&self.state).permits
    }

    /// Wait for one permit (asyncio's `await sem.acquire()`). Waiters are
    /// served in the order they started waiting.
    ///
    /// Cancel-safe: dropping the future leaves the queue, and gives back a
    /// permit that was assigned to it but not yet collected.
    ///
    /// ```
    /// evloop::run(async {
    ///     let sem = evloop::sync::Semaphore::new(1);
    ///     let permit = sem.acquire().await.unwrap();
    ///     assert_eq!(sem.available_permits(), 0);
    ///     drop(permit);
    /// });
    /// ```
    pub fn acquire(&self) -> Acquire<'_> {
        self.acquire_many(1)
    }

    /// Wait for `n` permits at once. A large request at the head of the
    /// queue is not overtaken by smaller ones behind it: they wait too.
    ///
    /// ```
    /// evloop::run(async {
    ///     let sem = evloop::sync::Semaphore::new(5);
    ///     let three = sem.acquire_many(3).await.unwrap();
    ///     assert_eq!(sem.available_permits(), 2);
    ///     drop(three);
    /// });
    /// ```
    ///
    /// # Panics
    /// If `n` is more than [`MAX_PERMITS`](Semaphore::MAX_PERMITS).
    pub fn acquire_many(&self, n: usize) -> Acquire<'_> {
        assert!(n <= Self::MAX_PERMITS, "too many permits");
        Acquire {
            sem: self,
            needed: n,
            ticket: None,
        }
    }

    /// Take one permit if one is free and nobody is queued ahead
    /// (asyncio has no direct equivalent; `if not sem.locked()` comes close).
    ///
    /// ```
    /// let sem = evloop::sync::Semaphore::new(1);
    /// let p = sem.try_acquire().unwrap();
    /// assert!(sem.try_acquire().is_err());
    /// drop(p);
    /// ```
    pub fn try_acquire(&self) -> Result<SemaphorePermit<'_>, TryAcquireError> {
        let mut state = lock(&self.state);
        if state.closed_at.is_some() {
            return Err(TryAcquireError::Closed);
        }
        // Waiters first: jumping the queue would break FIFO fairness.
        if !state.waiters.is_empty() || state.permits == 0 {
            return Err(TryAcquireError::NoPermits);
        }
        state.permits -= 1;
        Ok(SemaphorePermit {
            sem: self,
            permits: 1,
        })
    }

    /// Add `n` permits (asyncio's `sem.release()`, n times), waking the
    /// waiters they are enough for.
    ///
    /// ```
    /// let sem = evloop::sync::Semaphore::new(0);
    /// sem.add_permits(2);
    /// assert_eq!(sem.available_permits(), 2);
    /// ```
    ///
    /// # Panics
    /// If the total would pass [`MAX_PERMITS`](Semaphore::MAX_PERMITS).
    pub fn add_permits(&self, n: usize) {
        let mut state = lock(&self.state);
        assert!(
            n <= Self::MAX_PERMITS - state.permits,
            "too many permits added to a Semaphore"
        );
        state.permits += n;
        let woken = state.serve();
        drop(state);
        woken.into_iter().for_each(Waker::wake);
    }

    /// Close the semaphore: every waiting `acquire`, and every later one,
    /// fails with [`AcquireError`]. Permits already held stay valid. Use it to
    /// tell waiters "shutting down" instead of letting them wait forever.
    ///
    /// ```
    /// let sem = evloop::sync::Semaphore::new(0);
    /// sem.close();
    /// assert!(sem.is_closed());
    /// ```
    pub fn close(&self) {
        let mut state = lock(&self.state);
        if state.closed_at.is_some() {
            return;
        }
        let next = state.waiters.next_ticket();
        state.closed_at = Some(state.waiters.front().map_or(next, |w| w.ticket));
        let refused = state.waiters.take_all();
        drop(state);
        // Woken after the unlock; each sees `closed_at` and gives up.
        for waiter in refused {
            waiter.waker.wake();
        }
    }

    /// Has [`close`](Semaphore::close) been called?
    ///
    /// ```
    /// assert!(!evloop::sync::Semaphore::new(1).is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        lock(&self.state).closed_at.is_some()
    }
}

impl State {
    /// Assign free permits to waiters from the front, as far as they go, and
    /// return their wakers (to wake after the unlock). Stops at the first
    /// waiter that needs more than is free: nobody behind it may pass.
    fn serve(&mut self) -> Vec<Waker> {
        let mut woken = Vec::new();
        while let Some(head) = self.waiters.front() {
            if head.wants > self.permits {
                break;
            }
            self.permits -= head.wants;
            woken.extend(self.waiters.pop_front().map(|w| w.waker));
        }
        woken
    }

    /// A ticket that left the queue: did it leave with its permits?
    fn was_served(&self, ticket: u64) -> bool {
        match self.closed_at {
            None => true,
            Some(refused) => ticket < refused,
        }
    }
}

/// The future returned by [`Semaphore::acquire`] and
/// [`Semaphore::acquire_many`]: a permit, or [`AcquireError`] if closed.
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` them"]
pub struct Acquire<'a> {
    sem: &'a Semaphore,
    needed: usize,
    /// `None` until it has to wait; then its place in the queue.
    ticket: Option<u64>,
}

impl<'a> Future for Acquire<'a> {
    type Output = Result<SemaphorePermit<'a>, AcquireError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        std::task::ready!(coop::poll_proceed(cx));
        let this = &mut *self;
        let mut state = lock(&this.sem.state);
        match this.ticket {
            None if state.closed_at.is_some() => return Poll::Ready(Err(AcquireError)),
            // Nobody queued and enough free: take them now.
            None if state.waiters.is_empty() && state.permits >= this.needed => {
                state.permits -= this.needed;
            }
            None => {
                this.ticket = Some(state.waiters.push(cx.waker().clone(), this.needed));
                crate::task::wait::record(crate::task::WaitReason::Semaphore);
                return Poll::Pending;
            }
            Some(ticket) => match state.waiters.find(ticket) {
                Some(i) => {
                    let old = update_waker(&mut state.waiters[i].waker, cx.waker());
                    crate::task::wait::record(crate::task::WaitReason::Semaphore);
                    drop(state);
                    drop(old);
                    return Poll::Pending;
                }
                // Left the queue: with its permits (served), or refused.
                None => {
                    this.ticket = None;
                    if !state.was_served(ticket) {
                        return Poll::Ready(Err(AcquireError));
                    }
                }
            },
        }
        drop(state);
        coop::spend();
        Poll::Ready(Ok(SemaphorePermit {
            sem: this.sem,
            permits: mem::take(&mut this.needed),
        }))
    }
}

impl Drop for Acquire<'_> {
    /// Cancelled while queued: leave the queue (which may let the waiters
    /// behind through), or give back permits assigned but not collected.
    fn drop(&mut self) {
        let Some(ticket) = self.ticket else { return };
        let mut state = lock(&self.sem.state);
        match state.waiters.find(ticket) {
            Some(i) => {
                let ours = state.waiters.remove(i);
                // We may have been the large request at the head that held
                // the others back.
                let woken = state.serve();
                drop(state);
                drop(ours);
                woken.into_iter().for_each(Waker::wake);
            }
            None if state.was_served(ticket) => {
                drop(state);
                self.sem.add_permits(self.needed);
            }
            None => {}
        }
    }
}

impl SemaphorePermit<'_> {
    /// How many permits this holds.
    ///
    /// ```
    /// let sem = evloop::sync::Semaphore::new(4);
    /// assert_eq!(sem.try_acquire().unwrap().num_permits(), 1);
    /// ```
    pub fn num_permits(&self) -> usize {
        self.permits
    }
}

impl Drop for SemaphorePermit<'_> {
    fn drop(&mut self) {
        self.sem.add_permits(self.permits);
    }
}

impl fmt::Display for AcquireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("semaphore closed")
    }
}

impl Error for AcquireError {}

impl fmt::Display for TryAcquireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryAcquireError::Closed => f.write_str("semaphore closed"),
            TryAcquireError::NoPermits => f.write_str("no permits available"),
        }
    }
}

impl Error for TryAcquireError {}
