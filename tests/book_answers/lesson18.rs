//! Lesson 18's exercises: counting turns, an async lock, a clock no seed
//! replays, two philosophers, and a stalled chat client.

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use evloop::sync::{oneshot, Semaphore};
use evloop::task::Builder;
use evloop::testing::{explore, DuplexStream, Explore, FailureKind, Network};
use evloop::time::Instant;
use evloop::websocket::{Config, Message, Role, WebSocket};
use evloop::Runtime;

use crate::chat_server::room::{self, Limits, Room};
use crate::secs;

#[path = "../../examples/18_find_the_race.rs"]
#[allow(dead_code)]
mod example;

use example::{start_auth, withdraw_racy, Account, Ledger, Refused, OPENING_BALANCE, WITHDRAWAL};

// ANCHOR: ex1
/// How the bank takes the money: the example's racy withdrawal, or the same
/// inside an async lock (exercise 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Withdrawal {
    Racy,
    Locked,
}

/// One withdrawal of 60, the way `how` says.
async fn withdraw(
    how: Withdrawal,
    lock: &Semaphore,
    account: &Account,
    ledger: &Ledger,
) -> Result<u64, Refused> {
    match how {
        Withdrawal::Racy => withdraw_racy(account, ledger, WITHDRAWAL).await,
        Withdrawal::Locked => {
            // One permit, held from the check to the act: whoever comes
            // second waits here until the first has stored the balance.
            let _permit = lock.acquire().await.expect("never closed");
            withdraw_racy(account, ledger, WITHDRAWAL).await
        }
    }
}

/// A model of the example's `two_customers` in which Bob's login takes
/// `logins` round trips to `auth` (the example has one), with the same
/// bookkeeping check.
async fn two_customers(logins: usize, how: Withdrawal) -> Result<(), String> {
    let account = Account::open(OPENING_BALANCE);
    let entries = Arc::new(Mutex::new(Vec::new()));
    let ledger = Ledger::start(entries.clone());
    let auth = start_auth();
    let lock = Arc::new(Semaphore::new(1));
    let alice = Builder::new().name("alice").spawn({
        let (lock, account, ledger) = (lock.clone(), account.clone(), ledger.clone());
        async move { withdraw(how, &lock, &account, &ledger).await }
    });
    let bob = Builder::new().name("bob").spawn({
        let (account, ledger) = (account.clone(), ledger.clone());
        async move {
            for _ in 0..logins {
                let (welcome, welcomed) = oneshot::channel();
                auth.send(welcome).expect("auth runs");
                welcomed.await.expect("auth answers");
            }
            withdraw(how, &lock, &account, &ledger).await
        }
    });
    drop(ledger);
    let results = [alice.await.expect("alice"), bob.await.expect("bob")];
    let paid: u64 = results.iter().flatten().map(|_| WITHDRAWAL).sum();
    let left = account.balance();
    let written: u64 = entries.lock().unwrap().iter().sum();
    if paid + left != OPENING_BALANCE || written != paid {
        return Err(format!(
            "paid out {paid}, {left} left, ledger says {written}"
        ));
    }
    Ok(())
}

/// Under `seed`, the turn of Alice's act (her 2nd poll) and of Bob's check
/// (the poll after his last login: his `logins + 1`-th).
fn act_and_check_turns(seed: u64, logins: usize) -> (usize, usize) {
    let rt = Runtime::builder()
        .start_paused(true)
        .seed(seed)
        .build()
        .unwrap();
    let bank = rt.spawn_named("bank", two_customers(logins, Withdrawal::Racy));
    let (mut alice, mut bob) = (Vec::new(), Vec::new());
    let mut turn = 0;
    while !bank.is_finished() {
        turn += 1;
        for name in rt.turn().polled {
            match name.as_str() {
                "alice" => alice.push(turn),
                "bob" => bob.push(turn),
                _ => {}
            }
        }
    }
    (alice[1], bob[logins])
}

#[test]
fn with_two_logins_bobs_check_comes_after_alices_act_in_every_order() {
    // The model with one login is the example: exploring finds the race.
    let one = Explore::new(1_000).run(|_| two_customers(1, Withdrawal::Racy));
    assert!(one.is_err(), "one login: some order pays out 120");
    // Two logins: a thousand orders, and not one breaks the bank.
    let two = Explore::new(1_000).run(|_| two_customers(2, Withdrawal::Racy));
    assert_eq!(two.unwrap(), 1_000);

    // Why: count the turns (the bank is turn 1). A task woken during a turn
    // runs in the next one. Alice checks in turn 2 and acts in turn 3 or 4.
    // Bob's first login is answered in turn 2 only if `auth` runs after him —
    // and then `auth` is not ready in turn 3, so his second is answered in
    // turn 4 at the earliest, and he checks in turn 5 or later.
    let turns = |logins| {
        let runs: Vec<_> = (0..1_000).map(|s| act_and_check_turns(s, logins)).collect();
        let latest_act = runs.iter().map(|r| r.0).max().unwrap();
        let earliest_check = runs.iter().map(|r| r.1).min().unwrap();
        (latest_act, earliest_check)
    };
    assert_eq!(turns(1), (4, 3)); // Bob may check before Alice acts: the race
    assert_eq!(turns(2), (4, 5)); // Bob checks after Alice acts, always
}
// ANCHOR_END: ex1

