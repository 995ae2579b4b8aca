//! Lesson 20, as a walkthrough: what the console's feed says about a runtime.
//!
//! First the observer the console is built on, stepped turn by turn on a
//! paused runtime; then the console itself, read the way the page reads it
//! (a WebSocket client on `/feed`, on a thread of its own): tasks listed by
//! name, a blocking task reported as slow, the loopback rule, and the port
//! closed once the runtime is gone. Everything on 127.0.0.1 port 0, every
//! wait bounded.

use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use evloop::console::Config;
use evloop::sync::{mpsc, oneshot};
use evloop::task::{TaskState, WaitReason};
use evloop::trace::{EventKind, WakeSource};
use evloop::websocket::{self, Message};
use evloop::Runtime;
use serde_json::Value;

/// Read the feed at `addr` (on a thread with its own runtime) until an
/// update satisfies `wanted`; give up after 10 s.
fn watch_until(
    addr: SocketAddr,
    token: Option<&str>,
    wanted: impl Fn(&Value) -> bool + Send + 'static,
) -> std::thread::JoinHandle<Value> {
    let query = token.map(|t| format!("?token={t}")).unwrap_or_default();
    let url = format!("ws://{addr}/feed{query}");
    std::thread::spawn(move || {
        evloop::run(async move {
            let mut ws = websocket::connect(&url).await.expect("the feed accepts us");
            let read = async {
                loop {
                    let Ok(Some(Message::Text(text))) = ws.recv().await else {
                        panic!("the feed ended");
                    };
                    let update: Value = serde_json::from_str(&text).expect("updates are JSON");
                    if wanted(&update) {
                        return update;
                    }
                }
            };
            evloop::time::timeout(Duration::from_secs(10), read)
                .await
                .expect("the feed said it within 10 s")
        })
    })
}

/// Run `rt`'s loop until `watcher` is done, and return what it saw.
fn run_while_watched(rt: &Runtime, watcher: std::thread::JoinHandle<Value>) -> Value {
    let (done, finished) = oneshot::channel();
    std::thread::spawn(move || {
        let _ = done.send(watcher.join());
    });
    rt.block_on(finished)
        .expect("the watcher reports")
        .expect("the watcher did not panic")
}

fn task_named<'a>(update: &'a Value, name: &str) -> Option<&'a Value> {
    update["tasks"]
        .as_array()?
        .iter()
        .find(|t| t["name"] == name)
}

#[test]
fn the_block_on_future_has_a_row_that_says_what_it_waits_on() {
    let rt = Runtime::builder()
        .start_paused(true)
        .observe(true)
        .build()
        .unwrap();
    let observer = rt.observer().unwrap();
    let asker = observer.clone();
    rt.block_on(async move {
        let (tx, mut rx) = mpsc::channel::<u8>(1);
        evloop::spawn(async move {
            // Polled after main parked on the channel; the sample is taken
            // as the next turn begins.
            asker.request_sample();
            evloop::time::sleep(Duration::from_secs(1)).await;
            tx.send(1).await.unwrap();
        });
        rx.recv().await
    });
    let sample = observer.latest_sample().expect("sampled during the run");
    let main = &sample.tasks[0];
    assert_eq!(main.info.name, "main");
    assert_eq!(main.info.waiting_on, WaitReason::Channel);
}

#[test]
fn the_observer_samples_what_the_loop_holds() {
    // A paused runtime, observed: what the console reads, without the console.
    let rt = Runtime::builder()
        .start_paused(true)
        .observe(true)
        .build()
        .unwrap();
    let observer = rt.observer().expect("built with observe(true)");
    let (tx, mut rx) = mpsc::channel::<u8>(1);
    rt.spawn_named("sleeper", evloop::time::sleep(Duration::from_secs(5)));
    rt.spawn_named("napper", evloop::time::sleep(Duration::from_secs(60)));
    rt.spawn_named("reader", async move { rx.recv().await });

    // Step 1: a watcher asks; the loop answers during its next turn, as
    // step 1 begins — before it polls anything.
    observer.request_sample();
    assert!(
        observer.latest_sample().is_none(),
        "nothing is sampled between turns"
    );
    rt.turn();
    let sample = observer.latest_sample().expect("the turn took the sample");
    let names: Vec<&str> = sample.tasks.iter().map(|t| t.info.name.as_str()).collect();
    assert_eq!(names, ["sleeper", "napper", "reader"]);
    assert!(
        sample.tasks.iter().all(|t| t.polls == 0),
        "sampled before the polls"
    );
    assert_eq!(
        sample.run_queue,
        [3],
        "three tasks were ready in the first turn"
    );
    // (That turn polled all three, then jumped the paused clock to 5 s and
    // fired the sleeper's timer.)

    // Step 2: ask again. The next turn's sample shows each task's polls,
    // who woke it and what it waits on; and the napper's timer in the
    // wheel: 60,000 ms differs from now (5,000) in bit 15, so it sits on
    // level 15 / 6 = 2, where one slot spans 4,096 ms.
    observer.request_sample();
    rt.turn();
    let sample = observer.latest_sample().unwrap();
    let [sleeper, napper, reader] = &sample.tasks[..] else {
        panic!("three tasks: {:?}", sample.tasks)
    };
    assert_eq!(sleeper.polls, 1);
    assert_eq!(sleeper.info.state, TaskState::Scheduled);
    assert_eq!(sleeper.woken_by, Some(WakeSource::Timer));
    assert_eq!(napper.info.waiting_on, WaitReason::Timer { tick: 60_000 });
    assert_eq!(reader.info.waiting_on, WaitReason::Channel);
    assert_eq!(sample.timers, 1);
    assert_eq!(sample.wheel_occupancy, [0, 0, 1, 0, 0, 0]);

    // Step 3: the events came through too — three spawns, four polls (the
    // sleeper's second one ended it) — and the ring hands them over once.
    let recent = observer.take_events();
    let polls = recent
        .events
        .iter()
        .filter(|e| matches!(e.kind, EventKind::Poll { .. }))
        .count();
    assert_eq!(polls, 4);
    assert_eq!(recent.dropped, 0);
    assert!(observer.take_events().events.is_empty());
    drop(tx);
}

