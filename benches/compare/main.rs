//! `compare`: seven whole-program workloads, one runtime per process.
//!
//! The criterion benches in `benches/` put evloop beside tokio's
//! current-thread runtime one micro-workload at a time. This binary answers
//! the wider question from the performance issue — *how does evloop stand
//! beside tokio (one thread and two workers), smol and Python's asyncio?* —
//! with the same seven workloads written once per runtime, in the same shape.
//! `benches/compare/workloads.py` is the asyncio side, `run.sh` runs both
//! sides alternately over several rounds, and `report.py` turns the lines into
//! `results.md` and `results.svg`.
//!
//! One process runs ONE workload on ONE runtime, because peak memory
//! (`VmHWM` in `/proc/self/status`) is per process and never goes down:
//!
//! ```text
//! cargo bench --bench compare -- evloop spawn
//! evloop spawn 0.412s 198.3MB
//! ```
//!
//! The time is wall-clock from just before the runtime is built until
//! `block_on` returns (so it includes starting tokio's worker threads, but not
//! dropping the runtime); the memory is the process's peak RSS in MiB, taken
//! after the runtime is dropped, the binary's own few MiB included.
//!
//! | workload | what it does |
//! |---|---|
//! | `spawn` | spawn 1,000,000 tasks that each return their index, then await every handle in order |
//! | `yield` | 1,000 tasks, each `yield_now()` 1,000 times; await them all |
//! | `pingpong` | 1,000 pairs of tasks; each pair plays 1,000 round trips over two `bounded(1)` channels |
//! | `sleeps` | 100,000 tasks, task *i* sleeps a splitmix64-scattered 0–500 ms; await them all (real clock) |
//! | `gather` | 10,000 one-second sleeps joined in one task (`join_all`; real clock) |
//! | `echo` | an echo server and 100 clients on 127.0.0.1, 2,000 round trips of 64 B each |
//! | `chat` | a line-chat room and 100 clients on 127.0.0.1, 100 rounds of one line each, every line to everyone |
//!
//! Runtimes: `evloop` (the one-thread loop, `worker_threads(0)`);
//! `evloop-mt2` (`worker_threads(2)`: the same code on two workers);
//! `tokio-ct` (`new_current_thread`); `tokio-mt2`
//! (`new_multi_thread().worker_threads(2)`); `smol` (a `LocalExecutor` driven
//! by `smol::block_on(ex.run(..))`: one thread, smol's reactor in `block_on`).
//! Channels: `evloop::sync::mpsc`, `tokio::sync::mpsc`, `smol::channel`
//! (the `async-channel` crate). Joining: `evloop::join_all`, and
//! `futures_util::future::join_all` for tokio and smol (neither has its own).
//!
//! Every workload checks its result, so a runtime cannot win by skipping work.

use std::hint::black_box;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// `spawn`: tasks spawned and joined.
const SPAWN_TASKS: u64 = 1_000_000;
/// `yield`: tasks, and `yield_now`s each.
const YIELD_TASKS: u64 = 1_000;
const YIELDS: u64 = 1_000;
/// `pingpong`: task pairs, and round trips each pair plays.
const PAIRS: u64 = 1_000;
const PING_PONGS: u64 = 1_000;
/// `sleeps`: tasks, each sleeping `sleep_for(i)`, at most this long.
const SLEEPS: u64 = 100_000;
const MAX_SLEEP_MICROS: u64 = 500_000;
/// `gather`: sleeps joined, each this long.
const GATHERED: usize = 10_000;
const GATHER_SLEEP: Duration = Duration::from_secs(1);
/// `echo`: connections, round trips per connection, bytes per message.
const CONNECTIONS: usize = 100;
const ROUND_TRIPS: usize = 2_000;
const MESSAGE: usize = 64;
/// `chat`: members of the room, and rounds (each member says one line a round).
const CHATTERS: usize = 100;
const CHAT_ROUNDS: usize = 100;

const RUNTIMES: [&str; 5] = ["evloop", "evloop-mt2", "tokio-ct", "tokio-mt2", "smol"];
const WORKLOADS: [&str; 7] = [
    "spawn", "yield", "pingpong", "sleeps", "gather", "echo", "chat",
];

