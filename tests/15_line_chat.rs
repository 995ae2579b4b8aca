//! Lesson 15, first half, step by step: the line chat over plain TCP — two
//! clients talking, a bad client sent away while the others go on — and the
//! same `select` loop with a cancel-unsafe `read_exact` (which loses bytes)
//! beside the cancel-safe `next_line` (which does not).
//!
//! Everything is on 127.0.0.1, port 0, bounded in time.

use std::io::Write;
use std::net::Shutdown;
use std::time::Duration;

use evloop::net::{BufReader, Lines, OwnedReadHalf, TcpListener, TcpStream};
use evloop::sync::mpsc::unbounded_channel;
use evloop::time::{sleep, timeout};
use evloop::{Metrics, Runtime};

#[path = "../examples/15_line_chat.rs"]
#[allow(dead_code)]
mod example;

use example::{Got, Room, MAX_LINE};

/// Run `test` on a fresh evloop with a real clock, failing past `limit`.
fn run<F: std::future::Future>(limit: Duration, test: F) -> F::Output {
    evloop::run(async move { timeout(limit, test).await.expect("test timed out") })
}

/// Connect a client; its lines, and its writing half.
async fn connect(
    addr: std::net::SocketAddr,
) -> (Lines<OwnedReadHalf>, evloop::net::OwnedWriteHalf) {
    let (read, write) = TcpStream::connect(addr).await.unwrap().into_split();
    (BufReader::new(read).lines(), write)
}

async fn next(lines: &mut Lines<OwnedReadHalf>) -> Option<String> {
    lines.next_line().await.unwrap_or(None)
}

#[test]
fn two_clients_chat_and_a_bad_one_is_sent_away() {
    run(Duration::from_secs(10), async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        evloop::spawn(example::serve(listener, Room::default()));

        // Ada joins: she is greeted, and hears her own arrival.
        let (mut ada, mut ada_out) = connect(addr).await;
        assert_eq!(next(&mut ada).await.unwrap(), "* welcome, you are guest-1");
        assert_eq!(next(&mut ada).await.unwrap(), "* guest-1 joined");
        // Bob joins: both hear it.
        let (mut bob, mut bob_out) = connect(addr).await;
        assert_eq!(next(&mut bob).await.unwrap(), "* welcome, you are guest-2");
        assert_eq!(next(&mut bob).await.unwrap(), "* guest-2 joined");
        assert_eq!(next(&mut ada).await.unwrap(), "* guest-2 joined");

        // A line from Ada reaches everyone, Ada too — even when it arrives
        // in two pieces (the second half of the loop's select, `next_line`,
        // waits for the rest without losing the start).
        ada_out.write_all(b"hello, ").await.unwrap();
        sleep(Duration::from_millis(20)).await;
        ada_out.write_all(b"bob\n").await.unwrap();
        assert_eq!(next(&mut bob).await.unwrap(), "guest-1: hello, bob");
        assert_eq!(next(&mut ada).await.unwrap(), "guest-1: hello, bob");

        // Mallory sends a line longer than MAX_LINE: told why, disconnected.
        let (mut mallory, mut mallory_out) = connect(addr).await;
        assert_eq!(
            next(&mut mallory).await.unwrap(),
            "* welcome, you are guest-3"
        );
        let long = vec![b'x'; MAX_LINE + 10];
        mallory_out.write_all(&long).await.unwrap();
        mallory_out.write_all(b"\n").await.unwrap();
        let mut last = String::new();
        while let Some(line) = next(&mut mallory).await {
            last = line;
        }
        assert!(last.starts_with("* bye: "), "{last}");

        // The others saw Mallory come and go, and chat on.
        assert_eq!(next(&mut bob).await.unwrap(), "* guest-3 joined");
        assert_eq!(next(&mut bob).await.unwrap(), "* guest-3 left");
        bob_out.write_all(b"still here\n").await.unwrap();
        assert_eq!(next(&mut ada).await.unwrap(), "* guest-3 joined");
        assert_eq!(next(&mut ada).await.unwrap(), "* guest-3 left");
        assert_eq!(next(&mut ada).await.unwrap(), "guest-2: still here");

        // Bob hangs up: Ada hears him leave.
        drop((bob, bob_out));
        assert_eq!(next(&mut ada).await.unwrap(), "* guest-2 left");
    });
}

/// Let the loop run until the reactor has delivered at least one more I/O
/// event, and every task it woke has been polled. On a paused clock, a
/// `sleep` returns only when the loop is otherwise idle.
async fn until_io_handled(before: u64) {
    while Metrics::current().io_events == before {
        sleep(Duration::from_millis(1)).await;
    }
    sleep(Duration::from_millis(1)).await;
}

/// Give `relay` a socket whose client writes `first`, then — while the relay
/// holds those bytes — a line from the room, then the client writes `rest`
/// and hangs up. Everything the relay reported, in order.
fn race<F, Fut>(relay: F, first: &[u8], rest: &[u8]) -> Vec<Got>
where
    F: FnOnce(
        OwnedReadHalf,
        evloop::sync::mpsc::UnboundedReceiver<String>,
        evloop::sync::mpsc::UnboundedSender<Got>,
    ) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let rt = Runtime::builder().start_paused(true).build().unwrap();
    rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().await.unwrap();
        let (reader, _writer) = server.into_split();
        let (room, room_rx) = unbounded_channel();
        let (got_tx, mut got) = unbounded_channel();
        evloop::spawn(relay(reader, room_rx, got_tx));

        // Step 1: the relay starts and waits on both. Let any first
        // readiness edges of the new socket come and go.
        for _ in 0..3 {
            sleep(Duration::from_millis(1)).await;
        }
        // Step 2: the client sends the first piece. The relay reads it —
        // into read_exact's buffer, or into the BufReader — and waits for more.
        let before = Metrics::current().io_events;
        client.write_all(first).unwrap();
        until_io_handled(before).await;
        // Step 3: the room has a line. The relay wakes; `select` polls the
        // read first (nothing new: Pending), then the room (Ready): the room
        // wins, and the read's future is dropped.
        room.send("bob: hi".to_string()).unwrap();
        sleep(Duration::from_millis(1)).await;
        // Step 4: the client sends the rest, and hangs up.
        let before = Metrics::current().io_events;
        client.write_all(rest).unwrap();
        client.shutdown(Shutdown::Write).unwrap();
        until_io_handled(before).await;

        drop(room);
        let mut all = Vec::new();
        while let Some(event) = got.recv().await {
            all.push(event);
        }
        all
    })
}

#[test]
fn read_exact_in_a_select_loop_loses_the_bytes_it_had_read() {
    // Two 6-byte messages, "hello!" and "again!"; the first arrives in two pieces.
    let got = race(example::relay_fixed_size, b"hel", b"lo!again!");
    // "hel" died with the dropped read_exact. The next read_exact started
    // afresh and took the next six bytes: "lo!aga". The last three, "in!",
    // are not a whole message; the stream ends. Both messages are lost.
    assert_eq!(
        got,
        [Got::Room("bob: hi".into()), Got::Client("lo!aga".into())]
    );
}

#[test]
fn next_line_in_the_same_loop_loses_nothing() {
    let got = race(example::relay_lines, b"hel", b"lo\nagain\n");
    // "hel" waited in the BufReader while the room's line went by.
    assert_eq!(
        got,
        [
            Got::Room("bob: hi".into()),
            Got::Client("hello".into()),
            Got::Client("again".into()),
        ]
    );
}

mod workers;

/// Every test above again, on worker threads (`tests/workers/mod.rs`).
#[test]
fn on_workers() {
    workers::rerun_on_workers(&[]);
}
