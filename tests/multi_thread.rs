//! The multi-thread runtime (`Builder::worker_threads`), tried as a reviewer
//! would: the wake-ups that could be lost between threads, the races a
//! second thread opens (a wake while the task is being polled, an abort
//! while it completes), and what must still hold when the runtime is dropped
//! with tasks parked on every kind of leaf.
//!
//! Every test is bounded: it runs inside [`bounded`], which fails it after
//! `LIMIT` instead of letting a lost wake-up hang the suite.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc as std_mpsc, Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::thread;
use std::time::{Duration, Instant};

use evloop::sync::{mpsc, oneshot};
use evloop::time::{sleep, timeout};
use evloop::Runtime;

/// No test here may take longer (a lost wake-up would otherwise hang it).
const LIMIT: Duration = Duration::from_secs(120);

/// Run `f` on a thread of its own; fail if it is not done within `LIMIT`.
fn bounded<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std_mpsc::channel();
    thread::spawn(move || {
        let _ = tx.send(std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)));
    });
    match rx.recv_timeout(LIMIT) {
        Ok(Ok(value)) => value,
        Ok(Err(payload)) => std::panic::resume_unwind(payload),
        Err(_) => panic!("not done after {LIMIT:?}: a wake-up was lost"),
    }
}

/// Counts its drops: "dropped exactly once" is the count equal to the number made.
struct CountDrop(Arc<AtomicUsize>);

impl Drop for CountDrop {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

fn workers(n: usize) -> Runtime {
    Runtime::builder().worker_threads(n).build().unwrap()
}

/// A million wakes that cross threads. Four plain threads each hand a task
/// on the workers a value 250,000 times and wait for its answer before the
/// next: every hand-off wakes the task from a thread that is not a worker
/// (through the injector, and an unpark if the workers sleep), and the
/// answer wakes the plain thread back. A wake lost anywhere stops that pair
/// for good, and `bounded` fails the test.
#[test]
fn a_million_cross_thread_wakes_lose_none() {
    const THREADS: usize = 4;
    const ROUNDS: usize = 250_000;
    let (answered, wakes) = bounded(|| {
        let rt = workers(2);
        let mut answered = 0;
        let mut pairs = Vec::new();
        for _ in 0..THREADS {
            let (to_task, mut from_thread) = mpsc::unbounded_channel::<usize>();
            let (to_thread, from_task) = std_mpsc::channel::<usize>();
            let task = rt.spawn(async move {
                while let Some(i) = from_thread.recv().await {
                    to_thread.send(i + 1).unwrap();
                }
            });
            let thread = thread::spawn(move || {
                let mut answered = 0;
                for i in 0..ROUNDS {
                    to_task.send(i).unwrap();
                    assert_eq!(from_task.recv().unwrap(), i + 1);
                    answered += 1;
                }
                answered
            });
            pairs.push((task, thread));
        }
        for (task, thread) in pairs {
            answered += thread.join().unwrap();
            rt.block_on(task).unwrap();
        }
        (answered, rt.metrics().wakes)
    });
    assert_eq!(answered, THREADS * ROUNDS, "every hand-off was answered");
    // A hand-off that found the task still running cost no wake; most did.
    assert!(
        wakes as usize > THREADS * ROUNDS / 2,
        "wakes counted: {wakes}"
    );
}

/// Wakes from threads that are not workers at all: ten std threads each
/// wake a task 20,000 times through an unbounded channel. Every value
/// arrives; the receiver is woken from outside, through the injector.
#[test]
fn wakes_from_plain_threads_reach_the_workers() {
    let got = bounded(|| {
        let rt = workers(2);
        rt.block_on(async {
            let (tx, mut rx) = mpsc::unbounded_channel::<u32>();
            let senders: Vec<_> = (0..10)
                .map(|_| {
                    let tx = tx.clone();
                    thread::spawn(move || {
                        for _ in 0..20_000 {
                            tx.send(1).unwrap();
                        }
                    })
                })
                .collect();
            drop(tx);
            let counter = evloop::spawn(async move {
                let mut n = 0u32;
                while let Some(v) = rx.recv().await {
                    n += v;
                }
                n
            });
            for s in senders {
                s.join().unwrap();
            }
            counter.await.unwrap()
        })
    });
    assert_eq!(got, 200_000);
}

/// A future that, each time it is polled, hands its waker to another thread
/// which wakes it at once — so the wake races the end of the poll: it lands
/// while the task is still RUNNING (the task must be queued again when the
/// poll ends) or just after (queued at once). Either way it is polled again.
struct WokenWhilePolled {
    left: usize,
    waker_to: std_mpsc::Sender<Waker>,
}

impl Future for WokenWhilePolled {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.left == 0 {
            return Poll::Ready(());
        }
        self.left -= 1;
        self.waker_to.send(cx.waker().clone()).unwrap();
        Poll::Pending
    }
}

