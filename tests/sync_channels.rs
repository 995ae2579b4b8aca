//! Channels, polled by hand.
//!
//! No runtime here: we play the event loop ourselves. Each test builds a
//! `Context` from a *counting* waker, polls a channel's futures, and checks
//! two things after every step — what the poll returned, and which task the
//! channel woke. That second question is the one that matters for an event
//! loop: a wake-up that is missing is a task that hangs, and a wake-up too
//! many is a task polled for nothing.
//!
//! The last tests leave hand-polling behind and move 100,000 values between
//! two real threads, each driven by a ten-line `block_on`.

use std::future::Future;
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread;
use std::time::Duration;

use evloop::sync::mpsc::{self, SendError, TryRecvError, TrySendError};
use evloop::sync::oneshot;

// ---------------------------------------------------------------------------
// Helpers: a waker that counts, and a way to poll once.
// ---------------------------------------------------------------------------

/// Stands in for a task: counts how many times it was woken.
#[derive(Default)]
struct CountWaker {
    wakes: AtomicUsize,
}

impl Wake for CountWaker {
    fn wake(self: Arc<Self>) {
        self.wakes.fetch_add(1, Ordering::SeqCst);
    }
}

/// One pretend task: its wake counter and the `Waker` the channel will see.
struct Task {
    counter: Arc<CountWaker>,
    waker: Waker,
}

impl Task {
    fn new() -> Task {
        let counter = Arc::new(CountWaker::default());
        let waker = Waker::from(counter.clone());
        Task { counter, waker }
    }

    fn wakes(&self) -> usize {
        self.counter.wakes.load(Ordering::SeqCst)
    }

    /// Poll `fut` once, as the event loop would when running this task.
    fn poll<F: Future>(&self, fut: Pin<&mut F>) -> Poll<F::Output> {
        fut.poll(&mut Context::from_waker(&self.waker))
    }

    /// How many `Waker`s for this task exist, including ours. Anything above
    /// 1 is a clone some channel is still holding on to.
    fn waker_clones(&self) -> usize {
        // The counter is held by us and by every Waker made from it.
        Arc::strong_count(&self.counter) - 1
    }
}

// ---------------------------------------------------------------------------
// mpsc: the receiver waiting for values
// ---------------------------------------------------------------------------

#[test]
fn send_into_empty_channel_wakes_the_waiting_receiver_once() {
    let (tx, mut rx) = mpsc::channel(4);
    let receiver = Task::new();
    let sender = Task::new();

    {
        // The buffer is empty: recv parks the receiver's waker, says Pending.
        let mut recv = pin!(rx.recv());
        assert_eq!(receiver.poll(recv.as_mut()), Poll::Pending);
        assert_eq!(receiver.wakes(), 0);

        // A send has room, so it completes at once, and wakes the receiver.
        assert_eq!(sender.poll(pin!(tx.send(1))), Poll::Ready(Ok(())));
        assert_eq!(receiver.wakes(), 1);

        // A second send finds no waker stored (the first send took it), so
        // it wakes nobody: the receiver is already scheduled, once is enough.
        tx.try_send(2).unwrap();
        assert_eq!(receiver.wakes(), 1);

        // Polled again, the receiver gets the first value...
        assert_eq!(receiver.poll(recv.as_mut()), Poll::Ready(Some(1)));
    }
    // ...and then the second: first in, first out.
    assert_eq!(rx.try_recv(), Ok(2));
    assert_eq!(sender.wakes(), 0, "nobody had to wake the sender");
}

#[test]
fn dropping_the_last_sender_wakes_the_receiver_with_none() {
    let (tx, mut rx) = mpsc::channel::<&str>(4);
    let tx2 = tx.clone();
    let receiver = Task::new();
    tx.try_send("left over").unwrap();

    // Buffered values are still delivered after their sender is gone...
    drop(tx);
    assert_eq!(rx.try_recv(), Ok("left over"));

    // ...and then the receiver waits: `tx2` is alive and may still send.
    let mut recv = Box::pin(rx.recv());
    assert_eq!(receiver.poll(recv.as_mut()), Poll::Pending);

    // The last sender leaving means no value can ever come: wake the
    // receiver so it can see `None`, rather than leaving it asleep forever.
    drop(tx2);
    assert_eq!(receiver.wakes(), 1);
    assert_eq!(receiver.poll(recv.as_mut()), Poll::Ready(None));
    drop(recv);
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
}

