//! The task core's promises, each tried the way a runtime reviewer would break it.
//!
//! - Dropping a `Runtime` cancels every task it spawned, however the task is
//!   kept alive (a `JoinHandle` held outside, another task awaiting it, a
//!   reference cycle through its own waker); its sockets close, and every
//!   `JoinHandle` resolves to a cancelled `JoinError`.
//! - A panic in a destructor — of a future on abort or completion, or of an
//!   output nobody reads — is contained like a panic in `poll`.
//! - A task that awaits its own `JoinHandle` just waits; the loop goes on.
//!
//! Each test would hang or panic on the first core (a `Mutex` per task, no
//! owned-task list); each runs on a guard thread so a hang is a failure.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::task::{Context, Poll};
use std::time::Duration;

use evloop::time::sleep;
use evloop::{JoinError, Runtime};
use futures_util::FutureExt;

const SECOND: Duration = Duration::from_secs(1);

/// Run `body` on its own thread; fail (instead of hanging) after 20 s.
fn guarded<T: Send + 'static>(body: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(body());
    });
    rx.recv_timeout(Duration::from_secs(20))
        .expect("the test hung (or panicked) instead of finishing")
}

fn paused() -> Runtime {
    Runtime::builder().start_paused(true).build().unwrap()
}

/// Sets its flag when dropped: proof that a future (and what it owns) is gone.
struct DropFlag(Arc<AtomicBool>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

fn flag() -> (Arc<AtomicBool>, DropFlag) {
    let flag = Arc::new(AtomicBool::new(false));
    (flag.clone(), DropFlag(flag))
}

/// Poll a `JoinHandle` once, outside any runtime.
fn poll_once<T>(handle: evloop::JoinHandle<T>) -> Option<Result<T, JoinError>> {
    handle.now_or_never()
}

#[test]
fn dropping_the_runtime_cancels_a_task_whose_handle_is_held_outside() {
    guarded(|| {
        let rt = paused();
        let (dropped, guard) = flag();
        let handle = rt.spawn(async move {
            let _guard = guard;
            std::future::pending::<()>().await
        });
        rt.turn(); // polled once: it waits on nothing that will ever come
        drop(rt);
        assert!(
            dropped.load(Ordering::SeqCst),
            "the future was dropped with the runtime"
        );
        let err = poll_once(handle)
            .expect("the handle resolves at once")
            .unwrap_err();
        assert!(err.is_cancelled(), "{err:?}");
    });
}

#[test]
fn a_task_that_keeps_itself_alive_through_join_all_is_cancelled_too() {
    // Task → JoinAll → child's waker → parent (task) waker → Task: a cycle of
    // `Arc`s that only the owned-task list can break.
    guarded(|| {
        let rt = paused();
        let (dropped, guard) = flag();
        let (tx, mut rx) = evloop::sync::mpsc::unbounded_channel::<u8>();
        rt.spawn(async move {
            let _guard = guard;
            evloop::join_all([async move { rx.recv().await }]).await
        });
        rt.turn();
        drop(rt);
        assert!(dropped.load(Ordering::SeqCst));
        drop(tx);
    });
}

#[test]
fn tasks_awaiting_each_other_are_all_cancelled() {
    guarded(|| {
        let rt = paused();
        let (dropped_a, guard_a) = flag();
        let (dropped_b, guard_b) = flag();
        let waiter = rt.spawn(async move {
            let _guard = guard_a;
            let inner = evloop::spawn(async move {
                let _guard = guard_b;
                std::future::pending::<()>().await
            });
            inner.await
        });
        rt.turn();
        rt.turn();
        drop(rt);
        assert!(dropped_a.load(Ordering::SeqCst) && dropped_b.load(Ordering::SeqCst));
        assert!(poll_once(waiter).unwrap().unwrap_err().is_cancelled());
    });
}

#[test]
fn a_listening_task_closes_its_port_when_the_runtime_is_dropped() {
    guarded(|| {
        let rt = Runtime::new().unwrap();
        let (tx, rx) = mpsc::channel();
        let server = rt.spawn(async move {
            let listener = evloop::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            loop {
                let _ = listener.accept().await;
            }
        });
        rt.block_on(async { sleep(Duration::from_millis(20)).await });
        let addr = rx.recv().unwrap();
        drop(rt);
        let refused = std::net::TcpStream::connect_timeout(&addr, SECOND);
        assert!(
            refused.is_err(),
            "the port still accepts after its runtime is gone"
        );
        assert!(poll_once(server).unwrap().unwrap_err().is_cancelled());
    });
}

/// A future whose destructor calls back into the runtime.
struct SpawnsOnDrop(Arc<std::sync::Mutex<Option<evloop::JoinHandle<()>>>>);

impl Future for SpawnsOnDrop {
    type Output = ();
    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        Poll::Pending
    }
}

