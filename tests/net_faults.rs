//! Peers misbehave: they vanish mid-message, reset the connection, close
//! early, send garbage or a line that never ends. Each gives a clean
//! `io::Error` or `Ok(0)` on our side — never a panic, never a hang — and the
//! server goes on serving everyone else.
//!
//! Every test binds 127.0.0.1 port 0 and runs under `evloop::time::timeout`.

use std::io::{self, Write as _};
use std::net::SocketAddr;
use std::time::Duration;

use evloop::net::{BufReader, TcpListener, TcpStream};
use evloop::time::{sleep, timeout};

const LIMIT: Duration = Duration::from_secs(20);

/// Run `body` on a fresh runtime, failing the test if it takes longer than `LIMIT`.
fn run_bounded<F: std::future::Future>(body: F) -> F::Output {
    evloop::run(async { timeout(LIMIT, body).await.expect("the test hung") })
}

/// Make dropping `stream` send RST instead of FIN (SO_LINGER with a zero
/// timeout): the abrupt "connection reset" a crashed peer produces.
fn reset_on_drop(stream: &impl std::os::fd::AsFd) {
    socket2::SockRef::from(stream)
        .set_linger(Some(Duration::ZERO))
        .unwrap();
}

/// A listener and a connected pair (client, server side of the same connection).
async fn pair() -> (TcpListener, TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap())
        .await
        .unwrap();
    let (server, _) = listener.accept().await.unwrap();
    (listener, client, server)
}

fn is_reset(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionReset
            | io::ErrorKind::BrokenPipe
            | io::ErrorKind::ConnectionAborted
    )
}

#[test]
fn a_client_that_vanishes_mid_message_is_an_unexpected_eof() {
    run_bounded(async {
        let (_listener, mut client, mut server) = pair().await;
        client.write_all(b"only ten b").await.unwrap();
        drop(client); // gone, 10 bytes into a 100-byte message
        let mut message = [0u8; 100];
        let err = server.read_exact(&mut message).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
        assert!(
            err.to_string().contains("10 of 100"),
            "the error says how far it got: {err}"
        );
    });
}

#[test]
fn reading_after_the_peer_closed_gives_zero_every_time() {
    run_bounded(async {
        let (_listener, mut client, mut server) = pair().await;
        client.write_all(b"bye").await.unwrap();
        client.shutdown().await.unwrap(); // FIN: "I have nothing more to say"
        let mut buf = [0u8; 16];
        assert_eq!(server.read(&mut buf).await.unwrap(), 3);
        // End of stream is sticky: every later read says 0 at once, no waiting.
        for _ in 0..3 {
            assert_eq!(server.read(&mut buf).await.unwrap(), 0);
        }
        // Half-closed, not closed: the server can still answer.
        server.write_all(b"ok").await.unwrap();
        let mut reply = [0u8; 2];
        client.read_exact(&mut reply).await.unwrap();
        assert_eq!(&reply, b"ok");

        // Once the client is gone completely, writing fails — soon, cleanly.
        drop(client);
        let mut result = Ok(());
        for _ in 0..100 {
            result = server.write_all(&[0u8; 1024]).await;
            if result.is_err() {
                break;
            }
            sleep(Duration::from_millis(5)).await; // let the RST come back
        }
        let err = result.expect_err("writing to a closed peer kept succeeding");
        assert!(is_reset(&err), "{err}");
    });
}

#[test]
fn a_reset_connection_is_an_error_not_a_panic() {
    run_bounded(async {
        let (_listener, client, mut server) = pair().await;
        reset_on_drop(&client);
        drop(client); // RST
        let mut buf = [0u8; 16];
        // Waiting in `read` when the reset arrives: the reactor wakes us with an error event.
        match server.read(&mut buf).await {
            Ok(0) => {}
            Ok(n) => panic!("read {n} bytes from a reset connection"),
            Err(e) => assert!(is_reset(&e), "{e}"),
        }
        let err = server.write_all(b"anyone there?").await.unwrap_err();
        assert!(is_reset(&err), "{err}");
        // The socket stays usable as a value: asking again is still a clean answer.
        assert!(server.read(&mut buf).await.map(|n| n == 0).unwrap_or(true));
    });
}

/// A writer blocked on a full send buffer must be woken when the peer goes
/// away, or it would wait forever for room that never comes.
#[test]
fn a_blocked_writer_learns_that_the_reader_is_gone() {
    run_bounded(async {
        let (_listener, client, mut server) = pair().await;
        let reader_gone = evloop::spawn(async move {
            sleep(Duration::from_millis(100)).await; // long enough for the writer to fill the buffers
            reset_on_drop(&client);
            drop(client); // never read a byte
        });
        let big = vec![7u8; 32 * 1024 * 1024];
        let err = server
            .write_all(&big)
            .await
            .expect_err("32 MB fit into a peer that never reads?");
        assert!(is_reset(&err), "{err}");
        reader_gone.await.unwrap();
    });
}

