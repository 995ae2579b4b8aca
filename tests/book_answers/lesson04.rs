//! Lesson 04's exercises: what spawning buys, and when a task starts.

use std::time::Duration;

use evloop::time::sleep;

use crate::{count, paused, secs, timeline};

async fn task(seconds: Duration) {
    sleep(seconds).await;
}

fn named(name: &str, seconds: Duration) -> evloop::JoinHandle<()> {
    evloop::task::Builder::new().name(name).spawn(task(seconds))
}

// ANCHOR: ex1
#[test]
fn awaiting_directly_takes_the_sum_of_the_waits() {
    let rt = paused();
    rt.block_on(async {
        task(secs(2)).await; // no spawn: main does the waiting itself
        task(secs(2)).await;
    });
    assert_eq!(rt.elapsed(), secs(4));
    assert_eq!(count(&rt, "spawn"), 0);
    assert_eq!(count(&rt, "clock jumps to 2.000s"), 1);
    assert_eq!(count(&rt, "clock jumps to 4.000s"), 1);
}
// ANCHOR_END: ex1

// ANCHOR: ex2
#[test]
fn a_yield_between_the_spawns_lets_a_start_before_b_exists() {
    let rt = paused();
    rt.block_on(async {
        let a = named("A", secs(2));
        evloop::yield_now().await; // main steps aside: A runs now
        let b = named("B", secs(2));
        a.await.unwrap();
        b.await.unwrap();
    });
    let lines = timeline(&rt);
    let first = |needle: &str| lines.find(needle).expect(needle);
    // main is polled, says Pending (the yield), A runs, then main again spawns B.
    assert!(first("poll A →") < first("spawn B"));
    assert!(count(&rt, "poll main → Pending") >= 2);
    assert_eq!(rt.elapsed(), secs(2));
}
// ANCHOR_END: ex2

// ANCHOR: ex3
#[test]
fn b_waiting_three_seconds_makes_two_clock_jumps() {
    let rt = paused();
    let a_finished_at = rt.block_on(async {
        let start = evloop::time::Instant::now();
        let a = named("A", secs(2));
        let b = named("B", secs(3));
        a.await.unwrap();
        let a_finished_at = start.elapsed(); // "Task A finished" at 2.00 s
        b.await.unwrap();
        a_finished_at
    });
    assert_eq!(a_finished_at, secs(2));
    assert_eq!(rt.elapsed(), secs(3));
    assert_eq!(count(&rt, "clock jumps to 2.000s"), 1);
    assert_eq!(count(&rt, "clock jumps to 3.000s"), 1);
    assert_eq!(rt.metrics().timers_fired, 2);
}
// ANCHOR_END: ex3
