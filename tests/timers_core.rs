//! Timers and the runtime around them: the promises a `Sleep` keeps however it
//! is polled, dropped, or asked to wait.
//!
//! - A timer's key belongs to one wheel: a `Sleep` carried into another
//!   runtime can neither cancel nor rob that runtime's timers.
//! - The wheel is never borrowed while a waker is dropped: dropping a task's
//!   last waker runs the task's destructors, which may cancel timers too.
//! - `Duration::MAX` means "never": `sleep`, `timeout` and `interval` wait
//!   forever instead of panicking on an overflow.
//! - A zero `interval` period is reported at the caller's line.
//!
//! Every test runs on a paused clock but one, which needs a deadline to pass
//! in the middle of a turn: it blocks 5 ms with `std::thread::sleep` (which
//! lasts *at least* that long) to outlast a 1 ms sleep, and asserts no timing.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Wake, Waker};
use std::time::Duration;

use evloop::time::{interval, interval_at, sleep, timeout, Instant, Sleep};
use evloop::{select, spawn, Either, Runtime};

fn paused() -> Runtime {
    Runtime::builder().start_paused(true).build().unwrap()
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// A waker that counts how often it was woken.
#[derive(Default)]
struct Count(AtomicUsize);

impl Wake for Count {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

impl Count {
    fn new() -> (Arc<Count>, Waker) {
        let count = Arc::new(Count::default());
        let waker = Waker::from(count.clone());
        (count, waker)
    }

    fn get(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

/// Polls `sleep` once with `waker`, expecting it to wait.
fn poll_pending(sleep: &mut Sleep, waker: &Waker) {
    let mut cx = Context::from_waker(waker);
    assert!(Pin::new(sleep).poll(&mut cx).is_pending());
}

// ----- 1. A key from another wheel is never found ---------------------------

/// Runtime A's sleep, registered in A's wheel and carried out of A.
fn a_sleep_registered_in(a: &Runtime, waker: &Waker) -> Sleep {
    let _a = a.enter();
    let mut from_a = sleep(secs(10));
    poll_pending(&mut from_a, waker);
    from_a
}

#[test]
fn dropping_another_runtimes_sleep_leaves_this_runtimes_timer_alone() {
    let (a, b) = (paused(), paused());
    let (_, a_waker) = Count::new();
    // Both wheels are fresh, so A's first timer and B's first timer sit in
    // the same place of their slabs, with the same generation.
    let from_a = a_sleep_registered_in(&a, &a_waker);

    let (b_count, b_waker) = Count::new();
    let _b = b.enter();
    let mut in_b = sleep(secs(1));
    poll_pending(&mut in_b, &b_waker);

    // Dropped while B is current: its key must not cancel B's timer.
    drop(from_a);
    let turn = b.turn(); // nothing ready: the clock jumps to B's timer
    assert_eq!(turn.timers_fired, 1, "B's own timer still fires");
    assert_eq!(turn.now, secs(1));
    assert_eq!(b_count.get(), 1, "and wakes B's waker");
}

#[test]
fn polling_another_runtimes_sleep_registers_it_afresh_and_steals_nothing() {
    let (a, b) = (paused(), paused());
    let (a_count, a_waker) = Count::new();
    let mut from_a = a_sleep_registered_in(&a, &a_waker);

    let (b_count, b_waker) = Count::new();
    let _b = b.enter();
    let mut in_b = sleep(secs(1));
    poll_pending(&mut in_b, &b_waker);

    // Polled in B: the key from A is not found in B's wheel, so the sleep
    // takes a timer of its own there, rather than putting its waker into
    // B's timer (which would leave `in_b` never woken).
    poll_pending(&mut from_a, &a_waker);
    let turn = b.turn();
    assert_eq!((turn.timers_fired, turn.now), (1, secs(1)));
    assert_eq!(b_count.get(), 1, "B's timer woke B's waker");
    assert_eq!(a_count.get(), 0);

    // The carried sleep's deadline is 10 s after A started, about 10 s on
    // B's clock too (both started a moment apart): its own new timer fires.
    let turn = b.turn();
    assert_eq!(turn.timers_fired, 1);
    assert_eq!(a_count.get(), 1, "the carried sleep's new timer woke it");
    assert!(
        turn.now >= secs(9) && turn.now <= secs(11),
        "{:?}",
        turn.now
    );
}

// ----- 2. No waker is dropped while the wheel is borrowed -------------------

/// A waker that owns a registered `Sleep`: when the waker is dropped, the
/// sleep leaves the wheel. (A task is such a waker — its future owns sleeps —
/// but the runtime owns every pending task, so the last reference to a waker
/// is most simply a hand-made one.) `gone` counts its drops.
struct OwnsASleep {
    own: Mutex<Option<Sleep>>,
    gone: Arc<AtomicUsize>,
}

impl Wake for OwnsASleep {
    fn wake(self: Arc<Self>) {}
}

impl Drop for OwnsASleep {
    fn drop(&mut self) {
        drop(self.own.lock().unwrap().take()); // leaves the wheel: it must be free
        self.gone.fetch_add(1, Ordering::SeqCst);
    }
}

/// Poll `shared` once with a waker that owns another registered sleep, and
/// keep no other reference to that waker: the wheel now holds the last one.
fn leave_a_sleep_owning_waker_in(shared: &mut Sleep) -> Arc<AtomicUsize> {
    let gone = Arc::new(AtomicUsize::new(0));
    let mut own = sleep(secs(100));
    poll_pending(&mut own, &Count::new().1);
    let waker = Waker::from(Arc::new(OwnsASleep {
        own: Mutex::new(Some(own)),
        gone: gone.clone(),
    }));
    poll_pending(shared, &waker);
    gone
}

/// A runtime with no slow-poll warning (one test blocks for 5 ms on purpose).
fn quiet(paused: bool) -> Runtime {
    Runtime::builder()
        .start_paused(paused)
        .slow_poll_threshold(Duration::MAX)
        .build()
        .unwrap()
}

#[test]
fn a_waker_dropped_by_a_waker_swap_may_cancel_its_own_timers() {
    let rt = quiet(true);
    rt.block_on(async {
        let mut shared = sleep(secs(50));
        let gone = leave_a_sleep_owning_waker_in(&mut shared);
        // Polled with another waker, the sleep swaps the waker in its timer;
        // the old one was the last reference, so it is dropped, and the sleep
        // it owns must find the wheel free to leave it.
        let (_, main_waker) = Count::new();
        poll_pending(&mut shared, &main_waker);
        assert_eq!(gone.load(Ordering::SeqCst), 1, "the old waker is gone");
    });
}

#[test]
fn a_waker_dropped_by_a_finished_sleep_may_cancel_its_own_timers() {
    // Real clock: the sleep is polled after its deadline but before step 5
    // of a turn fires its timer, so the sleep removes the timer itself -- and
    // with it the waker's last reference.
    let rt = quiet(false);
    rt.block_on(async {
        let mut shared = sleep(Duration::from_millis(1));
        let gone = leave_a_sleep_owning_waker_in(&mut shared);
        std::thread::sleep(Duration::from_millis(5));
        let (_, main_waker) = Count::new();
        let mut cx = Context::from_waker(&main_waker);
        assert!(
            Pin::new(&mut shared).poll(&mut cx).is_ready(),
            "5 ms later, a 1 ms sleep is over"
        );
        assert_eq!(gone.load(Ordering::SeqCst), 1, "the old waker is gone");
    });
}

#[test]
fn a_waker_dropped_by_a_cancelled_sleep_may_cancel_its_own_timers() {
    let rt = quiet(true);
    rt.block_on(async {
        let mut shared = sleep(secs(50));
        let gone = leave_a_sleep_owning_waker_in(&mut shared);
        // Moving the deadline removes the timer, and the waker's last reference with it.
        shared.reset(Instant::now() + secs(60));
        assert_eq!(gone.load(Ordering::SeqCst), 1, "the old waker is gone");
    });
}

// ----- 3. Duration::MAX is "never" ------------------------------------------

#[test]
fn sleep_duration_max_waits_forever_beside_a_one_second_timer() {
    let rt = paused();
    rt.block_on(async {
        let start = Instant::now();
        let forever = spawn(sleep(Duration::MAX));
        // The sibling's timer fires at exactly 1 s: the clock jumped to the
        // nearest deadline, not to the far one.
        sleep(secs(1)).await;
        assert_eq!(start.elapsed(), secs(1));
        assert!(!forever.is_finished());
        // Raced against a 2 s sleep, "never" loses.
        match select(Box::pin(sleep(Duration::MAX)), Box::pin(sleep(secs(2)))).await {
            Either::Left(()) => panic!("Duration::MAX elapsed"),
            Either::Right(()) => assert_eq!(start.elapsed(), secs(3)),
        }
        forever.abort();
    });
}

#[test]
fn timeout_duration_max_never_times_out() {
    let rt = paused();
    rt.block_on(async {
        assert_eq!(timeout(Duration::MAX, async { 5 }).await, Ok(5));
        let start = Instant::now();
        assert_eq!(timeout(Duration::MAX, sleep(secs(2))).await, Ok(()));
        assert_eq!(
            start.elapsed(),
            secs(2),
            "the clock stopped at the inner sleep"
        );
    });
}

#[test]
fn interval_duration_max_ticks_once_then_never() {
    let rt = paused();
    rt.block_on(async {
        let start = Instant::now();
        let mut never = interval(Duration::MAX);
        never.tick().await; // the first tick is at once
        assert_eq!(start.elapsed(), Duration::ZERO);
        match select(Box::pin(never.tick()), Box::pin(sleep(secs(1)))).await {
            Either::Left(_) => panic!("a Duration::MAX interval ticked twice"),
            Either::Right(()) => assert_eq!(start.elapsed(), secs(1)),
        }
    });
}

// ----- 4. A zero period points at the caller --------------------------------

/// Runs `f`, which must panic, and returns the file its panic names.
fn panic_location(f: impl FnOnce() + std::panic::UnwindSafe) -> String {
    static LOCATION: Mutex<Option<String>> = Mutex::new(None);
    let previous = std::panic::take_hook();
    // The hook is global: note only our panic, not one of a test running beside us.
    std::panic::set_hook(Box::new(|info| {
        let message = info.payload().downcast_ref::<String>().map(String::as_str);
        let message = message.or(info.payload().downcast_ref::<&str>().copied());
        if message.is_some_and(|m| m.contains("`interval`")) {
            *LOCATION.lock().unwrap() = info.location().map(|l| l.file().to_string());
        }
    }));
    let outcome = std::panic::catch_unwind(f);
    std::panic::set_hook(previous);
    assert!(outcome.is_err(), "expected a panic");
    LOCATION.lock().unwrap().take().expect("a panic location")
}

#[test]
fn a_zero_interval_panics_at_the_callers_line() {
    let here = file!();
    assert_eq!(panic_location(|| drop(interval(Duration::ZERO))), here);
    assert_eq!(
        panic_location(|| drop(interval_at(Instant::now(), Duration::ZERO))),
        here
    );
}

mod workers;

/// Every test above again, on worker threads (`tests/workers/mod.rs`).
#[test]
fn on_workers() {
    workers::rerun_on_workers(&[]);
}
