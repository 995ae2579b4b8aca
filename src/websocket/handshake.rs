//! The opening handshake: an HTTP/1.1 request that becomes a WebSocket.
//!
//! Server side, [`accept`] takes an [`http::Connection`](crate::http::Connection)
//! whose request [`is_upgrade`], answers `101 Switching Protocols`, and
//! hands the same stream (plus any bytes read past the request) to a
//! [`WebSocket`]. Client side, [`connect`] opens a TCP connection, sends the
//! upgrade request and checks the answer.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use futures_io::{AsyncRead, AsyncWrite};
use sha1::{Digest, Sha1};

use super::frame::MaskRng;
use super::{Config, Error, Role, WebSocket};
use crate::http::{Connection, Rejection, Request, StatusCode};
use crate::io::{read_more, write_all};
use crate::net::TcpStream;

/// The GUID every WebSocket server appends to the client's key (RFC 6455 §1.3).
const GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// Largest handshake head (request or response) accepted.
const MAX_RESPONSE_HEAD: usize = 16 * 1024;

/// `Sec-WebSocket-Accept` for a `Sec-WebSocket-Key`: `base64(SHA-1(key + GUID))`.
///
/// ```
/// // The example from RFC 6455 §1.3.
/// assert_eq!(evloop::websocket::accept_key("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
/// ```
pub fn accept_key(key: &str) -> String {
    let mut sha1 = Sha1::new();
    sha1.update(key.trim().as_bytes());
    sha1.update(GUID.as_bytes());
    BASE64.encode(sha1.finalize())
}

/// Does this request ask to become a WebSocket (`Upgrade: websocket`)?
pub fn is_upgrade(request: &Request) -> bool {
    request
        .header("upgrade")
        .is_some_and(|v| has_token(v, "websocket"))
}

/// Is `token` one of the comma-separated tokens of a header value (any case)?
fn has_token(value: &str, token: &str) -> bool {
    value
        .split(',')
        .any(|t| t.trim().eq_ignore_ascii_case(token))
}

/// Accept a WebSocket upgrade with the default [`Config`] (64 KiB messages).
pub async fn accept<S: AsyncRead + AsyncWrite + Unpin>(
    conn: Connection<S>,
    request: &Request,
) -> Result<WebSocket<S>, Error> {
    accept_with_config(conn, request, Config::default()).await
}

/// Accept a WebSocket upgrade on `conn`, whose last request was `request`.
///
/// A request that is not a valid upgrade gets `400 Bad Request` (or `426
/// Upgrade Required` for a WebSocket version other than 13) and an
/// [`Error::Handshake`].
pub async fn accept_with_config<S: AsyncRead + AsyncWrite + Unpin>(
    mut conn: Connection<S>,
    request: &Request,
    config: Config,
) -> Result<WebSocket<S>, Error> {
    let key = match check_upgrade(request) {
        Ok(key) => key,
        Err(rejection) => {
            let mut response = rejection.response();
            if rejection.status == StatusCode::UPGRADE_REQUIRED {
                // Tell the client which version we do speak (RFC 6455 §4.4).
                response = response.header("Sec-WebSocket-Version", "13");
            }
            let _ = conn.write_response(&response, false).await;
            return Err(Error::Handshake(rejection.to_string()));
        }
    };
    let head = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n\r\n",
        accept_key(key)
    );
    let (mut stream, leftover) = conn.into_parts();
    write_all(&mut stream, head.as_bytes()).await?;
    Ok(WebSocket::from_parts(
        stream,
        leftover,
        Role::Server,
        config,
    ))
}

/// The server half of the handshake on a bare stream, on any runtime: read
/// the upgrade request (no timeout: bring your own), answer `101`, and
/// return the socket with the request (for its path and headers).
///
/// [`accept`] is the usual way in on evloop: it starts from an
/// [`http::Connection`](crate::http::Connection) that already read the
/// request, so one server can answer plain HTTP and WebSocket alike.
pub async fn server_handshake<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    config: Config,
) -> Result<(WebSocket<S>, Request), Error> {
    // The same request reader as the HTTP server, minus its timeout (an
    // evloop timer, and this may run on another runtime).
    let limits = crate::http::Limits {
        read_timeout: None,
        ..Default::default()
    };
    let mut conn = Connection::with_limits(stream, limits);
    let request = match conn.read_request().await {
        Ok(Some(request)) => request,
        Ok(None) => {
            return Err(Error::Handshake(
                "the client closed the connection during the handshake".into(),
            ))
        }
        Err(e) => return Err(Error::Handshake(format!("bad upgrade request: {e}"))),
    };
    let socket = accept_with_config(conn, &request, config).await?;
    Ok((socket, request))
}

