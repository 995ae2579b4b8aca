//! Simulated connections: an in-memory stream pair that behaves like a
//! `TcpStream`, on a network whose latency a seed decides.
//!
//! A test of a server over real sockets is at the mercy of the kernel: when
//! a packet arrives is not the test's to choose, so no seed can replay it.
//! A [`DuplexStream`] pair carries bytes through memory instead, and every
//! delivery is an evloop timer: written bytes arrive after a latency drawn by
//! the [`Network`]'s seeded generator, one connection keeps its order, and two
//! connections interleave differently under different seeds. Faults are
//! injected by hand: a peer that [vanishes](DuplexStream::vanish_after) in the
//! middle of a message, a [stall](DuplexStream::stall).
//!
//! The stream has the same inherent methods as `TcpStream` (`read`,
//! `read_exact`, `write`, `write_all`, `flush`, `shutdown`) and the same
//! `futures-io` traits, so code generic over `AsyncRead + AsyncWrite` — a
//! WebSocket, the chat's member task — runs on it unchanged.

use std::future::{poll_fn, Future};
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use futures_io::{AsyncRead, AsyncWrite};

use super::network::Network;
use super::wire::Wire;
use crate::task::WaitReason;
use crate::time::{sleep_until, Instant, Sleep};

/// One end of a simulated connection (see the module doc). Dropping it
/// closes both directions: the peer reads the end of the stream once what
/// was sent has arrived, and its writes fail with `BrokenPipe`.
pub struct DuplexStream {
    incoming: Arc<Mutex<Wire>>,
    outgoing: Arc<Mutex<Wire>>,
    net: Network,
    /// The timer for the next packet on its way to us.
    arrival: Option<Pin<Box<Sleep>>>,
}

impl std::fmt::Debug for DuplexStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DuplexStream").finish_non_exhaustive()
    }
}

impl DuplexStream {
    pub(super) fn new(
        incoming: Arc<Mutex<Wire>>,
        outgoing: Arc<Mutex<Wire>>,
        net: Network,
    ) -> Self {
        DuplexStream {
            incoming,
            outgoing,
            net,
            arrival: None,
        }
    }

