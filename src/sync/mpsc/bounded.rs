//! The bounded channel's two ends: [`Sender`] (waits for room) and
//! [`Receiver`]. The rules live in `chan.rs`; this file gives them names.

use std::fmt;
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use super::chan::Chan;
use super::error::{SendError, TryRecvError, TrySendError};

/// Create a bounded channel that buffers up to `capacity` values.
///
/// When the buffer is full, [`Sender::send`] waits until the receiver takes a
/// value — that is *backpressure*: a fast producer is slowed to the pace of
/// its consumer instead of filling memory.
///
/// # Panics
///
/// If `capacity` is 0. (A zero-sized buffer would be a *rendezvous* channel,
/// where every send waits for a receive; this channel does not do that.)
///
/// ```
/// use evloop::sync::mpsc;
///
/// let (tx, mut rx) = mpsc::channel(2);
/// tx.try_send("a").unwrap();
/// tx.try_send("b").unwrap();
/// assert!(tx.try_send("c").is_err()); // full: backpressure
/// assert_eq!(rx.try_recv(), Ok("a"));
/// ```
// `track_caller`: a bad capacity is the caller's mistake, so the panic
// message names the caller's line, not this one.
#[track_caller]
pub fn channel<T>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    assert!(
        capacity > 0,
        "mpsc::channel: capacity must be at least 1 (got 0); \
         use mpsc::channel(1) for the tightest backpressure"
    );
    let chan = Arc::new(Chan::new(capacity));
    (Sender { chan: chan.clone() }, Receiver { chan })
}

/// The sending end of a bounded channel. Clone it to have several producers;
/// the channel stays open while any clone is alive.
///
/// ```
/// use evloop::sync::mpsc;
///
/// let (tx, mut rx) = mpsc::channel(8);
/// let tx2 = tx.clone();
/// tx.try_send(1).unwrap();
/// tx2.try_send(2).unwrap();
/// assert_eq!((rx.try_recv(), rx.try_recv()), (Ok(1), Ok(2)));
/// ```
pub struct Sender<T> {
    chan: Arc<Chan<T>>,
}

impl<T> Sender<T> {
    /// Send `value`, waiting for room if the buffer is full.
    ///
    /// Senders that wait are served first come, first served. Returns the
    /// value back in `Err(SendError(value))` if the receiver is gone, whether
    /// it was already gone or goes while we wait. Cancel-safe: dropping the
    /// future before it completes sends nothing and keeps the queue fair.
    ///
    /// ```
    /// evloop::run(async {
    ///     let (tx, mut rx) = evloop::sync::mpsc::channel(1);
    ///     evloop::spawn(async move {
    ///         for i in 0..3 {
    ///             tx.send(i).await.unwrap(); // waits while the buffer is full
    ///         }
    ///     });
    ///     while let Some(i) = rx.recv().await {
    ///         println!("got {i}");
    ///     }
    /// });
    /// ```
    pub async fn send(&self, value: T) -> Result<(), SendError<T>> {
        SendFuture {
            chan: &self.chan,
            value: Some(value),
            ticket: None,
        }
        .await
    }

    /// Send `value` only if there is room right now; never waits.
    ///
    /// ```
    /// use evloop::sync::mpsc::{self, TrySendError};
    ///
    /// let (tx, _rx) = mpsc::channel(1);
    /// assert_eq!(tx.try_send(1), Ok(()));
    /// assert_eq!(tx.try_send(2), Err(TrySendError::Full(2)));
    /// ```
    pub fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        self.chan.try_send(value)
    }

    /// Whether the receiver is gone (dropped or closed): every send would fail.
    ///
    /// ```
    /// let (tx, rx) = evloop::sync::mpsc::channel::<()>(1);
    /// assert!(!tx.is_closed());
    /// drop(rx);
    /// assert!(tx.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.chan.is_closed()
    }

    /// How many values could be sent right now without waiting (0 once closed).
    ///
    /// ```
    /// let (tx, _rx) = evloop::sync::mpsc::channel(3);
    /// tx.try_send('x').unwrap();
    /// assert_eq!(tx.capacity(), 2);
    /// ```
    pub fn capacity(&self) -> usize {
        self.chan.capacity()
    }

    /// The buffer size the channel was created with.
    ///
    /// ```
    /// let (tx, _rx) = evloop::sync::mpsc::channel::<u8>(3);
    /// assert_eq!(tx.max_capacity(), 3);
    /// ```
    pub fn max_capacity(&self) -> usize {
        self.chan.max_capacity()
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.chan.add_sender();
        Sender {
            chan: self.chan.clone(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        self.chan.drop_sender();
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender").finish_non_exhaustive()
    }
}

/// The future behind [`Sender::send`]. It owns the value until it lands in
/// the buffer, and its place in the queue of waiting senders (`ticket`).
struct SendFuture<'a, T> {
    chan: &'a Chan<T>,
    value: Option<T>,
    ticket: Option<u64>,
}

