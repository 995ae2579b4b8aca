//! Deterministic simulation testing: run a program under many schedules,
//! replay the one that fails, and give it connections whose timing a seed
//! decides.
//!
//! evloop owns the clock and the run queue, so it can do what a runtime on
//! real time and real sockets cannot: run the same test body under a
//! thousand different orders of its tasks, each one repeatable from a single
//! number. This is the idea of FoundationDB's simulator and TigerBeetle's
//! VOPR, and in Rust of turmoil, madsim and shuttle, made small enough to read:
//!
//! - [`explore`] — run a body under many seeds (`Builder::seed`); stop at the
//!   first failure (a panic, a hang, a check that fails) and print the one
//!   line that replays it, `EVLOOP_SEED=<seed> cargo test <name>`, with the
//!   failing run's timeline.
//! - [`duplex`] / [`Network`] — in-memory connections with the methods and
//!   traits of `TcpStream`, whose packets arrive after a seeded latency, and
//!   whose faults (a peer that vanishes, a stall) a test injects.
//! - [`Rng`] — the seeded generator behind both.
//!
//! It sits on top of the runtime and uses its public API (`Runtime::builder`,
//! `try_block_on`, `trace`, `sleep_until`); lesson 18 walks through it.

mod duplex;
mod explore;
mod network;
mod wire;

pub use self::duplex::DuplexStream;
pub use self::explore::{explore, Explore, Failure, FailureKind, Outcome};
pub use self::network::{duplex, Network, DEFAULT_CAPACITY};
pub use crate::runtime::rng::Rng;
