//! One turn of the event loop — the function the whole crate is built to show.
//!
//! asyncio's `BaseEventLoop._run_once`, made visible. A turn does five things,
//! always in this order:
//!
//! 1. **Poll every task that was ready when the turn began.** A task woken
//!    during this step (say, by `yield_now`) waits for the next turn, so one
//!    busy task cannot starve the rest: fairness.
//! 2. **Check the `block_on` future.** If it was woken, poll it; if it is done,
//!    the loop returns its output.
//! 3. **Work out how long we may sleep:** zero if anything is ready; else until
//!    the next timer's deadline; else forever (until I/O or another thread wakes us).
//! 4. **Ask the reactor for I/O events**, waiting at most that long (this is
//!    where an idle loop spends its life: parked in `epoll_wait`). Wake the
//!    tasks whose sockets became ready.
//! 5. **Advance the clock and fire every due timer**, waking their tasks.
//!    Under a paused clock, when nothing else is ready, the clock *jumps* to the
//!    next deadline here instead of waiting for it.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::core::{Activity, Core};
use crate::task::TaskId;
use crate::time::{duration_to_tick, tick_to_duration};
use crate::trace::{EventKind, PollOutcome};

/// What one turn did (the runtime's `Turn` adds the clock reading).
#[derive(Default)]
pub(crate) struct TurnReport {
    /// The `block_on` future completed in step 2.
    pub(crate) main_done: bool,
    /// Names of the tasks polled in step 1, when asked to record them.
    pub(crate) polled: Vec<String>,
    pub(crate) io_events: usize,
    pub(crate) timers_fired: usize,
}

/// How the caller wants the turn run.
pub(crate) struct TurnOptions<'a> {
    /// Step 2: polls the `block_on` future, returning true once it is done.
    pub(crate) main: Option<&'a mut dyn FnMut() -> bool>,
    /// Record the names of polled tasks (for `Runtime::turn`; costs a String each).
    pub(crate) record: bool,
    /// Never park forever: a stepping caller (`Runtime::turn`) gets an empty
    /// turn back instead of a hang when nothing at all can happen.
    pub(crate) never_park_forever: bool,
}

impl Core {
    // ANCHOR: turn
    /// Run one turn. See the module doc for the five steps.
    pub(crate) fn turn(&self, opts: TurnOptions<'_>) -> TurnReport {
        self.count_turn();
        let mut report = TurnReport::default();

        // 1. Poll the tasks that were ready when the turn began.
        self.poll_ready_tasks(opts.record.then_some(&mut report.polled));

        // 2. Is the block_on future done?
        if let Some(main) = opts.main {
            if self.poll_main(main) {
                report.main_done = true;
                return report;
            }
        }

        // 3. How long may we sleep?
        let mut timeout = self.park_timeout();
        if timeout.is_none() && opts.never_park_forever && self.nothing_can_happen() {
            timeout = Some(Duration::ZERO);
        }

        // 4. Wait for I/O (at most `timeout`) and wake the tasks it is for.
        report.io_events = self.poll_reactor(timeout);

        // 5. Advance the clock; fire due timers.
        report.timers_fired = self.fire_timers(report.io_events == 0);
        report
    }
    // ANCHOR_END: turn

    // ANCHOR: poll_ready_tasks
    /// Step 1.
    fn poll_ready_tasks(&self, mut polled: Option<&mut Vec<String>>) {
        // Wakes from other threads wait in the injector: they join the local
        // queue now, behind the wakes made on this thread.
        self.take_injected();
        // Seeded: the ready tasks, in an order drawn from the seed (`seeded.rs`).
        // Unseeded: one branch, and first in, first out.
        self.shuffle_ready();
        // Count first: tasks woken while we poll join the queue *behind* this
        // many, and are left for the next turn.
        let ready_at_start = self.shared.local_len();
        if ready_at_start == 0 {
            return;
        }
        // One clock reading per poll (when timing): each poll starts when the
        // previous one ended. An observed runtime times its polls, and notes
        // the queue's length here (`observe/`).
        let mut now = None;
        if self.timing() {
            now = Some(Instant::now());
            self.observe_turn(ready_at_start);
        }
        for _ in 0..ready_at_start {
            match self.shared.pop_local() {
                Some(task) => now = self.poll_task(task, now, polled.as_deref_mut()),
                None => break,
            }
        }
    }
    // ANCHOR_END: poll_ready_tasks

    /// Step 2. The main future is polled only when its waker fired.
    fn poll_main(&self, main: &mut dyn FnMut() -> bool) -> bool {
        if !self.shared.main_woken.swap(false, Ordering::AcqRel) {
            return false;
        }
        let started = self.timing().then(Instant::now);
        let (outcome, took, _) = self.timed_poll(TaskId::MAIN, Activity::Main, started, || {
            // The `block_on` future gets a budget too, and its wait reason is
            // kept as a task's is: it is a task in all but name.
            crate::task::wait::begin_record();
            let done = crate::task::coop::budgeted(&mut *main);
            self.main_waiting.set(crate::task::wait::end_record_raw());
            Some(if done {
                PollOutcome::Ready
            } else {
                PollOutcome::Pending
            })
        });
        // The `block_on` future blocks the loop as surely as a task does.
        if let Some(threshold) = self.slow_poll_threshold {
            if took >= threshold {
                self.report_slow_poll(
                    "the `block_on` future (main)",
                    TaskId::MAIN,
                    took,
                    threshold,
                );
            }
        }
        outcome == Some(PollOutcome::Ready)
    }

