//! `Notify`: wake one waiting task, or all of them, with no value attached.
//!
//! The smallest primitive in `sync`: a queue of parked wakers and one stored
//! permit. `notified().await` parks the task's waker (and returns `Pending`);
//! `notify_one` takes the oldest waker and wakes it, so the loop polls that
//! task on its next turn. Like the channels' senders, the waiters sit in a
//! FIFO under one `Mutex`, identified by ticket (`sync/waiters.rs`), and every
//! waker is woken or dropped only after the lock is released.

use std::collections::HashSet;
use std::fmt;
use std::future::Future;
use std::mem;
use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context, Poll, Waker};

use crate::sync::waiters::Waiters;
use crate::sync::{lock, update_waker};
use crate::task::coop;

/// Wake tasks without sending them anything: a signal.
///
/// - [`notify_one`](Notify::notify_one) wakes the task that has waited
///   longest. If nobody waits, it stores **one** permit, and the next
///   `notified().await` returns at once — so a signal sent just before the
///   other task starts waiting is not lost.
/// - [`notify_waiters`](Notify::notify_waiters) wakes every task waiting
///   *now* and stores nothing (asyncio's `Condition.notify_all()`).
///
/// asyncio's nearest relatives: `asyncio.Event` (but an `Event` stays set;
/// a `Notify` permit is used up by the one waiter it wakes) and
/// `asyncio.Condition` (`notify(1)` / `notify_all()`, but without the lock).
///
/// ```
/// use std::sync::Arc;
/// use evloop::sync::Notify;
///
/// evloop::run(async {
///     let ready = Arc::new(Notify::new());
///     let waiter = evloop::spawn({
///         let ready = ready.clone();
///         async move {
///             ready.notified().await;
///             "woken"
///         }
///     });
///     ready.notify_one(); // stored if the waiter has not started yet
///     assert_eq!(waiter.await.unwrap(), "woken");
/// });
/// ```
pub struct Notify {
    state: Mutex<State>,
}

struct State {
    /// One stored `notify_one`, for the next waiter.
    permit: bool,
    /// Parked waiters, oldest first (`sync/waiters.rs`).
    waiters: Waiters,
    /// Tickets `notify_one` chose, whose futures have not yet seen it. If
    /// one is dropped first, its notification passes to the next waiter.
    chosen: HashSet<u64>,
    /// Counts `notify_waiters` calls: a `Notified` created before one is
    /// woken by it, even if it was not polled yet.
    generation: u64,
}

impl Notify {
    /// A `Notify` with no waiters and no stored permit.
    ///
    /// ```
    /// let notify = evloop::sync::Notify::new();
    /// # drop(notify);
    /// ```
    pub fn new() -> Notify {
        Notify {
            state: Mutex::new(State {
                permit: false,
                waiters: Waiters::new(),
                chosen: HashSet::new(),
                generation: 0,
            }),
        }
    }

    /// Wait for a notification (asyncio: `await event.wait()`).
    ///
    /// The future counts as waiting, for `notify_waiters`, from the moment
    /// it is created. Cancel-safe: dropping it before it completes gives a
    /// `notify_one` meant for it to the next waiter (or stores it again).
    ///
    /// ```
    /// evloop::run(async {
    ///     let notify = evloop::sync::Notify::new();
    ///     notify.notify_one();
    ///     notify.notified().await; // the stored permit: returns at once
    /// });
    /// ```
    pub fn notified(&self) -> Notified<'_> {
        Notified {
            notify: self,
            generation: lock(&self.state).generation,
            ticket: None,
            done: false,
        }
    }

    /// Wake the oldest waiter; if there is none, store one permit for the
    /// next `notified()` (a second call while one is stored adds nothing).
    ///
    /// ```
    /// let notify = evloop::sync::Notify::new();
    /// notify.notify_one();
    /// notify.notify_one(); // still one permit, not two
    /// ```
    pub fn notify_one(&self) {
        let mut state = lock(&self.state);
        let woken = state.notify_one();
        drop(state);
        if let Some(waker) = woken {
            waker.wake();
        }
    }

    /// Wake every task waiting now (asyncio's `Condition.notify_all()`).
    /// Stores no permit: a task that starts waiting afterwards waits for
    /// the next notification.
    ///
    /// ```
    /// evloop::run(async {
    ///     let notify = evloop::sync::Notify::new();
    ///     let a = notify.notified();
    ///     let b = notify.notified();
    ///     notify.notify_waiters();
    ///     a.await; // both were waiting (created) before the call
    ///     b.await;
    /// });
    /// ```
    pub fn notify_waiters(&self) {
        let mut state = lock(&self.state);
        state.generation += 1;
        let waiters = state.waiters.take_all();
        drop(state);
        for waiter in waiters {
            waiter.waker.wake();
        }
    }
}

