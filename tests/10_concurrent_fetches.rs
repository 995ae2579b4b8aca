//! Lesson 10, step by step: three slow requests take the time of one.
//!
//! The weather service and its clients share one runtime with a paused
//! clock. Real sockets carry the requests (loopback), but the service's
//! 1-second delay is a timer, so virtual time measures the lesson exactly:
//! one after another takes 3 s, all at once takes 1 s.

#[path = "../examples/10_concurrent_fetches.rs"]
#[allow(dead_code)]
mod example;

use std::time::Duration;

use evloop::net::TcpListener;
use evloop::time::{timeout, Instant};
use evloop::Runtime;

fn paused() -> Runtime {
    Runtime::builder()
        .start_paused(true)
        .trace(true)
        .build()
        .unwrap()
}

#[test]
fn one_after_another_takes_three_seconds_all_at_once_takes_one() {
    let rt = paused();
    let (sequential, concurrent) = rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        evloop::spawn(example::weather_service(listener, Duration::from_secs(1)));

        // One after another: each await finishes before the next request starts.
        let start = Instant::now();
        for city in example::CITIES {
            let t = example::fetch(addr, city).await.unwrap();
            assert_eq!(t, example::temperature(city));
        }
        let sequential = start.elapsed();

        // All at once: three tasks, their waits overlap.
        let start = Instant::now();
        let all = example::fetch_all(addr).await;
        let concurrent = start.elapsed();
        for (city, t) in example::CITIES.iter().zip(all) {
            assert_eq!(t.unwrap(), example::temperature(city));
        }
        (sequential, concurrent)
    });
    // Exact, because the clock is virtual: the sockets take no virtual time.
    assert_eq!(sequential, Duration::from_secs(3));
    assert_eq!(concurrent, Duration::from_secs(1));
}

#[test]
fn the_trace_shows_three_requests_waiting_at_the_same_time() {
    let rt = paused();
    rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        evloop::spawn(example::weather_service(listener, Duration::from_secs(1)));
        example::fetch_all(addr).await;
    });
    let timeline = rt.trace().timeline();
    // The three fetch tasks are polled before the clock moves at all...
    let first_jump = timeline.find("clock  jumps to 1.000s").expect(&timeline);
    for city in example::CITIES {
        let polled = timeline.find(&format!("poll   {city}")).expect(&timeline);
        assert!(
            polled < first_jump,
            "{city} should start before any time passes:\n{timeline}"
        );
    }
    // ...and the clock jumps once, to 1 s: all three waits end together.
    assert_eq!(timeline.matches("clock  jumps").count(), 1, "{timeline}");
    // Their wake-ups come from the reactor: the answers arriving on sockets.
    assert!(timeline.contains("wake   london ← io#"), "{timeline}");
}

#[test]
fn the_blocking_client_gets_the_same_answers() {
    // The service runs on its own thread and real clock; 10 ms keeps this quick.
    let addr = example::start_service_thread(Duration::from_millis(10)).unwrap();
    for city in example::CITIES {
        assert_eq!(
            example::fetch_blocking(addr, city).unwrap(),
            example::temperature(city)
        );
    }
    // And the evloop client against the same thread, bounded in time.
    let all = evloop::run(timeout(Duration::from_secs(10), example::fetch_all(addr))).unwrap();
    assert_eq!(all.len(), 3);
    assert!(all.iter().all(|t| t.is_ok()));
}

mod workers;

/// Every test above again, on worker threads (`tests/workers/mod.rs`).
#[test]
fn on_workers() {
    workers::rerun_on_workers(&[]);
}
