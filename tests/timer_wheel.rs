//! The timer wheel, on its own: a walk-through, then property tests against a
//! model.
//!
//! The examples follow three timers down the wheel, with the levels and slots
//! the module doc of `evloop::time::wheel` explains, and count the wake-ups
//! a loop that sleeps until `next_expiration` takes to reach a far timer. The property tests check
//! the wheel against the simplest thing that could be right: a sorted set of
//! `(deadline, insertion number)`, from which "what is due" is a range.

use std::collections::BTreeSet;

use evloop::time::wheel::{TimerKey, TimerWheel};
use proptest::prelude::*;

/// Advances `wheel` to `now` and returns the values that fired, in order.
fn advance<T>(wheel: &mut TimerWheel<T>, now: u64) -> Vec<T> {
    let mut fired = Vec::new();
    let count = wheel.advance(now, |_key, value| fired.push(value));
    assert_eq!(count, fired.len(), "advance counts what it fires");
    fired
}

#[test]
fn three_timers_walk_down_the_wheel() {
    let mut wheel = TimerWheel::new();
    assert_eq!(wheel.elapsed(), 0);
    assert_eq!(
        wheel.next_expiration(),
        None,
        "an empty wheel never expires"
    );

    // Seen from tick 0, a deadline lands on the level of its highest base-64
    // digit that differs from 0, in the slot named by that digit.
    let at_5 = wheel.insert(5, "5 ms"); //         5 = (0, 0, 5)
    let at_70 = wheel.insert(70, "70 ms"); //     70 = (0, 1, 6)
    let at_5000 = wheel.insert(5000, "5 s"); // 5000 = (1, 14, 8)
    assert_eq!(wheel.level_and_slot(at_5), Some((0, 5)));
    assert_eq!(wheel.level_and_slot(at_70), Some((1, 1))); // spans ticks 64..128
    assert_eq!(wheel.level_and_slot(at_5000), Some((2, 1))); // spans ticks 4096..8192
    assert_eq!(wheel.len(), 3);

    // Level 0 holds exact ticks, so the next expiration is the 5 ms timer.
    assert_eq!(wheel.next_expiration(), Some(5));
    assert_eq!(advance(&mut wheel, 5), ["5 ms"]);

    // Next: level 1's slot 1 must be cascaded when it starts, at 64 -- before
    // the 70 ms deadline inside it. Advancing there fires nothing...
    assert_eq!(wheel.next_expiration(), Some(64));
    assert_eq!(advance(&mut wheel, 64), Vec::<&str>::new());
    // ...but moves the 70 ms timer down to level 0, at its exact tick.
    assert_eq!(wheel.level_and_slot(at_70), Some((0, 6)));
    assert_eq!(wheel.next_expiration(), Some(70));
    assert_eq!(advance(&mut wheel, 100), ["70 ms"]);

    // The 5 s timer cascades twice: at 4096 to level 1, at 4992 to level 0.
    assert_eq!(wheel.next_expiration(), Some(4096));
    advance(&mut wheel, 4096);
    assert_eq!(wheel.level_and_slot(at_5000), Some((1, 14)));
    assert_eq!(wheel.next_expiration(), Some(4992));
    advance(&mut wheel, 4992);
    assert_eq!(wheel.level_and_slot(at_5000), Some((0, 8)));
    assert_eq!(wheel.next_expiration(), Some(5000));

    assert_eq!(advance(&mut wheel, 10_000), ["5 s"]);
    assert!(wheel.is_empty());
    assert_eq!(wheel.elapsed(), 10_000);
    assert_eq!(
        wheel.deadline(at_5000),
        None,
        "a fired timer's key is stale"
    );
}

#[test]
fn one_big_jump_fires_everything_in_deadline_order() {
    let mut wheel = TimerWheel::new();
    // Inserted out of order, on every level.
    for deadline in [5000, 3, 1 << 31, 70, 1 << 20, 64, 2] {
        wheel.insert(deadline, deadline);
    }
    // The cascades happen inside this one call, in time order.
    let fired = advance(&mut wheel, 1 << 32);
    assert_eq!(fired, [2, 3, 64, 70, 5000, 1 << 20, 1 << 31]);
}

