//! The Redis client against a real `redis-server` (started per test on a
//! free loopback port; the test skips with one line if none is installed).
//!
//! These run on the real clock: the replies come from another process, and a
//! paused clock would jump to the response timeout while the loop waits for
//! them. Nothing here asserts on time; only on replies and counts.

use std::sync::Arc;

use evloop::redis::{Cmd, Connection, Error, Multiplexed, Pool, Value};
use evloop::task::JoinSet;

mod redis_support;
use redis_support::RedisServer;

/// Start a server, or return from the test (it printed why).
macro_rules! server {
    () => {
        match RedisServer::start() {
            Some(server) => server,
            None => return,
        }
    };
}

#[test]
fn the_typed_commands_do_what_redis_says() {
    let server = server!();
    evloop::run(async {
        let mut r = Connection::connect(server.addr).await.unwrap();
        assert_eq!(r.get("missing").await.unwrap(), None);
        r.set("greeting", "hello").await.unwrap();
        assert_eq!(r.get("greeting").await.unwrap(), Some(b"hello".to_vec()));
        assert_eq!(r.incr("visits").await.unwrap(), 1);
        assert_eq!(r.incr("visits").await.unwrap(), 2);
        assert!(r.expire("visits", 100).await.unwrap());
        assert!(!r.expire("missing", 100).await.unwrap());
        let ttl = r.query(Cmd::new("TTL").arg("visits")).await.unwrap();
        assert!(matches!(ttl, Value::Int(1..=100)), "{ttl:?}");
        assert_eq!(r.lpush("jobs", "a").await.unwrap(), 1);
        assert_eq!(r.lpush("jobs", "b").await.unwrap(), 2);
        assert!(r.del("greeting").await.unwrap());
        assert!(!r.del("greeting").await.unwrap());
        // Any command, as raw arguments; binary-safe values.
        let raw = r
            .query(Cmd::new("HSET").arg("h").arg("f").arg(&b"\x00\r\n"[..]))
            .await
            .unwrap();
        assert_eq!(raw, Value::Int(1));
        let back = r.query(Cmd::new("HGET").arg("h").arg("f")).await.unwrap();
        assert_eq!(back, Value::Bulk(b"\x00\r\n".to_vec()));
        assert_eq!(r.round_trips(), 14); // one per command
    });
}

#[test]
fn an_err_reply_fails_that_command_and_the_connection_goes_on() {
    let server = server!();
    evloop::run(async {
        let mut r = Connection::connect(server.addr).await.unwrap();
        r.set("name", "ada").await.unwrap();
        let err = r.incr("name").await.unwrap_err();
        assert!(
            matches!(&err, Error::Server(m) if m.starts_with("ERR")),
            "{err}"
        );
        assert!(!err.is_connection_error());
        let err = r.query(Cmd::new("NOSUCHCOMMAND")).await.unwrap_err();
        assert!(err.to_string().contains("unknown command"), "{err}");
        assert!(!r.is_broken());
        assert_eq!(r.get("name").await.unwrap(), Some(b"ada".to_vec()));
    });
}

#[test]
fn brpop_waits_on_its_own_connection_for_another_tasks_lpush() {
    let server = server!();
    evloop::run(async {
        let mut waiter = Connection::connect(server.addr).await.unwrap();
        let mux = Multiplexed::connect(server.addr).await.unwrap();
        let popped = evloop::spawn(async move { waiter.brpop("queue", 10).await });
        // The multiplexed connection refuses the blocking command outright...
        let err = mux
            .query(Cmd::new("BRPOP").arg("queue").arg(1))
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::NeedsOwnConnection(ref c) if c == "BRPOP"),
            "{err}"
        );
        // ...and goes on serving: its LPUSH reaches the BRPOP on the other one
        // (whether the BRPOP is already parked in the server or not yet).
        mux.lpush("queue", "job-1").await.unwrap();
        assert_eq!(popped.await.unwrap().unwrap(), Some(b"job-1".to_vec()));
    });
}

#[test]
fn a_subscriber_receives_what_is_published() {
    let server = server!();
    evloop::run(async {
        let listener = Connection::connect(server.addr).await.unwrap();
        let mut sub = listener.subscribe(&["room"]).await.unwrap();
        let publisher = Multiplexed::connect(server.addr).await.unwrap();
        assert_eq!(publisher.publish("room", "hi all").await.unwrap(), 1);
        assert_eq!(publisher.publish("elsewhere", "nobody").await.unwrap(), 0);
        let msg = sub.next_message().await.unwrap();
        assert_eq!(
            (msg.channel.as_str(), msg.payload.as_slice()),
            ("room", &b"hi all"[..])
        );
    });
}

