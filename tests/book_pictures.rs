//! The book's pictures, drawn from real runs — and a check that they are fresh.
//!
//! Every numbered chapter shows a picture of its example's run: a paused,
//! tracing runtime runs the example's own `pub` functions (pulled in with
//! `#[path]`, as the lesson tests do), and [`Trace::to_svg`] draws the trace.
//! Beside each picture sits the run's text timeline (`NN-name.timeline.txt`),
//! which the chapter includes as its "trace of a real run".
//!
//! A paused run is deterministic — virtual time, a FIFO run queue (or a
//! seeded one, for lesson 18) — so the
//! same code draws the same bytes. This test redraws every picture and fails
//! if a checked-in file differs: a change to the runtime or to an example
//! that changes what the book shows must come with new pictures.
//!
//! ```text
//! cargo test --test book_pictures                      # check
//! UPDATE_PICTURES=1 cargo test --test book_pictures    # redraw lessons/img/
//! SHOW_TIMELINES=1 cargo test --test book_pictures -- --nocapture   # print them too
//! ```

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use evloop::trace::Trace;
use evloop::Runtime;

#[path = "../examples/01_blocking_sleep.rs"]
#[allow(dead_code)]
mod ex01;
#[path = "../examples/02_future_by_hand.rs"]
#[allow(dead_code)]
mod ex02;
#[path = "../examples/03_block_on_by_hand.rs"]
#[allow(dead_code)]
mod ex03;
#[path = "../examples/04_two_tasks.rs"]
#[allow(dead_code)]
mod ex04;
#[path = "../examples/05_gather.rs"]
#[allow(dead_code)]
mod ex05;
#[path = "../examples/06_tasks_and_results.rs"]
#[allow(dead_code)]
mod ex06;
#[path = "../examples/07_timeouts_cancel_select.rs"]
#[allow(dead_code)]
mod ex07;
#[path = "../examples/08_blocking_the_loop.rs"]
#[allow(dead_code)]
mod ex08;
#[path = "../examples/09_hello_server.rs"]
#[allow(dead_code)]
mod ex09;
#[path = "../examples/10_concurrent_fetches.rs"]
#[allow(dead_code)]
mod ex10;
#[path = "../examples/11_http_server.rs"]
#[allow(dead_code)]
mod ex11;
#[path = "../examples/12_file_io.rs"]
#[allow(dead_code)]
mod ex12;
#[path = "../examples/13_responsive_ui.rs"]
#[allow(dead_code)]
mod ex13;
#[path = "../examples/14_pipeline.rs"]
#[allow(dead_code)]
mod ex14;
#[path = "../examples/15_chat_server.rs"]
#[allow(dead_code)]
mod ex15;
#[path = "../examples/16_chat_client.rs"]
#[allow(dead_code)]
mod ex16;
#[path = "../examples/18_find_the_race.rs"]
#[allow(dead_code)]
mod ex18;

/// A runtime as the book draws it: virtual clock, everything recorded.
///
/// The slow-poll warning is about *real* time, which no test controls (a
/// panic's backtrace, a busy CI machine), so it is off here; the two lessons
/// about blocking turn it back on with [`blocking`].
fn paused() -> Runtime {
    Runtime::builder()
        .start_paused(true)
        .trace(true)
        .slow_poll_threshold(Duration::MAX)
        .build()
        .expect("the OS gives us a poller")
}

/// Run `fut` on a fresh paused runtime and hand back what it recorded.
fn traced<F: std::future::Future>(fut: F) -> Trace {
    let rt = paused();
    rt.block_on(fut);
    rt.trace()
}

