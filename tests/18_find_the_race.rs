//! Lesson 18, turn by turn: the racy bank passes under FIFO, a seed finds the
//! order that breaks it, the seed replays that order exactly, and the fix
//! survives 10,000 seeds.

#[path = "../examples/18_find_the_race.rs"]
#[allow(dead_code)]
mod ex18;

use evloop::testing::{explore, Explore, FailureKind};
use evloop::Runtime;
use ex18::{two_customers, Bank};

/// A paused runtime, seeded if `seed` is given, with the bank's run queued.
fn bank(seed: Option<u64>, which: Bank) -> (Runtime, evloop::JoinHandle<Result<(), String>>) {
    let mut builder = Runtime::builder().start_paused(true).trace(true);
    if let Some(seed) = seed {
        builder = builder.seed(seed);
    }
    let rt = builder.build().unwrap();
    let run = rt.spawn_named("bank", two_customers(which));
    (rt, run)
}

#[test]
fn fifo_shows_one_order_and_in_it_the_bank_is_right() {
    let (rt, run) = bank(None, Bank::Racy);
    // Turn 1: the bank opens; it spawns the ledger, the login service, Alice and Bob.
    assert_eq!(rt.turn().polled, ["bank"]);
    // Turn 2: in spawn order. Alice checks (100 ≥ 60) and asks the ledger to
    // write her withdrawal down; Bob asks the login service to let him in.
    assert_eq!(rt.turn().polled, ["ledger", "auth", "alice", "bob"]);
    // Turn 3: the ledger answers Alice; the login service answers Bob.
    assert_eq!(rt.turn().polled, ["ledger", "auth"]);
    // Turn 4: both are ready — Alice first, because she was woken first.
    // She stores 40; *then* Bob checks, sees 40, and is refused.
    assert_eq!(rt.turn().polled, ["alice", "bob"]);
    assert_eq!(rt.block_on(run).unwrap(), Ok(()));
    // Every unseeded run is this one: FIFO can run this test forever and pass.
}

#[test]
fn a_seed_finds_the_order_that_breaks_it_and_replays_it() {
    // Exploring: each seed is one order of the ready tasks in every turn.
    let failure = Explore::new(1_000)
        .run(|_| two_customers(Bank::Racy))
        .expect_err("some order breaks the racy bank");
    let FailureKind::Check(why) = &failure.kind else {
        panic!("the check fails, nothing panics or hangs: {}", failure.kind)
    };
    assert!(why.contains("paid out 120, 40 left"), "{why}");
    assert!(failure.replay.is_none(), "the seed replays the same run");

    // Replay that seed, turn by turn.
    let (rt, run) = bank(Some(failure.seed), Bank::Racy);
    assert_eq!(rt.turn().polled, ["bank"]);
    rt.turn(); // Alice checks and waits for the ledger; Bob waits for his login (any order)
    rt.turn(); // the ledger and the login service answer (any order)
               // Turn 4, as this seed orders it: Bob first. He checks *before* Alice
               // stores her result, sees 100, and is paid too.
    assert_eq!(rt.turn().polled, ["bob", "alice"]);
    let verdict = rt.block_on(run).unwrap();
    assert_eq!(verdict.unwrap_err(), *why);

    // And run as `explore` runs it (the body as the `block_on` future), the
    // seed gives the timeline `explore` reported, byte for byte.
    let replay = Runtime::builder()
        .start_paused(true)
        .trace(true)
        .seed(failure.seed)
        .slow_poll_threshold(std::time::Duration::MAX)
        .build()
        .unwrap();
    assert!(replay.block_on(two_customers(Bank::Racy)).is_err());
    assert_eq!(replay.trace().timeline(), failure.timeline);
}

/// The racy bank under `explore`, as you would write the test before knowing
/// the answer. It fails — that is the lesson — so it expects the panic. The
/// report names this test in its replay line; run
/// `EVLOOP_SEED=1 cargo test find_the_race -- --nocapture` to see that seed alone.
#[test]
#[should_panic(expected = "cargo test find_the_race")]
fn find_the_race() {
    explore(1_000, |_| two_customers(Bank::Racy));
}

#[test]
fn the_report_has_one_replay_line_and_the_timeline() {
    let report = std::panic::catch_unwind(|| {
        Explore::new(1_000)
            .name("find_the_race")
            .check(|_| two_customers(Bank::Racy))
    })
    .expect_err("the racy bank fails");
    let report = report.downcast_ref::<String>().expect("a report");
    let replay_lines = report
        .lines()
        .filter(|l| l.contains("EVLOOP_SEED="))
        .count();
    assert_eq!(replay_lines, 1, "one line to replay it:\n{report}");
    assert!(report.contains("cargo test find_the_race"));
    assert!(report.contains("poll   bob"), "and the timeline:\n{report}");
}

#[test]
fn the_fix_survives_ten_thousand_seeds() {
    // Check and act with no `.await` between them: no order can get in.
    explore(10_000, |_| two_customers(Bank::Fixed));
}

mod workers;

/// Every test above again, on worker threads (`tests/workers/mod.rs`).
#[test]
fn on_workers() {
    workers::rerun_on_workers(&[]);
}
