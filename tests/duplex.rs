//! Simulated connections (`evloop::testing::duplex`, `Network`): they carry
//! bytes like a `TcpStream`, arrive when the seeded latency says, keep each
//! connection's order, push back on a full buffer, and fail as told.

use std::io::ErrorKind;
use std::time::Duration;

use evloop::testing::{duplex, Network};
use evloop::time::{sleep, Instant};
use evloop::Runtime;
use futures_util::{AsyncReadExt, AsyncWriteExt};

const MS: Duration = Duration::from_millis(1);

fn paused(seed: u64) -> Runtime {
    Runtime::builder()
        .start_paused(true)
        .seed(seed)
        .build()
        .unwrap()
}

#[test]
fn bytes_go_both_ways_with_the_tcp_methods_and_the_futures_io_traits() {
    paused(0).block_on(async {
        let (mut a, mut b) = duplex(1024);
        a.write_all(b"ping").await.unwrap();
        let mut buf = [0; 4];
        b.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"ping");
        // The same through futures-io, as a generic protocol would call it.
        AsyncWriteExt::write_all(&mut b, b"pong").await.unwrap();
        AsyncReadExt::read_exact(&mut a, &mut buf).await.unwrap();
        assert_eq!(&buf, b"pong");
        // Shutdown: the peer reads the end of the stream, and can still write.
        a.shutdown().await.unwrap();
        assert_eq!(b.read(&mut buf).await.unwrap(), 0);
        b.write_all(b"last").await.unwrap();
        a.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"last");
        // Dropped: its peer's writes fail.
        drop(a);
        let error = b.write(b"anyone?").await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::BrokenPipe);
    });
}

#[test]
fn a_packet_arrives_after_its_seeded_latency_and_in_order() {
    for seed in 0..50 {
        paused(seed).block_on(async move {
            let net = Network::new(seed).latency(2 * MS, 9 * MS);
            let (mut a, mut b) = net.pair();
            let start = Instant::now();
            for i in 0..5u8 {
                a.write_all(&[i]).await.unwrap();
            }
            let mut got = [0; 5];
            let mut first = None;
            for slot in got.iter_mut() {
                let mut one = [0];
                b.read_exact(&mut one).await.unwrap();
                *slot = one[0];
                first.get_or_insert(start.elapsed());
            }
            assert_eq!(got, [0, 1, 2, 3, 4], "one connection keeps its order");
            let first = first.unwrap();
            assert!((2 * MS..=9 * MS).contains(&first), "seed {seed}: {first:?}");
        });
    }
}

#[test]
fn connections_interleave_differently_under_different_seeds() {
    // Two connections each send one message at the same instant: which
    // arrives first is the network's (seeded) choice.
    let winner = |seed: u64| {
        paused(seed).block_on(async move {
            let net = Network::new(seed).latency(MS, 10 * MS);
            let (mut a1, mut b1) = net.pair();
            let (mut a2, mut b2) = net.pair();
            a1.write_all(b"1").await.unwrap();
            a2.write_all(b"2").await.unwrap();
            let mut buf = [0];
            let one = Box::pin(b1.read(&mut buf));
            let mut buf2 = [0];
            let two = Box::pin(b2.read(&mut buf2));
            match evloop::select(one, two).await {
                evloop::Either::Left(_) => 1,
                evloop::Either::Right(_) => 2,
            }
        })
    };
    let winners: Vec<u8> = (0..40).map(winner).collect();
    assert!(winners.contains(&1) && winners.contains(&2), "{winners:?}");
    assert_eq!(
        winners,
        (0..40).map(winner).collect::<Vec<_>>(),
        "and replayable"
    );
}

#[test]
fn a_full_connection_makes_the_writer_wait_for_the_reader() {
    paused(1).block_on(async {
        let (mut a, mut b) = duplex(8);
        assert_eq!(
            a.write(b"0123456789").await.unwrap(),
            8,
            "only the room left"
        );
        let reader = evloop::spawn(async move {
            sleep(50 * MS).await;
            let mut buf = [0; 10];
            b.read_exact(&mut buf).await.unwrap();
            buf
        });
        let start = Instant::now();
        a.write_all(b"89").await.unwrap(); // waits for the reader's first read
        assert_eq!(start.elapsed(), 50 * MS);
        assert_eq!(&reader.await.unwrap(), b"0123456789");
    });
}

#[test]
fn a_peer_that_vanishes_mid_message_leaves_a_prefix_then_a_reset() {
    paused(2).block_on(async {
        let (mut a, mut b) = Network::new(2).latency(MS, 3 * MS).pair();
        a.vanish_after(5);
        // The write that crosses the limit sends its first part only...
        assert_eq!(a.write(b"hello, world").await.unwrap(), 5);
        // ...and nothing works on the vanished end any more.
        assert_eq!(
            a.write(b"!").await.unwrap_err().kind(),
            ErrorKind::BrokenPipe
        );
        let mut buf = [0; 1];
        assert_eq!(
            a.read(&mut buf).await.unwrap_err().kind(),
            ErrorKind::BrokenPipe
        );
        // The peer gets what left before it died, then a reset (not a clean end).
        let mut got = [0; 12];
        let error = b.read_exact(&mut got).await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::ConnectionReset, "{error}");
        assert_eq!(&got[..5], b"hello");
        assert_eq!(
            b.write(b"?").await.unwrap_err().kind(),
            ErrorKind::BrokenPipe
        );
    });
}

#[test]
fn a_stall_holds_every_delivery_until_it_ends() {
    paused(3).block_on(async {
        let (mut a, mut b) = duplex(1024);
        a.write_all(b"before").await.unwrap(); // already there: a stall cannot take it back
        let mut buf = [0; 6];
        a.stall(100 * MS);
        a.write_all(b"during").await.unwrap();
        b.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"before");
        let start = Instant::now();
        b.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"during");
        assert_eq!(start.elapsed(), 100 * MS, "held for the stall");
    });
}

#[test]
fn a_stall_that_begins_while_the_reader_waits_moves_its_timer() {
    paused(4).block_on(async {
        let (mut a, mut b) = Network::new(4).latency(10 * MS, 10 * MS).pair();
        let start = Instant::now();
        a.write_all(b"x").await.unwrap(); // due at 10 ms
        let staller = evloop::spawn(async move {
            sleep(5 * MS).await;
            a.stall(50 * MS); // at 5 ms: nothing arrives before 55 ms
            a
        });
        let mut buf = [0];
        b.read_exact(&mut buf).await.unwrap();
        assert_eq!(start.elapsed(), 55 * MS);
        drop(staller.await.unwrap());
    });
}

#[test]
fn a_task_reading_an_empty_connection_is_said_to_wait_on_it() {
    let rt = paused(0);
    let (_a, mut b) = duplex(16);
    rt.spawn_named("reader", async move {
        let mut buf = [0; 4];
        b.read(&mut buf).await.unwrap()
    });
    rt.turn();
    let tasks = rt.tasks();
    assert_eq!(tasks[0].waiting_on, evloop::task::WaitReason::Duplex);
    assert_eq!(tasks[0].waiting_on.to_string(), "an in-memory connection");
}

mod workers;

/// Every test above again, on worker threads (`tests/workers/mod.rs`).
#[test]
fn on_workers() {
    workers::rerun_on_workers(&[]);
}
