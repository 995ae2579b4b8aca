//! Lesson 14 — a data pipeline: fetch → process → store, joined by bounded channels.
//!
//! Three stages run as three tasks. Each hands its output to the next through
//! a channel that holds at most two items. The store is the slowest stage, so
//! the channels fill up, and then `send` *waits*: the fetcher is slowed to the
//! store's pace instead of piling records up in memory. That is backpressure,
//! and the trace shows the moment it happens. The asyncio original:
//!
//! ```python
//! async def fetch(out, n):
//!     for i in range(n):
//!         await asyncio.sleep(0.1)             # the network
//!         await out.put(f"record {i}")         # waits while the queue is full
//!     await out.put(None)                      # "no more"
//!
//! async def process(inp, out):
//!     while (item := await inp.get()) is not None:
//!         await asyncio.sleep(0.05)            # parsing, cleaning
//!         await out.put(item.upper())
//!     await out.put(None)
//!
//! async def store(inp):
//!     while (item := await inp.get()) is not None:
//!         await asyncio.sleep(0.3)             # a slow database
//!
//! async def main():
//!     raw, clean = asyncio.Queue(maxsize=2), asyncio.Queue(maxsize=2)
//!     await asyncio.gather(fetch(raw, 10), process(raw, clean), store(clean))
//! ```
//!
//! ```text
//! cargo run --example 14_pipeline              # store takes 0.3 s per record
//! cargo run --example 14_pipeline -- 0.03      # ten times faster
//! cargo run --example 14_pipeline -- --trace   # and print the loop's timeline
//! cargo run --example 14_pipeline -- 0.03 --redis 127.0.0.1:6379   # then keep the records in Redis
//! ```
//!
//! The last line adds lesson 17's database as a final stage: the stored
//! records are saved in a real Redis server, one key each.

use std::fmt::Display;
use std::net::SocketAddr;
use std::time::Duration;

use evloop::redis::Multiplexed;

use evloop::sync::mpsc::{self, error::TrySendError};
use evloop::time::{sleep, Instant};

/// How many records travel down the pipe.
pub const RECORDS: usize = 10;
/// How many records a channel holds before `send` waits.
pub const CAPACITY: usize = 2;

/// How long each stage takes per record.
#[derive(Debug, Clone, Copy)]
pub struct Pace {
    pub fetch: Duration,
    pub process: Duration,
    pub store: Duration,
}

impl Pace {
    /// The asyncio original's proportions, scaled so that a store takes `store`.
    pub fn with_store(store: Duration) -> Pace {
        Pace {
            fetch: store / 3,
            process: store / 6,
            store,
        }
    }
}

/// A record on its way through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub id: usize,
    pub body: String,
}

/// What the run did.
#[derive(Debug)]
pub struct Report {
    /// Records in the order the store saved them.
    pub stored: Vec<Record>,
    /// How often `fetch` found the `raw` channel full and had to wait.
    pub fetch_waited: usize,
    /// How often `process` found the `clean` channel full and had to wait.
    pub process_waited: usize,
    /// On the runtime's clock (virtual under a paused clock).
    pub elapsed: Duration,
}

// ANCHOR: send_or_wait
/// `tx.send(v).await`, but say so when the channel is full and we must wait:
/// the backpressure made visible. Returns whether we waited.
async fn send_or_wait<T>(tx: &mpsc::Sender<T>, value: T, who: &str, start: Instant) -> bool {
    match tx.try_send(value) {
        Ok(()) => false,
        Err(TrySendError::Full(value)) => {
            log(
                start,
                format!("{who}: the next stage is behind (channel full), waiting"),
            );
            // Parks this task until the receiver takes an item and frees a slot.
            tx.send(value).await.expect("the next stage is alive");
            true
        }
        Err(TrySendError::Closed(_)) => panic!("the next stage stopped early"),
    }
}
// ANCHOR_END: send_or_wait

// ANCHOR: stages
/// Stage 1: "download" records at the network's pace.
async fn fetch(out: mpsc::Sender<Record>, pace: Pace, start: Instant) -> usize {
    let mut waited = 0;
    for id in 0..RECORDS {
        sleep(pace.fetch).await;
        log(start, format!("fetch:   got record {id}"));
        let record = Record {
            id,
            body: format!("record {id}"),
        };
        waited += send_or_wait(&out, record, "fetch", start).await as usize;
    }
    waited
    // `out` is dropped here: that is asyncio's `put(None)`. The receiver
    // drains what is buffered, then `recv()` gives `None`.
}

