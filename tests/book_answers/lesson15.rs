//! Lesson 15's exercises: silent clients, stalled readers, and the doorbell.

use std::time::Duration;

use evloop::net::{TcpListener, TcpStream};
use evloop::sync::mpsc;
use evloop::time::Instant;
use evloop::websocket::{self, Message};

use crate::{paused, secs};

use crate::chat_server as example;

#[path = "../websocket_support/mod.rs"]
mod websocket_support;

use example::room::{Limits, Room};

use websocket_support::{client_frame, close_code, parse_server_frames, raw_upgrade};

// ANCHOR: ex1
/// Everything the server sends on `stream` until it closes it, and when it closed.
async fn until_closed(mut stream: TcpStream, start: Instant) -> (Duration, Vec<u8>) {
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    while let Ok(n @ 1..) = stream.read(&mut buf).await {
        got.extend_from_slice(&buf[..n]);
    }
    (start.elapsed(), got)
}

#[test]
fn silent_clients_are_let_go_and_nobody_else_notices() {
    let rt = paused();
    rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        evloop::spawn(example::serve(listener, example::Options::default()));
        let url = format!("ws://{addr}/ws");
        let start = Instant::now();

        // The python client: connects, says nothing, not even its HTTP request.
        let silent = TcpStream::connect(addr).await.unwrap();
        let silent = evloop::spawn(until_closed(silent, start));
        // One that upgrades, then sends half a frame: a header promising
        // 100 bytes, and 10 of them.
        let mut half = raw_upgrade(addr, "/ws").await;
        let frame = client_frame(0x81, &[b'x'; 100], true);
        half.write_all(&frame[..frame.len() - 90]).await.unwrap();
        let half = evloop::spawn(until_closed(half, start));

        // Meanwhile two tabs chat, a line every 5 s for a minute.
        let mut ada = websocket::connect(&url).await.unwrap();
        let mut bob = websocket::connect(&url).await.unwrap();
        for minute in 0..12 {
            ada.send(Message::Text(format!("minute {minute}")))
                .await
                .unwrap();
            loop {
                match bob.recv().await.unwrap().unwrap() {
                    Message::Text(t) if t.ends_with(&format!("minute {minute}")) => break,
                    _ => {}
                }
            }
            evloop::time::sleep(secs(5)).await;
        }
        // bob heard all twelve lines: nobody noticed the two.
        let (silent_at, silent_got) = silent.await.unwrap();
        let (half_at, half_got) = half.await.unwrap();
        // The request never came: after the 10 s `read_timeout` of lesson
        // 11's HTTP layer the server answers 408 and closes.
        assert_eq!(silent_at, secs(10));
        assert!(silent_got.starts_with(b"HTTP/1.1 408"));
        // Half a frame: the rest of a started frame is due within the
        // WebSocket's `frame_timeout` (10 s). Until then it was a member
        // like any other and got the room's lines; then the server hangs up,
        // with no close frame.
        assert_eq!(half_at, secs(10));
        let frames = parse_server_frames(&half_got);
        assert!(frames.iter().any(|(_, text)| text.ends_with(b"minute 0")));
        assert_eq!(close_code(&frames), None);
    });
}
// ANCHOR_END: ex1

// ANCHOR: ex2
/// A member of the room as the exercise has it: its id and its doorbell.
struct Member {
    id: u64,
    _rung: mpsc::Receiver<()>,
}

fn join(room: &mut Room, now: Instant) -> Member {
    let (doorbell, rung) = mpsc::channel(1);
    Member {
        id: room.join(doorbell, now),
        _rung: rung,
    }
}

/// A client that keeps up: takes everything the room holds for it.
fn keep_up(room: &mut Room, member: &Member) {
    let mut batch = Vec::new();
    while room.take(member.id, &mut batch).is_ok() && !batch.is_empty() {
        batch.clear();
    }
}

