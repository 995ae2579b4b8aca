//! The owned-task list: every task the runtime spawned and has not finished.
//!
//! A task is kept alive by whoever holds its `Arc`: the run queue, a waker in
//! a timer or a socket, a `JoinHandle`. Without this list, a task whose waker
//! sat inside *another* task (two tasks waiting on each other, or a task whose
//! `join_all` waker points back at itself) would outlive its runtime, sockets
//! and all. So the runtime owns each task here from spawn until it completes,
//! and dropping the runtime cancels everything still listed (tokio's
//! `OwnedTasks`, asyncio's `all_tasks()` set).
//!
//! A slab: a `Vec` of slots plus a free list, so insert and remove are O(1).
//! The task remembers its slot in its state word (`owned_slot`). Only the
//! loop's thread touches the list — which is why each slot also keeps what its
//! task waits on: the loop writes it after every `Pending` poll, and only
//! `Runtime::tasks` reads it, so it need not sit in the task's header.

use super::shared::Ready;
use crate::task::raw::UNOWNED;
use crate::task::WaitReason;

/// One owned task (or a free slot), and what it waited on after its last poll.
#[derive(Default)]
struct Slot {
    task: Option<Ready>,
    /// [`WaitReason::encode`]d.
    waiting: u64,
}

#[derive(Default)]
pub(crate) struct OwnedTasks {
    slots: Vec<Slot>,
    /// Free slots, as `u32`: 4 bytes per finished task, not 8.
    free: Vec<u32>,
}

impl OwnedTasks {
    /// Own `task`, made elsewhere (spawned from another thread); its header
    /// learns its slot.
    pub(crate) fn insert(&mut self, task: Ready) -> usize {
        let slot = self.vacant();
        task.header().state.set_owned_slot(slot);
        self.fill(slot, task);
        slot
    }

    /// Reserve a free slot, for a task about to be made with it.
    pub(crate) fn vacant(&mut self) -> usize {
        match self.free.pop() {
            Some(slot) => slot as usize,
            None => {
                self.slots.push(Slot::default());
                self.slots.len() - 1
            }
        }
    }

    /// Put `task` in the slot [`vacant`](Self::vacant) reserved.
    pub(crate) fn fill(&mut self, slot: usize, task: Ready) {
        debug_assert!(self.slots[slot].task.is_none());
        self.slots[slot] = Slot {
            task: Some(task),
            waiting: 0,
        };
    }

    /// The task in `slot` returned `Pending`, waiting on `reason` (encoded).
    pub(crate) fn set_waiting(&mut self, slot: usize, reason: u64) {
        if let Some(entry) = self.slots.get_mut(slot) {
            entry.waiting = reason;
        }
    }

    /// Stop owning the task in `slot` (it completed). The caller drops the
    /// returned `Arc` *after* releasing its borrow of the list: it may be the
    /// task's last reference, and its destructors may spawn.
    pub(crate) fn remove(&mut self, slot: usize) -> Option<Ready> {
        if slot == UNOWNED {
            return None;
        }
        let task = self.slots.get_mut(slot)?.task.take()?;
        self.free
            .push(u32::try_from(slot).expect("fewer than 2^32 live tasks"));
        // The task is complete and never polled again: its header's slot is
        // not read any more, so it is left as it is (no atomic step).
        Some(task)
    }

    /// Every owned task, leaving the list empty (the runtime is being dropped).
    pub(crate) fn take_all(&mut self) -> Vec<Ready> {
        self.free.clear();
        std::mem::take(&mut self.slots)
            .into_iter()
            .filter_map(|slot| slot.task)
            .collect()
    }

    /// The live tasks, in slot order, with their slots and what each waits on.
    pub(crate) fn iter_indexed(&self) -> impl Iterator<Item = (usize, &Ready, WaitReason)> {
        self.slots.iter().enumerate().filter_map(|(index, slot)| {
            let task = slot.task.as_ref()?;
            Some((index, task, WaitReason::decode(slot.waiting)))
        })
    }

    /// The live tasks, in slot order, with what each waits on.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&Ready, WaitReason)> {
        self.slots.iter().filter_map(|slot| {
            let task = slot.task.as_ref()?;
            Some((task, WaitReason::decode(slot.waiting)))
        })
    }
}
