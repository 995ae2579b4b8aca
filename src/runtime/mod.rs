//! The runtime: `Runtime`, `Builder`, `run`, `block_on`, and stepping by `turn`.
//!
//! A `Runtime` is one event loop on one thread. [`Runtime::block_on`] (or
//! [`run`], asyncio's `asyncio.run`) drives a future to completion by running
//! [turns](Runtime::turn) of the loop until that future is done. For learning and
//! testing, [`Runtime::spawn`] queues tasks without running anything and
//! [`Runtime::turn`] runs exactly one turn and reports what it did.
//!
//! Or, built with [`Builder::worker_threads`], it is several worker threads
//! that steal each other's tasks (`multi/`): the same `spawn`, `block_on`,
//! timers and sockets, without the one loop's turn-by-turn order.
//!
//! - `builder` — [`Builder`]: the settings, and `build`, which puts the parts together.
//! - `shared` — what other threads may touch (the run queue's sender, the parked flag).
//! - `core` — what only the loop thread touches (the queue's receiver, the reactor, the owned tasks).
//! - `turn` — the five steps of one turn.
//! - `context` — the thread-local "current runtime" that `spawn` and `sleep` find.
//! - `owned` — the owned-task list: every live task, so dropping the runtime cancels them.
//! - `handle` — [`Handle`]: the runtime, reachable from any thread.
//! - `log` — warnings on stderr that never block the loop.
//! - [`observe`] — watching the loop from another thread: bounded recent events, samples on request.
//! - `hooks` — start hooks, how parts built on the runtime plug in without being named here.
//! - `multi` — [`Builder::worker_threads`]: worker threads that steal each other's tasks
//!   ([`Tuning`] switches its choices, to measure them).
//! - `seeded` — [`Builder::seed`]: seeded orders; [`Runtime::try_block_on`]: a hang reported, not waited out.
//! - `driver` — the leaves a turn composes (the reactor, the timer wheel, the blocking pool);
//!   they import nothing from here.

mod builder;
pub(crate) mod context;
pub(crate) mod core;
pub(crate) mod driver;
mod handle;
mod hooks;
pub mod log;
pub(crate) mod multi;
pub mod observe;
mod owned;
pub(crate) mod rng;
mod seeded;
pub(crate) mod shared;
mod turn;

pub use builder::Builder;
pub use handle::Handle;
pub use hooks::StartGuard;
pub use multi::Tuning;
pub use seeded::{Stalled, LIVELOCK_TURNS};

use std::future::Future;
use std::io;
use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use futures_task::ArcWake;

use self::core::Core;
use self::shared::Shared;
use self::turn::TurnOptions;
use crate::task::{JoinHandle, TaskInfo};
use crate::trace::{EventKind, Trace};

/// Run a future to completion on a new runtime (asyncio's `asyncio.run`).
///
/// ```
/// evloop::run(async {
///     println!("hello from the event loop");
/// });
/// ```
///
/// # Panics
/// If the OS refuses to create a poller (see [`Runtime::new`] for the
/// fallible version), or if called from inside a runtime.
#[track_caller]
pub fn run<F: Future>(future: F) -> F::Output {
    let rt = Runtime::new().expect("evloop::run: the OS refused to create an event poller");
    rt.block_on(future)
}

/// An event loop: a run queue, a timer wheel and a reactor, on this thread.
///
/// A `Runtime` is not `Send`: its loop runs on the thread that made it.
///
/// Built with [`Builder::worker_threads`], it is instead a pool of worker
/// threads that run the tasks and steal from each other (`runtime/multi/`),
/// with the same `block_on`, `spawn`, timers and sockets. Then `block_on`'s
/// future runs on the calling thread, and every task on the workers.
pub struct Runtime {
    flavor: Flavor,
    /// What the start hooks left (see `Builder::on_start`).
    started: Vec<StartGuard>,
    /// See [`Builder::livelock_turns`].
    livelock_turns: u64,
}

/// Which scheduler a runtime has.
enum Flavor {
    /// One event loop, on the thread that calls `block_on` or `turn`.
    CurrentThread(Rc<Core>),
    /// Worker threads (`Builder::worker_threads`).
    MultiThread(multi::Workers),
}

