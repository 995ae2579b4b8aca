//! Lesson 15's chat server, tested from the outside: the page, broadcast to
//! everyone (the sender too), nicknames, history, the 64 KiB limit, bad
//! clients closed with the right code while the others chat on, a thousand
//! clients at once, and a stalled client dropped without delaying anyone.
//!
//! The server runs on its own thread (its own evloop) and the clients on the
//! test's; everything is on 127.0.0.1 port 0, bounded in time, and the
//! server stops when the test's `Server` is dropped.

mod chat_support;
#[path = "../examples/15_chat_server.rs"]
#[allow(dead_code)]
mod example;
mod websocket_support;

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::time::{Duration, Instant};

use chat_support::{join_nth, run, Server};
use evloop::net::TcpStream;
use evloop::websocket::{self, Message, WebSocket};
use example::Options;
use websocket_support::*;

/// The next text message, or `None` once the connection ended.
async fn next_text(ws: &mut WebSocket<TcpStream>) -> Option<String> {
    match ws.recv().await {
        Ok(Some(Message::Text(text))) => Some(text),
        Ok(Some(Message::Binary(_))) => panic!("the chat speaks text"),
        Ok(None) | Err(_) => None,
    }
}

/// The next line that is not an announcement (`* … joined` and the like).
async fn next_said(ws: &mut WebSocket<TcpStream>) -> Option<String> {
    loop {
        let line = next_text(ws).await?;
        if !line.starts_with("* ") {
            return Some(line);
        }
    }
}

/// Join the chat. Our client's receive limit is 1 MiB: a 64 KiB line comes
/// back a few bytes longer, with the sender's nickname in front.
async fn join(url: &str) -> WebSocket<TcpStream> {
    let config = websocket::Config {
        max_message_size: 1 << 20,
        ..Default::default()
    };
    websocket::connect_with_config(url, config).await.unwrap()
}

async fn say(ws: &mut WebSocket<TcpStream>, text: &str) {
    ws.send(Message::Text(text.to_string())).await.unwrap();
}

#[test]
fn the_page_and_a_conversation() {
    let server = Server::start(Options::default());
    run(LIMIT, async {
        // The page: it connects back to its own host, and shows text as text.
        let page = evloop::http::get(&format!("http://{}/", server.addr))
            .await
            .unwrap();
        assert_eq!(page.status, 200);
        let html = page.text();
        assert!(html.contains("ws://${location.host}/ws"));
        assert!(html.contains("textContent") && !html.contains("innerHTML"));
        assert_eq!(
            evloop::http::get(&format!("http://{}/nope", server.addr))
                .await
                .unwrap()
                .status,
            404
        );

        let mut ada = join(&server.url()).await;
        assert_eq!(next_text(&mut ada).await.unwrap(), "* guest-1 joined");
        let mut bob = join(&server.url()).await;
        // Bob gets the history (Ada's join), then his own join — as does Ada.
        assert_eq!(next_text(&mut bob).await.unwrap(), "* guest-1 joined");
        assert_eq!(next_text(&mut bob).await.unwrap(), "* guest-2 joined");
        assert_eq!(next_text(&mut ada).await.unwrap(), "* guest-2 joined");

        // A message reaches everyone, the sender included, intact.
        say(&mut ada, "hello <b>bob</b> ünïcode").await;
        for ws in [&mut ada, &mut bob] {
            assert_eq!(
                next_text(ws).await.unwrap(),
                "guest-1: hello <b>bob</b> ünïcode"
            );
        }
        say(&mut ada, "/nick ada").await;
        say(&mut ada, "it's me").await;
        for ws in [&mut ada, &mut bob] {
            assert_eq!(next_text(ws).await.unwrap(), "* guest-1 is now ada");
            assert_eq!(next_text(ws).await.unwrap(), "ada: it's me");
        }

        // 64 KiB is accepted; one byte more is closed with 1009, for that client only.
        say(&mut ada, &"x".repeat(64 * 1024)).await;
        for ws in [&mut ada, &mut bob] {
            assert_eq!(
                next_said(ws).await.unwrap().len(),
                "ada: ".len() + 64 * 1024
            );
        }
        say(&mut bob, &"y".repeat(64 * 1024 + 1)).await;
        let code = loop {
            match bob.recv().await {
                Ok(Some(_)) => continue, // lines already in flight
                Ok(None) => break bob.close_frame().map(|c| c.code),
                Err(e) => break e.close_code(),
            }
        };
        assert_eq!(code, Some(1009));
        assert_eq!(next_text(&mut ada).await.unwrap(), "* guest-2 left");

        // A newcomer gets the last 50 lines, oldest first.
        for i in 0..60 {
            say(&mut ada, &format!("line {i}")).await;
        }
        for i in 0..60 {
            assert_eq!(next_text(&mut ada).await.unwrap(), format!("ada: line {i}"));
        }
        let mut cat = join(&server.url()).await;
        let mut history = Vec::new();
        for _ in 0..50 {
            history.push(next_text(&mut cat).await.unwrap());
        }
        assert_eq!(history[0], "ada: line 10");
        assert_eq!(history[49], "ada: line 59");
        assert_eq!(next_text(&mut cat).await.unwrap(), "* guest-3 joined");
        cat.close(1000, "bye").await.unwrap();
        ada.close(1000, "bye").await.unwrap();
    });
}

