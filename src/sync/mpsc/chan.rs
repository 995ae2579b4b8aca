//! The shared state behind both ends of an `mpsc` channel, and every rule for
//! changing it. `bounded.rs` and `unbounded.rs` only put public names on top.
//!
//! One `Mutex` guards one [`State`]. Every operation locks, looks, changes a
//! little, picks out *at most* the wakers that must fire, unlocks, and only
//! then wakes them — so a woken task on another thread never finds the lock
//! still held by the one that woke it. A waker that is replaced or let go
//! of is moved out the same way and dropped after the unlock: it may be the
//! last reference to a task whose destructor uses this channel (see
//! `replace_waker` in `sync/mod.rs`).
//!
//! An unbounded channel is this same channel with a capacity of `usize::MAX`:
//! its buffer never fills, so its senders never wait.

use std::collections::VecDeque;
use std::mem;
use std::sync::Mutex;
use std::task::{Context, Poll, Waker};

use super::error::{SendError, TryRecvError, TrySendError};
use crate::sync::waiters::{Waiter, Waiters};
use crate::sync::{lock, replace_waker, update_waker, waiting_on_channel};
use crate::task::coop;

/// The capacity that makes a channel unbounded.
pub(super) const UNBOUNDED: usize = usize::MAX;

pub(super) struct Chan<T> {
    state: Mutex<State<T>>,
    /// How many values may be in the buffer (or promised to waiting senders).
    capacity: usize,
}

struct State<T> {
    /// The queue itself. It grows to the capacity once and then reuses its
    /// allocation, so a message costs no allocation of its own.
    buffer: VecDeque<T>,
    /// Senders waiting for room, oldest first (`sync/waiters.rs`).
    waiters: Waiters,
    /// Slots the receiver freed and handed to a woken sender, which has not
    /// come back to fill them yet. Counting them as taken is what makes the
    /// queue fair: a newcomer cannot slip into a slot promised to a waiter.
    ///
    /// Invariant: if `waiters` is not empty, `buffer.len() + reserved ==
    /// capacity` (every free slot is already promised to someone).
    reserved: usize,
    /// The receiver's waker, present only while it waits on an empty buffer.
    /// Sending *takes* it: nobody waits → nobody is woken.
    recv_waker: Option<Waker>,
    /// Live `Sender`s. When it reaches zero the receiver can never get
    /// another value, so it drains the buffer and then sees `None`.
    senders: usize,
    /// The receiver was dropped or called `close()`: sends fail from now on.
    closed: bool,
}

impl<T> Chan<T> {
    pub(super) fn new(capacity: usize) -> Self {
        Chan {
            state: Mutex::new(State {
                buffer: VecDeque::new(),
                waiters: Waiters::new(),
                reserved: 0,
                recv_waker: None,
                senders: 1,
                closed: false,
            }),
            capacity,
        }
    }

    pub(super) fn max_capacity(&self) -> usize {
        self.capacity
    }

    // ----- the sending side -------------------------------------------------

