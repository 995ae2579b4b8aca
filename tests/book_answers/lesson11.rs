//! Lesson 11's exercises: a slow route, the batch size, and the trace of keep-alive.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use evloop::http::{self, Request, Response};
use evloop::net::{TcpListener, TcpStream};
use evloop::time::{sleep, Instant};
use evloop::{Metrics, Runtime};

use crate::{count, paused, secs, timeline};

/// Lesson 11's routes, plus exercise 1's `/slow`.
async fn route(req: Request) -> Response {
    if req.path_only() == "/slow" {
        sleep(Duration::from_secs(1)).await;
    }
    Response::json(&serde_json::json!({ "message": "Hello, world!" }))
}

/// Serve on a fresh port of this runtime; returns the address.
async fn start_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    evloop::task::Builder::new()
        .name("server")
        .spawn(http::serve(listener, route));
    addr
}

/// `clients` connections at once, one GET of `path` each.
async fn load(addr: SocketAddr, clients: usize, path: &'static str) {
    let url = format!("http://{addr}{path}");
    let gets = (0..clients).map(|_| {
        let url = url.clone();
        evloop::spawn(async move { http::get(&url).await })
    });
    for got in evloop::join_all(gets).await {
        assert_eq!(got.unwrap().unwrap().status, 200);
    }
}

// ANCHOR: ex1
#[test]
fn a_slow_route_serves_a_hundred_connections_a_second_on_timers() {
    let rt = paused();
    let took = rt.block_on(async {
        let addr = start_server().await;
        let fired_before = Metrics::current().timers_fired;
        let start = Instant::now();
        load(addr, 100, "/slow").await; // wrk -c100: 100 connections at once
        (
            start.elapsed(),
            Metrics::current().timers_fired - fired_before,
        )
    });
    // 100 requests in one second: each connection waits its second at the same time.
    assert_eq!(took.0, secs(1));
    assert_eq!(took.1, 100); // one timer fired per request
}
// ANCHOR_END: ex1

// ANCHOR: ex2
/// Polls per turn while `clients` connections are served: the batch size.
fn batch_size(clients: usize) -> f64 {
    let rt = Runtime::new().unwrap();
    rt.block_on(async {
        let addr = start_server().await;
        let before = Metrics::current(); // the first `curl .../metrics`
        load(addr, clients, "/").await;
        let after = Metrics::current(); // the second
        (after.polls - before.polls) as f64 / (after.turns - before.turns) as f64
    })
}

#[test]
fn more_connections_make_bigger_batches() {
    let one = batch_size(1);
    let hundred = batch_size(100);
    assert!(
        hundred > one,
        "1 client: {one:.1} polls a turn, 100: {hundred:.1}"
    );
}
// ANCHOR_END: ex2

// ANCHOR: ex3
// `evloop::run(serve_evloop(..))` never returns, so there is no runtime left
// to ask for a trace. Build the runtime yourself with `.trace(true)`, serve
// on it, and stop after the requests: here a client makes ten requests on one
// keep-alive connection, then the runtime's trace is printed.
async fn ten_requests_on_one_connection(addr: SocketAddr) -> io::Result<()> {
    let mut stream = TcpStream::connect(addr).await?;
    for _ in 0..10 {
        stream
            .write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
            .await?;
        read_one_response(&mut stream).await?;
    }
    Ok(())
}

#[test]
fn each_keep_alive_request_is_a_wake_by_io_and_a_pending_poll() {
    let rt = paused();
    rt.block_on(async {
        let addr = start_server().await;
        ten_requests_on_one_connection(addr).await.unwrap();
    });
    println!("{}", rt.trace().timeline());
    // The connection's task is the one `server` spawned: `task-N`. Its first
    // poll finds the first request already there (readiness starts set) and
    // ends `Pending`, waiting for the next. Each later request wakes it
    // through its socket, and each of those polls ends `Pending` again.
    let lines = timeline(&rt);
    let conn = lines
        .lines()
        .find_map(|l| l.split("spawn ").nth(1).filter(|t| t.starts_with("task-")))
        .expect("the server spawned the connection's task")
        .to_string();
    assert_eq!(count(&rt, &format!("wake {conn} ← io#")), 9, "{lines}");
    assert_eq!(count(&rt, &format!("poll {conn} → Pending")), 10);
    assert_eq!(count(&rt, &format!("poll {conn} → Ready")), 0);
}

/// Read one response: the head, then `Content-Length` bytes of body.
async fn read_one_response(stream: &mut TcpStream) -> io::Result<()> {
    let mut got = Vec::new();
    let mut byte = [0u8; 1];
    while !got.ends_with(b"\r\n\r\n") {
        stream.read_exact(&mut byte).await?;
        got.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&got).to_ascii_lowercase();
    let length: usize = head
        .split("content-length:")
        .nth(1)
        .and_then(|rest| rest.lines().next())
        .and_then(|n| n.trim().parse().ok())
        .expect("a Content-Length");
    stream.read_exact(&mut vec![0; length]).await
}
// ANCHOR_END: ex3