// ANCHOR: ex2
#[test]
fn a_permit_held_from_check_to_act_survives_ten_thousand_seeds() {
    // The racy withdrawal, unchanged, inside `Semaphore::new(1)` (the
    // `Locked` arm of `withdraw`, in answer 1): the example's program, one login.
    let seeds = Explore::new(10_000).run(|_| two_customers(1, Withdrawal::Locked));
    assert_eq!(seeds.unwrap(), 10_000);
}
// ANCHOR_END: ex2

// ANCHOR: ex3
/// The machine's clock, `std::time`, in nanoseconds since its first reading:
/// what no seed replays.
fn machine_nanos() -> u128 {
    static START: OnceLock<std::time::Instant> = OnceLock::new();
    START
        .get_or_init(std::time::Instant::now)
        .elapsed()
        .as_nanos()
}

/// A body that reads the machine's clock and branches on its nanoseconds:
/// an odd microsecond fails the check. Its job is named after the reading,
/// as a request id made from the clock would be, so each run's timeline
/// shows what that run read.
async fn branches_on_the_machines_clock() -> Result<(), String> {
    let nanos = machine_nanos();
    let job = Builder::new().name(format!("job-{nanos}")).spawn(async {});
    job.await.unwrap();
    if nanos % 2_000 >= 1_000 {
        return Err(format!("read {nanos} ns: an odd microsecond"));
    }
    Ok(())
}

#[test]
fn a_body_that_reads_the_machines_clock_does_not_replay_and_explore_says_so() {
    let failure = Explore::new(1_000)
        .name("machines_clock")
        .run(|_| branches_on_the_machines_clock())
        .expect_err("about every other run reads an odd microsecond");
    // The seed's replays ran another course — the replay passed, or its
    // timeline differs — and `explore` says the body is to blame.
    let report = failure.to_string();
    assert!(failure.replay.is_some(), "{report}");
    let warning = format!(
        "BUT the body is not deterministic: replaying seed {} gave a different run",
        failure.seed
    );
    assert!(report.contains(&warning), "{report}");
    assert!(report.contains("read the time with evloop::time::Instant (not std::time)"));
    // It still prints the line to replay the seed: a clue, not a reproduction.
    let replay = format!("EVLOOP_SEED={} cargo test machines_clock", failure.seed);
    assert!(report.contains(&replay), "{report}");
}
// ANCHOR_END: ex3

// ANCHOR: ex4
/// Two philosophers at a table with two forks. Each takes his left fork,
/// lets the others run, takes his right, eats, and puts both down.
/// `kant_right_first`: Kant takes his right fork first.
async fn dinner(kant_right_first: bool) {
    let forks = [Arc::new(Semaphore::new(1)), Arc::new(Semaphore::new(1))];
    let philosopher = |name: &str, first: usize, second: usize| {
        let (first, second) = (forks[first].clone(), forks[second].clone());
        Builder::new().name(name).spawn(async move {
            let _one = first.acquire().await.unwrap();
            evloop::yield_now().await;
            let _two = second.acquire().await.unwrap();
            // eat
        })
    };
    // Plato's left fork is 0 and his right is 1; Kant's the other way round.
    let plato = philosopher("plato", 0, 1);
    let kant = match kant_right_first {
        false => philosopher("kant", 1, 0),
        true => philosopher("kant", 0, 1),
    };
    plato.await.unwrap();
    kant.await.unwrap();
}

#[test]
fn two_philosophers_deadlock_and_the_report_names_both_then_one_order_fixes_it() {
    let failure = Explore::new(1_000)
        .run(|_| dinner(false))
        .expect_err("each holds one fork and waits for the other");
    let FailureKind::Hang(stalled) = &failure.kind else {
        panic!("a hang, not a panic or a check: {}", failure.kind);
    };
    let report = stalled.to_string();
    assert!(report.starts_with("hang at 0.000s: nothing can happen any more"));
    assert!(report.contains("2 task(s) wait:"), "{report}");
    for name in ["plato", "kant"] {
        let line = format!("`{name}` (task-");
        let waits = report
            .lines()
            .any(|l| l.contains(&line) && l.ends_with("waits on a semaphore's permits"));
        assert!(waits, "{name} waits on a fork:\n{report}");
    }
    // Both take their left fork in their first poll, in whatever order: every
    // seed deadlocks, so the first one does.
    assert_eq!(failure.seed, 0);

    // Both now take fork 0 first: whoever gets it gets fork 1 too.
    let seeds = Explore::new(1_000).run(|_| dinner(true));
    assert_eq!(seeds.unwrap(), 1_000);
}
// ANCHOR_END: ex4

