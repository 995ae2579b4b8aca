//! `tuning`: what each of the work-stealing scheduler's four choices buys.
//!
//! Every group runs one workload on a fresh two-worker evloop runtime three
//! ways: `on` (`Tuning::default()`, the runtime as it ships), `off` (that one
//! choice switched off with `Builder::tuning`, the rest on), and `tokio` (its
//! multi-thread runtime on two workers, which makes the same choice) as a
//! reference row. The work-stealing chapter (`lessons/work-stealing.md`)
//! quotes the ratios off ÷ on.
//!
//! | group | the choice | one iteration |
//! |---|---|---|
//! | `lifo_ping_pong` | `lifo_slot` | two tasks hand one message back and forth 20,000 times over two `mpsc::channel(1)`s |
//! | `lifo_ping_pong_busy` | `lifo_slot` | the same pair, 2,000 round trips, while 50 other tasks keep both workers busy (each yields in a loop until the pair is done) |
//! | `lifo_fan_in` | `lifo_slot` | 100 producers × 1,000 values into one consumer through `mpsc::channel(64)` |
//! | `steal_burst` | `steal_half` | one task spawns 10,000 tiny tasks (100 rounds of a cheap hash each) and awaits them; the other worker starts idle |
//! | `wake_from_outside_1` | `wake_one` | a `std::thread` sends one value to a receiver task through an unbounded channel and waits for its ack, 5,000 times: every round finds both workers asleep |
//! | `wake_from_outside_8` | `wake_one` | the same with 8 receivers woken at once, 2,000 rounds of 8 sends and 8 acks |
//! | `echo_driver` | `driver_hand_off` | 4 connections × 500 64-byte round trips over loopback TCP |
//!
//! Each iteration builds its runtime outside the timing; only `block_on` is
//! timed. The machine these run on has two cores, and two workers plus the
//! thread in `block_on` (and, with the hand-off off, a driver thread) share
//! them: read the ratios, not the times.
//!
//! Run: `cargo bench --bench tuning -- --noplot` (about four minutes), or
//! one group: `cargo bench --bench tuning -- steal_burst`.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use evloop::runtime::Tuning;

/// Every runtime here has this many workers.
const WORKERS: usize = 2;

/// Round trips of the ping-pong; of the ping-pong among busy tasks; how many
/// busy tasks.
const PING_PONGS: u64 = 20_000;
const BUSY_PING_PONGS: u64 = 2_000;
const BUSY_TASKS: usize = 50;
/// Producers, values each, and the channel's capacity in the fan-in.
const PRODUCERS: u64 = 100;
const VALUES: u64 = 1_000;
const FAN_IN_CAPACITY: usize = 64;
/// Tasks in the burst, and the work each does (rounds of a cheap hash):
/// small, so that what a steal costs is not hidden behind the work.
const BURST: u64 = 10_000;
const BURST_WORK: u64 = 100;
/// Receivers woken at once from outside, and how many times.
const RECEIVERS: usize = 8;
const WAKE_ROUNDS: u64 = 2_000;
/// Rounds with a single receiver: one wake, one ack.
const WAKE_ROUNDS_ONE: u64 = 5_000;
/// Connections, round trips on each, and bytes per message in the echo.
const CONNECTIONS: usize = 4;
const ROUND_TRIPS: usize = 500;
const MESSAGE: usize = 64;

// ---------------------------------------------------------------------------
// The runtimes, and the timing.

/// Time `block_on(work)` on a fresh two-worker evloop runtime with `tuning`.
fn on_evloop<F: Future>(tuning: Tuning, work: F) -> Duration {
    let rt = evloop::Runtime::builder()
        .worker_threads(WORKERS)
        .tuning(tuning)
        .build()
        .unwrap();
    let start = Instant::now();
    rt.block_on(work);
    start.elapsed()
}

