//! `BufReader` and `Lines`: read a byte stream line by line (asyncio's
//! `reader.readline()`).
//!
//! TCP delivers bytes, not messages: one `read` may return half a line, or
//! three lines and the start of a fourth. A line protocol (a chat, SMTP, the
//! first lines of HTTP) needs a buffer that keeps what came after the newline
//! for the next call. That is all `BufReader` is.

use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use futures_io::{AsyncBufRead, AsyncRead};

/// The default cap on one line, in bytes (see [`BufReader::max_line_length`]).
pub const DEFAULT_MAX_LINE: usize = 1024 * 1024;

const DEFAULT_CAPACITY: usize = 8 * 1024;

/// Adds a buffer, and line reading, to any `AsyncRead` — a [`TcpStream`](super::TcpStream),
/// an [`OwnedReadHalf`](super::OwnedReadHalf).
///
/// ```
/// use evloop::net::{BufReader, TcpListener, TcpStream};
///
/// evloop::run(async {
///     let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
///     let mut client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
///     // Two lines in one write: the reader still hands them out one at a time.
///     client.write_all(b"hello\r\nworld\n").await.unwrap();
///     drop(client);
///
///     let (server, _) = listener.accept().await.unwrap();
///     let mut lines = BufReader::new(server).lines();
///     assert_eq!(lines.next_line().await.unwrap().as_deref(), Some("hello"));
///     assert_eq!(lines.next_line().await.unwrap().as_deref(), Some("world"));
///     assert_eq!(lines.next_line().await.unwrap(), None); // the client closed
/// });
/// ```
///
/// **Cancel-safe.** A line cut short because its future was dropped (a
/// `select` or `timeout` won the race) is not lost: its bytes stay in the
/// reader and the next `read_line` continues it. So a chat client can
/// `select` between "a line from the server" and "a line from the user" in a
/// loop without dropping half-received messages.
///
/// **Bounded.** A peer that never sends a newline cannot make us buffer
/// forever: a line longer than [`max_line_length`](BufReader::max_line_length)
/// (default [`DEFAULT_MAX_LINE`]) is an `InvalidData` error.
///
/// It also implements `futures_io::AsyncRead` and `AsyncBufRead`.
#[derive(Debug)]
pub struct BufReader<R> {
    inner: R,
    buf: Box<[u8]>,
    /// `buf[pos..filled]` is read from `inner` but not yet handed out.
    pos: usize,
    filled: usize,
    /// The start of a line whose newline has not arrived yet. Logically it
    /// comes *before* `buf[pos..filled]`.
    partial: Vec<u8>,
    max_line: usize,
}

impl<R: AsyncRead + Unpin> BufReader<R> {
    /// Wrap `inner` with an 8 KiB buffer.
    pub fn new(inner: R) -> BufReader<R> {
        BufReader::with_capacity(DEFAULT_CAPACITY, inner)
    }

    /// Wrap `inner` with a buffer of `capacity` bytes (at least 1).
    pub fn with_capacity(capacity: usize, inner: R) -> BufReader<R> {
        BufReader {
            inner,
            buf: vec![0; capacity.max(1)].into_boxed_slice(),
            pos: 0,
            filled: 0,
            partial: Vec::new(),
            max_line: DEFAULT_MAX_LINE,
        }
    }

    /// Set the longest line [`read_line`](BufReader::read_line) accepts, in bytes.
    pub fn max_line_length(mut self, max: usize) -> BufReader<R> {
        self.max_line = max;
        self
    }

    /// The wrapped reader.
    pub fn get_ref(&self) -> &R {
        &self.inner
    }

    /// The wrapped reader, mutably (reading from it directly skips the buffer).
    pub fn get_mut(&mut self) -> &mut R {
        &mut self.inner
    }

    /// Unwrap, dropping any buffered bytes.
    pub fn into_inner(self) -> R {
        self.inner
    }

