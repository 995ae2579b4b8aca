//! The promises `join_all`, the channels and `JoinError` keep toward the loop.
//!
//! Three things are checked here, each with a test that failed before it was
//! kept:
//!
//! - **`join_all` hands the thread back.** A child that wakes itself (a
//!   `yield_now`) is polled again on the *next* poll of `join_all`, never
//!   inside the same one — otherwise one busy child keeps the loop from
//!   reaching its other tasks, its timers and its sockets.
//! - **Wakers are let go of, and never under a lock.** A stored waker may be
//!   the last reference to a whole task; dropping it runs that task's
//!   destructors, which may touch the very channel that held it.
//! - **Errors point at the caller and convert with `?`.** A panic caused by a
//!   bad argument names the caller's line; a `JoinError` becomes an
//!   `io::Error` or a `Box<dyn Error + Send + Sync>`.
//!
//! A test that could hang on a broken build runs its body on another thread
//! and waits for it a bounded time (`within`): a hang becomes a failure.

use std::error::Error;
use std::future::{pending, poll_fn, Future};
use std::panic::{self, Location};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::thread;
use std::time::Duration;

use evloop::sync::{mpsc, oneshot};
use evloop::time::sleep;
use evloop::{join_all, spawn, yield_now, JoinError, Runtime};

fn paused() -> Runtime {
    Runtime::builder().start_paused(true).build().unwrap()
}

/// Run `body` on its own thread and fail, instead of hanging the whole test
/// run, if it has not finished within `limit`. A body that panics fails too.
fn within<T: Send + 'static>(limit: Duration, body: impl FnOnce() -> T + Send + 'static) -> T {
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    thread::spawn(move || done_tx.send(body()).unwrap());
    done_rx
        .recv_timeout(limit)
        .expect("the test body hung (or panicked): see the test's comment for what it guards")
}

type BoxFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

// ---------------------------------------------------------------------------
// join_all: each child at most once per poll
// ---------------------------------------------------------------------------

#[test]
fn a_child_spinning_on_yield_now_lets_a_spawned_task_run() {
    // The child yields until a flag is set, and only another *task* sets it.
    // If `join_all` re-polled a child that woke itself within the same poll,
    // it would never return, that task would never run, and this would spin.
    within(Duration::from_secs(30), || {
        paused().block_on(async {
            let flag = Arc::new(AtomicBool::new(false));
            let setter = flag.clone();
            spawn(async move { setter.store(true, Ordering::SeqCst) });
            let spins = join_all([async {
                let mut spins = 0;
                while !flag.load(Ordering::SeqCst) {
                    spins += 1;
                    yield_now().await;
                }
                spins
            }])
            .await;
            // One yield hands the loop back; the task runs; the flag is seen.
            assert_eq!(spins, vec![1]);
        })
    });
}

#[test]
fn a_child_spinning_on_yield_now_lets_a_siblings_timer_fire() {
    // Two children of one `join_all`: one spins on `yield_now` until the
    // other's 2 ms timer has fired. Timers fire in step 5 of a turn, so the
    // spinner must let the loop finish its turn.
    //
    // The real clock on purpose: a paused clock jumps only when the loop is
    // idle, and a spinning child keeps it busy forever, by design. Nothing
    // here measures time; the test only asks that the join finishes.
    within(Duration::from_secs(30), || {
        Runtime::new().unwrap().block_on(async {
            let fired = Arc::new(AtomicBool::new(false));
            let (seen, set) = (fired.clone(), fired);
            let spinner: BoxFuture = Box::pin(async move {
                while !seen.load(Ordering::SeqCst) {
                    yield_now().await;
                }
            });
            let timer: BoxFuture = Box::pin(async move {
                sleep(Duration::from_millis(2)).await;
                set.store(true, Ordering::SeqCst);
            });
            join_all([spinner, timer]).await;
        })
    });
}

