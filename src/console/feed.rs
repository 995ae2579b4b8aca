//! The feed: one JSON update per period, from a sample and the recent events.
//!
//! Encoded once on the console's thread and sent as the same frame to every
//! viewer. An update is whole: a viewer that skipped some (a slow browser)
//! is up to date again with the next one; only the timeline misses the
//! events of the skipped ones. The shape, as the page reads it:
//!
//! ```text
//! { "clock": 12.5, "stalled_ms": 0, "turns_per_sec": 930.0,
//!   "metrics": { "tasks_spawned": .., "polls": .., "wakes": .., "turns": .., "slow_polls": .., .. },
//!   "tasks": [ { "id": 3, "name": "connection", "state": "idle", "polls": 12,
//!                "busy_ms": 0.4, "since_poll_ms": 250.0, "woken_by": "io#4",
//!                "waiting": "io#4 to be readable", "slow_polls": 0, "longest_ms": 0.1 } ],
//!   "run_queue": [1, 3, 1],
//!   "wheel": { "timers": 2, "levels": [1, 1, 0, 0, 0, 0], "next_deadline_ms": 12750.0 },
//!   "sources": { "count": 3, "list": [ { "token": 0, "readable": false, .. } ] },
//!   "slow": [ { "task": 7, "name": "blocker", "at_ms": 12010.0, "took_ms": 300.2 } ],
//!   "slow_threshold_ms": 100.0,
//!   "events": [ { "k": "poll", "t": 3, "at": 12.1, "d": 0.02, "o": "pending" },
//!               { "k": "wake", "t": 3, "at": 12.0, "by": "io#4" }, .. ],
//!   "dropped": 0 }
//! ```
//! Times are milliseconds on the runtime's clock, except `clock` (seconds).

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::UPDATE_EVERY;
use crate::runtime::observe::{RecentEvents, Sample};
use crate::task::TaskState;
use crate::trace::{EventKind, PollOutcome, WakeSource};

/// Events one update carries at most (the newest); the rest are counted as dropped.
pub(super) const EVENTS_PER_UPDATE: usize = 2000;

/// What the feed remembers between updates: the last sample's turn count,
/// for turns per second.
#[derive(Default)]
pub(super) struct Feed {
    last: Option<(Instant, u64)>,
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

impl Feed {
    /// The update for this period: `sample` is the loop's latest answer
    /// (`None` before its first), `recent` the events since the last update.
    pub(super) fn update(&mut self, sample: Option<&Sample>, recent: RecentEvents) -> String {
        let now = Instant::now();
        let mut update = match sample {
            Some(sample) => self.sample(sample, now),
            None => json!({ "clock": 0.0, "stalled_ms": 0, "tasks": [] }),
        };
        let skip = recent.events.len().saturating_sub(EVENTS_PER_UPDATE);
        let events: Vec<Value> = recent.events[skip..]
            .iter()
            .filter_map(|e| event(e.at, &e.kind))
            .collect();
        update["events"] = Value::Array(events);
        update["dropped"] = json!(recent.dropped + skip as u64);
        update.to_string()
    }

    fn sample(&mut self, s: &Sample, now: Instant) -> Value {
        // The loop answers a request at its next turn; an answer older than
        // two periods means no turn has ended since: something blocks it.
        let age = now.saturating_duration_since(s.taken_at);
        let stalled = if age > 2 * UPDATE_EVERY { ms(age) } else { 0.0 };
        let turns_per_sec = match self.last {
            Some((at, turns)) if s.taken_at > at => {
                (s.metrics.turns - turns) as f64 / (s.taken_at - at).as_secs_f64()
            }
            Some((_, _)) => return self.repeat(s, stalled),
            None => 0.0,
        };
        self.last = Some((s.taken_at, s.metrics.turns));
        let mut value = encode(s);
        value["stalled_ms"] = json!(stalled);
        value["turns_per_sec"] = json!(turns_per_sec);
        value
    }

