//! What goes wrong reading a request, and how the server says no.
//!
//! A server meets bad input long before any handler runs: a head too large,
//! a body too large, bytes that are not HTTP, a client that goes silent.
//! [`Error`] names each case; [`Error::status`] picks the status it is
//! answered with (by name, see [`StatusCode`]), and the connection is then
//! closed. [`Rejection`] is the same idea for checks made after the request
//! was read — a WebSocket upgrade that lacks a header, say.

use std::fmt;
use std::io;

use super::{Response, StatusCode};

/// Why a request could not be read.
#[derive(Debug)]
pub enum Error {
    /// The bytes were not valid HTTP/1.x, or framed the body ambiguously (→ `400 Bad Request`).
    Malformed(String),
    /// The request head was larger than `Limits::max_head` (→ `431`).
    HeadTooLarge,
    /// The request target was longer than [`MAX_TARGET`](super::MAX_TARGET) (→ `414`).
    UriTooLong,
    /// The body was larger than `Limits::max_body` (→ `413`).
    BodyTooLarge,
    /// A feature this small server does not support, e.g. chunked request bodies (→ `501`).
    Unsupported(&'static str),
    /// The peer went silent for longer than `Limits::read_timeout` (→ `408`).
    Timeout,
    /// The socket failed, or the peer closed it mid-request.
    Io(io::Error),
}

impl Error {
    /// The status to answer with, if any answer makes sense (after a socket
    /// error nobody is listening).
    pub fn status(&self) -> Option<u16> {
        let status = match self {
            Error::Malformed(_) => StatusCode::BAD_REQUEST,
            Error::HeadTooLarge => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            Error::UriTooLong => StatusCode::URI_TOO_LONG,
            Error::BodyTooLarge => StatusCode::CONTENT_TOO_LARGE,
            Error::Unsupported(_) => StatusCode::NOT_IMPLEMENTED,
            Error::Timeout => StatusCode::REQUEST_TIMEOUT,
            Error::Io(_) => return None,
        };
        Some(status.as_u16())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Malformed(why) => write!(f, "malformed HTTP: {why}"),
            Error::HeadTooLarge => f.write_str("request head larger than the limit"),
            Error::UriTooLong => f.write_str("request target longer than the limit"),
            Error::BodyTooLarge => f.write_str("request body larger than the limit"),
            Error::Unsupported(what) => write!(f, "unsupported: {what}"),
            Error::Timeout => f.write_str("the peer sent nothing for too long"),
            Error::Io(e) => write!(f, "I/O error: {e}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Error {
        Error::Io(e)
    }
}

impl From<Error> for io::Error {
    fn from(e: Error) -> io::Error {
        match e {
            Error::Io(e) => e,
            Error::Timeout => io::Error::new(io::ErrorKind::TimedOut, e.to_string()),
            other => io::Error::new(io::ErrorKind::InvalidData, other.to_string()),
        }
    }
}

/// A request refused by a check: the status the client gets, and why, in
/// a few words for the log and for the error our caller sees.
///
/// Only the status goes on the wire (as [`response`](Self::response)); the
/// reason is ours. The WebSocket upgrade refuses this way:
///
/// ```
/// use evloop::http::{Rejection, StatusCode};
/// let no = Rejection::new(StatusCode::UPGRADE_REQUIRED, "only WebSocket version 13 is spoken here");
/// assert_eq!(no.response().status, 426);
/// assert_eq!(no.to_string(), "426 Upgrade Required: only WebSocket version 13 is spoken here");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rejection {
    /// The status to answer with, e.g. [`StatusCode::BAD_REQUEST`].
    pub status: StatusCode,
    /// What was wrong with the request.
    pub reason: &'static str,
}

impl Rejection {
    /// Refuse with `status`, because of `reason`.
    pub const fn new(status: StatusCode, reason: &'static str) -> Rejection {
        Rejection { status, reason }
    }

    /// The plain-text error response the client gets: `426 Upgrade Required`.
    pub fn response(&self) -> Response {
        Response::error(self.status.as_u16())
    }
}

/// `400 Bad Request: missing Upgrade: websocket`.
impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.status, self.reason)
    }
}