/// The deterministic scatter of `sleeps`: task `i` sleeps splitmix64(i+1)
/// mod 500,001 µs (the same sequence as `benches/timers.rs` and workloads.py).
fn sleep_for(i: u64) -> Duration {
    let mut z = i.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    Duration::from_micros(z % (MAX_SLEEP_MICROS + 1))
}

/// `chat`'s room: one outbox per member, by member number; `None` once the
/// member has left. Lesson 15's room, minus names and announcements, so that
/// every client can count exactly what it hears. A std `Mutex`, never held
/// across an `await`, as lesson 15 does; the same on every Rust runtime.
type Room<Outbox> = Arc<Mutex<Vec<Option<Outbox>>>>;

/// What one `chat` client has heard: lines `"<member> <round>\n"`, counted per
/// round, the members' numbers summed. The same parser on every Rust runtime
/// (Python has its own copy), so that only the runtimes differ.
struct Tally {
    /// The bytes of a line not yet ended.
    partial: Vec<u8>,
    /// `heard[r]`: lines of round `r` received so far.
    heard: Vec<usize>,
    /// The sum of the member numbers of every line received.
    members: usize,
}

impl Tally {
    fn new() -> Tally {
        Tally {
            partial: Vec::new(),
            heard: vec![0; CHAT_ROUNDS],
            members: 0,
        }
    }

    /// The line member `member` says in `round`.
    fn line(member: usize, round: usize) -> String {
        format!("{member} {round}\n")
    }

    /// Count the whole lines in `bytes` (with what was left from the last call).
    fn feed(&mut self, bytes: &[u8]) {
        self.partial.extend_from_slice(bytes);
        let mut start = 0;
        while let Some(end) = self.partial[start..].iter().position(|&b| b == b'\n') {
            let line = std::str::from_utf8(&self.partial[start..start + end]).unwrap();
            let (member, round) = line.split_once(' ').expect("\"<member> <round>\"");
            self.members += member.parse::<usize>().unwrap();
            self.heard[round.parse::<usize>().unwrap()] += 1;
            start += end + 1;
        }
        self.partial.drain(..start);
    }

    /// Everyone's line of every round, once each, and nothing else.
    fn check(&self) {
        assert!(self.partial.is_empty(), "a line cut short");
        assert!(
            self.heard.iter().all(|&n| n == CHATTERS),
            "{:?}",
            self.heard
        );
        assert_eq!(self.members, CHAT_ROUNDS * CHATTERS * (CHATTERS - 1) / 2);
    }
}

/// Peak resident memory of this process so far, in MiB (`VmHWM`; Linux only).
fn peak_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|kib| kib.split_whitespace().next()?.parse::<u64>().ok())
        .map_or(0.0, |kib| kib as f64 / 1024.0)
}

fn main() {
    // `cargo bench` appends `--bench`: flags are not ours, skip them.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let (runtime, workload) = match args.as_slice() {
        [r, w] if RUNTIMES.contains(&r.as_str()) && WORKLOADS.contains(&w.as_str()) => (r, w),
        _ => {
            eprintln!(
                "usage: cargo bench --bench compare -- <runtime> <workload>\n  runtime:  {}\n  workload: {}",
                RUNTIMES.join(" | "),
                WORKLOADS.join(" | ")
            );
            // A plain `cargo bench` (or one with a criterion filter) runs us
            // too: that is not a mistake, so it must not fail the whole run.
            // A bad workload after one of our runtimes is.
            let meant_for_us = args.first().is_some_and(|r| RUNTIMES.contains(&r.as_str()));
            std::process::exit(if meant_for_us { 2 } else { 0 });
        }
    };
    let elapsed = match runtime.as_str() {
        "evloop" => on_evloop::run(workload, 0),
        "evloop-mt2" => on_evloop::run(workload, 2),
        "tokio-ct" => on_tokio::run(workload, None),
        "tokio-mt2" => on_tokio::run(workload, Some(2)),
        _ => on_smol::run(workload),
    };
    let secs = elapsed.as_secs_f64();
    println!("{runtime} {workload} {secs:.3}s {:.1}MB", peak_mib());
}

/// The seven workloads on evloop: the one-thread loop (`workers` 0) or that
/// many workers. The code is the same; only the builder differs. Both ask
/// for their number of workers, so `EVLOOP_WORKER_THREADS` changes neither.
mod on_evloop {
    use super::*;
    use evloop::net::{BufReader, OwnedWriteHalf, TcpListener, TcpStream};
    use evloop::sync::mpsc;