    /// The loop has not answered since the last update: the same sample
    /// again, marked with how long it has been silent.
    fn repeat(&self, s: &Sample, stalled: f64) -> Value {
        let mut value = encode(s);
        value["stalled_ms"] = json!(stalled);
        value["turns_per_sec"] = json!(0.0);
        value
    }
}

fn encode(s: &Sample) -> Value {
    let m = &s.metrics;
    let tasks: Vec<Value> = s
        .tasks
        .iter()
        .map(|t| {
            let state = match t.info.state {
                TaskState::Idle => "idle",
                TaskState::Scheduled => "scheduled",
                TaskState::Running => "running",
            };
            let waiting = t.info.waiting_on.to_string();
            json!({
                "id": t.info.id,
                "name": t.info.name,
                "state": state,
                "polls": t.polls,
                "busy_ms": ms(t.busy),
                "since_poll_ms": t.last_poll.map(|at| ms(s.clock.saturating_sub(at))),
                "woken_by": t.woken_by.map(|by| wake_source(by, s)),
                "waiting": waiting,
                "slow_polls": t.slow_polls,
                "longest_ms": ms(t.longest_poll),
            })
        })
        .collect();
    let sources: Vec<Value> = s
        .sources
        .iter()
        .map(|io| {
            json!({
                "token": io.token, "readable": io.readable, "writable": io.writable,
                "readers": io.readers, "writers": io.writers,
            })
        })
        .collect();
    let slow: Vec<Value> = s
        .slow_polls
        .iter()
        .map(
            |p| json!({ "task": p.task, "name": p.name, "at_ms": ms(p.at), "took_ms": ms(p.took) }),
        )
        .collect();
    json!({
        "clock": s.clock.as_secs_f64(),
        "metrics": {
            "tasks_spawned": m.tasks_spawned, "polls": m.polls, "wakes": m.wakes,
            "timers_fired": m.timers_fired, "io_events": m.io_events, "turns": m.turns,
            "slow_polls": m.slow_polls, "longest_poll_ms": ms(m.longest_poll),
        },
        "tasks": tasks,
        "run_queue": s.run_queue,
        "wheel": {
            "timers": s.timers,
            "levels": s.wheel_occupancy,
            "next_deadline_ms": s.next_deadline.map(ms),
        },
        "sources": { "count": s.source_count, "list": sources },
        "slow": slow,
        "slow_threshold_ms": ms(s.slow_poll_threshold),
    })
}

/// Who woke a task, as the page prints it: a task by name, or what else.
fn wake_source(by: WakeSource, s: &Sample) -> String {
    match by {
        WakeSource::Task(id) => s
            .tasks
            .iter()
            .find(|t| t.info.id == id)
            .map_or_else(|| format!("task-{id}"), |t| t.info.name.clone()),
        WakeSource::Main => "main".to_string(),
        WakeSource::Timer => "timer".to_string(),
        WakeSource::Io(token) => format!("io#{token}"),
        WakeSource::OtherThread => "another thread".to_string(),
        WakeSource::Runtime => "the runtime".to_string(),
    }
}

/// One event for the timeline; the kinds it does not draw are left out.
fn event(at: Duration, kind: &EventKind) -> Option<Value> {
    let at = ms(at);
    Some(match *kind {
        EventKind::Spawn { task, ref name } => {
            json!({ "k": "spawn", "t": task, "at": at, "name": name })
        }
        EventKind::Poll {
            task,
            outcome,
            took,
        } => {
            let o = match outcome {
                PollOutcome::Pending => "pending",
                PollOutcome::Ready => "ready",
                PollOutcome::Panicked => "panicked",
                PollOutcome::Cancelled => "cancelled",
            };
            json!({ "k": "poll", "t": task, "at": at, "d": ms(took), "o": o })
        }
        EventKind::Wake { task, by } => {
            let (by, from) = match by {
                WakeSource::Task(id) => (format!("task-{id}"), Some(id)),
                WakeSource::Main => ("main".to_string(), Some(0)),
                WakeSource::Timer => ("timer".to_string(), None),
                WakeSource::Io(token) => (format!("io#{token}"), None),
                WakeSource::OtherThread => ("another thread".to_string(), None),
                WakeSource::Runtime => ("the runtime".to_string(), None),
            };
            json!({ "k": "wake", "t": task, "at": at, "by": by, "from": from })
        }
        EventKind::Io { token, .. } => json!({ "k": "io", "at": at, "token": token }),
        EventKind::Park { .. } => json!({ "k": "park", "at": at }),
        _ => return None,
    })
}