impl Drop for SpawnsOnDrop {
    fn drop(&mut self) {
        drop(sleep(SECOND)); // the clock and the wheel are still there
        *self.0.lock().unwrap() = Some(evloop::spawn(async {}));
    }
}

#[test]
fn a_destructor_that_spawns_during_the_drop_gets_a_cancelled_task() {
    guarded(|| {
        let rt = paused();
        let spawned = Arc::new(std::sync::Mutex::new(None));
        rt.spawn(SpawnsOnDrop(spawned.clone()));
        rt.turn();
        drop(rt);
        let late = spawned
            .lock()
            .unwrap()
            .take()
            .expect("the destructor ran and spawned");
        assert!(late.is_finished());
        assert!(poll_once(late).unwrap().unwrap_err().is_cancelled());
    });
}

/// Panics when dropped.
struct PanicsOnDrop(&'static str);

impl Drop for PanicsOnDrop {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            panic!("{}", self.0);
        }
    }
}

#[test]
fn a_destructor_that_panics_on_abort_becomes_the_handles_error() {
    guarded(|| {
        let rt = paused();
        rt.block_on(async {
            let doomed = evloop::spawn(async {
                let _bomb = PanicsOnDrop("boom on abort");
                sleep(10 * SECOND).await;
            });
            sleep(SECOND).await;
            doomed.abort();
            let err = doomed.await.unwrap_err();
            assert!(err.is_panic(), "{err:?}");
            assert_eq!(err.panic_message(), Some("boom on abort"));
            // The loop went on: another task still runs to the end.
            assert_eq!(evloop::spawn(async { 7 }).await.unwrap(), 7);
        });
    });
}

/// Ready at once, then panics when dropped (after `poll` returned).
struct ReadyThenPanics(#[allow(dead_code)] PanicsOnDrop);

impl Future for ReadyThenPanics {
    type Output = u32;
    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<u32> {
        Poll::Ready(5)
    }
}

#[test]
fn a_future_that_panics_when_dropped_after_finishing_gives_a_panic_error() {
    guarded(|| {
        let rt = paused();
        let handle = rt.spawn(ReadyThenPanics(PanicsOnDrop("boom after ready")));
        rt.turn();
        let err = poll_once(handle).unwrap().unwrap_err();
        assert!(err.is_panic());
        assert_eq!(err.panic_message(), Some("boom after ready"));
    });
}

/// A future that panics in `poll` *and* again in its destructor.
struct PanicsTwice(PanicsOnDropAlways);

struct PanicsOnDropAlways;

impl Drop for PanicsOnDropAlways {
    fn drop(&mut self) {
        // Not during an unwind (that would abort): the poll's panic was caught
        // already, so this is a second, separate panic.
        panic!("second panic, in drop");
    }
}

impl Future for PanicsTwice {
    type Output = ();
    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        panic!("first panic, in poll")
    }
}

#[test]
fn a_panic_in_poll_then_in_drop_is_contained_and_the_first_is_reported() {
    guarded(|| {
        let rt = paused();
        let handle = rt.spawn(PanicsTwice(PanicsOnDropAlways));
        rt.turn();
        let err = poll_once(handle).unwrap().unwrap_err();
        assert_eq!(err.panic_message(), Some("first panic, in poll"));
    });
}

