//! The task's state word: one atomic integer that says who may touch the task.
//!
//! A task is shared: the run queue holds it, every waker holds it, its
//! `JoinHandle` holds it — possibly on other threads. Instead of a lock, each
//! task carries one `AtomicUsize` of flags, and every change to it is a single
//! atomic step (a compare-and-swap loop, or a `fetch_or`/`fetch_and` where no
//! decision depends on the old value). Whoever wins a transition owns the part
//! of the task that transition hands over; nobody else touches it. This is the
//! design of async-task (smol) and of tokio's `runtime/task/state.rs`.
//!
//! | flag            | set by                         | cleared by                    | meaning |
//! |-----------------|--------------------------------|-------------------------------|---------|
//! | `SCHEDULED`     | a wake, `abort`, spawn         | the loop, when a poll starts  | on a run queue, or must go back on one when the poll ends |
//! | `RUNNING`       | the loop, when a poll starts   | the loop, when the poll ends  | the loop owns the future right now |
//! | `COMPLETE`      | the loop, when the task ends   | never                         | the stage holds the output (or a `JoinError`) |
//! | `CANCELLED`     | `abort`, dropping the runtime  | never                         | drop the future at the next chance; never poll it again |
//! | `JOIN_INTEREST` | spawn                          | dropping the `JoinHandle`     | someone may still read the output |
//! | `JOIN_WAKER`    | the `JoinHandle`, after storing its waker | the `JoinHandle`, before replacing it | the task may read (and wake) that waker |
//!
//! ## Transitions, and who makes them
//!
//! ```text
//!   wake:        idle ──▶ SCHEDULED (push it)       RUNNING ──▶ RUNNING|SCHEDULED (the loop pushes it)
//!                SCHEDULED: nothing to push (the word is still written: see below)
//!                COMPLETE: nothing
//!   poll start:  SCHEDULED ──▶ RUNNING               (acquire: the poll sees what the waker wrote)
//!   poll end:    RUNNING ──▶ idle                    (if SCHEDULED came meanwhile: push again)
//!                RUNNING ──▶ COMPLETE                (Ready, a panic, or cancelled: output written first)
//!   abort:       sets CANCELLED, then schedules like a wake, so the loop drops the future
//!   shutdown:    idle ──▶ RUNNING|CANCELLED          (dropping the runtime takes the future to drop it)
//! ```
//!
//! Who owns the *stage* (future, then output) follows from the flags alone:
//! `RUNNING` — the loop; `COMPLETE` with `JOIN_INTEREST` — the `JoinHandle`;
//! `COMPLETE` without it — the loop, at the moment of completion, which drops
//! the output nobody will read. Who owns the *join waker slot*: the
//! `JoinHandle` while `JOIN_WAKER` is clear and the task is not complete; the
//! loop once it has set `COMPLETE` and seen `JOIN_WAKER` set.

#[cfg(feature = "loom")]
use loom::sync::atomic::AtomicUsize;
#[cfg(not(feature = "loom"))]
use std::sync::atomic::AtomicUsize;

use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed};

/// On a run queue (or owed one when the current poll ends).
pub(crate) const SCHEDULED: usize = 1 << 0;
/// Being polled (or dropped) by the loop: the loop owns the future.
pub(crate) const RUNNING: usize = 1 << 1;
/// Finished: the stage holds the result. Never cleared.
pub(crate) const COMPLETE: usize = 1 << 2;
/// Aborted, or its runtime is gone: the future is dropped, never polled again.
pub(crate) const CANCELLED: usize = 1 << 3;
/// The `JoinHandle` still exists: the output must be kept for it.
pub(crate) const JOIN_INTEREST: usize = 1 << 4;
/// The join waker slot holds a waker that the task may wake on completion.
pub(crate) const JOIN_WAKER: usize = 1 << 5;

/// The flags take the low bits; the bits above hold the task's slot in the
/// runtime's owned-task list, so a task needs no separate field for it.
/// Every transition keeps those bits as they are (it only sets or clears
/// flags); only the loop writes them, when it adopts the task.
const FLAG_BITS: u32 = 6;
const FLAGS: usize = (1 << FLAG_BITS) - 1;
/// The slot of a task not (yet) in the owned-task list.
pub(crate) const UNOWNED: usize = usize::MAX >> FLAG_BITS;

