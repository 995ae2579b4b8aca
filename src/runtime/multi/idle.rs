//! Who is asleep, who is looking for work: waking one worker, not all.
//!
//! When a task is queued and some workers sleep, one of them should wake to
//! run it — *one*: waking every sleeper for every task (the "thundering
//! herd") costs a syscall each, and all but one find nothing. And if a
//! worker is already *searching* (awake, about to look at every queue), no
//! one needs waking at all: it will find the task. So the workers keep two
//! counts, in one atomic word, and the list of sleepers under a lock:
//!
//! - **unparked**: workers not asleep (running a task, or searching);
//! - **searching**: workers looking in other workers' queues for work.
//!
//! A queued task wakes a sleeper only when nobody searches and somebody
//! sleeps ([`Idle::worker_to_notify`]); the woken one comes up *searching*.
//! A searcher that finds a task stops searching, and if it was the last one,
//! wakes another (there may be more work where it found its own). At most
//! half the workers search at once: beyond that, they only fight over the
//! same queues. This is tokio's protocol (`scheduler/multi_thread/idle.rs`).
//!
//! The race it must not lose: a worker queues a task, sees one searcher and
//! wakes nobody; the searcher had already looked in that queue, finds
//! nothing, and goes to sleep. So the *last* searcher to go to sleep looks at
//! every queue once more after saying so ([`Idle::transition_worker_to_parked`]
//! tells it), and the queuing side reads the counts only after its push,
//! with sequentially consistent ordering on both sides: one of the two sees
//! the other.

// Under the `loom` feature, loom's atomic and mutex, so that its model of
// the protocol (`multi/loom_tests.rs`) explores every interleaving.
#[cfg(feature = "loom")]
use loom::sync::{atomic::AtomicUsize, Mutex, MutexGuard};
use std::sync::atomic::Ordering::SeqCst;
#[cfg(not(feature = "loom"))]
use std::sync::{atomic::AtomicUsize, Mutex, MutexGuard};

/// `searching` in the low 16 bits, `unparked` above.
const UNPARK_SHIFT: usize = 16;
const SEARCH_MASK: usize = (1 << UNPARK_SHIFT) - 1;
const ONE_UNPARKED: usize = 1 << UNPARK_SHIFT;
const ONE_SEARCHING: usize = 1;

/// The counts and the list of sleeping workers.
pub(super) struct Idle {
    /// `unparked << 16 | searching`.
    state: AtomicUsize,
    /// Indexes of the sleeping workers.
    sleepers: Mutex<Vec<usize>>,
    /// How many workers there are.
    workers: usize,
}

