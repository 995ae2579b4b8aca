//! The few helpers every protocol needs once: read more, write it all,
//! drain to the end, shut the write side.
//!
//! HTTP and WebSocket both sit on a byte stream, and a byte stream does not
//! keep message boundaries. So each helper loops (or is meant to be called
//! in a loop), for one of two reasons:
//!
//! - **a read may return part of a frame** — the kernel hands over whatever
//!   has arrived, maybe half a request head or three bytes of a frame header.
//!   The protocols therefore keep a buffer, call [`read_more`] to add to it,
//!   and try to parse again until a whole head or frame is there;
//! - **a write may take part of a buffer** — when the socket's send buffer is
//!   full (the peer reads slowly), `poll_write` accepts only some of the bytes,
//!   so [`write_all`] goes round until every byte is handed to the kernel.
//!
//! They run inside a poll of a task (step 1 of the turn): an `.await` here
//! that finds the socket not ready leaves the task's waker with the reactor
//! and returns `Pending`; step 4 wakes the task when the socket is ready.
//!
//! Everything is generic over `futures_io::AsyncRead` / `AsyncWrite`, not
//! tied to evloop's [`TcpStream`](crate::net::TcpStream): the WebSocket code
//! also runs on other runtimes' sockets (the benchmarks run it on tokio's),
//! and these helpers must come along.

use std::future::poll_fn;
use std::io;
use std::pin::Pin;

use futures_io::{AsyncRead, AsyncWrite};

/// How much [`read_more`] asks the kernel for at once.
const CHUNK: usize = 8 * 1024;

/// Read once — whatever has arrived, at least one byte — onto the end of
/// `buf`. Returns how many bytes came; `0` means the peer closed its side
/// (end of stream), and then `buf` is unchanged.
///
/// Callers loop: parse `buf`, and if the head or frame is not complete yet,
/// `read_more` and parse again. Cancel-safe: the bytes are appended in the
/// same poll that read them, so dropping the future never loses data.
pub(crate) async fn read_more(
    stream: &mut (impl AsyncRead + Unpin),
    buf: &mut Vec<u8>,
) -> io::Result<usize> {
    let mut chunk = [0u8; CHUNK];
    let n = poll_fn(|cx| Pin::new(&mut *stream).poll_read(cx, &mut chunk)).await?;
    buf.extend_from_slice(&chunk[..n]);
    Ok(n)
}

/// Write once, at least one byte of `data`, and say how many went.
///
/// A write that takes *zero* bytes of a non-empty buffer means the peer will
/// take no more; it becomes an error here (`WriteZero`), so no caller can
/// loop on it forever.
pub(crate) async fn write_some(
    stream: &mut (impl AsyncWrite + Unpin),
    data: &[u8],
) -> io::Result<usize> {
    let n = poll_fn(|cx| Pin::new(&mut *stream).poll_write(cx, data)).await?;
    if n == 0 && !data.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::WriteZero,
            "the peer stopped accepting data",
        ));
    }
    Ok(n)
}

/// Write all of `data`, then flush (asyncio's `writer.write(data)` followed
/// by `await writer.drain()`).
///
/// We loop because a write may take only part of the buffer: the kernel's
/// send buffer has room for some bytes, not all. Not cancel-safe — how far
/// it got lives in this future — so a caller that must survive being
/// cancelled keeps its own position instead (as `WebSocket::flush` does,
/// with [`write_some`]).
pub(crate) async fn write_all(
    stream: &mut (impl AsyncWrite + Unpin),
    mut data: &[u8],
) -> io::Result<()> {
    while !data.is_empty() {
        let n = write_some(stream, data).await?;
        data = &data[n..];
    }
    // A no-op on a `TcpStream`; a buffering writer needs it to send anything.
    poll_fn(|cx| Pin::new(&mut *stream).poll_flush(cx)).await
}

/// Read and throw away until the peer's end of stream.
///
/// We loop because the peer may still be sending: we only know it is done
/// when a read returns 0. Used on the way out of a connection: closing a
/// socket with unread bytes in it makes the kernel send a reset, and a reset
/// can destroy the last thing we wrote before the peer has read it.
pub(crate) async fn drain(stream: &mut (impl AsyncRead + Unpin)) -> io::Result<()> {
    let mut sink = [0u8; 4096];
    while poll_fn(|cx| Pin::new(&mut *stream).poll_read(cx, &mut sink)).await? > 0 {}
    Ok(())
}

/// Close our write side, so the peer reads end of stream (for a
/// `TcpStream`, `shutdown(Write)`: we can still read what it sends back).
pub(crate) async fn shutdown(stream: &mut (impl AsyncWrite + Unpin)) -> io::Result<()> {
    poll_fn(|cx| Pin::new(&mut *stream).poll_close(cx)).await
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::task::{Context, Poll};

    use super::*;

    /// A fake stream that reads from a script of chunks and writes at most
    /// `room` bytes per call, as a socket with a small send buffer would.
    struct Script {
        reads: VecDeque<Vec<u8>>,
        written: Vec<u8>,
        room: usize,
    }

    impl AsyncRead for Script {
        fn poll_read(
            mut self: Pin<&mut Self>,
            _cx: &mut Context<'_>,
            buf: &mut [u8],
        ) -> Poll<io::Result<usize>> {
            let chunk = self.reads.pop_front().unwrap_or_default();
            buf[..chunk.len()].copy_from_slice(&chunk);
            Poll::Ready(Ok(chunk.len()))
        }
    }

    impl AsyncWrite for Script {
        fn poll_write(
            mut self: Pin<&mut Self>,
            _cx: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            let n = buf.len().min(self.room);
            self.written.extend_from_slice(&buf[..n]);
            Poll::Ready(Ok(n))
        }
        fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
        fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    fn script(reads: &[&[u8]], room: usize) -> Script {
        Script {
            reads: reads.iter().map(|r| r.to_vec()).collect(),
            written: Vec::new(),
            room,
        }
    }

    #[test]
    fn read_more_appends_each_partial_read_until_end_of_stream() {
        let mut stream = script(&[b"GET / HT", b"TP/1.1\r\n"], 0);
        let mut buf = Vec::new();
        crate::run(async {
            assert_eq!(read_more(&mut stream, &mut buf).await.unwrap(), 8);
            assert_eq!(read_more(&mut stream, &mut buf).await.unwrap(), 8);
            assert_eq!(read_more(&mut stream, &mut buf).await.unwrap(), 0);
        });
        assert_eq!(buf, b"GET / HTTP/1.1\r\n");
    }

    #[test]
    fn write_all_goes_round_until_a_small_send_buffer_took_everything() {
        let mut stream = script(&[], 3);
        crate::run(write_all(&mut stream, b"hello, world")).unwrap();
        assert_eq!(stream.written, b"hello, world");
    }

    #[test]
    fn a_write_that_takes_nothing_is_an_error_not_a_spin() {
        let mut stream = script(&[], 0);
        let err = crate::run(write_all(&mut stream, b"x")).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::WriteZero);
    }

    #[test]
    fn drain_reads_until_end_of_stream() {
        let mut stream = script(&[b"late", b"bytes"], 0);
        crate::run(drain(&mut stream)).unwrap();
        assert!(stream.reads.is_empty());
    }
}
