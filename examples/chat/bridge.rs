//! Several chat servers, one room: each server's lines reach the others'
//! rooms through Redis `PUBLISH`/`SUBSCRIBE` (lesson 17's client). Part of
//! lesson 15's server (`--redis ADDR`), beside `chat/room.rs`, whose
//! [`Room::bridge`] and [`Room::relayed`] it uses.
//!
//! One server holds one [`Room`] in memory; a second process, or a second
//! machine, would be a second room. Bridged (`15_chat_server --redis ADDR`),
//! every line said in a room — a member's line, a join, a leave, a `/nick` —
//! is published on one Redis channel with the server's *origin* in front,
//! and every server subscribed to that channel logs the lines of the others
//! in its own room ([`Room::relayed`]). A server skips its own lines: they
//! are in its room already.
//!
//! What it does not do, and says so: nicks are unique per server, not across
//! servers; a line said while the link to Redis is down (or too slow: the
//! room queues [`OUTBOX`] lines for it) reaches the local room only, and the
//! bridge prints how many did not go out; each server's lines arrive in the
//! order that server said them, but two servers' lines may interleave
//! differently in each room.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use evloop::redis::{self, Connection};
use evloop::sync::mpsc;
use evloop::time::{sleep, Instant};
use evloop::{select, Either};

use super::room::Room;

/// Lines the room queues for the bridge before it drops them (for the other
/// servers only): what bounds the memory a stalled Redis can pin.
pub const OUTBOX: usize = 4096;

/// How long to wait before connecting again after the link broke.
const RETRY: Duration = Duration::from_secs(1);

// ANCHOR: bridge
/// Bridge `room` to every other room subscribed to `channel` on the Redis
/// server at `redis`. Runs for as long as the server does: when the link
/// breaks (Redis restarted, a network fault), it says why on stderr and
/// connects again a second later.
pub async fn bridge(room: Arc<Mutex<Room>>, redis: SocketAddr, channel: String) {
    let mut outbox = lock(&room).bridge(OUTBOX);
    let origin = origin();
    loop {
        let Err(why) = link(&room, &mut outbox, redis, &channel, &origin).await;
        eprintln!("chat bridge: the link to Redis at {redis} broke ({why}); again in 1 s");
        sleep(RETRY).await;
    }
}

/// One connected spell of the bridge: two connections, because a subscribed
/// one only listens (lesson 17). One `select` waits for whichever comes
/// first, a line said here or a line published by anyone; both are
/// cancel-safe, so the loser loses nothing.
async fn link(
    room: &Mutex<Room>,
    outbox: &mut mpsc::Receiver<String>,
    redis: SocketAddr,
    channel: &str,
    origin: &str,
) -> Result<std::convert::Infallible, redis::Error> {
    let mut publisher = Connection::connect(redis).await?;
    let mut subscriber = Connection::connect(redis)
        .await?
        .subscribe(&[channel])
        .await?;
    loop {
        let event = select(Box::pin(outbox.recv()), Box::pin(subscriber.next_message())).await;
        match event {
            Either::Left(Some(line)) => {
                publisher
                    .publish(channel, format!("{origin}\n{line}"))
                    .await?;
                let unsent = lock(room).take_unsent();
                if unsent > 0 {
                    eprintln!("chat bridge: {unsent} line(s) did not reach the other servers");
                }
            }
            // The room is gone: nothing more will be said here.
            Either::Left(None) => std::future::pending::<()>().await,
            Either::Right(message) => {
                let message = message?;
                let text = String::from_utf8_lossy(&message.payload);
                match text.split_once('\n') {
                    Some((from, line)) if from != origin => {
                        lock(room).relayed(line.to_string(), Instant::now())
                    }
                    Some(_) => {} // our own line, back from Redis
                    None => eprintln!("chat bridge: a message with no origin on {channel:?}"),
                }
            }
        }
    }
}
// ANCHOR_END: bridge

/// A name for this bridge no other one has: the process, the time it
/// started and a counter (two bridges in one process, as in a test).
fn origin() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let started = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("{}-{started}-{n}", std::process::id())
}

fn lock(room: &Mutex<Room>) -> std::sync::MutexGuard<'_, Room> {
    room.lock().unwrap_or_else(|e| e.into_inner())
}
