//! Lesson 04 — two tasks with an async sleep: 2 seconds, not 4.
//!
//! Lesson 01 ran two tasks that each blocked the thread for 2 s and took 4 s.
//! Here the tasks wait with `evloop::time::sleep` instead, the asyncio original's
//! `await asyncio.sleep(2)`:
//!
//! ```python
//! t1 = asyncio.create_task(task("A", 2))
//! t2 = asyncio.create_task(task("B", 2))
//! await t1
//! await t2
//! ```
//!
//! ```text
//! cargo run --example 04_two_tasks           # each task waits 2 s
//! cargo run --example 04_two_tasks -- 0.2    # each task waits 0.2 s
//! ```

use std::fmt::Display;
use std::time::Duration;

use evloop::time::{sleep, Instant};

// ANCHOR: task
/// Say it started, wait without blocking the thread, say it finished.
async fn task(name: &str, seconds: Duration, start: Instant) {
    log(start, format!("Task {name} started"));
    // The first poll of `sleep` puts a deadline in the timer wheel and returns
    // Pending: the task is parked there, and the loop is free for the other one.
    sleep(seconds).await;
    log(start, format!("Task {name} finished"));
}
// ANCHOR_END: task

// ANCHOR: two_tasks
/// asyncio's `main()`: create two tasks, then await each.
pub async fn two_tasks(seconds: Duration) {
    let start = Instant::now();
    // create_task: queued now, first polled on the loop's next turn.
    let a = evloop::task::Builder::new()
        .name("A")
        .spawn(task("A", seconds, start));
    let b = evloop::task::Builder::new()
        .name("B")
        .spawn(task("B", seconds, start));
    log(start, "main: both tasks created, now awaiting them");
    // Awaiting A does not stop B: both are already on the loop, waiting on timers.
    a.await.expect("task A does not panic");
    b.await.expect("task B does not panic");
}
// ANCHOR_END: two_tasks

fn main() {
    let seconds = seconds_from_args();
    let start = std::time::Instant::now();
    evloop::run(two_tasks(seconds));
    let elapsed = start.elapsed().as_secs_f64();
    println!("Program executed in {elapsed:.2} seconds");
}

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