    /// Is anything ready to run right now?
    fn has_ready_work(&self) -> bool {
        self.shared.local_len() > 0
            || !self.queue.is_empty()
            || self.shared.main_woken.load(Ordering::Acquire)
    }

    fn blocking_in_flight(&self) -> bool {
        self.shared.blocking_in_flight.load(Ordering::Acquire) > 0
    }

    /// No task, timer, socket or blocking job exists that could ever make progress.
    pub(super) fn nothing_can_happen(&self) -> bool {
        !self.has_ready_work()
            && self.timers().is_empty()
            && !self.reactor.has_sources()
            && !self.blocking_in_flight()
    }

    // ANCHOR: park_timeout
    /// Step 3. `None` means "until something happens".
    fn park_timeout(&self) -> Option<Duration> {
        if self.has_ready_work() {
            return Some(Duration::ZERO);
        }
        let next = self.timers().next_deadline();
        let clock = &self.shared.clock;
        if clock.is_paused() {
            // Virtual time never passes while we sleep, so waiting for a timer
            // would wait forever: step 5 jumps to it instead. We only really
            // sleep for a blocking job, or when no timer is set at all.
            match next {
                Some(_) if !self.blocking_in_flight() => Some(Duration::ZERO),
                _ => None,
            }
        } else {
            // Until the next deadline, or the start of the wheel slot that
            // holds it if that comes first: there the wheel cascades, and
            // the next park runs to the deadline (at most one early wake per
            // level, and no timer is ever read to find out).
            next.map(|tick| tick_to_duration(tick).saturating_sub(clock.elapsed()))
        }
    }
    // ANCHOR_END: park_timeout

    /// Step 4. Returns the number of I/O events dispatched.
    fn poll_reactor(&self, timeout: Option<Duration>) -> usize {
        let parking = timeout != Some(Duration::ZERO);
        // Nothing registered and no time to wait: no event can come, skip the syscall.
        if !parking && !self.reactor.has_sources() {
            return 0;
        }
        let mut timeout = timeout;
        if parking {
            // From here on a wake from another thread interrupts the poll...
            self.shared.park_begin();
            // ...and one that came just before we said so must not be slept through.
            if self.has_ready_work() {
                timeout = Some(Duration::ZERO);
            } else if self.shared.tracing() {
                self.shared.record(EventKind::Park { timeout });
                // An idle loop answers a watcher before it sleeps.
                self.observe_park();
            }
        }
        let polled = self.reactor.poll(timeout);
        // Awake again *before* waking anyone: a wake while `parked` is still
        // set would write the eventfd for nothing, and the next poll would
        // return at once to read it — two wasted syscalls per park.
        self.shared.park_end();
        if let Err(e) = polled {
            panic!("evloop: the OS poller failed ({e}); the event loop cannot go on");
        }
        // Mark the sockets ready; record each event, then wake each waiter
        // with the trace told which socket woke it.
        let events = self.reactor.dispatch(
            |event| {
                self.shared.record(EventKind::Io {
                    token: event.token,
                    readable: event.readable,
                    writable: event.writable,
                })
            },
            |wakeups| self.shuffle(wakeups), // seeded: the events of this poll in any order
            |token, waker| {
                self.activity.set(Activity::Io(token));
                wake_contained(waker);
            },
        );
        self.activity.set(Activity::Idle);
        self.count_io(events);
        events
    }

    /// Step 5. Returns how many timers fired.
    fn fire_timers(&self, no_io: bool) -> usize {
        let clock = &self.shared.clock;
        if self.timers().is_empty() {
            return 0;
        }
        // The paused clock jumps only when the loop is otherwise idle.
        let may_jump =
            clock.is_paused() && no_io && !self.has_ready_work() && !self.blocking_in_flight();
        let mut due = self.due.borrow_mut();
        let before = clock.elapsed();
        let mut fired = 0;
        loop {
            if may_jump {
                // Straight to the next deadline, or to the start of the wheel
                // slot holding it: `advance` cascades what lies on the way and
                // fires what is due.
                if let Some(tick) = self.timers().next_deadline() {
                    clock.advance_to(tick_to_duration(tick));
                }
            }
            fired += self
                .timers()
                .advance(duration_to_tick(clock.elapsed()), &mut due);
            // Nothing fired: that was a slot start, and the slot cascaded
            // nearer its deadlines (at most once per level). Jump again.
            if fired > 0 || !may_jump || self.timers().is_empty() {
                break;
            }
        }
        if may_jump && clock.elapsed() > before {
            self.shared.record(EventKind::ClockJump {
                to: clock.elapsed(),
            });
        }
        // Seeded: timers due together fire in any order (`seeded.rs`).
        self.shuffle(&mut due);
        // The wheel is released: a woken task may set a new timer while we wake the rest.
        self.activity.set(Activity::Timers);
        // One at a time, each contained: a waker that panics must not take
        // the others of this tick (or the loop) with it.
        for waker in due.drain(..) {
            wake_contained(waker);
        }
        self.activity.set(Activity::Idle);
        self.count_timers(fired);
        fired
    }
}

/// Wake `waker`, containing a panic. evloop's own wakers never panic, but a
/// hand-made one (a `Wake` impl in user code) might; its panic is logged, and
/// the loop goes on waking the rest.
pub(crate) fn wake_contained(waker: std::task::Waker) {
    let woken = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || waker.wake()));
    if let Err(payload) = woken {
        let message = crate::task::panic_message(payload.as_ref()).unwrap_or("no message");
        super::log::warn(format_args!(
            "evloop warning: a waker panicked when woken ({message}); the panic was contained"
        ));
    }
}
