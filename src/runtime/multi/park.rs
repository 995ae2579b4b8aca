//! Parking a worker, and the driver hand-off.
//!
//! A worker with nothing to run sleeps. One of the sleepers must also watch
//! the sockets and the timers — on one thread that is step 4 of the turn, the
//! loop parked in `epoll_wait`. With several workers there is still one
//! reactor, and only one thread may sit in `epoll_wait` on it. So the
//! reactor and the timer wheel's firing are the **driver**, behind a lock
//! that a sleeping worker *tries*: the first to get it parks in the reactor
//! (until an I/O event, the next timer, or an unpark); the others park on a
//! condition variable of their own. When the driver's holder wakes, it wakes
//! the tasks whose sockets and timers are ready — onto its own queue, where
//! the others steal them — and lets the lock go; the next worker to sleep
//! takes it (tokio's driver hand-off, `scheduler/multi_thread/park.rs`).
//!
//! Each worker's [`Parker`] says where it sleeps, so that an unpark knows
//! what to poke: a condition variable, or the reactor's `mio::Waker`.
//!
//! ```text
//!   EMPTY ──park: driver free──▶ PARKED_DRIVER ──event/timer/unpark──▶ EMPTY
//!     │  ──park: driver taken──▶ PARKED_CONDVAR ──unpark: notify_one──▶ EMPTY
//!     └◀── unpark before park: NOTIFIED (the next park returns at once) ──┘
//! ```
//!
//! A busy worker also polls the driver now and then without waiting (every
//! [`EVENT_INTERVAL`](super::worker) tasks): with every other worker asleep
//! on its condition variable and this one never idle, nobody else would.

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Condvar, Mutex};
use std::task::Waker;
use std::time::Duration;

use super::super::driver::reactor::Reactor;
use super::super::shared::Shared;
use super::worker;
use crate::runtime::core::Activity;
use crate::time::{duration_to_tick, tick_to_duration};
use crate::trace::EventKind;

const EMPTY: usize = 0;
const PARKED_CONDVAR: usize = 1;
const PARKED_DRIVER: usize = 2;
const NOTIFIED: usize = 3;

/// Where one worker sleeps, and how to wake it.
pub(super) struct Parker {
    state: AtomicUsize,
    mutex: Mutex<()>,
    condvar: Condvar,
}

/// The reactor and the scratch space for firing timers: one holder at a time.
pub(super) struct Driver {
    reactor: Reactor,
    /// Wakers of timers that just fired (reused: firing allocates nothing).
    due: Vec<Waker>,
}

/// What one turn of the driver did, for the counters.
pub(super) struct Polled {
    pub(super) io_events: usize,
    pub(super) timers_fired: usize,
}

impl Driver {
    pub(super) fn new(reactor: Reactor) -> Driver {
        Driver {
            reactor,
            due: Vec::new(),
        }
    }

    /// Wait for I/O at most `timeout` (`None`: until an event, the next
    /// timer, or an unpark), then wake the tasks whose sockets are ready and
    /// fire every timer that is due. Steps 3 to 5 of the one-thread turn.
    pub(super) fn turn(&mut self, shared: &Shared, timeout: Option<Duration>) -> Polled {
        let clock = &shared.clock;
        let timers = &shared
            .multi
            .as_ref()
            .expect("a multi-thread runtime")
            .timers;
        let waiting = timeout != Some(Duration::ZERO);
        // Parking: the wheel remembers until when, so that an earlier timer
        // set meanwhile by a running worker interrupts us (`timer.rs`).
        let next = if waiting {
            timers.park_deadline()
        } else {
            timers.next_deadline()
        };
        let until_timer = next.map(|tick| tick_to_duration(tick).saturating_sub(clock.elapsed()));
        let timeout = match (timeout, until_timer) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        if waiting && shared.tracing() {
            shared.record(EventKind::Park { timeout });
        }
        let polled = self.reactor.poll(timeout);
        if waiting {
            timers.unparked();
        }
        if let Err(e) = polled {
            panic!("evloop: the OS poller failed ({e}); the runtime cannot go on");
        }
        let io_events = self.reactor.dispatch(
            |event| {
                shared.record(EventKind::Io {
                    token: event.token,
                    readable: event.readable,
                    writable: event.writable,
                })
            },
            |_| {},
            |token, waker| {
                worker::set_activity(Activity::Io(token));
                crate::runtime::turn::wake_contained(waker);
            },
        );
        worker::set_activity(Activity::Timers);
        let timers_fired = if timers.is_empty() {
            0
        } else {
            let fired = timers.advance(duration_to_tick(clock.elapsed()), &mut self.due);
            for waker in self.due.drain(..) {
                crate::runtime::turn::wake_contained(waker);
            }
            fired
        };
        worker::set_activity(Activity::Idle);
        Polled {
            io_events,
            timers_fired,
        }
    }

