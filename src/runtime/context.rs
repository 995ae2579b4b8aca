//! The thread-local "current runtime".
//!
//! `spawn`, `sleep` and the sockets need the runtime without being handed it,
//! just as asyncio's `create_task` finds the running loop with
//! `get_running_loop()`. `block_on` and `turn` *enter* the runtime: they put
//! its [`Core`] in a thread-local for their duration, and everything below
//! finds it there.
//!
//! A multi-thread runtime (`runtime/multi/`) has no `Core`: its workers, and
//! the thread in its `block_on`, enter its [`Shared`] half instead (`MULTI`).
//! Leaf futures ask for [`with_shared`], which finds either — the clock, the
//! timer wheel, the reactor's handle and the blocking pool live there.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::rc::Rc;
use std::sync::Arc;

use super::core::{Activity, Core};
use super::driver::reactor::IoHandle;
use super::handle::Handle;
use super::shared::Shared;
use crate::task::JoinHandle;
use crate::trace::WakeSource;

// ANCHOR: current
thread_local! {
    static CURRENT: RefCell<Option<Rc<Core>>> = const { RefCell::new(None) };
    /// The id of the runtime whose loop is running on this thread (0: none).
    /// A plain `Cell`, so a wake can ask "am I on the loop?" for a nanosecond.
    static LOOP: Cell<usize> = const { Cell::new(0) };
    /// A runtime reachable from a thread that is not its loop's: set while a
    /// `spawn_blocking` job runs, and inside `Handle::block_on`. `spawn` and
    /// `Handle::current` fall back to it.
    static HANDLE: RefCell<Option<Handle>> = const { RefCell::new(None) };
    /// The multi-thread runtime this thread works for (a worker), or waits
    /// on (its `block_on`).
    static MULTI: RefCell<Option<Arc<Shared>>> = const { RefCell::new(None) };
}
// ANCHOR_END: current

/// The runtime reachable from this thread: the one whose loop (or `enter`)
/// is current here, else the handle of a blocking job or `Handle::block_on`.
pub(crate) fn current_handle() -> Option<Handle> {
    try_with_shared(|shared| Handle::new(shared.clone()))
        .or_else(|| HANDLE.try_with(|h| h.borrow().clone()).ok().flatten())
}

/// Spawn on the runtime reachable from this thread (see [`current_handle`]).
///
/// # Panics
/// Where no runtime is reachable, naming `what` was called.
#[track_caller]
pub(crate) fn spawn<F>(what: &str, future: F, name: Option<Box<str>>) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let mut job = Some((future, name));
    // The common case first: on the loop's thread, straight into its list.
    let spawned = try_with_core(|core| {
        let (future, name) = job.take().expect("taken once");
        core.spawn(future, name)
    });
    if let Some(handle) = spawned {
        return handle;
    }
    let (future, name) = job.take().expect("taken once");
    if let Some(shared) = multi_shared() {
        return super::multi::spawn(&shared, future, name);
    }
    match HANDLE.try_with(|h| h.borrow().clone()).ok().flatten() {
        Some(handle) => handle.spawn_named(future, name),
        None => panic!(
            "`{what}` must be called inside evloop::run or Runtime::block_on, or in a \
             spawn_blocking job (there is no event loop running on this thread)"
        ),
    }
}

/// Make `handle` this thread's fallback runtime until the guard drops.
pub(crate) fn enter_handle(handle: Handle) -> HandleGuard {
    let previous = HANDLE.with(|h| h.borrow_mut().replace(handle));
    HandleGuard { previous }
}

/// Restores the previous fallback runtime when dropped.
pub(crate) struct HandleGuard {
    previous: Option<Handle>,
}

impl Drop for HandleGuard {
    fn drop(&mut self) {
        let previous = self.previous.take();
        let ours = HANDLE.with(|h| std::mem::replace(&mut *h.borrow_mut(), previous));
        drop(ours); // after the borrow ends
    }
}

/// Is the loop of runtime `runtime_id` running on this thread right now?
#[inline]
pub(crate) fn on_loop_thread(runtime_id: usize) -> bool {
    LOOP.with(|running| running.get() == runtime_id)
}

/// Is any runtime's loop running on this thread?
#[inline]
pub(crate) fn on_any_loop_thread() -> bool {
    LOOP.with(|running| running.get() != 0) || super::multi::worker::is_worker_thread()
}