impl State {
    /// Choose the oldest waiter and hand back its waker, or store the permit.
    fn notify_one(&mut self) -> Option<Waker> {
        match self.waiters.pop_front() {
            Some(waiter) => {
                self.chosen.insert(waiter.ticket);
                Some(waiter.waker)
            }
            None => {
                self.permit = true;
                None
            }
        }
    }
}

impl Default for Notify {
    fn default() -> Self {
        Notify::new()
    }
}

/// The future returned by [`Notify::notified`].
#[must_use = "futures do nothing unless you `.await` them"]
pub struct Notified<'a> {
    notify: &'a Notify,
    /// `Notify::generation` when this was created.
    generation: u64,
    /// `None` until it has to wait; then its place in the queue.
    ticket: Option<u64>,
    done: bool,
}

impl Future for Notified<'_> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.done {
            return Poll::Ready(());
        }
        std::task::ready!(coop::poll_proceed(cx));
        let this = &mut *self;
        let mut state = lock(&this.notify.state);
        let notified = match this.ticket {
            // A `notify_waiters` since we were created, or a stored permit.
            None if state.generation != this.generation => true,
            None if mem::take(&mut state.permit) => true,
            None => {
                this.ticket = Some(state.waiters.push(cx.waker().clone(), ()));
                false
            }
            Some(ticket) => match state.waiters.find(ticket) {
                Some(i) => {
                    let old = update_waker(&mut state.waiters[i].waker, cx.waker());
                    crate::task::wait::record(crate::task::WaitReason::Notify);
                    drop(state);
                    drop(old);
                    return Poll::Pending;
                }
                // Out of the queue: chosen by `notify_one`, or taken by
                // `notify_waiters`. Either way, notified.
                None => {
                    state.chosen.remove(&ticket);
                    true
                }
            },
        };
        drop(state);
        if notified {
            this.done = true;
            this.ticket = None;
            coop::spend();
            Poll::Ready(())
        } else {
            crate::task::wait::record(crate::task::WaitReason::Notify);
            Poll::Pending
        }
    }
}

impl Drop for Notified<'_> {
    /// Leave the queue; and if `notify_one` had chosen us, pass it on, so a
    /// cancelled waiter never swallows a notification.
    fn drop(&mut self) {
        let Some(ticket) = self.ticket else { return };
        let mut state = lock(&self.notify.state);
        let (ours, passed_on) = match state.waiters.find(ticket) {
            Some(i) => (Some(state.waiters.remove(i)), None),
            None if state.chosen.remove(&ticket) => (None, state.notify_one()),
            None => (None, None),
        };
        drop(state);
        drop(ours);
        if let Some(waker) = passed_on {
            waker.wake();
        }
    }
}

impl fmt::Debug for Notify {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = lock(&self.state);
        f.debug_struct("Notify")
            .field("permit", &state.permit)
            .field("waiters", &state.waiters.len())
            .finish()
    }
}

impl fmt::Debug for Notified<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Notified")
            .field("ticket", &self.ticket)
            .field("done", &self.done)
            .finish()
    }
}
