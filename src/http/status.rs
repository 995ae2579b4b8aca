//! Status codes by name, and the reason phrase that goes with each.
//!
//! On the wire a status is three digits and a phrase: `HTTP/1.1 431 Request
//! Header Fields Too Large`. [`Response::status`](super::Response::status)
//! stays a plain `u16`, so a handler writes `Response::error(404)` as it reads
//! on the wire; [`StatusCode`] gives the same numbers the names RFC 9110 uses,
//! for the places where this crate picks a status itself — a request refused
//! before any handler saw it (a [`Rejection`](super::Rejection)).

use std::fmt;

/// An HTTP status code, by its RFC 9110 name: `StatusCode::BAD_REQUEST` is
/// `400` (Python's `http.HTTPStatus.BAD_REQUEST`, the `http` crate's
/// `StatusCode::BAD_REQUEST`).
///
/// ```
/// use evloop::http::StatusCode;
/// assert_eq!(StatusCode::CONTENT_TOO_LARGE.as_u16(), 413);
/// assert_eq!(StatusCode::CONTENT_TOO_LARGE.to_string(), "413 Content Too Large");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StatusCode(pub u16);

impl StatusCode {
    /// `100`: go on, send the body (the answer to `Expect: 100-continue`).
    pub const CONTINUE: StatusCode = StatusCode(100);
    /// `101`: the connection now speaks another protocol (the WebSocket upgrade).
    pub const SWITCHING_PROTOCOLS: StatusCode = StatusCode(101);
    /// `200`: here is what you asked for.
    pub const OK: StatusCode = StatusCode(200);
    /// `201`: made.
    pub const CREATED: StatusCode = StatusCode(201);
    /// `204`: done, and there is no body.
    pub const NO_CONTENT: StatusCode = StatusCode(204);
    /// `400`: the bytes were not a valid request.
    pub const BAD_REQUEST: StatusCode = StatusCode(400);
    /// `404`: nothing lives at this path.
    pub const NOT_FOUND: StatusCode = StatusCode(404);
    /// `405`: something lives here, but not for this method.
    pub const METHOD_NOT_ALLOWED: StatusCode = StatusCode(405);
    /// `408`: the client went silent before its request was complete.
    pub const REQUEST_TIMEOUT: StatusCode = StatusCode(408);
    /// `413`: the body is larger than the server accepts.
    pub const CONTENT_TOO_LARGE: StatusCode = StatusCode(413);
    /// `414`: the request target (the URL) is longer than the server accepts.
    pub const URI_TOO_LONG: StatusCode = StatusCode(414);
    /// `426`: speak another protocol (version) first — a WebSocket version other than 13.
    pub const UPGRADE_REQUIRED: StatusCode = StatusCode(426);
    /// `431`: the request line and headers are larger than the server accepts.
    pub const REQUEST_HEADER_FIELDS_TOO_LARGE: StatusCode = StatusCode(431);
    /// `500`: the server failed (here: the handler panicked).
    pub const INTERNAL_SERVER_ERROR: StatusCode = StatusCode(500);
    /// `501`: the request uses a feature this server does not implement.
    pub const NOT_IMPLEMENTED: StatusCode = StatusCode(501);
    /// `503`: try again later.
    pub const SERVICE_UNAVAILABLE: StatusCode = StatusCode(503);

    /// The three digits, as they go on the wire.
    pub const fn as_u16(self) -> u16 {
        self.0
    }

    /// The reason phrase, e.g. `"Bad Request"`; empty for a status this crate does not name.
    pub fn reason(self) -> &'static str {
        match self {
            StatusCode::CONTINUE => "Continue",
            StatusCode::SWITCHING_PROTOCOLS => "Switching Protocols",
            StatusCode::OK => "OK",
            StatusCode::CREATED => "Created",
            StatusCode::NO_CONTENT => "No Content",
            StatusCode::BAD_REQUEST => "Bad Request",
            StatusCode::NOT_FOUND => "Not Found",
            StatusCode::METHOD_NOT_ALLOWED => "Method Not Allowed",
            StatusCode::REQUEST_TIMEOUT => "Request Timeout",
            StatusCode::CONTENT_TOO_LARGE => "Content Too Large",
            StatusCode::URI_TOO_LONG => "URI Too Long",
            StatusCode::UPGRADE_REQUIRED => "Upgrade Required",
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => "Request Header Fields Too Large",
            StatusCode::INTERNAL_SERVER_ERROR => "Internal Server Error",
            StatusCode::NOT_IMPLEMENTED => "Not Implemented",
            StatusCode::SERVICE_UNAVAILABLE => "Service Unavailable",
            _ => "",
        }
    }
}

impl From<StatusCode> for u16 {
    fn from(status: StatusCode) -> u16 {
        status.0
    }
}

impl From<u16> for StatusCode {
    fn from(status: u16) -> StatusCode {
        StatusCode(status)
    }
}

/// `413 Content Too Large`: the status line without `HTTP/1.1`.
impl fmt::Display for StatusCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.reason() {
            "" => write!(f, "{}", self.0),
            reason => write!(f, "{} {reason}", self.0),
        }
    }
}

/// The reason phrase for a status given as a number (see [`StatusCode::reason`]).
///
/// ```
/// assert_eq!(evloop::http::reason(404), "Not Found");
/// ```
pub fn reason(status: u16) -> &'static str {
    StatusCode(status).reason()
}
