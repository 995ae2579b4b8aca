//! Seeded schedules and `explore`: the promises of `evloop::testing`, each
//! checked on a small program.
//!
//! - the same seed gives the same run, byte for byte (1,000 seeds, twice);
//! - different seeds give different orders, and no seed means FIFO;
//! - each of the three places the seed decides (the tasks of a turn, the
//!   timers of a tick, the events of a poll) does reorder;
//! - a seed with a real clock is refused;
//! - a hang is reported as a hang, naming the waiting tasks — also a
//!   livelock, where tasks keep each other busy and the clock never moves;
//! - a body that is not deterministic is caught when its seed is replayed.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use evloop::sync::{mpsc, oneshot};
use evloop::task::Builder as TaskBuilder;
use evloop::testing::{explore, Explore, FailureKind, Network};
use evloop::time::sleep;
use evloop::Runtime;

/// A little of everything a seed reorders: tasks ready in the same turn,
/// timers due in the same tick, and packets on two simulated connections.
async fn workload(seed: u64) -> Vec<String> {
    let (tx, mut rx) = mpsc::unbounded_channel();
    for i in 0..4u64 {
        let tx = tx.clone();
        TaskBuilder::new()
            .name(format!("worker-{i}"))
            .spawn(async move {
                sleep(Duration::from_millis(1 + i % 2)).await; // two pairs due together
                evloop::yield_now().await;
                tx.send(format!("worker-{i}")).unwrap();
            });
    }
    let net = Network::new(seed);
    for name in ["ada", "bob"] {
        let (mut client, mut server) = net.pair();
        let tx = tx.clone();
        TaskBuilder::new().name(name).spawn(async move {
            client.write_all(name.as_bytes()).await.unwrap();
            let mut buf = [0; 3];
            server.read_exact(&mut buf).await.unwrap();
            tx.send(String::from_utf8(buf.to_vec()).unwrap()).unwrap();
        });
    }
    drop(tx);
    let mut order = Vec::new();
    while let Some(who) = rx.recv().await {
        order.push(who);
    }
    order
}

/// One seeded, traced run of [`workload`]: its timeline and what it returned.
fn traced_run(seed: Option<u64>) -> (String, Vec<String>) {
    let mut builder = Runtime::builder()
        .start_paused(true)
        .trace(true)
        .slow_poll_threshold(Duration::MAX);
    if let Some(seed) = seed {
        builder = builder.seed(seed);
    }
    let rt = builder.build().unwrap();
    let order = rt.block_on(workload(seed.unwrap_or(0)));
    (rt.trace().timeline(), order)
}

#[test]
fn the_same_seed_gives_the_same_trace_byte_for_byte() {
    let mut distinct = std::collections::HashSet::new();
    for seed in 0..1_000 {
        let (first, order) = traced_run(Some(seed));
        let (second, _) = traced_run(Some(seed));
        assert_eq!(first, second, "seed {seed} ran two different ways");
        assert_eq!(order.len(), 6, "every task reported");
        distinct.insert(first);
    }
    // And the seed does choose: many different runs among the 1,000.
    assert!(
        distinct.len() > 100,
        "only {} distinct runs",
        distinct.len()
    );
}

#[test]
fn without_a_seed_the_order_is_first_in_first_out() {
    let workers = |order: Vec<String>| -> Vec<String> {
        order
            .into_iter()
            .filter(|w| w.starts_with("worker"))
            .collect()
    };
    let (timeline, order) = traced_run(None);
    // By deadline (0 and 2 at 1 ms, 1 and 3 at 2 ms), then in spawn order.
    assert_eq!(
        workers(order),
        ["worker-0", "worker-2", "worker-1", "worker-3"]
    );
    assert_eq!(timeline, traced_run(None).0, "and the same every time");
    // A seed may put worker-2 before worker-0 (due in the same tick), never
    // worker-1 before worker-0 (a tick later).
    let seeded: Vec<Vec<String>> = (0..50).map(|s| workers(traced_run(Some(s)).1)).collect();
    assert!(seeded.iter().any(|o| o[..2] == ["worker-2", "worker-0"]));
    assert!(seeded
        .iter()
        .all(|o| o[..2].iter().all(|w| w == "worker-0" || w == "worker-2")));
}

#[test]
fn a_seed_with_a_real_clock_is_refused() {
    let error = Runtime::builder().seed(1).build().err().expect("refused");
    assert_eq!(error.kind(), std::io::ErrorKind::InvalidInput);
    assert!(error.to_string().contains("start_paused(true)"), "{error}");
}