    pub fn run(workload: &str, workers: usize) -> Duration {
        let start = Instant::now();
        let rt = evloop::Runtime::builder()
            .worker_threads(workers)
            .build()
            .expect("an evloop runtime");
        match workload {
            "spawn" => rt.block_on(spawn()),
            "yield" => rt.block_on(yields()),
            "pingpong" => rt.block_on(ping_pong()),
            "sleeps" => rt.block_on(sleeps()),
            "gather" => rt.block_on(gather()),
            "echo" => rt.block_on(echo()),
            _ => rt.block_on(chat()),
        }
        start.elapsed() // the runtime is dropped after the clock stops
    }

    async fn spawn() {
        let handles: Vec<_> = (0..SPAWN_TASKS)
            .map(|i| evloop::spawn(async move { black_box(i) }))
            .collect();
        let mut sum = 0;
        for handle in handles {
            sum += handle.await.unwrap();
        }
        assert_eq!(sum, SPAWN_TASKS * (SPAWN_TASKS - 1) / 2);
    }

    async fn yields() {
        let handles: Vec<_> = (0..YIELD_TASKS)
            .map(|_| {
                evloop::spawn(async {
                    for _ in 0..YIELDS {
                        evloop::yield_now().await;
                    }
                })
            })
            .collect();
        for handle in handles {
            handle.await.unwrap();
        }
    }

    async fn ping_pong() {
        let mut handles = Vec::new();
        for _ in 0..PAIRS {
            let (ping_tx, mut ping_rx) = mpsc::channel(1);
            let (pong_tx, mut pong_rx) = mpsc::channel(1);
            handles.push(evloop::spawn(async move {
                for i in 0..PING_PONGS {
                    ping_tx.send(i).await.unwrap();
                    assert_eq!(pong_rx.recv().await, Some(i));
                }
            }));
            handles.push(evloop::spawn(async move {
                while let Some(i) = ping_rx.recv().await {
                    pong_tx.send(i).await.unwrap();
                }
            }));
        }
        for handle in handles {
            handle.await.unwrap();
        }
    }

    async fn sleeps() {
        let handles: Vec<_> = (0..SLEEPS)
            .map(|i| evloop::spawn(evloop::time::sleep(sleep_for(i))))
            .collect();
        for handle in handles {
            handle.await.unwrap();
        }
    }

    async fn gather() {
        let sleeps = (0..GATHERED).map(|_| evloop::time::sleep(GATHER_SLEEP));
        assert_eq!(evloop::join_all(sleeps).await.len(), GATHERED);
    }

