//! `redis`: 100 tasks doing SET + GET against one real `redis-server`.
//!
//! Four ways, in one run, same server (started here on a free loopback port;
//! without `redis-server` the bench says so and does nothing):
//!
//! - `evloop-pipelined`: evloop's `Multiplexed` (one connection, batched writes);
//! - `redis-rs-multiplexed`: the `redis` crate's `MultiplexedConnection` on
//!   tokio's current-thread runtime (one thread, like evloop) — the baseline;
//! - `evloop-sequential`: one `Connection`, one command at a time;
//! - `evloop-pooled`: a `Pool` of 8 connections shared by the 100 tasks.
//!
//! Each iteration: a fresh runtime, connect, then 100 tasks × `rounds` of
//! `SET key i` + `GET key` (checked). Throughput is in commands (elements/s).
//! The one-command-per-round-trip ways get fewer rounds (they are ~20× slower)
//! so an iteration stays within seconds; elements/s makes them comparable.
//! After the timing, one more run of each counts round trips: the server's
//! `total_reads_processed`, and evloop's own count of writes.
//!
//! Run: `cargo bench --bench redis -- --warm-up-time 1 --measurement-time 3`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode, Throughput};

#[path = "../tests/redis_support/mod.rs"]
mod redis_support;
use redis_support::RedisServer;

const TASKS: usize = 100;
/// Rounds per task for the pipelined clients: 100 tasks × 10,000 `SET` +
/// `GET`, 2,000,000 commands an iteration.
const PIPELINED_ROUNDS: usize = 10_000;
/// Rounds per task for the one-command-per-round-trip clients.
const SERIAL_ROUNDS: usize = 50;
const POOL: usize = 8;

/// Which evloop client a run uses.
#[derive(Clone, Copy, Debug)]
enum Way {
    Sequential,
    Pooled,
    Pipelined,
}

/// One iteration on evloop; returns the time and the client's own count of
/// writes (round trips).
fn evloop_run(addr: SocketAddr, way: Way, rounds: usize) -> (Duration, u64) {
    use evloop::redis::{Connection, Error, Multiplexed, Pool};
    let rt = evloop::Runtime::new().unwrap();
    rt.block_on(async move {
        let start = Instant::now();
        let writes = match way {
            Way::Sequential => {
                let mut conn = Connection::connect(addr).await.unwrap();
                for t in 0..TASKS {
                    for i in 0..rounds {
                        conn.set(t, i).await.unwrap();
                        assert_eq!(conn.get(t).await.unwrap(), Some(i.to_string().into_bytes()));
                    }
                }
                conn.round_trips()
            }
            Way::Pooled => {
                let pool = Arc::new(Pool::new(addr, POOL).unwrap());
                let tasks = (0..TASKS).map(|t| {
                    let pool = pool.clone();
                    evloop::spawn(async move {
                        for i in 0..rounds {
                            pool.set(t, i).await?;
                            assert_eq!(pool.get(t).await?, Some(i.to_string().into_bytes()));
                        }
                        Ok::<_, Error>(())
                    })
                });
                for t in evloop::join_all(tasks).await {
                    t.unwrap().unwrap();
                }
                (2 * TASKS * rounds) as u64
            }
            Way::Pipelined => {
                let mux = Multiplexed::connect(addr).await.unwrap();
                let tasks = (0..TASKS).map(|t| {
                    let mux = mux.clone();
                    evloop::spawn(async move {
                        for i in 0..rounds {
                            mux.set(t, i).await?;
                            assert_eq!(mux.get(t).await?, Some(i.to_string().into_bytes()));
                        }
                        Ok::<_, Error>(())
                    })
                });
                for t in evloop::join_all(tasks).await {
                    t.unwrap().unwrap();
                }
                mux.stats().writes
            }
        };
        (start.elapsed(), writes)
    })
}

