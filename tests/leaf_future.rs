//! "The leaf future's contract", as code: a leaf finds the running loop
//! through a thread-local (and panics outside one), and must store the
//! *latest* waker on every `Pending` — a demo that hangs when it does not.

use std::future::{poll_fn, Future};
use std::panic::catch_unwind;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use evloop::time::sleep;
use evloop::Runtime;

const ONE_SECOND: Duration = Duration::from_secs(1);

fn paused_runtime() -> Runtime {
    Runtime::builder()
        .start_paused(true)
        .trace(true)
        .build()
        .expect("the OS gives us a poller")
}

fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    match payload.downcast::<String>() {
        Ok(s) => *s,
        Err(payload) => payload.downcast_ref::<&str>().unwrap_or(&"?").to_string(),
    }
}

#[test]
fn outside_a_loop_a_leaf_has_no_loop_to_find() {
    // ANCHOR: outside
    // Creating a sleep is fine anywhere: it is a plain value. Its first
    // *poll* looks for the running loop in the thread-local, finds none,
    // and panics with a message that says what to do.
    let mut nap = sleep(ONE_SECOND);
    let mut cx = Context::from_waker(futures_task::noop_waker_ref());
    let payload = catch_unwind(move || Pin::new(&mut nap).poll(&mut cx)).unwrap_err();
    assert_eq!(
        panic_message(payload),
        "`evloop::time::sleep` must be called inside evloop::run or Runtime::block_on \
         (there is no event loop running on this thread)"
    );
    // ANCHOR_END: outside

    // A socket finds the loop the same way, to register with its reactor.
    let mut bind = Box::pin(evloop::net::TcpListener::bind("127.0.0.1:0"));
    let mut cx = Context::from_waker(futures_task::noop_waker_ref());
    let payload = catch_unwind(move || bind.as_mut().poll(&mut cx).is_ready()).unwrap_err();
    let message = panic_message(payload);
    assert!(
        message.contains("must be called inside evloop::run"),
        "{message}"
    );
    println!("{message}");

    // Inside a loop, the same sleep works: `run` put the loop in the thread-local.
    let rt = paused_runtime();
    rt.block_on(sleep(ONE_SECOND));
    assert_eq!(rt.elapsed(), ONE_SECOND);
}

// ANCHOR: doorbell
/// The event source's side of a leaf: a flag, and the waker to call when it
/// flips. Here the "event" is someone calling `ring`; in evloop's own leaves
/// it is the timer wheel (step 5 of the turn) or the reactor (step 4).
#[derive(Default)]
struct Doorbell {
    rung: bool,
    waiter: Option<Waker>,
}

/// Ring the bell: change the state first, *then* wake, so the woken task
/// finds `rung` set when it polls. The waker is taken out and called after
/// the lock is released: waking may run arbitrary code.
fn ring(bell: &Mutex<Doorbell>) {
    let waker = {
        let mut bell = bell.lock().unwrap();
        bell.rung = true;
        bell.waiter.take()
    };
    if let Some(waker) = waker {
        waker.wake();
    }
}

/// Which waker a `WaitForBell` keeps when it is polled again.
#[derive(Clone, Copy)]
enum Keeps {
    /// The contract: the waker of the latest poll.
    Latest,
    /// The bug: the first waker it was given, forever.
    First,
}

/// The leaf future: ready once the bell has rung.
struct WaitForBell {
    bell: Arc<Mutex<Doorbell>>,
    keeps: Keeps,
}

impl Future for WaitForBell {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        // Check and register under one lock: a ring cannot slip in between
        // "not rung yet" and "here is my waker" (a lost wakeup).
        let mut bell = self.bell.lock().unwrap();
        if bell.rung {
            return Poll::Ready(());
        }
        match (self.keeps, &mut bell.waiter) {
            // Same task as last time? `will_wake` saves the clone.
            (Keeps::Latest, Some(stored)) if stored.will_wake(cx.waker()) => {}
            (Keeps::Latest, slot) => *slot = Some(cx.waker().clone()),
            (Keeps::First, slot @ None) => *slot = Some(cx.waker().clone()),
            (Keeps::First, Some(_)) => {} // BUG: keeps a waker nobody listens to
        }
        Poll::Pending
    }
}
// ANCHOR_END: doorbell

