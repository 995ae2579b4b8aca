//! Lesson 05 — gather: three tasks that each wait 2 seconds finish in 2 seconds, not 6.
//!
//! The asyncio original:
//!
//! ```python
//! await asyncio.gather(task("A", 2), task("B", 2), task("C", 2))
//! ```
//!
//! Each task waits with `evloop::time::sleep`, which never blocks the thread:
//! it leaves a deadline in the timer wheel and hands the loop back. While A
//! waits, B and C start waiting too, so the three waits overlap and the program
//! takes as long as the longest one.
//!
//! ```text
//! cargo run --example 05_gather           # each task waits 2 s
//! cargo run --example 05_gather -- 0.2    # each task waits 0.2 s
//! ```

use std::fmt::Display;
use std::time::Duration;

use evloop::time::{sleep, Instant};
use evloop::JoinError;

// ANCHOR: task
/// One task of the tutorial: say it started, wait without blocking, say it finished.
async fn task(name: &'static str, seconds: Duration, start: Instant) -> &'static str {
    log(start, format!("Task {name} started"));
    // Not `std::thread::sleep`: this await hands the thread back to the loop,
    // which runs the other tasks until the timer wheel says our time is up.
    sleep(seconds).await;
    log(start, format!("Task {name} finished"));
    name
}
// ANCHOR_END: task

// ANCHOR: gather
/// asyncio's `main()`: start three tasks, then wait for all of them.
pub async fn gather(seconds: Duration) -> Vec<Result<&'static str, JoinError>> {
    let start = Instant::now();
    // asyncio.gather wraps each coroutine in a Task; here we say so ourselves.
    // Spawning only queues a task: none of them runs until we await below.
    let tasks = ["A", "B", "C"].map(|name| {
        evloop::task::Builder::new()
            .name(name)
            .spawn(task(name, seconds, start))
    });
    // Wait for all three. The results come back in the order the tasks were
    // given, whatever order they finished in.
    evloop::join_all(tasks).await
}
// ANCHOR_END: gather

// ANCHOR: main
fn main() {
    let seconds = seconds_from_args();
    let start = std::time::Instant::now();
    evloop::run(gather(seconds)); // asyncio.run(main())
    let elapsed = start.elapsed().as_secs_f64();
    println!("Program executed in {elapsed:.2} seconds");
}
// ANCHOR_END: main

/// Print `msg` with the time since `start`: `[2.00s] Task A finished`.
fn log(start: Instant, msg: impl Display) {
    println!("[{:.2}s] {msg}", start.elapsed().as_secs_f64());
}

/// How long each task waits: the first argument, in seconds (default 2).
fn seconds_from_args() -> Duration {
    let arg = std::env::args().nth(1);
    let secs = arg.map_or(2.0, |a| {
        a.parse()
            .expect("the argument is a number of seconds, e.g. 0.2")
    });
    Duration::from_secs_f64(secs)
}
