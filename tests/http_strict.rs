//! The server is strict where a lenient server can be tricked: framing
//! (`Content-Length`), the end of a connection (`Connection`), the body a
//! client is waiting to send (`Expect`), and the request target.
//!
//! Each test speaks raw bytes over a loopback socket, as an attacker (or an
//! unusual but honest client) would. Every test binds 127.0.0.1 port 0, runs
//! the server as a task in the same runtime, gives the server a short read
//! timeout (so a server that wrongly waits ends the test instead of hanging
//! it) and bounds the whole test with a timeout.

use std::net::SocketAddr;
use std::time::Duration;

use evloop::http::{self, Limits, Request, Response};
use evloop::net::{TcpListener, TcpStream};
use evloop::time::timeout;

async fn handler(req: Request) -> Response {
    match (req.method.as_str(), req.path_only()) {
        ("GET", p) if p.starts_with("/hello/") => Response::text(format!("Hello, {}!", &p[7..])),
        ("GET", "/host") => Response::text(req.header("host").unwrap_or("none").to_string()),
        ("POST", "/echo") => Response::new(200).body(req.body),
        (_, "/echo") => Response::method_not_allowed(&["POST"]),
        _ => Response::error(404),
    }
}

/// A server whose read timeout is short: a server that waits for bytes that
/// never come answers `408` within 5 s, so a wrong wait shows as a wrong
/// answer, not as a hung test.
async fn start() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let limits = Limits {
        max_body: 1024,
        read_timeout: Some(Duration::from_secs(5)),
        ..Limits::default()
    };
    evloop::spawn(http::serve_with(listener, limits, handler));
    addr
}

