//! Lesson 13 — a responsive terminal UI: the spinner keeps turning while slow work runs.
//!
//! A spinner is the simplest UI there is, and the quickest way to see whether
//! an event loop is blocked: if it stops turning, something is holding the
//! thread. Here it turns while two slow things happen — a computation on the
//! blocking pool and a wait for a slow network service — because neither
//! holds the loop. The asyncio original (from *Fluent Python*, `spinner_async.py`):
//!
//! ```python
//! async def spin(msg):
//!     for char in itertools.cycle(r'\|/-'):
//!         print(f'\r{char} {msg}', end='', flush=True)
//!         await asyncio.sleep(.1)
//!
//! async def slow():
//!     await asyncio.sleep(3)          # or: await asyncio.to_thread(blocking_work)
//!     return 42
//!
//! async def supervisor():
//!     spinner = asyncio.create_task(spin('thinking!'))
//!     result = await slow()
//!     spinner.cancel()
//!     return result
//! ```
//!
//! ```text
//! cargo run --example 13_responsive_ui           # the work takes 3 s
//! cargo run --example 13_responsive_ui -- 0.5    # 0.5 s
//! ```

use std::io::{self, IsTerminal, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use evloop::net::{BufReader, TcpListener, TcpStream};
use evloop::time::{interval, sleep, Instant};

/// How often the spinner turns.
pub const FRAME: Duration = Duration::from_millis(100);

/// What the supervisor found out, and how lively the UI stayed meanwhile.
#[derive(Debug)]
pub struct Outcome {
    /// The blocking computation's result.
    pub computed: u64,
    /// The slow service's answer.
    pub fetched: String,
    /// Spinner frames drawn while the work ran.
    pub frames: usize,
    /// How long the work took.
    pub elapsed: Duration,
}

// ANCHOR: spin
/// Draw a frame every 100 ms until aborted, counting frames in `frames`.
///
/// On a terminal it redraws one line in place (`\r`); into a pipe (a test, a
/// log) it prints a line per frame so the timing stays visible.
pub async fn spin(message: &'static str, frames: Arc<AtomicUsize>, start: Instant, animate: bool) {
    let mut ticker = interval(FRAME);
    for glyph in ['|', '/', '-', '\\'].into_iter().cycle() {
        ticker.tick().await; // the loop is free between frames
        frames.fetch_add(1, Ordering::Relaxed);
        if animate {
            print!("\r{glyph} {message}");
            let _ = io::stdout().flush();
        } else {
            println!("[{:.2}s] {glyph} {message}", start.elapsed().as_secs_f64());
        }
    }
}
// ANCHOR_END: spin

// ANCHOR: slow_service
/// A network service that takes `delay` to answer: accepts one client, waits,
/// replies with one line. It stands in for a slow API on the other side of the world.
async fn slow_service(listener: TcpListener, delay: Duration) -> io::Result<()> {
    let (mut client, _) = listener.accept().await?;
    sleep(delay).await;
    client.write_all(b"the answer is 42\n").await
}
// ANCHOR_END: slow_service

// ANCHOR: supervisor
/// Start the spinner, do two slow things at once, stop the spinner.
pub async fn supervisor(work: Duration, animate: bool) -> io::Result<Outcome> {
    let start = Instant::now();
    let frames = Arc::new(AtomicUsize::new(0));
    let spinner = evloop::task::Builder::new().name("spinner").spawn(spin(
        "thinking!",
        frames.clone(),
        start,
        animate,
    ));

    // 1. CPU-bound or blocking work goes to the pool (asyncio's `to_thread`):
    //    it may hold *its* thread for as long as it likes.
    let computation = evloop::spawn_blocking(move || {
        std::thread::sleep(work); // stands in for real number crunching
        (1..=20u64).product::<u64>()
    });

    // 2. A socket wait costs nothing at all: the task is parked in the reactor
    //    until the answer arrives.
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    evloop::spawn(slow_service(listener, work));
    let fetch = async {
        let stream = TcpStream::connect(addr).await?;
        let answer = BufReader::new(stream).lines().next_line().await?;
        answer.ok_or_else(|| io::Error::new(io::ErrorKind::UnexpectedEof, "the service hung up"))
    };

    let (computed, fetched) = evloop::join!(computation, fetch);
    let elapsed = start.elapsed();
    spinner.abort(); // asyncio's spinner.cancel()
    if animate {
        print!("\r"); // rub out the spinner line
    }
    Ok(Outcome {
        computed: computed.expect("the computation does not panic"),
        fetched: fetched?,
        frames: frames.load(Ordering::Relaxed),
        elapsed,
    })
}
// ANCHOR_END: supervisor

fn main() -> io::Result<()> {
    let work = seconds_from_args();
    let animate = io::stdout().is_terminal();
    let outcome = evloop::run(supervisor(work, animate))?;
    println!(
        "computed {} and heard {:?} in {:.2} s; the spinner drew {} frames meanwhile",
        outcome.computed,
        outcome.fetched,
        outcome.elapsed.as_secs_f64(),
        outcome.frames,
    );
    Ok(())
}

/// How long the slow work takes: the first argument, in seconds (default 3).
fn seconds_from_args() -> Duration {
    let secs = std::env::args().nth(1).map_or(3.0, |a| {
        a.parse()
            .expect("the argument is a number of seconds, e.g. 0.5")
    });
    Duration::from_secs_f64(secs)
}
