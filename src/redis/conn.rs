//! [`Connection`]: one TCP connection, one command at a time.
//!
//! The shape of the asyncio tutorial's `await r.get(key)`: write the command,
//! wait for its reply, return it. While we wait, our task is parked and the
//! loop runs the others — but *this* connection carries one command per round
//! trip. The pool (`pool.rs`) runs several of these side by side; the
//! multiplexer (`mux.rs`) puts many commands on one.

use std::net::SocketAddr;
use std::time::Duration;

use crate::io::{read_more, write_all};
use crate::net::TcpStream;
use crate::time::timeout;

use super::cmd::{typed_commands, unexpected};
use super::{parse, Cmd, Error, Limits, Value};

/// How a client connects and how long it waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// How large a reply may be.
    pub limits: Limits,
    /// How long to wait for a reply before the connection is given up
    /// ([`Error::Timeout`]); 5 s by default. A blocking command waits this
    /// long on top of its own timeout.
    pub response_timeout: Duration,
    /// How long to wait for the TCP connection (5 s by default).
    pub connect_timeout: Duration,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            limits: Limits::default(),
            response_timeout: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(5),
        }
    }
}

/// Bytes received and not yet parsed. `start` moves forward as replies are
/// taken out; the front is cut off only when it is most of the buffer, so a
/// read of many small replies does not shift the rest after each one.
#[derive(Debug, Default)]
pub(crate) struct ReadBuf {
    bytes: Vec<u8>,
    start: usize,
}

impl ReadBuf {
    /// The next whole reply already in the buffer, if there is one.
    pub(crate) fn next(&mut self, limits: &Limits) -> Result<Option<Value>, Error> {
        match parse(&self.bytes[self.start..], limits)? {
            Some((value, used)) => {
                self.start += used;
                if self.start == self.bytes.len() {
                    self.bytes.clear();
                    self.start = 0;
                } else if self.start > self.bytes.len() / 2 {
                    self.bytes.drain(..self.start);
                    self.start = 0;
                }
                Ok(Some(value))
            }
            None => Ok(None),
        }
    }

    /// Read once more from `stream`; end of stream is [`Error::Closed`].
    pub(crate) async fn fill(
        &mut self,
        stream: &mut (impl futures_io::AsyncRead + Unpin),
    ) -> Result<(), Error> {
        if read_more(stream, &mut self.bytes).await? == 0 {
            return Err(Error::Closed {
                mid_reply: self.start < self.bytes.len(),
            });
        }
        Ok(())
    }
}