// ANCHOR: ex5
/// A chat client over one end of a connection made by `net`, with the
/// room's `member` task on the other end (as `tests/chat_sim.rs` connects
/// them). `stall`: the server's end sends nothing that arrives before then.
fn connect(
    net: &Network,
    room: &Arc<Mutex<Room>>,
    stall: Option<Duration>,
) -> WebSocket<DuplexStream> {
    let (client, server) = net.pair();
    if let Some(stall) = stall {
        server.stall(stall); // it joins at this very instant
    }
    let server = WebSocket::from_parts(server, Vec::new(), Role::Server, Config::default());
    evloop::spawn(room::member(server, room.clone()));
    WebSocket::from_parts(client, Vec::new(), Role::Client, Config::default())
}

/// Everything a client heard, with when, until it heard `last` or its
/// connection ended; then it says goodbye.
async fn listen(mut ws: WebSocket<DuplexStream>, last: String) -> Vec<(Duration, String)> {
    let start = Instant::now();
    let mut heard = Vec::new();
    while let Ok(Some(Message::Text(line))) = ws.recv().await {
        heard.push((start.elapsed(), line.clone()));
        if line == last {
            let _ = ws.close(1000, "bye").await;
            break;
        }
    }
    heard
}

const LINES: usize = 30;

/// A room with three clients: `guest-1`, whose connection delivers nothing
/// for 20 s from the moment it joins; `guest-2`, who reads along; and
/// `talker`, who says a line a second for 30 s. `capacity`: the bytes
/// guest-1's connection holds. What guest-1 and guest-2 heard.
async fn stalled_client(seed: u64, capacity: Option<usize>) -> [Vec<(Duration, String)>; 2] {
    let net = Network::new(seed).latency(Duration::ZERO, Duration::from_millis(20));
    let small = capacity.map_or(net.clone(), |bytes| net.clone().capacity(bytes));
    let room = Arc::new(Mutex::new(Room::new(Limits::default())));
    let last = format!("talker: line {}", LINES - 1);
    let mut listeners = Vec::new();
    for (net, stall) in [(&small, Some(secs(20))), (&net, None)] {
        let ws = connect(net, &room, stall);
        listeners.push(evloop::spawn(listen(ws, last.clone())));
        evloop::time::sleep(Duration::from_millis(1)).await; // it has joined
    }
    let mut talker = connect(&net, &room, None);
    talker
        .send(Message::Text("/nick talker".into()))
        .await
        .unwrap();
    for n in 0..LINES {
        evloop::time::sleep(secs(1)).await;
        let line = Message::Text(format!("line {n}"));
        talker.send(line).await.unwrap();
    }
    let mut heard = evloop::join_all(listeners).await.into_iter();
    [(); 2].map(|_| heard.next().unwrap().unwrap())
}

/// The talker's lines in what a client heard.
fn talk(heard: &[(Duration, String)]) -> Vec<&str> {
    let lines = heard.iter().map(|(_, line)| line.as_str());
    lines.filter(|l| l.starts_with("talker: ")).collect()
}

#[test]
fn a_stalled_client_with_room_on_its_wire_is_kept_and_hears_everything_20_s_late() {
    let limits = Limits::default();
    assert_eq!(limits.max_lag, secs(10)); // the stall is twice that
    explore(10, |seed| async move {
        let [stalled, watcher] = stalled_client(seed, None).await;
        // Its member task took every line as it came and wrote it onto the
        // wire, which holds 64 KiB: no line waited for the member, so the
        // room never found it lagging, and kept it.
        let said = talk(&watcher);
        assert_eq!(said.len(), LINES);
        let let_go = |l: &str| l == "* guest-1 left" || l.contains("too slow");
        assert!(!watcher.iter().any(|(_, l)| let_go(l)));
        // Nothing reached it for 20 s; then everything did, in order.
        assert_eq!(stalled[0].0, secs(20));
        assert_eq!(talk(&stalled), said);
    });
}

#[test]
fn a_stalled_client_with_a_small_wire_is_let_go_after_the_send_timeout() {
    let limits = Limits::default();
    explore(10, |seed| async move {
        let [stalled, watcher] = stalled_client(seed, Some(64)).await;
        // Three joins and a rename are more than 64 bytes: within the first
        // second the member's write waits for room, and `send_timeout` later
        // the member gives up, drops the connection and leaves the room.
        let (left_at, _) = watcher
            .iter()
            .find(|(_, l)| l == "* guest-1 left")
            .expect("the room lets it go");
        assert!(*left_at >= limits.send_timeout && *left_at < limits.send_timeout + secs(1));
        // Never "too slow": its member task was stuck in a write, not behind
        // on the room's log, which is what `max_lag` measures.
        assert!(!watcher.iter().any(|(_, l)| l.contains("too slow")));
        // At 20 s the bytes on its wire arrived, then the end of the
        // connection: none of the 30 lines.
        assert!(!stalled.is_empty() && stalled.iter().all(|(at, _)| *at == secs(20)));
        assert!(talk(&stalled).is_empty());
    });
}
// ANCHOR_END: ex5
