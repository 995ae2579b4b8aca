//! Watching a running runtime from another thread: [`Observer`] and [`Sample`].
//!
//! The loop's state lives on its own thread (`Core` is not `Send`), and a
//! watcher must never make the loop wait for it. So watching is split in two:
//!
//! - **Recorded as it happens** (with `Builder::observe(true)`): every trace
//!   event passes through the recorder on its way (one uncontended lock),
//!   which keeps *aggregates* — per live task: polls, busy time, when it was
//!   last polled, who woke it last — and a **bounded** ring of the most recent
//!   events. When it is full, further events are counted, not kept, until a
//!   watcher takes them: a watcher that reads slowly (or never) costs a fixed
//!   amount of memory, and a busy loop shows a sample of each period.
//! - **Sampled on request**: a watcher calls [`Observer::request_sample`]; the
//!   loop sees the flag at its next turn (or just before it parks, so an idle
//!   loop answers too) and publishes a [`Sample`]: the tasks and their wait
//!   reasons, the timer wheel's occupancy per level and its next deadline, the
//!   registered sources, the run-queue length of the recent turns, the counters.
//!
//! Nothing here knows who watches: a live view in the browser is one
//! watcher, a test is another. Off (the default), none of this exists, and
//! the turn pays nothing it did not pay before: the flag is read only where
//! polls are timed or the loop is about to park with tracing on.

mod sample;

pub use sample::{RecentEvents, Sample, SlowPoll, SourceSample, TaskSample};

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::core::Core;
use super::shared::Shared;
use crate::task::{TaskInfo, TaskState, WaitReason};
use crate::time::tick_to_duration;
use crate::trace::{Event, EventKind, PollOutcome, WakeSource};

/// Events kept for a watcher between two takes; past this, events are counted, not kept.
pub const RECENT_EVENTS: usize = 4096;
/// Turns whose run-queue length a sample carries.
pub const RECENT_TURNS: usize = 256;
/// Slow polls a sample remembers.
pub const RECENT_SLOW_POLLS: usize = 32;
/// Sources a sample lists (it counts them all).
pub const MAX_SOURCES: usize = 256;

/// The aggregates of one task, kept while it lives.
#[derive(Debug, Clone, Default)]
struct Stats {
    name: Option<String>,
    polls: u64,
    busy: Duration,
    last_poll: Option<Duration>,
    woken_by: Option<WakeSource>,
    slow_polls: u64,
    longest_poll: Duration,
}

/// Hashes a task id with one multiplication (Fibonacci hashing). Task ids
/// are small consecutive numbers from this runtime, not input an attacker
/// chooses, so the default SipHash — built to resist chosen keys, and
/// several times slower — buys nothing on a path taken at every event.
#[derive(Default)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_u64(&mut self, id: u64) {
        self.0 = id.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// What the recorder holds behind its lock.
#[derive(Default)]
struct Recording {
    /// Recent events, up to [`RECENT_EVENTS`]; when full, later events are
    /// only counted (a sample of each period, never a growing backlog).
    events: VecDeque<Event>,
    dropped: u64,
    stats: HashMap<u64, Stats, BuildHasherDefault<IdHasher>>,
    slow: VecDeque<SlowPoll>,
    run_queue: VecDeque<usize>,
}

