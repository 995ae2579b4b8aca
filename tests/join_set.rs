//! `JoinSet`: results in completion order, abort and drop cancel, panics come
//! out as `JoinError`s, and the `TaskGroup` pattern (first error cancels the rest).
//!
//! Every test runs on the paused clock, inside `guarded`, which fails the test
//! instead of hanging if the body never finishes.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use evloop::task::JoinSet;
use evloop::time::sleep;

mod paused_guard;
use paused_guard::guarded;

/// Counts up when dropped: shows a task's future was dropped (cancelled).
struct DropFlag(Arc<AtomicUsize>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn results_come_in_completion_order() {
    guarded(|| async {
        let mut set = JoinSet::new();
        for secs in [5u64, 1, 4, 2, 3] {
            set.spawn(async move {
                sleep(Duration::from_secs(secs)).await;
                secs
            });
        }
        assert_eq!(set.len(), 5);
        let mut order = Vec::new();
        while let Some(r) = set.join_next().await {
            order.push(r.unwrap());
        }
        assert_eq!(order, vec![1, 2, 3, 4, 5]);
        assert!(set.is_empty());
    });
}

#[test]
fn completion_order_holds_when_nobody_was_waiting() {
    guarded(|| async {
        let mut set = JoinSet::new();
        for secs in [3u64, 1, 2] {
            set.spawn(async move {
                sleep(Duration::from_secs(secs)).await;
                secs
            });
        }
        // Let all three finish before asking: the order is still theirs.
        sleep(Duration::from_secs(10)).await;
        let mut order = Vec::new();
        while let Some(r) = set.join_next().await {
            order.push(r.unwrap());
        }
        assert_eq!(order, vec![1, 2, 3]);
    });
}

#[test]
fn abort_all_cancels_every_task() {
    guarded(|| async {
        let dropped = Arc::new(AtomicUsize::new(0));
        let mut set = JoinSet::new();
        for _ in 0..3 {
            let flag = DropFlag(dropped.clone());
            set.spawn(async move {
                let _flag = flag;
                sleep(Duration::from_secs(100)).await;
            });
        }
        sleep(Duration::from_secs(1)).await; // they are all started, asleep
        set.abort_all();
        let mut cancelled = 0;
        while let Some(r) = set.join_next().await {
            assert!(r.unwrap_err().is_cancelled());
            cancelled += 1;
        }
        assert_eq!(cancelled, 3);
        assert_eq!(dropped.load(Ordering::SeqCst), 3);
    });
}

#[test]
fn dropping_the_set_cancels_every_task() {
    guarded(|| async {
        let dropped = Arc::new(AtomicUsize::new(0));
        let finished = Arc::new(AtomicUsize::new(0));
        let mut set = JoinSet::new();
        for _ in 0..3 {
            let flag = DropFlag(dropped.clone());
            let finished = finished.clone();
            set.spawn(async move {
                let _flag = flag;
                sleep(Duration::from_secs(100)).await;
                finished.fetch_add(1, Ordering::SeqCst);
            });
        }
        sleep(Duration::from_secs(1)).await;
        drop(set);
        sleep(Duration::from_secs(200)).await;
        assert_eq!(dropped.load(Ordering::SeqCst), 3);
        assert_eq!(finished.load(Ordering::SeqCst), 0);
    });
}

#[test]
fn a_panicking_child_comes_out_as_a_join_error() {
    guarded(|| async {
        let mut set = JoinSet::new();
        set.spawn(async {
            sleep(Duration::from_secs(1)).await;
            panic!("boom");
        });
        set.spawn(async {
            sleep(Duration::from_secs(2)).await;
        });
        let err = set.join_next().await.unwrap().unwrap_err();
        assert!(err.is_panic());
        assert_eq!(err.panic_message(), Some("boom"));
        assert!(set.join_next().await.unwrap().is_ok());
        assert!(set.join_next().await.is_none());
    });
}

#[test]
fn task_group_first_error_cancels_the_rest() {
    guarded(|| async {
        let dropped = Arc::new(AtomicUsize::new(0));
        let mut set = JoinSet::new();
        for secs in 1..=5u64 {
            let flag = DropFlag(dropped.clone());
            set.spawn(async move {
                let _flag = flag;
                sleep(Duration::from_secs(secs)).await;
                if secs == 2 {
                    Err(format!("task {secs} failed"))
                } else {
                    Ok(secs)
                }
            });
        }
        let mut ok = Vec::new();
        let mut first_error = None;
        let mut cancelled = 0;
        while let Some(joined) = set.join_next().await {
            match joined {
                Ok(Ok(secs)) => ok.push(secs),
                Ok(Err(e)) => {
                    first_error.get_or_insert(e);
                    set.abort_all();
                }
                Err(e) if e.is_cancelled() => cancelled += 1,
                Err(e) => panic!("unexpected {e}"),
            }
        }
        assert_eq!(ok, vec![1]);
        assert_eq!(first_error.as_deref(), Some("task 2 failed"));
        assert_eq!(cancelled, 3);
        assert_eq!(dropped.load(Ordering::SeqCst), 5);
    });
}

#[test]
fn many_children_join_without_a_scan() {
    guarded(|| async {
        let mut set = JoinSet::new();
        for i in 0..10_000u64 {
            set.spawn(async move {
                sleep(Duration::from_millis(i % 100)).await;
                i
            });
        }
        let mut sum = 0;
        while let Some(r) = set.join_next().await {
            sum += r.unwrap();
        }
        assert_eq!(sum, 10_000 * 9_999 / 2);
    });
}

#[test]
fn a_cancelled_join_next_loses_no_result() {
    guarded(|| async {
        let mut set = JoinSet::new();
        set.spawn(async {
            sleep(Duration::from_secs(2)).await;
            "late"
        });
        // Give up waiting after 1 s: the task stays in the set.
        let early = evloop::time::timeout(Duration::from_secs(1), set.join_next()).await;
        assert!(early.is_err());
        assert_eq!(set.len(), 1);
        assert_eq!(set.join_next().await.unwrap().unwrap(), "late");
    });
}
