//! The console's server: its thread, its runtime, the page, and the feed.
//!
//! One thread with its own evloop `Runtime` (see the module doc of
//! `console` for why not a task on the watched runtime). On it:
//!
//! - the accept loop (the main future), one task per connection: `GET /`
//!   is the page, `GET /feed` upgrades to a WebSocket of updates,
//!   `GET /sample.json` is the latest update once, for `curl`;
//! - `updates`, a task that four times a second asks the watched loop for a
//!   sample, takes the events recorded since, encodes one JSON update and
//!   offers it to every viewer's bounded outbox (`try_send`: a full outbox
//!   skips this update, so a slow browser costs nothing but its own view).
//!
//! Dropping the [`Console`] (the runtime's start guard) stops the accept
//! loop, drops the console's runtime — and with it every connection and the
//! listening socket — and joins the thread.

use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use super::feed::Feed;
use super::{Watch, OUTBOX, UPDATE_EVERY};
use crate::http::{Connection, Request, Response};
use crate::net::{TcpListener, TcpStream};
use crate::runtime::observe::Observer;
use crate::sync::mpsc::TrySendError::Closed;
use crate::sync::{mpsc, oneshot};
use crate::websocket::{self, Config, Prepared, WebSocket};
use crate::{select, Either, Runtime};

/// The page: HTML, CSS and script in one file, no build step.
const PAGE: &str = include_str!("page.html");

/// The feed's WebSocket limits: viewers send nothing we need, and one that
/// stops reading is dropped after 5 s.
const FEED: Config = Config {
    max_message_size: 4096,
    max_write_buffer: 8 << 20,
    frame_timeout: Some(Duration::from_secs(10)),
    send_timeout: Some(Duration::from_secs(5)),
    ping_interval: Some(Duration::from_secs(20)),
    ping_timeout: Some(Duration::from_secs(10)),
    close_timeout: Some(Duration::from_secs(2)),
};

/// The viewers' outboxes, and the latest update (for `/sample.json`).
#[derive(Default)]
struct Hub {
    viewers: Vec<mpsc::Sender<Prepared>>,
    latest: Option<Arc<str>>,
}

type SharedHub = Arc<Mutex<Hub>>;

fn lock(hub: &SharedHub) -> MutexGuard<'_, Hub> {
    hub.lock().unwrap_or_else(|e| e.into_inner())
}

