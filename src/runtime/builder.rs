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
use super::{hooks, observe, seeded, Runtime, StartGuard};
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

    /// Create the runtime: a poller, the run queue, the clock; then run the start hooks.
    pub fn build(self) -> io::Result<Runtime> {
        self.check_seed()?;
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
        let shared = Shared::new(sender, unparker, clock, self.trace, recorder, id, io);
        let shuffle = seeded::shuffler(self.seed);
        let core = Core::new(
            Arc::new(shared),
            receiver,
            reactor,
            self.slow_poll_threshold,
            shuffle,
        );
        let mut runtime = Runtime {
            core: Rc::new(core),
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
