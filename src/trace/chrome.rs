//! The Chrome Trace Event export: a [`Trace`] as JSON that Perfetto
//! (<https://ui.perfetto.dev>) or `chrome://tracing` opens.
//!
//! For a long run the text timeline is too long and the SVG too wide; a
//! trace viewer zooms. The format is a list of events, each with a phase
//! (`"ph"`): `"M"` metadata names a lane (a "thread", `tid`) or a group of
//! lanes (a "process", `pid`), `"X"` is a span with a duration — a poll — and
//! `"i"` an instant — a spawn, a wake, a park. Times are microseconds (`ts`,
//! `dur`) on the runtime's clock.
//!
//! Process 1 holds the tasks. Its lane 0 is the event loop and the `block_on`
//! future together; every task has its own lane, named as [`Trace::name`]
//! names it.
//!
//! A run of a multi-thread runtime (`Builder::worker_threads`) adds process
//! 2, "workers", with one lane per worker thread (`tid` = the worker's index):
//! every poll a worker ran is drawn there again, named after the task, so
//! the viewer shows which thread ran what; a steal is an instant on the
//! thief's lane (`args`: `from`, `to`, `tasks`); and a worker's parks and the
//! I/O it found go on its own lane rather than lane 0 — there is no one loop.
//! A one-thread run has no process 2, and its JSON is as it always was.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::{json, Value};

use super::{EventKind, Trace};

/// The process that holds the tasks' lanes.
const TASKS: u64 = 1;
/// The process that holds the workers' lanes, on a multi-thread run.
const WORKERS: u64 = 2;

/// `trace` as Chrome Trace Event JSON; see [`Trace::to_chrome_json`].
pub(super) fn render(trace: &Trace) -> String {
    let us = |d: &Duration| d.as_secs_f64() * 1e6;
    let mut out: Vec<Value> = Vec::new();
    let workers = workers(trace);
    let mut lanes: Vec<(&u64, &String)> = trace.names.iter().collect();
    lanes.sort();
    for (id, name) in lanes {
        let name = if *id != 0 {
            name.clone()
        } else if workers.is_empty() {
            "event loop / main".to_string()
        } else {
            // The loop's work is on the workers' lanes; lane 0 is the `block_on` future.
            "main".to_string()
        };
        out.push(
            json!({"ph": "M", "name": "thread_name", "pid": TASKS, "tid": id, "args": {"name": name}}),
        );
    }
    if !workers.is_empty() {
        for (pid, name) in [(TASKS, "tasks"), (WORKERS, "workers")] {
            out.push(
                json!({"ph": "M", "name": "process_name", "pid": pid, "args": {"name": name}}),
            );
        }
        for worker in &workers {
            out.push(json!({
                "ph": "M", "name": "thread_name", "pid": WORKERS, "tid": worker,
                "args": {"name": format!("worker {worker}")}
            }));
        }
    }
    for e in &trace.events {
        let ts = us(&e.at);
        let instant = |name: &str, pid: u64, tid: u64, args: Value| json!({"ph": "i", "s": "t", "name": name, "ts": ts, "pid": pid, "tid": tid, "args": args});
        // Where the loop's own events go: lane 0, or the worker's lane.
        let (loop_pid, loop_tid) = match e.worker {
            Some(worker) => (WORKERS, worker as u64),
            None => (TASKS, 0),
        };
        out.push(match &e.kind {
            EventKind::Spawn { task, .. } => instant("spawn", TASKS, *task, json!({})),
            EventKind::Poll { task, outcome, took } => json!({
                "ph": "X", "name": "poll", "ts": ts, "dur": us(took).max(1.0), "pid": TASKS, "tid": task,
                "args": {"outcome": format!("{outcome:?}")}
            }),
            EventKind::Wake { task, by } => instant("wake", TASKS, *task, json!({"by": trace.by(*by)})),
            EventKind::Io { token, readable, writable } => {
                instant("io", loop_pid, loop_tid, json!({"token": token, "readable": readable, "writable": writable}))
            }
            EventKind::Park { timeout } => {
                instant("park", loop_pid, loop_tid, json!({"timeout_ms": timeout.map(|t| t.as_secs_f64() * 1e3)}))
            }
            EventKind::ClockJump { to } => instant("clock jump", TASKS, 0, json!({"to_s": to.as_secs_f64()})),
            EventKind::SlowPoll { task, took } => {
                instant("slow poll", TASKS, *task, json!({"took_ms": took.as_secs_f64() * 1e3}))
            }
            EventKind::DropPanic { task } => instant("output drop panicked", TASKS, *task, json!({})),
            EventKind::Steal { from, to, tasks } => {
                instant("steal", WORKERS, *to as u64, json!({"from": from, "to": to, "tasks": tasks}))
            }
        });
        // The same poll again on the lane of the worker that ran it, named
        // after the task: the workers' lanes say which thread ran what.
        if let (
            EventKind::Poll {
                task,
                outcome,
                took,
            },
            Some(worker),
        ) = (&e.kind, e.worker)
        {
            out.push(json!({
                "ph": "X", "name": trace.name(*task), "ts": ts, "dur": us(took).max(1.0),
                "pid": WORKERS, "tid": worker,
                "args": {"task": task, "outcome": format!("{outcome:?}")}
            }));
        }
    }
    json!({"traceEvents": out, "displayTimeUnit": "ms"}).to_string()
}

/// The workers the run had, by index: those that recorded an event, and
/// those that were robbed. Empty for a one-thread run.
fn workers(trace: &Trace) -> BTreeSet<usize> {
    let mut workers = BTreeSet::new();
    for e in &trace.events {
        workers.extend(e.worker);
        if let EventKind::Steal { from, to, .. } = e.kind {
            workers.extend([from, to]);
        }
    }
    workers
}
