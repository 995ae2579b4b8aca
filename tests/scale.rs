//! Scale: does the loop stay correct with many tasks and timers?
//!
//! The targets from the perf issue that a plain `cargo test` can check
//! without a stopwatch:
//!
//! - **10,000 one-second sleeps, gathered, take one second** — on the paused
//!   clock, so "one second" is exact: the sleeps wait side by side, their
//!   10,000 timers fire together in one jump of the clock, and the loop needs
//!   a handful of turns, not one per sleep. How long that takes in *real*
//!   time (the target: under 1.1 s) is measured, not asserted, by the
//!   `gather` group of `benches/timers.rs`, beside tokio.
//! - **100,000 spawned tasks** all run and hand back their outputs.
//! - **`join_all` of 100,000 children** completes, in input order. This is a
//!   sanity check that gathering stays linear (a quadratic `join_all` would
//!   take minutes here), not a timing assertion.
//!
//! The memory target — "spawning 1M trivial tasks uses no more than 2× the
//! memory tokio uses" — needs one process per runtime (peak RSS is per
//! process), so those two tests are `#[ignore]`d and run by
//! `benches/memory.sh`, or by hand, one per process:
//!
//! ```text
//! cargo test --release --test scale -- --ignored --exact mem_evloop --nocapture
//! cargo test --release --test scale -- --ignored --exact mem_tokio --nocapture
//! ```

use std::future::{poll_fn, Future};
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};
use std::time::Duration;

use evloop::time::{sleep, Instant};
use evloop::trace::EventKind;
use evloop::{join_all, Runtime};

/// The perf issue's target, on the paused clock: gathering 10,000 one-second
/// sleeps takes one second, not 10,000 seconds and not two, because the
/// sleeps wait side by side and their timers fire together.
#[test]
fn gathering_10k_one_second_sleeps_takes_one_second_and_one_clock_jump() {
    const SLEEPS: usize = 10_000;
    let rt = Runtime::builder()
        .start_paused(true)
        .trace(true)
        .build()
        .unwrap();
    let (outputs, took) = rt.block_on(async {
        let start = Instant::now();
        let sleepers = (0..SLEEPS).map(|_| evloop::spawn(sleep(Duration::from_secs(1))));
        let outputs = join_all(sleepers).await;
        (outputs, start.elapsed())
    });

    assert_eq!(outputs.len(), SLEEPS);
    assert!(
        outputs.iter().all(Result::is_ok),
        "every sleeper finished cleanly"
    );
    assert_eq!(took, Duration::from_secs(1), "exactly one virtual second");
    let m = rt.metrics();
    assert_eq!(
        m.timers_fired, SLEEPS as u64,
        "each sleep's timer fired once"
    );
    // All 10,000 were due at the same tick: one jump of the clock fired them
    // all, and the loop took few turns (spawn, register, fire, finish, and
    // the collection below), not one per sleep.
    let jumps: Vec<_> = rt
        .trace()
        .events()
        .iter()
        .filter_map(|e| match e.kind {
            EventKind::ClockJump { to } => Some(to),
            _ => None,
        })
        .collect();
    assert_eq!(jumps, [Duration::from_secs(1)]);
    // Collecting the 10,000 results is budgeted like any other work: each
    // poll of `main` takes at most `BUDGET` (128) finished handles, then
    // yields, so the collection spreads over 10,000 / 128 turns instead of
    // holding the loop in one poll.
    let budgeted_turns = (SLEEPS / evloop::task::BUDGET as usize) as u64 + 1;
    assert!(
        m.turns <= 10 + budgeted_turns,
        "{} turns for one jump",
        m.turns
    );
}

/// 100,000 tasks spawned from inside the loop all run, once each, and every
/// `JoinHandle` gives back its own task's output.
#[test]
fn spawn_100k_tasks_and_join_them_all() {
    const TASKS: u64 = 100_000;
    let rt = Runtime::new().unwrap();
    let sum = rt.block_on(async {
        let handles: Vec<_> = (0..TASKS)
            .map(|i| evloop::spawn(async move { i * 2 }))
            .collect();
        let mut sum = 0;
        for (i, handle) in handles.into_iter().enumerate() {
            let out = handle.await.unwrap();
            assert_eq!(out, i as u64 * 2, "handle {i} gave another task's output");
            sum += out;
        }
        sum
    });
    assert_eq!(sum, TASKS * (TASKS - 1));
    let m = rt.metrics();
    assert_eq!(m.tasks_spawned, TASKS);
    assert_eq!(
        m.polls, TASKS,
        "a task that finishes on its first poll is polled once"
    );
}

