//! Lesson 11 — an HTTP server under load: one thread, thousands of clients.
//!
//! A small JSON API on evloop, the server the aiohttp tutorials build:
//!
//! - `GET /` → `{"message": "Hello, world!"}`
//! - `GET /hello/{name}` → `{"message": "Hello, {name}!"}`
//! - `POST /echo` → the JSON body you sent, back (`400` if it is not JSON)
//! - `GET /metrics` → the event loop's own counters, as JSON
//!
//! ```text
//! cargo run --release --example 11_http_server                  # port 8080
//! cargo run --release --example 11_http_server -- --port 0      # any free port
//! cargo run --release --example 11_http_server -- --threads     # thread-per-connection, to compare
//! wrk -t2 -c100 -d5s http://127.0.0.1:8080/hello/wrk
//! ```

use std::io::{self, BufRead, BufReader, Read, Write};

use evloop::http::{self, Request, Response};
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
        (_, "/" | "/echo") => Response::error(405),
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
    for stream in listener.incoming() {
        let stream = stream?;
        std::thread::spawn(move || serve_one_blocking(stream));
    }
    Ok(())
}
// ANCHOR_END: threads

/// Print the address first, so scripts and tests can find the server.
fn announce(addr: std::net::SocketAddr, mode: &str) -> io::Result<()> {
    println!("listening on http://{addr}");
    println!("mode: {mode}");
    io::stdout().flush()
}

/// A blocking keep-alive loop for one connection (thread-per-connection mode).
/// Deliberately minimal: the point is the threads, not the parsing.
fn serve_one_blocking(stream: std::net::TcpStream) -> io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut writer = stream;
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line)? == 0 {
            return Ok(()); // the client closed the connection
        }
        let mut length = 0;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line)?;
            if line.trim_end().is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse().unwrap_or(0).min(1 << 20);
                }
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body)?;
        let mut parts = request_line.split_whitespace();
        let (method, path) = (
            parts.next().unwrap_or_default(),
            parts.next().unwrap_or_default(),
        );
        let req = Request {
            method: method.into(),
            path: path.into(),
            headers: vec![],
            body,
            minor_version: 1,
        };
        let resp = respond(&req);
        let mut out = format!(
            "HTTP/1.1 {} {}\r\nContent-Length: {}\r\n",
            resp.status,
            http::reason(resp.status),
            resp.body.len()
        );
        for (name, value) in &resp.headers {
            out.push_str(&format!("{name}: {value}\r\n"));
        }
        out.push_str("\r\n");
        // One write for head and body: two small writes would meet Nagle's
        // algorithm and the peer's delayed ACK, and wait 40 ms each time.
        let mut bytes = out.into_bytes();
        bytes.extend_from_slice(&resp.body);
        writer.write_all(&bytes)?;
    }
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
