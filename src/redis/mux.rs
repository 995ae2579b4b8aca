//! [`Multiplexed`]: many tasks, one connection, commands in batches.
//!
//! Redis answers the commands of one connection in the order it received
//! them. So a client need not wait for one reply before sending the next
//! command: it can write many, then read many replies, and hand the first
//! reply to the first command's caller, the second to the second's. That is
//! pipelining; doing it for many independent tasks at once is multiplexing.
//!
//! ```text
//!  task A ─┐ query(GET a)              writer task                 reader task
//!  task B ─┼──▶ mpsc ──▶ take all queued: GET a, GET b, GET c ──▶ one write
//!  task C ─┘    (Request = bytes       push A's, B's, C's oneshot
//!                + oneshot sender)      senders on `pending` ─────▶ reply 1 → pending.pop() = A
//!                                                                   reply 2 → B, reply 3 → C
//! ```
//!
//! The batching needs no timer and no "flush every 1 ms". The writer is
//! woken by the first request of a turn, but the loop polls it only on the
//! *next* turn (step 1 polls only what was ready when the turn began), by
//! which time every task that ran this turn has queued its command. A
//! thousand tasks spawned together cost a handful of writes.
//!
//! Faults: when the reader meets a reply it cannot take (not RESP, over a
//! limit, end of stream), the command at the head of `pending` — the one
//! whose reply it was — gets that error, every other waiting command gets
//! [`Error::Connection`], and the connection refuses new commands. A reply
//! is only ever matched to the oldest waiting command, and nothing is
//! matched after a fault, so no task receives another's reply.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::io::write_all;
use crate::net::{OwnedReadHalf, OwnedWriteHalf};
use crate::sync::mpsc::{self, UnboundedReceiver, UnboundedSender};
use crate::sync::oneshot;
use crate::task::JoinHandle;
use crate::time::{timeout, Instant};

use super::cmd::typed_commands;
use super::conn::{connect_tcp, ReadBuf};
use super::{Cmd, Config, Error, Value};

/// The most commands one write carries (and the bytes, roughly): a bound on
/// the writer's buffer, not a tuning knob.
const MAX_BATCH: usize = 4096;
const MAX_BATCH_BYTES: usize = 1024 * 1024;
/// The reader hands out at least this many replies before it lets the loop
/// turn: splitting a small batch would cost turns and writes for no overlap.
const MIN_PORTION: usize = 16;

type Reply = oneshot::Sender<Result<Value, Error>>;

/// One connection shared by many tasks; commands from all of them are
/// written in batches and their replies matched back in order. Cheap to
/// clone: every clone uses the same connection.
///
/// | asyncio (`redis.asyncio`) | evloop |
/// |---|---|
/// | `async with r.pipeline(transaction=False) as p: p.get("a"); p.get("b"); await p.execute()` (one task batches) | `Multiplexed::connect(addr).await?`, then any number of tasks call `get`, `set`, … at once: batching is automatic |
///
/// Blocking commands (`BRPOP`, `SUBSCRIBE`) are refused with
/// [`Error::NeedsOwnConnection`]: they would stop every other task's replies.
#[derive(Debug, Clone)]
pub struct Multiplexed {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    requests: UnboundedSender<Request>,
    shared: Arc<Shared>,
    /// The writer and reader tasks: aborted when the last handle goes, or
    /// when a timeout gives the connection up.
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

/// A command on its way to the writer: its bytes, and where its reply goes.
#[derive(Debug)]
struct Request {
    bytes: Vec<u8>,
    reply: Reply,
}

/// What the writer, the reader and the callers share.
#[derive(Debug, Default)]
struct Shared {
    state: Mutex<State>,
    commands: AtomicU64,
    writes: AtomicU64,
    reads: AtomicU64,
}

#[derive(Debug, Default)]
struct State {
    /// One sender per command written and not yet answered, oldest first:
    /// the order the server will answer in; with when its batch was written
    /// (the reader's watch for a server that stops answering).
    pending: VecDeque<(Reply, Instant)>,
    /// Why the connection broke, once it has.
    broken: Option<String>,
}

/// What a [`Multiplexed`] connection has done so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MuxStats {
    /// Commands written.
    pub commands: u64,
    /// Writes (each a batch of commands): the round trips.
    pub writes: u64,
    /// Reads that brought replies.
    pub reads: u64,
}

