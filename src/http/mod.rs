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
//! The client is [`get`] / [`post`] / [`request`]. When the server says no,
//! it says so by name: [`Error::status`] picks a [`StatusCode`]
//! (`431 Request Header Fields Too Large`), and a check made on a request
//! that was read fine refuses with a [`Rejection`] (status and reason).

mod client;
mod conn;
mod error;
mod server;
mod status;

pub use client::{get, post, request, ClientResponse};
pub use conn::Connection;
pub use error::{Error, Rejection};
pub use server::{serve, serve_connection, serve_with};
pub use status::{reason, StatusCode};

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

/// The first header with this name (case-insensitive).
fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Header names and values as owned strings, in order (values that are not
/// UTF-8 are replaced): what `httparse` found, kept past the read buffer.
fn owned_headers(headers: &[httparse::Header<'_>]) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|h| {
            (
                h.name.to_string(),
                String::from_utf8_lossy(h.value).into_owned(),
            )
        })
        .collect()
}
