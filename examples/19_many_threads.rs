//! Lesson 19 — many threads: one CPU-heavy gather on the one-thread loop, on
//! one worker and on two; who ran which task, read from the trace; a task
//! that moves from one worker to the other; and `spawn_blocking`, which was
//! standing in for the second core all along.
//!
//! The work is key stretching, as PBKDF2 does to passwords: hash the
//! password, then hash the hash, a million and a half times, so that guessing is
//! slow. The hash is FNV-1a, a dozen lines below, so the whole job is plain
//! arithmetic a reader can see — and a Python version can do word for word:
//!
//! ```python
//! async def main():
//!     chunks = [passwords[64 * t // 7 : 64 * (t + 1) // 7] for t in range(7)]
//!     digests = await asyncio.gather(*(asyncio.to_thread(hash_chunk, c) for c in chunks))
//!     # ... as slow as hashing them one after another: the GIL lets one thread run Python
//! ```
//!
//! ```text
//! cargo run --release --example 19_many_threads                  # 64 passwords: about 1 s on one thread
//! cargo run --release --example 19_many_threads -- 16            # 16 passwords
//! cargo run --release --example 19_many_threads -- --repeat 10   # ten runs of each, and the ratios' spread
//! cargo run --release --example 19_many_threads -- --trace       # and the two-worker run's whole timeline
//! cargo run --release --example 19_many_threads -- 12 --tasks 3 --svg run.svg   # its picture (and run.timeline.txt)
//! ```

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use evloop::trace::{EventKind, Trace};
use evloop::Runtime;

// ANCHOR: hash
/// FNV-1a, 64 bits: for each byte, xor it in, then multiply by a prime.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &byte in bytes {
        hash = (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// Key stretching: hash the password, then hash the hash, `rounds` times.
/// Each round needs the one before it, so no compiler and no CPU can take a
/// shortcut: this is a thread kept busy, as a real password hash keeps it.
pub fn stretch(password: &str, rounds: u32) -> u64 {
    let mut digest = fnv1a(password.as_bytes());
    for _ in 0..rounds {
        digest = fnv1a(&digest.to_le_bytes());
    }
    digest
}
// ANCHOR_END: hash

/// How much work: `passwords` passwords (`password-0`, `password-1`, …),
/// each stretched `rounds` times, split over `tasks` tasks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Work {
    pub passwords: usize,
    pub rounds: u32,
    pub tasks: usize,
}

impl Work {
    /// The example's default: about one second on one thread of a release
    /// build. Seven tasks, not eight: two workers cannot split seven evenly,
    /// so one runs out of its own work first and steals the other's — a task
    /// already half done moves (with eight, they often come out even).
    pub const DEFAULT: Work = Work {
        passwords: 64,
        rounds: 1_500_000,
        tasks: 7,
    };

    /// Task `t`'s share: a contiguous run of password numbers.
    pub fn share(self, t: usize) -> std::ops::Range<usize> {
        self.passwords * t / self.tasks..self.passwords * (t + 1) / self.tasks
    }
}

/// The password numbered `n`.
pub fn password(n: usize) -> String {
    format!("password-{n}")
}

/// The digests computed the plain way, one after another on this thread:
/// what every runtime below must agree with.
pub fn expected(work: Work) -> Vec<u64> {
    (0..work.passwords)
        .map(|n| stretch(&password(n), work.rounds))
        .collect()
}

// ANCHOR: gather
/// Hash every password, split over `work.tasks` tasks, and gather the
/// digests in password order: asyncio's `gather`, on whatever runtime runs it.
pub async fn hash_all(work: Work) -> Vec<u64> {
    let tasks = (0..work.tasks).map(|t| {
        evloop::task::Builder::new()
            .name(format!("hasher-{t}"))
            .spawn(async move {
                let mut digests = Vec::new();
                for n in work.share(t) {
                    digests.push(stretch(&password(n), work.rounds));
                    // An `.await` between two passwords: the task goes back to
                    // the queue here, and the next poll may be on another worker.
                    evloop::yield_now().await;
                }
                digests
            })
    });
    let shares = evloop::join_all(tasks).await;
    shares
        .into_iter()
        .flat_map(|share| share.expect("a hasher does not panic"))
        .collect()
}
// ANCHOR_END: gather