impl Multiplexed {
    /// Connect to `addr` and start the writer and reader tasks.
    pub async fn connect(addr: SocketAddr) -> Result<Multiplexed, Error> {
        Multiplexed::connect_with(addr, Config::default()).await
    }

    /// Connect with `config`'s limits and timeouts.
    pub async fn connect_with(addr: SocketAddr, config: Config) -> Result<Multiplexed, Error> {
        let (read_half, write_half) = connect_tcp(addr, &config).await?.into_split();
        let shared = Arc::new(Shared::default());
        let (requests, queue) = mpsc::unbounded_channel();
        let task = |name| crate::task::Builder::new().name(name);
        let writer = task("redis-writer").spawn(write_loop(queue, write_half, shared.clone()));
        let reader = task("redis-reader").spawn(read_loop(read_half, shared.clone(), config));
        Ok(Multiplexed {
            inner: Arc::new(Inner {
                requests,
                shared,
                tasks: Mutex::new(vec![writer, reader]),
            }),
        })
    }

    /// Send any command and wait for its reply (other tasks' commands may
    /// share its write). A `-ERR` reply is `Err(Error::Server)`.
    pub async fn query(&self, cmd: Cmd) -> Result<Value, Error> {
        if cmd.is_blocking() {
            return Err(Error::NeedsOwnConnection(cmd.name()));
        }
        let shared = &self.inner.shared;
        if let Some(why) = &shared.lock().broken {
            return Err(Error::Connection(why.clone()));
        }
        let (reply, answer) = oneshot::channel();
        let mut bytes = Vec::new();
        cmd.encode(&mut bytes);
        if self.inner.requests.send(Request { bytes, reply }).is_err() {
            return Err(Error::Connection("the writer has stopped".into()));
        }
        // No timer per command: the reader watches the oldest one (a server
        // that stops answering fails them all, see `read_loop`).
        match answer.await {
            Ok(result) => result,
            Err(_) => Err(Error::Connection("closed before this reply".into())),
        }
    }

    /// Commands, writes and reads so far.
    pub fn stats(&self) -> MuxStats {
        let s = &self.inner.shared;
        MuxStats {
            commands: s.commands.load(Ordering::Relaxed),
            writes: s.writes.load(Ordering::Relaxed),
            reads: s.reads.load(Ordering::Relaxed),
        }
    }

    /// Whether the connection has broken (every command now fails).
    pub fn is_broken(&self) -> bool {
        self.inner.shared.lock().broken.is_some()
    }

    typed_commands!();
}

