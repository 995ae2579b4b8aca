//! Lesson 07 — timeouts, cancellation, select, and errors.
//!
//! Four ways to stop waiting, each with its asyncio twin:
//!
//! | asyncio                                   | evloop                          |
//! |-------------------------------------------|---------------------------------|
//! | `await asyncio.wait_for(aw, timeout=1)`   | `time::timeout(d, fut).await`   |
//! | `task.cancel()`                           | `handle.abort()`                |
//! | `asyncio.wait(.., FIRST_COMPLETED)`       | `select(a, b).await`            |
//! | `except asyncio.TimeoutError`             | `Err(Elapsed)`, or `?`          |
//!
//! In Rust, cancelling a future is *dropping* it: it is never polled again, and
//! its destructors run at once. Every example below prints when that happens.
//!
//! ```text
//! cargo run --example 07_timeouts_cancel_select          # a unit of 1 s
//! cargo run --example 07_timeouts_cancel_select -- 0.1   # a unit of 0.1 s
//! ```

use std::error::Error;
use std::fmt::Display;
use std::time::Duration;

use evloop::time::{interval, sleep, timeout, Elapsed, Instant};
use evloop::{select, Either, JoinError};

// ANCHOR: fetch
/// Pretend to ask `server` for something; it answers after `delay`.
async fn fetch(server: &'static str, delay: Duration, start: Instant) -> String {
    let _connection = Connection { server, start };
    log(start, format!("{server}: request sent"));
    sleep(delay).await;
    log(start, format!("{server}: reply received"));
    format!("reply from {server}")
}

/// Stands for a resource the request holds (a socket, a lock). When the
/// future is dropped, finished or not, its destructor runs: that is how a
/// cancelled request cleans up.
struct Connection {
    server: &'static str,
    start: Instant,
}

impl Drop for Connection {
    fn drop(&mut self) {
        log(self.start, format!("{}: connection closed", self.server));
    }
}
// ANCHOR_END: fetch

// ANCHOR: timeout
/// asyncio.wait_for: the slow server takes 3 units, we give it 1.
pub async fn give_up_after(unit: Duration, start: Instant) -> Result<String, Elapsed> {
    let answer = timeout(unit, fetch("slow server", unit * 3, start)).await;
    match &answer {
        Ok(reply) => log(start, format!("timeout: got {reply}")),
        // The inner future was dropped when the deadline passed: see
        // "connection closed" just above this line in the output.
        Err(elapsed) => log(start, format!("timeout: {elapsed}")),
    }
    answer
}
// ANCHOR_END: timeout

// ANCHOR: abort
/// task.cancel(): a download reports progress until we abort it.
pub async fn cancel_download(unit: Duration, start: Instant) -> JoinError {
    let download = evloop::task::Builder::new()
        .name("download")
        .spawn(async move {
            let _connection = Connection {
                server: "download",
                start,
            };
            let mut ticks = interval(unit / 4);
            for percent in (0..=100).step_by(10) {
                ticks.tick().await;
                log(start, format!("download: {percent}%"));
            }
        });
    sleep(unit).await;
    log(start, "main: abort the download");
    download.abort(); // the task is dropped on the loop's next turn
    let err = download
        .await
        .expect_err("the download was aborted before it could finish");
    // By the time await returns, the task's future is gone: "connection closed" came first.
    log(
        start,
        format!("main: {err} (is_cancelled: {})", err.is_cancelled()),
    );
    err
}
// ANCHOR_END: abort

// ANCHOR: select
/// asyncio.wait(FIRST_COMPLETED), then cancel the rest: ask two servers, keep the first reply.
pub async fn first_reply(unit: Duration, start: Instant) -> Either<String, String> {
    // `select` wants futures it can poll in place without pinning them itself: Box::pin.
    let primary = Box::pin(fetch("primary", unit * 3, start));
    let mirror = Box::pin(fetch("mirror", unit, start));
    let winner = select(primary, mirror).await; // the loser is dropped right here
    match &winner {
        Either::Left(reply) | Either::Right(reply) => {
            log(start, format!("select: {reply} came first"))
        }
    }
    winner
}
// ANCHOR_END: select

// ANCHOR: errors
/// Errors are values: `?` passes a timeout or a failed task up like any other error.
pub async fn with_question_marks(unit: Duration, start: Instant) -> Result<String, Box<dyn Error>> {
    // A future that is never awaited never starts: dropping it is all it takes to cancel.
    let never_started = fetch("never", unit, start);
    drop(never_started); // prints nothing: no request was ever sent

    let task = evloop::spawn(fetch("quick server", unit / 2, start));
    let reply = timeout(unit, task).await??; // Elapsed? JoinError? Either goes up to the caller
    Ok(reply)
}
// ANCHOR_END: errors

// ANCHOR: main
fn main() -> Result<(), Box<dyn Error>> {
    let unit = seconds_from_args();
    evloop::run(async {
        let start = Instant::now();
        let _ = give_up_after(unit, start).await;
        println!();
        cancel_download(unit, start).await;
        println!();
        first_reply(unit, start).await;
        println!();
        let reply = with_question_marks(unit, start).await?;
        log(start, format!("main: {reply}"));
        println!(
            "Program executed in {:.2} seconds",
            start.elapsed().as_secs_f64()
        );
        Ok(())
    })
}
// ANCHOR_END: main

/// Print `msg` with the time since `start`: `[1.00s] timeout: ...`.
fn log(start: Instant, msg: impl Display) {
    println!("[{:.2}s] {msg}", start.elapsed().as_secs_f64());
}

/// One unit of time: the first argument, in seconds (default 1).
fn seconds_from_args() -> Duration {
    let arg = std::env::args().nth(1);
    let secs = arg.map_or(1.0, |a| {
        a.parse()
            .expect("the argument is a number of seconds, e.g. 0.1")
    });
    Duration::from_secs_f64(secs)
}
