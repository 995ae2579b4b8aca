//! The cooperative budget, turn by turn: a task that always finds work still
//! hands the thread back (the chapter *The turn and the run queue*, "A task
//! that never waits").
//!
//! On the first core, a task whose channel (or socket) was never empty never
//! returned `Pending`: it held the loop until the data ran out, and a client
//! streaming to the chat held another client's message for seconds. Now each
//! poll may complete `evloop::task::BUDGET` (128) operations; the next one
//! returns `Pending` after waking its own task.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc as std_mpsc, Arc};
use std::time::Duration;

use evloop::sync::mpsc;
use evloop::task::BUDGET;
use evloop::Runtime;

fn paused() -> Runtime {
    Runtime::builder().start_paused(true).build().unwrap()
}

/// A channel that already holds `n` messages, and no sender left.
fn full_channel(n: usize) -> mpsc::UnboundedReceiver<usize> {
    let (tx, rx) = mpsc::unbounded_channel();
    for i in 0..n {
        tx.send(i).unwrap();
    }
    rx
}

/// Spawn a task that drains `rx`, counting into `seen`.
fn hog(rt: &Runtime, mut rx: mpsc::UnboundedReceiver<usize>, seen: Arc<AtomicUsize>) {
    rt.spawn_named("hog", async move {
        while rx.recv().await.is_some() {
            seen.fetch_add(1, Ordering::Relaxed);
        }
    });
}

#[test]
fn a_task_that_always_finds_a_message_gives_the_thread_back_after_its_budget() {
    let rt = paused();
    let seen = Arc::new(AtomicUsize::new(0));
    hog(&rt, full_channel(300), seen.clone());
    rt.spawn_named("greeter", async {});

    // Turn 1: the hog takes 128 messages, then its 129th `recv` says Pending
    // (and wakes the hog), so the greeter gets its poll in the same turn.
    let turn = rt.turn();
    assert_eq!(turn.polled, ["hog", "greeter"]);
    assert_eq!(seen.load(Ordering::Relaxed), BUDGET as usize);

    // Turn 2: another 128. Turn 3: the last 44, and the channel is closed.
    assert_eq!(rt.turn().polled, ["hog"]);
    assert_eq!(seen.load(Ordering::Relaxed), 2 * BUDGET as usize);
    assert_eq!(rt.turn().polled, ["hog"]);
    assert_eq!(seen.load(Ordering::Relaxed), 300);
    assert!(rt.tasks().is_empty(), "the hog finished: nothing was lost");
}

#[test]
fn unconstrained_turns_the_budget_off() {
    // What the first core did for every task: all 300 in one poll.
    let rt = paused();
    let seen = Arc::new(AtomicUsize::new(0));
    let mut rx = full_channel(300);
    let counted = seen.clone();
    rt.spawn_named(
        "hog",
        evloop::task::unconstrained(async move {
            while rx.recv().await.is_some() {
                counted.fetch_add(1, Ordering::Relaxed);
            }
        }),
    );
    assert_eq!(rt.turn().polled, ["hog"]);
    assert_eq!(seen.load(Ordering::Relaxed), 300);
}

#[test]
fn the_block_on_future_has_a_budget_too() {
    let rt = paused();
    let ran = Arc::new(AtomicBool::new(false));
    let drained_before_it_ran = rt.block_on({
        let ran = ran.clone();
        async move {
            let flag = ran.clone();
            evloop::spawn(async move { flag.store(true, Ordering::SeqCst) });
            let mut rx = full_channel(1000);
            let mut count = 0;
            let mut when_it_ran = None;
            while rx.recv().await.is_some() {
                count += 1;
                if when_it_ran.is_none() && ran.load(Ordering::SeqCst) {
                    when_it_ran = Some(count);
                }
            }
            when_it_ran
        }
    });
    // The spawned task ran after the first budget's worth, not after all 1,000.
    assert_eq!(drained_before_it_ran, Some(BUDGET as usize + 1));
}

