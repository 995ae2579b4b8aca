//! One server-side HTTP/1.1 connection, request by request.

use std::future::{poll_fn, Future};
use std::io;

use futures_io::{AsyncRead, AsyncWrite};

use super::{owned_headers, reason, Error, Limits, Request, Response};
use crate::io::{read_more, write_all};
use crate::time::timeout;

/// Most headers a request may carry (more gets `431`).
const MAX_HEADERS: usize = 64;

/// A server connection: reads requests, writes responses, keeps the
/// leftover bytes of a pipelined client between requests.
///
/// Generic over the stream (`TcpStream`, or anything `AsyncRead + AsyncWrite`),
/// so the WebSocket upgrade can take the stream back with [`into_parts`](Self::into_parts).
#[derive(Debug)]
pub struct Connection<S> {
    stream: S,
    /// Bytes read but not yet consumed: the start of the next request.
    buf: Vec<u8>,
    limits: Limits,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Connection<S> {
    /// Wrap a stream with the default [`Limits`].
    pub fn new(stream: S) -> Connection<S> {
        Connection::with_limits(stream, Limits::default())
    }

    /// Wrap a stream with these limits.
    pub fn with_limits(stream: S, limits: Limits) -> Connection<S> {
        Connection {
            stream,
            buf: Vec::new(),
            limits,
        }
    }

    /// Read the next request. `Ok(None)`: the client closed the connection
    /// cleanly between requests (the normal end of keep-alive).
    ///
    /// The whole read — head and body — must finish within
    /// `Limits::read_timeout`, or it fails with [`Error::Timeout`].
    pub async fn read_request(&mut self) -> Result<Option<Request>, Error> {
        let Some(limit) = self.limits.read_timeout else {
            return self.read_request_untimed().await;
        };
        match timeout(limit, self.read_request_untimed()).await {
            Ok(result) => result,
            Err(_) => Err(Error::Timeout),
        }
    }

    async fn read_request_untimed(&mut self) -> Result<Option<Request>, Error> {
        loop {
            if let Some((request, used)) = self.parse_head()? {
                let request = self.read_body(request, used).await?;
                return Ok(Some(request));
            }
            // We loop because one read may return only part of the head.
            if read_more(&mut self.stream, &mut self.buf).await? == 0 {
                return if self.buf.is_empty() {
                    Ok(None)
                } else {
                    Err(Error::Io(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the client closed the connection in the middle of a request",
                    )))
                };
            }
        }
    }

    /// Try to parse a complete head from the buffer: the request (body
    /// still empty) and the head's length, or `None` if more bytes are needed.
    fn parse_head(&self) -> Result<Option<(Request, usize)>, Error> {
        if self.buf.is_empty() {
            return Ok(None);
        }
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut parsed = httparse::Request::new(&mut headers);
        let head_len = match parsed.parse(&self.buf) {
            Ok(httparse::Status::Complete(len)) => len,
            Ok(httparse::Status::Partial) if self.buf.len() > self.limits.max_head => {
                return Err(Error::HeadTooLarge)
            }
            Ok(httparse::Status::Partial) => return Ok(None),
            Err(httparse::Error::TooManyHeaders) => return Err(Error::HeadTooLarge),
            Err(e) => return Err(Error::Malformed(e.to_string())),
        };
        if head_len > self.limits.max_head {
            return Err(Error::HeadTooLarge);
        }
        let request = Request {
            method: parsed.method.unwrap_or_default().to_string(),
            path: parsed.path.unwrap_or_default().to_string(),
            headers: owned_headers(parsed.headers),
            body: Vec::new(),
            minor_version: parsed.version.unwrap_or(1),
        };
        Ok(Some((request, head_len)))
    }

    /// Read the `Content-Length` body that follows a head of `head_len` bytes.
    async fn read_body(&mut self, mut request: Request, head_len: usize) -> Result<Request, Error> {
        if request.header("transfer-encoding").is_some() {
            return Err(Error::Unsupported(
                "chunked request bodies; send Content-Length",
            ));
        }
        let length = match request.header("content-length") {
            None => 0,
            Some(v) => v
                .trim()
                .parse::<usize>()
                .map_err(|_| Error::Malformed(format!("bad Content-Length {v:?}")))?,
        };
        if length > self.limits.max_body {
            return Err(Error::BodyTooLarge);
        }
        while self.buf.len() < head_len + length {
            if read_more(&mut self.stream, &mut self.buf).await? == 0 {
                return Err(Error::Io(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the client closed the connection before sending the whole body",
                )));
            }
        }
        request.body = self.buf[head_len..head_len + length].to_vec();
        // Whatever follows is the next (pipelined) request.
        self.buf.drain(..head_len + length);
        Ok(request)
    }

    /// Write `response`, announcing whether the connection stays open.
    pub async fn write_response(
        &mut self,
        response: &Response,
        keep_alive: bool,
    ) -> io::Result<()> {
        let mut out = Vec::with_capacity(128 + response.body.len());
        out.extend_from_slice(
            format!(
                "HTTP/1.1 {} {}\r\n",
                response.status,
                reason(response.status)
            )
            .as_bytes(),
        );
        for (name, value) in &response.headers {
            out.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
        }
        let connection = if keep_alive { "keep-alive" } else { "close" };
        let framing = format!(
            "Content-Length: {}\r\nConnection: {connection}\r\n\r\n",
            response.body.len()
        );
        out.extend_from_slice(framing.as_bytes());
        out.extend_from_slice(&response.body);
        // One write for head and body: one syscall in the common case.
        let Some(limit) = self.limits.read_timeout else {
            return write_all(&mut self.stream, &out).await;
        };
        match timeout(limit, write_all(&mut self.stream, &out)).await {
            Ok(result) => result,
            Err(_) => Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the client stopped reading the response",
            )),
        }
    }

    /// The stream and any bytes read past the last request (for an upgrade).
    pub fn into_parts(self) -> (S, Vec<u8>) {
        (self.stream, self.buf)
    }

    /// The underlying stream.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.stream
    }
}

/// Run a future, turning a panic inside it into `Err` (the handler panicked:
/// answer `500` and keep serving everyone else).
pub(crate) async fn catch_panic<F: Future>(future: F) -> Result<F::Output, ()> {
    let mut future = std::pin::pin!(future);
    poll_fn(|cx| {
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| future.as_mut().poll(cx))) {
            Ok(std::task::Poll::Ready(v)) => std::task::Poll::Ready(Ok(v)),
            Ok(std::task::Poll::Pending) => std::task::Poll::Pending,
            Err(_) => std::task::Poll::Ready(Err(())),
        }
    })
    .await
}