/// Stage 2: clean each record up.
async fn process(
    mut inp: mpsc::Receiver<Record>,
    out: mpsc::Sender<Record>,
    pace: Pace,
    start: Instant,
) -> usize {
    let mut waited = 0;
    while let Some(mut record) = inp.recv().await {
        sleep(pace.process).await;
        record.body = record.body.to_uppercase();
        log(start, format!("process: cleaned record {}", record.id));
        waited += send_or_wait(&out, record, "process", start).await as usize;
    }
    waited
}

/// Stage 3: save each record, slowly. The bottleneck.
async fn store(mut inp: mpsc::Receiver<Record>, pace: Pace, start: Instant) -> Vec<Record> {
    let mut saved = Vec::new();
    while let Some(record) = inp.recv().await {
        sleep(pace.store).await;
        log(start, format!("store:   saved record {}", record.id));
        saved.push(record);
    }
    saved
}
// ANCHOR_END: stages

// ANCHOR: pipeline
/// Wire the stages together and run them to the end.
pub async fn pipeline(pace: Pace) -> Report {
    let start = Instant::now();
    let (raw_tx, raw_rx) = mpsc::channel(CAPACITY);
    let (clean_tx, clean_rx) = mpsc::channel(CAPACITY);
    let task = |name: &str| evloop::task::Builder::new().name(name);
    let fetcher = task("fetch").spawn(fetch(raw_tx, pace, start));
    let processor = task("process").spawn(process(raw_rx, clean_tx, pace, start));
    let storer = task("store").spawn(store(clean_rx, pace, start));
    // asyncio.gather: each stage ends when its input channel closes.
    let (fetch_waited, process_waited, stored) = evloop::join!(fetcher, processor, storer);
    Report {
        stored: stored.expect("store does not panic"),
        fetch_waited: fetch_waited.expect("fetch does not panic"),
        process_waited: process_waited.expect("process does not panic"),
        elapsed: start.elapsed(),
    }
}
// ANCHOR_END: pipeline

// ANCHOR: redis_stage
/// The optional last stage (lesson 17): keep the records in Redis, one key
/// each (`pipeline:record:N`). One task per record, all sharing one
/// multiplexed connection, so the saves travel together. Returns how many
/// writes (round trips) that took.
pub async fn save_to_redis(
    addr: SocketAddr,
    records: &[Record],
) -> Result<u64, evloop::redis::Error> {
    let redis = Multiplexed::connect(addr).await?;
    let saves = records.iter().map(|record| {
        let (redis, key) = (redis.clone(), format!("pipeline:record:{}", record.id));
        let body = record.body.clone();
        evloop::spawn(async move { redis.set(key, body).await })
    });
    for saved in evloop::join_all(saves).await {
        saved.expect("a save does not panic")?;
    }
    Ok(redis.stats().writes)
}
// ANCHOR_END: redis_stage

fn main() {
    let mut store_secs = 0.3;
    let mut show_trace = false;
    let mut redis = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--trace" => show_trace = true,
            "--redis" => redis = Some(args.next().expect("--redis HOST:PORT")),
            secs => {
                store_secs = secs
                    .parse()
                    .expect("usage: [SECONDS per store, e.g. 0.03] [--trace] [--redis HOST:PORT]")
            }
        }
    }
    let rt = evloop::Runtime::builder()
        .trace(show_trace)
        .build()
        .expect("a runtime");
    let report = rt.block_on(pipeline(Pace::with_store(Duration::from_secs_f64(
        store_secs,
    ))));
    println!(
        "stored {} records in {:.2} s; fetch waited {} times, process {} times",
        report.stored.len(),
        report.elapsed.as_secs_f64(),
        report.fetch_waited,
        report.process_waited,
    );
    if show_trace {
        print!("{}", rt.trace().timeline());
    }
    if let Some(addr) = redis {
        let addr = std::net::ToSocketAddrs::to_socket_addrs(&addr)
            .ok()
            .and_then(|mut a| a.next())
            .expect("--redis HOST:PORT resolves");
        match rt.block_on(save_to_redis(addr, &report.stored)) {
            Ok(writes) => println!(
                "saved {} records in Redis at {addr} ({writes} write(s))",
                report.stored.len()
            ),
            Err(e) => println!("could not save to Redis at {addr}: {e}"),
        }
    }
}

/// Print `msg` with the time since `start`: `[0.40s] store:   saved record 0`.
fn log(start: Instant, msg: impl Display) {
    println!("[{:.2}s] {msg}", start.elapsed().as_secs_f64());
}