/// A copy of the state word at one moment, with named questions.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Snapshot(pub(crate) usize);

impl Snapshot {
    /// Is this flag set?
    pub(crate) fn has(self, flag: usize) -> bool {
        self.0 & flag != 0
    }
}

impl std::fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names = [
            (SCHEDULED, "SCHEDULED"),
            (RUNNING, "RUNNING"),
            (COMPLETE, "COMPLETE"),
            (CANCELLED, "CANCELLED"),
            (JOIN_INTEREST, "JOIN_INTEREST"),
            (JOIN_WAKER, "JOIN_WAKER"),
        ];
        let set: Vec<&str> = names
            .iter()
            .filter(|(flag, _)| self.has(*flag))
            .map(|(_, name)| *name)
            .collect();
        write!(
            f,
            "{}",
            if set.is_empty() {
                "idle".to_string()
            } else {
                set.join("|")
            }
        )
    }
}

/// What a wake must do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wake {
    /// Already scheduled, or complete: the wake costs nothing.
    Nothing,
    /// Being polled: marked `SCHEDULED`; the loop pushes it when the poll ends.
    Owed,
    /// Was idle: the waker pushes it on the run queue.
    Push,
}

/// What the loop should do with a task it just took off the run queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StartPoll {
    /// Poll the future.
    Poll,
    /// Cancelled: drop the future instead of polling it.
    Cancel,
    /// Already complete (a stale queue entry): nothing to do.
    Done,
}

/// The state word itself.
pub(crate) struct State {
    word: AtomicUsize,
}

impl State {
    /// A new task is queued at once (spawn pushes it) and has a `JoinHandle`.
    #[cfg_attr(not(feature = "loom"), allow(dead_code))]
    pub(crate) fn new() -> State {
        State::with_slot(UNOWNED)
    }

    /// A new task that already knows its slot in the owned-task list (the
    /// loop reserved it before making the task: no atomic step to set it).
    pub(crate) fn with_slot(slot: usize) -> State {
        debug_assert!(slot <= UNOWNED);
        State {
            word: AtomicUsize::new(SCHEDULED | JOIN_INTEREST | (slot << FLAG_BITS)),
        }
    }

    /// The state right now (for reading; decisions use the transitions).
    pub(crate) fn load(&self) -> Snapshot {
        Snapshot(self.word.load(Acquire))
    }

    /// The task's slot in the owned-task list ([`UNOWNED`] if none). Read and
    /// written by the loop's thread only.
    pub(crate) fn owned_slot(&self) -> usize {
        self.word.load(Relaxed) >> FLAG_BITS
    }

    /// Record the task's slot in the owned-task list (the loop, on adoption
    /// or removal). A compare-and-swap like the rest, so a wake racing with
    /// it on another thread loses nothing.
    pub(crate) fn set_owned_slot(&self, slot: usize) {
        debug_assert!(slot <= UNOWNED);
        let _ = self.update(|s| Some((s.0 & FLAGS) | (slot << FLAG_BITS)));
    }

    /// Apply `f` to the word in one atomic step. `f` returns the new word, or
    /// `None` to leave it as it is. Returns the word `f` saw (and whether it
    /// changed it).
    fn update(&self, mut f: impl FnMut(Snapshot) -> Option<usize>) -> Result<Snapshot, Snapshot> {
        let mut current = self.word.load(Acquire);
        loop {
            let Some(next) = f(Snapshot(current)) else {
                return Err(Snapshot(current));
            };
            match self
                .word
                .compare_exchange_weak(current, next, AcqRel, Acquire)
            {
                Ok(_) => return Ok(Snapshot(current)),
                Err(actual) => current = actual,
            }
        }
    }

