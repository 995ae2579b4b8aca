//! `chat_fanout`: lesson 15's chat server shape under a thousand clients.
//!
//! The server, identical on both runtimes: a `Room` behind a mutex holding
//! each client's bounded outbox; one task per client that `select`s between
//! the socket and its outbox; each line encoded once as a [`Prepared`] frame
//! and `try_send` to every outbox; writes batched (feed, then one flush).
//! The WebSocket code is the same `evloop::websocket` on both: it is generic
//! over `futures_io`, and tokio's sockets get there through `tokio-util`'s
//! `compat`.
//!
//! One iteration: 1,000 connected clients each send one line, and each
//! waits until it has received all 1,000 lines: 1,000,000 deliveries. The
//! server runs on its own thread (evloop's loop, or tokio's
//! `new_current_thread`); the clients are the same for both, raw sockets on
//! an evloop thread that only count frames, so the server is what is measured.
//! Connecting the clients is not timed.
//!
//! `evloop+console` is the evloop server on a runtime built with
//! `.console(..)`, while a headless viewer (a WebSocket client on its own
//! thread, not a browser, which would compete for the cores) reads the
//! console's feed: what watching the chat live costs it.
//!
//! Run: `cargo bench --bench chat_fanout -- --noplot`.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use criterion::{criterion_group, Criterion, Throughput};
use evloop::websocket::{self, Config, Message, Prepared, WebSocket};

/// Connected clients; each round delivers CLIENTS × CLIENTS lines.
const CLIENTS: usize = 1_000;
/// Outbox capacity, as in lesson 15.
const OUTBOX: usize = 1024;
/// Server-side limits: no evloop timers, so the same config runs on tokio.
const CONFIG: Config = Config {
    max_message_size: 64 * 1024,
    max_write_buffer: 16 * 1024 * 1024,
    frame_timeout: None,
    send_timeout: None,
    ping_interval: None,
    ping_timeout: None,
    close_timeout: None,
};

/// Something a line can be queued on without waiting: evloop's or tokio's bounded sender.
trait Outbox {
    /// `false` when the outbox is full (the client is too slow).
    fn offer(&self, frame: Prepared) -> bool;
}

impl Outbox for evloop::sync::mpsc::Sender<Prepared> {
    fn offer(&self, frame: Prepared) -> bool {
        !matches!(
            self.try_send(frame),
            Err(evloop::sync::mpsc::TrySendError::Full(_))
        )
    }
}

impl Outbox for tokio::sync::mpsc::Sender<Prepared> {
    fn offer(&self, frame: Prepared) -> bool {
        !matches!(
            self.try_send(frame),
            Err(tokio::sync::mpsc::error::TrySendError::Full(_))
        )
    }
}

/// Lesson 15's room, minus history and announcements (so the clients can
/// count exactly): broadcast each line to every outbox, drop the too slow.
struct Room<O> {
    clients: BTreeMap<u64, O>,
    next_id: u64,
}

impl<O: Outbox> Room<O> {
    fn join(&mut self, outbox: O) -> u64 {
        self.next_id += 1;
        self.clients.insert(self.next_id, outbox);
        self.next_id
    }

    fn broadcast(&mut self, id: u64, line: &str) {
        let frame = Prepared::text(&format!("guest-{id}: {line}"));
        self.clients.retain(|_, outbox| outbox.offer(frame.clone()));
    }
}

// ---------------------------------------------------------------- evloop server

fn evloop_server(
    ready: std::sync::mpsc::Sender<SocketAddr>,
    stop: evloop::sync::oneshot::Receiver<()>,
    console: Option<std::sync::mpsc::Sender<SocketAddr>>,
) {
    use evloop::net::{TcpListener, TcpStream};
    use evloop::sync::mpsc;

    type SharedRoom = Arc<Mutex<Room<mpsc::Sender<Prepared>>>>;

    async fn client(mut ws: WebSocket<TcpStream>, room: SharedRoom) {
        let (tx, mut outbox) = mpsc::channel::<Prepared>(OUTBOX);
        let id = room.lock().unwrap().join(tx);
        loop {
            let event = evloop::select(Box::pin(ws.recv()), Box::pin(outbox.recv())).await;
            match event {
                evloop::Either::Left(Ok(Some(Message::Text(line)))) => {
                    room.lock().unwrap().broadcast(id, &line)
                }
                evloop::Either::Left(_) => break,
                evloop::Either::Right(Some(frame)) => {
                    let _ = ws.feed_prepared(&frame);
                    for _ in 1..64 {
                        let Ok(frame) = outbox.try_recv() else { break };
                        let _ = ws.feed_prepared(&frame);
                    }
                    if ws.flush().await.is_err() {
                        break;
                    }
                }
                evloop::Either::Right(None) => break,
            }
        }
        room.lock().unwrap().clients.remove(&id);
    }

    let mut builder = evloop::Runtime::builder();
    if console.is_some() {
        builder = builder.console("127.0.0.1:0");
    }
    let rt = builder.build().unwrap();
    if let Some(console) = console {
        console.send(rt.console_addr().unwrap()).unwrap();
    }
    rt.block_on(async move {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        ready.send(listener.local_addr().unwrap()).unwrap();
        let room: SharedRoom = Arc::new(Mutex::new(Room {
            clients: BTreeMap::new(),
            next_id: 0,
        }));
        let accept = Box::pin(async move {
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                stream.set_nodelay(true).unwrap();
                let room = room.clone();
                evloop::spawn(async move {
                    if let Ok((ws, _request)) = websocket::server_handshake(stream, CONFIG).await {
                        client(ws, room).await;
                    }
                });
            }
        });
        let _ = evloop::select(accept, stop).await;
    });
}

