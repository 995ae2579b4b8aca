//! Lesson 20's exercises: what the console shows, read from its data.
//!
//! No browser here: each answer reads what the page draws from. The
//! timeline is the observer's ring of events (what the console's thread
//! takes four times a second); the status line, the rows and the slow polls
//! are fields of the JSON updates on the console's feed, read over loopback
//! by a WebSocket client on a thread of its own, as a page would.

use std::net::SocketAddr;
use std::time::Duration;

use evloop::net::TcpListener;
use evloop::sync::oneshot;
use evloop::trace::{EventKind, WakeSource};
use evloop::websocket::{self, Message, WebSocket};
use evloop::Runtime;
use serde_json::Value;

use crate::chat_server as chat;

type Page = WebSocket<evloop::net::TcpStream>;

/// Run `rt`'s loop until `client` (a thread with its own runtime: a browser
/// tab, a console page) is done, and return what it saw.
fn run_while<T: Send + 'static>(rt: &Runtime, client: std::thread::JoinHandle<T>) -> T {
    let (done, finished) = oneshot::channel();
    std::thread::spawn(move || {
        let _ = done.send(client.join());
    });
    rt.block_on(finished)
        .expect("the client reports")
        .expect("the client did not panic")
}

/// Open a console page: the WebSocket the page opens on `/feed`.
async fn open_page(console: SocketAddr) -> Page {
    websocket::connect(&format!("ws://{console}/feed"))
        .await
        .expect("the feed accepts us")
}

/// The next update the page receives, as JSON.
async fn next_update(page: &mut Page) -> Value {
    let Ok(Some(Message::Text(text))) = page.recv().await else {
        panic!("the feed ended");
    };
    serde_json::from_str(&text).expect("updates are JSON")
}

/// Every update one page receives, until one satisfies `enough` (at most 10 s).
fn watch_until(
    console: SocketAddr,
    mut enough: impl FnMut(&Value) -> bool + Send + 'static,
) -> std::thread::JoinHandle<Vec<Value>> {
    std::thread::spawn(move || {
        evloop::run(async move {
            let mut page = open_page(console).await;
            let read = async {
                let mut seen = Vec::new();
                loop {
                    let update = next_update(&mut page).await;
                    let done = enough(&update);
                    seen.push(update);
                    if done {
                        return seen;
                    }
                }
            };
            evloop::time::timeout(Duration::from_secs(10), read)
                .await
                .expect("the feed showed it within 10 s")
        })
    })
}

/// The row of the task named `name` in an update, if it is there.
fn row<'a>(update: &'a Value, name: &str) -> Option<&'a Value> {
    update["tasks"]
        .as_array()?
        .iter()
        .find(|t| t["name"] == name)
}

// ANCHOR: ex1
/// A chat tab: a WebSocket to the chat's `/ws`.
async fn tab(chat: SocketAddr) -> Page {
    websocket::connect(&format!("ws://{chat}/ws"))
        .await
        .unwrap()
}

/// Read `tab` until the room sends a line ending in `text`.
async fn until_line(tab: &mut Page, text: &str) {
    loop {
        match tab.recv().await.unwrap().expect("the chat is open") {
            Message::Text(line) if line.ends_with(text) => return,
            _ => {}
        }
    }
}