#[test]
fn equal_deadlines_fire_in_insertion_order() {
    let mut wheel = TimerWheel::new();
    wheel.insert(300, 'a');
    advance(&mut wheel, 100);
    // Inserted from a different `elapsed`, into the slot 'a' already sits in.
    wheel.insert(300, 'b');
    wheel.insert(299, 'c');
    advance(&mut wheel, 290);
    wheel.insert(300, 'd');
    assert_eq!(advance(&mut wheel, 300), ['c', 'a', 'b', 'd']);
}

#[test]
fn a_past_deadline_is_due_at_once() {
    let mut wheel = TimerWheel::new();
    advance(&mut wheel, 1000);
    let late = wheel.insert(10, "late");
    // Stored as "now", and `next_expiration` says so.
    assert_eq!(wheel.deadline(late), Some(1000));
    assert_eq!(wheel.next_expiration(), Some(1000));
    // Advancing to where we already are fires it; going backwards does too.
    assert_eq!(advance(&mut wheel, 1000), ["late"]);
    wheel.insert(0, "later");
    assert_eq!(advance(&mut wheel, 5), ["later"]);
    assert_eq!(wheel.elapsed(), 1000, "time never runs backwards");
}

#[test]
fn cancel_is_final_and_stale_keys_are_harmless() {
    let mut wheel = TimerWheel::new();
    let first = wheel.insert(50, 1);
    assert_eq!(wheel.remove(first), Some(1));
    assert_eq!(wheel.remove(first), None, "removing twice is a no-op");
    assert_eq!(wheel.next_expiration(), None, "the slot's bit was cleared");

    // The freed place is reused, under a new generation.
    let second = wheel.insert(50, 2);
    assert_ne!(first, second);
    assert_eq!(
        wheel.remove(first),
        None,
        "the old key cannot cancel the new timer"
    );
    assert_eq!(wheel.get_mut(first), None);

    // The runtime swaps the waker on re-poll: `get_mut` changes the value in place.
    *wheel.get_mut(second).unwrap() = 20;
    assert_eq!(advance(&mut wheel, 50), [20]);
    assert_eq!(
        wheel.remove(second),
        None,
        "a fired timer cannot be cancelled"
    );
}

#[test]
fn a_deadline_beyond_the_wheel_still_fires_on_its_tick() {
    const YEAR_MS: u64 = 365 * 24 * 3600 * 1000;
    let mut wheel = TimerWheel::new();
    let range = (TimerWheel::<()>::SLOTS as u64).pow(TimerWheel::<()>::LEVELS as u32);
    let far = 3 * YEAR_MS + 12_345; // more than 64^6 ms away
    assert!(far > range);
    let key = wheel.insert(far, "far");
    assert_eq!(
        wheel.level_and_slot(key),
        Some((5, 63)),
        "parked in the furthest slot"
    );
    // A year at a time: each jump is a few steps, never a billion ticks.
    for year in 1..=3 {
        assert!(advance(&mut wheel, year * YEAR_MS).is_empty());
    }
    assert!(advance(&mut wheel, far - 1).is_empty());
    assert_eq!(advance(&mut wheel, far), ["far"]);
}

#[test]
fn the_top_level_wraps_round_like_a_ring() {
    // Just before the wheel's 2^36-tick span rolls over, a deadline just after
    // it differs from `elapsed` in bit 36, which no level reads. It goes in the
    // top level, one slot ahead of the current one: slot 63 + 1 = slot 0.
    let mut wheel = TimerWheel::new();
    let rollover = 1u64 << 36;
    advance(&mut wheel, rollover - 5);
    let key = wheel.insert(rollover + 10, "after the rollover");
    assert_eq!(wheel.level_and_slot(key), Some((5, 0)));
    assert_eq!(wheel.next_expiration(), Some(rollover));
    assert!(advance(&mut wheel, rollover + 9).is_empty());
    assert_eq!(advance(&mut wheel, rollover + 10), ["after the rollover"]);
}

#[test]
fn a_key_from_another_wheel_finds_nothing() {
    // Two fresh wheels hand out their first keys for the same slab place and
    // generation; only the wheel's own number tells them apart.
    let (mut a, mut b) = (TimerWheel::new(), TimerWheel::new());
    let from_a = a.insert(10, "a");
    let in_b = b.insert(10, "b");
    assert_ne!(from_a, in_b);
    assert_eq!(b.get_mut(from_a), None, "no stealing b's timer");
    assert_eq!(b.remove(from_a), None, "no cancelling it either");
    assert_eq!(b.deadline(from_a), None);
    assert_eq!(advance(&mut b, 10), ["b"]);
    assert_eq!(advance(&mut a, 10), ["a"]);
}

