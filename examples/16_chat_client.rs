//! Lesson 16: a terminal chat client for lesson 15's server.
//!
//! Two things happen at once on one evloop thread: lines you type go to the
//! server, and lines from the server are printed as they arrive. Reading the
//! terminal *blocks* (there is no non-blocking stdin worth the name), so a
//! plain thread reads it and hands each line to the loop through a channel.
//! Every line from the server is made harmless before it is printed: its
//! control characters shown, not obeyed (`chat/visible.rs`).
//!
//! ```text
//! cargo run --release --example 15_chat_server            # in one terminal
//! cargo run --example 16_chat_client                      # in two others
//! cargo run --example 16_chat_client -- --port 8000 --host 127.0.0.1
//! ```

use std::io::{self, BufRead, Write};

use evloop::sync::mpsc::{self, UnboundedReceiver};
use evloop::websocket::{self, close_code, Message};
use evloop::{select, Either};

// The server's rule, shared (so a test or a picture that builds both
// examples holds this file twice: once is the client's own).
#[path = "chat/visible.rs"]
#[allow(clippy::duplicate_mod)]
mod visible;
use visible::visible;

// ANCHOR: stdin
/// Read stdin on a thread of its own: `read_line` blocks, and blocking the
/// event loop would freeze the incoming messages too. Each line crosses to
/// the loop through an unbounded channel, whose `send` is not async and
/// wakes the loop from another thread.
fn stdin_lines() -> UnboundedReceiver<String> {
    let (tx, rx) = mpsc::unbounded_channel();
    std::thread::spawn(move || {
        for line in io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break; // the client has finished
            }
        }
        // Dropping `tx` here closes the channel: the client sees end of input.
    });
    rx
}
// ANCHOR_END: stdin

// ANCHOR: chat
/// Chat on `url`: send every line from `input`, hand every line from the
/// server to `print`, until the input ends (we close the connection) or
/// the server closes it.
///
/// What the server sends is shown, never obeyed: an ESC in a line would be
/// a command to the terminal (clear the screen, move the cursor), a newline
/// a second line that looks like anything. So each line goes through
/// [`visible`] first — whatever the server did already.
pub async fn chat(
    url: &str,
    mut input: UnboundedReceiver<String>,
    mut print: impl FnMut(&str),
) -> Result<(), websocket::Error> {
    let mut ws = websocket::connect(url).await?;
    print(&format!("connected to {url}"));
    loop {
        // Whichever comes first: a line from the server, or one we typed.
        // `recv` is cancel-safe, so when the typed line wins nothing is lost.
        let event = select(Box::pin(ws.recv()), Box::pin(input.recv())).await;
        match event {
            Either::Left(Ok(Some(Message::Text(line)))) => print(&visible(&line)),
            Either::Left(Ok(Some(Message::Binary(data)))) => {
                print(&format!("<{} bytes of binary>", data.len()))
            }
            Either::Left(Ok(None)) => {
                let why = ws
                    .close_frame()
                    .map(|c| format!("{} {}", c.code, visible(&c.reason)))
                    .unwrap_or_default();
                print(&format!("the server closed the connection ({why})"));
                return Ok(());
            }
            Either::Left(Err(e)) => return Err(e),
            Either::Right(Some(line)) if line.is_empty() => {}
            Either::Right(Some(line)) => ws.send(Message::Text(line)).await?,
            Either::Right(None) => {
                // End of input (Ctrl-D): say goodbye properly.
                return ws.close(close_code::NORMAL, "bye").await;
            }
        }
    }
}
// ANCHOR_END: chat

// ANCHOR: main
fn main() {
    let url = parse_args();
    let result = evloop::run(chat(&url, stdin_lines(), |line| {
        let mut out = io::stdout().lock();
        let _ = writeln!(out, "{line}");
        let _ = out.flush(); // show it now, even when stdout is a pipe
    }));
    if let Err(e) = result {
        eprintln!("chat client: {e}");
        std::process::exit(1);
    }
}
// ANCHOR_END: main

/// `--port N` (default 8000), `--host H` (default 127.0.0.1), or `--url ws://…`.
fn parse_args() -> String {
    let (mut host, mut port, mut url) = ("127.0.0.1".to_string(), 8000u16, None);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next()) {
            ("--port", Some(p)) => {
                port = p
                    .parse()
                    .unwrap_or_else(|_| usage(&format!("bad port {p:?}")))
            }
            ("--host", Some(h)) => host = h,
            ("--url", Some(u)) => url = Some(u),
            _ => usage(&format!("unexpected argument {arg:?}")),
        }
    }
    url.unwrap_or_else(|| format!("ws://{host}:{port}/ws"))
}

fn usage(why: &str) -> ! {
    eprintln!("{why}\nusage: 16_chat_client [--port N] [--host ADDR] [--url ws://HOST:PORT/ws]");
    std::process::exit(2)
}
