//! Lesson 06, second half — structured concurrency: asyncio's `TaskGroup`,
//! built from a `JoinSet`.
//!
//! `join_all` is `gather`: it waits for every task and hands back every
//! result; a failure cancels nothing. asyncio 3.11's `TaskGroup` is stricter:
//! when one child fails, the others are cancelled, the group waits until they
//! are gone, and only then reports the failure. No child outlives the block.
//! Here is that rule in a dozen lines, on [`evloop::task::JoinSet`].
//!
//! ```text
//! cargo run --example 06_task_group
//! ```

use std::fmt::Display;
use std::future::Future;
use std::time::Duration;

use evloop::task::JoinSet;
use evloop::time::{sleep, Instant};
use evloop::JoinError;

/// Cook `dish` for `seconds`; the eggs are dropped (an error, as a value).
pub async fn cook(dish: &'static str, seconds: u64, start: Instant) -> Result<String, String> {
    log(start, format!("{dish}: started"));
    sleep(Duration::from_secs(seconds)).await;
    if dish == "eggs" {
        log(start, format!("{dish}: dropped!"));
        return Err(format!("dropped the {dish}"));
    }
    log(start, format!("{dish}: ready"));
    Ok(format!("{dish} on the plate"))
}

// ANCHOR: task_group
/// Why a group failed: the first child's error, or its panic.
#[derive(Debug, PartialEq)]
pub enum GroupError<E> {
    /// A child returned `Err(e)`.
    Failed(E),
    /// A child panicked (the message).
    Panicked(String),
}

/// asyncio's `async with TaskGroup() as tg`: run every future as a task;
/// on the first failure cancel the rest, wait until they are gone, and
/// report that failure. Otherwise, every output, in the order they finished.
pub async fn task_group<T, E, F>(
    children: impl IntoIterator<Item = F>,
) -> Result<Vec<T>, GroupError<E>>
where
    F: Future<Output = Result<T, E>> + Send + 'static,
    T: Send + 'static,
    E: Send + 'static,
{
    let mut set = JoinSet::new();
    for child in children {
        set.spawn(child); // tg.create_task(child)
    }
    let mut done = Vec::new();
    let mut failure = None;
    // The end of the `async with` block: wait for every child.
    while let Some(joined) = set.join_next().await {
        let error = match joined {
            Ok(Ok(value)) => {
                done.push(value);
                continue;
            }
            Ok(Err(e)) => GroupError::Failed(e),
            Err(e) if e.is_panic() => GroupError::Panicked(e.to_string()),
            Err(_cancelled) => continue, // one we aborted, coming out
        };
        if failure.is_none() {
            set.abort_all(); // the TaskGroup rule: cancel the rest ...
            failure = Some(error);
        }
        // ... and keep joining until they have all come out: the group
        // returns only when no child is left running.
    }
    match failure {
        Some(error) => Err(error),
        None => Ok(done),
    }
}
// ANCHOR_END: task_group

// ANCHOR: breakfast
/// The breakfast of the first half, as a group: toast (1 s), eggs (fail at
/// 2 s), coffee (3 s).
pub async fn breakfast_group() -> Result<Vec<String>, GroupError<String>> {
    let start = Instant::now();
    let dishes = [("toast", 1), ("eggs", 2), ("coffee", 3)];
    let result = task_group(dishes.map(|(dish, secs)| cook(dish, secs, start))).await;
    log(start, format!("group: {result:?}"));
    result
}

/// The same breakfast with `join_all` (`gather`): every result, nothing cancelled.
pub async fn breakfast_gather() -> Vec<Result<Result<String, String>, JoinError>> {
    let start = Instant::now();
    let dishes = [("toast", 1), ("eggs", 2), ("coffee", 3)];
    let handles = dishes.map(|(dish, secs)| evloop::spawn(cook(dish, secs, start)));
    let results = evloop::join_all(handles).await;
    log(start, "gather: all three are in");
    results
}
// ANCHOR_END: breakfast

// ANCHOR: main
fn main() {
    println!("-- join_all (gather): the coffee is served after the eggs fail --");
    evloop::run(breakfast_gather());
    println!("\n-- task_group (TaskGroup): the eggs fail, the coffee is cancelled --");
    evloop::run(breakfast_group()).expect_err("the eggs fail");
}
// ANCHOR_END: main

/// Print `msg` with the time since `start`.
fn log(start: Instant, msg: impl Display) {
    println!("[{:.2}s] {msg}", start.elapsed().as_secs_f64());
}
