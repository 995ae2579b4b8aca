//! Lesson 06, step by step: a task's result is a value — and so is its panic.
//!
//! (The panics below are on purpose. Rust's panic hook still prints each one
//! to stderr when it happens; the runtime catches it and carries on.)

use std::time::Duration;

use evloop::time::{sleep, Instant};
use evloop::trace::{EventKind, PollOutcome};
use evloop::{Runtime, Turn};

#[path = "../examples/06_tasks_and_results.rs"]
#[allow(dead_code)]
mod example;

const SECOND: Duration = Duration::from_secs(1);

/// A runtime with a virtual clock that records everything it does.
fn paused_runtime() -> Runtime {
    Runtime::builder()
        .start_paused(true)
        .trace(true)
        .build()
        .expect("the OS gives us a poller")
}

#[test]
fn a_panicking_task_does_not_stop_its_sibling() {
    let rt = paused_runtime();
    let steady = rt.spawn_named("steady", async {
        sleep(SECOND).await;
        "still here"
    });
    let boom = rt.spawn_named("boom", async {
        panic!("boom");
    });

    // Turn 1: `steady` starts its sleep; `boom` panics in its first poll. The
    // loop catches the panic (`catch_unwind` around every poll), stores it in
    // the task as its result, and goes on: the timer still fires at 1 s.
    let turn = rt.turn();
    assert_eq!(
        turn,
        Turn {
            polled: vec!["steady".into(), "boom".into()],
            timers_fired: 1,
            io_events: 0,
            now: SECOND
        }
    );
    assert!(
        boom.is_finished(),
        "a panicked task is finished: its result is the panic"
    );
    assert!(!steady.is_finished());

    // Turn 2: `steady` wakes from its timer and finishes, as if nothing happened.
    assert_eq!(rt.turn().polled, ["steady"]);

    // The trace records the panic as the outcome of boom's poll.
    let panicked: Vec<u64> = rt
        .trace()
        .events()
        .iter()
        .filter_map(|e| match e.kind {
            EventKind::Poll {
                task,
                outcome: PollOutcome::Panicked,
                ..
            } => Some(task),
            _ => None,
        })
        .collect();
    assert_eq!(panicked, [boom.id()]);

    // Awaiting the handles hands each result over: a value, or a JoinError.
    let (steady, boom) = rt.block_on(async { evloop::join!(steady, boom) });
    assert_eq!(steady.unwrap(), "still here");
    let err = boom.unwrap_err();
    assert!(err.is_panic());
    assert!(!err.is_cancelled());
    assert_eq!(err.panic_message(), Some("boom"));
}

#[test]
fn breakfast_serves_two_dishes_and_reports_the_third() {
    let rt = paused_runtime();
    let (results, took) = rt.block_on(async {
        let start = Instant::now();
        let results = example::breakfast(SECOND).await;
        (results, start.elapsed())
    });

    assert_eq!(
        results,
        [
            ("toast".to_string(), Ok("toast on the plate".to_string())),
            (
                "eggs".to_string(),
                Err("panicked: dropped the eggs".to_string())
            ),
            ("coffee".to_string(), Ok("coffee on the plate".to_string())),
        ]
    );
    // The longest dish decides: 3 s, not 1 + 2 + 3. The eggs' panic at 2 s
    // did not stop the coffee, which was ready at 3 s.
    assert_eq!(took, 3 * SECOND);

    let lines: Vec<String> = rt
        .trace()
        .timeline()
        .lines()
        .map(|l| l.trim().to_string())
        .collect();
    let at = |line: &str| {
        lines
            .iter()
            .position(|l| l == line)
            .unwrap_or_else(|| panic!("no `{line}` in {lines:#?}"))
    };
    assert!(at("1.000s  poll   toast → Ready") < at("2.000s  poll   eggs → Panicked"));
    assert!(at("2.000s  poll   eggs → Panicked") < at("3.000s  poll   coffee → Ready"));
}

#[test]
fn join_all_of_handles_returns_every_result() {
    // asyncio.gather(*tasks, return_exceptions=True): every task runs to its
    // end, and every result comes back, in order — the failures as values.
    let rt = paused_runtime();
    let results = rt.block_on(async {
        let handles = (1..=3u32).map(|n| {
            evloop::spawn(async move {
                sleep(n * SECOND).await;
                assert!(n != 2, "task {n} failed");
                u64::from(n) * 10
            })
        });
        evloop::join_all(handles).await
    });
    assert_eq!(results.len(), 3);
    assert_eq!(*results[0].as_ref().unwrap(), 10);
    assert!(results[1].as_ref().unwrap_err().is_panic());
    assert_eq!(*results[2].as_ref().unwrap(), 30);
    assert_eq!(rt.elapsed(), 3 * SECOND);
}

#[test]
fn the_loop_keeps_running_tasks_after_a_panic() {
    let rt = paused_runtime();
    rt.block_on(async {
        let err = evloop::spawn(async { panic!("first") }).await.unwrap_err();
        assert_eq!(err.to_string(), "task-1 panicked: first");
        // Same loop, new task: nothing was poisoned.
        assert_eq!(evloop::spawn(async { 6 * 7 }).await.unwrap(), 42);
    });
}

#[test]
fn a_panic_can_be_raised_again_in_the_awaiting_task() {
    // To treat a task's panic as fatal, re-raise it where it is awaited:
    // `resume_unwind(err.into_panic())`. Here the awaiting code is itself a
    // task, so that panic is caught in turn and shows up on *its* handle.
    let rt = paused_runtime();
    let outer = rt.block_on(async {
        evloop::spawn(async {
            let inner = evloop::spawn(async { panic!("deep down") }).await;
            if let Err(err) = inner {
                std::panic::resume_unwind(err.into_panic());
            }
        })
        .await
    });
    assert_eq!(outer.unwrap_err().panic_message(), Some("deep down"));
}

mod workers;

/// Every test above again, on worker threads (`tests/workers/mod.rs`).
#[test]
fn on_workers() {
    workers::rerun_on_workers(&[]);
}
