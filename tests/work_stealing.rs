//! The work-stealing chapter, checked: a burst is stolen, and every scheduler
//! choice can be switched off without losing a task.
//!
//! Which worker runs what, and when, is up to the OS's thread scheduler, so
//! these tests never assume an order. They check what must hold in every
//! run — each task ran exactly once, every workload finishes with the right
//! result — and, for what only usually happens (the idle worker wakes in
//! time to steal), try a bounded number of runs. Every run is bounded in
//! time too: a lost wake fails a test instead of hanging it.
//!
//! `Tuning`'s switches exist to measure each choice (`benches/tuning.rs`);
//! the tests here are their correctness side: with any one of them off, the
//! ping-pong, the burst, wakes from a thread that is not a worker, and a
//! TCP echo all still run to the end.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{mpsc as std_mpsc, Arc};
use std::time::Duration;

use evloop::runtime::Tuning;
use evloop::trace::EventKind;
use evloop::Runtime;

#[path = "../examples/19_work_stealing.rs"]
#[allow(dead_code)]
mod example;

/// How many bursts we try before deciding stealing is broken: on a loaded
/// machine the idle worker may wake only after a burst is done.
const ATTEMPTS: usize = 10;
/// The example's burst, at a size a debug build runs quickly.
const BURST: usize = 1_000;
/// The longest any one workload may take.
const LIMIT: Duration = Duration::from_secs(60);

/// Run `work` on a thread of its own and wait at most [`LIMIT`] for it:
/// a hang (a lost wake, a worker that never comes back) fails the test.
fn bounded<T: Send + 'static>(what: &str, work: impl FnOnce() -> T + Send + 'static) -> T {
    let (done, result) = std_mpsc::channel();
    std::thread::spawn(move || {
        // A panic drops `done` unsent: reported below as a failure, not a hang.
        let _ = done.send(work());
    });
    match result.recv_timeout(LIMIT) {
        Ok(value) => value,
        Err(std_mpsc::RecvTimeoutError::Timeout) => panic!("{what}: not done after {LIMIT:?}"),
        Err(std_mpsc::RecvTimeoutError::Disconnected) => panic!("{what}: panicked"),
    }
}

#[test]
fn the_idle_worker_steals_from_the_burst_and_every_task_runs_once() {
    for attempt in 1..=ATTEMPTS {
        let (burst, steal_events) = bounded("a burst", || {
            let rt = example::two_workers();
            let burst = example::burst(&rt, BURST, example::WORK);
            let steals: Vec<(usize, usize, usize)> = rt
                .trace()
                .events()
                .iter()
                .filter_map(|e| match e.kind {
                    EventKind::Steal { from, to, tasks } => Some((from, to, tasks)),
                    _ => None,
                })
                .collect();
            (burst, steals)
        });
        // In every run, stolen or not: each task ran exactly once, and the
        // workers' counts add up to the burst.
        assert!(
            burst.runs.iter().all(|&n| n == 1),
            "a task ran other than once: {:?}",
            burst.runs.iter().filter(|&&n| n != 1).count()
        );
        assert_eq!(burst.ran.iter().sum::<u64>(), BURST as u64);
        // The counters and the trace agree on how many steals there were.
        assert_eq!(steal_events.len() as u64, burst.steals.iter().sum::<u64>());

        let idle = 1 - burst.spawner;
        if burst.steals[idle] > 0 {
            // The idle worker robbed the spawner's, and ran what it took.
            assert!(steal_events
                .iter()
                .any(|&(from, to, _)| from == burst.spawner && to == idle));
            assert!(burst.ran[idle] > 0, "{burst:?}");
            return;
        }
        eprintln!("attempt {attempt}: the idle worker woke too late to steal ({burst:?})");
    }
    panic!("in {ATTEMPTS} bursts of {BURST} tasks, the idle worker never stole");
}

