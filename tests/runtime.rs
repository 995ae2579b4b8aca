//! Runtime-wide behaviour: the promises the event loop keeps, one test each.
//!
//! Timing tests use the paused clock (`start_paused(true)`): they are exact and
//! instant. The few tests that need another thread bound every wait.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use evloop::sync::oneshot;
use evloop::time::{interval, sleep, timeout, Instant};
use evloop::trace::{EventKind, WakeSource};
use evloop::{join_all, select, spawn, yield_now, Either, Runtime};

fn paused() -> Runtime {
    Runtime::builder()
        .start_paused(true)
        .trace(true)
        .build()
        .unwrap()
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

#[test]
fn spawn_queues_without_running_and_turn_polls_in_fifo_order() {
    let rt = paused();
    let ran = Arc::new(AtomicUsize::new(0));
    for name in ["a", "b", "c"] {
        let ran = ran.clone();
        rt.spawn_named(name, async move {
            ran.fetch_add(1, Ordering::SeqCst);
        });
    }
    // Spawning ran nothing: the tasks only sit on the run queue.
    assert_eq!(ran.load(Ordering::SeqCst), 0);
    // One turn polls all three, in the order they were spawned.
    let turn = rt.turn();
    assert_eq!(turn.polled, ["a", "b", "c"]);
    assert_eq!(ran.load(Ordering::SeqCst), 3);
    // Nothing left: an empty turn, returned at once.
    assert!(rt.turn().polled.is_empty());
}

#[test]
fn unnamed_tasks_are_called_task_n() {
    let rt = paused();
    rt.spawn(async {});
    rt.spawn_named("named", async {});
    rt.spawn(async {});
    assert_eq!(rt.turn().polled, ["task-1", "named", "task-3"]);
}

#[test]
fn a_task_woken_during_a_turn_runs_on_the_next_turn() {
    let rt = paused();
    // "busy" yields three times; "other" runs once. Fairness: each yield sends
    // busy to the back of the queue, and it is polled again only next turn.
    rt.spawn_named("busy", async {
        for _ in 0..3 {
            yield_now().await;
        }
    });
    rt.spawn_named("other", async {});
    assert_eq!(rt.turn().polled, ["busy", "other"]);
    assert_eq!(rt.turn().polled, ["busy"]);
    assert_eq!(rt.turn().polled, ["busy"]);
    assert_eq!(rt.turn().polled, ["busy"]);
    assert!(rt.turn().polled.is_empty());
}

/// A future that wakes itself `n` times in one poll, then waits once.
struct WakeManyTimes(usize, bool);

impl Future for WakeManyTimes {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.1 {
            return Poll::Ready(());
        }
        self.1 = true;
        for _ in 0..self.0 {
            cx.waker().wake_by_ref();
        }
        Poll::Pending
    }
}

#[test]
fn ten_wakes_queue_a_task_once() {
    let rt = paused();
    rt.spawn_named("waker", WakeManyTimes(10, false));
    assert_eq!(rt.turn().polled, ["waker"]);
    // Ten wakes, one queue entry: polled exactly once more.
    assert_eq!(rt.turn().polled, ["waker"]);
    assert!(rt.turn().polled.is_empty());
    assert_eq!(rt.metrics().wakes, 1);
    assert_eq!(rt.metrics().polls, 2);
}

#[test]
fn three_gathered_two_second_sleeps_take_exactly_two_seconds() {
    let rt = paused();
    let took = rt.block_on(async {
        let start = Instant::now();
        let handles: Vec<_> = (0..3).map(|_| spawn(sleep(secs(2)))).collect();
        for h in join_all(handles).await {
            h.unwrap();
        }
        start.elapsed()
    });
    assert_eq!(took, secs(2));
    assert_eq!(rt.metrics().timers_fired, 3);
}

#[test]
fn turn_jumps_the_paused_clock_to_the_next_deadline_and_fires_it() {
    let rt = paused();
    rt.spawn_named("short", sleep(secs(1)));
    rt.spawn_named("long", sleep(Duration::from_secs(3600 * 24 * 400))); // 400 days: top levels of the wheel
    let t = rt.turn();
    assert_eq!(t.polled, ["short", "long"]);
    assert_eq!((t.timers_fired, t.now), (1, secs(1)));
    // "short" finishes; then nothing is ready, so the same turn jumps again. The
    // far timer cascades down the wheel's levels but fires exactly on time.
    let t = rt.turn();
    assert_eq!(t.polled, ["short"]);
    assert_eq!((t.timers_fired, t.now), (1, secs(3600 * 24 * 400)));
    assert_eq!(rt.turn().polled, ["long"]);
}

