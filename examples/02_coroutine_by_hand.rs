//! Lesson 02, second half — a coroutine, by hand.
//!
//! What does an `async fn` compile to? A value that holds "where am I, and
//! what do I still need": an `enum` with one variant per place the function
//! can be paused (each `.await`), whose fields are the locals that live
//! across that pause. Its `poll` runs from the current place to the next
//! `.await`, stores the new place, and returns `Pending` — or runs to the end
//! and returns `Ready`.
//!
//! Here lesson 05's `task` (repeated below) is written both ways: as the `async fn` (the
//! compiler writes the state machine) and as [`TaskByHand`] (we write it).
//! Run side by side on a paused, tracing runtime, the two give the same trace,
//! line for line.
//!
//! ```text
//! cargo run --example 02_coroutine_by_hand
//! ```

use std::fmt::Display;
use std::future::Future;
use std::mem::size_of_val;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use evloop::time::{sleep, Instant, Sleep};
use evloop::{JoinError, Runtime};

// ANCHOR: task
/// Lesson 05's `task`, exactly (`tests/02_coroutine_by_hand.rs` checks that
/// a run of it gives lesson 05's own trace): say it started, wait without
/// blocking, say it finished.
pub async fn task(name: &'static str, seconds: Duration, start: Instant) -> &'static str {
    log(start, format!("Task {name} started"));
    sleep(seconds).await;
    log(start, format!("Task {name} finished"));
    name
}
// ANCHOR_END: task

/// Print `msg` with the time since `start`, as lesson 05 does.
fn log(start: Instant, msg: impl Display) {
    println!("[{:.2}s] {msg}", start.elapsed().as_secs_f64());
}

// ANCHOR: machine
/// Lesson 05's `task`, as the compiler turns it into a value.
///
/// One variant per place the function can be: not started, paused at its
/// one `.await`, returned. A variant's fields are what must survive until the
/// function resumes there — the arguments still used later, and the future
/// being awaited. Nothing else: `format!`'s string lives and dies inside one
/// step, so no variant holds it.
pub enum TaskByHand {
    /// Called but never polled: only the arguments exist (the compiler calls
    /// this state "Unresumed"). Calling an `async fn` runs no code at all.
    Start {
        name: &'static str,
        seconds: Duration,
        start: Instant,
    },
    /// Paused at `sleep(seconds).await` ("Suspend0"): the locals used after
    /// the await, and the `Sleep` being awaited, stored inline.
    Sleeping {
        name: &'static str,
        start: Instant,
        sleep: Sleep,
    },
    /// Returned ("Returned"). Polling again is a bug, and panics.
    Done,
}

/// Calling the "function": build the first state. Like calling an `async
/// fn`, this runs none of its body.
pub fn task_by_hand(name: &'static str, seconds: Duration, start: Instant) -> TaskByHand {
    TaskByHand::Start {
        name,
        seconds,
        start,
    }
}
// ANCHOR_END: machine

// ANCHOR: poll
impl Future for TaskByHand {
    type Output = &'static str;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<&'static str> {
        // Every field is `Unpin` (a `Sleep` may move between polls), so the
        // whole enum is, and `get_mut` is safe. The next chapter, "Why Pin",
        // shows the state this would not be true of.
        let this = self.get_mut();
        loop {
            match this {
                TaskByHand::Start {
                    name,
                    seconds,
                    start,
                } => {
                    let (name, seconds, start) = (*name, *seconds, *start);
                    // The body up to the first `.await` ...
                    log(start, format!("Task {name} started"));
                    // ... then `sleep(seconds)` is created and stored, with the
                    // locals needed after it. No return here: the first poll
                    // goes straight on into the await.
                    *this = TaskByHand::Sleeping {
                        name,
                        start,
                        sleep: sleep(seconds),
                    };
                }
                TaskByHand::Sleeping { name, start, sleep } => {
                    // This is all `.await` is: poll the inner future with *our*
                    // context (so its waker is our task's); if it is not ready,
                    // neither are we. The state stays `Sleeping`, and the next
                    // poll of the task resumes right here.
                    if Pin::new(sleep).poll(cx).is_pending() {
                        return Poll::Pending;
                    }
                    // The rest of the body, after the await.
                    let (name, start) = (*name, *start);
                    log(start, format!("Task {name} finished"));
                    *this = TaskByHand::Done;
                    return Poll::Ready(name);
                }
                // The compiler's own message, word for word.
                TaskByHand::Done => panic!("`async fn` resumed after completion"),
            }
        }
    }
}
// ANCHOR_END: poll

// ANCHOR: gather
/// Lesson 05's `gather`, for either version of `task`: same names, same
/// spawns, same `join_all`.
pub async fn gather_with<F>(
    seconds: Duration,
    task: fn(&'static str, Duration, Instant) -> F,
) -> Vec<Result<&'static str, JoinError>>
where
    F: Future<Output = &'static str> + Send + 'static,
{
    let start = Instant::now();
    let tasks = ["A", "B", "C"].map(|name| {
        evloop::task::Builder::new()
            .name(name)
            .spawn(task(name, seconds, start))
    });
    evloop::join_all(tasks).await
}
// ANCHOR_END: gather

// ANCHOR: sizes
/// How big is each future? Both hold the same things, inline: no heap.
pub fn sizes() -> (usize, usize) {
    let (seconds, start) = (Duration::from_secs(2), Instant::now());
    let compiled = task("A", seconds, start);
    let by_hand = task_by_hand("A", seconds, start);
    (size_of_val(&compiled), size_of_val(&by_hand))
}
// ANCHOR_END: sizes

/// Run `gather` on a paused, tracing runtime; return its timeline.
pub fn timeline_of<F: Future>(gather: F) -> String {
    let rt = Runtime::builder()
        .start_paused(true)
        .trace(true)
        .build()
        .expect("the OS gives us a poller");
    rt.block_on(gather);
    rt.trace().timeline()
}

// ANCHOR: main
fn main() {
    let (compiled, by_hand) = sizes();
    println!("size_of_val: the async fn's future {compiled} bytes, TaskByHand {by_hand} bytes\n");

    let seconds = Duration::from_secs(2);
    println!("-- lesson 05's async fn, on a paused clock --");
    let from_async_fn = timeline_of(gather_with(seconds, task));
    println!("\n-- the state machine written by hand --");
    let from_hand = timeline_of(gather_with(seconds, task_by_hand));

    println!("\n-- the trace (the same for both) --\n{from_hand}");
    println!("identical traces: {}", from_async_fn == from_hand);
}
// ANCHOR_END: main
