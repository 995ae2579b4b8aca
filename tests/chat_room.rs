//! Lesson 15's `Room` on its own, with no sockets: members are doorbells
//! and cursors, the clock is an argument. Each test is a rule of the room's
//! policy, walked through with the numbers that once broke it.

#[path = "../examples/chat/room.rs"]
#[allow(dead_code, unused_imports)] // the member's task is not used here
mod room;

use std::time::Duration;

use evloop::sync::mpsc;
use evloop::time::Instant;
use evloop::websocket::Prepared;
use room::{Limits, Room};

/// A member as a test sees it: its id, and its doorbell's receiving end.
struct Fake {
    id: u64,
    rung: mpsc::Receiver<()>,
}

fn join(room: &mut Room, now: Instant) -> Fake {
    let (doorbell, rung) = mpsc::channel(1);
    let id = room.join(doorbell, now);
    Fake { id, rung }
}

/// Everything the room holds for `member`, as text; `Err` if it was let go.
fn take_all(room: &mut Room, member: &Fake) -> Result<Vec<String>, &'static str> {
    let mut lines = Vec::new();
    loop {
        let mut batch = Vec::new();
        room.take(member.id, &mut batch)?;
        if batch.is_empty() {
            return Ok(lines);
        }
        lines.extend(batch.iter().map(text));
    }
}

/// The text of a small server frame (2 bytes of header, then the payload).
fn text(frame: &Prepared) -> String {
    let bytes = frame.as_bytes();
    let start = match bytes[1] {
        126 => 4,
        127 => 10,
        _ => 2,
    };
    String::from_utf8(bytes[start..].to_vec()).unwrap()
}

fn t0() -> Instant {
    Instant::from_std(std::time::Instant::now())
}

/// 2,000 clients found too slow by one broadcast. The room once announced
/// each drop with a recursive `broadcast`, one stack frame per client: on a
/// 384 KiB stack, that overflowed and aborted the server. The worklist keeps
/// it flat: every one is let go, announced once, in one call.
#[test]
fn two_thousand_clients_let_go_at_once_fit_on_a_small_stack() {
    let thread = std::thread::Builder::new()
        .stack_size(384 * 1024)
        .spawn(|| {
            let start = t0();
            let limits = Limits {
                max_lag: Duration::from_secs(1),
                ..Limits::default()
            };
            let mut room = Room::new(limits);
            let slow: Vec<Fake> = (0..2000).map(|_| join(&mut room, start)).collect();
            let listener = join(&mut room, start);
            // Two seconds later the listener has read everything; the 2,000
            // have read nothing for longer than `max_lag`.
            let later = start + Duration::from_secs(2);
            take_all(&mut room, &listener).unwrap();
            room.broadcast("the line that finds them all too slow".into(), later);
            let heard = take_all(&mut room, &listener).unwrap();
            assert_eq!(heard[0], "the line that finds them all too slow");
            let gone = heard
                .iter()
                .filter(|l| l.ends_with(" was too slow to keep up"));
            assert_eq!(gone.count(), 2000);
            for member in &slow {
                let why = take_all(&mut room, member).unwrap_err();
                assert!(why.starts_with("too slow to keep up"), "{why}");
            }
        })
        .unwrap();
    thread.join().expect("the room survived on a 384 KiB stack");
}

/// A fast burst is not a slow reader. 1,100 short lines said before any
/// reader runs, and 1,025 clients joining before any of them reads: once,
/// each filled 1,024-line outboxes and emptied the room with 1008. The room
/// now judges by bytes and by time, and ~20 KB said in an instant is neither.
#[test]
fn a_burst_of_lines_or_of_joins_lets_nobody_go() {
    let now = t0();
    let mut room = Room::new(Limits::default());
    let readers: Vec<Fake> = (0..10).map(|_| join(&mut room, now)).collect();
    let sender = join(&mut room, now);
    for i in 0..1100 {
        room.said(sender.id, &format!("m{i}"), now).unwrap();
    }
    // Nobody is paused: 1,100 short lines are far below the high water.
    assert_eq!(room.paused_since(sender.id), None);
    for member in readers.iter().chain([&sender]) {
        let said: Vec<String> = take_all(&mut room, member)
            .expect("nobody was let go")
            .into_iter()
            .filter(|l| !l.starts_with("* "))
            .collect();
        let expected: Vec<String> = (0..1100).map(|i| format!("guest-11: m{i}")).collect();
        assert_eq!(said, expected);
    }

    // 1,025 joins in one turn: the first one is owed 1,025 announcements.
    let crowd: Vec<Fake> = (0..1025).map(|_| join(&mut room, now)).collect();
    let first = take_all(&mut room, &crowd[0]).expect("the first joiner stays");
    assert_eq!(first.last().unwrap(), "* guest-1036 joined");
}

