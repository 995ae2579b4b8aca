//! Lesson 15: a WebSocket chat server.
//!
//! Serves a chat page at `/`; the page opens a WebSocket to `/ws`. Every line
//! a client sends is broadcast to every client (the sender too), joins and
//! leaves are announced, `/nick NAME` renames you, and newcomers get the last
//! 50 lines. `/echo` is a plain echo endpoint for conformance suites.
//!
//! ```text
//! cargo run --release --example 15_chat_server            # then open http://127.0.0.1:8000 in two tabs
//! cargo run --example 15_chat_server -- --port 0 --host 127.0.0.1
//! ```

use std::collections::{BTreeMap, VecDeque};
use std::io::{self, Write};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use evloop::http::{Connection, Request, Response};
use evloop::net::{TcpListener, TcpStream};
use evloop::sync::mpsc::{self, error::TrySendError};
use evloop::websocket::{self, close_code, Config, Message, Prepared, WebSocket};
use evloop::{select, Either};

// ANCHOR: options
/// What the server allows; tests shrink the timeouts.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Lines kept for newcomers.
    pub history: usize,
    /// Messages a client's outbox holds. A client whose outbox is full when a
    /// new line arrives is too slow to keep up: it is disconnected (1008)
    /// instead of making the server hoard messages for it.
    pub outbox: usize,
    /// How long one write to a client may stall before we give up on it.
    pub send_timeout: Duration,
    /// Limits of `/ws`: 64 KiB messages.
    pub chat: Config,
    /// Limits of `/echo`: 16 MiB messages, as the Autobahn cases send.
    pub echo: Config,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            history: 50,
            outbox: 1024,
            send_timeout: Duration::from_secs(10),
            chat: Config::default(), // 64 KiB
            echo: Config {
                max_message_size: 16 * 1024 * 1024,
                ..Config::default()
            },
        }
    }
}
// ANCHOR_END: options

// ANCHOR: room
/// Everyone in the chat. One `Room`, shared by every connection's task.
///
/// It sits behind a `Mutex` so the tasks can share it; on evloop's single
/// thread the lock is never contended, and every broadcast happens whole,
/// under it — so every client sees the lines in the same order.
struct Room {
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
    fn new(history_len: usize) -> Room {
        Room {
            clients: BTreeMap::new(),
            history: VecDeque::new(),
            history_len,
            next_id: 1,
        }
    }

