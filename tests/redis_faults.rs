//! The Redis client against servers that misbehave: a tiny fake server on
//! loopback (an evloop `TcpListener` in the same runtime) answers each
//! command as the test scripts it — a reply cut off, bytes that are not RESP,
//! `-ERR`, a huge bulk, silence. Every fault must reach the caller whose
//! command met it as a clear error, every other command in flight on that
//! connection as a connection error, and nobody may get another's reply.
//!
//! Real clock (sockets); the only waits are the short response timeouts the
//! silence tests configure.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use evloop::net::{TcpListener, TcpStream};
use evloop::redis::{parse, Cmd, Config, Connection, Error, Limits, Multiplexed, Pool, Value};

/// What the fake server does with the n-th command of a connection.
enum Act {
    /// Write these bytes.
    Reply(Vec<u8>),
    /// Write these bytes, then close the connection.
    ReplyAndClose(Vec<u8>),
    /// Never answer (keep reading).
    Hang,
}

fn reply(bytes: &[u8]) -> Act {
    Act::Reply(bytes.to_vec())
}

/// A fake server on a free loopback port. `script(n, args)` decides what the
/// n-th command of each connection (counting from 0) gets.
async fn fake_server<F>(script: F) -> SocketAddr
where
    F: Fn(usize, &[Vec<u8>]) -> Act + Send + Sync + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let script = Arc::new(script);
    evloop::spawn(async move {
        while let Ok((conn, _)) = listener.accept().await {
            evloop::spawn(serve(conn, script.clone()));
        }
    });
    addr
}

async fn serve<F: Fn(usize, &[Vec<u8>]) -> Act>(mut conn: TcpStream, script: Arc<F>) {
    let (mut buf, mut n) = (Vec::new(), 0);
    let mut chunk = [0u8; 4096];
    loop {
        // Answer every whole command received so far, in order.
        while let Ok(Some((Value::Array(args), used))) = parse(&buf, &Limits::default()) {
            buf.drain(..used);
            let args: Vec<Vec<u8>> = args
                .into_iter()
                .map(|a| match a {
                    Value::Bulk(b) => b,
                    other => panic!("a command argument that is not a bulk string: {other:?}"),
                })
                .collect();
            match script(n, &args) {
                Act::Reply(bytes) => conn.write_all(&bytes).await.unwrap(),
                Act::ReplyAndClose(bytes) => {
                    conn.write_all(&bytes).await.unwrap();
                    // Close our side (FIN) but read on: closing a socket with
                    // unread commands in it would send a reset, and a reset
                    // can destroy replies the client has not read yet.
                    conn.shutdown().await.unwrap();
                    while matches!(conn.read(&mut chunk).await, Ok(1..)) {}
                    return;
                }
                Act::Hang => {}
            }
            n += 1;
        }
        match conn.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(k) => buf.extend_from_slice(&chunk[..k]),
        }
    }
}

fn quick() -> Config {
    Config {
        response_timeout: Duration::from_millis(200),
        ..Config::default()
    }
}

#[test]
fn a_server_that_closes_mid_reply_is_a_closed_error_and_the_connection_is_done() {
    evloop::run(async {
        let addr = fake_server(|_, _| Act::ReplyAndClose(b"$10\r\nhal".to_vec())).await;
        let mut conn = Connection::connect(addr).await.unwrap();
        let err = conn.get("k").await.unwrap_err();
        assert!(matches!(err, Error::Closed { mid_reply: true }), "{err}");
        assert_eq!(
            err.to_string(),
            "the server closed the connection in the middle of a reply"
        );
        assert!(conn.is_broken());
        let again = conn.get("k").await.unwrap_err();
        assert!(matches!(again, Error::Connection(_)), "{again}");
    });
}

#[test]
fn a_reply_that_is_not_resp_is_a_protocol_error() {
    evloop::run(async {
        let addr = fake_server(|_, _| reply(b"HTTP/1.1 400 Bad Request\r\n\r\n")).await;
        let mut conn = Connection::connect(addr).await.unwrap();
        let err = conn.get("k").await.unwrap_err();
        assert!(matches!(err, Error::Protocol(_)), "{err}");
        assert!(err.to_string().contains("'H'"), "{err}");
        assert!(conn.is_broken());
    });
}

