//! Scale: does the loop stay correct, and fast enough, with many tasks and timers?
//!
//! The performance targets from the perf issue that a plain `cargo test` can
//! check without flakiness:
//!
//! - **10,000 one-second sleeps, gathered, finish in under 1.1 s** — a
//!   *real-clock* test (marked below), run once. It only asserts in the
//!   direction the target cares about, with the 100 ms of headroom the target
//!   itself allows; the lower bound (never under 1 s) is exact, because a
//!   sleep never ends early.
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
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Poll, Waker};
use std::time::{Duration, Instant};

use evloop::time::sleep;
use evloop::{join_all, Runtime};

/// The real-clock test takes this lock so the heavy tests in this file do not
/// share the CPU with it while it is timed (cargo runs a file's tests in parallel).
static EXCLUSIVE: Mutex<()> = Mutex::new(());

fn exclusive() -> MutexGuard<'static, ()> {
    EXCLUSIVE.lock().unwrap_or_else(|e| e.into_inner())
}

/// REAL CLOCK. The perf issue's target: gathering 10,000 one-second sleeps
/// takes one second plus a little, not 10,000 seconds and not 2 seconds.
/// One run; the only upper bound is the target's own 1.1 s.
#[test]
fn real_clock_10k_one_second_sleeps_gathered_finish_under_1_1_s() {
    let _alone = exclusive();
    let started = Instant::now();
    let rt = Runtime::new().unwrap();
    let outputs = rt.block_on(async {
        let sleepers = (0..10_000).map(|_| evloop::spawn(sleep(Duration::from_secs(1))));
        join_all(sleepers).await
    });
    let took = started.elapsed();
    println!("10,000 one-second sleeps gathered in {took:?}");

    assert_eq!(outputs.len(), 10_000);
    assert!(
        outputs.iter().all(Result::is_ok),
        "every sleeper finished cleanly"
    );
    assert!(
        took >= Duration::from_secs(1),
        "a sleep never ends early, yet all ended in {took:?}"
    );
    assert!(
        took < Duration::from_millis(1_100),
        "10,000 one-second sleeps gathered took {took:?}; the target is under 1.1 s"
    );
}

/// 100,000 tasks spawned from inside the loop all run, once each, and every
/// `JoinHandle` gives back its own task's output.
#[test]
fn spawn_100k_tasks_and_join_them_all() {
    let _alone = exclusive();
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
    let _alone = exclusive();
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