    async fn echo() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        evloop::spawn(async move {
            for _ in 0..CONNECTIONS {
                let (mut stream, _) = listener.accept().await.unwrap();
                evloop::spawn(async move {
                    let mut buf = [0u8; MESSAGE];
                    // Fixed-size messages: read_exact frames them.
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
    }

    async fn chat() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        evloop::spawn(async move {
            // Everyone joins the room before anyone is heard: no line is lost
            // to a member who has not joined yet.
            let room: Room<mpsc::UnboundedSender<Arc<str>>> = Arc::default();
            let mut readers = Vec::new();
            for _ in 0..CHATTERS {
                let (stream, _) = listener.accept().await.unwrap();
                stream.set_nodelay(true).unwrap();
                let (reader, writer) = stream.into_split();
                let (outbox, inbox) = mpsc::unbounded_channel();
                room.lock().unwrap().push(Some(outbox));
                evloop::spawn(relay(writer, inbox));
                readers.push(reader);
            }
            for (member, reader) in readers.into_iter().enumerate() {
                let room = room.clone();
                evloop::spawn(async move {
                    let mut lines = BufReader::new(reader).lines();
                    while let Some(line) = lines.next_line().await.unwrap() {
                        let line: Arc<str> = format!("{line}\n").into(); // one copy for all
                        for outbox in room.lock().unwrap().iter().flatten() {
                            outbox.send(line.clone()).unwrap();
                        }
                    }
                    room.lock().unwrap()[member] = None; // the outbox closes: `relay` ends
                });
            }
        });
        let clients: Vec<_> = (0..CHATTERS)
            .map(|member| {
                evloop::spawn(async move {
                    let mut stream = TcpStream::connect(addr).await.unwrap();
                    stream.set_nodelay(true).unwrap();
                    let mut tally = Tally::new();
                    let mut buf = vec![0u8; 16 * 1024];
                    for round in 0..CHAT_ROUNDS {
                        let line = Tally::line(member, round);
                        stream.write_all(line.as_bytes()).await.unwrap();
                        while tally.heard[round] < CHATTERS {
                            let n = stream.read(&mut buf).await.unwrap();
                            assert!(n > 0, "the server hung up");
                            tally.feed(&buf[..n]);
                        }
                    }
                    tally.check();
                })
            })
            .collect();
        for client in clients {
            client.await.unwrap();
        }
    }

    /// A member's outbox to its socket: everything queued, in one write.
    async fn relay(mut writer: OwnedWriteHalf, mut inbox: mpsc::UnboundedReceiver<Arc<str>>) {
        let mut batch = Vec::new();
        while let Some(line) = inbox.recv().await {
            batch.clear();
            batch.extend_from_slice(line.as_bytes());
            while let Ok(line) = inbox.try_recv() {
                batch.extend_from_slice(line.as_bytes());
            }
            if writer.write_all(&batch).await.is_err() {
                break;
            }
        }
    }
}

/// The seven workloads on tokio: one thread (`workers: None`) or a multi-thread
/// runtime with that many workers. The code is the same; only the builder differs.
mod on_tokio {
    use super::*;
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
    use tokio::net::tcp::OwnedWriteHalf;
    use tokio::net::{TcpListener, TcpStream};
    use tokio::sync::mpsc;

    pub fn run(workload: &str, workers: Option<usize>) -> Duration {
        let start = Instant::now();
        let mut builder = match workers {
            None => tokio::runtime::Builder::new_current_thread(),
            Some(n) => {
                let mut b = tokio::runtime::Builder::new_multi_thread();
                b.worker_threads(n);
                b
            }
        };
        let rt = builder.enable_all().build().expect("a tokio runtime");
        match workload {
            "spawn" => rt.block_on(spawn()),
            "yield" => rt.block_on(yields()),
            "pingpong" => rt.block_on(ping_pong()),
            "sleeps" => rt.block_on(sleeps()),
            "gather" => rt.block_on(gather()),
            "echo" => rt.block_on(echo()),
            _ => rt.block_on(chat()),
        }
        start.elapsed() // the runtime is dropped after the clock stops
    }

    async fn spawn() {
        let handles: Vec<_> = (0..SPAWN_TASKS)
            .map(|i| tokio::spawn(async move { black_box(i) }))
            .collect();
        let mut sum = 0;
        for handle in handles {
            sum += handle.await.unwrap();
        }
        assert_eq!(sum, SPAWN_TASKS * (SPAWN_TASKS - 1) / 2);
    }

    async fn yields() {
        let handles: Vec<_> = (0..YIELD_TASKS)
            .map(|_| {
                tokio::spawn(async {
                    for _ in 0..YIELDS {
                        tokio::task::yield_now().await;
                    }
                })
            })
            .collect();
        for handle in handles {
            handle.await.unwrap();
        }
    }

    async fn ping_pong() {
        let mut handles = Vec::new();
        for _ in 0..PAIRS {
            let (ping_tx, mut ping_rx) = mpsc::channel(1);
            let (pong_tx, mut pong_rx) = mpsc::channel(1);
            handles.push(tokio::spawn(async move {
                for i in 0..PING_PONGS {
                    ping_tx.send(i).await.unwrap();
                    assert_eq!(pong_rx.recv().await, Some(i));
                }
            }));
            handles.push(tokio::spawn(async move {
                while let Some(i) = ping_rx.recv().await {
                    pong_tx.send(i).await.unwrap();
                }
            }));
        }
        for handle in handles {
            handle.await.unwrap();
        }
    }

    async fn sleeps() {
        let handles: Vec<_> = (0..SLEEPS)
            .map(|i| tokio::spawn(tokio::time::sleep(sleep_for(i))))
            .collect();
        for handle in handles {
            handle.await.unwrap();
        }
    }

    async fn gather() {
        let sleeps = (0..GATHERED).map(|_| tokio::time::sleep(GATHER_SLEEP));
        assert_eq!(futures_util::future::join_all(sleeps).await.len(), GATHERED);
    }

    async fn echo() {
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
    }

    async fn chat() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let room: Room<mpsc::UnboundedSender<Arc<str>>> = Arc::default();
            let mut readers = Vec::new();
            for _ in 0..CHATTERS {
                let (stream, _) = listener.accept().await.unwrap();
                stream.set_nodelay(true).unwrap();
                let (reader, writer) = stream.into_split();
                let (outbox, inbox) = mpsc::unbounded_channel();
                room.lock().unwrap().push(Some(outbox));
                tokio::spawn(relay(writer, inbox));
                readers.push(reader);
            }
            for (member, reader) in readers.into_iter().enumerate() {
                let room = room.clone();
                tokio::spawn(async move {
                    let mut lines = BufReader::new(reader).lines();
                    while let Some(line) = lines.next_line().await.unwrap() {
                        let line: Arc<str> = format!("{line}\n").into();
                        for outbox in room.lock().unwrap().iter().flatten() {
                            outbox.send(line.clone()).unwrap();
                        }
                    }
                    room.lock().unwrap()[member] = None;
                });
            }
        });
        let clients: Vec<_> = (0..CHATTERS)
            .map(|member| {
                tokio::spawn(async move {
                    let mut stream = TcpStream::connect(addr).await.unwrap();
                    stream.set_nodelay(true).unwrap();
                    let mut tally = Tally::new();
                    let mut buf = vec![0u8; 16 * 1024];
                    for round in 0..CHAT_ROUNDS {
                        let line = Tally::line(member, round);
                        stream.write_all(line.as_bytes()).await.unwrap();
                        while tally.heard[round] < CHATTERS {
                            let n = stream.read(&mut buf).await.unwrap();
                            assert!(n > 0, "the server hung up");
                            tally.feed(&buf[..n]);
                        }
                    }
                    tally.check();
                })
            })
            .collect();
        for client in clients {
            client.await.unwrap();
        }
    }

