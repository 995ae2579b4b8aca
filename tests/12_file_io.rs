//! Lesson 12: `evloop::fs` reads and writes files on the blocking pool, and
//! many slow reads at once take a fraction of the time of one after another.
//!
//! Real files in a scratch directory under the system temp dir (removed at
//! the end), on the real clock: the pool's threads really sleep.

use std::io;
use std::time::Duration;

use evloop::time::{timeout, Instant};

#[path = "../examples/12_file_io.rs"]
#[allow(dead_code)]
mod example;

use example::{content, file_path, ScratchDir, FILES};

const LIMIT: Duration = Duration::from_secs(30);

fn run<F: std::future::Future>(body: F) -> F::Output {
    evloop::run(async { timeout(LIMIT, body).await.expect("the test hung") })
}

#[test]
fn write_then_read_round_trips() {
    let scratch = ScratchDir::new().unwrap();
    let path = scratch.path().join("hello.txt");
    run(async {
        evloop::fs::write(&path, "hello, file\n").await.unwrap();
        assert_eq!(evloop::fs::read(&path).await.unwrap(), b"hello, file\n");
        assert_eq!(
            evloop::fs::read_to_string(&path).await.unwrap(),
            "hello, file\n"
        );
        // write truncates: the old, longer content is gone
        evloop::fs::write(&path, b"bye").await.unwrap();
        assert_eq!(evloop::fs::read_to_string(&path).await.unwrap(), "bye");
    });
}

#[test]
fn errors_are_the_std_errors() {
    let scratch = ScratchDir::new().unwrap();
    let missing = scratch.path().join("no such file");
    let not_utf8 = scratch.path().join("binary");
    std::fs::write(&not_utf8, [0xff, 0xfe, 0x00]).unwrap();
    run(async {
        assert_eq!(
            evloop::fs::read(&missing).await.unwrap_err().kind(),
            io::ErrorKind::NotFound
        );
        let err = evloop::fs::read_to_string(&not_utf8).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        let in_missing_dir = missing.join("child.txt");
        assert_eq!(
            evloop::fs::write(&in_missing_dir, "x")
                .await
                .unwrap_err()
                .kind(),
            io::ErrorKind::NotFound
        );
    });
}

#[test]
fn many_files_at_once_have_the_right_contents() {
    let scratch = ScratchDir::new().unwrap();
    let dir = scratch.path().to_path_buf();
    run(async {
        example::write_files(&dir).await.unwrap();
        let reads = (0..FILES).map(|i| evloop::fs::read(file_path(&dir, i)));
        for (i, bytes) in evloop::join_all(reads).await.into_iter().enumerate() {
            assert!(
                bytes.unwrap() == content(i),
                "file {i} holds another file's bytes"
            );
        }
    });
}

#[test]
fn concurrent_slow_reads_beat_one_by_one() {
    let scratch = ScratchDir::new().unwrap();
    let latency = Duration::from_millis(20);
    let (one_by_one, at_once) = run(example::compare(scratch.path(), latency)).unwrap();
    // One by one: at least FILES × latency, by construction.
    assert!(one_by_one >= latency * FILES as u32, "{one_by_one:?}");
    // At once: the reads overlap on the pool's threads.
    assert!(
        at_once < one_by_one,
        "at once {at_once:?} vs one by one {one_by_one:?}"
    );
}

/// The loop is not blocked while the pool waits for the disk: a timer set
/// during a 300 ms "disk read" fires on time.
#[test]
fn the_loop_runs_while_a_file_operation_waits() {
    run(async {
        let start = Instant::now();
        let slow = evloop::spawn_blocking(|| std::thread::sleep(Duration::from_millis(300)));
        evloop::time::sleep(Duration::from_millis(50)).await;
        let woke_at = start.elapsed();
        assert!(
            woke_at < Duration::from_millis(250),
            "the timer waited for the disk: {woke_at:?}"
        );
        slow.await.unwrap();
    });
}

#[test]
fn the_scratch_directory_is_removed() {
    let scratch = ScratchDir::new().unwrap();
    let path = scratch.path().to_path_buf();
    std::fs::write(path.join("f"), "x").unwrap();
    drop(scratch);
    assert!(!path.exists());
}

mod workers;

/// Every test above again, on worker threads (`tests/workers/mod.rs`).
#[test]
fn on_workers() {
    workers::rerun_on_workers(&[]);
}