impl Drop for Inner {
    fn drop(&mut self) {
        for task in self
            .tasks
            .get_mut()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
        {
            task.abort();
        }
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Break the connection: the head of `pending` gets `head` (the error
    /// its own reply caused, if any), the rest a connection error. The
    /// replies are sent after the lock is released: sending wakes a task.
    fn fail(&self, head: Option<Error>, why: String) {
        let (first, rest) = {
            let mut state = self.lock();
            state.broken.get_or_insert(why.clone());
            let first = head.and_then(|e| state.pending.pop_front().map(|(tx, _)| (tx, e)));
            (first, std::mem::take(&mut state.pending))
        };
        if let Some((tx, e)) = first {
            let _ = tx.send(Err(e));
        }
        for (tx, _) in rest {
            let _ = tx.send(Err(Error::Connection(why.clone())));
        }
    }
}

/// The writer: take every queued request, one write for all of them.
async fn write_loop(
    mut queue: UnboundedReceiver<Request>,
    mut out: OwnedWriteHalf,
    shared: Arc<Shared>,
) {
    let mut buf = Vec::new();
    let mut replies = Vec::new();
    while let Some(first) = queue.recv().await {
        let mut next = Some(first);
        while let Some(request) = next.take() {
            buf.extend_from_slice(&request.bytes);
            replies.push(request.reply);
            if replies.len() < MAX_BATCH && buf.len() < MAX_BATCH_BYTES {
                next = queue.try_recv().ok();
            }
        }
        // The reply slots go on `pending` before the bytes go out: the
        // reader may see the first reply as soon as they are written.
        let count = replies.len() as u64;
        let refused = {
            let mut state = shared.lock();
            match &state.broken {
                Some(why) => Some(why.clone()),
                None => {
                    let sent = Instant::now();
                    state.pending.extend(replies.drain(..).map(|tx| (tx, sent)));
                    None
                }
            }
        };
        if let Some(why) = refused {
            buf.clear();
            for tx in replies.drain(..) {
                let _ = tx.send(Err(Error::Connection(why.clone())));
            }
            continue;
        }
        shared.commands.fetch_add(count, Ordering::Relaxed);
        shared.writes.fetch_add(1, Ordering::Relaxed);
        if let Err(e) = write_all(&mut out, &buf).await {
            shared.fail(None, format!("write failed: {e}"));
            return;
        }
        buf.clear();
    }
}

/// The reader: hand each reply to the oldest waiting command.
///
/// In portions: after handing out half of the commands that were in flight
/// when the bytes arrived, it lets the loop turn (`yield_now`) before going
/// on. The tasks it woke run in that turn and queue their next commands, so
/// the writer sends them while the rest of the replies are still being
/// handed out — two batches in flight instead of one, and the server works
/// on one while the client works on the other. Handing out a whole batch at
/// once would make them take turns: a server idle while the client works,
/// and the other way round (`benches/redis.rs` measures the difference).
async fn read_loop(mut input: OwnedReadHalf, shared: Arc<Shared>, config: Config) {
    let mut buf = ReadBuf::default();
    let (mut portion, mut handed) = (usize::MAX, 0);
    loop {
        loop {
            match buf.next(&config.limits) {
                Ok(Some(value)) => {
                    let Some((tx, _)) = shared.lock().pending.pop_front() else {
                        let e = Error::Protocol("a reply with no command waiting for it".into());
                        shared.fail(None, e.to_string());
                        return;
                    };
                    let _ = tx.send(match value {
                        Value::Error(msg) => Err(Error::Server(msg)),
                        value => Ok(value),
                    });
                    handed += 1;
                    if handed >= portion {
                        handed = 0;
                        crate::task::yield_now().await;
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    let why = e.to_string();
                    shared.fail(Some(e), why);
                    return;
                }
            }
        }
        if let Err(e) = watched_fill(&mut buf, &mut input, &shared, config).await {
            let why = e.to_string();
            shared.fail(Some(e), why);
            return;
        }
        shared.reads.fetch_add(1, Ordering::Relaxed);
        portion = (shared.lock().pending.len() / 2).max(MIN_PORTION);
        handed = 0;
    }
}

/// Read more replies; but if the oldest command waiting has waited
/// `response_timeout` since its batch was written, the server has stopped
/// answering: [`Error::Timeout`] for it (and, from `fail`, a connection
/// error for every command behind it). One timer per read, not one per
/// command; an idle connection (nothing owed) waits for ever.
async fn watched_fill(
    buf: &mut ReadBuf,
    input: &mut OwnedReadHalf,
    shared: &Shared,
    config: Config,
) -> Result<(), Error> {
    let wait = config.response_timeout;
    loop {
        let oldest = shared.lock().pending.front().map(|(_, sent)| *sent);
        let left = match oldest {
            Some(sent) => match wait.checked_sub(sent.elapsed()) {
                Some(left) if !left.is_zero() => left,
                _ => return Err(Error::Timeout(wait)),
            },
            // Nothing owed: check again after a while (a command written
            // meanwhile is watched from the next check, with its own time).
            None => wait,
        };
        // Cancel-safe: a read either appended its bytes or did not happen.
        if let Ok(filled) = timeout(left, buf.fill(input)).await {
            return filled;
        }
    }
}
