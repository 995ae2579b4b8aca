//! Lesson 17 — the database: one Redis query at a time, a pool, a pipeline.
//!
//! `tasks` clients each run `ops` rounds of `SET key value` then `GET key`
//! against a real Redis server, three ways:
//!
//! 1. **sequential** — one connection, one command at a time: every command
//!    is a round trip, and nothing else happens on the connection meanwhile;
//! 2. **pooled** — the clients are tasks, sharing a pool of a few
//!    connections: that many round trips are in flight at once;
//! 3. **pipelined** — the tasks share one connection; their commands are
//!    written in batches and the replies matched back in order: a round
//!    trip carries a whole batch.
//!
//! For each it prints the time, the commands per second, and the round
//! trips: our own count, and the server's (`total_reads_processed` in
//! `INFO stats`: how many times it read from a socket).
//!
//! ```text
//! redis-server --port 6379 --save '' &                 # a server to talk to
//! cargo run --release --example 17_redis -- --redis 127.0.0.1:6379
//! cargo run --release --example 17_redis -- --redis 127.0.0.1:6379 --tasks 100 --ops 1000
//! cargo run --example 17_redis -- --redis 127.0.0.1:6379 --tasks 3 --ops 1 --trace   # the loop's timeline
//! ```

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use evloop::redis::{Cmd, Connection, Error, Multiplexed, Pool, Value};
use evloop::time::Instant;

/// What one way of running the workload did.
#[derive(Debug, Clone, Copy)]
pub struct Run {
    /// Commands sent (a SET and a GET per round).
    pub commands: u64,
    /// Round trips by the client's own count: commands for the first two
    /// ways (one reply awaited per command), writes for the pipeline.
    pub round_trips: u64,
    /// How many times the server read from a socket meanwhile.
    pub server_reads: u64,
    /// Wall-clock time.
    pub elapsed: Duration,
}

/// The key client `t` sets and gets.
fn key(t: usize) -> String {
    format!("lesson17:{t}")
}

/// Client `t`'s task, named for the trace.
fn client(t: usize) -> evloop::task::Builder {
    evloop::task::Builder::new().name(format!("client-{t}"))
}

// ANCHOR: sequential
/// Way 1: one connection, one command at a time (asyncio: `for ...: await r.get(k)`).
pub async fn sequential(addr: SocketAddr, tasks: usize, ops: usize) -> Result<Run, Error> {
    let mut conn = Connection::connect(addr).await?;
    let (start, reads) = (Instant::now(), server_reads(addr).await?);
    for t in 0..tasks {
        for i in 0..ops {
            conn.set(key(t), i).await?; // write, wait for +OK ...
            let got = conn.get(key(t)).await?; // ... write, wait for the value
            assert_eq!(got, Some(i.to_string().into_bytes()));
        }
    }
    finish(addr, start, reads, conn.round_trips(), conn.round_trips()).await
}
// ANCHOR_END: sequential

// ANCHOR: pooled
/// Way 2: `tasks` tasks share a pool of `size` connections. At most `size`
/// commands are in flight; the other tasks wait, in order, for a connection.
pub async fn pooled(addr: SocketAddr, tasks: usize, ops: usize, size: usize) -> Result<Run, Error> {
    let pool = Arc::new(Pool::new(addr, size)?);
    let (start, reads) = (Instant::now(), server_reads(addr).await?);
    let clients = (0..tasks).map(|t| {
        let pool = pool.clone();
        client(t).spawn(async move {
            for i in 0..ops {
                pool.set(key(t), i).await?; // waits for a connection, then a reply
                let got = pool.get(key(t)).await?;
                assert_eq!(got, Some(i.to_string().into_bytes()));
            }
            Ok::<_, Error>(())
        })
    });
    for client in evloop::join_all(clients).await {
        client.expect("a client task panicked")?;
    }
    let commands = (2 * tasks * ops) as u64;
    finish(addr, start, reads, commands, commands).await
}
// ANCHOR_END: pooled

