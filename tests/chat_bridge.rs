//! Two chat servers, one room: lesson 15's server bridged through a real
//! `redis-server` (`--redis`, `examples/chat/bridge.rs`). A line said on one
//! server reaches the clients of the other, once, and a server never logs
//! its own lines twice. Skips (with one line saying how to install it)
//! without `redis-server`, unless `EVLOOP_REQUIRE_REDIS=1`.

mod chat_support;
#[path = "../examples/15_chat_server.rs"]
#[allow(dead_code)]
mod example;
#[path = "redis_support/mod.rs"]
mod redis_support;

use std::net::SocketAddr;
use std::time::Duration;

use chat_support::{join, next_said, run, say, Server};
use evloop::redis::{Cmd, Connection, Value};
use evloop::time::sleep;
use example::{Options, CHANNEL};
use redis_support::RedisServer;

/// Wait until `n` bridges listen on the chat's channel: a line published
/// before a server subscribed would not reach it (pub/sub keeps nothing).
async fn subscribers(redis: SocketAddr, n: i64) {
    let mut conn = Connection::connect(redis).await.unwrap();
    loop {
        let reply = conn
            .query(Cmd::new("PUBSUB").arg("NUMSUB").arg(CHANNEL))
            .await
            .unwrap();
        if let Value::Array(items) = &reply {
            if items.get(1) == Some(&Value::Int(n)) {
                return;
            }
        }
        sleep(Duration::from_millis(10)).await;
    }
}

#[test]
fn a_line_said_on_one_server_reaches_the_clients_of_another_once() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let options = Options {
        redis: Some(redis.addr),
        ..Options::default()
    };
    let (a, b) = (Server::start(options), Server::start(options));
    run(Duration::from_secs(20), async {
        subscribers(redis.addr, 2).await;
        let mut alice = join(&a.url()).await;
        let mut bob = join(&b.url()).await;
        say(&mut alice, "/nick alice").await;
        say(&mut bob, "/nick bob").await;
        say(&mut alice, "hello from A").await;
        assert_eq!(next_said(&mut bob).await, "alice: hello from A");
        say(&mut bob, "hi from B").await;
        assert_eq!(next_said(&mut alice).await, "alice: hello from A");
        assert_eq!(next_said(&mut alice).await, "bob: hi from B");
        say(&mut alice, "bye").await;
        // Alice's own lines are in her room once: the bridge skips the copy
        // Redis sends back to the server that published it.
        assert_eq!(next_said(&mut alice).await, "alice: bye");
        assert_eq!(next_said(&mut bob).await, "bob: hi from B");
        assert_eq!(next_said(&mut bob).await, "alice: bye");
    });
}

#[test]
fn when_redis_goes_away_each_room_goes_on_alone() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let options = Options {
        redis: Some(redis.addr),
        ..Options::default()
    };
    let a = Server::start(options);
    run(Duration::from_secs(20), async {
        subscribers(redis.addr, 1).await;
        let mut alice = join(&a.url()).await;
        let mut carol = join(&a.url()).await;
        drop(redis); // killed: the bridge's link breaks, and it keeps retrying
        say(&mut alice, "still here").await;
        assert_eq!(next_said(&mut alice).await, "guest-1: still here");
        assert_eq!(next_said(&mut carol).await, "guest-1: still here");
    });
}

mod workers;

/// Every test above again, on worker threads (`tests/workers/mod.rs`).
#[test]
fn on_workers() {
    workers::rerun_on_workers(&[]);
}
