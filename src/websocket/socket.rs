//! `WebSocket`: one open connection — whole messages in, whole messages out.
//!
//! All of the connection's state lives in the struct: bytes read but not yet
//! parsed, a message being reassembled, bytes queued but not yet written,
//! and the clocks that bound them. No state lives in a half-finished `async
//! fn` between awaits, so [`recv`](WebSocket::recv) is *cancel-safe*: a
//! server can `select` it against its outbox, drop it when the outbox wins,
//! and lose nothing — not a byte, not a second of a keepalive count.
//!
//! This file holds the struct, `recv` and the limits every connection
//! carries (its deadlines, its memory). Sending is in `socket/send.rs`;
//! receiving — checking a frame, deciding what it means, reading more — in
//! `socket/receive.rs`; pinging a quiet peer in `socket/keepalive.rs`;
//! reassembling fragments in `socket/fragments.rs`; the close handshake in
//! `socket/close.rs`.

use std::future::{poll_fn, Future};
use std::pin::{pin, Pin};
use std::task::Poll;
use std::time::Duration;

use futures_io::{AsyncRead, AsyncWrite};

use super::frame::{MaskRng, OpCode};
use super::read_buf::ReadBuf;

mod close;
mod fragments;
mod keepalive;
mod receive;
mod send;

use super::{CloseFrame, CloseReason, Config, Error, Message};
use crate::time::{sleep_until, timeout, Instant};
use fragments::Fragments;
use keepalive::Keepalive;
use receive::Handled;

/// Which end of the connection we are: it decides who masks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// We accepted the connection: incoming frames must be masked, ours are not.
    Server,
    /// We opened the connection: we mask every frame, incoming ones must not be masked.
    Client,
}

/// Where the close handshake stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Messages flow both ways.
    Open,
    /// We sent a close frame and wait for the peer's; data arriving now is discarded.
    CloseSent,
    /// The handshake is over, or the connection failed: nothing more in or out.
    Closed,
}

