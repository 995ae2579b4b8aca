//! A channel for exactly one value: the Rust cousin of an asyncio `Future`
//! that one side resolves with `set_result` and the other side awaits.
//!
//! ```
//! use evloop::sync::oneshot;
//!
//! let (tx, mut rx) = oneshot::channel();
//! tx.send("the answer").unwrap();
//! assert_eq!(rx.try_recv(), Ok("the answer"));
//! ```
//!
//! Its classic use is a reply: a request travels to a worker over an `mpsc`
//! channel together with a `oneshot::Sender`, and the requester awaits the
//! `oneshot::Receiver` for the answer.
//!
//! The [`Receiver`] *is* the future: `rx.await` gives `Ok(value)`, or
//! `Err(RecvError)` if the sender was dropped without sending — a worker
//! that crashed or gave up shows up as an error, not a task that waits
//! forever. The machinery is `mpsc`'s in miniature: one slot for the value,
//! one slot for the receiver's waker, both behind a `Mutex`. Awaiting before
//! the value is there parks the waker; `send` (or dropping the sender) takes
//! it and wakes it.

use std::error::Error;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use crate::sync::{lock, replace_waker};

/// Create a one-shot channel: one [`Sender::send`], one value received.
///
/// ```
/// let (tx, rx) = evloop::sync::oneshot::channel::<u32>();
/// drop(rx);
/// assert_eq!(tx.send(1), Err(1)); // nobody to receive it: the value comes back
/// ```
pub fn channel<T>() -> (Sender<T>, Receiver<T>) {
    let inner = Arc::new(Mutex::new(State {
        value: None,
        sender_done: false,
        receiver_closed: false,
        receiver_waker: None,
    }));
    (
        Sender {
            inner: Some(inner.clone()),
        },
        Receiver { inner },
    )
}

struct State<T> {
    /// The value, from `send` until the receiver takes it.
    value: Option<T>,
    /// The sender has sent or was dropped: no value will come after this.
    sender_done: bool,
    /// The receiver was dropped or called `close()`: `send` must fail.
    receiver_closed: bool,
    /// The receiver's waker, while it waits.
    receiver_waker: Option<Waker>,
}

/// Sends the one value. `send` consumes it, so sending twice does not compile.
///
/// ```
/// let (tx, mut rx) = evloop::sync::oneshot::channel();
/// tx.send(vec![1, 2, 3]).unwrap();
/// assert_eq!(rx.try_recv(), Ok(vec![1, 2, 3]));
/// ```
pub struct Sender<T> {
    /// `Some` for the Sender's whole life; `send` takes it out so that our
    /// `Drop` (which reports "dropped without sending") knows to do nothing.
    inner: Option<Arc<Mutex<State<T>>>>,
}

impl<T> Sender<T> {
    /// Send the value and wake the receiver. Not `async`: there is always
    /// room for the one value. Returns it in `Err` if the receiver is gone.
    ///
    /// ```
    /// let (tx, rx) = evloop::sync::oneshot::channel();
    /// assert_eq!(tx.send(5), Ok(()));
    /// # drop(rx);
    /// ```
    pub fn send(mut self, value: T) -> Result<(), T> {
        let inner = self.inner.take().expect("a live Sender holds the channel");
        let mut state = lock(&inner);
        if state.receiver_closed {
            return Err(value);
        }
        state.value = Some(value);
        state.sender_done = true;
        let waker = state.receiver_waker.take();
        drop(state);
        if let Some(waker) = waker {
            waker.wake();
        }
        Ok(())
    }

    /// Whether the receiver is gone (dropped or closed), so `send` would fail.
    /// Useful to skip work whose answer nobody is waiting for.
    ///
    /// ```
    /// let (tx, rx) = evloop::sync::oneshot::channel::<()>();
    /// assert!(!tx.is_closed());
    /// drop(rx);
    /// assert!(tx.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        match &self.inner {
            Some(inner) => lock(inner).receiver_closed,
            None => true, // only inside `send`/`drop`: unreachable by callers
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        // Dropped without sending: tell the receiver no value is coming, so
        // it gets `Err(RecvError)` rather than waiting forever.
        if let Some(inner) = self.inner.take() {
            let mut state = lock(&inner);
            state.sender_done = true;
            let waker = state.receiver_waker.take();
            drop(state);
            if let Some(waker) = waker {
                waker.wake();
            }
        }
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("oneshot::Sender").finish_non_exhaustive()
    }
}

