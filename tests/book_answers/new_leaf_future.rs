//! Worked answer to "The leaf future's contract", Try it 1: a small
//! semaphore built on wakers, checked on the paused clock.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use evloop::time::{sleep, timeout};
use evloop::Runtime;

// ANCHOR: answer
/// At most `permits` holders at once; the rest wait, woken one by one.
#[derive(Clone)]
pub struct MiniSemaphore(Arc<Mutex<State>>);

struct State {
    permits: usize,
    /// Who waits, oldest first, with the waker of its *latest* poll.
    waiters: VecDeque<(u64, Waker)>,
    next_id: u64,
}

impl MiniSemaphore {
    pub fn new(permits: usize) -> MiniSemaphore {
        MiniSemaphore(Arc::new(Mutex::new(State {
            permits,
            waiters: VecDeque::new(),
            next_id: 0,
        })))
    }

    /// Wait for a permit; it goes back when the returned `Permit` is dropped.
    pub fn acquire(&self) -> Acquire {
        Acquire {
            sem: self.clone(),
            id: None,
        }
    }
}

pub struct Acquire {
    sem: MiniSemaphore,
    id: Option<u64>, // Some once we have queued
}

impl Future for Acquire {
    type Output = Permit;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Permit> {
        let sem = self.sem.clone();
        let mut state = sem.0.lock().unwrap();
        if state.permits > 0 {
            state.permits -= 1;
            if let Some(id) = self.id.take() {
                state.waiters.retain(|(w, _)| *w != id); // no longer waiting
            }
            return Poll::Ready(Permit(self.sem.clone()));
        }
        // No permit: be in the queue, holding the waker of *this* poll.
        let id = *self.id.get_or_insert_with(|| {
            state.next_id += 1;
            state.next_id
        });
        match state.waiters.iter_mut().find(|(w, _)| *w == id) {
            Some((_, stored)) if stored.will_wake(cx.waker()) => {}
            Some((_, stored)) => *stored = cx.waker().clone(),
            None => state.waiters.push_back((id, cx.waker().clone())),
        }
        Poll::Pending
    }
}

impl Drop for Acquire {
    /// Cancelled while waiting (a `timeout`, a `select` loser): leave the
    /// queue. If we had already been woken for a free permit, pass that wake
    /// on — otherwise the permit sits free while the next waiter sleeps.
    fn drop(&mut self) {
        let Some(id) = self.id else { return };
        let mut state = self.sem.0.lock().unwrap();
        let before = state.waiters.len();
        state.waiters.retain(|(w, _)| *w != id);
        let was_woken = state.waiters.len() == before; // popped by a release
        let next = (was_woken && state.permits > 0)
            .then(|| state.waiters.pop_front())
            .flatten();
        drop(state);
        if let Some((_, waker)) = next {
            waker.wake();
        }
    }
}

/// A held permit; dropping it returns the permit and wakes the oldest waiter.
pub struct Permit(MiniSemaphore);

impl Drop for Permit {
    fn drop(&mut self) {
        let next = {
            let mut state = self.0 .0.lock().unwrap();
            state.permits += 1;
            state.waiters.pop_front()
        };
        // Wake outside the lock; the woken task takes the permit on its poll.
        if let Some((_, waker)) = next {
            waker.wake();
        }
    }
}
// ANCHOR_END: answer

fn paused() -> Runtime {
    Runtime::builder().start_paused(true).build().unwrap()
}

#[test]
fn at_most_two_at_once_five_jobs_take_three_seconds() {
    let rt = paused();
    let sem = MiniSemaphore::new(2);
    let (now, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let jobs: Vec<_> = (0..5)
        .map(|i| {
            let (sem, now, most) = (sem.clone(), now.clone(), most.clone());
            rt.spawn_named(&format!("job{i}"), async move {
                let _permit = sem.acquire().await;
                let inside = now.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(inside, Ordering::SeqCst);
                sleep(Duration::from_secs(1)).await;
                now.fetch_sub(1, Ordering::SeqCst);
            })
        })
        .collect();
    rt.block_on(evloop::join_all(jobs));
    // Never more than two inside; five jobs in rounds of two: 1 s, 2 s, 3 s.
    assert_eq!(most.load(Ordering::SeqCst), 2);
    assert_eq!(rt.elapsed(), Duration::from_secs(3));
}

#[test]
fn a_cancelled_waiter_passes_its_wake_on() {
    let rt = paused();
    let sem = MiniSemaphore::new(1);
    let patient_got_it = rt.block_on(async {
        let held = sem.acquire().await;
        // Two waiters queue behind us: the quitter first, the patient one next.
        let quitter = evloop::spawn({
            let sem = sem.clone();
            async move { drop(sem.acquire().await) }
        });
        let patient = evloop::spawn({
            let sem = sem.clone();
            async move { drop(sem.acquire().await) }
        });
        evloop::yield_now().await; // both run to their Pending
                                   // Release: the quitter, first in line, is woken ... and cancelled
                                   // before it can poll. Its `Acquire` is dropped holding that wake.
        drop(held);
        quitter.abort();
        // Without the pass-on in `Drop for Acquire`, the patient waiter would
        // sleep forever beside a free permit; the timeout would say so.
        timeout(Duration::from_secs(10), patient).await.is_ok()
    });
    assert!(patient_got_it);
    assert_eq!(
        rt.elapsed(),
        Duration::ZERO,
        "at once, not after the timeout"
    );
}
