//! Lesson 10 — concurrent HTTP fetches: three slow requests in the time of one.
//!
//! The asyncio/aiohttp tutorial fetches the weather for several cities, first
//! one after another with `requests`, then all at once with `aiohttp` and
//! `asyncio.gather`. This version is offline: it starts its own slow
//! "weather service" on 127.0.0.1, which answers `/json/{city}` after a delay
//! (1 s by default), then fetches three cities both ways.
//!
//! ```text
//! cargo run --example 10_concurrent_fetches           # the service takes 1 s per request
//! cargo run --example 10_concurrent_fetches -- 0.2    # ... or 0.2 s
//! ```

use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::time::Duration;

use evloop::http::{self, Request, Response};
use evloop::net::TcpListener;
use evloop::time::{sleep, Instant};

/// The cities we ask about.
pub const CITIES: [&str; 3] = ["london", "paris", "tokyo"];

// ANCHOR: service
/// The slow weather service: `GET /json/{city}` answers with JSON after `delay`.
pub async fn weather_service(listener: TcpListener, delay: Duration) -> io::Result<()> {
    http::serve(listener, move |req: Request| async move {
        let Some(city) = req.path_only().strip_prefix("/json/") else {
            return Response::error(404);
        };
        // A slow backend: the wait is an async sleep, so the service itself
        // answers many clients at once.
        sleep(delay).await;
        Response::json(&serde_json::json!({ "city": city, "temperature": temperature(city) }))
    })
    .await
}
// ANCHOR_END: service

/// A made-up but stable temperature for a city, in °C.
pub fn temperature(city: &str) -> f64 {
    let sum: u32 = city.bytes().map(u32::from).sum();
    f64::from(sum % 300) / 10.0
}

// ANCHOR: blocking
/// Fetch one city the blocking way (Python's `requests.get`): the thread
/// waits for the whole round trip and can do nothing else meanwhile.
pub fn fetch_blocking(addr: SocketAddr, city: &str) -> io::Result<f64> {
    let mut stream = std::net::TcpStream::connect(addr)?;
    write!(
        stream,
        "GET /json/{city} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )?;
    let mut reply = String::new();
    stream.read_to_string(&mut reply)?;
    let body = reply.split("\r\n\r\n").nth(1).unwrap_or_default();
    parse_temperature(body.as_bytes())
}
// ANCHOR_END: blocking

// ANCHOR: concurrent
/// Fetch one city without blocking (aiohttp's `session.get`): while this
/// request waits for its answer, the loop runs the others.
pub async fn fetch(addr: SocketAddr, city: &str) -> io::Result<f64> {
    let response = http::get(&format!("http://{addr}/json/{city}")).await?;
    parse_temperature(&response.body)
}

/// All cities at once (`asyncio.gather(*(fetch(c) for c in cities))`).
pub async fn fetch_all(addr: SocketAddr) -> Vec<io::Result<f64>> {
    let tasks = CITIES.map(|city| {
        evloop::task::Builder::new()
            .name(city)
            .spawn(fetch(addr, city))
    });
    evloop::join_all(tasks)
        .await
        .into_iter()
        .map(|joined| joined.map_err(io::Error::other).and_then(|r| r))
        .collect()
}
// ANCHOR_END: concurrent

fn parse_temperature(body: &[u8]) -> io::Result<f64> {
    let json: serde_json::Value = serde_json::from_slice(body).map_err(io::Error::other)?;
    json["temperature"]
        .as_f64()
        .ok_or_else(|| io::Error::other("no temperature in the answer"))
}

// ANCHOR: main
fn main() -> io::Result<()> {
    let delay = seconds_from_args();
    let addr = start_service_thread(delay)?;
    println!(
        "listening on http://{addr}  (the weather service, {:.1} s per request)",
        delay.as_secs_f64()
    );

    println!("\n-- one after another (blocking std::net, like `requests`) --");
    let start = std::time::Instant::now();
    for city in CITIES {
        println!("{city}: {:.1} °C", fetch_blocking(addr, city)?);
    }
    println!(
        "Program executed in {:.2} seconds",
        start.elapsed().as_secs_f64()
    );

    println!("\n-- all at once (evloop, like `aiohttp` + `gather`) --");
    let start = Instant::from_std(std::time::Instant::now());
    let temperatures = evloop::run(fetch_all(addr));
    for (city, t) in CITIES.iter().zip(temperatures) {
        println!("{city}: {:.1} °C", t?);
    }
    println!(
        "Program executed in {:.2} seconds",
        start.elapsed().as_secs_f64()
    );
    Ok(())
}
// ANCHOR_END: main

/// Run the weather service on its own thread with its own event loop, so the
/// blocking client above has someone to talk to.
pub fn start_service_thread(delay: Duration) -> io::Result<SocketAddr> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        evloop::run(async move {
            let listener = match TcpListener::bind("127.0.0.1:0").await {
                Ok(listener) => listener,
                Err(e) => return tx.send(Err(e)).unwrap_or(()),
            };
            let _ = tx.send(listener.local_addr());
            let _ = weather_service(listener, delay).await;
        })
    });
    rx.recv().map_err(io::Error::other)?
}

/// The service's delay: the first argument, in seconds (default 1).
fn seconds_from_args() -> Duration {
    let arg = std::env::args().nth(1);
    let secs = arg.map_or(1.0, |a| {
        a.parse()
            .expect("the argument is a number of seconds, e.g. 0.2")
    });
    Duration::from_secs_f64(secs)
}
