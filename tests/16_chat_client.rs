//! Lesson 16's terminal client, driven by a test instead of a keyboard: two
//! clients join lesson 15's server; what one "types" the other prints, while
//! it is typing too. End of input closes the connection with 1000.

#[path = "../examples/15_chat_server.rs"]
#[allow(dead_code)]
mod server;

#[path = "../examples/16_chat_client.rs"]
#[allow(dead_code)]
mod client;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use evloop::net::TcpListener;
use evloop::sync::mpsc;
use evloop::time::{sleep, timeout};

/// Wait until `printed` holds a line equal to `want`.
async fn until_printed(printed: &Mutex<Vec<String>>, want: &str) {
    while !printed.lock().unwrap().iter().any(|l| l == want) {
        sleep(Duration::from_millis(5)).await;
    }
}

#[test]
fn two_terminal_clients_chat() {
    evloop::run(async {
        timeout(Duration::from_secs(30), async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let url = format!("ws://{}/ws", listener.local_addr().unwrap());
            let server = evloop::spawn(server::serve(listener, server::Options::default()));

            // Each client's keyboard is a channel; its screen is a Vec.
            let (ada_keys, ada_input) = mpsc::unbounded_channel();
            let (bob_keys, bob_input) = mpsc::unbounded_channel();
            let ada_screen = Arc::new(Mutex::new(Vec::<String>::new()));
            let bob_screen = Arc::new(Mutex::new(Vec::<String>::new()));
            let screen = ada_screen.clone();
            let ada = evloop::spawn({
                let url = url.clone();
                async move {
                    client::chat(&url, ada_input, move |l| {
                        screen.lock().unwrap().push(l.into())
                    })
                    .await
                }
            });
            until_printed(&ada_screen, "* guest-1 joined").await;
            let screen = bob_screen.clone();
            let bob = evloop::spawn({
                let url = url.clone();
                async move {
                    client::chat(&url, bob_input, move |l| {
                        screen.lock().unwrap().push(l.into())
                    })
                    .await
                }
            });
            until_printed(&ada_screen, "* guest-2 joined").await;

            ada_keys.send("/nick ada".into()).unwrap();
            ada_keys.send("hi bob".into()).unwrap();
            bob_keys.send("hi ada".into()).unwrap(); // both type at once
            for screen in [&ada_screen, &bob_screen] {
                until_printed(screen, "ada: hi bob").await;
                until_printed(screen, "guest-2: hi ada").await;
            }

            // End of input: Bob's client closes with 1000 and returns Ok.
            drop(bob_keys);
            bob.await.unwrap().unwrap();
            until_printed(&ada_screen, "* guest-2 left").await;
            drop(ada_keys);
            ada.await.unwrap().unwrap();
            assert_eq!(ada_screen.lock().unwrap()[0], format!("connected to {url}"));
            server.abort();
        })
        .await
        .expect("test timed out");
    });
}

/// A hostile server (or a chat server that lets anything through): a line
/// with ANSI escapes, BEL, NUL and a newline. The client once printed it
/// raw — the terminal cleared its screen, rang, and showed a forged second
/// line. Now every control character is shown as its picture, on one line.
#[test]
fn the_client_shows_control_characters_instead_of_obeying_them() {
    evloop::run(async {
        timeout(Duration::from_secs(30), async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let url = format!("ws://{}/ws", listener.local_addr().unwrap());
            let hostile = evloop::spawn(async move {
                let (stream, _) = listener.accept().await.unwrap();
                let mut conn = evloop::http::Connection::new(stream);
                let request = conn.read_request().await.unwrap().unwrap();
                let mut ws = evloop::websocket::accept(conn, &request).await.unwrap();
                let forged = "\x1b[2J\x1b]0;pwned\x07hi\0\n* ada left\r\u{9b}1m";
                ws.send(evloop::websocket::Message::Text(forged.into()))
                    .await
                    .unwrap();
                let _ = ws.close(1008, "bye\x1b[0m").await;
            });
            let (_keys, input) = mpsc::unbounded_channel::<String>();
            let screen = Arc::new(Mutex::new(Vec::<String>::new()));
            let printed = screen.clone();
            client::chat(&url, input, move |l| printed.lock().unwrap().push(l.into()))
                .await
                .unwrap();
            hostile.await.unwrap();
            let screen = screen.lock().unwrap();
            assert_eq!(screen[1], "␛[2J␛]0;pwned␇hi␀␊* ada left␍\u{fffd}1m");
            assert_eq!(screen[2], "the server closed the connection (1008 bye␛[0m)");
            for line in screen.iter() {
                assert!(!line.chars().any(|c| c.is_control()), "{line:?}");
            }
        })
        .await
        .expect("test timed out");
    });
}

mod workers;

/// Every test above again, on worker threads (`tests/workers/mod.rs`).
#[test]
fn on_workers() {
    workers::rerun_on_workers(&[]);
}
