//! `yield`: the cost of one trip through the run queue.
//!
//! What one iteration measures, identically for both runtimes: inside
//! `block_on`, spawn 1,000 tasks that each call `yield_now().await` 1,000
//! times, then await all 1,000 `JoinHandle`s. That is 1,000,000 yields, and
//! about as many task polls and self-wakes: each yield wakes its own task
//! (queue it again) and returns `Pending`, so the loop goes round the other
//! 999 tasks before polling it again. Nothing else happens — no timers, no
//! I/O — so this is the scheduler's fixed cost per poll + wake.
//!
//! (The other "turn-taking" workload from the same perf issue, 1,000 pairs of
//! tasks × 1,000 ping-pongs over `bounded(1)` channels, is in `benches/channel.rs`,
//! group `ping_pong_bounded_1`: it adds the channel's cost to the scheduler's.)
//!
//! Each iteration gets a fresh runtime; only `block_on` is timed.
//! tokio is `Builder::new_current_thread().enable_all()`: one thread, like evloop.
//!
//! Run: `cargo bench --bench yield_now -- --noplot`.

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};

mod common;
use common::Plan;

/// Tasks per iteration.
const TASKS: usize = 1_000;
/// `yield_now` calls per task.
const YIELDS: usize = 1_000;

fn evloop_yields() -> Duration {
    let rt = evloop::Runtime::new().unwrap();
    let start = Instant::now();
    rt.block_on(async {
        let handles: Vec<_> = (0..TASKS)
            .map(|_| {
                evloop::spawn(async {
                    for _ in 0..YIELDS {
                        evloop::yield_now().await;
                    }
                })
            })
            .collect();
        for handle in handles {
            handle.await.unwrap();
        }
    });
    start.elapsed()
}

fn tokio_yields() -> Duration {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let start = Instant::now();
    rt.block_on(async {
        let handles: Vec<_> = (0..TASKS)
            .map(|_| {
                tokio::spawn(async {
                    for _ in 0..YIELDS {
                        tokio::task::yield_now().await;
                    }
                })
            })
            .collect();
        for handle in handles {
            handle.await.unwrap();
        }
    });
    start.elapsed()
}

fn yield_now(c: &mut Criterion) {
    let yields = (TASKS * YIELDS) as u64;
    common::side_by_side(
        c,
        "yield",
        yields,
        Plan::secs(5),
        evloop_yields,
        tokio_yields,
    );
}

criterion_group!(benches, yield_now);
criterion_main!(benches);
