//! Run this test binary's runtime-agnostic tests again, on worker threads.
//!
//! Most tests build their runtime with `evloop::run`, `Runtime::new()` or a
//! builder that asks for nothing a multi-thread runtime lacks. Such a runtime
//! takes its worker count from `EVLOOP_WORKER_THREADS` (`Builder::worker_threads`).
//! So a binary that includes this module and calls [`rerun_on_workers`] from
//! a test named `on_workers` runs itself again as a child process with that
//! variable set: every test of the binary, on 2 workers (`EVLOOP_TEST_WORKERS`
//! says another count; CI adds 4). Tests with a paused clock or a seed stay
//! on one thread there, as they must (`build` keeps them so).
//!
//! A test whose subject *is* the one loop — a slow poll that blocks every
//! other task, a trace of its turns, `Runtime::turn` — is listed by name in
//! `single_loop_only`, and skipped in the child.

use std::io::Read;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// The rerun, bounded: a hang on workers fails here instead of hanging CI.
const LIMIT: Duration = Duration::from_secs(300);

/// Rerun this binary's tests, but those named in `single_loop_only`, on
/// worker threads. In the rerun itself (or when the whole `cargo test` runs
/// on workers) it does nothing.
pub fn rerun_on_workers(single_loop_only: &[&str]) {
    if std::env::var_os("EVLOOP_WORKER_THREADS").is_some() {
        return;
    }
    let workers = std::env::var("EVLOOP_TEST_WORKERS").unwrap_or_else(|_| "2".to_string());
    let mut child = Command::new(std::env::current_exe().expect("the test binary's path"));
    child
        .env("EVLOOP_WORKER_THREADS", &workers)
        .args(["--skip", "on_workers"]);
    for name in single_loop_only {
        child.args(["--skip", name]);
    }
    let mut child = child
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the test binary runs again");
    // Read both pipes on threads, so a chatty child never blocks on a full one.
    let stdout = read_all(child.stdout.take().expect("piped"));
    let stderr = read_all(child.stderr.take().expect("piped"));
    let deadline = Instant::now() + LIMIT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("the child can be waited on") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "on {workers} workers the tests were not done after {LIMIT:?}:\n{}",
                stdout.join().unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let stdout = stdout.join().unwrap_or_default();
    let stderr = stderr.join().unwrap_or_default();
    assert!(
        status.success(),
        "on {workers} workers the tests failed:\n{stdout}\n{stderr}"
    );
    // Something ran: a filter typo must not pass as green.
    assert!(stdout.contains("test result: ok."), "{stdout}");
}

fn read_all(mut pipe: impl Read + Send + 'static) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut text = String::new();
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        text.push_str(&String::from_utf8_lossy(&bytes));
        text
    })
}
