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
//! - The rules live in one function without I/O, [`parse_head`]: every
//!   request head must fit in [`Limits::max_head`] (16 KiB, else `431`), its
//!   target in [`MAX_TARGET`] (8 KiB, else `414`), every body in
//!   [`Limits::max_body`] (else `413`); a malformed request — or one whose
//!   `Content-Length` could be read two ways — gets `400`. The connection is
//!   then closed cleanly — never a panic.
//! - A client that goes silent mid-request (or idles on a keep-alive
//!   connection) is dropped after [`Limits::read_timeout`]: a slow or silent
//!   client cannot hold a connection forever.
//!
//! The server is [`serve`] (a whole accept loop, which rides out a failing
//! `accept` with [`AcceptBackoff`]) or [`Connection`] (one connection,
//! request by request — the WebSocket upgrade starts from here).
//! The client is [`get`] / [`post`] / [`request`]. When the server says no,
//! it says so by name: [`Error::status`] picks a [`StatusCode`]
//! (`431 Request Header Fields Too Large`), and a check made on a request
//! that was read fine refuses with a [`Rejection`] (status and reason).

mod accept;
mod client;
mod conn;
mod error;
mod parse;
mod server;
mod status;

pub use accept::{AcceptBackoff, AcceptPause};
pub use client::{get, post, request, ClientResponse};
pub use conn::Connection;
pub use error::{Error, Rejection};
pub use parse::{parse_head, Head, MAX_TARGET};
pub use server::{serve, serve_connection, serve_with};
pub use status::{reason, StatusCode};

use std::time::Duration;

/// An HTTP request as the server received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// `GET`, `POST`, …
    pub method: String,
    /// The request target, e.g. `/hello/ada?x=1`: always a path (a target
    /// sent as a whole URL, `http://host/hello/ada?x=1`, arrives as its path,
    /// its host in the `Host` header).
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

    /// Does any `name` header list `token`? Headers like `Connection` and
    /// `Expect` are comma-separated lists of case-insensitive tokens, and may
    /// be sent on several lines: `Connection: close, TE` lists `close`.
    ///
    /// ```
    /// # use evloop::http::Request;
    /// let request = Request {
    ///     method: "GET".into(),
    ///     path: "/".into(),
    ///     headers: vec![("Connection".into(), "TE, Close".into())],
    ///     body: vec![],
    ///     minor_version: 1,
    /// };
    /// assert!(request.header_has_token("connection", "close"));
    /// assert!(!request.keep_alive());
    /// ```
    pub fn header_has_token(&self, name: &str, token: &str) -> bool {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .flat_map(|(_, value)| value.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case(token))
    }

    /// Does the client want the connection kept open after this request?
    /// HTTP/1.1 keeps it unless `Connection` lists `close`; HTTP/1.0 closes
    /// it unless `Connection` lists `keep-alive`.
    pub fn keep_alive(&self) -> bool {
        if self.header_has_token("connection", "close") {
            return false;
        }
        self.minor_version >= 1 || self.header_has_token("connection", "keep-alive")
    }

    /// Is the client waiting for `100 Continue` before it sends the body?
    /// (`Expect: 100-continue`, which HTTP/1.0 clients cannot mean: RFC 9110
    /// §10.1.1 says to ignore it there.)
    pub fn expects_continue(&self) -> bool {
        self.minor_version >= 1 && self.header_has_token("expect", "100-continue")
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

    /// `405 Method Not Allowed`, with the `Allow` header RFC 9110 §15.5.6
    /// requires: the methods this path does answer, so the client can tell a
    /// wrong method from a wrong path.
    ///
    /// ```
    /// let r = evloop::http::Response::method_not_allowed(&["GET", "HEAD"]);
    /// assert_eq!(r.status, 405);
    /// assert_eq!(r.headers[1], ("Allow".to_string(), "GET, HEAD".to_string()));
    /// ```
    pub fn method_not_allowed(allowed: &[&str]) -> Response {
        Response::error(405).header("Allow", &allowed.join(", "))
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

    /// The response as bytes on the wire: status line, headers, the
    /// `Content-Length` and `Connection` headers this crate writes itself,
    /// a blank line, the body. One buffer, so a server can send it in one
    /// write (two small writes meet Nagle's algorithm and the peer's delayed
    /// ACK, and can wait 40 ms each).
    pub fn encode(&self, keep_alive: bool) -> Vec<u8> {
        let mut out = Vec::with_capacity(128 + self.body.len());
        let status_line = format!("HTTP/1.1 {} {}\r\n", self.status, reason(self.status));
        out.extend_from_slice(status_line.as_bytes());
        for (name, value) in &self.headers {
            out.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
        }
        let connection = if keep_alive { "keep-alive" } else { "close" };
        let framing = format!(
            "Content-Length: {}\r\nConnection: {connection}\r\n\r\n",
            self.body.len()
        );
        out.extend_from_slice(framing.as_bytes());
        out.extend_from_slice(&self.body);
        out
    }
}

/// Size and time limits for a server connection: what one client may cost
/// the server before it is refused (lesson 11 has a table of them, and why).
///
/// Together with [`MAX_TARGET`] (`414`) and the 64-header cap, these bound
/// the memory a connection can pin and the time it can hold a descriptor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest request head (request line + headers) accepted; bigger gets
    /// `431`. The head is buffered whole before it is parsed, so this bounds
    /// that buffer.
    pub max_head: usize,
    /// Largest request body accepted; bigger gets `413` — decided from
    /// `Content-Length`, before a byte of the body is read (or, for a client
    /// that sent `Expect: 100-continue`, before it sends one).
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
