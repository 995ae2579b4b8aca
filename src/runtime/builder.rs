//! [`Builder`]: a runtime's settings, and `build`, which makes the parts —
//! poller, run queue, clock, shared half, core — and puts them together.
//!
//! Parts built on top of the runtime (the console) add their own settings in
//! their own module, through `on_start` hooks, so this file never names them.

use std::io;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::core::Core;
use super::driver::reactor::{Reactor, WAKE_TOKEN};
use super::shared::Shared;
use super::{hooks, multi, observe, seeded, Flavor, Runtime, StartGuard};
use crate::time::clock::Clock;

/// Settings for a [`Runtime`].
///
/// ```
/// use std::time::Duration;
/// let rt = evloop::Runtime::builder()
///     .start_paused(true)           // virtual clock: sleeps finish instantly, exactly
///     .trace(true)                  // record every spawn, poll, wake, timer, I/O event
///     .slow_poll_threshold(Duration::from_millis(50))
///     .build()
///     .unwrap();
/// # drop(rt);
/// ```
#[derive(Debug, Clone)]
pub struct Builder {
    /// A virtual clock that jumps to the next timer when the loop is idle.
    pub(super) start_paused: bool,
    /// Record every event for [`Runtime::trace`].
    pub(super) trace: bool,
    /// Warn about polls that hold the thread this long (`None`: never).
    pub(super) slow_poll_threshold: Option<Duration>,
    /// Keep what a watcher on another thread reads (`observe/`).
    pub(super) observe: bool,
    /// Run on the built runtime, blind (`hooks.rs`).
    pub(super) start: hooks::StartHooks,
    /// `Some`: the order of what is ready at once is drawn from this seed (`seeded.rs`).
    pub(super) seed: Option<u64>,
    /// Turns at one virtual instant before `try_block_on` calls it a livelock.
    pub(super) livelock_turns: u64,
    /// `Some(n)`: `n` worker threads that steal each other's tasks (`multi/`).
    pub(super) worker_threads: Option<usize>,
    /// `EVLOOP_WORKER_THREADS`, read when the builder was made: the default
    /// for a runtime that sets neither `worker_threads` nor anything it excludes.
    pub(super) env_workers: Option<usize>,
    /// The multi-thread scheduler's choices (`multi::Tuning`).
    pub(super) tuning: multi::Tuning,
}

impl Default for Builder {
    fn default() -> Builder {
        Builder {
            start_paused: false,
            trace: false,
            // asyncio warns about slow callbacks in debug mode only; we do
            // the same: on by default in debug builds, where you learn and
            // test, off in release builds, where timing every poll would
            // cost as much as the poll itself. `slow_poll_threshold` turns
            // it on anywhere.
            slow_poll_threshold: cfg!(debug_assertions).then_some(Duration::from_millis(100)),
            observe: false,
            start: hooks::StartHooks::default(),
            seed: None,
            livelock_turns: seeded::LIVELOCK_TURNS,
            worker_threads: None,
            env_workers: workers_from_env(),
            tuning: multi::Tuning::default(),
        }
    }
}

impl Builder {
    /// Default settings: real clock, no trace, slow-poll warning at 100 ms
    /// (in debug builds; see [`slow_poll_threshold`](Builder::slow_poll_threshold)).
    pub fn new() -> Builder {
        Builder::default()
    }

    /// Use a paused (virtual) clock: when nothing is ready, the loop jumps the
    /// clock to the next timer instead of sleeping. Timing tests become exact
    /// and instant.
    pub fn start_paused(mut self, paused: bool) -> Builder {
        self.start_paused = paused;
        self
    }

    /// Record a [`Trace`](crate::trace::Trace) of everything the loop does (see `Runtime::trace`).
    pub fn trace(mut self, on: bool) -> Builder {
        self.trace = on;
        self
    }

    /// Warn on stderr when one poll of a task holds the thread at least this
    /// long (asyncio debug mode's "Executing ... took 0.2 seconds"), and keep
    /// `Metrics::longest_poll`.
    ///
    /// Default: 100 ms in debug builds (`cargo run`, `cargo test`), off in
    /// release builds — like asyncio, which checks only in debug mode, because
    /// reading the clock around every poll costs about as much as a short
    /// poll. Setting a threshold turns it on in any build; `Duration::MAX`
    /// turns it off.
    pub fn slow_poll_threshold(mut self, threshold: Duration) -> Builder {
        self.slow_poll_threshold = (threshold != Duration::MAX).then_some(threshold);
        self
    }

