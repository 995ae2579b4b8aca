//! Lesson 15: a WebSocket chat server.
//!
//! Serves a chat page at `/`; the page opens a WebSocket to `/ws`. Every line
//! a client sends is broadcast to every client (the sender too), joins and
//! leaves are announced, `/nick NAME` renames you, and newcomers get the last
//! 50 lines. `/echo` is a plain echo endpoint for conformance suites.
//!
//! This file is the networking: accept (with caps on connections, and a
//! backoff when the process runs out of file descriptors), HTTP, the
//! upgrade. The chat itself — who is in, the log of what was said and its
//! history, who is too slow — is in `chat/room.rs`; each client's task in
//! `chat/member.rs`.
//!
//! ```text
//! cargo run --release --example 15_chat_server            # then open http://127.0.0.1:8000 in two tabs
//! cargo run --example 15_chat_server -- --port 0 --host 127.0.0.1
//! ```

use std::collections::HashMap;
use std::io::{self, Write};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use evloop::http::{Connection, Request, Response};
use evloop::net::{TcpListener, TcpStream};
use evloop::runtime::log;
use evloop::time::{sleep, timeout, Instant};
use evloop::websocket::{self, Config, WebSocket};

#[path = "chat/bridge.rs"]
mod bridge;
#[path = "chat/room.rs"]
pub mod room;
use room::Room;

// ANCHOR: options
/// What the server allows; tests shrink the limits.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// What the chat room allows: history, slow clients, fast senders (`chat/room.rs`).
    pub room: room::Limits,
    /// Connections open at once, in all. Each holds a file descriptor, and a
    /// process has a limited number (`ulimit -n`; 1,024 is common). Past
    /// this, a newcomer gets `503 Service Unavailable`.
    pub max_connections: usize,
    /// Connections open at once from one IP address: so that one client
    /// cannot hold every place (idle WebSockets that answer pings are never
    /// dropped as idle). Past this, `503` too.
    pub max_per_address: usize,
    /// Limits of `/ws`: 64 KiB messages.
    pub chat: Config,
    /// Limits of `/echo`: 16 MiB messages, as the Autobahn cases send.
    pub echo: Config,
    /// A Redis server to share the room through with other chat servers
    /// (`--redis ADDR`; `chat/bridge.rs`, lesson 17). `None`: this server's
    /// room is the whole chat.
    pub redis: Option<SocketAddr>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            room: room::Limits::default(),
            max_connections: 1000,
            max_per_address: 200,
            chat: Config::default(), // 64 KiB
            echo: Config {
                max_message_size: 16 * 1024 * 1024,
                ..Config::default()
            },
            redis: None,
        }
    }
}

/// The Redis channel bridged rooms share.
pub const CHANNEL: &str = "evloop:chat";

/// The kernel's send buffer for each client. Linux grows it up to 4 MiB on
/// its own; a client that reads nothing would pin all of that in kernel
/// memory, times every such client. A chat's lines fit in far less.
const SEND_BUFFER: usize = 256 << 10;
// ANCHOR_END: options

// ANCHOR: echo
/// `/echo`: every message straight back, for conformance suites.
async fn echo(mut ws: WebSocket<TcpStream>) {
    while let Ok(Some(message)) = ws.recv().await {
        if ws.send(message).await.is_err() {
            break;
        }
    }
}
// ANCHOR_END: echo

// ANCHOR: serve
/// Accept connections forever: plain HTTP for the page, WebSocket for `/ws` and `/echo`.
pub async fn serve(listener: TcpListener, options: Options) -> io::Result<()> {
    let room = Arc::new(Mutex::new(Room::new(options.room)));
    if let Some(redis) = options.redis {
        let bridge = bridge::bridge(room.clone(), redis, CHANNEL.to_string());
        evloop::task::Builder::new().name("bridge").spawn(bridge);
    }
    let gate = Arc::new(Mutex::new(Gate::new(&options)));
    let mut backoff = AcceptBackoff::new();
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                sleep(backoff.failed(&e)).await;
                continue;
            }
        };
        backoff.succeeded();
        let Some(ticket) = Gate::admit(&gate, peer.ip()) else {
            evloop::task::Builder::new()
                .name("refuse")
                .spawn(refuse(stream));
            continue;
        };
        let _ = stream.set_nodelay(true);
        let _ = socket2::SockRef::from(&stream).set_send_buffer_size(SEND_BUFFER);
        let room = room.clone();
        evloop::task::Builder::new()
            .name("connection")
            .spawn(async move {
                connection(stream, room, options).await;
                drop(ticket); // the place is free again
            });
    }
}
// ANCHOR_END: serve

// ANCHOR: gate
/// How many connections are open, in all and from each address.
struct Gate {
    max_total: usize,
    max_per_address: usize,
    total: usize,
    by_address: HashMap<IpAddr, usize>,
}

/// One admitted connection's place; dropping it gives the place back.
struct Ticket {
    gate: Arc<Mutex<Gate>>,
    address: IpAddr,
}

