//! `timeout`: give a future a deadline (asyncio's `wait_for`).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use super::{sleep, Sleep};

/// Run `future`, but give up after `duration` (asyncio's `wait_for(aw, timeout)`).
///
/// Returns `Ok(output)` if the future finished in time, or `Err(Elapsed)`.
/// On timeout the inner future is dropped — that *is* the cancellation, as
/// `wait_for` cancels the awaitable. If the future finishes in time, its timer
/// is dropped with the `Timeout` and removed from the wheel: it never fires.
/// `timeout(Duration::MAX, f)` never gives up (the wait is clamped to 30
/// years, as in [`sleep`]).
///
/// ```
/// use std::time::Duration;
/// use evloop::time::{sleep, timeout};
/// let rt = evloop::Runtime::builder().start_paused(true).build().unwrap();
/// rt.block_on(async {
///     let slow = timeout(Duration::from_secs(1), sleep(Duration::from_secs(5))).await;
///     assert!(slow.is_err());
///     let quick = timeout(Duration::from_secs(1), async { 7 }).await;
///     assert_eq!(quick, Ok(7));
/// });
/// ```
pub fn timeout<F: Future>(duration: Duration, future: F) -> Timeout<F> {
    Timeout {
        future,
        delay: sleep(duration),
    }
}

/// The future returned by [`timeout`].
#[must_use = "futures do nothing unless you `.await` them"]
pub struct Timeout<F> {
    future: F,
    delay: Sleep,
}

impl<F> Timeout<F> {
    /// The wrapped future.
    pub fn get_ref(&self) -> &F {
        &self.future
    }
}

impl<F: Future> Future for Timeout<F> {
    type Output = Result<F::Output, Elapsed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // ANCHOR: timeout_pin
        // SAFETY: `future` is structurally pinned: we never move it out of
        // `self` and `Timeout` has no `Drop` impl that could. `delay` is
        // `Unpin`, so handing out `&mut` to it is fine.
        let this = unsafe { self.get_unchecked_mut() };
        // SAFETY: as above — `this.future` is pinned for as long as `self` is.
        let future = unsafe { Pin::new_unchecked(&mut this.future) };
        // ANCHOR_END: timeout_pin
        // The future goes first: if it is ready at the deadline, it wins.
        if let Poll::Ready(v) = future.poll(cx) {
            return Poll::Ready(Ok(v));
        }
        // The deadline is checked outside the cooperative budget (as tokio
        // does): a future that spent it all on data must still time out.
        match crate::task::coop::unbudgeted(|| Pin::new(&mut this.delay).poll(cx)) {
            Poll::Ready(()) => Poll::Ready(Err(Elapsed(()))),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<F: fmt::Debug> fmt::Debug for Timeout<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timeout")
            .field("future", &self.future)
            .field("deadline", &self.delay.deadline())
            .finish()
    }
}

/// The error of a [`timeout`] whose deadline passed first (asyncio's `TimeoutError`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Elapsed(());

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("deadline has elapsed: the future did not finish in time and was dropped")
    }
}

impl std::error::Error for Elapsed {}