/// A "hog" draining a channel that already holds 300 messages, and a
/// "greeter" that only wants to say hello twice. `unconstrained`: the hog
/// runs without the cooperative budget (the way the first core ran it).
fn budget_race(unconstrained: bool) -> Trace {
    traced(async move {
        let (tx, mut rx) = evloop::sync::mpsc::unbounded_channel();
        for i in 0..300u32 {
            tx.send(i).expect("the receiver is there");
        }
        drop(tx);
        let drain = async move { while rx.recv().await.is_some() {} };
        let hog = if unconstrained {
            evloop::task::Builder::new()
                .name("hog")
                .spawn(evloop::task::unconstrained(drain))
        } else {
            evloop::task::Builder::new().name("hog").spawn(drain)
        };
        let greeter = evloop::task::Builder::new().name("greeter").spawn(async {
            for _ in 0..2 {
                evloop::yield_now().await;
            }
        });
        hog.await.expect("no panic");
        greeter.await.expect("no panic");
    })
}

/// Like [`traced`], with the slow-poll warning at 100 ms: for lessons 01 and
/// 08, whose tasks block the thread for 200 ms on purpose.
fn blocking<F: std::future::Future>(fut: F) -> Trace {
    let rt = Runtime::builder()
        .start_paused(true)
        .trace(true)
        .slow_poll_threshold(Duration::from_millis(100))
        .build()
        .expect("the OS gives us a poller");
    rt.block_on(fut);
    rt.trace()
}

const SECOND: Duration = Duration::from_secs(1);

/// One picture: the file it is drawn to, and the run that draws it.
struct Picture {
    /// `lessons/img/<name>.svg` and `<name>.timeline.txt`.
    name: &'static str,
    run: fn() -> Trace,
}

/// Lessons 15 and 16 in one run: the chat server, and two lesson-16 clients
/// whose "keyboards" are scripted. ada types one line and leaves; bob leaves
/// as soon as he has read it.
fn chat_room() -> Trace {
    traced(async {
        let listener = evloop::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a port on loopback");
        let url = format!(
            "ws://{}/ws",
            listener.local_addr().expect("a bound listener")
        );
        evloop::task::Builder::new()
            .name("server")
            .spawn(ex15::serve(listener, ex15::Options::default()));
        // bob first, so he is in the room when ada speaks.
        let (bob_keys, bob_input) = evloop::sync::mpsc::unbounded_channel::<String>();
        let (bob_joined, joined) = evloop::sync::oneshot::channel::<()>();
        let bob = {
            let url = url.clone();
            let mut keys = Some(bob_keys);
            let mut joined = Some(bob_joined);
            evloop::task::Builder::new().name("bob").spawn(async move {
                ex16::chat(&url, bob_input, move |line: &str| {
                    if line.contains("joined") {
                        joined.take().map(|j| j.send(()));
                    }
                    if line.contains("hello, bob") {
                        keys.take(); // Ctrl-D: bob's input ends, he closes
                    }
                })
                .await
            })
        };
        joined.await.expect("bob joins the room");
        let (ada_keys, ada_input) = evloop::sync::mpsc::unbounded_channel::<String>();
        ada_keys
            .send("hello, bob".into())
            .expect("ada's input is open");
        drop(ada_keys); // ada types one line, then Ctrl-D
        let ada = evloop::task::Builder::new()
            .name("ada")
            .spawn(async move { ex16::chat(&url, ada_input, |_: &str| {}).await });
        let (ada, bob) = evloop::join!(ada, bob);
        ada.expect("ada's task").expect("ada chats");
        bob.expect("bob's task").expect("bob chats");
    })
}

/// Lesson 17's third way, drawn: three clients each `SET` then `GET` on one
/// `Multiplexed` connection. The server is a toy Redis in the same runtime
/// (a real `redis-server` is another process, whose timing no paused clock
/// controls); loopback delivers a write within the system call, so each
/// reply is ready at the next reactor poll and the run is the same every time.
fn redis_pipeline() -> Trace {
    traced(async {
        let listener = evloop::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a port on loopback");
        let addr = listener.local_addr().expect("a bound listener");
        evloop::task::Builder::new()
            .name("toy-redis")
            .spawn(toy_redis(listener));
        let redis = evloop::redis::Multiplexed::connect(addr)
            .await
            .expect("the toy server accepts");
        let clients = (0..3).map(|t| {
            let redis = redis.clone();
            evloop::task::Builder::new()
                .name(format!("client-{t}"))
                .spawn(async move {
                    redis.set(t, "x").await.expect("SET works");
                    redis.get(t).await.expect("GET works")
                })
        });
        for got in evloop::join_all(clients).await {
            assert_eq!(got.expect("a client does not panic"), Some(b"x".to_vec()));
        }
        assert_eq!(redis.stats().writes, 2, "one write per round of three");
    })
}