#[test]
fn try_recv_tells_empty_from_disconnected() {
    let (tx, mut rx) = mpsc::channel(1);
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    tx.try_send(7).unwrap();
    drop(tx);
    // Disconnected only once the buffer is drained.
    assert_eq!(rx.try_recv(), Ok(7));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
}

#[test]
#[should_panic(expected = "capacity must be at least 1")]
fn a_zero_capacity_channel_is_refused() {
    let _ = mpsc::channel::<()>(0);
}

// ---------------------------------------------------------------------------
// mpsc: backpressure — senders waiting for room
// ---------------------------------------------------------------------------

#[test]
fn a_full_channel_makes_send_wait_until_recv_frees_a_slot() {
    let (tx, mut rx) = mpsc::channel(1);
    let sender = Task::new();
    tx.try_send("a").unwrap();
    assert_eq!(tx.capacity(), 0);

    // Full: `send` parks the sender and returns Pending. That is
    // backpressure: this producer cannot run ahead of its consumer.
    let mut send = pin!(tx.send("b"));
    assert_eq!(sender.poll(send.as_mut()), Poll::Pending);

    // Polling again before there is room changes nothing, wakes nobody.
    assert_eq!(sender.poll(send.as_mut()), Poll::Pending);
    assert_eq!(sender.wakes(), 0);

    // Receiving frees the slot and wakes the waiting sender, once.
    assert_eq!(rx.try_recv(), Ok("a"));
    assert_eq!(sender.wakes(), 1);
    assert_eq!(sender.poll(send.as_mut()), Poll::Ready(Ok(())));
    assert_eq!(rx.try_recv(), Ok("b"));
}

#[test]
fn waiting_senders_are_served_first_come_first_served() {
    let (tx, mut rx) = mpsc::channel(1);
    let (a, b, c) = (Task::new(), Task::new(), Task::new());
    tx.try_send(0).unwrap();

    // Three senders queue up behind the full buffer, in the order a, b, c.
    let mut send_a = pin!(tx.send(1));
    let mut send_b = pin!(tx.send(2));
    let mut send_c = pin!(tx.send(3));
    assert!(a.poll(send_a.as_mut()).is_pending());
    assert!(b.poll(send_b.as_mut()).is_pending());
    assert!(c.poll(send_c.as_mut()).is_pending());

    // One slot frees up: only the oldest waiter, a, is woken.
    assert_eq!(rx.try_recv(), Ok(0));
    assert_eq!((a.wakes(), b.wakes(), c.wakes()), (1, 0, 0));

    // The slot is *reserved* for a. Neither a newcomer (`try_send`) nor b,
    // polled before a gets round to it, can take it.
    assert_eq!(tx.try_send(99), Err(TrySendError::Full(99)));
    assert!(b.poll(send_b.as_mut()).is_pending());

    // a fills its slot. Each following recv wakes the next in line.
    assert_eq!(a.poll(send_a.as_mut()), Poll::Ready(Ok(())));
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!((a.wakes(), b.wakes(), c.wakes()), (1, 1, 0));
    assert_eq!(b.poll(send_b.as_mut()), Poll::Ready(Ok(())));
    assert_eq!(rx.try_recv(), Ok(2));
    assert_eq!((a.wakes(), b.wakes(), c.wakes()), (1, 1, 1));
    assert_eq!(c.poll(send_c.as_mut()), Poll::Ready(Ok(())));
    assert_eq!(rx.try_recv(), Ok(3));
}

