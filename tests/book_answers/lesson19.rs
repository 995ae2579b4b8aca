//! Lesson 19's exercises: a hasher that never yields, one hasher alone on
//! two workers, and lesson 08's blocking sleep beside the hashers.
//!
//! Which worker polls what is the OS's choice, so each claim is read from
//! the trace's `worker` fields and poll times, never from a stopwatch; a
//! claim that needs both workers busy tries a bounded number of runs.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use evloop::task::Builder;
use evloop::trace::{Event, EventKind, Trace};

#[path = "../../examples/19_many_threads.rs"]
#[allow(dead_code)]
mod example;

use example::{Setup, Work};

/// The lesson's gather at the size of a debug-build test.
const WORK: Work = Work {
    passwords: 16,
    rounds: 20_000,
    tasks: 4,
};

/// Runs to try before calling the OS unfair to one worker.
const ATTEMPTS: usize = 30;

/// The polls of the task named `name`, in the order they began.
fn polls_of<'t>(trace: &'t Trace, name: &str) -> Vec<&'t Event> {
    let mut polls: Vec<&Event> = trace
        .events()
        .iter()
        .filter(|e| matches!(e.kind, EventKind::Poll { task, .. } if trace.name(task) == name))
        .collect();
    polls.sort_by_key(|e| e.at);
    polls
}

/// When a poll began and when it ended, on the runtime's clock.
fn span(poll: &Event) -> (Duration, Duration) {
    match poll.kind {
        EventKind::Poll { took, .. } => (poll.at, poll.at + took),
        _ => unreachable!("only polls have a span"),
    }
}

// ANCHOR: ex1
/// The example's gather with the `yield_now` taken out: each hasher hashes
/// its whole share in one poll.
async fn hash_all_without_yielding(work: Work) -> Vec<u64> {
    let tasks = (0..work.tasks).map(|t| {
        Builder::new()
            .name(format!("hasher-{t}"))
            .spawn(async move {
                work.share(t)
                    .map(|n| example::stretch(&example::password(n), work.rounds))
                    .collect::<Vec<u64>>()
            })
    });
    let shares = evloop::join_all(tasks).await;
    shares.into_iter().flat_map(Result::unwrap).collect()
}

#[test]
fn without_the_yield_a_hasher_is_polled_once_and_never_moves() {
    for attempt in 1..=ATTEMPTS {
        let rt = example::runtime(Setup::Workers(2));
        let digests = rt.block_on(hash_all_without_yielding(WORK));
        assert_eq!(digests, example::expected(WORK));
        let trace = example::settled_trace(&rt);
        let tasks = example::workers_of_each_task(&trace);
        assert_eq!(tasks.len(), WORK.tasks);
        for (name, on) in tasks.values() {
            // One poll, from the first password to the last: nowhere to move.
            assert_eq!(on.len(), 1, "{name} is polled once");
        }
        assert!(example::a_task_that_moved(&trace).is_none());
        // The tasks themselves still spread: the speedup comes from having
        // several tasks, not from their yields.
        if example::polls_per_worker(&trace).len() == 2 {
            return;
        }
        assert!(attempt < ATTEMPTS, "one worker never polled a hasher");
    }
}
// ANCHOR_END: ex1

// ANCHOR: ex2
/// One password hashed: on which thread, from when to when.
struct Section {
    thread: String,
    start: Instant,
    end: Instant,
}

/// One hasher for every password, noting where and when it hashed each.
/// (The notes are the task's own: they move with it, as its state does.)
async fn one_hasher(work: Work) -> (Vec<u64>, Vec<Section>) {
    let hasher = Builder::new().name("hasher-0").spawn(async move {
        let (mut digests, mut sections) = (Vec::new(), Vec::new());
        for n in 0..work.passwords {
            let start = Instant::now();
            digests.push(example::stretch(&example::password(n), work.rounds));
            let thread = std::thread::current().name().unwrap_or("?").to_string();
            let end = Instant::now();
            sections.push(Section { thread, start, end });
            evloop::yield_now().await;
        }
        (digests, sections)
    });
    hasher.await.unwrap()
}

#[test]
fn one_hasher_alone_runs_on_one_thread_at_a_time_wherever_it_runs() {
    let all = Work { tasks: 1, ..WORK };
    for _ in 0..ATTEMPTS {
        let rt = example::runtime(Setup::Workers(2));
        let (digests, sections) = rt.block_on(one_hasher(all));
        assert_eq!(digests, example::expected(all));
        // Each password is done before the next begins, even when the next
        // is hashed on the other worker: one task keeps at most one core
        // busy, and a second worker cannot make it faster.
        for pair in sections.windows(2) {
            assert!(pair[0].end <= pair[1].start);
        }
        let threads: BTreeSet<&str> = sections.iter().map(|s| s.thread.as_str()).collect();
        assert!(threads.is_subset(&BTreeSet::from(["evloop-worker-0", "evloop-worker-1"])));
        // Whether it moves is a race: the idle worker, woken by the yield,
        // against the busy one taking its own task back. Once it has moved,
        // the run has shown all there is to see.
        if threads.len() == 2 {
            return;
        }
    }
}
// ANCHOR_END: ex2

// ANCHOR: ex3
/// The example's gather, beside a task that blocks its thread for `block`
/// (lesson 08's mistake). The sleeper is spawned first, so it is queued first.
async fn hash_all_beside_a_sleeper(work: Work, block: Duration) -> Vec<u64> {
    let sleeper = Builder::new()
        .name("sleeper")
        .spawn(async move { std::thread::sleep(block) });
    let digests = example::hash_all(work).await;
    sleeper.await.unwrap();
    digests
}

/// The sleeper's one poll, and the hashers' polls, from a run on `setup`.
fn sleeper_and_hashers(
    setup: Setup,
    block: Duration,
) -> ((Duration, Duration), Vec<(Duration, Duration)>) {
    let rt = example::runtime(setup);
    let digests = rt.block_on(hash_all_beside_a_sleeper(WORK, block));
    assert_eq!(digests, example::expected(WORK));
    let trace = example::settled_trace(&rt);
    let sleeper = polls_of(&trace, "sleeper");
    assert_eq!(sleeper.len(), 1);
    let hashers = (0..WORK.tasks)
        .flat_map(|t| polls_of(&trace, &format!("hasher-{t}")))
        .map(span)
        .collect();
    (span(sleeper[0]), hashers)
}

#[test]
fn a_blocking_sleep_stops_one_worker_not_the_runtime() {
    let block = Duration::from_millis(400);
    // The one loop, and one worker: nothing else runs while the sleeper
    // sleeps. It was queued first, so every hasher starts after it ends.
    for setup in [Setup::OneThread, Setup::Workers(1)] {
        let ((_, asleep_until), hashers) = sleeper_and_hashers(setup, block);
        assert!(
            hashers.iter().all(|&(start, _)| start >= asleep_until),
            "{}",
            setup.label()
        );
    }
    // Two workers: one sleeps, the other hashes every password meanwhile.
    for attempt in 1..=5 {
        let ((_, asleep_until), hashers) = sleeper_and_hashers(Setup::Workers(2), block);
        if hashers.iter().all(|&(_, end)| end <= asleep_until) {
            return;
        }
        assert!(
            attempt < 5,
            "the hashers waited for the sleeper in five runs"
        );
    }
}
// ANCHOR_END: ex3
