//! A small HTTP/1.1 server and client on top of evloop's sockets.
//!
//! Enough HTTP for the lessons — fetching JSON from many URLs at once (lesson
//! 10, aiohttp's favourite demo), a JSON API under load (lesson 11), and the
//! chat page (lesson 15) — and careful about the parts that go wrong in real
//! servers: limits, timeouts and malformed input.
//!
//! - Parsing is done by [`httparse`], a well-tested zero-copy parser; this module
//!   does the *I/O around it*: read until the head is complete, enforce
//!   limits, read the body, write the response, keep the connection alive.
//! - Every request head must fit in [`Limits::max_head`] (16 KiB, else `431`),
//!   every body in [`Limits::max_body`] (else `413`); a malformed request
//!   gets `400`. The connection is then closed cleanly — never a panic.
//! - A client that goes silent mid-request (or idles on a keep-alive
//!   connection) is dropped after [`Limits::read_timeout`]: a slow or silent
//!   client cannot hold a connection forever.
//!
//! The server is [`serve`] (a whole accept loop) or [`Connection`] (one
//! connection, request by request — the WebSocket upgrade starts from here).
//! The client is [`get`] / [`post`] / [`request`].

mod client;
mod conn;
mod server;

pub use client::{get, post, request, ClientResponse};
pub use conn::Connection;
pub use server::{serve, serve_connection, serve_with};

use std::fmt;
use std::io;
use std::time::Duration;

/// An HTTP request as the server received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// `GET`, `POST`, …
    pub method: String,
    /// The request target, e.g. `/hello/ada?x=1`.
    pub path: String,
    /// Header names and values, in order (names as sent).
    pub headers: Vec<(String, String)>,
    /// The body (empty unless the request had `Content-Length`).
    pub body: Vec<u8>,
    /// `1` for HTTP/1.1, `0` for HTTP/1.0.
    pub minor_version: u8,
}

impl Request {
    /// The first header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }

    /// The path without its query string.
    pub fn path_only(&self) -> &str {
        self.path.split('?').next().unwrap_or("")
    }

    /// Does the client want the connection kept open after this request?
    pub fn keep_alive(&self) -> bool {
        let connection = self.header("connection").map(str::to_ascii_lowercase);
        match self.minor_version {
            0 => connection.as_deref() == Some("keep-alive"),
            _ => connection.as_deref() != Some("close"),
        }
    }
}

/// An HTTP response to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// Status code, e.g. `200`.
    pub status: u16,
    /// Extra headers. `Content-Length` and `Connection` are written for you.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Response {
    /// An empty response with this status.
    pub fn new(status: u16) -> Response {
        Response {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// `200 OK` with a `text/plain` body.
    pub fn text(body: impl Into<String>) -> Response {
        Response::new(200)
            .header("Content-Type", "text/plain; charset=utf-8")
            .body(body.into().into_bytes())
    }

    /// `200 OK` with a `text/html` body.
    pub fn html(body: impl Into<String>) -> Response {
        Response::new(200)
            .header("Content-Type", "text/html; charset=utf-8")
            .body(body.into().into_bytes())
    }

    /// `200 OK` with a JSON body.
    pub fn json(value: &serde_json::Value) -> Response {
        Response::new(200)
            .header("Content-Type", "application/json")
            .body(value.to_string().into_bytes())
    }

    /// A plain-text error response: `404 Not Found` and the like.
    pub fn error(status: u16) -> Response {
        let mut r = Response::text(format!("{} {}\n", status, reason(status)));
        r.status = status;
        r
    }

    /// Add a header.
    pub fn header(mut self, name: &str, value: &str) -> Response {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// Replace the body.
    pub fn body(mut self, body: Vec<u8>) -> Response {
        self.body = body;
        self
    }

    /// Set the status.
    pub fn status(mut self, status: u16) -> Response {
        self.status = status;
        self
    }
}

/// Size and time limits for a server connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest request head (request line + headers) accepted; bigger gets `431`.
    pub max_head: usize,
    /// Largest request body accepted; bigger gets `413`.
    pub max_body: usize,
    /// How long a read of a request (or the wait for the next one on a
    /// keep-alive connection), or a write of a response, may take before the
    /// connection is dropped. `None`: no limit (only for code that runs the
    /// protocol on another runtime, such as the benchmark beside tokio).
    pub read_timeout: Option<Duration>,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_head: 16 * 1024,
            max_body: 1024 * 1024,
            read_timeout: Some(Duration::from_secs(10)),
        }
    }
}

/// Why a request could not be read.
#[derive(Debug)]
pub enum Error {
    /// The bytes were not valid HTTP/1.x (→ `400 Bad Request`).
    Malformed(String),
    /// The request head was larger than `Limits::max_head` (→ `431`).
    HeadTooLarge,
    /// The body was larger than `Limits::max_body` (→ `413`).
    BodyTooLarge,
    /// A feature this small server does not support, e.g. chunked request bodies (→ `501`).
    Unsupported(&'static str),
    /// The peer went silent for longer than `Limits::read_timeout`.
    Timeout,
    /// The socket failed, or the peer closed it mid-request.
    Io(io::Error),
}

impl Error {
    /// The status to answer with, if any answer makes sense.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Malformed(_) => Some(400),
            Error::HeadTooLarge => Some(431),
            Error::BodyTooLarge => Some(413),
            Error::Unsupported(_) => Some(501),
            Error::Timeout => Some(408),
            Error::Io(_) => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Malformed(why) => write!(f, "malformed HTTP: {why}"),
            Error::HeadTooLarge => f.write_str("request head larger than the limit"),
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

/// The first header with this name (case-insensitive).
fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// The reason phrase for the statuses this crate uses.
pub fn reason(status: u16) -> &'static str {
    match status {
        101 => "Switching Protocols",
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        413 => "Content Too Large",
        426 => "Upgrade Required",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        _ => "",
    }
}