#[test]
fn an_err_reply_goes_to_its_caller_and_the_connection_stays() {
    evloop::run(async {
        let addr = fake_server(|n, _| match n {
            0 => reply(b"-ERR boom\r\n"),
            _ => reply(b"+OK\r\n"),
        })
        .await;
        let mut conn = Connection::connect(addr).await.unwrap();
        let err = conn.set("k", "v").await.unwrap_err();
        assert!(matches!(&err, Error::Server(m) if m == "ERR boom"), "{err}");
        assert!(!conn.is_broken());
        conn.set("k", "v").await.unwrap();
    });
}

#[test]
fn a_silent_server_is_a_timeout() {
    evloop::run(async {
        let addr = fake_server(|_, _| Act::Hang).await;
        let mut conn = Connection::connect_with(addr, quick()).await.unwrap();
        let err = conn.get("k").await.unwrap_err();
        assert!(
            matches!(err, Error::Timeout(t) if t == Duration::from_millis(200)),
            "{err}"
        );
        // The reply may still come: this connection must not be reused.
        assert!(conn.is_broken());
    });
}

#[test]
fn a_bulk_over_the_limit_is_refused_before_it_is_read() {
    evloop::run(async {
        // Announces 100 MB and sends none of it: the header alone is refused.
        let addr = fake_server(|_, _| reply(b"$100000000\r\n")).await;
        let mut conn = Connection::connect(addr).await.unwrap();
        let err = conn.get("big").await.unwrap_err();
        assert!(
            matches!(
                err,
                Error::TooLarge {
                    what: "bulk string",
                    size: 100_000_000,
                    ..
                }
            ),
            "{err}"
        );
        assert_eq!(
            err.to_string(),
            "bulk string of 100000000 bytes is over the limit of 16777216"
        );
    });
}

/// Many tasks on one multiplexed connection; the server answers the first
/// command well and the second with garbage. The first caller has its reply,
/// the second the protocol error, every other a connection error; and the
/// connection refuses what comes after.
#[test]
fn on_a_shared_connection_the_fault_goes_to_its_command_and_the_rest_get_connection_errors() {
    evloop::run(async {
        let addr = fake_server(|n, _| match n {
            0 => reply(b"$5\r\nfirst\r\n"),
            _ => reply(b"?garbage\r\n"),
        })
        .await;
        let mux = Multiplexed::connect(addr).await.unwrap();
        let tasks: Vec<_> = (0..10)
            .map(|i| {
                let mux = mux.clone();
                evloop::spawn(async move { mux.get(format!("k{i}")).await })
            })
            .collect();
        let results: Vec<_> = evloop::join_all(tasks)
            .await
            .into_iter()
            .map(Result::unwrap)
            .collect();
        assert_eq!(mux.stats().writes, 1, "the ten GETs went out in one write");
        assert_eq!(results[0].as_ref().unwrap(), &Some(b"first".to_vec()));
        assert!(
            matches!(results[1], Err(Error::Protocol(_))),
            "{:?}",
            results[1]
        );
        for r in &results[2..] {
            assert!(
                matches!(r, Err(Error::Connection(why)) if why.contains("not a Redis reply")),
                "{r:?}"
            );
        }
        assert!(mux.is_broken());
        let after = mux.get("later").await.unwrap_err();
        assert!(matches!(after, Error::Connection(_)), "{after}");
    });
}

/// The server answers each GET with its own key, then closes after 60
/// replies. Each of 200 tasks gets its own key or an error, never another
/// task's key.
#[test]
fn no_task_ever_gets_another_tasks_reply() {
    evloop::run(async {
        let addr = fake_server(|n, args| {
            let key = &args[1];
            let bulk = [format!("${}\r\n", key.len()).as_bytes(), key, b"\r\n"].concat();
            if n == 59 {
                Act::ReplyAndClose(bulk)
            } else {
                Act::Reply(bulk)
            }
        })
        .await;
        let mux = Multiplexed::connect(addr).await.unwrap();
        let tasks = (0..200).map(|i| {
            let mux = mux.clone();
            evloop::spawn(async move { (i, mux.get(format!("key-{i}")).await) })
        });
        let (mut answered, mut failed) = (0, 0);
        for done in evloop::join_all(tasks).await {
            match done.unwrap() {
                (i, Ok(value)) => {
                    assert_eq!(value, Some(format!("key-{i}").into_bytes()));
                    answered += 1;
                }
                (_, Err(e)) => {
                    assert!(e.is_connection_error(), "{e}");
                    failed += 1;
                }
            }
        }
        assert_eq!((answered, failed), (60, 140));
    });
}

