//! The runtime's warnings never block the loop, even when nobody reads stderr.
//!
//! The test runs itself again as a child process whose stderr is a pipe that
//! the parent never reads. The child makes the loop warn 20,000 times (slow
//! polls, each reported). With `eprintln!` the child froze in `write(2)` once
//! the pipe's 64 KiB filled; through the logger it finishes, and the lines
//! that did not fit are counted as dropped.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const CHILD: &str = "EVLOOP_LOG_TEST_CHILD";

#[test]
fn a_full_stderr_pipe_never_blocks_the_loop() {
    if std::env::var_os(CHILD).is_some() {
        return child();
    }
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "a_full_stderr_pipe_never_blocks_the_loop",
            "--nocapture",
        ])
        .env(CHILD, "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped()) // never read
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "the child failed: {status}");
            return;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the loop blocked on a full stderr pipe");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn child() {
    // Every poll is "slow" (threshold zero), so every poll warns.
    let rt = evloop::Runtime::builder()
        .slow_poll_threshold(Duration::ZERO)
        .build()
        .unwrap();
    rt.block_on(async {
        for _ in 0..20_000 {
            evloop::yield_now().await;
        }
    });
    assert!(
        evloop::runtime::log::dropped() > 0,
        "a 64 KiB pipe cannot hold 20,000 lines"
    );
}
