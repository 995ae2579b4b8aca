//! `WebSocket`: one open connection — whole messages in, whole messages out.
//!
//! All of the connection's state lives in the struct: bytes read but not yet
//! parsed, a message being reassembled, bytes queued but not yet written. No
//! state lives in a half-finished `async fn` between awaits, so
//! [`recv`](WebSocket::recv) is *cancel-safe*: a server can `select` it
//! against its outbox, drop it when the outbox wins, and lose nothing.
//!
//! This file holds the struct and the sending side. Receiving — checking a
//! frame, deciding what it means, reading more — is in `socket/receive.rs`;
//! reassembling fragments in `socket/fragments.rs`; the close handshake in
//! `socket/close.rs`.

use std::future::{poll_fn, Future};
use std::io;
use std::pin::Pin;
use std::time::Duration;

use futures_io::{AsyncRead, AsyncWrite};

use super::frame::{encode, MaskRng, OpCode, Prepared};
use super::read_buf::ReadBuf;

mod close;
mod fragments;
mod receive;

use super::{CloseFrame, Config, Error, Message};
use crate::io::write_some;
use crate::time::{timeout, Instant};
use fragments::Fragments;
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
    rng: MaskRng,
    peer_close: Option<CloseFrame>,
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
            rng: MaskRng::new(),
            peer_close: None,
        }
    }

    /// The next whole message; `Ok(None)` once the connection closed cleanly
    /// (the close handshake is done, see [`close_frame`](Self::close_frame) for why).
    ///
    /// On the way it answers pings with pongs, ignores pongs, reassembles
    /// fragments and checks everything. A peer that breaks the protocol gets
    /// a close frame (1002, 1007 or 1009) and the error says which.
    ///
    /// Cancel-safe: dropping the future loses no data.
    pub async fn recv(&mut self) -> Result<Option<Message>, Error> {
        loop {
            if self.state == State::Closed {
                return Ok(None);
            }
            // A pong or close reply queued by an earlier frame goes out first.
            if self.buffered() > 0 {
                self.flush().await?;
            }
            match self.parse_frame() {
                Err(why) => return Err(self.fail(why).await),
                Ok(Some(frame)) => match self.handle(frame) {
                    Err(why) => return Err(self.fail(why).await),
                    Ok(Handled::Message(message)) => return Ok(Some(message)),
                    Ok(Handled::Closed) => {
                        self.finish_close().await;
                        return Ok(None);
                    }
                    Ok(Handled::Nothing) => continue,
                },
                // We loop because one read may return only part of a frame.
                Ok(None) => self.fill_rbuf().await?,
            }
        }
    }

    /// Queue `message` and write it out.
    pub async fn send(&mut self, message: Message) -> Result<(), Error> {
        self.feed(&message)?;
        self.flush().await
    }

    /// Queue `message` without writing it yet; [`flush`](Self::flush) writes
    /// everything queued in as few syscalls as possible. (A server with ten
    /// messages for one client feeds ten and flushes once.)
    pub fn feed(&mut self, message: &Message) -> Result<(), Error> {
        let (opcode, payload) = match message {
            Message::Text(text) => (OpCode::Text, text.as_bytes()),
            Message::Binary(data) => (OpCode::Binary, &data[..]),
        };
        self.queue_frame(opcode, payload)
    }

    /// Queue a message encoded once for many clients (server side only:
    /// a client must mask each frame with its own key).
    pub fn feed_prepared(&mut self, prepared: &Prepared) -> Result<(), Error> {
        if self.state != State::Open {
            return Err(Error::Closed);
        }
        if self.role == Role::Client {
            return Err(Error::Io(io::Error::new(
                io::ErrorKind::InvalidInput,
                "a prepared (unmasked) frame can only be sent by a server",
            )));
        }
        self.wbuf.extend_from_slice(prepared.as_bytes());
        Ok(())
    }

    /// [`feed_prepared`](Self::feed_prepared), then [`flush`](Self::flush).
    pub async fn send_prepared(&mut self, prepared: &Prepared) -> Result<(), Error> {
        self.feed_prepared(prepared)?;
        self.flush().await
    }

    /// Send a ping; the peer's pong is swallowed by [`recv`](Self::recv).
    pub async fn ping(&mut self, payload: &[u8]) -> Result<(), Error> {
        self.queue_frame(OpCode::Ping, &payload[..payload.len().min(125)])?;
        self.flush().await
    }

    /// Write everything queued. Waits while the socket's send buffer is full:
    /// that is the peer reading slowly (backpressure). Cancel-safe: what was
    /// not written stays queued.
    pub async fn flush(&mut self) -> Result<(), Error> {
        // Not `crate::io::write_all`: its progress would live in its future and be
        // lost if a `select` dropped us. `wpos` keeps it in the struct.
        while self.wpos < self.wbuf.len() {
            self.wpos += write_some(&mut self.stream, &self.wbuf[self.wpos..]).await?;
        }
        self.wbuf.clear();
        self.wpos = 0;
        poll_fn(|cx| Pin::new(&mut self.stream).poll_flush(cx)).await?;
        Ok(())
    }

    /// How many bytes are queued but not yet written.
    pub fn buffered(&self) -> usize {
        self.wbuf.len() - self.wpos
    }

    /// Are we the server or the client?
    pub fn role(&self) -> Role {
        self.role
    }

    /// The underlying stream.
    pub fn get_ref(&self) -> &S {
        &self.stream
    }

    fn queue_frame(&mut self, opcode: OpCode, payload: &[u8]) -> Result<(), Error> {
        if self.state != State::Open {
            return Err(Error::Closed);
        }
        let mask = match self.role {
            Role::Client => Some(self.rng.mask()),
            Role::Server => None,
        };
        encode(&mut self.wbuf, true, opcode, payload, mask);
        Ok(())
    }
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
