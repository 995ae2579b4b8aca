//! Lesson 06, second half, step by step: asyncio's TaskGroup rule built from
//! a JoinSet — the first failure cancels the rest — beside `join_all`, which
//! cancels nothing.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use evloop::{Runtime, Turn};

#[path = "../examples/06_task_group.rs"]
#[allow(dead_code)]
mod example;

use example::GroupError;

fn paused_runtime() -> Runtime {
    Runtime::builder()
        .start_paused(true)
        .trace(true)
        .build()
        .expect("the OS gives us a poller")
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn turn(polled: &[&str], timers_fired: usize, now: Duration) -> Turn {
    Turn {
        polled: polled.iter().map(|s| s.to_string()).collect(),
        timers_fired,
        io_events: 0,
        now,
    }
}

#[test]
fn the_group_cancels_the_coffee_when_the_eggs_fail() {
    let rt = paused_runtime();
    let group = rt.spawn_named("group", example::breakfast_group());

    // Turn 1: the group spawns toast, eggs and coffee (tasks 2, 3, 4) and
    // waits in `join_next`. Nothing else was ready when the turn began.
    assert_eq!(rt.turn(), turn(&["group"], 0, secs(0)));
    // Turn 2: the three cook until their sleeps; the clock jumps to 1 s.
    assert_eq!(rt.turn(), turn(&["task-2", "task-3", "task-4"], 1, secs(1)));
    // Turn 3: toast is ready and wakes the group (its per-child waker).
    assert_eq!(rt.turn(), turn(&["task-2"], 0, secs(1)));
    // Turn 4: the group takes toast's result and waits again; jump to 2 s.
    assert_eq!(rt.turn(), turn(&["group"], 1, secs(2)));
    // Turn 5: the eggs fail (an `Err` value, not a panic).
    assert_eq!(rt.turn(), turn(&["task-3"], 0, secs(2)));
    // Turn 6: the group sees the failure and aborts the rest: the coffee is
    // queued to be cancelled.
    assert_eq!(rt.turn(), turn(&["group"], 0, secs(2)));
    // Turn 7: the coffee's "poll" is its cancellation: its future is dropped
    // (its sleep leaves the wheel), and it wakes the group once more.
    assert_eq!(rt.turn(), turn(&["task-4"], 0, secs(2)));
    // Turn 8: the group joins the cancelled coffee; none is left; it returns.
    assert_eq!(rt.turn(), turn(&["group"], 0, secs(2)));

    assert!(group.is_finished());
    let result = rt.block_on(group).unwrap();
    assert_eq!(
        result,
        Err(GroupError::Failed("dropped the eggs".to_string()))
    );
    // Done at 2 s, not 3: the coffee's timer never fired.
    assert_eq!(rt.elapsed(), secs(2));
    assert_eq!(rt.metrics().timers_fired, 2);
    let timeline = rt.trace().timeline();
    assert!(timeline.contains("poll   task-4 → Cancelled"));

    // The chapter shows this very run's timeline, from this file
    // (`UPDATE_PICTURES=1 cargo test --test 06_task_group` rewrites it).
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/lessons/img/06-task-group.timeline.txt"
    );
    if std::env::var_os("UPDATE_PICTURES").is_some_and(|v| v != "0") {
        std::fs::write(path, &timeline).unwrap();
    }
    let shown = std::fs::read_to_string(path).unwrap_or_default();
    assert_eq!(shown, timeline, "06-task-group.timeline.txt is stale");
}

#[test]
fn join_all_lets_the_coffee_finish() {
    let rt = paused_runtime();
    let results = rt.block_on(example::breakfast_gather());
    let results: Vec<_> = results.into_iter().map(|r| r.unwrap()).collect();
    assert_eq!(
        results,
        [
            Ok("toast on the plate".to_string()),
            Err("dropped the eggs".to_string()),
            Ok("coffee on the plate".to_string()),
        ]
    );
    // gather: 3 s, all three timers fired, nothing cancelled.
    assert_eq!(rt.elapsed(), secs(3));
    assert_eq!(rt.metrics().timers_fired, 3);
    assert!(!rt.trace().timeline().contains("Cancelled"));
}

#[test]
fn without_a_failure_the_group_gives_every_output_in_finishing_order() {
    let rt = paused_runtime();
    let outputs = rt.block_on(example::task_group([3u64, 1, 2].map(|s| async move {
        evloop::time::sleep(secs(s)).await;
        Ok::<u64, ()>(s)
    })));
    assert_eq!(outputs, Ok(vec![1, 2, 3]));
    assert_eq!(rt.elapsed(), secs(3));
}

/// A child that waits `s` seconds, then panics or finishes (setting `done`).
async fn child(s: u64, panics: bool, done: Arc<AtomicBool>) -> Result<(), ()> {
    evloop::time::sleep(secs(s)).await;
    if panics {
        panic!("burnt");
    }
    done.store(true, Ordering::SeqCst);
    Ok(())
}

#[test]
fn a_panic_fails_the_group_too() {
    let rt = paused_runtime();
    let (burnt, slow) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicBool::new(false)),
    );
    let result = rt.block_on(example::task_group([
        child(1, true, burnt.clone()),
        child(5, false, slow.clone()),
    ]));
    // The panic is caught as the task's result and fails the group; the
    // 5-second child is cancelled at 1 s and never sets its flag.
    assert!(
        matches!(&result, Err(GroupError::Panicked(m)) if m.contains("burnt")),
        "{result:?}"
    );
    assert!(!slow.load(Ordering::SeqCst));
    assert_eq!(rt.elapsed(), secs(1));
}

mod workers;

/// Every test above again, on worker threads (`tests/workers/mod.rs`).
#[test]
fn on_workers() {
    workers::rerun_on_workers(&[]);
}
