//! Lesson 19, checked: the gather of hashers gives the plain loop's digests
//! on every runtime; on two workers both workers poll hashers, and a hasher
//! can be seen polled on one worker and then on the other; and what a
//! multi-thread runtime gives up is refused in so many words.
//!
//! Which worker polls what is up to the OS's thread scheduler, so the tests
//! that need both workers busy try a bounded number of runs: a machine that
//! starves one worker for a whole run is possible, never for every run.
//! Nothing here times anything: the speedup is measured by the example
//! (`cargo run --release --example 19_many_threads -- --repeat 10`).

#[path = "../examples/19_many_threads.rs"]
#[allow(dead_code)]
mod ex19;

use evloop::trace::EventKind;
use evloop::Runtime;
use ex19::{Setup, Work};
use std::collections::BTreeSet;

/// Small enough for a debug build, big enough (a few milliseconds a
/// password) that a second worker has time to join in.
const WORK: Work = Work {
    passwords: 16,
    rounds: 20_000,
    tasks: 4,
};

/// Runs of the two-worker gather to try before calling the OS unfair.
const ATTEMPTS: usize = 30;

#[test]
fn every_runtime_gives_the_digests_of_the_plain_loop() {
    let want = ex19::expected(WORK);
    // The digests depend on the password: a broken hash that gives one value
    // for everything would agree everywhere, and prove nothing.
    assert_eq!(
        want.iter().collect::<BTreeSet<_>>().len(),
        WORK.passwords,
        "one digest per password"
    );
    for setup in [
        Setup::OneThread,
        Setup::Workers(1),
        Setup::Workers(2),
        Setup::Pool,
    ] {
        let run = ex19::run(setup, WORK);
        assert_eq!(run.digests, want, "{}", setup.label());
    }
}

#[test]
fn each_hasher_is_polled_once_per_password_and_once_more_to_finish() {
    // The yield between passwords ends each poll: one poll per password,
    // then the poll that finds the loop done and returns the digests.
    for setup in [Setup::OneThread, Setup::Workers(1), Setup::Workers(2)] {
        let trace = ex19::run(setup, WORK).trace;
        for t in 0..WORK.tasks {
            let name = format!("hasher-{t}");
            let polls = trace
                .events()
                .iter()
                .filter(
                    |e| matches!(e.kind, EventKind::Poll { task, .. } if trace.name(task) == name),
                )
                .count();
            assert_eq!(
                polls,
                WORK.share(t).len() + 1,
                "{name} on {}",
                setup.label()
            );
        }
    }
}

#[test]
fn the_one_thread_loop_runs_every_task_on_the_calling_thread() {
    let trace = ex19::run(Setup::OneThread, WORK).trace;
    assert!(
        trace.events().iter().all(|e| e.worker.is_none()),
        "no event on the one loop names a worker"
    );
    assert!(ex19::workers_of_each_task(&trace).is_empty());
    assert!(ex19::a_task_that_moved(&trace).is_none());
    assert_eq!(ex19::lanes(&trace, 64), "", "no worker, no lane");
}

#[test]
fn one_worker_polls_every_hasher_and_the_block_on_thread_none() {
    let trace = ex19::run(Setup::Workers(1), WORK).trace;
    let tasks = ex19::workers_of_each_task(&trace);
    let names: Vec<&str> = tasks.values().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names, ["hasher-0", "hasher-1", "hasher-2", "hasher-3"]);
    assert!(tasks.values().all(|(_, on)| on.iter().all(|&w| w == 0)));
    // `main`, the block_on future, is polled on the calling thread: no worker.
    let main_polls: Vec<_> = trace
        .events()
        .iter()
        .filter(|e| matches!(e.kind, EventKind::Poll { task: 0, .. }))
        .collect();
    assert!(!main_polls.is_empty());
    assert!(main_polls.iter().all(|e| e.worker.is_none()));
    let lanes = ex19::lanes(&trace, 64);
    assert_eq!(lanes.lines().count(), 1, "{lanes}");
    assert!(lanes.starts_with("  w0 |"), "{lanes}");
}

