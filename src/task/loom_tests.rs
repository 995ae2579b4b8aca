//! Model checks of the task's state word, with loom.
//!
//! A unit test runs one interleaving of two threads — whichever the OS
//! happens to pick. loom runs the test body under *every* interleaving of its
//! atomic operations (up to a bound on preemptions), and lets a load return
//! an older value where the memory model allows it (not every reordering:
//! loom's docs say which it cannot produce). Its `UnsafeCell` records who
//! touched the cell and when: two accesses not ordered by a happens-before
//! edge are reported as a data race.
//!
//! The models use the real [`State`] (with the `loom` feature its word is
//! loom's `AtomicUsize`) and a small task beside it, [`Mini`], that follows
//! the same protocol as `task/raw.rs` step by step — the same transitions, in
//! the same order, guarding the same two cells (the stage and the join waker
//! slot) — without the runtime around it (no run queue thread, no trace, no
//! `catch_unwind`). Where `raw.rs` changes its protocol, change `Mini` too.
//!
//! Run them (release: loom explores thousands of interleavings per test):
//!
//! ```text
//! LOOM_MAX_PREEMPTIONS=2 cargo test --release --features loom --lib loom_tests
//! ```

use std::ptr;

use loom::cell::UnsafeCell;
use loom::sync::atomic::AtomicUsize;
use loom::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use loom::sync::Arc;
use loom::thread;

use super::state::{StartPoll, State, Wake, COMPLETE, JOIN_INTEREST, JOIN_WAKER};

/// Run `body` under every interleaving loom finds, with at most two
/// preemptions per run unless `LOOM_MAX_PREEMPTIONS` says otherwise (loom's
/// docs: two or three catch most bugs; the suite passes at five too).
fn model(body: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(2);
    }
    builder.check(body);
}

/// A count shared between a model and what it watches.
#[derive(Clone)]
struct Counter(Arc<AtomicUsize>);

impl Default for Counter {
    fn default() -> Counter {
        Counter(Arc::new(AtomicUsize::new(0)))
    }
}

impl Counter {
    fn bump(&self) {
        self.0.fetch_add(1, Relaxed);
    }
    fn get(&self) -> usize {
        self.0.load(Relaxed)
    }
}

/// A value that counts its drops: "dropped exactly once" is `drops.get() == 1`.
struct Tracked(Counter);

impl Drop for Tracked {
    fn drop(&mut self) {
        self.0.bump();
    }
}

/// The spawned future: ready once the event it waits for has happened
/// (`Mini::event`, set by another thread before it wakes the task).
struct Fut {
    outputs_made: Counter,
    output_drops: Counter,
    _drops: Tracked,
}

impl Fut {
    fn poll(&mut self, event_happened: bool) -> Option<Tracked> {
        event_happened.then(|| {
            self.outputs_made.bump();
            Tracked(self.output_drops.clone())
        })
    }
}

/// What `JoinHandle::await` gives: the output, or "cancelled".
type Output = Result<Tracked, Cancelled>;

#[derive(Debug)]
struct Cancelled;

/// `raw.rs`'s `Stage`.
enum Stage {
    Running(Fut),
    Finished(Output),
    Consumed,
}

/// The waker of whoever awaits the `JoinHandle`: counts its wakes; two
/// wakers with the same `id` are "the same task" (`Waker::will_wake`).
#[derive(Clone)]
struct JoinWaker {
    id: usize,
    wakes: Counter,
}

/// What the test can read once every thread has finished.
#[derive(Clone, Default)]
struct Counts {
    future_drops: Counter,
    outputs_made: Counter,
    output_drops: Counter,
    task_drops: Counter,
}

/// The task of `raw.rs`, reduced to its protocol.
struct Mini {
    state: State,
    stage: UnsafeCell<Stage>,
    join_waker: UnsafeCell<Option<JoinWaker>>,
    /// What the future waits for; whoever sets it wakes the task afterwards.
    event: AtomicUsize,
    /// Entries on the run queue right now (`schedule` adds one, `pop` takes it).
    /// Relaxed on purpose: the real queue synchronises as well, but here
    /// only the state word may order the accesses to the cells, so loom
    /// checks the word alone.
    queued: AtomicUsize,
    /// Every push, by anyone, over the whole run.
    pushes: Counter,
    _drops: Tracked,
}

