//! What one WebSocket client can make the server hold, and for how long.
//!
//! The attack: send one 16 MiB message to an echo endpoint and never read
//! the echo. Before the limits, the server held the read buffer, the message
//! and the write buffer (~48 MiB) for as long as the client stayed connected.
//! Now the echo must be taken within `Config::send_timeout`, the buffers
//! shrink back once a message is handled, and `feed` will not queue past
//! `Config::max_write_buffer`.
//!
//! Everything runs on 127.0.0.1, bounded in time.

mod websocket_support;

use std::time::Duration;

use evloop::time::{timeout, Instant};
use evloop::websocket::{self, Config, Error, Message};
use websocket_support::*;

/// `/echo`'s limit in lesson 15, as the Autobahn cases need.
const BIG: usize = 16 << 20;

/// Between messages a connection keeps at most this much buffer memory (the
/// read buffer may keep up to 64 KiB, the write buffer as much).
const IDLE_AT_MOST: usize = 128 * 1024;

fn echo_config() -> Config {
    Config {
        max_message_size: BIG,
        ..Config::default()
    }
}

fn payload(len: usize) -> Vec<u8> {
    let mut data = vec![0u8; len];
    data.iter_mut()
        .enumerate()
        .for_each(|(i, b)| *b = (i % 251) as u8);
    data
}

#[test]
fn a_peer_that_never_reads_the_echo_is_dropped_after_the_send_timeout() {
    paused(|| async {
        let server_config = Config {
            // Only the send deadline under test may move the paused clock:
            // no frame or keepalive timer runs while the 16 MiB go up.
            frame_timeout: None,
            ping_interval: None,
            ..echo_config()
        };
        let send_timeout = server_config.send_timeout.unwrap();
        assert_eq!(send_timeout, Config::default().send_timeout.unwrap());
        let (addr, mut reports) = reporting_echo_server(server_config).await;
        let client_config = Config {
            frame_timeout: None,
            send_timeout: None,
            ping_interval: None,
            ..echo_config()
        };
        let mut client = websocket::connect_with_config(&format!("ws://{addr}/"), client_config)
            .await
            .unwrap();

        // One 16 MiB message up; then we never read. The server's echo fills
        // its send buffer and our receive buffer (a few MiB), and stalls.
        client.send(Message::Binary(payload(BIG))).await.unwrap();
        let sent = Instant::now();

        let Some(Report::Ended {
            result,
            capacity,
            at,
        }) = reports.recv().await
        else {
            panic!("the server never gave up on the echo");
        };
        // It gave up when the send timeout ran out, not before...
        let waited = at.duration_since(sent);
        assert!(
            waited >= send_timeout && waited < send_timeout + Duration::from_secs(1),
            "{waited:?}"
        );
        assert!(result.unwrap_err().contains("take what we sent"));
        // ...and holds none of the 16 MiB any more.
        assert_eq!(capacity, 0);

        // The connection is gone: we read what the kernel still had for us,
        // then the end of the stream — never the whole echo.
        assert!(client.recv().await.is_err());
    });
}

#[test]
fn a_large_echo_works_and_the_buffers_shrink_back_afterwards() {
    evloop::run(async {
        timeout(LIMIT, async {
            let (addr, mut reports) = reporting_echo_server(echo_config()).await;
            let mut client =
                websocket::connect_with_config(&format!("ws://{addr}/"), echo_config())
                    .await
                    .unwrap();

            let big = payload(BIG);
            client.send(Message::Binary(big.clone())).await.unwrap();
            assert_eq!(client.recv().await.unwrap(), Some(Message::Binary(big)));

            // Once the echo is written, the server's buffers are back to idle
            // size; so are ours, the message we got back having taken its
            // read buffer with it.
            let Some(Report::Echoed { capacity }) = reports.recv().await else {
                panic!("no echo report");
            };
            assert!(capacity <= IDLE_AT_MOST, "server holds {capacity} bytes");
            assert!(client.buffered_capacity() <= IDLE_AT_MOST);

            // And the connection goes on as usual.
            client.send(Message::Text("small".into())).await.unwrap();
            assert_eq!(
                client.recv().await.unwrap(),
                Some(Message::Text("small".into()))
            );
            let Some(Report::Echoed { capacity }) = reports.recv().await else {
                panic!("no echo report");
            };
            assert!(capacity <= IDLE_AT_MOST, "server holds {capacity} bytes");
            client.close(1000, "done").await.unwrap();
        })
        .await
        .expect("test timed out");
    });
}

#[test]
fn feed_stops_at_max_write_buffer_and_send_waits_for_room() {
    evloop::run(async {
        timeout(LIMIT, async {
            let (addr, _reports) = reporting_echo_server(Config::default()).await;
            let config = Config {
                max_write_buffer: 1000,
                ..Config::default()
            };
            let mut client = websocket::connect_with_config(&format!("ws://{addr}/"), config)
                .await
                .unwrap();
            let line = Message::Binary(vec![7; 600]);

            // The first message always fits; the second would pass 1000 bytes.
            client.feed(&line).unwrap();
            assert!(matches!(client.feed(&line), Err(Error::WriteBufferFull)));
            // `send` does not refuse: it writes what is queued, then its own.
            client.send(line.clone()).await.unwrap();
            assert_eq!(client.buffered(), 0);
            // An empty buffer takes even a message bigger than the limit.
            client.feed(&Message::Binary(vec![1; 5000])).unwrap();
            client.flush().await.unwrap();

            for expected in [600, 600, 5000] {
                let Some(Message::Binary(echo)) = client.recv().await.unwrap() else {
                    panic!("expected a binary echo");
                };
                assert_eq!(echo.len(), expected);
            }
        })
        .await
        .expect("test timed out");
    });
}

mod workers;

/// Every test above again, on worker threads (`tests/workers/mod.rs`).
#[test]
fn on_workers() {
    workers::rerun_on_workers(&[]);
}
