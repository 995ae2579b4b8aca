//! `serve`: an accept loop that gives every connection its own task.
//!
//! The accept loop is one task (or the main future): it waits in step 4 for
//! the listener to be readable, accepts, spawns a connection task, and waits
//! again. When `accept` itself fails it backs off ([`AcceptBackoff`]).

use std::future::Future;
use std::io;
use std::sync::Arc;

use super::conn::catch_panic;
use super::{AcceptBackoff, Connection, Limits, Request, Response};
use futures_io::{AsyncRead, AsyncWrite};

use crate::io::shutdown;
use crate::net::TcpListener;

/// Serve HTTP on `listener` forever, calling `handler` for each request
/// (asyncio's `start_server` with an HTTP protocol on top).
///
/// Each connection runs as its own task, so one slow client never delays
/// another. Malformed or oversized requests get `400`/`413`/`414`/`431` and
/// the connection closes; a handler that panics gets its client a `500` and
/// the server goes on. When `accept` fails (out of file descriptors), the
/// loop waits 10 ms, doubling up to 1 s while it keeps failing, and logs at
/// most a line a second.
///
/// ```no_run
/// use evloop::http::{serve, Response};
/// evloop::run(async {
///     let listener = evloop::net::TcpListener::bind("127.0.0.1:8080").await.unwrap();
///     serve(listener, |req| async move { Response::text(format!("you asked for {}\n", req.path)) })
///         .await
///         .unwrap();
/// });
/// ```
pub async fn serve<H, F>(listener: TcpListener, handler: H) -> io::Result<()>
where
    H: Fn(Request) -> F + Send + Sync + 'static,
    F: Future<Output = Response> + Send + 'static,
{
    serve_with(listener, Limits::default(), handler).await
}

/// [`serve`] with explicit [`Limits`].
pub async fn serve_with<H, F>(listener: TcpListener, limits: Limits, handler: H) -> io::Result<()>
where
    H: Fn(Request) -> F + Send + Sync + 'static,
    F: Future<Output = Response> + Send + 'static,
{
    let handler = Arc::new(handler);
    let mut backoff = AcceptBackoff::new();
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _peer)) => {
                backoff.succeeded();
                stream
            }
            // Out of file descriptors, say: not the listener's fault, and
            // not over until some connection closes. Wait (longer each time
            // in a row) and try again; the connections we have go on being
            // served meanwhile.
            Err(e) => {
                backoff.pause("evloop http", &e).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let handler = handler.clone();
        crate::spawn(async move {
            // Errors end this connection only; they are the client's business.
            let _ = serve_connection(stream, limits, &*handler).await;
        });
    }
}

/// Serve requests on one connection until the client is done (or misbehaves):
/// the loop every task of [`serve`] runs. Generic over the stream, so the same
/// protocol code can run on any `AsyncRead + AsyncWrite` (the benchmark runs it
/// on tokio's sockets, to compare the runtimes and nothing else).
pub async fn serve_connection<S, H, F>(stream: S, limits: Limits, handler: &H) -> io::Result<()>
where
    S: AsyncRead + AsyncWrite + Unpin,
    H: Fn(Request) -> F,
    F: Future<Output = Response>,
{
    let mut conn = Connection::with_limits(stream, limits);
    loop {
        let request = match conn.read_request().await {
            Ok(Some(request)) => request,
            Ok(None) => return Ok(()),
            Err(e) => {
                // Say what was wrong when a status fits, then close.
                if let Some(status) = e.status() {
                    let _ = conn.write_response(&Response::error(status), false).await;
                    let _ = shutdown(conn.get_mut()).await;
                }
                return Err(e.into());
            }
        };
        let keep_alive = request.keep_alive();
        let response = catch_panic(handler(request))
            .await
            .unwrap_or_else(|()| Response::error(500));
        conn.write_response(&response, keep_alive).await?;
        if !keep_alive {
            return shutdown(conn.get_mut()).await;
        }
    }
}
