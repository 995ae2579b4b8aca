//! Lesson 01, step by step: a task that blocks runs start to finish in one
//! poll, and the next task waits for it — 2 s + 2 s = 4 s.
//!
//! Blocking is real time, so some tests here use the real clock, with short
//! sleeps and only lower bounds: `std::thread::sleep(d)` lasts *at least* `d`.

use std::time::Duration;

use evloop::time::Instant;
use evloop::trace::EventKind;
use evloop::{Runtime, Turn};

#[path = "../examples/01_blocking_sleep.rs"]
#[allow(dead_code)]
mod example;

const BLOCK: Duration = Duration::from_millis(50);

#[test]
fn blocking_tasks_add_up() {
    let rt = Runtime::builder()
        .trace(true)
        .build()
        .expect("the OS gives us a poller");
    let took = rt.block_on(async {
        let start = Instant::now();
        example::two_blocking_tasks(BLOCK).await;
        start.elapsed()
    });
    // Two tasks, each blocking 50 ms: at least 100 ms, one after the other.
    assert!(took >= 2 * BLOCK, "took {took:?}");

    // Each task was polled exactly once, and that one poll held the thread
    // for the whole sleep. B's poll began only after A's had ended.
    let trace = rt.trace();
    let polls: Vec<(String, Duration, Duration)> = trace
        .events()
        .iter()
        .filter_map(|e| match e.kind {
            EventKind::Poll { task, took, .. } if task != 0 => Some((trace.name(task), e.at, took)),
            _ => None,
        })
        .collect();
    let [(a, a_at, a_took), (b, b_at, b_took)] = &polls[..] else {
        panic!("two task polls, got {polls:?}")
    };
    assert_eq!((a.as_str(), b.as_str()), ("A", "B"));
    assert!(*a_took >= BLOCK && *b_took >= BLOCK);
    // (`took` is timed from the end of the poll before it — one clock read
    // per poll — so it may count a few microseconds from before `at`.)
    let slack = Duration::from_millis(1);
    assert!(
        *b_at + slack >= *a_at + *a_took,
        "B started after A finished: no overlap"
    );
}

#[test]
fn one_turn_runs_both_tasks_to_the_end() {
    // Stepping on a paused clock. Both tasks are polled in the first turn and
    // both finish in that poll: with no `.await` inside, there is no point at
    // which a task could hand the loop back.
    let rt = Runtime::builder()
        .start_paused(true)
        .build()
        .expect("the OS gives us a poller");
    let real_start = std::time::Instant::now();
    let a = rt.spawn_named("A", async { std::thread::sleep(BLOCK) });
    let b = rt.spawn_named("B", async { std::thread::sleep(BLOCK) });

    // Notice `now`: zero. The virtual clock moves only when the loop jumps it
    // to a timer, and there is none — the 100 ms of blocking are invisible to
    // it. (Lesson 08's slow-poll check uses a real stopwatch for that reason.)
    assert_eq!(
        rt.turn(),
        Turn {
            polled: vec!["A".into(), "B".into()],
            timers_fired: 0,
            io_events: 0,
            now: Duration::ZERO
        }
    );
    assert!(a.is_finished() && b.is_finished());
    assert!(
        real_start.elapsed() >= 2 * BLOCK,
        "the real clock did see it"
    );
}

#[test]
fn the_loop_notices_both_blocking_polls() {
    // A sneak peek at lesson 08: each poll held the loop past the threshold.
    let rt = Runtime::builder()
        .slow_poll_threshold(Duration::from_millis(20))
        .build()
        .expect("the OS gives us a poller");
    rt.block_on(example::two_blocking_tasks(BLOCK));
    assert_eq!(rt.metrics().slow_polls, 2);
    assert!(rt.metrics().longest_poll >= BLOCK);
}

#[test]
fn the_timeline_never_goes_back_in_time() {
    // On a real clock, the timeline of this lesson reads
    //     2.000s  wake   main ← task A
    //     0.000s  poll   A → Ready (2000279 µs)
    // The poll is stamped with its start but recorded after the wakes it
    // caused. A learner reads a timeline top to bottom: times should not
    // decrease (record the poll when it starts, or order events by time).
    let rt = Runtime::builder()
        .trace(true)
        .slow_poll_threshold(Duration::MAX)
        .build()
        .expect("a poller");
    rt.block_on(example::two_blocking_tasks(BLOCK));
    let times: Vec<Duration> = rt.trace().events().iter().map(|e| e.at).collect();
    assert!(
        times.windows(2).all(|w| w[0] <= w[1]),
        "{}",
        rt.trace().timeline()
    );
}

mod workers;

/// Every test above again, on worker threads (`tests/workers/mod.rs`).
#[test]
fn on_workers() {
    // Their subject is the one event loop (a poll that blocks it, its turns).
    workers::rerun_on_workers(&[
        "blocking_tasks_add_up",
        "the_loop_notices_both_blocking_polls",
    ]);
}