    /// Let other threads watch the loop ([`Runtime::observer`]): the loop
    /// times its polls, keeps per-task aggregates and a bounded ring of
    /// recent events, and publishes a [`Sample`](observe::Sample) when a
    /// watcher asks. Off by default, and then it costs nothing.
    pub fn observe(mut self, on: bool) -> Builder {
        self.observe = on;
        self
    }

    /// Run `hook` on the runtime once it is built, and keep what it returns
    /// until the runtime is dropped (then it is dropped first, before the
    /// tasks are cancelled). If the hook fails, so does `build()`. This is how
    /// parts built *on* the runtime plug into it, unnamed by it.
    pub fn on_start<F>(mut self, hook: F) -> Builder
    where
        F: Fn(&Runtime) -> io::Result<StartGuard> + Send + Sync + 'static,
    {
        self.start.0.push(Arc::new(hook));
        self
    }

    /// Run tasks on `n` worker threads that steal from each other, instead
    /// of one event loop on the thread that calls `block_on` (the default).
    /// The same API works: `spawn`, `block_on`, `sleep`, sockets, channels,
    /// `spawn_blocking`. What differs: a spawned task may run on any worker,
    /// at once and in parallel with the others, which is why `spawn` has
    /// always asked for `Send + 'static`; and `block_on`'s future runs on
    /// the calling thread while the workers run the tasks.
    ///
    /// ```
    /// let rt = evloop::Runtime::builder().worker_threads(2).build().unwrap();
    /// let sums = rt.block_on(async {
    ///     let halves = [(0u64, 500_000u64), (500_000, 1_000_000)];
    ///     let tasks: Vec<_> = halves
    ///         .into_iter()
    ///         .map(|(lo, hi)| evloop::spawn(async move { (lo..hi).sum::<u64>() }))
    ///         .collect();
    ///     evloop::join_all(tasks).await
    /// });
    /// let total: u64 = sums.into_iter().map(Result::unwrap).sum();
    /// assert_eq!(total, 499_999_500_000);
    /// ```
    ///
    /// `worker_threads(0)` asks for the one-thread event loop explicitly
    /// (the default, unless `EVLOOP_WORKER_THREADS` says otherwise).
    ///
    /// Refused by [`build`](Builder::build), with an error that says why: a
    /// paused clock and a seed (which worker runs what, when, is up to the
    /// OS's thread scheduler, so no run could be replayed turn for turn);
    /// `observe` and the console (they watch one loop). [`Runtime::turn`]
    /// panics on such a runtime: there is no one loop to step.
    ///
    /// # The `EVLOOP_WORKER_THREADS` variable
    /// Set to `n` in the environment, it is the default for every runtime
    /// that neither calls `worker_threads` nor asks for something workers
    /// cannot give (a paused clock, a seed, an observer, a start hook): a
    /// whole program — or the whole test suite — runs on `n` workers without
    /// an edit. That is how evloop's own runtime-agnostic tests run on 2 and
    /// 4 workers.
    pub fn worker_threads(mut self, n: usize) -> Builder {
        self.worker_threads = Some(n);
        self
    }

    /// Switch the multi-thread scheduler's choices one by one — the LIFO
    /// slot, stealing half, waking one sleeper, the driver hand-off — to
    /// measure what each buys (the work-stealing chapter does). The default,
    /// [`Tuning::default()`](super::Tuning), has them all on; a one-thread
    /// runtime ignores this.
    ///
    /// ```
    /// use evloop::runtime::Tuning;
    /// let no_lifo = Tuning { lifo_slot: false, ..Tuning::default() };
    /// let rt = evloop::Runtime::builder().worker_threads(2).tuning(no_lifo).build().unwrap();
    /// assert_eq!(rt.block_on(async { evloop::spawn(async { 1 + 1 }).await.unwrap() }), 2);
    /// ```
    pub fn tuning(mut self, tuning: multi::Tuning) -> Builder {
        self.tuning = tuning;
        self
    }