#[test]
fn a_task_woken_while_it_is_being_polled_is_polled_again() {
    bounded(|| {
        let rt = workers(2);
        let (waker_to, wakers) = std_mpsc::channel::<Waker>();
        let waking = thread::spawn(move || {
            for waker in wakers {
                waker.wake();
            }
        });
        rt.block_on(async move {
            let tasks: Vec<_> = (0..4)
                .map(|_| {
                    evloop::spawn(WokenWhilePolled {
                        left: 25_000,
                        waker_to: waker_to.clone(),
                    })
                })
                .collect();
            drop(waker_to);
            for t in tasks {
                t.await.unwrap();
            }
        });
        drop(rt);
        waking.join().unwrap();
    });
}

/// Aborts racing completion: each task finishes almost at once while the
/// `block_on` thread aborts it. The handle says one or the other — done
/// or cancelled — never hangs, and each future is dropped exactly once.
#[test]
fn an_abort_racing_completion_resolves_once_either_way() {
    let (done, cancelled, dropped) = bounded(|| {
        let rt = workers(2);
        let dropped = Arc::new(AtomicUsize::new(0));
        let counted = dropped.clone();
        let (done, cancelled) = rt.block_on(async move {
            let (mut done, mut cancelled) = (0, 0);
            for i in 0..20_000u64 {
                let guard = CountDrop(counted.clone());
                let task = evloop::spawn(async move {
                    let _guard = guard;
                    if i % 2 == 0 {
                        evloop::yield_now().await;
                    }
                    i
                });
                task.abort();
                match task.await {
                    Ok(v) => {
                        assert_eq!(v, i);
                        done += 1
                    }
                    Err(e) => {
                        assert!(e.is_cancelled(), "{e}");
                        cancelled += 1
                    }
                }
            }
            (done, cancelled)
        });
        drop(rt);
        (done, cancelled, dropped.load(Ordering::SeqCst))
    });
    assert_eq!(done + cancelled, 20_000);
    assert_eq!(dropped, 20_000, "every future dropped exactly once");
}

/// Dropping the runtime with tasks parked on a timer, a socket, a channel
/// and a join, on the workers: every future is dropped (once), every
/// `JoinHandle` resolves cancelled, and a waker fired afterwards from
/// another thread does nothing.
#[test]
fn dropping_the_runtime_cancels_every_parked_task_on_every_worker() {
    bounded(|| {
        let rt = workers(2);
        let dropped = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = oneshot::channel::<()>();
        let stolen_waker: Arc<Mutex<Option<Waker>>> = Arc::default();
        let handles = rt.block_on({
            let dropped = dropped.clone();
            let stolen_waker = stolen_waker.clone();
            async move {
                let listener = evloop::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                let mut handles = Vec::new();
                let guard = CountDrop(dropped.clone());
                handles.push(evloop::spawn(async move {
                    let _g = guard;
                    sleep(Duration::from_secs(3600)).await;
                }));
                let guard = CountDrop(dropped.clone());
                handles.push(evloop::spawn(async move {
                    let _g = guard;
                    let _ = listener.accept().await;
                }));
                let guard = CountDrop(dropped.clone());
                handles.push(evloop::spawn(async move {
                    let _g = guard;
                    let _ = rx.await;
                }));
                let guard = CountDrop(dropped.clone());
                handles.push(evloop::spawn(async move {
                    let _g = guard;
                    std::future::poll_fn(|cx| {
                        *stolen_waker.lock().unwrap() = Some(cx.waker().clone());
                        Poll::<()>::Pending
                    })
                    .await;
                }));
                // Let every task reach its wait.
                sleep(Duration::from_millis(50)).await;
                handles
            }
        });
        drop(rt);
        assert_eq!(dropped.load(Ordering::SeqCst), 4, "every future dropped");
        for handle in handles {
            let err = evloop::run(handle).unwrap_err();
            assert!(err.is_cancelled(), "{err}");
        }
        // A waker outliving its runtime: firing it from another thread is harmless.
        let waker = stolen_waker
            .lock()
            .unwrap()
            .take()
            .expect("the task stored its waker");
        thread::spawn(move || waker.wake()).join().unwrap();
        drop(tx);
    });
}

