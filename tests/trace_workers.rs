//! The trace of a multi-thread runtime: which worker polled what, and every steal.
//!
//! On two workers, one task — the `spawner` — spawns a burst of small tasks.
//! Its spawns land on its own worker's queues; the other worker is idle, is
//! woken when the deque grows, and steals. The trace records both: each
//! event says which worker it happened on, and each steal is an event. The
//! tests check that the three renderings show it — the SVG picture a lane
//! per worker with an arrow per steal, the Chrome JSON a "workers" process
//! with a lane per worker, the text timeline a `[wN]` on each line and a
//! `steal` line — and that a one-thread trace shows no worker at all.
//!
//! Which tasks get stolen, and how many at once, changes from run to run: the
//! tests never assume it. They compare each rendering with the trace's own
//! events (one steal arrow per `Steal` event, one worker-lane bar per poll a
//! worker made), so they hold for any interleaving.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use evloop::trace::{EventKind, Trace};
use evloop::{yield_now, Runtime};

/// How many tasks the spawner spawns.
const TASKS: usize = 200;
/// How many times each of them works, then yields.
const ROUNDS: usize = 3;
/// How long each round spins: a little CPU work that keeps its worker busy.
const WORK: Duration = Duration::from_micros(50);
/// How many bursts we try before deciding stealing is broken: the idle
/// worker may, on a loaded machine, wake only after the burst is done.
const ATTEMPTS: usize = 10;

/// Spin (not sleep: the worker stays busy) for `work`.
fn spin(work: Duration) {
    let start = Instant::now();
    while start.elapsed() < work {
        std::hint::spin_loop();
    }
}

/// One burst on a fresh two-worker tracing runtime: its trace and
/// `Runtime::steals`.
fn burst() -> (Trace, Vec<u64>) {
    let rt = Runtime::builder()
        .worker_threads(2)
        .trace(true)
        .build()
        .expect("a poller and two threads");
    rt.block_on(async {
        let spawner = evloop::task::Builder::new().name("spawner").spawn(async {
            let handles: Vec<_> = (0..TASKS)
                .map(|i| {
                    evloop::task::Builder::new()
                        .name(format!("t{i}"))
                        .spawn(async {
                            for _ in 0..ROUNDS {
                                spin(WORK);
                                yield_now().await;
                            }
                        })
                })
                .collect();
            for handle in handles {
                handle.await.expect("a burst task does not panic");
            }
        });
        // Bounded: a lost wake fails the test instead of hanging it.
        evloop::time::timeout(Duration::from_secs(30), spawner)
            .await
            .expect("the burst finishes in time")
            .expect("the spawner does not panic");
    });
    (rt.trace(), rt.steals())
}

/// A burst's trace in which worker 1 stole from worker 0 or the other way
/// round, and both workers polled: made once, read by every test.
fn stolen() -> &'static Trace {
    static TRACE: OnceLock<Trace> = OnceLock::new();
    TRACE.get_or_init(|| {
        for _ in 0..ATTEMPTS {
            let (trace, steals) = burst();
            let both_polled = [0, 1].iter().all(|w| polls_on(&trace, *w) > 0);
            if steals.iter().sum::<u64>() > 0 && both_polled {
                // The trace saw every steal the counters saw, no more.
                assert_eq!(
                    steal_events(&trace).len() as u64,
                    steals.iter().sum::<u64>()
                );
                return trace;
            }
        }
        panic!("in {ATTEMPTS} bursts of {TASKS} tasks on two workers, no steal happened")
    })
}

/// How many polls worker `worker` made.
fn polls_on(trace: &Trace, worker: usize) -> usize {
    trace
        .events()
        .iter()
        .filter(|e| matches!(e.kind, EventKind::Poll { .. }) && e.worker == Some(worker))
        .count()
}

/// The steals, as `(from, to, tasks)`.
fn steal_events(trace: &Trace) -> Vec<(usize, usize, usize)> {
    trace
        .events()
        .iter()
        .filter_map(|e| match e.kind {
            EventKind::Steal { from, to, tasks } => Some((from, to, tasks)),
            _ => None,
        })
        .collect()
}

/// "task" or "tasks".
fn tasks(n: usize) -> String {
    format!("{n} task{}", if n == 1 { "" } else { "s" })
}

/// The value of attribute `name` in the first tag of `svg` at or after `from`.
fn attribute(svg: &str, from: usize, name: &str) -> f64 {
    let key = format!(" {name}=\"");
    let start = from + svg[from..].find(&key).expect("the attribute is there") + key.len();
    let end = start + svg[start..].find('"').expect("a closing quote");
    svg[start..end].parse().expect("a number")
}

/// The centre line of the lane labelled `label`: the label's text sits 4
/// below it.
fn lane_y(svg: &str, label: &str) -> f64 {
    let text = format!(">{label}</text>");
    let at = svg.find(&text).expect("the lane is labelled");
    let tag = svg[..at].rfind("<text").expect("the label's tag");
    attribute(svg, tag, "y") - 4.0
}

