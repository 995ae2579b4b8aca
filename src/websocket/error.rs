//! What goes wrong on a WebSocket connection, and the close codes that say so.
//!
//! A peer that breaks the protocol is not just dropped: it is told why, in a
//! close frame carrying a [`CloseCode`] and a short reason (RFC 6455 §7.4).
//! [`CloseReason`] is that pair; the frame parser returns it, the connection
//! sends it, and the caller gets it back as [`Error::Protocol`].

use std::fmt;
use std::io;

/// The close codes of RFC 6455 §7.4.1 that this module sends or names, by
/// their RFC names. On the wire a code is two bytes, big-endian; the same
/// numbers, as `u16`s, are in [`close_code`](super::close_code).
///
/// ```
/// use evloop::websocket::{close_code, CloseCode};
/// assert_eq!(CloseCode::MessageTooBig.as_u16(), close_code::MESSAGE_TOO_BIG);
/// assert_eq!(CloseCode::MessageTooBig.to_string(), "1009 message too big");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u16)]
pub enum CloseCode {
    /// 1000: the purpose of the connection has been fulfilled.
    Normal = 1000,
    /// 1001: the endpoint is going away (server shutdown, page navigated away).
    GoingAway = 1001,
    /// 1002: the peer broke the protocol (a bad frame).
    ProtocolError = 1002,
    /// 1003: a data type the endpoint cannot accept.
    UnsupportedData = 1003,
    /// 1005, reserved: "no code was present" — never sent on the wire.
    NoStatus = 1005,
    /// 1006, reserved: "closed without a close frame" — never sent on the wire.
    Abnormal = 1006,
    /// 1007: the payload was not what its type says (a text message that is not UTF-8).
    InvalidPayload = 1007,
    /// 1008: the peer broke a rule of this application (the chat: too slow to keep up).
    PolicyViolation = 1008,
    /// 1009: a message too big to process.
    MessageTooBig = 1009,
    /// 1011: the server hit an unexpected condition.
    InternalError = 1011,
}

impl CloseCode {
    /// The number that goes on the wire.
    pub const fn as_u16(self) -> u16 {
        self as u16
    }

    /// What the code means, in a few words (`"protocol error"`).
    pub fn meaning(self) -> &'static str {
        match self {
            CloseCode::Normal => "normal closure",
            CloseCode::GoingAway => "going away",
            CloseCode::ProtocolError => "protocol error",
            CloseCode::UnsupportedData => "unsupported data",
            CloseCode::NoStatus => "no status",
            CloseCode::Abnormal => "abnormal closure",
            CloseCode::InvalidPayload => "invalid payload",
            CloseCode::PolicyViolation => "policy violation",
            CloseCode::MessageTooBig => "message too big",
            CloseCode::InternalError => "internal error",
        }
    }
}

impl From<CloseCode> for u16 {
    fn from(code: CloseCode) -> u16 {
        code.as_u16()
    }
}

/// `1002 protocol error`.
impl fmt::Display for CloseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.as_u16(), self.meaning())
    }
}

/// Why we fail a connection: the close code we send and the reason that goes
/// with it in the close frame (so a browser's console shows it too).
///
/// ```
/// use evloop::websocket::{CloseCode, CloseReason};
/// let why = CloseReason::new(CloseCode::ProtocolError, "client frames must be masked");
/// assert_eq!(why.to_string(), "1002 protocol error: client frames must be masked");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CloseReason {
    /// The code: 1002, 1007 or 1009 when the peer broke the protocol.
    pub code: CloseCode,
    /// What exactly was wrong (at most 123 bytes go on the wire).
    pub reason: &'static str,
}

impl CloseReason {
    /// Close with `code`, because of `reason`.
    pub const fn new(code: CloseCode, reason: &'static str) -> CloseReason {
        CloseReason { code, reason }
    }
}

/// `1009 message too big: message larger than the limit`.
impl fmt::Display for CloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.reason)
    }
}

/// What went wrong on a WebSocket connection.
#[derive(Debug)]
pub enum Error {
    /// The HTTP upgrade was refused or malformed (the HTTP status, if one was sent or received).
    Handshake(String),
    /// We failed the connection and told the peer why, in a close frame with
    /// this code and reason: it broke the protocol (1002, 1007 or 1009) or
    /// stopped answering our pings (1011). The connection is dropped.
    Protocol(CloseReason),
    /// The peer went silent where it had a deadline: it did not finish a
    /// frame (`frame_timeout`), take what we sent (`send_timeout`), or finish
    /// the close handshake (`close_timeout`) in time. The connection is over.
    Timeout,
    /// [`feed`](super::WebSocket::feed) was refused: the write buffer already
    /// holds `max_write_buffer` bytes the peer has not taken. `flush` first
    /// (or use `send`, which does).
    WriteBufferFull,
    /// The connection is closed; nothing more can be sent or received.
    Closed,
    /// The socket failed, or the peer vanished without a close frame.
    Io(io::Error),
}

impl Error {
    /// The close code this error was answered with, if any.
    pub fn close_code(&self) -> Option<u16> {
        match self {
            Error::Protocol(why) => Some(why.code.as_u16()),
            _ => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Handshake(why) => write!(f, "WebSocket handshake failed: {why}"),
            Error::Protocol(why) => write!(f, "closed with {why}"),
            Error::Timeout => f.write_str(
                "the peer went silent: it did not finish a frame, take what we sent, \
                 or finish the close handshake in time",
            ),
            Error::WriteBufferFull => {
                f.write_str("the write buffer is full: flush what is queued before queueing more")
            }
            Error::Closed => f.write_str("the WebSocket connection is closed"),
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

impl From<crate::http::Error> for Error {
    fn from(e: crate::http::Error) -> Error {
        match e {
            crate::http::Error::Io(e) => Error::Io(e),
            other => Error::Handshake(other.to_string()),
        }
    }
}