// ANCHOR: pool
/// The same hashing on the one-thread loop's blocking pool: each share is a
/// `spawn_blocking` job (asyncio's `to_thread`), and the loop only waits.
pub async fn hash_all_on_the_pool(work: Work) -> Vec<u64> {
    let jobs = (0..work.tasks).map(|t| {
        evloop::spawn_blocking(move || {
            work.share(t)
                .map(|n| stretch(&password(n), work.rounds))
                .collect::<Vec<u64>>()
        })
    });
    let shares = evloop::join_all(jobs).await;
    shares
        .into_iter()
        .flat_map(|share| share.expect("a job does not panic"))
        .collect()
}
// ANCHOR_END: pool

/// The runtimes this lesson compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setup {
    /// The one event loop, on the thread that calls `block_on`.
    OneThread,
    /// `worker_threads(n)`: `n` workers stealing from each other.
    Workers(usize),
    /// The one event loop, the hashing handed to `spawn_blocking`.
    Pool,
}

impl Setup {
    /// How the table names it.
    pub fn label(self) -> String {
        match self {
            Setup::OneThread => "one-thread loop".to_string(),
            Setup::Workers(n) => format!("worker_threads({n})"),
            Setup::Pool => "spawn_blocking, one loop".to_string(),
        }
    }
}

// ANCHOR: runtime
/// The runtime for `setup`, recording a trace. Nothing else differs: the
/// gather above runs unchanged on every one of them.
pub fn runtime(setup: Setup) -> Runtime {
    let workers = match setup {
        Setup::OneThread | Setup::Pool => 0, // 0: the one-thread loop, whatever the environment says
        Setup::Workers(n) => n,
    };
    Runtime::builder()
        .worker_threads(workers)
        .trace(true)
        // Each poll here is one password's worth of hashing, and that is
        // the point; on the one loop it is also lesson 08's warning.
        .slow_poll_threshold(Duration::MAX)
        .build()
        .expect("the OS gives us a poller and threads")
}
// ANCHOR_END: runtime

/// One timed run: the digests, the wall time of `block_on`, and the trace.
pub struct Run {
    pub setup: Setup,
    pub digests: Vec<u64>,
    pub took: Duration,
    pub trace: Trace,
}

/// Build the runtime for `setup`, hash everything on it, and time it.
pub fn run(setup: Setup, work: Work) -> Run {
    let rt = runtime(setup);
    let start = Instant::now();
    let digests = match setup {
        Setup::Pool => rt.block_on(hash_all_on_the_pool(work)),
        _ => rt.block_on(hash_all(work)),
    };
    let took = start.elapsed();
    Run {
        setup,
        digests,
        took,
        trace: settled_trace(&rt),
    }
}

/// `rt`'s trace, once every task's last poll is written down. On workers,
/// `block_on` can return while the worker that ran the last task is still
/// finishing that poll (the task woke `main` from inside it); a worker lets
/// go of a task only after recording the end of its poll, so once the
/// runtime owns no task, every poll that finished a task is in the trace.
pub fn settled_trace(rt: &Runtime) -> Trace {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !rt.tasks().is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(1));
    }
    rt.trace()
}

// ANCHOR: read_the_trace
/// Each task polled on a worker, by id: its name and the worker of each of
/// its polls, in order. The trace's `worker` field says where an event
/// happened (`None`: the `block_on` thread, or the one-thread loop).
pub fn workers_of_each_task(trace: &Trace) -> BTreeMap<u64, (String, Vec<usize>)> {
    let mut tasks: BTreeMap<u64, (String, Vec<usize>)> = BTreeMap::new();
    for event in trace.events() {
        if let (EventKind::Poll { task, .. }, Some(worker)) = (&event.kind, event.worker) {
            tasks
                .entry(*task)
                .or_insert_with(|| (trace.name(*task), Vec::new()))
                .1
                .push(worker);
        }
    }
    tasks
}

