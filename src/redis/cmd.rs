//! Commands: what we send ([`Cmd`]), and the typed methods every client has.
//!
//! Redis has one request shape — an array of byte strings, the command's
//! name first — so one type covers every command, typed or raw:
//! `Cmd::new("HSET").arg("user:1").arg("name").arg("Ada")`. The typed methods
//! (`get`, `set`, `incr`, …) build a `Cmd`, send it with the client's own
//! `query`, and check the reply's shape. They are written once, in
//! [`typed_commands!`], and stamped onto each client.

use super::{Error, Value};

/// One command: its name and arguments, as byte strings.
///
/// ```
/// use evloop::redis::Cmd;
/// let cmd = Cmd::new("set").arg("greeting").arg(b"hello").arg("EX").arg(60);
/// assert_eq!(cmd.name(), "SET");
/// assert_eq!(cmd.args()[4], b"60"); // [SET, greeting, hello, EX, 60]
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cmd {
    args: Vec<Vec<u8>>,
}

/// Commands that hold their connection until something happens elsewhere:
/// they may not share a connection with other tasks' commands.
const BLOCKING: &[&str] = &[
    "BLPOP",
    "BRPOP",
    "BLMOVE",
    "BRPOPLPUSH",
    "BZPOPMIN",
    "BZPOPMAX",
    "BLMPOP",
    "BZMPOP",
    "XREAD",
    "SUBSCRIBE",
    "PSUBSCRIBE",
    "SSUBSCRIBE",
    "MONITOR",
    "WAIT",
];

impl Cmd {
    /// A command with no arguments yet, e.g. `Cmd::new("PING")`.
    pub fn new(name: &str) -> Cmd {
        Cmd {
            args: vec![name.as_bytes().to_vec()],
        }
    }

    /// Add an argument: a string, bytes or an integer.
    pub fn arg(mut self, arg: impl Arg) -> Cmd {
        self.args.push(arg.to_arg());
        self
    }

    /// The command's name, in capitals.
    pub fn name(&self) -> String {
        String::from_utf8_lossy(&self.args[0]).to_ascii_uppercase()
    }

    /// The name and every argument, as they go on the wire.
    pub fn args(&self) -> &[Vec<u8>] {
        &self.args
    }

    /// Whether this command blocks its connection (`BRPOP`, `SUBSCRIBE`, …),
    /// so that only a connection of its own may carry it.
    pub fn is_blocking(&self) -> bool {
        BLOCKING
            .iter()
            .any(|name| self.args[0].eq_ignore_ascii_case(name.as_bytes()))
    }

    /// Append the command in RESP to `out` (see [`encode`](super::encode)).
    pub fn encode(&self, out: &mut Vec<u8>) {
        super::encode(&self.args, out);
    }

    /// `GET key`.
    pub fn get(key: impl Arg) -> Cmd {
        Cmd::new("GET").arg(key)
    }

    /// `SET key value`.
    pub fn set(key: impl Arg, value: impl Arg) -> Cmd {
        Cmd::new("SET").arg(key).arg(value)
    }

    /// `INCR key`.
    pub fn incr(key: impl Arg) -> Cmd {
        Cmd::new("INCR").arg(key)
    }

    /// `DEL key`.
    pub fn del(key: impl Arg) -> Cmd {
        Cmd::new("DEL").arg(key)
    }

    /// `EXPIRE key seconds`.
    pub fn expire(key: impl Arg, seconds: u64) -> Cmd {
        Cmd::new("EXPIRE").arg(key).arg(seconds)
    }

    /// `LPUSH key value`.
    pub fn lpush(key: impl Arg, value: impl Arg) -> Cmd {
        Cmd::new("LPUSH").arg(key).arg(value)
    }

    /// `PUBLISH channel message`.
    pub fn publish(channel: impl Arg, message: impl Arg) -> Cmd {
        Cmd::new("PUBLISH").arg(channel).arg(message)
    }
}

/// Something that can be a command argument: Redis sees only byte strings,
/// so numbers go as their decimal text.
pub trait Arg {
    /// The bytes sent on the wire.
    fn to_arg(&self) -> Vec<u8>;
}

impl<T: Arg + ?Sized> Arg for &T {
    fn to_arg(&self) -> Vec<u8> {
        (**self).to_arg()
    }
}

impl Arg for str {
    fn to_arg(&self) -> Vec<u8> {
        self.as_bytes().to_vec()
    }
}

impl Arg for String {
    fn to_arg(&self) -> Vec<u8> {
        self.as_bytes().to_vec()
    }
}

