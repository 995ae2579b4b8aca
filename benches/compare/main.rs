//! `compare`: six whole-program workloads, one runtime per process.
//!
//! The criterion benches in `benches/` put evloop beside tokio's
//! current-thread runtime one micro-workload at a time. This binary answers
//! the wider question from the performance issue — *how does evloop stand
//! beside tokio (one thread and two workers), smol and Python's asyncio?* —
//! with the same six workloads written once per runtime, in the same shape.
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
//!
//! Runtimes: `evloop`; `tokio-ct` (`new_current_thread`); `tokio-mt2`
//! (`new_multi_thread().worker_threads(2)`); `smol` (a `LocalExecutor` driven
//! by `smol::block_on(ex.run(..))`: one thread, smol's reactor in `block_on`).
//! Channels: `evloop::sync::mpsc`, `tokio::sync::mpsc`, `smol::channel`
//! (the `async-channel` crate). Joining: `evloop::join_all`, and
//! `futures_util::future::join_all` for tokio and smol (neither has its own).
//!
//! Every workload checks its result, so a runtime cannot win by skipping work.

use std::hint::black_box;
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

const RUNTIMES: [&str; 4] = ["evloop", "tokio-ct", "tokio-mt2", "smol"];
const WORKLOADS: [&str; 6] = ["spawn", "yield", "pingpong", "sleeps", "gather", "echo"];

/// The deterministic scatter of `sleeps`: task `i` sleeps splitmix64(i+1)
/// mod 500,001 µs (the same sequence as `benches/timers.rs` and workloads.py).
fn sleep_for(i: u64) -> Duration {
    let mut z = i.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    Duration::from_micros(z % (MAX_SLEEP_MICROS + 1))
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
        "evloop" => on_evloop::run(workload),
        "tokio-ct" => on_tokio::run(workload, None),
        "tokio-mt2" => on_tokio::run(workload, Some(2)),
        _ => on_smol::run(workload),
    };
    let secs = elapsed.as_secs_f64();
    println!("{runtime} {workload} {secs:.3}s {:.1}MB", peak_mib());
}

/// The six workloads on evloop.
mod on_evloop {
    use super::*;
    use evloop::net::{TcpListener, TcpStream};
    use evloop::sync::mpsc;

    pub fn run(workload: &str) -> Duration {
        let start = Instant::now();
        let rt = evloop::Runtime::new().expect("an evloop runtime");
        match workload {
            "spawn" => rt.block_on(spawn()),
            "yield" => rt.block_on(yields()),
            "pingpong" => rt.block_on(ping_pong()),
            "sleeps" => rt.block_on(sleeps()),
            "gather" => rt.block_on(gather()),
            _ => rt.block_on(echo()),
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
}

/// The six workloads on tokio: one thread (`workers: None`) or a multi-thread
/// runtime with that many workers. The code is the same; only the builder differs.
mod on_tokio {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
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
            _ => rt.block_on(echo()),
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
}

/// The six workloads on smol's `LocalExecutor`, one thread.
mod on_smol {
    use super::*;
    use smol::io::{AsyncReadExt, AsyncWriteExt};
    use smol::net::{TcpListener, TcpStream};
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
            _ => block_on(echo()),
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
}
