//! RFC 6455 on evloop, checked byte by byte: an echo server built from
//! `websocket::accept`, driven by a raw client that sends exactly the frames
//! a test wants — good ones, and every kind of bad one. Each bad frame must
//! get the right close code (1002 protocol error, 1007 bad UTF-8, 1009 too
//! big), never a panic or a hang.
//!
//! Everything binds 127.0.0.1 port 0 and runs under a timeout.

mod websocket_support;

use std::net::SocketAddr;
use std::time::Duration;

use evloop::http::Connection;
use evloop::net::{TcpListener, TcpStream};
use evloop::sync::mpsc;
use evloop::time::timeout;
use evloop::websocket::{self, accept_key, close_code, Config, Error, Message};
use websocket_support::*;

/// How the server side of one connection ended: `Ok(code)` for a clean close
/// (the peer's code), `Err(code)` when the server failed the connection.
type Outcome = Result<Option<u16>, String>;

/// An echo server; each connection's outcome is reported on the channel.
async fn echo_server(config: Config) -> (SocketAddr, mpsc::UnboundedReceiver<Outcome>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = mpsc::unbounded_channel();
    evloop::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let tx = tx.clone();
            evloop::spawn(async move {
                let mut conn = Connection::new(stream);
                let Ok(Some(request)) = conn.read_request().await else {
                    return;
                };
                let mut ws = match websocket::accept_with_config(conn, &request, config).await {
                    Ok(ws) => ws,
                    Err(e) => return drop(tx.send(Err(e.to_string()))),
                };
                let outcome = loop {
                    match ws.recv().await {
                        Ok(Some(message)) => {
                            if ws.send(message).await.is_err() {
                                break Err("send failed".to_string());
                            }
                        }
                        Ok(None) => break Ok(ws.close_frame().map(|c| c.code)),
                        Err(e) => break Err(e.to_string()),
                    }
                };
                let _ = tx.send(outcome);
            });
        }
    });
    (addr, rx)
}

fn run<F: std::future::Future>(test: F) -> F::Output {
    evloop::run(async move { timeout(LIMIT, test).await.expect("test timed out") })
}

#[test]
fn accept_key_matches_the_rfc() {
    assert_eq!(
        accept_key("dGhlIHNhbXBsZSBub25jZQ=="),
        "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
    );
}

#[test]
fn our_client_and_server_echo_text_and_binary_and_close_cleanly() {
    run(async {
        let (addr, mut outcomes) = echo_server(Config::default()).await;
        let mut ws = websocket::connect(&format!("ws://{addr}/")).await.unwrap();
        for message in [
            Message::Text("héllo, wörld".into()),
            Message::Binary(vec![0, 1, 2, 255]),
            Message::Text("x".repeat(70_000 / 2)), // 126-style length
            Message::Text(String::new()),
        ] {
            ws.send(message.clone()).await.unwrap();
            assert_eq!(ws.recv().await.unwrap(), Some(message));
        }
        // The close handshake: we send 1000, the server answers, then closes TCP.
        ws.close(close_code::NORMAL, "bye").await.unwrap();
        assert_eq!(ws.close_frame().map(|c| c.code), Some(close_code::NORMAL));
        assert_eq!(outcomes.recv().await, Some(Ok(Some(1000))));
        // After the close, sending is an error value, not a panic.
        assert!(matches!(
            ws.send(Message::Text("late".into())).await,
            Err(Error::Closed)
        ));
    });
}

#[test]
fn fragments_are_reassembled_and_pings_between_them_answered() {
    run(async {
        let (addr, _outcomes) = echo_server(Config::default()).await;
        let mut stream = raw_upgrade(addr, "/").await;
        // "héllo" in three fragments; the é (c3 a9) is split across two of them,
        // and a ping arrives in the middle of the message.
        let mut bytes = client_frame(0x01, b"h\xc3", true); // text, FIN clear
        bytes.extend(client_frame(0x89, b"are you there", true)); // ping, between fragments
        bytes.extend(client_frame(0x00, b"\xa9ll", true)); // continuation
        bytes.extend(client_frame(0x80, b"o", true)); // continuation, FIN
        bytes.extend(client_frame(0x88, &1000u16.to_be_bytes(), true)); // close
        stream.write_all(&bytes).await.unwrap();
        let frames = read_frames_until_eof(&mut stream).await;
        assert_eq!(
            frames[0],
            (0x0a, b"are you there".to_vec()),
            "the pong echoes the ping's payload"
        );
        assert_eq!(
            frames[1],
            (0x01, "héllo".as_bytes().to_vec()),
            "the whole message, echoed as one frame"
        );
        assert_eq!(
            close_code(&frames),
            Some(1000),
            "the close is answered with the same code"
        );
    });
}

