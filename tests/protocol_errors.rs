//! How the protocols say no: an HTTP status with a reason phrase, a WebSocket
//! close code with a reason. Each refusal is checked twice — the exact bytes
//! the peer receives, and the named error our side gets back
//! ([`http::Rejection`] and [`StatusCode`], [`CloseReason`] and [`CloseCode`]).
//!
//! Everything binds 127.0.0.1 port 0 and runs under a timeout.

mod websocket_support;

use std::net::SocketAddr;

use evloop::http::{self, Rejection, StatusCode};
use evloop::net::{TcpListener, TcpStream};
use evloop::sync::mpsc;
use evloop::time::timeout;
use evloop::websocket::{self, CloseCode, CloseReason, Config, Error};
use websocket_support::*;

fn run<F: std::future::Future>(test: F) -> F::Output {
    evloop::run(async move { timeout(LIMIT, test).await.expect("test timed out") })
}

/// A WebSocket server on bare streams (`server_handshake`, no HTTP server
/// around it) that reads one message per connection and reports how the
/// handshake and that first `recv` ended.
async fn server() -> (SocketAddr, mpsc::UnboundedReceiver<Result<(), Error>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = mpsc::unbounded_channel();
    evloop::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let tx = tx.clone();
            evloop::spawn(async move {
                let outcome = async {
                    let (mut ws, _request) =
                        websocket::server_handshake(stream, Config::default()).await?;
                    ws.recv().await.map(drop)
                };
                let _ = tx.send(outcome.await);
            });
        }
    });
    (addr, rx)
}

/// Everything the server sends until it closes the connection.
async fn read_to_end(stream: &mut TcpStream) -> Vec<u8> {
    let mut bytes = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return bytes,
            Ok(n) => bytes.extend_from_slice(&buf[..n]),
        }
    }
}

#[test]
fn a_refused_upgrade_answers_426_byte_for_byte_and_names_the_status() {
    run(async {
        let (addr, mut outcomes) = server().await;
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream
            .write_all(
                b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                  Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n",
            )
            .await
            .unwrap();
        // The wire: the status line by its RFC name, the version we do speak,
        // and a plain-text body that repeats the status.
        assert_eq!(
            String::from_utf8(read_to_end(&mut stream).await).unwrap(),
            "HTTP/1.1 426 Upgrade Required\r\n\
             Content-Type: text/plain; charset=utf-8\r\n\
             Sec-WebSocket-Version: 13\r\n\
             Content-Length: 21\r\n\
             Connection: close\r\n\r\n\
             426 Upgrade Required\n"
        );
        // Our side: a handshake error that says which status and why.
        let err = outcomes.recv().await.unwrap().unwrap_err();
        assert!(matches!(err, Error::Handshake(_)), "{err:?}");
        assert_eq!(
            err.to_string(),
            "WebSocket handshake failed: 426 Upgrade Required: only WebSocket version 13 is spoken here"
        );
    });
}

#[test]
fn each_broken_rule_closes_with_its_named_code_and_the_same_reason_bytes() {
    let text = |payload: &[u8]| client_frame(0x81, payload, true);
    let cases = [
        (
            client_frame(0x81, b"hi", false),
            CloseReason::new(CloseCode::ProtocolError, "client frames must be masked"),
        ),
        (
            text(b"\xff\xfe"),
            CloseReason::new(CloseCode::InvalidPayload, "text message is not valid UTF-8"),
        ),
        (
            text(&vec![b'x'; 64 * 1024 + 1]),
            CloseReason::new(CloseCode::MessageTooBig, "message larger than the limit"),
        ),
    ];
    run(async {
        let (addr, mut outcomes) = server().await;
        for (frame, expected) in cases {
            let mut stream = raw_upgrade(addr, "/").await;
            // The peer may stop reading once it has refused the frame.
            let _ = stream.write_all(&frame).await;
            let frames = read_frames_until_eof(&mut stream).await;
            // The wire: a close frame of the 2-byte code, then the reason.
            let mut payload = expected.code.as_u16().to_be_bytes().to_vec();
            payload.extend_from_slice(expected.reason.as_bytes());
            assert_eq!(frames, [(8, payload)], "{expected}");
            drop(stream);
            // Our side: the same code and reason, by name.
            match outcomes.recv().await.unwrap() {
                Err(Error::Protocol(why)) => assert_eq!(why, expected),
                other => panic!("{expected}: {other:?}"),
            }
        }
    });
}

#[test]
fn http_errors_map_to_the_statuses_rfc_9110_names() {
    let cases = [
        (
            http::Error::Malformed("x".into()),
            StatusCode::BAD_REQUEST,
            "400 Bad Request",
        ),
        (
            http::Error::Timeout,
            StatusCode::REQUEST_TIMEOUT,
            "408 Request Timeout",
        ),
        (
            http::Error::BodyTooLarge,
            StatusCode::CONTENT_TOO_LARGE,
            "413 Content Too Large",
        ),
        (
            http::Error::HeadTooLarge,
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "431 Request Header Fields Too Large",
        ),
        (
            http::Error::Unsupported("chunked"),
            StatusCode::NOT_IMPLEMENTED,
            "501 Not Implemented",
        ),
    ];
    for (error, status, line) in cases {
        assert_eq!(error.status(), Some(status.as_u16()), "{error}");
        assert_eq!(status.to_string(), line);
        assert_eq!(http::reason(status.as_u16()), status.reason());
    }
    let io = http::Error::Io(std::io::ErrorKind::ConnectionReset.into());
    assert_eq!(
        io.status(),
        None,
        "nobody is listening after a socket error"
    );
    let no = Rejection::new(StatusCode::BAD_REQUEST, "missing `Upgrade: websocket`");
    assert_eq!(no.response().status, 400);
    assert_eq!(no.response().body, b"400 Bad Request\n");
}

mod workers;

/// Every test above again, on worker threads (`tests/workers/mod.rs`).
#[test]
fn on_workers() {
    workers::rerun_on_workers(&[]);
}
