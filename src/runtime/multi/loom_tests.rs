//! Model checks of the idle protocol (`idle.rs`), with loom.
//!
//! The race `idle.rs` exists to win: a task is queued from outside the
//! workers while the last searching worker gives up and goes to sleep. The
//! queuing side pushes, then asks whether anyone searches; the worker says
//! it no longer searches, then looks at the queues once more. If each read
//! missed the other's write, the task would sit in the injector with every
//! worker asleep. loom runs each model below under every interleaving (and
//! every older value a load may legally return), with the real [`Idle`];
//! the two fences and the queue are written here as `Scheduler::schedule`
//! and `worker::park` do them (where those change, change these too).
//! Take the two fences out and loom finds the interleaving that loses the
//! task in the first model: both reads return the value from before the
//! other thread's write.
//!
//! ```text
//! LOOM_MAX_PREEMPTIONS=2 cargo test --release --features loom --lib loom_tests
//! ```

use loom::sync::atomic::Ordering::{Acquire, Relaxed, Release, SeqCst};
use loom::sync::atomic::{fence, AtomicUsize};
use loom::sync::Arc;
use loom::thread;

use super::idle::Idle;

fn model(body: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(2);
    }
    builder.check(body);
}

/// `Scheduler::schedule` from a thread that is not a worker: push onto the
/// injector (here a count), fence, wake a sleeper if one should wake.
fn push_from_outside(idle: &Idle, queue: &AtomicUsize, woken: &AtomicUsize) {
    queue.fetch_add(1, Release);
    fence(SeqCst);
    if idle.worker_to_notify().is_some() {
        woken.fetch_add(1, Relaxed);
    }
}

/// `worker::park`'s first half, for worker `index` that searched and found
/// nothing: say so, and if it was the last searcher, fence and look again;
/// finding the task after all, it wakes a worker (maybe itself).
fn go_to_sleep(index: usize, idle: &Idle, queue: &AtomicUsize, woken: &AtomicUsize) {
    if idle.transition_worker_to_parked(index, true) {
        fence(SeqCst);
        if queue.load(Acquire) > 0 && idle.worker_to_notify().is_some() {
            woken.fetch_add(1, Relaxed);
        }
    }
}

/// One worker searches, finds nothing, and sleeps, while a task is queued
/// from outside: either the worker saw the task, or somebody was woken.
#[test]
fn a_task_from_outside_never_sleeps_with_every_worker() {
    model(|| {
        let idle = Arc::new(Idle::new(1));
        assert!(idle.transition_worker_to_searching());
        let queue = Arc::new(AtomicUsize::new(0));
        let woken = Arc::new(AtomicUsize::new(0));
        let worker = {
            let (idle, queue, woken) = (idle.clone(), queue.clone(), woken.clone());
            thread::spawn(move || {
                // The search: the injector, once.
                if queue.load(Acquire) > 0 {
                    return true;
                }
                go_to_sleep(0, &idle, &queue, &woken);
                false
            })
        };
        push_from_outside(&idle, &queue, &woken);
        let found_while_searching = worker.join().unwrap();
        assert!(
            found_while_searching || woken.load(Relaxed) > 0,
            "the task is queued and every worker sleeps"
        );
    });
}

/// Two tasks queued at once from two threads while both workers sleep:
/// exactly one worker is woken (it comes up searching, and will find both) —
/// not none, and not one per task.
#[test]
fn a_burst_from_outside_wakes_one_sleeper() {
    model(|| {
        let idle = Arc::new(Idle::new(2));
        for w in 0..2 {
            idle.transition_worker_to_parked(w, false);
        }
        let queue = Arc::new(AtomicUsize::new(0));
        let woken = Arc::new(AtomicUsize::new(0));
        let other = {
            let (idle, queue, woken) = (idle.clone(), queue.clone(), woken.clone());
            thread::spawn(move || push_from_outside(&idle, &queue, &woken))
        };
        push_from_outside(&idle, &queue, &woken);
        other.join().unwrap();
        assert_eq!(woken.load(Relaxed), 1);
        assert_eq!(idle.searching(), 1);
    });
}
