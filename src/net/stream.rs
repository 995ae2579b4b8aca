//! `TcpStream`: one TCP connection (asyncio's `open_connection` reader/writer pair).

use std::future::poll_fn;
use std::io;
use std::net::{Shutdown, SocketAddr, ToSocketAddrs};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use mio::Interest;

use super::evented::PollEvented;
use super::split::{OwnedReadHalf, OwnedWriteHalf};
use crate::runtime::driver::reactor::Direction;

/// A TCP connection on the event loop.
///
/// Made by [`TcpStream::connect`] (asyncio's `open_connection`) or
/// [`TcpListener::accept`](super::TcpListener::accept). Reading and writing
/// are inherent `async fn`s, so nothing needs importing:
///
/// ```
/// use evloop::net::{TcpListener, TcpStream};
///
/// evloop::run(async {
///     let listener = TcpListener::bind("127.0.0.1:0").await?;
///     let addr = listener.local_addr()?;
///     evloop::spawn(async move {
///         let (mut peer, _) = listener.accept().await.unwrap();
///         peer.write_all(b"hello\n").await.unwrap();
///     }); // the task ends, `peer` is dropped: the connection closes
///
///     let mut stream = TcpStream::connect(addr).await?;
///     let mut reply = Vec::new();
///     let mut buf = [0u8; 64];
///     loop {
///         let n = stream.read(&mut buf).await?;
///         if n == 0 { break } // 0 bytes: the peer closed the connection
///         reply.extend_from_slice(&buf[..n]);
///     }
///     assert_eq!(reply, b"hello\n");
///     Ok::<(), std::io::Error>(())
/// }).unwrap();
/// ```
///
/// It also implements `futures_io::AsyncRead` and `AsyncWrite`, so helpers
/// from the wider ecosystem (`futures-util`'s `AsyncReadExt`, codecs) work on it.
///
/// To read in one task and write in another, [`into_split`](TcpStream::into_split)
/// it. A stream belongs to the runtime it was created in; dropping it closes
/// the connection and deregisters it from the reactor.
pub struct TcpStream {
    io: PollEvented<mio::net::TcpStream>,
}

