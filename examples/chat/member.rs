//! One chat client's task: the bridge between its WebSocket and the room.
//!
//! Part of `chat/room.rs`, which decides everything; this file only moves
//! lines. It reads the client's messages and hands them to the room, and it
//! writes what the room holds for the client, when the room rings its
//! doorbell. Generic over the WebSocket's stream: TCP in lesson 15, any
//! `AsyncRead + AsyncWrite` in a test.

use std::sync::{Arc, Mutex};

use evloop::sync::mpsc;
use evloop::time::{timeout, Instant};
use evloop::websocket::{close_code, Message, Prepared, WebSocket};
use evloop::{select, Either};
use futures_io::{AsyncRead, AsyncWrite};

use super::{Limits, Room};

// ANCHOR: member
/// One chat client's task: take its lines from the room and write them, and
/// read its socket and say what it sends. One `select` waits for whichever
/// comes first — a message, or the doorbell; `recv` is cancel-safe, so the
/// loser is dropped without losing a byte.
pub async fn member<S>(mut ws: WebSocket<S>, room: Arc<Mutex<Room>>)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let limits = lock(&room).limits();
    let (doorbell, mut rung) = mpsc::channel::<()>(1);
    let id = lock(&room).join(doorbell, Instant::now());
    let mut batch = Vec::new();
    let goodbye = loop {
        // Everything owed to us first, a batch at a time.
        if let Err(why) = deliver(&mut ws, &room, id, &mut batch, limits).await {
            break why.map(|why| (close_code::POLICY_VIOLATION, why));
        }
        // Paused: the room is behind, so leave our socket unread. Wake when
        // rung (the room drained) or now and then to let laggards go.
        let paused = lock(&room).paused_since(id); // the lock ends here, not after the `if`
        if let Some(since) = paused {
            if since.elapsed() > limits.max_pause {
                let why = "sending faster than the room can deliver";
                break Some((close_code::POLICY_VIOLATION, why));
            }
            let _ = timeout(limits.max_lag / 4, rung.recv()).await;
            lock(&room).drop_laggards(Instant::now());
            continue;
        }
        // Its own statement, so both borrows end before the `match`.
        let event = select(Box::pin(ws.recv()), Box::pin(rung.recv())).await;
        match event {
            Either::Left(Ok(Some(Message::Text(line)))) => {
                let said = lock(&room).said(id, &line, Instant::now());
                if let Err(notice) = said {
                    let reply = ws.send(Message::Text(notice));
                    if !matches!(timeout(limits.send_timeout, reply).await, Ok(Ok(()))) {
                        break None;
                    }
                }
                // Let the readers run between a sender's lines.
                evloop::yield_now().await;
            }
            Either::Left(Ok(Some(Message::Binary(_)))) => {
                break Some((close_code::UNSUPPORTED_DATA, "this chat speaks text"));
            }
            // Closed cleanly, or broke the protocol (it was sent a close frame already).
            Either::Left(Ok(None) | Err(_)) => break None,
            Either::Right(_) => {} // rung: back to the top, take what is new
        }
    };
    if let Some((code, why)) = goodbye {
        let _ = ws.close(code, why).await;
    }
    lock(&room).leave(id, Instant::now());
}

/// Write what the room holds for client `id` until it holds nothing more.
/// `Err(Some(why))`: the room let it go; `Err(None)`: the connection broke,
/// or a write stalled for `send_timeout`.
async fn deliver<S>(
    ws: &mut WebSocket<S>,
    room: &Mutex<Room>,
    id: u64,
    batch: &mut Vec<Prepared>,
    limits: Limits,
) -> Result<(), Option<&'static str>>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    loop {
        lock(room).take(id, batch).map_err(Some)?;
        if batch.is_empty() {
            return Ok(());
        }
        // The one copy of each line for this client: into its write buffer.
        for frame in batch.drain(..) {
            ws.feed_prepared(&frame).map_err(|_| None)?;
        }
        match timeout(limits.send_timeout, ws.flush()).await {
            Ok(Ok(())) => {}
            _ => return Err(None), // gone, or stalled for too long: drop it
        }
    }
}
// ANCHOR_END: member

/// The room, locked. A panic while holding the lock cannot leave a `Room`
/// half-updated in a way that matters here, so a poisoned lock is still usable.
fn lock(room: &Mutex<Room>) -> std::sync::MutexGuard<'_, Room> {
    room.lock().unwrap_or_else(|e| e.into_inner())
}