impl Mini {
    /// `Core::spawn`: a new task, already marked `SCHEDULED` and pushed.
    fn spawn(counts: &Counts) -> (Arc<Mini>, JoinHandle) {
        let future = Fut {
            outputs_made: counts.outputs_made.clone(),
            output_drops: counts.output_drops.clone(),
            _drops: Tracked(counts.future_drops.clone()),
        };
        let task = Arc::new(Mini {
            state: State::new(),
            stage: UnsafeCell::new(Stage::Running(future)),
            join_waker: UnsafeCell::new(None),
            event: AtomicUsize::new(0),
            queued: AtomicUsize::new(0),
            pushes: Counter::default(),
            _drops: Tracked(counts.task_drops.clone()),
        });
        task.schedule();
        let handle = JoinHandle {
            task: Some(task.clone()),
        };
        (task, handle)
    }

    /// `Shared::schedule`: push on the run queue — never twice.
    fn schedule(&self) {
        let before = self.queued.fetch_add(1, Relaxed);
        assert_eq!(before, 0, "a task is on the run queue at most once");
        self.pushes.bump();
    }

    /// The loop takes the task off the run queue; false if it was not on it.
    fn pop(&self) -> bool {
        self.queued
            .fetch_update(Relaxed, Relaxed, |n| n.checked_sub(1))
            .is_ok()
    }

    /// The loop's turn, reduced: run the task as long as it is on the queue.
    fn run_queued(&self) {
        while self.pop() {
            self.run();
        }
    }

    /// Another thread makes the event happen, then wakes the task (a socket
    /// becomes readable, a channel gets a message).
    fn fire_event(&self) -> Wake {
        self.event.store(1, Release);
        self.wake()
    }

    /// `ArcWake::wake_by_ref` + `after_wake`.
    fn wake(&self) -> Wake {
        let wake = self.state.transition_to_scheduled();
        if wake == Wake::Push {
            self.schedule();
        }
        wake
    }

    /// `JoinTarget::abort`.
    fn abort(&self) -> Wake {
        let wake = self.state.transition_to_cancelled();
        if wake == Wake::Push {
            self.schedule();
        }
        wake
    }

    /// `Runnable::run`: poll start, then the poll.
    fn run(&self) {
        match self.state.transition_to_running() {
            StartPoll::Done => {}
            StartPoll::Cancel => self.cancel(),
            StartPoll::Poll => self.poll_running(),
        }
    }

    /// `Runnable::run` after the poll start: poll the future, then end the
    /// poll (`Pending`: idle, and re-queue a wake owed; `Ready`: complete).
    fn poll_running(&self) {
        let event_happened = self.event.load(Acquire) == 1;
        let polled = self.stage.with_mut(|stage| {
            // SAFETY: the loop holds RUNNING: the stage is its alone.
            match unsafe { &mut *stage } {
                Stage::Running(future) => future.poll(event_happened),
                _ => panic!("a task is polled only while its stage holds the future"),
            }
        });
        match polled {
            None => {
                if self.state.transition_to_idle() {
                    self.schedule();
                }
            }
            Some(output) => {
                self.drop_stage();
                self.complete(Ok(output));
            }
        }
    }

    /// `Task::drop_stage`: drop whatever the stage holds, in place.
    fn drop_stage(&self) {
        // SAFETY: every caller owns the stage: the loop while RUNNING, or
        // the handle once COMPLETE with JOIN_INTEREST. loom checks it.
        self.stage
            .with_mut(|stage| unsafe { *stage = Stage::Consumed });
    }

    /// `Task::complete`: write the result, set COMPLETE, then either drop the
    /// output (nobody will read it) or wake the handle's stored waker.
    fn complete(&self, result: Output) {
        // SAFETY: RUNNING: the stage is ours, and it is `Consumed`.
        self.stage
            .with_mut(|stage| unsafe { ptr::write(stage, Stage::Finished(result)) });
        let before = self.state.transition_to_complete();
        if !before.has(JOIN_INTEREST) {
            self.drop_stage();
        } else if before.has(JOIN_WAKER) {
            self.join_waker.with(|slot| {
                // SAFETY: JOIN_WAKER was set when we completed: the handle
                // no longer writes the slot; we only read it.
                if let Some(waker) = unsafe { &*slot } {
                    waker.wakes.bump();
                }
            });
        }
    }

    /// `Task::cancel`: drop the future, complete with "cancelled".
    fn cancel(&self) {
        self.drop_stage();
        self.complete(Err(Cancelled));
    }

    /// `Runnable::shutdown` (dropping the runtime, on the loop's thread).
    fn shutdown(&self) {
        if self.state.transition_to_shutdown() {
            self.cancel();
        }
    }

