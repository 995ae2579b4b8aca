//! Lesson 15, first half: a line chat over plain TCP.
//!
//! Connect with `nc` or `telnet`; every line you type goes to everyone (you
//! too) as `guest-N: line`; joins and leaves are announced. One task per
//! client waits for two things at once — a line from its socket, or a line
//! for it from the room — with `select` in a loop. That loop is safe only
//! because both futures it drops are *cancel-safe*; [`relay_fixed_size`]
//! shows what goes wrong with one that is not (`read_exact`).
//!
//! The second half of the lesson (`15_chat_server.rs`) keeps this shape and
//! adds the protocol: HTTP, the WebSocket upgrade, frames, and a room that
//! bounds its memory.
//!
//! ```text
//! cargo run --example 15_line_chat                        # port 7000
//! cargo run --example 15_line_chat -- --port 0 --host 127.0.0.1
//! nc 127.0.0.1 7000                                        # in two terminals
//! ```

use std::collections::HashMap;
use std::io::{self, Write};
use std::pin::pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use evloop::net::{BufReader, OwnedReadHalf, TcpListener, TcpStream};
use evloop::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};
use evloop::time::sleep;
use evloop::{select, Either};

/// The longest line a client may send, in bytes: past it, the client is told
/// why and disconnected (a line with no end would otherwise grow without bound).
pub const MAX_LINE: usize = 1024;

// ANCHOR: room
/// Everyone in the chat: an outbox per client, by id.
///
/// asyncio's version is a `set` of writers and `writer.write(line)` for
/// each. Here each client's task owns its socket, so the room hands lines to
/// the tasks through their outboxes (unbounded channels: `send` never waits,
/// so one slow client cannot stall the room — but its outbox grows; the
/// second half bounds that in bytes).
#[derive(Clone, Default)]
pub struct Room {
    members: Arc<Mutex<HashMap<u64, UnboundedSender<Arc<str>>>>>,
    next_id: Arc<AtomicU64>,
}

impl Room {
    /// A new member: its id, and the outbox its task reads.
    pub fn join(&self) -> (u64, UnboundedReceiver<Arc<str>>) {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        let (tx, rx) = unbounded_channel();
        self.members.lock().unwrap().insert(id, tx);
        (id, rx)
    }

    /// Remove a member (its outbox closes when the sender is dropped).
    pub fn leave(&self, id: u64) {
        self.members.lock().unwrap().remove(&id);
    }

    /// Give `line` to everyone, the sender too. Never waits.
    pub fn say(&self, line: &str) {
        let line: Arc<str> = format!("{line}\n").into(); // one copy, shared by all
        for outbox in self.members.lock().unwrap().values() {
            let _ = outbox.send(line.clone()); // a member leaving right now: fine
        }
    }
}
// ANCHOR_END: room

// ANCHOR: client
/// One client's task: greet, then relay both ways until either side ends.
pub async fn client(stream: TcpStream, room: Room) -> io::Result<()> {
    let (reader, mut writer) = stream.into_split();
    let mut lines = BufReader::new(reader).max_line_length(MAX_LINE).lines();
    let (id, mut outbox) = room.join();
    let name = format!("guest-{id}");
    writer
        .write_all(format!("* welcome, you are {name}\n").as_bytes())
        .await?;
    room.say(&format!("* {name} joined"));

    let ended = loop {
        // Whichever comes first: a line from this client, or one for it.
        // The loser is dropped — safe for both: `next_line` keeps a half-read
        // line in the BufReader, and `recv` takes a line out of the outbox
        // only when it returns it.
        let next = select(pin!(lines.next_line()), pin!(outbox.recv())).await;
        match next {
            Either::Left(Ok(Some(line))) => room.say(&format!("{name}: {line}")),
            Either::Left(Ok(None)) => break Ok(()), // the client hung up
            Either::Left(Err(bad)) => {
                // Too long, or not UTF-8: say why, then let this client go.
                // The room and every other client carry on.
                let why = format!("* bye: {bad}\n");
                let _ = writer.write_all(why.as_bytes()).await;
                break Err(bad);
            }
            Either::Right(Some(line)) => {
                if let Err(gone) = writer.write_all(line.as_bytes()).await {
                    break Err(gone);
                }
            }
            Either::Right(None) => unreachable!("the room keeps our outbox until we leave"),
        }
    };
    room.leave(id);
    room.say(&format!("* {name} left"));
    ended
}
// ANCHOR_END: client