#[test]
fn a_woken_send_that_is_dropped_passes_the_slot_to_the_next_waiter() {
    let (tx, mut rx) = mpsc::channel(1);
    let (a, b) = (Task::new(), Task::new());
    tx.try_send(0).unwrap();

    let mut send_a = Box::pin(tx.send(1));
    let mut send_b = pin!(tx.send(2));
    assert!(a.poll(send_a.as_mut()).is_pending());
    assert!(b.poll(send_b.as_mut()).is_pending());

    // The receiver frees a slot and wakes a...
    assert_eq!(rx.try_recv(), Ok(0));
    assert_eq!((a.wakes(), b.wakes()), (1, 0));

    // ...but a is cancelled before it runs (think: it lost a `select`, or
    // its timeout fired). Its reserved slot must not be lost with it: the
    // wake-up moves on to b. Otherwise b would sleep beside a free slot.
    drop(send_a);
    assert_eq!((a.wakes(), b.wakes()), (1, 1));
    assert_eq!(b.poll(send_b.as_mut()), Poll::Ready(Ok(())));
    assert_eq!(rx.try_recv(), Ok(2), "a's value was never sent");
}

#[test]
fn a_waiting_send_that_is_dropped_leaves_nothing_behind() {
    let (tx, mut rx) = mpsc::channel(1);
    let (a, b) = (Task::new(), Task::new());
    tx.try_send(0).unwrap();

    let mut send_a = Box::pin(tx.send(1));
    assert!(a.poll(send_a.as_mut()).is_pending());
    // The channel now holds a clone of a's waker in its queue of waiters.
    assert_eq!(a.waker_clones(), 2);

    // Cancelled while still waiting: its entry (and waker clone) is removed.
    drop(send_a);
    assert_eq!(a.waker_clones(), 1, "the waiter entry leaked");

    // So the next free slot goes to a live sender, or to nobody at all.
    let mut send_b = pin!(tx.send(2));
    assert!(b.poll(send_b.as_mut()).is_pending());
    assert_eq!(rx.try_recv(), Ok(0));
    assert_eq!((a.wakes(), b.wakes()), (0, 1));
    assert_eq!(b.poll(send_b.as_mut()), Poll::Ready(Ok(())));
    assert_eq!(rx.try_recv(), Ok(2));
    assert_eq!(tx.capacity(), 1, "no slot stays reserved for a ghost");
}

// ---------------------------------------------------------------------------
// mpsc: closing from the receiving side
// ---------------------------------------------------------------------------

#[test]
fn dropping_the_receiver_fails_waiting_senders_with_their_value() {
    let (tx, rx) = mpsc::channel(1);
    let sender = Task::new();
    tx.try_send(String::from("buffered")).unwrap();

    let mut send = pin!(tx.send(String::from("mine")));
    assert!(sender.poll(send.as_mut()).is_pending());

    // Nobody will ever make room now. Waiting would be a hang, so the
    // receiver's drop wakes the sender, which gets its value back.
    drop(rx);
    assert_eq!(sender.wakes(), 1);
    assert_eq!(
        sender.poll(send.as_mut()),
        Poll::Ready(Err(SendError(String::from("mine"))))
    );

    // Every later send fails at once, and the channel says so.
    assert!(tx.is_closed());
    assert_eq!(
        tx.try_send("x".into()),
        Err(TrySendError::Closed("x".into()))
    );
    assert_eq!(tx.capacity(), 0);
}

#[test]
fn close_stops_senders_but_keeps_the_buffer_for_draining() {
    let (tx, mut rx) = mpsc::channel(2);
    let sender = Task::new();
    tx.try_send(1).unwrap();
    tx.try_send(2).unwrap();
    let mut send = pin!(tx.send(3));
    assert!(sender.poll(send.as_mut()).is_pending());

    // `close` is a graceful shutdown: the waiting sender is told at once...
    rx.close();
    assert_eq!(sender.wakes(), 1);
    assert_eq!(sender.poll(send.as_mut()), Poll::Ready(Err(SendError(3))));

    // ...but what was already accepted is still delivered, then `None`.
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(rx.try_recv(), Ok(2));
    assert_eq!(Task::new().poll(pin!(rx.recv())), Poll::Ready(None));
}