// ANCHOR: pipelined
/// Way 3: `tasks` tasks share one multiplexed connection. Each still awaits
/// its own replies in turn; the connection carries everybody's at once.
pub async fn pipelined(addr: SocketAddr, tasks: usize, ops: usize) -> Result<Run, Error> {
    let shared = Multiplexed::connect(addr).await?;
    let (start, reads) = (Instant::now(), server_reads(addr).await?);
    let clients = (0..tasks).map(|t| {
        let shared = shared.clone();
        client(t).spawn(async move {
            for i in 0..ops {
                shared.set(key(t), i).await?; // queued; written with the others'
                let got = shared.get(key(t)).await?;
                assert_eq!(got, Some(i.to_string().into_bytes()));
            }
            Ok::<_, Error>(())
        })
    });
    for client in evloop::join_all(clients).await {
        client.expect("a client task panicked")?;
    }
    let stats = shared.stats();
    finish(addr, start, reads, stats.commands, stats.writes).await
}
// ANCHOR_END: pipelined

/// The server's `total_reads_processed`, asked on a connection of its own.
pub async fn server_reads(addr: SocketAddr) -> Result<u64, Error> {
    let mut conn = Connection::connect(addr).await?;
    let Value::Bulk(info) = conn.query(Cmd::new("INFO").arg("stats")).await? else {
        return Err(Error::Protocol("INFO did not answer with text".into()));
    };
    let info = String::from_utf8_lossy(&info).into_owned();
    info.lines()
        .find_map(|l| l.strip_prefix("total_reads_processed:"))
        .and_then(|n| n.trim().parse().ok())
        .ok_or_else(|| Error::Protocol("no total_reads_processed in INFO stats".into()))
}

async fn finish(
    addr: SocketAddr,
    start: Instant,
    reads_before: u64,
    commands: u64,
    round_trips: u64,
) -> Result<Run, Error> {
    let elapsed = start.elapsed();
    // Minus two: the first INFO connection's close and the second's INFO.
    let server_reads = server_reads(addr).await? - reads_before - 2;
    Ok(Run {
        commands,
        round_trips,
        server_reads,
        elapsed,
    })
}

fn show(name: &str, run: &Run) {
    println!(
        "{name:<26} {:>7} commands in {:>7.3} s = {:>8.0}/s; round trips {:>6}, server reads {:>6}",
        run.commands,
        run.elapsed.as_secs_f64(),
        run.commands as f64 / run.elapsed.as_secs_f64(),
        run.round_trips,
        run.server_reads,
    );
}

// ANCHOR: main
fn main() -> Result<(), Error> {
    let (mut addr, mut tasks, mut ops, mut pool, mut trace) = (None, 100, 100, 4, false);
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().expect("a value after the flag");
        match flag.as_str() {
            "--redis" => addr = Some(value()),
            "--tasks" => tasks = value().parse().expect("--tasks N"),
            "--ops" => ops = value().parse().expect("--ops N"),
            "--pool" => pool = value().parse().expect("--pool N"),
            "--trace" => trace = true,
            other => panic!(
                "unknown argument {other}; use --redis HOST:PORT [--tasks N] [--ops N] [--pool N]"
            ),
        }
    }
    let Some(addr) = addr else {
        println!("This lesson talks to a real Redis server; none was given, so nothing ran.");
        println!("Start one and pass its address, e.g.:");
        println!("  redis-server --port 6379 --save '' &      # apt-get install redis-server");
        println!("  cargo run --release --example 17_redis -- --redis 127.0.0.1:6379");
        return Ok(());
    };
    let addr = std::net::ToSocketAddrs::to_socket_addrs(&addr)?
        .next()
        .expect("--redis HOST:PORT resolves");
    if trace {
        // Only the pipeline, on a runtime that records every poll and wake.
        let rt = evloop::Runtime::builder().trace(true).build()?;
        show(
            "pipelined (1 connection)",
            &rt.block_on(pipelined(addr, tasks, ops))?,
        );
        print!("{}", rt.trace().timeline());
        return Ok(());
    }
    evloop::run(async {
        println!("{tasks} clients x {ops} rounds of SET + GET against {addr}");
        show("1. sequential", &sequential(addr, tasks, ops).await?);
        show(
            &format!("2. pooled ({pool} connections)"),
            &pooled(addr, tasks, ops, pool).await?,
        );
        show(
            "3. pipelined (1 connection)",
            &pipelined(addr, tasks, ops).await?,
        );
        Ok(())
    })
}
// ANCHOR_END: main