#[test]
fn a_dropped_sleep_never_fires_and_is_not_counted() {
    let rt = paused();
    let out = rt.block_on(async {
        let quick = timeout(secs(5), async { 7 }).await;
        let slow = timeout(secs(1), sleep(secs(10))).await;
        (quick, slow)
    });
    assert_eq!(out.0, Ok(7));
    assert!(out.1.is_err());
    // Only the 1 s timeout fired; the 5 s timer and the 10 s sleep were dropped.
    assert_eq!(rt.metrics().timers_fired, 1);
    assert_eq!(rt.elapsed(), secs(1));
}

#[test]
fn interval_ticks_at_once_then_every_period() {
    let rt = paused();
    let ticks = rt.block_on(async {
        let start = Instant::now();
        let mut every = interval(Duration::from_millis(250));
        let mut at = Vec::new();
        for _ in 0..4 {
            every.tick().await;
            at.push(start.elapsed().as_millis());
        }
        at
    });
    assert_eq!(ticks, [0, 250, 500, 750]);
}

struct SetOnDrop(Arc<AtomicBool>);
impl Drop for SetOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

#[test]
fn abort_drops_the_future_before_the_handle_reports_cancelled() {
    let rt = paused();
    let dropped = Arc::new(AtomicBool::new(false));
    let guard = SetOnDrop(dropped.clone());
    rt.block_on(async move {
        let handle = spawn(async move {
            let _guard = guard;
            sleep(secs(60)).await;
        });
        yield_now().await; // let it start and register its timer
        handle.abort();
        let err = handle.await.unwrap_err();
        assert!(err.is_cancelled());
        assert!(
            dropped.load(Ordering::SeqCst),
            "future must be dropped before the JoinError is seen"
        );
    });
    // The cancelled task's timer was removed with it: nothing fired, no time passed.
    assert_eq!(rt.metrics().timers_fired, 0);
    assert_eq!(rt.elapsed(), Duration::ZERO);
}

#[test]
fn a_panicking_task_becomes_a_join_error_and_the_others_go_on() {
    let rt = paused();
    let (bad, good) = rt.block_on(async {
        let bad = spawn(async {
            sleep(secs(1)).await;
            panic!("boom");
        });
        let good = spawn(async {
            sleep(secs(2)).await;
            "still here"
        });
        (bad.await, good.await)
    });
    let err = bad.unwrap_err();
    assert!(err.is_panic());
    assert_eq!(err.panic_message(), Some("boom"));
    assert_eq!(good.unwrap(), "still here");
}

#[test]
fn select_returns_the_winner_and_drops_the_loser_at_once() {
    let rt = paused();
    let dropped = Arc::new(AtomicBool::new(false));
    let guard = SetOnDrop(dropped.clone());
    rt.block_on(async move {
        let fast = Box::pin(async {
            sleep(secs(1)).await;
            "fast"
        });
        let slow = Box::pin(async move {
            let _guard = guard;
            sleep(secs(5)).await;
            "slow"
        });
        let winner = select(fast, slow).await;
        assert_eq!(winner, Either::Left("fast"));
        assert!(dropped.load(Ordering::SeqCst));
    });
    assert_eq!(rt.elapsed(), secs(1));
}

#[test]
fn join_macro_gives_a_tuple() {
    let rt = paused();
    let (a, b, c) = rt.block_on(async {
        evloop::join!(
            async {
                sleep(secs(1)).await;
                1
            },
            async { "two" },
            async {
                sleep(secs(3)).await;
                3.0
            },
        )
    });
    assert_eq!((a, b, c), (1, "two", 3.0));
    assert_eq!(rt.elapsed(), secs(3));
}

/// Counts how many times the children of a join_all are polled.
struct CountPolls<F> {
    inner: Pin<Box<F>>,
    polls: Arc<AtomicUsize>,
}

impl<F: Future> Future for CountPolls<F> {
    type Output = F::Output;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        self.polls.fetch_add(1, Ordering::Relaxed);
        self.inner.as_mut().poll(cx)
    }
}

#[test]
fn join_all_polls_only_the_children_that_were_woken() {
    let rt = paused();
    let polls = Arc::new(AtomicUsize::new(0));
    let n = 2_000;
    let out = rt.block_on(async {
        // Child i sleeps i ms: they wake one at a time, n separate times.
        join_all((0..n).map(|i| CountPolls {
            inner: Box::pin(async move {
                sleep(Duration::from_millis(i as u64 + 1)).await;
                i
            }),
            polls: polls.clone(),
        }))
        .await
    });
    assert_eq!(out, (0..n).collect::<Vec<_>>());
    // Each child: one poll to start, one when its timer fires. A poll-everything
    // join would have made about n * n / 2 = 2,000,000 polls.
    assert_eq!(polls.load(Ordering::Relaxed), 2 * n);
}