    /// Read some bytes into `buf`; `Ok(0)` is the end of the stream. Waits
    /// until something has *arrived* (been written and spent its latency).
    pub async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        poll_fn(|cx| self.poll_read_here(cx, buf)).await
    }

    /// Read exactly `buf.len()` bytes; `UnexpectedEof` if the stream ends first.
    pub async fn read_exact(&mut self, buf: &mut [u8]) -> io::Result<()> {
        let mut filled = 0;
        while filled < buf.len() {
            match self.read(&mut buf[filled..]).await? {
                0 => return Err(io::ErrorKind::UnexpectedEof.into()),
                n => filled += n,
            }
        }
        Ok(())
    }

    /// Write some of `buf` (up to the room left); how many bytes were taken.
    pub async fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        poll_fn(|cx| self.poll_write_here(cx, buf)).await
    }

    /// Write all of `buf`, waiting for room as a slow reader frees it.
    pub async fn write_all(&mut self, mut buf: &[u8]) -> io::Result<()> {
        while !buf.is_empty() {
            let n = self.write(buf).await?;
            buf = &buf[n..];
        }
        Ok(())
    }

    /// Nothing to do: every write is already on the wire.
    pub async fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }

    /// Close the write side: the peer reads the end of the stream once what
    /// was sent has arrived; we can still read.
    pub async fn shutdown(&mut self) -> io::Result<()> {
        self.close_write();
        Ok(())
    }

    // ANCHOR: faults
    /// Fault: after `bytes` more bytes, this end vanishes, as a process that
    /// crashes in the middle of a message. The write that crosses the limit
    /// sends only its first part; from then on every call here fails, and the
    /// peer, once the bytes already sent arrive, reads `ConnectionReset`.
    pub fn vanish_after(&self, bytes: usize) {
        if bytes == 0 {
            self.vanish();
        } else {
            lock(&self.outgoing).vanish_after = Some(bytes);
        }
    }

    /// Fault: nothing this end sends arrives before `duration` from now, as
    /// on a congested or flapping link. Packets still on the way wait too;
    /// what already arrived stays readable.
    pub fn stall(&self, duration: Duration) {
        let now = Instant::now();
        let waker = {
            let mut wire = lock(&self.outgoing);
            wire.stall(now, now + duration);
            wire.read_waker.take() // the peer re-arms its timer for the new time
        };
        wake(waker);
    }
    // ANCHOR_END: faults

    // ANCHOR: poll_read
    fn poll_read_here(&mut self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        if self.has_vanished() {
            return Poll::Ready(Err(vanished()));
        }
        loop {
            let now = Instant::now();
            let (result, freed) = {
                let mut wire = lock(&self.incoming);
                let n = wire.take(buf, now);
                let next = wire.next_arrival();
                let result = if n > 0 || buf.is_empty() {
                    Ok(n)
                } else if let Some(at) = next {
                    Err(Some(at)) // on its way: wait for it to arrive
                } else if wire.reset {
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::ConnectionReset,
                        "the peer vanished (a simulated fault)",
                    )));
                } else if wire.closed {
                    Ok(0)
                } else {
                    wire.read_waker = Some(cx.waker().clone());
                    Err(None) // nothing sent: wait for a write
                };
                // Room was made: the writer may go on (woken after the lock).
                let freed = (n > 0).then(|| wire.write_waker.take()).flatten();
                (result, freed)
            };
            wake(freed);
            match result {
                Ok(n) => return Poll::Ready(Ok(n)),
                Err(None) => {
                    crate::task::wait::record(WaitReason::Duplex);
                    return Poll::Pending;
                }
                Err(Some(at)) => {
                    // An evloop timer for the arrival; a stall or a new
                    // packet ahead wakes us through `read_waker` to re-arm it.
                    lock(&self.incoming).read_waker = Some(cx.waker().clone());
                    let sleep = self
                        .arrival
                        .get_or_insert_with(|| Box::pin(sleep_until(at)));
                    if sleep.deadline() != at {
                        sleep.as_mut().reset(at);
                    }
                    if sleep.as_mut().poll(cx).is_pending() {
                        return Poll::Pending;
                    }
                    // Arrived: go round and take it.
                }
            }
        }
    }
    // ANCHOR_END: poll_read

    fn poll_write_here(&mut self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        let arrives = Instant::now() + self.net.draw();
        let (sent, gone, reader) = {
            let mut wire = lock(&self.outgoing);
            if wire.reset {
                return Poll::Ready(Err(vanished()));
            }
            if wire.reader_gone {
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::BrokenPipe,
                    "the peer closed the connection",
                )));
            }
            if wire.closed {
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::BrokenPipe,
                    "write after shutdown",
                )));
            }
            let room = wire.capacity - wire.queued;
            if room == 0 {
                wire.write_waker = Some(cx.waker().clone());
                drop(wire);
                crate::task::wait::record(WaitReason::Duplex);
                return Poll::Pending;
            }
            let mut n = buf.len().min(room);
            if let Some(left) = wire.vanish_after {
                // Positive until the write that reaches the limit.
                n = n.min(left);
                wire.vanish_after = Some(left - n);
            }
            wire.send(&buf[..n], arrives);
            (n, wire.vanish_after == Some(0), wire.read_waker.take())
        };
        wake(reader);
        if gone {
            // The process died right after these bytes left.
            self.vanish();
        }
        Poll::Ready(Ok(sent))
    }

    /// This end dies: the peer reads what already left, then
    /// `ConnectionReset`; its writes to us fail; every call here fails.
    fn vanish(&self) {
        let reader = {
            let mut wire = lock(&self.outgoing);
            wire.reset = true;
            wire.read_waker.take()
        };
        let writer = {
            let mut wire = lock(&self.incoming);
            wire.reader_gone = true;
            wire.write_waker.take()
        };
        wake(reader);
        wake(writer);
    }

    fn has_vanished(&self) -> bool {
        lock(&self.outgoing).reset
    }

    fn close_write(&self) {
        let waker = {
            let mut wire = lock(&self.outgoing);
            wire.closed = true;
            wire.read_waker.take()
        };
        wake(waker);
    }
}

fn vanished() -> io::Error {
    io::Error::new(
        io::ErrorKind::BrokenPipe,
        "this end vanished (a simulated fault)",
    )
}

impl Drop for DuplexStream {
    fn drop(&mut self) {
        self.close_write();
        let waker = {
            let mut wire = lock(&self.incoming);
            wire.reader_gone = true;
            wire.write_waker.take()
        };
        wake(waker);
    }
}

impl AsyncRead for DuplexStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().poll_read_here(cx, buf)
    }
}

impl AsyncWrite for DuplexStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().poll_write_here(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.close_write();
        Poll::Ready(Ok(()))
    }
}

pub(super) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Wake a waker taken out of a wire, if there was one (after the lock is gone).
fn wake(waker: Option<Waker>) {
    if let Some(waker) = waker {
        waker.wake();
    }
}
