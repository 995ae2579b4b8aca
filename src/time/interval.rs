//! `interval`: a ticker (asyncio's periodic `call_later`).

use std::time::Duration;

use super::{after, sleep_until, Instant, Sleep};

/// A ticker that completes `tick()` every `period`. The first tick completes
/// at once.
///
/// If the loop falls behind (a tick is late by more than a whole period),
/// the missed ticks are *skipped*, not burst: the next tick is the next
/// multiple of `period` after now. A spinner wants that; so do most loops.
///
/// `interval(Duration::MAX)` ticks once, then never again (each wait is
/// clamped to 30 years, as in [`sleep`](super::sleep)).
///
/// ```
/// use std::time::Duration;
/// let rt = evloop::Runtime::builder().start_paused(true).build().unwrap();
/// rt.block_on(async {
///     let start = evloop::time::Instant::now();
///     let mut every = evloop::time::interval(Duration::from_millis(100));
///     for _ in 0..3 {
///         every.tick().await; // at 0, 100, 200 ms
///     }
///     assert_eq!(start.elapsed(), Duration::from_millis(200));
/// });
/// ```
///
/// # Panics
/// If `period` is zero. The panic names the line that called `interval`.
#[track_caller]
pub fn interval(period: Duration) -> Interval {
    interval_at(Instant::now(), period)
}

/// Like [`interval`], but the first tick completes at `start`.
///
/// # Panics
/// If `period` is zero. The panic names the line that called `interval_at`.
#[track_caller]
pub fn interval_at(start: Instant, period: Duration) -> Interval {
    assert!(
        period > Duration::ZERO,
        "`interval` needs a period greater than zero"
    );
    Interval {
        period,
        next: start,
        delay: sleep_until(start),
    }
}

/// The ticker returned by [`interval`].
#[derive(Debug)]
pub struct Interval {
    period: Duration,
    /// When the next tick is due.
    next: Instant,
    delay: Sleep,
}

impl Interval {
    /// Wait for the next tick; returns the instant it was scheduled for.
    pub async fn tick(&mut self) -> Instant {
        (&mut self.delay).await;
        let scheduled = self.next;
        let now = Instant::now();
        let mut next = after(scheduled.0, self.period);
        if next <= now {
            // Behind by a whole period or more: skip to the next multiple.
            let behind = now.duration_since(scheduled).as_nanos() / self.period.as_nanos();
            next = scheduled + self.period * u32::try_from(behind + 1).unwrap_or(u32::MAX);
        }
        self.next = next;
        self.delay.reset(next);
        scheduled
    }

    /// The period between ticks.
    pub fn period(&self) -> Duration {
        self.period
    }
}
