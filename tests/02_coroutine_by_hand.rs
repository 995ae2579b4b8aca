//! Lesson 02, second half, step by step: lesson 05's `task` as a hand-written
//! state machine — its states, one poll at a time, and the proof that the
//! runtime cannot tell it from the `async fn`.

use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use evloop::time::{Instant, Sleep};
use evloop::Runtime;

#[path = "../examples/02_coroutine_by_hand.rs"]
#[allow(dead_code)]
mod example;

#[path = "../examples/05_gather.rs"]
#[allow(dead_code)]
mod lesson05;

use example::{task_by_hand, TaskByHand};

const TWO_SECONDS: Duration = Duration::from_secs(2);

fn paused_runtime() -> Runtime {
    Runtime::builder()
        .start_paused(true)
        .trace(true)
        .build()
        .expect("the OS gives us a poller")
}

/// A waker that counts its wakes: it stands in for the event loop.
#[derive(Default)]
struct CountingWaker(AtomicUsize);

impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

fn state(machine: &TaskByHand) -> &'static str {
    match machine {
        TaskByHand::Start { .. } => "Start",
        TaskByHand::Sleeping { .. } => "Sleeping",
        TaskByHand::Done => "Done",
    }
}

#[test]
fn the_machine_moves_start_sleeping_done_one_poll_at_a_time() {
    let rt = paused_runtime();
    let counter = Arc::new(CountingWaker::default());
    let waker = Waker::from(counter.clone());
    let mut cx = Context::from_waker(&waker);

    // Calling the "function" runs nothing: the value only holds its arguments.
    let start = {
        let _in_runtime = rt.enter();
        Instant::now()
    };
    let mut machine = task_by_hand("A", TWO_SECONDS, start);
    assert_eq!(state(&machine), "Start");

    // Poll 1 runs the body up to the await: "started" is printed, the sleep
    // is created and polled (it leaves a deadline and our waker in the
    // wheel), and the machine stops in `Sleeping`, saying Pending.
    {
        let _in_runtime = rt.enter();
        assert_eq!(Pin::new(&mut machine).poll(&mut cx), Poll::Pending);
    }
    assert_eq!(state(&machine), "Sleeping");
    assert_eq!(counter.0.load(Ordering::SeqCst), 0, "nobody woke us yet");

    // One turn of the loop: nothing is ready, so the paused clock jumps to
    // 2 s and the timer fires — with *our* waker, the one `.await` passed down.
    let turn = rt.turn();
    assert_eq!((turn.timers_fired, turn.now), (1, TWO_SECONDS));
    assert_eq!(counter.0.load(Ordering::SeqCst), 1, "the timer woke us");

    // Poll 2 resumes at the await: the sleep is ready, the rest of the body
    // runs, and the machine returns its value.
    {
        let _in_runtime = rt.enter();
        assert_eq!(Pin::new(&mut machine).poll(&mut cx), Poll::Ready("A"));
    }
    assert_eq!(state(&machine), "Done");

    // Poll 3 is a bug in the poller; the machine says so, as compiled code does.
    let again = catch_unwind(AssertUnwindSafe(|| {
        let _in_runtime = rt.enter();
        let _ = Pin::new(&mut machine).poll(&mut cx);
    }));
    let message = again.expect_err("polling a finished machine panics");
    assert_eq!(
        message.downcast_ref::<&str>(),
        Some(&"`async fn` resumed after completion")
    );
}

#[test]
fn the_runtime_cannot_tell_the_machine_from_the_async_fn() {
    // Lesson 05's own gather (its own `async fn task`), then the same gather
    // spawning the hand-made machine, each on its own paused, tracing runtime.
    let rt = paused_runtime();
    let compiled = rt.block_on(lesson05::gather(TWO_SECONDS));
    let compiled_timeline = rt.trace().timeline();

    let rt = paused_runtime();
    let by_hand = rt.block_on(example::gather_with(TWO_SECONDS, task_by_hand));
    let by_hand_timeline = rt.trace().timeline();

    // And this chapter's copy of the `async fn`: the same as lesson 05's.
    let rt = paused_runtime();
    rt.block_on(example::gather_with(TWO_SECONDS, example::task));
    assert_eq!(rt.trace().timeline(), compiled_timeline);

    // Same results, and the same trace byte for byte: the same spawns, the
    // same two polls per task, the same timer wakes at 2.000 s.
    let ok = |r: Vec<Result<&'static str, evloop::JoinError>>| -> Vec<&'static str> {
        r.into_iter().map(|r| r.expect("no task fails")).collect()
    };
    assert_eq!(ok(compiled), ["A", "B", "C"]);
    assert_eq!(ok(by_hand), ["A", "B", "C"]);
    assert_eq!(compiled_timeline, by_hand_timeline);
    // The chapter shows lesson 05's timeline file as the trace of both.
    let shown = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/lessons/img/05-gather.timeline.txt"
    ))
    .expect("lesson 05's timeline is checked in");
    assert_eq!(by_hand_timeline, shown);
    assert_eq!(compiled_timeline.matches("poll   A →").count(), 2);
    assert!(compiled_timeline.contains("2.000s  wake   A ← timer"));
}

#[test]
fn both_futures_hold_their_sleep_inline() {
    // No heap: each future is one value holding the awaited `Sleep` itself,
    // so each is at least as big as a `Sleep` plus the task's name.
    let (compiled, by_hand) = example::sizes();
    println!("async fn: {compiled} bytes, by hand: {by_hand} bytes");
    let floor = std::mem::size_of::<Sleep>() + std::mem::size_of::<&str>();
    assert!(compiled >= floor, "{compiled} < {floor}");
    assert!(by_hand >= floor, "{by_hand} < {floor}");
}

mod workers;

/// Every test above again, on worker threads (`tests/workers/mod.rs`).
#[test]
fn on_workers() {
    workers::rerun_on_workers(&[]);
}