#[test]
fn lines_too_long_or_not_utf8_are_invalid_data_and_reading_goes_on() {
    run_bounded(async {
        let (_listener, mut client, server) = pair().await;
        let mut lines = BufReader::new(server).max_line_length(1024).lines();
        client.write_all(b"\xff\xfe not utf-8\n").await.unwrap();
        client.write_all(b"fine\n").await.unwrap();
        client.write_all(&[b'x'; 5000]).await.unwrap();
        client.write_all(b"\nafter\n").await.unwrap();
        drop(client);

        let err = lines.next_line().await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert_eq!(lines.next_line().await.unwrap().as_deref(), Some("fine"));
        let err = lines.next_line().await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData, "{err}");
        assert!(err.to_string().contains("1024"), "{err}");
        // The rest of the over-long line is still in the stream; a server would
        // close the connection here. Reading on, we find where it ends.
        let mut rest = Vec::new();
        while let Some(line) = lines.next_line().await.unwrap() {
            rest.push(line);
        }
        assert_eq!(rest.last().map(String::as_str), Some("after"));
    });
}

/// `next_line` is cancel-safe: a timeout that drops it mid-line loses nothing.
#[test]
fn a_line_cut_short_by_a_timeout_is_kept_for_the_next_call() {
    run_bounded(async {
        let (_listener, mut client, server) = pair().await;
        let mut lines = BufReader::new(server).lines();
        client.write_all(b"hel").await.unwrap();
        let early = timeout(Duration::from_millis(50), lines.next_line()).await;
        assert!(early.is_err(), "no newline yet, so no line yet");
        client.write_all(b"lo\r\n").await.unwrap();
        assert_eq!(lines.next_line().await.unwrap().as_deref(), Some("hello"));
    });
}

/// One server, many kinds of bad client at once, plus good ones: the good
/// ones are all served, and the server task is still running at the end.
#[test]
fn the_server_outlives_its_worst_clients() {
    run_bounded(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = evloop::spawn(async move {
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                // A line-echo service: "PING x" → "PONG x". Its errors end its
                // own connection, nothing else.
                evloop::spawn(async move {
                    let (read, mut write) = stream.into_split();
                    let mut lines = BufReader::new(read).max_line_length(4096).lines();
                    while let Some(line) = lines.next_line().await? {
                        let reply = line.replacen("PING", "PONG", 1);
                        write.write_all(format!("{reply}\n").as_bytes()).await?;
                    }
                    Ok::<(), io::Error>(())
                });
            }
        });

        // Bad clients run on plain threads with std sockets, so they misbehave
        // truly in parallel with the loop.
        let bad: Vec<_> = (0..20)
            .map(|i| std::thread::spawn(move || bad_client(addr, i)))
            .collect();
        let good = (0..50).map(|i| async move {
            let mut stream = TcpStream::connect(addr).await?;
            stream.write_all(format!("PING {i}\n").as_bytes()).await?;
            let mut lines = BufReader::new(stream).lines();
            lines.next_line().await
        });
        let answers = evloop::join_all(good).await;
        for (i, answer) in answers.into_iter().enumerate() {
            assert_eq!(answer.unwrap(), Some(format!("PONG {i}")));
        }
        for b in bad {
            // Wait for the threads without blocking the loop for long.
            while !b.is_finished() {
                sleep(Duration::from_millis(5)).await;
            }
            b.join().unwrap();
        }
        assert!(!server.is_finished(), "the accept loop died");
        server.abort();
    });
}

/// Five ways to be a bad client.
fn bad_client(addr: SocketAddr, i: usize) {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    match i % 5 {
        0 => {} // connect and vanish at once
        1 => {
            let _ = s.write_all(b"PING half a li"); // vanish mid-line
        }
        2 => {
            let _ = s.write_all(b"PING reset\nPING\n");
            reset_on_drop(&s); // RST, maybe before the replies are read
        }
        3 => {
            let _ = s.write_all(&[b'A'; 64 * 1024]); // a line that never ends
        }
        _ => {
            let _ = s.write_all(b"\xc3\x28 bad utf-8\n"); // garbage
        }
    }
}

mod workers;

/// Every test above again, on worker threads (`tests/workers/mod.rs`).
#[test]
fn on_workers() {
    workers::rerun_on_workers(&[]);
}
