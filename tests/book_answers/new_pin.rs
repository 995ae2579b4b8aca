//! Worked answer to "Why Pin", Try it 1: taking a projected field out is
//! sound only when the field is `Unpin`.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

// ANCHOR: answer
/// The chapter's wrapper: `inner` is structurally pinned.
struct CountPolls<F> {
    inner: Option<F>, // an Option, so there is something to leave behind
    polls: usize,
}

impl<F: Future> Future for CountPolls<F> {
    type Output = (F::Output, usize);

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: `inner` is never moved out while pinned unless `F: Unpin`
        // (see `take_inner`), and there is no `Drop` impl.
        let this = unsafe { self.get_unchecked_mut() };
        this.polls += 1;
        let inner = this.inner.as_mut().expect("polled after take_inner");
        // SAFETY: as above.
        let inner = unsafe { Pin::new_unchecked(inner) };
        inner.poll(cx).map(|out| (out, this.polls))
    }
}

impl<F: Future + Unpin> CountPolls<F> {
    /// Sound: with `F: Unpin`, `Pin` promised nothing about `inner`, so
    /// moving it out is allowed — and `Pin::get_mut` (safe) says so: it only
    /// exists when the whole `CountPolls<F>` is `Unpin`, which needs `F: Unpin`.
    /// Without the bound, `mem::replace`/`take` here would move a future that
    /// may already point into itself (rule 1), and `get_mut` would not compile.
    fn take_inner(self: Pin<&mut Self>) -> Option<F> {
        self.get_mut().inner.take()
    }
}
// ANCHOR_END: answer

#[test]
fn an_unpin_inner_future_may_be_taken_out_after_a_poll() {
    let mut yielding = CountPolls {
        inner: Some(evloop::yield_now()),
        polls: 0,
    };
    let mut cx = Context::from_waker(futures_task::noop_waker_ref());
    // Polled once: Pending (yield_now says "not yet" once).
    assert!(Pin::new(&mut yielding).poll(&mut cx).is_pending());
    // YieldNow is Unpin, so taking it out after a poll is fine, and it still works.
    let mut inner = Pin::new(&mut yielding).take_inner().expect("still there");
    assert_eq!(Pin::new(&mut inner).poll(&mut cx), Poll::Ready(()));
    assert_eq!(yielding.polls, 1);
}
