//! The chat room of lesson 15: who is in it, what they said, and how each
//! line reaches everyone.
//!
//! `15_chat_server.rs` does the networking (accept, HTTP, the upgrade); once
//! a connection is a WebSocket it goes to [`member`] (`chat/member.rs`, the
//! client's task), which joins the [`Room`]. Everything the chat decides
//! lives in this file: join, leave, `/nick`, broadcast, the log every client
//! reads from (its tail is the history newcomers get), and the policy for
//! clients that fall behind and senders that outrun the room. The room does
//! no I/O and takes the time as an argument, so tests drive it alone; the
//! member's task is generic over the WebSocket's stream, so the same room
//! runs over TCP or over an in-memory stream.

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use evloop::sync::mpsc;
use evloop::time::Instant;
use evloop::websocket::Prepared;

#[path = "member.rs"]
mod member;
#[path = "visible.rs"]
mod visible;
pub use member::member;
use visible::visible;

// ANCHOR: limits
/// What the room allows. Memory is bounded in bytes, time in seconds; a
/// client is judged by how long its lines wait, not by how many there are,
/// so a fast burst of short lines is not mistaken for a slow reader.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Lines kept for newcomers.
    pub history: usize,
    /// A client whose oldest line not yet taken has waited this long is too
    /// slow: the room lets it go (1008). A reader that drains, however
    /// slowly, but falls ever further behind, is caught here.
    pub max_lag: Duration,
    /// A client this many bytes behind the room (not counting the history
    /// it got on joining) is let go at once: what bounds the log's memory.
    pub max_lag_bytes: usize,
    /// While half the room (or more) is this many bytes behind, a sender is
    /// paused: its socket is not read until the room drains to half of this.
    pub high_water: usize,
    /// A sender paused this long is closed (1008): it outruns the room.
    pub max_pause: Duration,
    /// How long one write to a client may stall before we give up on it.
    pub send_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            history: 50,
            max_lag: Duration::from_secs(10),
            max_lag_bytes: 4 << 20,
            high_water: 256 << 10,
            max_pause: Duration::from_secs(30),
            send_timeout: Duration::from_secs(10),
        }
    }
}

/// A client's write buffer gets at most this much at a time (at least one
/// line): lines stay shared in the log until the moment they are written.
const BATCH_BYTES: usize = 64 << 10;
// ANCHOR_END: limits

// ANCHOR: room
/// Everyone in the chat, and one log of what was said. One `Room`, shared
/// by every connection's task behind a `Mutex` (on evloop's one thread it is
/// never contended); every line is logged whole, under it, so every client
/// sees the lines in the same order.
///
/// There is no queue per client. A line is encoded once ([`Prepared`]: an
/// `Arc` of the frame's bytes) and appended to the log; each member keeps a
/// *cursor*, the number of the next line it has not taken. Its task takes
/// what lies past its cursor when the room rings its doorbell. The history
/// is the log's tail: a newcomer's cursor starts 50 lines back. The log
/// forgets a line once it is out of the history and every cursor passed it.
pub struct Room {
    limits: Limits,
    members: BTreeMap<u64, Member>,
    log: Log,
    next_id: u64,
    /// How many members are paused senders (see [`Room::said`]).
    paused: usize,
    /// Lines said here, for the rooms of other servers (`chat/bridge.rs`);
    /// `None` unless the room is bridged.
    outbox: Option<mpsc::Sender<String>>,
    /// Lines the outbox had no room for since the bridge last asked.
    unsent: u64,
}

struct Member {
    nick: String,
    /// The next line of the log this client has not taken.
    cursor: u64,
    /// The first line said after it joined, and when: lines before it are
    /// history, owed too but kept by the room anyway, so they cost no memory.
    joined_at: (u64, Instant),
    /// Rung (a `try_send` on a channel of one) when there is news for its
    /// task: lines to take, the room drained, or it was let go.
    doorbell: mpsc::Sender<()>,
    /// Since when its socket is not read because the room is behind.
    paused_since: Option<Instant>,
    /// Why the room let it go: its task closes with this reason, then leaves.
    gone: Option<&'static str>,
}