/// A task that was polled on one worker and later on another, if there is
/// one: its id, and the worker of each of its polls. Of all that moved, the
/// one that moved earliest in its life, so it still had work after the move.
pub fn a_task_that_moved(trace: &Trace) -> Option<(u64, Vec<usize>)> {
    workers_of_each_task(trace)
        .into_iter()
        .filter_map(|(task, (_, workers))| {
            let first_move = workers.windows(2).position(|w| w[0] != w[1])?;
            Some((first_move, task, workers))
        })
        .min_by_key(|&(first_move, task, _)| (first_move, task))
        .map(|(_, task, workers)| (task, workers))
}
// ANCHOR_END: read_the_trace

/// How many polls each worker made.
pub fn polls_per_worker(trace: &Trace) -> BTreeMap<usize, usize> {
    let mut polls = BTreeMap::new();
    for (_, workers) in workers_of_each_task(trace).values() {
        for &w in workers {
            *polls.entry(w).or_insert(0) += 1;
        }
    }
    polls
}

/// The letter a task is drawn with: the first task polled on a worker is
/// `a`, the next `b`, … (the hashers, in spawn order).
fn letters(trace: &Trace) -> BTreeMap<u64, char> {
    workers_of_each_task(trace)
        .keys()
        .zip(('a'..='z').chain('A'..='Z').cycle())
        .map(|(&task, letter)| (task, letter))
        .collect()
}

/// A picture in text: one lane per worker, `width` columns of equal time,
/// each the letter of the task that worker was polling then (`.`: none).
pub fn lanes(trace: &Trace, width: usize) -> String {
    let letters = letters(trace);
    let polls: Vec<(usize, char, Duration, Duration)> = trace
        .events()
        .iter()
        .filter_map(|e| match (&e.kind, e.worker) {
            (EventKind::Poll { task, took, .. }, Some(w)) => Some((w, letters[task], e.at, *took)),
            _ => None,
        })
        .collect();
    let end = polls.iter().map(|&(_, _, at, took)| at + took).max();
    let (Some(end), Some(workers)) = (end, polls.iter().map(|p| p.0).max()) else {
        return String::new();
    };
    let mut out = String::new();
    for worker in 0..=workers {
        let mut lane = vec!['.'; width];
        for &(_, letter, at, took) in polls.iter().filter(|p| p.0 == worker) {
            let column =
                |t: Duration| (t.as_secs_f64() / end.as_secs_f64() * width as f64) as usize;
            for cell in lane.iter_mut().take(column(at + took) + 1).skip(column(at)) {
                *cell = letter;
            }
        }
        let lane: String = lane.into_iter().collect();
        let _ = writeln!(out, "  w{worker} |{lane}|");
    }
    out
}

/// The timeline's lines around `task`'s move: its last poll on the first
/// worker, what happened to it (and any steal) until its first poll on the
/// other, and that poll.
pub fn the_move(trace: &Trace, task: u64) -> String {
    let events = trace.events();
    let polls: Vec<(usize, usize)> = events
        .iter()
        .enumerate()
        .filter_map(|(i, e)| match (&e.kind, e.worker) {
            (EventKind::Poll { task: t, .. }, Some(w)) if *t == task => Some((i, w)),
            _ => None,
        })
        .collect();
    let Some(pair) = polls.windows(2).find(|p| p[0].1 != p[1].1) else {
        return String::new();
    };
    let (from, to) = (pair[0].0, pair[1].0);
    let timeline = trace.timeline();
    let lines: Vec<&str> = timeline.lines().collect();
    let mut out = String::new();
    for (i, event) in events.iter().enumerate().take(to + 1).skip(from) {
        let concerns = match &event.kind {
            EventKind::Poll { task: t, .. } | EventKind::Wake { task: t, .. } => *t == task,
            EventKind::Steal { .. } => true,
            _ => false,
        };
        if concerns {
            let _ = writeln!(out, "{}", lines[i]);
        }
    }
    out
}

