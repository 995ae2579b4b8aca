//! What can go wrong with an `mpsc` channel, as values you can match on.
//!
//! Every error that fails to deliver a value hands the value back, so a
//! caller can retry, log it, or send it somewhere else: a channel never
//! silently eats your data. `Debug` does not print the value (so `T` need not
//! be `Debug`, and `unwrap()` works on any channel), just like tokio.

use std::error::Error;
use std::fmt;

/// The receiver is gone (dropped, or it called `close()`), so the value could
/// not be sent. The value is returned in field `.0`.
///
/// ```
/// use evloop::sync::mpsc::{self, SendError};
///
/// let (tx, rx) = mpsc::unbounded_channel();
/// drop(rx);
/// assert_eq!(tx.send("hello"), Err(SendError("hello")));
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SendError<T>(pub T);

impl<T> SendError<T> {
    /// Take back the value that could not be sent.
    ///
    /// ```
    /// let err = evloop::sync::mpsc::SendError(7);
    /// assert_eq!(err.into_inner(), 7);
    /// ```
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> fmt::Debug for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendError").finish_non_exhaustive()
    }
}

impl<T> fmt::Display for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "channel closed: the receiver was dropped or closed, \
             so nobody will read this value (it is returned in the error)",
        )
    }
}

impl<T> Error for SendError<T> {}

/// Why [`Sender::try_send`](super::Sender::try_send) could not send right now.
/// Both variants give the value back.
///
/// ```
/// use evloop::sync::mpsc::{self, TrySendError};
///
/// let (tx, rx) = mpsc::channel(1);
/// tx.try_send(1).unwrap();
/// assert_eq!(tx.try_send(2), Err(TrySendError::Full(2)));
/// drop(rx);
/// assert_eq!(tx.try_send(3), Err(TrySendError::Closed(3)));
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum TrySendError<T> {
    /// The buffer is full. `send(v).await` would wait here; `try_send`
    /// returns instead (that is backpressure, made visible).
    Full(T),
    /// The receiver is gone; no value will ever be accepted again.
    Closed(T),
}

impl<T> TrySendError<T> {
    /// Take back the value that could not be sent.
    ///
    /// ```
    /// use evloop::sync::mpsc::TrySendError;
    /// assert_eq!(TrySendError::Full(5).into_inner(), 5);
    /// ```
    pub fn into_inner(self) -> T {
        match self {
            TrySendError::Full(value) | TrySendError::Closed(value) => value,
        }
    }
}

impl<T> From<SendError<T>> for TrySendError<T> {
    fn from(err: SendError<T>) -> Self {
        TrySendError::Closed(err.0)
    }
}

impl<T> fmt::Debug for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySendError::Full(_) => f.write_str("Full(..)"),
            TrySendError::Closed(_) => f.write_str("Closed(..)"),
        }
    }
}

impl<T> fmt::Display for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TrySendError::Full(_) => {
                "channel full: no room for the value right now; \
                 use `send(value).await` to wait for room, or try again later"
            }
            TrySendError::Closed(_) => {
                "channel closed: the receiver was dropped or closed, \
                 so nobody will read this value (it is returned in the error)"
            }
        })
    }
}

impl<T> Error for TrySendError<T> {}

/// Why [`Receiver::try_recv`](super::Receiver::try_recv) returned no value.
///
/// ```
/// use evloop::sync::mpsc::{self, TryRecvError};
///
/// let (tx, mut rx) = mpsc::channel::<u8>(4);
/// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
/// drop(tx);
/// assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TryRecvError {
    /// Nothing buffered yet, but a sender is still alive and may send.
    Empty,
    /// Nothing buffered, and nothing ever will be: every sender is gone, or
    /// the receiver closed the channel. (`recv().await` gives `None` here.)
    Disconnected,
}

impl fmt::Display for TryRecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TryRecvError::Empty => {
                "channel empty: no value yet, but senders are still alive; \
                 use `recv().await` to wait for one"
            }
            TryRecvError::Disconnected => {
                "channel closed and drained: every sender is gone (or the \
                 receiver closed it) and no value is left"
            }
        })
    }
}

impl Error for TryRecvError {}
