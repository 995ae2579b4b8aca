//! Many tasks waiting on one socket: every waiter is woken.
//!
//! The reactor keeps a *list* of waiters per direction of a socket. With one
//! waker slot, the second task to wait overwrote the first one's waker, and
//! the first slept forever although its connection (or its bytes, or room in
//! the send buffer) was there. Each test here has several tasks wait on one
//! socket *before* anything arrives, then makes it arrive from a plain std
//! thread, and checks that every task got its share.
//!
//! The last tests drop the runtime a socket belongs to and use the socket
//! elsewhere: the answer is an error, never a wait that no reactor will end.
//!
//! Every test binds 127.0.0.1 port 0 and runs on its own thread under a
//! deadline, so a lost wake-up fails the test instead of hanging it.

use std::io::{Read as _, Write as _};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use evloop::net::{TcpListener, TcpStream};
use evloop::Runtime;
use futures_util::{AsyncReadExt as _, AsyncWriteExt as _};

/// Far more than any of these tests needs, even on a loaded machine.
const LIMIT: Duration = Duration::from_secs(20);

/// Run `body` on its own thread; fail if it takes longer than `LIMIT`.
fn within<T: Send + 'static>(body: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    let thread = std::thread::spawn(move || {
        let _ = tx.send(body());
    });
    match rx.recv_timeout(LIMIT) {
        Ok(value) => value,
        Err(mpsc::RecvTimeoutError::Timeout) => {
            panic!("the test hung: a socket waited for a wake-up that never came")
        }
        // The body panicked: report its panic, not ours.
        Err(mpsc::RecvTimeoutError::Disconnected) => match thread.join() {
            Err(panic) => std::panic::resume_unwind(panic),
            Ok(()) => unreachable!("the body returned without sending"),
        },
    }
}

/// Give every task spawned so far a turn, so each is parked on its socket.
///
/// The `block_on` future runs in step 2 of a turn; the tasks it spawned run in
/// step 1 of the next. So after one `yield_now` each has been polled once and
/// is waiting; the second is margin.
async fn let_tasks_wait() {
    evloop::yield_now().await;
    evloop::yield_now().await;
}

/// `tasks` tasks await `accept()` on one shared listener; then `tasks`
/// clients connect from a std thread. Every task must get a connection.
fn every_accepting_task_gets_a_connection(tasks: usize) {
    within(move || {
        evloop::run(async move {
            let listener = Arc::new(TcpListener::bind("127.0.0.1:0").await.unwrap());
            let addr = listener.local_addr().unwrap();
            let acceptors: Vec<_> = (0..tasks)
                .map(|_| {
                    let listener = listener.clone();
                    evloop::spawn(async move { listener.accept().await.map(|(_, peer)| peer) })
                })
                .collect();
            let_tasks_wait().await;
            assert!(
                acceptors.iter().all(|task| !task.is_finished()),
                "no client yet: every task is waiting in accept()"
            );

            // The clients come only now, from outside the loop.
            let clients = std::thread::spawn(move || {
                (0..tasks)
                    .map(|_| std::net::TcpStream::connect(addr).unwrap())
                    .collect::<Vec<_>>()
            });
            let accepted = evloop::join_all(acceptors).await;
            let clients = clients.join().unwrap();

            let mut peers: Vec<_> = accepted.into_iter().map(|r| r.unwrap().unwrap()).collect();
            let mut expected: Vec<_> = clients.iter().map(|c| c.local_addr().unwrap()).collect();
            peers.sort();
            expected.sort();
            assert_eq!(
                peers, expected,
                "each client was accepted by exactly one task"
            );
        })
    });
}

#[test]
fn two_tasks_accepting_on_one_listener_both_get_a_connection() {
    every_accepting_task_gets_a_connection(2);
}

#[test]
fn fifty_tasks_accepting_on_one_listener_all_get_a_connection() {
    every_accepting_task_gets_a_connection(50);
}

#[test]
fn two_tasks_reading_one_stream_are_both_woken() {
    within(|| {
        evloop::run(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            // A loopback connect completes in the kernel's backlog: no wait.
            let mut peer = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
            let (stream, _) = listener.accept().await.unwrap();
            let stream = Arc::new(stream);

            // Two readers of one byte each, through `&TcpStream` (AsyncRead).
            let readers: Vec<_> = (0..2)
                .map(|_| {
                    let stream = stream.clone();
                    evloop::spawn(async move {
                        let mut byte = [0u8; 1];
                        let mut reader: &TcpStream = &stream;
                        let n = reader.read(&mut byte).await.unwrap();
                        (n, byte[0])
                    })
                })
                .collect();
            let_tasks_wait().await;
            assert!(readers.iter().all(|task| !task.is_finished()));

            // One write, two bytes: one edge, and enough for both readers.
            peer.write_all(b"ab").unwrap();
            let mut got: Vec<_> = evloop::join_all(readers)
                .await
                .into_iter()
                .map(Result::unwrap)
                .collect();
            got.sort();
            assert_eq!(got, [(1, b'a'), (1, b'b')]);
        })
    });
}

