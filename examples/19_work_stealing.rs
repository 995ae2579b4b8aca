//! Work stealing in a picture: one worker's burst of spawns, stolen by the idle one.
//!
//! On two workers, one task — the `spawner` — spawns a burst of small tasks.
//! A spawn made on a worker lands on *that* worker's queues: the newest task
//! in its LIFO slot, the one it pushes out at the back of its deque. The other
//! worker has nothing to do and sleeps. The first task pushed on the deque
//! wakes it (it is the only sleeper and nobody is searching); it comes up
//! searching, finds its own queues empty, and steals half of the spawner's
//! deque — at most 32 tasks at once — then runs them, and steals again when
//! they are done, while the spawner's worker eats the same deque from its
//! front.
//!
//! asyncio has no counterpart: its loop is one thread, and a burst of
//! `create_task` calls runs on it one after the other. The nearest thing is a
//! `concurrent.futures.ThreadPoolExecutor`, whose threads share one queue.
//!
//! ```text
//! cargo run --release --example 19_work_stealing               # 10,000 tasks
//! cargo run --example 19_work_stealing -- 24 burst.svg         # 24 tasks, and their picture
//! cargo run --release --example 19_work_stealing -- --steal-one    # one task per steal
//! ```
//!
//! The second argument is where to write the picture of the run; its text
//! timeline goes beside it (`burst.timeline.txt`). `--steal-one`, anywhere,
//! switches stealing half off (`Tuning::steal_half`): count the steals.
//!
//! Which tasks are stolen, and how many at a time, changes from run to run:
//! it depends on when the OS lets the idle worker's thread run. On a busy
//! machine a small burst may be over before it wakes — then nothing is
//! stolen; run it again.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use evloop::runtime::Tuning;
use evloop::Runtime;

/// The default burst.
const TASKS: usize = 10_000;
/// What each task of the burst does: spin this long (a little CPU work).
pub const WORK: Duration = Duration::from_micros(50);

/// What one burst did.
#[derive(Debug)]
pub struct Burst {
    /// The worker that ran the spawner.
    pub spawner: usize,
    /// How many of the burst's tasks each worker ran.
    pub ran: Vec<u64>,
    /// How many times each worker stole from the other (`Runtime::steals`).
    pub steals: Vec<u64>,
    /// How many times each task of the burst ran to its end: all 1.
    pub runs: Vec<u32>,
}

/// On `rt`, one task spawns `tasks` tasks that each spin for `work`, then
/// awaits them all. Each task says which worker ran it.
pub fn burst(rt: &Runtime, tasks: usize, work: Duration) -> Burst {
    let runs: Arc<[AtomicU32]> = (0..tasks).map(|_| AtomicU32::new(0)).collect();
    let counted = runs.clone();
    let (spawner, ran_on) = rt.block_on(async move {
        // ANCHOR: spawner
        let spawner = evloop::task::Builder::new()
            .name("spawner")
            .spawn(async move {
                let here = worker_index();
                // The burst: every spawn goes to *this* worker's LIFO slot, and
                // the task it displaces to the back of this worker's deque.
                let handles: Vec<_> = (0..tasks)
                    .map(|i| {
                        let runs = counted.clone();
                        evloop::task::Builder::new()
                            .name(format!("t{i}"))
                            .spawn(async move {
                                spin(work);
                                runs[i].fetch_add(1, Ordering::Relaxed);
                                worker_index()
                            })
                    })
                    .collect();
                let mut ran_on = Vec::with_capacity(tasks);
                for handle in handles {
                    ran_on.push(handle.await.expect("a burst task does not panic"));
                }
                (here, ran_on)
            });
        // ANCHOR_END: spawner
        spawner.await.expect("the spawner does not panic")
    });
    let mut ran = vec![0; rt.worker_threads()];
    for worker in ran_on {
        ran[worker] += 1;
    }
    Burst {
        spawner,
        ran,
        steals: rt.steals(),
        runs: runs.iter().map(|r| r.load(Ordering::Relaxed)).collect(),
    }
}

/// The runtime of this lesson: two workers, recording a trace.
pub fn two_workers() -> Runtime {
    two_workers_with(Tuning::default())
}

/// Two workers recording a trace, with the scheduler's choices `tuning`.
pub fn two_workers_with(tuning: Tuning) -> Runtime {
    Runtime::builder()
        .worker_threads(2)
        .tuning(tuning)
        .trace(true)
        .build()
        .expect("the OS gives us a poller and two threads")
}

/// Which worker this is: workers are the threads named `evloop-worker-N`.
pub fn worker_index() -> usize {
    std::thread::current()
        .name()
        .and_then(|name| name.strip_prefix("evloop-worker-"))
        .and_then(|index| index.parse().ok())
        .expect("a task of a multi-thread runtime runs on a worker")
}

/// A little CPU work: spin (not sleep — the worker stays busy) for `work`.
fn spin(work: Duration) {
    let start = Instant::now();
    while start.elapsed() < work {
        std::hint::spin_loop();
    }
}

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let steal_one = args.iter().any(|a| a == "--steal-one");
    args.retain(|a| a != "--steal-one");
    let mut args = args.into_iter();
    let tasks = args.next().map_or(TASKS, |a| {
        a.parse().expect("the first argument is a number of tasks")
    });
    let picture = args.next();

    let rt = two_workers_with(Tuning {
        steal_half: !steal_one,
        ..Tuning::default()
    });
    let start = Instant::now();
    let burst = burst(&rt, tasks, WORK);
    let took = start.elapsed();
    assert!(burst.runs.iter().all(|&n| n == 1), "every task ran once");

    println!(
        "a burst of {tasks} tasks of {} µs each, spawned by one task on worker {}, done in {:.1} ms",
        WORK.as_micros(),
        burst.spawner,
        took.as_secs_f64() * 1e3
    );
    for (worker, ran) in burst.ran.iter().enumerate() {
        let role = if worker == burst.spawner {
            "the spawner's"
        } else {
            "the idle one "
        };
        println!(
            "  worker {worker} ({role}): ran {ran:>6} tasks, stole {:>4} times",
            burst.steals[worker]
        );
    }

    if burst.steals.iter().all(|&n| n == 0) {
        println!("nothing was stolen: the idle worker woke after the burst was done; run it again");
    }

    let timeline = rt.trace().timeline();
    let steals: Vec<&str> = timeline.lines().filter(|l| l.contains("steal ")).collect();
    println!("the timeline's {} steal lines:", steals.len());
    const SHOWN: usize = 10;
    for line in steals.iter().take(SHOWN) {
        println!("  {}", line.trim());
    }
    if steals.len() > SHOWN {
        println!("  … and {} more", steals.len() - SHOWN);
    }

    if let Some(path) = picture {
        std::fs::write(&path, rt.trace().to_svg()).expect("the picture's path is writable");
        let text = match path.strip_suffix(".svg") {
            Some(stem) => format!("{stem}.timeline.txt"),
            None => format!("{path}.timeline.txt"),
        };
        std::fs::write(&text, &timeline).expect("the timeline's path is writable");
        println!("picture: {path}, timeline: {text}");
    }
}
