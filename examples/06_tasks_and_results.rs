//! Lesson 06 — tasks and their results: a panic is a value, and the loop goes on.
//!
//! Breakfast, the tutorials' favourite: toast, eggs and coffee are made at
//! once. The eggs go wrong (the task panics). In asyncio the exception is kept
//! in the Task and raised when you await it; in evloop the panic is caught and
//! handed to you as a `JoinError` when you await the `JoinHandle`. Either way
//! the event loop and the other tasks carry on.
//!
//! ```text
//! cargo run --example 06_tasks_and_results          # toast 1 s, eggs 2 s, coffee 3 s
//! cargo run --example 06_tasks_and_results -- 0.1   # the same, in tenths
//! ```

use std::fmt::Display;
use std::time::Duration;

use evloop::time::{sleep, Instant};
use evloop::JoinHandle;

// ANCHOR: cook
/// Cook one dish: it takes `steps` units of time. The eggs are dropped halfway.
async fn cook(dish: &'static str, steps: u32, unit: Duration, start: Instant) -> String {
    log(start, format!("{dish}: started"));
    sleep(unit * steps).await;
    if dish == "eggs" {
        // A bug in one task. The panic unwinds this task's poll only: the loop
        // catches it (`catch_unwind`) and keeps it for whoever awaits the handle.
        panic!("dropped the {dish}");
    }
    log(start, format!("{dish}: ready"));
    format!("{dish} on the plate")
}
// ANCHOR_END: cook

// ANCHOR: breakfast
/// Start three tasks, then collect each result: a value, or the reason there is none.
pub async fn breakfast(unit: Duration) -> Vec<(String, Result<String, String>)> {
    let start = Instant::now();
    let handles: Vec<JoinHandle<String>> = [("toast", 1), ("eggs", 2), ("coffee", 3)]
        .into_iter()
        .map(|(dish, steps)| {
            evloop::task::Builder::new()
                .name(dish)
                .spawn(cook(dish, steps, unit, start))
        })
        .collect();

    let mut results = Vec::new();
    for handle in handles {
        let name = handle.name().unwrap_or("?").to_string();
        // Awaiting a task gives `Result<T, JoinError>`: the output, or why there is none.
        let result = match handle.await {
            Ok(dish) => Ok(dish),
            Err(e) if e.is_panic() => {
                Err(format!("panicked: {}", e.panic_message().unwrap_or("?")))
            }
            Err(e) => Err(e.to_string()), // cancelled; lesson 07 does that on purpose
        };
        log(start, format!("main: {name} -> {result:?}"));
        results.push((name, result));
    }
    results
}
// ANCHOR_END: breakfast

fn main() {
    let unit = seconds_from_args();
    let start = std::time::Instant::now();
    let results = evloop::run(breakfast(unit));
    let served = results.iter().filter(|(_, r)| r.is_ok()).count();
    println!("{served} of {} dishes served", results.len());
    let elapsed = start.elapsed().as_secs_f64();
    println!("Program executed in {elapsed:.2} seconds");
}

/// Print `msg` with the time since `start`: `[1.00s] toast: ready`.
fn log(start: Instant, msg: impl Display) {
    println!("[{:.2}s] {msg}", start.elapsed().as_secs_f64());
}

/// One unit of cooking time: the first argument, in seconds (default 1).
fn seconds_from_args() -> Duration {
    let arg = std::env::args().nth(1);
    let secs = arg.map_or(1.0, |a| {
        a.parse()
            .expect("the argument is a number of seconds, e.g. 0.1")
    });
    Duration::from_secs_f64(secs)
}
