//! `OwnedReadHalf` and `OwnedWriteHalf`: a `TcpStream` split for two tasks.
//!
//! asyncio hands you a `(reader, writer)` pair from the start; here you split
//! a stream when you need it ([`TcpStream::into_split`](super::TcpStream::into_split)).
//! Both halves hold an `Arc` of the one registered socket. That is enough
//! because the reactor keeps separate lists of waiters for reading and for
//! writing: a task blocked reading and another blocked writing each get their
//! own wake-up.

use std::future::poll_fn;
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use super::evented::PollEvented;

type Shared = Arc<PollEvented<mio::net::TcpStream>>;

/// The reading half of a [`TcpStream`](super::TcpStream), from `into_split`.
///
/// Reads with the same methods as the stream: `read`, `read_exact`; and
/// implements `futures_io::AsyncRead`. Wrap it in a
/// [`BufReader`](super::BufReader) to read lines.
pub struct OwnedReadHalf {
    io: Shared,
}

/// The writing half of a [`TcpStream`](super::TcpStream), from `into_split`.
///
/// Writes with the same methods as the stream: `write`, `write_all`,
/// `flush`, `shutdown`; and implements `futures_io::AsyncWrite`.
///
/// **Dropping it shuts the write side down** (as tokio's does): the peer
/// reads end of stream, while the read half can still receive its reply.
pub struct OwnedWriteHalf {
    io: Shared,
    /// Shut down on drop, unless `shutdown` already did.
    shutdown_on_drop: bool,
}

impl OwnedReadHalf {
    pub(crate) fn new(io: Shared) -> OwnedReadHalf {
        OwnedReadHalf { io }
    }

    /// Read some bytes; `Ok(0)` means end of stream. See [`TcpStream::read`](super::TcpStream::read).
    pub async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        poll_fn(|cx| self.io.poll_read(cx, buf)).await
    }

    /// Read exactly `buf.len()` bytes; `UnexpectedEof` if the stream ends first.
    pub async fn read_exact(&mut self, buf: &mut [u8]) -> io::Result<()> {
        self.io.read_exact(buf).await
    }

    /// The address of the other end.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().peer_addr()
    }

    /// Our end's address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }
}

impl OwnedWriteHalf {
    pub(crate) fn new(io: Shared) -> OwnedWriteHalf {
        OwnedWriteHalf {
            io,
            shutdown_on_drop: true,
        }
    }

    /// Write some of `buf`; returns how many bytes were taken.
    pub async fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        poll_fn(|cx| self.io.poll_write(cx, buf)).await
    }

    /// Write all of `buf`, waiting while the send buffer is full.
    pub async fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        crate::io::write_all(self, buf).await
    }

    /// Nothing to flush: every write already reached the kernel.
    pub async fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }

    /// Close the write side now (send FIN); the peer reads end of stream.
    pub async fn shutdown(&mut self) -> io::Result<()> {
        self.shutdown_on_drop = false;
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
}

impl Drop for OwnedWriteHalf {
    fn drop(&mut self) {
        if self.shutdown_on_drop {
            // The connection may already be gone (reset by the peer): then
            // there is nothing left to shut down, and that is fine.
            let _ = self.io.get_ref().shutdown(Shutdown::Write);
        }
    }
}

impl std::fmt::Debug for OwnedReadHalf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OwnedReadHalf")
            .field("token", &self.io.token())
            .finish()
    }
}

impl std::fmt::Debug for OwnedWriteHalf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OwnedWriteHalf")
            .field("token", &self.io.token())
            .finish()
    }
}

impl futures_io::AsyncRead for OwnedReadHalf {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.io.poll_read(cx, buf)
    }
}

impl futures_io::AsyncWrite for OwnedWriteHalf {
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

    fn poll_close(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.shutdown_on_drop = false;
        Poll::Ready(self.io.get_ref().shutdown(Shutdown::Write))
    }
}