// ----------------------------------------------------------------- tokio server

fn tokio_server(
    ready: std::sync::mpsc::Sender<SocketAddr>,
    stop: tokio::sync::oneshot::Receiver<()>,
) {
    use tokio::net::TcpListener;
    use tokio::sync::mpsc;
    use tokio_util::compat::{Compat, TokioAsyncReadCompatExt};

    type SharedRoom = Arc<Mutex<Room<mpsc::Sender<Prepared>>>>;

    async fn client(mut ws: WebSocket<Compat<tokio::net::TcpStream>>, room: SharedRoom) {
        let (tx, mut outbox) = mpsc::channel::<Prepared>(OUTBOX);
        let id = room.lock().unwrap().join(tx);
        loop {
            tokio::select! {
                biased;
                incoming = ws.recv() => match incoming {
                    Ok(Some(Message::Text(line))) => room.lock().unwrap().broadcast(id, &line),
                    _ => break,
                },
                frame = outbox.recv() => match frame {
                    Some(frame) => {
                        let _ = ws.feed_prepared(&frame);
                        for _ in 1..64 {
                            let Ok(frame) = outbox.try_recv() else { break };
                            let _ = ws.feed_prepared(&frame);
                        }
                        if ws.flush().await.is_err() {
                            break;
                        }
                    }
                    None => break,
                },
            }
        }
        room.lock().unwrap().clients.remove(&id);
    }

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        ready.send(listener.local_addr().unwrap()).unwrap();
        let room: SharedRoom = Arc::new(Mutex::new(Room {
            clients: BTreeMap::new(),
            next_id: 0,
        }));
        let accept = async move {
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                stream.set_nodelay(true).unwrap();
                let room = room.clone();
                tokio::spawn(async move {
                    if let Ok((ws, _request)) =
                        websocket::server_handshake(stream.compat(), CONFIG).await
                    {
                        client(ws, room).await;
                    }
                });
            }
        };
        tokio::select! {
            _ = accept => {}
            _ = stop => {}
        }
    });
}

// ---------------------------------------------------------------------- clients

/// A client that only counts: a raw socket after the handshake, a masked
/// frame out, and the server's frames counted (never copied) on the way in.
struct Counter {
    stream: evloop::net::TcpStream,
    buf: Vec<u8>,
}

impl Counter {
    async fn connect(addr: SocketAddr) -> Counter {
        let mut stream = evloop::net::TcpStream::connect(addr).await.unwrap();
        stream.set_nodelay(true).unwrap();
        let request = format!(
            "GET /ws HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        );
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            assert_eq!(stream.read(&mut byte).await.unwrap(), 1);
            head.push(byte[0]);
        }
        assert!(head.starts_with(b"HTTP/1.1 101"));
        Counter {
            stream,
            buf: Vec::with_capacity(64 * 1024),
        }
    }

