//! Lesson 12's exercises: the cost of a hand-off, where reads run, and the pool's bound.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use evloop::sync::Semaphore;
use evloop::{Metrics, Runtime};

#[path = "../../examples/12_file_io.rs"]
#[allow(dead_code)]
mod example;

use example::{content, file_path, write_files, ScratchDir, FILES};

// ANCHOR: ex1
// With no latency the reads are a few microseconds each, and the hand-off to a
// pool thread (a queue, a thread wake, a wake back) is most of the cost. One
// job that reads all twenty files makes one hand-off instead of twenty.
// (Which is fastest is the machine's to say; what is certain is the count.)
#[test]
fn one_job_for_twenty_reads_is_one_hand_off() {
    let dir = ScratchDir::new().unwrap();
    let rt = Runtime::new().unwrap();
    rt.block_on(write_files(dir.path())).unwrap();
    let path = dir.path().to_path_buf();
    let (files, spawned) = rt.block_on(async move {
        let before = Metrics::current().tasks_spawned;
        let files = evloop::spawn_blocking(move || {
            (0..FILES)
                .map(|i| std::fs::read(file_path(&path, i)))
                .collect::<std::io::Result<Vec<_>>>()
        })
        .await
        .unwrap()
        .unwrap();
        (files, Metrics::current().tasks_spawned - before)
    });
    assert_eq!(files, (0..FILES).map(content).collect::<Vec<_>>());
    assert_eq!(spawned, 1); // reading them "all at once" spawns 20
}
// ANCHOR_END: ex1

// ANCHOR: ex2
#[test]
fn the_reads_run_on_the_pool_threads_never_on_the_loop() {
    let dir = ScratchDir::new().unwrap();
    let rt = Runtime::new().unwrap();
    rt.block_on(write_files(dir.path())).unwrap();
    let path = file_path(dir.path(), 0);
    let (loop_thread, reader_thread) = rt.block_on(async move {
        let loop_thread = std::thread::current().name().map(String::from);
        let reader_thread = evloop::spawn_blocking(move || {
            std::fs::read(path).unwrap();
            std::thread::current().name().map(String::from) // inside `slow_read`'s job
        })
        .await
        .unwrap();
        (loop_thread, reader_thread)
    });
    assert_eq!(reader_thread.as_deref(), Some("evloop-blocking"));
    assert_ne!(loop_thread, reader_thread);
}
// ANCHOR_END: ex2

// ANCHOR: ex3
/// Twenty 50 ms "reads" at once, at most `bound` at a time if given; returns
/// how many ran at the same time, at most.
fn most_at_once(bound: Option<usize>) -> usize {
    let running = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let limit = Arc::new(Semaphore::new(bound.unwrap_or(FILES)));
    Runtime::new().unwrap().block_on(async {
        let reads = (0..FILES).map(|_| {
            let (running, most, limit) = (running.clone(), most.clone(), limit.clone());
            async move {
                let _permit = limit.acquire().await.unwrap();
                evloop::spawn_blocking(move || {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(50)); // the slow disk
                    running.fetch_sub(1, Ordering::SeqCst);
                })
                .await
                .unwrap();
            }
        });
        evloop::join_all(reads).await;
    });
    most.load(Ordering::SeqCst)
}

#[test]
fn the_bound_is_what_caps_the_threads() {
    // The pool itself: never more than MAX_THREADS (16) jobs at once.
    assert_eq!(most_at_once(None), 16);
    // MAX_THREADS = 4 is a change to src/; the same bound from outside is a
    // semaphore of 4 around each job: five rounds of four reads, ≥ 250 ms.
    let start = std::time::Instant::now();
    assert_eq!(most_at_once(Some(4)), 4);
    assert!(start.elapsed() >= Duration::from_millis(250));
}
// ANCHOR_END: ex3
