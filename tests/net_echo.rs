//! An echo server on evloop, pushed: a thousand clients at once, a 4 MB
//! payload byte for byte, the trace of a real exchange, and clean-up.
//!
//! Every test binds 127.0.0.1 port 0 (a free port) and runs under
//! `evloop::time::timeout`, so a lost wake-up fails the test instead of hanging it.

use std::io;
use std::time::Duration;

use evloop::net::{OwnedReadHalf, OwnedWriteHalf, TcpListener, TcpStream};
use evloop::time::timeout;

/// Long enough for a slow CI machine, short enough that a hang is noticed.
const LIMIT: Duration = Duration::from_secs(30);

/// Echo everything back until the client closes its side.
async fn echo(mut stream: TcpStream) -> io::Result<u64> {
    let mut buf = vec![0u8; 16 * 1024];
    let mut total = 0;
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(total); // end of stream: dropping `stream` closes our side too
        }
        stream.write_all(&buf[..n]).await?;
        total += n as u64;
    }
}

/// Accept forever, one task per client. Aborted (dropped) by the test when done.
async fn serve(listener: TcpListener) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                // An echo that fails shows up as a failing client.
                evloop::spawn(echo(stream));
            }
            Err(e) => panic!("accept failed: {e}"),
        }
    }
}

#[test]
fn a_thousand_clients_at_once() {
    let rt = evloop::Runtime::new().unwrap();
    rt.block_on(async {
        timeout(LIMIT, async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let server = evloop::spawn(serve(listener));

            // All clients are tasks on the same loop as the server: 1,000
            // connects in flight at once, then 1,000 conversations interleaved.
            let clients = (0..1000).map(|i| {
                evloop::spawn(async move {
                    // Say which step failed: "read: Connection reset by peer".
                    let ctx = |what: &'static str| {
                        move |e: io::Error| io::Error::new(e.kind(), format!("{what}: {e}"))
                    };
                    let mut stream = TcpStream::connect(addr).await.map_err(ctx("connect"))?;
                    let message = format!("client {i} says hello\n").repeat(1 + i % 7);
                    stream
                        .write_all(message.as_bytes())
                        .await
                        .map_err(ctx("write"))?;
                    stream.shutdown().await.map_err(ctx("shutdown"))?; // "that is all": the server sees end of stream
                    let mut reply = Vec::new();
                    let mut buf = [0u8; 256];
                    loop {
                        let n = stream.read(&mut buf).await.map_err(ctx("read"))?;
                        if n == 0 {
                            break;
                        }
                        reply.extend_from_slice(&buf[..n]);
                    }
                    assert_eq!(
                        reply,
                        message.as_bytes(),
                        "client {i} got someone else's bytes"
                    );
                    Ok::<_, io::Error>(())
                })
            });
            let results = evloop::join_all(clients).await;
            for (i, r) in results.into_iter().enumerate() {
                r.unwrap_or_else(|e| panic!("client {i} task failed: {e}"))
                    .unwrap_or_else(|e| panic!("client {i}: {e}"));
            }
            server.abort();
        })
        .await
        .expect("1,000 echo clients did not finish in time");
    });
    let m = rt.metrics();
    assert!(
        m.io_events >= 1000,
        "every connection needs at least one I/O event, saw {}",
        m.io_events
    );
}

/// 4 MB through the echo server, written by one task while another reads:
/// the send and receive buffers fill up, so both sides see many partial
/// reads and writes and wait for many edges.
#[test]
fn four_megabytes_arrive_byte_for_byte() {
    const SIZE: usize = 4 * 1024 * 1024;
    // A pattern that is not periodic in any small power of two, so a chunk
    // delivered twice or out of order would be caught.
    let payload: Vec<u8> = (0..SIZE).map(|i| (i * 7 + i / 251) as u8).collect();

    let received = evloop::run(async {
        timeout(LIMIT, async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let server = evloop::spawn(async move {
                let (stream, _) = listener.accept().await.unwrap();
                echo(stream).await.unwrap()
            });

            let (read_half, write_half) = TcpStream::connect(addr).await.unwrap().into_split();
            let to_send = payload.clone();
            let writer = evloop::spawn(async move {
                let mut write_half: OwnedWriteHalf = write_half;
                // One call, 4 MB: write_all waits for room again and again.
                write_half.write_all(&to_send).await.unwrap();
                // Dropping the write half sends FIN: the echo task sees end of stream.
            });
            let reader = evloop::spawn(async move {
                let mut read_half: OwnedReadHalf = read_half;
                let mut got = Vec::with_capacity(SIZE);
                let mut buf = vec![0u8; 64 * 1024];
                loop {
                    let n = read_half.read(&mut buf).await.unwrap();
                    if n == 0 {
                        return got;
                    }
                    got.extend_from_slice(&buf[..n]);
                }
            });
            writer.await.unwrap();
            let echoed = server.await.unwrap();
            assert_eq!(echoed, SIZE as u64);
            reader.await.unwrap()
        })
        .await
        .expect("the 4 MB echo did not finish in time")
    });
    assert_eq!(received.len(), SIZE);
    assert!(
        received == payload,
        "the echoed bytes differ from the ones sent"
    );
}