#[test]
fn the_paused_timeline_is_identical_on_every_run() {
    fn run_once() -> String {
        let rt = paused();
        rt.block_on(async {
            let a = evloop::task::Builder::new().name("a").spawn(sleep(secs(2)));
            let b = evloop::task::Builder::new().name("b").spawn(async {
                sleep(secs(1)).await;
                yield_now().await;
            });
            let _ = join_all([a, b]).await;
        });
        rt.trace().timeline()
    }
    let first = run_once();
    assert_eq!(first, run_once());
    assert!(first.contains("wake   a ← timer"), "{first}");
    assert!(first.contains("clock  jumps to 2.000s"), "{first}");
}

#[test]
fn the_trace_says_who_woke_each_task() {
    let rt = paused();
    rt.block_on(async {
        let (tx, rx) = oneshot::channel::<u32>();
        let receiver = evloop::task::Builder::new().name("receiver").spawn(rx);
        evloop::task::Builder::new()
            .name("sender")
            .spawn(async move {
                sleep(secs(1)).await;
                tx.send(5).unwrap();
            });
        assert_eq!(receiver.await.unwrap(), Ok(5));
    });
    let trace = rt.trace();
    let wakes: Vec<String> = trace
        .events()
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Wake { task, by } => Some(format!("{} by {:?}", trace.name(*task), by)),
            _ => None,
        })
        .collect();
    // sender's sleep is fired by the timer; sender's send wakes receiver;
    // receiver finishing wakes main through its JoinHandle.
    assert_eq!(
        wakes,
        ["sender by Timer", "receiver by Task(2)", "main by Task(1)"]
    );
    assert!(trace.events().iter().any(|e| matches!(
        e.kind,
        EventKind::Wake {
            by: WakeSource::Timer,
            ..
        }
    )));
    // The Chrome JSON is valid JSON with one lane per task.
    let json: serde_json::Value = serde_json::from_str(&trace.to_chrome_json()).unwrap();
    assert!(json["traceEvents"].as_array().unwrap().len() > 5);
}

#[test]
fn a_wake_from_another_thread_unparks_the_loop() {
    let rt = Runtime::builder().trace(true).build().unwrap();
    let got = rt.block_on(async {
        let (tx, rx) = oneshot::channel();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            tx.send("from a thread").unwrap();
        });
        // Bounded: if the unpark were lost, the timeout ends the test.
        timeout(secs(10), rx).await
    });
    assert_eq!(got, Ok(Ok("from a thread")));
    let trace = rt.trace();
    assert!(trace.events().iter().any(|e| e.kind
        == EventKind::Wake {
            task: 0,
            by: WakeSource::OtherThread
        }));
}

#[test]
fn spawn_blocking_returns_results_and_panics_as_values() {
    let rt = Runtime::new().unwrap();
    rt.block_on(async {
        let sum = evloop::spawn_blocking(|| (1..=100u32).sum::<u32>());
        let bad = evloop::spawn_blocking(|| -> u32 { panic!("blocking boom") });
        assert_eq!(sum.await.unwrap(), 5050);
        let err = bad.await.unwrap_err();
        assert!(err.is_panic());
        assert_eq!(err.panic_message(), Some("blocking boom"));
    });
}

#[test]
fn a_paused_clock_waits_for_a_blocking_job_instead_of_jumping_past_it() {
    let rt = paused();
    let order = rt.block_on(async {
        let job = evloop::spawn_blocking(|| {
            std::thread::sleep(Duration::from_millis(30)); // real time
            "job"
        });
        let timer = spawn(async {
            sleep(secs(1)).await;
            "timer"
        });
        // The job must come first: virtual time stands still while it runs.
        match select(job, timer).await {
            Either::Left(r) => r.unwrap(),
            Either::Right(r) => r.unwrap(),
        }
    });
    assert_eq!(order, "job");
    assert_eq!(rt.elapsed(), Duration::ZERO);
}

#[test]
fn a_slow_poll_is_counted_and_traced() {
    let rt = Runtime::builder()
        .trace(true)
        .slow_poll_threshold(Duration::from_millis(5))
        .build()
        .unwrap();
    rt.block_on(async {
        evloop::task::Builder::new()
            .name("blocker")
            .spawn(async { std::thread::sleep(Duration::from_millis(20)) })
            .await
            .unwrap();
    });
    let m = rt.metrics();
    assert_eq!(m.slow_polls, 1);
    assert!(m.longest_poll >= Duration::from_millis(20));
    assert!(rt
        .trace()
        .timeline()
        .contains("SLOW   blocker held the loop"));
}

