//! `Semaphore`: at most N holders at once, FIFO grants (a large request at
//! the head is not overtaken), cancelled acquires lose no permits and block
//! nobody, and `close` wakes waiters with an error.
//!
//! Every test runs on the paused clock, inside `guarded`, which fails the test
//! instead of hanging if the body never finishes.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use evloop::sync::{AcquireError, Semaphore, TryAcquireError};
use evloop::task::JoinSet;
use evloop::time::{sleep, timeout};

mod paused_guard;
use paused_guard::guarded;

#[test]
fn at_most_n_hold_a_permit_at_once() {
    guarded(|| async {
        let sem = Arc::new(Semaphore::new(3));
        let now = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let mut set = JoinSet::new();
        for i in 0..20u64 {
            let (sem, now, most) = (sem.clone(), now.clone(), most.clone());
            set.spawn(async move {
                let _permit = sem.acquire().await.unwrap();
                let holders = now.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(holders, Ordering::SeqCst);
                sleep(Duration::from_millis(10 + i % 7)).await;
                now.fetch_sub(1, Ordering::SeqCst);
            });
        }
        while let Some(r) = set.join_next().await {
            r.unwrap();
        }
        assert_eq!(most.load(Ordering::SeqCst), 3);
        assert_eq!(sem.available_permits(), 3);
    });
}

#[test]
fn permits_are_granted_in_fifo_order() {
    guarded(|| async {
        let sem = Arc::new(Semaphore::new(1));
        let order = Arc::new(Mutex::new(Vec::new()));
        let held = sem.try_acquire().unwrap();
        let mut set = JoinSet::new();
        for i in 0..5 {
            let (sem, order) = (sem.clone(), order.clone());
            set.spawn(async move {
                // Start waiting one after another: task i queues at i ms.
                sleep(Duration::from_millis(i)).await;
                let _permit = sem.acquire().await.unwrap();
                order.lock().unwrap().push(i);
                sleep(Duration::from_millis(1)).await;
            });
        }
        sleep(Duration::from_millis(10)).await; // all five are queued
        drop(held);
        while set.join_next().await.is_some() {}
        assert_eq!(*order.lock().unwrap(), vec![0, 1, 2, 3, 4]);
    });
}

#[test]
fn a_large_request_at_the_head_is_not_overtaken() {
    guarded(|| async {
        let sem = Arc::new(Semaphore::new(1));
        let order = Arc::new(Mutex::new(Vec::new()));
        let one = sem.acquire().await.unwrap();
        let big = evloop::spawn({
            let (sem, order) = (sem.clone(), order.clone());
            async move {
                let _p = sem.acquire_many(2).await.unwrap();
                order.lock().unwrap().push("big");
            }
        });
        sleep(Duration::from_millis(1)).await; // `big` is queued first
        let small = evloop::spawn({
            let (sem, order) = (sem.clone(), order.clone());
            async move {
                let _p = sem.acquire().await.unwrap();
                order.lock().unwrap().push("small");
            }
        });
        sleep(Duration::from_millis(1)).await;
        // One permit free now would fit `small`, but `big` is ahead of it.
        sem.add_permits(1);
        sleep(Duration::from_millis(1)).await;
        assert!(order.lock().unwrap().is_empty());
        assert_eq!(sem.try_acquire().unwrap_err(), TryAcquireError::NoPermits);
        drop(one); // now two are free: `big` first, then `small`
        big.await.unwrap();
        small.await.unwrap();
        assert_eq!(*order.lock().unwrap(), vec!["big", "small"]);
        assert_eq!(sem.available_permits(), 2);
    });
}

#[test]
fn a_cancelled_acquire_loses_no_permits_and_blocks_nobody() {
    guarded(|| async {
        let sem = Arc::new(Semaphore::new(2));
        let held = sem.acquire_many(2).await.unwrap();
        // A large request queued first, then given up on (a timeout).
        let big = timeout(Duration::from_millis(5), sem.acquire_many(2)).await;
        assert!(big.is_err());
        // Behind it, a small one: the cancelled head must not block it.
        let small = evloop::spawn({
            let sem = sem.clone();
            async move { sem.acquire().await.map(|p| p.num_permits()) }
        });
        sleep(Duration::from_millis(1)).await;
        drop(held);
        assert_eq!(small.await.unwrap(), Ok(1));
        assert_eq!(sem.available_permits(), 2);

        // Cancelled *after* being granted, before it ran: the permits it
        // was assigned come back.
        let held = sem.acquire_many(2).await.unwrap();
        let granted = evloop::spawn({
            let sem = sem.clone();
            async move {
                let _p = sem.acquire_many(2).await;
            }
        });
        sleep(Duration::from_millis(1)).await; // queued
        drop(held); // the two permits are assigned to `granted`...
        granted.abort(); // ...which is cancelled before it can run
        assert!(granted.await.unwrap_err().is_cancelled());
        assert_eq!(sem.available_permits(), 2);
        let _both = sem.acquire_many(2).await.unwrap();
    });
}

#[test]
fn close_wakes_waiters_with_an_error() {
    guarded(|| async {
        let sem = Arc::new(Semaphore::new(0));
        let mut set = JoinSet::new();
        for _ in 0..3 {
            let sem = sem.clone();
            set.spawn(async move { sem.acquire().await.map(|_| ()) });
        }
        sleep(Duration::from_millis(1)).await;
        sem.close();
        while let Some(r) = set.join_next().await {
            assert_eq!(r.unwrap(), Err(AcquireError));
        }
        assert_eq!(sem.acquire().await.unwrap_err(), AcquireError);
        assert_eq!(sem.try_acquire().unwrap_err(), TryAcquireError::Closed);
    });
}
