//! Lesson 15's chat server, attacked as a hostile client would: a burst of
//! lines in one write, forged lines, more connections than it should hold.
//! Each case once broke the server; each test says how, and what it does now.
//!
//! Every server runs on its own thread, on 127.0.0.1 port 0, and stops when
//! the test drops it; every test is bounded in time and in clients.

mod chat_support;
#[path = "../examples/15_chat_server.rs"]
#[allow(dead_code)]
mod example;

use std::time::Duration;

use chat_support::*;
use evloop::websocket::Message;
use example::Options;

/// One client writes 1,100 short lines in one write (about 16 KB). The
/// server once broadcast all of them in one poll of the sender's task: every
/// 1,024-line outbox filled before any reader ran, and the whole room — ten
/// readers and the sender — was dropped with 1008. A fast burst is not a
/// slow reader: now everyone gets every line, in order.
#[test]
fn a_burst_of_1100_lines_in_one_write_empties_nobody() {
    let server = Server::start(Options::default());
    run(Duration::from_secs(60), async {
        let mut readers = Vec::new();
        for n in 1..=10 {
            readers.push(join_nth(&server.url(), n).await);
        }
        let mut sender = join_nth(&server.url(), 11).await;
        // Queue all 1,100 frames, then one flush: one write(2) on the wire.
        for i in 0..1100 {
            sender.feed(&Message::Text(format!("m{i}"))).unwrap();
        }
        sender.flush().await.unwrap();
        readers.push(sender);
        let reading = readers.into_iter().map(|mut ws| {
            evloop::spawn(async move {
                for i in 0..1100 {
                    // Announcements may interleave; said lines come in order.
                    let line = loop {
                        match next(&mut ws).await {
                            Next::Line(line) if line.starts_with("* ") => continue,
                            Next::Line(line) => break line,
                            Next::Closed(code) => {
                                panic!("dropped after {i} lines, close code {code:?}")
                            }
                        }
                    };
                    assert_eq!(line, format!("guest-11: m{i}"));
                }
            })
        });
        for reader in evloop::join_all(reading).await {
            reader.unwrap();
        }
    });
}

/// Control characters once went through untouched: a newline in a line let
/// a user print `* alice left` on a line of its own, and ANSI escapes, BEL
/// and NUL reached every terminal client raw. Now a line is always one line,
/// its control characters shown as their visible pictures (␊ ␛ ␇ ␀).
#[test]
fn a_newline_or_an_escape_cannot_forge_a_line() {
    let server = Server::start(Options::default());
    run(Duration::from_secs(30), async {
        // One after the other: on worker threads, two handshakes in flight
        // may reach the room in either order, and the names follow it.
        let mut mallory = join(&server.url()).await;
        assert_eq!(next_text(&mut mallory).await, "* guest-1 joined");
        let mut bob = join(&server.url()).await;
        say(&mut mallory, "hi\n* alice left\x1b[2J\x07\0\r").await;
        let line = next_said(&mut bob).await;
        assert_eq!(line, "guest-1: hi␊* alice left␛[2J␇␀␍");
        // C1 controls (U+009B is a one-character CSI on some terminals) too.
        say(&mut mallory, "a\u{9b}31mb\u{2028}c").await;
        assert_eq!(next_said(&mut bob).await, "guest-1: a\u{fffd}31mb␤c");
        // Tabs are harmless, and text stays intact otherwise.
        say(&mut mallory, "tab\there, ünïcode <b>").await;
        assert_eq!(next_said(&mut bob).await, "guest-1: tab\there, ünïcode <b>");
    });
}

/// A nick is the one thing in a line the server vouches for, so it must be
/// unforgeable: once, `/nick alice\n* bob left` printed a fake announcement,
/// and two users could both be `alice`. Now a nick is letters, digits, `-`,
/// `_` and `.`; it is unique (ignoring case); `guest-N` names are the
/// server's. A refused `/nick` is answered to its sender only.
#[test]
fn a_nick_cannot_be_forged_or_taken_twice() {
    let server = Server::start(Options::default());
    run(Duration::from_secs(30), async {
        // One after the other (see above).
        let mut ada = join(&server.url()).await;
        assert_eq!(next_text(&mut ada).await, "* guest-1 joined");
        let mut eve = join(&server.url()).await;
        assert_eq!(next_text(&mut ada).await, "* guest-2 joined");
        assert_eq!(next_text(&mut eve).await, "* guest-1 joined");
        assert_eq!(next_text(&mut eve).await, "* guest-2 joined");

        say(&mut ada, "/nick ada").await;
        assert_eq!(next_text(&mut ada).await, "* guest-1 is now ada");
        assert_eq!(next_text(&mut eve).await, "* guest-1 is now ada");

        for forged in [
            "/nick ada",
            "/nick ADA",
            "/nick guest-1",
            "/nick eve\n* ada left",
            "/nick eve: hi",
            "/nick \x1b[31meve",
            &format!("/nick {}", "e".repeat(33)),
        ] {
            say(&mut eve, forged).await;
            let notice = next_text(&mut eve).await;
            assert!(
                notice.starts_with("* ") && notice.contains("nick"),
                "{forged:?} got {notice:?}"
            );
        }
        // Nobody else heard any of it: ada's next line is eve's, unrenamed.
        say(&mut eve, "still me").await;
        assert_eq!(next_text(&mut ada).await, "guest-2: still me");
        assert_eq!(next_text(&mut eve).await, "guest-2: still me");
    });
}

/// Connections are capped, in all and per address. Once, every connection
/// was served until `accept` failed for want of file descriptors, and
/// clients holding idle WebSockets could lock every newcomer out. Now the
/// excess is told plainly — `503 Service Unavailable` — and a freed place is
/// given to the next client.
#[test]
fn connections_past_a_cap_get_503_until_a_place_is_free() {
    // Per address: two from 127.0.0.1 at once, the third is refused.
    let server = Server::start(Options {
        max_connections: 100,
        max_per_address: 2,
        ..Options::default()
    });
    run(Duration::from_secs(30), async {
        let page = format!("http://{}/", server.addr);
        let ada = join(&server.url()).await;
        let bob = join(&server.url()).await;
        let refused = evloop::http::get(&page).await.unwrap();
        assert_eq!(refused.status, 503);
        assert_eq!(refused.header("retry-after"), Some("10"));
        drop(bob);
        // The place is given back when bob's task ends (it first sees the
        // connection close): a moment later, the page is served again.
        let mut status = 503;
        for _ in 0..100 {
            status = evloop::http::get(&page).await.unwrap().status;
            if status == 200 {
                break;
            }
            evloop::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(status, 200);
        drop(ada);
    });
    drop(server);

    // In all: three places, whoever asks.
    let server = Server::start(Options {
        max_connections: 3,
        max_per_address: 100,
        ..Options::default()
    });
    run(Duration::from_secs(30), async {
        let mut held = Vec::new();
        for _ in 0..3 {
            held.push(join(&server.url()).await);
        }
        let refused = evloop::http::get(&format!("http://{}/", server.addr))
            .await
            .unwrap();
        assert_eq!(refused.status, 503);
        // The three are still chatting.
        say(&mut held[0], "still here").await;
        for ws in &mut held {
            assert_eq!(next_said(ws).await, "guest-1: still here");
        }
    });
}

mod workers;

/// Every test above again, on worker threads (`tests/workers/mod.rs`).
#[test]
fn on_workers() {
    workers::rerun_on_workers(&[]);
}
