//! Lesson 05, step by step: three tasks that each sleep 2 s, gathered, take 2 s — not 6.
//!
//! Every test here runs on a *paused* clock: when nothing is ready, the loop
//! jumps its virtual clock straight to the next timer. So "2 seconds" is
//! exact, and the tests finish in microseconds.

use std::time::Duration;

use evloop::time::{sleep, Instant};
use evloop::{Runtime, Turn};

#[path = "../examples/05_gather.rs"]
#[allow(dead_code)]
mod example;

const TWO_SECONDS: Duration = Duration::from_secs(2);

/// A runtime with a virtual clock that records everything it does.
fn paused_runtime() -> Runtime {
    Runtime::builder()
        .start_paused(true)
        .trace(true)
        .build()
        .expect("the OS gives us a poller")
}

#[test]
fn three_sleeping_tasks_need_two_turns_and_two_seconds() {
    let rt = paused_runtime();
    let handles: Vec<_> = ["A", "B", "C"]
        .map(|name| {
            rt.spawn_named(name, async move {
                sleep(TWO_SECONDS).await;
                name
            })
        })
        .into();

    // Spawning only queues: nothing has been polled yet, the clock has not moved.
    assert_eq!(rt.metrics().polls, 0);
    assert_eq!(rt.elapsed(), Duration::ZERO);

    // Turn 1. Step 1 polls A, B and C in the order they were queued; each runs to
    // its `sleep(..).await`, leaves a deadline in the timer wheel, and says Pending.
    // Nothing is ready any more, so step 5 jumps the clock to 2 s and all three
    // timers fire in the same turn: their tasks go back on the run queue.
    assert_eq!(
        rt.turn(),
        Turn {
            polled: names(["A", "B", "C"]),
            timers_fired: 3,
            io_events: 0,
            now: TWO_SECONDS
        }
    );

    // Turn 2. The three woken tasks are polled again; each finds its deadline
    // passed, finishes, and is done. The clock did not move: still 2 s, not 6.
    assert_eq!(
        rt.turn(),
        Turn {
            polled: names(["A", "B", "C"]),
            timers_fired: 0,
            io_events: 0,
            now: TWO_SECONDS
        }
    );
    assert!(handles.iter().all(|h| h.is_finished()));

    // Nothing is left to do: a turn now does nothing at all (and returns at once).
    assert_eq!(
        rt.turn(),
        Turn {
            polled: vec![],
            timers_fired: 0,
            io_events: 0,
            now: TWO_SECONDS
        }
    );

    // The outputs come back in the order the tasks were given.
    let results = rt.block_on(evloop::join_all(handles));
    assert_eq!(
        results.into_iter().map(Result::unwrap).collect::<Vec<_>>(),
        ["A", "B", "C"]
    );
}

#[test]
fn the_example_gathers_in_exactly_two_seconds() {
    let rt = paused_runtime();
    let (results, took) = rt.block_on(async {
        let start = Instant::now();
        let results = example::gather(TWO_SECONDS).await;
        (results, start.elapsed())
    });

    // Three 2 s waits, overlapped: 2 s on the clock, to the nanosecond.
    assert_eq!(took, TWO_SECONDS);
    let names: Vec<&str> = results
        .into_iter()
        .map(|r| r.expect("no task panics"))
        .collect();
    assert_eq!(names, ["A", "B", "C"]);

    // Three tasks, each polled twice (start, finish); three timers, and three turns:
    // main spawns the tasks, the tasks start and sleep, the tasks finish and main returns.
    let m = rt.metrics();
    assert_eq!(
        (m.tasks_spawned, m.polls, m.timers_fired, m.turns),
        (3, 6, 3, 3)
    );
}

#[test]
fn awaiting_one_after_another_takes_six_seconds() {
    // The mistake gather avoids: await each wait before starting the next.
    // Each `sleep` starts only when the previous one is done, so they add up.
    let rt = paused_runtime();
    let took = rt.block_on(async {
        let start = Instant::now();
        for _ in ["A", "B", "C"] {
            sleep(TWO_SECONDS).await;
        }
        start.elapsed()
    });
    assert_eq!(took, Duration::from_secs(6));
}

