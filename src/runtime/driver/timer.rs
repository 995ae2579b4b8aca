//! The timer driver: the runtime's timer wheel, and the one rule for touching it.
//!
//! Every `Sleep` registers here (through the current runtime's `Core`), and
//! the turn asks here in step 3 how long it may sleep and in step 5 which
//! timers are due. The wheel itself ([`TimerWheel`]) is plain data; this
//! driver owns it behind a `Mutex` — uncontended on the one-thread loop, and
//! what lets the workers of a multi-thread runtime (`runtime/multi/`) share
//! one wheel — and keeps one rule:
//!
//! **No waker is dropped while the wheel is locked.** A `Waker` may be the
//! last reference to a task. Dropping it drops the task's future, whose
//! destructors may cancel *their* timers (a `Sleep` leaving the wheel) — a
//! second lock of the wheel on the same thread, which would deadlock if the
//! first were still held. So every method here that takes a waker out of the
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

use std::sync::{Mutex, MutexGuard};
use std::task::Waker;

use super::wheel::{TimerKey, TimerWheel};

/// The runtime's timers: deadlines in 1 ms ticks since the runtime started,
/// each with the waker of the `Sleep` waiting for it.
#[derive(Debug, Default)]
pub(crate) struct TimerDriver {
    wheel: Mutex<Wheel>,
}

/// The wheel, and the tick a thread parked in the reactor will wake at.
#[derive(Debug, Default)]
struct Wheel {
    timers: TimerWheel<Waker>,
    /// 0: nobody is parked on this wheel's deadlines (the thread that will
    /// park reads the wheel first). Otherwise the tick the parked thread
    /// wakes at (`u64::MAX`: not before an I/O event or a wake).
    parked_until: u64,
}

impl TimerDriver {
    /// An empty timer wheel at tick 0.
    pub(crate) fn new() -> TimerDriver {
        TimerDriver::default()
    }

    fn lock(&self) -> MutexGuard<'_, Wheel> {
        self.wheel.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Wake `waker` at tick `tick` (at once, if that has passed). The key
    /// updates or cancels the timer later. The `bool` is true when a thread
    /// is parked until a later tick: the caller must interrupt it, or the
    /// timer fires late.
    pub(crate) fn register(&self, tick: u64, waker: &Waker) -> (TimerKey, bool) {
        let waker = waker.clone();
        let mut wheel = self.lock();
        let key = wheel.timers.insert(tick, waker);
        (key, tick < wheel.parked_until)
    }

    /// A thread is about to park in the reactor: the tick it may sleep until
    /// (as [`next_deadline`](Self::next_deadline)), remembered until
    /// [`unparked`](Self::unparked), so that an earlier timer interrupts it.
    pub(crate) fn park_deadline(&self) -> Option<u64> {
        let mut wheel = self.lock();
        let next = wheel.timers.next_expiration();
        wheel.parked_until = next.unwrap_or(u64::MAX).max(1);
        next
    }

    /// The parked thread is back: it reads the wheel again before parking.
    pub(crate) fn unparked(&self) {
        self.lock().parked_until = 0;
    }

    // ANCHOR: update_waker
    /// Make a waiting timer wake `waker` instead (a `Sleep` polled again, maybe
    /// by another task). Returns `false` if the key finds no timer here: it
    /// fired, was cancelled, or belongs to another runtime's wheel.
    pub(crate) fn update_waker(&self, key: TimerKey, waker: &Waker) -> bool {
        let replaced = {
            let mut wheel = self.lock();
            let Some(current) = wheel.timers.get_mut(key) else {
                return false;
            };
            if current.will_wake(waker) {
                return true; // the usual case: the same task polled again
            }
            // Cloning a waker only counts a reference: it runs no destructor.
            std::mem::replace(current, waker.clone())
        };
        // The lock is released: the old waker may be its task's last reference.
        drop(replaced);
        true
    }
    // ANCHOR_END: update_waker

    /// Cancel a timer; a key that finds nothing (fired, cancelled, another
    /// runtime's) is ignored.
    pub(crate) fn cancel(&self, key: TimerKey) {
        let removed = self.lock().timers.remove(key);
        // Dropped here, after the statement above released the wheel.
        drop(removed);
    }

    /// The tick the loop may sleep until: the next timer's deadline, or the
    /// start of the wheel slot holding it, where the wheel must cascade first
    /// (see the wheel's module doc). Read from bitmaps alone, whatever the
    /// number of timers. `None` if there are no timers.
    pub(crate) fn next_deadline(&self) -> Option<u64> {
        self.lock().timers.next_expiration()
    }

    /// Move the wheel to tick `now` and move the waker of every timer due by
    /// then into `due`, in deadline order; returns how many fired. The caller
    /// wakes them: pushing onto a `Vec` drops nothing, and waking happens
    /// after the wheel is released, so a woken task may set timers at once.
    pub(crate) fn advance(&self, now: u64, due: &mut Vec<Waker>) -> usize {
        self.lock()
            .timers
            .advance(now, |_key, waker| due.push(waker))
    }

    /// How many timers wait, and how many slots of each level they occupy.
    pub(crate) fn occupancy(&self) -> (usize, [u32; TimerWheel::<Waker>::LEVELS]) {
        let wheel = self.lock();
        (wheel.timers.len(), wheel.timers.occupancy())
    }

    /// No timer is waiting.
    pub(crate) fn is_empty(&self) -> bool {
        self.lock().timers.is_empty()
    }

    /// Drop every timer, as a runtime does when it is dropped. The wheel is
    /// taken out first, then dropped: the wakers' tasks may cancel timers of
    /// their own on the way out, and find an empty wheel.
    pub(crate) fn clear(&self) {
        let wheel = std::mem::take(&mut self.lock().timers);
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
        static TIMERS: TimerDriver = TimerDriver::new();
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
        let timers = TimerDriver::new();
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
        let timers = TimerDriver::new();
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
        let empty = TimerDriver::new();
        assert_eq!(empty.park_deadline(), None);
        assert!(
            empty.register(1 << 40, &noop()).1,
            "parked forever: any timer wakes it"
        );
    }

    #[test]
    fn a_key_from_another_driver_finds_nothing() {
        let (a, b) = (TimerDriver::new(), TimerDriver::new());
        let from_a = a.register(10, &noop()).0;
        let in_b = b.register(10, &noop()).0;
        assert!(!b.update_waker(from_a, &noop()));
        b.cancel(from_a);
        assert!(!b.is_empty(), "b's own timer is still there");
        assert!(b.update_waker(in_b, &noop()));
    }
}
