//! Multi-producer, single-consumer channels: a queue between tasks
//! (asyncio's `Queue`), built from a `VecDeque`, a `Mutex` and wakers.
//!
//! ```
//! use evloop::sync::mpsc;
//!
//! let (tx, mut rx) = mpsc::channel(2); // room for two values
//! tx.try_send("first").unwrap();
//! tx.try_send("second").unwrap();
//! assert!(tx.try_send("third").is_err()); // full
//! assert_eq!(rx.try_recv(), Ok("first")); // first in, first out
//! ```
//!
//! In a task you would write `tx.send(v).await` and `rx.recv().await`, which
//! *wait* instead of failing. Lesson 14 builds a data pipeline out of them.
//!
//! # How waiting works: wakers, not spinning
//!
//! Both ends share one `Mutex<State>`: the buffer, the receiver's waker, and
//! a queue of senders waiting for room.
//!
//! ```text
//!   Sender ─┐                                         ┌─ recv_waker: Option<Waker>
//!   Sender ─┼─ send ──▶ [ v1 | v2 | v3 ]  buffer ──▶ recv ── Receiver
//!   Sender ─┘     ▲                     (cap = 3)   │
//!                 └── waiters: [ticket 7, ticket 8] ◀┘ (a recv frees a slot:
//!                     (senders parked for room)         wake the oldest waiter)
//! ```
//!
//! `recv` on an empty buffer stores the receiver's waker and returns
//! `Pending`; the task goes to sleep and costs nothing. The next `send` pushes
//! its value, *takes* that waker and wakes it, and the event loop polls the
//! receiver again — now a value is there. If the receiver is busy (no waker
//! stored), `send` wakes nobody: no wasted wake-ups.
//!
//! # Backpressure
//!
//! A bounded channel ([`channel`]) holds at most `cap` values. When it is
//! full, `send` parks its waker at the back of the `waiters` queue and
//! returns `Pending`, so a producer that outruns its consumer is slowed to the
//! consumer's pace instead of filling memory. Each `recv` frees one slot and
//! wakes the **oldest** waiter, and it *reserves* the slot for it: a sender
//! arriving later cannot take it first, so waiting senders are served in
//! order (FIFO). If a woken send is cancelled (its future dropped, e.g. by a
//! timeout) before it uses the slot, it passes the slot and the wake-up to
//! the next waiter, so nobody is left waiting beside a free slot.
//!
//! [`unbounded_channel`] has no limit, so its `send` is a plain function that
//! never waits. Convenient, but nothing slows the producer down.
//!
//! # Closing
//!
//! The channel knows how many senders are alive, so closing is never a hang:
//! - the **last sender dropped**: the receiver drains what is buffered, then
//!   `recv` gives `None` (a waiting receiver is woken to see it);
//! - the **receiver dropped**, or [`Receiver::close`]: every send fails with
//!   [`SendError`] holding the value, and waiting senders are woken to get it.
//!   After `close` the receiver can still drain the buffer.
//!
//! A `while let Some(v) = rx.recv().await` loop therefore ends by itself when
//! the producers are done — the channel is how a pipeline shuts down.

mod bounded;
mod chan;
pub mod error;
mod unbounded;

pub use bounded::{channel, Receiver, Sender};
pub use error::{SendError, TryRecvError, TrySendError};
pub use unbounded::{unbounded_channel, UnboundedReceiver, UnboundedSender};
