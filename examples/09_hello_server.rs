//! Lesson 09 — a hello server: asyncio's `start_server`, on evloop.
//!
//! Every client that connects gets its request read, a `Hello, world!` back,
//! and the connection closed — one task per client, so a slow client never
//! holds up the others. The asyncio original:
//!
//! ```python
//! async def handle_client(reader, writer):
//!     data = await reader.read(100)
//!     addr = writer.get_extra_info('peername')
//!     print(f"Received {data.decode()!r} from {addr!r}")
//!     writer.write(b"Hello, world!\n")
//!     await writer.drain()
//!     writer.close()
//!     await writer.wait_closed()
//!
//! async def main():
//!     server = await asyncio.start_server(handle_client, '127.0.0.1', 8888)
//!     async with server:
//!         await server.serve_forever()
//! ```
//!
//! ```text
//! cargo run --example 09_hello_server                    # 127.0.0.1:8888, until Ctrl-C
//! cargo run --example 09_hello_server -- --port 0 5      # a free port, stop after 5 s
//! echo hi | nc 127.0.0.1 8888                            # in another terminal
//! ```

use std::fmt::Display;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use evloop::net::{TcpListener, TcpStream};
use evloop::time::{sleep, Instant};

/// What every client hears.
pub const GREETING: &[u8] = b"Hello, world!\n";

// ANCHOR: handle_client
/// One client's whole conversation (asyncio's `handle_client(reader, writer)`).
pub async fn handle_client(
    mut stream: TcpStream,
    peer: SocketAddr,
    start: Instant,
) -> io::Result<()> {
    // `reader.read(100)`: wait until the client sends something (or closes).
    // Only this task waits; the loop serves everyone else meanwhile.
    let mut request = [0u8; 100];
    let n = stream.read(&mut request).await?;
    let text = String::from_utf8_lossy(&request[..n]);
    log(start, format!("Received {:?} from {peer}", text.trim_end()));

    // `writer.write(...)` + `await writer.drain()` in one call.
    stream.write_all(GREETING).await?;
    log(start, format!("Sent the greeting to {peer}; closing"));
    Ok(())
    // `writer.close()`: dropping `stream` here closes the connection.
}
// ANCHOR_END: handle_client

// ANCHOR: serve
/// Accept clients forever, one task each (what `start_server` does for you).
pub async fn serve(listener: TcpListener, start: Instant) {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(client) => client,
            Err(e) => {
                // Out of file descriptors, say. Not the end of the server:
                // wait a moment for clients to leave, then accept again.
                log(start, format!("accept failed: {e}; retrying"));
                sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        // A named task, so the trace and the slow-poll warning say whose it is.
        evloop::task::Builder::new()
            .name(format!("client {peer}"))
            .spawn(async move {
                if let Err(e) = handle_client(stream, peer, start).await {
                    // A client that resets the connection hurts only itself.
                    log(start, format!("{peer}: {e}"));
                }
            });
    }
}
// ANCHOR_END: serve

// ANCHOR: main
fn main() -> io::Result<()> {
    let args = Args::from_env();
    evloop::run(async {
        let start = Instant::now();
        let listener = TcpListener::bind((args.host.as_str(), args.port)).await?;
        // The first line of output, so scripts and tests can find the port.
        println!("listening on {}", listener.local_addr()?);
        match args.seconds {
            None => serve(listener, start).await,
            Some(seconds) => {
                // Serve for a while, then stop: whichever finishes first wins,
                // and the loser (the accept loop) is dropped — the listener closes.
                let server = Box::pin(serve(listener, start));
                let _ = evloop::select(server, Box::pin(sleep(seconds))).await;
                log(start, "time is up; the server stops");
            }
        }
        Ok(())
    })
}
// ANCHOR_END: main

/// Print `msg` with the time since `start`: `[0.42s] Received "hi" from ...`.
fn log(start: Instant, msg: impl Display) {
    println!("[{:.2}s] {msg}", start.elapsed().as_secs_f64());
}

/// `[--host H] [--port N] [SECONDS]`: where to listen, and for how long.
struct Args {
    host: String,
    port: u16,
    /// Stop after this long; `None`: serve until killed.
    seconds: Option<Duration>,
}

impl Args {
    fn from_env() -> Args {
        let mut args = Args {
            host: "127.0.0.1".into(),
            port: 8888,
            seconds: None,
        };
        let mut it = std::env::args().skip(1);
        while let Some(arg) = it.next() {
            match arg.as_str() {
                "--host" => args.host = it.next().expect("--host needs an address, e.g. 0.0.0.0"),
                "--port" => {
                    let port = it
                        .next()
                        .expect("--port needs a number; 0 picks a free port");
                    args.port = port.parse().expect("--port needs a number from 0 to 65535");
                }
                seconds => {
                    let s: f64 = seconds
                        .parse()
                        .expect("usage: [--host H] [--port N] [SECONDS]");
                    args.seconds = Some(Duration::from_secs_f64(s));
                }
            }
        }
        args
    }
}
