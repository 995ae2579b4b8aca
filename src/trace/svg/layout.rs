//! Where everything goes: the rows top to bottom, the columns left to right.
//!
//! Nothing is drawn here. [`Layout::new`] decides which rows the run needs
//! (a multi-thread run adds a lane per worker between the sources and the tasks),
//! how wide a column is, and where the axis and legend sit; the other files
//! only ask it for an x or a y.

use std::collections::{BTreeSet, HashMap};

use super::{EventKind, Trace, WakeSource};

/// Height of one lane or row.
pub(super) const LANE: f64 = 26.0;
/// Space above the first row, for clock-jump labels.
pub(super) const TOP: f64 = 34.0;
/// Width of the widest column an event gets (few events: roomy).
const MAX_STEP: f64 = 18.0;
/// Width of the narrowest column (many events: a wide picture, still legible).
const MIN_STEP: f64 = 6.0;
/// The width the columns aim to fill.
const TARGET_WIDTH: f64 = 900.0;

/// A row of the picture: a task's lane, a worker thread's lane, or one of
/// the sources of wakes.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Row {
    Timers,
    Io,
    Thread,
    Runtime,
    Loop,
    /// A worker thread of a multi-thread runtime: the polls it ran, the
    /// steals it made or suffered, the parks it took in the reactor.
    Worker(usize),
    Task(u64),
}

impl Row {
    /// The row a wake's arrow starts from.
    pub(super) fn of_source(by: WakeSource) -> Row {
        match by {
            WakeSource::Task(id) => Row::Task(id),
            WakeSource::Main => Row::Task(0),
            WakeSource::Timer => Row::Timers,
            WakeSource::Io(_) => Row::Io,
            WakeSource::OtherThread => Row::Thread,
            WakeSource::Runtime => Row::Runtime,
        }
    }
}

/// The picture's geometry, worked out once from the trace.
pub(super) struct Layout {
    /// The rows, top to bottom: wake sources first, then one lane per worker
    /// (a multi-thread run only), then one lane per task.
    pub(super) rows: Vec<Row>,
    /// How many of `rows` are wake sources (the first rows).
    pub(super) sources: usize,
    /// How many of `rows` are worker lanes (right after the sources).
    pub(super) workers: usize,
    row_y: HashMap<Row, f64>,
    /// Where the first column starts; row labels end just left of it.
    pub(super) columns_left: f64,
    /// The width of one column: one event.
    pub(super) step: f64,
    /// Where the guide lines and the axis end.
    pub(super) chart_right: f64,
    /// The bottom edge of the last lane.
    pub(super) chart_bottom: f64,
    /// Runs of columns that share a clock reading, as `(first, last)` column:
    /// each gets a band, and the axis is labelled where one begins.
    pub(super) readings: Vec<(usize, usize)>,
    /// The whole picture, room for the legend included.
    pub(super) width: f64,
    pub(super) height: f64,
}

impl Layout {
    /// Lays out `trace`, making the picture at least wide enough for a
    /// legend `legend_width` wide.
    pub(super) fn new(trace: &Trace, legend_width: f64) -> Layout {
        let events = trace.events();
        let rows = rows(trace);
        let row_y: HashMap<Row, f64> = rows
            .iter()
            .enumerate()
            .map(|(i, row)| (*row, TOP + LANE * i as f64 + LANE / 2.0))
            .collect();
        let workers = rows.iter().filter(|r| matches!(r, Row::Worker(_))).count();
        let sources = rows.iter().filter(|r| !matches!(r, Row::Task(_))).count() - workers;

        // Room for the longest row label, in a monospace font.
        let label_width = rows
            .iter()
            .map(|row| label(trace, *row).chars().count())
            .max()
            .unwrap_or(4) as f64
            * 7.0
            + 16.0;
        // Few events get roomy columns, many get narrow ones, within limits.
        let columns = events.len().max(1) as f64;
        let step = (TARGET_WIDTH / columns).clamp(MIN_STEP, MAX_STEP);
        let columns_left = label_width.max(70.0);
        let chart_right = columns_left + step * columns + 10.0;
        let chart_bottom = TOP + LANE * rows.len() as f64;

        let mut readings: Vec<(usize, usize)> = Vec::new();
        for (i, e) in events.iter().enumerate() {
            match readings.last_mut() {
                Some((first, last)) if events[*first].at == e.at => *last = i,
                _ => readings.push((i, i)),
            }
        }

        Layout {
            rows,
            sources,
            workers,
            row_y,
            columns_left,
            step,
            chart_right,
            chart_bottom,
            readings,
            width: chart_right.max(legend_width + 20.0).ceil(),
            // The axis, its caption and the legend go below the lanes.
            height: (chart_bottom + 86.0).ceil(),
        }
    }

