//! Lesson 09: the hello server greets everyone, however many come at once,
//! and whatever they are written with.
//!
//! The example's `serve` is compiled right into this test (the `#[path]`
//! module below), so we test the very code the chapter shows. The last test
//! also runs the example as a program, as a learner would.

use std::io::{self, BufRead, Read, Write};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::Duration;

use evloop::net::{TcpListener, TcpStream};
use evloop::sync::oneshot;
use evloop::time::{timeout, Instant};

#[path = "../examples/09_hello_server.rs"]
#[allow(dead_code)]
mod example;

const LIMIT: Duration = Duration::from_secs(30);

/// One evloop client: say something, read until the server closes.
async fn evloop_client(addr: SocketAddr, i: usize) -> io::Result<Vec<u8>> {
    let mut stream = TcpStream::connect(addr).await?;
    stream
        .write_all(format!("hi from evloop client {i}\n").as_bytes())
        .await?;
    let mut reply = Vec::new();
    let mut buf = [0u8; 64];
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(reply); // the server closed: the whole reply is in
        }
        reply.extend_from_slice(&buf[..n]);
    }
}

/// One std client on its own thread: the server cannot tell it apart.
fn std_client(addr: SocketAddr, i: usize) -> io::Result<String> {
    let mut stream = std::net::TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(LIMIT))?; // a hang fails the test instead of freezing it
    stream.write_all(format!("hi from thread {i}\n").as_bytes())?;
    let mut reply = String::new();
    stream.read_to_string(&mut reply)?;
    Ok(reply)
}

#[test]
fn many_evloop_clients_at_once_are_all_greeted() {
    evloop::run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = evloop::spawn(example::serve(listener, Instant::now()));

        let replies = timeout(
            LIMIT,
            evloop::join_all((0..200).map(|i| evloop_client(addr, i))),
        )
        .await
        .expect("the clients were not all greeted in time");
        for (i, reply) in replies.into_iter().enumerate() {
            assert_eq!(reply.unwrap(), example::GREETING, "client {i}");
        }
        assert!(!server.is_finished(), "the server keeps serving");
    });
}

/// The server runs on its own thread's loop; std clients hit it from 32
/// threads while evloop clients do from a third runtime. Then the server is
/// stopped with a oneshot sent from the test thread — a wake from another thread.
#[test]
fn std_clients_on_threads_and_evloop_clients_together() {
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    let server = std::thread::spawn(move || {
        evloop::run(async move {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            addr_tx.send(listener.local_addr().unwrap()).unwrap();
            let serving = Box::pin(example::serve(listener, Instant::now()));
            // Serve until told to stop (or until LIMIT, so a lost stop cannot hang us).
            let stop = Box::pin(timeout(LIMIT, stop_rx));
            matches!(
                evloop::select(serving, stop).await,
                evloop::Either::Right(Ok(Ok(())))
            )
        })
    });
    let addr = addr_rx.recv().unwrap();

    let threads: Vec<_> = (0..32)
        .map(|i| std::thread::spawn(move || std_client(addr, i)))
        .collect();
    let evloop_side = std::thread::spawn(move || {
        evloop::run(async move {
            timeout(
                LIMIT,
                evloop::join_all((0..100).map(|i| evloop_client(addr, i))),
            )
            .await
            .expect("evloop clients timed out")
        })
    });

    for (i, t) in threads.into_iter().enumerate() {
        assert_eq!(t.join().unwrap().unwrap(), "Hello, world!\n", "thread {i}");
    }
    for (i, reply) in evloop_side.join().unwrap().into_iter().enumerate() {
        assert_eq!(reply.unwrap(), example::GREETING, "evloop client {i}");
    }
    stop_tx.send(()).unwrap();
    assert!(
        server.join().unwrap(),
        "the server stopped because we asked, not by timeout"
    );
}

/// Run the example as a learner would: `09_hello_server --port 0 2`.
///
/// `cargo test` builds the examples before running tests, so the binary sits
/// next to this test's own, in `target/<profile>/examples/`. If it is not
/// there (`cargo test --test 09_hello_server` alone does not build it), the
/// test says so and skips.
#[test]
fn the_example_binary_prints_its_address_first_and_serves() {
    let exe = std::env::current_exe().unwrap();
    let Some(dir) = exe.parent().and_then(|deps| deps.parent()) else {
        return;
    };
    let binary = dir
        .join("examples")
        .join(format!("09_hello_server{}", std::env::consts::EXE_SUFFIX));
    if !binary.exists() {
        eprintln!(
            "skipped: {} is not built (run `cargo build --examples`)",
            binary.display()
        );
        return;
    }
    let mut child = Command::new(&binary)
        .args(["--port", "0", "2"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("the example starts");
    let mut out = io::BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    out.read_line(&mut first).unwrap();
    let addr = first
        .trim_end()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("the first line says where it listens, got {first:?}"));
    let addr: SocketAddr = addr.parse().unwrap();
    assert_eq!(addr.ip().to_string(), "127.0.0.1");
    assert_ne!(addr.port(), 0, "the real port, not 0");

    assert_eq!(std_client(addr, 0).unwrap(), "Hello, world!\n");
    // It stops by itself after its seconds (killed if not, so we never hang).
    let deadline = std::time::Instant::now() + LIMIT;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            child.kill().unwrap();
            panic!("the example did not stop after its 2 seconds");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success());
    // The rest of its output: what it received, then that it stopped.
    let mut rest = String::new();
    out.read_to_string(&mut rest).unwrap();
    assert!(rest.contains("Received \"hi from thread 0\""), "{rest}");
    assert!(rest.contains("time is up"), "{rest}");
}

mod workers;

/// Every test above again, on worker threads (`tests/workers/mod.rs`).
#[test]
fn on_workers() {
    workers::rerun_on_workers(&[]);
}
