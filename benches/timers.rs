//! `timers`: 100,000 sleeps with scattered deadlines.
//!
//! What one iteration does, identically for both runtimes: inside `block_on`,
//! spawn 100,000 tasks; task *i* sleeps for a pseudo-random 0–500 ms (the
//! same deterministic sequence every run and for both runtimes), then
//! returns. Await every `JoinHandle`. Every deadline goes into the timer
//! wheel, the wheel cascades them down its levels, and each fires once.
//!
//! Two groups, because the real clock hides the wheel:
//!
//! - `timers` — the **real clock**. An iteration cannot end before its
//!   longest sleep (500 ms), so the figure is "500 ms + everything else", and
//!   it is whole-program time: the ratio shows whether the overhead is
//!   visible at all. Sampled flat, 10 samples of one iteration each.
//! - `timers_paused` — a **paused clock** (evloop's `Builder::start_paused`,
//!   tokio's `Builder::start_paused`, which needs tokio's `test-util`
//!   feature). An idle loop jumps straight to the next deadline, so no time
//!   is spent waiting: what is left is spawning, inserting, cascading and
//!   firing — the wheel's overhead, isolated.
//!
//! - `gather` — lesson 05 at scale: 10,000 one-second sleeps joined in one
//!   task (`evloop::join_all`; tokio has no `join_all` of its own, so its side
//!   uses futures-util's, which tokio users reach for). The floor is 1 s; the
//!   figure says how far above it each runtime lands.
//! - `idle_timers` — what a park costs beside idle timers: 2,000 parks of an
//!   otherwise idle loop, beside 1 or 100,000 idle timers an hour ahead (a
//!   server's keep-alive timeouts, all in one far wheel slot). Each park ends
//!   with a wake from another thread (a ping-pong over channels), as a
//!   server's parks end with I/O, so the far slot *is* the next thing the
//!   wheel has to offer: every park asks when that is. The four figures
//!   should be two pairs of equals — a park costs the same beside 1 timer or
//!   100,000 (with a near timer in the wheel, its slot answers first, and the
//!   far one is never asked about at all).
//!
//! Each iteration gets a fresh runtime; only `block_on` is timed.
//! tokio is `Builder::new_current_thread().enable_all()`: one thread, like evloop.
//!
//! Run: `cargo bench --bench timers -- --noplot`.

use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::task::Poll;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

mod common;
use common::Plan;

/// Sleeps (one task each) per iteration.
const SLEEPS: u64 = 100_000;
/// The longest sleep, in microseconds: deadlines are scattered over 0..=500 ms.
const MAX_SLEEP_MICROS: u64 = 500_000;

/// The deterministic scatter: sleep length of task `i` (splitmix64 of `i`).
fn sleep_for(i: u64) -> Duration {
    let mut z = i.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    Duration::from_micros(z % (MAX_SLEEP_MICROS + 1))
}

fn evloop_sleeps(paused: bool) -> Duration {
    let rt = evloop::Runtime::builder()
        .start_paused(paused)
        .build()
        .unwrap();
    let start = Instant::now();
    rt.block_on(async {
        let handles: Vec<_> = (0..SLEEPS)
            .map(|i| evloop::spawn(async move { evloop::time::sleep(sleep_for(i)).await }))
            .collect();
        for handle in handles {
            handle.await.unwrap();
        }
    });
    start.elapsed()
}

fn tokio_sleeps(paused: bool) -> Duration {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(paused)
        .build()
        .unwrap();
    let start = Instant::now();
    rt.block_on(async {
        let handles: Vec<_> = (0..SLEEPS)
            .map(|i| tokio::spawn(async move { tokio::time::sleep(sleep_for(i)).await }))
            .collect();
        for handle in handles {
            handle.await.unwrap();
        }
    });
    start.elapsed()
}

/// Sleeps gathered per `gather` iteration, and how long each one is.
const GATHERED: u64 = 10_000;
const GATHER_SLEEP: Duration = Duration::from_secs(1);

fn evloop_gather() -> Duration {
    let rt = evloop::Runtime::new().unwrap();
    let start = Instant::now();
    rt.block_on(evloop::join_all(
        (0..GATHERED).map(|_| evloop::time::sleep(GATHER_SLEEP)),
    ));
    start.elapsed()
}

