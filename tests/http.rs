//! The HTTP server and client, against each other and against raw bytes.
//!
//! Every test binds 127.0.0.1 port 0, runs the server as a task in the same
//! runtime, and bounds the whole test with a timeout, so nothing can hang.

use std::net::SocketAddr;
use std::time::Duration;

use evloop::http::{self, Limits, Request, Response};
use evloop::net::{TcpListener, TcpStream};
use evloop::time::timeout;

async fn handler(req: Request) -> Response {
    match (req.method.as_str(), req.path_only()) {
        ("GET", "/") => Response::json(&serde_json::json!({"hello": "world"})),
        ("GET", p) if p.starts_with("/hello/") => Response::text(format!("Hello, {}!", &p[7..])),
        ("POST", "/echo") => Response::new(200).body(req.body),
        ("GET", "/panic") => panic!("handler bug"),
        _ => Response::error(404),
    }
}

/// Start the server with `limits`; return its address.
async fn start(limits: Limits) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    evloop::spawn(http::serve_with(listener, limits, handler));
    addr
}

/// Send raw bytes, read until the server closes; return what it said.
async fn raw(addr: SocketAddr, bytes: &[u8]) -> String {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(bytes).await.unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn run<F: std::future::Future>(f: F) -> F::Output {
    evloop::run(async {
        timeout(Duration::from_secs(20), f)
            .await
            .expect("test timed out")
    })
}

#[test]
fn client_and_server_speak_json_text_and_bodies() {
    run(async {
        let addr = start(Limits::default()).await;
        let base = format!("http://{addr}");
        let r = http::get(&format!("{base}/")).await.unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(r.json().unwrap()["hello"], "world");
        let r = http::get(&format!("{base}/hello/ada")).await.unwrap();
        assert_eq!(r.text(), "Hello, ada!");
        let r = http::post(&format!("{base}/echo"), "text/plain", b"ping")
            .await
            .unwrap();
        assert_eq!(r.body, b"ping");
        assert_eq!(
            http::get(&format!("{base}/nope")).await.unwrap().status,
            404
        );
    });
}

#[test]
fn many_concurrent_requests_are_all_answered() {
    run(async {
        let addr = start(Limits::default()).await;
        let fetches = (0..200).map(|i| {
            evloop::spawn(async move {
                http::get(&format!("http://{addr}/hello/{i}"))
                    .await
                    .map(|r| r.text())
            })
        });
        let texts = evloop::join_all(fetches).await;
        for (i, t) in texts.into_iter().enumerate() {
            assert_eq!(t.unwrap().unwrap(), format!("Hello, {i}!"));
        }
    });
}

#[test]
fn keep_alive_serves_pipelined_requests_in_order() {
    run(async {
        let addr = start(Limits::default()).await;
        let reply = raw(
            addr,
            b"GET /hello/a HTTP/1.1\r\nHost: x\r\n\r\nGET /hello/b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        )
        .await;
        let a = reply.find("Hello, a!").expect(&reply);
        let b = reply.find("Hello, b!").expect(&reply);
        assert!(a < b);
        assert!(reply.contains("Connection: keep-alive") && reply.contains("Connection: close"));
    });
}

#[test]
fn malformed_oversized_and_unsupported_requests_get_clear_statuses() {
    run(async {
        let limits = Limits {
            max_body: 1024,
            ..Limits::default()
        };
        let addr = start(limits).await;
        assert!(raw(addr, b"THIS IS NOT HTTP\r\n\r\n")
            .await
            .starts_with("HTTP/1.1 400 Bad Request"));
        let huge_header = format!("GET / HTTP/1.1\r\nX-Big: {}\r\n\r\n", "a".repeat(20_000));
        assert!(raw(addr, huge_header.as_bytes())
            .await
            .starts_with("HTTP/1.1 431"));
        let big_body = b"POST /echo HTTP/1.1\r\nContent-Length: 5000\r\n\r\n";
        assert!(raw(addr, big_body).await.starts_with("HTTP/1.1 413"));
        let chunked = b"POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
        assert!(raw(addr, chunked).await.starts_with("HTTP/1.1 501"));
        assert!(raw(addr, b"GET / HTTP/1.1\r\nContent-Length: nope\r\n\r\n")
            .await
            .starts_with("HTTP/1.1 400"));
        // After all that, the server still serves a good client.
        assert_eq!(
            http::get(&format!("http://{addr}/hello/still"))
                .await
                .unwrap()
                .text(),
            "Hello, still!"
        );
    });
}

#[test]
fn a_half_sent_request_times_out_and_others_are_served_meanwhile() {
    run(async {
        let limits = Limits {
            read_timeout: Some(Duration::from_millis(300)),
            ..Limits::default()
        };
        let addr = start(limits).await;
        // A client that sends half a head, then goes silent.
        let silent = evloop::spawn(raw(addr, b"GET /hello/slow HTTP/1.1\r\nHost:"));
        // Meanwhile, others are served at once.
        for i in 0..5 {
            let r = http::get(&format!("http://{addr}/hello/{i}"))
                .await
                .unwrap();
            assert_eq!(r.status, 200);
        }
        // The silent one is answered 408 and closed when its time is up.
        assert!(silent.await.unwrap().starts_with("HTTP/1.1 408"));
    });
}

#[test]
fn a_panicking_handler_gets_500_and_the_server_goes_on() {
    run(async {
        let addr = start(Limits::default()).await;
        let r = http::get(&format!("http://{addr}/panic")).await.unwrap();
        assert_eq!(r.status, 500);
        assert_eq!(
            http::get(&format!("http://{addr}/hello/ok"))
                .await
                .unwrap()
                .text(),
            "Hello, ok!"
        );
    });
}

#[test]
fn a_client_that_vanishes_mid_body_does_not_disturb_others() {
    run(async {
        let addr = start(Limits::default()).await;
        {
            let mut s = TcpStream::connect(addr).await.unwrap();
            s.write_all(b"POST /echo HTTP/1.1\r\nContent-Length: 100\r\n\r\nonly part")
                .await
                .unwrap();
        } // dropped: the server sees EOF mid-body
        let r = http::post(&format!("http://{addr}/echo"), "text/plain", b"whole")
            .await
            .unwrap();
        assert_eq!(r.body, b"whole");
    });
}

#[test]
fn the_client_reads_chunked_and_close_delimited_bodies() {
    run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        evloop::spawn(async move {
            for reply in [
                &b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\n\r\n"[..],
                &b"HTTP/1.0 200 OK\r\n\r\nuntil close"[..],
            ] {
                let (mut s, _) = listener.accept().await.unwrap();
                let mut buf = [0u8; 1024];
                let _ = s.read(&mut buf).await;
                s.write_all(reply).await.unwrap();
            }
        });
        assert_eq!(
            http::get(&format!("http://{addr}/")).await.unwrap().text(),
            "hello, world"
        );
        assert_eq!(
            http::get(&format!("http://{addr}/")).await.unwrap().text(),
            "until close"
        );
    });
}

#[test]
fn a_refused_connection_is_an_error_not_a_hang() {
    run(async {
        // Bind then drop, so the port is (almost certainly) closed.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        assert!(http::get(&format!("http://127.0.0.1:{port}/"))
            .await
            .is_err());
        assert!(http::get("https://127.0.0.1/").await.is_err());
    });
}

mod workers;

/// Every test above again, on worker threads (`tests/workers/mod.rs`).
#[test]
fn on_workers() {
    workers::rerun_on_workers(&[]);
}
