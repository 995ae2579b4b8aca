//! The time axis under the lanes: the clock reading, marked where it changes.

use std::fmt::Write as _;

use super::layout::Layout;
use super::{Trace, INK};

/// Draws the axis line, a tick where each clock reading begins (labelled
/// where there is room), and a caption saying which clock it is.
pub(super) fn draw(svg: &mut String, trace: &Trace, layout: &Layout) {
    let events = trace.events();
    let Layout {
        columns_left,
        chart_right,
        ..
    } = *layout;
    let axis = layout.axis_y();
    let _ = writeln!(
        svg,
        r##"<line x1="{columns_left:.1}" y1="{axis:.1}" x2="{chart_right:.1}" y2="{axis:.1}" stroke="{INK}"/>"##
    );
    // Where the last reading was labelled: labels closer than that would overlap.
    let mut last_label = f64::NEG_INFINITY;
    for (first, _) in &layout.readings {
        let tx = layout.left_of(*first);
        let _ = writeln!(
            svg,
            r##"<line x1="{tx:.1}" y1="{axis:.1}" x2="{tx:.1}" y2="{:.1}" stroke="{INK}"/>"##,
            axis + 5.0
        );
        if tx - last_label >= 56.0 {
            last_label = tx;
            let _ = writeln!(
                svg,
                r##"<text x="{tx:.1}" y="{:.1}" text-anchor="start" font-size="11">{:.3}s</text>"##,
                axis + 17.0,
                events[*first].at.as_secs_f64()
            );
        }
    }
    let clock = if trace.paused {
        "virtual time (paused clock)"
    } else {
        "time (real clock)"
    };
    let _ = writeln!(
        svg,
        r##"<text x="{columns_left:.1}" y="{:.1}" fill="#666666" font-size="11">{clock}: one column per event, in order; the reading is marked where it changes</text>"##,
        axis + 32.0
    );
}