/// The runtime's side of observing: it records, and it samples when asked.
pub(crate) struct Recorder {
    recording: Mutex<Recording>,
    /// A watcher asked for a fresh sample.
    wanted: AtomicBool,
    latest: Mutex<Option<Arc<Sample>>>,
    /// A poll at least this long is a slow poll.
    slow_poll: Duration,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Recorder {
    pub(crate) fn new(slow_poll: Duration) -> Recorder {
        Recorder {
            recording: Mutex::default(),
            wanted: AtomicBool::new(false),
            latest: Mutex::new(None),
            slow_poll,
        }
    }

    /// One event happened: fold it into the aggregates, keep it in the ring.
    pub(crate) fn record(&self, at: Duration, kind: &EventKind) {
        let mut r = lock(&self.recording);
        match *kind {
            EventKind::Spawn { task, ref name } => {
                r.stats.entry(task).or_default().name = name.clone();
            }
            EventKind::Poll {
                task,
                outcome,
                took,
            } => {
                let slow = took >= self.slow_poll;
                let s = r.stats.entry(task).or_default();
                s.polls += 1;
                s.busy += took;
                s.last_poll = Some(at);
                s.longest_poll = s.longest_poll.max(took);
                if slow {
                    s.slow_polls += 1;
                    let name = s.name.clone().unwrap_or_else(|| task_name(task));
                    if r.slow.len() == RECENT_SLOW_POLLS {
                        r.slow.pop_front();
                    }
                    r.slow.push_back(SlowPoll {
                        task,
                        name,
                        at,
                        took,
                    });
                }
                // A finished task leaves: the map holds only the living.
                if outcome != PollOutcome::Pending && task != 0 {
                    r.stats.remove(&task);
                }
            }
            EventKind::Wake { task, by } => r.stats.entry(task).or_default().woken_by = Some(by),
            _ => {}
        }
        if r.events.len() == RECENT_EVENTS {
            r.dropped += 1;
        } else {
            r.events.push_back(Event {
                at,
                kind: kind.clone(),
                worker: None,
            });
        }
    }

    /// Step 1 of a turn found `ready` tasks on the run queue.
    pub(crate) fn record_turn(&self, ready: usize) {
        let mut r = lock(&self.recording);
        if r.run_queue.len() == RECENT_TURNS {
            r.run_queue.pop_front();
        }
        r.run_queue.push_back(ready);
    }

    /// Take the "please sample" flag (the loop, at a turn or a park).
    pub(crate) fn take_wanted(&self) -> bool {
        self.wanted.load(Ordering::Relaxed) && self.wanted.swap(false, Ordering::AcqRel)
    }
}

fn task_name(id: u64) -> String {
    if id == 0 {
        "main".to_string()
    } else {
        format!("task-{id}")
    }
}

impl Core {
    /// Step 1 found `ready` tasks (called only when polls are timed).
    #[inline(never)]
    pub(crate) fn observe_turn(&self, ready: usize) {
        if let Some(recorder) = &self.shared.observer {
            recorder.record_turn(ready);
            self.sample_if_wanted(recorder);
        }
    }

    /// Step 4 is about to park (called only when tracing).
    #[inline(never)]
    pub(crate) fn observe_park(&self) {
        if let Some(recorder) = &self.shared.observer {
            self.sample_if_wanted(recorder);
        }
    }

    /// Called where the turn already pays for observing (timing polls, or
    /// tracing a park): publish a sample if a watcher asked for one.
    pub(crate) fn sample_if_wanted(&self, recorder: &Recorder) {
        if recorder.take_wanted() {
            let sample = Arc::new(self.sample(recorder));
            *lock(&recorder.latest) = Some(sample);
        }
    }

    /// Everything a watcher shows, read now, on the loop's thread.
    fn sample(&self, recorder: &Recorder) -> Sample {
        let (timers, wheel_occupancy) = self.timers().occupancy();
        let next_deadline = self.timers().next_deadline().map(tick_to_duration);
        let io = self.reactor.handle();
        let sources = io
            .sources(MAX_SOURCES)
            .into_iter()
            .map(|s| SourceSample {
                token: s.token,
                readable: s.readable,
                writable: s.writable,
                readers: s.readers,
                writers: s.writers,
            })
            .collect();
        let infos = self.tasks();
        let r = lock(&recorder.recording);
        let with_stats = |info: TaskInfo| {
            let s = r.stats.get(&info.id).cloned().unwrap_or_default();
            TaskSample {
                info,
                polls: s.polls,
                busy: s.busy,
                last_poll: s.last_poll,
                woken_by: s.woken_by,
                slow_polls: s.slow_polls,
                longest_poll: s.longest_poll,
            }
        };
        let mut tasks = Vec::with_capacity(infos.len() + 1);
        if r.stats.contains_key(&0) {
            // The `block_on` future is no task, but it runs like one.
            tasks.push(with_stats(TaskInfo {
                id: 0,
                name: "main".to_string(),
                state: TaskState::Idle,
                waiting_on: WaitReason::decode(self.main_waiting.get()),
            }));
        }
        tasks.extend(infos.into_iter().map(with_stats));
        Sample {
            taken_at: Instant::now(),
            clock: self.shared.clock.elapsed(),
            metrics: self.metrics(),
            tasks,
            run_queue: r.run_queue.iter().copied().collect(),
            timers,
            wheel_occupancy: wheel_occupancy.to_vec(),
            next_deadline,
            source_count: io.source_count(),
            sources,
            slow_polls: r.slow.iter().cloned().collect(),
            slow_poll_threshold: recorder.slow_poll,
        }
    }
}

/// A handle for watching a runtime from any thread (see the module doc).
///
/// Get one with `Runtime::observer` on a runtime built with
/// `Builder::observe(true)`. Cloning it is cheap; it never holds the loop back.
#[derive(Clone)]
pub struct Observer {
    recorder: Arc<Recorder>,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Observer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Observer")
            .field("runtime", &self.shared.id)
            .finish()
    }
}

