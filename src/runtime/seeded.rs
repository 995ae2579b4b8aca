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
    /// How many turns in a row a watched run ([`Runtime::try_block_on`],
    /// `evloop::testing::explore`) may take without its paused clock moving
    /// before it is reported as a livelock: tasks that keep waking each other
    /// and never wait for time. Default [`LIVELOCK_TURNS`]; `block_on` never
    /// gives up.
    pub fn livelock_turns(mut self, turns: u64) -> Builder {
        self.livelock_turns = turns.max(1);
        self
    }

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
    pub fn try_block_on<F: Future>(&self, future: F) -> Result<F::Output, Stalled> {
        self.try_block_on_within(Duration::MAX, future)
    }

    /// [`try_block_on`](Runtime::try_block_on), which also gives up once the
    /// paused clock passes `limit` with `future` not done: a run whose timers
    /// keep ticking (a keepalive, an `interval`) never stalls, yet may wait
    /// for ever for something that never comes. It gives up, too, after
    /// [`Builder::livelock_turns`] turns in a row at the same virtual instant
    /// ([`LIVELOCK_TURNS`] unless set): tasks that
    /// only ever wake each other (or themselves) keep the loop busy without
    /// the clock moving — a livelock, which would otherwise spin for ever.
    ///
    /// ```
    /// use std::time::Duration;
    /// let rt = evloop::Runtime::builder().start_paused(true).build().unwrap();
    /// let mut ticks = evloop::time::interval(Duration::from_secs(1));
    /// let forever = async move { loop { ticks.tick().await; } };
    /// let stalled = rt.try_block_on_within(Duration::from_secs(60), forever).unwrap_err();
    /// assert_eq!(stalled.limit, Some(Duration::from_secs(60)));
    /// ```
    #[track_caller]
    pub fn try_block_on_within<F: Future>(
        &self,
        limit: Duration,
        future: F,
    ) -> Result<F::Output, Stalled> {
        // A real clock (and every multi-thread runtime) has no hang to
        // detect: it runs as `block_on`.
        let Some(watch) = self.shared().clock.is_paused().then_some(limit) else {
            return Ok(self.block_on(future));
        };
        self.drive(future, Some(watch)).map_err(|why| Stalled {
            at: self.elapsed(),
            tasks: self.tasks(),
            limit: (why == Stop::TimeLimit).then_some(limit),
            busy_turns: (why == Stop::Livelock).then_some(self.livelock_turns),
            main_waiting_on: WaitReason::decode(
                self.core("Runtime::try_block_on").main_waiting.get(),
            ),
        })
    }

    /// `block_on`'s loop. With `watch: Some(limit)`, it returns `Err` once
    /// nothing can ever happen again, once the clock passed `limit`, or once
    /// [`LIVELOCK_TURNS`] turns ran without the clock moving; see
    /// [`Runtime::try_block_on`].
    #[track_caller]
    pub(super) fn drive<F: Future>(
        &self,
        future: F,
        watch: Option<Duration>,
    ) -> Result<F::Output, Stop> {
        let _enter = self.enter_loop();
        let core = self.core("Runtime::block_on");
        let mut future = std::pin::pin!(future);
        let waker = futures_task::waker(Arc::new(MainWaker(core.shared.clone())));
        let mut cx = Context::from_waker(&waker);
        core.shared.main_woken.store(true, Ordering::Release);
        let mut output = None;
        // Turns in a row at the same virtual instant (watched runs only).
        let (mut same_instant, mut instant) = (0, self.elapsed());
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
                never_park_forever: watch.is_some(),
            };
            if core.turn(opts).main_done {
                return Ok(output.take().expect("main future finished"));
            }
            if let Some(limit) = watch {
                if core.stalled() {
                    return Err(Stop::NothingCanHappen);
                }
                let now = self.elapsed();
                if now > limit {
                    return Err(Stop::TimeLimit);
                }
                if now == instant {
                    same_instant += 1;
                    if same_instant >= self.livelock_turns {
                        return Err(Stop::Livelock);
                    }
                } else {
                    (same_instant, instant) = (0, now);
                }
            }
        }
    }
}

/// How many turns in a row a watched paused run may take at one virtual
/// instant before it is reported as a livelock (see
/// [`Runtime::try_block_on_within`]; [`Builder::livelock_turns`] changes it).
/// A million: far more than a real program needs between two clock jumps,
/// and a few seconds of turns.
pub const LIVELOCK_TURNS: u64 = 1_000_000;

/// Why a watched `drive` stopped early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Stop {
    NothingCanHappen,
    TimeLimit,
    Livelock,
}

/// A paused run that cannot finish (see [`Runtime::try_block_on`]): the
/// `block_on` future waits, and nothing that could wake it is left — or the
/// clock passed the limit given to [`Runtime::try_block_on_within`].
#[derive(Debug, Clone)]
pub struct Stalled {
    /// The (virtual) time since the runtime started when it stalled.
    pub at: Duration,
    /// Every task still alive, by id, with what it waits on.
    pub tasks: Vec<TaskInfo>,
    /// `Some(limit)`: things could still happen, but the clock passed `limit`.
    pub limit: Option<Duration>,
    /// `Some(n)`: `n` turns ran in a row without the clock moving — tasks
    /// that keep waking each other, a livelock.
    ///
    /// Both `None`: nothing can happen any more.
    pub busy_turns: Option<u64>,
    /// What the `block_on` future itself waited on when it was last polled
    /// (`Unknown` for a future that is not evloop's, or a `yield_now`).
    pub main_waiting_on: WaitReason,
}

impl fmt::Display for Stalled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.limit, self.busy_turns) {
            (_, Some(turns)) => write!(
                f,
                "livelock at {:.3}s: {turns} turns in a row without the clock moving (tasks keep \
                 waking each other or themselves), yet the block_on future is not done",
                self.at.as_secs_f64()
            )?,
            (None, None) => write!(
                f,
                "hang at {:.3}s: nothing can happen any more (no task ready, no timer, no socket, \
                 no blocking job), yet the block_on future is not done",
                self.at.as_secs_f64()
            )?,
            (Some(limit), None) => write!(
                f,
                "not done after {:.3}s of virtual time (the limit is {:.3}s): timers still tick, \
                 but what the block_on future waits for has not come",
                self.at.as_secs_f64(),
                limit.as_secs_f64()
            )?,
        }
        if self.main_waiting_on != WaitReason::Unknown {
            write!(f, " (it waits on {})", self.main_waiting_on)?;
        }
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