/// Time `block_on(work)` on a fresh two-worker tokio multi-thread runtime.
fn on_tokio<F: Future>(work: F) -> Duration {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(WORKERS)
        .enable_all()
        .build()
        .unwrap();
    let start = Instant::now();
    rt.block_on(work);
    start.elapsed()
}

/// The group `name`: evloop with every choice on, with `off`, and tokio
/// (if given) — `elements` per iteration, so criterion also prints a rate.
fn choice(
    c: &mut Criterion,
    name: &str,
    elements: u64,
    off: Tuning,
    evloop: impl Fn(Tuning) -> Duration,
    tokio: Option<&dyn Fn() -> Duration>,
) {
    let mut group = c.benchmark_group(name);
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(4))
        .throughput(Throughput::Elements(elements));
    group.bench_function("on", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| evloop(Tuning::default())).sum())
    });
    group.bench_function("off", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| evloop(off)).sum())
    });
    if let Some(tokio) = tokio {
        group.bench_function("tokio", |b| {
            b.iter_custom(|iters| (0..iters).map(|_| tokio()).sum())
        });
    }
    group.finish();
}

// ---------------------------------------------------------------------------
// lifo_slot: a ping-pong and a fan-in.

async fn evloop_ping_pong(rounds: u64) {
    let (ping_tx, mut ping_rx) = evloop::sync::mpsc::channel(1);
    let (pong_tx, mut pong_rx) = evloop::sync::mpsc::channel(1);
    let a = evloop::spawn(async move {
        for i in 0..rounds {
            ping_tx.send(i).await.unwrap();
            assert_eq!(pong_rx.recv().await, Some(i));
        }
    });
    let b = evloop::spawn(async move {
        while let Some(i) = ping_rx.recv().await {
            pong_tx.send(i).await.unwrap();
        }
    });
    a.await.unwrap();
    b.await.unwrap();
}

async fn tokio_ping_pong(rounds: u64) {
    let (ping_tx, mut ping_rx) = tokio::sync::mpsc::channel(1);
    let (pong_tx, mut pong_rx) = tokio::sync::mpsc::channel(1);
    let a = tokio::spawn(async move {
        for i in 0..rounds {
            ping_tx.send(i).await.unwrap();
            assert_eq!(pong_rx.recv().await, Some(i));
        }
    });
    let b = tokio::spawn(async move {
        while let Some(i) = ping_rx.recv().await {
            pong_tx.send(i).await.unwrap();
        }
    });
    a.await.unwrap();
    b.await.unwrap();
}

/// The ping-pong among `BUSY_TASKS` tasks that yield until it is done: a
/// woken partner in the LIFO slot runs next; at the back of the deque it
/// waits behind every busy task.
async fn evloop_ping_pong_busy() {
    let done = Arc::new(AtomicBool::new(false));
    let busy: Vec<_> = (0..BUSY_TASKS)
        .map(|_| {
            let done = done.clone();
            evloop::spawn(async move {
                while !done.load(Ordering::Relaxed) {
                    evloop::yield_now().await;
                }
            })
        })
        .collect();
    evloop_ping_pong(BUSY_PING_PONGS).await;
    done.store(true, Ordering::Relaxed);
    for task in busy {
        task.await.unwrap();
    }
}

async fn tokio_ping_pong_busy() {
    let done = Arc::new(AtomicBool::new(false));
    let busy: Vec<_> = (0..BUSY_TASKS)
        .map(|_| {
            let done = done.clone();
            tokio::spawn(async move {
                while !done.load(Ordering::Relaxed) {
                    tokio::task::yield_now().await;
                }
            })
        })
        .collect();
    tokio_ping_pong(BUSY_PING_PONGS).await;
    done.store(true, Ordering::Relaxed);
    for task in busy {
        task.await.unwrap();
    }
}

