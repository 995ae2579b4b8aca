//! `explore`: run a test body under many seeds, stop at the first that fails,
//! and say how to replay it.
//!
//! Each seed gets a fresh paused runtime built with `Builder::seed`, so each
//! run is one order of the program's tasks, timers and deliveries — and the
//! same seed is the same order again. A run fails if the body panics, if it
//! *hangs* (`Runtime::try_block_on` finds that nothing can ever happen, and
//! names the tasks still waiting and on what), or if it returns a failed
//! check (`false`, or an `Err`). The first failure is run twice more with the
//! trace on: the timeline goes in the report, and if the two replays differ,
//! the body is not deterministic and the report says so, since a seed that
//! does not replay is a clue, not a reproduction.

use std::fmt;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Duration;

use crate::runtime::Stalled;
use crate::Runtime;

/// The environment variable that makes [`explore`] run just one seed.
pub const SEED_VAR: &str = "EVLOOP_SEED";

/// The most timeline lines a report prints (the last ones: where it failed).
const TIMELINE_LINES: usize = 300;

/// How much virtual time a run may take by default (see [`Explore::time_limit`]).
pub const DEFAULT_TIME_LIMIT: Duration = Duration::from_secs(3600);

// ANCHOR: explore
/// Run `body` under `seeds` seeds (0, 1, 2, …), each on a fresh paused runtime
/// built with [`Builder::seed`](crate::Builder::seed); the body gets the seed
/// (for a [`Network`](super::Network), say). Stop at the first run that panics,
/// hangs, or returns a failed check, and panic with one line that replays it —
/// `EVLOOP_SEED=<seed> cargo test <name>` — and that run's timeline.
///
/// With `EVLOOP_SEED` set, only that seed runs.
///
/// ```
/// use evloop::testing::explore;
/// explore(100, |_seed| async {
///     let a = evloop::spawn(async { 1 });
///     let b = evloop::spawn(async { 2 });
///     let sum = a.await.unwrap() + b.await.unwrap();
///     sum == 3 // the check: any order of `a` and `b` must give 3
/// });
/// ```
#[track_caller]
pub fn explore<F, Fut>(seeds: u64, body: F)
where
    F: Fn(u64) -> Fut,
    Fut: Future,
    Fut::Output: Outcome,
{
    Explore::new(seeds).check(body);
}
// ANCHOR_END: explore

/// [`explore`] with its settings spelled out, and a [`run`](Explore::run)
/// that hands back the failure instead of panicking.
///
/// ```
/// use evloop::testing::{Explore, FailureKind};
/// // A body that fails on the first seed: the failure is a value to look at.
/// let failure = Explore::new(10).run(|_| async { Err::<(), _>("broken") }).unwrap_err();
/// assert_eq!(failure.seed, 0);
/// assert!(matches!(failure.kind, FailureKind::Check(ref why) if why == "broken"));
/// ```
#[derive(Debug, Clone)]
pub struct Explore {
    seeds: u64,
    first: u64,
    name: Option<String>,
    time_limit: Duration,
    turn_limit: u64,
}

impl Explore {
    /// Explore `seeds` seeds, starting at 0.
    pub fn new(seeds: u64) -> Explore {
        Explore {
            seeds,
            first: 0,
            name: None,
            time_limit: DEFAULT_TIME_LIMIT,
            turn_limit: crate::runtime::LIVELOCK_TURNS,
        }
    }

    /// A run still not done after this much *virtual* time fails as a hang
    /// (default: one hour). A deadlock is found at once, whatever this says;
    /// this catches the run whose timers keep ticking — a keepalive, a retry
    /// loop — while it waits for something that never comes.
    pub fn time_limit(mut self, limit: Duration) -> Explore {
        self.time_limit = limit;
        self
    }

    /// A run that takes this many turns in a row without its virtual clock
    /// moving fails as a livelock (default
    /// [`LIVELOCK_TURNS`](crate::runtime::LIVELOCK_TURNS)): tasks that keep
    /// waking each other and never wait for anything.
    pub fn turn_limit(mut self, turns: u64) -> Explore {
        self.turn_limit = turns;
        self
    }