#[test]
fn an_output_that_panics_when_dropped_never_reaches_the_loop() {
    guarded(|| {
        let rt = paused();
        let finished = rt.block_on(async {
            // Detached: nobody reads the output, so the loop drops it.
            drop(evloop::spawn(async {
                PanicsOnDrop("output dropped by the loop")
            }));
            // Finished, then the handle is dropped: the handle drops it.
            let held = evloop::spawn(async { PanicsOnDrop("output dropped by the handle") });
            while !held.is_finished() {
                evloop::yield_now().await;
            }
            drop(held);
            sleep(SECOND).await;
            "the loop went on"
        });
        assert_eq!(finished, "the loop went on");
    });
}

#[test]
fn a_task_awaiting_its_own_handle_just_waits() {
    // On the first core this deadlocked the loop thread: the task's lock was
    // held across the poll, and polling its own handle took it again.
    guarded(|| {
        let rt = paused();
        let (handle_tx, handle_rx) = evloop::sync::oneshot::channel::<evloop::JoinHandle<()>>();
        let (said_tx, said_rx) = evloop::sync::oneshot::channel::<&str>();
        let me = rt.spawn(async move {
            let mut own = handle_rx.await.unwrap();
            let timer = Box::pin(sleep(SECOND));
            let said = match evloop::select(&mut own, timer).await {
                evloop::Either::Left(_) => "impossible: it finished before itself",
                evloop::Either::Right(()) => "still waiting on itself after a second",
            };
            said_tx.send(said).unwrap();
        });
        handle_tx.send(me).unwrap();
        let said = rt.block_on(said_rx).unwrap();
        assert_eq!(said, "still waiting on itself after a second");
    });
}

#[test]
fn handle_spawn_from_another_thread_wakes_a_parked_loop() {
    guarded(|| {
        let rt = Runtime::new().unwrap();
        let handle = rt.handle();
        let out = rt.block_on(async move {
            let from_thread = std::thread::spawn(move || handle.spawn(async { 40 + 2 }));
            let task = evloop::spawn_blocking(move || from_thread.join().unwrap())
                .await
                .unwrap();
            task.await.unwrap()
        });
        assert_eq!(out, 42);
    });
}

#[test]
fn blocking_code_reaches_its_runtime() {
    guarded(|| {
        let rt = Runtime::new().unwrap();
        let out = rt.block_on(async {
            evloop::spawn_blocking(|| {
                // `evloop::spawn` works inside a blocking job, as in tokio...
                let task = evloop::spawn(async {
                    sleep(Duration::from_millis(5)).await;
                    "slept on the loop"
                });
                // ...and the job may wait for it, on its own thread.
                evloop::runtime::Handle::current().block_on(task).unwrap()
            })
            .await
            .unwrap()
        });
        assert_eq!(out, "slept on the loop");
    });
}

#[test]
fn handle_spawn_after_the_runtime_is_gone_gives_a_cancelled_task() {
    guarded(|| {
        let rt = Runtime::new().unwrap();
        let handle = rt.handle();
        drop(rt);
        let late = handle.spawn(async { 1 });
        assert!(poll_once(late).unwrap().unwrap_err().is_cancelled());
    });
}

#[test]
#[should_panic(expected = "on a thread that runs an event loop")]
fn handle_block_on_refuses_the_loop_thread() {
    let rt = Runtime::new().unwrap();
    rt.block_on(async {
        evloop::runtime::Handle::current().block_on(async {});
    });
}

#[test]
fn wakes_racing_polls_from_another_thread_lose_none() {
    // Wakes racing polls: each wake between two polls must queue the task once.
    guarded(|| {
        let rt = Runtime::new().unwrap();
        let count = Arc::new(AtomicUsize::new(0));
        let seen = rt.block_on({
            let count = count.clone();
            async move {
                let (tx, mut rx) = evloop::sync::mpsc::unbounded_channel::<u32>();
                let sender = std::thread::spawn(move || {
                    for i in 0..200_000 {
                        tx.send(i).unwrap();
                    }
                });
                let mut seen = 0;
                while rx.recv().await.is_some() {
                    seen += 1;
                    count.fetch_add(1, Ordering::Relaxed);
                }
                sender.join().unwrap();
                seen
            }
        });
        assert_eq!(seen, 200_000);
    });
}