impl Idle {
    /// All `workers` start awake (each looks for work before it first sleeps).
    pub(super) fn new(workers: usize) -> Idle {
        assert!(workers < SEARCH_MASK, "fewer than 65,535 workers");
        Idle {
            state: AtomicUsize::new(workers << UNPARK_SHIFT),
            sleepers: Mutex::new(Vec::with_capacity(workers)),
            workers,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Vec<usize>> {
        self.sleepers.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Somebody sleeps and nobody searches: a new task needs a worker woken.
    fn should_wake_one(&self) -> bool {
        let state = self.state.load(SeqCst);
        state & SEARCH_MASK == 0 && (state >> UNPARK_SHIFT) < self.workers
    }

    /// A task was queued: the worker to wake, if one should be. It is taken
    /// off the sleepers and counted as unparked and searching *now*, so the
    /// next task queued in a burst sees a searcher and wakes nobody else.
    pub(super) fn worker_to_notify(&self) -> Option<usize> {
        if !self.should_wake_one() {
            return None; // the common case, without the lock
        }
        let mut sleepers = self.lock();
        if !self.should_wake_one() {
            return None;
        }
        let worker = sleepers.pop()?;
        self.state.fetch_add(ONE_UNPARKED | ONE_SEARCHING, SeqCst);
        Some(worker)
    }

    /// Any sleeper, taken off the list and counted unparked and searching
    /// (for `Tuning::wake_one` off: the herd).
    pub(super) fn any_sleeper(&self) -> Option<usize> {
        let mut sleepers = self.lock();
        let worker = sleepers.pop()?;
        self.state.fetch_add(ONE_UNPARKED | ONE_SEARCHING, SeqCst);
        Some(worker)
    }

    /// A worker found nothing to run and wants to look in other queues. No:
    /// when half the workers already search.
    pub(super) fn transition_worker_to_searching(&self) -> bool {
        let state = self.state.load(SeqCst);
        if 2 * (state & SEARCH_MASK) >= self.workers {
            return false;
        }
        self.state.fetch_add(ONE_SEARCHING, SeqCst);
        true
    }

    /// A searching worker found a task. True if it was the last searcher:
    /// then it wakes another, as there may be more work.
    pub(super) fn transition_worker_from_searching(&self) -> bool {
        let before = self.state.fetch_sub(ONE_SEARCHING, SeqCst);
        before & SEARCH_MASK == 1
    }

    /// Worker `index` goes to sleep. True if it was the last searcher: then
    /// it must look at every queue once more (see the module doc).
    pub(super) fn transition_worker_to_parked(&self, index: usize, searching: bool) -> bool {
        let mut sleepers = self.lock();
        let dec = ONE_UNPARKED | (usize::from(searching) * ONE_SEARCHING);
        let before = self.state.fetch_sub(dec, SeqCst);
        sleepers.push(index);
        searching && before & SEARCH_MASK == 1
    }

    /// Worker `index` woke with work of its own (the reactor gave it tasks):
    /// take it off the sleepers, unless a notify already did. True if it was
    /// still listed.
    pub(super) fn unpark_worker_by_id(&self, index: usize) -> bool {
        let mut sleepers = self.lock();
        match sleepers.iter().position(|&w| w == index) {
            Some(at) => {
                sleepers.swap_remove(at);
                self.state.fetch_add(ONE_UNPARKED, SeqCst);
                true
            }
            None => false,
        }
    }

    /// Is worker `index` still listed as asleep? (A wake-up that finds it
    /// listed was spurious, or the reactor's: nobody asked it to search.)
    pub(super) fn is_parked(&self, index: usize) -> bool {
        self.lock().contains(&index)
    }

    /// How many workers are searching right now (for the tests).
    #[cfg(test)]
    pub(super) fn searching(&self) -> usize {
        self.state.load(SeqCst) & SEARCH_MASK
    }
}

#[cfg(all(test, not(feature = "loom")))]
mod tests {
    use super::*;

    #[test]
    fn a_burst_wakes_one_sleeper_and_the_last_searcher_knows_it() {
        let idle = Idle::new(4);
        // Nobody sleeps: nobody to wake.
        assert_eq!(idle.worker_to_notify(), None);
        for w in 0..4 {
            assert!(!idle.transition_worker_to_parked(w, false));
        }
        // All asleep: the first task wakes one, who comes up searching...
        let woken = idle.worker_to_notify().expect("one sleeper woken");
        assert_eq!(idle.searching(), 1);
        // ...and the rest of the burst wakes nobody: a searcher will find it.
        assert_eq!(idle.worker_to_notify(), None);
        assert_eq!(idle.worker_to_notify(), None);
        assert!(!idle.is_parked(woken));
        // It finds a task: it was the last searcher, so it wakes another.
        assert!(idle.transition_worker_from_searching());
        let second = idle.worker_to_notify().expect("the next sleeper");
        assert_ne!(second, woken);
        // That one finds nothing and sleeps again, the last searcher: it must recheck.
        assert!(idle.transition_worker_to_parked(second, true));
        assert!(idle.is_parked(second));
    }

    #[test]
    fn at_most_half_the_workers_search() {
        let idle = Idle::new(4);
        assert!(idle.transition_worker_to_searching());
        assert!(idle.transition_worker_to_searching());
        assert!(
            !idle.transition_worker_to_searching(),
            "two of four search already"
        );
        assert!(!idle.transition_worker_from_searching());
        assert!(idle.transition_worker_from_searching(), "the last one");
    }

    #[test]
    fn a_worker_the_reactor_woke_takes_itself_off_the_list_once() {
        let idle = Idle::new(2);
        idle.transition_worker_to_parked(1, false);
        assert!(idle.unpark_worker_by_id(1));
        assert!(!idle.unpark_worker_by_id(1));
        assert!(!idle.is_parked(1));
    }
}