impl Arg for [u8] {
    fn to_arg(&self) -> Vec<u8> {
        self.to_vec()
    }
}

impl<const N: usize> Arg for [u8; N] {
    fn to_arg(&self) -> Vec<u8> {
        self.to_vec()
    }
}

impl Arg for Vec<u8> {
    fn to_arg(&self) -> Vec<u8> {
        self.clone()
    }
}

macro_rules! int_args {
    ($($t:ty),*) => {$(
        impl Arg for $t {
            fn to_arg(&self) -> Vec<u8> {
                self.to_string().into_bytes()
            }
        }
    )*};
}
int_args!(i32, i64, u32, u64, usize);

/// The error for a reply of the wrong shape.
pub(crate) fn unexpected(command: &str, got: &Value) -> Error {
    Error::UnexpectedReply {
        command: command.to_string(),
        got: format!("{got:?}"),
    }
}

/// `+OK`.
pub(crate) fn expect_ok(command: &str, value: Value) -> Result<(), Error> {
    match value {
        Value::Simple(s) if s == "OK" => Ok(()),
        other => Err(unexpected(command, &other)),
    }
}

/// A bulk string, or nil.
pub(crate) fn expect_bytes(command: &str, value: Value) -> Result<Option<Vec<u8>>, Error> {
    match value {
        Value::Bulk(b) => Ok(Some(b)),
        Value::Nil => Ok(None),
        other => Err(unexpected(command, &other)),
    }
}

/// An integer.
pub(crate) fn expect_int(command: &str, value: Value) -> Result<i64, Error> {
    match value {
        Value::Int(n) => Ok(n),
        other => Err(unexpected(command, &other)),
    }
}

/// The typed commands, stamped onto a client that has
/// `async fn query(&self, Cmd) -> Result<Value, Error>` (`typed_commands!()`)
/// or `&mut self` (`typed_commands!(mut)`). Written once so the three
/// clients cannot drift apart.
macro_rules! typed_commands {
    ($($m:tt)?) => {
        /// `GET key`: the value, or `None` if the key does not exist.
        pub async fn get(&$($m)? self, key: impl $crate::redis::Arg) -> Result<Option<Vec<u8>>, $crate::redis::Error> {
            $crate::redis::cmd::expect_bytes("GET", self.query($crate::redis::Cmd::get(key)).await?)
        }

        /// `SET key value`.
        pub async fn set(&$($m)? self, key: impl $crate::redis::Arg, value: impl $crate::redis::Arg) -> Result<(), $crate::redis::Error> {
            $crate::redis::cmd::expect_ok("SET", self.query($crate::redis::Cmd::set(key, value)).await?)
        }

        /// `INCR key`: the value after adding one (a missing key counts as 0).
        pub async fn incr(&$($m)? self, key: impl $crate::redis::Arg) -> Result<i64, $crate::redis::Error> {
            $crate::redis::cmd::expect_int("INCR", self.query($crate::redis::Cmd::incr(key)).await?)
        }

        /// `DEL key`: whether the key existed.
        pub async fn del(&$($m)? self, key: impl $crate::redis::Arg) -> Result<bool, $crate::redis::Error> {
            Ok($crate::redis::cmd::expect_int("DEL", self.query($crate::redis::Cmd::del(key)).await?)? > 0)
        }

        /// `EXPIRE key seconds`: whether the key exists (and now expires).
        pub async fn expire(&$($m)? self, key: impl $crate::redis::Arg, seconds: u64) -> Result<bool, $crate::redis::Error> {
            Ok($crate::redis::cmd::expect_int("EXPIRE", self.query($crate::redis::Cmd::expire(key, seconds)).await?)? == 1)
        }

        /// `LPUSH key value`: the list's length after the push.
        pub async fn lpush(&$($m)? self, key: impl $crate::redis::Arg, value: impl $crate::redis::Arg) -> Result<i64, $crate::redis::Error> {
            $crate::redis::cmd::expect_int("LPUSH", self.query($crate::redis::Cmd::lpush(key, value)).await?)
        }

        /// `PUBLISH channel message`: how many subscribers received it.
        pub async fn publish(&$($m)? self, channel: impl $crate::redis::Arg, message: impl $crate::redis::Arg) -> Result<i64, $crate::redis::Error> {
            $crate::redis::cmd::expect_int("PUBLISH", self.query($crate::redis::Cmd::publish(channel, message)).await?)
        }
    };
}
pub(crate) use typed_commands;
