//! Lesson 07, step by step: four ways to stop waiting — and what happens to
//! the future that was given up on (it is dropped: never polled again, its
//! destructors run at once, its timers leave the wheel).

use std::error::Error;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use evloop::time::{sleep, timeout, Elapsed, Instant};
use evloop::trace::{EventKind, PollOutcome, WakeSource};
use evloop::{select, Either, Runtime, Turn};

#[path = "../examples/07_timeouts_cancel_select.rs"]
#[allow(dead_code)]
mod example;

const SECOND: Duration = Duration::from_secs(1);

/// A runtime with a virtual clock that records everything it does.
fn paused_runtime() -> Runtime {
    Runtime::builder()
        .start_paused(true)
        .trace(true)
        .build()
        .expect("the OS gives us a poller")
}

/// Sets its flag when dropped: tells a test that a future was cancelled and cleaned up.
struct DropFlag(Arc<AtomicBool>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// A future that sleeps `d`, holding a `DropFlag` while it does.
async fn sleep_holding(flag: Arc<AtomicBool>, d: Duration) {
    let _guard = DropFlag(flag);
    sleep(d).await;
}

#[test]
fn a_timeout_fires_its_own_timer_and_drops_the_slow_one() {
    let rt = paused_runtime();
    let dropped = Arc::new(AtomicBool::new(false));
    let waiter = rt.spawn_named(
        "waiter",
        timeout(SECOND, sleep_holding(dropped.clone(), 3 * SECOND)),
    );

    // Turn 1: the inner sleep registers a timer at 3 s, the timeout one at 1 s.
    // The clock jumps to the *earlier* deadline, 1 s, and only that timer fires.
    assert_eq!(
        rt.turn(),
        Turn {
            polled: vec!["waiter".into()],
            timers_fired: 1,
            io_events: 0,
            now: SECOND
        }
    );
    assert!(!dropped.load(Ordering::SeqCst));

    // Turn 2: the timeout is due, so `timeout` returns Err(Elapsed) and drops
    // the inner future on the spot — its guard runs, its 3 s timer is removed.
    assert_eq!(rt.turn().polled, ["waiter"]);
    assert!(
        dropped.load(Ordering::SeqCst),
        "wait_for cancels the awaitable"
    );

    // Nothing is left in the wheel: the next turn is empty and the clock stays at 1 s.
    assert_eq!(
        rt.turn(),
        Turn {
            polled: vec![],
            timers_fired: 0,
            io_events: 0,
            now: SECOND
        }
    );
    assert_eq!(
        rt.metrics().timers_fired,
        1,
        "the dropped 3 s sleep never fires"
    );
    assert_eq!(
        rt.block_on(waiter).unwrap(),
        Err::<(), _>(evloop::time::Elapsed::clone(&elapsed()))
    );
}

/// An `Elapsed` value to compare with (it has no public constructor).
fn elapsed() -> Elapsed {
    let rt = paused_runtime();
    rt.block_on(timeout(Duration::ZERO, sleep(SECOND)))
        .unwrap_err()
}

#[test]
fn abort_drops_the_task_on_the_next_turn() {
    let rt = paused_runtime();
    let dropped = Arc::new(AtomicBool::new(false));
    let download = rt.spawn_named("download", sleep_holding(dropped.clone(), 10 * SECOND));

    // Turn 1: the task starts its 10 s sleep. Nothing else is ready, so the
    // paused clock jumps to 10 s and the timer fires: the task is queued, to
    // finish on the next turn.
    assert_eq!(
        rt.turn(),
        Turn {
            polled: vec!["download".into()],
            timers_fired: 1,
            io_events: 0,
            now: 10 * SECOND
        }
    );
    assert!(!download.is_finished());

    // `abort` only marks the task and queues it; nothing is dropped yet.
    download.abort();
    assert!(!dropped.load(Ordering::SeqCst));

    // Next turn: instead of polling the future, the loop drops it. Its guard
    // runs, and the code after its `sleep` never does.
    assert_eq!(rt.turn().polled, ["download"]);
    assert!(dropped.load(Ordering::SeqCst));
    assert!(download.is_finished());
    let cancelled = rt.trace().events().iter().any(|e| {
        matches!(e.kind, EventKind::Poll { task, outcome: PollOutcome::Cancelled, .. } if task == download.id())
    });
    assert!(cancelled, "the trace shows the cancelled poll");

    let err = rt.block_on(download).unwrap_err();
    assert!(err.is_cancelled());
    assert!(!err.is_panic());
}

#[test]
fn after_abort_the_handle_resolves_only_once_the_future_is_gone() {
    // asyncio: `task.cancel(); await task` raises CancelledError after the task
    // ran its `finally` blocks. Here: by the time `handle.await` gives the
    // cancelled error, the future has been dropped, destructors and all.
    let rt = paused_runtime();
    let dropped = Arc::new(AtomicBool::new(false));
    let seen_by_await = rt.block_on({
        let dropped = dropped.clone();
        async move {
            let task = evloop::spawn(sleep_holding(dropped.clone(), 10 * SECOND));
            sleep(SECOND).await;
            task.abort();
            let err = task.await.unwrap_err();
            assert!(err.is_cancelled());
            dropped.load(Ordering::SeqCst)
        }
    });
    assert!(seen_by_await);
    assert_eq!(rt.elapsed(), SECOND);
}

#[test]
fn an_abort_between_turns_is_traced_as_the_runtime_waking_the_task() {
    // trace.rs documents `WakeSource::Runtime` as "the runtime thread, outside
    // any poll (e.g. `abort` between turns)". Between two `rt.turn()` calls the
    // runtime is not entered, so the wake source comes out as `OtherThread`.
    let rt = paused_runtime();
    let download = rt.spawn_named("download", std::future::pending::<()>());
    rt.turn(); // polled once: Pending, with nothing that will ever wake it
    download.abort(); // so this wake is the one that queues it
    let by: Vec<WakeSource> = rt
        .trace()
        .events()
        .iter()
        .filter_map(|e| match e.kind {
            EventKind::Wake { task, by } if task == download.id() => Some(by),
            _ => None,
        })
        .collect();
    assert_eq!(by, [WakeSource::Runtime]);
}

#[test]
fn select_drops_the_loser_the_moment_the_race_is_decided() {
    let rt = paused_runtime();
    let loser_dropped = Arc::new(AtomicBool::new(false));
    let winner = rt.block_on({
        let loser_dropped = loser_dropped.clone();
        async move {
            let slow = Box::pin(sleep_holding(loser_dropped.clone(), 3 * SECOND));
            let fast = Box::pin(async {
                sleep(SECOND).await;
                "fast"
            });
            let winner = select(slow, fast).await;
            // Dropped inside `select`, not at the end of this block.
            assert!(loser_dropped.load(Ordering::SeqCst));
            winner
        }
    });
    assert_eq!(winner, Either::Right("fast"));
    assert_eq!(rt.elapsed(), SECOND);
    assert_eq!(
        rt.metrics().timers_fired,
        1,
        "the loser's 3 s timer left the wheel unfired"
    );
}

#[test]
fn a_future_never_polled_never_starts() {
    // Futures are lazy: creating one runs none of its code. Dropping it is
    // the whole of cancelling it.
    let started = Arc::new(AtomicUsize::new(0));
    let future = {
        let started = started.clone();
        async move {
            started.fetch_add(1, Ordering::SeqCst);
        }
    };
    drop(future);
    assert_eq!(started.load(Ordering::SeqCst), 0);
}

#[test]
fn question_mark_passes_timeouts_and_task_errors_up() {
    async fn fetch_within(
        limit: Duration,
        takes: Duration,
    ) -> Result<&'static str, Box<dyn Error>> {
        let task = evloop::spawn(async move {
            sleep(takes).await;
            "data"
        });
        // timeout(..) gives Result<Result<T, JoinError>, Elapsed>: one `?` each.
        Ok(timeout(limit, task).await??)
    }
    let rt = paused_runtime();
    assert_eq!(
        rt.block_on(fetch_within(SECOND, SECOND / 2)).unwrap(),
        "data"
    );
    let err = rt.block_on(fetch_within(SECOND, 2 * SECOND)).unwrap_err();
    assert!(err.is::<Elapsed>(), "the error is the timeout's: {err}");
}

