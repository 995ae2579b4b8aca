//! Lesson 14's exercises: unbounded channels, bigger buffers, a moved
//! bottleneck, and the records kept in a real Redis.

use std::time::Duration;

use evloop::sync::mpsc::{self, error::TrySendError};
use evloop::time::{sleep, Instant};

use crate::paused;

/// Lesson 14's example, for its Redis stage (exercise 4).
#[path = "../../examples/14_pipeline.rs"]
#[allow(dead_code)]
mod example;

#[path = "../redis_support/mod.rs"]
mod redis_support;

const RECORDS: usize = 10;

/// Lesson 14's `Pace::with_store(0.3 s)`: fetch 0.1 s, process 0.05 s, store 0.3 s.
#[derive(Clone, Copy)]
struct Pace {
    fetch: Duration,
    process: Duration,
    store: Duration,
}

const PACE: Pace = Pace {
    fetch: Duration::from_millis(100),
    process: Duration::from_millis(50),
    store: Duration::from_millis(300),
};

/// What a run did: how often each stage found its channel full, when the
/// fetcher was done, and when everything was.
#[derive(Debug, PartialEq)]
struct Report {
    fetch_waited: usize,
    process_waited: usize,
    fetch_done: Duration,
    total: Duration,
}

/// `send`, counting the times the channel was full (lesson 14's `send_or_wait`).
async fn send_or_wait(tx: &mpsc::Sender<usize>, id: usize) -> usize {
    match tx.try_send(id) {
        Ok(()) => 0,
        Err(TrySendError::Full(id)) => {
            tx.send(id).await.unwrap();
            1
        }
        Err(TrySendError::Closed(_)) => panic!("the next stage stopped early"),
    }
}

/// Lesson 14's three stages over bounded channels of `capacity`.
async fn pipeline(pace: Pace, capacity: usize) -> Report {
    let start = Instant::now();
    let (raw_tx, mut raw_rx) = mpsc::channel(capacity);
    let (clean_tx, mut clean_rx) = mpsc::channel(capacity);
    let fetcher = evloop::spawn(async move {
        let mut waited = 0;
        for id in 0..RECORDS {
            sleep(pace.fetch).await;
            waited += send_or_wait(&raw_tx, id).await;
        }
        (waited, start.elapsed())
    });
    let processor = evloop::spawn(async move {
        let mut waited = 0;
        while let Some(id) = raw_rx.recv().await {
            sleep(pace.process).await;
            waited += send_or_wait(&clean_tx, id).await;
        }
        waited
    });
    let storer = evloop::spawn(async move {
        while clean_rx.recv().await.is_some() {
            sleep(pace.store).await;
        }
    });
    let (fetched, processed, stored) = evloop::join!(fetcher, processor, storer);
    stored.unwrap();
    let (fetch_waited, fetch_done) = fetched.unwrap();
    Report {
        fetch_waited,
        process_waited: processed.unwrap(),
        fetch_done,
        total: start.elapsed(),
    }
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

// ANCHOR: ex1
/// The stages over unbounded channels. Three changes: `unbounded_channel()`,
/// the `UnboundedSender` type, and a plain `send` — it is not `async` (and
/// returns an error only if the receiver is gone), so `send_or_wait` goes.
async fn unbounded_pipeline(pace: Pace) -> Report {
    let start = Instant::now();
    let (raw_tx, mut raw_rx) = mpsc::unbounded_channel();
    let (clean_tx, mut clean_rx) = mpsc::unbounded_channel();
    let fetcher = evloop::spawn(async move {
        for id in 0..RECORDS {
            sleep(pace.fetch).await;
            raw_tx.send(id).unwrap(); // never waits: the records pile up
        }
        start.elapsed()
    });
    let processor = evloop::spawn(async move {
        while let Some(id) = raw_rx.recv().await {
            sleep(pace.process).await;
            clean_tx.send(id).unwrap();
        }
    });
    let storer = evloop::spawn(async move {
        while clean_rx.recv().await.is_some() {
            sleep(pace.store).await;
        }
    });
    let (fetched, processed, stored) = evloop::join!(fetcher, processor, storer);
    processed.unwrap();
    stored.unwrap();
    Report {
        fetch_waited: 0,
        process_waited: 0,
        fetch_done: fetched.unwrap(),
        total: start.elapsed(),
    }
}

#[test]
fn unbounded_channels_never_wait_and_the_fetcher_finishes_at_one_second() {
    let report = paused().block_on(unbounded_pipeline(PACE));
    assert_eq!(report.fetch_done, ms(1000)); // ten fetches of 0.1 s, unhindered
    assert_eq!(report.total, ms(3150)); // the store still sets the pace
                                        // Beside it, the lesson's channels of 2: the fetcher was held back.
    let bounded = paused().block_on(pipeline(PACE, 2));
    assert!(bounded.fetch_done > ms(1000) && bounded.fetch_waited > 0);
}
// ANCHOR_END: ex1

// ANCHOR: ex2
#[test]
fn a_capacity_of_ten_removes_the_waits_but_not_the_time() {
    let report = paused().block_on(pipeline(PACE, 10));
    assert_eq!((report.fetch_waited, report.process_waited), (0, 0));
    assert_eq!(report.total, ms(3150)); // as with 2: the store is the bottleneck
}
// ANCHOR_END: ex2

// ANCHOR: ex3
#[test]
fn a_slow_fetch_moves_the_bottleneck_and_the_pace() {
    let slow_fetch = Pace {
        fetch: PACE.store * 2,
        ..PACE
    };
    let report = paused().block_on(pipeline(slow_fetch, 2));
    assert_eq!((report.fetch_waited, report.process_waited), (0, 0));
    // Ten fetches of 0.6 s, then the last record's process and store.
    assert_eq!(report.total, ms(10 * 600 + 50 + 300));
}
// ANCHOR_END: ex3

// ANCHOR: ex4
/// The pipeline at `0.03` s per store, then its Redis stage against a real
/// `redis-server` (the test skips, saying so, if none is installed). The
/// keys are read back with evloop's own client: `redis-cli GET`, in Rust.
#[test]
fn the_pipeline_keeps_every_stored_record_in_redis() {
    let Some(server) = redis_support::RedisServer::start() else {
        return;
    };
    let pace = example::Pace::with_store(ms(30));
    let report = paused().block_on(example::pipeline(pace));
    assert_eq!(report.stored.len(), example::RECORDS);
    // Real sockets to another process: the real clock.
    let (writes, kept) = evloop::run(async {
        let writes = example::save_to_redis(server.addr, &report.stored).await?;
        let mut conn = evloop::redis::Connection::connect(server.addr).await?;
        let mut kept = Vec::new();
        for id in 0..example::RECORDS {
            kept.push(conn.get(format!("pipeline:record:{id}")).await?);
        }
        Ok::<_, evloop::redis::Error>((writes, kept))
    })
    .unwrap();
    assert_eq!(writes, 1, "ten SETs from ten tasks of one turn: one write");
    assert_eq!(kept[3], Some(b"RECORD 3".to_vec())); // `redis-cli GET pipeline:record:3`
    for (id, value) in kept.into_iter().enumerate() {
        assert_eq!(value, Some(format!("RECORD {id}").into_bytes()));
    }
}
// ANCHOR_END: ex4
