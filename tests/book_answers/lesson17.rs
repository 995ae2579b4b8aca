//! Lesson 17's exercises: round trips across a network, the writer's batching
//! loop, and a blocking command on a shared connection.
//!
//! The server is a toy Redis — `SET`, `GET` and a `BRPOP` that nobody ever
//! feeds — running as tasks of the same runtime, on loopback, under the paused
//! clock, as the chapter's picture does: every reply is ready at the next
//! reactor poll, so the virtual times below are exact. Exercise 4 is lesson
//! 14's exercise 4, answered in `lesson14.rs` against a real `redis-server`.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use evloop::net::{OwnedReadHalf, OwnedWriteHalf, TcpListener};
use evloop::redis::{parse, Cmd, Connection, Error, Limits, Multiplexed, Pool, Value};
use evloop::sync::mpsc::{self, UnboundedReceiver, UnboundedSender};
use evloop::sync::oneshot;
use evloop::testing::Network;
use evloop::time::{sleep, Instant};
use evloop::Runtime;

use crate::{paused, secs};

const fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// The keys every connection of one toy server sees.
type Store = Arc<Mutex<HashMap<Vec<u8>, Vec<u8>>>>;

/// One client's commands, answered in the order they came, as Redis does:
/// `SET`, `GET`, and a `BRPOP` on a list nobody ever pushes to.
async fn serve(mut from: impl AsyncRead + Unpin, mut to: impl AsyncWrite + Unpin, store: Store) {
    let (mut buf, mut chunk) = (Vec::new(), vec![0u8; 64 * 1024]);
    loop {
        match from.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
        let mut out = Vec::new();
        while let Ok(Some((Value::Array(args), used))) = parse(&buf, &Limits::default()) {
            buf.drain(..used);
            let arg = |i: usize| match args.get(i) {
                Some(Value::Bulk(b)) => b.clone(),
                _ => Vec::new(),
            };
            match arg(0).as_slice() {
                b"SET" => {
                    store.lock().unwrap().insert(arg(1), arg(2));
                    out.extend_from_slice(b"+OK\r\n");
                }
                b"GET" => match store.lock().unwrap().get(&arg(1)) {
                    Some(v) => {
                        out.extend_from_slice(format!("${}\r\n", v.len()).as_bytes());
                        out.extend_from_slice(v);
                        out.extend_from_slice(b"\r\n");
                    }
                    None => out.extend_from_slice(b"$-1\r\n"),
                },
                b"BRPOP" => {
                    // Nobody pushes: the list stays empty for the whole
                    // timeout, and this connection answers nothing else.
                    if to.write_all(&out).await.is_err() {
                        return;
                    }
                    out.clear();
                    let seconds = String::from_utf8_lossy(&arg(2)).parse().unwrap_or(0);
                    sleep(secs(seconds)).await;
                    out.extend_from_slice(b"*-1\r\n");
                }
                _ => out.extend_from_slice(b"-ERR the toy knows SET, GET and BRPOP\r\n"),
            }
        }
        if !out.is_empty() && to.write_all(&out).await.is_err() {
            return;
        }
    }
}

// ANCHOR: ex1
/// Start a toy Redis in this runtime, `latency` away from its clients in
/// each direction, and return its address.
async fn toy_redis(latency: Duration) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    evloop::spawn(accept_loop(listener, latency));
    addr
}

/// Each connection: the client's socket → a wire up → `serve` (the chapter
/// picture's toy Redis, plus a `BRPOP`) → a wire down → the client's socket.
async fn accept_loop(listener: TcpListener, latency: Duration) {
    let store = Store::default();
    while let Ok((conn, _)) = listener.accept().await {
        let (from_client, to_client) = conn.into_split();
        if latency.is_zero() {
            evloop::spawn(serve(from_client, to_client, store.clone()));
            continue;
        }
        // The network in between: one simulated wire each way, on which
        // every packet arrives `latency` after it was written.
        let net = Network::new(0).latency(latency, latency);
        let (up_in, up_out) = net.pair();
        let (down_in, down_out) = net.pair();
        evloop::spawn(forward(from_client, up_in));
        evloop::spawn(forward(down_out, to_client));
        evloop::spawn(serve(up_out, down_in, store.clone()));
    }
}

/// Copy one hop of the way: the socket onto the wire, or the wire onto it.
async fn forward(from: impl AsyncRead + Unpin, mut to: impl AsyncWrite + Unpin) {
    let _ = futures_util::io::copy(from, &mut to).await;
}

/// The same batch of GETs, each way. A round trip is 2 ms: 1 ms each way.
const GETS: usize = 64;
const ROUND_TRIP: Duration = ms(2);