#[test]
fn a_thousand_concurrent_gets_share_a_few_writes_and_each_gets_its_own_reply() {
    let server = server!();
    evloop::run(async {
        let mux = Multiplexed::connect(server.addr).await.unwrap();
        let sets = (0..1000).map(|i| {
            let mux = mux.clone();
            evloop::spawn(async move { mux.set(format!("key:{i}"), i).await })
        });
        for done in evloop::join_all(sets).await {
            done.unwrap().unwrap();
        }
        let before = mux.stats();
        let reads_before = server.info_stat("total_reads_processed");
        let gets = (0..1000).map(|i| {
            let mux = mux.clone();
            evloop::spawn(async move { (i, mux.get(format!("key:{i}")).await) })
        });
        for done in evloop::join_all(gets).await {
            let (i, value) = done.unwrap();
            assert_eq!(value.unwrap(), Some(i.to_string().into_bytes()), "task {i}");
        }
        let after = mux.stats();
        assert_eq!(after.commands - before.commands, 1000);
        let writes = after.writes - before.writes;
        assert!(writes <= 10, "1,000 GETs took {writes} writes");
        // The server's side of it: it read our commands in a few reads too
        // (+1 for the INFO connections themselves).
        let server_reads = server.info_stat("total_reads_processed") - reads_before;
        assert!(
            server_reads <= 2 * writes + 2,
            "the server read {server_reads} times"
        );
    });
}

#[test]
fn the_pool_never_opens_more_than_n_and_serves_waiters_in_order() {
    let server = server!();
    evloop::run(async {
        let pool = Arc::new(Pool::new(server.addr, 3).unwrap());
        let mut set = JoinSet::new();
        for i in 0..50 {
            let pool = pool.clone();
            set.spawn(async move { pool.incr(format!("n:{}", i % 5)).await });
        }
        while let Some(done) = set.join_next().await {
            done.unwrap().unwrap();
        }
        assert_eq!(pool.opened(), 3, "50 tasks, 3 connections");
        assert_eq!(server.connected_clients(), 3);
        assert_eq!(pool.get("n:0").await.unwrap(), Some(b"10".to_vec()));

        // Fairness: one connection held; tasks queue in arrival order and
        // are served in it (RPUSH records the order the server saw).
        let small = Arc::new(Pool::new(server.addr, 1).unwrap());
        let held = small.connection().await.unwrap();
        let mut queued = Vec::new();
        for i in 0..5 {
            let small = small.clone();
            queued.push(evloop::spawn(async move {
                small.query(Cmd::new("RPUSH").arg("order").arg(i)).await
            }));
            evloop::yield_now().await; // task i is waiting before i+1 starts
        }
        drop(held);
        for q in queued {
            q.await.unwrap().unwrap();
        }
        let order = small
            .query(Cmd::new("LRANGE").arg("order").arg(0).arg(-1))
            .await
            .unwrap();
        let want: Vec<Value> = (0..5)
            .map(|i: i32| Value::Bulk(i.to_string().into_bytes()))
            .collect();
        assert_eq!(order, Value::Array(want));
    });
}

#[test]
fn the_pool_reconnects_after_the_server_drops_its_connections() {
    let server = server!();
    evloop::run(async {
        let pool = Pool::new(server.addr, 2).unwrap();
        pool.set("k", "v").await.unwrap();
        assert_eq!((pool.opened(), pool.idle()), (1, 1));
        // The server kills every normal client: our idle connection is dead.
        let killed = server.raw(b"CLIENT KILL TYPE normal SKIPME yes\r\n");
        assert_eq!(killed, b":1\r\n");
        // The next command finds out, gets a connection error, and the
        // broken connection is not put back...
        let err = pool.get("k").await.unwrap_err();
        assert!(err.is_connection_error(), "{err}");
        assert_eq!(pool.idle(), 0);
        // ...so the one after opens a fresh connection and works.
        assert_eq!(pool.get("k").await.unwrap(), Some(b"v".to_vec()));
        assert_eq!(pool.opened(), 2);
    });
}

mod workers;

/// Every test above again, on worker threads (`tests/workers/mod.rs`).
#[test]
fn on_workers() {
    // The one loop's batching (a few writes for a turn's commands) and its spawn
    // order (waiters queue in the order they were spawned); on workers neither holds.
    workers::rerun_on_workers(&[
        "a_thousand_concurrent_gets_share_a_few_writes_and_each_gets_its_own_reply",
        "the_pool_never_opens_more_than_n_and_serves_waiters_in_order",
    ]);
}