#[test]
#[should_panic(expected = "must be called inside evloop::run or Runtime::block_on")]
fn spawn_outside_a_runtime_says_what_to_do() {
    spawn(async {});
}

#[test]
#[should_panic(expected = "cannot run the event loop from inside itself")]
fn block_on_inside_block_on_is_refused() {
    let rt = Runtime::new().unwrap();
    rt.block_on(async { rt.block_on(async {}) });
}

#[test]
fn enter_lets_setup_code_spawn_named_tasks_before_stepping() {
    let rt = paused();
    {
        let _guard = rt.enter();
        evloop::task::Builder::new().name("setup").spawn(async {});
    }
    assert_eq!(rt.turn().polled, ["setup"]);
}

#[test]
fn metrics_count_what_happened() {
    let rt = paused();
    rt.block_on(async {
        let hs: Vec<_> = (0..5).map(|i| spawn(sleep(secs(i)))).collect();
        join_all(hs).await;
    });
    let m = rt.metrics();
    assert_eq!(m.tasks_spawned, 5);
    assert_eq!(m.timers_fired, 4); // sleep(0) is ready on its first poll: no timer
    assert_eq!(m.io_events, 0);
    assert!(m.turns >= 5);
    assert_eq!(m.slow_polls, 0);
}

#[test]
fn dropping_the_runtime_drops_its_waiting_tasks_and_closes_their_sockets() {
    let dropped = Arc::new(AtomicBool::new(false));
    let guard = SetOnDrop(dropped.clone());
    let addr = {
        let rt = Runtime::new().unwrap();
        let addr = rt.block_on(async {
            let listener = evloop::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            // A server task waiting in accept(): its waker sits in the reactor.
            spawn(async move {
                let _guard = guard;
                let _ = listener.accept().await;
            });
            // And one waiting on a far timer: its waker sits in the wheel.
            spawn(sleep(secs(3600)));
            yield_now().await; // let both start waiting
            addr
        });
        assert!(!dropped.load(Ordering::SeqCst));
        addr
    }; // the runtime is dropped here
    assert!(
        dropped.load(Ordering::SeqCst),
        "the waiting task's future was dropped"
    );
    // Its listener went with it: the port no longer accepts connections.
    assert!(std::net::TcpStream::connect(addr).is_err());
}

#[test]
fn a_join_error_names_the_task_it_is_about() {
    let rt = paused();
    rt.block_on(async {
        let named = evloop::task::Builder::new()
            .name("download")
            .spawn(async { panic!("disk full") });
        let err = named.await.unwrap_err();
        assert_eq!(err.name(), Some("download"));
        assert_eq!(err.to_string(), "task `download` panicked: disk full");

        let unnamed = spawn(sleep(secs(5)));
        unnamed.abort();
        let err = unnamed.await.unwrap_err();
        assert_eq!(err.name(), None);
        assert_eq!(err.to_string(), format!("task-{} was cancelled", err.id()));
    });
}

#[test]
fn the_block_on_future_is_checked_for_slow_polls_too() {
    let rt = Runtime::builder()
        .trace(true)
        .slow_poll_threshold(Duration::from_millis(5))
        .build()
        .unwrap();
    // No task at all: `main` itself blocks the loop.
    rt.block_on(async { std::thread::sleep(Duration::from_millis(20)) });
    assert_eq!(rt.metrics().slow_polls, 1);
    assert!(rt.trace().timeline().contains("SLOW   main held the loop"));
}

#[test]
fn a_blocking_job_may_start_another_and_gets_its_result_or_its_panic() {
    let rt = Runtime::new().unwrap();
    let (inner, panicked) = rt.block_on(async {
        evloop::spawn_blocking(|| {
            // No loop runs on this thread: the nested jobs go through the loop.
            let inner = evloop::spawn_blocking(|| (1..=10u64).product::<u64>());
            let bad = evloop::spawn_blocking(|| -> u64 { panic!("nested boom") });
            let handle = evloop::runtime::Handle::current();
            let inner = handle.block_on(inner).unwrap();
            let err = handle.block_on(bad).unwrap_err();
            (inner, err.panic_message().map(str::to_owned))
        })
        .await
        .unwrap()
    });
    assert_eq!(inner, 3_628_800);
    assert_eq!(panicked.as_deref(), Some("nested boom"));
}

mod workers;

/// Every test above again, on worker threads (`tests/workers/mod.rs`).
#[test]
fn on_workers() {
    // Their subject is the one event loop (a poll that blocks it, its turns).
    workers::rerun_on_workers(&[
        "a_slow_poll_is_counted_and_traced",
        "the_block_on_future_is_checked_for_slow_polls_too",
    ]);
}
