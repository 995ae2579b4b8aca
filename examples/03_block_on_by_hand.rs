//! Lesson 03 — `block_on` and a waker, built by hand.
//!
//! Lesson 02 polled a future in a busy loop. A real event loop does better:
//! when a future says `Pending`, the loop *sleeps*, and the future's waker
//! wakes it. Here we build the smallest such loop — a `block_on` that parks the
//! thread — and its waker twice: once by hand with a `RawWakerVTable`, once
//! with `futures_task::ArcWake`, which is how evloop's tasks are woken.
//!
//! The future we drive is a timer run by a helper thread, like asyncio's
//! `loop.call_soon_threadsafe(fut.set_result, None)` from another thread.
//!
//! ```text
//! cargo run --example 03_block_on_by_hand           # each timer waits 1 s
//! cargo run --example 03_block_on_by_hand -- 0.2    # each timer waits 0.2 s
//! ```

use std::fmt::Display;
use std::future::Future;
use std::pin::{pin, Pin};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, RawWaker, RawWakerVTable, Waker};
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

use futures_task::ArcWake;

// ANCHOR: timer
/// A future that completes `after` a delay. A helper thread sleeps, then
/// calls the waker it finds — the only way the timer can say "poll me now".
pub struct ThreadTimer {
    shared: Arc<Mutex<TimerState>>,
}

struct TimerState {
    done: bool,
    /// The waker of the last poll: whoever is waiting for us.
    waker: Option<Waker>,
}

impl ThreadTimer {
    /// Start the helper thread now; the future completes `after` from now.
    pub fn new(after: Duration, start: Instant) -> ThreadTimer {
        let shared = Arc::new(Mutex::new(TimerState {
            done: false,
            waker: None,
        }));
        let theirs = shared.clone();
        thread::spawn(move || {
            thread::sleep(after);
            let waker = {
                let mut state = theirs.lock().unwrap();
                state.done = true;
                state.waker.take()
            };
            log(start, "timer thread: time is up, calling wake()");
            // Wake outside the lock: the woken side will lock it to poll us.
            if let Some(waker) = waker {
                waker.wake();
            }
        });
        ThreadTimer { shared }
    }
}

impl Future for ThreadTimer {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut state = self.shared.lock().unwrap();
        if state.done {
            return Poll::Ready(());
        }
        // Keep the *current* waker: a future may be polled by different tasks over time.
        state.waker = Some(cx.waker().clone());
        Poll::Pending
    }
}
// ANCHOR_END: timer

// ANCHOR: block_on
/// Drive `future` to completion on this thread, sleeping while it is pending.
/// `waker` must unpark this thread when called.
pub fn block_on<F: Future>(future: F, waker: &Waker, start: Instant) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(waker);
    loop {
        match future.as_mut().poll(&mut cx) {
            Poll::Ready(output) => {
                log(start, "block_on: poll -> Ready");
                return output;
            }
            Poll::Pending => {
                log(start, "block_on: poll -> Pending, parking the thread");
                // Sleep until the waker unparks us. `park` may also return for no
                // reason at all (a "spurious wakeup"); then we simply poll again
                // and the future says Pending again. Correct either way.
                thread::park();
                log(start, "block_on: unparked");
            }
        }
    }
}
// ANCHOR_END: block_on

// ANCHOR: raw_waker
/// A waker made by hand: its data pointer is an `Arc<Thread>` turned into a
/// raw pointer, and the four functions of the vtable say what clone, wake,
/// wake_by_ref and drop mean for it. Every `RawWaker` we hand out owns one
/// strong count of that `Arc`.
pub fn thread_waker(thread: Arc<Thread>) -> Waker {
    let data = Arc::into_raw(thread).cast::<()>();
    // SAFETY: `data` owns one strong count of an `Arc<Thread>` (from `into_raw`
    // above), which is exactly what every function in `VTABLE` expects, and
    // those functions are thread-safe because `Arc<Thread>` is `Send + Sync`.
    unsafe { Waker::from_raw(RawWaker::new(data, &VTABLE)) }
}

static VTABLE: RawWakerVTable = RawWakerVTable::new(clone_waker, wake, wake_by_ref, drop_waker);

/// A second waker for the same thread: one more strong count.
unsafe fn clone_waker(data: *const ()) -> RawWaker {
    // SAFETY: `data` is a live `Arc<Thread>` pointer — the waker being cloned
    // still owns its count — so we may add one for the clone.
    unsafe { Arc::increment_strong_count(data.cast::<Thread>()) };
    RawWaker::new(data, &VTABLE)
}

/// Wake, consuming this waker: unpark the thread, then give back our count.
unsafe fn wake(data: *const ()) {
    // SAFETY: `wake` consumes the waker, so we take over its strong count;
    // the `Arc` is dropped at the end of this function, releasing it.
    let thread = unsafe { Arc::from_raw(data.cast::<Thread>()) };
    thread.unpark();
}

/// Wake, keeping this waker: unpark the thread; the count stays with the waker.
unsafe fn wake_by_ref(data: *const ()) {
    // SAFETY: the waker is alive (we were called through `&Waker`), so its
    // count keeps the `Thread` alive while we borrow it.
    let thread = unsafe { &*data.cast::<Thread>() };
    thread.unpark();
}

/// The waker is dropped: give back its strong count.
unsafe fn drop_waker(data: *const ()) {
    // SAFETY: this waker owned one count, and is never used again.
    drop(unsafe { Arc::from_raw(data.cast::<Thread>()) });
}
// ANCHOR_END: raw_waker

// ANCHOR: arc_wake
/// The same waker with `futures_task::ArcWake`: one method, and the crate
/// writes the vtable — the clone, drop and reference counting above — for us.
pub struct Unparker(pub Thread);

impl ArcWake for Unparker {
    fn wake_by_ref(arc_self: &Arc<Self>) {
        arc_self.0.unpark();
    }
}

/// A waker that unparks `thread`, built by `ArcWake`.
pub fn arc_wake_waker(thread: Thread) -> Waker {
    futures_task::waker(Arc::new(Unparker(thread)))
}
// ANCHOR_END: arc_wake

// ANCHOR: main
fn main() {
    let wait = seconds_from_args();
    let start = Instant::now();

    println!("-- block_on with a waker built by hand (RawWakerVTable) --");
    let waker = thread_waker(Arc::new(thread::current()));
    block_on(ThreadTimer::new(wait, start), &waker, start);

    println!("\n-- block_on with a waker built by ArcWake --");
    let waker = arc_wake_waker(thread::current());
    block_on(ThreadTimer::new(wait, start), &waker, start);

    println!("\n-- evloop's block_on: the same loop, parked in the reactor --");
    evloop::run(ThreadTimer::new(wait, start));
    log(start, "evloop::run: done");
    println!(
        "Program executed in {:.2} seconds",
        start.elapsed().as_secs_f64()
    );
}
// ANCHOR_END: main

/// Print `msg` with the time since `start`: `[1.00s] block_on: unparked`.
fn log(start: Instant, msg: impl Display) {
    println!("[{:.2}s] {msg}", start.elapsed().as_secs_f64());
}

/// How long each timer waits: the first argument, in seconds (default 1).
fn seconds_from_args() -> Duration {
    let arg = std::env::args().nth(1);
    let secs = arg.map_or(1.0, |a| {
        a.parse()
            .expect("the argument is a number of seconds, e.g. 0.2")
    });
    Duration::from_secs_f64(secs)
}