#[test]
fn the_picture_has_a_lane_per_worker_with_the_polls_it_ran() {
    let trace = stolen();
    let svg = trace.to_svg();
    assert!(svg.contains(">worker 0</text>"), "no lane for worker 0");
    assert!(svg.contains(">worker 1</text>"), "no lane for worker 1");
    assert!(svg.contains(", 2 worker lanes</title>"));
    // Every poll a worker made is a bar on its lane, named after the task —
    // and drawn on that lane's centre line.
    for worker in [0, 1] {
        let bars = format!("worker {worker} polls ");
        assert_eq!(svg.matches(&bars).count(), polls_on(trace, worker));
        let first = svg.find(&bars).unwrap();
        let bar = svg[..first].rfind("<rect").unwrap();
        let height = attribute(&svg, bar, "height");
        let centre = attribute(&svg, bar, "y") + height / 2.0;
        assert!((centre - lane_y(&svg, &format!("worker {worker}"))).abs() < 0.2);
    }
    // And the task lanes are still there, one per task, main first.
    assert!(svg.contains(">spawner</text>") && svg.contains(">t199</text>"));
    assert!(svg.contains(&format!("{} task lanes", TASKS + 2)));
}

#[test]
fn the_picture_draws_each_steal_from_the_robbed_worker_to_the_thief() {
    let trace = stolen();
    let svg = trace.to_svg();
    let steals = steal_events(trace);
    assert!(!steals.is_empty());
    assert_eq!(svg.matches(" stole ").count(), steals.len());
    for (from, to, n) in steals {
        // The arrow's title names both workers...
        let title = format!("w{to} stole {} from w{from}</title>", tasks(n));
        let at = svg.find(&title).expect("each steal has its arrow");
        // ...and its line runs from the robbed worker's lane towards the thief's.
        let (victim, thief) = (
            lane_y(&svg, &format!("worker {from}")),
            lane_y(&svg, &format!("worker {to}")),
        );
        let (y1, y2) = (attribute(&svg, at, "y1"), attribute(&svg, at, "y2"));
        assert!((y1 - victim).abs() < 0.2, "starts on worker {from}'s lane");
        assert!((y2 - victim).abs() > 5.0 && (y2 - thief).abs() < (y1 - thief).abs());
    }
    assert!(svg.contains("steal: robbed worker → thief</text>"));
}

#[test]
fn the_chrome_json_has_a_workers_process_with_a_lane_per_worker() {
    let trace = stolen();
    let json: serde_json::Value =
        serde_json::from_str(&trace.to_chrome_json()).expect("valid JSON");
    let events = json["traceEvents"].as_array().expect("a list of events");
    let on_workers = |ph: &str| {
        events
            .iter()
            .filter(|e| e["pid"] == 2 && e["ph"] == ph)
            .collect::<Vec<_>>()
    };
    // Process 2 is named, and each worker's lane in it.
    assert!(events
        .iter()
        .any(|e| e["name"] == "process_name" && e["pid"] == 2 && e["args"]["name"] == "workers"));
    for worker in [0, 1] {
        let name = format!("worker {worker}");
        assert!(on_workers("M").iter().any(|e| e["name"] == "thread_name"
            && e["tid"] == worker
            && e["args"]["name"] == name));
        // Each poll the worker made is a span on its lane.
        let spans = on_workers("X")
            .into_iter()
            .filter(|e| e["tid"] == worker)
            .count();
        assert_eq!(spans, polls_on(trace, worker));
    }
    // Each steal is an instant on the thief's lane, saying who from and how many.
    let steals: Vec<(usize, usize, usize)> = on_workers("i")
        .into_iter()
        .filter(|e| e["name"] == "steal")
        .map(|e| {
            let arg = |k: &str| e["args"][k].as_u64().unwrap() as usize;
            assert_eq!(e["tid"].as_u64().unwrap() as usize, arg("to"));
            (arg("from"), arg("to"), arg("tasks"))
        })
        .collect();
    assert_eq!(steals, steal_events(trace));
    // The tasks' lanes are still there, in process 1.
    assert!(events
        .iter()
        .any(|e| e["pid"] == 1 && e["name"] == "thread_name" && e["args"]["name"] == "spawner"));
}

#[test]
fn the_timeline_names_the_worker_of_each_event_and_prints_each_steal() {
    let trace = stolen();
    let timeline = trace.timeline();
    for worker in [0, 1] {
        let polls = format!("[w{worker}] poll   ");
        assert_eq!(timeline.matches(&polls).count(), polls_on(trace, worker));
    }
    let steal_lines: Vec<&str> = timeline.lines().filter(|l| l.contains("steal")).collect();
    let steals = steal_events(trace);
    assert_eq!(steal_lines.len(), steals.len());
    for (line, (from, to, n)) in steal_lines.iter().zip(steals) {
        assert!(
            line.ends_with(&format!("[w{to}] steal  w{to} ← w{from}: {}", tasks(n))),
            "{line}"
        );
    }
}

#[test]
fn a_one_thread_trace_draws_no_worker() {
    // A paused runtime is always the one loop, even under EVLOOP_WORKER_THREADS.
    let rt = Runtime::builder()
        .start_paused(true)
        .trace(true)
        .build()
        .unwrap();
    rt.block_on(async {
        let sleeper = evloop::task::Builder::new()
            .name("sleeper")
            .spawn(evloop::time::sleep(Duration::from_secs(1)));
        sleeper.await.unwrap();
    });
    let trace = rt.trace();
    assert!(trace.events().iter().all(|e| e.worker.is_none()));
    let svg = trace.to_svg();
    assert!(svg.contains(">sleeper</text>"));
    assert!(!svg.contains("worker"), "{svg}");
    assert!(!svg.contains(" stole "));
    let json = trace.to_chrome_json();
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    let events = json["traceEvents"].as_array().unwrap();
    assert!(events.iter().all(|e| e["pid"] == 1));
    assert!(!trace.timeline().contains("[w"));
}

mod workers;

/// Every test above again, on worker threads (`tests/workers/mod.rs`).
#[test]
fn on_workers() {
    workers::rerun_on_workers(&[]);
}