#[test]
fn dropping_the_receiver_drops_the_buffered_values() {
    let (tx, rx) = mpsc::channel(4);
    let value = Arc::new(());
    tx.try_send(value.clone()).unwrap();
    assert_eq!(Arc::strong_count(&value), 2);
    drop(rx);
    assert_eq!(Arc::strong_count(&value), 1, "nobody can read it: freed");
}

// ---------------------------------------------------------------------------
// mpsc: unbounded
// ---------------------------------------------------------------------------

#[test]
fn unbounded_send_never_waits_and_wakes_the_receiver_once() {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let receiver = Task::new();

    let mut recv = Box::pin(rx.recv());
    assert_eq!(receiver.poll(recv.as_mut()), Poll::Pending);

    // Not async: nothing to await, there is always room.
    for i in 0..1000 {
        tx.send(i).unwrap();
    }
    assert_eq!(receiver.wakes(), 1, "one wake for a thousand sends");
    assert_eq!(receiver.poll(recv.as_mut()), Poll::Ready(Some(0)));
    drop(recv);

    drop(tx);
    let received: Vec<i32> = std::iter::from_fn(|| rx.try_recv().ok()).collect();
    assert_eq!(received, (1..1000).collect::<Vec<_>>());
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
}

#[test]
fn unbounded_closing_works_like_bounded() {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let tx2 = tx.clone();
    tx.send(1).unwrap();
    rx.close();
    assert!(tx2.is_closed());
    assert_eq!(tx2.send(2), Err(SendError(2)));
    assert_eq!(rx.try_recv(), Ok(1));

    let receiver = Task::new();
    assert_eq!(receiver.poll(pin!(rx.recv())), Poll::Ready(None));
}

// ---------------------------------------------------------------------------
// oneshot
// ---------------------------------------------------------------------------

#[test]
fn oneshot_receiver_is_woken_once_by_send() {
    let (tx, mut rx) = oneshot::channel();
    let receiver = Task::new();

    // The Receiver is itself the future. Not sent yet: Pending.
    assert_eq!(receiver.poll(Pin::new(&mut rx)), Poll::Pending);
    // Polled again with the same waker: still one stored, no clone piling up.
    assert_eq!(receiver.poll(Pin::new(&mut rx)), Poll::Pending);
    assert_eq!(receiver.waker_clones(), 2);

    assert_eq!(tx.send(42), Ok(()));
    assert_eq!(receiver.wakes(), 1);
    assert_eq!(receiver.poll(Pin::new(&mut rx)), Poll::Ready(Ok(42)));
}

#[test]
fn oneshot_value_sent_before_awaiting_is_ready_at_once() {
    let (tx, rx) = oneshot::channel();
    tx.send("early").unwrap();
    assert_eq!(Task::new().poll(pin!(rx)), Poll::Ready(Ok("early")));
}

#[test]
fn oneshot_sender_dropped_without_sending_is_a_recv_error() {
    let (tx, rx) = oneshot::channel::<u32>();
    let receiver = Task::new();
    let mut rx = pin!(rx);
    assert_eq!(receiver.poll(rx.as_mut()), Poll::Pending);

    // The task that should have replied ended without replying. The
    // receiver is woken and learns it, instead of waiting forever.
    drop(tx);
    assert_eq!(receiver.wakes(), 1);
    assert_eq!(
        receiver.poll(rx.as_mut()),
        Poll::Ready(Err(oneshot::RecvError))
    );
}

#[test]
fn oneshot_send_fails_when_the_receiver_is_gone() {
    let (tx, rx) = oneshot::channel();
    assert!(!tx.is_closed());
    drop(rx);
    assert!(tx.is_closed());
    assert_eq!(tx.send(String::from("unread")), Err(String::from("unread")));
}

