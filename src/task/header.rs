//! What every task has, whatever its future: the header, and the thin
//! pointer the runtime holds tasks by.
//!
//! A task is one heap allocation, `Arc<Task<F>>` (`task/raw.rs`), and `F` is
//! different for every `async` block. The run queue, the owned-task list and
//! the `JoinHandle` must hold tasks of every `F` side by side, so they need a
//! type-erased pointer. `Arc<dyn Trait>` would do, but it is a *fat* pointer:
//! two words, one for the data and one for the trait's vtable. A million
//! parked tasks sit in the run queue, the owned list and a `Vec` of handles:
//! that second word costs 24 MB.
//!
//! So the vtable moves into the task itself, as tokio and async-task do: the
//! [`Header`] is the first field of every `Task<F>` (`#[repr(C)]`), and it
//! holds `&'static` [`Vtable`] — one table of plain functions per future
//! type, made by the compiler from the generic functions in `raw.rs`. A
//! [`TaskRef`] is then one word, a pointer to the header; every operation
//! reads the header's vtable and calls through it.
//!
//! ```text
//!   TaskRef ──▶ ┌ Task<F> (#[repr(C)], inside the Arc) ┐
//!   (8 bytes)   │ Header: state │ vtable │ ident │ rt  │──▶ Vtable for F: run, shutdown,
//!               │ stage: future, then output          │     poll_join, abort, clone, drop…
//!               │ join waker                          │
//!               └─────────────────────────────────────┘
//! ```
//!
//! Reference counting stays `Arc`'s: a `TaskRef` *is* one strong reference,
//! turned into a raw pointer by `Arc::into_raw` and back by `Arc::from_raw`
//! in the vtable's functions, which know `F`.

use std::marker::PhantomData;
use std::ptr::NonNull;
use std::sync::Arc;
use std::task::Context;

use super::state::{Snapshot, State, COMPLETE};
use super::{JoinError, TaskId};
use crate::runtime::shared::Shared;
use crate::trace::PollOutcome;

/// The first field of every task: identity, state word, the way back to its
/// runtime, and the table of functions that know its future's type.
pub(crate) struct Header {
    /// Who may touch what: see `task/state.rs`.
    pub(crate) state: State,
    /// The functions for this task's future type.
    vtable: &'static Vtable,
    /// The id, and the name if there is one, in one word (see [`Ident`]).
    ident: Ident,
    /// The runtime this task belongs to: its queue, its clock, its trace.
    pub(crate) shared: Arc<Shared>,
}

impl Header {
    pub(crate) fn new(
        state: State,
        vtable: &'static Vtable,
        id: TaskId,
        name: Option<Box<str>>,
        shared: Arc<Shared>,
    ) -> Header {
        Header {
            state,
            vtable,
            ident: Ident::new(id, name),
            shared,
        }
    }

    /// The functions for this task's future type.
    pub(crate) fn vtable(&self) -> &'static Vtable {
        self.vtable
    }

    /// The task's id (`N` in `task-N`).
    pub(crate) fn id(&self) -> TaskId {
        self.ident.id()
    }

    /// `name`, or `task-N` for an unnamed task — how the trace and `Turn` print it.
    pub(crate) fn display_name(&self) -> String {
        match self.name() {
            Some(name) => name.to_string(),
            None => format!("task-{}", self.id().0),
        }
    }

    /// The task's name, if it has one.
    pub(crate) fn name(&self) -> Option<&str> {
        self.ident.name()
    }

    /// The name, as a `JoinError` keeps it.
    pub(crate) fn name_owned(&self) -> Option<Box<str>> {
        self.name().map(Box::from)
    }

    /// Has the task finished (output ready, panicked, or cancelled)?
    pub(crate) fn is_complete(&self) -> bool {
        self.state.load().has(COMPLETE)
    }

    /// The state word right now, for reports.
    pub(crate) fn snapshot(&self) -> Snapshot {
        self.state.load()
    }

    pub(crate) fn cancelled_error(&self) -> JoinError {
        JoinError::cancelled(self.id().0, self.name_owned())
    }
}

/// A task's id and, when it has one, its name — in one word.
///
/// Most tasks have no name, and a million headers are a million of these, so
/// the name must not cost an unnamed task anything. The word is either
/// `id << 1 | 1` (unnamed: the low bit is 1) or a pointer to a boxed
/// `(id, name)` (named: a `Box` of a `u64` is 8-aligned, so the low bit is 0).
/// This is the one trick in the header; `id()` and `name()` hide it.
struct Ident(u64);

/// What a named task's [`Ident`] points at.
type Named = (TaskId, Box<str>);

impl Ident {
    fn new(id: TaskId, name: Option<Box<str>>) -> Ident {
        match name {
            None => {
                debug_assert!(id.0 < 1 << 63, "task ids stay below 2^63");
                Ident(id.0 << 1 | 1)
            }
            Some(name) => {
                let named: *mut Named = Box::into_raw(Box::new((id, name)));
                debug_assert_eq!(named as usize & 1, 0);
                Ident(named as usize as u64)
            }
        }
    }