    /// Put `value` in the buffer if there is a free slot right now.
    pub(super) fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        let mut state = lock(&self.state);
        if state.closed {
            return Err(TrySendError::Closed(value));
        }
        // Slots promised to woken waiters count as taken (see `reserved`).
        if state.buffer.len() + state.reserved >= self.capacity {
            return Err(TrySendError::Full(value));
        }
        state.buffer.push_back(value);
        let receiver = state.recv_waker.take();
        drop(state);
        wake(receiver);
        Ok(())
    }

    /// One poll of `Sender::send`. `ticket` is the future's place in the
    /// queue of waiters: `None` until it first has to wait.
    ///
    /// The three states of a send future:
    /// - *new* (`ticket == None`): try to send; if full, join the queue.
    /// - *waiting* (its ticket is in `waiters`): still full; refresh the waker.
    /// - *granted* (it had a ticket, now gone from `waiters`): the receiver
    ///   freed a slot, reserved it for us and woke us; fill it.
    pub(super) fn poll_send(
        &self,
        ticket: &mut Option<u64>,
        value: &mut Option<T>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<(), SendError<T>>> {
        std::task::ready!(coop::poll_proceed(cx));
        let mut state = lock(&self.state);
        // Closing empties `waiters`, so check it first: a closed channel
        // answers every sender, waiting or granted, with its value back.
        if state.closed {
            *ticket = None;
            let value = value.take().expect("send future polled after completion");
            return Poll::Ready(Err(SendError(value)));
        }
        match *ticket {
            // A free slot that nobody was promised (so nobody is queued
            // ahead of us): go straight to the push below.
            None if state.buffer.len() + state.reserved < self.capacity => {}
            None => {
                // Full: take a ticket and wait at the back of the queue.
                debug_assert_eq!(state.buffer.len() + state.reserved, self.capacity);
                *ticket = Some(state.waiters.push(cx.waker().clone(), ()));
                waiting_on_channel();
                return Poll::Pending;
            }
            Some(t) => match state.waiters.find(t) {
                // Still waiting: we were polled for another reason (e.g. a
                // `select`), so just keep the waker up to date.
                Some(i) => {
                    let old = update_waker(&mut state.waiters[i].waker, cx.waker());
                    waiting_on_channel();
                    drop(state);
                    drop(old);
                    return Poll::Pending;
                }
                // Granted: the slot was reserved for us; turn the promise
                // into a value in the buffer.
                None => {
                    state.reserved -= 1;
                    *ticket = None;
                }
            },
        }
        let value = value.take().expect("send future polled after completion");
        state.buffer.push_back(value);
        let receiver = state.recv_waker.take();
        drop(state);
        wake(receiver);
        coop::spend();
        Poll::Ready(Ok(()))
    }

    /// A send future is dropped (cancelled) while it holds `ticket`.
    ///
    /// Two duties: leave no entry behind in `waiters` (that would leak its
    /// waker and block the queue forever), and if the receiver had already
    /// promised us a slot and woken us, pass that promise to the next waiter —
    /// otherwise the wake-up is lost and the next sender waits for a slot
    /// that is free.
    pub(super) fn cancel_send(&self, ticket: u64) {
        let mut state = lock(&self.state);
        if state.closed {
            return; // nobody waits on a closed channel
        }
        match state.waiters.find(ticket) {
            Some(i) => {
                // Our own waker, moved out to be dropped after the unlock.
                let ours = state.waiters.remove(i);
                drop(state);
                drop(ours);
            }
            None => {
                state.reserved -= 1;
                let next = state.grant_free_slot();
                drop(state);
                wake(next);
            }
        }
    }

    pub(super) fn add_sender(&self) {
        lock(&self.state).senders += 1;
    }

    /// The last sender leaving ends the stream: wake the receiver so it can
    /// drain what is left and then see `None`, instead of waiting forever.
    pub(super) fn drop_sender(&self) {
        let mut state = lock(&self.state);
        state.senders -= 1;
        let receiver = if state.senders == 0 {
            state.recv_waker.take()
        } else {
            None
        };
        drop(state);
        wake(receiver);
    }

    pub(super) fn is_closed(&self) -> bool {
        lock(&self.state).closed
    }

    /// Free slots a new value could take right now.
    pub(super) fn capacity(&self) -> usize {
        let state = lock(&self.state);
        if state.closed {
            return 0;
        }
        self.capacity - state.buffer.len() - state.reserved
    }

    // ----- the receiving side -----------------------------------------------

    // ANCHOR: poll_recv
    pub(super) fn poll_recv(&self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        // A channel that is never empty must not keep us polling forever:
        // out of budget, yield first (`task/coop.rs`).
        std::task::ready!(coop::poll_proceed(cx));
        let mut state = lock(&self.state);
        if let Some(value) = state.buffer.pop_front() {
            // We just made room: hand it to the oldest waiting sender.
            let sender = state.grant_free_slot();
            drop(state);
            wake(sender);
            coop::spend();
            return Poll::Ready(Some(value));
        }
        // Empty. If no value can ever arrive, say so; otherwise wait.
        if state.senders == 0 || state.closed {
            return Poll::Ready(None);
        }
        // A replaced waker is dropped only once the lock is released: it may
        // be the last reference to a task that owns a sender of this channel.
        let old = replace_waker(&mut state.recv_waker, cx.waker());
        waiting_on_channel();
        drop(state);
        drop(old);
        Poll::Pending
    }
    // ANCHOR_END: poll_recv

    pub(super) fn try_recv(&self) -> Result<T, TryRecvError> {
        let mut state = lock(&self.state);
        if let Some(value) = state.buffer.pop_front() {
            let sender = state.grant_free_slot();
            drop(state);
            wake(sender);
            return Ok(value);
        }
        if state.senders == 0 || state.closed {
            Err(TryRecvError::Disconnected)
        } else {
            Err(TryRecvError::Empty)
        }
    }

    /// Stop accepting values; what is buffered can still be received.
    /// Every waiting sender is woken to collect its value in an error.
    pub(super) fn close(&self) {
        let mut state = lock(&self.state);
        let waiters = state.close();
        drop(state);
        for waiter in waiters {
            waiter.waker.wake();
        }
    }

    /// The receiver is gone: close, and let go of everything it alone used —
    /// the values nobody will read, and its own waker. That waker would
    /// otherwise keep the receiving task (its memory, its output) alive for
    /// as long as any sender lives, though nothing can ever wake it here.
    pub(super) fn close_and_discard(&self) {
        let mut state = lock(&self.state);
        let waiters = state.close();
        let buffer = mem::take(&mut state.buffer);
        let receiver = state.recv_waker.take();
        drop(state);
        // After the unlock: a value's or a waker's `Drop` may run any code,
        // even code that touches this channel.
        for waiter in waiters {
            waiter.waker.wake();
        }
        drop(buffer);
        drop(receiver);
    }
}

impl<T> State<T> {
    /// Mark the channel closed and hand back the waiting senders, to wake
    /// once the lock is released (each gets its value back in an error).
    fn close(&mut self) -> VecDeque<Waiter<()>> {
        self.closed = true;
        self.reserved = 0;
        self.waiters.take_all()
    }

    /// A slot just became free. If a sender waits, promise the slot to the
    /// oldest one and return its waker (to wake once the lock is released).
    /// FIFO: whoever waited longest sends next.
    fn grant_free_slot(&mut self) -> Option<Waker> {
        let waiter = self.waiters.pop_front()?;
        self.reserved += 1;
        Some(waiter.waker)
    }
}

fn wake(waker: Option<Waker>) {
    if let Some(waker) = waker {
        waker.wake();
    }
}
