//! A real `redis-server` for a test: started on a free loopback port in a
//! temporary directory, killed (and its directory removed) when dropped.
//!
//! Without `redis-server` installed, [`RedisServer::start`] prints one line
//! saying how to install it and returns `None`, and the test skips — unless
//! `EVLOOP_REQUIRE_REDIS=1` (as CI sets it), which makes a missing server a
//! failure. Plain `std`: the benchmarks use it on tokio too.

#![allow(dead_code)] // each test file uses a different part

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running `redis-server`; dropping it kills the server.
pub struct RedisServer {
    pub addr: SocketAddr,
    child: Child,
    dir: PathBuf,
}

impl RedisServer {
    /// Start a server, or say why not and return `None` (see the module doc).
    pub fn start() -> Option<RedisServer> {
        let required = std::env::var("EVLOOP_REQUIRE_REDIS").is_ok_and(|v| v == "1");
        if Command::new("redis-server")
            .arg("--version")
            .output()
            .is_err()
        {
            assert!(
                !required,
                "EVLOOP_REQUIRE_REDIS=1 but redis-server is not installed"
            );
            // Once per test binary, and straight to stderr: `eprintln!` would
            // be swallowed by the test harness's capture of passing tests.
            static SAID: std::sync::Once = std::sync::Once::new();
            SAID.call_once(|| {
                let _ = writeln!(
                    std::io::stderr(),
                    "skipped: the Redis tests need redis-server (install it: apt-get install redis-server)"
                );
            });
            return None;
        }
        Some(RedisServer::launch())
    }

    fn launch() -> RedisServer {
        // A free port: bind port 0, note what the OS picked, let it go.
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free loopback port")
            .port();
        let dir = std::env::temp_dir().join(format!("evloop-redis-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a temporary directory");
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(&dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server starts");
        let server = RedisServer {
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            child,
            dir,
        };
        server.wait_until_ready();
        server
    }

    /// PING until PONG (the server takes a few milliseconds to listen).
    fn wait_until_ready(&self) {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(10) {
            if self.raw(b"PING\r\n").starts_with(b"+PONG") {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!(
            "redis-server on {} did not answer PING within 10 s",
            self.addr
        );
    }

    /// Send raw bytes on a fresh connection and return what comes back
    /// first (empty if nothing): enough for PING, FLUSHALL, INFO.
    pub fn raw(&self, command: &[u8]) -> Vec<u8> {
        let Ok(mut conn) = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1)) else {
            return Vec::new();
        };
        conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        if conn.write_all(command).is_err() {
            return Vec::new();
        }
        let mut reply = vec![0; 64 * 1024];
        let n = conn.read(&mut reply).unwrap_or(0);
        reply.truncate(n);
        reply
    }

    /// A number from `INFO stats` (e.g. `total_reads_processed`).
    pub fn info_stat(&self, name: &str) -> u64 {
        let info = String::from_utf8_lossy(&self.raw(b"INFO stats\r\n")).into_owned();
        info.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}:")))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {name} in INFO stats: {info}"))
    }

    /// How many clients are connected right now (`INFO clients`), this
    /// query's own connection left out.
    pub fn connected_clients(&self) -> u64 {
        let info = String::from_utf8_lossy(&self.raw(b"INFO clients\r\n")).into_owned();
        let n: u64 = info
            .lines()
            .find_map(|l| l.strip_prefix("connected_clients:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("no connected_clients in INFO: {info}"));
        n - 1
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
