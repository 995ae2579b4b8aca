//! `Handle`: a runtime, reachable from any thread.
//!
//! A `Runtime` lives on its loop's thread (it is not `Send`). Code on other
//! threads — a `spawn_blocking` job, a plain `std::thread` — reaches it through
//! a `Handle`: a clone of the runtime's shared half (the run queue's sending
//! end, the unparker), the same thing every waker holds.
//!
//! - [`Handle::current`] works on the loop's thread, inside a task, and inside a
//!   `spawn_blocking` job (asyncio's `get_running_loop`, which a `to_thread`
//!   function cannot call; tokio's `Handle::current`, which it can).
//! - [`Handle::spawn`] queues a task from any thread and interrupts a parked loop.
//! - [`Handle::block_on`] waits for a future on a thread that is *not* the
//!   loop's, parking that thread between wakes (asyncio's
//!   `run_coroutine_threadsafe(...).result()`).

use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::thread::Thread;

use futures_task::ArcWake;

use super::context;
use super::driver::reactor::IoHandle;
use super::shared::Shared;
use crate::task::JoinHandle;

/// A cloneable, `Send` reference to a runtime, for use from any thread.
///
/// ```
/// use evloop::runtime::Handle;
/// let answer = evloop::run(async {
///     // A blocking job finds the runtime it was started from...
///     let job = evloop::spawn_blocking(|| {
///         let handle = Handle::current();
///         // ...spawns a task on the loop, and waits for it from this thread.
///         let task = handle.spawn(async { 6 * 7 });
///         handle.block_on(task).unwrap()
///     });
///     job.await.unwrap()
/// });
/// assert_eq!(answer, 42);
/// ```
#[derive(Clone)]
pub struct Handle {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Handle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handle")
            .field("runtime", &self.shared.id)
            .finish()
    }
}

impl Handle {
    pub(crate) fn new(shared: Arc<Shared>) -> Handle {
        Handle { shared }
    }

    /// The runtime's reactor, for registering sockets from any thread.
    pub(crate) fn io(&self) -> Arc<IoHandle> {
        self.shared.io.clone()
    }

    /// The runtime running this code: on the loop's thread (in a task, in the
    /// `block_on` future, under `Runtime::enter`), inside a `spawn_blocking`
    /// job, or inside [`Handle::block_on`].
    ///
    /// # Panics
    /// Anywhere else, with a message that says where it works.
    #[track_caller]
    pub fn current() -> Handle {
        Handle::try_current().unwrap_or_else(|| {
            panic!(
                "`evloop::runtime::Handle::current` must be called inside evloop::run, \
                 Runtime::block_on, a task, or a spawn_blocking job (no runtime is reachable \
                 from this thread)"
            )
        })
    }

    /// Like [`current`](Handle::current), but `None` where no runtime is reachable.
    pub fn try_current() -> Option<Handle> {
        context::current_handle()
    }

    /// Spawn `future` as a task on this runtime, from any thread.
    ///
    /// On the loop's own thread this is [`evloop::spawn`](crate::spawn). From
    /// another thread the task is queued and a parked loop is woken; it runs on
    /// the loop's next turn. If the runtime has been dropped, the task is
    /// cancelled at once: its handle gives a cancelled `JoinError`.
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.spawn_named(future, None)
    }

    pub(crate) fn spawn_named<F>(&self, future: F, name: Option<Box<str>>) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let shared = &self.shared;
        // On the loop's own thread, the loop owns the task from the start.
        let mut job = Some((future, name));
        let local = context::try_with_core(|core| {
            if core.shared.id != shared.id {
                return None;
            }
            let (future, name) = job.take()?;
            Some(core.spawn(future, name))
        });
        if let Some(Some(handle)) = local {
            return handle;
        }
        let (future, name) = job.take().expect("not spawned locally");
        if shared.multi.is_some() {
            // Many workers: owned at once, queued on the injector.
            return super::multi::spawn(shared, future, name);
        }
        spawn_remote(shared, future, name)
    }

    /// Run `future` to completion on *this* thread, which must not be the
    /// loop's: the thread parks between wakes. Tasks keep running on the
    /// loop meanwhile. Timers and sockets are driven by the loop, so a future
    /// that sleeps or reads should run there: `handle.block_on(handle.spawn(f))`.
    /// Inside, [`evloop::spawn`](crate::spawn) and [`Handle::current`] reach this runtime.
    ///
    /// # Panics
    /// On a thread running an event loop: blocking it would stop every task.
    #[track_caller]
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        if context::on_any_loop_thread() || context::in_multi() {
            panic!(
                "`Handle::block_on` was called on a thread that runs an event loop (or waits in \
                 a runtime's block_on); blocking it would stop every task. Use `.await` there \
                 instead."
            );
        }
        let _guard = context::enter_handle(self.clone());
        let waker = futures_task::waker(Arc::new(ThreadWaker(std::thread::current())));
        let mut cx = Context::from_waker(&waker);
        let mut future = std::pin::pin!(future);
        loop {
            if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
                return output;
            }
            // A wake that came before we park leaves a token: park returns at once.
            std::thread::park();
        }
    }
}

/// Spawn from a thread that is not the loop's: the task travels through the
/// run queue and the loop adopts it into its owned-task list when it first
/// polls it. If the runtime is closing, the task is cancelled here and now.
fn spawn_remote<F>(shared: &Arc<Shared>, future: F, name: Option<Box<str>>) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let task = shared.new_task(future, name, crate::task::raw::UNOWNED);
    let handle = JoinHandle::new(task.clone());
    if shared.is_closed() {
        task.shutdown();
        return handle;
    }
    shared.schedule(task.clone());
    // The runtime may have closed between the check and the push, after its
    // last sweep of the queue: then nobody else will cancel the task. The
    // state word makes sure exactly one of us drops the future.
    if shared.is_closed() {
        task.shutdown();
    }
    handle
}

/// Unparks the thread inside `Handle::block_on`.
struct ThreadWaker(Thread);

impl ArcWake for ThreadWaker {
    fn wake_by_ref(arc_self: &Arc<Self>) {
        arc_self.0.unpark();
    }
}