#[test]
fn on_two_workers_both_workers_poll_hashers() {
    for _ in 0..ATTEMPTS {
        let trace = ex19::run(Setup::Workers(2), WORK).trace;
        let polls = ex19::polls_per_worker(&trace);
        assert!(
            polls.keys().all(|&w| w < 2),
            "two workers: w0 and w1 ({polls:?})"
        );
        assert_eq!(
            polls.values().sum::<usize>(),
            WORK.passwords + WORK.tasks,
            "every hasher poll happened on a worker"
        );
        if polls.len() == 2 {
            let lanes = ex19::lanes(&trace, 64);
            assert_eq!(lanes.lines().count(), 2, "{lanes}");
            assert!(
                lanes.contains("  w0 |") && lanes.contains("  w1 |"),
                "{lanes}"
            );
            return;
        }
    }
    panic!("in {ATTEMPTS} runs on two workers, one worker never polled a hasher");
}

#[test]
fn a_hasher_that_yields_can_be_seen_moving_to_the_other_worker() {
    // Three hashers: two workers cannot split them evenly, so the one that
    // runs out first steals a hasher the other has started (the lesson's
    // seven, small).
    let uneven = Work {
        passwords: 12,
        tasks: 3,
        ..WORK
    };
    for _ in 0..ATTEMPTS {
        let trace = ex19::run(Setup::Workers(2), uneven).trace;
        let Some((task, workers)) = ex19::a_task_that_moved(&trace) else {
            continue;
        };
        assert!(trace.name(task).starts_with("hasher-"));
        let on: BTreeSet<usize> = workers.iter().copied().collect();
        assert_eq!(on, BTreeSet::from([0, 1]), "{workers:?}");
        // The timeline's account of the move: a poll on one worker, then a
        // poll on the other, each line saying which.
        let told = ex19::the_move(&trace, task);
        let name = trace.name(task);
        let polls: Vec<&str> = told
            .lines()
            .filter(|l| l.contains(&format!("poll   {name}")))
            .collect();
        assert!(polls.len() >= 2, "{told}");
        let first = polls[0];
        let last = polls[polls.len() - 1];
        assert!(
            (first.contains("[w0]") && last.contains("[w1]"))
                || (first.contains("[w1]") && last.contains("[w0]")),
            "{told}"
        );
        return;
    }
    panic!("in {ATTEMPTS} runs on two workers, no hasher was ever polled on both");
}

#[test]
fn build_refuses_worker_threads_with_a_paused_clock_and_with_a_seed() {
    let paused = Runtime::builder()
        .worker_threads(2)
        .start_paused(true)
        .build();
    let seeded = Runtime::builder()
        .worker_threads(2)
        .start_paused(true)
        .seed(7)
        .build();
    for refused in [paused, seeded] {
        let err = refused.err().expect("refused");
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
        let text = err.to_string();
        assert!(
            text.starts_with(
                "Builder::worker_threads cannot be combined with start_paused or seed"
            ),
            "{text}"
        );
        assert!(text.contains("no seed could replay the order"), "{text}");
        assert!(
            text.ends_with("Test schedules on the one-thread runtime"),
            "{text}"
        );
    }
    // The same settings on the one loop are fine: it is the combination.
    assert!(Runtime::builder()
        .worker_threads(0)
        .start_paused(true)
        .seed(7)
        .build()
        .is_ok());
}

#[test]
#[should_panic(
    expected = "`Runtime::turn` steps the one-thread event loop; a runtime built with \
                `worker_threads(n)` has no single loop to step"
)]
fn turn_panics_on_a_multi_thread_runtime() {
    let rt = Runtime::builder().worker_threads(2).build().unwrap();
    rt.spawn(async {});
    rt.turn();
}

#[test]
fn the_pool_version_leaves_the_loop_only_the_waiting() {
    // On the one loop with `spawn_blocking`, the loop's tasks are the
    // `spawn_blocking` waiters, one per share; the hashing happens in jobs.
    let run = ex19::run(Setup::Pool, WORK);
    let spawned: Vec<String> = run
        .trace
        .events()
        .iter()
        .filter_map(|e| match e.kind {
            EventKind::Spawn { task, .. } => Some(run.trace.name(task)),
            _ => None,
        })
        .collect();
    assert_eq!(spawned, vec!["spawn_blocking"; WORK.tasks]);
    // And they run on the one loop: no event names a worker.
    assert!(run.trace.events().iter().all(|e| e.worker.is_none()));
}

mod workers;

/// Every test above again, on worker threads (`tests/workers/mod.rs`).
#[test]
fn on_workers() {
    workers::rerun_on_workers(&[]);
}
