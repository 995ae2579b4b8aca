//! The drivers: the leaves that the turn of the loop composes.
//!
//! A driver owns one source of wake-ups and knows nothing of tasks, traces
//! or the loop that drives it. The reactor (step 4: `mio::Poll`) lives here,
//! with `scheduled_io`, the readiness and the waiters per direction of one
//! socket; so does the blocking pool (`blocking`), which runs closures on
//! threads. A driver imports
//! nothing from `crate::runtime`: it returns what happened, and the turn
//! (`runtime/turn.rs`) decides what that means — it ends the park, writes the
//! trace and wakes the tasks, all in one place.

pub(crate) mod blocking;
pub(crate) mod reactor;
mod scheduled_io;
