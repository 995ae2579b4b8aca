//! Lesson 15: a WebSocket chat server.
//!
//! Serves a chat page at `/`; the page opens a WebSocket to `/ws`. Every line
//! a client sends is broadcast to every client (the sender too), joins and
//! leaves are announced, `/nick NAME` renames you, and newcomers get the last
//! 50 lines. `/echo` is a plain echo endpoint for conformance suites.
//!
//! This file is the networking: accept, HTTP, the upgrade. The chat itself —
//! the room, its members, their outboxes and history — is in `chat/room.rs`.
//!
//! ```text
//! cargo run --release --example 15_chat_server            # then open http://127.0.0.1:8000 in two tabs
//! cargo run --example 15_chat_server -- --port 0 --host 127.0.0.1
//! ```

use std::io::{self, Write};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use evloop::http::{Connection, Request, Response};
use evloop::net::{TcpListener, TcpStream};
use evloop::websocket::{self, Config, WebSocket};

#[path = "chat/room.rs"]
pub mod room;
use room::Room;

// ANCHOR: options
/// What the server allows; tests shrink the timeouts.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// What the chat room allows: history, outboxes, slow clients (`chat/room.rs`).
    pub room: room::Limits,
    /// Limits of `/ws`: 64 KiB messages.
    pub chat: Config,
    /// Limits of `/echo`: 16 MiB messages, as the Autobahn cases send.
    pub echo: Config,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            room: room::Limits::default(),
            chat: Config::default(), // 64 KiB
            echo: Config {
                max_message_size: 16 * 1024 * 1024,
                ..Config::default()
            },
        }
    }
}
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
    let room = Arc::new(Mutex::new(Room::new(options.room.history)));
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
                    room::member(ws, room, options.room).await;
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
