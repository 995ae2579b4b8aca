//! Lesson 11 — an HTTP server under load: one thread, thousands of clients.
//!
//! A small JSON API on evloop, the server the aiohttp tutorials build:
//!
//! - `GET /` → `{"message": "Hello, world!"}`
//! - `GET /hello/{name}` → `{"message": "Hello, {name}!"}`
//! - `POST /echo` → the JSON body you sent, back (`400` if it is not JSON)
//! - `GET /metrics` → the event loop's own counters, as JSON
//! - a known path with another method → `405` and `Allow: GET` (or `POST`)
//!
//! `--threads` serves the same API with one OS thread per connection, under
//! the same rules and limits (it calls the same `http::parse_head`).
//!
//! ```text
//! cargo run --release --example 11_http_server                  # port 8080
//! cargo run --release --example 11_http_server -- --port 0      # any free port
//! cargo run --release --example 11_http_server -- --threads     # thread-per-connection, to compare
//! wrk -t2 -c100 -d5s http://127.0.0.1:8080/hello/wrk
//! ```

use std::io::{self, Read, Write};
use std::time::Instant;

use evloop::http::{self, AcceptBackoff, Limits, Request, Response};
use evloop::net::TcpListener;
use evloop::Metrics;

// ANCHOR: routes
/// The API, as a plain function from request to response.
pub fn respond(req: &Request) -> Response {
    match (req.method.as_str(), req.path_only()) {
        ("GET", "/") => Response::json(&serde_json::json!({ "message": "Hello, world!" })),
        ("GET", path) if path.starts_with("/hello/") => {
            let name = &path["/hello/".len()..];
            Response::json(&serde_json::json!({ "message": format!("Hello, {name}!") }))
        }
        ("POST", "/echo") => match serde_json::from_slice::<serde_json::Value>(&req.body) {
            Ok(value) => Response::json(&value),
            Err(e) => {
                Response::error(400).body(format!("the body is not JSON: {e}\n").into_bytes())
            }
        },
        // Something lives here, just not for this method: say which do.
        (_, "/") => Response::method_not_allowed(&["GET"]),
        (_, path) if path.starts_with("/hello/") => Response::method_not_allowed(&["GET"]),
        (_, "/echo") => Response::method_not_allowed(&["POST"]),
        _ => Response::error(404),
    }
}

/// The evloop handler: async, so it could await a database or another service.
pub async fn route(req: Request) -> Response {
    if req.path_only() == "/metrics" {
        // The counters of the loop that is running this very handler.
        return Response::json(&metrics_json(&Metrics::current()));
    }
    respond(&req)
}
// ANCHOR_END: routes

/// The loop's counters as JSON (what `GET /metrics` answers).
pub fn metrics_json(m: &Metrics) -> serde_json::Value {
    serde_json::json!({
        "tasks_spawned": m.tasks_spawned, "polls": m.polls, "wakes": m.wakes,
        "io_events": m.io_events, "turns": m.turns, "timers_fired": m.timers_fired,
        "slow_polls": m.slow_polls, "longest_poll_us": m.longest_poll.as_micros() as u64,
    })
}

// ANCHOR: serve
/// Bind, announce, serve: every connection becomes a task on this one thread.
pub async fn serve_evloop(host: &str, port: u16) -> io::Result<()> {
    let listener = TcpListener::bind((host, port)).await?;
    announce(
        listener.local_addr()?,
        "evloop: one thread, a task per connection",
    )?;
    http::serve(listener, route).await
}
// ANCHOR_END: serve

// ANCHOR: threads
/// The same API, one OS thread per connection (the way before event loops):
/// simple, but every idle keep-alive client holds a whole thread and its stack.
pub fn serve_threads(host: &str, port: u16) -> io::Result<()> {
    let listener = std::net::TcpListener::bind((host, port))?;
    announce(listener.local_addr()?, "one thread per connection")?;
    serve_threads_on(listener, Limits::default())
}

