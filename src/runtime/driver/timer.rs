//! The timer driver: the runtime's timer wheel, and the one rule for touching it.
//!
//! Every `Sleep` registers here (through the current runtime's `Core`), and
//! the turn asks here in step 3 how long it may sleep and in step 5 which
//! timers are due. The wheel itself ([`TimerWheel`]) is plain data; this
//! driver owns it in a cell and keeps one rule. The cell is a `RefCell` on
//! the one-thread loop ([`LocalTimers`], in its `Core`: no atomics at all)
//! and a `Mutex` on a multi-thread runtime ([`SharedTimers`], which every
//! worker reaches); [`WheelCell`] is the one method the two share, so the
//! driver is written once.
//!
//! **No waker is dropped while the wheel is locked.** A `Waker` may be the
//! last reference to a task. Dropping it drops the task's future, whose
//! destructors may cancel *their* timers (a `Sleep` leaving the wheel) — a
//! second borrow of the wheel on the same thread, which would panic (the
//! `RefCell`) or deadlock (the `Mutex`) if the first were still held. So every method here that takes a waker out of the
//! wheel (replaced, cancelled or fired) unlocks first and lets the waker go
//! afterwards.
//!
//! **A new deadline earlier than the parked thread's wakes it.** On one
//! thread, the loop that polls a `Sleep` is the loop that parks, so it reads
//! the wheel afresh before every park. With several workers, one may be
//! parked in the reactor until tick 900 when another sets a timer for tick
//! 10. So the parking worker records, under the wheel's lock, the tick it
//! sleeps until ([`park_deadline`](TimerDriver::park_deadline)), and
//! [`register`](TimerDriver::register) reports, under the same lock, whether
//! the new timer comes before it: the caller then interrupts the park.
//!
//! A leaf: it knows wakers and ticks, and nothing of the runtime around it.

use std::cell::RefCell;
use std::sync::Mutex;
use std::task::Waker;

use super::wheel::{TimerKey, TimerWheel};

/// The runtime's timers: deadlines in 1 ms ticks since the runtime started,
/// each with the waker of the `Sleep` waiting for it, in a cell `C`.
#[derive(Debug, Default)]
pub(crate) struct TimerDriver<C = RefCell<Wheel>> {
    wheel: C,
}

/// The one-thread loop's timers: a `RefCell`, touched by the loop alone.
pub(crate) type LocalTimers = TimerDriver<RefCell<Wheel>>;

/// A multi-thread runtime's timers: a `Mutex`, touched by every worker.
pub(crate) type SharedTimers = TimerDriver<Mutex<Wheel>>;

/// What holds the wheel: lend it, mutably, for one call.
pub(crate) trait WheelCell: Default {
    /// Run `f` with the wheel borrowed (or locked) for its duration.
    fn with<R>(&self, f: impl FnOnce(&mut Wheel) -> R) -> R;
}

impl WheelCell for RefCell<Wheel> {
    #[inline]
    fn with<R>(&self, f: impl FnOnce(&mut Wheel) -> R) -> R {
        f(&mut self.borrow_mut())
    }
}