#[test]
fn a_child_woken_while_join_all_finishes_a_list_cut_short_by_the_budget_is_not_lost() {
    // More children than one poll's budget (128) whose timers fire together:
    // the poll after they fire stops at the budget with the rest of its list
    // still to do, and the next one finishes that list. Meanwhile child 0,
    // which yields once its timer fired, has woken again. The parent
    // is woken once per batch of child wakes, and that wake was spent on the
    // poll that finished the old list; if that poll did not ask for another,
    // child 0 — and every timer child after it — would wait forever (here,
    // until the `timeout` around the join polls it again at 60 s).
    within(Duration::from_secs(30), || {
        paused().block_on(async {
            let yielder: BoxFuture = Box::pin(async {
                sleep(Duration::from_secs(1)).await;
                for _ in 0..3 {
                    yield_now().await;
                }
            });
            let sleepers =
                (0..200).map(|_| -> BoxFuture { Box::pin(sleep(Duration::from_secs(1))) });
            let children: Vec<BoxFuture> = std::iter::once(yielder).chain(sleepers).collect();
            let start = evloop::time::Instant::now();
            let joined = evloop::time::timeout(Duration::from_secs(60), join_all(children)).await;
            assert_eq!(joined.expect("every child finished").len(), 201);
            // A lost wake shows as time: only the timeout's own poll, at
            // 60 s, would have found the children the join forgot.
            assert_eq!(start.elapsed(), Duration::from_secs(1));
        })
    });
}

#[test]
fn a_yield_now_child_and_a_sibling_task_take_turns() {
    // asyncio's `await asyncio.sleep(0)` inside `gather` lets other tasks
    // run; `yield_now` inside `join_all` must do the same. Each side writes
    // in the log, then yields; the log shows who ran when.
    let log = Arc::new(Mutex::new(Vec::new()));
    let note = |log: &Arc<Mutex<Vec<String>>>, line: String| log.lock().unwrap().push(line);
    paused().block_on(async {
        let task_log = log.clone();
        let task = spawn(async move {
            for i in 0..3 {
                note(&task_log, format!("task {i}"));
                yield_now().await;
            }
        });
        join_all([async {
            for i in 0..3 {
                note(&log, format!("child {i}"));
                yield_now().await;
            }
        }])
        .await;
        task.await.unwrap();
    });
    // Turn 1 polls the main future (the child writes, yields); turn 2 polls
    // the task first (step 1), then main again (step 2); and so on. Before
    // the fix the child ran all three rounds before the task ran once.
    let log = log.lock().unwrap().clone();
    let expected = [
        "child 0", "task 0", "child 1", "task 1", "child 2", "task 2",
    ];
    assert_eq!(log, expected);
}

/// Counts the polls of the future inside.
struct CountPolls<F> {
    inner: F,
    polls: Arc<AtomicUsize>,
}

impl<F: Future + Unpin> Future for CountPolls<F> {
    type Output = F::Output;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        self.polls.fetch_add(1, Ordering::Relaxed);
        Pin::new(&mut self.inner).poll(cx)
    }
}

#[test]
fn a_hundred_thousand_yielding_children_cost_two_polls_each_in_input_order() {
    // Every child yields once. The first poll of `join_all` polls each once
    // (each wakes itself); the second polls each once more and they finish.
    // Polling only woken children keeps this linear: 200,000 polls, not n².
    let n = 100_000;
    let polls = Arc::new(AtomicUsize::new(0));
    let out = paused().block_on(join_all((0..n).map(|i| CountPolls {
        inner: Box::pin(async move {
            yield_now().await;
            i
        }),
        polls: polls.clone(),
    })));
    assert_eq!(out, (0..n).collect::<Vec<_>>());
    assert_eq!(polls.load(Ordering::Relaxed), 2 * n);
}

// ---------------------------------------------------------------------------
// join_all: the parent's waker
// ---------------------------------------------------------------------------

/// A waker that does nothing when woken, but runs `on_drop` when the last
/// clone of it is dropped — as a task's waker does when it is the task's
/// last reference (dropping it drops the task's future and all it owns).
struct DropAction(Mutex<Option<Box<dyn FnOnce() + Send>>>);

impl Wake for DropAction {
    fn wake(self: Arc<Self>) {}
}

