//! An accept loop whose `accept` keeps failing (out of file descriptors):
//! it waits longer each time, up to a second, and logs at most a line a
//! second — where it used to retry every 10 ms and log every failure.
//!
//! `AcceptBackoff::failed` is a pure function of the time it is given, so
//! most of this is arithmetic on made-up instants; the last test runs the
//! real `pause` (log, then sleep) against an injected failing accept on the
//! paused clock. No descriptors are exhausted.

use std::io;
use std::time::{Duration, Instant};

use evloop::http::AcceptBackoff;

const MS: Duration = Duration::from_millis(1);

#[test]
fn the_wait_doubles_from_10_ms_to_1_s_and_a_success_resets_it() {
    let mut backoff = AcceptBackoff::new();
    let mut now = Instant::now();
    let mut waits = Vec::new();
    for _ in 0..10 {
        let pause = backoff.failed(now);
        waits.push(pause.wait.as_millis());
        now += pause.wait;
    }
    assert_eq!(waits, [10, 20, 40, 80, 160, 320, 640, 1000, 1000, 1000]);
    backoff.succeeded();
    assert_eq!(backoff.failed(now).wait, AcceptBackoff::FIRST_WAIT);
}

/// Replay failures at these instants (with a success between each two if
/// `flapping`); count the lines logged, and check that every failure is
/// accounted for: logged, or counted in a later line's "n more".
fn replay(failures: &[Instant], flapping: bool) -> u64 {
    let mut backoff = AcceptBackoff::new();
    let (mut lines, mut accounted) = (0, 0);
    for &at in failures {
        if let Some(unlogged) = backoff.failed(at).log {
            lines += 1;
            accounted += 1 + unlogged;
        }
        if flapping {
            backoff.succeeded();
        }
    }
    // What is still unlogged goes in the next line; force one to see it.
    let later = failures.last().copied().unwrap_or_else(Instant::now) + Duration::from_secs(3600);
    accounted += backoff
        .failed(later)
        .log
        .expect("an hour later, a line is due");
    assert_eq!(
        accounted,
        failures.len() as u64,
        "a failure was neither logged nor counted"
    );
    lines
}

#[test]
fn a_minute_of_failures_logs_about_a_line_a_second_and_counts_the_rest() {
    // The loop as `serve` runs it: fail, wait what the backoff says, fail.
    let mut backoff = AcceptBackoff::new();
    let start = Instant::now();
    let mut now = start;
    let mut failures = Vec::new();
    while now - start < Duration::from_secs(60) {
        failures.push(now);
        now += backoff.failed(now).wait;
    }
    // 7 quick failures in the first 1.27 s, then one a second.
    assert_eq!(failures.len(), 7 + 59);
    let lines = replay(&failures, false);
    assert!(lines <= 61, "{lines} lines in 60 s");
}

#[test]
fn flapping_between_success_and_failure_still_logs_at_most_once_a_second() {
    // Worst case for a backoff reset by success: every other accept works,
    // so every failure waits only 10 ms. The log must not follow the retries.
    let start = Instant::now();
    let failures: Vec<Instant> = (0..1000).map(|i| start + 10 * MS * i).collect();
    let lines = replay(&failures, true);
    // 1,000 failures over 10 s: the old loop logged 1,000 lines.
    assert!(lines <= 11, "{lines} lines in 10 s");
}

#[test]
fn the_accept_loop_sleeps_on_the_runtime_clock_between_failures() {
    let rt = evloop::Runtime::builder()
        .start_paused(true)
        .build()
        .unwrap();
    rt.block_on(async {
        // An injected accept: out of descriptors 8 times, then a connection.
        let mut failures_left = 8;
        let mut accept = || {
            if failures_left == 0 {
                return Ok("a connection");
            }
            failures_left -= 1;
            Err(io::Error::from_raw_os_error(24)) // EMFILE
        };
        // Meanwhile another task (a connection already accepted) runs on.
        let other = evloop::spawn(async {
            evloop::time::sleep(Duration::from_millis(100)).await;
            evloop::time::Instant::now()
        });
        let start = evloop::time::Instant::now();
        let mut backoff = AcceptBackoff::new();
        let accepted = loop {
            match accept() {
                Ok(conn) => {
                    backoff.succeeded();
                    break conn;
                }
                Err(e) => backoff.pause("test server", &e).await,
            }
        };
        assert_eq!(accepted, "a connection");
        // 10 + 20 + 40 + … + 640 + 1000 ms of waiting, on virtual time: the
        // test takes no real second.
        let waited = start.elapsed();
        let expected = Duration::from_millis(10 + 20 + 40 + 80 + 160 + 320 + 640 + 1000);
        assert!(
            waited >= expected && waited < expected + 10 * MS,
            "{waited:?}"
        );
        // The other task was not held up by the backoff: it woke at 100 ms.
        let other_woke = other.await.unwrap();
        assert!(other_woke.duration_since(start) < Duration::from_millis(110));
    });
}

mod workers;

/// Every test above again, on worker threads (`tests/workers/mod.rs`).
#[test]
fn on_workers() {
    workers::rerun_on_workers(&[]);
}
