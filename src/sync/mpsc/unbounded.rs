//! The unbounded channel's two ends. Sending never waits, so
//! [`UnboundedSender::send`] is a plain function — which is also why nothing
//! slows a producer down: memory is the only limit.

use std::fmt;
use std::future::poll_fn;
use std::sync::Arc;
use std::task::{Context, Poll};

use super::chan::{Chan, UNBOUNDED};
use super::error::{SendError, TryRecvError, TrySendError};

/// Create a channel with no limit on how many values it buffers.
///
/// Prefer [`channel`](super::channel) when a producer could outrun its
/// consumer: with no backpressure, the buffer just grows. The unbounded kind
/// shines where sending must not wait, e.g. from plain (non-async) code or a
/// callback.
///
/// ```
/// let (tx, mut rx) = evloop::sync::mpsc::unbounded_channel();
/// for i in 0..1000 {
///     tx.send(i).unwrap(); // never waits
/// }
/// assert_eq!(rx.try_recv(), Ok(0));
/// ```
pub fn unbounded_channel<T>() -> (UnboundedSender<T>, UnboundedReceiver<T>) {
    // The same channel as the bounded one, with a buffer that never fills.
    let chan = Arc::new(Chan::new(UNBOUNDED));
    (
        UnboundedSender { chan: chan.clone() },
        UnboundedReceiver { chan },
    )
}

/// The sending end of an unbounded channel. Clone it for more producers.
///
/// ```
/// let (tx, mut rx) = evloop::sync::mpsc::unbounded_channel();
/// let tx2 = tx.clone();
/// tx2.send("from a clone").unwrap();
/// assert_eq!(rx.try_recv(), Ok("from a clone"));
/// ```
pub struct UnboundedSender<T> {
    chan: Arc<Chan<T>>,
}

impl<T> UnboundedSender<T> {
    /// Send `value` at once (not `async`: there is always room). Fails,
    /// giving the value back, only if the receiver is gone.
    ///
    /// ```
    /// use evloop::sync::mpsc::{self, SendError};
    ///
    /// let (tx, rx) = mpsc::unbounded_channel();
    /// assert_eq!(tx.send(1), Ok(()));
    /// drop(rx);
    /// assert_eq!(tx.send(2), Err(SendError(2)));
    /// ```
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        match self.chan.try_send(value) {
            Ok(()) => Ok(()),
            Err(TrySendError::Closed(value)) => Err(SendError(value)),
            Err(TrySendError::Full(_)) => unreachable!("an unbounded channel is never full"),
        }
    }

    /// Whether the receiver is gone (dropped or closed): every send would fail.
    ///
    /// ```
    /// let (tx, mut rx) = evloop::sync::mpsc::unbounded_channel::<u8>();
    /// rx.close();
    /// assert!(tx.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.chan.is_closed()
    }
}

impl<T> Clone for UnboundedSender<T> {
    fn clone(&self) -> Self {
        self.chan.add_sender();
        UnboundedSender {
            chan: self.chan.clone(),
        }
    }
}

impl<T> Drop for UnboundedSender<T> {
    fn drop(&mut self) {
        self.chan.drop_sender();
    }
}

impl<T> fmt::Debug for UnboundedSender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnboundedSender").finish_non_exhaustive()
    }
}

/// The receiving end of an unbounded channel; works like
/// [`Receiver`](super::Receiver).
///
/// ```
/// let (tx, mut rx) = evloop::sync::mpsc::unbounded_channel();
/// tx.send('a').unwrap();
/// drop(tx);
/// assert_eq!(rx.try_recv(), Ok('a'));
/// assert!(rx.try_recv().is_err()); // ended: no sender, nothing left
/// ```
pub struct UnboundedReceiver<T> {
    chan: Arc<Chan<T>>,
}

impl<T> UnboundedReceiver<T> {
    /// Wait for the next value; `None` once every sender is gone (or the
    /// channel was closed) and the buffer is drained. Cancel-safe.
    ///
    /// ```
    /// evloop::run(async {
    ///     let (tx, mut rx) = evloop::sync::mpsc::unbounded_channel();
    ///     tx.send(1).unwrap();
    ///     drop(tx);
    ///     assert_eq!(rx.recv().await, Some(1));
    ///     assert_eq!(rx.recv().await, None);
    /// });
    /// ```
    pub async fn recv(&mut self) -> Option<T> {
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// Poll for the next value, remembering `cx`'s waker if there is none yet.
    ///
    /// ```
    /// use std::task::{Context, Poll, Waker};
    /// # struct Noop; impl std::task::Wake for Noop { fn wake(self: std::sync::Arc<Self>) {} }
    /// # let waker = Waker::from(std::sync::Arc::new(Noop));
    /// let mut cx = Context::from_waker(&waker);
    /// let (tx, mut rx) = evloop::sync::mpsc::unbounded_channel::<u8>();
    /// drop(tx);
    /// assert_eq!(rx.poll_recv(&mut cx), Poll::Ready(None));
    /// ```
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.chan.poll_recv(cx)
    }

    /// Take a value if one is buffered; never waits.
    ///
    /// ```
    /// use evloop::sync::mpsc::{self, TryRecvError};
    ///
    /// let (_tx, mut rx) = mpsc::unbounded_channel::<u8>();
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    /// ```
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        self.chan.try_recv()
    }

    /// Stop accepting values but keep what is buffered for receiving.
    ///
    /// ```
    /// let (tx, mut rx) = evloop::sync::mpsc::unbounded_channel();
    /// tx.send(1).unwrap();
    /// rx.close();
    /// assert!(tx.send(2).is_err());
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// ```
    pub fn close(&mut self) {
        self.chan.close();
    }
}

impl<T> Drop for UnboundedReceiver<T> {
    fn drop(&mut self) {
        self.chan.close_and_discard();
    }
}

impl<T> fmt::Debug for UnboundedReceiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnboundedReceiver").finish_non_exhaustive()
    }
}