// ANCHOR: with_core
/// Run `f` with the current runtime, or panic with a message that says what to do.
#[track_caller]
pub(crate) fn with_core<R>(what: &str, f: impl FnOnce(&Core) -> R) -> R {
    match try_with_core(f) {
        Some(r) => r,
        None => panic!(
            "`{what}` must be called inside evloop::run or Runtime::block_on \
             (there is no event loop running on this thread)"
        ),
    }
}

/// Run `f` with the current runtime, if this thread is running one.
pub(crate) fn try_with_core<R>(f: impl FnOnce(&Core) -> R) -> Option<R> {
    CURRENT
        .try_with(|cur| cur.borrow().as_deref().map(f))
        .ok()
        .flatten()
}
// ANCHOR_END: with_core

/// Run `f` with the shared half of the runtime this thread runs: the
/// one-thread loop's, or the multi-thread runtime this thread works for.
/// What leaf futures use: the clock, the timers, the reactor, the pool.
#[inline]
pub(crate) fn try_with_shared<R>(f: impl FnOnce(&Arc<Shared>) -> R) -> Option<R> {
    let mut f = Some(f);
    let on_core = try_with_core(|core| (f.take().expect("called once"))(&core.shared));
    if on_core.is_some() {
        return on_core;
    }
    let f = f.take()?;
    MULTI
        .try_with(|m| m.borrow().as_ref().map(f))
        .ok()
        .flatten()
}

/// [`try_with_shared`], or panic with a message naming `what`.
#[track_caller]
pub(crate) fn with_shared<R>(what: &str, f: impl FnOnce(&Arc<Shared>) -> R) -> R {
    match try_with_shared(f) {
        Some(r) => r,
        None => panic!(
            "`{what}` must be called inside evloop::run or Runtime::block_on \
             (there is no event loop running on this thread)"
        ),
    }
}

/// Does this thread work for (or wait in `block_on` on) a multi-thread runtime?
pub(crate) fn in_multi() -> bool {
    MULTI.try_with(|m| m.borrow().is_some()).unwrap_or(false)
}

/// The multi-thread runtime this thread works for or waits on, if any.
fn multi_shared() -> Option<Arc<Shared>> {
    MULTI.try_with(|m| m.borrow().clone()).ok().flatten()
}

/// Make the multi-thread runtime behind `shared` current on this thread (a
/// worker, or the thread in its `block_on`) until the guard drops.
///
/// # Panics
/// If another runtime is current here (one runtime per thread).
#[track_caller]
pub(crate) fn enter_multi(shared: Arc<Shared>) -> MultiEnter {
    if try_with_core(|_| ()).is_some() {
        panic!(
            "cannot enter an evloop runtime while another one is current on this thread; \
             use one runtime per thread"
        );
    }
    let previous = MULTI.with(|m| m.borrow_mut().replace(shared.clone()));
    if let Some(previous) = &previous {
        if !Arc::ptr_eq(previous, &shared) {
            MULTI.with(|m| *m.borrow_mut() = Some(previous.clone()));
            panic!(
                "cannot enter an evloop runtime while another one is current on this thread; \
                 use one runtime per thread"
            );
        }
    }
    MultiEnter { previous }
}

/// Make the multi-thread runtime behind `shared` current for dropping it,
/// whatever is current now (as [`enter_for_drop`]): destructors that run
/// during the drop find *this* runtime.
pub(crate) fn enter_multi_for_drop(shared: Arc<Shared>) -> MultiEnter {
    let previous = MULTI.with(|m| m.borrow_mut().replace(shared));
    MultiEnter { previous }
}

/// Returned by [`enter_multi`]; restores what was current before.
pub(crate) struct MultiEnter {
    previous: Option<Arc<Shared>>,
}

impl Drop for MultiEnter {
    fn drop(&mut self) {
        let previous = self.previous.take();
        let ours = MULTI.with(|m| std::mem::replace(&mut *m.borrow_mut(), previous));
        drop(ours); // after the borrow ends
    }
}

/// The current runtime's reactor, for a socket to register with.
///
/// # Panics
/// Outside a runtime, with a message naming `what` and saying what to do.
#[track_caller]
pub(crate) fn io_handle(what: &str) -> Arc<IoHandle> {
    if let Some(io) = try_with_shared(|shared| shared.io.clone()) {
        return io;
    }
    // In a blocking job (or `Handle::block_on`): the runtime's reactor is
    // reachable through its handle, and registering with it is thread-safe.
    match HANDLE
        .try_with(|h| h.borrow().as_ref().map(Handle::io))
        .ok()
        .flatten()
    {
        Some(io) => io,
        None => with_core(what, |_| unreachable!("no runtime is current")),
    }
}

