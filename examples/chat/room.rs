//! The chat room of lesson 15: who is in it, what they said, and how each
//! line reaches everyone.
//!
//! `15_chat_server.rs` does the networking (accept, HTTP, the upgrade); once
//! a connection is a WebSocket it comes here, to [`member`], and joins the
//! [`Room`]. Everything the chat decides lives in this file: join, leave,
//! `/nick`, broadcast, each client's outbox, the history for newcomers, and
//! when a client is too slow to keep. The member's task is generic over the
//! WebSocket's stream, so the same room runs over TCP or an in-memory stream.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use evloop::sync::mpsc::{self, error::TrySendError};
use evloop::websocket::{close_code, Message, Prepared, WebSocket};
use evloop::{select, Either};
use futures_io::{AsyncRead, AsyncWrite};

// ANCHOR: limits
/// What the room allows; tests shrink them.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Lines kept for newcomers.
    pub history: usize,
    /// Messages a client's outbox holds. A client whose outbox is full when a
    /// new line arrives is too slow to keep up: it is disconnected (1008)
    /// instead of making the server hoard messages for it.
    pub outbox: usize,
    /// How long one write to a client may stall before we give up on it.
    pub send_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            history: 50,
            outbox: 1024,
            send_timeout: Duration::from_secs(10),
        }
    }
}
// ANCHOR_END: limits

// ANCHOR: room
/// Everyone in the chat. One `Room`, shared by every connection's task.
///
/// It sits behind a `Mutex` so the tasks can share it; on evloop's single
/// thread the lock is never contended, and every broadcast happens whole,
/// under it — so every client sees the lines in the same order.
pub struct Room {
    clients: BTreeMap<u64, Member>,
    history: VecDeque<Prepared>,
    history_len: usize,
    next_id: u64,
}

struct Member {
    nick: String,
    outbox: mpsc::Sender<Prepared>,
}

impl Room {
    /// An empty room that keeps the last `history_len` lines for newcomers.
    pub fn new(history_len: usize) -> Room {
        Room {
            clients: BTreeMap::new(),
            history: VecDeque::new(),
            history_len,
            next_id: 1,
        }
    }

    /// A newcomer: replay the history into its outbox, then announce it.
    pub fn join(&mut self, outbox: mpsc::Sender<Prepared>) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        for line in &self.history {
            let _ = outbox.try_send(line.clone()); // the outbox is new and bigger than the history
        }
        let nick = format!("guest-{id}");
        self.clients.insert(
            id,
            Member {
                nick: nick.clone(),
                outbox,
            },
        );
        self.broadcast(&format!("* {nick} joined"));
        id
    }

    /// A line from client `id`: a command, or something to say.
    pub fn said(&mut self, id: u64, line: &str) {
        let Some(member) = self.clients.get_mut(&id) else {
            return;
        };
        if let Some(new) = line.strip_prefix("/nick ") {
            let new: String = new.trim().chars().take(32).collect();
            if !new.is_empty() {
                let old = std::mem::replace(&mut member.nick, new.clone());
                self.broadcast(&format!("* {old} is now {new}"));
            }
            return;
        }
        let line = format!("{}: {line}", member.nick);
        self.broadcast(&line);
    }

    /// Client `id` is gone: tell the others.
    pub fn leave(&mut self, id: u64) {
        if let Some(member) = self.clients.remove(&id) {
            self.broadcast(&format!("* {} left", member.nick));
        }
    }

    /// Send `line` to everyone. Encoded once: every outbox gets the same
    /// `Arc`'d frame. Never waits: `try_send` either queues or fails at once,
    /// so one slow client cannot slow the others down.
    pub fn broadcast(&mut self, line: &str) {
        let frame = Prepared::text(line);
        if self.history.len() == self.history_len {
            self.history.pop_front();
        }
        self.history.push_back(frame.clone());
        let mut too_slow = Vec::new();
        for (id, member) in &self.clients {
            if let Err(TrySendError::Full(_)) = member.outbox.try_send(frame.clone()) {
                too_slow.push(*id);
            }
        }
        // Dropping a member's `Sender` closes its outbox: its task sees that
        // and says goodbye with a close frame (1008).
        for id in too_slow {
            if let Some(member) = self.clients.remove(&id) {
                self.broadcast(&format!("* {} was too slow to keep up", member.nick));
            }
        }
    }
}
// ANCHOR_END: room

// ANCHOR: member
/// One chat client: read its lines and write the room's lines, at the same
/// time, in one task. `select` waits for whichever comes first; `recv` is
/// cancel-safe, so the loser is dropped without losing a byte.
pub async fn member<S>(mut ws: WebSocket<S>, room: Arc<Mutex<Room>>, limits: Limits)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let (tx, mut outbox) = mpsc::channel::<Prepared>(limits.outbox);
    let id = lock(&room).join(tx);
    loop {
        // Its own statement, so both borrows of `ws` end before the `match`.
        let event = select(Box::pin(ws.recv()), Box::pin(outbox.recv())).await;
        match event {
            Either::Left(Ok(Some(Message::Text(line)))) => lock(&room).said(id, &line),
            Either::Left(Ok(Some(Message::Binary(_)))) => {
                let _ = ws
                    .close(close_code::UNSUPPORTED_DATA, "this chat speaks text")
                    .await;
                break;
            }
            // Closed cleanly, or broke the protocol (it was sent a close frame already).
            Either::Left(Ok(None) | Err(_)) => break,
            Either::Right(Some(frame)) => {
                // Whatever else is already waiting goes out in the same write.
                let mut batch = 1;
                let _ = ws.feed_prepared(&frame);
                while batch < 64 {
                    let Ok(frame) = outbox.try_recv() else { break };
                    let _ = ws.feed_prepared(&frame);
                    batch += 1;
                }
                match evloop::time::timeout(limits.send_timeout, ws.flush()).await {
                    Ok(Ok(())) => {}
                    _ => break, // gone, or stalled for too long: drop it
                }
            }
            // The room dropped our outbox: we fell too far behind.
            Either::Right(None) => {
                let _ = ws
                    .close(close_code::POLICY_VIOLATION, "too slow to keep up")
                    .await;
                break;
            }
        }
    }
    lock(&room).leave(id);
}
// ANCHOR_END: member

/// The room, locked. A panic while holding the lock cannot leave a `Room`
/// half-updated in a way that matters here, so a poisoned lock is still usable.
pub fn lock(room: &Mutex<Room>) -> std::sync::MutexGuard<'_, Room> {
    room.lock().unwrap_or_else(|e| e.into_inner())
}