impl WheelCell for Mutex<Wheel> {
    #[inline]
    fn with<R>(&self, f: impl FnOnce(&mut Wheel) -> R) -> R {
        f(&mut self.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// The wheel, and the tick a thread parked in the reactor will wake at.
#[derive(Debug, Default)]
pub(crate) struct Wheel {
    timers: TimerWheel<Waker>,
    /// 0: nobody is parked on this wheel's deadlines (the thread that will
    /// park reads the wheel first). Otherwise the tick the parked thread
    /// wakes at (`u64::MAX`: not before an I/O event or a wake).
    parked_until: u64,
}

impl<C: WheelCell> TimerDriver<C> {
    /// An empty timer wheel at tick 0.
    pub(crate) fn new() -> TimerDriver<C> {
        TimerDriver {
            wheel: C::default(),
        }
    }

    /// Wake `waker` at tick `tick` (at once, if that has passed). The key
    /// updates or cancels the timer later. The `bool` is true when a thread
    /// is parked until a later tick: the caller must interrupt it, or the
    /// timer fires late.
    pub(crate) fn register(&self, tick: u64, waker: &Waker) -> (TimerKey, bool) {
        let waker = waker.clone();
        self.wheel.with(|wheel| {
            let key = wheel.timers.insert(tick, waker);
            (key, tick < wheel.parked_until)
        })
    }

    /// A thread is about to park in the reactor: the tick it may sleep until
    /// (as [`next_deadline`](Self::next_deadline)), remembered until
    /// [`unparked`](Self::unparked), so that an earlier timer interrupts it.
    pub(crate) fn park_deadline(&self) -> Option<u64> {
        self.wheel.with(|wheel| {
            let next = wheel.timers.next_expiration();
            wheel.parked_until = next.unwrap_or(u64::MAX).max(1);
            next
        })
    }

    /// The parked thread is back: it reads the wheel again before parking.
    pub(crate) fn unparked(&self) {
        self.wheel.with(|wheel| wheel.parked_until = 0);
    }

    // ANCHOR: update_waker
    /// Make a waiting timer wake `waker` instead (a `Sleep` polled again, maybe
    /// by another task). Returns `false` if the key finds no timer here: it
    /// fired, was cancelled, or belongs to another runtime's wheel.
    pub(crate) fn update_waker(&self, key: TimerKey, waker: &Waker) -> bool {
        let replaced = self.wheel.with(|wheel| {
            let current = wheel.timers.get_mut(key)?;
            if current.will_wake(waker) {
                return Some(None); // the usual case: the same task polled again
            }
            // Cloning a waker only counts a reference: it runs no destructor.
            Some(Some(std::mem::replace(current, waker.clone())))
        });
        // The wheel is released: the old waker may be its task's last reference.
        replaced.is_some()
    }
    // ANCHOR_END: update_waker

    /// Cancel a timer; a key that finds nothing (fired, cancelled, another
    /// runtime's) is ignored.
    pub(crate) fn cancel(&self, key: TimerKey) {
        let removed = self.wheel.with(|wheel| wheel.timers.remove(key));
        // Dropped here, after the statement above released the wheel.
        drop(removed);
    }

    /// The tick the loop may sleep until: the next timer's deadline, or the
    /// start of the wheel slot holding it, where the wheel must cascade first
    /// (see the wheel's module doc). Read from bitmaps alone, whatever the
    /// number of timers. `None` if there are no timers.
    pub(crate) fn next_deadline(&self) -> Option<u64> {
        self.wheel.with(|wheel| wheel.timers.next_expiration())
    }

    /// Move the wheel to tick `now` and move the waker of every timer due by
    /// then into `due`, in deadline order; returns how many fired. The caller
    /// wakes them: pushing onto a `Vec` drops nothing, and waking happens
    /// after the wheel is released, so a woken task may set timers at once.
    pub(crate) fn advance(&self, now: u64, due: &mut Vec<Waker>) -> usize {
        self.wheel
            .with(|wheel| wheel.timers.advance(now, |_key, waker| due.push(waker)))
    }

    /// How many timers wait, and how many slots of each level they occupy.
    pub(crate) fn occupancy(&self) -> (usize, [u32; TimerWheel::<Waker>::LEVELS]) {
        self.wheel
            .with(|wheel| (wheel.timers.len(), wheel.timers.occupancy()))
    }

    /// No timer is waiting.
    pub(crate) fn is_empty(&self) -> bool {
        self.wheel.with(|wheel| wheel.timers.is_empty())
    }

    /// Drop every timer, as a runtime does when it is dropped. The wheel is
    /// taken out first, then dropped: the wakers' tasks may cancel timers of
    /// their own on the way out, and find an empty wheel.
    pub(crate) fn clear(&self) {
        let wheel = self.wheel.with(|wheel| std::mem::take(&mut wheel.timers));
        drop(wheel);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};
    use std::task::Wake;

    use super::*;
    use crate::runtime::driver::wheel::tests::{keep_alive_deadlines, visits, LEVEL_3_SLOT};

    /// A waker whose drop (of its last reference) runs `on_drop`, as a
    /// task's last waker drops the task's future.
    struct DropHook(Mutex<Option<Box<dyn FnOnce() + Send>>>);

    impl Wake for DropHook {
        fn wake(self: Arc<Self>) {}
    }

    impl Drop for DropHook {
        fn drop(&mut self) {
            if let Some(on_drop) = self.0.lock().unwrap().take() {
                on_drop();
            }
        }
    }

    thread_local! {
        /// The driver under test: a thread-local, so a waker's drop hook
        /// (which must be `Send`) can reach it.
        static TIMERS: LocalTimers = LocalTimers::new();
    }

    /// A waker that, when its last reference goes, cancels `key` in `TIMERS`.
    fn cancelling_on_drop(key: TimerKey) -> Waker {
        let on_drop: Box<dyn FnOnce() + Send> = Box::new(move || TIMERS.with(|t| t.cancel(key)));
        Waker::from(Arc::new(DropHook(Mutex::new(Some(on_drop)))))
    }

    fn noop() -> Waker {
        Waker::from(Arc::new(DropHook(Mutex::new(None))))
    }

    #[test]
    fn a_replaced_or_cancelled_waker_is_dropped_after_the_borrow() {
        TIMERS.with(|timers| {
            let other = timers.register(100, &noop()).0;
            // Replaced: the old waker's drop cancels `other`, re-entering the driver.
            let key = timers.register(50, &cancelling_on_drop(other)).0;
            assert!(timers.update_waker(key, &noop()));
            let mut due = Vec::new();
            assert_eq!(timers.advance(1_000, &mut due), 1, "`other` was cancelled");

            // Cancelled: the same, through `cancel`.
            let other = timers.register(2_000, &noop()).0;
            let key = timers.register(1_500, &cancelling_on_drop(other)).0;
            timers.cancel(key);
            assert!(timers.is_empty());
        });
    }

    #[test]
    fn next_deadline_reads_no_entry_beside_100_000_timers() {
        let timers = LocalTimers::new();
        let waker = noop();
        for deadline in keep_alive_deadlines() {
            timers.register(deadline, &waker);
        }
        let before = visits();
        assert_eq!(timers.next_deadline(), Some(13 * LEVEL_3_SLOT));
        assert_eq!(visits() - before, 0);
    }

    #[test]
    fn only_a_timer_before_the_parked_deadline_asks_for_an_interrupt() {
        // The multi-thread runtime's wheel (the one-thread loop never parks on it).
        let timers = SharedTimers::new();
        // Nobody parked: no timer needs an interrupt.
        assert!(!timers.register(500, &noop()).1);
        // The slot holding 500 starts at 448: the park ends there at the latest.
        let parked_until = timers.park_deadline().expect("a timer is set");
        assert!(parked_until <= 500);
        assert!(
            !timers.register(900, &noop()).1,
            "after the parked deadline"
        );
        assert!(
            timers.register(10, &noop()).1,
            "before it: wake the parked thread"
        );
        timers.unparked();
        assert!(
            !timers.register(5, &noop()).1,
            "awake: it reads the wheel before parking"
        );
        let empty = SharedTimers::new();
        assert_eq!(empty.park_deadline(), None);
        assert!(
            empty.register(1 << 40, &noop()).1,
            "parked forever: any timer wakes it"
        );
    }

    #[test]
    fn a_key_from_another_driver_finds_nothing() {
        let (a, b) = (LocalTimers::new(), LocalTimers::new());
        let from_a = a.register(10, &noop()).0;
        let in_b = b.register(10, &noop()).0;
        assert!(!b.update_waker(from_a, &noop()));
        b.cancel(from_a);
        assert!(!b.is_empty(), "b's own timer is still there");
        assert!(b.update_waker(in_b, &noop()));
    }
}
