//! # evloop — an event loop you can read
//!
//! `evloop` is an async runtime built from scratch to show how an event loop
//! works: the ideas Python's asyncio teaches (event loop, coroutines, tasks,
//! `sleep`, `gather`, `start_server`), built in Rust, small enough to read in
//! an afternoon and fast enough to stand beside tokio.
//!
//! ```
//! use std::time::Duration;
//! use evloop::time::{sleep, Instant};
//!
//! // asyncio.run(main())
//! evloop::run(async {
//!     let start = Instant::now();
//!     // asyncio.gather(*(work(i) for i in range(3)))
//!     let done = evloop::join_all((0..3).map(|i| async move {
//!         sleep(Duration::from_millis(20)).await; // not time.sleep: the loop runs others meanwhile
//!         i
//!     }))
//!     .await;
//!     assert_eq!(done, [0, 1, 2]);
//!     assert!(start.elapsed() < Duration::from_millis(60)); // together, not one after another
//! });
//! ```
//!
//! ## The picture
//!
//! ```text
//!             ┌──────────────────── Runtime: one thread, "the event loop" ──────────────────┐
//!  spawn ───▶ │  run queue (crossbeam-channel of Arc<Task>) ───▶ poll the task's future     │
//!             │        ▲                                             │ Pending: it keeps   │
//!             │        │ wake (futures-task ArcWake: push the task    │ a Waker somewhere   │
//!             │        │       back on the queue, once)               ▼                     │
//!             │   timer wheel  ◀── Sleep registers a deadline     reactor (mio::Poll)      │
//!             │   (due → wake)                                    ◀── TcpStream registers │
//!             │                                                       interest (ready→wake)│
//!             └─────────────────────────────────────────────────────────────────────────────┘
//! ```
//!
//! One **turn** of the loop (asyncio's `_run_once`): poll the ready tasks;
//! check the `block_on` future; work out how long to sleep; ask the reactor
//! for I/O, at most that long; fire due timers. It is one function, read it
//! top to bottom: `src/runtime/turn.rs`.
//!
//! That one thread is the default and the main line of the book. Built with
//! [`Builder::worker_threads`]`(n)`, a runtime instead runs its tasks on `n`
//! worker threads, each with its own queue, stealing from the others when
//! idle; the task, the timer wheel and the reactor are the same code
//! (`src/runtime/multi/`, lesson 19).
//!
//! ## asyncio ↔ evloop
//!
//! | asyncio | evloop |
//! |---|---|
//! | `asyncio.run(main())` | [`run`]`(main())` · [`Runtime::new`]`()?.block_on(fut)` |
//! | `asyncio.create_task(c)` | [`spawn`]`(fut)` · [`task::Builder`]`::new().name("n").spawn(fut)` |
//! | awaiting a Task | `handle.await` → `Result<T, `[`JoinError`]`>` |
//! | `task.cancel()` | [`JoinHandle::abort`]; dropping a future cancels it |
//! | `asyncio.sleep(s)` | [`time::sleep`]`(d)`, [`time::sleep_until`] |
//! | `asyncio.gather(*aws)` | [`join_all`]`(iter)`, [`join!`]`(a, b)` |
//! | `asyncio.wait_for(aw, t)` | [`time::timeout`]`(d, fut)` |
//! | `asyncio.wait(.., FIRST_COMPLETED)` | [`select`]`(a, b)` → [`Either`] |
//! | `await asyncio.sleep(0)` | [`yield_now`]`().await` |
//! | periodic `call_later` | [`time::interval`]`(period)`, `tick().await` |
//! | `asyncio.Queue` | [`sync::mpsc::channel`]`(cap)`, [`sync::mpsc::unbounded_channel`], [`sync::oneshot::channel`] |
//! | `asyncio.to_thread` | [`spawn_blocking`]`(f)` |
//! | debug mode's slow-callback warning | [`Builder::slow_poll_threshold`] |
//! | — | [`Builder::trace`], [`Runtime::trace`]: every spawn, poll, wake, timer, I/O event |
//! | — | [`Builder::start_paused`]: a virtual clock for exact, instant timing tests |
//! | — | [`Runtime::spawn`] + [`Runtime::turn`]: step the loop one turn at a time |
//! | — | [`Builder::seed`], [`testing::explore`]: run a test under many orders, replay the one that fails |
//! | `ProcessPoolExecutor` for CPU work (the GIL keeps threads from it) | [`Builder::worker_threads`]: tasks on several threads at once |
//!
//! ## Layout
//!
//! - [`runtime`](Runtime) — `Runtime`, `Builder`, `block_on`, the turn, the current-runtime
//!   thread-local; `multi`, the work-stealing scheduler of `worker_threads`.
//! - [`task`] — a task is one allocation: an atomic state word, the future then its output;
//!   its waker is `ArcWake`. [`runtime::Handle`] reaches a runtime from any thread.
//! - [`time`] — `sleep`, `timeout`, `interval`, `Instant`; the [hierarchical timer wheel](time::wheel); the clock.
//! - `runtime::driver` — the leaves a turn composes: the reactor (`mio::Poll`, a list of
//!   waiters per socket and direction), the timer driver, the blocking pool.
//! - [`sync`] — channels built on wakers: `mpsc` (bounded, unbounded), `oneshot`.
//! - `join` — [`join_all`], [`join!`], [`select`].
//! - [`net`] — `TcpListener`, `TcpStream` and its halves, a line reader.
//! - `io` — the few helpers every protocol needs once: `read_more`, `write_all`, `drain`, `shutdown`.
//! - [`http`] — a small HTTP/1.1 server and client (parsing by `httparse`).
//! - [`websocket`] — RFC 6455: handshake, frames, masking, the close handshake; server and client (lessons 15–16).
//! - [`redis`] — a small Redis client: RESP, one connection, a pool, a multiplexed connection (lesson 17).
//! - `blocking` — [`spawn_blocking`] on the pool; [`fs`] on top of it.
//! - [`testing`] — seeded schedules: `explore` runs a test under many seeds and replays the
//!   one that fails; `duplex`, simulated connections (lesson 18).
//! - [`trace`] — the event model, a text timeline, an SVG picture, Chrome-trace JSON; [`Metrics`].
//!   It imports nothing from the rest of the crate: the runtime records into it.
//!
//! - [`console`] — a live view of a running runtime in the browser, served with the crate's own
//!   HTTP and WebSocket from its own thread (`Builder::console`, lesson 20).
//!
//! The book (`lessons/`) walks through all of it, one numbered example at a time.

#![warn(missing_docs)]

mod blocking;
pub mod console;
pub mod fs;
pub mod http;
mod io;
pub mod join;
pub mod net;
pub mod redis;
pub mod runtime;
pub mod sync;
pub mod task;
pub mod testing;
pub mod time;
pub mod trace;
pub mod websocket;

pub use blocking::spawn_blocking;
pub use join::{join_all, select, Either, JoinAll, Select};
pub use runtime::{run, Builder, EnterGuard, Metrics, Runtime, Turn};
pub use task::{spawn, yield_now, JoinError, JoinHandle};
