//! Lesson 04, step by step: two tasks that each `sleep` 2 s finish together, at 2 s.
//!
//! The paused clock makes "2 seconds" exact and instant: when nothing is
//! ready, the loop jumps straight to the next timer's deadline.

use std::time::Duration;

use evloop::time::{sleep, Instant};
use evloop::{Runtime, Turn};

#[path = "../examples/04_two_tasks.rs"]
#[allow(dead_code)]
mod example;

const TWO_SECONDS: Duration = Duration::from_secs(2);

/// A runtime with a virtual clock that records everything it does.
fn paused_runtime() -> Runtime {
    Runtime::builder()
        .start_paused(true)
        .trace(true)
        .build()
        .expect("the OS gives us a poller")
}

/// The timeline, one trimmed line per event.
fn timeline_lines(rt: &Runtime) -> Vec<String> {
    rt.trace()
        .timeline()
        .lines()
        .map(|line| line.trim().to_string())
        .collect()
}

#[test]
fn two_sleeping_tasks_overlap_turn_by_turn() {
    let rt = paused_runtime();
    let a = rt.spawn_named("A", sleep(TWO_SECONDS));
    let b = rt.spawn_named("B", sleep(TWO_SECONDS));

    // Turn 1, step 1: A runs until its sleep says Pending (a deadline at 2 s is
    // now in the timer wheel), then B does the same. A's wait did not stop B:
    // `sleep` never holds the thread.
    // Step 5: nothing is ready, so the paused clock jumps to 2 s and both
    // timers fire, putting A and B back on the run queue.
    let turn = rt.turn();
    assert_eq!(turn.polled, ["A", "B"]);
    assert_eq!(turn.timers_fired, 2);
    assert_eq!(turn.now, TWO_SECONDS);

    // Turn 2: both are polled again, find their deadlines passed, and finish.
    // Total: 2 s on the clock, not 4.
    let turn = rt.turn();
    assert_eq!(
        turn,
        Turn {
            polled: vec!["A".into(), "B".into()],
            timers_fired: 0,
            io_events: 0,
            now: TWO_SECONDS
        }
    );
    assert!(a.is_finished() && b.is_finished());

    // Who woke whom: each task was woken by its own timer, at 2 s.
    let lines = timeline_lines(&rt);
    assert!(lines.contains(&"2.000s  wake   A ← timer".to_string()));
    assert!(lines.contains(&"2.000s  wake   B ← timer".to_string()));
}

#[test]
fn the_example_takes_exactly_two_seconds() {
    let rt = paused_runtime();
    let took = rt.block_on(async {
        let start = Instant::now();
        example::two_tasks(TWO_SECONDS).await;
        start.elapsed()
    });
    assert_eq!(took, TWO_SECONDS);

    // Two tasks, two polls each; two timers.
    let m = rt.metrics();
    assert_eq!((m.tasks_spawned, m.polls, m.timers_fired), (2, 4, 2));
}

#[test]
fn tasks_start_only_when_main_gives_the_loop_back() {
    // `spawn` queues; it does not run. In the example, main prints "both tasks
    // created" *before* either task prints "started": the tasks run on the
    // next turn, after main says Pending at `a.await`.
    let rt = paused_runtime();
    rt.block_on(example::two_tasks(TWO_SECONDS));
    let lines = timeline_lines(&rt);
    let position = |line: &str| {
        lines
            .iter()
            .position(|l| l == line)
            .unwrap_or_else(|| panic!("no `{line}` in {lines:#?}"))
    };
    assert!(position("0.000s  poll   main → Pending") < position("0.000s  poll   A → Pending"));
    assert!(position("0.000s  poll   A → Pending") < position("0.000s  poll   B → Pending"));
    // Both tasks started at 0 s and finished at 2 s.
    assert!(position("0.000s  poll   B → Pending") < position("2.000s  poll   A → Ready"));
    assert!(position("2.000s  poll   A → Ready") < position("2.000s  poll   B → Ready"));
}

#[test]
fn awaiting_without_spawning_takes_four_seconds() {
    // Lesson 01's 4 s come back if we await the two waits one after the other
    // instead of spawning them: the second sleep starts only when the first ends.
    let rt = paused_runtime();
    let took = rt.block_on(async {
        let start = Instant::now();
        sleep(TWO_SECONDS).await;
        sleep(TWO_SECONDS).await;
        start.elapsed()
    });
    assert_eq!(took, Duration::from_secs(4));
}

mod workers;

/// Every test above again, on worker threads (`tests/workers/mod.rs`).
#[test]
fn on_workers() {
    workers::rerun_on_workers(&[]);
}
