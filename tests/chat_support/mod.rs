//! Helpers shared by the chat's attack tests: lesson 15's server on a thread
//! of its own, and a few client moves (join, say, read the next line).

#![allow(dead_code)] // each test file uses a different part

use std::net::SocketAddr;
use std::time::Duration;

use evloop::net::{TcpListener, TcpStream};
use evloop::sync::oneshot;
use evloop::time::timeout;
use evloop::websocket::{self, Message, WebSocket};

use super::example::{self, Options};

/// The chat server on its own thread (its own evloop); dropping this stops it.
pub struct Server {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    pub fn start(options: Options) -> Server {
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (stop, stopped) = oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            evloop::run(async move {
                let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
                addr_tx.send(listener.local_addr().unwrap()).unwrap();
                let _ = evloop::select(Box::pin(example::serve(listener, options)), stopped).await;
            })
        });
        Server {
            addr: addr_rx.recv().unwrap(),
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    pub fn url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.stop.take().unwrap().send(());
        let _ = self.thread.take().unwrap().join();
    }
}

/// Run `test` on a fresh evloop, failing if it takes longer than `limit`.
pub fn run<F: std::future::Future>(limit: Duration, test: F) -> F::Output {
    evloop::run(async move { timeout(limit, test).await.expect("test timed out") })
}

/// Join the chat, accepting lines up to 1 MiB (a 64 KiB line comes back a
/// few bytes longer, with the sender's nickname in front).
pub async fn join(url: &str) -> WebSocket<TcpStream> {
    let config = websocket::Config {
        max_message_size: 1 << 20,
        ..Default::default()
    };
    websocket::connect_with_config(url, config).await.unwrap()
}

/// Join as the `n`th member, and wait until the room says so (`* guest-n
/// joined`, after the history). Joining this way one after another, the
/// names follow the order of the calls on any runtime: on worker threads two
/// handshakes in flight may otherwise reach the room in either order.
pub async fn join_nth(url: &str, n: usize) -> WebSocket<TcpStream> {
    let mut ws = join(url).await;
    let own = format!("* guest-{n} joined");
    loop {
        match next(&mut ws).await {
            Next::Line(line) if line == own => return ws,
            Next::Line(_) => continue,
            Next::Closed(code) => panic!("closed ({code:?}) before {own:?}"),
        }
    }
}

pub async fn say(ws: &mut WebSocket<TcpStream>, text: &str) {
    ws.send(Message::Text(text.to_string())).await.unwrap();
}

/// What ended a connection, as the client saw it.
#[derive(Debug, PartialEq, Eq)]
pub enum Next {
    Line(String),
    /// The server closed, with this close code (`None`: no close frame).
    Closed(Option<u16>),
}

/// The next text message, or how the connection ended.
pub async fn next(ws: &mut WebSocket<TcpStream>) -> Next {
    match ws.recv().await {
        Ok(Some(Message::Text(text))) => Next::Line(text),
        Ok(Some(Message::Binary(_))) => panic!("the chat speaks text"),
        Ok(None) => Next::Closed(ws.close_frame().map(|c| c.code)),
        Err(e) => Next::Closed(e.close_code()),
    }
}

/// The next text message; panics if the connection ended.
pub async fn next_text(ws: &mut WebSocket<TcpStream>) -> String {
    match next(ws).await {
        Next::Line(line) => line,
        Next::Closed(code) => panic!("the server closed the connection ({code:?})"),
    }
}

/// The next line that is not an announcement (`* … joined` and the like).
pub async fn next_said(ws: &mut WebSocket<TcpStream>) -> String {
    loop {
        let line = next_text(ws).await;
        if !line.starts_with("* ") {
            return line;
        }
    }
}