/// One iteration with the `redis` crate's multiplexed connection on tokio.
fn redis_rs_run(addr: SocketAddr, rounds: usize) -> Duration {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let start = Instant::now();
        let client = redis::Client::open(format!("redis://{addr}/")).unwrap();
        let con = client.get_multiplexed_async_connection().await.unwrap();
        let tasks: Vec<_> = (0..TASKS)
            .map(|t| {
                let mut con = con.clone();
                tokio::spawn(async move {
                    for i in 0..rounds {
                        let () = redis::cmd("SET")
                            .arg(t)
                            .arg(i)
                            .query_async(&mut con)
                            .await
                            .unwrap();
                        let got: Option<Vec<u8>> = redis::cmd("GET")
                            .arg(t)
                            .query_async(&mut con)
                            .await
                            .unwrap();
                        assert_eq!(got, Some(i.to_string().into_bytes()));
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        start.elapsed()
    })
}

fn bench(c: &mut Criterion, server: &RedisServer) {
    let addr = server.addr;
    let mut group = c.benchmark_group("redis");
    group.sampling_mode(SamplingMode::Flat).sample_size(10);

    let commands = |rounds: usize| (2 * TASKS * rounds) as u64;
    let sum = |iters: u64, f: &dyn Fn() -> Duration| (0..iters).map(|_| f()).sum::<Duration>();

    // `REDIS_ROUNDS=N` sets the pipelined rounds per task, to see how the
    // ratio moves with the length of a run.
    let rounds = std::env::var("REDIS_ROUNDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(PIPELINED_ROUNDS);
    group.throughput(Throughput::Elements(commands(rounds)));
    group.bench_function("evloop-pipelined", |b| {
        b.iter_custom(|n| sum(n, &|| evloop_run(addr, Way::Pipelined, rounds).0))
    });
    group.bench_function("redis-rs-multiplexed", |b| {
        b.iter_custom(|n| sum(n, &|| redis_rs_run(addr, rounds)))
    });
    group.throughput(Throughput::Elements(commands(SERIAL_ROUNDS)));
    group.bench_function("evloop-sequential", |b| {
        b.iter_custom(|n| sum(n, &|| evloop_run(addr, Way::Sequential, SERIAL_ROUNDS).0))
    });
    group.bench_function("evloop-pooled", |b| {
        b.iter_custom(|n| sum(n, &|| evloop_run(addr, Way::Pooled, SERIAL_ROUNDS).0))
    });
    group.finish();

    // Round trips, counted once per way: the server's socket reads (minus
    // the two INFO reads that bracket the run) and evloop's own writes.
    println!("\nround trips per 1,000 commands (server reads; evloop's writes)");
    let reads = |run: &dyn Fn() -> u64, rounds: usize| {
        let before = server.info_stat("total_reads_processed");
        let writes = run();
        let after = server.info_stat("total_reads_processed");
        let per_k = |n: u64| n as f64 * 1000.0 / commands(rounds) as f64;
        (per_k(after - before - 2), per_k(writes))
    };
    for (name, way, rounds) in [
        ("evloop-pipelined", Way::Pipelined, PIPELINED_ROUNDS),
        ("evloop-sequential", Way::Sequential, SERIAL_ROUNDS),
        ("evloop-pooled", Way::Pooled, SERIAL_ROUNDS),
    ] {
        let (server_reads, writes) = reads(&|| evloop_run(addr, way, rounds).1, rounds);
        println!("  {name:<22} {server_reads:>8.1} {writes:>8.1}");
    }
    let (server_reads, _) = reads(
        &|| {
            redis_rs_run(addr, PIPELINED_ROUNDS);
            0
        },
        PIPELINED_ROUNDS,
    );
    println!(
        "  {:<22} {server_reads:>8.1}        -",
        "redis-rs-multiplexed"
    );
}

fn main() {
    let Some(server) = RedisServer::start() else {
        return; // RedisServer::start printed how to install redis-server
    };
    let mut c = Criterion::default().configure_from_args();
    bench(&mut c, &server);
    c.final_summary();
}