/// Read until the server closes; return what it said.
async fn read_to_close(s: &mut TcpStream) -> String {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Send raw bytes, read until the server closes.
async fn raw(addr: SocketAddr, bytes: &[u8]) -> String {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(bytes).await.unwrap();
    read_to_close(&mut s).await
}

/// How many responses a reply holds (status lines).
fn responses(reply: &str) -> usize {
    reply.matches("HTTP/1.1 ").count()
}

fn run<F: std::future::Future>(f: F) -> F::Output {
    evloop::run(async {
        timeout(Duration::from_secs(20), f)
            .await
            .expect("test timed out")
    })
}

/// Two `Content-Length`s that disagree are the classic smuggling opening: a
/// proxy in front may frame by the second, the server by the first, and the
/// bytes one of them calls "body" become a request the other never checked.
/// RFC 9112 §6.3: that is an unrecoverable error — `400`, and close.
#[test]
fn two_different_content_lengths_are_refused_and_nothing_more_is_served() {
    run(async {
        let addr = start().await;
        let smuggled = b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 47\r\n\r\nhiGET /hello/smuggled HTTP/1.1\r\nHost: x\r\n\r\n";
        let reply = raw(addr, smuggled).await;
        assert!(reply.starts_with("HTTP/1.1 400 Bad Request"), "{reply}");
        assert!(!reply.contains("smuggled"), "{reply}");
        assert_eq!(responses(&reply), 1, "{reply}");
        // The same within one header line, as a list.
        let listed = b"POST /echo HTTP/1.1\r\nContent-Length: 2, 3\r\n\r\nhi!";
        assert!(raw(addr, listed).await.starts_with("HTTP/1.1 400"));
    });
}

/// A list of *identical* lengths may be accepted (some proxies merge
/// duplicated headers that way): it frames the body one way only.
#[test]
fn identical_content_lengths_frame_one_body() {
    run(async {
        let addr = start().await;
        for head in [
            "Content-Length: 2, 2",
            "Content-Length: 2\r\nContent-Length: 2",
        ] {
            let request = format!("POST /echo HTTP/1.1\r\n{head}\r\nConnection: close\r\n\r\nhi");
            let reply = raw(addr, request.as_bytes()).await;
            assert!(reply.starts_with("HTTP/1.1 200 OK"), "{head}: {reply}");
            assert!(reply.ends_with("\r\n\r\nhi"), "{head}: {reply}");
        }
    });
}

/// `Content-Length = 1*DIGIT`: no sign, no spaces inside, no hex, nothing
/// empty. Rust's `"+2".parse::<usize>()` is `Ok(2)`, so "parse it as a
/// number" is not the same rule — and another parser that disagrees about
/// `+2` is a smuggling opening again.
#[test]
fn a_content_length_that_is_not_all_digits_is_refused() {
    run(async {
        let addr = start().await;
        for value in ["+2", "-2", "2 2", "0x2", "", "2,", " ,2", "２"] {
            let request = format!("POST /echo HTTP/1.1\r\nContent-Length: {value}\r\n\r\nhi");
            let reply = raw(addr, request.as_bytes()).await;
            assert!(reply.starts_with("HTTP/1.1 400"), "{value:?}: {reply}");
            assert_eq!(responses(&reply), 1, "{value:?}: {reply}");
        }
    });
}

/// `Connection` is a comma-separated list of tokens, in any case:
/// `close, TE` means close. A server that compares the whole value with
/// `"close"` keeps the connection open and answers whatever comes next.
#[test]
fn connection_close_is_found_in_a_token_list_in_any_case() {
    run(async {
        let addr = start().await;
        for value in ["close, TE", "TE, Close", "keep-alive, CLOSE"] {
            let request = format!(
                "GET /hello/first HTTP/1.1\r\nConnection: {value}\r\n\r\nGET /hello/second HTTP/1.1\r\n\r\n"
            );
            let reply = raw(addr, request.as_bytes()).await;
            assert!(reply.contains("Hello, first!"), "{value}: {reply}");
            assert!(reply.contains("Connection: close"), "{value}: {reply}");
            assert!(!reply.contains("second"), "{value}: {reply}");
        }
        // HTTP/1.0 closes unless `keep-alive` is among the tokens.
        let request = b"GET /hello/a HTTP/1.0\r\nConnection: TE, Keep-Alive\r\n\r\nGET /hello/b HTTP/1.0\r\n\r\n";
        let reply = raw(addr, request).await;
        assert!(
            reply.contains("Hello, a!") && reply.contains("Hello, b!"),
            "{reply}"
        );
    });
}

/// `Expect: 100-continue`: the client sends the head and waits (curl waits a
/// second) for `100 Continue` before the body. A server that just reads
/// the body leaves both waiting; this one answers at once.
#[test]
fn expect_100_continue_is_answered_before_the_body_is_read() {
    run(async {
        let addr = start().await;
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(b"POST /echo HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 4\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut buf = [0u8; 256];
        // Well inside the server's 5 s read timeout: a server that waits for
        // the body answers nothing in this time.
        let n = timeout(Duration::from_secs(3), s.read(&mut buf))
            .await
            .expect("no 100 Continue: the server is waiting for the body")
            .unwrap();
        assert_eq!(&buf[..n], b"HTTP/1.1 100 Continue\r\n\r\n");
        s.write_all(b"ping").await.unwrap();
        let reply = read_to_close(&mut s).await;
        assert!(reply.starts_with("HTTP/1.1 200 OK"), "{reply}");
        assert!(reply.ends_with("ping"), "{reply}");
    });
}

/// A body the server would refuse anyway gets its final status *instead of*
/// `100 Continue`: the client never sends it.
#[test]
fn expect_100_continue_with_a_body_too_large_gets_413_and_no_100() {
    run(async {
        let addr = start().await;
        let reply = raw(
            addr,
            b"POST /echo HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 5000\r\n\r\n",
        )
        .await;
        assert!(reply.starts_with("HTTP/1.1 413"), "{reply}");
        assert!(!reply.contains("100 Continue"), "{reply}");
    });
}

/// A request target over 8 KiB gets `414 URI Too Long` — also when it is
/// longer than the whole head limit, and before the rest of the line arrives.
#[test]
fn an_over_long_request_target_gets_414() {
    run(async {
        let addr = start().await;
        for len in [10_000, 20_000] {
            let request = format!("GET /hello/{} HTTP/1.1\r\n\r\n", "a".repeat(len));
            let reply = raw(addr, request.as_bytes()).await;
            assert!(
                reply.starts_with("HTTP/1.1 414 URI Too Long"),
                "{len}: {reply}"
            );
        }
        // Only the first 9 KiB of the line, and then silence: answered at once,
        // not after the read timeout (the test's 3 s bound is inside it).
        let mut s = TcpStream::connect(addr).await.unwrap();
        let start = format!("GET /{}", "a".repeat(9 * 1024));
        s.write_all(start.as_bytes()).await.unwrap();
        let reply = timeout(Duration::from_secs(3), read_to_close(&mut s))
            .await
            .expect("the server waited for the rest of an over-long line");
        assert!(reply.starts_with("HTTP/1.1 414"), "{reply}");
    });
}

/// `405 Method Not Allowed` must say which methods are allowed (RFC 9110
/// §15.5.6): `Allow: POST`.
#[test]
fn method_not_allowed_names_the_allowed_methods() {
    run(async {
        let addr = start().await;
        let reply = raw(addr, b"GET /echo HTTP/1.1\r\nConnection: close\r\n\r\n").await;
        assert!(reply.starts_with("HTTP/1.1 405"), "{reply}");
        assert!(reply.contains("\r\nAllow: POST\r\n"), "{reply}");
    });
}

/// A request may name the whole URL (`GET http://host/path`, the form
/// proxies receive; RFC 9112 §3.2.2 says servers must accept it). It is
/// routed by its path, and its host replaces the `Host` header.
#[test]
fn absolute_form_targets_are_routed_by_their_path() {
    run(async {
        let addr = start().await;
        let reply = raw(
            addr,
            b"GET http://example.com/hello/abs?x=1 HTTP/1.1\r\nHost: other\r\n\r\nGET HTTP://Example.com:8080/host HTTP/1.1\r\nHost: other\r\nConnection: close\r\n\r\n",
        )
        .await;
        assert!(reply.contains("Hello, abs!"), "{reply}");
        assert!(reply.ends_with("\r\n\r\nExample.com:8080"), "{reply}");
    });
}

/// Both framings at once (`Transfer-Encoding` and `Content-Length`) is the
/// other classic smuggling request: refused, and the connection closed.
#[test]
fn transfer_encoding_with_content_length_is_refused_and_closed() {
    run(async {
        let addr = start().await;
        let reply = raw(
            addr,
            b"POST /echo HTTP/1.1\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /hello/smuggled HTTP/1.1\r\n\r\n",
        )
        .await;
        assert!(reply.starts_with("HTTP/1.1 501"), "{reply}");
        assert_eq!(responses(&reply), 1, "{reply}");
    });
}

/// The absolute form, without I/O: the path is what routes see (`/` when
/// the URL has none), the URL's host is the `Host`, other schemes and the
/// usual origin form are left alone.
#[test]
fn parse_head_reduces_an_absolute_form_target_to_its_path() {
    let limits = Limits::default();
    let parse = |target: &str| {
        let bytes = format!("GET {target} HTTP/1.1\r\nHost: h\r\n\r\n");
        let head = http::parse_head(bytes.as_bytes(), &limits)
            .unwrap()
            .unwrap();
        let host = head.request.header("host").unwrap().to_string();
        (head.request.path, host)
    };
    assert_eq!(parse("http://a.example"), ("/".into(), "a.example".into()));
    assert_eq!(
        parse("https://a.example:1?q"),
        ("/?q".into(), "a.example:1".into())
    );
    assert_eq!(
        parse("http://u@a.example/p"),
        ("/p".into(), "a.example".into())
    );
    assert_eq!(parse("/http://x"), ("/http://x".into(), "h".into()));
    assert_eq!(parse("ftp://a/p"), ("ftp://a/p".into(), "h".into()));
    assert_eq!(
        http::Error::UriTooLong.to_string(),
        "request target longer than the limit"
    );
    assert_eq!(http::Error::UriTooLong.status(), Some(414));
}

mod workers;

/// Every test above again, on worker threads (`tests/workers/mod.rs`).
#[test]
fn on_workers() {
    workers::rerun_on_workers(&[]);
}