#[test]
fn a_line_is_an_io_mark_a_poll_of_its_sender_and_an_arrow_to_every_other_connection() {
    // Lesson 15's chat on an observed runtime (what `.console(..)` turns on);
    // its timeline is the observer's ring of events.
    let rt = Runtime::builder().observe(true).build().unwrap();
    let observer = rt.observer().unwrap();
    let listener = rt.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
    let addr = listener.local_addr().unwrap();
    rt.spawn_named("chat", chat::serve(listener, chat::Options::default()));

    // Three tabs, in a thread of their own, as a browser would be. Once every
    // tab has heard a first line, we pause: take what the ring holds (the
    // spawns name the connections), then send the line and take it again.
    let tabs = std::thread::spawn(move || {
        evloop::run(async move {
            let mut tabs = vec![tab(addr).await, tab(addr).await, tab(addr).await];
            tabs[0].send(Message::Text("ready".into())).await.unwrap();
            for tab in &mut tabs {
                until_line(tab, "ready").await;
            }
            let before = observer.take_events().events;
            tabs[0].send(Message::Text("hello".into())).await.unwrap();
            for tab in &mut tabs {
                until_line(tab, "hello").await;
            }
            (before, observer.take_events().events)
        })
    });
    let (before, line) = run_while(&rt, tabs);

    // The three `connection` lanes, in the order the tabs connected.
    let connections: Vec<u64> = before
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Spawn { task, name } if name.as_deref() == Some("connection") => Some(*task),
            _ => None,
        })
        .collect();
    let [sender, others @ ..] = &connections[..] else {
        panic!("three connections: {connections:?}")
    };
    assert_eq!(others.len(), 2);

    // The line, as the timeline draws it. An `I/O` mark on the sender's
    // socket, and an arrow from the `I/O` row to the sender's lane...
    let find = |from: usize, wanted: &dyn Fn(&EventKind) -> bool| {
        let found = line[from..].iter().position(|e| wanted(&e.kind));
        found.map(|i| from + i)
    };
    let woken = find(
        0,
        &|k| matches!(k, EventKind::Wake { task, by: WakeSource::Io(_) } if task == sender),
    )
    .expect("the sender's connection was woken by its socket");
    let EventKind::Wake {
        by: WakeSource::Io(socket),
        ..
    } = line[woken].kind
    else {
        unreachable!()
    };
    let mark = find(
        0,
        &|k| matches!(k, EventKind::Io { token, .. } if *token == socket),
    );
    assert!(mark < Some(woken), "the I/O mark comes first");
    // ...then a bar on that lane: its next poll. (The ring keeps a poll
    // when it ends, with when it began and how long it took.)
    let bar = find(
        woken,
        &|k| matches!(k, EventKind::Poll { task, .. } if task == sender),
    )
    .expect("the sender's connection was polled");
    let EventKind::Poll { took, .. } = line[bar].kind else {
        unreachable!()
    };
    let polled = line[bar].at..=line[bar].at + took;
    // From inside that bar, an arrow to every other connection: the broadcast.
    for other in others {
        let arrow = find(woken, &|k| {
            matches!(k, EventKind::Wake { task, by: WakeSource::Task(by) }
                     if task == other && by == sender)
        })
        .unwrap_or_else(|| panic!("task-{other} was woken by the sender's connection"));
        assert!(arrow < bar && polled.contains(&line[arrow].at));
    }
}
// ANCHOR_END: ex1

// ANCHOR: ex2
/// Lesson 20's blocker, with its period a parameter (the example's is 1 s):
/// once a period, hold the loop for `block`.
async fn blocker(every: Duration, block: Duration) {
    loop {
        evloop::time::sleep(every).await;
        std::thread::sleep(block); // the mistake
    }
}

/// The example's runtime (`builder` plus the console), with the blocker at
/// 50 ms; the feed's updates until the blocker's row says `enough`.
fn block_50ms(
    builder: evloop::Builder,
    enough: impl Fn(&Value) -> bool + Send + 'static,
) -> Vec<Value> {
    let rt = builder.console("127.0.0.1:0").build().unwrap();
    let console = rt.console_addr().unwrap();
    let ms = Duration::from_millis;
    rt.spawn_named("blocker", blocker(ms(200), ms(50)));
    let page = watch_until(console, move |u| row(u, "blocker").is_some_and(&enough));
    run_while(&rt, page)
}

