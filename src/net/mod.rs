//! TCP sockets on the reactor: [`TcpListener`], [`TcpStream`], its halves,
//! and a [`BufReader`] for line protocols.
//!
//! | asyncio | evloop |
//! |---|---|
//! | `await asyncio.start_server(handle, host, port)` | [`TcpListener::bind`]`((host, port)).await?`, then `accept()` in a loop, `spawn` per client |
//! | `await asyncio.open_connection(host, port)` | [`TcpStream::connect`]`((host, port)).await?` |
//! | `await reader.read(n)` | `stream.read(&mut buf).await?` |
//! | `await reader.readexactly(n)` | `stream.read_exact(&mut buf).await?` |
//! | `await reader.readline()` | [`BufReader::read_line`], or `BufReader::new(r).lines()` |
//! | `writer.write(b); await writer.drain()` | `stream.write_all(b).await?` |
//! | `writer.write_eof()` | `stream.shutdown().await?` |
//! | `writer.close()` | drop the stream |
//! | the `(reader, writer)` pair | [`TcpStream::into_split`] → ([`OwnedReadHalf`], [`OwnedWriteHalf`]) |
//!
//! # How a read waits
//!
//! Every socket is non-blocking and registered with the runtime's reactor
//! (`src/runtime/driver/reactor.rs`; the book's chapter "The reactor" draws it). A read
//! *tries* the syscall first. If data is there, that is the answer — no
//! waiting, no reactor. Only if the kernel says `WouldBlock` does the read
//! leave its task's waker with the reactor and return `Pending`. When the
//! socket becomes readable, step 4 of the loop's turn sees the event, wakes
//! the task, and the read is tried again. The trace shows it as:
//!
//! ```text
//!     0.012s  poll   handle-client → Pending        (read said WouldBlock)
//!     0.015s  io     io#3 readable                  (the reactor saw the edge)
//!     0.015s  wake   handle-client ← io#3
//!     0.015s  poll   handle-client → Ready          (the read got the bytes)
//! ```
//!
//! Errors are `io::Result`s: a reset connection is `ConnectionReset`, a
//! refused connect `ConnectionRefused`, end of stream is `Ok(0)`. Nothing a
//! peer sends can panic the loop.

mod buf_reader;
mod evented;
mod listener;
mod split;
mod stream;

pub use buf_reader::{BufReader, Lines, DEFAULT_MAX_LINE};
pub use listener::TcpListener;
pub use split::{OwnedReadHalf, OwnedWriteHalf};
pub use stream::TcpStream;

/// TCP types by tokio's paths: `evloop::net::tcp::{OwnedReadHalf, OwnedWriteHalf}`.
pub mod tcp {
    pub use super::split::{OwnedReadHalf, OwnedWriteHalf};
}
