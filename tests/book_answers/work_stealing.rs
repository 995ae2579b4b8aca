//! The work-stealing chapter's exercises: a small burst and how often it is
//! stolen, the steal count with and without stealing half, the LIFO slot's
//! cap beside busy tasks, and which workloads need the last searcher's
//! re-check.
//!
//! Which worker runs what, and when, is the OS's choice: the claims are read
//! from counts (`Runtime::steals`, the trace's `Steal` events, polls counted
//! by the tasks themselves), never from a stopwatch, and a claim that needs
//! the idle worker to wake in time tries a bounded number of runs. Every
//! workload runs on a thread of its own with a time limit, so a lost wake
//! fails a test instead of hanging it.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc as std_mpsc, Arc};
use std::time::Duration;

use evloop::runtime::Tuning;
use evloop::trace::EventKind;
use evloop::Runtime;

#[path = "../../examples/19_work_stealing.rs"]
#[allow(dead_code)]
mod example;

/// Bursts to try before calling the OS unfair to the idle worker.
const ATTEMPTS: usize = 30;
/// The longest any one workload may take.
const LIMIT: Duration = Duration::from_secs(60);

/// Run `work` on a thread of its own and wait at most [`LIMIT`] for it.
fn bounded<T: Send + 'static>(what: &str, work: impl FnOnce() -> T + Send + 'static) -> T {
    let (done, result) = std_mpsc::channel();
    std::thread::spawn(move || {
        // A panic drops `done` unsent: reported below, not as a hang.
        let _ = done.send(work());
    });
    match result.recv_timeout(LIMIT) {
        Ok(value) => value,
        Err(std_mpsc::RecvTimeoutError::Timeout) => panic!("{what}: not done after {LIMIT:?}"),
        Err(std_mpsc::RecvTimeoutError::Disconnected) => panic!("{what}: panicked"),
    }
}

/// How many tasks each steal of `rt`'s trace took, in order.
fn steal_sizes(rt: &Runtime) -> Vec<usize> {
    rt.trace()
        .events()
        .iter()
        .filter_map(|e| match e.kind {
            EventKind::Steal { tasks, .. } => Some(tasks),
            _ => None,
        })
        .collect()
}

// ANCHOR: ex1
/// The example with 24 tasks, run until the idle worker steals.
#[test]
fn a_burst_of_24_is_stolen_in_halves_when_the_idle_worker_wakes_in_time() {
    let mut without_a_steal = 0;
    for _ in 0..ATTEMPTS {
        let (burst, sizes) = bounded("a burst of 24", || {
            let rt = example::two_workers();
            let burst = example::burst(&rt, 24, example::WORK);
            (burst, steal_sizes(&rt))
        });
        // Stolen or not, every task ran once, and the trace and the
        // counters agree on the steals.
        assert!(burst.runs.iter().all(|&n| n == 1));
        assert_eq!(sizes.len() as u64, burst.steals.iter().sum::<u64>());
        if sizes.is_empty() {
            // The burst was over before the idle worker's thread ran.
            without_a_steal += 1;
            continue;
        }
        // At most 23 tasks wait in the spawner's deque (the newest is in its
        // LIFO slot, which no one can steal): half of that, rounded up, is 12.
        assert!(sizes.iter().all(|&n| (1..=12).contains(&n)), "{sizes:?}");
        // Only the idle worker stole, and it ran what it took.
        let idle = 1 - burst.spawner;
        assert!(burst.steals[idle] > 0 && burst.ran[idle] > 0, "{burst:?}");
        eprintln!("stolen after {without_a_steal} bursts without a steal: {sizes:?}");
        return;
    }
    panic!("in {ATTEMPTS} bursts of 24 tasks the idle worker never stole");
}
// ANCHOR_END: ex1

// ANCHOR: ex2
/// The idle worker's steals in a 10,000-task burst, and the tasks they took.
fn steals_in_a_big_burst(steal_half: bool) -> (u64, usize) {
    for _ in 0..ATTEMPTS {
        let (steals, sizes) = bounded("a burst of 10,000", move || {
            let rt = example::two_workers_with(Tuning {
                steal_half,
                ..Tuning::default()
            });
            let burst = example::burst(&rt, 10_000, example::WORK);
            assert!(burst.runs.iter().all(|&n| n == 1));
            (burst.steals.iter().sum::<u64>(), steal_sizes(&rt))
        });
        assert_eq!(steals, sizes.len() as u64);
        // crossbeam never takes more than 32 in one steal.
        assert!(sizes.iter().all(|&n| (1..=32).contains(&n)), "{sizes:?}");
        if !steal_half {
            // Stealing one: each steal took exactly one task.
            assert!(sizes.iter().all(|&n| n == 1), "{sizes:?}");
        }
        if steals > 0 {
            return (steals, sizes.iter().sum());
        }
    }
    panic!("in {ATTEMPTS} bursts of 10,000 tasks the idle worker never stole");
}

#[test]
fn stealing_one_steals_once_per_task_and_stealing_half_up_to_32_at_once() {
    let (steals, stolen) = steals_in_a_big_burst(false);
    eprintln!("steal one:  {steals} steals for {stolen} tasks");
    assert_eq!(steals as usize, stolen);

    let (steals, stolen) = steals_in_a_big_burst(true);
    eprintln!("steal half: {steals} steals for {stolen} tasks");
    // At least one steal per 32 tasks taken, and — batches being the point —
    // fewer steals than tasks.
    assert!(steals as usize * 32 >= stolen);
    assert!(
        (steals as usize) < stolen,
        "{steals} steals, {stolen} tasks"
    );
}
// ANCHOR_END: ex2

