//! Seeded schedules: the order of a turn picked by a seed, and a `block_on`
//! that reports a hang instead of waiting forever.
//!
//! A runtime without a seed runs ready tasks first in, first out: one order,
//! the same every time. That is what makes a paused run repeatable — and also
//! why a race between two tasks can hide for ever: FIFO only ever shows one
//! interleaving. With [`Builder::seed`], three places where the loop holds
//! several things that are "ready at once" take them in an order drawn from a
//! seeded generator ([`Rng`]) instead:
//!
//! 1. the tasks ready when step 1 of a turn begins,
//! 2. the timers that fire together in step 5,
//! 3. the I/O events one call of the poller returned in step 4.
//!
//! Any of those orders could happen for real (a task woken a microsecond
//! earlier, a packet arriving first), so every seeded run is a run the program
//! must survive. And because the generator is the only source of choice and
//! the clock is virtual, the same seed replays the same run, byte for byte.
//! `evloop::testing::explore` tries many seeds and names the one that fails.
//!
//! `block_on`'s loop lives here too (`drive`), since `try_block_on` is the
//! same loop with one more question after each turn: can anything still
//! happen?
//!
//! Without a seed the cost is one branch per step (an `Option` checked once
//! when step 1 snapshots the ready tasks, once per timer batch, once per batch
//! of I/O events), never one per task.

use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::io;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use super::core::Core;
use super::rng::Rng;
use super::turn::TurnOptions;
use super::{Builder, MainWaker, Runtime};
use crate::task::{TaskInfo, WaitReason};

impl Builder {
    /// Pick the order of everything that is ready at the same moment — tasks
    /// in a turn, timers due in the same tick, I/O events of one poll — with
    /// a generator seeded by `seed`. Same seed, same program: the same run,
    /// byte for byte (see `Runtime::trace`). Without a seed the order is
    /// first in, first out.
    ///
    /// Needs [`start_paused(true)`](Builder::start_paused): `build` refuses a
    /// seed with a real clock. A real clock decides by itself which timers
    /// are due in which turn, so the seed could not replay the run — and a
    /// seed that does not replay is worse than none, because it promises what
    /// it cannot keep.
    ///
    /// ```
    /// let rt = evloop::Runtime::builder().start_paused(true).seed(42).build().unwrap();
    /// # drop(rt);
    /// assert!(evloop::Runtime::builder().seed(42).build().is_err()); // a real clock
    /// ```
    pub fn seed(mut self, seed: u64) -> Builder {
        self.seed = Some(seed);
        self
    }

    /// `build`'s check of the seed: refused with a real clock (see [`Builder::seed`]).
    pub(super) fn check_seed(&self) -> io::Result<()> {
        if self.seed.is_some() && !self.start_paused {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "Builder::seed needs a paused clock: add .start_paused(true). With a real \
                 clock, which timers are due in which turn depends on the machine, so a seed \
                 could not replay the run",
            ));
        }
        Ok(())
    }
}

impl Runtime {
    /// Like [`block_on`](Runtime::block_on), but under a paused clock a run
    /// that can never finish returns `Err(Stalled)` instead of waiting for
    /// ever: nothing is ready, no timer is set, no socket is registered, no
    /// blocking job runs — and `future` is not done. The error names every
    /// task still alive and what it waits on.
    ///
    /// With a real clock it is `block_on`: another thread holding a waker may
    /// still wake the loop, so waiting is right.
    ///
    /// ```
    /// let rt = evloop::Runtime::builder().start_paused(true).build().unwrap();
    /// let (_tx, mut rx) = evloop::sync::mpsc::channel::<u8>(1);
    /// let stalled = rt.try_block_on(async move { rx.recv().await }).unwrap_err();
    /// assert!(stalled.to_string().contains("nothing can happen"));
    /// ```
    #[track_caller]
    pub fn try_block_on<F: std::future::Future>(&self, future: F) -> Result<F::Output, Stalled> {
        let stop = self.core.shared.clock.is_paused();
        self.drive(future, stop).map_err(|()| Stalled {
            at: self.elapsed(),
            tasks: self.tasks(),
        })
    }