    /// The centre of column `i`: the `i`th event.
    pub(super) fn x(&self, i: usize) -> f64 {
        self.columns_left + self.step * (i as f64 + 0.5)
    }

    /// The left edge of column `i`.
    pub(super) fn left_of(&self, i: usize) -> f64 {
        self.x(i) - self.step / 2.0
    }

    /// How many of the rows are task lanes.
    pub(super) fn tasks(&self) -> usize {
        self.rows.len() - self.sources - self.workers
    }

    /// The centre line of `row`.
    pub(super) fn y(&self, row: Row) -> f64 {
        self.row_y[&row]
    }

    /// The time axis's line, just below the lanes.
    pub(super) fn axis_y(&self) -> f64 {
        self.chart_bottom + 8.0
    }

    /// The legend's centre line, below the axis and its caption.
    pub(super) fn legend_y(&self) -> f64 {
        self.axis_y() + 56.0
    }
}

/// The rows, top to bottom: the wake sources the run needs, then one lane
/// per worker thread (if the run had any), then one lane per task.
fn rows(trace: &Trace) -> Vec<Row> {
    let mut needed = [false; 5]; // timers, io, thread, runtime, loop
    let mut tasks: Vec<u64> = Vec::new();
    // By index, so worker 0 is on top whoever ran first.
    let mut workers: BTreeSet<usize> = BTreeSet::new();
    let see = |task: u64, tasks: &mut Vec<u64>| {
        if !tasks.contains(&task) {
            tasks.push(task);
        }
    };
    for e in trace.events() {
        match &e.kind {
            EventKind::Wake { by, .. } => match by {
                WakeSource::Timer => needed[0] = true,
                WakeSource::Io(_) => needed[1] = true,
                WakeSource::OtherThread => needed[2] = true,
                WakeSource::Runtime => needed[3] = true,
                WakeSource::Task(_) | WakeSource::Main => {}
            },
            EventKind::Io { .. } => needed[1] = true,
            // A worker parks in the reactor on its own lane; only the one
            // loop of a one-thread runtime parks on the `loop` row.
            EventKind::Park { .. } if e.worker.is_none() => needed[4] = true,
            // A worker robbed of tasks gets a lane even if it never polled.
            EventKind::Steal { from, to, .. } => workers.extend([*from, *to]),
            _ => {}
        }
        workers.extend(e.worker);
        if let Some(task) = task_of(&e.kind) {
            see(task, &mut tasks);
        }
        if let EventKind::Wake {
            by: WakeSource::Task(task),
            ..
        } = &e.kind
        {
            see(*task, &mut tasks);
        }
    }
    // `main` first, whenever it appears: it is where a program starts.
    tasks.sort_by_key(|task| *task != 0);
    let sources = [Row::Timers, Row::Io, Row::Thread, Row::Runtime, Row::Loop];
    let mut rows: Vec<Row> = sources
        .into_iter()
        .zip(needed)
        .filter_map(|(row, needed)| needed.then_some(row))
        .collect();
    rows.extend(workers.into_iter().map(Row::Worker));
    rows.extend(tasks.into_iter().map(Row::Task));
    rows
}

/// The task an event belongs to, if any.
pub(super) fn task_of(kind: &EventKind) -> Option<u64> {
    match kind {
        EventKind::Spawn { task, .. }
        | EventKind::Poll { task, .. }
        | EventKind::Wake { task, .. }
        | EventKind::SlowPoll { task, .. }
        | EventKind::DropPanic { task } => Some(*task),
        _ => None,
    }
}

/// A row's label at the left edge; a long task name is cut short with `…`.
pub(super) fn label(trace: &Trace, row: Row) -> String {
    match row {
        Row::Timers => "timers".to_string(),
        Row::Io => "I/O".to_string(),
        Row::Thread => "other thread".to_string(),
        Row::Runtime => "the runtime".to_string(),
        Row::Loop => "loop".to_string(),
        Row::Worker(index) => format!("worker {index}"),
        Row::Task(id) => {
            let name = trace.name(id);
            if name.chars().count() > 22 {
                name.chars().take(21).chain(['…']).collect()
            } else {
                name
            }
        }
    }
}
