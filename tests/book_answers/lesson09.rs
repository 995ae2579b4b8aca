//! Lesson 09's exercises: idle clients, one client at a time, and ports.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use evloop::net::{TcpListener, TcpStream};
use evloop::time::{sleep, timeout, Instant};

use crate::{paused, secs};

const GREETING: &[u8] = b"Hello, world!\n";

// ANCHOR: ex1
/// Lesson 09's `handle_client`, its read wrapped in a 5 s `timeout`.
async fn handle_client(mut stream: TcpStream) -> io::Result<()> {
    let mut request = [0u8; 100];
    let read = timeout(Duration::from_secs(5), stream.read(&mut request)).await;
    let Ok(n) = read else {
        return Ok(()); // silent for 5 s: drop the stream, which closes it
    };
    n?;
    stream.write_all(GREETING).await
}

#[test]
fn a_silent_client_is_cut_off_after_five_seconds() {
    let rt = paused();
    let closed_after = rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        evloop::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            handle_client(stream).await.unwrap();
        });
        // `nc` that types nothing: connect, then only read.
        let start = Instant::now();
        let mut client = TcpStream::connect(addr).await?;
        let n = client.read(&mut [0u8; 100]).await?;
        assert_eq!(n, 0, "the server closed the connection");
        io::Result::Ok(start.elapsed())
    });
    assert_eq!(closed_after.unwrap(), secs(5));
}
// ANCHOR_END: ex1

// ANCHOR: ex2
/// `serve` with the spawn replaced by a plain `.await`, or as the lesson has it.
async fn serve(listener: TcpListener, spawn_each: bool) {
    loop {
        let (mut stream, _) = listener.accept().await.unwrap();
        let conversation = async move {
            let mut request = [0u8; 100];
            let _ = stream.read(&mut request).await;
            let _ = stream.write_all(GREETING).await;
        };
        if spawn_each {
            evloop::spawn(conversation);
        } else {
            conversation.await; // one client at a time
        }
    }
}

/// A client that waits `delay` before saying hello; returns when it was greeted.
async fn client(addr: SocketAddr, delay: Duration, start: Instant) -> Duration {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    sleep(delay).await;
    stream.write_all(b"hi\n").await.unwrap();
    let mut greeting = [0u8; GREETING.len()];
    stream.read_exact(&mut greeting).await.unwrap();
    start.elapsed()
}

/// A slow first client (speaks after 1 s) and a quick second one: when is the
/// second greeted?
fn second_client_greeted_after(spawn_each: bool) -> Duration {
    paused().block_on(async move {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        evloop::spawn(serve(listener, spawn_each));
        let start = Instant::now();
        let slow = evloop::spawn(client(addr, secs(1), start));
        evloop::yield_now().await; // let the slow client connect first
        let quick = client(addr, Duration::ZERO, start).await;
        slow.await.unwrap();
        quick
    })
}

#[test]
fn without_a_task_per_client_the_second_waits_for_the_first() {
    assert_eq!(second_client_greeted_after(true), Duration::ZERO);
    assert_eq!(second_client_greeted_after(false), secs(1));
}
// ANCHOR_END: ex2

// ANCHOR: ex3
#[test]
fn port_zero_picks_a_free_port_and_a_taken_port_is_an_error() {
    paused().block_on(async {
        let first = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let second = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let taken = first.local_addr().unwrap();
        assert_ne!(taken.port(), second.local_addr().unwrap().port());

        // The same address again, while `first` still listens on it.
        let err = TcpListener::bind(taken).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AddrInUse);
        assert!(
            err.to_string().starts_with(&format!("bind {taken}: ")),
            "{err}"
        );
    });
}
// ANCHOR_END: ex3
