//! Keepalive: ping a peer that went quiet, give up on one that stays quiet.
//!
//! TCP does not notice a peer that vanished — a laptop lid closed, a phone
//! out of range, a NAT box that forgot the connection. No FIN, no RST comes:
//! the socket stays open and idle for ever, holding a file descriptor and a
//! task. A server with 256 descriptors and 249 such ghosts has room for
//! nobody else. So while [`recv`](super::WebSocket::recv) waits for bytes it
//! also watches the clock:
//!
//! ```text
//!  last bytes from the peer       ping_interval later       ping_timeout later
//!  ──────────┬────────────────────────────┬─────────────────────────┬──────────▶ time
//!            │  silence is fine: chat      │ we send a ping          │ still nothing:
//!            │  users go quiet             │ (any bytes now count    │ close 1011
//!            │                             │  as life, not only the  │ "keepalive ping
//!            │                             │  pong)                  │  timeout"
//! ```
//!
//! Any bytes from the peer restart the count, so a chatty peer is never
//! pinged at all; a browser answers pings on its own, so an idle but open tab
//! is never dropped. Only what the *peer* sends counts: a server pushing
//! messages to a ghost learns nothing from its own writes succeeding (the
//! kernel takes them into the send buffer either way).
//!
//! The clock lives in the connection, not in the `recv` future: a chat
//! server drops its `recv` whenever its outbox wins a `select`, and a new
//! `recv` must not restart the count. (Python's `websockets` does the same,
//! in a background task; here it costs no task, because every server is
//! inside `recv` whenever it waits for its client anyway.)

use crate::time::Instant;
use crate::websocket::{CloseCode, CloseReason, Config};

/// The peer did not answer our ping in time (close code 1011, as Python's
/// `websockets` sends).
pub(super) const PING_TIMEOUT: CloseReason =
    CloseReason::new(CloseCode::InternalError, "keepalive ping timeout");

/// When we last heard from the peer, and whether a ping of ours is out.
#[derive(Debug)]
pub(super) struct Keepalive {
    /// When bytes last arrived from the peer (or the connection opened).
    last_heard: Instant,
    /// Our ping is out, and the peer must send something by then.
    answer_due: Option<Instant>,
}

/// What a passed deadline asks of `recv`.
pub(super) enum Due {
    /// The peer has been quiet for `ping_interval`: send a ping.
    Ping,
    /// It stayed quiet for `ping_timeout` after our ping: fail the connection.
    GiveUp,
}

impl Keepalive {
    pub(super) fn new() -> Keepalive {
        Keepalive {
            last_heard: Instant::now(),
            answer_due: None,
        }
    }

    /// Bytes arrived: the peer is alive. (No clock read when keepalive is off,
    /// as on runtimes other than evloop.)
    pub(super) fn heard(&mut self, config: &Config) {
        if config.ping_interval.is_some() {
            self.last_heard = Instant::now();
            self.answer_due = None;
        }
    }

    /// When `recv`, waiting for bytes, must stop and act; `None`: never.
    pub(super) fn deadline(&self, config: &Config) -> Option<Instant> {
        let interval = config.ping_interval?;
        Some(self.answer_due.unwrap_or(self.last_heard + interval))
    }

    /// The deadline came (it is `now`): what to do. `None` if nothing is due
    /// after all (the peer spoke in the meantime).
    pub(super) fn due(&mut self, config: &Config, now: Instant) -> Option<Due> {
        if let Some(due) = self.answer_due {
            return (now >= due).then_some(Due::GiveUp);
        }
        let interval = config.ping_interval?;
        if now < self.last_heard + interval {
            return None;
        }
        match config.ping_timeout {
            Some(timeout) => self.answer_due = Some(now + timeout),
            // Ping, but never give up: the next ping is one interval away.
            None => self.last_heard = now,
        }
        Some(Due::Ping)
    }
}