#[test]
fn fifty_ms_is_flagged_only_under_a_lower_threshold() {
    // The default threshold: watch until the blocker has blocked three times.
    let updates = block_50ms(Runtime::builder(), |b| b["polls"].as_u64() >= Some(4));
    for update in &updates {
        // The status line never turns red: the loop answered every update.
        assert_eq!(update["stalled_ms"], 0.0, "{update}");
        // No row lights up: no slow polls against 100 ms.
        assert_eq!(update["slow"].as_array().map(Vec::len), Some(0), "{update}");
        if let Some(blocker) = row(update, "blocker") {
            assert_eq!(blocker["slow_polls"], 0);
        }
    }
    let last = updates.last().unwrap();
    assert_eq!(last["slow_threshold_ms"], 100.0);
    // Yet the loop was held: 50 ms at least, under the threshold.
    assert!(row(last, "blocker").unwrap()["longest_ms"].as_f64() >= Some(50.0));

    // `.slow_poll_threshold(20 ms)`: the same blocker is flagged.
    let lower = Runtime::builder().slow_poll_threshold(Duration::from_millis(20));
    let updates = block_50ms(lower, |b| b["slow_polls"].as_u64() >= Some(1));
    let last = updates.last().unwrap();
    assert_eq!(last["slow_threshold_ms"], 20.0);
    let slow = &last["slow"][0];
    assert_eq!(slow["name"], "blocker");
    assert!(slow["took_ms"].as_f64() >= Some(50.0), "{slow}");
}
// ANCHOR_END: ex2

// ANCHOR: ex3
/// The blocker with its sleep moved to the blocking pool.
async fn blocker_off_the_loop(every: Duration, block: Duration) {
    loop {
        evloop::time::sleep(every).await;
        evloop::spawn_blocking(move || std::thread::sleep(block))
            .await
            .unwrap();
    }
}

/// What the row of the task named `name` says in `field`.
fn says<'a>(update: &'a Value, name: &str, field: &str) -> &'a str {
    row(update, name)
        .and_then(|t| t[field].as_str())
        .unwrap_or("")
}

#[test]
fn the_sleep_becomes_a_blocking_job_woken_by_another_thread_and_the_loop_never_stalls() {
    let rt = Runtime::builder().console("127.0.0.1:0").build().unwrap();
    let console = rt.console_addr().unwrap();
    let ms = Duration::from_millis;
    rt.spawn_named("blocker", blocker_off_the_loop(ms(300), ms(300)));

    // Watch until the blocker has waited for a job, then gone back to sleep.
    let mut waited = false;
    let page = watch_until(console, move |u| {
        waited |= says(u, "spawn_blocking", "waiting") == "a blocking job";
        waited && says(u, "blocker", "waiting").starts_with("a timer")
    });
    let updates = run_while(&rt, page);

    // While the job runs: a task named `spawn_blocking` waits on `a
    // blocking job`, and the blocker waits for that task to finish.
    let first = updates
        .iter()
        .position(|u| says(u, "spawn_blocking", "waiting") == "a blocking job")
        .unwrap();
    let job = row(&updates[first], "spawn_blocking").unwrap()["id"].clone();
    let blocker = row(&updates[first], "blocker").unwrap()["id"].clone();
    assert_eq!(
        says(&updates[first], "blocker", "waiting"),
        format!("task-{job} to finish")
    );
    // The timeline from then on: the job's end wakes that task from
    // `another thread` (the pool's), and that task wakes the blocker.
    let events: Vec<&Value> = updates[first..]
        .iter()
        .flat_map(|u| u["events"].as_array().unwrap())
        .collect();
    let wake = |task: &Value, by: &str| {
        let wanted = |e: &&Value| e["k"] == "wake" && e["t"] == *task && e["by"] == by;
        events.iter().position(wanted)
    };
    let from_the_pool = wake(&job, "another thread").expect("the pool woke the job's task");
    let to_the_blocker = wake(&blocker, &format!("task-{job}")).unwrap();
    assert!(from_the_pool < to_the_blocker);

    // Meanwhile the loop never stalled, and nothing was slow: each 300 ms
    // sleep ran on the pool.
    for update in &updates {
        assert_eq!(update["stalled_ms"], 0.0, "{update}");
        assert_eq!(update["slow"].as_array().map(Vec::len), Some(0), "{update}");
    }
    let blocker = row(updates.last().unwrap(), "blocker").unwrap();
    assert!(blocker["longest_ms"].as_f64() < Some(100.0), "{blocker}");
}
// ANCHOR_END: ex3