/// What one call of [`Runtime::turn`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Turn {
    /// The tasks polled in step 1, in order, by name (`task-N` if unnamed).
    pub polled: Vec<String>,
    /// Timers that fired in step 5.
    pub timers_fired: usize,
    /// I/O events the reactor reported in step 4.
    pub io_events: usize,
    /// The runtime's clock after the turn, since the runtime started.
    pub now: Duration,
}

/// Counters since the runtime started (see [`Runtime::metrics`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Metrics {
    /// Tasks created with `spawn` (including `spawn_blocking`'s waiting tasks).
    pub tasks_spawned: u64,
    /// Task polls (the `block_on` future not included).
    pub polls: u64,
    /// Wakes that queued a task (a wake of an already queued task is free and not counted).
    pub wakes: u64,
    /// Timers that fired. A sleep dropped before its deadline never counts.
    pub timers_fired: u64,
    /// Readiness events from the reactor.
    pub io_events: u64,
    /// Turns of the loop.
    pub turns: u64,
    /// Polls that took at least the slow-poll threshold.
    pub slow_polls: u64,
    /// The longest single poll (real time). Measured only while polls are
    /// timed: with a slow-poll threshold set (the default in debug builds) or
    /// with tracing on; otherwise zero.
    pub longest_poll: Duration,
}

impl Metrics {
    /// The counters of the runtime running on this thread — for code that has
    /// no `&Runtime` at hand, such as an HTTP handler serving `/metrics`.
    ///
    /// # Panics
    /// Outside a runtime.
    #[track_caller]
    pub fn current() -> Metrics {
        if let Some(metrics) = context::try_with_core(|core| core.metrics()) {
            return metrics;
        }
        context::with_shared("evloop::Metrics::current", |shared| match &shared.multi {
            Some(multi) => multi.metrics(shared),
            None => unreachable!("a one-thread runtime is found through its core"),
        })
    }
}

impl Runtime {
    /// A runtime with default settings. Fails only if the OS refuses a poller.
    pub fn new() -> io::Result<Runtime> {
        Builder::new().build()
    }

    /// Settings for a new runtime.
    pub fn builder() -> Builder {
        Builder::new()
    }

