//! Lesson 03's exercises: what the waker is for, by taking it away.

use std::future::Future;
use std::pin::{pin, Pin};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, RawWaker, RawWakerVTable, Waker};
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

use crate::{count, paused, timeline};

/// Lesson 03's `ThreadTimer`, with the line that stores the waker optional.
struct ThreadTimer {
    shared: Arc<Mutex<(bool, Option<Waker>)>>,
    store_waker: bool,
}

impl ThreadTimer {
    fn new(after: Duration, store_waker: bool) -> ThreadTimer {
        let shared = Arc::new(Mutex::new((false, None::<Waker>)));
        let theirs = shared.clone();
        thread::spawn(move || {
            thread::sleep(after);
            let waker = {
                let mut state = theirs.lock().unwrap();
                state.0 = true;
                state.1.take()
            };
            if let Some(waker) = waker {
                waker.wake();
            }
        });
        ThreadTimer {
            shared,
            store_waker,
        }
    }
}

impl Future for ThreadTimer {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut state = self.shared.lock().unwrap();
        if state.0 {
            return Poll::Ready(());
        }
        if self.store_waker {
            state.1 = Some(cx.waker().clone());
        }
        Poll::Pending
    }
}

// ANCHOR: ex1
#[test]
fn a_timer_that_forgets_the_waker_is_never_heard_from() {
    let rt = paused();
    let timer = rt.spawn_named("timer", ThreadTimer::new(Duration::from_millis(20), false));
    rt.turn(); // the one poll: Pending, no waker left behind
    thread::sleep(Duration::from_millis(100)); // the timer thread is long done
    for _ in 0..3 {
        rt.turn();
    }
    assert!(!timer.is_finished());
    assert_eq!(count(&rt, "poll timer → Pending"), 1);
    assert_eq!(count(&rt, "another thread"), 0, "{}", timeline(&rt));
}
// ANCHOR_END: ex1

// ANCHOR: ex2
/// Lesson 03's vtable with `clone_waker` "forgetting" its
/// `Arc::increment_strong_count`.
static FORGETFUL: RawWakerVTable = RawWakerVTable::new(clone_forgetting, noop, noop, noop);

unsafe fn clone_forgetting(data: *const ()) -> RawWaker {
    RawWaker::new(data, &FORGETFUL) // no increment: the clone owns nothing
}

unsafe fn noop(_: *const ()) {}

#[test]
fn a_clone_that_does_not_count_leaves_the_count_one_short() {
    let thread = Arc::new(thread::current());
    let data = Arc::into_raw(thread.clone()).cast::<()>();
    // SAFETY: `data` is a live `Arc<Thread>` pointer holding one count, and
    // no function of `FORGETFUL` dereferences it or gives a count back.
    let waker = unsafe { Waker::from_raw(RawWaker::new(data, &FORGETFUL)) };
    assert_eq!(Arc::strong_count(&thread), 2); // ours + the waker's
    let clone = waker.clone();
    // Two wakers and our Arc: it should be 3. It is 2 — the first drop of a
    // waker that gives its count back would leave the other dangling.
    assert_eq!(Arc::strong_count(&thread), 2);
    // Give the one real count back, once, and forget both wakers.
    std::mem::forget(clone);
    std::mem::forget(waker);
    // SAFETY: `data` came from `Arc::into_raw` above and its count is given back exactly once.
    drop(unsafe { Arc::from_raw(data.cast::<Thread>()) });
    assert_eq!(Arc::strong_count(&thread), 1);
}
// ANCHOR_END: ex2

// ANCHOR: ex3
/// Lesson 03's `block_on` with `thread::park()` replaced by nothing at all.
fn block_on_spinning<F: Future>(future: F) -> (F::Output, u64) {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(futures_task::noop_waker_ref());
    let mut polls = 0;
    loop {
        polls += 1;
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return (output, polls);
        }
        // no park: straight back to poll, burning the CPU
    }
}

#[test]
fn without_park_the_loop_polls_flat_out() {
    let start = Instant::now();
    let ((), polls) = block_on_spinning(ThreadTimer::new(Duration::from_millis(20), true));
    assert!(start.elapsed() >= Duration::from_millis(20)); // takes as long...
    assert!(polls > 1_000, "only {polls} polls"); // ...asking thousands of times
}
// ANCHOR_END: ex3
