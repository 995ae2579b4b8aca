//! Worked answer to "spawn's Send + 'static", Try it 1: a `MutexGuard` held
//! across an await compiles under `block_on` — and deadlocks the loop.

use std::sync::{Mutex, TryLockError};

// ANCHOR: answer
/// Lock, hold the guard across an await, then add `n`. Not `Send`: fine for
/// `block_on` and `join!`, refused by `spawn` — and by clippy, whose
/// `await_holding_lock` lint catches the bug where `Send` does not.
#[allow(clippy::await_holding_lock)] // the bug is what this answer shows
async fn add_holding_the_lock(total: &Mutex<u32>, n: u32) -> Result<(), &'static str> {
    let mut guard = match total.try_lock() {
        Ok(guard) => guard,
        // With `lock()` this would block the thread: the holder is the
        // *other* future, paused at its await on this same thread, and it
        // can only be resumed by this thread. A deadlock, forever.
        Err(TryLockError::WouldBlock) => return Err("would deadlock"),
        Err(TryLockError::Poisoned(_)) => return Err("poisoned"),
    };
    evloop::yield_now().await; // the guard is held across this await
    *guard += n;
    Ok(())
}

#[test]
fn two_futures_sharing_a_std_lock_across_an_await() {
    let total = Mutex::new(0);
    let (a, b) = evloop::run(async {
        evloop::join!(
            add_holding_the_lock(&total, 1),
            add_holding_the_lock(&total, 2)
        )
    });
    // The first locked and paused; the second found the lock held.
    assert_eq!((a, b), (Ok(()), Err("would deadlock")));
    assert_eq!(*total.lock().unwrap(), 1);
}
// ANCHOR_END: answer
