//! Receiving: from bytes on the socket to whole messages.
//!
//! [`recv`](WebSocket::recv) is a loop over three steps, all here:
//! [`parse_frame`](WebSocket::parse_frame) checks a frame's header and
//! waits until all of it has arrived; [`handle`](WebSocket::handle) decides
//! what the frame means (a message, a fragment, a ping to answer, the
//! peer's close); [`fill_rbuf`](WebSocket::fill_rbuf) reads more when a
//! frame is not complete yet — and, while it waits, watches the deadlines:
//! the rest of a frame that began to arrive, and the keepalive ping. A frame
//! that breaks a rule comes back as the [`CloseReason`] we fail the
//! connection with.

use std::future::poll_fn;
use std::io;

use futures_io::{AsyncRead, AsyncWrite};

use super::close::parse_close;
use super::fragments::{check_utf8, Fragments, BAD_UTF8};
use super::keepalive::{Due, PING_TIMEOUT};
use super::{before, State, WebSocket};
use crate::time::Instant;
use crate::websocket::frame::{apply_mask, parse_header, OpCode};
use crate::websocket::{close_code, CloseCode, CloseFrame, CloseReason, Error, Message, Role};

/// A frame that has fully arrived: its kind and where its (unmasked)
/// payload sits in the read buffer.
pub(super) struct Frame {
    fin: bool,
    opcode: OpCode,
    start: usize,
    end: usize,
}

/// The peer broke the protocol (close code 1002), in this way.
pub(super) const fn protocol_error(reason: &'static str) -> CloseReason {
    CloseReason::new(CloseCode::ProtocolError, reason)
}

/// What a frame amounted to.
pub(super) enum Handled {
    Message(Message),
    Closed,
    Nothing,
}

impl<S: AsyncRead + AsyncWrite + Unpin> WebSocket<S> {
    /// Parse the next frame if it has fully arrived, checking every rule a
    /// header can break *before* waiting for the payload: a 2 GiB frame is
    /// refused from its first bytes, not after it filled our memory.
    pub(super) fn parse_frame(&mut self) -> Result<Option<Frame>, CloseReason> {
        let Some(header) = parse_header(self.rbuf.unparsed()) else {
            self.start_frame_clock();
            return Ok(None);
        };
        if header.rsv != 0 {
            return Err(protocol_error(
                "reserved bits set, but no extension was negotiated",
            ));
        }
        let Some(opcode) = OpCode::from_bits(header.opcode_bits) else {
            return Err(protocol_error("reserved opcode"));
        };
        match (self.role, header.mask.is_some()) {
            (Role::Server, false) => return Err(protocol_error("client frames must be masked")),
            (Role::Client, true) => return Err(protocol_error("server frames must not be masked")),
            _ => {}
        }
        if opcode.is_control() {
            if !header.fin {
                return Err(protocol_error("control frames must not be fragmented"));
            }
            if header.payload_len > 125 {
                return Err(protocol_error("control frames carry at most 125 bytes"));
            }
        } else {
            match (opcode, &self.fragments) {
                (OpCode::Continuation, None) => {
                    return Err(protocol_error(
                        "continuation frame with no message to continue",
                    ))
                }
                (OpCode::Text | OpCode::Binary, Some(_)) => {
                    return Err(protocol_error(
                        "a new message began before the last one finished",
                    ))
                }
                _ => {}
            }
            let so_far = self.fragments.as_ref().map_or(0, |f| f.data.len()) as u64;
            if so_far.saturating_add(header.payload_len) > self.config.max_message_size as u64 {
                return Err(CloseReason::new(
                    CloseCode::MessageTooBig,
                    "message larger than the limit",
                ));
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
            apply_mask(&mut self.rbuf.bytes_mut()[start..end], key, 0);
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
    pub(super) fn handle(&mut self, frame: Frame) -> Result<Handled, CloseReason> {
        let payload = frame.start..frame.end;
        match frame.opcode {
            OpCode::Text | OpCode::Binary if frame.fin => {
                let data = self.rbuf.take(payload);
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
                    data: self.rbuf.take(payload),
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

    /// Read at least one more byte into `rbuf` — or stop waiting at the
    /// first deadline: the frame deadline if a frame has started arriving,
    /// the keepalive's if the connection is open. (Not `crate::io::read_more`,
    /// which appends a stack chunk to a `Vec`: `rbuf` is reused read after
    /// read and sized to the frame, and end of stream here is an error — no
    /// close frame came.)
    ///
    /// `Ok(())` with nothing read means a keepalive ping was queued: `recv`
    /// sends it and comes back here.
    pub(super) async fn fill_rbuf(&mut self) -> Result<(), Error> {
        // Ask for the rest of the frame if we know its size, so a 16 MiB
        // message is read in big gulps — but zero at most 1 MiB at a time.
        let wanted = match parse_header(self.rbuf.unparsed()) {
            Some(h) => (h.header_len as u64 + h.payload_len)
                .saturating_sub(self.rbuf.unparsed().len() as u64) as usize,
            None => 0,
        };
        let keepalive = match self.state {
            State::Open => self.keepalive.deadline(&self.config),
            // Closing: `close_timeout` bounds the wait, and no ping may be sent.
            _ => None,
        };
        let deadline = earliest(self.frame_deadline, keepalive);
        let (rbuf, stream) = (&mut self.rbuf, &mut self.stream);
        let read = poll_fn(|cx| rbuf.poll_fill(cx, stream, wanted));
        let Some(n) = before(deadline, read).await else {
            return self.deadline_passed().await;
        };
        match n {
            Ok(0) => {
                self.abandon();
                Err(Error::Io(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the peer closed the connection without a close frame",
                )))
            }
            Ok(_) => {
                self.keepalive.heard(&self.config);
                Ok(())
            }
            Err(e) => {
                self.abandon();
                Err(Error::Io(e))
            }
        }
    }

    /// `fill_rbuf` waited until a deadline: act on the one that passed.
    async fn deadline_passed(&mut self) -> Result<(), Error> {
        let now = Instant::now();
        if self.frame_deadline.is_some_and(|deadline| now >= deadline) {
            // Half a frame, then silence: not worth a close handshake.
            self.abandon();
            return Err(Error::Timeout);
        }
        match self.keepalive.due(&self.config, now) {
            Some(Due::Ping) => {
                // Any bytes will do as an answer; an empty ping is the cheapest ask.
                let _ = self.queue_frame(OpCode::Ping, &[]);
                Ok(())
            }
            Some(Due::GiveUp) => Err(self.fail(PING_TIMEOUT).await),
            None => Ok(()),
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
}

/// The earlier of two optional deadlines.
fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}