/// The loop's way to a deadline: sleep until `next_expiration`, advance,
/// and again until something fires. Returns the ticks it woke at.
fn wake_ups_until_it_fires(wheel: &mut TimerWheel<()>) -> Vec<u64> {
    let mut woke_at = Vec::new();
    while let Some(tick) = wheel.next_expiration() {
        woke_at.push(tick);
        if wheel.advance(tick, |_, ()| ()) > 0 {
            break;
        }
    }
    woke_at
}

#[test]
fn a_far_timer_costs_at_most_one_early_wake_up_per_level() {
    // 300 ms from 0 sits in level 1, slot 4 (ticks 256..320): the loop wakes
    // at 256 to cascade it, then at 300 to fire it.
    let mut wheel = TimerWheel::new();
    wheel.insert(300, ());
    assert_eq!(wake_ups_until_it_fires(&mut wheel), [256, 300]);

    // 5000 from 1000, the worked example of `position`: 4096, 4992, 5000.
    let mut wheel = TimerWheel::new();
    wheel.advance(1000, |_, ()| ());
    wheel.insert(5000, ());
    assert_eq!(wake_ups_until_it_fires(&mut wheel), [4096, 4992, 5000]);
}

// ---------------------------------------------------------------------------
// Property tests: the wheel against a sorted-set model.
// ---------------------------------------------------------------------------

/// Three years of milliseconds: past the wheel's ~2.2-year range.
const THREE_YEARS: u64 = 3 * 365 * 24 * 3600 * 1000;

#[derive(Debug, Clone)]
enum Op {
    /// Insert a timer this many ticks after `elapsed`.
    Insert(u64),
    /// Insert a timer this many ticks before `elapsed` (already due).
    InsertPast(u64),
    /// Remove the timer from insert number `n % inserted` (maybe already gone).
    Remove(usize),
    /// Advance by this many ticks.
    Advance(u64),
}

/// Distances from the near (level 0) to beyond the wheel.
fn distance() -> impl Strategy<Value = u64> {
    prop_oneof![
        3 => 0..64u64,
        3 => 0..5_000u64,
        2 => 0..10_000_000u64,
        1 => 0..THREE_YEARS,
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => distance().prop_map(Op::Insert),
        1 => (0..200u64).prop_map(Op::InsertPast),
        2 => any::<usize>().prop_map(Op::Remove),
        1 => (0..4u64).prop_map(Op::Advance),
        3 => distance().prop_map(Op::Advance),
    ]
}

/// The model: what is waiting, as `(deadline, insertion number)`, so its
/// order is "by deadline, ties by insertion".
#[derive(Default)]
struct Model {
    waiting: BTreeSet<(u64, usize)>,
    /// Every key ever handed out, by insertion number, with its deadline.
    keys: Vec<(TimerKey, u64)>,
}

/// Inserts into both the wheel and the model.
fn insert(
    wheel: &mut TimerWheel<usize>,
    model: &mut Model,
    deadline: u64,
) -> Result<(), TestCaseError> {
    let id = model.keys.len();
    let key = wheel.insert(deadline, id);
    // A past deadline is stored as "now".
    let due = deadline.max(wheel.elapsed());
    prop_assert_eq!(wheel.deadline(key), Some(due));
    model.waiting.insert((due, id));
    model.keys.push((key, due));
    Ok(())
}

