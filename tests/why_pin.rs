//! The "Why Pin" chapter, as code: a borrow held across `.await` makes a
//! future point into itself; moving it would leave the pointer behind; `Pin`
//! is the promise that it will not move; pin projection passes that promise
//! on to a field.

use std::future::Future;
use std::marker::PhantomPinned;
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use evloop::task::YieldNow;
use evloop::yield_now;

// ANCHOR: borrow
/// A borrow held across an await: `best` points into `scores`, and both
/// must survive the pause — so both are stored in the future.
async fn best_score() -> u32 {
    let scores = [3, 9, 4];
    let best: &u32 = scores.iter().max().expect("three scores");
    yield_now().await; // paused here, holding `best`
    *best
}
// ANCHOR_END: borrow

// ANCHOR: machine
/// `best_score`, by hand. `best` cannot be written `&'a u32`: there is no
/// name for "a lifetime as long as this very value". So it is a raw pointer,
/// into the `scores` field beside it: the value refers to itself.
enum BestByHand {
    Start,
    Paused {
        scores: [u32; 3],
        best: *const u32, // points into `scores`, inside this value
        yielded: YieldNow,
    },
    Done,
}
// ANCHOR_END: machine

impl BestByHand {
    /// The first poll's work: store the locals, then point `best` into them.
    /// Where `scores` lives decides what `best` holds.
    fn start(&mut self) {
        *self = BestByHand::Paused {
            scores: [3, 9, 4],
            best: std::ptr::null(),
            yielded: yield_now(),
        };
        if let BestByHand::Paused { scores, best, .. } = self {
            *best = scores.iter().max().expect("three scores");
        }
    }

    /// Does `best` still point into this value's own `scores`?
    fn points_into_itself(&self) -> bool {
        match self {
            BestByHand::Paused { scores, best, .. } => {
                scores.as_ptr_range().contains(best) // compares addresses; reads nothing
            }
            _ => false,
        }
    }
}

/// A waker that counts its wakes.
#[derive(Default)]
struct Counting(AtomicUsize);

impl Wake for Counting {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn a_move_after_the_first_poll_leaves_the_pointer_behind() {
    // ANCHOR: the_move
    let mut machine = BestByHand::Start;
    machine.start(); // what the first poll does
    assert!(machine.points_into_itself());

    // Move it, as any Rust value may be moved: into a Vec, a Box, another
    // variable, a function's return value. The bytes are copied to a new
    // place; `best` still holds the *old* address of `scores`.
    let moved = Box::new(machine);
    assert!(!moved.points_into_itself());
    // Reading through `best` now would read freed or reused stack memory:
    // undefined behaviour. (This test compares addresses only.)
    // ANCHOR_END: the_move
}

// ANCHOR: pinned
/// The same machine with the promise written into its type: `PhantomPinned`
/// makes it `!Unpin`, so once it sits behind a `Pin`, safe code cannot move
/// it — and `poll` may rely on `best`.
struct Pinned {
    machine: BestByHand,
    _pin: PhantomPinned,
}

impl Future for Pinned {
    type Output = u32;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u32> {
        // SAFETY: we never move `machine` out of `self`; we only change it in
        // place. `Pin` guarantees the caller will not move it either.
        let machine = unsafe { &mut self.get_unchecked_mut().machine };
        loop {
            match machine {
                BestByHand::Start => machine.start(), // now `best` points into us
                BestByHand::Paused { best, yielded, .. } => {
                    if Pin::new(yielded).poll(cx).is_pending() {
                        return Poll::Pending;
                    }
                    // SAFETY: `best` points into `scores` of this same value,
                    // which has not moved since `start`: we are pinned.
                    let best = unsafe { **best };
                    *machine = BestByHand::Done;
                    return Poll::Ready(best);
                }
                BestByHand::Done => panic!("`async fn` resumed after completion"),
            }
        }
    }
}
// ANCHOR_END: pinned

#[test]
fn pinned_the_pointer_stays_good_across_the_pause() {
    let counter = Arc::new(Counting::default());
    let waker = Waker::from(counter.clone());
    let mut cx = Context::from_waker(&waker);

    // ANCHOR: pin_macro
    // `pin!` moves the value into a place in this stack frame that safe code
    // can no longer name, and hands back `Pin<&mut Pinned>`: nobody can move
    // the value any more, for as long as it lives.
    let mut future = pin!(Pinned {
        machine: BestByHand::Start,
        _pin: PhantomPinned,
    });
    assert_eq!(future.as_mut().poll(&mut cx), Poll::Pending);
    assert!(future.machine.points_into_itself()); // reading through Pin is fine
    assert_eq!(future.as_mut().poll(&mut cx), Poll::Ready(9));
    // ANCHOR_END: pin_macro
    assert_eq!(
        counter.0.load(Ordering::SeqCst),
        1,
        "yield_now woke us once"
    );
}

#[test]
fn the_compiler_made_future_is_not_unpin_and_runs_pinned() {
    fn is_unpin<T: Unpin>(_: &T) -> bool {
        true
    }
    // Our hand-made `BestByHand` is `Unpin` (raw pointers are): the compiler
    // cannot see it points into itself — that is why it needed PhantomPinned.
    assert!(is_unpin(&BestByHand::Start));
    // The compiler's version is `!Unpin` by construction (`is_unpin(&best_score())`
    // does not compile), so it must be pinned to be polled: on the heap by the
    // task (spawn boxes every future), or on the stack with `pin!`.
    assert_eq!(evloop::run(best_score()), 9);
    assert_eq!(
        evloop::run(async { evloop::spawn(best_score()).await }).unwrap(),
        9
    );
    let boxed: Pin<Box<dyn Future<Output = u32>>> = Box::pin(best_score());
    assert_eq!(evloop::run(boxed), 9);
}

// ANCHOR: projection
/// A wrapper that counts how often its future is polled. Polling `inner`
/// needs `Pin<&mut F>`, but we hold `Pin<&mut Self>`: *projecting* the pin
/// to a field is sound only if the field is treated as pinned too
/// ("structural pinning").
struct CountPolls<F> {
    inner: F,     // structurally pinned: never moved out
    polls: usize, // not pinned: a plain `&mut usize` is fine
}

impl<F: Future> Future for CountPolls<F> {
    type Output = (F::Output, usize);

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<(F::Output, usize)> {
        // SAFETY: the rules of structural pinning hold for `inner`: we never
        // move it out of `self` (no `mem::replace`/`swap` on it), there is no
        // `Drop` impl that could, and no `impl Unpin` that ignores `F`.
        let this = unsafe { self.get_unchecked_mut() };
        this.polls += 1;
        // SAFETY: as above: `inner` is pinned for as long as `self` is.
        let inner = unsafe { Pin::new_unchecked(&mut this.inner) };
        inner.poll(cx).map(|out| (out, this.polls))
    }
}
// ANCHOR_END: projection

#[test]
fn projection_polls_a_self_referential_future_through_its_wrapper() {
    let counted = CountPolls {
        inner: best_score(),
        polls: 0,
    };
    // best_score: polled once to its await, once more to the end.
    assert_eq!(evloop::run(counted), (9, 2));
}

mod workers;

/// Every test above again, on worker threads (`tests/workers/mod.rs`).
#[test]
fn on_workers() {
    workers::rerun_on_workers(&[]);
}