/// One WebSocket connection over any `AsyncRead + AsyncWrite` stream.
///
/// Made by [`accept`](super::accept) (server) or [`connect`](super::connect)
/// (client). Python's `websockets` reads the same way:
///
/// | `websockets` (asyncio) | evloop |
/// |---|---|
/// | `msg = await ws.recv()` / `async for msg in ws` | `while let Some(msg) = ws.recv().await? { … }` |
/// | `await ws.send("hi")` | `ws.send(Message::Text("hi".into())).await?` |
/// | `await ws.close()` | `ws.close(1000, "bye").await?` |
/// | `ws.close_code`, `ws.close_reason` | [`ws.close_frame()`](Self::close_frame) |
#[derive(Debug)]
pub struct WebSocket<S> {
    stream: S,
    role: Role,
    config: Config,
    state: State,
    /// Bytes read from the socket, not parsed yet.
    rbuf: ReadBuf,
    /// When the frame now arriving must be complete (see `Config::frame_timeout`).
    frame_deadline: Option<Instant>,
    fragments: Option<Fragments>,
    /// Whole frames waiting to be written; `wbuf[wpos..]` is not written yet.
    wbuf: Vec<u8>,
    wpos: usize,
    /// When what is queued must have been written (see `Config::send_timeout`).
    send_deadline: Option<Instant>,
    /// When we last heard from the peer, and whether our ping is out.
    keepalive: Keepalive,
    rng: MaskRng,
    peer_close: Option<CloseFrame>,
    /// Why we failed the connection, if we did: `recv` keeps returning it.
    failed: Option<CloseReason>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> WebSocket<S> {
    /// Wrap a stream whose handshake is done. `leftover`: bytes already read
    /// past the handshake (a client may send its first frame right behind it).
    pub fn from_parts(stream: S, leftover: Vec<u8>, role: Role, config: Config) -> WebSocket<S> {
        WebSocket {
            stream,
            role,
            config,
            state: State::Open,
            rbuf: ReadBuf::new(leftover),
            frame_deadline: None,
            fragments: None,
            wbuf: Vec::new(),
            wpos: 0,
            send_deadline: None,
            keepalive: Keepalive::new(),
            rng: MaskRng::new(),
            peer_close: None,
            failed: None,
        }
    }

    /// The next whole message; `Ok(None)` once the connection closed cleanly
    /// (the close handshake is done, see [`close_frame`](Self::close_frame) for why).
    /// Once we failed the connection, every call returns that error.
    ///
    /// On the way it answers pings with pongs, ignores pongs, reassembles
    /// fragments and checks everything. A peer that breaks the protocol gets
    /// a close frame (1002, 1007 or 1009) and the error says which. A peer
    /// that stays silent is pinged after [`Config::ping_interval`], and
    /// dropped with 1011 if it says nothing for [`Config::ping_timeout`] more.
    ///
    /// Cancel-safe: dropping the future loses no data.
    pub async fn recv(&mut self) -> Result<Option<Message>, Error> {
        loop {
            if self.state == State::Closed {
                return match self.failed {
                    Some(why) => Err(Error::Protocol(why)),
                    None => Ok(None),
                };
            }
            // A pong, ping or close frame queued by an earlier turn of this
            // loop goes out first. And nothing more is read while the peer
            // has not taken what we wrote: a peer that sends without reading
            // cannot fill our read and write buffers both.
            if self.buffered() > 0 {
                self.flush().await?;
            }
            match self.parse_frame() {
                Err(why) => return Err(self.fail(why).await),
                Ok(Some(frame)) => {
                    let handled = self.handle(frame);
                    // The frame's payload is copied or taken: a buffer that
                    // grew for it goes back to its idle size now.
                    self.rbuf.release();
                    match handled {
                        Err(why) => return Err(self.fail(why).await),
                        Ok(Handled::Message(message)) => return Ok(Some(message)),
                        Ok(Handled::Closed) => {
                            self.finish_close().await;
                            return Ok(None);
                        }
                        Ok(Handled::Nothing) => continue,
                    }
                }
                // We loop because one read may return only part of a frame
                // (or none: a keepalive ping was queued, the top of the loop sends it).
                Ok(None) => self.fill_rbuf().await?,
            }
        }
    }

    /// Are we the server or the client?
    pub fn role(&self) -> Role {
        self.role
    }

    /// The underlying stream.
    pub fn get_ref(&self) -> &S {
        &self.stream
    }

    /// How many bytes of memory this connection's buffers hold right now:
    /// the read buffer, a message being reassembled, the write buffer.
    ///
    /// What a server pays per connection beyond the socket itself. Between
    /// messages it is a few KiB at most; a big message raises it while it is
    /// read or written, and it falls back once that is done (see
    /// [`Config`](super::Config) for the bounds). Tests and monitoring read it.
    pub fn buffered_capacity(&self) -> usize {
        self.rbuf.capacity()
            + self.fragments.as_ref().map_or(0, |f| f.data.capacity())
            + self.wbuf.capacity()
    }

    /// The connection is over without a close handshake (a deadline passed,
    /// the socket failed, the peer vanished): nothing more in or out, and
    /// every buffer is freed now, not when the owner drops the `WebSocket`.
    fn abandon(&mut self) {
        self.state = State::Closed;
        self.rbuf.clear();
        self.fragments = None;
        self.wbuf = Vec::new();
        self.wpos = 0;
        self.send_deadline = None;
    }
}

/// Run `future` until `deadline`, if there is one: `None` if the deadline
/// came first (the future is then dropped).
///
/// [`timeout`] with an `Instant` instead of a `Duration`, because the
/// connection's deadlines live in the struct and must not move when a
/// `select` drops a `recv` and starts another. The future is polled first and
/// the timer only when it is not ready, so a read or write that succeeds at
/// once never touches the timer wheel.
pub(crate) async fn before<F: Future>(deadline: Option<Instant>, future: F) -> Option<F::Output> {
    let Some(deadline) = deadline else {
        return Some(future.await);
    };
    let mut future = pin!(future);
    let mut alarm = sleep_until(deadline);
    poll_fn(|cx| {
        if let Poll::Ready(output) = future.as_mut().poll(cx) {
            return Poll::Ready(Some(output));
        }
        Pin::new(&mut alarm).poll(cx).map(|()| None)
    })
    .await
}

/// Run `future`, under a time limit if there is one.
pub(crate) async fn within<F: Future>(
    limit: Option<Duration>,
    future: F,
) -> Result<F::Output, Error> {
    match limit {
        Some(limit) => timeout(limit, future).await.map_err(|_| Error::Timeout),
        None => Ok(future.await),
    }
}