async fn evloop_fan_in() {
    let (tx, mut rx) = evloop::sync::mpsc::channel(FAN_IN_CAPACITY);
    for _ in 0..PRODUCERS {
        let tx = tx.clone();
        evloop::spawn(async move {
            for i in 0..VALUES {
                tx.send(i).await.unwrap();
            }
        });
    }
    drop(tx);
    let consumer = evloop::spawn(async move {
        let mut sum = 0;
        while let Some(i) = rx.recv().await {
            sum += i;
        }
        sum
    });
    assert_eq!(
        consumer.await.unwrap(),
        PRODUCERS * VALUES * (VALUES - 1) / 2
    );
}

async fn tokio_fan_in() {
    let (tx, mut rx) = tokio::sync::mpsc::channel(FAN_IN_CAPACITY);
    for _ in 0..PRODUCERS {
        let tx = tx.clone();
        tokio::spawn(async move {
            for i in 0..VALUES {
                tx.send(i).await.unwrap();
            }
        });
    }
    drop(tx);
    let consumer = tokio::spawn(async move {
        let mut sum = 0;
        while let Some(i) = rx.recv().await {
            sum += i;
        }
        sum
    });
    assert_eq!(
        consumer.await.unwrap(),
        PRODUCERS * VALUES * (VALUES - 1) / 2
    );
}

// ---------------------------------------------------------------------------
// steal_half: a burst of spawns from one task.

/// A little CPU work, the same on every runtime: `rounds` of a cheap hash.
fn work(seed: u64, rounds: u64) -> u64 {
    let mut x = std::hint::black_box(seed);
    for i in 0..rounds {
        x = x.wrapping_mul(0x9e37_79b9_7f4a_7c15).wrapping_add(i);
    }
    x
}

async fn evloop_burst() {
    let spawner = evloop::spawn(async {
        let handles: Vec<_> = (0..BURST)
            .map(|i| evloop::spawn(async move { work(i, BURST_WORK) }))
            .collect();
        let mut all = 0u64;
        for handle in handles {
            all = all.wrapping_add(handle.await.unwrap());
        }
        all
    });
    std::hint::black_box(spawner.await.unwrap());
}

async fn tokio_burst() {
    let spawner = tokio::spawn(async {
        let handles: Vec<_> = (0..BURST)
            .map(|i| tokio::spawn(async move { work(i, BURST_WORK) }))
            .collect();
        let mut all = 0u64;
        for handle in handles {
            all = all.wrapping_add(handle.await.unwrap());
        }
        all
    });
    std::hint::black_box(spawner.await.unwrap());
}

// ---------------------------------------------------------------------------
// wake_one: wakes from a thread that is not a worker.

/// `receivers` tasks each wait on their channel and ack every value on a
/// std channel; a `std::thread` sends one value to each, then waits for all
/// the acks, `rounds` times. Between rounds both workers run out of work
/// and sleep, so each round's sends land on sleeping workers.
async fn evloop_wakes(receivers: usize, rounds: u64) {
    let (ack_tx, ack_rx) = std::sync::mpsc::channel::<()>();
    let mut senders = Vec::with_capacity(receivers);
    let mut tasks = Vec::with_capacity(receivers);
    for _ in 0..receivers {
        let (tx, mut rx) = evloop::sync::mpsc::unbounded_channel::<u64>();
        senders.push(tx);
        let ack = ack_tx.clone();
        tasks.push(evloop::spawn(async move {
            while rx.recv().await.is_some() {
                ack.send(()).unwrap();
            }
        }));
    }
    let outside = std::thread::spawn(move || {
        outside_thread(&ack_rx, rounds, senders.len(), |i| senders[i].send(0))
    });
    for task in tasks {
        task.await.unwrap();
    }
    outside.join().unwrap();
}

