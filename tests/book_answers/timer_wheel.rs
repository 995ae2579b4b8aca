//! The timer wheel chapter's exercises: one timer's way down the levels, and
//! ten thousand timers that never fire.

use std::time::Duration;

use evloop::time::{timeout, wheel::TimerWheel};

use crate::paused;

// ANCHOR: ex1
#[test]
fn a_timer_moves_down_the_levels_as_its_deadline_comes_near() {
    let mut wheel = TimerWheel::<u32>::new();
    wheel.advance(1000, |_, _| unreachable!("nothing is due"));
    let key = wheel.insert(5000, 1);
    // 4 s ahead: level 2 (4.096 s slots), slot 5000 / 4096 = 1.
    assert_eq!(wheel.level_and_slot(key), Some((2, 1)));
    let bit = |wheel: &TimerWheel<u32>, level: usize| {
        // `{:?}` shows each level's `occupied` bitmap, slot 0 rightmost.
        let shown = format!("{wheel:?}");
        let maps: Vec<&str> = shown.split('"').filter(|s| s.len() == 64).collect();
        maps[level].chars().rev().position(|c| c == '1')
    };
    assert_eq!(bit(&wheel, 2), Some(1));

    // At 4096 level 2's slot 1 is reached and cascades: 904 ms to go, level 1
    // (64 ms slots), slot 5000 / 64 % 64 = 14.
    wheel.advance(4096, |_, _| unreachable!("not due yet"));
    assert_eq!(wheel.level_and_slot(key), Some((1, 14)));
    assert_eq!((bit(&wheel, 2), bit(&wheel, 1)), (None, Some(14)));

    // At 4992 it cascades again: 8 ms to go, level 0, slot 5000 % 64 = 8.
    wheel.advance(4992, |_, _| unreachable!("not due yet"));
    assert_eq!(wheel.level_and_slot(key), Some((0, 8)));
    assert_eq!((bit(&wheel, 1), bit(&wheel, 0)), (None, Some(8)));

    let mut fired = Vec::new();
    wheel.advance(5000, |_, value| fired.push(value));
    assert_eq!(fired, [1]);
}
// ANCHOR_END: ex1

// ANCHOR: ex2
#[test]
fn ten_thousand_timeouts_that_win_never_fire() {
    let rt = paused();
    rt.block_on(async {
        let tasks = (0..10_000)
            .map(|_| evloop::spawn(timeout(Duration::from_secs(60), evloop::yield_now())));
        for finished in evloop::join_all(tasks).await {
            assert!(finished.unwrap().is_ok()); // every future beat its timeout
        }
    });
    assert_eq!(rt.metrics().timers_fired, 0); // inserted, cancelled, none fired
    assert!(rt.elapsed() < Duration::from_secs(60)); // the clock never went there
}
// ANCHOR_END: ex2