#[test]
fn stealing_half_takes_a_batch_and_stealing_one_takes_one() {
    let steals_of = |steal_half: bool| {
        bounded("a burst", move || {
            let rt = example::two_workers_with(Tuning {
                steal_half,
                ..Tuning::default()
            });
            example::burst(&rt, BURST, example::WORK);
            rt.trace()
                .events()
                .iter()
                .filter_map(|e| match e.kind {
                    EventKind::Steal { tasks, .. } => Some(tasks),
                    _ => None,
                })
                .collect::<Vec<usize>>()
        })
    };
    // Off: every steal takes exactly one task (the thief's queues are empty
    // when it steals, so the trace's count is what it took).
    for _ in 0..3 {
        let sizes = steals_of(false);
        assert!(sizes.iter().all(|&n| n == 1), "{sizes:?}");
    }
    // On: a steal takes up to half the victim's deque, never more than
    // crossbeam's 32 — and at least one takes more than one.
    for _ in 0..ATTEMPTS {
        let sizes = steals_of(true);
        assert!(sizes.iter().all(|&n| (1..=32).contains(&n)), "{sizes:?}");
        if sizes.iter().any(|&n| n > 1) {
            return;
        }
    }
    panic!("in {ATTEMPTS} bursts, no steal took more than one task");
}

// ---------------------------------------------------------------------------
// Each switch off, every workload still right.

/// Two tasks hand a number back and forth over two `channel(1)`s.
async fn ping_pong(rounds: u64) -> u64 {
    let (ping_tx, mut ping_rx) = evloop::sync::mpsc::channel(1);
    let (pong_tx, mut pong_rx) = evloop::sync::mpsc::channel(1);
    let a = evloop::spawn(async move {
        let mut returned = 0;
        for i in 0..rounds {
            ping_tx.send(i).await.expect("the ponger is there");
            assert_eq!(pong_rx.recv().await, Some(i + 1));
            returned += 1;
        }
        returned
    });
    let b = evloop::spawn(async move {
        while let Some(i) = ping_rx.recv().await {
            pong_tx.send(i + 1).await.expect("the pinger is there");
        }
    });
    let returned = a.await.expect("the pinger does not panic");
    b.await.expect("the ponger does not panic");
    returned
}

/// One task spawns `tasks` tasks that each count themselves; every count is 1.
async fn burst(tasks: usize) -> Vec<u32> {
    let runs: Arc<[AtomicU32]> = (0..tasks).map(|_| AtomicU32::new(0)).collect();
    let counted = runs.clone();
    evloop::spawn(async move {
        let handles: Vec<_> = (0..tasks)
            .map(|i| {
                let runs = counted.clone();
                evloop::spawn(async move {
                    runs[i].fetch_add(1, Ordering::Relaxed);
                })
            })
            .collect();
        for handle in handles {
            handle.await.expect("a burst task does not panic");
        }
    })
    .await
    .expect("the spawner does not panic");
    runs.iter().map(|r| r.load(Ordering::Relaxed)).collect()
}

/// A `std::thread` sends to `receivers` tasks at once and waits for their
/// acks, `rounds` times: every wake comes from outside the workers.
async fn wakes_from_outside(receivers: usize, rounds: u64) -> u64 {
    let (ack_tx, ack_rx) = std_mpsc::channel::<u64>();
    let mut senders = Vec::new();
    let mut tasks = Vec::new();
    for _ in 0..receivers {
        let (tx, mut rx) = evloop::sync::mpsc::unbounded_channel::<u64>();
        senders.push(tx);
        let ack = ack_tx.clone();
        tasks.push(evloop::spawn(async move {
            while let Some(value) = rx.recv().await {
                ack.send(value).expect("the sending thread waits for acks");
            }
        }));
    }
    let outside = std::thread::spawn(move || {
        let mut sum = 0;
        for round in 0..rounds {
            for tx in &senders {
                tx.send(round).expect("the receiver is there");
            }
            for _ in 0..senders.len() {
                sum += ack_rx.recv().expect("every receiver acks");
            }
        }
        sum // `senders` dropped here: the receivers see their channels close
    });
    for task in tasks {
        task.await.expect("a receiver does not panic");
    }
    outside.join().expect("the sending thread does not panic")
}

