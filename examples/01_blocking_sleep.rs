//! Lesson 01 — the blocking sleep: two tasks that each wait 2 seconds take 4.
//!
//! The asyncio original calls `time.sleep(2)` inside `async def`: it *looks*
//! asynchronous, but `time.sleep` holds the thread, and the event loop has
//! only one. Here is the same mistake in Rust: `std::thread::sleep` inside a
//! task. The two tasks run one after the other — 2 s + 2 s = 4 s.
//!
//! ```text
//! cargo run --example 01_blocking_sleep           # each task blocks 2 s
//! cargo run --example 01_blocking_sleep -- 0.2    # each task blocks 0.2 s
//! ```
//!
//! You will also see evloop complain on stderr that each task "blocked the
//! event loop": lesson 08 is about that warning. Lesson 04 is the fix.

use std::fmt::Display;
use std::time::Duration;

use evloop::time::Instant;

// ANCHOR: task
/// Looks like a task. But `std::thread::sleep` is Python's `time.sleep`: it
/// parks the whole thread — the loop's only thread — for `seconds`.
async fn task(name: &str, seconds: Duration, start: Instant) {
    log(start, format!("Task {name} started"));
    std::thread::sleep(seconds); // no `.await`: nothing else can run meanwhile
    log(start, format!("Task {name} finished"));
}
// ANCHOR_END: task

// ANCHOR: main_task
/// Run two such tasks "at once". They cannot overlap: each poll of a task
/// runs it until its next `.await`, and these tasks have none.
pub async fn two_blocking_tasks(seconds: Duration) {
    let start = Instant::now();
    let a = evloop::task::Builder::new()
        .name("A")
        .spawn(task("A", seconds, start));
    let b = evloop::task::Builder::new()
        .name("B")
        .spawn(task("B", seconds, start));
    a.await.expect("task A does not panic");
    b.await.expect("task B does not panic");
}
// ANCHOR_END: main_task

fn main() {
    let seconds = seconds_from_args();
    let start = std::time::Instant::now();
    evloop::run(two_blocking_tasks(seconds));
    let elapsed = start.elapsed().as_secs_f64();
    println!("Program executed in {elapsed:.2} seconds");
}

/// Print `msg` with the time since `start`: `[2.00s] Task A finished`.
fn log(start: Instant, msg: impl Display) {
    println!("[{:.2}s] {msg}", start.elapsed().as_secs_f64());
}

/// How long each task blocks: the first argument, in seconds (default 2).
fn seconds_from_args() -> Duration {
    let arg = std::env::args().nth(1);
    let secs = arg.map_or(2.0, |a| {
        a.parse()
            .expect("the argument is a number of seconds, e.g. 0.2")
    });
    Duration::from_secs_f64(secs)
}