/// Just enough Redis for the picture: `SET` and `GET` on one connection,
/// every whole command received answered in one write.
async fn toy_redis(listener: evloop::net::TcpListener) {
    use evloop::redis::{parse, Limits, Value};
    let (mut conn, _) = listener.accept().await.expect("one client");
    let mut store = std::collections::HashMap::new();
    let (mut buf, mut chunk) = (Vec::new(), [0u8; 4096]);
    loop {
        let mut out = Vec::new();
        while let Ok(Some((Value::Array(args), used))) = parse(&buf, &Limits::default()) {
            buf.drain(..used);
            let arg = |i: usize| match args.get(i) {
                Some(Value::Bulk(b)) => b.clone(),
                _ => Vec::new(),
            };
            match arg(0).as_slice() {
                b"SET" => {
                    store.insert(arg(1), arg(2));
                    out.extend_from_slice(b"+OK\r\n");
                }
                b"GET" => match store.get(&arg(1)) {
                    Some(v) => {
                        out.extend_from_slice(format!("${}\r\n", v.len()).as_bytes());
                        out.extend_from_slice(v);
                        out.extend_from_slice(b"\r\n");
                    }
                    None => out.extend_from_slice(b"$-1\r\n"),
                },
                _ => out.extend_from_slice(b"-ERR the toy knows SET and GET\r\n"),
            }
        }
        if !out.is_empty() && conn.write_all(&out).await.is_err() {
            return;
        }
        match conn.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

/// Every numbered lesson's run, as its chapter describes it.
fn pictures() -> Vec<Picture> {
    vec![
        Picture {
            // Blocking sleeps: 0.2 s each of *real* time (enough to trip the
            // 100 ms slow-poll warning); the virtual clock never moves.
            name: "01-blocking-sleep",
            run: || blocking(ex01::two_blocking_tasks(Duration::from_millis(200))),
        },
        Picture {
            // The hand-made future as a task: it wakes itself on every poll.
            name: "02-future-by-hand",
            run: || {
                let rt = paused();
                let countdown = rt.spawn_named("countdown", ex02::Countdown::new(3));
                rt.block_on(countdown)
                    .expect("the countdown does not panic");
                rt.trace()
            },
        },
        Picture {
            // The thread timer under evloop's block_on: the loop parks until
            // another thread wakes it. 50 ms of real time.
            name: "03-block-on-by-hand",
            run: || {
                let start = std::time::Instant::now();
                traced(ex03::ThreadTimer::new(Duration::from_millis(50), start))
            },
        },
        Picture {
            name: "04-two-tasks",
            run: || traced(ex04::two_tasks(2 * SECOND)),
        },
        Picture {
            name: "05-gather",
            run: || traced(ex05::gather(2 * SECOND)),
        },
        Picture {
            name: "06-tasks-and-results",
            run: || traced(ex06::breakfast(SECOND)),
        },
        Picture {
            // The abort: a download ticking every quarter, aborted at 1 s.
            name: "07-timeouts-cancel-select",
            run: || {
                traced(async {
                    let start = evloop::time::Instant::now();
                    ex07::cancel_download(SECOND, start).await
                })
            },
        },
        Picture {
            // The mistake: 0.2 s of real blocking inside a task. The virtual
            // clock stands still while the thread is held; the heartbeat waits.
            name: "08-blocking-the-loop",
            run: || blocking(ex08::crunch_on_the_loop(Duration::from_millis(200))),
        },
        Picture {
            // The chat server and two scripted clients (lessons 15 and 16).
            name: "15-chat-server",
            run: chat_room,
        },
        Picture {
            // The weather service and three fetches in one runtime.
            name: "10-concurrent-fetches",
            run: || {
                traced(async {
                    let listener = evloop::net::TcpListener::bind("127.0.0.1:0")
                        .await
                        .expect("a port on loopback");
                    let addr = listener.local_addr().expect("a bound listener");
                    evloop::task::Builder::new()
                        .name("service")
                        .spawn(ex10::weather_service(listener, SECOND));
                    ex10::fetch_all(addr).await
                })
            },
        },
        Picture {
            // The hello server with two clients on the same loop.
            name: "09-hello-server",
            run: || {
                traced(async {
                    let listener = evloop::net::TcpListener::bind("127.0.0.1:0")
                        .await
                        .expect("a port on loopback");
                    let addr = listener.local_addr().expect("a bound listener");
                    let start = evloop::time::Instant::now();
                    evloop::task::Builder::new()
                        .name("server")
                        .spawn(ex09::serve(listener, start));
                    let clients = ["ada", "bob"].map(|name| {
                        evloop::task::Builder::new().name(name).spawn(async move {
                            let mut stream = evloop::net::TcpStream::connect(addr).await?;
                            stream
                                .write_all(format!("hi from {name}\n").as_bytes())
                                .await?;
                            let mut greeting = vec![0; ex09::GREETING.len()];
                            stream.read_exact(&mut greeting).await?;
                            std::io::Result::Ok(greeting)
                        })
                    });
                    for greeting in evloop::join_all(clients).await {
                        assert_eq!(
                            greeting.expect("no panic").expect("greeted"),
                            ex09::GREETING
                        );
                    }
                })
            },
        },
        Picture {
            // The lesson-11 API on one loop: a server task, two clients at once.
            name: "11-http-server",
            run: || {
                traced(async {
                    let listener = evloop::net::TcpListener::bind("127.0.0.1:0")
                        .await
                        .expect("a port on loopback");
                    let addr = listener.local_addr().expect("a bound listener");
                    evloop::task::Builder::new()
                        .name("server")
                        .spawn(evloop::http::serve(listener, ex11::route));
                    let clients = ["/", "/hello/ada"].map(|path| {
                        evloop::task::Builder::new()
                            .name(format!("GET {path}"))
                            .spawn(async move {
                                evloop::http::get(&format!("http://{addr}{path}")).await
                            })
                    });
                    for reply in evloop::join_all(clients).await {
                        let reply = reply.expect("no panic").expect("an answer");
                        assert_eq!(reply.status, 200);
                    }
                })
            },
        },
        Picture {
            // Files one by one on the blocking pool, 10 ms of "disk" each. (Read
            // all at once, the pool threads finish in an order no test controls.)
            name: "12-file-io",
            run: || {
                let dir = ex12::ScratchDir::new().expect("a scratch directory");
                for i in 0..ex12::FILES {
                    std::fs::write(ex12::file_path(dir.path(), i), ex12::content(i))
                        .expect("the scratch directory is writable");
                }
                traced(async {
                    ex12::read_one_by_one(dir.path(), Duration::from_millis(10))
                        .await
                        .expect("the files are there")
                })
            },
        },
        Picture {
            // The spinner alone, beside a half-second wait: it keeps its frames.
            name: "13-responsive-ui",
            run: || {
                traced(async {
                    let start = evloop::time::Instant::now();
                    let frames = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
                    let spinner = evloop::task::Builder::new()
                        .name("spinner")
                        .spawn(ex13::spin("thinking!", frames, start, false));
                    evloop::time::sleep(Duration::from_millis(450)).await;
                    spinner.abort();
                    let _ = spinner.await;
                })
            },
        },
        Picture {
            // The chapter's pace: 100 ms to fetch, 50 ms to process, 300 ms to store.
            name: "14-pipeline",
            run: || {
                traced(ex14::pipeline(ex14::Pace::with_store(
                    Duration::from_millis(300),
                )))
            },
        },
        Picture {
            // Lesson 17's pipeline: three clients share one connection.
            name: "17-redis",
            run: redis_pipeline,
        },
        Picture {
            // The racy bank under the first seed `explore` finds that breaks it.
            name: "18-find-the-race",
            run: || {
                let failure = evloop::testing::Explore::new(1_000)
                    .run(|_| ex18::two_customers(ex18::Bank::Racy))
                    .expect_err("some order breaks the racy bank");
                let rt = Runtime::builder()
                    .start_paused(true)
                    .trace(true)
                    .seed(failure.seed)
                    .slow_poll_threshold(Duration::MAX)
                    .build()
                    .expect("the OS gives us a poller");
                let verdict = rt.block_on(ex18::two_customers(ex18::Bank::Racy));
                assert!(verdict.is_err(), "the seed replays the failure");
                rt.trace()
            },
        },
        // The internals chapters draw small runs of their own.
        Picture {
            // The `scheduled` flag: three wakes before the next poll queue the task once.
            name: "internals-wake-once",
            run: || {
                traced(async {
                    let slot = Arc::new(Mutex::new(None::<Waker>));
                    let waiter = evloop::task::Builder::new()
                        .name("waiter")
                        .spawn(WaitForWake::new(slot.clone()));
                    evloop::yield_now().await; // let the waiter leave its waker
                    let waker = slot.lock().unwrap().take().expect("the waiter was polled");
                    for _ in 0..3 {
                        waker.wake_by_ref(); // only the first of these queues it
                    }
                    waiter.await.expect("the waiter does not panic");
                })
            },
        },
        Picture {
            // Fairness: two tasks that yield take turns, one poll each per turn.
            name: "internals-yield",
            run: || {
                traced(async {
                    let handles: Vec<_> = ["left", "right"]
                        .into_iter()
                        .map(|name| {
                            evloop::task::Builder::new().name(name).spawn(async {
                                for _ in 0..3 {
                                    evloop::yield_now().await;
                                }
                            })
                        })
                        .collect();
                    evloop::join_all(handles).await;
                })
            },
        },
        Picture {
            // Backpressure: a producer ahead of a slow consumer, one slot between them.
            name: "internals-channel",
            run: || {
                traced(async {
                    let (tx, mut rx) = evloop::sync::mpsc::channel(1);
                    let producer =
                        evloop::task::Builder::new()
                            .name("producer")
                            .spawn(async move {
                                for i in 0..3 {
                                    tx.send(i).await.expect("the consumer is there");
                                }
                            });
                    let consumer =
                        evloop::task::Builder::new()
                            .name("consumer")
                            .spawn(async move {
                                while rx.recv().await.is_some() {
                                    evloop::time::sleep(SECOND).await; // slow work per value
                                }
                            });
                    producer.await.expect("no panic");
                    consumer.await.expect("no panic");
                })
            },
        },
        Picture {
            // The cooperative budget, off: a task that always finds a message
            // drains all 300 in one poll while the greeter waits.
            name: "internals-budget-off",
            run: || budget_race(true),
        },
        Picture {
            // The same run with the budget: the hog gives the thread back
            // after 128 messages, and the greeter runs in between.
            name: "internals-budget",
            run: || budget_race(false),
        },
        Picture {
            // A blocking job: the loop parks until the pool thread wakes the task.
            name: "internals-blocking",
            run: || {
                traced(async {
                    evloop::task::Builder::new()
                        .name("hasher")
                        .spawn(async {
                            evloop::spawn_blocking(|| std::thread::sleep(Duration::from_millis(50)))
                                .await
                                .expect("the job does not panic")
                        })
                        .await
                        .expect("no panic")
                })
            },
        },
        Picture {
            // What the `spawn` bench does, at the size of a picture: spawn, then join in order.
            name: "measuring-spawn",
            run: || {
                traced(async {
                    let handles: Vec<_> =
                        (0..4u64).map(|i| evloop::spawn(async move { i })).collect();
                    for handle in handles {
                        handle.await.expect("no panic");
                    }
                })
            },
        },
    ]
}

/// A future that is Pending until woken once: it leaves its waker in `slot`.
struct WaitForWake {
    slot: Arc<Mutex<Option<Waker>>>,
    polled: bool,
}

impl WaitForWake {
    fn new(slot: Arc<Mutex<Option<Waker>>>) -> WaitForWake {
        WaitForWake {
            slot,
            polled: false,
        }
    }
}

impl std::future::Future for WaitForWake {
    type Output = ();

    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if std::mem::replace(&mut self.polled, true) {
            return Poll::Ready(()); // polled again: someone woke us
        }
        *self.slot.lock().unwrap() = Some(cx.waker().clone());
        Poll::Pending
    }
}

/// The one thing a paused run cannot fix: the OS picks a client's port, and
/// lesson 09's server names each client's task after its address. Ports are
/// numbered in order of appearance instead (`127.0.0.1:45568` → `127.0.0.1:p1`).
fn steady_ports(text: &str) -> String {
    const HOST: &str = "127.0.0.1:";
    let mut ports: Vec<&str> = Vec::new();
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(HOST) {
        let after = &rest[at + HOST.len()..];
        let digits = after.bytes().take_while(u8::is_ascii_digit).count();
        out.push_str(&rest[..at + HOST.len()]);
        if digits > 0 {
            let port = &after[..digits];
            let n = match ports.iter().position(|p| *p == port) {
                Some(i) => i + 1,
                None => {
                    ports.push(port);
                    ports.len()
                }
            };
            out.push_str(&format!("p{n}"));
        }
        rest = &after[digits..];
    }
    out.push_str(rest);
    out
}

fn img_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("lessons/img")
}