    /// Read one line, up to and including `\n`, and append it to `line`.
    /// Returns the number of bytes appended: `0` means end of stream.
    ///
    /// The last line of a stream may lack its `\n`; it is returned as is.
    /// A line that is not UTF-8 is an `InvalidData` error (its bytes are
    /// dropped, and reading goes on after it).
    pub async fn read_line(&mut self, line: &mut String) -> io::Result<usize> {
        poll_fn(|cx| self.poll_line(cx)).await?;
        let bytes = std::mem::take(&mut self.partial);
        let text = String::from_utf8(bytes).map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                "the peer sent a line that is not UTF-8",
            )
        })?;
        line.push_str(&text);
        Ok(text.len())
    }

    /// Read some bytes into `buf`, from the buffer first (like `TcpStream::read`).
    pub async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        poll_fn(|cx| Pin::new(&mut *self).poll_read(cx, buf)).await
    }

    /// An iterator-like reader of lines without their `\n` or `\r\n`.
    pub fn lines(self) -> Lines<R> {
        Lines { reader: self }
    }

    /// Move bytes into `partial` until it ends with `\n` or the stream ends.
    fn poll_line(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        loop {
            if self.pos == self.filled {
                // We loop because one read may bring only part of a line.
                let n = ready!(Pin::new(&mut self.inner).poll_read(cx, &mut self.buf))?;
                self.pos = 0;
                self.filled = n;
                if n == 0 {
                    return Poll::Ready(Ok(())); // end of stream: whatever we have is the last line
                }
            }
            let available = &self.buf[self.pos..self.filled];
            let (take, done) = match available.iter().position(|&b| b == b'\n') {
                Some(i) => (i + 1, true),
                None => (available.len(), false),
            };
            self.partial.extend_from_slice(&available[..take]);
            self.pos += take;
            if self.partial.len() > self.max_line {
                self.partial.clear();
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("the peer sent a line longer than {} bytes (see BufReader::max_line_length)", self.max_line),
                )));
            }
            if done {
                return Poll::Ready(Ok(()));
            }
        }
    }
}

impl<R: AsyncRead + Unpin> AsyncRead for BufReader<R> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        out: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        // Nothing buffered and a big read: skip our buffer, read straight in.
        if self.partial.is_empty() && self.pos == self.filled && out.len() >= self.buf.len() {
            return Pin::new(&mut self.inner).poll_read(cx, out);
        }
        let available = ready!(self.as_mut().poll_fill_buf(cx))?;
        let n = available.len().min(out.len());
        out[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Poll::Ready(Ok(n))
    }
}

impl<R: AsyncRead + Unpin> AsyncBufRead for BufReader<R> {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        let this = self.get_mut();
        if !this.partial.is_empty() {
            return Poll::Ready(Ok(&this.partial));
        }
        if this.pos == this.filled {
            let n = ready!(Pin::new(&mut this.inner).poll_read(cx, &mut this.buf))?;
            this.pos = 0;
            this.filled = n;
        }
        Poll::Ready(Ok(&this.buf[this.pos..this.filled]))
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        let this = self.get_mut();
        if !this.partial.is_empty() {
            this.partial.drain(..amt.min(this.partial.len()));
        } else {
            this.pos = (this.pos + amt).min(this.filled);
        }
    }
}

/// Lines of a [`BufReader`], without their line endings (from [`BufReader::lines`]).
#[derive(Debug)]
pub struct Lines<R> {
    reader: BufReader<R>,
}

impl<R: AsyncRead + Unpin> Lines<R> {
    /// The next line without its `\n` or `\r\n`; `None` at end of stream.
    /// Cancel-safe, like [`BufReader::read_line`].
    pub async fn next_line(&mut self) -> io::Result<Option<String>> {
        let mut line = String::new();
        if self.reader.read_line(&mut line).await? == 0 {
            return Ok(None);
        }
        if line.ends_with('\n') {
            line.pop();
            if line.ends_with('\r') {
                line.pop();
            }
        }
        Ok(Some(line))
    }

    /// The reader underneath (with any bytes it still buffers).
    pub fn into_inner(self) -> BufReader<R> {
        self.reader
    }

    /// The wrapped reader.
    pub fn get_mut(&mut self) -> &mut R {
        self.reader.get_mut()
    }
}