    /// `JoinHandle`'s side: take the output once COMPLETE was seen.
    fn take_output(&self) -> Output {
        self.stage.with_mut(|stage| {
            // SAFETY: COMPLETE (acquired) and the join interest is ours.
            match unsafe { ptr::replace(stage, Stage::Consumed) } {
                Stage::Finished(result) => result,
                _ => panic!("the output was taken twice"),
            }
        })
    }
}

impl Drop for Mini {
    /// The last `Arc` drops the task, and with it both cells. Touch them
    /// explicitly, so loom checks that this comes after every other access,
    /// on whichever thread the last reference goes.
    fn drop(&mut self) {
        self.stage.with_mut(|stage| {
            // SAFETY: `&mut self`: nobody else can reach the task.
            let stage = unsafe { &*stage };
            // (Not while a failed assertion unwinds: a second panic would
            // abort the run and hide the first one's message.)
            assert!(
                std::thread::panicking() || matches!(stage, Stage::Consumed),
                "every task here completes, and its output is taken or dropped"
            );
        });
        self.join_waker.with_mut(|slot| {
            // SAFETY: as above.
            drop(unsafe { (*slot).take() });
        });
    }
}

/// `JoinHandle` over `JoinTarget::poll_join` and `drop_join_handle`.
struct JoinHandle {
    task: Option<Arc<Mini>>,
}

impl JoinHandle {
    fn task(&self) -> &Mini {
        self.task.as_ref().expect("handle alive")
    }

    /// `JoinTarget::poll_join`, line for line: `None` is `Pending`.
    fn poll(&mut self, waker: &JoinWaker) -> Option<Output> {
        let task = self.task();
        let snapshot = task.state.load();
        if !snapshot.has(COMPLETE) {
            if snapshot.has(JOIN_WAKER) {
                // SAFETY: with JOIN_WAKER set the loop may only read the slot.
                let same = task.join_waker.with(|slot| {
                    unsafe { &*slot }
                        .as_ref()
                        .is_some_and(|stored| stored.id == waker.id)
                });
                if same {
                    return None;
                }
                if task.state.unset_join_waker().is_err() {
                    return Some(task.take_output());
                }
            }
            // SAFETY: JOIN_WAKER clear, not complete: the slot is the handle's.
            let old = task
                .join_waker
                .with_mut(|slot| unsafe { (*slot).replace(waker.clone()) });
            let handed = task.state.set_join_waker();
            drop(old);
            if handed.is_ok() {
                return None;
            }
        }
        Some(task.take_output())
    }

    /// `JoinHandle::abort`.
    fn abort(&self) -> Wake {
        self.task().abort()
    }
}

impl Drop for JoinHandle {
    /// `JoinTarget::drop_join_handle`, then the handle's `Arc` goes.
    fn drop(&mut self) {
        let task = self.task.take().expect("dropped once");
        match task.state.unset_join_interest() {
            Ok(before) => {
                if before.has(JOIN_WAKER) {
                    // SAFETY: we cleared JOIN_WAKER before COMPLETE: ours again.
                    let old = task.join_waker.with_mut(|slot| unsafe { (*slot).take() });
                    drop(old);
                }
            }
            Err(_) => task.drop_stage(),
        }
    }
}

fn waker(id: usize) -> JoinWaker {
    JoinWaker {
        id,
        wakes: Counter::default(),
    }
}

/// Spawn, poll once (`Pending`: the event has not happened), so the task is
/// idle, as a task waiting on a socket or a timer is.
fn spawn_idle(counts: &Counts) -> (Arc<Mini>, JoinHandle) {
    let (task, handle) = Mini::spawn(counts);
    task.run_queued();
    assert_eq!(
        task.state.load().0 & (COMPLETE | JOIN_INTEREST),
        JOIN_INTEREST
    );
    (task, handle)
}

/// Every future made was dropped once, every output made was dropped once.
fn assert_all_dropped_once(counts: &Counts) {
    assert_eq!(
        counts.future_drops.get(),
        1,
        "the future is dropped exactly once"
    );
    assert_eq!(
        counts.output_drops.get(),
        counts.outputs_made.get(),
        "every output is dropped exactly once"
    );
    assert_eq!(counts.task_drops.get(), 1, "the task itself is freed");
}

