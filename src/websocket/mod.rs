//! WebSocket (RFC 6455), from the HTTP upgrade to the close handshake.
//!
//! HTTP is request → response, then (maybe) the next request. A chat needs
//! the server to *push*: a message from one browser has to reach every other
//! one now, not when they next ask. WebSocket gets there by starting as an
//! HTTP request and then *upgrading* the same TCP connection into a two-way
//! stream of small messages. Lesson 15 builds a chat server on it, lesson 16
//! a terminal client.
//!
//! The parts, in the order a connection meets them:
//!
//! - [`handshake`](self#the-handshake) — `GET /ws` with `Upgrade: websocket`
//!   and a random `Sec-WebSocket-Key`; the server proves it speaks WebSocket
//!   by answering `101 Switching Protocols` with
//!   `Sec-WebSocket-Accept = base64(SHA-1(key + GUID))`. See [`accept`],
//!   [`connect`], [`accept_key`], and [`server_handshake`] / [`client_handshake`]
//!   for bare streams on any runtime.
//! - frames — every message travels as one or more frames (drawn below).
//! - [`WebSocket`] — one open connection: [`recv`](WebSocket::recv) gives the
//!   next whole message (answering pings and reassembling fragments on the
//!   way), [`send`](WebSocket::send) writes one, [`close`](WebSocket::close)
//!   says goodbye properly.
//!
//! # The handshake
//!
//! ```text
//!  client                                          server
//!  GET /ws HTTP/1.1
//!  Host: 127.0.0.1:8000
//!  Upgrade: websocket
//!  Connection: Upgrade
//!  Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==     (16 random bytes, base64)
//!  Sec-WebSocket-Version: 13          ───────────▶
//!                                     ◀───────────  HTTP/1.1 101 Switching Protocols
//!                                                   Upgrade: websocket
//!                                                   Connection: Upgrade
//!                                                   Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=
//!  ... from here on, the same TCP connection carries frames both ways ...
//! ```
//!
//! The accept value is not security; it proves the server *understood* the
//! request (a plain HTTP server that ignores `Upgrade` cannot produce it), so
//! a browser never mistakes some other server's reply for a WebSocket.
//!
//! # A frame
//!
//! ```text
//!   0                   1                   2                   3
//!   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//!  +-+-+-+-+-------+-+-------------+-------------------------------+
//!  |F|R|R|R| opcode|M| Payload len |    Extended payload length    |
//!  |I|S|S|S|  (4)  |A|     (7)     |   (16 bits if len == 126,     |
//!  |N|V|V|V|       |S|             |    64 bits if len == 127)     |
//!  | |1|2|3|       |K|             |                               |
//!  +-+-+-+-+-------+-+-------------+ - - - - - - - - - - - - - - - +
//!  |     Extended payload length continued, if len == 127          |
//!  + - - - - - - - - - - - - - - - +-------------------------------+
//!  |                               | Masking key, if MASK is set   |
//!  +-------------------------------+-------------------------------+
//!  | Masking key (continued)       |          Payload data         |
//!  +-------------------------------- - - - - - - - - - - - - - - - +
//!  :                     Payload data continued ...                :
//!  +---------------------------------------------------------------+
//! ```
//!
//! - **FIN** — this is the last frame of the message. A long message may be
//!   sent as a first frame (opcode text or binary, FIN clear), any number of
//!   *continuation* frames (opcode 0), the last with FIN set. We reassemble.
//! - **RSV1–3** — for extensions (compression); we negotiate none, so a set
//!   bit is a protocol error.
//! - **opcode** — `1` text (UTF-8), `2` binary, `0` continuation; control
//!   frames `8` close, `9` ping, `10` pong. Control frames are never
//!   fragmented, carry at most 125 bytes, and may arrive *between* the
//!   fragments of a message. Other opcodes are reserved: protocol error.
//! - **length** — 7 bits; 126 means "the real length is the next 2 bytes",
//!   127 "the next 8 bytes". So a 5-byte "hello" costs 2 bytes of header from
//!   the server.
//!
//! # Masking
//!
//! Every frame a *client* sends has MASK set and a fresh random 4-byte key;
//! the payload is XORed with it (`byte[i] ^= key[i % 4]`). Frames from the
//! *server* are never masked. Why: a malicious page could otherwise make the
//! browser send bytes that look like an HTTP request to a confused proxy in
//! the middle, and poison its cache. With a key the page cannot predict, the
//! bytes on the wire are not the page's choice. So a server must close the
//! connection on an unmasked client frame (1002), and a client on a masked
//! server frame.
//!
//! # The close handshake
//!
//! Closing TCP alone is ambiguous: did the peer finish, or crash? WebSocket
//! says goodbye in-band. One side sends a close frame (a 2-byte code such as
//! 1000 "normal" and an optional UTF-8 reason); the other answers with its
//! own close frame; then the *server* closes TCP first. Both sides know every
//! message before the close frame arrived, and why the connection ends:
//!
//! | code | meaning | who sends it here |
//! |---|---|---|
//! | 1000 | normal closure | [`WebSocket::close`] |
//! | 1002 | protocol error | bad frames: unmasked, reserved bits or opcodes, broken fragmentation |
//! | 1007 | invalid payload | a text message that is not UTF-8 |
//! | 1008 | policy violation | the chat server, to a client too slow to keep up |
//! | 1009 | message too big | a message above [`Config::max_message_size`] |
//! | 1011 | internal error | a peer that did not answer our ping ("keepalive ping timeout") |
//!
//! By name these are [`CloseCode`]s (as numbers, [`close_code`]). A
//! connection we fail is failed with a [`CloseReason`] — the code and the
//! reason, both sent in our close frame — and [`recv`](WebSocket::recv)
//! returns it as [`Error::Protocol`].
//!
//! After sending a close frame for an error we still read (and discard)
//! until the peer closes its side: closing a socket with unread data makes
//! the kernel send a reset, and a reset may destroy our close frame before
//! the peer reads it.
//!
//! # What one client may cost
//!
//! A server holds a socket, a task and some buffers for every client, and a
//! hostile or broken client can try to make it hold them for ever. Each way
//! is closed by a limit in [`Config`], on by default:
//!
//! | the client… | the limit | then |
//! |---|---|---|
//! | announces a 2 GiB message | `max_message_size` (64 KiB) | refused from the header, 1009 |
//! | sends half a frame, then nothing | `frame_timeout` (10 s) | dropped |
//! | sends a big message and never reads the answer | `send_timeout` (30 s) | dropped, its buffers freed |
//! | vanishes without closing its socket | `ping_interval` (30 s), `ping_timeout` (10 s) | pinged, then closed with 1011 |
//! | stops in the middle of the close handshake | `close_timeout` (5 s) | dropped |
//!
//! And one limit on our own side: `max_write_buffer` (16 MiB) stops a server
//! from queueing more for a peer than it has taken (`feed` refuses, `send`
//! waits for room).
//!
//! And memory does not stay high after the fact: the buffers that grew for
//! a big message shrink back to a few KiB once it is handled
//! ([`WebSocket::buffered_capacity`] shows it). A 16 MiB message echoed to
//! a peer that will not read costs 16 MiB while the echo waits — the message
//! *is* the read buffer it arrived in, and [`send`](WebSocket::send) drops it
//! once its frame is encoded — not the 48 MiB of three copies, and not for
//! longer than `send_timeout`.
//!
//! All of these live in the connection, inside `recv` and `flush`, so every
//! server built on [`WebSocket`] gets them without writing a line; the
//! chat server of lesson 15 only picks bigger messages for `/echo`.
//!
//! # Runtime-agnostic
//!
//! Everything here is generic over `futures_io::AsyncRead + AsyncWrite`, as
//! [`http::Connection`](crate::http::Connection) is: on evloop's `TcpStream`,
//! or on tokio's through `tokio-util`'s `compat` (the `chat_fanout` bench does
//! that). The only evloop-specific parts are the optional timeouts and the
//! keepalive in [`Config`]; set them to `None` on another runtime.

