//! Lesson 17, step by step: what the three ways of talking to Redis cost,
//! and how the loop's turns batch a pipeline's commands.
//!
//! A real `redis-server` answers (started per test on a free loopback port;
//! the test skips with one line if none is installed). The clock is the real
//! one: the replies come from another process, and a paused clock would
//! jump to the response timeout while the loop waits for them. So the
//! tests count — round trips, writes, tasks polled per turn — and never time.

use evloop::redis::Multiplexed;
use evloop::Runtime;

#[path = "../examples/17_redis.rs"]
#[allow(dead_code)]
mod example;

mod redis_support;
use redis_support::RedisServer;

macro_rules! server {
    () => {
        match RedisServer::start() {
            Some(server) => server,
            None => return,
        }
    };
}

/// The pipeline, one turn at a time: three tasks each send a GET in one turn;
/// the writer, woken by the first of them, runs on the *next* turn and finds
/// all three queued: one write.
#[test]
fn one_turn_of_commands_becomes_one_write() {
    let server = server!();
    let rt = Runtime::new().unwrap();
    let mux = rt.block_on(Multiplexed::connect(server.addr)).unwrap();
    rt.block_on(mux.set("city", "Lisbon")).unwrap();
    let writes_before = mux.stats().writes;

    // Three tasks, queued but not run yet.
    let gets: Vec<_> = (0..3)
        .map(|i| {
            let mux = mux.clone();
            rt.spawn_named(&format!("get-{i}"), async move { mux.get("city").await })
        })
        .collect();

    // Turn 1: each task runs until its `get` waits for a reply. Each queued
    // its command and woke the writer — but a task woken during a turn is
    // polled on the next one, so nothing is written yet.
    let turn = rt.turn();
    assert_eq!(turn.polled, ["get-0", "get-1", "get-2"]);
    assert_eq!(mux.stats().writes, writes_before);

    // Turn 2: the writer takes everything queued — three GETs — and writes
    // them in one go.
    let turn = rt.turn();
    assert_eq!(turn.polled, ["redis-writer"]);
    assert_eq!(mux.stats().writes, writes_before + 1);

    // Then the reader takes the three replies off the socket, in order, and
    // hands each to the oldest waiting command: get-0, get-1, get-2.
    for get in gets {
        assert_eq!(rt.block_on(get).unwrap().unwrap(), Some(b"Lisbon".to_vec()));
    }
    assert_eq!(mux.stats().writes, writes_before + 1, "no other writes");
}

/// The three ways of the example, small: every command of the sequential and
/// the pooled way is a round trip; the pipeline needs far fewer.
#[test]
fn sequential_and_pooled_pay_a_round_trip_per_command_the_pipeline_does_not() {
    let server = server!();
    let (tasks, ops) = (20, 10);
    let commands = (2 * tasks * ops) as u64;
    evloop::run(async {
        // Step 1: one connection, one command at a time.
        let one = example::sequential(server.addr, tasks, ops).await.unwrap();
        assert_eq!((one.commands, one.round_trips), (commands, commands));
        assert!(one.server_reads >= commands, "{one:?}");

        // Step 2: twenty tasks, a pool of four: still one round trip per
        // command, four in flight at a time.
        let pooled = example::pooled(server.addr, tasks, ops, 4).await.unwrap();
        assert_eq!(pooled.commands, commands);
        assert!(pooled.server_reads >= commands, "{pooled:?}");

        // Step 3: twenty tasks, one multiplexed connection: the twenty
        // tasks' SETs go out together, then their GETs, and so on.
        let piped = example::pipelined(server.addr, tasks, ops).await.unwrap();
        assert_eq!(piped.commands, commands);
        assert!(piped.round_trips <= commands / 5, "{piped:?}");
        assert!(piped.server_reads <= commands / 5, "{piped:?}");
    });
}

/// The pool never opens more connections than it has permits, however many
/// tasks want one: the server sees exactly four clients.
#[test]
fn the_pool_holds_the_server_to_n_connections() {
    let server = server!();
    evloop::run(async {
        let pool = std::sync::Arc::new(evloop::redis::Pool::new(server.addr, 4).unwrap());
        let clients = (0..100).map(|t| {
            let pool = pool.clone();
            evloop::spawn(async move { pool.incr(format!("hits:{}", t % 3)).await })
        });
        for client in evloop::join_all(clients).await {
            client.unwrap().unwrap();
        }
        assert_eq!(pool.opened(), 4);
        assert_eq!(server.connected_clients(), 4);
    });
}

mod workers;

/// Every test above again, on worker threads (`tests/workers/mod.rs`).
#[test]
fn on_workers() {
    // Their subject is the one loop's batching: the commands of one turn
    // leave in one write, and the round trips they save are counted.
    workers::rerun_on_workers(&[
        "one_turn_of_commands_becomes_one_write",
        "sequential_and_pooled_pay_a_round_trip_per_command_the_pipeline_does_not",
    ]);
}