/// The ecosystem's helpers work on our sockets through `futures_io`:
/// `futures_util::io::copy` is an echo server in one line.
#[test]
fn futures_io_traits_work_with_futures_util() {
    use futures_util::io::{AsyncReadExt, AsyncWriteExt};

    evloop::run(async {
        timeout(LIMIT, async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            evloop::spawn(async move {
                let (stream, _) = listener.accept().await.unwrap();
                let (mut r, mut w) = stream.into_split();
                futures_util::io::copy(&mut r, &mut w).await.unwrap();
            });
            let mut client = TcpStream::connect(addr).await.unwrap();
            AsyncWriteExt::write_all(&mut client, b"through futures-util")
                .await
                .unwrap();
            client.close().await.unwrap(); // AsyncWrite::poll_close: shutdown(Write)
            let mut back = String::new();
            client.read_to_string(&mut back).await.unwrap();
            assert_eq!(back, "through futures-util");
        })
        .await
        .unwrap();
    });
}

/// The trace shows the reactor at work: I/O events, and wakes whose cause is a socket.
#[test]
fn io_events_show_in_the_trace_and_metrics() {
    let rt = evloop::Runtime::builder().trace(true).build().unwrap();
    rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = evloop::task::Builder::new()
            .name("server")
            .spawn(async move {
                let (mut stream, _) = listener.accept().await.unwrap();
                let mut buf = [0u8; 5];
                stream.read_exact(&mut buf).await.unwrap();
                stream.write_all(&buf).await.unwrap();
            });
        let mut client = TcpStream::connect(addr).await.unwrap();
        // Let the server reach its read and wait there, so a real edge wakes it.
        evloop::time::sleep(Duration::from_millis(20)).await;
        client.write_all(b"hello").await.unwrap();
        let mut buf = [0u8; 5];
        client.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"hello");
        server.await.unwrap();
    });
    let timeline = rt.trace().timeline();
    assert!(
        timeline.contains("io     io#"),
        "no I/O event in:\n{timeline}"
    );
    assert!(
        timeline.contains("wake   server ← io#"),
        "the server was never woken by a socket:\n{timeline}"
    );
    assert!(rt.metrics().io_events > 0);
}

/// A refused connection is an error at once, never a hang.
#[test]
fn connect_to_a_closed_port_is_refused() {
    // Bind and drop a std listener: its port is now (almost surely) closed.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let err = evloop::run(async {
        timeout(LIMIT, TcpStream::connect(("127.0.0.1", port)))
            .await
            .expect("connect hung")
            .unwrap_err()
    });
    assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused, "{err}");
    assert!(
        err.to_string().contains(&port.to_string()),
        "the error names the address: {err}"
    );
}

/// Sockets deregister when dropped: afterwards the reactor holds nothing, so
/// a stepping turn with nothing to do returns at once instead of parking forever.
#[test]
fn dropped_sockets_leave_the_reactor() {
    let rt = evloop::Runtime::new().unwrap();
    let addr = rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let client = TcpStream::connect(addr).await.unwrap();
        let (server_side, _) = listener.accept().await.unwrap();
        let (r, w) = server_side.into_split();
        drop((client, r, w, listener));
        addr
    });
    let turn = rt.turn(); // would park forever if a source were still registered
    assert_eq!(turn.io_events, 0);
    // And the listener really is closed.
    let refused = rt
        .block_on(timeout(LIMIT, TcpStream::connect(addr)))
        .unwrap();
    assert!(refused.is_err());
}

/// `bind` and `connect` take anything `ToSocketAddrs` takes.
#[test]
fn addresses_in_every_shape() {
    evloop::run(async {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let a = TcpStream::connect(addr).await.unwrap();
        let b = TcpStream::connect(format!("127.0.0.1:{}", addr.port()))
            .await
            .unwrap();
        let c = TcpStream::connect(("localhost", addr.port())).await;
        for s in [a, b] {
            assert_eq!(s.peer_addr().unwrap(), addr);
            s.set_nodelay(true).unwrap();
            assert!(s.nodelay().unwrap());
        }
        // "localhost" may resolve to ::1 first; connect tries each address in turn.
        assert!(c.is_ok(), "{c:?}");
        let bad = TcpListener::bind("not an address").await;
        assert!(bad.is_err());
    });
}

mod workers;

/// Every test above again, on worker threads (`tests/workers/mod.rs`).
#[test]
fn on_workers() {
    // Their subject is the one event loop (a poll that blocks it, its turns).
    workers::rerun_on_workers(&["dropped_sockets_leave_the_reactor"]);
}