#[test]
fn every_lesson_picture_is_fresh() {
    let update = std::env::var_os("UPDATE_PICTURES").is_some_and(|v| v != "0");
    let show = std::env::var_os("SHOW_TIMELINES").is_some();
    let dir = img_dir();
    let mut stale = Vec::new();
    for picture in pictures() {
        let trace = (picture.run)();
        let timeline = trace.timeline();
        if show {
            println!("== {}\n{timeline}", picture.name);
        }
        let files = [
            (
                format!("{}.svg", picture.name),
                steady_ports(&trace.to_svg()),
            ),
            (
                format!("{}.timeline.txt", picture.name),
                steady_ports(&timeline),
            ),
        ];
        for (file, drawn) in files {
            let path = dir.join(&file);
            if update {
                std::fs::create_dir_all(&dir).expect("lessons/img can be created");
                std::fs::write(&path, &drawn).expect("lessons/img is writable");
            } else if std::fs::read_to_string(&path).ok().as_deref() != Some(drawn.as_str()) {
                stale.push(file);
            }
        }
    }
    assert!(
        stale.is_empty(),
        "these pictures in lessons/img/ no longer match a run of the current code: {stale:?}\n\
         If the change is meant, redraw them with `UPDATE_PICTURES=1 cargo test --test book_pictures`, \
         look at them, and check the chapters' prose still says what they show."
    );
}

#[test]
fn a_paused_run_draws_the_same_picture_twice() {
    // What makes the check above possible: the same run, the same bytes.
    for picture in pictures() {
        let (first, second) = ((picture.run)(), (picture.run)());
        let same = |f: fn(&Trace) -> String| (steady_ports(&f(&first)), steady_ports(&f(&second)));
        let (a, b) = same(Trace::timeline);
        assert_eq!(a, b, "{}", picture.name);
        let (a, b) = same(Trace::to_svg);
        assert_eq!(a, b, "{}", picture.name);
    }
}

mod workers;

/// Every test above again, on worker threads (`tests/workers/mod.rs`).
#[test]
fn on_workers() {
    workers::rerun_on_workers(&[]);
}