    /// How many workers `build` will start (0: the one-thread loop).
    fn workers(&self) -> usize {
        match (self.worker_threads, self.env_workers) {
            (Some(n), _) => n,
            (None, Some(n)) if self.one_loop_needed().is_none() => n,
            _ => 0,
        }
    }

    /// Why this runtime must be the one-thread loop, if it must.
    fn one_loop_needed(&self) -> Option<&'static str> {
        if self.start_paused || self.seed.is_some() {
            return Some(
                "Builder::worker_threads cannot be combined with start_paused or seed: which \
                 worker polls which task, and when, is up to the OS's thread scheduler, so \
                 virtual time could jump while a worker is still running, and no seed could \
                 replay the order. Test schedules on the one-thread runtime",
            );
        }
        if self.observe || !self.start.0.is_empty() {
            return Some(
                "Builder::worker_threads cannot be combined with observe or the console yet: \
                 they watch one event loop's turns, and a multi-thread runtime has one per worker",
            );
        }
        None
    }

    /// Create the runtime: a poller, the run queue, the clock; then run the start hooks.
    pub fn build(self) -> io::Result<Runtime> {
        self.check_seed()?;
        self.check_workers()?;
        static NEXT_ID: AtomicUsize = AtomicUsize::new(1);
        let poll = mio::Poll::new()?;
        let reactor = Reactor::new(poll)?;
        let unparker = mio::Waker::new(reactor.registry(), WAKE_TOKEN)?;
        // The run queue. Why crossbeam and not std::sync::mpsc: it is
        // multi-consumer, so the multi-worker lesson can point several threads
        // at this same queue; and it is FIFO, so a one-thread run is deterministic.
        let (sender, receiver) = crossbeam_channel::unbounded();
        let clock = Clock::new(self.start_paused);
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        let io = reactor.handle().clone();
        let recorder = self.observe.then(|| {
            let slow = self
                .slow_poll_threshold
                .unwrap_or(Duration::from_millis(100));
            Arc::new(observe::Recorder::new(slow))
        });
        let flavor = match self.workers() {
            0 => {
                let shared = Shared::new(sender, unparker, clock, self.trace, recorder, id, io);
                let shuffle = seeded::shuffler(self.seed);
                let core = Core::new(
                    Arc::new(shared),
                    receiver,
                    reactor,
                    self.slow_poll_threshold,
                    shuffle,
                );
                Flavor::CurrentThread(Rc::new(core))
            }
            n => {
                // The reactor goes to the workers' shared driver (`multi/park.rs`).
                let (scheduler, parts) = multi::scheduler(n, reactor, id, self.tuning);
                let shared = Shared::new(sender, unparker, clock, self.trace, recorder, id, io)
                    .with_scheduler(scheduler);
                Flavor::MultiThread(multi::Workers::start(Arc::new(shared), parts)?)
            }
        };
        let mut runtime = Runtime {
            flavor,
            started: Vec::new(),
            livelock_turns: self.livelock_turns,
        };
        for hook in &self.start.0 {
            let guard = hook(&runtime)?;
            runtime.started.push(guard);
        }
        Ok(runtime)
    }
}

impl Builder {
    /// `worker_threads(n)` with settings it cannot keep: say which, and why.
    fn check_workers(&self) -> io::Result<()> {
        match (self.worker_threads, self.one_loop_needed()) {
            (Some(n), Some(why)) if n > 0 => Err(io::Error::new(io::ErrorKind::InvalidInput, why)),
            _ => Ok(()),
        }
    }
}

/// `EVLOOP_WORKER_THREADS=n` (see [`Builder::worker_threads`]); unset, empty
/// or unreadable: none. A value that is not a number is ignored with a warning.
fn workers_from_env() -> Option<usize> {
    let value = std::env::var("EVLOOP_WORKER_THREADS").ok()?;
    if value.trim().is_empty() {
        return None;
    }
    match value.trim().parse() {
        Ok(n) => Some(n),
        Err(_) => {
            super::log::warn(format_args!(
                "evloop warning: EVLOOP_WORKER_THREADS={value:?} is not a number of threads; ignored"
            ));
            None
        }
    }
}
