//! Lesson 02's exercises: the contract of `Pending`, by breaking it.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::{count, paused, timeline};

/// Lesson 02's `Countdown`, with the number of `wake_by_ref` calls per
/// `Pending` as a knob: 1 is the lesson's, 0 and 3 are the exercises'.
struct Countdown {
    remaining: u32,
    wakes_per_pending: u32,
}

impl Future for Countdown {
    type Output = &'static str;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<&'static str> {
        if self.remaining == 0 {
            return Poll::Ready("liftoff!");
        }
        self.remaining -= 1;
        for _ in 0..self.wakes_per_pending {
            cx.waker().wake_by_ref();
        }
        Poll::Pending
    }
}

// ANCHOR: ex1
#[test]
fn without_a_wake_the_countdown_is_never_polled_again() {
    let rt = paused();
    let countdown = rt.spawn_named(
        "countdown",
        Countdown {
            remaining: 3,
            wakes_per_pending: 0, // the deleted `wake_by_ref` line
        },
    );
    for _ in 0..5 {
        rt.turn(); // `evloop::run` would park here for ever; a turn returns
    }
    assert!(!countdown.is_finished());
    assert_eq!(count(&rt, "poll countdown → Pending"), 1);
    assert_eq!(count(&rt, "wake"), 0, "{}", timeline(&rt));
}
// ANCHOR_END: ex1

// ANCHOR: ex2
#[test]
fn three_wakes_in_a_row_queue_the_task_once() {
    let rt = paused();
    let countdown = rt.spawn_named(
        "countdown",
        Countdown {
            remaining: 3,
            wakes_per_pending: 3,
        },
    );
    for _ in 0..4 {
        rt.turn();
    }
    assert!(countdown.is_finished());
    // Four polls (three Pending, one Ready), one wake line per Pending poll:
    // the second and third `wake_by_ref` found the task already scheduled.
    assert_eq!(count(&rt, "poll countdown →"), 4);
    assert_eq!(count(&rt, "wake countdown"), 3, "{}", timeline(&rt));
}
// ANCHOR_END: ex2

// ANCHOR: ex3
/// `Pending` once, `Ready` on the second poll: `evloop::yield_now`, by hand.
struct Yield {
    yielded: bool,
}

impl Future for Yield {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            return Poll::Ready(());
        }
        self.yielded = true;
        cx.waker().wake_by_ref(); // poll me again, after the others
        Poll::Pending
    }
}

#[test]
fn two_tasks_that_yield_take_turns() {
    let rt = paused();
    let order = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    for name in ["left", "right"] {
        let order = order.clone();
        rt.spawn_named(name, async move {
            order.lock().unwrap().push(format!("{name} before"));
            Yield { yielded: false }.await;
            order.lock().unwrap().push(format!("{name} after"));
        });
    }
    rt.turn();
    rt.turn();
    assert_eq!(
        *order.lock().unwrap(),
        ["left before", "right before", "left after", "right after"]
    );
}
// ANCHOR_END: ex3
