//! Lesson 15's chat room with 50 simulated clients on one thread: no sockets,
//! no ports, no real time. Each client is a WebSocket over a
//! `testing::Network` connection; the server side of each is the chat's own
//! `member` task, unchanged (it is generic over the stream). Under every
//! seed the network delivers in a different order, and the room's promise
//! must hold: every client hears every line, all in the same order.
//!
//! ```text
//! cargo test --test chat_sim                                          # the checks
//! cargo test --release --test chat_sim -- --ignored --nocapture       # seeds per second
//! ```

#[path = "../examples/chat/room.rs"]
#[allow(dead_code)]
mod room;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use evloop::task::Builder as TaskBuilder;
use evloop::testing::{explore, DuplexStream, Explore, Network};
use evloop::time::sleep;
use evloop::websocket::{Config, Message, Role, WebSocket};
use room::{Limits, Room};

const CLIENTS: usize = 50;

/// A client of the simulated chat: its WebSocket, over one end of a connection.
fn connect(net: &Network, room: &Arc<Mutex<Room>>, n: usize) -> WebSocket<DuplexStream> {
    let (client, server) = net.pair();
    let ws = WebSocket::from_parts(server, Vec::new(), Role::Server, Config::default());
    TaskBuilder::new()
        .name(format!("member-{n}"))
        .spawn(room::member(ws, room.clone()));
    WebSocket::from_parts(client, Vec::new(), Role::Client, Config::default())
}

/// What one client heard: the "hello" lines, in order, until it heard `want`.
async fn hear(ws: &mut WebSocket<DuplexStream>, want: usize) -> Result<Vec<String>, String> {
    let mut hellos = Vec::new();
    while hellos.len() < want {
        match ws.recv().await {
            Ok(Some(Message::Text(line))) if line.contains(": hello from ") => hellos.push(line),
            Ok(Some(_)) => {} // joins and leaves
            other => return Err(format!("the connection ended early: {other:?}")),
        }
    }
    Ok(hellos)
}

/// 50 clients join, each says hello once everyone is in, each hears all 50
/// hellos, then leaves. `vanishing`: client 7 dies in the middle of its hello.
async fn chat(seed: u64, vanishing: bool) -> Result<(), String> {
    let net = Network::new(seed).latency(Duration::ZERO, Duration::from_millis(20));
    let room = Arc::new(Mutex::new(Room::new(Limits::default())));
    let speakers = if vanishing { CLIENTS - 1 } else { CLIENTS };
    let clients: Vec<_> = (0..CLIENTS)
        .map(|n| {
            let mut ws = connect(&net, &room, n);
            TaskBuilder::new()
                .name(format!("client-{n}"))
                .spawn(async move {
                    sleep(Duration::from_millis(100)).await; // everyone has joined by now
                    if vanishing && n == 7 {
                        ws.get_ref().vanish_after(4); // the frame header and half its mask key
                        let _ = ws.send(Message::Text(format!("hello from {n}"))).await;
                        return Ok(Vec::new());
                    }
                    ws.send(Message::Text(format!("hello from {n}")))
                        .await
                        .map_err(|e| e.to_string())?;
                    let heard = hear(&mut ws, speakers).await?;
                    let _ = ws.close(1000, "bye").await;
                    Ok::<_, String>(heard)
                })
        })
        .collect();
    let mut first: Option<Vec<String>> = None;
    for (n, client) in evloop::join_all(clients).await.into_iter().enumerate() {
        let heard = client.map_err(|e| format!("client-{n}: {e}"))??;
        if vanishing && n == 7 {
            continue;
        }
        match &first {
            None => first = Some(heard),
            Some(order) if *order != heard => {
                return Err(format!("client-{n} heard the lines in another order"));
            }
            Some(_) => {}
        }
    }
    let heard = first.unwrap_or_default();
    if heard.len() != speakers
        || heard
            .iter()
            .any(|l| l.contains("hello from 7") && vanishing)
    {
        return Err(format!("heard {} hellos", heard.len()));
    }
    Ok(())
}

#[test]
fn fifty_clients_hear_every_line_in_the_same_order_under_every_seed() {
    explore(20, |seed| chat(seed, false));
}

#[test]
fn a_client_that_dies_mid_message_leaves_the_rest_chatting() {
    explore(10, |seed| chat(seed, true));
}

#[test]
fn the_network_decides_the_order_and_the_seed_replays_it() {
    // The order the room logged the hellos in, for a seed.
    let order = |seed: u64| {
        let rt = evloop::Runtime::builder()
            .start_paused(true)
            .seed(seed)
            .build()
            .unwrap();
        let room = Arc::new(Mutex::new(Room::new(Limits::default())));
        rt.block_on(async {
            let net = Network::new(seed).latency(Duration::ZERO, Duration::from_millis(20));
            let mut a = connect(&net, &room, 0);
            let mut talkers: Vec<_> = (1..4).map(|n| connect(&net, &room, n)).collect();
            for (n, ws) in talkers.iter_mut().enumerate() {
                ws.send(Message::Text(format!("hello from {n}")))
                    .await
                    .unwrap();
            }
            hear(&mut a, 3).await.unwrap()
        })
    };
    let orders: Vec<_> = (0..20).map(order).collect();
    assert!(orders.iter().any(|o| *o != orders[0]), "seeds differ");
    assert_eq!(orders[5], order(5), "a seed replays");
}

/// Seeds per second of the 50-client simulation (run in release).
#[test]
#[ignore]
fn measure_seeds_per_second() {
    let seeds = 200;
    let start = std::time::Instant::now();
    Explore::new(seeds)
        .run(|seed| chat(seed, false))
        .expect("every seed passes");
    let secs = start.elapsed().as_secs_f64();
    println!(
        "50-client chat simulation: {seeds} seeds in {secs:.2} s = {:.0} seeds/s",
        seeds as f64 / secs
    );
}

mod workers;

/// Every test above again, on worker threads (`tests/workers/mod.rs`).
#[test]
fn on_workers() {
    workers::rerun_on_workers(&[]);
}