/// Too slow is judged by time and by bytes. A reader that takes its lines,
/// even late, stays; one whose oldest line waited longer than `max_lag` is
/// let go; one more than `max_lag_bytes` behind is let go at once.
#[test]
fn a_slow_reader_is_judged_by_how_long_its_lines_wait_and_by_bytes() {
    let start = t0();
    let limits = Limits {
        max_lag: Duration::from_secs(10),
        max_lag_bytes: 100_000,
        high_water: 1 << 30, // no pausing in this test
        ..Limits::default()
    };
    let mut room = Room::new(limits);
    let mut steady = join(&mut room, start);
    let stalled = join(&mut room, start);
    let speaker = join(&mut room, start);
    // Nine seconds of one line a second: the steady reader reads only every
    // three seconds, the stalled one never. Both are within `max_lag`.
    for second in 1..10 {
        let now = start + Duration::from_secs(second);
        room.said(speaker.id, &format!("second {second}"), now)
            .unwrap();
        take_all(&mut room, &speaker).unwrap();
        if second % 3 == 0 {
            take_all(&mut room, &steady).unwrap();
        }
    }
    assert!(steady.rung.try_recv().is_ok(), "the room rang the doorbell");
    // At 11 s the stalled reader's first line has waited more than 10 s.
    room.said(speaker.id, "eleven", start + Duration::from_secs(11))
        .unwrap();
    let why = take_all(&mut room, &stalled).unwrap_err();
    assert_eq!(why, "too slow to keep up: lines waited too long");
    let steady_saw = take_all(&mut room, &steady).unwrap();
    assert!(steady_saw.contains(&"* guest-2 was too slow to keep up".to_string()));

    // Bytes: 100 KB at once is past `max_lag_bytes`, however new.
    let now = start + Duration::from_secs(12);
    take_all(&mut room, &steady).unwrap();
    take_all(&mut room, &speaker).unwrap();
    room.said(speaker.id, &"x".repeat(60_000), now).unwrap();
    room.said(speaker.id, &"y".repeat(60_000), now).unwrap();
    let why = take_all(&mut room, &steady).unwrap_err();
    assert_eq!(why, "too slow to keep up: too far behind");
}

