//! The drivers: the leaves that the turn of the loop composes.
//!
//! A driver owns one source of wake-ups and knows nothing of tasks, traces
//! or the loop that drives it:
//!
//! - `reactor` (step 4: `mio::Poll`), with `scheduled_io`, the readiness and
//!   the waiters per direction of one socket;
//! - `timer` (steps 3 and 5), the `TimerDriver` around the hierarchical
//!   [`wheel`] (public as `evloop::time::wheel`);
//! - `blocking`, the pool that runs closures on threads.
//!
//! A driver imports nothing from `crate::runtime`: it returns what happened,
//! and the turn (`runtime/turn.rs`) decides what that means — it ends the
//! park, writes the trace and wakes the tasks, all in one place.

pub(crate) mod blocking;
pub(crate) mod reactor;
mod scheduled_io;
pub(crate) mod timer;
pub mod wheel;