fn tokio_gather() -> Duration {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let start = Instant::now();
    // The sleeps are made inside the runtime: tokio's need its timer to exist.
    rt.block_on(async {
        futures_util::future::join_all((0..GATHERED).map(|_| tokio::time::sleep(GATHER_SLEEP)))
            .await
    });
    start.elapsed()
}

/// Parks per `idle_timers` iteration.
const PARKS: u64 = 2_000;
/// How far ahead the idle timers are: an hour, a keep-alive timeout that
/// never fires during the bench.
const IDLE_FOR: Duration = Duration::from_secs(3600);

/// Polls every sleep once, so each one registers its timer, and returns.
async fn register_all<S: Future + Unpin>(sleeps: &mut [S]) {
    poll_fn(|cx| {
        for sleep in sleeps.iter_mut() {
            let _pending = Pin::new(sleep).poll(cx);
        }
        Poll::Ready(())
    })
    .await
}

/// A thread that answers every ping with a pong: `reply` is how it sends one.
fn echo_thread(
    reply: impl Fn() + Send + 'static,
) -> (std::sync::mpsc::Sender<()>, std::thread::JoinHandle<()>) {
    let (ping, pings) = std::sync::mpsc::channel::<()>();
    let thread = std::thread::spawn(move || pings.iter().for_each(|()| reply()));
    (ping, thread)
}

fn evloop_parks(idle: usize) -> Duration {
    let rt = evloop::Runtime::new().unwrap();
    rt.block_on(async {
        let mut idle: Vec<_> = (0..idle).map(|_| evloop::time::sleep(IDLE_FOR)).collect();
        register_all(&mut idle).await;
        let (pong, mut pongs) = evloop::sync::mpsc::unbounded_channel();
        let (ping, thread) = echo_thread(move || pong.send(()).unwrap());
        let start = Instant::now();
        for _ in 0..PARKS {
            ping.send(()).unwrap();
            pongs.recv().await.unwrap(); // nothing else to do: the loop parks
        }
        let took = start.elapsed();
        drop(ping);
        thread.join().unwrap();
        took
    })
}

fn tokio_parks(idle: usize) -> Duration {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut idle: Vec<_> = (0..idle)
            .map(|_| Box::pin(tokio::time::sleep(IDLE_FOR)))
            .collect();
        register_all(&mut idle).await;
        let (pong, mut pongs) = tokio::sync::mpsc::unbounded_channel();
        let (ping, thread) = echo_thread(move || pong.send(()).unwrap());
        let start = Instant::now();
        for _ in 0..PARKS {
            ping.send(()).unwrap();
            pongs.recv().await.unwrap();
        }
        let took = start.elapsed();
        drop(ping);
        thread.join().unwrap();
        took
    })
}

/// `idle_timers`: one group, evloop and tokio beside 1 and 100,000 idle timers.
fn idle_timers(c: &mut Criterion) {
    let mut group = c.benchmark_group("idle_timers");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .throughput(Throughput::Elements(PARKS));
    for idle in [1, 100_000] {
        group.bench_function(BenchmarkId::new("evloop", idle), |b| {
            b.iter_custom(|iters| (0..iters).map(|_| evloop_parks(idle)).sum())
        });
        group.bench_function(BenchmarkId::new("tokio", idle), |b| {
            b.iter_custom(|iters| (0..iters).map(|_| tokio_parks(idle)).sum())
        });
    }
    group.finish();
}

fn timers(c: &mut Criterion) {
    // One iteration takes at least 500 ms: flat sampling runs exactly one
    // iteration per sample instead of criterion's usual 1, 2, 3, ... ramp.
    let (evloop, tokio) = (|| evloop_sleeps(false), || tokio_sleeps(false));
    common::side_by_side(c, "timers", SLEEPS, Plan::flat(6), evloop, tokio);
    let (evloop, tokio) = (|| evloop_sleeps(true), || tokio_sleeps(true));
    common::side_by_side(c, "timers_paused", SLEEPS, Plan::flat(7), evloop, tokio);
    common::side_by_side(
        c,
        "gather",
        GATHERED,
        Plan::flat(12),
        evloop_gather,
        tokio_gather,
    );
}

criterion_group!(benches, timers, idle_timers);
criterion_main!(benches);