#[test]
fn the_timeline_a_learner_sees() {
    let rt = paused_runtime();
    rt.block_on(example::gather(TWO_SECONDS));

    // What to notice (the chapter walks through it):
    // - `main` spawns A, B, C, and they run only once main returns Pending.
    // - Each task is polled twice: once to start sleeping, once to finish.
    // - Nothing is ready, so the paused clock jumps straight to 2 s, and the
    //   three timers due then wake the three tasks.
    // - `main` is woken once, by A finishing; B's and C's wakes find it
    //   already queued, and a second wake of a queued task costs nothing.
    // - A poll's line is written when the poll starts, so what a poll causes
    //   (main's spawns, A's wake of main) is listed just below that poll's line.
    assert_eq!(
        timeline_lines(&rt),
        [
            "0.000s  poll   main → Pending",
            "0.000s  spawn  A",
            "0.000s  spawn  B",
            "0.000s  spawn  C",
            "0.000s  poll   A → Pending",
            "0.000s  poll   B → Pending",
            "0.000s  poll   C → Pending",
            "2.000s  clock  jumps to 2.000s",
            "2.000s  wake   A ← timer",
            "2.000s  wake   B ← timer",
            "2.000s  wake   C ← timer",
            "2.000s  poll   A → Ready",
            "2.000s  wake   main ← task A",
            "2.000s  poll   B → Ready",
            "2.000s  poll   C → Ready",
            "2.000s  poll   main → Ready",
        ]
    );
}

#[test]
fn a_paused_run_gives_the_same_timeline_byte_for_byte() {
    // No real time leaks into a paused run: same program, same timeline, every time.
    let run = || {
        let rt = paused_runtime();
        rt.block_on(example::gather(TWO_SECONDS));
        rt.trace().timeline()
    };
    let first = run();
    assert!(!first.is_empty());
    assert_eq!(first, run());
    assert_eq!(first, run());
}

#[test]
fn gather_without_spawn_is_one_task_doing_three_waits() {
    // asyncio.gather wraps each coroutine in a Task. `join_all` does not have
    // to: given plain futures, it polls all three inside the one task that
    // awaits it. Still 2 s — but the trace shows only `main`.
    let rt = paused_runtime();
    let took = rt.block_on(async {
        let start = Instant::now();
        evloop::join_all(["A", "B", "C"].map(|_| sleep(TWO_SECONDS))).await;
        start.elapsed()
    });
    assert_eq!(took, TWO_SECONDS);
    assert_eq!(rt.metrics().tasks_spawned, 0);
    assert_eq!(rt.metrics().timers_fired, 3);
    assert!(rt
        .trace()
        .timeline()
        .lines()
        .all(|line| !line.contains("spawn")));
}

#[test]
fn the_paused_clock_jumps_once_straight_to_the_deadline() {
    // No sleeping through 2 s of nothing: one jump, from 0 to the deadline.
    let rt = paused_runtime();
    rt.block_on(example::gather(TWO_SECONDS));
    let jumps: Vec<String> = timeline_lines(&rt)
        .into_iter()
        .filter(|l| l.contains("clock"))
        .collect();
    assert_eq!(jumps, ["2.000s  clock  jumps to 2.000s"]);
}

/// The timeline, one trimmed line per event.
fn timeline_lines(rt: &Runtime) -> Vec<String> {
    rt.trace()
        .timeline()
        .lines()
        .map(|line| line.trim().to_string())
        .collect()
}

fn names<const N: usize>(names: [&str; N]) -> Vec<String> {
    names.map(String::from).into()
}

mod workers;

/// Every test above again, on worker threads (`tests/workers/mod.rs`).
#[test]
fn on_workers() {
    workers::rerun_on_workers(&[]);
}