fn check_against_model(ops: &[Op]) -> Result<(), TestCaseError> {
    let mut wheel = TimerWheel::new();
    let mut model = Model::default();
    for op in ops {
        let elapsed = wheel.elapsed();
        match *op {
            Op::Insert(ahead) => insert(&mut wheel, &mut model, elapsed + ahead)?,
            Op::InsertPast(back) => insert(&mut wheel, &mut model, elapsed.saturating_sub(back))?,
            Op::Remove(pick) => {
                if model.keys.is_empty() {
                    continue;
                }
                let id = pick % model.keys.len();
                let (key, due) = model.keys[id];
                let expected = model.waiting.remove(&(due, id)).then_some(id);
                prop_assert_eq!(wheel.remove(key), expected);
                prop_assert_eq!(wheel.remove(key), None);
            }
            Op::Advance(by) => {
                let now = elapsed + by;
                let mut fired = Vec::new();
                let count = wheel.advance(now, |key, id| fired.push((key, id)));
                prop_assert_eq!(count, fired.len());
                prop_assert_eq!(wheel.elapsed(), now);

                // What the model says is due: everything with deadline <= now.
                let still_waiting = model.waiting.split_off(&(now + 1, 0));
                let due = std::mem::replace(&mut model.waiting, still_waiting);

                // Fired in non-decreasing deadline order, none early...
                let deadlines: Vec<u64> = fired.iter().map(|&(_, id)| model.keys[id].1).collect();
                prop_assert!(
                    deadlines.windows(2).all(|w| w[0] <= w[1]),
                    "order: {:?}",
                    deadlines
                );
                prop_assert!(deadlines.iter().all(|&d| d <= now));
                // ...with the keys they were inserted under...
                for &(key, id) in &fired {
                    prop_assert_eq!(key, model.keys[id].0);
                }
                // ...and exactly the due set.
                let mut fired_ids: Vec<usize> = fired.iter().map(|&(_, id)| id).collect();
                fired_ids.sort_unstable();
                let mut due_ids: Vec<usize> = due.iter().map(|&(_, id)| id).collect();
                due_ids.sort_unstable();
                prop_assert_eq!(fired_ids, due_ids);
            }
        }

        // After every op: the size, and what `next_expiration` promises.
        prop_assert_eq!(wheel.len(), model.waiting.len());
        prop_assert_eq!(wheel.is_empty(), model.waiting.is_empty());
        let next = wheel.next_expiration();
        match model.waiting.first() {
            None => prop_assert_eq!(next, None),
            Some(&(earliest, _)) => {
                let next = next.expect("a non-empty wheel has a next expiration");
                let elapsed = wheel.elapsed();
                prop_assert!(
                    elapsed <= next && next <= earliest,
                    "{elapsed} <= {next} <= {earliest}"
                );
                // In the current 64-tick window the earliest timer is in
                // level 0, which holds exact ticks.
                if earliest >> 6 == elapsed >> 6 {
                    prop_assert_eq!(next, earliest);
                }
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Within the wheel's range (under 63 top-level slots ahead, so nothing is
    /// clamped to the furthest slot), a timer with nothing else around is
    /// reached in at most one wake-up per level, the last one exactly at its
    /// deadline.
    #[test]
    fn a_lone_timer_is_reached_in_at_most_one_wake_up_per_level(
        now in 0..(1u64 << 40),
        ahead in 0..(63u64 << 30),
    ) {
        let mut wheel = TimerWheel::new();
        wheel.advance(now, |_, ()| ());
        wheel.insert(now + ahead, ());
        let woke_at = wake_ups_until_it_fires(&mut wheel);
        prop_assert!(woke_at.len() <= TimerWheel::<()>::LEVELS, "{:?}", woke_at);
        prop_assert_eq!(woke_at.last(), Some(&(now + ahead)));
        prop_assert!(wheel.is_empty());
    }

    #[test]
    fn wheel_matches_a_sorted_set(ops in prop::collection::vec(op(), 1..150)) {
        check_against_model(&ops)?;
    }

    /// Many timers in a narrow window, so slots hold several entries and
    /// ties are common: equal deadlines must fire in insertion order.
    #[test]
    fn crowded_slots_fire_by_deadline_then_insertion(
        deadlines in prop::collection::vec(0..300u64, 1..100),
        steps in prop::collection::vec(0..80u64, 1..10),
    ) {
        let mut wheel = TimerWheel::new();
        for (id, &deadline) in deadlines.iter().enumerate() {
            wheel.insert(deadline, (deadline, id));
        }
        let mut fired = Vec::new();
        let mut now = 0;
        for step in steps {
            now += step;
            fired.extend(advance(&mut wheel, now));
        }
        fired.extend(advance(&mut wheel, 300));
        let mut expected: Vec<(u64, usize)> = deadlines.iter().copied().zip(0..).collect();
        expected.sort();
        prop_assert_eq!(fired, expected);
    }
}
