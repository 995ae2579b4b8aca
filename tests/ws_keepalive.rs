//! Keepalive: a WebSocket server pings a peer that went quiet and closes
//! one that stays quiet (1011 "keepalive ping timeout"), with nothing but
//! `recv` in the server's code and the default `Config` (a ping after 30 s
//! of silence, an answer due within 10 s).
//!
//! On the paused clock: the minutes of silence pass in milliseconds, and the
//! times below are exact on the runtime's clock. The peers are raw sockets
//! on 127.0.0.1 writing exactly the frames each test wants.

mod websocket_support;

use std::time::Duration;

use evloop::net::TcpStream;
use evloop::select;
use evloop::time::{sleep, Instant};
use evloop::websocket::{self, close_code, Config, Message};
use websocket_support::*;

const PING: u8 = 0x9;
const PONG: u8 = 0xa;
const TEXT: u8 = 0x1;
const CLOSE: u8 = 0x8;

/// The defaults under test, spelled out so a reader sees the numbers.
const INTERVAL: Duration = Duration::from_secs(30);
const ANSWER_WITHIN: Duration = Duration::from_secs(10);

/// `elapsed` is `expected`, give or take the timer wheel's rounding: never
/// earlier, and well within a second later.
#[track_caller]
fn assert_at(elapsed: Duration, expected: Duration) {
    assert!(
        elapsed >= expected && elapsed < expected + Duration::from_secs(1),
        "at {elapsed:?}, expected {expected:?}"
    );
}

#[test]
fn the_defaults_are_the_documented_ones() {
    let config = Config::default();
    assert_eq!(config.ping_interval, Some(INTERVAL));
    assert_eq!(config.ping_timeout, Some(ANSWER_WITHIN));
}

#[test]
fn a_silent_peer_is_pinged_then_closed_with_1011() {
    paused(|| async {
        let (addr, mut reports) = reporting_echo_server(Config::default()).await;
        let mut peer = raw_upgrade(addr, "/").await;
        let start = Instant::now();
        let mut pending = Vec::new();

        // 30 s of silence: the server asks "are you there?"
        let (opcode, _) = next_server_frame(&mut peer, &mut pending).await.unwrap();
        assert_eq!(opcode, PING);
        assert_eq!(
            start.elapsed(),
            INTERVAL,
            "pinged after exactly 30 s of silence"
        );

        // We do not answer. 10 s later it gives up, and says why.
        let (opcode, payload) = next_server_frame(&mut peer, &mut pending).await.unwrap();
        assert_eq!(opcode, CLOSE);
        assert_eq!(
            u16::from_be_bytes([payload[0], payload[1]]),
            close_code::INTERNAL_ERROR
        );
        assert_eq!(&payload[2..], b"keepalive ping timeout");
        assert_at(start.elapsed(), INTERVAL + ANSWER_WITHIN);
        // ...then closes TCP (the server closes first).
        assert_eq!(next_server_frame(&mut peer, &mut pending).await, None);
        drop(peer);

        // The server's `recv` returned the reason, and the connection's buffers are gone.
        let Report::Ended {
            result, capacity, ..
        } = reports.recv().await.unwrap()
        else {
            panic!("expected the end of the connection");
        };
        let error = result.unwrap_err();
        assert!(
            error.contains("1011") && error.contains("keepalive"),
            "{error}"
        );
        assert_eq!(capacity, 0);
    });
}

#[test]
fn a_peer_that_answers_pings_stays_connected() {
    paused(|| async {
        let (addr, mut reports) = reporting_echo_server(Config::default()).await;
        let mut peer = raw_upgrade(addr, "/").await;
        let start = Instant::now();
        let mut pending = Vec::new();

        // Five minutes of silence from our side, except for the pongs.
        for n in 1..=10u32 {
            let (opcode, payload) = next_server_frame(&mut peer, &mut pending).await.unwrap();
            assert_eq!(opcode, PING, "frame {n}");
            assert_eq!(
                start.elapsed(),
                INTERVAL * n,
                "one ping per 30 s of silence"
            );
            peer.write_all(&client_frame(0x80 | PONG, &payload, true))
                .await
                .unwrap();
        }

        // Still connected: a message is echoed.
        peer.write_all(&client_frame(0x80 | TEXT, b"still here", true))
            .await
            .unwrap();
        let frame = next_server_frame(&mut peer, &mut pending).await.unwrap();
        assert_eq!(frame, (TEXT, b"still here".to_vec()));
        assert!(matches!(reports.recv().await, Some(Report::Echoed { .. })));
    });
}

#[test]
fn a_chatty_peer_is_never_pinged() {
    paused(|| async {
        let (addr, _reports) = reporting_echo_server(Config::default()).await;
        let mut peer = raw_upgrade(addr, "/").await;
        let mut pending = Vec::new();
        // A message every 20 s for ten minutes: never 30 s of silence.
        for n in 0..30 {
            sleep(Duration::from_secs(20)).await;
            let line = format!("line {n}");
            peer.write_all(&client_frame(0x80 | TEXT, line.as_bytes(), true))
                .await
                .unwrap();
            // The next frame is the echo, never a ping.
            let frame = next_server_frame(&mut peer, &mut pending).await.unwrap();
            assert_eq!(frame, (TEXT, line.into_bytes()));
        }
    });
}

#[test]
fn pushing_to_a_silent_peer_does_not_count_as_hearing_from_it() {
    // The chat server's shape: `recv` raced against something else in a
    // `select`, so each `recv` future is dropped after at most a second. The
    // keepalive count lives in the connection, so it survives that; and our
    // own writes succeeding say nothing about whether the peer is still there.
    paused(|| async {
        let listener = evloop::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = evloop::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            stream.set_nodelay(true).unwrap();
            let mut conn = evloop::http::Connection::new(stream);
            let request = conn.read_request().await.unwrap().unwrap();
            let mut ws = websocket::accept(conn, &request).await.unwrap();
            loop {
                let tick = Box::pin(sleep(Duration::from_secs(1)));
                match select(Box::pin(ws.recv()), tick).await {
                    evloop::Either::Left(result) => return result.map_err(|e| e.to_string()),
                    // Once the keepalive failed the connection this send is
                    // refused (`Closed`), and the next `recv` says why.
                    evloop::Either::Right(()) => {
                        let _ = ws.send(Message::Text("tick".into())).await;
                    }
                }
            }
        });
        let mut peer: TcpStream = raw_upgrade(addr, "/").await;
        let start = Instant::now();
        let mut pending = Vec::new();
        let mut ticks = 0;
        let close = loop {
            let (opcode, payload) = next_server_frame(&mut peer, &mut pending).await.unwrap();
            match opcode {
                TEXT => ticks += 1,
                PING => assert_at(start.elapsed(), INTERVAL),
                CLOSE => break payload,
                other => panic!("unexpected opcode {other}"),
            }
        };
        assert_at(start.elapsed(), INTERVAL + ANSWER_WITHIN);
        assert_eq!(u16::from_be_bytes([close[0], close[1]]), 1011);
        assert!(ticks >= 39, "the ticks kept flowing meanwhile: {ticks}");
        drop(peer);
        let error = server.await.unwrap().unwrap_err();
        assert!(error.contains("keepalive ping timeout"), "{error}");
    });
}
