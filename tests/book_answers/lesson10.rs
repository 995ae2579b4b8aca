//! Lesson 10's exercises: slow, many, and blocking services.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use evloop::http::{self, Request, Response};
use evloop::net::TcpListener;
use evloop::time::{sleep, Instant};
use evloop::Runtime;

use crate::{count, paused, secs, timeline};

/// Lesson 10's weather service, with the wait per city as a parameter, and a
/// choice between waiting on the loop's timer and blocking its thread.
async fn weather_service(listener: TcpListener, delay: fn(&str) -> Duration, block: bool) {
    let _ = http::serve(listener, move |req: Request| async move {
        let city = req.path_only().trim_start_matches("/json/").to_string();
        if block {
            std::thread::sleep(delay(&city)); // the mistake of exercise 3
        } else {
            sleep(delay(&city)).await;
        }
        Response::json(&serde_json::json!({ "city": city, "temperature": 20.0 }))
    })
    .await;
}

/// Start the service on this runtime; fetch every city at once; return how long it took.
async fn fetch_all(cities: Vec<String>, delay: fn(&str) -> Duration, block: bool) -> Duration {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    evloop::task::Builder::new()
        .name("service")
        .spawn(weather_service(listener, delay, block));
    let start = Instant::now();
    let fetches = cities.into_iter().map(|city| {
        evloop::spawn(async move {
            let response = http::get(&format!("http://{addr}/json/{city}")).await?;
            io::Result::Ok(response.status)
        })
    });
    for fetched in evloop::join_all(fetches).await {
        assert_eq!(fetched.unwrap().unwrap(), 200);
    }
    start.elapsed()
}

fn three_cities() -> Vec<String> {
    ["london", "paris", "tokyo"].map(String::from).into()
}

// ANCHOR: ex1
fn own_delay(city: &str) -> Duration {
    match city {
        "london" => secs(1),
        "paris" => secs(2),
        _ => secs(3),
    }
}

#[test]
fn each_city_its_own_delay_takes_as_long_as_the_slowest() {
    let rt = paused();
    assert_eq!(
        rt.block_on(fetch_all(three_cities(), own_delay, false)),
        secs(3)
    );
    for jump in ["1.000s", "2.000s", "3.000s"] {
        assert_eq!(count(&rt, &format!("clock jumps to {jump}")), 1);
    }
}
// ANCHOR_END: ex1

// ANCHOR: ex2
#[test]
fn a_hundred_cities_still_take_about_one_delay() {
    let rt = paused();
    let cities = (0..100).map(|i| format!("city{i}")).collect();
    assert_eq!(rt.block_on(fetch_all(cities, |_| secs(1), false)), secs(1));
    // 100 connections accepted after one wake of the service by the listener
    // (io#0): one readiness event can carry many waiting connections.
    assert_eq!(count(&rt, "wake service ← io#0"), 1, "{}", timeline(&rt));
}
// ANCHOR_END: ex2

// ANCHOR: ex3
#[test]
fn a_service_that_blocks_answers_one_request_after_another() {
    let rt = Runtime::builder()
        .slow_poll_threshold(Duration::from_millis(10))
        .build()
        .unwrap();
    let delay = |_: &str| Duration::from_millis(50);
    let took = rt.block_on(fetch_all(three_cities(), delay, true));
    assert!(took >= Duration::from_millis(150), "{took:?}"); // 3 × 50 ms, not 50
    assert!(rt.metrics().slow_polls >= 3); // one warning per blocked request
}
// ANCHOR_END: ex3