/// The checks of RFC 6455 §4.2.1; the key, or why the upgrade is refused.
fn check_upgrade(request: &Request) -> Result<&str, Rejection> {
    let bad_request = |reason| Err(Rejection::new(StatusCode::BAD_REQUEST, reason));
    if request.method != "GET" || request.minor_version < 1 {
        return bad_request("a WebSocket upgrade is a GET over HTTP/1.1");
    }
    if !is_upgrade(request) {
        return bad_request("missing `Upgrade: websocket`");
    }
    if !request
        .header("connection")
        .is_some_and(|v| has_token(v, "upgrade"))
    {
        return bad_request("missing `Connection: Upgrade`");
    }
    if request.header("sec-websocket-version").map(str::trim) != Some("13") {
        return Err(Rejection::new(
            StatusCode::UPGRADE_REQUIRED,
            "only WebSocket version 13 is spoken here",
        ));
    }
    let key = request
        .header("sec-websocket-key")
        .map(str::trim)
        .unwrap_or("");
    match BASE64.decode(key) {
        Ok(nonce) if nonce.len() == 16 => Ok(key),
        _ => bad_request("Sec-WebSocket-Key must be 16 bytes in base64"),
    }
}

/// Connect to a `ws://host:port/path` URL with the default [`Config`].
///
/// ```no_run
/// use evloop::websocket::{connect, Message};
/// evloop::run(async {
///     let mut ws = connect("ws://127.0.0.1:8000/ws").await?;
///     ws.send(Message::Text("hello".into())).await?;
///     while let Some(message) = ws.recv().await? {
///         println!("{}", message.as_text().unwrap_or("<binary>"));
///     }
///     Ok::<(), evloop::websocket::Error>(())
/// }).unwrap();
/// ```
pub async fn connect(url: &str) -> Result<WebSocket<TcpStream>, Error> {
    connect_with_config(url, Config::default()).await
}

/// [`connect`] with explicit limits.
pub async fn connect_with_config(url: &str, config: Config) -> Result<WebSocket<TcpStream>, Error> {
    let Some(rest) = url.strip_prefix("ws://") else {
        return Err(Error::Handshake(format!(
            "{url:?}: only ws:// URLs are supported (no TLS here)"
        )));
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let address = if authority
        .rsplit(':')
        .next()
        .is_some_and(|p| p.parse::<u16>().is_ok())
    {
        authority.to_string()
    } else {
        format!("{authority}:80")
    };
    let stream = TcpStream::connect(address.as_str()).await?;
    let _ = stream.set_nodelay(true);
    client_handshake(stream, authority, path, config).await
}

/// The client half of the handshake over an already-connected stream:
/// send the upgrade request for `path` on `host`, check the `101`.
pub async fn client_handshake<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    host: &str,
    path: &str,
    config: Config,
) -> Result<WebSocket<S>, Error> {
    let mut rng = MaskRng::new();
    let nonce: Vec<u8> = (0..4).flat_map(|_| rng.next_u32().to_be_bytes()).collect();
    let key = BASE64.encode(nonce);
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    write_all(&mut stream, request.as_bytes()).await?;

    // Read until the response head is complete; whatever follows it is
    // already WebSocket frames.
    let mut buf = Vec::new();
    let (status, accept, head_len) = loop {
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut response = httparse::Response::new(&mut headers);
        match response.parse(&buf) {
            Ok(httparse::Status::Complete(len)) => {
                let accept = response
                    .headers
                    .iter()
                    .find(|h| h.name.eq_ignore_ascii_case("sec-websocket-accept"))
                    .map(|h| String::from_utf8_lossy(h.value).into_owned());
                break (response.code.unwrap_or(0), accept, len);
            }
            Ok(httparse::Status::Partial) if buf.len() <= MAX_RESPONSE_HEAD => {}
            Ok(httparse::Status::Partial) => {
                return Err(Error::Handshake("response head too large".into()))
            }
            Err(e) => return Err(Error::Handshake(format!("malformed response: {e}"))),
        }
        // We loop because one read may return only part of the head.
        if read_more(&mut stream, &mut buf).await? == 0 {
            return Err(Error::Handshake(
                "the server closed the connection during the handshake".into(),
            ));
        }
    };
    if status != 101 {
        return Err(Error::Handshake(format!(
            "the server answered {status}, not 101 Switching Protocols"
        )));
    }
    if accept.as_deref().map(str::trim) != Some(accept_key(&key).as_str()) {
        return Err(Error::Handshake(
            "wrong or missing Sec-WebSocket-Accept".into(),
        ));
    }
    buf.drain(..head_len);
    Ok(WebSocket::from_parts(stream, buf, Role::Client, config))
}