    /// `block_on`'s loop. With `stop_when_stalled`, it returns `Err(())` once
    /// nothing can ever happen again (see [`Runtime::try_block_on`]).
    #[track_caller]
    pub(super) fn drive<F: Future>(
        &self,
        future: F,
        stop_when_stalled: bool,
    ) -> Result<F::Output, ()> {
        let _enter = self.enter_loop();
        let mut future = std::pin::pin!(future);
        let waker = futures_task::waker(Arc::new(MainWaker(self.core.shared.clone())));
        let mut cx = Context::from_waker(&waker);
        self.core.shared.main_woken.store(true, Ordering::Release);
        let mut output = None;
        loop {
            let mut poll_main = || match future.as_mut().poll(&mut cx) {
                Poll::Ready(value) => {
                    output = Some(value);
                    true
                }
                Poll::Pending => false,
            };
            let opts = TurnOptions {
                main: Some(&mut poll_main),
                record: false,
                never_park_forever: stop_when_stalled,
            };
            if self.core.turn(opts).main_done {
                return Ok(output.take().expect("main future finished"));
            }
            if stop_when_stalled && self.core.stalled() {
                return Err(());
            }
        }
    }
}

/// A paused run that can never finish (see [`Runtime::try_block_on`]): the
/// `block_on` future waits, and nothing that could wake it is left.
#[derive(Debug, Clone)]
pub struct Stalled {
    /// The (virtual) time since the runtime started when it stalled.
    pub at: Duration,
    /// Every task still alive, by id, with what it waits on.
    pub tasks: Vec<TaskInfo>,
}

impl fmt::Display for Stalled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "hang at {:.3}s: nothing can happen any more (no task ready, no timer, no socket, \
             no blocking job), yet the block_on future is not done",
            self.at.as_secs_f64()
        )?;
        if self.tasks.is_empty() {
            return write!(f, "; no task is left to wake it");
        }
        write!(f, ". {} task(s) wait:", self.tasks.len())?;
        for task in &self.tasks {
            write!(f, "\n  - `{}` (task-{}) waits on ", task.name, task.id)?;
            match task.waiting_on {
                WaitReason::Unknown => write!(f, "something that is not evloop's (or it yielded)")?,
                reason => write!(f, "{reason}")?,
            }
        }
        Ok(())
    }
}

impl std::error::Error for Stalled {}

/// The seeded generator a runtime draws its orders from: `None` without a seed.
pub(super) type Shuffler = Option<RefCell<Rng>>;

pub(super) fn shuffler(seed: Option<u64>) -> Shuffler {
    seed.map(|seed| RefCell::new(Rng::new(seed)))
}

impl Core {
    /// Put `items` in the seeded order, or leave them in FIFO order when the
    /// runtime has no seed: the one branch the unseeded loop pays per batch.
    /// The shuffling itself is out of line, so the loop around this call
    /// compiles as it would without it.
    #[inline]
    pub(super) fn shuffle<T>(&self, items: &mut [T]) {
        if let Some(rng) = &self.shuffle {
            shuffle_with(rng, items);
        }
    }

    /// Step 1: put the tasks on the local queue (all of them ready at the
    /// start of this turn) in the seeded order. Unseeded: one branch.
    #[inline]
    pub(super) fn shuffle_ready(&self) {
        if let Some(rng) = &self.shuffle {
            self.shared.with_local(|ready| shuffle_with(rng, ready));
        }
    }

    /// Under a paused clock, can nothing ever happen again?
    pub(super) fn stalled(&self) -> bool {
        self.shared.clock.is_paused() && self.nothing_can_happen()
    }
}

#[cold]
#[inline(never)]
fn shuffle_with<T>(rng: &RefCell<Rng>, items: &mut [T]) {
    rng.borrow_mut().shuffle(items);
}