/// A running console: the start guard the watched runtime keeps.
pub(super) struct Console {
    /// Where it listens.
    pub(super) addr: SocketAddr,
    /// The token requests must carry, if remote access was allowed.
    pub(super) token: Option<String>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Console {
    /// The watched runtime is being dropped: stop serving, close the port.
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Start the console's thread, bound to the first of `addrs` that binds.
/// Returns once it listens (or with the reason it cannot).
pub(super) fn start(
    addrs: Vec<SocketAddr>,
    token: Option<String>,
    observer: Observer,
) -> io::Result<Console> {
    let (ready, listening) = std::sync::mpsc::channel();
    let (stop, stopped) = oneshot::channel();
    let watch = Arc::new(Watch {
        observer,
        token: token.as_deref().map(Arc::from),
    });
    let thread = std::thread::Builder::new()
        .name("evloop-console".into())
        .spawn(move || serve(addrs, watch, stopped, ready))?;
    match listening.recv() {
        Ok(Ok(addr)) => Ok(Console {
            addr,
            token,
            stop: Some(stop),
            thread: Some(thread),
        }),
        Ok(Err(e)) => {
            let _ = thread.join();
            Err(e)
        }
        Err(_) => Err(io::Error::other(
            "the console's thread ended before it listened",
        )),
    }
}

/// The console's thread: its own runtime, serving until told to stop.
fn serve(
    addrs: Vec<SocketAddr>,
    watch: Arc<Watch>,
    stopped: oneshot::Receiver<()>,
    ready: std::sync::mpsc::Sender<io::Result<SocketAddr>>,
) {
    // The console's own loop is not watched, and warns about nothing.
    let rt = match Runtime::builder()
        .slow_poll_threshold(Duration::MAX)
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    rt.block_on(async move {
        let listener = match TcpListener::bind(&addrs[..]).await {
            Ok(listener) => listener,
            Err(e) => {
                let e = io::Error::new(e.kind(), format!("the console cannot listen: {e}"));
                let _ = ready.send(Err(e));
                return;
            }
        };
        let _ = ready.send(listener.local_addr());
        let hub = SharedHub::default();
        crate::task::Builder::new()
            .name("console-updates")
            .spawn(updates(watch.clone(), hub.clone()));
        let accept = Box::pin(accept_loop(listener, watch, hub));
        let _ = select(accept, stopped).await;
    });
    // `rt` drops here: every connection ends, the port closes.
}

async fn accept_loop(listener: TcpListener, watch: Arc<Watch>, hub: SharedHub) {
    let mut backoff = crate::http::AcceptBackoff::new();
    loop {
        match listener.accept().await {
            Ok((stream, _peer)) => {
                backoff.succeeded();
                let _ = stream.set_nodelay(true);
                crate::task::Builder::new()
                    .name("console-connection")
                    .spawn(connection(stream, watch.clone(), hub.clone()));
            }
            Err(e) => backoff.pause("evloop console", &e).await,
        }
    }
}

/// Every update period: sample, encode once, offer to every viewer.
async fn updates(watch: Arc<Watch>, hub: SharedHub) {
    let mut feed = Feed::default();
    let mut tick = crate::time::interval(UPDATE_EVERY);
    loop {
        tick.tick().await;
        let observer = &watch.observer;
        // What the loop published since the last request, and a new request
        // for the next update: the loop answers at its next turn.
        let sample = observer.latest_sample();
        observer.request_sample();
        let events = observer.take_events();
        let text: Arc<str> = feed.update(sample.as_deref(), events).into();
        let frame = Prepared::text(&text);
        let mut hub = lock(&hub);
        hub.latest = Some(text);
        offer(&mut hub.viewers, &frame);
    }
}

/// Offer one update to every viewer without waiting: a full outbox (a
/// browser that reads slowly) skips it; a closed one (a viewer that left)
/// is dropped from the list.
fn offer(viewers: &mut Vec<mpsc::Sender<Prepared>>, update: &Prepared) {
    viewers.retain(|outbox| !matches!(outbox.try_send(update.clone()), Err(Closed(_))));
}

/// One TCP connection to the console: requests until one upgrades to the feed.
async fn connection(stream: TcpStream, watch: Arc<Watch>, hub: SharedHub) {
    let mut conn = Connection::new(stream);
    while let Ok(Some(request)) = conn.read_request().await {
        let keep_alive = request.keep_alive();
        let response = if !token_ok(&watch, &request) || !host_ok(&watch, &request) {
            Response::error(403)
        } else {
            match (request.method.as_str(), request.path_only()) {
                ("GET", "/feed") if !same_origin(&request) => Response::error(403),
                ("GET", "/feed") => {
                    if let Ok(ws) = websocket::accept_with_config(conn, &request, FEED).await {
                        viewer(ws, &hub).await;
                    }
                    return;
                }
                ("GET", "/") => Response::html(PAGE).header("Cache-Control", "no-store"),
                ("GET", "/sample.json") => match lock(&hub).latest.clone() {
                    Some(text) => Response::new(200)
                        .header("Content-Type", "application/json")
                        .body(text.as_bytes().to_vec()),
                    None => Response::error(503).header("Retry-After", "1"),
                },
                ("GET", _) => Response::error(404),
                _ => Response::method_not_allowed(&["GET"]),
            }
        };
        if conn.write_response(&response, keep_alive).await.is_err() || !keep_alive {
            return;
        }
    }
}

/// A browser watching: updates from its outbox to its socket.
async fn viewer(mut ws: WebSocket<TcpStream>, hub: &SharedHub) {
    let (outbox, mut updates) = mpsc::channel(OUTBOX);
    lock(hub).viewers.push(outbox);
    loop {
        match select(Box::pin(ws.recv()), Box::pin(updates.recv())).await {
            Either::Left(Ok(Some(_))) => {} // viewers have nothing to say
            Either::Left(_) => return,
            Either::Right(Some(update)) => {
                if ws.send_prepared(&update).await.is_err() {
                    return;
                }
            }
            Either::Right(None) => return,
        }
    }
}

/// With a token configured, does the request carry it (`?token=...`)?
fn token_ok(watch: &Watch, request: &Request) -> bool {
    let Some(token) = &watch.token else {
        return true;
    };
    let query = request.path.split_once('?').map_or("", |(_, q)| q);
    query
        .split('&')
        .filter_map(|pair| pair.strip_prefix("token="))
        .any(|given| same_bytes(given.as_bytes(), token.as_bytes()))
}

/// Without a token, the console answers only to a loopback `Host`
/// (`127.0.0.1:port`, `localhost:port`, `[::1]:port`): a page on another
/// site that points its own name at 127.0.0.1 (DNS rebinding) is refused.
fn host_ok(watch: &Watch, request: &Request) -> bool {
    if watch.token.is_some() {
        return true;
    }
    let host = request.header("host").unwrap_or("");
    let name = match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    };
    let name = name.trim_start_matches('[').trim_end_matches(']');
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Compare without stopping at the first difference, so the time taken
/// does not tell an attacker how much of a guess was right.
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A browser says which page opened a WebSocket (`Origin`); a page from
/// another site must not read the feed. Clients that are not browsers send
/// no `Origin`, and are let through.
fn same_origin(request: &Request) -> bool {
    let Some(origin) = request.header("origin") else {
        return true;
    };
    let host = request.header("host").unwrap_or("");
    let origin_host = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
        .unwrap_or(origin);
    origin_host.eq_ignore_ascii_case(host)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(path: &str, headers: &[(&str, &str)]) -> Request {
        Request {
            method: "GET".into(),
            path: path.into(),
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            body: vec![],
            minor_version: 1,
        }
    }

    /// What the console's server holds: an observed runtime's observer,
    /// and the token (if any) a viewer must give.
    fn watch(token: Option<&str>) -> Watch {
        let observer = Runtime::builder()
            .observe(true)
            .build()
            .unwrap()
            .observer()
            .unwrap();
        Watch {
            observer,
            token: token.map(Into::into),
        }
    }

    #[test]
    fn a_token_must_match_exactly() {
        let watch = watch(Some("abcdefghijklmnop"));
        assert!(token_ok(&watch, &request("/?token=abcdefghijklmnop", &[])));
        assert!(token_ok(
            &watch,
            &request("/feed?x=1&token=abcdefghijklmnop", &[])
        ));
        assert!(!token_ok(&watch, &request("/", &[])));
        assert!(!token_ok(&watch, &request("/?token=abcdefghijklmno", &[])));
        assert!(!token_ok(&watch, &request("/?token=abcdefghijklmnoq", &[])));
    }

    #[test]
    fn a_slow_viewer_skips_updates_and_a_gone_one_is_dropped() {
        let (slow, mut slow_updates) = mpsc::channel(OUTBOX);
        let (gone, gone_updates) = mpsc::channel(OUTBOX);
        drop(gone_updates);
        let mut viewers = vec![slow, gone];
        // Ten updates, none read: the slow viewer holds OUTBOX of them, the
        // rest were skipped — nothing queued beyond, nothing waited for.
        for n in 0..10 {
            offer(&mut viewers, &Prepared::text(&format!("update {n}")));
        }
        assert_eq!(viewers.len(), 1, "the viewer that left is dropped");
        let mut held = 0;
        while slow_updates.try_recv().is_ok() {
            held += 1;
        }
        assert_eq!(held, OUTBOX);
        // Once it reads again, it gets the next update.
        offer(&mut viewers, &Prepared::text("update 10"));
        assert!(slow_updates.try_recv().is_ok());
    }

    #[test]
    fn without_a_token_only_a_loopback_host_is_served() {
        let watch = watch(None);
        for host in [
            "127.0.0.1:6669",
            "localhost:6669",
            "[::1]:6669",
            "LOCALHOST",
        ] {
            assert!(host_ok(&watch, &request("/", &[("Host", host)])), "{host}");
        }
        for host in ["evil.example:6669", "10.0.0.1:6669", ""] {
            assert!(!host_ok(&watch, &request("/", &[("Host", host)])), "{host}");
        }
    }

    #[test]
    fn a_page_from_another_site_may_not_open_the_feed() {
        let host = ("Host", "127.0.0.1:6669");
        assert!(same_origin(&request("/feed", &[host])));
        assert!(same_origin(&request(
            "/feed",
            &[host, ("Origin", "http://127.0.0.1:6669")]
        )));
        assert!(!same_origin(&request(
            "/feed",
            &[host, ("Origin", "http://evil.example")]
        )));
    }
}