/// A task that panics, and one whose destructor panics at shutdown, on a
/// worker: both are contained, and every other task goes on.
#[test]
fn panics_on_a_worker_are_contained() {
    struct PanicOnDrop;
    impl Drop for PanicOnDrop {
        fn drop(&mut self) {
            if !thread::panicking() {
                panic!("a destructor that panics");
            }
        }
    }
    bounded(|| {
        let rt = workers(2);
        rt.block_on(async {
            let bad = evloop::spawn(async { panic!("boom on a worker") });
            let err = bad.await.unwrap_err();
            assert!(err.is_panic());
            // Parked forever, holding a value whose drop panics: runs at shutdown.
            evloop::spawn(async {
                let _p = PanicOnDrop;
                std::future::pending::<()>().await;
            });
            let fine: Vec<_> = (0..100u32)
                .map(|i| evloop::spawn(async move { i * 2 }))
                .collect();
            let sum: u32 = evloop::join_all(fine)
                .await
                .into_iter()
                .map(Result::unwrap)
                .sum();
            assert_eq!(sum, 9_900);
        });
        drop(rt); // the destructor's panic is contained here
    });
}

/// A timer set by a running worker, earlier than the deadline another
/// worker sleeps in the reactor until, interrupts that sleep: it fires in
/// about its own time, not the other's (the bound is 20 times the wait).
#[test]
fn an_earlier_timer_interrupts_the_worker_parked_in_the_reactor() {
    bounded(|| {
        let rt = workers(2);
        rt.block_on(async {
            // A long timer first: an idle worker parks in the reactor until it.
            let _long = evloop::spawn(sleep(Duration::from_secs(30)));
            sleep(Duration::from_millis(20)).await;
            let started = Instant::now();
            evloop::spawn(sleep(Duration::from_millis(50)))
                .await
                .unwrap();
            let took = started.elapsed();
            assert!(took < Duration::from_secs(1), "fired after {took:?}");
        });
    });
}

/// Sockets move between workers with their tasks: 20 clients echo through
/// one server task per connection, on 4 workers.
#[test]
fn echo_on_four_workers() {
    bounded(|| {
        let rt = workers(4);
        rt.block_on(async {
            let listener = evloop::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            evloop::spawn(async move {
                loop {
                    let (mut s, _) = listener.accept().await.unwrap();
                    evloop::spawn(async move {
                        let mut buf = [0u8; 1024];
                        loop {
                            let n = s.read(&mut buf).await.unwrap();
                            if n == 0 {
                                return;
                            }
                            s.write_all(&buf[..n]).await.unwrap();
                        }
                    });
                }
            });
            let clients: Vec<_> = (0..20u8)
                .map(|c| {
                    evloop::spawn(async move {
                        let mut s = evloop::net::TcpStream::connect(addr).await.unwrap();
                        for round in 0..50u8 {
                            let msg = [c, round, 7, 9];
                            s.write_all(&msg).await.unwrap();
                            let mut back = [0u8; 4];
                            s.read_exact(&mut back).await.unwrap();
                            assert_eq!(back, msg);
                        }
                    })
                })
                .collect();
            let all = timeout(Duration::from_secs(60), evloop::join_all(clients)).await;
            for c in all.expect("every client done") {
                c.unwrap();
            }
        });
    });
}

/// `spawn_blocking`, and spawning from inside a blocking job, on workers.
#[test]
fn blocking_jobs_and_handles_reach_a_multi_thread_runtime() {
    bounded(|| {
        let rt = workers(2);
        let got = rt.block_on(async {
            evloop::spawn_blocking(|| {
                let handle = evloop::runtime::Handle::current();
                let task = handle.spawn(async { 6 * 7 });
                handle.block_on(task).unwrap()
            })
            .await
            .unwrap()
        });
        assert_eq!(got, 42);
    });
}

