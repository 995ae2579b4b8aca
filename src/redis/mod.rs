//! A small Redis client: the database chapter (lesson 17).
//!
//! Redis speaks RESP over TCP: the client writes a command, the server
//! writes a reply, in order, one connection at a time. That is the simplest
//! request/response protocol there is, which makes it the place to see what
//! a runtime does for database queries — and what each way of using the
//! connections costs. This module sits beside [`http`](crate::http) and
//! [`websocket`](crate::websocket): a protocol, built only on the public
//! pieces below it (`net`'s sockets, `sync`'s channels and semaphore,
//! `time::timeout`, `spawn`).
//!
//! The parts, from the bytes up:
//!
//! - [`parse`] / [`encode`] and [`Value`] (`resp.rs`): the wire format, no
//!   I/O, with [`Limits`] on what a reply may announce;
//! - [`Cmd`] (`cmd.rs`): any command as its arguments, and the typed
//!   methods (`get`, `set`, `incr`, `del`, `expire`, `lpush`, `publish`)
//!   every client has;
//! - the three ways to use connections, one per step of the lesson:
//!   1. [`Connection`] — one connection, one command at a time;
//!   2. [`Pool`] — at most N connections for any number of tasks, a
//!      [`Semaphore`](crate::sync::Semaphore) making the rest wait their turn;
//!   3. [`Multiplexed`] — one connection for all tasks, commands written in
//!      batches and replies matched back in order (pipelining);
//! - [`Connection::brpop`] and [`Subscriber`]: blocking commands, which get
//!   a connection of their own;
//! - [`Error`]: what failed, and whether the connection survived it.
//!
//! ```no_run
//! use evloop::redis::{Connection, Multiplexed};
//!
//! evloop::run(async {
//!     let addr = "127.0.0.1:6379".parse().unwrap();
//!     let mut conn = Connection::connect(addr).await?;
//!     conn.set("greeting", "hello").await?;
//!     assert_eq!(conn.get("greeting").await?, Some(b"hello".to_vec()));
//!
//!     let shared = Multiplexed::connect(addr).await?;
//!     let gets = (0..1000).map(|_| {
//!         let shared = shared.clone();
//!         evloop::spawn(async move { shared.get("greeting").await })
//!     });
//!     let replies = evloop::join_all(gets).await; // a few writes, not 1,000
//!     assert!(shared.stats().writes < 20, "{replies:?}");
//!     Ok::<_, evloop::redis::Error>(())
//! })
//! .unwrap();
//! ```

pub(crate) mod cmd;
mod conn;
mod error;
mod mux;
mod pool;
mod pubsub;
mod resp;

pub use cmd::{Arg, Cmd};
pub use conn::{Config, Connection};
pub use error::Error;
pub use mux::{Multiplexed, MuxStats};
pub use pool::{Pool, PooledConnection};
pub use pubsub::{Message, Subscriber};
pub use resp::{encode, parse, Limits, Value};
