//! `PollEvented`: a mio source, registered with the reactor, and the
//! read/write loops that every socket type shares.
//!
//! `TcpStream`, `TcpListener` and the two halves of a split stream all hold
//! one of these. It owns the mio socket and its [`Registration`], and turns
//! "try the syscall, and if it would block, wait for the next edge" into
//! `poll_read` / `poll_write`. The rule itself lives in
//! [`Registration::poll_io`]; this file adds one refinement, explained at
//! [`PollEvented::poll_read`].
//!
//! A `PollEvented` is shared by reference (`&self`): mio implements `Read` and
//! `Write` for `&mio::net::TcpStream`, so a read half and a write half — or
//! several tasks holding one `Arc<TcpListener>` — can use the same socket.
//! The reactor keeps a list of waiters per direction of every source
//! (`runtime/driver/reactor.rs`): a reader and a writer wait in separate
//! lists, and every task waiting in one direction is woken by its next edge
//! (those that then find `WouldBlock` just wait again). No waiter ever
//! overwrites another's waker.
//!
//! If the runtime the socket was registered with has been dropped, every
//! call fails with an error: no reactor is left to report an edge.

use std::io::{self, Read, Write};
use std::task::{ready, Context, Poll};

use mio::Interest;

use crate::runtime::context;
use crate::runtime::driver::reactor::{Direction, Registration};
use crate::task::coop;

/// A mio socket registered with the current runtime's reactor.
///
/// Deregisters the socket when dropped, before closing it.
pub(crate) struct PollEvented<S: mio::event::Source> {
    /// `Some` until `drop` takes it out to deregister it.
    io: Option<S>,
    registration: Registration,
}

impl<S: mio::event::Source> PollEvented<S> {
    /// Register `io` for `interest` with the current runtime.
    ///
    /// # Panics
    /// Outside a runtime (the message says to use `evloop::run`).
    #[track_caller]
    pub(crate) fn new(mut io: S, interest: Interest) -> io::Result<PollEvented<S>> {
        let handle = context::io_handle("registering an I/O source");
        let registration = Registration::new(handle, &mut io, interest)?;
        Ok(PollEvented {
            io: Some(io),
            registration,
        })
    }

    /// The mio socket.
    pub(crate) fn get_ref(&self) -> &S {
        self.io.as_ref().expect("socket is present until drop")
    }

    /// The reactor token (`io#N` in the trace).
    pub(crate) fn token(&self) -> usize {
        self.registration.token()
    }

    /// Run `op` under the edge-triggered discipline (see the reactor): try
    /// it; on `WouldBlock` clear readiness and wait for the next edge.
    pub(crate) fn poll_io<R>(
        &self,
        cx: &mut Context<'_>,
        dir: Direction,
        op: impl FnMut(&S) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        // Out of budget: hand the thread back first (see `task/coop.rs`).
        ready!(coop::poll_proceed(cx));
        let io = self.get_ref();
        let mut op = op;
        let result = self.registration.poll_io(cx, dir, || op(io));
        if result.is_ready() {
            coop::spend();
        }
        result
    }
}

impl<S> PollEvented<S>
where
    S: mio::event::Source,
    for<'a> &'a S: Read + Write,
{
    /// Read into `buf`; `Ready(Ok(0))` means end of stream (or an empty `buf`).
    ///
    /// One refinement over the plain rule: a read that fills only *part* of
    /// `buf` has drained the kernel's receive buffer, so the next read would
    /// almost surely say `WouldBlock`. We clear readiness right away and skip
    /// that wasted syscall — the echo bench does one read per message instead
    /// of two. It is safe for the same reason rule 3 is: data that arrives
    /// after our read raises a new edge, and the tick keeps an edge that
    /// raced with us.
    pub(crate) fn poll_read(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        // A socket that always has data would otherwise keep this task (and
        // so the loop) busy forever: see `task/coop.rs`.
        ready!(coop::poll_proceed(cx));
        let result = self.read_ready(cx, buf);
        if result.is_ready() {
            coop::spend();
        }
        result
    }

    /// `poll_read` without the budget: the edge-triggered read loop itself.
    fn read_ready(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        loop {
            let tick = ready!(self.registration.poll_ready(cx, Direction::Read))?;
            match self.get_ref().read(buf) {
                Ok(n) => {
                    if n > 0 && n < buf.len() {
                        self.registration.clear_readiness(Direction::Read, tick);
                    }
                    return Poll::Ready(Ok(n));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.registration.clear_readiness(Direction::Read, tick);
                }
                // A signal interrupted the syscall: just try again.
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }

    /// Write from `buf`; returns how many bytes the kernel took (maybe fewer
    /// than `buf.len()`: its send buffer filled up).
    ///
    /// A short write means the send buffer is full, so — like a short read —
    /// it clears write readiness at once: the next write waits for the peer to
    /// drain some data (a new edge) instead of trying and failing first.
    pub(crate) fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        ready!(coop::poll_proceed(cx));
        let result = self.write_ready(cx, buf);
        if result.is_ready() {
            coop::spend();
        }
        result
    }

    /// `poll_write` without the budget: the edge-triggered write loop itself.
    fn write_ready(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        loop {
            let tick = ready!(self.registration.poll_ready(cx, Direction::Write))?;
            match self.get_ref().write(buf) {
                Ok(n) => {
                    if n > 0 && n < buf.len() {
                        self.registration.clear_readiness(Direction::Write, tick);
                    }
                    return Poll::Ready(Ok(n));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.registration.clear_readiness(Direction::Write, tick);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }

    /// Read until `buf` is full. Fails with `UnexpectedEof` if the stream
    /// ends first (the bytes read so far are in `buf`, but how many is lost:
    /// use `read` in a loop when a short message is acceptable).
    pub(crate) async fn read_exact(&self, buf: &mut [u8]) -> io::Result<()> {
        let mut filled = 0;
        // We loop because one read returns whatever has arrived, which may be
        // only part of what we asked for.
        while filled < buf.len() {
            let n = std::future::poll_fn(|cx| self.poll_read(cx, &mut buf[filled..])).await?;
            if n == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!(
                        "the peer closed the stream after {filled} of {} bytes",
                        buf.len()
                    ),
                ));
            }
            filled += n;
        }
        Ok(())
    }
}

impl<S: mio::event::Source> Drop for PollEvented<S> {
    fn drop(&mut self) {
        if let Some(mut io) = self.io.take() {
            // Out of epoll first (mio needs the socket for that), then closed
            // when `io` goes; the `Registration` field then frees the token.
            // An error here means the OS already forgot the socket: nothing to undo.
            let _ = self.registration.deregister(&mut io);
        }
    }
}
