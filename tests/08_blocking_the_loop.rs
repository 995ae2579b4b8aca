//! Lesson 08, step by step: a task that blocks the loop, the warning that
//! names it, and the fix.
//!
//! Blocking is about *real* time — a thread really held — so the slow-poll
//! check measures real time even under a paused clock. The tests that need
//! the real clock use short durations and only bounds that cannot flake: a
//! `std::thread::sleep(d)` lasts *at least* `d`.

use std::time::Duration;

use evloop::time::{interval, sleep};
use evloop::trace::EventKind;
use evloop::Runtime;

#[path = "../examples/08_blocking_the_loop.rs"]
#[allow(dead_code)]
mod example;

/// A runtime that records everything and calls a poll slow from `threshold` on.
fn runtime(paused: bool, threshold: Duration) -> Runtime {
    Runtime::builder()
        .start_paused(paused)
        .trace(true)
        .slow_poll_threshold(threshold)
        .build()
        .expect("the OS gives us a poller")
}

/// The tasks named in the trace's SlowPoll events, in order.
fn slow_tasks(rt: &Runtime) -> Vec<String> {
    let trace = rt.trace();
    trace
        .events()
        .iter()
        .filter_map(|e| match e.kind {
            EventKind::SlowPoll { task, took } => {
                assert!(
                    took >= Duration::from_millis(20),
                    "a slow poll is at least the threshold"
                );
                Some(trace.name(task))
            }
            _ => None,
        })
        .collect()
}

/// A heartbeat that beats every 10 ms, forever.
async fn heartbeat() {
    let mut ticks = interval(Duration::from_millis(10));
    loop {
        ticks.tick().await;
    }
}

#[test]
fn a_blocking_poll_is_caught_and_named() {
    let rt = runtime(true, Duration::from_millis(20));
    let _heart = rt.spawn_named("heartbeat", heartbeat());
    rt.spawn_named("cruncher", async {
        std::thread::sleep(Duration::from_millis(50)); // holds the loop's thread
    });

    // One turn polls both tasks; while `cruncher` sleeps, nothing else runs.
    let turn = rt.turn();
    assert_eq!(turn.polled, ["heartbeat", "cruncher"]);

    // The loop timed the poll (real time), found it over the threshold, and
    // said so: one line on stderr, a counter, and a SlowPoll event naming the task.
    assert_eq!(rt.metrics().slow_polls, 1);
    assert!(rt.metrics().longest_poll >= Duration::from_millis(50));
    assert_eq!(slow_tasks(&rt), ["cruncher"]);
    assert!(rt
        .trace()
        .timeline()
        .contains("SLOW   cruncher held the loop"));

    // Notice the clock: the paused clock never saw those 50 ms. Virtual time
    // moves only when the loop jumps it to a timer; blocking is invisible to
    // it, which is exactly why the check uses a real stopwatch.
    assert_eq!(turn.now, Duration::from_millis(10));
}

#[test]
fn the_async_fix_has_no_slow_polls() {
    let rt = runtime(true, Duration::from_millis(20));
    let _heart = rt.spawn_named("heartbeat", heartbeat());
    let cruncher = rt.spawn_named("cruncher", sleep(Duration::from_millis(50)));

    // With `sleep`, the cruncher waits on a timer and the heartbeat goes on
    // beating: every turn polls the heartbeat, and the cruncher wakes at 50 ms.
    let mut turns = 0;
    while !cruncher.is_finished() {
        let turn = rt.turn();
        assert!(turn.polled.contains(&"heartbeat".to_string()));
        turns += 1;
        assert!(turns < 20, "bounded: the cruncher finishes at 50 ms");
    }
    assert!(rt
        .trace()
        .timeline()
        .contains("0.050s  poll   cruncher → Ready"));
    assert_eq!(rt.metrics().slow_polls, 0);
    assert!(slow_tasks(&rt).is_empty());
}

#[test]
fn the_example_blocked_version_warns_and_the_heart_skips() {
    // Real clock: the block is real. 300 ms of blocking against a 150 ms
    // threshold: the poll lasts at least 300 ms, so the warning is certain.
    let rt = runtime(false, Duration::from_millis(150));
    let beats = rt.block_on(example::crunch_on_the_loop(Duration::from_millis(300)));

    assert_eq!(rt.metrics().slow_polls, 1);
    assert_eq!(slow_tasks(&rt), ["cruncher"]);
    // The heartbeat beat at the start, then once more, late, when the loop
    // was free again — instead of four times.
    assert_eq!(beats, 2);
}

#[test]
fn the_example_fixed_version_keeps_the_heart_beating() {
    // Same work on the blocking pool. The loop's own polls take microseconds;
    // 150 ms is a bound they cannot reach.
    let rt = runtime(false, Duration::from_millis(150));
    let beats = rt.block_on(example::crunch_on_a_thread(Duration::from_millis(600)));

    assert_eq!(rt.metrics().slow_polls, 0);
    assert!(slow_tasks(&rt).is_empty());
    // The heartbeat (every 150 ms) beat while the work went on. Five is
    // expected; we ask for more than the blocked version's two.
    assert!(beats > 2, "the heart beat only {beats} times");

    // The pool thread woke the waiting task, from another thread.
    assert!(rt
        .trace()
        .timeline()
        .contains("wake   spawn_blocking ← another thread"));
}

#[test]
fn an_idle_loop_parks_at_most_once_per_wheel_level_before_a_timer() {
    // Step 3 parks until the wheel's `next_deadline()`: for a timer above
    // level 0 that is the start of its wheel slot (for 300 ms, level 1's slot
    // starting at 256 ms), found from bitmaps alone. There the slot cascades
    // to level 0, and the second park runs to the deadline itself.
    let rt = runtime(false, Duration::from_millis(150));
    rt.block_on(sleep(Duration::from_millis(300)));
    let parks = rt
        .trace()
        .events()
        .iter()
        .filter(|e| matches!(e.kind, EventKind::Park { .. }))
        .count();
    assert_eq!(parks, 2, "{}", rt.trace().timeline());
}

mod workers;

/// Every test above again, on worker threads (`tests/workers/mod.rs`).
#[test]
fn on_workers() {
    // Their subject is the one event loop (a poll that blocks it, its turns).
    workers::rerun_on_workers(&[
        "an_idle_loop_parks_at_most_once_per_wheel_level_before_a_timer",
        "the_example_blocked_version_warns_and_the_heart_skips",
    ]);
}