    /// The runtime is being dropped: wake every task waiting on a socket,
    /// and make every socket of this runtime fail from now on.
    pub(super) fn shutdown(&self) {
        self.reactor.handle().shutdown();
    }
}

impl Parker {
    pub(super) fn new() -> Parker {
        Parker {
            state: AtomicUsize::new(EMPTY),
            mutex: Mutex::new(()),
            condvar: Condvar::new(),
        }
    }

    // ANCHOR: park
    /// Sleep until [`unpark`](Parker::unpark) — in the reactor if the driver
    /// is free (then also until I/O or a timer), else on the condition
    /// variable. Returns what the driver did, if this worker held it.
    pub(super) fn park(&self, shared: &Shared, driver: &Mutex<Driver>) -> Option<Polled> {
        // An unpark that came first leaves NOTIFIED: return at once.
        if self
            .state
            .compare_exchange(NOTIFIED, EMPTY, SeqCst, SeqCst)
            .is_ok()
        {
            return None;
        }
        if let Ok(mut driver) = driver.try_lock() {
            return self.park_driver(shared, &mut driver);
        }
        self.park_condvar();
        None
    }
    // ANCHOR_END: park

    fn park_driver(&self, shared: &Shared, driver: &mut Driver) -> Option<Polled> {
        match self
            .state
            .compare_exchange(EMPTY, PARKED_DRIVER, SeqCst, SeqCst)
        {
            Ok(_) => {}
            Err(_) => {
                // NOTIFIED meanwhile: take it, and do not sleep.
                self.state.swap(EMPTY, SeqCst);
                return None;
            }
        }
        let polled = driver.turn(shared, None);
        // PARKED_DRIVER (woken by I/O or a timer) or NOTIFIED: awake either way.
        self.state.swap(EMPTY, SeqCst);
        Some(polled)
    }

    fn park_condvar(&self) {
        let mut guard = self.mutex.lock().unwrap_or_else(|e| e.into_inner());
        match self
            .state
            .compare_exchange(EMPTY, PARKED_CONDVAR, SeqCst, SeqCst)
        {
            Ok(_) => {}
            Err(_) => {
                self.state.swap(EMPTY, SeqCst);
                return;
            }
        }
        loop {
            guard = self.condvar.wait(guard).unwrap_or_else(|e| e.into_inner());
            // A condition variable may wake for nothing: only NOTIFIED counts.
            if self
                .state
                .compare_exchange(NOTIFIED, EMPTY, SeqCst, SeqCst)
                .is_ok()
            {
                return;
            }
        }
    }

    /// Wake this worker wherever it sleeps; if it is awake, its next park
    /// returns at once.
    pub(super) fn unpark(&self, shared: &Shared) {
        match self.state.swap(NOTIFIED, SeqCst) {
            EMPTY | NOTIFIED => {}
            PARKED_CONDVAR => {
                // Take the lock, so the notify cannot fall between the
                // sleeper's state change and its wait.
                drop(self.mutex.lock().unwrap_or_else(|e| e.into_inner()));
                self.condvar.notify_one();
            }
            PARKED_DRIVER => shared.wake_reactor(),
            other => unreachable!("a parker state is 0..=3, not {other}"),
        }
    }
}
