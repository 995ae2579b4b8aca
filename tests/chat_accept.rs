//! Lesson 15's accept loop when the process is out of file descriptors.
//!
//! `accept` then fails with EMFILE while the client stays queued, so the
//! listener stays readable and the next `accept` fails again at once. The
//! loop once retried every 10 ms and printed every failure with `eprintln!`:
//! a hundred lines a second, each one a write that could block the loop. Now
//! it backs off (10 ms, doubling to 1 s) and reports through the runtime's
//! non-blocking logger, one line per 10 s with a count.
//!
//! Running out of descriptors would disturb every other test in the
//! process, so the test runs itself again as a child process with a limit
//! of 64 descriptors (`ulimit -n 64`) and reads what the child reports.

#[path = "../examples/15_chat_server.rs"]
#[allow(dead_code)]
mod example;

use std::process::{Command, Stdio};
use std::time::Duration;

use evloop::net::{TcpListener, TcpStream};
use evloop::time::sleep;

const CHILD: &str = "CHAT_ACCEPT_CHILD";

/// In the child: out of descriptors for ten (virtual) seconds, then not.
fn child() {
    let rt = evloop::Runtime::builder()
        .start_paused(true)
        .build()
        .unwrap();
    let recovered = rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        // The client is queued in the listener's backlog before we run out.
        let mut client = TcpStream::connect(addr).await.unwrap();
        // Use up every descriptor this process may open.
        let mut hoard = Vec::new();
        while let Ok(file) = std::fs::File::open("/dev/null") {
            hoard.push(file);
        }
        println!("hoarded {} descriptors", hoard.len());
        evloop::spawn(example::serve(listener, example::Options::default()));
        sleep(Duration::from_secs(10)).await;
        // Descriptors again: the queued client is served within a second.
        drop(hoard);
        client
            .write_all(b"GET / HTTP/1.1\r\nHost: chat\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut head = [0u8; 12];
        evloop::time::timeout(Duration::from_secs(2), client.read_exact(&mut head))
            .await
            .map(|read| read.is_ok() && &head == b"HTTP/1.1 200")
            .unwrap_or(false)
    });
    // Our own sleep is one timer; the rest are the accept loop's retries.
    println!("timers fired: {}", rt.metrics().timers_fired);
    println!("recovered: {recovered}");
}

#[test]
fn accept_failures_back_off_and_are_reported_rarely() {
    if std::env::var_os(CHILD).is_some() {
        return child();
    }
    let exe = std::env::current_exe().unwrap();
    let out = Command::new("sh")
        .arg("-c")
        .arg("ulimit -n 64 && exec \"$0\" --exact accept_failures_back_off_and_are_reported_rarely --nocapture --test-threads=1")
        .arg(exe)
        .env(CHILD, "1")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "child failed:\n{stdout}\n{stderr}");
    let field = |name: &str| -> String {
        stdout
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .unwrap_or_else(|| panic!("no {name:?} in:\n{stdout}\n{stderr}"))
            .trim()
            .to_string()
    };
    let timers: u64 = field("timers fired:").parse().unwrap();
    let reports = stderr.matches("accept failed").count();
    eprintln!("10 s out of descriptors: {timers} timers, {reports} lines on stderr");
    // 10 ms doubling to 1 s: 7 retries in the first 1.27 s, then one a
    // second. Retrying every 10 ms would be a thousand.
    assert!(timers <= 20, "{timers} timers in 10 s:\n{stderr}");
    // One report, then one per 10 s (with a count); not one per failure.
    assert!((1..=2).contains(&reports), "{reports} reports:\n{stderr}");
    assert_eq!(field("recovered:"), "true", "{stderr}");
}

mod workers;

/// Every test above again, on worker threads (`tests/workers/mod.rs`).
#[test]
fn on_workers() {
    workers::rerun_on_workers(&[]);
}