    /// **wake**: idle → `SCHEDULED`, and the caller pushes the task on a run
    /// queue. A running task only gets `SCHEDULED`: the loop pushes it when
    /// the poll ends (so it is never on a queue while being polled).
    /// Already scheduled, or complete: nothing to push.
    ///
    /// Already scheduled, the wake still *writes* the word (the same value
    /// back, with release): the poll that follows must see what the waker
    /// wrote before waking (the `Waker` contract: every wake, coalesced or
    /// not, happens before the poll it leads to). A plain load would not do:
    /// the waker's store to its data and its load of the word could pass the
    /// loop's poll start and its read of the data (store buffering, seen on
    /// x86 too), and the poll would miss the data with no wake left to come.
    /// Only a write takes part in the word's order, so the poll start's
    /// acquire pairs with it. The loom model `a_coalesced_wake_is_seen_by_the_next_poll`
    /// finds that lost wake when this is a load. A complete task is never
    /// polled again, so there a load is enough.
    pub(crate) fn transition_to_scheduled(&self) -> Wake {
        match self.update(|s| {
            if s.has(COMPLETE) {
                None
            } else {
                Some(s.0 | SCHEDULED)
            }
        }) {
            Err(_) => Wake::Nothing,
            Ok(before) if before.has(SCHEDULED) => Wake::Nothing,
            Ok(before) if before.has(RUNNING) => Wake::Owed,
            Ok(_) => Wake::Push,
        }
    }

    /// **poll start** (the loop): clear `SCHEDULED`, set `RUNNING`. The acquire
    /// half of the swap pairs with the waker's release, so the poll sees
    /// everything written before the wake.
    pub(crate) fn transition_to_running(&self) -> StartPoll {
        match self.update(|s| {
            if s.has(COMPLETE) || s.has(RUNNING) {
                None
            } else {
                Some((s.0 & !SCHEDULED) | RUNNING)
            }
        }) {
            Ok(before) if before.has(CANCELLED) => StartPoll::Cancel,
            Ok(_) => StartPoll::Poll,
            Err(_) => StartPoll::Done,
        }
    }

    /// **poll end, `Pending`** (the loop): clear `RUNNING`. Returns true if a
    /// wake (or an abort) came during the poll, so the loop must push the task
    /// again — it is still marked `SCHEDULED`, so nobody else will.
    pub(crate) fn transition_to_idle(&self) -> bool {
        let before = self
            .update(|s| Some(s.0 & !RUNNING))
            .expect("the update always applies");
        debug_assert!(
            before.has(RUNNING),
            "poll ended on a task not running: {before:?}"
        );
        before.has(SCHEDULED)
    }

    /// **poll end, finished** (the loop; the output is already written):
    /// set `COMPLETE`, clear `RUNNING` and `SCHEDULED`, in one release step.
    /// Returns the word as it was, so the loop knows whether anyone will read
    /// the output (`JOIN_INTEREST`) and whether to wake them (`JOIN_WAKER`).
    pub(crate) fn transition_to_complete(&self) -> Snapshot {
        let before = self
            .update(|s| Some((s.0 & !(RUNNING | SCHEDULED)) | COMPLETE))
            .expect("the update always applies");
        debug_assert!(
            before.has(RUNNING),
            "completed a task not running: {before:?}"
        );
        before
    }

    /// **abort** (any thread): set `CANCELLED` and schedule the task, so the
    /// loop drops its future on its own thread. Says, as a wake does, whether
    /// the caller must push it (it was idle). A complete task is left alone.
    pub(crate) fn transition_to_cancelled(&self) -> Wake {
        match self.update(|s| {
            if s.has(COMPLETE) || s.has(CANCELLED) {
                None
            } else {
                Some(s.0 | CANCELLED | SCHEDULED)
            }
        }) {
            Err(_) => Wake::Nothing,
            Ok(before) if before.has(SCHEDULED) => Wake::Nothing,
            Ok(before) if before.has(RUNNING) => Wake::Owed,
            Ok(_) => Wake::Push,
        }
    }

    /// **shutdown** (dropping the runtime, on the loop's thread): take the
    /// future to drop it. Fails if the task is complete or being polled.
    pub(crate) fn transition_to_shutdown(&self) -> bool {
        self.update(|s| {
            if s.has(COMPLETE) || s.has(RUNNING) {
                None
            } else {
                Some(s.0 | RUNNING | CANCELLED)
            }
        })
        .is_ok()
    }

