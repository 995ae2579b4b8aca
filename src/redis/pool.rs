//! [`Pool`]: at most N connections, shared by any number of tasks.
//!
//! A thousand tasks that each open a connection would be a thousand sockets
//! and a thousand clients in the server. The pool bounds that with a
//! [`Semaphore`] of N permits: a task takes a permit, then an idle
//! connection (or opens one if fewer than N exist), and gives both back
//! when done. Task N+1 waits in the semaphore's queue — first come, first
//! served — instead of opening socket N+1. That wait is backpressure.
//!
//! A connection that broke (see [`Error::is_connection_error`]) is not put
//! back; the next task to need one opens a fresh one.

use std::net::{SocketAddr, ToSocketAddrs};
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use crate::sync::{Semaphore, SemaphorePermit};

use super::cmd::typed_commands;
use super::{Cmd, Config, Connection, Error, Value};

/// A pool of at most `size` connections to one server.
///
/// | asyncio (`redis.asyncio`) | evloop |
/// |---|---|
/// | `pool = redis.BlockingConnectionPool(max_connections=4)` | `let pool = Pool::new(addr, 4)?;` |
/// | `r = redis.Redis(connection_pool=pool); await r.get("k")` | `pool.get("k").await?` |
/// | — | `let mut conn = pool.connection().await?;` (hold one for several commands) |
///
/// Put it in an `Arc` to share it between tasks.
#[derive(Debug)]
pub struct Pool {
    addr: SocketAddr,
    config: Config,
    /// One permit per connection that may exist: held by whoever uses one.
    permits: Semaphore,
    /// Open connections nobody is using. Never more than `size`, since each
    /// was returned by the holder of a permit.
    idle: Mutex<Vec<Connection>>,
    size: usize,
    /// Connections opened in the pool's life (reconnects included).
    opened: AtomicU64,
}

/// A connection taken from a [`Pool`], returned to it on drop (unless it
/// broke). Derefs to [`Connection`].
#[derive(Debug)]
pub struct PooledConnection<'a> {
    pool: &'a Pool,
    conn: Option<Connection>,
    /// Dropped after `conn` went back to `idle` (fields drop after
    /// `Drop::drop`), so the next waiter finds it there.
    _permit: SemaphorePermit<'a>,
}

impl Pool {
    /// A pool of at most `size` connections to `addr` (default [`Config`]).
    /// Connections are opened when first needed.
    pub fn new(addr: impl ToSocketAddrs, size: usize) -> Result<Pool, Error> {
        Pool::with_config(addr, size, Config::default())
    }

    /// A pool whose connections use `config`.
    pub fn with_config(
        addr: impl ToSocketAddrs,
        size: usize,
        config: Config,
    ) -> Result<Pool, Error> {
        assert!(size > 0, "a pool needs room for at least one connection");
        let addr = addr.to_socket_addrs()?.next().ok_or_else(|| {
            Error::Io(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "the address resolved to nothing",
            ))
        })?;
        Ok(Pool {
            addr,
            config,
            permits: Semaphore::new(size),
            idle: Mutex::new(Vec::new()),
            size,
            opened: AtomicU64::new(0),
        })
    }

    /// Take a connection: wait for a permit (fairly, in arrival order), then
    /// reuse an idle connection or open a new one.
    pub async fn connection(&self) -> Result<PooledConnection<'_>, Error> {
        let permit = self
            .permits
            .acquire()
            .await
            .expect("the pool never closes its semaphore");
        let idle = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let conn = match idle {
            Some(conn) => conn,
            None => {
                let conn = Connection::connect_with(self.addr, self.config).await?;
                self.opened.fetch_add(1, Ordering::Relaxed);
                conn
            }
        };
        Ok(PooledConnection {
            pool: self,
            conn: Some(conn),
            _permit: permit,
        })
    }

    /// Run one command on a pooled connection.
    pub async fn query(&self, cmd: Cmd) -> Result<Value, Error> {
        if cmd.is_blocking() {
            // It would hold one of our N connections for as long as it waits.
            return Err(Error::NeedsOwnConnection(cmd.name()));
        }
        self.connection().await?.query(cmd).await
    }

    /// The most connections this pool opens at once.
    pub fn size(&self) -> usize {
        self.size
    }

    /// How many connections the pool has opened so far, reconnects included.
    pub fn opened(&self) -> u64 {
        self.opened.load(Ordering::Relaxed)
    }

    /// How many open connections are idle right now.
    pub fn idle(&self) -> usize {
        self.idle.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    typed_commands!();
}

impl Deref for PooledConnection<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        self.conn.as_ref().expect("present until drop")
    }
}

impl DerefMut for PooledConnection<'_> {
    fn deref_mut(&mut self) -> &mut Connection {
        self.conn.as_mut().expect("present until drop")
    }
}

impl Drop for PooledConnection<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            // A broken connection (or one whose command was cancelled
            // half-way) is closed here; the permit still goes back, so a
            // waiter will open a fresh connection in its place.
            if !conn.is_broken() {
                self.pool
                    .idle
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(conn);
            }
        }
    }
}