mod error;
mod frame;
mod handshake;
mod read_buf;
mod socket;

pub use error::{CloseCode, CloseReason, Error};
pub use frame::{apply_mask, OpCode, Prepared};
pub use handshake::{
    accept, accept_key, accept_with_config, client_handshake, connect, connect_with_config,
    is_upgrade, server_handshake,
};
pub use socket::{Role, WebSocket};

use std::time::Duration;

/// A whole message, reassembled from its frames.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A text message: always valid UTF-8 (anything else was refused with 1007).
    Text(String),
    /// A binary message.
    Binary(Vec<u8>),
}

impl Message {
    /// The payload bytes.
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Message::Text(s) => s.as_bytes(),
            Message::Binary(b) => b,
        }
    }

    /// The text, if this is a text message.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Message::Text(s) => Some(s),
            Message::Binary(_) => None,
        }
    }
}

/// Close codes (RFC 6455 §7.4.1) as plain numbers, the way they travel in a
/// close frame and in [`CloseFrame::code`]: [`WebSocket::close`] takes one.
/// [`CloseCode`] says what each means.
pub mod close_code {
    use super::CloseCode;

    /// 1000: the purpose of the connection has been fulfilled.
    pub const NORMAL: u16 = CloseCode::Normal.as_u16();
    /// 1001: the endpoint is going away (server shutdown, page navigated away).
    pub const GOING_AWAY: u16 = CloseCode::GoingAway.as_u16();
    /// 1002: the peer broke the protocol.
    pub const PROTOCOL_ERROR: u16 = CloseCode::ProtocolError.as_u16();
    /// 1003: a data type the endpoint cannot accept.
    pub const UNSUPPORTED_DATA: u16 = CloseCode::UnsupportedData.as_u16();
    /// 1005, reserved: "no code was present" — never sent on the wire.
    pub const NO_STATUS: u16 = CloseCode::NoStatus.as_u16();
    /// 1006, reserved: "closed without a close frame" — never sent on the wire.
    pub const ABNORMAL: u16 = CloseCode::Abnormal.as_u16();
    /// 1007: a text message that was not valid UTF-8.
    pub const INVALID_PAYLOAD: u16 = CloseCode::InvalidPayload.as_u16();
    /// 1008: the peer broke a rule of this application (the chat: too slow to keep up).
    pub const POLICY_VIOLATION: u16 = CloseCode::PolicyViolation.as_u16();
    /// 1009: a message too big to process.
    pub const MESSAGE_TOO_BIG: u16 = CloseCode::MessageTooBig.as_u16();
    /// 1011: the server hit an unexpected condition.
    pub const INTERNAL_ERROR: u16 = CloseCode::InternalError.as_u16();