/// The lines, numbered from 0 forever; `lines[0]` is line `first`.
struct Log {
    lines: VecDeque<Line>,
    first: u64,
    /// Bytes in all the lines before `lines[0]`: with `Line::end`, a
    /// client's lag in bytes is one subtraction.
    start: u64,
}

struct Line {
    frame: Prepared,
    at: Instant,
    /// Bytes in all the lines up to and including this one.
    end: u64,
}

impl Log {
    fn head(&self) -> u64 {
        self.first + self.lines.len() as u64
    }

    /// Bytes in all the lines before line `n`.
    fn offset(&self, n: u64) -> u64 {
        match n - self.first {
            0 => self.start,
            i => self.lines[i as usize - 1].end,
        }
    }

    fn get(&self, n: u64) -> &Line {
        &self.lines[(n - self.first) as usize]
    }

    fn push(&mut self, frame: Prepared, at: Instant) {
        let end = self.offset(self.head()) + frame.as_bytes().len() as u64;
        self.lines.push_back(Line { frame, at, end });
    }

    /// Drop line `first`: its frame's memory goes once no batch holds it.
    fn forget_first(&mut self) {
        if let Some(line) = self.lines.pop_front() {
            self.start = line.end;
            self.first += 1;
        }
    }
}
// ANCHOR_END: room

// ANCHOR: policy
/// Why `member` must go, if it must: it is too far behind in bytes, or its
/// oldest line not yet taken has waited too long (for history, the wait
/// counts from its joining).
fn too_slow(log: &Log, limits: &Limits, member: &Member, now: Instant) -> Option<&'static str> {
    if member.gone.is_some() || member.cursor == log.head() {
        return None;
    }
    if lag(log, member) > limits.max_lag_bytes as u64 {
        return Some("too slow to keep up: too far behind");
    }
    let queued = log.get(member.cursor).at.max(member.joined_at.1);
    (now.duration_since(queued) > limits.max_lag)
        .then_some("too slow to keep up: lines waited too long")
}

/// Bytes said since `member` joined that it has not taken yet.
fn lag(log: &Log, member: &Member) -> u64 {
    log.offset(log.head()) - log.offset(member.cursor.max(member.joined_at.0))
}
// ANCHOR_END: policy

impl Room {
    /// An empty room.
    pub fn new(limits: Limits) -> Room {
        let log = Log {
            lines: VecDeque::new(),
            first: 0,
            start: 0,
        };
        Room {
            limits,
            members: BTreeMap::new(),
            log,
            next_id: 1,
            paused: 0,
            outbox: None,
            unsent: 0,
        }
    }

    /// Bridge this room to the rooms of other servers (`chat/bridge.rs`):
    /// from now on every line said here is also queued, up to `capacity`
    /// lines, for the bridge to send on. When the queue is full (the link is
    /// slow or down) a line still reaches everyone here, but not the other
    /// servers; it is counted, and the bridge says so ([`Room::take_unsent`]).
    pub fn bridge(&mut self, capacity: usize) -> mpsc::Receiver<String> {
        let (outbox, lines) = mpsc::channel(capacity);
        self.outbox = Some(outbox);
        lines
    }

    /// A line said in another server's room: log it for everyone here, and
    /// do not send it on (it came over the bridge, which sends it to all).
    pub fn relayed(&mut self, line: String, now: Instant) {
        self.broadcast_all(VecDeque::from([line]), now);
    }

    /// How many lines did not reach the other servers since the last call.
    pub fn take_unsent(&mut self) -> u64 {
        std::mem::take(&mut self.unsent)
    }

