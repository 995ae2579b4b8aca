//! Lesson 02 — a future, polled by hand.
//!
//! An `async fn` in Python returns a coroutine object that does nothing until
//! the loop drives it. A Rust `Future` is the same kind of thing, and we can be
//! the loop ourselves: call `poll` and look at what comes back.
//!
//! - `Poll::Pending`: "not yet". A future that says this must first arrange for
//!   its waker to be called when it is worth polling again.
//! - `Poll::Ready(value)`: done, here is the output. Never poll it again.
//!
//! ```text
//! cargo run --example 02_future_by_hand
//! ```

use std::future::Future;
use std::pin::{pin, Pin};
use std::task::{Context, Poll};

// ANCHOR: countdown
/// A future that is ready after it has been polled `remaining` more times.
pub struct Countdown {
    remaining: u32,
}

impl Countdown {
    /// Ready on the `(n + 1)`-th poll.
    pub fn new(n: u32) -> Countdown {
        Countdown { remaining: n }
    }
}

impl Future for Countdown {
    type Output = &'static str;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<&'static str> {
        if self.remaining == 0 {
            println!("  countdown: 0, liftoff!");
            return Poll::Ready("liftoff!");
        }
        println!("  countdown: {}, not yet", self.remaining);
        self.remaining -= 1;
        // The contract of Pending: someone must wake us, or we are never polled
        // again. Nothing else will, so we wake ourselves at once: "poll me again
        // soon" (this is what `evloop::yield_now` does).
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}
// ANCHOR_END: countdown

// ANCHOR: by_hand
/// Be the event loop: poll a `Countdown` until it is ready; return every answer.
pub fn poll_by_hand(n: u32) -> Vec<Poll<&'static str>> {
    let mut countdown = Countdown::new(n);
    // `poll` needs a Context, and a Context holds a Waker. We poll in a loop
    // anyway, so a waker that does nothing is enough here (lesson 03 builds a real one).
    let mut cx = Context::from_waker(futures_task::noop_waker_ref());
    let mut answers = Vec::new();
    loop {
        // `Countdown` has no self-references, so it is `Unpin`: `Pin::new` is all it takes.
        let answer = Pin::new(&mut countdown).poll(&mut cx);
        println!("poll #{} -> {answer:?}", answers.len() + 1);
        answers.push(answer);
        if answer.is_ready() {
            return answers;
        }
    }
}
// ANCHOR_END: by_hand

// ANCHOR: async_block
/// An `async` block is a future too: the compiler writes its `poll` for us.
/// Awaiting the countdown inside it passes each `Pending` straight out.
pub fn poll_async_block_by_hand() -> Vec<Poll<usize>> {
    let shout = async {
        let word = Countdown::new(2).await; // Pending, Pending, then on we go
        word.len()
    };
    // A compiler-made future may point into itself, so it must be pinned
    // before it is polled: `pin!` pins it here, on the stack.
    let mut shout = pin!(shout);
    let mut cx = Context::from_waker(futures_task::noop_waker_ref());
    let mut answers = Vec::new();
    loop {
        let answer = shout.as_mut().poll(&mut cx);
        println!("poll #{} -> {answer:?}", answers.len() + 1);
        answers.push(answer);
        if answer.is_ready() {
            return answers;
        }
    }
}
// ANCHOR_END: async_block

// ANCHOR: main
fn main() {
    println!("-- a Countdown, polled by hand --");
    poll_by_hand(3);

    println!("\n-- an async block around a Countdown, polled by hand --");
    poll_async_block_by_hand();

    println!("\n-- the same Countdown, driven by evloop --");
    // The runtime's loop does what ours did: poll, and when the waker fires, poll again.
    let word = evloop::run(Countdown::new(3));
    println!("evloop::run returned {word:?}");
}
// ANCHOR_END: main