/// Receives the one value. Await it directly: it is a
/// `Future<Output = Result<T, RecvError>>`, and `Unpin`, so it also works
/// by `&mut` (e.g. in `select`).
///
/// ```
/// evloop::run(async {
///     let (tx, rx) = evloop::sync::oneshot::channel();
///     evloop::spawn(async move { tx.send(6 * 7).unwrap() });
///     assert_eq!(rx.await, Ok(42));
/// });
/// ```
pub struct Receiver<T> {
    inner: Arc<Mutex<State<T>>>,
}

impl<T> Receiver<T> {
    /// Take the value if it has been sent; never waits.
    ///
    /// ```
    /// use evloop::sync::oneshot::{self, TryRecvError};
    ///
    /// let (tx, mut rx) = oneshot::channel();
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    /// tx.send('x').unwrap();
    /// assert_eq!(rx.try_recv(), Ok('x'));
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Closed)); // already taken
    /// ```
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        let mut state = lock(&self.inner);
        match state.value.take() {
            Some(value) => Ok(value),
            None if state.sender_done || state.receiver_closed => Err(TryRecvError::Closed),
            None => Err(TryRecvError::Empty),
        }
    }

    /// Refuse the value from now on: a later `send` fails and returns it.
    /// A value sent *before* `close` can still be received.
    ///
    /// ```
    /// let (tx, mut rx) = evloop::sync::oneshot::channel();
    /// rx.close();
    /// assert!(tx.is_closed());
    /// assert_eq!(tx.send(1), Err(1));
    /// ```
    pub fn close(&mut self) {
        lock(&self.inner).receiver_closed = true;
    }
}

impl<T> Future for Receiver<T> {
    type Output = Result<T, RecvError>;

    /// Ready with the value once sent; ready with `RecvError` if the sender
    /// was dropped without sending (or the value was already taken).
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        std::task::ready!(crate::task::coop::poll_proceed(cx));
        let mut state = lock(&self.inner);
        if let Some(value) = state.value.take() {
            crate::task::coop::spend();
            return Poll::Ready(Ok(value));
        }
        if state.sender_done || state.receiver_closed {
            return Poll::Ready(Err(RecvError));
        }
        // The old waker, if replaced, is dropped after the unlock: it may be
        // the last reference to a task that owns our `Sender`, whose drop
        // locks this state again.
        let old = replace_waker(&mut state.receiver_waker, cx.waker());
        crate::sync::waiting_on_channel();
        drop(state);
        drop(old);
        Poll::Pending
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let mut state = lock(&self.inner);
        state.receiver_closed = true;
        // Let go of the value nobody will read and of our own waker (which
        // would keep the receiving task alive as long as the sender lives).
        // Both are dropped after the guard: their `Drop` may run any code.
        let value = state.value.take();
        let waker = state.receiver_waker.take();
        drop(state);
        drop(value);
        drop(waker);
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("oneshot::Receiver").finish_non_exhaustive()
    }
}

/// Awaiting the [`Receiver`] failed: the sender was dropped without sending.
///
/// ```
/// use evloop::sync::oneshot::{self, TryRecvError};
///
/// let (tx, mut rx) = oneshot::channel::<i32>();
/// drop(tx); // e.g. the worker task panicked before replying
/// assert_eq!(rx.try_recv(), Err(TryRecvError::Closed)); // `rx.await` gives Err(RecvError)
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecvError;

impl fmt::Display for RecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "oneshot sender dropped without sending a value \
             (did the task that should reply end early or panic?)",
        )
    }
}

impl Error for RecvError {}

/// Why [`Receiver::try_recv`] returned no value.
///
/// ```
/// use evloop::sync::oneshot::{self, TryRecvError};
///
/// let (_tx, mut rx) = oneshot::channel::<i32>();
/// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TryRecvError {
    /// Not sent yet; the sender is still alive. Await the receiver to wait.
    Empty,
    /// No value will come: the sender was dropped without sending, the
    /// receiver was closed, or the value was already taken.
    Closed,
}

impl fmt::Display for TryRecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TryRecvError::Empty => {
                "oneshot empty: no value yet, but the sender is alive; \
                 await the receiver to wait for it"
            }
            TryRecvError::Closed => {
                "oneshot closed: the sender was dropped without sending, \
                 or the value was already received"
            }
        })
    }
}

impl Error for TryRecvError {}
