//! File I/O on the blocking pool (Python's `aiofiles`, asyncio's `to_thread(open(...).read)`).
//!
//! Why not the reactor? Readiness says nothing useful about regular files:
//! epoll refuses to register one (`epoll_ctl` fails with `EPERM`), and
//! `select`/`poll` call it always "ready", yet a read may still wait for the
//! disk. So file I/O cannot be made non-blocking the way sockets are. What *can* be done — and
//! what `aiofiles` and tokio's `fs` do — is to run the blocking call on
//! another thread and wait for it without blocking the loop: each function
//! here is [`spawn_blocking`](crate::spawn_blocking) around its `std::fs`
//! namesake. While the pool thread waits for the disk, the loop runs other
//! tasks; many file operations at once run side by side on the pool's
//! threads (up to 16; lesson 12 measures it).
//!
//! ```
//! evloop::run(async {
//!     let path = std::env::temp_dir().join(format!("evloop-fs-doc-{}.txt", std::process::id()));
//!     evloop::fs::write(&path, "hello, file\n").await?;
//!     assert_eq!(evloop::fs::read_to_string(&path).await?, "hello, file\n");
//!     std::fs::remove_file(&path)
//! })
//! .unwrap();
//! ```
//!
//! Each call costs a hand-off to a pool thread and back (microseconds), so
//! for many tiny reads a single `spawn_blocking` that does them all is cheaper.

use std::io;
use std::path::Path;

/// Run `f` on the blocking pool and flatten "the job panicked" into an `io::Error`.
async fn asyncify<T, F>(f: F) -> io::Result<T>
where
    F: FnOnce() -> io::Result<T> + Send + 'static,
    T: Send + 'static,
{
    match crate::spawn_blocking(f).await {
        Ok(result) => result,
        Err(e) => Err(io::Error::other(format!(
            "the blocking file operation did not finish: {e}"
        ))),
    }
}

/// Read a whole file into bytes (`std::fs::read`, off the loop thread).
///
/// Errors are `std::fs::read`'s: `NotFound`, `PermissionDenied`, …
pub async fn read(path: impl AsRef<Path>) -> io::Result<Vec<u8>> {
    let path = path.as_ref().to_owned();
    asyncify(move || std::fs::read(path)).await
}

/// Read a whole file into a `String` (`std::fs::read_to_string`, off the loop
/// thread). A file that is not UTF-8 is an `InvalidData` error.
pub async fn read_to_string(path: impl AsRef<Path>) -> io::Result<String> {
    let path = path.as_ref().to_owned();
    asyncify(move || std::fs::read_to_string(path)).await
}

/// Create or truncate a file and write `contents` to it (`std::fs::write`,
/// off the loop thread).
///
/// The bytes are copied first, because the pool thread may outlive the
/// caller's borrow (if the waiting task is aborted, the write still
/// finishes: a thread cannot be stopped from outside).
pub async fn write(path: impl AsRef<Path>, contents: impl AsRef<[u8]>) -> io::Result<()> {
    let path = path.as_ref().to_owned();
    let contents = contents.as_ref().to_owned();
    asyncify(move || std::fs::write(path, contents)).await
}