#[test]
fn a_silent_server_times_out_every_command_on_a_shared_connection() {
    evloop::run(async {
        let addr = fake_server(|_, _| Act::Hang).await;
        let mux = Multiplexed::connect_with(addr, quick()).await.unwrap();
        let tasks = (0..5).map(|i| {
            let mux = mux.clone();
            evloop::spawn(async move { mux.get(format!("k{i}")).await })
        });
        for done in evloop::join_all(tasks).await {
            let err = done.unwrap().unwrap_err();
            // The first to time out gives the connection up; the others are
            // told so (or time out themselves, if they got there first).
            assert!(
                matches!(err, Error::Timeout(_) | Error::Connection(_)),
                "{err}"
            );
        }
        assert!(mux.is_broken());
    });
}

#[test]
fn the_pool_replaces_a_connection_the_server_closed() {
    evloop::run(async {
        // Every connection answers one command, then the server closes it.
        let addr = fake_server(|_, _| Act::ReplyAndClose(b":1\r\n".to_vec())).await;
        let pool = Pool::new(addr, 2).unwrap();
        assert_eq!(
            pool.query(Cmd::new("INCR").arg("n")).await.unwrap(),
            Value::Int(1)
        );
        // The idle connection is closed by now; using it fails...
        let err = pool.incr("n").await.unwrap_err();
        assert!(err.is_connection_error(), "{err}"); // end of stream (or a reset)
                                                     // ...it is dropped, and the next command gets a fresh connection.
        assert_eq!(pool.incr("n").await.unwrap(), 1);
        assert_eq!(pool.opened(), 2);
    });
}

/// A command abandoned half-way (a `timeout` around it fired first) leaves
/// its reply on the wire, owed to nobody: the connection must not serve the
/// next caller, so the pool closes it instead of taking it back.
#[test]
fn a_command_cancelled_half_way_retires_its_connection() {
    evloop::run(async {
        let addr = fake_server(|_, _| Act::Hang).await;
        let pool = Pool::new(addr, 1).unwrap();
        let gave_up = evloop::time::timeout(Duration::from_millis(50), pool.get("k")).await;
        assert!(gave_up.is_err(), "the silent server answered?");
        assert_eq!((pool.opened(), pool.idle()), (1, 0));
        // The permit came back: the next command may open a fresh connection.
        let mut conn = pool.connection().await.unwrap();
        assert!(!conn.is_broken());
        assert_eq!(pool.opened(), 2);
        let _ = evloop::time::timeout(Duration::from_millis(50), conn.get("k")).await;
        assert!(conn.is_broken());
    });
}

/// The shared connection watches the oldest command it wrote, not a clock
/// started when the connection went idle: a command sent after a long quiet
/// spell gets its whole `response_timeout`, and a slow answer inside it is
/// an answer, not a timeout.
#[test]
fn a_command_after_a_quiet_spell_gets_its_whole_response_timeout() {
    evloop::run(async {
        // A server on a thread of its own: the first command is answered at
        // once, the second after 120 ms.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            use std::io::{Read, Write};
            let (mut conn, _) = listener.accept().unwrap();
            let mut chunk = [0u8; 256];
            for delay in [0, 120] {
                let _ = conn.read(&mut chunk).unwrap(); // one small command
                std::thread::sleep(Duration::from_millis(delay));
                conn.write_all(b":1\r\n").unwrap();
            }
            let _ = conn.read(&mut chunk); // until the client goes
        });
        let mux = Multiplexed::connect_with(addr, quick()).await.unwrap();
        assert_eq!(mux.incr("n").await.unwrap(), 1);
        // Quiet for 150 ms (most of the 200 ms): the reader's watch comes
        // round while nothing is owed.
        evloop::time::sleep(Duration::from_millis(150)).await;
        // 120 ms to answer is inside this command's own 200 ms.
        assert_eq!(mux.incr("n").await.unwrap(), 1);
        assert!(!mux.is_broken());
    });
}

mod workers;

/// Every test above again, on worker threads (`tests/workers/mod.rs`).
#[test]
fn on_workers() {
    // Their subject is the one event loop (a poll that blocks it, its turns).
    workers::rerun_on_workers(&[
        "on_a_shared_connection_the_fault_goes_to_its_command_and_the_rest_get_connection_errors",
    ]);
}