impl TcpStream {
    /// Open a connection to `addr` (asyncio's `open_connection(host, port)`).
    ///
    /// Each address `addr` resolves to is tried in turn; the first that
    /// accepts wins, else the last error is returned. A refused connection is
    /// an error (`ConnectionRefused`), never a hang.
    ///
    /// Resolving a *host name* (`"example.com:80"`) asks the system resolver,
    /// which blocks the loop for the lookup; IP addresses (`"127.0.0.1:8888"`,
    /// a `SocketAddr`) never do.
    pub async fn connect(addr: impl ToSocketAddrs) -> io::Result<TcpStream> {
        let mut last_error = None;
        for addr in addr.to_socket_addrs()? {
            match TcpStream::connect_addr(addr).await {
                Ok(stream) => return Ok(stream),
                Err(e) => last_error = Some(e),
            }
        }
        Err(last_error.unwrap_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "the address resolved to nothing; nothing to connect to",
            )
        }))
    }

    /// Connect to one address.
    ///
    /// A non-blocking `connect` returns at once with the handshake still in
    /// flight. The socket becomes *writable* when the handshake ends, either
    /// way; then `take_error` says whether it failed (refused, unreachable)
    /// and `peer_addr` whether it is really connected yet (`NotConnected`:
    /// still in flight, so we treat it like `WouldBlock` and wait again).
    async fn connect_addr(addr: SocketAddr) -> io::Result<TcpStream> {
        let with_addr = |e: io::Error| io::Error::new(e.kind(), format!("connect to {addr}: {e}"));
        let socket = mio::net::TcpStream::connect(addr).map_err(with_addr)?;
        let io = PollEvented::new(socket, Interest::READABLE | Interest::WRITABLE)?;
        poll_fn(|cx| {
            io.poll_io(cx, Direction::Write, |socket| {
                if let Some(e) = socket.take_error()? {
                    return Err(e);
                }
                match socket.peer_addr() {
                    Ok(_) => Ok(()),
                    Err(e) if e.kind() == io::ErrorKind::NotConnected => {
                        Err(io::ErrorKind::WouldBlock.into())
                    }
                    Err(e) => Err(e),
                }
            })
        })
        .await
        .map_err(with_addr)?;
        Ok(TcpStream { io })
    }

    /// Wrap a socket that `accept` returned.
    pub(crate) fn from_mio(socket: mio::net::TcpStream) -> io::Result<TcpStream> {
        Ok(TcpStream {
            io: PollEvented::new(socket, Interest::READABLE | Interest::WRITABLE)?,
        })
    }

    /// Read some bytes into `buf`; returns how many. `Ok(0)` means the peer
    /// closed its side (end of stream) — or that `buf` was empty.
    ///
    /// Waits only if nothing has arrived yet; returns as soon as *some* bytes
    /// are there, which may be fewer than `buf.len()`.
    pub async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        poll_fn(|cx| self.io.poll_read(cx, buf)).await
    }

    /// Read exactly `buf.len()` bytes; `UnexpectedEof` if the stream ends first.
    pub async fn read_exact(&mut self, buf: &mut [u8]) -> io::Result<()> {
        self.io.read_exact(buf).await
    }

    /// Write some of `buf`; returns how many bytes were taken (maybe fewer
    /// than `buf.len()`). Usually you want [`write_all`](TcpStream::write_all).
    pub async fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        poll_fn(|cx| self.io.poll_write(cx, buf)).await
    }

    /// Write all of `buf` (asyncio's `writer.write(buf)` + `await writer.drain()`):
    /// waits whenever the kernel's send buffer is full — that is backpressure
    /// from a slow reader.
    pub async fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        crate::io::write_all(self, buf).await
    }

    /// Does nothing, successfully: a TCP socket has no buffer in user space,
    /// every `write` already went to the kernel. Here so code written for
    /// buffered writers reads the same.
    pub async fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }

    /// Close the write side (send FIN): the peer reads `Ok(0)`, end of stream,
    /// while we can still read what it sends back. asyncio's `write_eof()`.
    pub async fn shutdown(&mut self) -> io::Result<()> {
        self.io.get_ref().shutdown(Shutdown::Write)
    }

    /// The address of the other end.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().peer_addr()
    }

    /// Our end's address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// Turn Nagle's algorithm off (`true`) so small writes go out at once
    /// instead of waiting to be merged: lower latency for request/response.
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.io.get_ref().set_nodelay(nodelay)
    }

    /// Is Nagle's algorithm off?
    pub fn nodelay(&self) -> io::Result<bool> {
        self.io.get_ref().nodelay()
    }

    /// The reactor token of this socket: the `N` of `io#N` in the trace.
    pub fn trace_token(&self) -> usize {
        self.io.token()
    }

    /// Split into a read half and a write half that can move into two
    /// different tasks (a chat client reads the server in one task and sends
    /// what you type in another).
    ///
    /// Both halves share the socket; the reactor keeps separate lists of
    /// readers and writers waiting, so neither half's waiting disturbs the
    /// other. Dropping the write half shuts the write side down (the peer
    /// sees end of stream); the socket closes when both halves are gone.
    ///
    /// ```
    /// # use evloop::net::{TcpListener, TcpStream};
    /// evloop::run(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     let client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
    ///     let (server, _) = listener.accept().await.unwrap();
    ///     let (mut read, mut write) = server.into_split();
    ///     // An echo server as two tasks: one reads, one writes.
    ///     let (tx, mut rx) = evloop::sync::mpsc::channel::<Vec<u8>>(8);
    ///     evloop::spawn(async move {
    ///         let mut buf = [0u8; 1024];
    ///         loop {
    ///             let n = read.read(&mut buf).await.unwrap_or(0);
    ///             if n == 0 || tx.send(buf[..n].to_vec()).await.is_err() { break }
    ///         }
    ///     });
    ///     evloop::spawn(async move {
    ///         while let Some(chunk) = rx.recv().await {
    ///             write.write_all(&chunk).await.unwrap();
    ///         }
    ///     });
    ///     let mut client = client;
    ///     client.write_all(b"ping").await.unwrap();
    ///     let mut reply = [0u8; 4];
    ///     client.read_exact(&mut reply).await.unwrap();
    ///     assert_eq!(&reply, b"ping");
    /// });
    /// ```
    pub fn into_split(self) -> (OwnedReadHalf, OwnedWriteHalf) {
        let shared = Arc::new(self.io);
        (
            OwnedReadHalf::new(shared.clone()),
            OwnedWriteHalf::new(shared),
        )
    }
}

impl std::fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TcpStream")
            .field("local", &self.local_addr().ok())
            .field("peer", &self.peer_addr().ok())
            .field("token", &self.io.token())
            .finish()
    }
}

impl futures_io::AsyncRead for TcpStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        // The same as through a shared reference (below).
        Pin::new(&mut &*self).poll_read(cx, buf)
    }
}

impl futures_io::AsyncWrite for TcpStream {
    // The same as through a shared reference (below): a write needs no `&mut`.
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut &*self).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut &*self).poll_flush(cx)
    }

    /// Shuts the write side down, as [`TcpStream::shutdown`] does.
    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut &*self).poll_close(cx)
    }
}

/// Reading through a shared reference, as std's `impl Read for &TcpStream`
/// allows: several tasks may read one socket through an `Arc<TcpStream>`.
/// Each read gets whichever bytes come first, so this suits sockets where any
/// reader may take any message; a protocol with one reader wants
/// [`into_split`](TcpStream::into_split). Every task waiting here is woken by
/// the next readable edge (the reactor keeps a list of waiters per direction).
impl futures_io::AsyncRead for &TcpStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.io.poll_read(cx, buf)
    }
}

/// Writing through a shared reference (std's `impl Write for &TcpStream`):
/// several tasks may write one socket. Each write is one syscall, so two
/// writers' bytes may interleave between writes; every writer waiting on a
/// full send buffer is woken when the peer drains it.
impl futures_io::AsyncWrite for &TcpStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.io.poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    /// Shuts the write side down, as [`TcpStream::shutdown`] does.
    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.io.get_ref().shutdown(Shutdown::Write))
    }
}

/// The OS socket, for options this type has no method for (via `socket2::SockRef`, say).
#[cfg(unix)]
impl std::os::fd::AsFd for TcpStream {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.io.get_ref().as_fd()
    }
}

#[cfg(unix)]
impl std::os::fd::AsRawFd for TcpStream {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.io.get_ref().as_raw_fd()
    }
}