#[test]
fn the_example_parts_take_the_time_they_should() {
    let rt = paused_runtime();
    rt.block_on(async {
        let start = Instant::now();

        // wait_for: gives up at 1 unit, although the server needs 3.
        assert!(example::give_up_after(SECOND, start).await.is_err());
        assert_eq!(start.elapsed(), SECOND);

        // cancel: the download is aborted after 1 unit.
        assert!(example::cancel_download(SECOND, start).await.is_cancelled());
        assert_eq!(start.elapsed(), 2 * SECOND);

        // select: the mirror answers after 1 unit; the primary (3 units) is dropped.
        assert_eq!(
            example::first_reply(SECOND, start).await,
            Either::Right("reply from mirror".to_string())
        );
        assert_eq!(start.elapsed(), 3 * SECOND);

        // `?`: the quick server answers in half a unit, within the 1 unit allowed.
        assert_eq!(
            example::with_question_marks(SECOND, start).await.unwrap(),
            "reply from quick server"
        );
        assert_eq!(start.elapsed(), 3 * SECOND + SECOND / 2);
    });
    // Timers that fired: 1 (the timeout) + 4 (download ticks: the first tick of
    // an interval is due at once and needs no timer) + 1 (main's sleep before the
    // abort) + 1 (mirror) + 1 (quick server) — and none of the dropped ones: the
    // slow server's, the primary's, the download's next tick.
    assert_eq!(rt.metrics().timers_fired, 8);
}

mod workers;

/// Every test above again, on worker threads (`tests/workers/mod.rs`).
#[test]
fn on_workers() {
    workers::rerun_on_workers(&[]);
}