    /// **`JoinHandle` dropped**: clear `JOIN_INTEREST` (and `JOIN_WAKER`,
    /// taking the slot back so the handle can drop its waker). `Err` if the
    /// task is already complete: then the output is the handle's, and the
    /// handle must drop it itself.
    pub(crate) fn unset_join_interest(&self) -> Result<Snapshot, Snapshot> {
        self.update(|s| {
            if s.has(COMPLETE) {
                None
            } else {
                Some(s.0 & !(JOIN_INTEREST | JOIN_WAKER))
            }
        })
    }

    /// **`JoinHandle` stored its waker**: set `JOIN_WAKER`, handing the slot to
    /// the task. `Err` if the task completed meanwhile: take the output instead.
    pub(crate) fn set_join_waker(&self) -> Result<Snapshot, Snapshot> {
        self.update(|s| {
            debug_assert!(!s.has(JOIN_WAKER), "join waker set twice: {s:?}");
            if s.has(COMPLETE) {
                None
            } else {
                Some(s.0 | JOIN_WAKER)
            }
        })
    }

    /// **`JoinHandle` wants to replace its waker**: clear `JOIN_WAKER`, taking
    /// the slot back. `Err` if the task completed meanwhile (the task may be
    /// reading the slot right now): take the output instead.
    pub(crate) fn unset_join_waker(&self) -> Result<Snapshot, Snapshot> {
        self.update(|s| {
            if s.has(COMPLETE) {
                None
            } else {
                Some(s.0 & !JOIN_WAKER)
            }
        })
    }
}

#[cfg(all(test, not(feature = "loom")))]
mod tests {
    use super::*;

    #[test]
    fn a_wake_during_a_poll_is_owed_not_pushed() {
        let s = State::new();
        assert_eq!(s.transition_to_running(), StartPoll::Poll);
        assert_eq!(
            s.transition_to_scheduled(),
            Wake::Owed,
            "running: the loop pushes"
        );
        assert_eq!(
            s.transition_to_scheduled(),
            Wake::Nothing,
            "a second wake adds nothing"
        );
        assert!(s.transition_to_idle(), "the poll ends owing a push");
        assert_eq!(s.transition_to_running(), StartPoll::Poll);
        assert!(!s.transition_to_idle());
        assert_eq!(
            s.transition_to_scheduled(),
            Wake::Push,
            "idle: the waker pushes"
        );
    }

    #[test]
    fn abort_of_an_idle_task_schedules_its_cancellation() {
        let s = State::new();
        assert_eq!(s.transition_to_running(), StartPoll::Poll);
        assert!(!s.transition_to_idle());
        assert_eq!(s.transition_to_cancelled(), Wake::Push);
        assert_eq!(
            s.transition_to_cancelled(),
            Wake::Nothing,
            "aborting twice queues once"
        );
        assert_eq!(s.transition_to_running(), StartPoll::Cancel);
        let before = s.transition_to_complete();
        assert!(before.has(JOIN_INTEREST));
        assert_eq!(
            s.transition_to_scheduled(),
            Wake::Nothing,
            "complete: never queued again"
        );
        assert_eq!(s.transition_to_running(), StartPoll::Done);
    }

    #[test]
    fn the_join_waker_handoff_fails_once_complete() {
        let s = State::new();
        assert!(s.set_join_waker().is_ok());
        assert!(s.unset_join_waker().is_ok());
        assert_eq!(s.transition_to_running(), StartPoll::Poll);
        s.transition_to_complete();
        assert!(s.set_join_waker().is_err());
        assert!(
            s.unset_join_interest().is_err(),
            "the handle now owns the output"
        );
        assert!(!s.transition_to_shutdown());
    }

    #[test]
    fn snapshots_print_their_flags() {
        assert_eq!(
            format!("{:?}", State::new().load()),
            "SCHEDULED|JOIN_INTEREST"
        );
        assert_eq!(format!("{:?}", Snapshot(0)), "idle");
    }
}
