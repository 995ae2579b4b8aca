//! The request head, parsed and checked from a buffer — no I/O here.
//!
//! [`Connection`](super::Connection) reads bytes in step 1 of the turn (a
//! task's poll) and calls [`parse_head`] after every read until it returns a
//! head; the thread-per-connection server of lesson 11 calls the very same
//! function after each blocking read. Parsing that never touches a socket is
//! what lets both servers keep one set of rules (httparse is built the same
//! way, "sans-I/O").
//!
//! The rules are where a lenient server gets tricked, so each is strict and
//! says which RFC sentence it keeps:
//!
//! - **Framing.** A body is as long as its `Content-Length`, and that value
//!   must be digits and nothing else (`+2` is refused, though Rust's
//!   `parse::<usize>` takes it); several values must all be the same number
//!   (RFC 9112 §6.3). Two parsers — a proxy and this server — that disagree on
//!   where a body ends disagree on where the next request starts: that is
//!   *request smuggling*. `Transfer-Encoding` is refused (`501`): this server
//!   reads no chunked bodies, so it cannot be told to frame by them.
//! - **Sizes.** The head must fit in [`Limits::max_head`](super::Limits)
//!   (`431`), the request target in [`MAX_TARGET`] (`414`, noticed while the
//!   line is still arriving), the body in `Limits::max_body` (`413`, noticed
//!   before a byte of it is read).
//! - **Targets.** The absolute form (`GET http://host/path`) is accepted and
//!   reduced to the path, its host replacing `Host` (RFC 9112 §3.2.2), so a
//!   router only ever sees paths.

use super::{owned_headers, Error, Limits, Request};

/// Most headers a request may carry (more gets `431`).
const MAX_HEADERS: usize = 64;

/// The longest request target accepted, in bytes (longer gets `414 URI Too
/// Long`). RFC 9112 §3 asks servers to take request lines of at least 8,000
/// octets; 8 KiB is what most servers allow (nginx's default buffer).
pub const MAX_TARGET: usize = 8 * 1024;

/// A request head, parsed from the front of a buffer and checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    /// The request, its `body` still empty.
    pub request: Request,
    /// How many bytes of the buffer the head took: the body starts here.
    pub len: usize,
    /// How many bytes of body follow the head (its checked `Content-Length`).
    pub body_len: usize,
}

/// Parse and check the request head at the start of `buf`.
///
/// `Ok(None)`: the head is not complete yet — read more and call again.
/// `Err`: the request is refused; [`Error::status`] says with which status,
/// and the connection must then close (the server can no longer tell where
/// the next request would start).
///
/// ```
/// use evloop::http::{parse_head, Limits};
/// let limits = Limits::default();
/// assert!(parse_head(b"POST /echo HTTP/1.1\r\nContent-Le", &limits).unwrap().is_none());
/// let head = parse_head(b"POST /echo HTTP/1.1\r\nContent-Length: 2\r\n\r\nhi", &limits)
///     .unwrap()
///     .unwrap();
/// assert_eq!((head.request.path.as_str(), head.len, head.body_len), ("/echo", 42, 2));
/// let smuggle = b"POST /echo HTTP/1.1\r\nContent-Length: +2\r\n\r\nhi";
/// assert_eq!(parse_head(smuggle, &limits).unwrap_err().status(), Some(400));
/// ```
pub fn parse_head(buf: &[u8], limits: &Limits) -> Result<Option<Head>, Error> {
    if buf.is_empty() {
        return Ok(None);
    }
    // Before httparse: it would wait for the end of the line, and a target
    // of 9 KiB should be refused as soon as 8 KiB of it are here.
    if target_len(buf) > MAX_TARGET {
        return Err(Error::UriTooLong);
    }
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut parsed = httparse::Request::new(&mut headers);
    let len = match parsed.parse(buf) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) if buf.len() > limits.max_head => {
            return Err(Error::HeadTooLarge)
        }
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => return Err(Error::HeadTooLarge),
        Err(e) => return Err(Error::Malformed(e.to_string())),
    };
    if len > limits.max_head {
        return Err(Error::HeadTooLarge);
    }
    let mut request = Request {
        method: parsed.method.unwrap_or_default().to_string(),
        path: parsed.path.unwrap_or_default().to_string(),
        headers: owned_headers(parsed.headers),
        body: Vec::new(),
        minor_version: parsed.version.unwrap_or(1),
    };
    if let Some((host, path)) = split_absolute_form(&request.path) {
        let (host, path) = (host.to_string(), path.to_string());
        request.path = path;
        request
            .headers
            .retain(|(name, _)| !name.eq_ignore_ascii_case("host"));
        request.headers.push(("Host".into(), host));
    }
    if request.header("transfer-encoding").is_some() {
        return Err(Error::Unsupported(
            "chunked request bodies; send Content-Length",
        ));
    }
    let body_len = content_length(&request.headers)?;
    if body_len > limits.max_body {
        return Err(Error::BodyTooLarge);
    }
    Ok(Some(Head {
        request,
        len,
        body_len,
    }))
}

/// The length of the request target so far: the bytes after the first
/// space of the request line, up to the next space, the end of the line, or
/// the end of what has arrived.
fn target_len(buf: &[u8]) -> usize {
    let line = buf.split(|&b| b == b'\n').next().unwrap_or(buf);
    let Some(start) = line.iter().position(|&b| b == b' ') else {
        return 0;
    };
    let target = &line[start + 1..];
    target
        .iter()
        .position(|&b| b == b' ' || b == b'\r')
        .unwrap_or(target.len())
}

/// The body length the headers announce: 0 without `Content-Length`.
///
/// Every `Content-Length` line counts, and each may be a comma-separated
/// list; every member must be `1*DIGIT` and all must be the same number. A
/// number too large for memory is a body too large, not a malformed one.
fn content_length(headers: &[(String, String)]) -> Result<usize, Error> {
    let mut length: Option<u64> = None;
    let values = headers
        .iter()
        .filter(|(name, _)| name.eq_ignore_ascii_case("content-length"))
        .flat_map(|(_, value)| value.split(','));
    for member in values {
        let member = member.trim_matches([' ', '\t']);
        if member.is_empty() || !member.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Error::Malformed(format!(
                "Content-Length must be digits only, not {member:?}"
            )));
        }
        // All digits: only overflow can fail, and that is far too large anyway.
        let n = member.parse::<u64>().unwrap_or(u64::MAX);
        match length {
            Some(seen) if seen != n => {
                return Err(Error::Malformed(
                    "two different Content-Length values".into(),
                ))
            }
            _ => length = Some(n),
        }
    }
    match length {
        None => Ok(0),
        Some(n) => usize::try_from(n).map_err(|_| Error::BodyTooLarge),
    }
}

/// `http://host:port/path?q` → `("host:port", "/path?q")`; `None` for the
/// usual origin form (`/path`). An empty path is `/` (RFC 9112 §3.2.1).
fn split_absolute_form(target: &str) -> Option<(&str, String)> {
    let (scheme, rest) = target.split_once("://")?;
    if !(scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https")) {
        return None;
    }
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(end);
    // `user@host` is deprecated in http URIs (RFC 9110 §4.2.4); keep the host.
    let host = authority.rsplit('@').next().unwrap_or(authority);
    let path = match path.as_bytes().first() {
        Some(b'/') => path.to_string(),
        _ => format!("/{path}"),
    };
    Some((host, path))
}
