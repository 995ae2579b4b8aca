//! The close handshake, and failing a connection with a close code.
//!
//! Why a handshake, not just closing TCP: see the [module doc](crate::websocket#the-close-handshake).
//! In short — each side sends a close frame, the server closes TCP first, and
//! we read until the peer's end of stream before letting the socket go, so a
//! reset never destroys a close frame in flight.

use futures_io::{AsyncRead, AsyncWrite};

use super::receive::protocol_error;
use super::{within, OpCode, Role, State, WebSocket};
use crate::io::{drain, shutdown};
use crate::websocket::{close_code, CloseCode, CloseFrame, CloseReason, Error};

impl<S: AsyncRead + AsyncWrite + Unpin> WebSocket<S> {
    /// Start the close handshake: send a close frame with `code` and
    /// `reason`, wait (up to `Config::close_timeout`) for the peer's close
    /// frame — discarding any messages still in flight — then close TCP.
    pub async fn close(&mut self, code: u16, reason: &str) -> Result<(), Error> {
        if self.state != State::Open {
            return Ok(());
        }
        self.queue_close(code, reason);
        self.state = State::CloseSent;
        let limit = self.config.close_timeout;
        let handshake = async {
            self.flush().await?;
            // `recv` in state CloseSent discards data and returns `None` at the peer's close.
            while self.recv().await?.is_some() {}
            Ok::<(), Error>(())
        };
        let result = match within(limit, handshake).await {
            Ok(result) => result,
            Err(elapsed) => Err(elapsed),
        };
        self.abandon(); // closed either way; free the buffers now
        result
    }

    /// The close frame the peer sent, once it has: its code and reason.
    pub fn close_frame(&self) -> Option<&CloseFrame> {
        self.peer_close.as_ref()
    }

    pub(super) fn queue_close(&mut self, code: u16, reason: &str) {
        let mut payload = code.to_be_bytes().to_vec();
        // 125 bytes at most in a control frame, 2 of them the code: cut the
        // reason at a character boundary so it stays valid UTF-8.
        let mut cut = reason.len().min(123);
        while !reason.is_char_boundary(cut) {
            cut -= 1;
        }
        payload.extend_from_slice(&reason.as_bytes()[..cut]);
        let _ = self.queue_frame(OpCode::Close, &payload);
    }

    /// The peer broke the protocol (or stopped answering pings): send a
    /// close frame saying `why`, then close our side and linger until the
    /// peer closes its own.
    ///
    /// The lingering takes time, and a `select` may drop `recv` meanwhile:
    /// `why` is kept, so the next `recv` returns it again instead of
    /// pretending the connection closed cleanly.
    pub(super) async fn fail(&mut self, why: CloseReason) -> Error {
        if self.state == State::Open {
            self.queue_close(why.code.as_u16(), why.reason);
        }
        self.failed = Some(why);
        self.finish_close().await;
        Error::Protocol(why)
    }

    /// End of the close handshake (or of a failed connection): write what is
    /// queued (our close frame), then close TCP. The server closes first
    /// (RFC 6455 §7.1.1); the client waits for it, then closes too. Either way we read and
    /// discard until the peer's end of stream, because closing a socket with
    /// unread bytes in it makes the kernel send a reset, and a reset can
    /// destroy our close frame before the peer has read it.
    pub(super) async fn finish_close(&mut self) {
        self.state = State::Closed;
        // Nothing more will be parsed: the read side's memory goes now (the
        // write side still holds our close frame).
        self.rbuf.clear();
        self.fragments = None;
        let limit = self.config.close_timeout;
        let role = self.role;
        let _ = within(limit, async {
            self.flush().await?;
            if role == Role::Server {
                shutdown(&mut self.stream).await?;
            }
            drain(&mut self.stream).await?;
            if role == Role::Client {
                // The server has closed; now our side, so it need not wait for our drop.
                shutdown(&mut self.stream).await?;
            }
            Ok::<(), Error>(())
        })
        .await;
        self.abandon(); // frees the write buffer too
    }
}

/// A close frame's payload: nothing, or a valid code and a UTF-8 reason.
pub(super) fn parse_close(payload: &[u8]) -> Result<Option<CloseFrame>, CloseReason> {
    match payload {
        [] => Ok(None),
        [_] => Err(protocol_error(
            "a close frame's payload must be empty or hold a 2-byte code",
        )),
        [hi, lo, reason @ ..] => {
            let code = u16::from_be_bytes([*hi, *lo]);
            if !close_code::is_valid(code) {
                return Err(protocol_error("invalid close code"));
            }
            let reason = std::str::from_utf8(reason).map_err(|_| {
                CloseReason::new(CloseCode::InvalidPayload, "close reason is not valid UTF-8")
            })?;
            Ok(Some(CloseFrame {
                code,
                reason: reason.to_string(),
            }))
        }
    }
}
