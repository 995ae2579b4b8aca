//! The renderings of a hand-made multi-thread trace: the cases a real run
//! makes only by chance (a worker robbed before it ever polled, a steal of
//! one task, a worker parking in the reactor), checked the same every time.
//! `tests/trace_workers.rs` checks a real run's.

use std::time::Duration;

use super::{Event, EventKind, PollOutcome, Trace};

/// `kind`, at `ms` milliseconds, on `worker`.
fn event(ms: u64, worker: Option<usize>, kind: EventKind) -> Event {
    Event {
        at: Duration::from_millis(ms),
        kind,
        worker,
    }
}

fn poll(task: u64) -> EventKind {
    EventKind::Poll {
        task,
        outcome: PollOutcome::Ready,
        took: Duration::from_micros(5),
    }
}

/// Worker 2 spawns two tasks; worker 1, never having polled, steals one of
/// them and runs it; worker 2 parks in the reactor; `main` ran off the workers.
fn stolen() -> Trace {
    let spawn = |task: u64| EventKind::Spawn {
        task,
        name: Some(format!("job{task}")),
    };
    let events = vec![
        event(0, None, poll(0)),
        event(1, Some(2), spawn(1)),
        event(1, Some(2), spawn(2)),
        event(
            2,
            Some(1),
            EventKind::Steal {
                from: 2,
                to: 1,
                tasks: 1,
            },
        ),
        event(2, Some(1), poll(2)),
        event(3, Some(2), poll(1)),
        event(4, Some(2), EventKind::Park { timeout: None }),
    ];
    Trace::new(events, false)
}

#[test]
fn the_picture_has_a_lane_per_worker_seen_and_no_loop_row() {
    let svg = stolen().to_svg();
    // Workers 1 and 2 have lanes, in order; worker 0 never showed up.
    let one = svg.find(">worker 1</text>").expect("worker 1's lane");
    let two = svg.find(">worker 2</text>").expect("worker 2's lane");
    assert!(one < two && !svg.contains(">worker 0</text>"));
    assert!(svg.contains("3 task lanes, 2 worker lanes</title>"));
    // A worker parks on its own lane: there is no one loop to park.
    assert!(!svg.contains(">loop</text>"));
    assert!(svg.contains("park until I/O or a wake"));
    // One task stolen: singular, and the legend says what the arrow is.
    assert!(svg.contains("0.002s w1 stole 1 task from w2</title>"));
    assert!(svg.contains(">steal: robbed worker → thief</text>"));
    // Polls on both lanes; `main` polled off the workers, on no worker lane.
    assert!(svg.contains("worker 1 polls job2 → Ready"));
    assert!(svg.contains("worker 2 polls job1 → Ready"));
    assert!(!svg.contains("polls main"));
}

#[test]
fn the_chrome_json_puts_worker_events_on_the_workers_lanes() {
    let json: serde_json::Value = serde_json::from_str(&stolen().to_chrome_json()).unwrap();
    let events = json["traceEvents"].as_array().unwrap();
    let find = |ph: &str, name: &str| {
        events
            .iter()
            .filter(|e| e["ph"] == ph && e["name"] == name)
            .collect::<Vec<_>>()
    };
    let lanes: Vec<_> = find("M", "thread_name")
        .into_iter()
        .filter(|e| e["pid"] == 2)
        .map(|e| (e["tid"].as_u64().unwrap(), e["args"]["name"].clone()))
        .collect();
    assert_eq!(lanes, [(1, "worker 1".into()), (2, "worker 2".into())]);
    // Each worker poll twice: "poll" on the task's lane, the task's name on the worker's.
    let job2 = find("X", "job2");
    assert_eq!(
        (job2.len(), &job2[0]["pid"], &job2[0]["tid"]),
        (1, &2.into(), &1.into())
    );
    assert_eq!(find("X", "poll").len(), 3);
    let steal = find("i", "steal");
    assert_eq!((&steal[0]["pid"], &steal[0]["tid"]), (&2.into(), &1.into()));
    assert_eq!(
        steal[0]["args"],
        serde_json::json!({"from": 2, "to": 1, "tasks": 1})
    );
    let park = find("i", "park");
    assert_eq!((&park[0]["pid"], &park[0]["tid"]), (&2.into(), &2.into()));
}

#[test]
fn the_timeline_prefixes_the_worker_and_words_a_steal() {
    let timeline = stolen().timeline();
    let lines: Vec<&str> = timeline.lines().collect();
    assert!(
        lines[0].ends_with("s  poll   main → Ready (5 µs)"),
        "{}",
        lines[0]
    );
    assert!(
        lines[3].ends_with("s  [w1] steal  w1 ← w2: 1 task"),
        "{}",
        lines[3]
    );
    assert!(
        lines[6].ends_with("s  [w2] park   until I/O or a wake"),
        "{}",
        lines[6]
    );
}