// ANCHOR: serve
/// Accept clients for ever, a task each.
pub async fn serve(listener: TcpListener, room: Room) {
    loop {
        match listener.accept().await {
            Ok((stream, _peer)) => {
                let room = room.clone();
                // Detached: the task runs until its client leaves.
                evloop::spawn(async move {
                    let _ = client(stream, room).await;
                });
            }
            // Out of file descriptors, or a connection reset before we
            // took it: wait a moment (not a busy loop) and go on serving.
            Err(e) => {
                eprintln!("accept failed: {e}");
                sleep(Duration::from_millis(100)).await;
            }
        }
    }
}
// ANCHOR_END: serve

// ANCHOR: lossy
/// What one round of the loop gave: a message read from the socket, or a
/// line from the room.
#[derive(Debug, PartialEq)]
pub enum Got {
    /// Read from the client.
    Client(String),
    /// Handed over by the room.
    Room(String),
}

/// The loop again, reading fixed 6-byte messages with `read_exact`: NOT
/// cancel-safe. `read_exact` keeps how much it has read *in the future*;
/// when the room wins the race, that future is dropped, and the bytes it had
/// already taken from the socket go with it.
pub async fn relay_fixed_size(
    mut reader: OwnedReadHalf,
    mut room: UnboundedReceiver<String>,
    got: UnboundedSender<Got>,
) {
    loop {
        let mut message = [0u8; 6];
        let next = select(pin!(reader.read_exact(&mut message)), pin!(room.recv())).await;
        let event = match next {
            Either::Left(Ok(())) => Got::Client(String::from_utf8_lossy(&message).into()),
            Either::Right(Some(line)) => Got::Room(line),
            Either::Left(Err(_)) | Either::Right(None) => return,
        };
        let _ = got.send(event);
    }
}

/// The same loop with `next_line`: cancel-safe. A half-read line stays in
/// the `BufReader`, and the next call carries on from it.
pub async fn relay_lines(
    reader: OwnedReadHalf,
    mut room: UnboundedReceiver<String>,
    got: UnboundedSender<Got>,
) {
    let mut lines = BufReader::new(reader).lines();
    loop {
        let next = select(pin!(lines.next_line()), pin!(room.recv())).await;
        let event = match next {
            Either::Left(Ok(Some(line))) => Got::Client(line),
            Either::Right(Some(line)) => Got::Room(line),
            Either::Left(Ok(None) | Err(_)) | Either::Right(None) => return,
        };
        let _ = got.send(event);
    }
}
// ANCHOR_END: lossy

// ANCHOR: main
fn main() -> io::Result<()> {
    let (host, port) = parse_args();
    evloop::run(async move {
        let listener = TcpListener::bind((host.as_str(), port)).await?;
        // The first line of stdout, flushed: scripts and tests read the port from it.
        println!("listening on {}", listener.local_addr()?);
        io::stdout().flush()?;
        serve(listener, Room::default()).await;
        Ok(())
    })
}
// ANCHOR_END: main

/// `--port N` (0: any free port; default 7000) and `--host H` (default 127.0.0.1).
fn parse_args() -> (String, u16) {
    let (mut host, mut port) = ("127.0.0.1".to_string(), 7000);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next()) {
            ("--port", Some(p)) => {
                port = p
                    .parse()
                    .unwrap_or_else(|_| usage(&format!("bad port {p:?}")))
            }
            ("--host", Some(h)) => host = h,
            _ => usage(&format!("unexpected argument {arg:?}")),
        }
    }
    (host, port)
}

fn usage(why: &str) -> ! {
    eprintln!("{why}\nusage: 15_line_chat [--port N] [--host ADDR]");
    std::process::exit(2)
}
