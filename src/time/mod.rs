//! Time: `sleep`, `timeout`, `interval`, and the runtime's `Instant`.
//!
//! `asyncio.sleep(2)` is [`sleep`]`(Duration::from_secs(2))`. Awaiting it does
//! not block the thread: the first poll puts a deadline and the task's waker
//! into the runtime's [timer wheel](wheel), and returns `Pending`. The loop
//! goes on running other tasks; in step 5 of the turn that reaches the
//! deadline, the wheel hands back the waker, the task is queued, and the next
//! poll finds the deadline passed and returns `Ready`.
//!
//! Deadlines are kept in whole 1 ms *ticks* since the runtime started, rounded
//! up, so a sleep never ends early. Dropping a `Sleep` (a `timeout` that won,
//! a `select` loser) removes its wheel entry at once: O(1), and it never fires.
//!
//! `Duration::MAX` is how people say "never": `sleep`, `timeout` and
//! `interval` clamp any wait to 30 years (tokio's "far future") rather than
//! overflow the clock.
//!
//! The wheel lives with the other drivers the turn composes
//! (`src/runtime/driver/`); it is shown here as [`wheel`], where it is used.

pub(crate) mod clock;
mod interval;
mod timeout;

pub use crate::runtime::driver::wheel;

pub use interval::{interval, interval_at, Interval};
pub use timeout::{timeout, Elapsed, Timeout};

use std::future::Future;
use std::ops::{Add, AddAssign, Sub};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use crate::runtime::context;
use crate::runtime::driver::timer::{TimerDriver, WheelCell};
use clock::Clock;
use wheel::TimerKey;

