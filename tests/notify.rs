//! `Notify`: a stored permit, `notify_waiters` wakes exactly the current
//! waiters, and a dropped `notified()` does not swallow a `notify_one`.
//!
//! Every test runs on the paused clock, inside `guarded`, which fails the test
//! instead of hanging if the body never finishes.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use evloop::sync::Notify;
use evloop::time::{sleep, timeout};

mod paused_guard;
use paused_guard::guarded;

const SHORT: Duration = Duration::from_millis(10);

#[test]
fn notify_one_with_nobody_waiting_stores_one_permit() {
    guarded(|| async {
        let notify = Notify::new();
        notify.notify_one();
        notify.notify_one(); // permits do not add up
        assert!(timeout(SHORT, notify.notified()).await.is_ok());
        assert!(timeout(SHORT, notify.notified()).await.is_err());
    });
}

#[test]
fn notify_one_wakes_the_oldest_waiter_only() {
    guarded(|| async {
        let notify = Arc::new(Notify::new());
        let woken = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for i in 0..3 {
            let (notify, woken) = (notify.clone(), woken.clone());
            tasks.push(evloop::spawn(async move {
                sleep(Duration::from_millis(i)).await; // queue in order
                notify.notified().await;
                woken.fetch_add(1, Ordering::SeqCst);
                i
            }));
        }
        sleep(SHORT).await;
        notify.notify_one();
        sleep(SHORT).await;
        assert_eq!(woken.load(Ordering::SeqCst), 1);
        assert!(tasks[0].is_finished());
        notify.notify_one();
        notify.notify_one();
        for task in tasks {
            task.await.unwrap();
        }
    });
}

#[test]
fn notify_waiters_wakes_exactly_the_current_waiters() {
    guarded(|| async {
        let notify = Arc::new(Notify::new());
        let woken = Arc::new(AtomicUsize::new(0));
        for _ in 0..3 {
            let (notify, woken) = (notify.clone(), woken.clone());
            evloop::spawn(async move {
                notify.notified().await;
                woken.fetch_add(1, Ordering::SeqCst);
            });
        }
        sleep(SHORT).await; // all three wait
        notify.notify_waiters();
        sleep(SHORT).await;
        assert_eq!(woken.load(Ordering::SeqCst), 3);
        // Nothing was stored: a later waiter waits.
        assert!(timeout(SHORT, notify.notified()).await.is_err());
    });
}

#[test]
fn a_dropped_notified_does_not_eat_a_notify_one() {
    guarded(|| async {
        let notify = Arc::new(Notify::new());
        // First in line, then cancelled right after `notify_one` chose it.
        let first = evloop::spawn({
            let notify = notify.clone();
            async move { notify.notified().await }
        });
        sleep(Duration::from_millis(1)).await;
        let second = evloop::spawn({
            let notify = notify.clone();
            async move { notify.notified().await }
        });
        sleep(Duration::from_millis(1)).await;
        notify.notify_one(); // chooses `first`...
        first.abort(); // ...which is dropped before it runs
        assert!(first.await.unwrap_err().is_cancelled());
        // The notification went on to `second`.
        assert!(timeout(SHORT, second).await.is_ok());

        // With nobody else waiting, it is stored again instead.
        let lone = evloop::spawn({
            let notify = notify.clone();
            async move { notify.notified().await }
        });
        sleep(Duration::from_millis(1)).await;
        notify.notify_one();
        lone.abort();
        assert!(lone.await.unwrap_err().is_cancelled());
        assert!(timeout(SHORT, notify.notified()).await.is_ok());
    });
}
