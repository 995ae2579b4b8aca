//! Helpers shared by the WebSocket tests: a *raw* client that writes exactly
//! the bytes a test wants (a real client would refuse to send bad frames),
//! and a reader for what the server answers.

#![allow(dead_code)] // each test file uses a different part

use std::net::SocketAddr;
use std::time::Duration;

use evloop::net::TcpStream;
use evloop::time::timeout;

/// Long enough for a slow CI machine, short enough that a hang is noticed.
pub const LIMIT: Duration = Duration::from_secs(30);

/// A TCP connection to `path` that has done the WebSocket handshake by hand.
pub async fn raw_upgrade(addr: SocketAddr, path: &str) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    // Every small write goes out at once. (With Nagle's algorithm a second
    // small write waits for the ACK of the first, which the kernel may delay
    // by 40 ms of *real* time — and on a paused clock, the runtime jumps to
    // its next timer meanwhile.)
    stream.set_nodelay(true).unwrap();
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    // Read the response head byte by byte, so no frame after it is swallowed.
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        assert_eq!(
            stream.read(&mut byte).await.unwrap(),
            1,
            "server closed during the handshake"
        );
        head.push(byte[0]);
    }
    let head = String::from_utf8(head).unwrap();
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    assert!(head.contains("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="), "{head}"); // RFC 6455's example key
    stream
}

/// One frame as a client sends it: masked with a fixed key (unless `mask` is false).
pub fn client_frame(first_byte: u8, payload: &[u8], mask: bool) -> Vec<u8> {
    let key = [0x37, 0xfa, 0x21, 0x3d];
    let mut out = vec![first_byte];
    let mask_bit = if mask { 0x80 } else { 0 };
    match payload.len() {
        n if n < 126 => out.push(mask_bit | n as u8),
        n if n < 65536 => {
            out.push(mask_bit | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(mask_bit | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    if mask {
        out.extend_from_slice(&key);
        out.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
    } else {
        out.extend_from_slice(payload);
    }
    out
}

/// Read until the server closes the connection (or `LIMIT` passes); return
/// the server's frames as (opcode, payload). Server frames are never masked.
pub async fn read_frames_until_eof(stream: &mut TcpStream) -> Vec<(u8, Vec<u8>)> {
    let mut bytes = Vec::new();
    let mut buf = [0u8; 4096];
    let read_all = async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => bytes.extend_from_slice(&buf[..n]),
            }
        }
    };
    timeout(LIMIT, read_all)
        .await
        .expect("the server never closed the connection");
    parse_server_frames(&bytes)
}

/// Split unmasked frames (payload lengths < 64 KiB are enough here).
pub fn parse_server_frames(mut bytes: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut frames = Vec::new();
    while bytes.len() >= 2 {
        assert_eq!(bytes[1] & 0x80, 0, "a server frame must not be masked");
        let (len, at) = match bytes[1] & 0x7f {
            126 => (u16::from_be_bytes([bytes[2], bytes[3]]) as usize, 4),
            127 => (
                u64::from_be_bytes(bytes[2..10].try_into().unwrap()) as usize,
                10,
            ),
            n => (n as usize, 2),
        };
        if bytes.len() < at + len {
            break;
        }
        frames.push((bytes[0] & 0x0f, bytes[at..at + len].to_vec()));
        bytes = &bytes[at + len..];
    }
    frames
}

/// The code of the close frame among `frames`, if there is one.
pub fn close_code(frames: &[(u8, Vec<u8>)]) -> Option<u16> {
    frames
        .iter()
        .find(|(op, _)| *op == 8)
        .map(|(_, p)| u16::from_be_bytes([p[0], p[1]]))
}

/// Run a test on a runtime whose clock is *paused*: whenever every task
/// waits and a timer is set, virtual time jumps to it, so a 30 s keepalive
/// runs in milliseconds and exactly. Sockets still work (loopback delivers
/// at once). The runtime runs on its own thread, guarded by a *real* time
/// limit: a test that hangs with no timer left fails instead of hanging.
pub fn paused<F>(test: impl FnOnce() -> F + Send + 'static) -> F::Output
where
    F: std::future::Future,
    F::Output: Send + 'static,
{
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = evloop::Runtime::builder()
            .start_paused(true)
            .build()
            .unwrap();
        let _ = tx.send(rt.block_on(test()));
    });
    match rx.recv_timeout(Duration::from_secs(120)) {
        Ok(output) => output,
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => panic!("the test hung"),
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
            panic!("the test panicked on its runtime thread (see above)")
        }
    }
}

/// What a [`reporting_echo_server`] connection tells the test.
#[derive(Debug)]
pub enum Report {
    /// One message was echoed; the connection's buffers then held this many bytes.
    Echoed { capacity: usize },
    /// The connection ended (`Ok`: a clean close, else the error), at this
    /// time on the runtime's clock, its buffers then holding `capacity` bytes.
    Ended {
        result: Result<(), String>,
        capacity: usize,
        at: evloop::time::Instant,
    },
}

/// An echo server with `config`, as lesson 15's `/echo` (`recv`, `send`,
/// nothing else), that reports each connection's progress.
pub async fn reporting_echo_server(
    config: evloop::websocket::Config,
) -> (SocketAddr, evloop::sync::mpsc::UnboundedReceiver<Report>) {
    use evloop::websocket;
    let listener = evloop::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = evloop::sync::mpsc::unbounded_channel();
    evloop::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let tx = tx.clone();
            stream.set_nodelay(true).unwrap(); // as lesson 15's server does
            evloop::spawn(async move {
                let mut conn = evloop::http::Connection::new(stream);
                let Ok(Some(request)) = conn.read_request().await else {
                    return;
                };
                let mut ws = websocket::accept_with_config(conn, &request, config)
                    .await
                    .unwrap();
                let result = loop {
                    match ws.recv().await {
                        Ok(Some(message)) => match ws.send(message).await {
                            Ok(()) => {
                                let capacity = ws.buffered_capacity();
                                let _ = tx.send(Report::Echoed { capacity });
                            }
                            Err(e) => break Err(e.to_string()),
                        },
                        Ok(None) => break Ok(()),
                        Err(e) => break Err(e.to_string()),
                    }
                };
                let _ = tx.send(Report::Ended {
                    result,
                    capacity: ws.buffered_capacity(),
                    at: evloop::time::Instant::now(),
                });
            });
        }
    });
    (addr, rx)
}

/// Read the next whole server frame from a raw stream, as (opcode,
/// payload); `None` at end of stream. `pending` keeps bytes read past it.
pub async fn next_server_frame(
    stream: &mut TcpStream,
    pending: &mut Vec<u8>,
) -> Option<(u8, Vec<u8>)> {
    loop {
        if let Some((frame, used)) = parse_one_server_frame(pending) {
            pending.drain(..used);
            return Some(frame);
        }
        let mut buf = [0u8; 4096];
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => pending.extend_from_slice(&buf[..n]),
        }
    }
}

fn parse_one_server_frame(bytes: &[u8]) -> Option<((u8, Vec<u8>), usize)> {
    let frames = parse_server_frames(bytes);
    let (opcode, payload) = frames.into_iter().next()?;
    let header = match payload.len() {
        0..=125 => 2,
        126..=65535 => 4,
        _ => 10,
    };
    let used = header + payload.len();
    Some(((opcode, payload), used))
}