    /// A newcomer: replay the history into its outbox, then announce it.
    fn join(&mut self, outbox: mpsc::Sender<Prepared>) -> u64 {
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
    fn said(&mut self, id: u64, line: &str) {
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

    fn leave(&mut self, id: u64) {
        if let Some(member) = self.clients.remove(&id) {
            self.broadcast(&format!("* {} left", member.nick));
        }
    }

    /// Send `line` to everyone. Encoded once: every outbox gets the same
    /// `Arc`'d frame. Never waits: `try_send` either queues or fails at once,
    /// so one slow client cannot slow the others down.
    fn broadcast(&mut self, line: &str) {
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

// ANCHOR: client
/// One chat client: read its lines and write the room's lines, at the same
/// time, in one task. `select` waits for whichever comes first; `recv` is
/// cancel-safe, so the loser is dropped without losing a byte.
async fn chat(mut ws: WebSocket<TcpStream>, room: Arc<Mutex<Room>>, options: Options) {
    let (tx, mut outbox) = mpsc::channel::<Prepared>(options.outbox);
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
                match evloop::time::timeout(options.send_timeout, ws.flush()).await {
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

/// `/echo`: every message straight back, for conformance suites.
async fn echo(mut ws: WebSocket<TcpStream>) {
    while let Ok(Some(message)) = ws.recv().await {
        if ws.send(message).await.is_err() {
            break;
        }
    }
}
// ANCHOR_END: client

// ANCHOR: serve
/// Accept connections forever: plain HTTP for the page, WebSocket for `/ws` and `/echo`.
pub async fn serve(listener: TcpListener, options: Options) -> io::Result<()> {
    let room = Arc::new(Mutex::new(Room::new(options.history)));
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _peer)) => stream,
            Err(e) => {
                // Out of file descriptors, say: breathe, then go on.
                eprintln!("accept failed: {e}");
                evloop::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let room = room.clone();
        evloop::task::Builder::new()
            .name("connection")
            .spawn(connection(stream, room, options));
    }
}

/// One TCP connection: HTTP requests until one of them upgrades.
async fn connection(stream: TcpStream, room: Arc<Mutex<Room>>, options: Options) {
    let mut conn = Connection::new(stream);
    loop {
        let request = match conn.read_request().await {
            Ok(Some(request)) => request,
            Ok(None) => return,
            Err(e) => {
                if let Some(status) = e.status() {
                    let _ = conn.write_response(&Response::error(status), false).await;
                }
                return;
            }
        };
        match request.path_only() {
            "/ws" => {
                if let Ok(ws) = websocket::accept_with_config(conn, &request, options.chat).await {
                    chat(ws, room, options).await;
                }
                return;
            }
            "/echo" => {
                if let Ok(ws) = websocket::accept_with_config(conn, &request, options.echo).await {
                    echo(ws).await;
                }
                return;
            }
            path => {
                let keep_alive = request.keep_alive();
                if conn
                    .write_response(&page(path, &request), keep_alive)
                    .await
                    .is_err()
                    || !keep_alive
                {
                    return;
                }
            }
        }
    }
}

fn page(path: &str, request: &Request) -> Response {
    match (request.method.as_str(), path) {
        ("GET", "/") => Response::html(PAGE),
        ("GET", _) => Response::error(404),
        _ => Response::error(405),
    }
}
// ANCHOR_END: serve

fn lock(room: &Mutex<Room>) -> std::sync::MutexGuard<'_, Room> {
    // A panic while holding the lock cannot leave a Room half-updated in a
    // way that matters here, so a poisoned lock is still usable.
    room.lock().unwrap_or_else(|e| e.into_inner())
}

// ANCHOR: page
/// The page: messages are shown with `textContent`, never as HTML, so a
/// line like `<img src=x onerror=alert(1)>` is just text.
const PAGE: &str = r#"<!doctype html>
<html lang="en">
<meta charset="utf-8">
<title>evloop chat</title>
<style>
  body { font: 16px system-ui, sans-serif; max-width: 40em; margin: 2em auto; }
  #log { list-style: none; padding: 0; height: 60vh; overflow-y: auto; border: 1px solid #ccc; }
  #log li { padding: 2px 8px; } #log li.note { color: #777; }
  form { display: flex; gap: 8px; margin-top: 8px; } #input { flex: 1; }
</style>
<h1>evloop chat</h1>
<ul id="log"></ul>
<form id="form"><input id="input" autocomplete="off" placeholder="say something, or /nick NAME" autofocus><button>Send</button></form>
<script>
  const log = document.getElementById("log");
  const input = document.getElementById("input");
  function show(text, note) {
    const li = document.createElement("li");
    li.textContent = text;            // text, never HTML
    if (note) li.className = "note";
    log.appendChild(li);
    log.scrollTop = log.scrollHeight;
  }
  const ws = new WebSocket(`ws://${location.host}/ws`);
  ws.onopen = () => { document.body.dataset.state = "open"; show("connected", true); };
  ws.onmessage = (event) => show(event.data);
  ws.onclose = (event) => { document.body.dataset.state = "closed"; show(`disconnected (${event.code})`, true); };
  document.getElementById("form").onsubmit = (event) => {
    event.preventDefault();
    if (input.value && ws.readyState === WebSocket.OPEN) ws.send(input.value);
    input.value = "";
  };
</script>
</html>
"#;
// ANCHOR_END: page

// ANCHOR: main
fn main() -> io::Result<()> {
    let (host, port) = parse_args();
    evloop::run(async move {
        let listener = TcpListener::bind((host.as_str(), port)).await?;
        // The first line of stdout, flushed: scripts and tests read the port from it.
        println!("listening on http://{}", listener.local_addr()?);
        io::stdout().flush()?;
        serve(listener, Options::default()).await
    })
}
// ANCHOR_END: main

/// `--port N` (0: any free port; default 8000) and `--host H` (default 127.0.0.1).
fn parse_args() -> (String, u16) {
    let (mut host, mut port) = ("127.0.0.1".to_string(), 8000);
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
    eprintln!("{why}\nusage: 15_chat_server [--port N] [--host ADDR]");
    std::process::exit(2)
}