/// A wake from another thread lands while the loop ends a `Pending` poll.
/// Whatever the order, the task goes back on the queue exactly once: the
/// waker pushes it (the poll had ended) or the loop does (the wake was owed),
/// never both, never neither — and the poll after it sees the event.
#[test]
fn a_wake_racing_the_end_of_a_poll_is_queued_exactly_once() {
    model(|| {
        let counts = Counts::default();
        let (task, mut handle) = spawn_idle(&counts);
        // Something else woke it; the loop takes it and starts the poll.
        assert_eq!(task.wake(), Wake::Push);
        assert!(task.pop());
        assert_eq!(task.state.transition_to_running(), StartPoll::Poll);
        let pushes_before = task.pushes.get();

        let looped = {
            let task = task.clone();
            // The poll, then the poll end: idle, and a re-queue if a wake is owed.
            thread::spawn(move || task.poll_running())
        };
        let waker_side = {
            let task = task.clone();
            thread::spawn(move || task.fire_event())
        };
        looped.join().unwrap();
        let wake = waker_side.join().unwrap();

        let pushes = task.pushes.get() - pushes_before;
        if task.state.load().has(COMPLETE) {
            // The poll already saw the event and finished: nothing was owed.
            assert_eq!(
                pushes, 0,
                "a finished task is never queued (wake: {wake:?})"
            );
        } else {
            // `Push`: the waker queued it; `Owed`: the loop did. One, not two.
            assert_eq!(pushes, 1, "queued exactly once (wake: {wake:?})");
            assert_eq!(task.queued.load(Relaxed), 1);
        }
        // The next turn: the task runs again and, seeing the event, finishes.
        task.run_queued();
        assert!(task.state.load().has(COMPLETE), "the wake was not lost");
        assert!(handle.poll(&waker(1)).expect("complete").is_ok());
        drop((handle, task));
        assert_all_dropped_once(&counts);
    });
}

/// A wake from another thread finds the task already queued (so it adds
/// nothing — the wakes coalesce), while the loop takes the task and polls
/// it. The std `Waker` contract: every wake, coalesced or not, happens
/// before the poll it leads to, so that poll sees what the waker wrote.
#[test]
fn a_coalesced_wake_is_seen_by_the_next_poll() {
    model(|| {
        let counts = Counts::default();
        let (task, mut handle) = spawn_idle(&counts);
        assert_eq!(task.wake(), Wake::Push, "queued by some other wake");

        let looped = {
            let task = task.clone();
            thread::spawn(move || task.run_queued())
        };
        let waker_side = {
            let task = task.clone();
            thread::spawn(move || task.fire_event())
        };
        looped.join().unwrap();
        waker_side.join().unwrap();

        task.run_queued();
        assert!(
            task.state.load().has(COMPLETE),
            "a wake was lost: the last poll did not see the event"
        );
        assert!(handle.poll(&waker(1)).expect("complete").is_ok());
        drop((handle, task));
        assert_all_dropped_once(&counts);
    });
}

/// `abort` on another thread while the loop polls a task that is finishing
/// (`ready`) or not. Exactly one outcome reaches the handle; the future is
/// dropped exactly once, on the loop; an output that was made is dropped once.
fn abort_racing_a_poll(ready: bool) {
    model(move || {
        let counts = Counts::default();
        let (task, mut handle) = spawn_idle(&counts);
        if ready {
            task.event.store(1, Release);
        }
        assert_eq!(task.wake(), Wake::Push);

        let looped = {
            let task = task.clone();
            thread::spawn(move || task.run_queued())
        };
        let aborted = handle.abort();
        looped.join().unwrap();

        // The next turn runs whatever the abort queued or the loop re-queued.
        task.run_queued();
        assert!(
            task.state.load().has(COMPLETE),
            "abort always ends the task"
        );
        let result = handle.poll(&waker(1)).expect("complete");
        match &result {
            Ok(_) => assert!(ready, "only a finished poll gives an output"),
            Err(Cancelled) => assert_eq!(counts.outputs_made.get(), 0),
        }
        if ready {
            // The task was never idle (queued, running, then complete), so
            // the abort never pushes it: the loop does, or nothing needs to.
            assert_ne!(aborted, Wake::Push);
        }
        drop((result, handle, task));
        assert_all_dropped_once(&counts);
    });
}

#[test]
fn abort_racing_completion_has_exactly_one_outcome() {
    abort_racing_a_poll(true);
}

#[test]
fn abort_racing_a_pending_poll_cancels_the_task() {
    abort_racing_a_poll(false);
}

