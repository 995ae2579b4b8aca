//! The chat server's memory under one attack: the history is full of 64 KiB
//! lines (50 × 64 KiB ≈ 3.2 MiB), and then 180 clients join and never read.
//!
//! The server once copied the whole history into each newcomer's write
//! buffer: 180 × 3.2 MiB ≈ 580 MiB, and 419 MiB of resident memory measured
//! for the whole server. Now every client takes its lines from one shared
//! log, a batch of at most 64 KiB at a time, and the frames are `Arc`s that
//! the history and every client share: the server stays under 64 MiB.
//!
//! The figure is this process's peak resident set (`VmHWM` in
//! `/proc/self/status`): the server's thread, plus a client side that holds
//! almost nothing (raw sockets that never read). It is its own test file, so
//! no other test shares the process. Linux only, as `/proc` is.

mod chat_support;
#[path = "../examples/15_chat_server.rs"]
#[allow(dead_code)]
mod example;
mod websocket_support;

use std::time::Duration;

use chat_support::*;
use evloop::net::TcpStream;
use evloop::time::sleep;
use evloop::websocket::WebSocket;
use example::Options;

const MIB: u64 = 1024 * 1024;

/// A line of `/proc/self/status` in bytes (its values are in kB).
fn proc_status(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("Linux /proc");
    let line = status
        .lines()
        .find(|l| l.starts_with(field))
        .unwrap_or_else(|| panic!("no {field} in /proc/self/status"));
    let kb: u64 = line[field.len()..]
        .trim()
        .trim_end_matches(" kB")
        .parse()
        .unwrap();
    kb * 1024
}

/// Say a line of (almost) 64 KiB and read it back, so the uploader itself
/// is never behind.
async fn upload(ws: &mut WebSocket<TcpStream>, n: usize) {
    let line = format!("{n:03} {}", "x".repeat(64 * 1024 - 16));
    say(ws, &line).await;
    assert!(next_said(ws).await.ends_with(&line));
}

#[test]
fn one_hundred_and_eighty_joiners_against_a_full_history_stay_under_64_mib() {
    // The worst case for memory: senders never paused (the high water as
    // high as the byte limit), so the log grows as far as the limits allow.
    let limits = example::room::Limits::default();
    let options = Options {
        room: example::room::Limits {
            high_water: limits.max_lag_bytes,
            ..limits
        },
        ..Options::default()
    };
    let server = Server::start(options);
    let before = proc_status("VmRSS:");
    run(Duration::from_secs(120), async {
        // The uploader fills the history with lines of (almost) 64 KiB.
        let mut uploader = join(&server.url()).await;
        for n in 0..50 {
            upload(&mut uploader, n).await;
        }
        // 180 newcomers, each owed a full history (the uploader tops it up
        // after every join), and each reading nothing at all.
        let mut joiners = Vec::new();
        for _ in 0..180 {
            joiners.push(websocket_support::raw_upgrade(server.addr, "/ws").await);
            upload(&mut uploader, joiners.len()).await;
        }
        // Give the server a moment to do its worst: write to every joiner
        // until its socket is full.
        sleep(Duration::from_millis(500)).await;
        // The uploader is still served: the stalled joiners stall nobody.
        upload(&mut uploader, 999).await;
        drop(joiners);
    });
    let peak = proc_status("VmHWM:");
    eprintln!(
        "resident: {} MiB before the attack, peak {} MiB",
        before / MIB,
        peak / MIB
    );
    assert!(peak < 64 * MIB, "peak resident memory {} MiB", peak / MIB);
}

mod workers;

/// Every test above again, on worker threads (`tests/workers/mod.rs`).
#[test]
fn on_workers() {
    workers::rerun_on_workers(&[]);
}