    /// Drive `future` to completion, running the loop until it is done; return
    /// its output. The future need not be `Send`: it is not a task, it is
    /// polled right here, in step 2 of each turn, whenever its waker fires.
    ///
    /// # Panics
    /// If called while this thread is already running an event loop.
    #[track_caller]
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        if let Flavor::MultiThread(workers) = &self.flavor {
            return workers.block_on(future);
        }
        // The loop itself is `drive` (`seeded.rs`), shared with `try_block_on`.
        match self.drive(future, None) {
            Ok(output) => output,
            Err(_) => unreachable!("asked never to stop early, the loop runs until the end"),
        }
    }

    /// Queue `future` as a task *without running anything*: it is polled on
    /// the next turn (`block_on` or [`turn`](Runtime::turn)). On a
    /// multi-thread runtime a worker picks it up at once.
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.spawn_with(future, None)
    }

    fn spawn_with<F>(&self, future: F, name: Option<Box<str>>) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        match &self.flavor {
            Flavor::CurrentThread(core) => core.spawn(future, name),
            Flavor::MultiThread(workers) => multi::spawn(&workers.shared, future, name),
        }
    }

    /// Like [`spawn`](Runtime::spawn), with a name for `Turn::polled` and the trace.
    pub fn spawn_named<F>(&self, name: &str, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.spawn_with(future, Some(name.into()))
    }

    /// Run exactly one turn of the loop and report what it did.
    ///
    /// With a paused clock and nothing ready, the turn jumps the clock to the
    /// next deadline and fires it. A turn with nothing at all to do (no task,
    /// timer, socket or blocking job) returns at once, empty.
    ///
    /// ```
    /// use std::time::Duration;
    /// let rt = evloop::Runtime::builder().start_paused(true).build().unwrap();
    /// rt.spawn_named("sleeper", async { evloop::time::sleep(Duration::from_secs(2)).await });
    /// let t = rt.turn();                  // polls "sleeper": it registers a timer
    /// assert_eq!(t.polled, ["sleeper"]);
    /// assert_eq!(t.timers_fired, 1);      // nothing else to do: the clock jumps, the timer fires
    /// assert_eq!(t.now, Duration::from_secs(2));
    /// let t = rt.turn();                  // "sleeper" runs again and finishes
    /// assert_eq!(t.polled, ["sleeper"]);
    /// ```
    ///
    /// # Panics
    /// On a multi-thread runtime: its workers turn on their own, and no
    /// single turn of all of them exists to step.
    #[track_caller]
    pub fn turn(&self) -> Turn {
        let core = self.core("Runtime::turn");
        let _enter = self.enter_loop();
        let report = core.turn(TurnOptions {
            main: None,
            record: true,
            never_park_forever: true,
        });
        Turn {
            polled: report.polled,
            timers_fired: report.timers_fired,
            io_events: report.io_events,
            now: core.shared.clock.elapsed(),
        }
    }

    /// The one-thread loop's core, for what only it can do.
    #[track_caller]
    fn core(&self, what: &str) -> &Rc<Core> {
        match &self.flavor {
            Flavor::CurrentThread(core) => core,
            Flavor::MultiThread(_) => panic!(
                "`{what}` steps the one-thread event loop; a runtime built with \
                 `worker_threads(n)` has no single loop to step (its workers turn on their own)"
            ),
        }
    }

    /// The shared half: clock, trace, wakers' side (either flavor).
    fn shared(&self) -> &Arc<Shared> {
        match &self.flavor {
            Flavor::CurrentThread(core) => &core.shared,
            Flavor::MultiThread(workers) => &workers.shared,
        }
    }

    /// How many worker threads run the tasks: 0 for the one-thread event
    /// loop (its tasks run on the thread in `block_on`), `n` for a runtime
    /// built with [`Builder::worker_threads(n)`](Builder::worker_threads).
    pub fn worker_threads(&self) -> usize {
        match &self.flavor {
            Flavor::CurrentThread(_) => 0,
            Flavor::MultiThread(workers) => workers.count(),
        }
    }

    /// How many times each worker stole from the others so far — one steal
    /// takes a batch, up to half the victim's queue (empty on the one-thread
    /// loop): the work-stealing lesson's counter.
    pub fn steals(&self) -> Vec<u64> {
        match &self.shared().multi {
            Some(multi) => multi.steals(),
            None => Vec::new(),
        }
    }

    /// Make this runtime current without running the loop, so `evloop::spawn`,
    /// `task::Builder::spawn` and `sleep` work here (e.g. to set up tasks
    /// before stepping with [`turn`](Runtime::turn)). Current until dropped.
    #[track_caller]
    pub fn enter(&self) -> EnterGuard {
        match &self.flavor {
            Flavor::CurrentThread(core) => EnterGuard {
                _enter: Entered::Loop {
                    _guard: context::enter(core.clone()),
                },
            },
            Flavor::MultiThread(workers) => EnterGuard {
                _enter: Entered::Multi {
                    _guard: context::enter_multi(workers.shared.clone()),
                },
            },
        }
    }

    #[track_caller]
    fn enter_loop(&self) -> context::Running {
        context::run_loop(self.core("Runtime::block_on").clone())
    }

    /// Everything recorded so far (empty unless built with `trace(true)`).
    pub fn trace(&self) -> Trace {
        let events = match &self.shared().trace {
            Some(sink) => sink.lock().unwrap_or_else(|e| e.into_inner()).clone(),
            None => Vec::new(),
        };
        Trace::new(events, self.shared().clock.is_paused())
    }

    /// Counters since the runtime started.
    pub fn metrics(&self) -> Metrics {
        match &self.flavor {
            Flavor::CurrentThread(core) => core.metrics(),
            Flavor::MultiThread(workers) => {
                let shared = &workers.shared;
                shared.multi.as_ref().expect("multi").metrics(shared)
            }
        }
    }

    /// The tasks this runtime owns right now (spawned, not finished), by id:
    /// each one's name, whether it is queued, and what it waits on — asyncio's
    /// `all_tasks()`, plus the answer to "why is it stuck?".
    ///
    /// ```
    /// use std::time::Duration;
    /// use evloop::task::WaitReason;
    /// let rt = evloop::Runtime::builder().start_paused(true).build().unwrap();
    /// let (tx, mut rx) = evloop::sync::mpsc::channel::<u8>(1);
    /// rt.spawn_named("sleeper", evloop::time::sleep(Duration::from_secs(5)));
    /// rt.spawn_named("reader", async move { rx.recv().await });
    /// rt.turn();
    /// let tasks = rt.tasks();
    /// assert_eq!(tasks[0].name, "sleeper");
    /// assert_eq!(tasks[0].waiting_on, WaitReason::Timer { tick: 5000 });
    /// assert_eq!(tasks[1].waiting_on, WaitReason::Channel);
    /// # drop(tx);
    /// ```
    pub fn tasks(&self) -> Vec<TaskInfo> {
        match &self.flavor {
            Flavor::CurrentThread(core) => core.tasks(),
            Flavor::MultiThread(workers) => workers.tasks(),
        }
    }

    /// A [`Handle`] to this runtime, to spawn onto it from other threads.
    pub fn handle(&self) -> Handle {
        Handle::new(self.shared().clone())
    }

    /// A watcher's handle, if the runtime was built with `Builder::observe(true)`.
    pub fn observer(&self) -> Option<observe::Observer> {
        let recorder = self.shared().observer.clone()?;
        Some(observe::Observer::new(recorder, self.shared().clone()))
    }

    /// What a start hook left with the runtime, found by its type.
    pub fn started<T: 'static>(&self) -> Option<&T> {
        self.started.iter().find_map(|guard| guard.downcast_ref())
    }

    /// The runtime's clock: time since it started (virtual when paused).
    pub fn elapsed(&self) -> Duration {
        self.shared().clock.elapsed()
    }
}