// ANCHOR: main
fn main() {
    let Arguments {
        work,
        repeat,
        show_trace,
        picture,
    } = arguments();
    println!(
        "hashing {} passwords, {} rounds each, in {} tasks\n",
        work.passwords, work.rounds, work.tasks
    );
    let want = expected(work);
    let setups = [
        Setup::OneThread,
        Setup::Workers(1),
        Setup::Workers(2),
        Setup::Pool,
    ];
    let mut ratios: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    let mut last = None;
    for round in 0..repeat {
        if repeat > 1 {
            println!("run {}:", round + 1);
        }
        let runs: Vec<Run> = setups.iter().map(|&setup| run(setup, work)).collect();
        let baseline = runs[1].took.as_secs_f64(); // one worker: the fair 1×
        for run in &runs {
            assert_eq!(
                run.digests,
                want,
                "{} hashed differently",
                run.setup.label()
            );
            let ratio = run.took.as_secs_f64() / baseline;
            println!(
                "  {:<26} {:>6.3} s   {ratio:.2}× one worker's time",
                run.setup.label(),
                run.took.as_secs_f64()
            );
            ratios.entry(run.setup.label()).or_default().push(ratio);
        }
        last = runs.into_iter().nth(2);
    }
    let digest = want.iter().fold(0, |acc, d| acc ^ d);
    println!(
        "every run gave the same {} digests (xor {digest:016x})",
        want.len()
    );
    if repeat > 1 {
        println!("\nratios to one worker's time, over {repeat} runs (min / median / max):");
        for setup in setups {
            let mut r = ratios.remove(&setup.label()).unwrap_or_default();
            r.sort_by(f64::total_cmp);
            println!(
                "  {:<26} {:.2} / {:.2} / {:.2}",
                setup.label(),
                r[0],
                r[r.len() / 2],
                r[r.len() - 1]
            );
        }
    }

    // Who ran what, on two workers: the last run's trace.
    let two = last.expect("at least one run");
    println!("\nworker_threads(2), who polled which hasher (a = hasher-0, b = hasher-1, …):");
    print!("{}", lanes(&two.trace, 64));
    for (worker, polls) in polls_per_worker(&two.trace) {
        println!("  w{worker}: {polls} polls");
    }
    match a_task_that_moved(&two.trace) {
        Some((task, workers)) => {
            let on: Vec<String> = workers.iter().map(|w| format!("w{w}")).collect();
            println!(
                "\na task that moved: {} polled on {}",
                two.trace.name(task),
                on.join(" ")
            );
            print!("{}", the_move(&two.trace, task));
        }
        None => println!("\nno task moved between workers this run: run it again"),
    }
    if show_trace {
        println!(
            "\nthe whole timeline of the two-worker run:\n{}",
            two.trace.timeline()
        );
    }
    if let Some(path) = picture {
        // The picture of the two-worker run, and its timeline beside it.
        std::fs::write(&path, two.trace.to_svg()).expect("the picture's path is writable");
        let text = match path.strip_suffix(".svg") {
            Some(stem) => format!("{stem}.timeline.txt"),
            None => format!("{path}.timeline.txt"),
        };
        std::fs::write(&text, two.trace.timeline()).expect("the timeline's path is writable");
        println!("\npicture: {path}, timeline: {text}");
    }
}
// ANCHOR_END: main

/// What the command line asked for.
struct Arguments {
    work: Work,
    repeat: usize,
    show_trace: bool,
    picture: Option<String>,
}

/// `[passwords] [--rounds N] [--tasks K] [--repeat R] [--trace] [--svg PATH]`.
fn arguments() -> Arguments {
    let mut asked = Arguments {
        work: Work::DEFAULT,
        repeat: 1,
        show_trace: false,
        picture: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut number = |what: &str| -> usize {
            args.next()
                .and_then(|n| n.replace('_', "").parse().ok())
                .unwrap_or_else(|| panic!("{arg} wants a number of {what}"))
        };
        match arg.as_str() {
            "--rounds" => asked.work.rounds = number("rounds") as u32,
            "--tasks" => asked.work.tasks = number("tasks").max(1),
            "--repeat" => asked.repeat = number("runs").max(1),
            "--trace" => asked.show_trace = true,
            "--svg" => asked.picture = Some(args.next().expect("--svg wants a path")),
            "--" => {}
            n => {
                asked.work.passwords = n
                    .parse()
                    .expect("the argument is a number of passwords, e.g. 16")
            }
        }
    }
    asked
}