/// Push back: a sender whose lines leave half the room more than
/// `high_water` behind is paused (its socket is not read), and goes on when
/// the room has drained to half of that. One stalled reader in a room that
/// keeps up pauses nobody; a room of stalled readers pauses the sender
/// until `max_lag` lets them go.
#[test]
fn a_sender_that_outruns_the_room_is_paused_until_it_drains() {
    let start = t0();
    let limits = Limits {
        high_water: 10_000,
        max_lag_bytes: 50_000,
        max_lag: Duration::from_secs(10),
        ..Limits::default()
    };
    let mut room = Room::new(limits);
    let reader = join(&mut room, start);
    let mut sender = join(&mut room, start);
    let line = "z".repeat(1000);
    let mut said = 0;
    while room.paused_since(sender.id).is_none() {
        room.said(sender.id, &line, start).unwrap();
        take_all(&mut room, &sender).unwrap(); // the sender reads its own lines
        said += 1;
    }
    // The reader is half of this room of two.
    assert_eq!(said, 10, "paused once the reader is 10,000 bytes behind");
    while sender.rung.try_recv().is_ok() {}
    // The reader drains: the sender goes on, and is rung to say so.
    take_all(&mut room, &reader).unwrap();
    assert_eq!(room.paused_since(sender.id), None);
    assert!(sender.rung.try_recv().is_ok());

    // One stalled reader among four that keep up: nobody waits for it; it
    // is let go when it is `max_lag_bytes` behind.
    let stalled = join(&mut room, start);
    let others: Vec<Fake> = (0..2).map(|_| join(&mut room, start)).collect();
    for _ in 0..60 {
        room.said(sender.id, &line, start).unwrap();
        for member in others.iter().chain([&reader, &sender]) {
            take_all(&mut room, member).unwrap();
        }
        assert_eq!(room.paused_since(sender.id), None);
    }
    assert_eq!(
        take_all(&mut room, &stalled).unwrap_err(),
        "too slow to keep up: too far behind"
    );

    // A room of stalled readers: the sender waits, until `max_lag` has
    // let them go.
    let mut room = Room::new(limits);
    let sender = join(&mut room, start);
    let stalled: Vec<Fake> = (0..2).map(|_| join(&mut room, start)).collect();
    while room.paused_since(sender.id).is_none() {
        room.said(sender.id, &line, start).unwrap();
        take_all(&mut room, &sender).unwrap();
    }
    room.drop_laggards(start + Duration::from_secs(5));
    assert!(
        room.paused_since(sender.id).is_some(),
        "5 s is within max_lag"
    );
    room.drop_laggards(start + Duration::from_secs(11));
    assert_eq!(room.paused_since(sender.id), None);
    for member in &stalled {
        assert!(take_all(&mut room, member).is_err());
    }
}

/// The history is shared, not copied: a newcomer's lines are the very
/// frames the room keeps (one `Arc` each), handed out 64 KiB at a time.
/// Once, 50 × 64 KiB of history was copied into every newcomer's write
/// buffer: 180 newcomers, 580 MB.
#[test]
fn newcomers_share_the_history_a_batch_at_a_time() {
    let now = t0();
    let mut room = Room::new(Limits::default());
    let speaker = join(&mut room, now);
    let big = "b".repeat(64 * 1024 - 16);
    for _ in 0..50 {
        room.said(speaker.id, &big, now).unwrap();
        take_all(&mut room, &speaker).unwrap();
    }
    let (ada, bob) = (join(&mut room, now), join(&mut room, now));
    // Bob joined one line later, so his history starts one line later.
    let (mut ada_first, mut ada_second, mut bob_first) = (Vec::new(), Vec::new(), Vec::new());
    room.take(ada.id, &mut ada_first).unwrap();
    room.take(ada.id, &mut ada_second).unwrap();
    room.take(bob.id, &mut bob_first).unwrap();
    // One 64 KiB line per batch, and the same bytes in memory for both.
    assert_eq!((ada_second.len(), bob_first.len()), (1, 1));
    assert_eq!(
        ada_second[0].as_bytes().as_ptr(),
        bob_first[0].as_bytes().as_ptr()
    );
}

/// A bridged room (`chat/bridge.rs`) queues what is said here for the other
/// servers, at most its capacity: past that a line still reaches everyone
/// here and is counted as unsent, so a stalled Redis pins no memory and the
/// loss is told. A line relayed from another server is logged here but not
/// queued again — else two servers would echo it between them for ever.
#[test]
fn a_bridged_room_queues_its_own_lines_boundedly_and_never_sends_relayed_ones_back() {
    let now = t0();
    let mut room = Room::new(Limits::default());
    let mut outbox = room.bridge(2);
    let alice = join(&mut room, now);
    room.said(alice.id, "one", now).unwrap();
    room.said(alice.id, "two", now).unwrap(); // the queue is full now
    room.relayed("bob: from elsewhere".into(), now);
    assert_eq!(
        take_all(&mut room, &alice).unwrap(),
        [
            "* guest-1 joined",
            "guest-1: one",
            "guest-1: two",
            "bob: from elsewhere"
        ]
    );
    // "joined" and "one" fitted; "two" did not; the relayed line was not queued.
    assert_eq!(outbox.try_recv().as_deref(), Ok("* guest-1 joined"));
    assert_eq!(outbox.try_recv().as_deref(), Ok("guest-1: one"));
    assert!(outbox.try_recv().is_err());
    assert_eq!(room.take_unsent(), 1);
    assert_eq!(room.take_unsent(), 0, "told once");
}