#[test]
fn two_writers_waiting_on_a_full_send_buffer_are_both_woken() {
    // Far more than the kernel buffers between us and a peer that does not read.
    const EACH: usize = 4 << 20;
    within(|| {
        evloop::run(async {
            let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let stream = TcpStream::connect(std_listener.local_addr().unwrap())
                .await
                .unwrap();
            let (mut peer, _) = std_listener.accept().unwrap();
            // A small send buffer fills after a few writes.
            socket2::SockRef::from(&stream)
                .set_send_buffer_size(64 << 10)
                .unwrap();
            let stream = Arc::new(stream);

            let writers: Vec<_> = [b'x', b'y']
                .into_iter()
                .map(|fill| {
                    let stream = stream.clone();
                    evloop::spawn(async move {
                        let mut writer: &TcpStream = &stream;
                        writer.write_all(&vec![fill; EACH]).await
                    })
                })
                .collect();
            let_tasks_wait().await;
            assert!(
                writers.iter().all(|task| !task.is_finished()),
                "the peer reads nothing yet: both writers wait for room"
            );

            // Now the peer drains everything, from a std thread.
            let drain = std::thread::spawn(move || {
                let mut buf = vec![0u8; 64 << 10];
                let mut total = 0;
                while total < 2 * EACH {
                    match peer.read(&mut buf).unwrap() {
                        0 => break,
                        n => total += n,
                    }
                }
                total
            });
            for result in evloop::join_all(writers).await {
                result.unwrap().unwrap();
            }
            assert_eq!(drain.join().unwrap(), 2 * EACH);
        })
    });
}

/// The error a socket gives once its runtime is gone.
fn is_runtime_gone(e: &std::io::Error) -> bool {
    e.to_string()
        .contains("the evloop runtime this socket belongs to was dropped")
}

#[test]
fn a_listener_whose_runtime_was_dropped_answers_accept_with_an_error() {
    within(|| {
        let first = Runtime::new().unwrap();
        let listener = first.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
        drop(first);

        // No reactor will ever report an edge for this socket: waiting would
        // be forever. The accept must fail instead.
        let second = Runtime::new().unwrap();
        let err = second.block_on(listener.accept()).unwrap_err();
        assert!(is_runtime_gone(&err), "{err}");
    });
}

#[test]
fn a_stream_whose_runtime_was_dropped_answers_read_and_write_with_an_error() {
    within(|| {
        let first = Runtime::new().unwrap();
        let (_listener, mut stream) = first.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let client = TcpStream::connect(listener.local_addr().unwrap())
                .await
                .unwrap();
            (listener, client)
        });
        drop(first);

        let second = Runtime::new().unwrap();
        let mut buf = [0u8; 16];
        let err = second.block_on(stream.read(&mut buf)).unwrap_err();
        assert!(is_runtime_gone(&err), "{err}");
        let err = second.block_on(stream.write_all(b"hello")).unwrap_err();
        assert!(is_runtime_gone(&err), "{err}");
    });
}

#[test]
fn dropping_a_runtime_wakes_a_task_waiting_in_accept_and_drops_it() {
    within(|| {
        let first = Runtime::new().unwrap();
        let listener = Arc::new(first.block_on(TcpListener::bind("127.0.0.1:0")).unwrap());
        let waiting = listener.clone();
        first.block_on(async {
            // Detached: only the reactor's waiter list keeps this task alive.
            evloop::spawn(async move {
                let _ = waiting.accept().await;
            });
            let_tasks_wait().await;
        });
        assert_eq!(Arc::strong_count(&listener), 2, "the task holds a clone");

        drop(first);
        assert_eq!(
            Arc::strong_count(&listener),
            1,
            "the waiting task was dropped with its runtime, and its clone with it"
        );
        let second = Runtime::new().unwrap();
        let err = second.block_on(listener.accept()).unwrap_err();
        assert!(is_runtime_gone(&err), "{err}");
    });
}

mod workers;

/// Every test above again, on worker threads (`tests/workers/mod.rs`).
#[test]
fn on_workers() {
    workers::rerun_on_workers(&[]);
}