    /// May this code appear in a close frame on the wire? 1000–1003 and
    /// 1007–1014 are defined; 3000–4999 belong to libraries and applications.
    /// 1004–1006 and 1015 are reserved, everything else unassigned.
    pub fn is_valid(code: u16) -> bool {
        matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999)
    }
}

/// The code and reason of a close frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseFrame {
    /// The close code, e.g. [`close_code::NORMAL`].
    pub code: u16,
    /// Why, for people (UTF-8, at most 123 bytes on the wire).
    pub reason: String,
}

/// Limits and timeouts of one connection.
///
/// Together they bound what one client can cost the server, in memory and
/// in time — whatever it does. In memory: the read side holds at most one
/// message being received (`max_message_size`, plus one read of at most
/// 1 MiB), the write side at most `max_write_buffer` (or one message), and
/// both fall back to a few KiB once a message is handled; `recv` writes what
/// is queued before it reads more, so a peer cannot fill both at once by
/// sending without reading. In time: every wait on the peer has a deadline,
/// listed below — only silence *between* messages is allowed, and even
/// then the peer must answer a ping now and then.
///
/// Build one from the defaults and change what you need, so new limits get
/// their defaults too:
///
/// ```
/// use evloop::websocket::Config;
/// let echo = Config { max_message_size: 16 << 20, ..Config::default() };
/// assert_eq!(echo.ping_interval, Config::default().ping_interval);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// Largest message accepted, after reassembling its fragments; a bigger
    /// one is refused with close code 1009 — as soon as a frame header
    /// announces it, before its payload is read.
    pub max_message_size: usize,
    /// Most bytes the write buffer holds while earlier bytes still wait to
    /// be written: [`WebSocket::feed`] refuses more with
    /// [`Error::WriteBufferFull`], and [`WebSocket::send`] waits for room.
    /// An empty buffer always takes one message, however big.
    pub max_write_buffer: usize,
    /// How long the rest of a frame may take once its first byte arrived. A
    /// peer that sends half a frame and goes silent is dropped after this.
    /// (Silence *between* messages is fine: chat users go quiet.) `None`: no
    /// limit — needed on runtimes other than evloop, since it uses evloop's timers.
    pub frame_timeout: Option<Duration>,
    /// How long the peer has to take what we queued: a [`flush`](WebSocket::flush)
    /// (or [`send`](WebSocket::send)) that has not written everything by then
    /// fails with [`Error::Timeout`], the connection is over and its buffers
    /// are freed. Without it, a client that sends one big message and never
    /// reads the answer pins it in our memory for as long as it stays
    /// connected. `None`: wait as long as it takes.
    pub send_timeout: Option<Duration>,
    /// How long the peer may stay silent before [`recv`](WebSocket::recv)
    /// pings it. Any bytes from the peer restart the count, so a peer that
    /// talks is never pinged. `None`: never ping (and never notice a peer
    /// that vanished without closing its socket).
    pub ping_interval: Option<Duration>,
    /// How long after our ping the peer must send something (its pong, or
    /// anything else) before we give up on it and close with 1011
    /// "keepalive ping timeout". `None`: keep pinging, never give up.
    pub ping_timeout: Option<Duration>,
    /// How long to wait for the peer's half of the close handshake before
    /// dropping the connection anyway. `None`: wait as long as it takes.
    pub close_timeout: Option<Duration>,
}

impl Default for Config {
    /// 64 KiB messages and 16 MiB of queued writes; 10 s to finish a frame,
    /// 30 s to take what we send; a ping after 30 s of silence, answered
    /// within 10 s; 5 s for the close handshake.
    fn default() -> Config {
        Config {
            max_message_size: 64 * 1024,
            max_write_buffer: 16 * 1024 * 1024,
            frame_timeout: Some(Duration::from_secs(10)),
            send_timeout: Some(Duration::from_secs(30)),
            ping_interval: Some(Duration::from_secs(30)),
            ping_timeout: Some(Duration::from_secs(10)),
            close_timeout: Some(Duration::from_secs(5)),
        }
    }
}
