//! Lesson 03, step by step: a hand-made waker keeps its books, and a
//! `block_on` sleeps until it is woken.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::thread;
use std::time::{Duration, Instant};

use evloop::trace::{EventKind, PollOutcome, WakeSource};
use evloop::Runtime;

#[path = "../examples/03_block_on_by_hand.rs"]
#[allow(dead_code)]
mod example;

#[test]
fn the_hand_made_waker_counts_its_references() {
    // Every waker owns one strong count of the `Arc<Thread>`. If clone, wake
    // or drop got the counting wrong, we would leak the Arc or free it twice.
    let thread = Arc::new(thread::current());
    let waker = example::thread_waker(thread.clone());
    assert_eq!(Arc::strong_count(&thread), 2, "ours + the waker's");

    let second = waker.clone(); // clone: +1
    assert_eq!(Arc::strong_count(&thread), 3);

    waker.wake_by_ref(); // wake_by_ref: the waker stays, so does its count
    assert_eq!(Arc::strong_count(&thread), 3);

    second.wake(); // wake consumes the waker: -1
    assert_eq!(Arc::strong_count(&thread), 2);

    drop(waker); // drop: -1
    assert_eq!(Arc::strong_count(&thread), 1, "no leak: only ours is left");

    // The two wakes unparked us; leave no token behind (with --test-threads=1
    // the next test runs on this same thread).
    thread::park_timeout(Duration::ZERO);
}

#[test]
fn both_wakers_drive_the_thread_timer_to_the_end() {
    let start = Instant::now();
    let hand_made = example::thread_waker(Arc::new(thread::current()));
    example::block_on(
        example::ThreadTimer::new(Duration::from_millis(20), start),
        &hand_made,
        start,
    );

    let arc_wake = example::arc_wake_waker(thread::current());
    example::block_on(
        example::ThreadTimer::new(Duration::from_millis(20), start),
        &arc_wake,
        start,
    );

    // Each timer took at least its 20 ms (a lower bound never flakes).
    assert!(start.elapsed() >= Duration::from_millis(40));
}

/// Pending on its first two polls; each time it wakes its own task at once,
/// as `yield_now` does.
struct YieldTwice(u32);

impl Future for YieldTwice {
    type Output = u32;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u32> {
        self.0 += 1;
        if self.0 == 3 {
            return Poll::Ready(self.0);
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

#[test]
fn a_wake_before_the_park_is_not_lost() {
    // The waker fires *during* the poll, before block_on parks. `unpark` on a
    // thread that is not parked leaves a token, and the next `park` returns at
    // once: so the wake is not lost and block_on does not sleep forever.
    let start = Instant::now();
    let waker = example::thread_waker(Arc::new(thread::current()));
    assert_eq!(example::block_on(YieldTwice(0), &waker, start), 3);
}

/// Pending on the first poll, after handing its waker to a new thread that
/// calls `wake`; Ready on the next. The wake always comes from another thread.
#[derive(Default)]
struct WokenByAThread {
    woken: Option<thread::JoinHandle<()>>,
}

impl Future for WokenByAThread {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if let Some(helper) = self.woken.take() {
            helper.join().expect("the helper thread does not panic");
            return Poll::Ready(());
        }
        let waker = cx.waker().clone();
        self.woken = Some(thread::spawn(move || waker.wake()));
        Poll::Pending
    }
}

#[test]
fn evloop_block_on_is_woken_from_another_thread_too() {
    // evloop's block_on is the same loop: poll main, and when it is Pending,
    // park — in the reactor (mio) instead of `thread::park` — until a waker
    // fires. A wake from another thread interrupts the park through a `mio::Waker`.
    let rt = Runtime::builder()
        .trace(true)
        .build()
        .expect("the OS gives us a poller");
    rt.block_on(WokenByAThread::default());

    let events = rt.trace().events().to_vec();
    let main_polls: Vec<PollOutcome> = events
        .iter()
        .filter_map(|e| match e.kind {
            EventKind::Poll {
                task: 0, outcome, ..
            } => Some(outcome),
            _ => None,
        })
        .collect();
    assert_eq!(main_polls, [PollOutcome::Pending, PollOutcome::Ready]);
    let wakes: Vec<WakeSource> = events
        .iter()
        .filter_map(|e| match e.kind {
            EventKind::Wake { task: 0, by } => Some(by),
            _ => None,
        })
        .collect();
    // (Task 0 is the block_on future, `main` in the timeline.)
    assert_eq!(wakes, [WakeSource::OtherThread]);
}

#[test]
fn evloop_drives_the_examples_thread_timer() {
    // The example's future knows nothing about evloop: any executor whose
    // waker does its job can drive it.
    let start = Instant::now();
    evloop::run(example::ThreadTimer::new(Duration::from_millis(20), start));
    assert!(start.elapsed() >= Duration::from_millis(20));
}

// The waker must be usable from any thread: `Waker` is `Send + Sync`, and our
// vtable functions only touch an `Arc<Thread>`, which is too.
#[test]
fn the_hand_made_waker_wakes_from_another_thread() {
    let waker = example::thread_waker(Arc::new(thread::current()));
    let helper = thread::spawn(move || waker.wake());
    thread::park(); // returns once the helper's wake unparks us (or a spurious wakeup)
    helper.join().unwrap();
}

mod workers;

/// Every test above again, on worker threads (`tests/workers/mod.rs`).
#[test]
fn on_workers() {
    workers::rerun_on_workers(&[]);
}
