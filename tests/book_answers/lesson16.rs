//! Lesson 16's exercises: a blocked keyboard, a killed server, a `/quit`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use evloop::net::TcpListener;
use evloop::sync::mpsc::{self, UnboundedReceiver};
use evloop::time::{sleep, Instant};
use evloop::websocket::{self, close_code, Message};
use evloop::{select, Either, Runtime};

use crate::{count, paused};

#[path = "../../examples/16_chat_client.rs"]
#[allow(dead_code)]
mod client;

use crate::chat_server as server;

// ANCHOR: ex1
#[test]
fn a_blocking_read_line_in_the_loop_freezes_the_incoming_lines() {
    let rt = Runtime::builder()
        .trace(true)
        .slow_poll_threshold(Duration::from_millis(10))
        .build()
        .unwrap();
    let printed_at = rt.block_on(async {
        let start = Instant::now();
        // The server: a line every 10 ms.
        let (from_server, mut incoming) = mpsc::unbounded_channel();
        evloop::spawn(async move {
            for i in 0..3 {
                sleep(Duration::from_millis(10)).await;
                let _ = from_server.send(format!("line {i}"));
            }
        });
        // The keyboard read *inside* the select loop: `read_line` blocks the
        // thread until the user presses Enter (here: 80 ms of typing).
        let mut printed_at = Vec::new();
        let mut typed = false;
        while printed_at.len() < 3 {
            let keyboard = async {
                if !typed {
                    std::thread::sleep(Duration::from_millis(80)); // io::stdin().read_line
                }
                std::future::pending::<()>().await
            };
            match select(Box::pin(incoming.recv()), Box::pin(keyboard)).await {
                Either::Left(Some(_line)) => printed_at.push(start.elapsed()),
                _ => unreachable!(),
            }
            typed = true;
        }
        printed_at
    });
    // Nothing was printed while the user typed, though a line was due at
    // 10 ms: all three came at once after Enter.
    assert!(
        printed_at.iter().all(|t| *t >= Duration::from_millis(80)),
        "{printed_at:?}"
    );
    // The warning names the `block_on` future, `chat`: here `main`.
    assert_eq!(count(&rt, "SLOW main held the loop"), 1);
}
// ANCHOR_END: ex1

// ANCHOR: ex2
/// What `chat` prints, and what it returns, when the server dies mid-talk.
#[test]
fn a_killed_server_sends_no_close_frame() {
    let rt = paused();
    let (printed, result) = rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("ws://{}/ws", listener.local_addr().unwrap());
        // A server that upgrades, says one line, then dies: its socket is
        // closed by the OS, as when the process is killed. Nobody sends a
        // close frame: that would take a running server to write it.
        evloop::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let (mut ws, _request) = websocket::server_handshake(stream, Default::default())
                .await
                .unwrap();
            ws.send(Message::Text("hello".into())).await.unwrap();
            drop(ws); // kill -9
        });
        let printed = Arc::new(Mutex::new(Vec::new()));
        let lines = printed.clone();
        let (_keyboard, input) = mpsc::unbounded_channel::<String>();
        let result = client::chat(&url, input, move |line| {
            lines.lock().unwrap().push(line.to_string())
        })
        .await;
        let printed = printed.lock().unwrap().clone();
        (printed, result)
    });
    assert_eq!(printed[1], "hello");
    // `chat` returns an error, and `main` prints it and exits with 1:
    // "chat client: the peer closed the connection without a close frame".
    // No close code, because the code travels in a close frame; a server
    // stopped cleanly would send one (1001 "going away") before closing.
    let err = result.unwrap_err();
    assert!(err.to_string().contains("without a close frame"), "{err}");
    assert_eq!(err.close_code(), None);
}
// ANCHOR_END: ex2

// ANCHOR: ex3
/// Lesson 16's `chat` with a `/quit` command: close with 1000 and "bye".
async fn chat(
    url: &str,
    mut input: UnboundedReceiver<String>,
    mut print: impl FnMut(&str),
) -> Result<(), websocket::Error> {
    let mut ws = websocket::connect(url).await?;
    loop {
        match select(Box::pin(ws.recv()), Box::pin(input.recv())).await {
            Either::Left(Ok(Some(Message::Text(line)))) => print(&line),
            Either::Left(Ok(Some(Message::Binary(_)))) => {}
            Either::Left(Ok(None)) => return Ok(()),
            Either::Left(Err(e)) => return Err(e),
            // The new command: a proper goodbye, as at end of input.
            Either::Right(Some(line)) if line == "/quit" => {
                return ws.close(close_code::NORMAL, "bye").await;
            }
            Either::Right(Some(line)) => ws.send(Message::Text(line)).await?,
            Either::Right(None) => return ws.close(close_code::NORMAL, "bye").await,
        }
    }
}

#[test]
fn quit_closes_with_1000_and_the_room_announces_the_leave() {
    let rt = paused();
    rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("ws://{}/ws", listener.local_addr().unwrap());
        evloop::spawn(server::serve(listener, server::Options::default()));
        // The browser tab.
        let mut tab = websocket::connect(&url).await.unwrap();
        // The terminal client types `/quit`; `chat` returns once the close
        // handshake is done.
        let (keyboard, input) = mpsc::unbounded_channel();
        keyboard.send("/quit".to_string()).unwrap();
        chat(&url, input, |_| {}).await.unwrap();
        // The tab sees the client join, then leave.
        let mut seen = Vec::new();
        while !seen.last().is_some_and(|l: &String| l.ends_with(" left")) {
            match tab.recv().await.unwrap() {
                Some(Message::Text(line)) => seen.push(line),
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(
            seen,
            ["* guest-1 joined", "* guest-2 joined", "* guest-2 left"]
        );
    });
}
// ANCHOR_END: ex3
