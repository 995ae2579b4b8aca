//! Lesson 20: watching the chat live.
//!
//! Lesson 15's chat server, on a runtime built with the console on: open the
//! chat at the first address, the console at the second, connect clients,
//! and watch every step of the book happen. With `--block-ms N`, a task
//! named `blocker` makes lesson 08's mistake once a second — it holds the
//! loop for N ms with `std::thread::sleep` — and the console lights it up.
//!
//! ```text
//! cargo run --release --example 20_console                  # chat :8000, console :6669
//! cargo run --example 20_console -- --port 0 --console-port 0 --block-ms 300
//! ```

use std::io::{self, Write};
use std::time::Duration;

use evloop::net::TcpListener;
use evloop::Runtime;

#[path = "15_chat_server.rs"]
#[allow(dead_code)]
mod chat;

// ANCHOR: blocker
/// Lesson 08's mistake, on purpose: once a second, hold the loop for
/// `block` with a blocking sleep. Nothing else runs meanwhile — not the
/// chat, not the timers; only the console, on its own thread, can say so.
async fn blocker(block: Duration) {
    loop {
        evloop::time::sleep(Duration::from_secs(1)).await;
        std::thread::sleep(block); // the mistake: use evloop::time::sleep
    }
}
// ANCHOR_END: blocker

// ANCHOR: main
fn main() -> io::Result<()> {
    let args = Args::parse();
    // The console is one line on the builder. It listens on its own thread,
    // so it goes on answering even while a task blocks this loop.
    let rt = Runtime::builder()
        .console((args.host.as_str(), args.console_port))
        .build()?;
    let console = rt.console_url().expect("built with a console");
    rt.block_on(async move {
        let listener = TcpListener::bind((args.host.as_str(), args.port)).await?;
        // First line: the chat (scripts read it); second line: the console.
        println!("listening on http://{}", listener.local_addr()?);
        println!("console on {console}");
        io::stdout().flush()?;
        if let Some(block) = args.block {
            evloop::task::Builder::new()
                .name("blocker")
                .spawn(blocker(block));
        }
        chat::serve(listener, chat::Options::default()).await
    })
}
// ANCHOR_END: main

/// `--port N` (chat; default 8000), `--console-port N` (default 6669), `--host H`
/// (default 127.0.0.1; both listen there), `--block-ms N` (off by default).
struct Args {
    host: String,
    port: u16,
    console_port: u16,
    block: Option<Duration>,
}

impl Args {
    fn parse() -> Args {
        let mut parsed = Args {
            host: "127.0.0.1".to_string(),
            port: 8000,
            console_port: 6669,
            block: None,
        };
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            let value = args
                .next()
                .unwrap_or_else(|| usage(&format!("{arg} needs a value")));
            let number = || -> u64 {
                value
                    .parse()
                    .unwrap_or_else(|_| usage(&format!("bad number {value:?}")))
            };
            match arg.as_str() {
                "--port" => parsed.port = number() as u16,
                "--console-port" => parsed.console_port = number() as u16,
                "--block-ms" => parsed.block = Some(Duration::from_millis(number())),
                "--host" => parsed.host = value.clone(),
                _ => usage(&format!("unexpected argument {arg:?}")),
            }
        }
        parsed
    }
}

fn usage(why: &str) -> ! {
    eprintln!(
        "{why}\nusage: 20_console [--port N] [--console-port N] [--host ADDR] [--block-ms N]"
    );
    std::process::exit(2)
}
