//! `channel`: moving values between tasks through `mpsc` channels.
//!
//! Three groups, each with the same code shape for evloop and tokio
//! (`evloop::sync::mpsc` against `tokio::sync::mpsc`):
//!
//! - `mpsc_bounded_1024` — 1,000,000 `u64`s through `channel(1024)`, from one
//!   producer task to one consumer task. Mostly the channel's own cost (lock,
//!   push, pop); the producer is parked by backpressure whenever it gets
//!   1,024 ahead, so the scheduler is visited about once per 1,024 values.
//! - `mpsc_unbounded` — the same 1,000,000 values through `unbounded_channel()`:
//!   the producer never waits, so this is the fast path alone.
//! - `ping_pong_bounded_1` — 1,000 pairs of tasks, each pair playing 1,000
//!   rounds of ping-pong over two `channel(1)`s (A sends on one, B answers on
//!   the other). Every message wakes the other task, so this is 2,000,000
//!   sends, about as many wakes and task polls: the scheduler's turn-taking
//!   cost plus the channel's. (The pure scheduler cost, `yield_now`, is in
//!   `benches/yield_now.rs`.)
//!
//! Each iteration gets a fresh runtime; only `block_on` is timed.
//! tokio is `Builder::new_current_thread().enable_all()`: one thread, like evloop.
//!
//! Run: `cargo bench --bench channel -- --noplot`.

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};

mod common;
use common::Plan;

/// Values per iteration in the two streaming groups.
const MESSAGES: u64 = 1_000_000;
/// Buffer of the bounded streaming channel.
const CAPACITY: usize = 1024;
/// Task pairs in the ping-pong group, and rounds each pair plays.
const PAIRS: usize = 1_000;
const ROUNDS: u64 = 1_000;

/// Time `block_on(work)` on a fresh evloop runtime.
fn on_evloop<F: std::future::Future>(work: F) -> Duration {
    let rt = evloop::Runtime::new().unwrap();
    let start = Instant::now();
    rt.block_on(work);
    start.elapsed()
}

/// Time `block_on(work)` on a fresh tokio current-thread runtime.
fn on_tokio<F: std::future::Future>(work: F) -> Duration {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let start = Instant::now();
    rt.block_on(work);
    start.elapsed()
}

async fn evloop_bounded() {
    let (tx, mut rx) = evloop::sync::mpsc::channel(CAPACITY);
    let producer = evloop::spawn(async move {
        for i in 0..MESSAGES {
            tx.send(i).await.unwrap();
        }
    });
    let consumer = evloop::spawn(async move {
        let mut sum = 0;
        while let Some(i) = rx.recv().await {
            sum += i;
        }
        sum
    });
    producer.await.unwrap();
    assert_eq!(consumer.await.unwrap(), MESSAGES * (MESSAGES - 1) / 2);
}

async fn tokio_bounded() {
    let (tx, mut rx) = tokio::sync::mpsc::channel(CAPACITY);
    let producer = tokio::spawn(async move {
        for i in 0..MESSAGES {
            tx.send(i).await.unwrap();
        }
    });
    let consumer = tokio::spawn(async move {
        let mut sum = 0;
        while let Some(i) = rx.recv().await {
            sum += i;
        }
        sum
    });
    producer.await.unwrap();
    assert_eq!(consumer.await.unwrap(), MESSAGES * (MESSAGES - 1) / 2);
}

async fn evloop_unbounded() {
    let (tx, mut rx) = evloop::sync::mpsc::unbounded_channel();
    let producer = evloop::spawn(async move {
        for i in 0..MESSAGES {
            tx.send(i).unwrap();
        }
    });
    let consumer = evloop::spawn(async move {
        let mut sum = 0;
        while let Some(i) = rx.recv().await {
            sum += i;
        }
        sum
    });
    producer.await.unwrap();
    assert_eq!(consumer.await.unwrap(), MESSAGES * (MESSAGES - 1) / 2);
}

async fn tokio_unbounded() {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let producer = tokio::spawn(async move {
        for i in 0..MESSAGES {
            tx.send(i).unwrap();
        }
    });
    let consumer = tokio::spawn(async move {
        let mut sum = 0;
        while let Some(i) = rx.recv().await {
            sum += i;
        }
        sum
    });
    producer.await.unwrap();
    assert_eq!(consumer.await.unwrap(), MESSAGES * (MESSAGES - 1) / 2);
}

async fn evloop_ping_pong() {
    let mut handles = Vec::with_capacity(PAIRS * 2);
    for _ in 0..PAIRS {
        let (ping_tx, mut ping_rx) = evloop::sync::mpsc::channel(1);
        let (pong_tx, mut pong_rx) = evloop::sync::mpsc::channel(1);
        handles.push(evloop::spawn(async move {
            for i in 0..ROUNDS {
                ping_tx.send(i).await.unwrap();
                assert_eq!(pong_rx.recv().await, Some(i));
            }
        }));
        handles.push(evloop::spawn(async move {
            while let Some(i) = ping_rx.recv().await {
                pong_tx.send(i).await.unwrap();
            }
        }));
    }
    for handle in handles {
        handle.await.unwrap();
    }
}

async fn tokio_ping_pong() {
    let mut handles = Vec::with_capacity(PAIRS * 2);
    for _ in 0..PAIRS {
        let (ping_tx, mut ping_rx) = tokio::sync::mpsc::channel(1);
        let (pong_tx, mut pong_rx) = tokio::sync::mpsc::channel(1);
        handles.push(tokio::spawn(async move {
            for i in 0..ROUNDS {
                ping_tx.send(i).await.unwrap();
                assert_eq!(pong_rx.recv().await, Some(i));
            }
        }));
        handles.push(tokio::spawn(async move {
            while let Some(i) = ping_rx.recv().await {
                pong_tx.send(i).await.unwrap();
            }
        }));
    }
    for handle in handles {
        handle.await.unwrap();
    }
}

fn channel(c: &mut Criterion) {
    let plan = Plan::secs(5);
    common::side_by_side(
        c,
        "mpsc_bounded_1024",
        MESSAGES,
        plan,
        || on_evloop(evloop_bounded()),
        || on_tokio(tokio_bounded()),
    );
    common::side_by_side(
        c,
        "mpsc_unbounded",
        MESSAGES,
        plan,
        || on_evloop(evloop_unbounded()),
        || on_tokio(tokio_unbounded()),
    );
    common::side_by_side(
        c,
        "ping_pong_bounded_1",
        PAIRS as u64 * ROUNDS * 2,
        plan,
        || on_evloop(evloop_ping_pong()),
        || on_tokio(tokio_ping_pong()),
    );
}

criterion_group!(benches, channel);
criterion_main!(benches);