#[test]
fn oneshot_try_recv_and_close() {
    let (tx, mut rx) = oneshot::channel();
    assert_eq!(rx.try_recv(), Err(oneshot::TryRecvError::Empty));
    tx.send(1).unwrap();
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(rx.try_recv(), Err(oneshot::TryRecvError::Closed));

    // `close` refuses the value in advance: `send` hands it back.
    let (tx, mut rx) = oneshot::channel();
    rx.close();
    assert!(tx.is_closed());
    assert_eq!(tx.send(2), Err(2));
    assert_eq!(
        Task::new().poll(pin!(rx)),
        Poll::Ready(Err(oneshot::RecvError))
    );
}

// ---------------------------------------------------------------------------
// Letting go of wakers: when, and never under the lock
// ---------------------------------------------------------------------------
//
// A stored waker can be the last thing keeping a task alive. So a channel
// must let go of it as soon as nobody can wake it (the receiver is gone),
// and must drop it only after unlocking: dropping the last reference to a
// task drops the task's future, and with it whatever it owns — perhaps an
// end of this very channel, whose `Drop` locks it again.

#[test]
fn dropping_the_receiver_lets_go_of_its_waker() {
    // A sender stays alive, so the channel does too. The receiving task's
    // waker must not: nothing will ever wake it through a dropped receiver.
    let (tx, mut rx) = mpsc::channel::<u8>(1);
    let receiver = Task::new();
    assert!(receiver.poll(pin!(rx.recv())).is_pending());
    assert_eq!(receiver.waker_clones(), 2, "ours and the channel's");
    drop(rx);
    assert_eq!(receiver.waker_clones(), 1, "the channel let go of it");

    let (utx, mut urx) = mpsc::unbounded_channel::<u8>();
    let receiver = Task::new();
    assert!(receiver.poll(pin!(urx.recv())).is_pending());
    drop(urx);
    assert_eq!(receiver.waker_clones(), 1);

    let (otx, mut orx) = oneshot::channel::<u8>();
    let receiver = Task::new();
    assert!(receiver.poll(Pin::new(&mut orx)).is_pending());
    drop(orx);
    assert_eq!(receiver.waker_clones(), 1);
    drop((tx, utx, otx));
}

/// A waker that runs `on_drop` when its last clone goes — as dropping a
/// task's last reference drops the task's future and all it owns.
fn waker_that_on_drop(on_drop: impl FnOnce() + Send + 'static) -> Waker {
    struct OnDrop(std::sync::Mutex<Option<Box<dyn FnOnce() + Send>>>);
    impl Wake for OnDrop {
        fn wake(self: Arc<Self>) {}
    }
    impl Drop for OnDrop {
        fn drop(&mut self) {
            if let Some(action) = self.0.lock().unwrap().take() {
                action();
            }
        }
    }
    Waker::from(Arc::new(OnDrop(std::sync::Mutex::new(Some(Box::new(
        on_drop,
    ))))))
}

/// Poll `fut` once with `waker`, which the channel keeps, then drop ours:
/// from here on the channel holds its only clone.
fn poll_and_hand_over<F: Future>(fut: Pin<&mut F>, waker: Waker) -> Poll<F::Output> {
    let poll = fut.poll(&mut Context::from_waker(&waker));
    drop(waker);
    poll
}

#[test]
fn a_replaced_receiver_waker_is_dropped_after_unlocking() {
    within(Duration::from_secs(10), || {
        let (tx, mut rx) = mpsc::channel::<u8>(1);
        // The first waker owns a sender: dropping it locks the channel.
        let owned = tx.clone();
        let first = waker_that_on_drop(move || drop(owned));
        let mut recv = pin!(rx.recv());
        assert!(poll_and_hand_over(recv.as_mut(), first).is_pending());
        // Polled by another task now: the stored waker is replaced.
        let receiver = Task::new();
        assert!(receiver.poll(recv.as_mut()).is_pending());
        tx.try_send(1).unwrap();
        assert_eq!(receiver.wakes(), 1, "the new waker is the one stored");
    });
}

