//! The Chrome Trace Event export: a [`Trace`] as JSON that Perfetto
//! (<https://ui.perfetto.dev>) or `chrome://tracing` opens.
//!
//! For a long run the text timeline is too long and the SVG too wide; a
//! trace viewer zooms. The format is a list of events, each with a phase
//! (`"ph"`): `"M"` metadata names a lane (a "thread", `tid`), `"X"` is a
//! span with a duration — a poll — and `"i"` an instant — a spawn, a wake, a
//! park. Times are microseconds (`ts`, `dur`) on the runtime's clock.
//!
//! Lane 0 is the event loop and the `block_on` future together; every task
//! has its own lane, named as [`Trace::name`] names it.

use std::time::Duration;

use super::{EventKind, Trace};

/// `trace` as Chrome Trace Event JSON; see [`Trace::to_chrome_json`].
pub(super) fn render(trace: &Trace) -> String {
    use serde_json::{json, Value};
    let us = |d: &Duration| d.as_secs_f64() * 1e6;
    let mut out: Vec<Value> = Vec::new();
    let mut lanes: Vec<(&u64, &String)> = trace.names.iter().collect();
    lanes.sort();
    for (id, name) in lanes {
        let name = if *id == 0 {
            "event loop / main".to_string()
        } else {
            name.clone()
        };
        out.push(
            json!({"ph": "M", "name": "thread_name", "pid": 1, "tid": id, "args": {"name": name}}),
        );
    }
    for e in &trace.events {
        let ts = us(&e.at);
        let instant = |name: &str, tid: u64, args: Value| json!({"ph": "i", "s": "t", "name": name, "ts": ts, "pid": 1, "tid": tid, "args": args});
        out.push(match &e.kind {
            EventKind::Spawn { task, .. } => instant("spawn", *task, json!({})),
            EventKind::Poll { task, outcome, took } => json!({
                "ph": "X", "name": "poll", "ts": ts, "dur": us(took).max(1.0), "pid": 1, "tid": task,
                "args": {"outcome": format!("{outcome:?}")}
            }),
            EventKind::Wake { task, by } => instant("wake", *task, json!({"by": trace.by(*by)})),
            EventKind::Io { token, readable, writable } => {
                instant("io", 0, json!({"token": token, "readable": readable, "writable": writable}))
            }
            EventKind::Park { timeout } => {
                instant("park", 0, json!({"timeout_ms": timeout.map(|t| t.as_secs_f64() * 1e3)}))
            }
            EventKind::ClockJump { to } => instant("clock jump", 0, json!({"to_s": to.as_secs_f64()})),
            EventKind::SlowPoll { task, took } => {
                instant("slow poll", *task, json!({"took_ms": took.as_secs_f64() * 1e3}))
            }
            EventKind::DropPanic { task } => instant("output drop panicked", *task, json!({})),
            EventKind::Steal { from, to, tasks } => {
                instant("steal", 0, json!({"from": from, "to": to, "tasks": tasks}))
            }
        });
    }
    json!({"traceEvents": out, "displayTimeUnit": "ms"}).to_string()
}