/// Way 1: one connection, one GET at a time.
async fn one_at_a_time(addr: SocketAddr) -> Duration {
    let mut conn = Connection::connect(addr).await.unwrap();
    let start = Instant::now();
    for _ in 0..GETS {
        assert_eq!(conn.get("city").await.unwrap(), Some(b"Lisbon".to_vec()));
    }
    start.elapsed()
}

/// Way 2: a task per GET, a pool of `size` connections.
async fn pooled(addr: SocketAddr, size: usize) -> Duration {
    let pool = Arc::new(Pool::new(addr, size).unwrap());
    let start = Instant::now();
    let gets = (0..GETS).map(|_| {
        let pool = pool.clone();
        evloop::spawn(async move { pool.get("city").await })
    });
    for got in evloop::join_all(gets).await {
        assert_eq!(got.unwrap().unwrap(), Some(b"Lisbon".to_vec()));
    }
    start.elapsed()
}

/// Way 3: a task per GET, one multiplexed connection. Also its writes.
async fn pipelined(addr: SocketAddr) -> (Duration, u64) {
    let shared = Multiplexed::connect(addr).await.unwrap();
    let start = Instant::now();
    let gets = (0..GETS).map(|_| {
        let shared = shared.clone();
        evloop::spawn(async move { shared.get("city").await })
    });
    for got in evloop::join_all(gets).await {
        assert_eq!(got.unwrap().unwrap(), Some(b"Lisbon".to_vec()));
    }
    (start.elapsed(), shared.stats().writes)
}

#[test]
fn across_a_network_the_pool_buys_n_times_and_the_pipeline_far_more() {
    paused().block_on(async {
        let addr = toy_redis(ms(1)).await; // 1 ms each way, as `tc ... netem delay 1ms`
        let mut conn = Connection::connect(addr).await.unwrap();
        conn.set("city", "Lisbon").await.unwrap();

        // 64 GETs, 64 round trips.
        assert_eq!(one_at_a_time(addr).await, ROUND_TRIP * GETS as u32);
        // `--pool 1`: the same, one connection.
        assert_eq!(pooled(addr, 1).await, ROUND_TRIP * GETS as u32);
        // `--pool 16`: sixteen round trips in flight, 64 / 16 = 4 in a row.
        assert_eq!(pooled(addr, 16).await, ROUND_TRIP * (GETS / 16) as u32);
        // The pipeline: all 64 GETs in one write, one round trip.
        assert_eq!(pipelined(addr).await, (ROUND_TRIP, 1));
    });
}
// ANCHOR_END: ex1

// ANCHOR: ex2
/// A model of `Multiplexed` (`src/redis/mux.rs`, without its timeouts, fault
/// handling and `is_blocking` check): a writer task and a reader task, the
/// reply slots in a queue. `batching: false` is the exercise's edit — the
/// writer's `try_recv` loop gone, each request written on its own.
#[derive(Clone)]
struct ModelMux {
    requests: UnboundedSender<(Vec<u8>, oneshot::Sender<Value>)>,
    writes: Arc<AtomicU64>,
}

type Pending = Arc<Mutex<VecDeque<oneshot::Sender<Value>>>>;

impl ModelMux {
    async fn connect(addr: SocketAddr, batching: bool) -> ModelMux {
        let conn = evloop::net::TcpStream::connect(addr).await.unwrap();
        let (input, output) = conn.into_split();
        let (requests, queue) = mpsc::unbounded_channel();
        let (pending, writes) = (Pending::default(), Arc::new(AtomicU64::new(0)));
        let writer = write_loop(queue, output, pending.clone(), writes.clone(), batching);
        evloop::spawn(writer);
        evloop::spawn(read_loop(input, pending));
        ModelMux { requests, writes }
    }

    async fn query(&self, cmd: Cmd) -> Value {
        let (reply, answer) = oneshot::channel();
        let mut bytes = Vec::new();
        cmd.encode(&mut bytes);
        self.requests.send((bytes, reply)).unwrap();
        answer.await.unwrap()
    }
}

async fn write_loop(
    mut queue: UnboundedReceiver<(Vec<u8>, oneshot::Sender<Value>)>,
    mut out: OwnedWriteHalf,
    pending: Pending,
    writes: Arc<AtomicU64>,
    batching: bool,
) {
    let mut buf = Vec::new();
    while let Some(first) = queue.recv().await {
        let mut next = Some(first);
        while let Some((bytes, reply)) = next.take() {
            buf.extend_from_slice(&bytes);
            pending.lock().unwrap().push_back(reply);
            if batching {
                next = queue.try_recv().ok(); // take everything queued
            }
        }
        writes.fetch_add(1, Ordering::Relaxed);
        out.write_all(&buf).await.unwrap();
        buf.clear();
    }
}