    /// Start at `seed` instead of 0 (seeds `seed`, `seed + 1`, …).
    pub fn first_seed(mut self, seed: u64) -> Explore {
        self.first = seed;
        self
    }

    /// The test name for the replay line. By default, the name of the
    /// current thread, which `cargo test` sets to the test's name.
    pub fn name(mut self, name: &str) -> Explore {
        self.name = Some(name.to_string());
        self
    }

    /// Run the seeds; `Ok(n)` if all `n` passed, or the first failure (boxed:
    /// it carries a whole timeline). Reads
    /// no environment variable: what it runs is what you asked for.
    pub fn run<F, Fut>(&self, body: F) -> Result<u64, Box<Failure>>
    where
        F: Fn(u64) -> Fut,
        Fut: Future,
        Fut::Output: Outcome,
    {
        for (i, seed) in (self.first..self.first.saturating_add(self.seeds)).enumerate() {
            // Fast first: no trace. Only a failure is worth the replays.
            let limits = (self.time_limit, self.turn_limit);
            let (Some(kind), _) = run_once(&body, seed, limits, false) else {
                continue;
            };
            let (again, timeline) = run_once(&body, seed, limits, true);
            let (_, timeline_2) = run_once(&body, seed, limits, true);
            let replay = compare(again.as_ref(), &timeline, &timeline_2);
            return Err(Box::new(Failure {
                seed,
                seeds_tried: i as u64 + 1,
                kind,
                timeline,
                replay,
                name: self.test_name(),
            }));
        }
        Ok(self.seeds)
    }

    /// Run the seeds (or only `EVLOOP_SEED`, if set); panic with the report
    /// of the first failure.
    #[track_caller]
    pub fn check<F, Fut>(&self, body: F)
    where
        F: Fn(u64) -> Fut,
        Fut: Future,
        Fut::Output: Outcome,
    {
        let mut settings = self.clone();
        if let Ok(value) = std::env::var(SEED_VAR) {
            let seed = value.trim().parse().unwrap_or_else(|_| {
                panic!("{SEED_VAR}={value:?} is not a seed: give a number, as the replay line does")
            });
            (settings.first, settings.seeds) = (seed, 1);
        }
        if let Err(failure) = settings.run(body) {
            panic!("{failure}");
        }
    }

    fn test_name(&self) -> String {
        self.name
            .clone()
            .unwrap_or_else(|| match std::thread::current().name() {
                Some(name) if name != "main" => name.to_string(),
                _ => "<test name>".to_string(),
            })
    }
}

/// What a body's output says about the run: `None` if it passed, or why
/// it failed. `()` always passes (only a panic or a hang fails it), `false`
/// fails, an `Err` fails with its message.
pub trait Outcome {
    /// `None`: passed; `Some(why)`: the check failed.
    fn failure(self) -> Option<String>;
}

impl Outcome for () {
    fn failure(self) -> Option<String> {
        None
    }
}

impl Outcome for bool {
    fn failure(self) -> Option<String> {
        (!self).then(|| "the body returned false".to_string())
    }
}

impl<E: fmt::Display> Outcome for Result<(), E> {
    fn failure(self) -> Option<String> {
        self.err().map(|e| e.to_string())
    }
}

/// How a run failed.
#[derive(Debug, Clone)]
pub enum FailureKind {
    /// The body panicked (a task's panic counts once the body awaits it).
    Panic(String),
    /// Nothing could ever happen again and the body was not done — or it
    /// was still not done when the virtual clock passed the time limit.
    Hang(Stalled),
    /// The body returned a failed check.
    Check(String),
}

impl fmt::Display for FailureKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FailureKind::Panic(message) => write!(f, "panicked: {message}"),
            FailureKind::Hang(stalled) => write!(f, "{stalled}"),
            FailureKind::Check(why) => write!(f, "check failed: {why}"),
        }
    }
}