#[test]
fn every_kind_of_bad_frame_gets_the_right_close_code() {
    let text = |payload: &[u8]| client_frame(0x81, payload, true);
    let too_big_header = {
        // Only the header of a 1 MiB frame: refused before the payload is sent.
        let mut h = vec![0x82, 0x80 | 127];
        h.extend_from_slice(&(1u64 << 20).to_be_bytes());
        h.extend_from_slice(&[1, 2, 3, 4]);
        h
    };
    let cases: Vec<(&str, Vec<u8>, u16)> = vec![
        (
            "an unmasked client frame",
            client_frame(0x81, b"hi", false),
            1002,
        ),
        ("a reserved opcode (3)", client_frame(0x83, b"", true), 1002),
        (
            "a reserved control opcode (11)",
            client_frame(0x8b, b"", true),
            1002,
        ),
        (
            "RSV1 set without an extension",
            client_frame(0xc1, b"hi", true),
            1002,
        ),
        ("invalid UTF-8 in a text frame", text(b"ok \xff\xfe"), 1007),
        ("a truncated UTF-8 sequence", text(b"\xe2\x82"), 1007),
        (
            "UTF-16 surrogate encoded in UTF-8",
            text(b"\xed\xa0\x80"),
            1007,
        ),
        ("a frame larger than the limit", too_big_header, 1009),
        (
            "a continuation with nothing to continue",
            client_frame(0x80, b"x", true),
            1002,
        ),
        ("a fragmented ping", client_frame(0x09, b"x", true), 1002),
        (
            "a ping longer than 125 bytes",
            client_frame(0x89, &[0; 126], true),
            1002,
        ),
        (
            "a close frame with a 1-byte payload",
            client_frame(0x88, &[3], true),
            1002,
        ),
        (
            "a close frame with reserved code 1005",
            client_frame(0x88, &1005u16.to_be_bytes(), true),
            1002,
        ),
        (
            "a close frame with unassigned code 2000",
            client_frame(0x88, &2000u16.to_be_bytes(), true),
            1002,
        ),
        (
            "a close reason that is not UTF-8",
            client_frame(0x88, &[0x03, 0xe8, 0xff], true),
            1007,
        ),
        (
            "a new message inside a fragmented one",
            [client_frame(0x01, b"a", true), text(b"b")].concat(),
            1002,
        ),
        (
            "fragments adding up past the limit",
            [
                client_frame(0x02, &[0; 40_000], true),
                client_frame(0x80, &[0; 40_000], true),
            ]
            .concat(),
            1009,
        ),
        (
            "bad UTF-8 in a later fragment",
            [
                client_frame(0x01, b"fine", true),
                client_frame(0x00, b"\xc0\xaf", true),
            ]
            .concat(),
            1007,
        ),
    ];
    run(async move {
        let (addr, mut outcomes) = echo_server(Config::default()).await;
        for (what, bytes, expected) in cases {
            let mut stream = raw_upgrade(addr, "/").await;
            stream.write_all(&bytes).await.unwrap();
            let frames = read_frames_until_eof(&mut stream).await;
            assert_eq!(
                close_code(&frames),
                Some(expected),
                "{what}: server sent {frames:?}"
            );
            drop(stream); // the server lingers until we close our side too
            let outcome = outcomes.recv().await.unwrap();
            assert!(
                outcome.unwrap_err().contains(&expected.to_string()),
                "{what}"
            );
        }
    });
}

#[test]
fn a_half_sent_frame_then_silence_is_dropped_after_the_frame_timeout() {
    run(async {
        let config = Config {
            frame_timeout: Some(Duration::from_millis(200)),
            ..Config::default()
        };
        let (addr, mut outcomes) = echo_server(config).await;
        let mut stream = raw_upgrade(addr, "/").await;
        let frame = client_frame(0x81, b"hello there", true);
        stream.write_all(&frame[..5]).await.unwrap(); // then nothing
        let start = std::time::Instant::now();
        let frames = read_frames_until_eof(&mut stream).await;
        assert!(frames.is_empty(), "{frames:?}");
        assert!(start.elapsed() < Duration::from_secs(5));
        assert!(outcomes
            .recv()
            .await
            .unwrap()
            .unwrap_err()
            .contains("silent"));
    });
}

#[test]
fn silence_between_messages_is_fine() {
    run(async {
        let config = Config {
            frame_timeout: Some(Duration::from_millis(100)),
            ..Config::default()
        };
        let (addr, _outcomes) = echo_server(config).await;
        let mut ws = websocket::connect(&format!("ws://{addr}/")).await.unwrap();
        evloop::time::sleep(Duration::from_millis(300)).await; // idle, but not mid-frame
        ws.send(Message::Text("still here".into())).await.unwrap();
        assert_eq!(
            ws.recv().await.unwrap(),
            Some(Message::Text("still here".into()))
        );
    });
}