/// The handle, on its own thread, stores a waker, replaces it with another,
/// polls again with the same one (the `will_wake` shortcut reads the slot
/// while the loop may read it too), while the loop completes the task. No
/// race on the slot or the stage; and the handle either got the output or
/// its last waker was woken.
#[test]
fn the_join_waker_handoff_never_loses_the_output() {
    model(|| {
        let counts = Counts::default();
        let (task, mut handle) = spawn_idle(&counts);
        task.event.store(1, Release);
        assert_eq!(task.wake(), Wake::Push);

        let looped = {
            let task = task.clone();
            thread::spawn(move || task.run_queued())
        };
        let joiner = thread::spawn(move || {
            let (first, second) = (waker(1), waker(2));
            let result = [&first, &second, &second]
                .into_iter()
                .find_map(|w| handle.poll(w));
            (handle, result, second)
        });
        looped.join().unwrap();
        let (mut handle, result, last_waker) = joiner.join().unwrap();

        let result = match result {
            Some(result) => result,
            None => {
                assert_eq!(last_waker.wakes.get(), 1, "pending, so its waker was woken");
                handle
                    .poll(&last_waker)
                    .expect("woken: the output is there")
            }
        };
        assert!(result.is_ok());
        drop((result, handle, task));
        assert_all_dropped_once(&counts);
    });
}

/// The handle is dropped on one thread while the loop completes the task on
/// another: the output is dropped exactly once — by the loop (the handle
/// went first) or by the handle (the task finished first). With a waker
/// stored, dropping the handle also takes the slot back, racing the loop's
/// read of it.
fn dropping_the_handle_racing_completion(with_waker: bool) {
    model(move || {
        let counts = Counts::default();
        let (task, mut handle) = spawn_idle(&counts);
        if with_waker {
            assert!(handle.poll(&waker(1)).is_none());
        }
        task.event.store(1, Release);
        assert_eq!(task.wake(), Wake::Push);

        let looped = {
            let task = task.clone();
            thread::spawn(move || task.run_queued())
        };
        let dropper = thread::spawn(move || drop(handle));
        looped.join().unwrap();
        dropper.join().unwrap();

        assert_eq!(counts.outputs_made.get(), 1);
        assert_eq!(counts.output_drops.get(), 1, "dropped by exactly one side");
        drop(task);
        assert_all_dropped_once(&counts);
    });
}

#[test]
fn dropping_the_handle_racing_completion_drops_the_output_once() {
    dropping_the_handle_racing_completion(false);
}

#[test]
fn dropping_the_handle_racing_completion_with_a_waker_stored() {
    dropping_the_handle_racing_completion(true);
}

/// The loop completes the task and lets go of it, while another thread
/// holds the handle and a waker (an `Arc` of the task, as a timer holds one)
/// and drops them. Whichever thread drops the last `Arc` frees the task —
/// after every access to the stage and the slot, on both threads.
#[test]
fn the_last_reference_may_go_on_another_thread() {
    model(|| {
        let counts = Counts::default();
        let (task, mut handle) = spawn_idle(&counts);
        let join_waker = waker(1);
        assert!(handle.poll(&join_waker).is_none());
        task.event.store(1, Release);
        assert_eq!(task.wake(), Wake::Push);
        let a_waker = task.clone();

        let looped = thread::spawn(move || {
            task.run_queued();
            drop(task); // the run queue's reference
        });
        let other = thread::spawn(move || {
            let result = handle.poll(&join_waker);
            drop(handle);
            let _ = a_waker.wake();
            drop(a_waker);
            result.map(|r| r.is_ok())
        });
        looped.join().unwrap();
        let result = other.join().unwrap();
        assert!(result.unwrap_or(true));
        assert_all_dropped_once(&counts);
    });
}

/// Dropping the runtime (`shutdown`, on the loop's thread) while another
/// thread wakes the task: the future is dropped exactly once, a queue entry
/// the wake left behind is stale and does nothing, and the handle learns the
/// task was cancelled.
#[test]
fn shutdown_racing_a_wake_cancels_once() {
    model(|| {
        let counts = Counts::default();
        let (task, mut handle) = spawn_idle(&counts);

        let looped = {
            let task = task.clone();
            thread::spawn(move || task.shutdown())
        };
        let waker_side = {
            let task = task.clone();
            thread::spawn(move || task.fire_event())
        };
        looped.join().unwrap();
        waker_side.join().unwrap();

        // The shutdown sweep takes what the wake queued: a stale entry.
        task.run_queued();
        assert!(matches!(handle.poll(&waker(1)), Some(Err(Cancelled))));
        assert_eq!(counts.outputs_made.get(), 0);
        drop((handle, task));
        assert_all_dropped_once(&counts);
    });
}