/// The first seed that failed, and everything needed to look at it again.
#[derive(Debug, Clone)]
pub struct Failure {
    /// The seed: `EVLOOP_SEED=<seed>` replays it.
    pub seed: u64,
    /// How many seeds ran, this one included.
    pub seeds_tried: u64,
    /// What went wrong.
    pub kind: FailureKind,
    /// The failing run's text timeline (from the first replay).
    pub timeline: String,
    /// `None` if two replays gave the same run; otherwise how they differed:
    /// the body is not deterministic.
    pub replay: Option<String>,
    /// The test name in the replay line.
    pub name: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "explore: seed {} failed (after {} seed(s)): {}",
            self.seed, self.seeds_tried, self.kind
        )?;
        writeln!(
            f,
            "replay it with:  {SEED_VAR}={} cargo test {}",
            self.seed, self.name
        )?;
        if let Some(how) = &self.replay {
            writeln!(
                f,
                "BUT the body is not deterministic: replaying seed {} gave a different run ({how}). \
                 A seed replays only what evloop decides: read the time with evloop::time::Instant \
                 (not std::time), connect with evloop::testing::duplex (not real sockets), and keep \
                 no state from one run to the next (statics, thread-locals).",
                self.seed
            )?;
        }
        let lines: Vec<&str> = self.timeline.lines().collect();
        let skip = lines.len().saturating_sub(TIMELINE_LINES);
        writeln!(f, "the failing run's timeline:")?;
        if skip > 0 {
            writeln!(f, "  … {skip} earlier lines")?;
        }
        for line in &lines[skip..] {
            writeln!(f, "{line}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Failure {}

/// One run under `seed`: how it failed (`None`: it passed), and its timeline
/// if traced.
fn run_once<F, Fut>(
    body: &F,
    seed: u64,
    (limit, turns): (Duration, u64),
    trace: bool,
) -> (Option<FailureKind>, String)
where
    F: Fn(u64) -> Fut,
    Fut: Future,
    Fut::Output: Outcome,
{
    let rt = Runtime::builder()
        .start_paused(true)
        .seed(seed)
        .trace(trace)
        // Real time varies run to run; a slow-poll warning would too.
        .slow_poll_threshold(Duration::MAX)
        .livelock_turns(turns)
        .build()
        .expect("explore: the OS refused an event poller");
    // The body is called inside the loop, so it may spawn before its first `.await`.
    let ran = catch_unwind(AssertUnwindSafe(|| {
        rt.try_block_on_within(limit, async { body(seed).await.failure() })
    }));
    let kind = match ran {
        Ok(Ok(None)) => None,
        Ok(Ok(Some(why))) => Some(FailureKind::Check(why)),
        Ok(Err(stalled)) => Some(FailureKind::Hang(stalled)),
        Err(payload) => Some(FailureKind::Panic(panic_text(payload.as_ref()))),
    };
    let timeline = if trace {
        rt.trace().timeline()
    } else {
        String::new()
    };
    // Dropping the runtime cancels what is left; a destructor's panic is the
    // body's bug too, but the run's verdict is already in.
    let _ = catch_unwind(AssertUnwindSafe(move || drop(rt)));
    (kind, timeline)
}

/// Compare two replays of a failing seed; `None` if they are the same run.
fn compare(again: Option<&FailureKind>, first: &str, second: &str) -> Option<String> {
    if again.is_none() {
        return Some("the first run failed, the replay passed".to_string());
    }
    if first == second {
        return None;
    }
    let (a, b): (Vec<&str>, Vec<&str>) = (first.lines().collect(), second.lines().collect());
    let line = (0..a.len().max(b.len()))
        .find(|&i| a.get(i) != b.get(i))
        .unwrap_or(0);
    let show = |l: Option<&&str>| l.map_or("(end)".to_string(), |s| s.trim().to_string());
    Some(format!(
        "the timelines part at line {}: `{}` then `{}`",
        line + 1,
        show(a.get(line)),
        show(b.get(line))
    ))
}

fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    crate::task::panic_message(payload)
        .unwrap_or("a panic whose payload is not text")
        .to_string()
}
