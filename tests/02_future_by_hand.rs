//! Lesson 02, step by step: what `poll` returns, who gets woken, and what a
//! runtime does with a future that says Pending.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use evloop::{Runtime, Turn};

#[path = "../examples/02_future_by_hand.rs"]
#[allow(dead_code)]
mod example;

use example::Countdown;

#[test]
fn a_countdown_is_pending_three_times_then_ready() {
    assert_eq!(
        example::poll_by_hand(3),
        [
            Poll::Pending,
            Poll::Pending,
            Poll::Pending,
            Poll::Ready("liftoff!")
        ]
    );
    // Zero left: ready on the very first poll.
    assert_eq!(example::poll_by_hand(0), [Poll::Ready("liftoff!")]);
}

#[test]
fn an_async_block_passes_each_pending_through() {
    // The compiler-made future is Pending whenever the future it awaits is.
    assert_eq!(
        example::poll_async_block_by_hand(),
        [Poll::Pending, Poll::Pending, Poll::Ready(8)]
    );
}

/// A waker that counts its wakes: it stands in for the event loop.
#[derive(Default)]
struct CountingWaker(AtomicUsize);

impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn every_pending_comes_with_a_wake() {
    // The contract: a future that returns Pending has arranged to be woken.
    // Countdown wakes at once, so each Pending is matched by exactly one wake.
    let counter = Arc::new(CountingWaker::default());
    let waker = Waker::from(counter.clone());
    let mut cx = Context::from_waker(&waker);
    let mut countdown = Countdown::new(2);

    assert_eq!(Pin::new(&mut countdown).poll(&mut cx), Poll::Pending);
    assert_eq!(counter.0.load(Ordering::SeqCst), 1);
    assert_eq!(Pin::new(&mut countdown).poll(&mut cx), Poll::Pending);
    assert_eq!(counter.0.load(Ordering::SeqCst), 2);
    assert_eq!(
        Pin::new(&mut countdown).poll(&mut cx),
        Poll::Ready("liftoff!")
    );
    assert_eq!(counter.0.load(Ordering::SeqCst), 2, "Ready needs no wake");
}

#[test]
fn on_evloop_each_wake_is_one_more_turn() {
    let rt = Runtime::builder()
        .start_paused(true)
        .trace(true)
        .build()
        .expect("the OS gives us a poller");
    let countdown = rt.spawn_named("countdown", Countdown::new(3));

    // Each poll wakes the task from inside that poll. The loop does not poll it
    // again in the same turn: a task woken during step 1 waits for the next
    // turn, behind everything already queued (fairness). So one poll per turn.
    for _ in 0..3 {
        assert_eq!(
            rt.turn(),
            Turn {
                polled: vec!["countdown".into()],
                timers_fired: 0,
                io_events: 0,
                now: Duration::ZERO
            }
        );
        assert!(!countdown.is_finished());
    }
    assert_eq!(rt.turn().polled, ["countdown"]); // the fourth poll: Ready
    assert!(countdown.is_finished());
    assert_eq!(rt.block_on(countdown).unwrap(), "liftoff!");

    // Three wakes, each by the task itself, while it was being polled.
    let timeline = rt.trace().timeline();
    assert_eq!(
        timeline
            .matches("wake   countdown ← task countdown")
            .count(),
        3
    );
    let m = rt.metrics();
    assert_eq!((m.polls, m.wakes, m.timers_fired), (4, 3, 0));
}

/// Says Pending once without arranging a wake: a broken future.
struct Forgetful {
    polled: bool,
}

impl Future for Forgetful {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
        if self.polled {
            return Poll::Ready(());
        }
        self.polled = true;
        Poll::Pending // and nobody will ever wake us
    }
}

#[test]
fn pending_without_a_wake_is_never_polled_again() {
    // The runtime polls a task only when its waker fires. Forget to arrange a
    // wake and the task sits there forever — it would be Ready on its next
    // poll, but there is no next poll. (`rt.turn()` returns an empty turn
    // instead of sleeping forever; `block_on` would hang.)
    let rt = Runtime::builder()
        .start_paused(true)
        .build()
        .expect("the OS gives us a poller");
    let forgetful = rt.spawn_named("forgetful", Forgetful { polled: false });
    assert_eq!(rt.turn().polled, ["forgetful"]);
    for _ in 0..3 {
        assert!(rt.turn().polled.is_empty());
    }
    assert!(!forgetful.is_finished());
}

mod workers;

/// Every test above again, on worker threads (`tests/workers/mod.rs`).
#[test]
fn on_workers() {
    workers::rerun_on_workers(&[]);
}