/// Accept forever, one thread per connection. When `accept` fails (each
/// thread holds a descriptor, and they run out), wait and log as sparingly as
/// `http::serve` does: the same `AcceptBackoff`, with a blocking sleep.
pub fn serve_threads_on(listener: std::net::TcpListener, limits: Limits) -> io::Result<()> {
    let mut backoff = AcceptBackoff::new();
    loop {
        match listener.accept() {
            Ok((stream, _peer)) => {
                backoff.succeeded();
                // The OS may refuse a thread, too: that costs this client
                // its connection (dropped with the closure), not the server.
                let _ = std::thread::Builder::new()
                    .name("connection".into())
                    .spawn(move || serve_one_blocking(stream, limits));
            }
            Err(e) => {
                let pause = backoff.failed(Instant::now());
                if pause.log.is_some() {
                    evloop::runtime::log::warn(format_args!("threads: accept failed: {e}"));
                }
                std::thread::sleep(pause.wait);
            }
        }
    }
}
// ANCHOR_END: threads

// ANCHOR: blocking
/// One connection, blocking. The rules are evloop's — the same
/// `http::parse_head`, the same `Limits` — only the waiting differs: each
/// read here blocks this thread, where evloop's returns `Pending` to the loop.
fn serve_one_blocking(mut stream: std::net::TcpStream, limits: Limits) -> io::Result<()> {
    // A client that stops reading our response must not hold the thread.
    stream.set_write_timeout(limits.read_timeout)?;
    let mut buf = Vec::new();
    loop {
        // The whole request, from the wait for its first byte to its last,
        // gets `read_timeout` (evloop wraps the same span in `timeout`). A
        // deadline, not a limit per read: a client sending one byte every
        // 9 s would otherwise hold this thread for hours.
        let deadline = limits.read_timeout.map(|limit| Instant::now() + limit);
        let head = loop {
            match http::parse_head(&buf, &limits) {
                Ok(Some(head)) => break head,
                Ok(None) => {} // not complete yet: read more
                Err(e) => return refuse(&mut stream, e.status().unwrap_or(400)),
            }
            match read_before(&mut stream, &mut buf, deadline) {
                Ok(0) => return Ok(()), // the client closed the connection
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::TimedOut => return refuse(&mut stream, 408),
                Err(e) => return Err(e),
            }
        };
        let end = head.len + head.body_len;
        if head.request.expects_continue() && buf.len() < end {
            stream.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
        }
        while buf.len() < end {
            if read_before(&mut stream, &mut buf, deadline)? == 0 {
                return Ok(()); // gone mid-body
            }
        }
        let mut req = head.request;
        req.body = buf[head.len..end].to_vec();
        buf.drain(..end); // what is left is the next, pipelined request
        let keep_alive = req.keep_alive();
        stream.write_all(&respond(&req).encode(keep_alive))?;
        if !keep_alive {
            return Ok(());
        }
    }
}
// ANCHOR_END: blocking

/// Read once onto the end of `buf`; fail with `TimedOut` at `deadline`.
fn read_before(
    stream: &mut std::net::TcpStream,
    buf: &mut Vec<u8>,
    deadline: Option<Instant>,
) -> io::Result<usize> {
    if let Some(deadline) = deadline {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::ErrorKind::TimedOut.into());
        }
        stream.set_read_timeout(Some(left))?;
    }
    let mut chunk = [0u8; 8 * 1024];
    match stream.read(&mut chunk) {
        Ok(n) => {
            buf.extend_from_slice(&chunk[..n]);
            Ok(n)
        }
        // A blocking read that ran out of time says `WouldBlock` on Unix
        // (EAGAIN) and `TimedOut` on Windows: the same thing here.
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => Err(io::ErrorKind::TimedOut.into()),
        Err(e) => Err(e),
    }
}

/// Answer `status` and close, as evloop's server does with a refused request.
fn refuse(stream: &mut std::net::TcpStream, status: u16) -> io::Result<()> {
    stream.write_all(&Response::error(status).encode(false))?;
    stream.shutdown(std::net::Shutdown::Write)
}

/// Print the address first, so scripts and tests can find the server.
fn announce(addr: std::net::SocketAddr, mode: &str) -> io::Result<()> {
    println!("listening on http://{addr}");
    println!("mode: {mode}");
    io::stdout().flush()
}

fn main() -> io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let value = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let host = value("--host").unwrap_or_else(|| "127.0.0.1".into());
    let port: u16 = value("--port").map_or(8080, |p| p.parse().expect("--port takes a number"));
    if args.iter().any(|a| a == "--threads") {
        serve_threads(&host, port)
    } else {
        evloop::run(serve_evloop(&host, port))
    }
}
