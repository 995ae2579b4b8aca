//! `spawn`: how fast can the loop create, run and join trivial tasks?
//!
//! What one iteration measures, identically for both runtimes: inside
//! `block_on`, spawn 100,000 tasks that each return their index, then await
//! every `JoinHandle` in order. That is the whole cost of a task's life —
//! allocate it, queue it, poll it once, store its output, wake the joiner,
//! hand the output over, free it — with no timers or I/O in the way.
//!
//! Each iteration gets a fresh runtime (so one iteration's leftovers, such as
//! a grown run queue, cannot flatter the next), but only `block_on` is timed:
//! building and dropping the runtime is not the workload.
//!
//! tokio is `Builder::new_current_thread().enable_all()`: one thread, like evloop.
//!
//! Run: `cargo bench --bench spawn -- --noplot`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};

mod common;
use common::Plan;

/// Tasks spawned per iteration.
const TASKS: u64 = 100_000;

fn evloop_spawn_join() -> Duration {
    let rt = evloop::Runtime::new().unwrap();
    let start = Instant::now();
    rt.block_on(async {
        let handles: Vec<_> = (0..TASKS)
            .map(|i| evloop::spawn(async move { black_box(i) }))
            .collect();
        let mut sum = 0;
        for handle in handles {
            sum += handle.await.unwrap();
        }
        assert_eq!(sum, TASKS * (TASKS - 1) / 2);
    });
    start.elapsed()
}

fn tokio_spawn_join() -> Duration {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let start = Instant::now();
    rt.block_on(async {
        let handles: Vec<_> = (0..TASKS)
            .map(|i| tokio::spawn(async move { black_box(i) }))
            .collect();
        let mut sum = 0;
        for handle in handles {
            sum += handle.await.unwrap();
        }
        assert_eq!(sum, TASKS * (TASKS - 1) / 2);
    });
    start.elapsed()
}

fn spawn(c: &mut Criterion) {
    common::side_by_side(
        c,
        "spawn",
        TASKS,
        Plan::secs(5),
        evloop_spawn_join,
        tokio_spawn_join,
    );
}

criterion_group!(benches, spawn);
criterion_main!(benches);
