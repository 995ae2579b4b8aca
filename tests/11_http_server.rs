//! Lesson 11: the JSON API, its routes, and the server under many clients.
//!
//! Load proper (wrk, Python `requests` and `aiohttp`) runs against the built
//! example in `.ci/http-clients.sh`; here we check what a test can check
//! exactly, plus `curl` as one client nobody here wrote.

#[path = "../examples/11_http_server.rs"]
#[allow(dead_code)]
mod example;

use std::net::SocketAddr;
use std::time::Duration;

use evloop::http::{self, Request, Response};
use evloop::net::{TcpListener, TcpStream};
use evloop::time::timeout;

fn req(method: &str, path: &str, body: &[u8]) -> Request {
    Request {
        method: method.into(),
        path: path.into(),
        headers: vec![],
        body: body.to_vec(),
        minor_version: 1,
    }
}

fn json(resp: &Response) -> serde_json::Value {
    serde_json::from_slice(&resp.body).unwrap()
}

#[test]
fn the_routes_answer_as_documented() {
    assert_eq!(
        json(&example::respond(&req("GET", "/", b"")))["message"],
        "Hello, world!"
    );
    assert_eq!(
        json(&example::respond(&req("GET", "/hello/ada?x=1", b"")))["message"],
        "Hello, ada!"
    );
    let echo = example::respond(&req("POST", "/echo", br#"{"a":[1,2]}"#));
    assert_eq!(json(&echo), serde_json::json!({"a": [1, 2]}));
    assert_eq!(
        example::respond(&req("POST", "/echo", b"not json")).status,
        400
    );
    let not_here = example::respond(&req("DELETE", "/", b""));
    assert_eq!(not_here.status, 405);
    assert!(not_here.headers.contains(&("Allow".into(), "GET".into())));
    assert_eq!(example::respond(&req("GET", "/nowhere", b"")).status, 404);
}

/// Start the API on a thread of its own (its own event loop); return its address.
fn start_server() -> SocketAddr {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        evloop::run(async move {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            http::serve(listener, example::route).await
        })
    });
    rx.recv_timeout(Duration::from_secs(10))
        .expect("the server did not start")
}

#[test]
fn fifty_keep_alive_clients_times_twenty_requests_all_succeed() {
    let addr = start_server();
    let statuses = evloop::run(async move {
        let clients = (0..50).map(|c| {
            evloop::spawn(async move {
                // One connection, twenty requests on it: keep-alive.
                let mut stream = TcpStream::connect(addr).await?;
                let mut ok = 0;
                let mut buf = vec![0u8; 4096];
                for i in 0..20 {
                    let request = format!("GET /hello/{c}-{i} HTTP/1.1\r\nHost: x\r\n\r\n");
                    stream.write_all(request.as_bytes()).await?;
                    let n = stream.read(&mut buf).await?;
                    let reply = String::from_utf8_lossy(&buf[..n]);
                    if reply.starts_with("HTTP/1.1 200")
                        && reply.contains(&format!("Hello, {c}-{i}!"))
                    {
                        ok += 1;
                    }
                }
                std::io::Result::Ok(ok)
            })
        });
        timeout(Duration::from_secs(30), evloop::join_all(clients))
            .await
            .expect("load test timed out")
    });
    let ok: usize = statuses.into_iter().map(|r| r.unwrap().unwrap()).sum();
    assert_eq!(ok, 50 * 20);

    // The server's own counters, over HTTP: every connection was a task.
    let metrics = evloop::run(http::get(&format!("http://{addr}/metrics")))
        .unwrap()
        .json()
        .unwrap();
    assert!(
        metrics["tasks_spawned"].as_u64().unwrap() >= 50,
        "{metrics}"
    );
    assert!(metrics["io_events"].as_u64().unwrap() > 0, "{metrics}");
    assert_eq!(metrics["slow_polls"], 0, "{metrics}");
}

#[test]
fn curl_gets_json_from_the_server() {
    let addr = start_server();
    let output = match std::process::Command::new("curl")
        .args([
            "-sS",
            "--max-time",
            "10",
            &format!("http://{addr}/hello/curl"),
        ])
        .output()
    {
        Ok(output) => output,
        Err(e) if std::env::var_os("CI").is_none() => {
            eprintln!("skipping: curl is not installed ({e}); .ci/run installs it");
            return;
        }
        Err(e) => panic!("curl is required in CI: {e}"),
    };
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let body: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(body["message"], "Hello, curl!");
}