    /// What this room allows.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// A newcomer, rung on `doorbell` when there is news: it is owed the
    /// history, then everything said from now on. Announced to everyone.
    pub fn join(&mut self, doorbell: mpsc::Sender<()>, now: Instant) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        let head = self.log.head();
        let member = Member {
            nick: format!("guest-{id}"),
            cursor: head
                .saturating_sub(self.limits.history as u64)
                .max(self.log.first),
            joined_at: (head, now),
            doorbell,
            paused_since: None,
            gone: None,
        };
        let announcement = format!("* {} joined", member.nick);
        self.members.insert(id, member);
        self.broadcast(announcement, now);
        id
    }

    /// A line from client `id`: a command, or something to say. `Err` holds
    /// a notice for that client alone (a refused `/nick`).
    ///
    /// Push back: if half the room is now more than `high_water` bytes
    /// behind, the sender is paused — its task stops reading its socket —
    /// until the room drains to half of that. A burst waits in the sender's
    /// own socket buffers (and then its client's), not in the server's
    /// memory, and readers that keep up are never let go because of it.
    pub fn said(&mut self, id: u64, line: &str, now: Instant) -> Result<(), String> {
        let Some(member) = self.members.get(&id).filter(|m| m.gone.is_none()) else {
            return Ok(()); // let go already: its connection is closing
        };
        if let Some(wanted) = line.strip_prefix("/nick ") {
            return self.rename(id, wanted.trim(), now);
        }
        let line = format!("{}: {}", member.nick, visible(line));
        self.broadcast(line, now);
        let behind = self.behind(self.limits.high_water);
        if let Some(member) = self.members.get_mut(&id).filter(|m| m.gone.is_none()) {
            if behind && member.paused_since.is_none() {
                member.paused_since = Some(now);
                self.paused += 1;
            }
        }
        Ok(())
    }

    /// `/nick`: letters, digits, `-`, `_` and `.` only (a nick is what the
    /// server vouches for in every line, so it must not hold a newline, a
    /// space or a colon), unique ignoring case; `guest-N` are the server's.
    fn rename(&mut self, id: u64, wanted: &str, now: Instant) -> Result<(), String> {
        let allowed = |c: char| c.is_alphanumeric() || matches!(c, '-' | '_' | '.');
        if wanted.is_empty() || wanted.chars().count() > 32 || !wanted.chars().all(allowed) {
            return Err("* a nick is 1 to 32 letters, digits, '-', '_' or '.'".into());
        }
        let folded = wanted.to_lowercase();
        if folded.starts_with("guest-") {
            return Err("* guest-N nicks are given by the server: pick another nick".into());
        }
        let taken = self
            .members
            .iter()
            .any(|(other, m)| *other != id && m.nick.to_lowercase() == folded);
        if taken {
            return Err(format!("* the nick {wanted} is taken"));
        }
        let member = self.members.get_mut(&id).expect("checked by said");
        let old = std::mem::replace(&mut member.nick, wanted.to_string());
        self.broadcast(format!("* {old} is now {wanted}"), now);
        Ok(())
    }

    /// Client `id` is gone: tell the others (unless the room let it go, and
    /// said so then).
    pub fn leave(&mut self, id: u64, now: Instant) {
        let Some(member) = self.members.remove(&id) else {
            return;
        };
        if member.paused_since.is_some() {
            self.paused -= 1;
        }
        if member.gone.is_none() {
            self.broadcast(format!("* {} left", member.nick), now);
        }
        self.resume_if_drained();
    }

    // ANCHOR: broadcast
    /// Log `line` for everyone and ring every doorbell. Never waits.
    pub fn broadcast(&mut self, line: String, now: Instant) {
        // Bridged (`chat/bridge.rs`): the other servers' rooms get it too.
        if let Some(outbox) = &self.outbox {
            if outbox.try_send(line.clone()).is_err() {
                self.unsent += 1;
            }
        }
        self.broadcast_all(VecDeque::from([line]), now);
    }

    /// A worklist, not recursion: letting a client go is announced with a
    /// line of its own, which may find more clients too slow, and so on. A
    /// loop keeps that at one stack frame, whether 1 or 2,000 go at once.
    fn broadcast_all(&mut self, mut lines: VecDeque<String>, now: Instant) {
        while let Some(line) = lines.pop_front() {
            self.log.push(Prepared::text(&line), now);
            lines.extend(self.let_go_of_laggards(now));
            for member in self.members.values() {
                // Full means rung already: the task has not looked yet.
                let _ = member.doorbell.try_send(());
            }
        }
        self.forget_old_lines();
        self.resume_if_drained();
    }

    /// Mark every client too slow to keep as gone (its task will close the
    /// connection, saying why); return the announcements.
    fn let_go_of_laggards(&mut self, now: Instant) -> Vec<String> {
        let mut announcements = Vec::new();
        for member in self.members.values_mut() {
            if let Some(why) = too_slow(&self.log, &self.limits, member, now) {
                member.gone = Some(why);
                if member.paused_since.take().is_some() {
                    self.paused -= 1;
                }
                announcements.push(format!("* {} was too slow to keep up", member.nick));
            }
        }
        announcements
    }
    // ANCHOR_END: broadcast

    /// Let go of every client too slow to keep, now. Broadcasts check as
    /// they go; a paused sender calls this too, since while every sender is
    /// paused nothing is broadcast.
    pub fn drop_laggards(&mut self, now: Instant) {
        let announcements = self.let_go_of_laggards(now);
        if !announcements.is_empty() {
            self.broadcast_all(announcements.into(), now);
        } else {
            self.resume_if_drained();
        }
    }

    /// Give client `id` the lines past its cursor, up to `BATCH_BYTES`
    /// (`Arc` clones: the bytes stay shared until they are written). `Err`:
    /// the room let it go, and why.
    pub fn take(&mut self, id: u64, batch: &mut Vec<Prepared>) -> Result<(), &'static str> {
        let member = self.members.get_mut(&id).ok_or("left")?;
        if let Some(why) = member.gone {
            return Err(why);
        }
        let mut bytes = 0;
        while member.cursor < self.log.head() {
            let frame = &self.log.get(member.cursor).frame;
            let len = frame.as_bytes().len();
            if bytes > 0 && bytes + len > BATCH_BYTES {
                break; // one line at least, then no more than BATCH_BYTES
            }
            bytes += len;
            batch.push(frame.clone());
            member.cursor += 1;
        }
        if bytes > 0 {
            self.resume_if_drained();
        }
        Ok(())
    }

    /// Since when client `id` is paused, if it is.
    pub fn paused_since(&self, id: u64) -> Option<Instant> {
        self.members.get(&id).and_then(|m| m.paused_since)
    }

    /// Is the room behind: are half its members (or more) more than `mark`
    /// bytes behind? Half, not one: a single slow reader must not hold
    /// everyone back (`max_lag` and `max_lag_bytes` deal with it), but a
    /// sender that leaves most of the room behind is the one too fast.
    fn behind(&self, mark: usize) -> bool {
        let active = self.members.values().filter(|m| m.gone.is_none());
        let (mut members, mut behind) = (0, 0);
        for member in active {
            members += 1;
            behind += usize::from(lag(&self.log, member) > mark as u64);
        }
        behind > 0 && behind * 2 >= members
    }

    /// Paused senders go on once the room is down to half the high water.
    fn resume_if_drained(&mut self) {
        if self.paused == 0 || self.behind(self.limits.high_water / 2) {
            return;
        }
        for member in self.members.values_mut() {
            if member.paused_since.take().is_some() {
                let _ = member.doorbell.try_send(());
            }
        }
        self.paused = 0;
    }

    /// Drop lines that are out of the history and that every client has taken.
    fn forget_old_lines(&mut self) {
        let head = self.log.head();
        let active = self.members.values().filter(|m| m.gone.is_none());
        let needed = active.map(|m| m.cursor).min().unwrap_or(head);
        let keep_from = needed.min(head.saturating_sub(self.limits.history as u64));
        while self.log.first < keep_from {
            self.log.forget_first();
        }
    }
}