/// Ticks (whole milliseconds) from runtime start to `d`, rounded down: the tick now.
pub(crate) fn duration_to_tick(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Ticks from runtime start to `d`, rounded *up*: a deadline's tick, so it never fires early.
fn deadline_tick(d: Duration) -> u64 {
    let t = duration_to_tick(d);
    if d > tick_to_duration(t) {
        t.saturating_add(1)
    } else {
        t
    }
}

/// The time at the start of tick `tick`.
pub(crate) fn tick_to_duration(tick: u64) -> Duration {
    Duration::from_millis(tick)
}

/// The longest wait `sleep`, `timeout` and `interval` take: 30 years (of 365
/// days), as tokio's "far future". Longer waits, up to `Duration::MAX`, are
/// clamped to it: no program runs that long, and `Instant + Duration::MAX`
/// would overflow the clock and panic.
pub(crate) const FAR_FUTURE: Duration = Duration::from_secs(30 * 365 * 24 * 3600);

/// `instant + wait`, with the wait clamped to [`FAR_FUTURE`]: "never" stays a
/// deadline the clock can hold.
fn after(instant: std::time::Instant, wait: Duration) -> Instant {
    Instant(instant + wait.min(FAR_FUTURE))
}

/// A moment on the runtime's clock.
///
/// Like `std::time::Instant`, but [`Instant::now`] reads the *runtime's*
/// clock: under `Builder::start_paused(true)` that is virtual time, which only
/// moves when the loop jumps it to the next timer. Outside a runtime it reads
/// the real clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant(std::time::Instant);

impl Instant {
    /// Now, on the current runtime's clock (real time outside a runtime).
    pub fn now() -> Instant {
        Instant(
            context::try_with_shared(|shared| shared.clock.now())
                .unwrap_or_else(std::time::Instant::now),
        )
    }

    /// How much time has passed since `self`, on the runtime's clock.
    pub fn elapsed(&self) -> Duration {
        Instant::now().duration_since(*self)
    }

    /// `self - earlier`, or zero if `earlier` is later.
    pub fn duration_since(&self, earlier: Instant) -> Duration {
        self.0.saturating_duration_since(earlier.0)
    }

    /// The `std::time::Instant` underneath (meaningless across paused runtimes).
    pub fn into_std(self) -> std::time::Instant {
        self.0
    }

    /// Wrap a `std::time::Instant`.
    pub fn from_std(instant: std::time::Instant) -> Instant {
        Instant(instant)
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;
    fn add(self, d: Duration) -> Instant {
        Instant(self.0 + d)
    }
}

impl AddAssign<Duration> for Instant {
    fn add_assign(&mut self, d: Duration) {
        self.0 += d;
    }
}

impl Sub<Instant> for Instant {
    type Output = Duration;
    fn sub(self, earlier: Instant) -> Duration {
        self.duration_since(earlier)
    }
}

/// Wait for `duration` without blocking the thread (asyncio's `sleep`).
///
/// `sleep(Duration::MAX)` waits forever (in fact 30 years: any longer wait is
/// clamped to that, so the deadline never overflows the clock).
///
/// ```
/// use std::time::Duration;
/// let rt = evloop::Runtime::builder().start_paused(true).build().unwrap();
/// rt.block_on(async {
///     let start = evloop::time::Instant::now();
///     evloop::time::sleep(Duration::from_secs(2)).await;
///     assert_eq!(start.elapsed(), Duration::from_secs(2)); // exact: the clock is paused
/// });
/// ```
///
/// Created outside a runtime (say, passed straight to `rt.spawn`), a sleep
/// starts counting when it is first polled, on the runtime that polls it.
pub fn sleep(duration: Duration) -> Sleep {
    match context::try_with_shared(|shared| shared.clock.now()) {
        Some(now) => sleep_until(after(now, duration)),
        None => Sleep {
            deadline: after(std::time::Instant::now(), duration),
            after: Some(duration),
            entry: None,
        },
    }
}

/// Wait until `deadline` (a `deadline` in the past completes at once).
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep {
        deadline,
        after: None,
        entry: None,
    }
}

/// The future returned by [`sleep`] and [`sleep_until`]. `Unpin`.
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` them"]
pub struct Sleep {
    deadline: Instant,
    /// `Some(d)`: made outside a runtime; the deadline is fixed at the first
    /// poll, `d` after the polling runtime's now.
    after: Option<Duration>,
    /// Our entry in the wheel, once the first poll registered one.
    entry: Option<TimerKey>,
}

impl Sleep {
    /// When this sleep ends.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Has the deadline passed (on the runtime's clock)?
    pub fn is_elapsed(&self) -> bool {
        Instant::now() >= self.deadline
    }

    /// Move the deadline (used by `Interval`); the next poll re-registers.
    pub fn reset(&mut self, deadline: Instant) {
        self.cancel();
        self.deadline = deadline;
        self.after = None;
    }

    /// Remove our wheel entry, if any. Outside the runtime (dropped after it
    /// ended) there is no wheel left to clean; in another runtime the key
    /// finds nothing, so that runtime's timers are safe.
    fn cancel(&mut self) {
        if let Some(key) = self.entry.take() {
            let on_loop = context::try_with_core(|core| core.timers().cancel(key));
            if on_loop.is_none() {
                context::try_with_shared(|shared| {
                    if let Some(multi) = &shared.multi {
                        multi.timers.cancel(key);
                    }
                });
            }
        }
    }

    /// One poll, against a runtime's clock and wheel: the one loop's
    /// (`RefCell`), or a multi-thread runtime's (`Mutex`), whose parked
    /// worker `interrupt` wakes when the new deadline comes before its own.
    fn poll_on<C: WheelCell>(
        &mut self,
        cx: &mut Context<'_>,
        clock: &Clock,
        timers: &TimerDriver<C>,
        interrupt: impl FnOnce(),
    ) -> Poll<()> {
        if let Some(after_first_poll) = self.after.take() {
            self.deadline = after(clock.now(), after_first_poll);
        }
        if clock.now() >= self.deadline.0 {
            if let Some(key) = self.entry.take() {
                timers.cancel(key);
            }
            crate::task::coop::spend();
            return Poll::Ready(());
        }
        let tick = deadline_tick(self.deadline.0.saturating_duration_since(clock.start()));
        // Note on the polled task what it waits on (`Runtime::tasks`).
        crate::task::wait::record(crate::task::WaitReason::Timer { tick });
        // ANCHOR: latest_waker
        // Polled again before the deadline (woken by something else, say a
        // `select` sibling): keep the entry, but make sure it holds the
        // waker of whoever polls us now. If the key finds no entry, it is
        // another runtime's (this sleep was polled there first): take a
        // timer in this one.
        if let Some(key) = self.entry {
            if timers.update_waker(key, cx.waker()) {
                return Poll::Pending;
            }
        }
        let (key, before_park) = timers.register(tick, cx.waker());
        self.entry = Some(key);
        if before_park {
            // A worker sleeps in the reactor past this deadline: wake it.
            interrupt();
        }
        Poll::Pending
        // ANCHOR_END: latest_waker
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        // A timer spends the budget too (`task/coop.rs`), except the one
        // inside `timeout`, which polls it outside the budget.
        std::task::ready!(crate::task::coop::poll_proceed(cx));
        let this = &mut *self;
        // On the one loop: its own wheel, no lock.
        let on_loop = context::try_with_core(|core| {
            this.poll_on(cx, &core.shared().clock, core.timers(), || {})
        });
        if let Some(polled) = on_loop {
            return polled;
        }
        // On a worker (or the `block_on` thread) of a multi-thread runtime.
        context::with_shared("evloop::time::sleep", |shared| match &shared.multi {
            Some(multi) => this.poll_on(cx, &shared.clock, &multi.timers, || {
                multi.unpark_driver(shared)
            }),
            None => unreachable!("a one-thread runtime is found through its core"),
        })
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        self.cancel();
    }
}