#[test]
fn a_blocking_job_can_connect_a_socket_and_wait_for_it() {
    // tokio allows I/O from blocking code through the runtime's handle; so do we.
    guarded(|| {
        let rt = Runtime::new().unwrap();
        let greeting = rt.block_on(async {
            let listener = evloop::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let server = evloop::spawn(async move {
                let (mut stream, _) = listener.accept().await.unwrap();
                stream.write_all(b"hello from the loop").await.unwrap();
            });
            let client = evloop::spawn_blocking(move || {
                let handle = evloop::runtime::Handle::current();
                handle.block_on(async move {
                    let mut stream = evloop::net::TcpStream::connect(addr).await.unwrap();
                    let mut buf = vec![0; 19];
                    stream.read_exact(&mut buf).await.unwrap();
                    String::from_utf8(buf).unwrap()
                })
            });
            server.await.unwrap();
            client.await.unwrap()
        });
        assert_eq!(greeting, "hello from the loop");
    });
}

#[test]
fn runtime_tasks_says_what_each_task_waits_on() {
    use evloop::task::{TaskState, WaitReason};
    let rt = paused();
    let (tx, mut rx) = evloop::sync::mpsc::channel::<u8>(1);
    let reader = rt.spawn_named("reader", async move { rx.recv().await });
    let waiter = rt.spawn_named("waiter", async move { reader.await.unwrap() });
    rt.spawn_named("yielder", async {
        loop {
            evloop::yield_now().await;
        }
    });
    let lock = Arc::new(evloop::sync::Semaphore::new(0));
    let bell = Arc::new(evloop::sync::Notify::new());
    let (l, b) = (lock.clone(), bell.clone());
    rt.spawn_named("locker", async move { drop(l.acquire().await) });
    rt.spawn_named("listener", async move { b.notified().await });
    rt.turn();
    let tasks = rt.tasks();
    let names: Vec<&str> = tasks.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["reader", "waiter", "yielder", "locker", "listener"]);
    assert_eq!(tasks[0].waiting_on, WaitReason::Channel);
    assert_eq!(tasks[0].state, TaskState::Idle);
    assert_eq!(tasks[1].waiting_on, WaitReason::Join { task: 1 });
    assert_eq!(tasks[2].state, TaskState::Scheduled);
    assert_eq!(tasks[3].waiting_on, WaitReason::Semaphore);
    assert_eq!(tasks[3].waiting_on.to_string(), "a semaphore's permits");
    assert_eq!(tasks[4].waiting_on, WaitReason::Notify);
    drop(tx);
    lock.add_permits(1);
    bell.notify_one();
    rt.turn(); // the reader sees the channel closed, and finishes; so do the locker and listener
    rt.turn(); // so does the waiter
    let names: Vec<String> = rt.tasks().into_iter().map(|t| t.name).collect();
    assert_eq!(names, ["yielder"], "finished tasks leave the list");
    drop(waiter);
}

/// A hand-made waker that panics when woken.
struct PanickingWaker;

impl std::task::Wake for PanickingWaker {
    fn wake(self: Arc<Self>) {
        panic!("this waker panics");
    }
}

#[test]
fn a_waker_that_panics_in_step_5_loses_no_other_wake() {
    guarded(|| {
        let rt = paused();
        let done = rt.block_on(async {
            // A sleep registered with a waker that panics, due with another
            // task's sleep in the same tick.
            let mut bad = Box::pin(sleep(SECOND));
            let waker = std::task::Waker::from(Arc::new(PanickingWaker));
            assert!(bad
                .as_mut()
                .poll(&mut Context::from_waker(&waker))
                .is_pending());
            let good = evloop::spawn(async {
                sleep(SECOND).await;
                "woken on time"
            });
            let out = good.await.unwrap();
            drop(bad);
            out
        });
        assert_eq!(done, "woken on time");
    });
}

mod workers;

/// Every test above again, on worker threads (`tests/workers/mod.rs`).
#[test]
fn on_workers() {
    workers::rerun_on_workers(&[]);
}