/// `join_all` of 100,000 children, each of which waits once (so each is woken
/// through its own child waker), completes with the outputs in input order.
/// Linearity sanity: a `join_all` that re-polled every child on every wake
/// would do 10^10 polls here and never finish in a test run.
#[test]
fn join_all_100k_children_completes_in_order() {
    const CHILDREN: usize = 100_000;
    let rt = Runtime::new().unwrap();
    let outputs = rt.block_on(join_all((0..CHILDREN).map(|i| async move {
        evloop::yield_now().await;
        i
    })));
    assert_eq!(outputs.len(), CHILDREN);
    assert!(
        outputs.iter().enumerate().all(|(i, &out)| i == out),
        "outputs in input order"
    );
}

// ----- memory: 1,000,000 parked tasks, evloop vs tokio --------------------------

/// How many tasks the memory tests park.
const MEM_TASKS: usize = 1_000_000;

/// A runtime-agnostic "starting gun": every task parks its waker here until
/// `open`. The same code serves both runtimes, so the only difference in
/// memory is the runtimes' own per-task cost.
struct Gate {
    state: Mutex<GateState>,
}

struct GateState {
    open: bool,
    parked: Vec<Waker>,
}

impl Gate {
    fn new(capacity: usize) -> Arc<Gate> {
        let state = GateState {
            open: false,
            parked: Vec::with_capacity(capacity),
        };
        Arc::new(Gate {
            state: Mutex::new(state),
        })
    }

    /// Wait until the gate opens.
    fn wait(self: Arc<Gate>) -> impl Future<Output = ()> + Send + 'static {
        let mut registered = false;
        poll_fn(move |cx| {
            let mut state = self.state.lock().unwrap();
            if state.open {
                return Poll::Ready(());
            }
            if !registered {
                state.parked.push(cx.waker().clone());
                registered = true;
            }
            Poll::Pending
        })
    }

    fn parked(&self) -> usize {
        self.state.lock().unwrap().parked.len()
    }

    fn open(&self) {
        let parked = {
            let mut state = self.state.lock().unwrap();
            state.open = true;
            std::mem::take(&mut state.parked)
        };
        parked.into_iter().for_each(Waker::wake);
    }
}

/// A field of `/proc/self/status`, in KiB (`VmRSS`: now; `VmHWM`: the peak).
fn proc_status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("Linux: /proc/self/status");
    let line = status
        .lines()
        .find(|line| line.starts_with(field))
        .unwrap_or_else(|| panic!("no {field} in /proc/self/status"));
    line.split_whitespace()
        .nth(1)
        .and_then(|kib| kib.parse().ok())
        .expect("a number of kB")
}

/// Print the figures `benches/memory.sh` reads.
fn report(runtime: &str, rss_before_kib: u64) {
    let peak = proc_status_kib("VmHWM:");
    println!(
        "memory {runtime}: tasks={MEM_TASKS} rss_before_kib={rss_before_kib} peak_rss_kib={peak} \
         growth_kib={} bytes_per_task={}",
        peak - rss_before_kib,
        (peak - rss_before_kib) * 1024 / MEM_TASKS as u64
    );
}

/// Peak RSS of 1,000,000 tasks parked at once on evloop. Run alone, in release.
#[test]
#[ignore = "memory measurement: run alone, in release, via benches/memory.sh"]
fn mem_evloop() {
    let before = proc_status_kib("VmRSS:");
    let gate = Gate::new(MEM_TASKS);
    let rt = Runtime::new().unwrap();
    rt.block_on(async {
        let handles: Vec<_> = (0..MEM_TASKS)
            .map(|_| evloop::spawn(gate.clone().wait()))
            .collect();
        while gate.parked() < MEM_TASKS {
            evloop::yield_now().await; // let every task run once and park
        }
        gate.open();
        for handle in handles {
            handle.await.unwrap();
        }
    });
    report("evloop", before);
}

/// Peak RSS of 1,000,000 tasks parked at once on tokio's current-thread
/// runtime. Run alone, in release.
#[test]
#[ignore = "memory measurement: run alone, in release, via benches/memory.sh"]
fn mem_tokio() {
    let before = proc_status_kib("VmRSS:");
    let gate = Gate::new(MEM_TASKS);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let handles: Vec<_> = (0..MEM_TASKS)
            .map(|_| tokio::spawn(gate.clone().wait()))
            .collect();
        while gate.parked() < MEM_TASKS {
            tokio::task::yield_now().await; // let every task run once and park
        }
        gate.open();
        for handle in handles {
            handle.await.unwrap();
        }
    });
    report("tokio", before);
}

mod workers;

/// Every test above again, on worker threads (`tests/workers/mod.rs`).
#[test]
fn on_workers() {
    workers::rerun_on_workers(&[]);
}
