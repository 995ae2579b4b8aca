//! Sending: queue whole frames, write them out, and bound both.
//!
//! [`feed`](WebSocket::feed) appends an encoded frame to the write buffer;
//! [`flush`](WebSocket::flush) writes the buffer out, waiting whenever the
//! socket's send buffer is full — which is the peer reading slowly
//! (backpressure). Two limits keep a peer that does not read from pinning
//! the server's memory for ever:
//!
//! - **in time**: everything queued must be written within
//!   [`Config::send_timeout`](crate::websocket::Config::send_timeout). A
//!   peer that sent one 16 MiB message to `/echo` and never reads the echo
//!   is dropped then, and the 16 MiB freed;
//! - **in bytes**: [`feed`](WebSocket::feed) refuses to queue more than
//!   [`Config::max_write_buffer`](crate::websocket::Config::max_write_buffer)
//!   while earlier bytes are still waiting ([`send`](WebSocket::send) waits
//!   for room instead). An empty buffer always takes one message, so the
//!   limit never stops a message the receive side accepted from being echoed.
//!
//! Once everything is written the buffer shrinks back to [`IDLE_CAPACITY`]:
//! the memory of one big message is not kept for the rest of the connection.

use std::future::poll_fn;
use std::io;
use std::pin::Pin;

use futures_io::{AsyncRead, AsyncWrite};

use super::{before, Role, State, WebSocket};
use crate::io::write_some;
use crate::time::Instant;
use crate::websocket::frame::{encode, OpCode, Prepared};
use crate::websocket::read_buf::IDLE_CAPACITY;
use crate::websocket::{Error, Message};

/// The most bytes a frame's header adds to its payload.
const MAX_HEADER: usize = 14;

impl<S: AsyncRead + AsyncWrite + Unpin> WebSocket<S> {
    /// Queue `message` and write it out. If the write buffer is too full to
    /// take it (see [`feed`](Self::feed)), first wait until what is queued is
    /// written.
    pub async fn send(&mut self, message: Message) -> Result<(), Error> {
        if !self.has_room_for(message.as_bytes().len() + MAX_HEADER) {
            self.flush().await?;
        }
        self.feed(&message)?;
        // The frame holds a copy now: free the message before waiting on the
        // peer, or a peer that does not read pins both.
        drop(message);
        self.flush().await
    }

    /// Queue `message` without writing it yet; [`flush`](Self::flush) writes
    /// everything queued in as few syscalls as possible. (A server with ten
    /// messages for one client feeds ten and flushes once.)
    ///
    /// Refused with [`Error::WriteBufferFull`] if earlier bytes are still
    /// waiting and this one would take the buffer past
    /// [`Config::max_write_buffer`](crate::websocket::Config::max_write_buffer):
    /// [`flush`](Self::flush) first.
    pub fn feed(&mut self, message: &Message) -> Result<(), Error> {
        let (opcode, payload) = match message {
            Message::Text(text) => (OpCode::Text, text.as_bytes()),
            Message::Binary(data) => (OpCode::Binary, &data[..]),
        };
        if !self.has_room_for(payload.len() + MAX_HEADER) {
            return Err(Error::WriteBufferFull);
        }
        self.queue_frame(opcode, payload)
    }

    /// Queue a message encoded once for many clients (server side only:
    /// a client must mask each frame with its own key). Limited as
    /// [`feed`](Self::feed) is.
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
        if !self.has_room_for(prepared.as_bytes().len()) {
            return Err(Error::WriteBufferFull);
        }
        self.wbuf.extend_from_slice(prepared.as_bytes());
        Ok(())
    }

    /// [`feed_prepared`](Self::feed_prepared), then [`flush`](Self::flush);
    /// waits for room first, as [`send`](Self::send) does.
    pub async fn send_prepared(&mut self, prepared: &Prepared) -> Result<(), Error> {
        if !self.has_room_for(prepared.as_bytes().len()) {
            self.flush().await?;
        }
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
    ///
    /// Fails with [`Error::Timeout`] if the peer has not taken it all within
    /// [`Config::send_timeout`](crate::websocket::Config::send_timeout),
    /// counted from the first `flush` that found these bytes waiting (a
    /// cancelled `flush` does not restart the clock). The connection is then
    /// over and its buffers are freed at once.
    pub async fn flush(&mut self) -> Result<(), Error> {
        // Not `crate::io::write_all`: its progress would live in its future and be
        // lost if a `select` dropped us. `wpos` keeps it in the struct.
        while self.wpos < self.wbuf.len() {
            let deadline = self.send_deadline();
            match before(
                deadline,
                write_some(&mut self.stream, &self.wbuf[self.wpos..]),
            )
            .await
            {
                Some(Ok(n)) => self.wpos += n,
                Some(Err(e)) => {
                    self.abandon();
                    return Err(Error::Io(e));
                }
                None => {
                    // The peer does not read: no close frame could reach it
                    // either (it would queue behind what is stuck). Let go.
                    self.abandon();
                    return Err(Error::Timeout);
                }
            }
        }
        self.send_deadline = None;
        self.wbuf.clear();
        self.wpos = 0;
        // A buffer that grew for a big message does not stay big (a no-op
        // when it did not grow).
        self.wbuf.shrink_to(IDLE_CAPACITY);
        poll_fn(|cx| Pin::new(&mut self.stream).poll_flush(cx)).await?;
        Ok(())
    }

    /// How many bytes are queued but not yet written.
    pub fn buffered(&self) -> usize {
        self.wbuf.len() - self.wpos
    }

    /// Append one whole frame to the write buffer. Control frames (pongs,
    /// pings, close) come here directly: at most 129 bytes, they are never
    /// refused for room, so a pong or a close frame is never lost to the limit.
    pub(super) fn queue_frame(&mut self, opcode: OpCode, payload: &[u8]) -> Result<(), Error> {
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

    /// May `frame_len` more bytes be queued? Always into an empty buffer;
    /// otherwise only within `max_write_buffer` (counting the bytes already
    /// written but not yet dropped from the front of the buffer: that is
    /// memory too).
    fn has_room_for(&self, frame_len: usize) -> bool {
        self.buffered() == 0
            || self.wbuf.len().saturating_add(frame_len) <= self.config.max_write_buffer
    }

    /// When what is queued must be written by: set by the first `flush` that
    /// finds bytes waiting, kept until they are all written.
    fn send_deadline(&mut self) -> Option<Instant> {
        let limit = self.config.send_timeout?;
        Some(
            *self
                .send_deadline
                .get_or_insert_with(|| Instant::now() + limit),
        )
    }
}
