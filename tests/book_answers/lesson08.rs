//! Lesson 08's exercises: what the slow-poll warning sees, and what it does not.

use std::time::Duration;

use evloop::time::{interval, Instant};
use evloop::Runtime;

use crate::{count, paused, secs};

/// Lesson 08's heartbeat, without the printing: beats every `period` until `until`.
async fn heartbeat(period: Duration, until: Instant) -> usize {
    let mut ticks = interval(period);
    let mut beats = 0;
    while Instant::now() < until {
        ticks.tick().await;
        beats += 1;
    }
    beats
}

/// A heartbeat beside a cruncher that does `work`; returns the beats.
async fn beside<F: std::future::Future<Output = ()> + Send + 'static>(
    work: Duration,
    crunch: F,
) -> usize {
    let start = Instant::now();
    let heart = evloop::task::Builder::new()
        .name("heartbeat")
        .spawn(heartbeat(work / 4, start + work));
    let cruncher = evloop::task::Builder::new().name("cruncher").spawn(crunch);
    cruncher.await.unwrap();
    heart.await.unwrap()
}

// ANCHOR: ex1
#[test]
fn if_the_work_is_only_waiting_a_timer_does_it() {
    let rt = paused();
    let beats = rt.block_on(beside(secs(1), evloop::time::sleep(secs(1))));
    assert_eq!(beats, 5); // 0, 0.25, 0.5, 0.75 and 1 s
    assert_eq!(rt.metrics().slow_polls, 0);
    assert_eq!(count(&rt, "spawn_blocking"), 0);
    assert_eq!(count(&rt, "another thread"), 0);
    assert_eq!(count(&rt, "wake cruncher ← timer"), 1);
}
// ANCHOR_END: ex1

// ANCHOR: ex2
/// The blocked version of lesson 08 with 50 ms of work, under a given threshold.
fn blocked_for_50ms(threshold: Duration) -> Runtime {
    let rt = Runtime::builder()
        .trace(true)
        .slow_poll_threshold(threshold)
        .build()
        .unwrap();
    let work = Duration::from_millis(50);
    rt.block_on(beside(work, async move { std::thread::sleep(work) }));
    rt
}

#[test]
fn a_50ms_block_hides_under_100ms_and_shows_over_10ms() {
    let rt = blocked_for_50ms(Duration::from_millis(100));
    assert_eq!(rt.metrics().slow_polls, 0); // it blocked all the same
    assert!(rt.metrics().longest_poll >= Duration::from_millis(50));

    let rt = blocked_for_50ms(Duration::from_millis(10));
    assert_eq!(rt.metrics().slow_polls, 1);
    assert_eq!(count(&rt, "SLOW"), 1);
}
// ANCHOR_END: ex2

// ANCHOR: ex3
/// Real work: add up numbers for 20 ms of CPU (a billion would take seconds
/// in a test build; `black_box` keeps the compiler from doing it for us).
fn crunch() -> u64 {
    let start = std::time::Instant::now();
    let mut sum = 0u64;
    while start.elapsed() < Duration::from_millis(20) {
        for i in 0..10_000 {
            sum = std::hint::black_box(sum.wrapping_add(i));
        }
    }
    sum
}

/// How many slow polls does crunching on the loop, or on the pool, cost?
fn slow_polls(on_the_pool: bool) -> u64 {
    let rt = Runtime::builder()
        .slow_poll_threshold(Duration::from_millis(5))
        .build()
        .unwrap();
    rt.block_on(async move {
        let sum = if on_the_pool {
            evloop::spawn_blocking(crunch).await.unwrap()
        } else {
            crunch()
        };
        assert!(sum > 0);
    });
    rt.metrics().slow_polls
}

#[test]
fn real_work_warns_on_the_loop_and_not_on_the_pool() {
    assert_eq!(slow_polls(false), 1);
    assert_eq!(slow_polls(true), 0);
}
// ANCHOR_END: ex3
