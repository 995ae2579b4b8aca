//! The leaves the turn composes: reactor, timer wheel, blocking pool; they
//! import nothing from `runtime/`.

pub(crate) mod timer;
pub mod wheel;