// ANCHOR: runtime_drop
impl Drop for Runtime {
    /// Cancel every task the runtime owns, then let go of the timers and sockets.
    ///
    /// Each task's future is dropped here, with this runtime current, so its
    /// destructors may still call runtime functions (a spawn now gives a task
    /// that is already cancelled). Every `JoinHandle` then resolves to a
    /// cancelled `JoinError`, wherever it is held. Wakers are taken out first
    /// and dropped afterwards: dropping one may drop a whole task, whose
    /// destructors must find nothing borrowed.
    fn drop(&mut self) {
        // What the start hooks left goes first (a server started by a hook stops).
        self.started.clear();
        let core = match &mut self.flavor {
            Flavor::CurrentThread(core) => core,
            Flavor::MultiThread(workers) => {
                // Stop the workers, then the same steps (`multi/mod.rs`).
                workers.shutdown();
                log::flush();
                return;
            }
        };
        let _enter = context::enter_for_drop(core.clone());
        // First the sockets: every task waiting on one is woken (and swept up
        // next), and every socket of this runtime answers with an error from
        // now on, wherever it is used.
        core.reactor.handle().shutdown();
        core.shutdown();
        core.timers().clear(); // takes the wheel out, then drops it
        core.shared.blocking.shutdown();
        log::flush();
    }
}
// ANCHOR_END: runtime_drop

/// Returned by [`Runtime::enter`]; the runtime stays current until it is dropped.
#[must_use = "the runtime is current only while the guard lives"]
pub struct EnterGuard {
    _enter: Entered,
}

/// What [`EnterGuard`] holds, by flavor.
enum Entered {
    Loop { _guard: context::Enter },
    Multi { _guard: context::MultiEnter },
}

/// The waker of the `block_on` future: flag it for step 2 and unpark the loop.
struct MainWaker(Arc<Shared>);

impl ArcWake for MainWaker {
    fn wake_by_ref(arc_self: &Arc<Self>) {
        let shared = &arc_self.0;
        if !shared.main_woken.swap(true, Ordering::AcqRel) && shared.tracing() {
            let by = context::wake_source(shared);
            shared.record(EventKind::Wake { task: 0, by });
        }
        shared.notify();
    }
}