#[test]
fn bad_clients_are_closed_with_the_right_code_and_the_others_lose_nothing() {
    let options = Options {
        chat: websocket::Config {
            frame_timeout: Some(Duration::from_millis(300)),
            ..Options::default().chat
        },
        ..Options::default()
    };
    let server = Server::start(options);
    run(LIMIT, async {
        // One after the other: on workers two handshakes in flight may
        // reach the room in either order, and the names follow it.
        let mut ada = join_nth(&server.url(), 1).await;
        let mut bob = join_nth(&server.url(), 2).await;
        let too_big = {
            let mut h = vec![0x81, 0x80 | 127];
            h.extend_from_slice(&(65_537u64).to_be_bytes());
            h.extend_from_slice(&[1, 2, 3, 4]);
            h
        };
        let cases: Vec<(&str, Vec<u8>, Option<u16>)> = vec![
            (
                "an unmasked frame",
                client_frame(0x81, b"hi", false),
                Some(1002),
            ),
            (
                "a reserved opcode",
                client_frame(0x83, b"hi", true),
                Some(1002),
            ),
            (
                "invalid UTF-8 in a text frame",
                client_frame(0x81, b"\xc3\x28", true),
                Some(1007),
            ),
            ("a frame larger than 64 KiB", too_big, Some(1009)),
            (
                "half a frame, then silence",
                client_frame(0x81, b"hello", true)[..4].to_vec(),
                None,
            ),
        ];
        let mut sent = 0;
        for (what, bytes, expected) in cases {
            let mut bad = raw_upgrade(server.addr, "/ws").await;
            bad.write_all(&bytes).await.unwrap();
            let start = Instant::now();
            let frames = read_frames_until_eof(&mut bad).await;
            assert_eq!(close_code(&frames), expected, "{what}: {frames:?}");
            assert!(
                start.elapsed() < Duration::from_secs(5),
                "{what} took {:?}",
                start.elapsed()
            );
            drop(bad);
            // The others chat on, and see every line.
            say(&mut ada, &format!("after {what}")).await;
            sent += 1;
            for ws in [&mut ada, &mut bob] {
                assert_eq!(
                    next_said(ws).await.unwrap(),
                    format!("guest-1: after {what}")
                );
            }
        }
        // An abrupt disconnect in the middle of a frame: announced as a leave.
        let mut gone = raw_upgrade(server.addr, "/ws").await;
        gone.write_all(&client_frame(0x81, b"bye", true)[..3])
            .await
            .unwrap();
        drop(gone);
        loop {
            let line = next_text(&mut bob).await.unwrap();
            if line.ends_with(" left") && line != "* guest-1 left" {
                break;
            }
        }
        say(&mut bob, "still here").await;
        assert_eq!(next_said(&mut ada).await.unwrap(), "guest-2: still here");
        assert_eq!(sent, 5);
    });
}

