//! Lesson 13's exercises: freezing the spinner, a faster spinner, a silent service.

use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use evloop::net::{BufReader, TcpListener, TcpStream};
use evloop::time::{interval, sleep};
use evloop::Runtime;

use crate::{count, paused, secs};

/// Lesson 13's spinner without the drawing: counts a frame every `frame`.
async fn spin(frame: Duration, frames: Arc<AtomicUsize>) {
    let mut ticker = interval(frame);
    loop {
        ticker.tick().await;
        frames.fetch_add(1, Ordering::Relaxed);
    }
}

// ANCHOR: ex1
#[test]
fn blocking_in_the_supervisor_freezes_the_spinner_and_names_main() {
    let rt = Runtime::builder()
        .trace(true)
        .slow_poll_threshold(Duration::from_millis(10))
        .build()
        .unwrap();
    let frames = Arc::new(AtomicUsize::new(0));
    let counted = frames.clone();
    let drawn_while_working = rt.block_on(async move {
        let spinner = evloop::task::Builder::new()
            .name("spinner")
            .spawn(spin(Duration::from_millis(5), counted));
        std::thread::sleep(Duration::from_millis(60)); // the work, right here
        let drawn = frames.load(Ordering::Relaxed);
        spinner.abort();
        drawn
    });
    assert_eq!(drawn_while_working, 0); // not one frame in 60 ms
                                        // The warning names the `block_on` future: `main`, here the supervisor.
    assert_eq!(count(&rt, "SLOW main held the loop"), 1);
}
// ANCHOR_END: ex1

// ANCHOR: ex2
#[test]
fn a_ten_millisecond_frame_draws_two_hundred_frames_in_two_seconds() {
    let rt = paused();
    let frames = Arc::new(AtomicUsize::new(0));
    let counted = frames.clone();
    rt.block_on(async move {
        let spinner = evloop::spawn(spin(Duration::from_millis(10), counted));
        sleep(secs(2)).await; // the work takes no longer
        spinner.abort();
    });
    assert_eq!(rt.elapsed(), secs(2));
    let drawn = frames.load(Ordering::Relaxed);
    assert!((200..=201).contains(&drawn), "{drawn} frames"); // ticks at 0, 10, …, 2000 ms
}
// ANCHOR_END: ex2

// ANCHOR: ex3
/// The slow service with its `write_all` removed: it accepts, waits, and
/// drops the connection. (`client` loses its `mut` and gets a `_`; the
/// function must still end in `Ok(())`.)
async fn silent_service(listener: TcpListener, delay: Duration) -> io::Result<()> {
    let (_client, _) = listener.accept().await?;
    sleep(delay).await;
    Ok(())
}

/// The supervisor's fetch and its spinner, as in lesson 13.
async fn supervisor(work: Duration) -> io::Result<String> {
    let frames = Arc::new(AtomicUsize::new(0));
    let spinner = evloop::task::Builder::new()
        .name("spinner")
        .spawn(spin(Duration::from_millis(100), frames));
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    evloop::spawn(silent_service(listener, work));
    let fetched = async {
        let stream = TcpStream::connect(addr).await?;
        let answer = BufReader::new(stream).lines().next_line().await?;
        answer.ok_or_else(|| io::Error::new(io::ErrorKind::UnexpectedEof, "the service hung up"))
    }
    .await;
    spinner.abort();
    fetched
}

#[test]
fn a_service_that_hangs_up_is_an_error_value_and_the_spinner_stops() {
    let rt = paused();
    let err = rt
        .block_on(supervisor(Duration::from_millis(500)))
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
    assert_eq!(err.to_string(), "the service hung up");
    rt.turn(); // the abort takes effect at the spinner's next poll
    assert_eq!(count(&rt, "poll spinner → Cancelled"), 1);
}
// ANCHOR_END: ex3
