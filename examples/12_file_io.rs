//! Lesson 12 — file I/O on the blocking pool: many files at once, without blocking the loop.
//!
//! A socket can tell the reactor "wake me when I am readable"; a file cannot
//! (the OS always calls a file ready, then makes the read wait for the disk).
//! So `evloop::fs`, like Python's `aiofiles`, runs each file operation on a
//! thread of the blocking pool and awaits the result. The loop stays free,
//! and many operations run side by side on the pool's threads. The asyncio
//! original:
//!
//! ```python
//! import asyncio, aiofiles
//!
//! async def read_file(path):
//!     async with aiofiles.open(path) as f:
//!         return await f.read()
//!
//! async def main(paths):
//!     for p in paths:                                  # one by one
//!         await read_file(p)
//!     await asyncio.gather(*map(read_file, paths))     # all at once
//! ```
//!
//! ```text
//! cargo run --example 12_file_io            # a slow disk: 50 ms per read
//! cargo run --example 12_file_io -- 0.01    # 10 ms per read
//! ```

use std::fmt::Display;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use evloop::time::Instant;

/// How many files, and how big.
pub const FILES: usize = 20;
pub const FILE_SIZE: usize = 64 * 1024;

/// A scratch directory under the system's temp dir, removed when dropped
/// (even if the program panics half way).
pub struct ScratchDir(PathBuf);

impl ScratchDir {
    /// A new, empty directory with a name no other run uses.
    pub fn new() -> io::Result<ScratchDir> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let dir =
            std::env::temp_dir().join(format!("evloop-lesson12-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        Ok(ScratchDir(dir))
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The content of file `i`: different for every file, so a mix-up shows.
pub fn content(i: usize) -> Vec<u8> {
    format!("file {i}: ")
        .bytes()
        .cycle()
        .take(FILE_SIZE)
        .collect()
}

pub fn file_path(dir: &Path, i: usize) -> PathBuf {
    dir.join(format!("file-{i:02}.txt"))
}

// ANCHOR: write_all_files
/// Write every file at once: `FILES` jobs on the blocking pool.
pub async fn write_files(dir: &Path) -> io::Result<()> {
    let writes = (0..FILES).map(|i| evloop::fs::write(file_path(dir, i), content(i)));
    evloop::join_all(writes).await.into_iter().collect()
}
// ANCHOR_END: write_all_files

// ANCHOR: slow_read
/// `evloop::fs::read`, on a disk that takes `latency` to answer (a network
/// drive, a spinning disk under load). This is all `fs::read` is, plus the wait.
async fn slow_read(path: PathBuf, latency: Duration) -> io::Result<Vec<u8>> {
    let job = evloop::spawn_blocking(move || {
        std::thread::sleep(latency); // the disk seeking: blocks a pool thread, not the loop
        std::fs::read(path)
    });
    job.await.map_err(io::Error::other)?
}
// ANCHOR_END: slow_read

// ANCHOR: one_by_one
/// Read the files one after another: each read waits for the one before.
pub async fn read_one_by_one(dir: &Path, latency: Duration) -> io::Result<Vec<Vec<u8>>> {
    let mut contents = Vec::new();
    for i in 0..FILES {
        contents.push(slow_read(file_path(dir, i), latency).await?);
    }
    Ok(contents)
}
// ANCHOR_END: one_by_one

// ANCHOR: concurrently
/// Read them all at once (asyncio's `gather`): the reads overlap on the pool.
pub async fn read_concurrently(dir: &Path, latency: Duration) -> io::Result<Vec<Vec<u8>>> {
    let reads = (0..FILES).map(|i| slow_read(file_path(dir, i), latency));
    evloop::join_all(reads).await.into_iter().collect()
}
// ANCHOR_END: concurrently

/// The whole lesson: write, read one by one, read at once; return both read times.
pub async fn compare(dir: &Path, latency: Duration) -> io::Result<(Duration, Duration)> {
    let start = Instant::now();
    write_files(dir).await?;
    log(
        start,
        format!(
            "wrote {FILES} files of {} KiB each, all at once, with evloop::fs::write",
            FILE_SIZE / 1024
        ),
    );

    let t = Instant::now();
    let sequential = read_one_by_one(dir, latency).await?;
    let one_by_one = t.elapsed();
    log(
        start,
        format!("read them one by one: {:.3} s", one_by_one.as_secs_f64()),
    );

    let t = Instant::now();
    let concurrent = read_concurrently(dir, latency).await?;
    let at_once = t.elapsed();
    log(
        start,
        format!("read them all at once: {:.3} s", at_once.as_secs_f64()),
    );

    assert_eq!(sequential, concurrent, "the same bytes either way");
    Ok((one_by_one, at_once))
}

fn main() -> io::Result<()> {
    let latency = Duration::from_secs_f64(std::env::args().nth(1).map_or(0.05, |a| {
        a.parse()
            .expect("the argument is the disk's latency in seconds, e.g. 0.01")
    }));
    let scratch = ScratchDir::new()?;
    println!(
        "a disk that takes {} ms per read, in {}",
        latency.as_millis(),
        scratch.path().display()
    );
    let (one_by_one, at_once) = evloop::run(compare(scratch.path(), latency))?;
    println!(
        "one by one: {:.2} s, all at once: {:.2} s ({:.1}x faster)",
        one_by_one.as_secs_f64(),
        at_once.as_secs_f64(),
        one_by_one.as_secs_f64() / at_once.as_secs_f64().max(1e-9),
    );
    Ok(())
}

/// Print `msg` with the time since `start`.
fn log(start: Instant, msg: impl Display) {
    println!("[{:.2}s] {msg}", start.elapsed().as_secs_f64());
}