async fn tokio_wakes(receivers: usize, rounds: u64) {
    let (ack_tx, ack_rx) = std::sync::mpsc::channel::<()>();
    let mut senders = Vec::with_capacity(receivers);
    let mut tasks = Vec::with_capacity(receivers);
    for _ in 0..receivers {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<u64>();
        senders.push(tx);
        let ack = ack_tx.clone();
        tasks.push(tokio::spawn(async move {
            while rx.recv().await.is_some() {
                ack.send(()).unwrap();
            }
        }));
    }
    let outside = std::thread::spawn(move || {
        outside_thread(&ack_rx, rounds, senders.len(), |i| senders[i].send(0))
    });
    for task in tasks {
        task.await.unwrap();
    }
    outside.join().unwrap();
}

/// The thread outside the runtime: `rounds` rounds of one `send` to each
/// of `receivers` receivers, then all their acks. Dropping `send` (and the senders in
/// it) at the end closes the channels, and the receivers finish.
fn outside_thread<E: std::fmt::Debug>(
    acks: &std::sync::mpsc::Receiver<()>,
    rounds: u64,
    receivers: usize,
    send: impl Fn(usize) -> Result<(), E>,
) {
    for _ in 0..rounds {
        for i in 0..receivers {
            send(i).unwrap();
        }
        for _ in 0..receivers {
            acks.recv().unwrap();
        }
    }
}

// ---------------------------------------------------------------------------
// driver_hand_off: echo over loopback.

async fn evloop_echo() {
    use evloop::net::{TcpListener, TcpStream};

    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    evloop::spawn(async move {
        for _ in 0..CONNECTIONS {
            let (mut stream, _) = listener.accept().await.unwrap();
            evloop::spawn(async move {
                let mut buf = [0u8; MESSAGE];
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

async fn tokio_echo() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

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

// ---------------------------------------------------------------------------

fn tuning(c: &mut Criterion) {
    let on = Tuning::default();
    choice(
        c,
        "lifo_ping_pong",
        PING_PONGS * 2,
        Tuning {
            lifo_slot: false,
            ..on
        },
        |t| on_evloop(t, evloop_ping_pong(PING_PONGS)),
        Some(&|| on_tokio(tokio_ping_pong(PING_PONGS))),
    );
    choice(
        c,
        "lifo_ping_pong_busy",
        BUSY_PING_PONGS * 2,
        Tuning {
            lifo_slot: false,
            ..on
        },
        |t| on_evloop(t, evloop_ping_pong_busy()),
        Some(&|| on_tokio(tokio_ping_pong_busy())),
    );
    choice(
        c,
        "lifo_fan_in",
        PRODUCERS * VALUES,
        Tuning {
            lifo_slot: false,
            ..on
        },
        |t| on_evloop(t, evloop_fan_in()),
        Some(&|| on_tokio(tokio_fan_in())),
    );
    choice(
        c,
        "steal_burst",
        BURST,
        Tuning {
            steal_half: false,
            ..on
        },
        |t| on_evloop(t, evloop_burst()),
        Some(&|| on_tokio(tokio_burst())),
    );
    choice(
        c,
        "wake_from_outside_1",
        WAKE_ROUNDS_ONE,
        Tuning {
            wake_one: false,
            ..on
        },
        |t| on_evloop(t, evloop_wakes(1, WAKE_ROUNDS_ONE)),
        Some(&|| on_tokio(tokio_wakes(1, WAKE_ROUNDS_ONE))),
    );
    choice(
        c,
        "wake_from_outside_8",
        WAKE_ROUNDS * RECEIVERS as u64,
        Tuning {
            wake_one: false,
            ..on
        },
        |t| on_evloop(t, evloop_wakes(RECEIVERS, WAKE_ROUNDS)),
        Some(&|| on_tokio(tokio_wakes(RECEIVERS, WAKE_ROUNDS))),
    );
    choice(
        c,
        "echo_driver",
        (CONNECTIONS * ROUND_TRIPS) as u64,
        Tuning {
            driver_hand_off: false,
            ..on
        },
        |t| on_evloop(t, evloop_echo()),
        Some(&|| on_tokio(tokio_echo())),
    );
}

criterion_group!(benches, tuning);
criterion_main!(benches);