/// Send raw bytes on a blocking socket; read until the server closes (or 5 s
/// pass: a server that should have closed and did not fails the test, it
/// does not hang it).
fn raw_blocking(addr: SocketAddr, bytes: &[u8]) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(bytes).unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                out.extend_from_slice(b"<the server did not close within 5 s>");
                break;
            }
            Err(_) => break,
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn a_known_path_with_another_method_is_405_with_allow() {
    let addr = start_server();
    let reply = raw_blocking(addr, b"PUT /echo HTTP/1.1\r\nConnection: close\r\n\r\n");
    assert!(reply.starts_with("HTTP/1.1 405"), "{reply}");
    assert!(reply.contains("\r\nAllow: POST\r\n"), "{reply}");
    let reply = raw_blocking(
        addr,
        b"POST /hello/ada HTTP/1.1\r\nConnection: close\r\n\r\n",
    );
    assert!(reply.contains("\r\nAllow: GET\r\n"), "{reply}");
}

/// The `--threads` comparison server keeps evloop's limits: it used to read
/// a head of any size, wait forever for a silent client, and take a bad
/// `Content-Length` as 0 (serving the "body" as the next request).
#[test]
fn the_thread_per_connection_server_keeps_the_same_limits() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let limits = http::Limits {
        max_body: 1024,
        read_timeout: Some(Duration::from_millis(300)),
        ..http::Limits::default()
    };
    std::thread::spawn(move || example::serve_threads_on(listener, limits));

    // Served as before.
    let reply = raw_blocking(addr, b"GET /hello/t HTTP/1.1\r\nConnection: close\r\n\r\n");
    assert!(reply.contains("Hello, t!"), "{reply}");
    // A head larger than 16 KiB.
    let huge = format!("GET / HTTP/1.1\r\nX-Big: {}\r\n\r\n", "a".repeat(20_000));
    assert!(raw_blocking(addr, huge.as_bytes()).starts_with("HTTP/1.1 431"));
    // Content-Length that is not digits, or two that disagree: 400, and
    // nothing after it is served.
    for framing in [
        "Content-Length: nope",
        "Content-Length: +2",
        "Content-Length: 2\r\nContent-Length: 7",
    ] {
        let request = format!(
            "POST /echo HTTP/1.1\r\n{framing}\r\n\r\n{{}}GET /hello/smuggled HTTP/1.1\r\n\r\n"
        );
        let reply = raw_blocking(addr, request.as_bytes());
        assert!(reply.starts_with("HTTP/1.1 400"), "{framing}: {reply}");
        assert!(!reply.contains("smuggled"), "{framing}: {reply}");
    }
    // A body over the limit.
    let big = b"POST /echo HTTP/1.1\r\nContent-Length: 5000\r\n\r\n";
    assert!(raw_blocking(addr, big).starts_with("HTTP/1.1 413"));
    // Half a head, then silence: 408 after the read timeout, and closed.
    let reply = raw_blocking(addr, b"GET /hello/slow HTTP/1.1\r\nHost:");
    assert!(reply.starts_with("HTTP/1.1 408"), "{reply}");
    // `Expect: 100-continue` (the body held back until the server says go
    // on) and a token list in `Connection`.
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(b"POST /echo HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\nConnection: TE, close\r\n\r\n")
        .unwrap();
    let mut buf = [0u8; 64];
    let n = s.read(&mut buf).expect("no 100 Continue");
    assert_eq!(&buf[..n], b"HTTP/1.1 100 Continue\r\n\r\n");
    s.write_all(b"{}").unwrap();
    let mut reply = String::new();
    s.read_to_string(&mut reply).unwrap();
    assert!(reply.starts_with("HTTP/1.1 200 OK"), "{reply}");
    assert!(reply.contains("Connection: close"), "{reply}");
}

mod workers;

/// Every test above again, on worker threads (`tests/workers/mod.rs`).
#[test]
fn on_workers() {
    workers::rerun_on_workers(&[]);
}