/// Run `body` on a thread; a hang fails the test instead of stalling the run.
fn guarded<T: Send + 'static>(body: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std_mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(body());
    });
    rx.recv_timeout(Duration::from_secs(30))
        .expect("the loop was never handed back")
}

#[test]
fn timeout_fires_while_the_future_keeps_finding_data() {
    // A future that is never short of a message: it feeds itself. Without
    // the budget it never returned Pending, so `timeout` never got to look
    // at its deadline. The deadline is checked outside the budget.
    let outcome = guarded(|| {
        let rt = Runtime::new().unwrap();
        rt.block_on(async {
            let (tx, mut rx) = mpsc::unbounded_channel();
            tx.send(0u64).unwrap();
            let busy = async move {
                while let Some(n) = rx.recv().await {
                    tx.send(n + 1).unwrap();
                }
            };
            evloop::time::timeout(Duration::from_millis(50), busy).await
        })
    });
    assert!(outcome.is_err(), "the timeout fired");
}

#[test]
fn a_socket_that_always_has_data_lets_other_clients_through() {
    // The attack from the hardening issue, at small scale: one client streams
    // to the server without pause; another sends one line. The second
    // client's handler must run while the first is still streaming.
    let answered = guarded(|| {
        let rt = Runtime::new().unwrap();
        rt.block_on(async {
            let listener = evloop::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let stop = Arc::new(AtomicBool::new(false));
            // The streaming client: a std thread writing as fast as it can.
            let stop_streaming = stop.clone();
            let streamer = std::thread::spawn(move || {
                use std::io::Write;
                let mut s = std::net::TcpStream::connect(addr).unwrap();
                let chunk = vec![b'x'; 64 * 1024];
                while !stop_streaming.load(Ordering::SeqCst) {
                    if s.write_all(&chunk).is_err() {
                        break;
                    }
                }
            });
            let (mut flood, _) = listener.accept().await.unwrap();
            let reader = evloop::spawn(async move {
                let mut buf = vec![0; 4096];
                let mut total = 0usize;
                loop {
                    match flood.read(&mut buf).await {
                        Ok(0) | Err(_) => return total,
                        Ok(n) => total += n,
                    }
                }
            });
            // The polite client, from the loop itself.
            let polite = evloop::spawn(async move {
                let mut c = evloop::net::TcpStream::connect(addr).await.unwrap();
                c.write_all(b"hello\n").await.unwrap();
            });
            let (mut s, _) = listener.accept().await.unwrap();
            let mut line = [0; 6];
            s.read_exact(&mut line).await.unwrap();
            polite.await.unwrap();
            stop.store(true, Ordering::SeqCst);
            drop(s);
            // Close the flooded socket (the aborted reader drops it) before
            // waiting for the streamer: its blocked write then fails at once.
            reader.abort();
            let _ = reader.await;
            streamer.join().unwrap();
            line
        })
    });
    assert_eq!(&answered, b"hello\n");
}

#[test]
fn join_all_stops_polling_children_once_the_budget_is_spent() {
    // 10,000 timers fire together. Each poll of `join_all` may take 128 of
    // them; the others are left queued for its next poll, not polled just to
    // hear `Pending` (which made the gather cost ~78 polls per child).
    const N: usize = 10_000;
    let rt = paused();
    let polls = Arc::new(AtomicUsize::new(0));
    let done = rt.block_on({
        let polls = polls.clone();
        async move {
            let children = (0..N).map(|_| {
                let polls = polls.clone();
                let mut sleep = Box::pin(evloop::time::sleep(Duration::from_secs(1)));
                std::future::poll_fn(move |cx| {
                    polls.fetch_add(1, Ordering::Relaxed);
                    sleep.as_mut().poll(cx)
                })
            });
            evloop::join_all(children).await.len()
        }
    });
    assert_eq!(done, N);
    // One poll to register each timer, one to see it fired.
    assert_eq!(polls.load(Ordering::Relaxed), 2 * N);
}

mod workers;

/// Every test above again, on worker threads (`tests/workers/mod.rs`).
#[test]
fn on_workers() {
    workers::rerun_on_workers(&[]);
}