impl Observer {
    pub(crate) fn new(recorder: Arc<Recorder>, shared: Arc<Shared>) -> Observer {
        Observer { recorder, shared }
    }

    /// Ask the loop for a fresh [`Sample`]. A parked loop is woken to take
    /// it; a busy one takes it at its next turn; a loop stuck in a blocking
    /// poll takes it when the poll ends — which is how a watcher notices.
    pub fn request_sample(&self) {
        self.recorder.wanted.store(true, Ordering::Release);
        self.shared.notify();
    }

    /// The most recent sample the loop published, if any.
    pub fn latest_sample(&self) -> Option<Arc<Sample>> {
        lock(&self.recorder.latest).clone()
    }

    /// The events recorded since the last call (at most [`RECENT_EVENTS`]),
    /// oldest first, and how many more were dropped because the ring was full.
    pub fn take_events(&self) -> RecentEvents {
        let mut r = lock(&self.recorder.recording);
        RecentEvents {
            events: r.events.drain(..).collect(),
            dropped: std::mem::take(&mut r.dropped),
        }
    }

    /// Has the runtime been dropped?
    pub fn is_closed(&self) -> bool {
        self.shared.is_closed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn poll(task: u64, outcome: PollOutcome, ms: u64) -> EventKind {
        EventKind::Poll {
            task,
            outcome,
            took: Duration::from_millis(ms),
        }
    }

    #[test]
    fn the_ring_is_bounded_and_counts_what_it_drops() {
        let recorder = Recorder::new(Duration::from_millis(100));
        for i in 0..RECENT_EVENTS as u64 + 10 {
            recorder.record(Duration::from_millis(i), &poll(1, PollOutcome::Pending, 0));
        }
        let r = lock(&recorder.recording);
        assert_eq!(r.events.len(), RECENT_EVENTS);
        assert_eq!(r.dropped, 10);
        // Every poll still counted in the aggregates.
        assert_eq!(r.stats[&1].polls, RECENT_EVENTS as u64 + 10);
    }

    #[test]
    fn aggregates_are_kept_only_for_the_living() {
        let recorder = Recorder::new(Duration::from_millis(100));
        let at = Duration::ZERO;
        for task in 1..=1000 {
            let name = Some(format!("t{task}"));
            recorder.record(at, &EventKind::Spawn { task, name });
            if task != 7 {
                recorder.record(at, &poll(task, PollOutcome::Ready, 0));
            }
        }
        recorder.record(at, &poll(7, PollOutcome::Pending, 150));
        recorder.record(at, &poll(7, PollOutcome::Cancelled, 0));
        let r = lock(&recorder.recording);
        assert!(r.stats.is_empty(), "finished tasks leave no aggregates");
        // The slow poll is remembered by name, in a bounded list.
        assert_eq!(r.slow.len(), 1);
        assert_eq!(r.slow[0].name, "t7");
        assert_eq!(r.slow[0].took, Duration::from_millis(150));
    }
}