    fn named(&self) -> Option<&Named> {
        if self.0 & 1 == 1 {
            return None;
        }
        // SAFETY: the low bit is 0, so the word is the pointer `Box::into_raw`
        // gave in `new`; the box is freed only by `drop`, which needs `&mut
        // self`, so it outlives this borrow.
        Some(unsafe { &*(self.0 as usize as *const Named) })
    }

    fn id(&self) -> TaskId {
        match self.named() {
            None => TaskId(self.0 >> 1),
            Some((id, _)) => *id,
        }
    }

    fn name(&self) -> Option<&str> {
        self.named().map(|(_, name)| &**name)
    }
}

impl Drop for Ident {
    fn drop(&mut self) {
        if self.0 & 1 == 0 {
            // SAFETY: a named ident owns the box `new` leaked; this is the only
            // place it is freed, once.
            drop(unsafe { Box::from_raw(self.0 as usize as *mut Named) });
        }
    }
}

/// The operations that depend on the future's type, one table per type.
///
/// Each function gets the task as a pointer to its header; it knows `F`, so it
/// casts back to `Task<F>` (`raw.rs`). Functions taking a [`TaskRef`] by value
/// consume that strong reference.
pub(crate) struct Vtable {
    /// Poll once (or drop the future, if aborted); `None`: a stale entry.
    pub(crate) run: unsafe fn(TaskRef) -> Option<PollOutcome>,
    /// The runtime is going away: cancel the task unless it is running or done.
    pub(crate) shutdown: unsafe fn(NonNull<Header>),
    /// Poll the `JoinHandle`: writes a `Poll<Result<F::Output, JoinError>>`
    /// to the out pointer.
    pub(crate) poll_join: unsafe fn(NonNull<Header>, &mut Context<'_>, *mut ()),
    /// `JoinHandle::abort`.
    pub(crate) abort: unsafe fn(NonNull<Header>),
    /// The `JoinHandle` is dropped.
    pub(crate) drop_join_handle: unsafe fn(NonNull<Header>),
    /// One more strong reference (`Arc::increment_strong_count`).
    pub(crate) clone: unsafe fn(NonNull<Header>),
    /// One strong reference less; the last frees the task.
    pub(crate) drop_ref: unsafe fn(NonNull<Header>),
}

/// One strong reference to a task of any future type, in one word.
///
/// What the run queue and the owned-task list hold, and what a `JoinHandle`
/// wraps. Cloning and dropping go through the task's vtable to its `Arc`.
pub(crate) struct TaskRef {
    ptr: NonNull<Header>,
    /// Owns a task: `Send` and `Sync` as the task is (see below).
    _task: PhantomData<Header>,
}

// SAFETY: a `TaskRef` is made only from `Arc<Task<F>>` with `F: Send` and
// `F::Output: Send` (`raw.rs`), and `Task<F>` is `Sync` (its cells are
// guarded by the state word). So the reference may move to, and be shared
// with, any thread, as the `Arc` could.
unsafe impl Send for TaskRef {}
// SAFETY: as above.
unsafe impl Sync for TaskRef {}

impl TaskRef {
    /// Take over one strong reference, given as a pointer to the header of a
    /// `Task<F>` whose vtable matches `F`.
    ///
    /// # Safety
    /// `ptr` must come from `Arc::into_raw` of an `Arc<Task<F>>` (header
    /// first, `#[repr(C)]`), and the caller gives up that reference.
    pub(crate) unsafe fn from_raw(ptr: NonNull<Header>) -> TaskRef {
        TaskRef {
            ptr,
            _task: PhantomData,
        }
    }

    /// The header, for the state word, id, name and runtime.
    pub(crate) fn header(&self) -> &Header {
        // SAFETY: we hold a strong reference, so the task is alive.
        unsafe { self.ptr.as_ref() }
    }

    /// The header's address, for the vtable's functions.
    pub(crate) fn as_ptr(&self) -> NonNull<Header> {
        self.ptr
    }

    /// Give up this reference without dropping it (the caller passes it on).
    pub(crate) fn into_raw(self) -> NonNull<Header> {
        let ptr = self.ptr;
        std::mem::forget(self);
        ptr
    }

    /// Poll the task once (loop only). Consumes this reference.
    pub(crate) fn run(self) -> Option<PollOutcome> {
        let run = self.header().vtable.run;
        // SAFETY: the vtable is the one made for this task's own type.
        unsafe { run(self) }
    }

    /// Cancel the task, unless it is running or done (the runtime is dropped).
    pub(crate) fn shutdown(&self) {
        // SAFETY: the vtable is the one made for this task's own type.
        unsafe { (self.header().vtable.shutdown)(self.ptr) }
    }
}

impl Clone for TaskRef {
    fn clone(&self) -> TaskRef {
        // SAFETY: the vtable is this task's; we hold a reference, so the
        // count is at least one while it is incremented.
        unsafe { (self.header().vtable.clone)(self.ptr) };
        TaskRef {
            ptr: self.ptr,
            _task: PhantomData,
        }
    }
}

impl Drop for TaskRef {
    fn drop(&mut self) {
        // SAFETY: the vtable is this task's, and this reference is given up
        // exactly once, here.
        unsafe { (self.header().vtable.drop_ref)(self.ptr) }
    }
}