/// Who is waking a task of `shared`'s runtime, seen from this thread? Used by the trace.
pub(crate) fn wake_source(shared: &Shared) -> WakeSource {
    let inside = try_with_core(|core| {
        if core.shared.id != shared.id {
            return WakeSource::OtherThread;
        }
        match core.activity.get() {
            Activity::Task(id) => WakeSource::Task(id.0),
            Activity::Main => WakeSource::Main,
            Activity::Timers => WakeSource::Timer,
            Activity::Io(token) => WakeSource::Io(token),
            Activity::Idle => WakeSource::Runtime,
        }
    });
    match inside.or_else(|| super::multi::wake_source(shared)) {
        Some(source) => source,
        // Not inside a turn: on the loop's own thread (say, `abort` between
        // two `rt.turn()` calls) it is the runtime's code; elsewhere, another thread.
        None if std::thread::current().id() == shared.owner => WakeSource::Runtime,
        None => WakeSource::OtherThread,
    }
}

/// Makes a runtime current until dropped.
pub(crate) struct Enter {
    /// This guard set `CURRENT` (an outer guard of the same runtime did not).
    owner: bool,
    _not_send: std::marker::PhantomData<Rc<()>>,
}

/// Make `core` this thread's current runtime (a no-op if it already is).
///
/// # Panics
/// If a *different* runtime is current here.
#[track_caller]
pub(crate) fn enter(core: Rc<Core>) -> Enter {
    if in_multi() {
        panic!(
            "cannot enter an evloop runtime while another one is current on this thread (a \
             worker, or the block_on thread, of a multi-thread runtime); use one runtime per thread"
        );
    }
    let owner = CURRENT.with(|cur| {
        let mut cur = cur.borrow_mut();
        match &*cur {
            Some(existing) if Rc::ptr_eq(existing, &core) => false,
            Some(_) => panic!(
                "cannot enter an evloop runtime while another one is current on this thread; \
                 use one runtime per thread"
            ),
            None => {
                *cur = Some(core);
                true
            }
        }
    });
    Enter {
        owner,
        _not_send: std::marker::PhantomData,
    }
}

/// Make `core` current for dropping its runtime, whatever is current now:
/// destructors that run during the drop find *this* runtime. Whatever was
/// current before comes back when the guard drops.
pub(crate) fn enter_for_drop(core: Rc<Core>) -> DropEnter {
    let previous = CURRENT.with(|cur| cur.borrow_mut().replace(core));
    DropEnter { previous }
}

/// Returned by [`enter_for_drop`].
pub(crate) struct DropEnter {
    previous: Option<Rc<Core>>,
}

impl Drop for DropEnter {
    fn drop(&mut self) {
        let previous = self.previous.take();
        let ours = CURRENT.with(|cur| std::mem::replace(&mut *cur.borrow_mut(), previous));
        drop(ours); // after the borrow ends: dropping the core drops what it holds
    }
}

impl Drop for Enter {
    fn drop(&mut self) {
        if self.owner {
            // Take the Rc out first and drop it after the borrow ends: dropping
            // the core may drop futures whose destructors look for the runtime.
            let core = CURRENT.with(|cur| cur.borrow_mut().take());
            drop(core);
        }
    }
}

/// Marks the loop as running (inside `block_on` or `turn`) until dropped.
pub(crate) struct Running {
    core: Rc<Core>,
    _enter: Enter,
}

/// Enter `core` and mark its loop running.
///
/// # Panics
/// If its loop is already running: `block_on` inside a task would stop the
/// loop dead while the inner call runs.
#[track_caller]
pub(crate) fn run_loop(core: Rc<Core>) -> Running {
    let enter = enter(core.clone());
    if core.running.replace(true) {
        panic!(
            "cannot run the event loop from inside itself (block_on, run or turn was called \
             from a task or from the block_on future). Use `.await` or `evloop::spawn` instead."
        );
    }
    LOOP.with(|running| running.set(core.shared.id));
    Running {
        core,
        _enter: enter,
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.core.running.set(false);
        LOOP.with(|running| running.set(0));
    }
}