impl Drop for DropAction {
    fn drop(&mut self) {
        if let Some(action) = self.0.lock().unwrap().take() {
            action();
        }
    }
}

fn waker_with_drop_action(action: impl FnOnce() + Send + 'static) -> Waker {
    Waker::from(Arc::new(DropAction(Mutex::new(Some(Box::new(action))))))
}

/// A child that keeps a clone of its waker where the test can reach it, and
/// never finishes (a future waiting on something that has not happened).
struct StashWaker(Arc<Mutex<Option<Waker>>>);

impl Future for StashWaker {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        *self.0.lock().unwrap() = Some(cx.waker().clone());
        Poll::Pending
    }
}

#[test]
fn replacing_the_parent_waker_drops_the_old_one_outside_the_lock() {
    // The old parent waker's destructor wakes a child of the same join —
    // which must lock the join's parent slot to wake the parent. Dropped
    // while that slot was still locked, this deadlocked.
    within(Duration::from_secs(10), || {
        let stash = Arc::new(Mutex::new(None::<Waker>));
        let mut join = Box::pin(join_all([StashWaker(stash.clone())]));
        let child_waker = stash.clone();
        let first = waker_with_drop_action(move || {
            if let Some(waker) = child_waker.lock().unwrap().as_ref() {
                waker.wake_by_ref();
            }
        });
        let pending = join.as_mut().poll(&mut Context::from_waker(&first));
        assert!(pending.is_pending());
        drop(first); // now the join holds the only clone

        // Another waker, as when the future moves to another task: the join
        // must replace the stored one, and dropping the old one wakes a child.
        let second = Arc::new(Flag::default());
        let pending = join
            .as_mut()
            .poll(&mut Context::from_waker(&Waker::from(second.clone())));
        assert!(pending.is_pending());
        assert!(
            second.0.load(Ordering::SeqCst),
            "the child's wake reached the new parent"
        );
    });
}

/// A waker that remembers it was woken.
#[derive(Default)]
struct Flag(AtomicBool);

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.0.store(true, Ordering::SeqCst);
    }
}

#[test]
fn dropping_a_join_lets_go_of_the_parent_waker() {
    // A child's waker may outlive the join (kept by a channel, a timer...).
    // It must not keep the parent task alive through the join's shared list.
    let stash = Arc::new(Mutex::new(None::<Waker>));
    let parent = Arc::new(Flag::default());
    let mut join = Box::pin(join_all([StashWaker(stash.clone())]));
    let waker = Waker::from(parent.clone());
    assert!(join
        .as_mut()
        .poll(&mut Context::from_waker(&waker))
        .is_pending());
    drop(waker);
    assert_eq!(
        Arc::strong_count(&parent),
        2,
        "the join holds the parent waker"
    );
    drop(join);
    assert!(
        stash.lock().unwrap().is_some(),
        "the child's waker lives on"
    );
    assert_eq!(Arc::strong_count(&parent), 1, "but the parent is let go");
}

// ---------------------------------------------------------------------------
// Channels: a dropped receiver does not keep its task alive
// ---------------------------------------------------------------------------

#[test]
fn a_task_that_gave_up_on_recv_is_freed_while_a_sender_lives() {
    // The task waits in `recv` a moment (its waker goes into the channel),
    // gives up (as a `select` or `timeout` would), drops its receiver and
    // ends. Its output holds `token`. The sender stays alive outside, so
    // the channel lives on — but it must not keep the finished task, and
    // with it the output nobody will read, alive.
    let token = Arc::new(());
    let (tx, rx) = mpsc::channel::<u8>(1);
    let (utx, urx) = mpsc::unbounded_channel::<u8>();
    let (otx, orx) = oneshot::channel::<u8>();
    let rt = paused();
    rt.block_on(async {
        let output = token.clone();
        let detached = spawn(async move {
            let (mut rx, mut urx, mut orx) = (rx, urx, orx);
            poll_fn(|cx| {
                assert!(rx.poll_recv(cx).is_pending());
                assert!(urx.poll_recv(cx).is_pending());
                assert!(Pin::new(&mut orx).poll(cx).is_pending());
                Poll::Ready(())
            })
            .await;
            drop((rx, urx, orx));
            output
        });
        drop(detached); // nobody will read the output
        sleep(Duration::from_secs(1)).await; // the task has long finished
    });
    assert_eq!(Arc::strong_count(&token), 1, "the finished task was freed");
    drop((tx, utx, otx));
}

