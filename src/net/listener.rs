//! `TcpListener`: accept connections (asyncio's `start_server`).

use std::future::poll_fn;
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};

use mio::Interest;

use super::evented::PollEvented;
use super::TcpStream;
use crate::runtime::driver::reactor::Direction;

/// A listening TCP socket on the event loop.
///
/// asyncio's `start_server(handle, host, port)` binds and then calls
/// `handle(reader, writer)` for each client in a new task. Here the loop is
/// yours to write, which shows what `start_server` does for you:
///
/// ```no_run
/// use evloop::net::TcpListener;
///
/// evloop::run(async {
///     let listener = TcpListener::bind("127.0.0.1:8888").await?;
///     loop {
///         let (mut stream, peer) = listener.accept().await?;
///         // One task per client, so a slow client never holds up the others.
///         evloop::spawn(async move {
///             let _ = stream.write_all(b"Hello, world!\n").await;
///             println!("greeted {peer}");
///         });
///     }
/// # #[allow(unreachable_code)]
///     Ok::<(), std::io::Error>(())
/// }).unwrap();
/// ```
///
/// Dropping the listener closes it: new connections are refused.
pub struct TcpListener {
    io: PollEvented<mio::net::TcpListener>,
}

impl TcpListener {
    /// Bind to `addr` and start listening.
    ///
    /// Each address `addr` resolves to is tried in turn until one binds. Port
    /// 0 lets the OS pick a free port; ask [`local_addr`](TcpListener::local_addr)
    /// which. On Unix the socket has `SO_REUSEADDR` set, so a server can
    /// restart at once on the port it just used.
    ///
    /// It is `async` to match tokio and asyncio (`await start_server(...)`);
    /// binding itself never waits.
    pub async fn bind(addr: impl ToSocketAddrs) -> io::Result<TcpListener> {
        let mut last_error = None;
        for addr in addr.to_socket_addrs()? {
            match listen_on(addr) {
                Ok(listener) => {
                    return Ok(TcpListener {
                        io: PollEvented::new(listener, Interest::READABLE)?,
                    });
                }
                Err(e) => last_error = Some(io::Error::new(e.kind(), format!("bind {addr}: {e}"))),
            }
        }
        Err(last_error.unwrap_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "the address resolved to nothing; nothing to bind",
            )
        }))
    }

    /// Wait for the next client; returns its stream and address.
    ///
    /// A connection that the client abandoned while it waited in the backlog
    /// (`ConnectionAborted`) is skipped, not returned: it is not an error of
    /// the server. Other errors are — notably "too many open files", which a
    /// server should log and wait out rather than die on.
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        loop {
            // Edge-triggered: a readable listener may hold many pending
            // connections; readiness stays set until accept says WouldBlock.
            let accepted = poll_fn(|cx| self.io.poll_io(cx, Direction::Read, |l| l.accept())).await;
            match accepted {
                Ok((socket, peer)) => return Ok((TcpStream::from_mio(socket)?, peer)),
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::ConnectionAborted | io::ErrorKind::Interrupted
                    ) =>
                {
                    continue
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// The address we listen on (with the real port if we bound port 0).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// The reactor token of this socket: the `N` of `io#N` in the trace.
    pub fn trace_token(&self) -> usize {
        self.io.token()
    }
}

/// How many finished handshakes the kernel queues for us before we `accept`.
///
/// std and mio use 128. A burst of clients that all connect within one turn
/// of the loop (a load test, a thousand tasks spawned at once) overflows 128
/// before the accept loop runs; Linux then falls back to SYN cookies and some
/// of those connections are reset. 1024 is what tokio uses; the kernel caps
/// it at `net.core.somaxconn` anyway.
const BACKLOG: i32 = 1024;

/// A non-blocking listening socket on `addr`: what mio's `bind` does, with a
/// bigger backlog (socket2 lets us choose it; std and mio do not).
fn listen_on(addr: SocketAddr) -> io::Result<mio::net::TcpListener> {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
    socket.set_nonblocking(true)?;
    // Restart on a port still in TIME_WAIT from the last run. Not on Windows,
    // where SO_REUSEADDR would let another process steal a port in use.
    #[cfg(not(windows))]
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(BACKLOG)?;
    Ok(mio::net::TcpListener::from_std(socket.into()))
}

impl std::fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TcpListener")
            .field("local", &self.local_addr().ok())
            .field("token", &self.io.token())
            .finish()
    }
}

/// The OS socket, for options this type has no method for.
#[cfg(unix)]
impl std::os::fd::AsFd for TcpListener {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.io.get_ref().as_fd()
    }
}

#[cfg(unix)]
impl std::os::fd::AsRawFd for TcpListener {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.io.get_ref().as_raw_fd()
    }
}