    /// Send one masked text frame, then read until `expected` frames came back.
    async fn round(&mut self, expected: usize) {
        let key = [1u8, 2, 3, 4];
        let mut frame = vec![0x81, 0x80 | 5];
        frame.extend_from_slice(&key);
        frame.extend(b"hello".iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
        self.stream.write_all(&frame).await.unwrap();
        let mut seen = 0;
        let mut chunk = [0u8; 64 * 1024];
        while seen < expected {
            let n = self.stream.read(&mut chunk).await.unwrap();
            assert!(n > 0, "the server closed a client");
            self.buf.extend_from_slice(&chunk[..n]);
            // Count whole frames (all short: 7-bit lengths), keep a partial one.
            let mut at = 0;
            while self.buf.len() >= at + 2
                && self.buf.len() >= at + 2 + (self.buf[at + 1] & 0x7f) as usize
            {
                at += 2 + (self.buf[at + 1] & 0x7f) as usize;
                seen += 1;
            }
            self.buf.drain(..at);
        }
        assert_eq!(seen, expected);
    }
}

/// Connect the clients to `addr`, run `rounds` rounds, return the time they took.
fn drive_clients(addr: SocketAddr, rounds: u64) -> Duration {
    let rt = evloop::Runtime::new().unwrap();
    rt.block_on(async {
        let mut clients = Vec::with_capacity(CLIENTS);
        for _ in 0..CLIENTS {
            clients.push(Counter::connect(addr).await);
        }
        evloop::time::sleep(Duration::from_millis(100)).await; // let the server register everyone
        let mut total = Duration::ZERO;
        for _ in 0..rounds {
            let start = Instant::now();
            let tasks = clients.drain(..).map(|mut c| {
                evloop::spawn(async move {
                    c.round(CLIENTS).await;
                    c
                })
            });
            clients = evloop::join_all(tasks)
                .await
                .into_iter()
                .map(Result::unwrap)
                .collect();
            total += start.elapsed();
        }
        total
    })
}

/// A headless viewer of the console: reads every update of the feed (and
/// parses it, as a page would) until the console goes away.
fn console_viewer(console: SocketAddr) -> std::thread::JoinHandle<u64> {
    std::thread::spawn(move || {
        evloop::run(async move {
            let url = format!("ws://{console}/feed");
            let mut ws = websocket::connect(&url).await.unwrap();
            let mut updates = 0;
            while let Ok(Some(Message::Text(text))) = ws.recv().await {
                let update: serde_json::Value = serde_json::from_str(&text).unwrap();
                assert!(update["tasks"].is_array());
                updates += 1;
            }
            updates
        })
    })
}

fn chat_fanout(c: &mut Criterion) {
    let mut group = c.benchmark_group("chat_fanout");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(15));
    group.throughput(Throughput::Elements((CLIENTS * CLIENTS) as u64));
    group.bench_function("evloop", |b| {
        b.iter_custom(|rounds| evloop_run(false, rounds))
    });
    group.bench_function("evloop+console", |b| {
        b.iter_custom(|rounds| evloop_run(true, rounds))
    });
    group.bench_function("tokio", |b| {
        b.iter_custom(|rounds| {
            let (ready, addr) = std::sync::mpsc::channel();
            let (stop, stopped) = tokio::sync::oneshot::channel();
            let server = std::thread::spawn(move || tokio_server(ready, stopped));
            let took = drive_clients(addr.recv().unwrap(), rounds);
            let _ = stop.send(());
            server.join().unwrap();
            took
        })
    });
    group.finish();
}

/// One run of the evloop server (with the console and a viewer, or not):
/// connect the clients, time `rounds` rounds.
fn evloop_run(console: bool, rounds: u64) -> Duration {
    let (ready, addr) = std::sync::mpsc::channel();
    let (stop, stopped) = evloop::sync::oneshot::channel();
    let (console_tx, console_addr) = std::sync::mpsc::channel();
    let console_tx = console.then_some(console_tx);
    let server = std::thread::spawn(move || evloop_server(ready, stopped, console_tx));
    let viewer = console.then(|| console_viewer(console_addr.recv().unwrap()));
    let took = drive_clients(addr.recv().unwrap(), rounds);
    let _ = stop.send(());
    server.join().unwrap();
    if let Some(viewer) = viewer {
        viewer.join().unwrap();
    }
    took
}

/// `CONSOLE_AB=N cargo bench --bench chat_fanout`: console off and on,
/// alternated N times (3 rounds each), so that a busy machine slows both
/// alike; prints the median time of a round for each and their ratio.
fn console_ab(pairs: usize) {
    let (mut off, mut on) = (Vec::new(), Vec::new());
    for _ in 0..pairs {
        off.push(evloop_run(false, 3) / 3);
        on.push(evloop_run(true, 3) / 3);
    }
    let median = |v: &mut Vec<Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    let (off, on) = (median(&mut off), median(&mut on));
    println!(
        "chat_fanout, {pairs} alternated pairs: a round takes {off:?} console off, {on:?} on; \
         throughput on/off = {:.3}",
        off.as_secs_f64() / on.as_secs_f64()
    );
}

criterion_group!(benches, chat_fanout);

fn main() {
    if let Some(pairs) = std::env::var("CONSOLE_AB")
        .ok()
        .and_then(|n| n.parse().ok())
    {
        return console_ab(pairs);
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