impl Gate {
    fn new(options: &Options) -> Gate {
        Gate {
            max_total: options.max_connections,
            max_per_address: options.max_per_address,
            total: 0,
            by_address: HashMap::new(),
        }
    }

    /// A place for a connection from `address`, if one is free.
    fn admit(gate: &Arc<Mutex<Gate>>, address: IpAddr) -> Option<Ticket> {
        let mut g = gate.lock().unwrap_or_else(|e| e.into_inner());
        let mine = g.by_address.get(&address).copied().unwrap_or(0);
        if g.total >= g.max_total || mine >= g.max_per_address {
            return None;
        }
        g.total += 1;
        g.by_address.insert(address, mine + 1);
        let gate = gate.clone();
        Some(Ticket { gate, address })
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut g = self.gate.lock().unwrap_or_else(|e| e.into_inner());
        g.total -= 1;
        if let Some(n) = g.by_address.get_mut(&self.address) {
            *n -= 1;
            if *n == 0 {
                g.by_address.remove(&self.address); // the map only holds who is here
            }
        }
    }
}

/// Over a cap: read the request (closing a socket with unread bytes would
/// reset it, and the client might never see our answer), answer 503, close.
/// A second at most, so refused clients cannot pile up.
async fn refuse(stream: TcpStream) {
    let mut conn = Connection::new(stream);
    let busy = Response::error(503).header("Retry-After", "10");
    let _ = timeout(Duration::from_secs(1), async {
        let _ = conn.read_request().await;
        conn.write_response(&busy, false).await
    })
    .await;
}
// ANCHOR_END: gate

// ANCHOR: backoff
/// When `accept` fails. Almost always that is EMFILE: out of file
/// descriptors. The client stays queued, so the listener stays readable and
/// the next `accept` would fail at once, forever: wait, longer each time
/// (10 ms doubling to 1 s), and report it without flooding the log — the
/// first failure, then one line per 10 s with a count. The report goes
/// through the runtime's logger, never `eprintln!`: on the loop's thread,
/// that blocks every task when stderr is a pipe nobody reads.
struct AcceptBackoff {
    delay: Duration,
    /// Failures not reported yet.
    unreported: u64,
    last_report: Option<Instant>,
}

impl AcceptBackoff {
    const FIRST: Duration = Duration::from_millis(10);
    const MAX: Duration = Duration::from_secs(1);
    const REPORT_EVERY: Duration = Duration::from_secs(10);

    fn new() -> AcceptBackoff {
        AcceptBackoff {
            delay: Self::FIRST,
            unreported: 0,
            last_report: None,
        }
    }

    /// How long to wait before the next `accept`.
    fn failed(&mut self, e: &io::Error) -> Duration {
        let delay = self.delay;
        self.delay = (delay * 2).min(Self::MAX);
        self.unreported += 1;
        let now = Instant::now();
        if self
            .last_report
            .map_or(true, |last| now.duration_since(last) >= Self::REPORT_EVERY)
        {
            let n = std::mem::take(&mut self.unreported);
            log::warn(format_args!(
                "accept failed ({n} times since the last report): {e}; retrying in {delay:?}"
            ));
            self.last_report = Some(now);
        }
        delay
    }

    fn succeeded(&mut self) {
        self.delay = Self::FIRST;
    }
}
// ANCHOR_END: backoff

// ANCHOR: routes
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
                    room::member(ws, room).await;
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
// ANCHOR_END: routes

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
    let (host, port, redis) = parse_args();
    let options = Options {
        redis,
        ..Options::default()
    };
    evloop::run(async move {
        let listener = TcpListener::bind((host.as_str(), port)).await?;
        // The first line of stdout, flushed: scripts and tests read the port from it.
        println!("listening on http://{}", listener.local_addr()?);
        io::stdout().flush()?;
        serve(listener, options).await
    })
}
// ANCHOR_END: main

/// `--port N` (0: any free port; default 8000), `--host H` (default
/// 127.0.0.1) and `--redis ADDR` (share the room through Redis; default none).
fn parse_args() -> (String, u16, Option<SocketAddr>) {
    let (mut host, mut port, mut redis) = ("127.0.0.1".to_string(), 8000, None);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next()) {
            ("--port", Some(p)) => {
                port = p
                    .parse()
                    .unwrap_or_else(|_| usage(&format!("bad port {p:?}")))
            }
            ("--host", Some(h)) => host = h,
            ("--redis", Some(a)) => {
                let addr = a
                    .parse()
                    .unwrap_or_else(|_| usage(&format!("bad address {a:?}")));
                redis = Some(addr);
            }
            _ => usage(&format!("unexpected argument {arg:?}")),
        }
    }
    (host, port, redis)
}

fn usage(why: &str) -> ! {
    eprintln!("{why}\nusage: 15_chat_server [--port N] [--host ADDR] [--redis HOST:PORT]");
    std::process::exit(2)
}