/// `n` clients join, each says one line; every client must get all `n`
/// lines, in the same order as everyone else. Returns how long it took.
async fn fan_out(url: &str, n: usize) -> Duration {
    // Join in waves of 100: each join is announced to everyone already
    // there, and announcements that come together go out together.
    let mut clients = Vec::with_capacity(n);
    while clients.len() < n {
        let wave = (n - clients.len()).min(100);
        clients.extend(evloop::join_all((0..wave).map(|_| join(url))).await);
    }
    let start = Instant::now();
    let tasks = clients.into_iter().enumerate().map(|(i, mut ws)| {
        evloop::spawn(async move {
            say(&mut ws, &format!("load-{i}")).await;
            let (mut got, mut order) = (0, DefaultHasher::new());
            while got < n {
                let line = next_text(&mut ws).await.expect("connection ended early");
                if line.contains(": load-") {
                    line.hash(&mut order);
                    got += 1;
                }
            }
            order.finish()
        })
    });
    let orders = evloop::join_all(tasks).await;
    let first = *orders[0].as_ref().unwrap();
    for order in &orders {
        assert_eq!(
            *order.as_ref().unwrap(),
            first,
            "every client sees the same order"
        );
    }
    start.elapsed()
}

#[test]
fn a_thousand_clients_each_get_every_message() {
    // 1,000 clients and 1,000,000 deliveries in release (`.ci/integration.sh`
    // runs it so); a lighter 200 × 200 under a debug `cargo test`.
    let n = if cfg!(debug_assertions) { 200 } else { 1000 };
    // All from 127.0.0.1: more than one address may hold by default.
    let server = Server::start(Options {
        max_connections: 2 * n,
        max_per_address: 2 * n,
        ..Options::default()
    });
    let elapsed = run(Duration::from_secs(120), fan_out(&server.url(), n));
    eprintln!("{} deliveries in {elapsed:?}", n * n);
}

#[test]
fn a_stalled_client_is_dropped_without_delaying_the_others() {
    let options = Options {
        room: example::room::Limits {
            // The stalled client is let go once it is 1 MB behind, or
            // once a line has waited for it for a second.
            max_lag_bytes: 1 << 20,
            max_lag: Duration::from_secs(1),
            send_timeout: Duration::from_secs(3),
            ..Default::default()
        },
        ..Options::default()
    };
    let server = Server::start(options);
    run(Duration::from_secs(60), async {
        // The stalled client joins, then reads nothing at all.
        let mut stalled = join(&server.url()).await;
        let mut readers = Vec::new();
        for _ in 0..4 {
            readers.push(join(&server.url()).await);
        }
        let mut writer = join(&server.url()).await;
        // 30 MB in 16 KiB lines: far more than the stalled client's socket
        // buffers and its 32-line outbox can hold.
        let lines = 2000;
        let chunk = "z".repeat(16 * 1024 - 32);
        let start = Instant::now();
        let reading = readers.into_iter().map(|mut ws| {
            evloop::spawn(async move {
                let mut got = 0;
                while got < lines {
                    if next_said(&mut ws)
                        .await
                        .expect("a reader was dropped")
                        .contains("zzz")
                    {
                        got += 1;
                    }
                }
                got
            })
        });
        let reading = evloop::spawn(evloop::join_all(reading));
        // The writer sends 16 lines, then reads its own 16 back: it goes as
        // fast as the server fans out, and so do the readers.
        let writing = evloop::spawn(async move {
            for batch in 0..lines / 16 {
                for i in 0..16 {
                    say(&mut writer, &format!("{} {chunk}", batch * 16 + i)).await;
                }
                let mut got = 0;
                while got < 16 {
                    if next_said(&mut writer)
                        .await
                        .expect("the writer was dropped")
                        .contains("zzz")
                    {
                        got += 1;
                    }
                }
            }
        });
        writing.await.unwrap();
        for got in reading.await.unwrap() {
            assert_eq!(got.unwrap(), lines);
        }
        let others_took = start.elapsed();
        // Nobody waited for the stalled client: one reader of six that falls
        // behind pauses no sender; the room lets it go.
        assert!(others_took < Duration::from_secs(20), "{others_took:?}");

        // Now the stalled client reads: some lines, then the end — a close
        // frame (1008, too slow) or a dropped connection.
        let mut got = 0;
        let ended = loop {
            match stalled.recv().await {
                Ok(Some(_)) => got += 1,
                Ok(None) => break stalled.close_frame().map(|c| c.code),
                Err(e) => break e.close_code(),
            }
        };
        assert!(
            got < lines,
            "the stalled client got everything ({got}): it was not dropped"
        );
        assert!(matches!(ended, Some(1008) | None), "{ended:?}");
        eprintln!(
            "others took {others_took:?}; the stalled client got {got} lines, then {ended:?}"
        );
    });
}

mod workers;

/// Every test above again, on worker threads (`tests/workers/mod.rs`).
#[test]
fn on_workers() {
    workers::rerun_on_workers(&[]);
}
