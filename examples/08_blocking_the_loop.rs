//! Lesson 08 — blocking the loop, the warning that catches it, and the fix.
//!
//! The loop has one thread. A task that calls `std::thread::sleep` (or reads a
//! file, or hashes a password) inside a poll holds that thread: no other task
//! runs, no timer fires, until it returns. asyncio's debug mode reports such a
//! callback ("Executing <Task ...> took 2.003 seconds"); evloop does the same
//! in debug builds (and wherever `slow_poll_threshold` is set, as here),
//! naming the task, with one line on stderr.
//!
//! Here a `heartbeat` task should beat five times while a `cruncher` task
//! works. First the cruncher blocks the loop, then it
//! hands its blocking work to `spawn_blocking`.
//!
//! ```text
//! cargo run --example 08_blocking_the_loop           # 2 s of work, each way
//! cargo run --example 08_blocking_the_loop -- 0.4    # 0.4 s of work
//! ```

use std::fmt::Display;
use std::time::Duration;

use evloop::time::{interval, Instant};

// ANCHOR: heartbeat
/// Beat every `period` until `until`; say so when a beat comes late. Returns the number of beats.
async fn heartbeat(period: Duration, until: Instant, start: Instant) -> usize {
    let mut ticks = interval(period);
    let mut beats = 0;
    while Instant::now() < until {
        let due = ticks.tick().await; // when this beat *should* have happened
        beats += 1;
        let late = due.elapsed();
        if late > period / 2 {
            let late = late.as_secs_f64();
            log(start, format!("heartbeat   (late by {late:.2} s: blocked)"));
        } else {
            log(start, "heartbeat");
        }
    }
    beats
}
// ANCHOR_END: heartbeat

// ANCHOR: blocked
/// The mistake: blocking work right inside a task. Returns how often the heart beat.
pub async fn crunch_on_the_loop(work: Duration) -> usize {
    let start = Instant::now();
    let heart = evloop::task::Builder::new()
        .name("heartbeat")
        .spawn(heartbeat(work / 4, start + work, start));
    let cruncher = evloop::task::Builder::new()
        .name("cruncher")
        .spawn(async move {
            log(start, "cruncher: working (std::thread::sleep on the loop)");
            std::thread::sleep(work); // holds the thread: nothing else runs
            log(start, "cruncher: done");
        });
    cruncher.await.expect("the cruncher does not panic");
    heart.await.expect("the heartbeat does not panic")
}
// ANCHOR_END: blocked

// ANCHOR: fixed
/// The fix: the same blocking work on the blocking pool; the task only awaits it.
pub async fn crunch_on_a_thread(work: Duration) -> usize {
    let start = Instant::now();
    let heart = evloop::task::Builder::new()
        .name("heartbeat")
        .spawn(heartbeat(work / 4, start + work, start));
    let cruncher = evloop::task::Builder::new()
        .name("cruncher")
        .spawn(async move {
            log(start, "cruncher: working (on the blocking pool)");
            // asyncio.to_thread: the pool thread blocks, the loop does not. When the
            // job ends, the pool thread wakes this task (and the parked loop).
            evloop::spawn_blocking(move || std::thread::sleep(work))
                .await
                .expect("the job does not panic");
            // If the work were only waiting, `evloop::time::sleep(work).await` would do.
            log(start, "cruncher: done");
        });
    cruncher.await.expect("the cruncher does not panic");
    heart.await.expect("the heartbeat does not panic")
}
// ANCHOR_END: fixed

// ANCHOR: main
fn main() -> std::io::Result<()> {
    let work = seconds_from_args();
    let rt = evloop::Runtime::builder()
        .slow_poll_threshold(Duration::from_millis(100)) // on in any build (by default only in debug builds)
        .build()?;

    println!("-- blocking the loop --");
    let blocked = rt.block_on(crunch_on_the_loop(work));
    println!("\n-- the fix: spawn_blocking --");
    let fixed = rt.block_on(crunch_on_a_thread(work));

    let metrics = rt.metrics();
    println!("\nheartbeats: {blocked} while blocked, {fixed} after the fix");
    println!(
        "slow polls: {}, longest poll: {:.2} s",
        metrics.slow_polls,
        metrics.longest_poll.as_secs_f64()
    );
    Ok(())
}
// ANCHOR_END: main

/// Print `msg` with the time since `start`: `[0.50s] heartbeat`.
fn log(start: Instant, msg: impl Display) {
    println!("[{:.2}s] {msg}", start.elapsed().as_secs_f64());
}

/// How long the work takes: the first argument, in seconds (default 2).
fn seconds_from_args() -> Duration {
    let arg = std::env::args().nth(1);
    let secs = arg.map_or(2.0, |a| {
        a.parse()
            .expect("the argument is a number of seconds, e.g. 0.4")
    });
    Duration::from_secs_f64(secs)
}
