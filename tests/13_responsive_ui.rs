//! Lesson 13: the spinner keeps turning while slow work runs — and stops
//! dead when something blocks the loop.
//!
//! These use the real clock: the work includes a real socket and a real
//! thread, and "the spinner turned meanwhile" is a claim about real time.
//! The bounds are loose on purpose, so a busy CI machine still passes.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use evloop::time::{sleep, timeout, Instant};

#[path = "../examples/13_responsive_ui.rs"]
#[allow(dead_code)]
mod example;

const WORK: Duration = Duration::from_millis(600);

#[test]
fn the_spinner_turns_while_the_work_runs() {
    let rt = evloop::Runtime::new().unwrap();
    let outcome = rt
        .block_on(timeout(
            Duration::from_secs(20),
            example::supervisor(WORK, false),
        ))
        .expect("the supervisor finished")
        .expect("the work succeeded");
    assert_eq!(outcome.computed, 2_432_902_008_176_640_000); // 20!
    assert_eq!(outcome.fetched, "the answer is 42");
    // Both slow things ran at the same time: about WORK, not 2 × WORK.
    assert!(outcome.elapsed >= WORK, "{outcome:?}");
    assert!(
        outcome.elapsed < WORK * 2,
        "the two waits overlapped: {outcome:?}"
    );
    // One frame at once, then one per 100 ms: about 7 in 600 ms. Ask for half.
    assert!(outcome.frames >= 3, "the spinner stalled: {outcome:?}");
    // And no poll held the loop: nothing blocked it.
    assert_eq!(rt.metrics().slow_polls, 0);
}

/// The counter-example: a task that sleeps with `std::thread::sleep` holds
/// the only thread, so the spinner cannot draw a single frame meanwhile.
#[test]
fn a_blocking_task_freezes_the_spinner() {
    let rt = evloop::Runtime::builder()
        .slow_poll_threshold(Duration::from_millis(200))
        .build()
        .unwrap();
    let frames = Arc::new(AtomicUsize::new(0));
    let drawn = rt.block_on(async {
        let start = Instant::now();
        let spinner = evloop::spawn(example::spin("frozen?", frames.clone(), start, false));
        sleep(Duration::from_millis(50)).await; // the first frame is drawn
        let before = frames.load(Ordering::Relaxed);
        // The wrong way: block the loop for 600 ms.
        evloop::spawn(async { std::thread::sleep(WORK) })
            .await
            .unwrap();
        let during = frames.load(Ordering::Relaxed) - before;
        spinner.abort();
        during
    });
    assert!(
        drawn <= 1,
        "{drawn} frames drawn while the loop was blocked"
    );
    assert_eq!(
        rt.metrics().slow_polls,
        1,
        "the slow-poll warning caught it"
    );
}

mod workers;

/// Every test above again, on worker threads (`tests/workers/mod.rs`).
#[test]
fn on_workers() {
    // Their subject is the one event loop (a poll that blocks it, its turns).
    workers::rerun_on_workers(&["a_blocking_task_freezes_the_spinner"]);
}