async fn read_loop(mut input: OwnedReadHalf, pending: Pending) {
    let (mut buf, mut chunk) = (Vec::new(), vec![0u8; 64 * 1024]);
    while let Ok(n @ 1..) = input.read(&mut chunk).await {
        buf.extend_from_slice(&chunk[..n]);
        while let Ok(Some((value, used))) = parse(&buf, &Limits::default()) {
            buf.drain(..used);
            let oldest = pending.lock().unwrap().pop_front().unwrap();
            let _ = oldest.send(value);
        }
    }
}

/// The chapter's workload: `TASKS` clients, `ROUNDS` rounds of SET + GET.
const TASKS: usize = 100;
const ROUNDS: usize = 100;

async fn workload(mux: ModelMux) -> u64 {
    let clients = (0..TASKS).map(|t| {
        let mux = mux.clone();
        evloop::spawn(async move {
            for i in 0..ROUNDS {
                mux.query(Cmd::set(t, i)).await;
                let got = mux.query(Cmd::get(t)).await;
                assert_eq!(got, Value::Bulk(i.to_string().into_bytes()));
            }
        })
    });
    for client in evloop::join_all(clients).await {
        client.unwrap();
    }
    mux.writes.load(Ordering::Relaxed)
}

#[test]
fn without_the_try_recv_loop_every_command_is_a_write_of_its_own() {
    // A paused runtime without the trace: 20,000 commands make a long one.
    let rt = Runtime::builder().start_paused(true).build().unwrap();
    rt.block_on(async {
        let addr = toy_redis(Duration::ZERO).await;
        // The real `Multiplexed`, for reference: its reader hands out each
        // batch of replies in two portions, so every batch after the first
        // goes out in two writes (two batches in flight): 1 + 199 × 2.
        let real = Multiplexed::connect(addr).await.unwrap();
        let clients = (0..TASKS).map(|t| {
            let real = real.clone();
            evloop::spawn(async move {
                for i in 0..ROUNDS {
                    real.set(t, i).await?;
                    real.get(t).await?;
                }
                Ok::<_, Error>(())
            })
        });
        for client in evloop::join_all(clients).await {
            client.unwrap().unwrap();
        }
        assert_eq!(real.stats().writes, 399);

        // The model's reader hands out a whole batch at once: one write a batch.
        let batched = workload(ModelMux::connect(addr, true).await).await;
        assert_eq!(batched, 200);
        // ...and without it, once per command: 20,000 writes, each a
        // system call, for the same 20,000 commands.
        let one_by_one = workload(ModelMux::connect(addr, false).await).await;
        assert_eq!(one_by_one, (2 * TASKS * ROUNDS) as u64);
        assert_eq!(one_by_one / batched, TASKS as u64);
    });
}
// ANCHOR_END: ex2

// ANCHOR: ex3
#[test]
fn a_brpop_on_a_shared_connection_holds_every_reply_behind_it() {
    paused().block_on(async {
        let addr = toy_redis(Duration::ZERO).await;
        let brpop = || Cmd::new("BRPOP").arg("jobs").arg(5);

        // As it is: `Multiplexed` refuses the blocking command at once, and
        // the connection goes on serving everybody else.
        let shared = Multiplexed::connect(addr).await.unwrap();
        shared.set("city", "Lisbon").await.unwrap();
        let refused = shared.query(brpop()).await;
        assert!(matches!(refused, Err(Error::NeedsOwnConnection(ref c)) if c == "BRPOP"));
        assert!(!shared.is_broken());

        // With the check removed (the model of ex2 has none): BRPOP first,
        // then 10 ms later another task's GET on the same connection.
        let model = ModelMux::connect(addr, true).await;
        let start = Instant::now();
        let blocked = evloop::spawn({
            let model = model.clone();
            async move { (model.query(brpop()).await, start.elapsed()) }
        });
        let get = evloop::spawn(async move {
            sleep(ms(10)).await;
            (model.query(Cmd::get("city")).await, start.elapsed())
        });
        assert_eq!(blocked.await.unwrap(), (Value::Nil, secs(5)));
        // The GET's reply was ready in a microsecond; it came at 5 s.
        assert_eq!(
            get.await.unwrap(),
            (Value::Bulk(b"Lisbon".to_vec()), secs(5))
        );

        // The way the chapter takes: BRPOP on a connection of its own, and
        // the shared connection's GET is answered the moment it is sent.
        let mut own = Connection::connect(addr).await.unwrap();
        let start = Instant::now();
        let blocked = evloop::spawn(async move { (own.brpop("jobs", 5).await, start.elapsed()) });
        let get = evloop::spawn(async move {
            sleep(ms(10)).await;
            (shared.get("city").await.unwrap(), start.elapsed())
        });
        assert_eq!(get.await.unwrap(), (Some(b"Lisbon".to_vec()), ms(10)));
        let (popped, at) = blocked.await.unwrap();
        assert_eq!((popped.unwrap(), at), (None, secs(5)));
    });
}
// ANCHOR_END: ex3
