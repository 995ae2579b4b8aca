//! Lesson 07's exercises: which timer fires, when an abort lands, who wins a select.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use evloop::time::{interval, sleep, timeout};
use evloop::{select, Either};

use crate::{count, paused, secs};

async fn fetch(server: &'static str, delay: Duration) -> String {
    sleep(delay).await;
    format!("reply from {server}")
}

// ANCHOR: ex1
#[test]
fn a_slow_server_inside_the_timeout_answers_and_the_timeout_never_fires() {
    let rt = paused();
    let answer = rt.block_on(timeout(secs(3), fetch("slow server", secs(2))));
    assert_eq!(answer.unwrap(), "reply from slow server");
    assert_eq!(count(&rt, "2.000s wake main ← timer"), 1);
    // Two timers were set (the fetch's and the timeout's); one fired, the
    // other was dropped with the `Timeout`.
    assert_eq!(rt.metrics().timers_fired, 1);
}
// ANCHOR_END: ex1

// ANCHOR: ex2
#[test]
fn a_download_aborted_before_its_first_poll_prints_nothing() {
    let rt = paused();
    let progress = Arc::new(AtomicUsize::new(0));
    let reported = progress.clone();
    let err = rt.block_on(async move {
        let download = evloop::task::Builder::new()
            .name("download")
            .spawn(async move {
                let mut ticks = interval(Duration::from_millis(250));
                for _percent in (0..=100).step_by(10) {
                    ticks.tick().await;
                    reported.fetch_add(1, Ordering::Relaxed); // "download: N%"
                }
            });
        download.abort(); // before `sleep(unit)`: the task has never run
        download.await.unwrap_err()
    });
    assert!(err.is_cancelled());
    assert_eq!(progress.load(Ordering::Relaxed), 0); // no `download:` line
    assert_eq!(count(&rt, "poll download →"), 1);
    assert_eq!(count(&rt, "poll download → Cancelled"), 1);
}
// ANCHOR_END: ex2

// ANCHOR: ex3
#[test]
fn select_reports_the_side_and_polls_left_first() {
    let rt = paused();
    // Swapped: the mirror is on the left now, and wins on the left.
    let winner = rt.block_on(select(
        Box::pin(fetch("mirror", secs(1))),
        Box::pin(fetch("primary", secs(3))),
    ));
    assert!(matches!(winner, Either::Left(ref reply) if reply == "reply from mirror"));
    // Both take 1 unit: both are ready in the same poll, and left is polled first.
    let winner = rt.block_on(select(
        Box::pin(fetch("mirror", secs(1))),
        Box::pin(fetch("primary", secs(1))),
    ));
    assert!(matches!(winner, Either::Left(ref reply) if reply == "reply from mirror"));
}
// ANCHOR_END: ex3
