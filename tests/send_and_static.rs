//! The chapter "spawn's Send + 'static, and detached tasks", step by step:
//! who owns a task, what dropping its `JoinHandle` does (nothing to the
//! task), and what happens to tasks still pending when `block_on` returns
//! (nothing yet) and when the runtime is dropped (they are cancelled).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use evloop::time::sleep;
use evloop::Runtime;

const ONE_SECOND: Duration = Duration::from_secs(1);

fn paused_runtime() -> Runtime {
    Runtime::builder()
        .start_paused(true)
        .trace(true)
        .build()
        .expect("the OS gives us a poller")
}

// ANCHOR: on_drop
/// Sets its flag when dropped: a task's `finally`. Dropping a future drops
/// its locals, so a `Guard` inside a task tells us when the task's future
/// was dropped — finished or cancelled.
struct Guard(Arc<AtomicBool>);

impl Drop for Guard {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}
// ANCHOR_END: on_drop

#[test]
fn a_dropped_handle_detaches_the_task_it_runs_on() {
    let rt = paused_runtime();
    let done = Arc::new(AtomicUsize::new(0));

    // ANCHOR: detach
    let handle = rt.spawn_named("detached", {
        let done = done.clone();
        async move {
            sleep(ONE_SECOND).await;
            done.fetch_add(1, Ordering::SeqCst);
        }
    });
    drop(handle); // no one will ever read the result; the task runs on
                  // ANCHOR_END: detach

    // Turn 1: the task is polled (it is the runtime's, not the handle's),
    // sleeps; the clock jumps to 1 s and the timer fires.
    let turn = rt.turn();
    assert_eq!(
        (turn.polled, turn.timers_fired),
        (vec!["detached".into()], 1)
    );
    // Turn 2: it runs to the end, with no one to tell.
    assert_eq!(rt.turn().polled, ["detached"]);
    assert_eq!(done.load(Ordering::SeqCst), 1);
    assert_eq!(rt.metrics().tasks_spawned, 1);
}

#[test]
fn block_on_returning_leaves_pending_tasks_and_dropping_the_runtime_cancels_them() {
    let rt = paused_runtime();
    let dropped = Arc::new(AtomicBool::new(false));
    let finished = Arc::new(AtomicBool::new(false));

    // ANCHOR: leftover
    let slow = rt.spawn_named("slow", {
        let (guard, finished) = (Guard(dropped.clone()), finished.clone());
        async move {
            let _guard = guard; // dropped with the future, however it ends
            sleep(10 * ONE_SECOND).await;
            finished.store(true, Ordering::SeqCst);
        }
    });
    // `main` is done after 1 s; `slow` wants 10.
    rt.block_on(sleep(ONE_SECOND));
    // ANCHOR_END: leftover

    // block_on returned at 1 s. `slow` is still pending — not run, not
    // cancelled: the runtime still owns it, in its list of tasks.
    assert_eq!(rt.elapsed(), ONE_SECOND);
    assert!(!slow.is_finished());
    assert!(!dropped.load(Ordering::SeqCst));

    // ANCHOR: drop_runtime
    drop(rt); // the owned-task list cancels every task: each future is dropped
    assert!(
        dropped.load(Ordering::SeqCst),
        "the task's future was dropped"
    );
    assert!(
        !finished.load(Ordering::SeqCst),
        "and never ran its last line"
    );
    // ANCHOR_END: drop_runtime
    assert!(
        slow.is_finished(),
        "a cancelled task is finished, with no output"
    );
}

#[test]
fn a_second_block_on_picks_the_pending_tasks_up_again() {
    // Tasks outlive one `block_on`: the next one drives them on.
    let rt = paused_runtime();
    let slow = rt.spawn_named("slow", async {
        sleep(10 * ONE_SECOND).await;
        "done at 10 s"
    });
    rt.block_on(sleep(ONE_SECOND));
    assert!(!slow.is_finished());
    assert_eq!(rt.block_on(slow).unwrap(), "done at 10 s");
    assert_eq!(rt.elapsed(), 10 * ONE_SECOND);
}

#[test]
fn evloop_run_is_asyncio_run_leftover_tasks_are_cancelled() {
    // `evloop::run` builds a runtime, blocks on `main`, and drops the
    // runtime: like `asyncio.run`, whatever is still pending is cancelled.
    let dropped = Arc::new(AtomicBool::new(false));
    let guard = Guard(dropped.clone());
    evloop::run(async move {
        evloop::spawn(async move {
            let _guard = guard;
            std::future::pending::<()>().await; // would never finish
        });
        evloop::yield_now().await; // let it start
    });
    assert!(dropped.load(Ordering::SeqCst));
}

mod workers;

/// Every test above again, on worker threads (`tests/workers/mod.rs`).
#[test]
fn on_workers() {
    workers::rerun_on_workers(&[]);
}
