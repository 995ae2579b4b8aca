//! Start hooks: code a `Builder` runs on the new runtime, without knowing what it is.
//!
//! A part built *on* the runtime — say, a live view that serves a page with the
//! crate's own HTTP and WebSocket — must not be named by the runtime (the
//! runtime sits below the protocols). So it plugs in from its own module: it
//! adds a hook to the `Builder` (`Builder::on_start`); `build()` runs every
//! hook on the finished runtime and keeps what each returns (a guard) until the
//! runtime is dropped — guards first, before the tasks are cancelled. A hook
//! that fails makes `build()` fail with its error.

use std::any::Any;
use std::fmt;
use std::io;
use std::sync::Arc;

use super::Runtime;

/// What a start hook leaves with the runtime: dropped when the runtime is.
pub type StartGuard = Box<dyn Any>;

/// A hook as the `Builder` keeps it (shared, so the `Builder` stays `Clone`).
pub(crate) type StartHook = Arc<dyn Fn(&Runtime) -> io::Result<StartGuard> + Send + Sync>;

/// The hooks of one `Builder`, in the order they were added.
#[derive(Clone, Default)]
pub(crate) struct StartHooks(pub(crate) Vec<StartHook>);

impl fmt::Debug for StartHooks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} start hook(s)", self.0.len())
    }
}
