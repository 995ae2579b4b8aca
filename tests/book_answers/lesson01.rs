//! Lesson 01's exercises: blocking tasks, and the fix.

use std::time::Duration;

use evloop::time::Instant;
use evloop::Runtime;

use crate::{count, paused, secs};

/// Lesson 01's task, as the chapter shows it: it blocks the loop's thread.
async fn blocking_task(seconds: Duration) {
    std::thread::sleep(seconds);
}

/// Spawn one blocking task per name, then await them in order.
async fn blocking_tasks(names: &[&'static str], seconds: Duration) {
    let handles: Vec<_> = names
        .iter()
        .map(|name| {
            evloop::task::Builder::new()
                .name(*name)
                .spawn(blocking_task(seconds))
        })
        .collect();
    for handle in handles {
        handle.await.expect("a blocking task does not panic");
    }
}

// ANCHOR: ex1
// `-- 0.05`: each task blocks for 50 ms, under the 100 ms slow-poll threshold.
#[test]
fn short_blocks_still_run_one_after_the_other_but_do_not_warn() {
    let rt = Runtime::builder()
        .slow_poll_threshold(Duration::from_millis(100))
        .build()
        .unwrap();
    let start = Instant::now();
    rt.block_on(blocking_tasks(&["A", "B"], Duration::from_millis(50)));
    // 50 ms + 50 ms: still one after the other...
    assert!(start.elapsed() >= Duration::from_millis(100));
    // ...but no poll reached the threshold, so nothing warns.
    assert_eq!(rt.metrics().slow_polls, 0);
}
// ANCHOR_END: ex1

// ANCHOR: ex2
// A third task: three polls, one after the other, three slow ones. (Real
// blocking takes real time, so: 20 ms each and a 10 ms threshold, not 2 s.)
#[test]
fn a_third_blocking_task_adds_a_third_slow_poll() {
    let rt = Runtime::builder()
        .trace(true)
        .slow_poll_threshold(Duration::from_millis(10))
        .build()
        .unwrap();
    let start = Instant::now();
    rt.block_on(blocking_tasks(&["A", "B", "C"], Duration::from_millis(20)));
    assert!(start.elapsed() >= Duration::from_millis(60));
    assert_eq!(rt.metrics().slow_polls, 3);
    // One poll each, and each runs to Ready: no task ever waited.
    for name in ["A", "B", "C"] {
        assert_eq!(count(&rt, &format!("poll {name} → Ready")), 1);
    }
}
// ANCHOR_END: ex2

// ANCHOR: ex3
// `evloop::time::sleep(seconds).await` instead of `std::thread::sleep`: lesson 04.
async fn sleeping_task(seconds: Duration) {
    evloop::time::sleep(seconds).await;
}

#[test]
fn with_an_async_sleep_the_two_tasks_overlap() {
    let rt = paused();
    rt.block_on(async {
        let a = evloop::task::Builder::new()
            .name("A")
            .spawn(sleeping_task(secs(2)));
        let b = evloop::task::Builder::new()
            .name("B")
            .spawn(sleeping_task(secs(2)));
        a.await.unwrap();
        b.await.unwrap();
    });
    assert_eq!(rt.elapsed(), secs(2)); // not 4
    assert_eq!(count(&rt, "wake A ← timer"), 1);
    assert_eq!(count(&rt, "poll A →"), 2); // to the sleep, then to the end
    assert_eq!(count(&rt, "poll B →"), 2);
    assert_eq!(count(&rt, "clock jumps to 2.000s"), 1);
}
// ANCHOR_END: ex3
