//! The background the events sit on: bands, row labels, guide lines, lifelines.

use std::collections::HashMap;
use std::fmt::Write as _;

use super::layout::{label, task_of, Layout, Row, LANE, TOP};
use super::{escape, Trace, BAND, FAINT};

/// Draws everything behind the events, so the events are drawn over it.
pub(super) fn draw(svg: &mut String, trace: &Trace, layout: &Layout) {
    bands(svg, layout);
    rows(svg, trace, layout);
    lifelines(svg, trace, layout);
}

/// One shade per run of events that share a clock reading, every other run
/// shaded: a reader sees at a glance which events happened "at once".
fn bands(svg: &mut String, layout: &Layout) {
    for (n, (first, last)) in layout.readings.iter().enumerate() {
        if n % 2 == 0 {
            let left = layout.left_of(*first);
            let _ = writeln!(
                svg,
                r##"<rect x="{left:.1}" y="{TOP:.1}" width="{:.1}" height="{:.1}" fill="{BAND}"/>"##,
                layout.step * (last - first + 1) as f64,
                layout.chart_bottom - TOP
            );
        }
    }
}

/// Row labels and guide lines; a rule between the source rows, the worker
/// lanes and the tasks' lanes.
fn rows(svg: &mut String, trace: &Trace, layout: &Layout) {
    let Layout {
        columns_left,
        chart_right,
        ..
    } = *layout;
    for row in &layout.rows {
        let y = layout.y(*row);
        // Source rows are set apart from the tasks' lanes: italic, grey;
        // worker lanes are threads, not tasks: bold.
        let style = match row {
            Row::Task(_) => "",
            Row::Worker(_) => r##" font-weight="bold""##,
            _ => r##" font-style="italic" fill="#666666""##,
        };
        let _ = writeln!(
            svg,
            r##"<text x="{:.1}" y="{:.1}" text-anchor="end"{style}>{}</text>"##,
            columns_left - 8.0,
            y + 4.0,
            escape(&label(trace, *row))
        );
        let _ = writeln!(
            svg,
            r##"<line x1="{columns_left:.1}" y1="{y:.1}" x2="{chart_right:.1}" y2="{y:.1}" stroke="{FAINT}" stroke-width="0.5" stroke-dasharray="2 4"/>"##
        );
    }
    // A rule under the source rows, and another under the worker lanes.
    let sources = (layout.sources > 0).then_some(layout.sources);
    let workers = (layout.workers > 0).then_some(layout.sources + layout.workers);
    for rows_above in sources.into_iter().chain(workers) {
        let y = TOP + LANE * rows_above as f64;
        let _ = writeln!(
            svg,
            r##"<line x1="4" y1="{y:.1}" x2="{chart_right:.1}" y2="{y:.1}" stroke="{FAINT}"/>"##
        );
    }
}

/// A thin line along each task's lane, from its first event to its last:
/// how long the task was around.
fn lifelines(svg: &mut String, trace: &Trace, layout: &Layout) {
    let mut span: HashMap<u64, (usize, usize)> = HashMap::new();
    for (i, e) in trace.events().iter().enumerate() {
        if let Some(task) = task_of(&e.kind) {
            span.entry(task).and_modify(|s| s.1 = i).or_insert((i, i));
        }
    }
    for row in &layout.rows {
        if let Row::Task(task) = row {
            if let Some((first, last)) = span.get(task) {
                let y = layout.y(*row);
                let _ = writeln!(
                    svg,
                    r##"<line x1="{:.1}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#777777" stroke-width="1.5"/>"##,
                    layout.x(*first),
                    layout.x(*last)
                );
            }
        }
    }
}