#[test]
fn a_replaced_sender_waker_is_dropped_after_unlocking() {
    within(Duration::from_secs(10), || {
        let (tx, mut rx) = mpsc::channel::<u8>(1);
        tx.try_send(0).unwrap(); // full: the next send waits
        let owned = tx.clone();
        let first = waker_that_on_drop(move || drop(owned));
        let mut send = pin!(tx.send(1));
        assert!(poll_and_hand_over(send.as_mut(), first).is_pending());
        let sender = Task::new();
        assert!(sender.poll(send.as_mut()).is_pending());
        assert_eq!(rx.try_recv(), Ok(0));
        assert_eq!(sender.wakes(), 1, "the new waker is the one stored");
        assert_eq!(sender.poll(send.as_mut()), Poll::Ready(Ok(())));
    });
}

#[test]
fn a_cancelled_senders_waker_is_dropped_after_unlocking() {
    within(Duration::from_secs(10), || {
        let (tx, _rx) = mpsc::channel::<u8>(1);
        tx.try_send(0).unwrap();
        let owned = tx.clone();
        let first = waker_that_on_drop(move || drop(owned));
        let mut send = Box::pin(tx.send(1));
        assert!(poll_and_hand_over(send.as_mut(), first).is_pending());
        // Cancelling the send removes its waiter, and with it the waker.
        drop(send);
        assert_eq!(tx.capacity(), 0, "the buffer is still full, nothing leaked");
    });
}

#[test]
fn a_replaced_oneshot_waker_is_dropped_after_unlocking() {
    within(Duration::from_secs(10), || {
        let (tx, mut rx) = oneshot::channel::<u8>();
        // The first waker owns the sender: its drop ends the channel.
        let first = waker_that_on_drop(move || drop(tx));
        assert!(poll_and_hand_over(Pin::new(&mut rx), first).is_pending());
        // Polled by another task: the first waker is replaced and dropped
        // (after the unlock), which drops the sender — which wakes the
        // waker now stored. No wake-up lost, no deadlock.
        let receiver = Task::new();
        assert_eq!(receiver.poll(Pin::new(&mut rx)), Poll::Pending);
        assert_eq!(receiver.wakes(), 1);
        assert_eq!(
            receiver.poll(Pin::new(&mut rx)),
            Poll::Ready(Err(oneshot::RecvError))
        );
    });
}

#[test]
fn a_dropped_receivers_waker_is_dropped_after_unlocking() {
    within(Duration::from_secs(10), || {
        let (tx, mut rx) = mpsc::channel::<u8>(1);
        let dropped = Arc::new(AtomicUsize::new(0));
        let (owned, count) = (tx.clone(), dropped.clone());
        let first = waker_that_on_drop(move || {
            drop(owned);
            count.fetch_add(1, Ordering::SeqCst);
        });
        assert!(poll_and_hand_over(pin!(rx.recv()), first).is_pending());
        drop(rx);
        assert_eq!(dropped.load(Ordering::SeqCst), 1, "let go, and no deadlock");
        assert!(tx.is_closed());
    });
}

// ---------------------------------------------------------------------------
// Types: thread-safe, and errors that explain themselves
// ---------------------------------------------------------------------------

#[test]
fn channels_are_send_and_sync_and_their_futures_are_send() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>(_: &T) {}
    fn unpin<T: Unpin>() {}

    send_sync::<mpsc::Sender<String>>();
    send_sync::<mpsc::Receiver<String>>();
    send_sync::<mpsc::UnboundedSender<String>>();
    send_sync::<mpsc::UnboundedReceiver<String>>();
    send_sync::<oneshot::Sender<String>>();
    send_sync::<oneshot::Receiver<String>>();
    unpin::<oneshot::Receiver<std::marker::PhantomPinned>>();

    // A task's future must be `Send` to be spawned, so these must be too.
    let (tx, mut rx) = mpsc::channel::<String>(1);
    send(&tx.send(String::new()));
    send(&rx.recv());
}

