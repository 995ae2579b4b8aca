//! `WebSocket`: one open connection — whole messages in, whole messages out.
//!
//! All of the connection's state lives in the struct: bytes read but not yet
//! parsed, a message being reassembled, bytes queued but not yet written. No
//! state lives in a half-finished `async fn` between awaits, so
//! [`recv`](WebSocket::recv) is *cancel-safe*: a server can `select` it
//! against its outbox, drop it when the outbox wins, and lose nothing.

use std::future::{poll_fn, Future};
use std::io;
use std::pin::Pin;
use std::time::Duration;

use futures_io::{AsyncRead, AsyncWrite};

use super::frame::{encode, parse_header, MaskRng, OpCode, Prepared};
use super::read_buf::ReadBuf;

mod close;
mod fragments;

use super::{close_code, CloseFrame, Config, Error, Message};
use crate::time::{timeout, Instant};
use close::parse_close;
use fragments::{check_utf8, Fragments, BAD_UTF8};

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

/// A frame that has fully arrived: its kind and where its (unmasked)
/// payload sits in the read buffer.
struct Frame {
    fin: bool,
    opcode: OpCode,
    start: usize,
    end: usize,
}

/// A failure to report with a close code: the protocol was broken.
type Fail = (u16, &'static str);

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
                Err((code, reason)) => return Err(self.fail(code, reason).await),
                Ok(Some(frame)) => match self.handle(frame) {
                    Err((code, reason)) => return Err(self.fail(code, reason).await),
                    Ok(Handled::Message(message)) => return Ok(Some(message)),
                    Ok(Handled::Closed) => {
                        self.finish_close().await;
                        return Ok(None);
                    }
                    Ok(Handled::Nothing) => continue,
                },
                // We loop because one read may return only part of a frame.
                Ok(None) => self.read_more().await?,
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
        while self.wpos < self.wbuf.len() {
            let stream = &mut self.stream;
            let pending = &self.wbuf[self.wpos..];
            let n = poll_fn(|cx| Pin::new(&mut *stream).poll_write(cx, pending)).await?;
            if n == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::WriteZero,
                    "the peer stopped accepting data",
                )
                .into());
            }
            self.wpos += n;
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

    /// Parse the next frame if it has fully arrived, checking every rule a
    /// header can break *before* waiting for the payload: a 2 GiB frame is
    /// refused from its first bytes, not after it filled our memory.
    fn parse_frame(&mut self) -> Result<Option<Frame>, Fail> {
        let Some(header) = parse_header(self.rbuf.unparsed()) else {
            self.start_frame_clock();
            return Ok(None);
        };
        if header.rsv != 0 {
            return Err((
                close_code::PROTOCOL_ERROR,
                "reserved bits set, but no extension was negotiated",
            ));
        }
        let Some(opcode) = OpCode::from_bits(header.opcode_bits) else {
            return Err((close_code::PROTOCOL_ERROR, "reserved opcode"));
        };
        match (self.role, header.mask.is_some()) {
            (Role::Server, false) => {
                return Err((close_code::PROTOCOL_ERROR, "client frames must be masked"))
            }
            (Role::Client, true) => {
                return Err((
                    close_code::PROTOCOL_ERROR,
                    "server frames must not be masked",
                ))
            }
            _ => {}
        }
        if opcode.is_control() {
            if !header.fin {
                return Err((
                    close_code::PROTOCOL_ERROR,
                    "control frames must not be fragmented",
                ));
            }
            if header.payload_len > 125 {
                return Err((
                    close_code::PROTOCOL_ERROR,
                    "control frames carry at most 125 bytes",
                ));
            }
        } else {
            match (opcode, &self.fragments) {
                (OpCode::Continuation, None) => {
                    return Err((
                        close_code::PROTOCOL_ERROR,
                        "continuation frame with no message to continue",
                    ))
                }
                (OpCode::Text | OpCode::Binary, Some(_)) => {
                    return Err((
                        close_code::PROTOCOL_ERROR,
                        "a new message began before the last one finished",
                    ))
                }
                _ => {}
            }
            let so_far = self.fragments.as_ref().map_or(0, |f| f.data.len()) as u64;
            if so_far.saturating_add(header.payload_len) > self.config.max_message_size as u64 {
                return Err((close_code::MESSAGE_TOO_BIG, "message larger than the limit"));
            }
        }
        let frame_len = header.header_len + header.payload_len as usize; // fits: checked against the limit above
        if self.rbuf.unparsed().len() < frame_len {
            self.start_frame_clock();
            return Ok(None);
        }
        let start = self.rbuf.start() + header.header_len;
        let end = self.rbuf.start() + frame_len;
        if let Some(key) = header.mask {
            super::apply_mask(&mut self.rbuf.bytes_mut()[start..end], key, 0);
        }
        // The payload stays at `start..end` until the next read.
        self.rbuf.consume(frame_len);
        self.frame_deadline = None;
        Ok(Some(Frame {
            fin: header.fin,
            opcode,
            start,
            end,
        }))
    }

    /// Act on one complete frame.
    fn handle(&mut self, frame: Frame) -> Result<Handled, Fail> {
        let payload = frame.start..frame.end;
        match frame.opcode {
            OpCode::Text | OpCode::Binary if frame.fin => {
                let data = self.rbuf.bytes()[payload].to_vec();
                if self.state != State::Open {
                    return Ok(Handled::Nothing); // closing: messages are discarded
                }
                Ok(Handled::Message(if frame.opcode == OpCode::Text {
                    Message::Text(String::from_utf8(data).map_err(|_| BAD_UTF8)?)
                } else {
                    Message::Binary(data)
                }))
            }
            OpCode::Text | OpCode::Binary => {
                let text = frame.opcode == OpCode::Text;
                let fragments = Fragments {
                    text,
                    data: self.rbuf.bytes()[payload].to_vec(),
                    valid_up_to: 0,
                };
                self.fragments = Some(check_utf8(fragments, false)?);
                Ok(Handled::Nothing)
            }
            OpCode::Continuation => {
                let mut fragments = self.fragments.take().expect("checked by parse_frame");
                fragments
                    .data
                    .extend_from_slice(&self.rbuf.bytes()[payload]);
                let fragments = check_utf8(fragments, frame.fin)?;
                if !frame.fin {
                    self.fragments = Some(fragments);
                    return Ok(Handled::Nothing);
                }
                if self.state != State::Open {
                    return Ok(Handled::Nothing);
                }
                Ok(Handled::Message(if fragments.text {
                    // Checked fragment by fragment, so this cannot fail.
                    Message::Text(String::from_utf8(fragments.data).map_err(|_| BAD_UTF8)?)
                } else {
                    Message::Binary(fragments.data)
                }))
            }
            OpCode::Ping => {
                if self.state == State::Open {
                    let data = self.rbuf.bytes()[payload].to_vec();
                    self.queue_frame(OpCode::Pong, &data).ok();
                }
                Ok(Handled::Nothing)
            }
            OpCode::Pong => Ok(Handled::Nothing),
            OpCode::Close => {
                let close = parse_close(&self.rbuf.bytes()[payload])?;
                if self.state == State::Open {
                    // Answer with the same code (or an empty close frame for an empty one).
                    match &close {
                        Some(c) => self.queue_close(c.code, ""),
                        None => self.queue_frame(OpCode::Close, &[]).unwrap_or(()),
                    }
                }
                self.peer_close = close.or(Some(CloseFrame {
                    code: close_code::NO_STATUS,
                    reason: String::new(),
                }));
                Ok(Handled::Closed)
            }
        }
    }

    /// Read at least one more byte into `rbuf`, under the frame deadline if a
    /// frame has started arriving.
    async fn read_more(&mut self) -> Result<(), Error> {
        // Ask for the rest of the frame if we know its size, so a 16 MiB
        // message is read in big gulps — but zero at most 1 MiB at a time.
        let wanted = match parse_header(self.rbuf.unparsed()) {
            Some(h) => (h.header_len as u64 + h.payload_len)
                .saturating_sub(self.rbuf.unparsed().len() as u64) as usize,
            None => 0,
        };
        let deadline = self.frame_deadline;
        let (rbuf, stream) = (&mut self.rbuf, &mut self.stream);
        let read = poll_fn(|cx| rbuf.poll_fill(cx, stream, wanted));
        let n = match deadline {
            Some(deadline) => match timeout(deadline.duration_since(Instant::now()), read).await {
                Ok(n) => n,
                Err(_) => {
                    self.state = State::Closed;
                    return Err(Error::Timeout);
                }
            },
            None => read.await,
        };
        match n {
            Ok(0) => {
                self.state = State::Closed;
                Err(Error::Io(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the peer closed the connection without a close frame",
                )))
            }
            Ok(_) => Ok(()),
            Err(e) => {
                self.state = State::Closed;
                Err(Error::Io(e))
            }
        }
    }

    /// A frame has begun to arrive: start its clock, once.
    fn start_frame_clock(&mut self) {
        if !self.rbuf.unparsed().is_empty() && self.frame_deadline.is_none() {
            if let Some(limit) = self.config.frame_timeout {
                self.frame_deadline = Some(Instant::now() + limit);
            }
        }
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

/// What a frame amounted to.
enum Handled {
    Message(Message),
    Closed,
    Nothing,
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