#[test]
fn an_abrupt_disconnect_ends_the_server_side_with_an_error_not_a_hang() {
    run(async {
        let (addr, mut outcomes) = echo_server(Config::default()).await;
        let mut stream = raw_upgrade(addr, "/").await;
        stream
            .write_all(&client_frame(0x81, b"half", true)[..4])
            .await
            .unwrap();
        drop(stream);
        let outcome = outcomes.recv().await.unwrap();
        assert!(outcome.unwrap_err().contains("without a close frame"));
    });
}

#[test]
fn a_large_message_round_trips_when_the_limit_allows_it() {
    run(async {
        let big = Config {
            max_message_size: 4 << 20,
            ..Config::default()
        };
        let (addr, _outcomes) = echo_server(big).await;
        let mut ws = websocket::connect_with_config(&format!("ws://{addr}/"), big)
            .await
            .unwrap();
        let payload: Vec<u8> = (0..(3 << 20)).map(|i| (i % 251) as u8).collect();
        ws.send(Message::Binary(payload.clone())).await.unwrap();
        assert_eq!(ws.recv().await.unwrap(), Some(Message::Binary(payload)));
    });
}

#[test]
fn bad_upgrade_requests_get_http_errors() {
    run(async {
        let (addr, mut outcomes) = echo_server(Config::default()).await;
        for (request, status) in [
            ("GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n", "400"),
            ("GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n", "426"),
            ("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", "400"),
        ] {
            let mut stream = TcpStream::connect(addr).await.unwrap();
            stream.write_all(request.as_bytes()).await.unwrap();
            let mut response = Vec::new();
            let mut buf = [0u8; 1024];
            loop {
                match stream.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => response.extend_from_slice(&buf[..n]),
                }
            }
            let response = String::from_utf8_lossy(&response);
            assert!(response.starts_with(&format!("HTTP/1.1 {status}")), "{response}");
            assert!(outcomes.recv().await.unwrap().is_err());
        }
    });
}

#[test]
fn our_client_refuses_a_masked_server_frame() {
    run(async {
        // A "server" that answers the handshake, then sends a masked frame.
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        evloop::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let mut conn = Connection::new(stream);
            let request = conn.read_request().await.unwrap().unwrap();
            let key = request.header("sec-websocket-key").unwrap().to_string();
            let (mut stream, _) = conn.into_parts();
            let head = format!(
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n\r\n",
                accept_key(&key)
            );
            stream.write_all(head.as_bytes()).await.unwrap();
            stream
                .write_all(&client_frame(0x81, b"masked!", true))
                .await
                .unwrap();
            // Read the client's close frame, then close TCP as a server should.
            let mut buf = [0u8; 64];
            let _ = stream.read(&mut buf).await;
        });
        let mut ws = websocket::connect(&format!("ws://{addr}/")).await.unwrap();
        let err = ws.recv().await.unwrap_err();
        assert_eq!(err.close_code(), Some(1002), "{err}");
    });
}

#[test]
fn random_bytes_never_panic_or_hang_the_server() {
    // xorshift: the same "random" inputs every run, so a failure can be replayed.
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let inputs: Vec<Vec<u8>> = (0..200)
        .map(|round| {
            let len = (next() % 300) as usize;
            let noise: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            if round % 2 == 0 {
                noise
            } else {
                // A well-formed masked header of any opcode in front, so the
                // parser gets past the first byte before meeting the noise.
                let first = (next() as u8 & 0x8f) | if round % 4 == 1 { 0x80 } else { 0 };
                [client_frame(first, &noise[..len.min(40)], true), noise].concat()
            }
        })
        .collect();
    run(async move {
        let config = Config {
            frame_timeout: Some(Duration::from_millis(200)),
            close_timeout: Some(Duration::from_secs(1)),
            ..Config::default()
        };
        let (addr, mut outcomes) = echo_server(config).await;
        for bytes in inputs {
            let mut stream = raw_upgrade(addr, "/").await;
            stream.write_all(&bytes).await.unwrap();
            stream.shutdown().await.unwrap();
            let _ = read_frames_until_eof(&mut stream).await;
            drop(stream);
            // The connection's task ended and reported: no panic, no hang.
            assert!(outcomes.recv().await.is_some());
        }
    });
}

mod workers;

/// Every test above again, on worker threads (`tests/workers/mod.rs`).
#[test]
fn on_workers() {
    workers::rerun_on_workers(&[]);
}
