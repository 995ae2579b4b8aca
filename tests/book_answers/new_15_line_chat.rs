//! Worked answer to lesson 15's first-half Try-it: fixed-size messages read
//! in a `select` loop without losing bytes — the partial message lives
//! outside the futures that get dropped.

use std::io::Write;
use std::net::Shutdown;
use std::pin::pin;
use std::time::Duration;

use evloop::net::{OwnedReadHalf, TcpListener};
use evloop::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};
use evloop::time::sleep;
use evloop::{select, Either, Metrics, Runtime};

// ANCHOR: answer
/// Like the lesson's `relay_fixed_size`, but cancel-safe: the message being
/// read and how much of it has arrived are kept in the loop, and each round
/// only awaits `read`, which returns whatever bytes it took.
pub async fn relay_fixed_size_safely(
    mut reader: OwnedReadHalf,
    mut room: UnboundedReceiver<String>,
    got: UnboundedSender<String>,
) {
    let mut message = [0u8; 6];
    let mut filled = 0; // survives a lost race
    loop {
        let next = select(pin!(reader.read(&mut message[filled..])), pin!(room.recv())).await;
        match next {
            // `read` either returned its bytes (counted here) or was dropped
            // before taking any: nothing can be lost in between.
            Either::Left(Ok(0)) | Either::Left(Err(_)) | Either::Right(None) => return,
            Either::Left(Ok(n)) => {
                filled += n;
                if filled == message.len() {
                    let _ = got.send(String::from_utf8_lossy(&message).into_owned());
                    filled = 0;
                }
            }
            Either::Right(Some(line)) => {
                let _ = got.send(line);
            }
        }
    }
}
// ANCHOR_END: answer

/// Let the loop run until an I/O event has come in and been handled.
async fn until_io_handled(before: u64) {
    while Metrics::current().io_events == before {
        sleep(Duration::from_millis(1)).await;
    }
    sleep(Duration::from_millis(1)).await;
}

#[test]
fn the_race_that_lost_two_messages_now_loses_none() {
    let rt = Runtime::builder().start_paused(true).build().unwrap();
    let got = rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().await.unwrap();
        let (reader, _writer) = server.into_split();
        let (room, room_rx) = unbounded_channel();
        let (got_tx, mut got) = unbounded_channel();
        evloop::spawn(relay_fixed_size_safely(reader, room_rx, got_tx));
        for _ in 0..3 {
            sleep(Duration::from_millis(1)).await;
        }
        let before = Metrics::current().io_events;
        client.write_all(b"hel").unwrap();
        until_io_handled(before).await;
        room.send("bob: hi".to_string()).unwrap(); // wins the race
        sleep(Duration::from_millis(1)).await;
        let before = Metrics::current().io_events;
        client.write_all(b"lo!again!").unwrap();
        client.shutdown(Shutdown::Write).unwrap();
        until_io_handled(before).await;
        drop(room);
        let mut all = Vec::new();
        while let Some(line) = got.recv().await {
            all.push(line);
        }
        all
    });
    assert_eq!(got, ["bob: hi", "hello!", "again!"]);
}
