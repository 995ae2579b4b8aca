//! [`Subscriber`]: a connection that only listens (`SUBSCRIBE`).
//!
//! Once subscribed, a connection stops being request → reply: the server
//! pushes a `["message", channel, payload]` array whenever someone
//! `PUBLISH`es, at any time. That is why a subscriber needs a connection of
//! its own — on a shared one, its pushes would be taken for other commands'
//! replies.

use std::time::Duration;

use super::{Connection, Error, Value};

/// One published message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The channel it was published on.
    pub channel: String,
    /// What was published.
    pub payload: Vec<u8>,
}

/// A subscribed connection, from [`Connection::subscribe`].
///
/// | asyncio (`redis.asyncio`) | evloop |
/// |---|---|
/// | `p = r.pubsub(); await p.subscribe("room")` | `let mut sub = conn.subscribe(&["room"]).await?;` |
/// | `async for m in p.listen(): ...` | `while let Ok(m) = sub.next_message().await { ... }` |
#[derive(Debug)]
pub struct Subscriber {
    conn: Connection,
}

impl Subscriber {
    pub(crate) fn new(conn: Connection) -> Subscriber {
        Subscriber { conn }
    }

    /// Wait (as long as it takes) for the next message on any subscribed
    /// channel. Cancel-safe: a message half-read stays in the buffer.
    pub async fn next_message(&mut self) -> Result<Message, Error> {
        loop {
            let value = self.conn.read_reply(Duration::MAX).await?;
            let Value::Array(items) = value else {
                return Err(Error::Protocol(format!(
                    "a push that is not an array: {value:?}"
                )));
            };
            match <[Value; 3]>::try_from(items) {
                Ok([Value::Bulk(kind), Value::Bulk(channel), Value::Bulk(payload)])
                    if kind == b"message" =>
                {
                    return Ok(Message {
                        channel: String::from_utf8_lossy(&channel).into_owned(),
                        payload,
                    })
                }
                // Confirmations of later (un)subscribes: not messages.
                Ok([Value::Bulk(kind), _, Value::Int(_)]) if kind.ends_with(b"subscribe") => {}
                other => return Err(Error::Protocol(format!("an unknown push: {other:?}"))),
            }
        }
    }
}
