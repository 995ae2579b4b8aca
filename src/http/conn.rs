//! One server-side HTTP/1.1 connection, request by request.
//!
//! The I/O around [`parse_head`]: read until it finds a head, answer
//! `Expect: 100-continue`, read the body, write the response — each `.await`
//! a place where the connection's task returns `Pending` and the loop runs
//! others until the reactor reports the socket ready (step 4 of the turn).

use std::future::{poll_fn, Future};
use std::io;

use futures_io::{AsyncRead, AsyncWrite};

use super::{parse_head, Error, Head, Limits, Request, Response};
use crate::io::{read_more, write_all};
use crate::time::timeout;

/// The interim answer to `Expect: 100-continue`: a status line and an empty
/// head, no body. A final response follows once the request is read.
const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

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
            if let Some(head) = parse_head(&self.buf, &self.limits)? {
                let request = self.read_body(head).await?;
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

    /// Read the body that follows a checked head (its length is known and
    /// within the limit, or [`parse_head`] would have refused it).
    async fn read_body(&mut self, head: Head) -> Result<Request, Error> {
        let Head {
            mut request,
            len: head_len,
            body_len,
        } = head;
        let end = head_len + body_len;
        // A client that sent `Expect: 100-continue` holds its body back
        // until we say go on (curl waits a second, then sends anyway). The
        // body was found acceptable above — a too-large one was answered
        // `413` instead, and never sent. Nothing to say if it is here already.
        if request.expects_continue() && self.buf.len() < end {
            write_all(&mut self.stream, CONTINUE).await?;
        }
        while self.buf.len() < end {
            if read_more(&mut self.stream, &mut self.buf).await? == 0 {
                return Err(Error::Io(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the client closed the connection before sending the whole body",
                )));
            }
        }
        request.body = self.buf[head_len..end].to_vec();
        // Whatever follows is the next (pipelined) request.
        self.buf.drain(..end);
        Ok(request)
    }

    /// Write `response`, announcing whether the connection stays open.
    pub async fn write_response(
        &mut self,
        response: &Response,
        keep_alive: bool,
    ) -> io::Result<()> {
        // One write for head and body: one syscall in the common case.
        let out = response.encode(keep_alive);
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