#[test]
fn the_feed_names_every_live_task() {
    // A runtime with the console on, and two named tasks that wait.
    let rt = Runtime::builder().console("127.0.0.1:0").build().unwrap();
    let addr = rt.console_addr().expect("the console listens");
    let (tx, mut rx) = mpsc::channel::<u8>(1);
    rt.spawn_named("ticker", async {
        loop {
            evloop::time::sleep(Duration::from_millis(50)).await;
        }
    });
    rt.spawn_named("reader", async move { rx.recv().await });

    // A viewer reads the feed until both names appear, with what they wait on.
    let watcher = watch_until(addr, None, |u| {
        task_named(u, "ticker").is_some_and(|t| t["polls"].as_u64() > Some(1))
            && task_named(u, "reader").is_some_and(|t| t["waiting"] == "a channel")
    });
    let update = run_while_watched(&rt, watcher);

    // The ticker was woken by its timer; the update also carries the wheel
    // and the turns the loop ran.
    assert_eq!(task_named(&update, "ticker").unwrap()["woken_by"], "timer");
    assert!(update["wheel"]["timers"].as_u64() >= Some(1));
    assert!(update["metrics"]["turns"].as_u64() > Some(0));
    drop(tx);
}

#[test]
fn a_blocking_task_is_reported_slow() {
    // Lesson 08's mistake: a task that holds the loop with a blocking sleep.
    let rt = Runtime::builder().console("127.0.0.1:0").build().unwrap();
    let addr = rt.console_addr().unwrap();
    rt.spawn_named("blocker", async {
        loop {
            evloop::time::sleep(Duration::from_millis(100)).await;
            std::thread::sleep(Duration::from_millis(150)); // the mistake
        }
    });

    // The feed lists it among the slow polls, by name, and flags its row.
    let watcher = watch_until(addr, None, |u| {
        u["slow"]
            .as_array()
            .is_some_and(|s| s.iter().any(|p| p["name"] == "blocker"))
    });
    let update = run_while_watched(&rt, watcher);
    let slow = &update["slow"][0];
    assert!(slow["took_ms"].as_f64() >= Some(150.0), "{slow}");
    let row = task_named(&update, "blocker").unwrap();
    assert!(row["slow_polls"].as_u64() >= Some(1));
    assert!(row["longest_ms"].as_f64() >= Some(150.0));
}

#[test]
fn the_console_stops_when_the_runtime_is_dropped() {
    let rt = Runtime::builder().console("127.0.0.1:0").build().unwrap();
    let addr = rt.console_addr().unwrap();
    // Listening while the runtime lives...
    TcpStream::connect(addr).expect("the console listens");
    drop(rt);
    // ...and the port is closed as soon as it is gone.
    let refused = TcpStream::connect(addr).expect_err("the console stopped with its runtime");
    assert_eq!(refused.kind(), std::io::ErrorKind::ConnectionRefused);
}

#[test]
fn only_loopback_unless_opted_in_with_a_token() {
    // Every interface, without the opt-in: build() refuses, and says why.
    let err = Runtime::builder()
        .console("0.0.0.0:0")
        .build()
        .err()
        .expect("a non-loopback console needs the opt-in");
    assert_eq!(err.kind(), std::io::ErrorKind::PermissionDenied);
    assert!(err.to_string().contains("allow_remote"), "{err}");

    // A token too short to guard anything is refused too.
    let short = Config::new("0.0.0.0:0").allow_remote("secret");
    assert!(Runtime::builder().console_with(short).build().is_err());

    // With the opt-in, requests must carry the token. (Shown on loopback,
    // where tests listen: a token configured there is enforced the same.)
    let token = "a-long-enough-token-0123";
    let config = Config::new("127.0.0.1:0").allow_remote(token);
    let rt = Runtime::builder().console_with(config).build().unwrap();
    let url = rt.console_url().unwrap();
    assert!(url.ends_with(&format!("/?token={token}")), "{url}");
    let port = rt.console_addr().unwrap().port();
    let (without, with) = evloop::run(async move {
        let base = format!("http://127.0.0.1:{port}/");
        let without = evloop::http::get(&base).await.unwrap().status;
        let with = evloop::http::get(&format!("{base}?token={token}"))
            .await
            .unwrap()
            .status;
        (without, with)
    });
    assert_eq!((without, with), (403, 200));
}

mod workers;

/// Every test above again, on worker threads (`tests/workers/mod.rs`).
#[test]
fn on_workers() {
    workers::rerun_on_workers(&[]);
}