// `SendFuture` never hands out a pinned reference to its value (it only moves the
// value into the buffer), so it does not need to stay put: it is `Unpin`
// whatever `T` is, and `poll` can use `&mut self` without `unsafe`.
impl<T> Unpin for SendFuture<'_, T> {}

impl<T> Future for SendFuture<'_, T> {
    type Output = Result<(), SendError<T>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        this.chan.poll_send(&mut this.ticket, &mut this.value, cx)
    }
}

impl<T> Drop for SendFuture<'_, T> {
    fn drop(&mut self) {
        // Still holding a ticket means we were cancelled while waiting (or
        // after being granted a slot): give the place up, and the slot too.
        if let Some(ticket) = self.ticket {
            self.chan.cancel_send(ticket);
        }
    }
}

/// The receiving end of a bounded channel. There is exactly one.
///
/// ```
/// let (tx, mut rx) = evloop::sync::mpsc::channel(4);
/// tx.try_send(10).unwrap();
/// drop(tx);
/// assert_eq!(rx.try_recv(), Ok(10));
/// assert!(rx.try_recv().is_err()); // every sender gone, buffer drained
/// ```
pub struct Receiver<T> {
    chan: Arc<Chan<T>>,
}

impl<T> Receiver<T> {
    /// Wait for the next value. `None` means the stream has ended: every
    /// sender is gone (or the channel was closed) and the buffer is drained.
    ///
    /// Taking a value frees a slot, which wakes the oldest waiting sender.
    /// Cancel-safe: if the future is dropped, no value is lost.
    ///
    /// ```
    /// evloop::run(async {
    ///     let (tx, mut rx) = evloop::sync::mpsc::channel(8);
    ///     evloop::spawn(async move { tx.send("hi").await.unwrap() });
    ///     assert_eq!(rx.recv().await, Some("hi"));
    ///     assert_eq!(rx.recv().await, None); // the sender task ended
    /// });
    /// ```
    pub async fn recv(&mut self) -> Option<T> {
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// Poll for the next value: the building block under [`recv`](Self::recv),
    /// for code that writes its own futures or streams.
    ///
    /// Returns `Pending` (and remembers `cx`'s waker) only while the buffer
    /// is empty and a sender is still alive.
    ///
    /// ```
    /// use std::task::{Context, Poll, Waker};
    /// # struct Noop; impl std::task::Wake for Noop { fn wake(self: std::sync::Arc<Self>) {} }
    /// # let waker = Waker::from(std::sync::Arc::new(Noop));
    /// let mut cx = Context::from_waker(&waker);
    /// let (tx, mut rx) = evloop::sync::mpsc::channel(1);
    /// assert_eq!(rx.poll_recv(&mut cx), Poll::Pending);
    /// tx.try_send(5).unwrap(); // wakes `waker`
    /// assert_eq!(rx.poll_recv(&mut cx), Poll::Ready(Some(5)));
    /// ```
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.chan.poll_recv(cx)
    }

    /// Take a value if one is buffered; never waits.
    ///
    /// ```
    /// use evloop::sync::mpsc::{self, TryRecvError};
    ///
    /// let (tx, mut rx) = mpsc::channel(1);
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    /// tx.try_send(1).unwrap();
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// ```
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        self.chan.try_recv()
    }

    /// Close the channel from the receiving side: senders fail from now on
    /// (waiting ones are woken with their value back), but values already
    /// buffered can still be received. A clean way to shut a pipeline down.
    ///
    /// ```
    /// let (tx, mut rx) = evloop::sync::mpsc::channel(2);
    /// tx.try_send(1).unwrap();
    /// rx.close();
    /// assert!(tx.try_send(2).is_err());
    /// assert_eq!(rx.try_recv(), Ok(1)); // still drains
    /// assert!(rx.try_recv().is_err());
    /// ```
    pub fn close(&mut self) {
        self.chan.close();
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        self.chan.close_and_discard();
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver").finish_non_exhaustive()
    }
}