// ANCHOR: moved
/// Poll the leaf once in this task (it stores the task's waker), then move
/// it into `join_all`, which polls it with a waker of its own (one per
/// child: it only re-polls the children that were woken).
async fn poll_here_then_join(mut wait: WaitForBell) {
    poll_fn(|cx| {
        let _ = Pin::new(&mut wait).poll(cx); // Pending: not rung yet
        Poll::Ready(())
    })
    .await;
    evloop::join_all([wait]).await;
}
// ANCHOR_END: moved

/// Run the demo: a waiter as above, and a task that rings the bell at 1 s.
/// Returns whether the waiter finished, the turns it took, and the timeline.
fn demo(keeps: Keeps) -> (bool, Vec<Vec<String>>, String) {
    let rt = paused_runtime();
    let bell = Arc::new(Mutex::new(Doorbell::default()));
    let wait = WaitForBell {
        bell: bell.clone(),
        keeps,
    };
    let waiter = rt.spawn_named("waiter", poll_here_then_join(wait));
    let _ringer = rt.spawn_named("ringer", async move {
        sleep(ONE_SECOND).await;
        ring(&bell);
    });
    let turns = (0..5).map(|_| rt.turn().polled).collect();
    (waiter.is_finished(), turns, rt.trace().timeline())
}

#[test]
fn storing_the_latest_waker_keeps_the_promise() {
    let (finished, turns, _) = demo(Keeps::Latest);
    // Turn 1: the waiter polls the leaf (task's waker), moves it into
    // join_all, whose first poll polls it again (child's waker: replaced).
    // The ringer sleeps; the clock jumps to 1 s, the timer fires.
    assert_eq!(turns[0], ["waiter", "ringer"]);
    // Turn 2: the ringer rings: the *child's* waker is called, which marks
    // the child woken and wakes the waiter task.
    assert_eq!(turns[1], ["ringer"]);
    // Turn 3: join_all polls the woken child: Ready. Done.
    assert_eq!(turns[2], ["waiter"]);
    assert!(finished);
}

#[test]
fn keeping_the_first_waker_hangs_inside_join_all() {
    let (finished, turns, _) = demo(Keeps::First);
    assert_eq!(turns[0], ["waiter", "ringer"]);
    assert_eq!(turns[1], ["ringer"]);
    // The ring calls the *task's* waker from the first poll. The task is
    // polled, but join_all's own bookkeeping says no child was woken, so it
    // polls none of them and says Pending. Nobody holds a waker that leads
    // to the child any more: it is never polled again.
    assert_eq!(turns[2], ["waiter"]);
    assert!(turns[3..].iter().all(Vec::is_empty), "{turns:?}");
    assert!(!finished, "the wake went to a waker nobody listens to");
}

/// The chapter shows both runs' timelines from `lessons/img/`; this checks
/// they are what the code does today (`UPDATE_PICTURES=1` rewrites them).
#[test]
fn the_timelines_in_the_book_are_fresh() {
    let update = std::env::var_os("UPDATE_PICTURES").is_some_and(|v| v != "0");
    for (keeps, file) in [
        (Keeps::Latest, "leaf-latest-waker.timeline.txt"),
        (Keeps::First, "leaf-first-waker.timeline.txt"),
    ] {
        let (_, _, timeline) = demo(keeps);
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("lessons/img")
            .join(file);
        if update {
            std::fs::write(&path, &timeline).unwrap();
        }
        let shown = std::fs::read_to_string(&path).unwrap_or_default();
        assert_eq!(
            shown, timeline,
            "{file} is stale: UPDATE_PICTURES=1 cargo test --test leaf_future"
        );
    }
}

mod workers;

/// Every test above again, on worker threads (`tests/workers/mod.rs`).
#[test]
fn on_workers() {
    workers::rerun_on_workers(&[]);
}
