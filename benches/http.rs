//! `http`: requests per second of the lesson-11 server shape, evloop vs tokio.
//!
//! The *same* protocol code serves on both runtimes: `evloop::http::serve_connection`
//! is generic over `AsyncRead + AsyncWrite`, so on tokio it runs over tokio's
//! sockets through `tokio-util`'s compat layer. Only the runtime differs: the
//! accept loop, the task per connection, the reactor, the wakers.
//!
//! Each server runs on its own thread. One load client (tokio, the same for
//! both) opens 50 keep-alive connections and sends 200 requests on each:
//! one iteration = 10,000 requests. Criterion reports elements/s = requests/s.
//! Read timeouts are off on both (they are runtime-specific timers).

use std::net::SocketAddr;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use evloop::http::{Limits, Request, Response};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::compat::TokioAsyncReadCompatExt;

const CONNECTIONS: usize = 50;
const REQUESTS: usize = 200;
const LIMITS: Limits = Limits {
    max_head: 16 * 1024,
    max_body: 1 << 20,
    read_timeout: None,
};

async fn handler(req: Request) -> Response {
    let name = req.path_only().trim_start_matches("/hello/").to_string();
    Response::json(&serde_json::json!({ "message": format!("Hello, {name}!") }))
}

fn start_evloop() -> SocketAddr {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        evloop::run(async move {
            let listener = evloop::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                stream.set_nodelay(true).unwrap();
                evloop::spawn(async move {
                    let _ = evloop::http::serve_connection(stream, LIMITS, &handler).await;
                });
            }
        })
    });
    rx.recv().unwrap()
}

fn start_tokio() -> SocketAddr {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                stream.set_nodelay(true).unwrap();
                tokio::spawn(async move {
                    let _ = evloop::http::serve_connection(stream.compat(), LIMITS, &handler).await;
                });
            }
        })
    });
    rx.recv().unwrap()
}

/// 50 connections × 200 keep-alive requests; panics on any wrong answer.
async fn load(addr: SocketAddr) {
    let clients = (0..CONNECTIONS).map(|_| {
        tokio::spawn(async move {
            let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
            s.set_nodelay(true).unwrap();
            let mut buf = vec![0u8; 4096];
            for _ in 0..REQUESTS {
                s.write_all(b"GET /hello/bench HTTP/1.1\r\nHost: x\r\n\r\n")
                    .await
                    .unwrap();
                let mut got = 0;
                // Read until the whole response (head + its small body) is in.
                loop {
                    got += s.read(&mut buf[got..]).await.unwrap();
                    let mut headers = [httparse::EMPTY_HEADER; 16];
                    let mut resp = httparse::Response::new(&mut headers);
                    if let Ok(httparse::Status::Complete(head)) = resp.parse(&buf[..got]) {
                        assert_eq!(resp.code, Some(200));
                        let len: usize = resp
                            .headers
                            .iter()
                            .find(|h| h.name.eq_ignore_ascii_case("content-length"))
                            .map(|h| std::str::from_utf8(h.value).unwrap().parse().unwrap())
                            .unwrap();
                        if got >= head + len {
                            break;
                        }
                    }
                }
            }
        })
    });
    for c in clients {
        c.await.unwrap();
    }
}

fn http(c: &mut Criterion) {
    let client = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut group = c.benchmark_group("http");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(8));
    group.throughput(Throughput::Elements((CONNECTIONS * REQUESTS) as u64));
    let evloop_addr = start_evloop();
    group.bench_function("evloop", |b| b.iter(|| client.block_on(load(evloop_addr))));
    let tokio_addr = start_tokio();
    group.bench_function("tokio", |b| b.iter(|| client.block_on(load(tokio_addr))));
    group.finish();
}

criterion_group!(benches, http);
criterion_main!(benches);
