//! Lesson 11: the JSON API, its routes, and the server under many clients.
//!
//! Load proper (wrk, Python `requests` and `aiohttp`) runs against the built
//! example in `.ci/http-clients.sh`; here we check what a test can check
//! exactly, plus `curl` as one client nobody here wrote.

#[path = "../examples/11_http_server.rs"]
#[allow(dead_code)]
mod example;

use std::net::SocketAddr;
use std::time::Duration;

use evloop::http::{self, Request, Response};
use evloop::net::{TcpListener, TcpStream};
use evloop::time::timeout;

fn req(method: &str, path: &str, body: &[u8]) -> Request {
    Request {
        method: method.into(),
        path: path.into(),
        headers: vec![],
        body: body.to_vec(),
        minor_version: 1,
    }
}

fn json(resp: &Response) -> serde_json::Value {
    serde_json::from_slice(&resp.body).unwrap()
}

#[test]
fn the_routes_answer_as_documented() {
    assert_eq!(
        json(&example::respond(&req("GET", "/", b"")))["message"],
        "Hello, world!"
    );
    assert_eq!(
        json(&example::respond(&req("GET", "/hello/ada?x=1", b"")))["message"],
        "Hello, ada!"
    );
    let echo = example::respond(&req("POST", "/echo", br#"{"a":[1,2]}"#));
    assert_eq!(json(&echo), serde_json::json!({"a": [1, 2]}));
    assert_eq!(
        example::respond(&req("POST", "/echo", b"not json")).status,
        400
    );
    assert_eq!(example::respond(&req("DELETE", "/", b"")).status, 405);
    assert_eq!(example::respond(&req("GET", "/nowhere", b"")).status, 404);
}

/// Start the API on a thread of its own (its own event loop); return its address.
fn start_server() -> SocketAddr {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        evloop::run(async move {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            http::serve(listener, example::route).await
        })
    });
    rx.recv_timeout(Duration::from_secs(10))
        .expect("the server did not start")
}

#[test]
fn fifty_keep_alive_clients_times_twenty_requests_all_succeed() {
    let addr = start_server();
    let statuses = evloop::run(async move {
        let clients = (0..50).map(|c| {
            evloop::spawn(async move {
                // One connection, twenty requests on it: keep-alive.
                let mut stream = TcpStream::connect(addr).await?;
                let mut ok = 0;
                let mut buf = vec![0u8; 4096];
                for i in 0..20 {
                    let request = format!("GET /hello/{c}-{i} HTTP/1.1\r\nHost: x\r\n\r\n");
                    stream.write_all(request.as_bytes()).await?;
                    let n = stream.read(&mut buf).await?;
                    let reply = String::from_utf8_lossy(&buf[..n]);
                    if reply.starts_with("HTTP/1.1 200")
                        && reply.contains(&format!("Hello, {c}-{i}!"))
                    {
                        ok += 1;
                    }
                }
                std::io::Result::Ok(ok)
            })
        });
        timeout(Duration::from_secs(30), evloop::join_all(clients))
            .await
            .expect("load test timed out")
    });
    let ok: usize = statuses.into_iter().map(|r| r.unwrap().unwrap()).sum();
    assert_eq!(ok, 50 * 20);

    // The server's own counters, over HTTP: every connection was a task.
    let metrics = evloop::run(http::get(&format!("http://{addr}/metrics")))
        .unwrap()
        .json()
        .unwrap();
    assert!(
        metrics["tasks_spawned"].as_u64().unwrap() >= 50,
        "{metrics}"
    );
    assert!(metrics["io_events"].as_u64().unwrap() > 0, "{metrics}");
    assert_eq!(metrics["slow_polls"], 0, "{metrics}");
}

#[test]
fn curl_gets_json_from_the_server() {
    let addr = start_server();
    let output = match std::process::Command::new("curl")
        .args([
            "-sS",
            "--max-time",
            "10",
            &format!("http://{addr}/hello/curl"),
        ])
        .output()
    {
        Ok(output) => output,
        Err(e) if std::env::var_os("CI").is_none() => {
            eprintln!("skipping: curl is not installed ({e}); .ci/run installs it");
            return;
        }
        Err(e) => panic!("curl is required in CI: {e}"),
    };
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let body: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(body["message"], "Hello, curl!");
}
