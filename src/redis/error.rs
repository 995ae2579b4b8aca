//! What goes wrong talking to Redis, and whose problem it is.
//!
//! Two kinds of failure, and the difference matters to a caller:
//!
//! - **the command failed, the connection is fine**: the server answered
//!   `-ERR …` ([`Error::Server`]), or with a type the typed method did not
//!   expect ([`Error::UnexpectedReply`]). The next command on the same
//!   connection works;
//! - **the connection is broken**: bytes that are not RESP, a reply over a
//!   limit, the server gone mid-reply, no answer in time, a socket error.
//!   After any of these the next bytes on the wire cannot be matched to a
//!   command any more, so the connection is dropped, and every command that
//!   was waiting on it gets an error too ([`Error::Connection`]): never a
//!   reply meant for someone else. [`Error::is_connection_error`] tells the
//!   two kinds apart; the pool uses it to decide what to reopen.

use std::fmt;
use std::io;
use std::time::Duration;

/// Why a Redis command failed.
#[derive(Debug)]
pub enum Error {
    /// The server refused this command (`-ERR …`, `-WRONGTYPE …`); the
    /// connection is fine.
    Server(String),
    /// A typed method got a reply of the wrong shape (say, `INCR` answered
    /// with a string). The connection is fine.
    UnexpectedReply {
        /// The command sent.
        command: String,
        /// What came back, as `Debug` text.
        got: String,
    },
    /// A blocking command (`BRPOP`, `SUBSCRIBE`, …) sent on a shared
    /// connection, where it would hold up every other task's replies.
    NeedsOwnConnection(String),
    /// The reply was not RESP.
    Protocol(String),
    /// A reply announced more than [`Limits`](super::Limits) allow.
    TooLarge {
        /// `"bulk string"`, `"array"` or `"line"`.
        what: &'static str,
        /// The size it announced (or reached, for a line).
        size: u64,
        /// The limit it broke.
        limit: usize,
    },
    /// The server closed the connection.
    Closed {
        /// Whether part of a reply had arrived.
        mid_reply: bool,
    },
    /// No reply came within the configured time.
    Timeout(Duration),
    /// The socket failed.
    Io(io::Error),
    /// The connection this command was waiting on broke because of another
    /// command's failure (the reason is that failure, as text).
    Connection(String),
}

impl Error {
    /// Whether the connection is broken after this error (everything but
    /// [`Server`](Error::Server), [`UnexpectedReply`](Error::UnexpectedReply)
    /// and [`NeedsOwnConnection`](Error::NeedsOwnConnection)).
    ///
    /// ```
    /// use evloop::redis::Error;
    /// assert!(!Error::Server("ERR wrong number of arguments".into()).is_connection_error());
    /// assert!(Error::Closed { mid_reply: true }.is_connection_error());
    /// ```
    pub fn is_connection_error(&self) -> bool {
        !matches!(
            self,
            Error::Server(_) | Error::UnexpectedReply { .. } | Error::NeedsOwnConnection(_)
        )
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Server(msg) => write!(f, "the server refused the command: {msg}"),
            Error::UnexpectedReply { command, got } => {
                write!(f, "unexpected reply to {command}: {got}")
            }
            Error::NeedsOwnConnection(cmd) => write!(
                f,
                "{cmd} blocks its connection: send it on a Connection of its own, not a shared one"
            ),
            Error::Protocol(why) => write!(f, "not a Redis reply: {why}"),
            Error::TooLarge { what, size, limit } => {
                write!(f, "{what} of {size} bytes is over the limit of {limit}")
            }
            Error::Closed { mid_reply: true } => {
                f.write_str("the server closed the connection in the middle of a reply")
            }
            Error::Closed { mid_reply: false } => f.write_str("the server closed the connection"),
            Error::Timeout(after) => write!(f, "no reply within {after:?}"),
            Error::Io(e) => write!(f, "I/O error: {e}"),
            Error::Connection(why) => write!(f, "connection broken: {why}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Error {
        Error::Io(e)
    }
}