    async fn relay(mut writer: OwnedWriteHalf, mut inbox: mpsc::UnboundedReceiver<Arc<str>>) {
        let mut batch = Vec::new();
        while let Some(line) = inbox.recv().await {
            batch.clear();
            batch.extend_from_slice(line.as_bytes());
            while let Ok(line) = inbox.try_recv() {
                batch.extend_from_slice(line.as_bytes());
            }
            if writer.write_all(&batch).await.is_err() {
                break;
            }
        }
    }
}

/// The seven workloads on smol's `LocalExecutor`, one thread.
mod on_smol {
    use super::*;
    use smol::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
    use smol::net::{TcpListener, TcpStream};
    use smol::stream::StreamExt;
    use smol::{channel, LocalExecutor, Task, Timer};

    thread_local! {
        /// The executor, reachable from inside tasks (the echo server spawns
        /// one task per connection), like `tokio::spawn` reaches its runtime.
        static EX: LocalExecutor<'static> = const { LocalExecutor::new() };
    }

    fn spawn_local<T: 'static>(future: impl std::future::Future<Output = T> + 'static) -> Task<T> {
        EX.with(|ex| ex.spawn(future))
    }

    /// Run `future` on the executor; `smol::block_on` drives smol's reactor
    /// (and parks the thread) whenever the executor has nothing to poll.
    fn block_on<T>(future: impl std::future::Future<Output = T>) -> T {
        EX.with(|ex| smol::block_on(ex.run(future)))
    }

    pub fn run(workload: &str) -> Duration {
        // No runtime object to build: the executor is the thread-local above.
        let start = Instant::now();
        match workload {
            "spawn" => block_on(spawn()),
            "yield" => block_on(yields()),
            "pingpong" => block_on(ping_pong()),
            "sleeps" => block_on(sleeps()),
            "gather" => block_on(gather()),
            "echo" => block_on(echo()),
            _ => block_on(chat()),
        }
        start.elapsed()
    }

    async fn spawn() {
        let handles: Vec<_> = (0..SPAWN_TASKS)
            .map(|i| spawn_local(async move { black_box(i) }))
            .collect();
        let mut sum = 0;
        for handle in handles {
            sum += handle.await;
        }
        assert_eq!(sum, SPAWN_TASKS * (SPAWN_TASKS - 1) / 2);
    }

    async fn yields() {
        let handles: Vec<_> = (0..YIELD_TASKS)
            .map(|_| {
                spawn_local(async {
                    for _ in 0..YIELDS {
                        smol::future::yield_now().await;
                    }
                })
            })
            .collect();
        for handle in handles {
            handle.await;
        }
    }

    async fn ping_pong() {
        let mut handles = Vec::new();
        for _ in 0..PAIRS {
            let (ping_tx, ping_rx) = channel::bounded(1);
            let (pong_tx, pong_rx) = channel::bounded(1);
            handles.push(spawn_local(async move {
                for i in 0..PING_PONGS {
                    ping_tx.send(i).await.unwrap();
                    assert_eq!(pong_rx.recv().await, Ok(i));
                }
            }));
            handles.push(spawn_local(async move {
                while let Ok(i) = ping_rx.recv().await {
                    pong_tx.send(i).await.unwrap();
                }
            }));
        }
        for handle in handles {
            handle.await;
        }
    }

    async fn sleeps() {
        let handles: Vec<_> = (0..SLEEPS)
            .map(|i| spawn_local(Timer::after(sleep_for(i))))
            .collect();
        for handle in handles {
            handle.await;
        }
    }

    async fn gather() {
        let sleeps = (0..GATHERED).map(|_| Timer::after(GATHER_SLEEP));
        assert_eq!(futures_util::future::join_all(sleeps).await.len(), GATHERED);
    }

    async fn echo() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        spawn_local(async move {
            for _ in 0..CONNECTIONS {
                let (mut stream, _) = listener.accept().await.unwrap();
                // A smol `Task` is cancelled when dropped: detach the server side.
                spawn_local(async move {
                    let mut buf = [0u8; MESSAGE];
                    while stream.read_exact(&mut buf).await.is_ok() {
                        stream.write_all(&buf).await.unwrap();
                    }
                })
                .detach();
            }
        })
        .detach();
        let clients: Vec<_> = (0..CONNECTIONS)
            .map(|i| {
                spawn_local(async move {
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
            client.await;
        }
    }

    async fn chat() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        spawn_local(async move {
            let room: Room<channel::Sender<Arc<str>>> = Arc::default();
            let mut readers = Vec::new();
            for _ in 0..CHATTERS {
                let (stream, _) = listener.accept().await.unwrap();
                stream.set_nodelay(true).unwrap();
                // smol's streams are `Clone`: one for each direction.
                let (reader, writer) = (stream.clone(), stream);
                let (outbox, inbox) = channel::unbounded();
                room.lock().unwrap().push(Some(outbox));
                spawn_local(relay(writer, inbox)).detach();
                readers.push(reader);
            }
            for (member, reader) in readers.into_iter().enumerate() {
                let room = room.clone();
                spawn_local(async move {
                    let mut lines = BufReader::new(reader).lines();
                    while let Some(line) = lines.next().await {
                        let line: Arc<str> = format!("{}\n", line.unwrap()).into();
                        for outbox in room.lock().unwrap().iter().flatten() {
                            outbox.try_send(line.clone()).unwrap();
                        }
                    }
                    room.lock().unwrap()[member] = None;
                })
                .detach();
            }
        })
        .detach();
        let clients: Vec<_> = (0..CHATTERS)
            .map(|member| {
                spawn_local(async move {
                    let mut stream = TcpStream::connect(addr).await.unwrap();
                    stream.set_nodelay(true).unwrap();
                    let mut tally = Tally::new();
                    let mut buf = vec![0u8; 16 * 1024];
                    for round in 0..CHAT_ROUNDS {
                        let line = Tally::line(member, round);
                        stream.write_all(line.as_bytes()).await.unwrap();
                        while tally.heard[round] < CHATTERS {
                            let n = stream.read(&mut buf).await.unwrap();
                            assert!(n > 0, "the server hung up");
                            tally.feed(&buf[..n]);
                        }
                    }
                    tally.check();
                })
            })
            .collect();
        for client in clients {
            client.await;
        }
    }

    async fn relay(mut writer: TcpStream, inbox: channel::Receiver<Arc<str>>) {
        let mut batch = Vec::new();
        while let Ok(line) = inbox.recv().await {
            batch.clear();
            batch.extend_from_slice(line.as_bytes());
            while let Ok(line) = inbox.try_recv() {
                batch.extend_from_slice(line.as_bytes());
            }
            if writer.write_all(&batch).await.is_err() {
                break;
            }
        }
    }
}