// The room's rules without sockets (lesson 15's `Room`, the clock an
// argument). A stalled client is one that never takes a line: its pipe is
// full, its socket buffers fill, and its lines wait in the room.
#[test]
fn one_stalled_client_is_let_go_two_pause_the_sender() {
    let limits = Limits {
        high_water: 16 << 10,
        ..Limits::default()
    };
    let paste = "x".repeat(8 << 10); // a long text, pasted again and again
    let t0 = Instant::from_std(std::time::Instant::now());

    // Three tabs (one pastes, two read) and one stalled client.
    let mut room = Room::new(limits);
    let tabs: Vec<Member> = (0..3).map(|_| join(&mut room, t0)).collect();
    let stalled = join(&mut room, t0);
    for second in 0..12 {
        let now = t0 + secs(second);
        room.said(tabs[0].id, &paste, now).unwrap();
        tabs.iter().for_each(|tab| keep_up(&mut room, tab));
        // One of four behind is not half the room: the tab is never paused.
        assert_eq!(room.paused_since(tabs[0].id), None);
    }
    // Let go once its oldest line had waited more than `max_lag` (10 s),
    // found by the paste at 11 s; its task closes with 1008 and this reason.
    let mut batch = Vec::new();
    assert_eq!(
        room.take(stalled.id, &mut batch),
        Err("too slow to keep up: lines waited too long")
    );

    // Two stalled clients: now half the room is behind.
    let mut room = Room::new(limits);
    let tabs: Vec<Member> = (0..2).map(|_| join(&mut room, t0)).collect();
    let _stalled: Vec<Member> = (0..2).map(|_| join(&mut room, t0)).collect();
    for _ in 0..3 {
        room.said(tabs[0].id, &paste, t0).unwrap();
        tabs.iter().for_each(|tab| keep_up(&mut room, tab));
    }
    // Past 16 KiB behind, the sending tab is paused: its socket is not read,
    // and its next pastes wait in its own buffers, not the server's memory.
    assert_eq!(room.paused_since(tabs[0].id), Some(t0));
    // The paused tab's task calls `drop_laggards` now and then. After
    // `max_lag` the stalled two are let go, the room has drained, and the
    // tab may send again, well before `max_pause` (30 s) would close it.
    room.drop_laggards(t0 + secs(11));
    assert_eq!(room.paused_since(tabs[0].id), None);
}
// ANCHOR_END: ex2

// ANCHOR: ex3
// `broadcast` rings with `try_send`, which never waits: a doorbell that is
// full has been rung already, and its member will read *everything* new when
// it looks, so a second `()` would add nothing. With `send(..).await` a
// member that broadcasts waits for room in another member's doorbell —
// and that member may be broadcasting too, waiting for ours:
#[test]
fn two_members_ringing_each_other_with_send_await_wait_for_ever() {
    let rt = paused();
    let (ring_a, mut a_rung) = mpsc::channel::<()>(1);
    let (ring_b, mut b_rung) = mpsc::channel::<()>(1);
    ring_a.try_send(()).unwrap(); // both were rung already,
    ring_b.try_send(()).unwrap(); // and neither has looked yet
    let a = rt.spawn_named("a", async move {
        ring_b.send(()).await.unwrap(); // a says something: rings b, waits for room
        a_rung.recv().await; // only then would it look at its own doorbell
    });
    let b = rt.spawn_named("b", async move {
        ring_a.send(()).await.unwrap(); // b says something at the same moment
        b_rung.recv().await;
    });
    for _ in 0..10 {
        rt.turn();
    }
    // Each waits for the other to empty its doorbell: neither ever will. On
    // the real server both connections hang (and with them every test in
    // which two clients speak at once, until its timeout fails it). With
    // `try_send` a full doorbell is simply left as it is.
    assert!(!a.is_finished() && !b.is_finished());
    assert_eq!(rt.metrics().polls, 2); // one poll each, then nothing
}
// ANCHOR_END: ex3
