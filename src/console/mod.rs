//! The console: a live view of a running runtime, in the browser, served by evloop itself.
//!
//! `Runtime::builder().console("127.0.0.1:6669")` makes the runtime serve a
//! page at that address: every task (name, state, polls, busy time, time
//! since its last poll, who woke it last, what it waits on), the run queue's
//! length per turn, the timer wheel's occupancy per level and its next
//! deadline, the registered sockets, turns per second, slow polls
//! highlighted, and a scrolling timeline drawn like the book's pictures.
//! Lesson 20 ("Watching the chat live") walks through it.
//!
//! # Where it sits
//!
//! The console is built *on* the protocols (`http`, `websocket`), so the
//! runtime must not name it. It plugs in from here: [`Builder::console`] is an
//! inherent `impl Builder` in this module that turns on
//! [`Builder::observe`] (the runtime's generic, bounded record of recent
//! events and per-task aggregates, which also times every poll) and adds a
//! start hook ([`Builder::on_start`]) that the runtime runs blind.
//!
//! # Its own thread, not a task
//!
//! The console serves from **its own thread, with its own evloop `Runtime`**,
//! not as a task on the runtime it watches. A task there would show up in
//! its own task list, add its polls, wakes, timers and sockets to what it
//! draws, and — worst — stop with the loop it watches: when a task blocks
//! the loop, the console must still answer to say so ("the loop has not
//! answered for 2.1 s"). From its thread it asks the watched loop for a
//! sample four times a second ([`Observer::request_sample`]); the loop
//! answers at its next turn, so the watched runtime does no encoding and no
//! socket work for the console. The cost left on the loop is the recording
//! of events (one uncontended lock each) and a sample per request.
//!
//! # A slow browser never holds the runtime back
//!
//! Every viewer gets each update through a bounded outbox of
//! [`OUTBOX`] frames; when it is full (the browser reads slowly) the update is
//! skipped for that viewer, never queued. Events reach the console through a
//! bounded ring; past it they are dropped and counted. A viewer that vanishes
//! is dropped after the WebSocket's send timeout.
//!
//! # Security
//!
//! The console shows the names of your tasks and the state of your sockets,
//! so it listens on loopback only by default. A non-loopback address needs
//! [`Config::allow_remote`] with a token, which every request must then carry
//! (`http://host:port/?token=...`); without the opt-in, `build()` fails. The
//! feed refuses a WebSocket whose `Origin` is another site.
//!
//! The console stops — its port closed, its thread joined — when the runtime
//! is dropped.

mod feed;
mod server;

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use crate::runtime::observe::Observer;
use crate::{Builder, Runtime};

/// Updates a viewer may have waiting; past this, updates are skipped for it.
pub const OUTBOX: usize = 4;
/// How often the console samples the runtime and updates every viewer.
pub const UPDATE_EVERY: Duration = Duration::from_millis(250);

/// Where and how the console serves.
#[derive(Debug, Clone)]
pub struct Config {
    /// The addresses `console(addr)` resolved to (the first that binds wins),
    /// or why it could not resolve them.
    addrs: Result<Vec<SocketAddr>, String>,
    /// The token a request must carry; `Some` only with `allow_remote`.
    token: Option<String>,
}

impl Config {
    /// Serve at `addr` (`"127.0.0.1:6669"`, `("127.0.0.1", 0)`, a `SocketAddr`),
    /// which must be a loopback address unless [`allow_remote`](Config::allow_remote).
    pub fn new(addr: impl ToSocketAddrs) -> Config {
        let addrs = addr
            .to_socket_addrs()
            .map(|a| a.collect())
            .map_err(|e| format!("the console address does not resolve: {e}"));
        Config { addrs, token: None }
    }

    /// Allow a non-loopback address, guarded by `token`: every request must
    /// carry `?token=<token>`. The token must be at least 16 characters of
    /// `A-Z a-z 0-9 - _` (it travels in URLs).
    pub fn allow_remote(mut self, token: impl Into<String>) -> Config {
        self.token = Some(token.into());
        self
    }

    /// The checks `build()` makes: an address, loopback unless allowed, a usable token.
    fn check(&self) -> io::Result<Vec<SocketAddr>> {
        let addrs = self
            .addrs
            .clone()
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        if addrs.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the console address resolved to nothing",
            ));
        }
        match &self.token {
            None => {
                if let Some(open) = addrs.iter().find(|a| !a.ip().is_loopback()) {
                    return Err(io::Error::new(
                        io::ErrorKind::PermissionDenied,
                        format!(
                            "the console would listen on {open}, which is not a loopback \
                             address: anyone who can reach it would see your tasks. Use \
                             127.0.0.1, or opt in with \
                             `console::Config::new(addr).allow_remote(token)`"
                        ),
                    ));
                }
            }
            Some(token) => {
                let ok = token.len() >= 16
                    && token
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
                if !ok {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidInput,
                        "the console token must be at least 16 characters of A-Z a-z 0-9 - _",
                    ));
                }
            }
        }
        Ok(addrs)
    }
}

impl Builder {
    /// Serve a live console for this runtime at `addr` (loopback only; see
    /// [`console_with`](Builder::console_with) for more). Turns on
    /// [`observe`](Builder::observe), which times every poll. `build()` fails
    /// if the address is not loopback or cannot be bound.
    ///
    /// ```
    /// let rt = evloop::Runtime::builder().console("127.0.0.1:0").build()?;
    /// let url = rt.console_url().unwrap();
    /// assert!(url.starts_with("http://127.0.0.1:"));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn console(self, addr: impl ToSocketAddrs) -> Builder {
        self.console_with(Config::new(addr))
    }

    /// [`console`](Builder::console) with a [`Config`] (a non-loopback
    /// address, with its token).
    pub fn console_with(self, config: Config) -> Builder {
        self.observe(true).on_start(move |rt| {
            let addrs = config.check()?;
            let observer = rt
                .observer()
                .ok_or_else(|| io::Error::other("the console needs an observed runtime"))?;
            let console = server::start(addrs, config.token.clone(), observer)?;
            Ok(Box::new(console))
        })
    }
}

impl Runtime {
    /// The console's page (with its token, if it has one), if this runtime
    /// serves one.
    pub fn console_url(&self) -> Option<String> {
        let console = self.started::<server::Console>()?;
        let mut url = format!("http://{}/", console.addr);
        if let Some(token) = &console.token {
            url.push_str("?token=");
            url.push_str(token);
        }
        Some(url)
    }

    /// The address the console listens on, if this runtime serves one.
    pub fn console_addr(&self) -> Option<SocketAddr> {
        self.started::<server::Console>().map(|c| c.addr)
    }
}

/// What the console's thread shares with each connection: who to watch, the token.
struct Watch {
    observer: Observer,
    token: Option<Arc<str>>,
}