// (A task freed by its own waker leaving a channel can no longer happen: the
// runtime owns every pending task. The rule it checked — drop a replaced
// waker only after unlocking — is checked with hand-made wakers whose drop
// locks the channel, in tests/sync_channels.rs.)

// ---------------------------------------------------------------------------
// Panics point at the caller
// ---------------------------------------------------------------------------

/// Run `f`, which must panic, and return the file the panic was reported in.
///
/// The panic hook is global to the test binary, so hooks are swapped one
/// test at a time, only this thread's panic is captured, and the previous
/// hook is put back before returning.
fn panic_file(f: impl FnOnce()) -> String {
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let here = thread::current().id();
    let seen: Arc<Mutex<Option<String>>> = Arc::default();
    let previous = Arc::new(panic::take_hook());
    let (record, fallback) = (seen.clone(), previous.clone());
    panic::set_hook(Box::new(move |info| {
        if thread::current().id() == here {
            *record.lock().unwrap() = info.location().map(|l| l.file().to_string());
        } else {
            fallback(info);
        }
    }));
    let result = panic::catch_unwind(panic::AssertUnwindSafe(f));
    drop(panic::take_hook());
    panic::set_hook(Box::new(move |info| previous(info)));
    assert!(result.is_err(), "expected a panic");
    let file = seen.lock().unwrap().take();
    file.expect("the panic had a location")
}

#[test]
fn a_zero_capacity_channel_panics_at_the_callers_line() {
    let file = panic_file(|| {
        let _ = mpsc::channel::<u8>(0);
    });
    assert_eq!(file, Location::caller().file());
}

#[test]
fn into_panic_on_a_cancelled_task_panics_at_the_callers_line() {
    let err = paused().block_on(async {
        let handle = spawn(pending::<()>());
        handle.abort();
        handle.await.unwrap_err()
    });
    assert!(err.is_cancelled());
    let file = panic_file(move || drop(err.into_panic()));
    assert_eq!(file, Location::caller().file());
}

// ---------------------------------------------------------------------------
// JoinError and `?`
// ---------------------------------------------------------------------------

/// Await a task named `worker` that panics; `?` converts its `JoinError`.
async fn await_worker<E: From<JoinError>>() -> Result<u32, E> {
    let handle = evloop::task::Builder::new()
        .name("worker")
        .spawn(async { panic!("boom") });
    let answer: u32 = handle.await?;
    Ok(answer)
}

#[test]
fn question_mark_turns_a_join_error_into_an_io_error() {
    fn run() -> std::io::Result<u32> {
        paused().block_on(await_worker::<std::io::Error>())
    }
    let err = run().unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::Other);
    assert_eq!(err.to_string(), "task `worker` panicked: boom");
    // The JoinError itself is inside, for a caller that wants to branch on it.
    let inner = err.into_inner().unwrap().downcast::<JoinError>().unwrap();
    assert!(inner.is_panic());
}

#[test]
fn question_mark_turns_a_join_error_into_a_boxed_error() {
    fn run() -> Result<u32, Box<dyn Error + Send + Sync>> {
        paused().block_on(await_worker::<Box<dyn Error + Send + Sync>>())
    }
    let err = run().unwrap_err();
    assert_eq!(err.to_string(), "task `worker` panicked: boom");
    assert!(err.downcast_ref::<JoinError>().unwrap().is_panic());
}

#[test]
fn join_error_is_send_sync_and_static() {
    fn assert_bounds<T: Send + Sync + 'static>() {}
    assert_bounds::<JoinError>();
}

mod workers;

/// Every test above again, on worker threads (`tests/workers/mod.rs`).
#[test]
fn on_workers() {
    workers::rerun_on_workers(&[]);
}