/// An echo server and `connections` clients over loopback, `round_trips`
/// 64-byte messages each; returns the bytes echoed.
async fn echo(connections: usize, round_trips: usize) -> usize {
    use evloop::net::{TcpListener, TcpStream};

    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("a bound address");
    evloop::spawn(async move {
        for _ in 0..connections {
            let (mut stream, _) = listener.accept().await.expect("accept");
            evloop::spawn(async move {
                let mut buf = [0u8; 64];
                while stream.read_exact(&mut buf).await.is_ok() {
                    stream.write_all(&buf).await.expect("echo back");
                }
            });
        }
    });
    let clients: Vec<_> = (0..connections)
        .map(|i| {
            evloop::spawn(async move {
                let mut stream = TcpStream::connect(addr).await.expect("connect");
                let mut echoed = 0;
                for round in 0..round_trips {
                    let message = [(i + round) as u8; 64];
                    let mut back = [0u8; 64];
                    stream.write_all(&message).await.expect("send");
                    stream.read_exact(&mut back).await.expect("the echo");
                    assert_eq!(back, message);
                    echoed += back.len();
                }
                echoed
            })
        })
        .collect();
    let mut echoed = 0;
    for client in clients {
        echoed += client.await.expect("a client does not panic");
    }
    echoed
}

/// All four workloads on a fresh two-worker runtime with `tuning`, each
/// bounded in time, each checked against what it must produce.
fn every_workload(name: &'static str, tuning: Tuning) {
    let rt = move || {
        Runtime::builder()
            .worker_threads(2)
            .tuning(tuning)
            .build()
            .expect("a poller and two threads")
    };
    let returned = bounded(name, move || rt().block_on(ping_pong(2_000)));
    assert_eq!(returned, 2_000, "{name}: the ping-pong");

    let runs = bounded(name, move || rt().block_on(burst(2_000)));
    assert_eq!(runs.len(), 2_000);
    assert!(
        runs.iter().all(|&n| n == 1),
        "{name}: a burst task ran other than once"
    );

    let sum = bounded(name, move || rt().block_on(wakes_from_outside(4, 500)));
    assert_eq!(sum, 4 * (500 * 499 / 2), "{name}: wakes from outside");

    let echoed = bounded(name, move || rt().block_on(echo(4, 100)));
    assert_eq!(echoed, 4 * 100 * 64, "{name}: the echo");
}

#[test]
fn every_choice_on_runs_every_workload() {
    every_workload("Tuning::default()", Tuning::default());
}

#[test]
fn without_the_lifo_slot_every_workload_still_runs() {
    let tuning = Tuning {
        lifo_slot: false,
        ..Tuning::default()
    };
    every_workload("lifo_slot: false", tuning);
}

#[test]
fn stealing_one_at_a_time_every_workload_still_runs() {
    let tuning = Tuning {
        steal_half: false,
        ..Tuning::default()
    };
    every_workload("steal_half: false", tuning);
}

#[test]
fn waking_every_sleeper_every_workload_still_runs() {
    let tuning = Tuning {
        wake_one: false,
        ..Tuning::default()
    };
    every_workload("wake_one: false", tuning);
}

#[test]
fn with_a_driver_thread_every_workload_still_runs() {
    let tuning = Tuning {
        driver_hand_off: false,
        ..Tuning::default()
    };
    every_workload("driver_hand_off: false", tuning);
}

#[test]
fn everything_off_every_workload_still_runs() {
    let tuning = Tuning {
        lifo_slot: false,
        steal_half: false,
        wake_one: false,
        driver_hand_off: false,
    };
    every_workload("every choice off", tuning);
}

mod workers;

/// Every test above again, on worker threads (`tests/workers/mod.rs`).
#[test]
fn on_workers() {
    workers::rerun_on_workers(&[]);
}
