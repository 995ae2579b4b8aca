//! The reactor chapter's exercises. Exercises 1 and 2 change `src/`, which a
//! test cannot do; these answers check the promises those changes put at
//! risk, so that the same tests show what breaks when you make them.

use std::time::Duration;

use evloop::net::{TcpListener, TcpStream};
use evloop::time::timeout;

use crate::{count, paused, timeline};

/// A connected pair on this runtime: (client, server's end).
async fn pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap())
        .await
        .unwrap();
    let (server, _) = listener.accept().await.unwrap();
    (client, server)
}

// ANCHOR: ex1
// The early clear is only an optimisation: after a short read the socket is
// marked not-ready without asking the OS. What must hold with it or without
// it: every later message still arrives, one wake per message, no hang.
#[test]
fn after_each_short_read_the_next_message_still_wakes_the_reader() {
    let rt = paused();
    rt.block_on(async {
        let (mut client, mut server) = pair().await;
        let mut buf = [0u8; 1024]; // every read is short: 5 bytes of 1024
        for i in 0..100u8 {
            client.write_all(&[i; 5]).await.unwrap();
            let n = timeout(Duration::from_secs(1), server.read(&mut buf))
                .await
                .expect("a short read must not leave the next message unheard")
                .unwrap();
            assert_eq!(&buf[..n], &[i; 5]);
        }
    });
    // Speed is the bench's to show: `cargo bench --bench echo`, before and after.
}
// ANCHOR_END: ex1

// ANCHOR: ex2
// Rule 4, closed is forever: the peer's FIN comes as one edge, often before
// the last short read. The read after it must return 0 at once, not wait for
// an edge that will never come (`timeout` turns such a hang into a failure).
#[test]
fn the_read_after_the_last_short_read_returns_end_of_stream_at_once() {
    let rt = paused();
    rt.block_on(async {
        let (mut client, mut server) = pair().await;
        client.write_all(b"last words").await.unwrap();
        drop(client); // FIN right behind the data
        let mut buf = [0u8; 1024];
        let mut got = Vec::new();
        loop {
            let n = timeout(Duration::from_secs(1), server.read(&mut buf))
                .await
                .expect("end of stream must not hang")
                .unwrap();
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
        }
        assert_eq!(got, b"last words");
    });
}
// ANCHOR_END: ex2

// ANCHOR: ex3
#[test]
fn the_server_is_woken_by_its_own_end_of_the_connection() {
    let rt = paused();
    let token = rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = evloop::task::Builder::new()
            .name("server")
            .spawn(async move {
                let (mut stream, _) = listener.accept().await.unwrap();
                let token = stream.trace_token(); // N in io#N
                let mut buf = [0u8; 5];
                stream.read_exact(&mut buf).await.unwrap();
                stream.write_all(&buf).await.unwrap();
                token
            });
        let mut client = TcpStream::connect(addr).await.unwrap();
        evloop::time::sleep(Duration::from_millis(20)).await; // the server waits
        client.write_all(b"hello").await.unwrap();
        client.read_exact(&mut [0u8; 5]).await.unwrap();
        server.await.unwrap()
    });
    println!("{}", rt.trace().timeline());
    assert_eq!(
        count(&rt, &format!("wake server ← io#{token}")),
        1,
        "{}",
        timeline(&rt)
    );
}
// ANCHOR_END: ex3
