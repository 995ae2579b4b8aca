//! Lesson 14: the pipeline delivers every record, in order, and the bounded
//! channels make the fast stages wait for the slow one.
//!
//! No sockets here, only timers and channels, so the tests use a *paused*
//! clock: the run takes microseconds, its timing is exact, and its trace is
//! the same byte for byte every time.

use std::time::Duration;

use evloop::Runtime;

#[path = "../examples/14_pipeline.rs"]
#[allow(dead_code)]
mod example;

use example::{pipeline, Pace, Record, CAPACITY, RECORDS};

mod redis_support;

fn paused_runtime() -> Runtime {
    Runtime::builder()
        .start_paused(true)
        .trace(true)
        .build()
        .expect("a runtime")
}

/// The chapter's pace: 100 ms to fetch, 50 ms to process, 300 ms to store.
fn pace() -> Pace {
    Pace::with_store(Duration::from_millis(300))
}

#[test]
fn every_record_arrives_once_in_order_and_cleaned() {
    let rt = paused_runtime();
    let report = rt.block_on(pipeline(pace()));
    let expected: Vec<Record> = (0..RECORDS)
        .map(|id| Record {
            id,
            body: format!("RECORD {id}"),
        })
        .collect();
    assert_eq!(report.stored, expected);
}

#[test]
fn the_slowest_stage_sets_the_pace() {
    let rt = paused_runtime();
    let report = rt.block_on(pipeline(pace()));
    // The first record reaches the store after 100 ms (fetch) + 50 ms (process);
    // from then on the store is never idle: 10 × 300 ms. Exactly, on a paused clock.
    assert_eq!(report.elapsed, Duration::from_millis(100 + 50 + 10 * 300));
    // Without backpressure the fetcher would have finished at 1 s, holding
    // records in memory; it was made to wait instead.
    assert!(report.fetch_waited > 0, "fetch never waited: {report:?}");
    assert!(
        report.process_waited > 0,
        "process never waited: {report:?}"
    );
}

/// Backpressure in the trace: `fetch` is woken not only by its timer but by
/// `process` — a `recv` that freed a slot in the full channel.
#[test]
fn the_trace_shows_the_fetcher_woken_by_the_consumer() {
    let rt = paused_runtime();
    rt.block_on(pipeline(pace()));
    let timeline = rt.trace().timeline();
    assert!(timeline.contains("wake   fetch ← timer"), "{timeline}");
    assert!(
        timeline.contains("wake   fetch ← task process"),
        "fetch never waited for room:\n{timeline}"
    );
    assert!(
        timeline.contains("wake   process ← task store"),
        "process never waited for room:\n{timeline}"
    );
    // While waiting for room, the fetcher is parked, not spinning: it is
    // polled about twice per record (once after its sleep, once after room
    // appears), never thousands of times.
    let fetch_polls = timeline
        .lines()
        .filter(|l| l.contains("poll   fetch"))
        .count();
    assert!(
        fetch_polls <= 3 * RECORDS + 1,
        "fetch polled {fetch_polls} times"
    );
}

#[test]
fn a_paused_run_is_the_same_every_time() {
    let first = paused_runtime();
    first.block_on(pipeline(pace()));
    let second = paused_runtime();
    second.block_on(pipeline(pace()));
    assert_eq!(first.trace().timeline(), second.trace().timeline());
}

/// With room for every record, nobody waits: the channels' capacity *is* the
/// backpressure. (The example uses `CAPACITY`; here we check the claim about it.)
#[test]
fn a_fast_store_means_no_waiting() {
    const {
        assert!(
            CAPACITY < RECORDS,
            "the example's channels are smaller than the job"
        )
    };
    let rt = paused_runtime();
    let fast_store = Pace {
        fetch: Duration::from_millis(100),
        process: Duration::ZERO,
        store: Duration::from_millis(1),
    };
    let report = rt.block_on(pipeline(fast_store));
    assert_eq!(report.fetch_waited + report.process_waited, 0, "{report:?}");
    assert_eq!(report.stored.len(), RECORDS);
}

/// The optional final stage: the stored records land in a real Redis, one
/// key each, in a single write. Skips (with one line) without `redis-server`;
/// every test above runs without one.
#[test]
fn the_records_can_be_kept_in_redis() {
    let Some(server) = redis_support::RedisServer::start() else {
        return;
    };
    let report = paused_runtime().block_on(pipeline(pace()));
    // Real sockets to another process: the real clock (a paused one would
    // jump to the response timeout while the loop waits for the server).
    let writes = evloop::run(example::save_to_redis(server.addr, &report.stored)).unwrap();
    assert_eq!(writes, 1, "ten SETs from ten tasks of one turn: one write");
    assert_eq!(
        server.raw(b"GET pipeline:record:3\r\n"),
        b"$8\r\nRECORD 3\r\n"
    );
    assert_eq!(server.raw(b"DBSIZE\r\n"), b":10\r\n");
}

mod workers;

/// Every test above again, on worker threads (`tests/workers/mod.rs`).
#[test]
fn on_workers() {
    // One write for ten SETs made in one turn: a property of the one loop
    // (on workers the ten tasks run in parallel, and may batch apart).
    workers::rerun_on_workers(&["the_records_can_be_kept_in_redis"]);
}