// ANCHOR: ex4
/// What the chat's loop did while `pages` console pages each read four updates.
struct Watched {
    /// The loop's turns per second, from the first sample they show to the last.
    turns_per_sec: f64,
    /// How many samples of the loop the updates carried.
    samples: usize,
    /// The sockets registered with the chat's loop, in the last sample.
    sockets: u64,
    /// The chat loop's tasks, in the last sample.
    tasks: Vec<String>,
}

/// Lesson 15's chat, idle, with the console on, watched by `pages` pages.
fn watch_the_chat(pages: usize) -> Watched {
    let rt = Runtime::builder().console("127.0.0.1:0").build().unwrap();
    let console = rt.console_addr().unwrap();
    let listener = rt.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
    rt.spawn_named("chat", chat::serve(listener, chat::Options::default()));

    // The pages, all open before any reads; then four updates each.
    let viewers = std::thread::spawn(move || {
        evloop::run(async move {
            let mut open = Vec::new();
            for _ in 0..pages {
                open.push(open_page(console).await);
            }
            let reads = open.into_iter().map(|mut page| async move {
                let mut updates = Vec::new();
                for _ in 0..4 {
                    updates.push(next_update(&mut page).await);
                }
                updates
            });
            let all = evloop::time::timeout(Duration::from_secs(10), evloop::join_all(reads));
            all.await.expect("four updates within 10 s").concat()
        })
    });
    let updates = run_while(&rt, viewers);

    // Every page's updates, merged and ordered by the loop's clock: the
    // samples the loop took for them, each once.
    let clock = |u: &Value| u["clock"].as_f64().unwrap();
    let turns = |u: &Value| u["metrics"]["turns"].as_f64().unwrap();
    let mut samples: Vec<&Value> = updates.iter().filter(|u| clock(u) > 0.0).collect();
    samples.sort_by(|a, b| clock(a).total_cmp(&clock(b)));
    samples.dedup_by(|a, b| clock(a) == clock(b));
    let (first, last) = (samples[0], samples[samples.len() - 1]);
    Watched {
        turns_per_sec: (turns(last) - turns(first)) / (clock(last) - clock(first)),
        samples: samples.len(),
        sockets: last["sources"]["count"].as_u64().unwrap(),
        tasks: last["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap().to_string())
            .collect(),
    }
}

#[test]
fn ten_pages_cost_the_console_thread_not_the_loop() {
    let one = watch_the_chat(1);
    let ten = watch_the_chat(10);
    // Forty updates read, from as many samples as one page's four (one
    // more if the pages, opened one by one, straddle an update): the console
    // samples once per update, and sends that one to every page.
    assert!(
        one.samples <= 4 && ten.samples <= 5,
        "{} {}",
        one.samples,
        ten.samples
    );
    // So the idle chat's loop turns about four times a second — one turn
    // per sample — with one page or ten.
    let per_update = 1.0 / evloop::console::UPDATE_EVERY.as_secs_f64(); // 4 a second
    for watched in [&one, &ten] {
        assert!(
            watched.turns_per_sec <= 1.5 * per_update,
            "{}",
            watched.turns_per_sec
        );
    }
    // And the pages' sockets and tasks are on the console's runtime: the
    // chat's loop holds its listener and its own tasks, however many watch.
    assert_eq!((one.sockets, ten.sockets), (1, 1));
    assert_eq!(one.tasks, ten.tasks);
    assert!(ten.tasks.iter().all(|name| !name.starts_with("console")));
}
// ANCHOR_END: ex4