#[test]
fn errors_debug_without_the_value_and_display_what_happened() {
    struct NotDebug;
    // `Debug` does not need `T: Debug`, so `.unwrap()` works on any channel.
    assert_eq!(format!("{:?}", SendError(NotDebug)), "SendError { .. }");
    assert_eq!(format!("{:?}", TrySendError::Full(NotDebug)), "Full(..)");
    assert_eq!(
        format!("{:?}", TrySendError::Closed(NotDebug)),
        "Closed(..)"
    );

    // `Display` says what happened, and what to do about it.
    assert!(SendError(()).to_string().contains("receiver was dropped"));
    assert!(TrySendError::Full(())
        .to_string()
        .contains("send(value).await"));
    assert!(TryRecvError::Empty.to_string().contains("recv().await"));
    assert!(oneshot::RecvError
        .to_string()
        .contains("dropped without sending"));

    // And they are ordinary errors: `?` turns them into `Box<dyn Error>`.
    let boxed: Box<dyn std::error::Error + Send + Sync> = Box::new(SendError(1));
    assert!(!boxed.to_string().is_empty());
}

// ---------------------------------------------------------------------------
// Real threads: the same wakers, woken from another thread.
// ---------------------------------------------------------------------------

/// The smallest executor there is: poll; if Pending, park this thread until
/// the waker unparks it; repeat. (Lesson 3 builds this one step at a time.)
fn block_on<F: Future>(fut: F) -> F::Output {
    struct Unpark(thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut fut = pin!(fut);
    loop {
        match fut.as_mut().poll(&mut cx) {
            Poll::Ready(output) => return output,
            // A wake that came before we park makes `park` return at once,
            // so no wake-up is lost in between.
            Poll::Pending => thread::park(),
        }
    }
}

/// Run `body` on a thread and fail (instead of hanging the test suite) if it
/// does not finish in time. A lost wake-up, or a lock taken twice, shows up
/// here as a timeout; a panic in `body` as a failure too.
fn within<T: Send + 'static>(limit: Duration, body: impl FnOnce() -> T + Send + 'static) -> T {
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    thread::spawn(move || done_tx.send(body()).unwrap());
    done_rx
        .recv_timeout(limit)
        .expect("channel test did not finish in time (a lost wake-up? a deadlock?) or panicked")
}

#[test]
fn stress_bounded_one_moves_100_000_values_in_order_between_threads() {
    const N: u64 = 100_000;
    let received = within(Duration::from_secs(60), || {
        // Capacity 1: nearly every send has to wait for the receiver, so
        // both sides park and wake each other all the time.
        let (tx, mut rx) = mpsc::channel(1);
        let producer = thread::spawn(move || {
            block_on(async {
                for i in 0..N {
                    tx.send(i).await.unwrap();
                }
            })
        });
        let received = block_on(async {
            let mut expected = 0;
            while let Some(i) = rx.recv().await {
                assert_eq!(i, expected, "values arrive in the order sent");
                expected += 1;
            }
            expected
        });
        producer.join().unwrap();
        received
    });
    assert_eq!(received, N);
}

#[test]
fn stress_several_producers_keep_their_own_order() {
    const PRODUCERS: usize = 3;
    const EACH: usize = 10_000;
    let counts = within(Duration::from_secs(60), || {
        let (tx, mut rx) = mpsc::channel(2);
        let producers: Vec<_> = (0..PRODUCERS)
            .map(|p| {
                let tx = tx.clone();
                thread::spawn(move || {
                    block_on(async {
                        for i in 0..EACH {
                            tx.send((p, i)).await.unwrap();
                        }
                    })
                })
            })
            .collect();
        drop(tx); // only the producers' clones keep the channel open
        let counts = block_on(async {
            let mut next = [0; PRODUCERS];
            while let Some((p, i)) = rx.recv().await {
                assert_eq!(i, next[p], "producer {p}'s values stay in order");
                next[p] += 1;
            }
            next
        });
        for producer in producers {
            producer.join().unwrap();
        }
        counts
    });
    assert_eq!(counts, [EACH; PRODUCERS]);
}

#[test]
fn stress_oneshot_across_threads() {
    within(Duration::from_secs(60), || {
        for i in 0..2_000 {
            let (tx, rx) = oneshot::channel();
            let sender = thread::spawn(move || tx.send(i).unwrap());
            assert_eq!(block_on(rx), Ok(i));
            sender.join().unwrap();
        }
    });
}
