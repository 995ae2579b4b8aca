//! `echo`: round trips over loopback TCP — the reactor's hot path.
//!
//! What one iteration measures, identically for both runtimes: inside
//! `block_on`, an echo server accepts 100 connections (one task each); 100
//! client tasks each send a 64-byte message and read it back, 1,000 times.
//! That is 100,000 round trips: each one a write, an edge, a wake, a read, a
//! write back, an edge, a wake, a read — the whole path from `epoll_wait`
//! through the waker to the task and back to the socket.
//!
//! Each iteration gets a fresh runtime, and only `block_on` is timed. Setting
//! up the 100 connections is part of it, but is tiny next to 100,000 round trips.
//!
//! tokio is `Builder::new_current_thread().enable_all()`: one thread, like evloop.
//!
//! Run: `cargo bench --bench echo -- --noplot`.

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};

mod common;
use common::Plan;

/// Concurrent connections.
const CONNECTIONS: usize = 100;
/// Round trips per connection.
const ROUND_TRIPS: usize = 1_000;
/// Bytes per message.
const MESSAGE: usize = 64;

fn evloop_echo() -> Duration {
    use evloop::net::{TcpListener, TcpStream};

    let rt = evloop::Runtime::new().unwrap();
    let start = Instant::now();
    rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        evloop::spawn(async move {
            for _ in 0..CONNECTIONS {
                let (mut stream, _) = listener.accept().await.unwrap();
                evloop::spawn(async move {
                    let mut buf = [0u8; MESSAGE];
                    // Messages are fixed-size, so read_exact frames them.
                    while stream.read_exact(&mut buf).await.is_ok() {
                        stream.write_all(&buf).await.unwrap();
                    }
                });
            }
        });
        let clients: Vec<_> = (0..CONNECTIONS)
            .map(|i| {
                evloop::spawn(async move {
                    let mut stream = TcpStream::connect(addr).await.unwrap();
                    stream.set_nodelay(true).unwrap();
                    let message = [i as u8; MESSAGE];
                    let mut back = [0u8; MESSAGE];
                    for _ in 0..ROUND_TRIPS {
                        stream.write_all(&message).await.unwrap();
                        stream.read_exact(&mut back).await.unwrap();
                    }
                    assert_eq!(back, message);
                })
            })
            .collect();
        for client in clients {
            client.await.unwrap();
        }
    });
    start.elapsed()
}

fn tokio_echo() -> Duration {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let start = Instant::now();
    rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            for _ in 0..CONNECTIONS {
                let (mut stream, _) = listener.accept().await.unwrap();
                tokio::spawn(async move {
                    let mut buf = [0u8; MESSAGE];
                    while stream.read_exact(&mut buf).await.is_ok() {
                        stream.write_all(&buf).await.unwrap();
                    }
                });
            }
        });
        let clients: Vec<_> = (0..CONNECTIONS)
            .map(|i| {
                tokio::spawn(async move {
                    let mut stream = TcpStream::connect(addr).await.unwrap();
                    stream.set_nodelay(true).unwrap();
                    let message = [i as u8; MESSAGE];
                    let mut back = [0u8; MESSAGE];
                    for _ in 0..ROUND_TRIPS {
                        stream.write_all(&message).await.unwrap();
                        stream.read_exact(&mut back).await.unwrap();
                    }
                    assert_eq!(back, message);
                })
            })
            .collect();
        for client in clients {
            client.await.unwrap();
        }
    });
    start.elapsed()
}

fn echo(c: &mut Criterion) {
    let round_trips = (CONNECTIONS * ROUND_TRIPS) as u64;
    common::side_by_side(
        c,
        "echo",
        round_trips,
        Plan::secs(20),
        evloop_echo,
        tokio_echo,
    );
}

criterion_group!(benches, echo);
criterion_main!(benches);