#[test]
fn a_hang_is_reported_with_the_waiting_tasks() {
    // Two tasks each wait for the other's message: a deadlock, under any seed.
    let failure = Explore::new(5)
        .name("deadlock")
        .run(|_| async {
            let (to_a, from_b) = oneshot::channel::<()>();
            let (to_b, from_a) = oneshot::channel::<()>();
            let a = TaskBuilder::new().name("alice").spawn(async move {
                from_b.await.ok();
                to_b.send(()).ok();
            });
            let b = TaskBuilder::new().name("bob").spawn(async move {
                from_a.await.ok();
                to_a.send(()).ok();
            });
            let _ = evloop::join!(a, b);
        })
        .unwrap_err();
    assert_eq!(failure.seed, 0, "the first seed hangs already");
    let FailureKind::Hang(stalled) = &failure.kind else {
        panic!("expected a hang, got {}", failure.kind)
    };
    let names: Vec<&str> = stalled.tasks.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["alice", "bob"]);
    let report = failure.to_string();
    assert!(report.contains("hang at 0.000s"), "{report}");
    assert!(
        report.contains("`alice` (task-1) waits on a channel"),
        "{report}"
    );
    assert!(
        report.contains("not done (it waits on task-1 to finish)"),
        "the block_on future's own wait is named too: {report}"
    );
    assert!(
        report.contains("EVLOOP_SEED=0 cargo test deadlock"),
        "{report}"
    );
    assert!(failure.replay.is_none(), "a deadlock replays exactly");
}

#[test]
fn a_hang_with_no_task_left_names_what_the_block_on_future_waits_on() {
    let rt = Runtime::builder().start_paused(true).build().unwrap();
    let stalled = rt
        .try_block_on(async {
            let (_keep, mut rx) = mpsc::channel::<u8>(1);
            rx.recv().await
        })
        .unwrap_err();
    assert!(stalled.tasks.is_empty());
    assert_eq!(stalled.main_waiting_on, evloop::task::WaitReason::Channel);
    assert!(
        stalled
            .to_string()
            .ends_with("not done (it waits on a channel); no task is left to wake it"),
        "{stalled}"
    );
}

#[test]
fn a_wait_beside_a_ticking_timer_is_reported_at_the_time_limit() {
    // The body waits for a message that never comes, while a heartbeat
    // keeps the clock moving: never stalled, never done. Not a frozen test:
    // a hang at the limit, with the tasks named.
    let failure = Explore::new(3)
        .time_limit(Duration::from_secs(60))
        .run(|_| async {
            let (_keep, mut never) = mpsc::channel::<()>(1);
            TaskBuilder::new().name("heartbeat").spawn(async {
                let mut beat = evloop::time::interval(Duration::from_secs(1));
                loop {
                    beat.tick().await;
                }
            });
            never.recv().await;
        })
        .unwrap_err();
    let FailureKind::Hang(stalled) = &failure.kind else {
        panic!("expected a hang, got {}", failure.kind)
    };
    assert_eq!(stalled.limit, Some(Duration::from_secs(60)));
    assert_eq!(
        stalled.at,
        Duration::from_secs(61),
        "the first tick past the limit"
    );
    assert_eq!(stalled.tasks[0].name, "heartbeat");
    assert!(failure
        .to_string()
        .contains("not done after 61.000s of virtual time"));
}

#[test]
fn tasks_that_only_wake_each_other_are_reported_as_a_livelock() {
    // Two tasks hand a turn back and forth for ever, and the body waits for
    // them: always something ready, so never stalled, and the clock never
    // moves, so no time limit is ever passed. Not a frozen test: after the
    // turn limit (`LIVELOCK_TURNS` by default; kept small here, for speed)
    // at one instant, a livelock, with the tasks named.
    let failure = Explore::new(1)
        .turn_limit(10_000)
        .run(|_| async {
            let spinners = ["ping", "pong"].map(|name| {
                TaskBuilder::new().name(name).spawn(async {
                    loop {
                        evloop::yield_now().await;
                    }
                })
            });
            for spinner in spinners {
                let _ = spinner.await;
            }
        })
        .unwrap_err();
    let FailureKind::Hang(stalled) = &failure.kind else {
        panic!("expected a hang, got {}", failure.kind)
    };
    assert_eq!(stalled.busy_turns, Some(10_000));
    assert_eq!(stalled.at, Duration::ZERO, "the clock never moved");
    let names: Vec<&str> = stalled.tasks.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["ping", "pong"]);
    assert!(failure.to_string().contains("livelock at 0.000s"));
}

#[test]
fn a_body_that_is_not_deterministic_is_caught_on_replay() {
    // State kept from one run to the next (here a static; a real clock or a
    // real socket does the same): the replay is not the run that failed.
    static RUNS: AtomicU64 = AtomicU64::new(0);
    let failure = Explore::new(100)
        .run(|_| async {
            let run = RUNS.fetch_add(1, Ordering::Relaxed);
            for _ in 0..run % 3 {
                evloop::yield_now().await;
            }
            run != 4 // the fifth run "fails"
        })
        .unwrap_err();
    assert_eq!(failure.seed, 4);
    assert!(matches!(failure.kind, FailureKind::Check(_)));
    let how = failure.replay.as_deref().expect("the replay differs");
    assert_eq!(how, "the first run failed, the replay passed");
    assert!(failure
        .to_string()
        .contains("the body is not deterministic"));
}