// ANCHOR: ex3
/// Busy tasks yielding in a loop beside a ping-pong pair of `round_trips`:
/// how many times the busy tasks were polled while the pair exchanged.
async fn busy_polls_during_ping_pong(busy: usize, round_trips: u64) -> u64 {
    let exchanging = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicBool::new(false));
    let polls = Arc::new(AtomicU64::new(0));
    let busy: Vec<_> = (0..busy)
        .map(|_| {
            let (exchanging, done, polls) = (exchanging.clone(), done.clone(), polls.clone());
            evloop::spawn(async move {
                while !done.load(Ordering::Relaxed) {
                    if exchanging.load(Ordering::Relaxed) {
                        polls.fetch_add(1, Ordering::Relaxed);
                    }
                    evloop::yield_now().await;
                }
            })
        })
        .collect();
    let (ping_tx, mut ping_rx) = evloop::sync::mpsc::channel(1);
    let (pong_tx, mut pong_rx) = evloop::sync::mpsc::channel(1);
    let ponger = evloop::spawn(async move {
        while let Some(i) = ping_rx.recv().await {
            pong_tx.send(i + 1).await.expect("the pinger is there");
        }
    });
    let counted = polls.clone();
    let pinger = evloop::spawn(async move {
        exchanging.store(true, Ordering::Relaxed);
        for i in 0..round_trips {
            ping_tx.send(i).await.expect("the ponger is there");
            assert_eq!(pong_rx.recv().await, Some(i + 1));
        }
        // What the busy tasks got while the pair ran.
        let during = counted.load(Ordering::Relaxed);
        done.store(true, Ordering::Relaxed);
        during
    });
    let during = pinger.await.expect("the pinger does not panic");
    ponger.await.expect("the ponger does not panic");
    for task in busy {
        task.await.expect("a busy task does not panic");
    }
    during
}

#[test]
fn the_slot_lets_the_pair_skip_the_queue_and_the_cap_still_lets_the_queue_run() {
    const BUSY: usize = 50;
    const ROUND_TRIPS: u64 = 500;
    // One worker: no stealing, so the count is the queue's order alone.
    let busy_polls = |lifo_slot: bool| {
        bounded("a ping-pong beside busy tasks", move || {
            let rt = Runtime::builder()
                .worker_threads(1)
                .tuning(Tuning {
                    lifo_slot,
                    ..Tuning::default()
                })
                .build()
                .expect("a poller and a thread");
            rt.block_on(busy_polls_during_ping_pong(BUSY, ROUND_TRIPS))
        })
    };
    let hops = 2 * ROUND_TRIPS;
    let off = busy_polls(false);
    let on = busy_polls(true);
    eprintln!(
        "busy polls per hop: slot off {:.1}, slot on (cap 3) {:.1}",
        off as f64 / hops as f64,
        on as f64 / hops as f64
    );
    // Off: every message waits behind all the busy tasks in the deque —
    // about BUSY polls of them per hop.
    assert!(off >= hops * (BUSY as u64) * 9 / 10, "{off}");
    // On: the pair runs 3 hops in a row from the slot, then queues once
    // behind the busy tasks: about a quarter of the polls...
    assert!(on * 3 < off, "on {on}, off {off}");
    // ...and the cap means the busy tasks are not starved meanwhile.
    assert!(on >= hops * (BUSY as u64) / 5, "{on}");
}
// ANCHOR_END: ex3

// ANCHOR: ex4
/// A `std::thread` sends to a task on the workers and waits for its answer,
/// `rounds` times: each send finds the workers asleep and goes through the
/// injector. Returns how many were answered, each within `wait`.
fn answered_from_outside(rt: &Runtime, rounds: u64, wait: Duration) -> u64 {
    let (to_task, mut from_thread) = evloop::sync::mpsc::unbounded_channel::<u64>();
    let (answer, answers) = std_mpsc::channel::<u64>();
    let receiver = rt.spawn(async move {
        while let Some(n) = from_thread.recv().await {
            answer.send(n + 1).expect("the thread waits for its answer");
        }
    });
    let thread = std::thread::spawn(move || {
        let mut answered = 0;
        for n in 0..rounds {
            to_task.send(n).expect("the receiver is there");
            // A lost wake leaves the task unpolled: no answer, ever.
            match answers.recv_timeout(wait) {
                Ok(m) if m == n + 1 => answered += 1,
                Ok(m) => panic!("round {n}: answered {m}"),
                Err(_) => panic!("round {n}: no answer within {wait:?} — a lost wake"),
            }
        }
        answered
    });
    let answered = thread.join().expect("every round is answered");
    rt.block_on(receiver).expect("the receiver does not panic");
    answered
}

#[test]
fn every_wake_from_outside_the_workers_is_answered() {
    const ROUNDS: u64 = 5_000;
    let answered = bounded("wakes from a std::thread", || {
        let rt = Runtime::builder()
            .worker_threads(2)
            .build()
            .expect("a poller and two threads");
        answered_from_outside(&rt, ROUNDS, Duration::from_secs(10))
    });
    assert_eq!(answered, ROUNDS);
}
// ANCHOR_END: ex4