/// Starting a runtime inside a task would block a worker: refused, as the
/// one-thread loop refuses `block_on` inside itself.
#[test]
fn a_runtime_inside_a_worker_is_refused() {
    bounded(|| {
        let rt = workers(2);
        let err = rt.block_on(async {
            evloop::spawn(async { evloop::run(async { 1 }) })
                .await
                .unwrap_err()
        });
        assert!(err.is_panic());
        let message = err.panic_message().unwrap_or_default().to_string();
        assert!(message.contains("cannot"), "{message}");
    });
}

/// What `build` refuses, and why, and what `EVLOOP_WORKER_THREADS` does.
#[test]
fn build_refuses_what_workers_cannot_keep() {
    for builder in [
        Runtime::builder().worker_threads(2).start_paused(true),
        Runtime::builder()
            .worker_threads(2)
            .start_paused(true)
            .seed(7),
    ] {
        let err = builder.build().err().expect("refused");
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
        assert!(err.to_string().contains("start_paused or seed"), "{err}");
    }
    let err = Runtime::builder()
        .worker_threads(2)
        .observe(true)
        .build()
        .err()
        .expect("refused");
    assert!(err.to_string().contains("observe or the console"), "{err}");
    // worker_threads(0) is the one-thread loop, whatever the environment says.
    let one = Runtime::builder().worker_threads(0).build().unwrap();
    assert_eq!(one.worker_threads(), 0);
    assert!(one.steals().is_empty());
    // The default follows EVLOOP_WORKER_THREADS (set by the on_workers rerun).
    let expected = std::env::var("EVLOOP_WORKER_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    assert_eq!(Runtime::new().unwrap().worker_threads(), expected);
    // ... but never for a runtime that needs the one loop.
    let paused = Runtime::builder().start_paused(true).build().unwrap();
    assert_eq!(paused.worker_threads(), 0);
}

#[test]
fn turn_is_refused_on_workers() {
    let rt = workers(2);
    let stepped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| rt.turn()));
    let payload = stepped.expect_err("turn panics");
    let message = payload
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_default();
    assert!(message.contains("worker_threads"), "{message}");
}

/// Tasks really run in parallel: two tasks that each wait for the other to
/// have started, spinning (no await), finish only if both run at once.
#[test]
fn two_workers_run_two_tasks_at_the_same_time() {
    bounded(|| {
        let rt = workers(2);
        rt.block_on(async {
            let a_started = Arc::new(AtomicBool::new(false));
            let b_started = Arc::new(AtomicBool::new(false));
            let spin = |me: Arc<AtomicBool>, other: Arc<AtomicBool>| async move {
                me.store(true, Ordering::SeqCst);
                let deadline = Instant::now() + Duration::from_secs(30);
                // No await in here: only another thread can set `other`.
                while !other.load(Ordering::SeqCst) {
                    assert!(
                        Instant::now() < deadline,
                        "the other task never ran alongside"
                    );
                    std::hint::spin_loop();
                }
            };
            let a = evloop::spawn(spin(a_started.clone(), b_started.clone()));
            let b = evloop::spawn(spin(b_started, a_started));
            a.await.unwrap();
            b.await.unwrap();
        });
    });
}

/// `Runtime::tasks` and `metrics` on workers: what is alive, and the counts.
#[test]
fn tasks_and_metrics_on_workers() {
    bounded(|| {
        let rt = workers(2);
        let (tx, mut rx) = mpsc::channel::<u8>(1);
        rt.spawn(async move { rx.recv().await });
        rt.block_on(sleep(Duration::from_millis(50)));
        let tasks = rt.tasks();
        assert_eq!(tasks.len(), 1);
        assert_eq!(tasks[0].waiting_on, evloop::task::WaitReason::Channel);
        drop(tx);
        rt.block_on(sleep(Duration::from_millis(50)));
        assert!(
            rt.tasks().is_empty(),
            "the reader finished when the channel closed"
        );
        let m = rt.metrics();
        assert_eq!(m.tasks_spawned, 1);
        assert!(m.polls >= 2, "{m:?}");
        assert_eq!(rt.worker_threads(), 2);
        assert_eq!(rt.steals().len(), 2);
    });
}

mod workers;

/// Every test above again with `EVLOOP_WORKER_THREADS` set (`tests/workers/mod.rs`):
/// they pick their own worker counts, but the environment's default is
/// checked there too.
#[test]
fn on_workers() {
    workers::rerun_on_workers(&["a_million_cross_thread_wakes_lose_none"]);
}