#[test]
fn explore_stops_at_the_first_failing_seed_and_reports_it() {
    // A check that fails exactly when the seed runs `second` before `first`.
    let failure = Explore::new(1_000)
        .run(|_| async {
            let log = Arc::new(Mutex::new(Vec::new()));
            let handles: Vec<_> = ["first", "second"]
                .into_iter()
                .map(|name| {
                    let log = log.clone();
                    TaskBuilder::new()
                        .name(name)
                        .spawn(async move { log.lock().unwrap().push(name) })
                })
                .collect();
            evloop::join_all(handles).await;
            let log = log.lock().unwrap();
            if log[0] == "first" {
                Ok(())
            } else {
                Err(format!("ran in the order {log:?}"))
            }
        })
        .unwrap_err();
    assert_eq!(failure.seeds_tried, failure.seed + 1);
    assert!(failure.replay.is_none(), "the failure replays");
    let timeline = &failure.timeline;
    let second = timeline.find("poll   second").expect("second polled");
    let first = timeline.find("poll   first").expect("first polled");
    assert!(
        second < first,
        "the timeline shows the failing order:\n{timeline}"
    );
    // Replaying that seed alone fails the same way.
    let again = Explore::new(1)
        .first_seed(failure.seed)
        .run(|_| async { Err::<(), _>("stop") });
    assert_eq!(again.unwrap_err().seed, failure.seed);
}

#[test]
fn explore_passes_a_body_that_holds_under_every_order() {
    explore(200, |seed| async move { workload(seed).await.len() == 6 });
}

/// The order in which a run woke the tasks named `prefix…`, by `source`
/// (`timer` or `io#`), read from its timeline.
fn wake_order(timeline: &str, prefix: &str, source: &str) -> Vec<String> {
    timeline
        .lines()
        .filter_map(|line| {
            let (_, rest) = line.split_once("wake   ")?;
            let (task, by) = rest.split_once(" ← ")?;
            (task.starts_with(prefix) && by.starts_with(source)).then(|| task.to_string())
        })
        .collect()
}

/// Run `body` on a paused, traced runtime with `seed` (or none); its timeline.
fn timeline_of<F: std::future::Future>(seed: Option<u64>, body: impl Fn() -> F) -> String {
    let mut builder = Runtime::builder().start_paused(true).trace(true);
    if let Some(seed) = seed {
        builder = builder.seed(seed);
    }
    let rt = builder.build().unwrap();
    rt.block_on(body());
    rt.trace().timeline()
}

#[test]
fn timers_due_in_the_same_tick_fire_in_the_seeded_order() {
    // Four sleepers, all due at 5 ms, whose timers are set one after the
    // other (each waits for the last to be set), so the step-1 shuffle
    // cannot reorder them: only the order in which step 5 fires them can.
    let sleepers = || async {
        let deadline = evloop::time::Instant::now() + Duration::from_millis(5);
        let mut handles = Vec::new();
        for i in 0..4 {
            let (set, is_set) = oneshot::channel();
            handles.push(
                TaskBuilder::new()
                    .name(format!("sleeper-{i}"))
                    .spawn(async move {
                        let mut nap = Box::pin(evloop::time::sleep_until(deadline));
                        std::future::poll_fn(|cx| {
                            let _ = nap.as_mut().poll(cx); // the timer is set now
                            std::task::Poll::Ready(())
                        })
                        .await;
                        set.send(()).unwrap();
                        nap.await;
                    }),
            );
            is_set.await.unwrap();
        }
        evloop::join_all(handles).await;
    };
    let fifo = wake_order(&timeline_of(None, sleepers), "sleeper", "timer");
    assert_eq!(fifo, ["sleeper-0", "sleeper-1", "sleeper-2", "sleeper-3"]);
    let orders: std::collections::HashSet<Vec<String>> = (0..20)
        .map(|seed| wake_order(&timeline_of(Some(seed), sleepers), "sleeper", "timer"))
        .collect();
    assert!(orders.len() > 1, "the seed picks the order: {orders:?}");
}

#[test]
fn io_events_of_one_poll_wake_in_the_seeded_order() {
    // Four loopback connections, all written before the loop polls: one
    // `epoll_wait` returns the four events, and the seed orders their wakes.
    let readers = || async {
        let listener = evloop::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut clients = Vec::new();
        let mut handles = Vec::new();
        for i in 0..4 {
            clients.push(evloop::net::TcpStream::connect(addr).await.unwrap());
            let (mut server, _) = listener.accept().await.unwrap();
            handles.push(
                TaskBuilder::new()
                    .name(format!("reader-{i}"))
                    .spawn(async move {
                        let mut byte = [0];
                        server.read_exact(&mut byte).await.unwrap();
                    }),
            );
        }
        evloop::yield_now().await; // the readers wait on their sockets
        for client in &mut clients {
            client.write_all(b"x").await.unwrap();
        }
        evloop::join_all(handles).await;
    };
    let orders: std::collections::HashSet<Vec<String>> = (0..20)
        .map(|seed| wake_order(&timeline_of(Some(seed), readers), "reader", "io#"))
        .collect();
    assert!(orders.iter().all(|o| o.len() == 4), "{orders:?}");
    assert!(orders.len() > 1, "the seed picks the order: {orders:?}");
}

mod workers;

/// Every test above again, on worker threads (`tests/workers/mod.rs`).
#[test]
fn on_workers() {
    workers::rerun_on_workers(&[]);
}
