//! Lesson 06's exercises: results, aborts and re-raised panics.

use std::time::Duration;

use evloop::time::sleep;
use evloop::JoinHandle;

use crate::{count, paused, secs};

/// Lesson 06's `cook`, without the printing: the eggs panic.
async fn cook(dish: &'static str, steps: u32, unit: Duration) -> String {
    sleep(unit * steps).await;
    if dish == "eggs" {
        panic!("dropped the {dish}");
    }
    format!("{dish} on the plate")
}

fn spawn_breakfast(unit: Duration) -> Vec<JoinHandle<String>> {
    [("toast", 1), ("eggs", 2), ("coffee", 3)]
        .into_iter()
        .map(|(dish, steps)| {
            evloop::task::Builder::new()
                .name(dish)
                .spawn(cook(dish, steps, unit))
        })
        .collect()
}

// ANCHOR: ex1
#[test]
fn join_all_of_handles_is_gather_with_return_exceptions() {
    let rt = paused();
    let (results, done_at_start, done_at_toast) = rt.block_on(async {
        let handles = spawn_breakfast(secs(1));
        // task.done(): nothing has run yet.
        let done_at_start: Vec<bool> = handles.iter().map(JoinHandle::is_finished).collect();
        sleep(secs(1)).await; // toast is ready at 1 s
        evloop::yield_now().await; // (let the toast's last poll run)
        let done_at_toast: Vec<bool> = handles.iter().map(JoinHandle::is_finished).collect();
        (
            evloop::join_all(handles).await,
            done_at_start,
            done_at_toast,
        )
    });
    assert_eq!(done_at_start, [false, false, false]);
    assert_eq!(done_at_toast, [true, false, false]);
    // All three results at once, at 3 s, in the order given.
    assert_eq!(rt.elapsed(), secs(3));
    assert_eq!(results[0].as_deref().unwrap(), "toast on the plate");
    assert!(results[1].as_ref().unwrap_err().is_panic());
    assert_eq!(results[2].as_deref().unwrap(), "coffee on the plate");
    // join_all is woken by each finish (2 s and 3 s; at 1 s main was sleeping).
    assert_eq!(count(&rt, "wake main ← task eggs"), 1);
    assert_eq!(count(&rt, "wake main ← task coffee"), 1);
}
// ANCHOR_END: ex1

// ANCHOR: ex2
#[test]
fn coffee_aborted_at_once_is_cancelled_before_it_ever_runs() {
    let rt = paused();
    let results = rt.block_on(async {
        let handles = spawn_breakfast(secs(1));
        handles[2].abort();
        evloop::join_all(handles).await
    });
    let coffee = results[2].as_ref().unwrap_err();
    assert!(coffee.is_cancelled());
    assert_eq!(coffee.to_string(), "task `coffee` was cancelled");
    assert_eq!(rt.elapsed(), secs(2)); // the eggs are the last to finish now
    assert_eq!(count(&rt, "0.000s poll coffee → Cancelled"), 1);
    assert_eq!(count(&rt, "poll coffee →"), 1); // its first and only poll
}
// ANCHOR_END: ex2

// ANCHOR: ex3
#[test]
fn re_raising_the_eggs_panic_ends_the_whole_program() {
    let rt = paused();
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        rt.block_on(async {
            for handle in spawn_breakfast(secs(1)) {
                match handle.await {
                    Ok(_) => {}
                    Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                    Err(e) => panic!("{e}"),
                }
            }
        })
    }));
    let panic = outcome.expect_err("block_on panics with the eggs' panic");
    assert_eq!(panic.downcast_ref::<String>().unwrap(), "dropped the eggs");
    assert_eq!(rt.elapsed(), secs(2));
    assert_eq!(count(&rt, "poll coffee → Ready"), 0); // coffee never served
}
// ANCHOR_END: ex3
