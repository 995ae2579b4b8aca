//! Lesson 05's exercises: gathering, and not gathering.

use std::time::Duration;

use evloop::time::sleep;

use crate::{count, paused, secs};

/// Lesson 05's `task`, without the printing.
async fn task(name: &'static str, seconds: Duration) -> &'static str {
    sleep(seconds).await;
    name
}

// ANCHOR: ex1
/// Awaited one after the other. `task(..).await` gives a `&str`, not a
/// `Result<&str, JoinError>`: the function's return type changes with it.
async fn one_by_one(seconds: Duration) -> Vec<&'static str> {
    let mut results = Vec::new();
    for name in ["A", "B", "C"] {
        results.push(task(name, seconds).await);
    }
    results
}

#[test]
fn awaiting_in_turn_takes_six_seconds_and_spawns_nothing() {
    let rt = paused();
    assert_eq!(rt.block_on(one_by_one(secs(2))), ["A", "B", "C"]);
    assert_eq!(rt.elapsed(), secs(6));
    assert_eq!(count(&rt, "spawn"), 0);
    for jump in ["2.000s", "4.000s", "6.000s"] {
        assert_eq!(count(&rt, &format!("clock jumps to {jump}")), 1);
    }
}
// ANCHOR_END: ex1

// ANCHOR: ex2
/// The plain futures, joined inside `main`. Again the results are `&str`s:
/// no task, so no `JoinError`.
async fn joined_in_one_task(seconds: Duration) -> Vec<&'static str> {
    evloop::join_all(["A", "B", "C"].map(|name| task(name, seconds))).await
}

#[test]
fn join_all_of_plain_futures_overlaps_inside_main() {
    let rt = paused();
    assert_eq!(rt.block_on(joined_in_one_task(secs(2))), ["A", "B", "C"]);
    assert_eq!(rt.elapsed(), secs(2)); // still 2 s
    assert_eq!(count(&rt, "spawn"), 0); // but only main in the trace,
    assert_eq!(count(&rt, "wake main ← timer"), 1); // woken by the timers
}
// ANCHOR_END: ex2

// ANCHOR: ex3
#[test]
fn c_waiting_three_seconds_keeps_the_order_of_results() {
    let rt = paused();
    let results = rt.block_on(async {
        let handles = [("A", 2), ("B", 2), ("C", 3)].map(|(name, s)| {
            evloop::task::Builder::new()
                .name(name)
                .spawn(task(name, secs(s)))
        });
        evloop::join_all(handles).await
    });
    let names: Vec<_> = results.into_iter().map(Result::unwrap).collect();
    assert_eq!(names, ["A", "B", "C"]); // the order given, not the order finished
    assert_eq!(rt.elapsed(), secs(3));
    assert_eq!(count(&rt, "clock jumps to 2.000s"), 1);
    assert_eq!(count(&rt, "clock jumps to 3.000s"), 1);
}
// ANCHOR_END: ex3
