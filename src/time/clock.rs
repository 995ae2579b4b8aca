//! The runtime's clock: real, or paused (virtual).
//!
//! A real clock reads `std::time::Instant::now()`. A paused clock
//! (`Builder::start_paused(true)`) only moves when the loop moves it: in step 5
//! of a turn, when nothing is ready to run, the loop jumps it straight to the
//! next timer's deadline. That is what lets a test of "three 2-second sleeps,
//! gathered, take 2 s" finish in microseconds and report exactly 2 s.
//!
//! The clock lives in the runtime's shared state, so an event stamped on
//! another thread (a wake from a `spawn_blocking` job) still gets a time.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant as StdInstant};

/// Real or virtual time, measured from the runtime's start.
pub(crate) struct Clock {
    /// When the runtime was built; every time is kept as an offset from here.
    start: StdInstant,
    /// `None`: real time. `Some(ns)`: paused, and this many nanoseconds of
    /// virtual time have passed.
    paused: Option<AtomicU64>,
}

impl Clock {
    pub(crate) fn new(paused: bool) -> Clock {
        Clock {
            start: StdInstant::now(),
            paused: paused.then(|| AtomicU64::new(0)),
        }
    }

    /// Is this a virtual clock?
    pub(crate) fn is_paused(&self) -> bool {
        self.paused.is_some()
    }

    /// The instant the runtime started.
    pub(crate) fn start(&self) -> StdInstant {
        self.start
    }

    /// Time since the runtime started.
    pub(crate) fn elapsed(&self) -> Duration {
        match &self.paused {
            None => self.start.elapsed(),
            Some(ns) => Duration::from_nanos(ns.load(Ordering::Relaxed)),
        }
    }

    /// The current instant (virtual when paused).
    #[inline]
    pub(crate) fn now(&self) -> StdInstant {
        match &self.paused {
            // Straight from the OS: `start + start.elapsed()` would be the
            // same instant, for a subtraction and an addition more.
            None => StdInstant::now(),
            Some(ns) => self.start + Duration::from_nanos(ns.load(Ordering::Relaxed)),
        }
    }

    /// Move a paused clock forward to `elapsed` since start. Time never goes
    /// backwards; on a real clock this does nothing (real time moves itself).
    pub(crate) fn advance_to(&self, elapsed: Duration) {
        if let Some(ns) = &self.paused {
            let target = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
            ns.fetch_max(target, Ordering::Relaxed);
        }
    }
}