/// Open a TCP connection within `config.connect_timeout`.
pub(crate) async fn connect_tcp(addr: SocketAddr, config: &Config) -> Result<TcpStream, Error> {
    let stream = timeout(config.connect_timeout, TcpStream::connect(addr))
        .await
        .map_err(|_| Error::Timeout(config.connect_timeout))??;
    // Commands are small and we wait for each answer: do not let Nagle's
    // algorithm hold a command back waiting for more bytes to send.
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// One connection to a Redis server, one command at a time (`&mut self`).
///
/// | asyncio (`redis.asyncio`) | evloop |
/// |---|---|
/// | `r = redis.Redis(host, port, single_connection_client=True)` | `let mut r = Connection::connect(addr).await?;` |
/// | `await r.set("k", "v")` | `r.set("k", "v").await?` |
/// | `await r.get("k")` | `r.get("k").await?` → `Option<Vec<u8>>` |
/// | `await r.execute_command("HSET", "h", "f", 1)` | `r.query(Cmd::new("HSET").arg("h").arg("f").arg(1)).await?` |
///
/// After a connection error ([`Error::is_connection_error`]) the connection
/// is [broken](Connection::is_broken) and refuses further commands; open a
/// new one (the [`Pool`](super::Pool) does that for you).
#[derive(Debug)]
pub struct Connection {
    stream: TcpStream,
    buf: ReadBuf,
    config: Config,
    /// Set before a command is written, cleared when its reply has been
    /// read. A `query` dropped half-way (cancelled, timed out from outside)
    /// leaves it set: the reply still on its way belongs to nobody, and
    /// reading it as the next command's reply would hand a task someone
    /// else's answer. So the connection is not used again.
    broken: bool,
    /// Commands sent, each one a round trip.
    round_trips: u64,
}

impl Connection {
    /// Connect to `addr` with the default [`Config`].
    pub async fn connect(addr: SocketAddr) -> Result<Connection, Error> {
        Connection::connect_with(addr, Config::default()).await
    }

    /// Connect to `addr` with `config`'s limits and timeouts.
    pub async fn connect_with(addr: SocketAddr, config: Config) -> Result<Connection, Error> {
        let stream = connect_tcp(addr, &config).await?;
        Ok(Connection {
            stream,
            buf: ReadBuf::default(),
            config,
            broken: false,
            round_trips: 0,
        })
    }

    /// Send any command and wait for its reply. A `-ERR` reply is
    /// `Err(Error::Server)`, and the connection stays usable.
    pub async fn query(&mut self, cmd: Cmd) -> Result<Value, Error> {
        let wait = self.config.response_timeout;
        self.query_waiting(cmd, wait).await
    }

    /// `query`, waiting up to `wait` for the reply.
    async fn query_waiting(&mut self, cmd: Cmd, wait: Duration) -> Result<Value, Error> {
        if self.broken {
            return Err(Error::Connection(
                "an earlier command broke this connection".into(),
            ));
        }
        self.broken = true;
        let mut out = Vec::new();
        cmd.encode(&mut out);
        self.round_trips += 1;
        write_all(&mut self.stream, &out).await?;
        let value = self.read_reply(wait).await?;
        self.broken = false;
        match value {
            Value::Error(msg) => Err(Error::Server(msg)),
            value => Ok(value),
        }
    }

    /// The next reply, waiting at most `wait`.
    pub(crate) async fn read_reply(&mut self, wait: Duration) -> Result<Value, Error> {
        let (buf, stream, limits) = (&mut self.buf, &mut self.stream, &self.config.limits);
        let read = async {
            loop {
                if let Some(value) = buf.next(limits)? {
                    return Ok(value);
                }
                buf.fill(stream).await?;
            }
        };
        timeout(wait, read)
            .await
            .map_err(|_| Error::Timeout(wait))?
    }

    /// Whether a connection error has made this connection unusable.
    pub fn is_broken(&self) -> bool {
        self.broken
    }

    /// How many commands this connection has sent: one round trip each.
    pub fn round_trips(&self) -> u64 {
        self.round_trips
    }

    /// `BRPOP key seconds`: wait up to `seconds` for an element at the tail
    /// of the list `key`, and take it. `None` if none came in time.
    ///
    /// A blocking command holds the connection while it waits, which is why
    /// only a `Connection` of its own has this method.
    pub async fn brpop(
        &mut self,
        key: impl super::Arg,
        seconds: u64,
    ) -> Result<Option<Vec<u8>>, Error> {
        let cmd = Cmd::new("BRPOP").arg(key).arg(seconds);
        let wait = self.config.response_timeout + Duration::from_secs(seconds);
        match self.query_waiting(cmd, wait).await? {
            Value::Nil => Ok(None),
            Value::Array(mut kv) if kv.len() == 2 => match kv.pop() {
                Some(Value::Bulk(value)) => Ok(Some(value)),
                other => Err(unexpected(
                    "BRPOP",
                    &Value::Array(other.into_iter().collect()),
                )),
            },
            other => Err(unexpected("BRPOP", &other)),
        }
    }

    /// `SUBSCRIBE channels…`: turn this connection into a
    /// [`Subscriber`](super::Subscriber), which receives every message
    /// published on them. A subscribed connection takes no other commands.
    pub async fn subscribe(mut self, channels: &[&str]) -> Result<super::Subscriber, Error> {
        let mut cmd = Cmd::new("SUBSCRIBE");
        for channel in channels {
            cmd = cmd.arg(*channel);
        }
        let mut out = Vec::new();
        cmd.encode(&mut out);
        write_all(&mut self.stream, &out).await?;
        // One confirmation per channel: ["subscribe", channel, count].
        for _ in channels {
            let wait = self.config.response_timeout;
            match self.read_reply(wait).await? {
                Value::Array(items)
                    if items.first() == Some(&Value::Bulk(b"subscribe".to_vec())) => {}
                Value::Error(msg) => return Err(Error::Server(msg)),
                other => return Err(unexpected("SUBSCRIBE", &other)),
            }
        }
        Ok(super::Subscriber::new(self))
    }

    typed_commands!(mut);
}
