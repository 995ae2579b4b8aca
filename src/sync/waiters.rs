//! The queue of parked tasks that the bounded channel's senders, the
//! semaphore's acquirers and `Notify`'s listeners share: first come, first
//! served, each waiter known by its *ticket*.
//!
//! A future that has to wait joins at the back with a fresh ticket and keeps
//! it. When it is polled again it looks its ticket up: still queued means
//! still waiting (keep the waker fresh and return `Pending`); gone means the
//! other side took it out of the queue *for* it — gave it a slot, permits or
//! a notification — and woke it. Tickets only grow and waiters only join at
//! the back, so the queue is sorted by ticket and a lookup is a binary
//! search. Dropped while queued, a future removes its own entry; dropped
//! after it was served, it passes on what it was given (each primitive knows
//! what that is). The queue sits inside its primitive's `Mutex`; like every
//! waker slot in `sync`, its wakers are woken or dropped after the unlock.

use std::collections::VecDeque;
use std::mem;
use std::ops::{Index, IndexMut};
use std::task::Waker;

/// Waiters, oldest first, each with a ticket and what it asked for (`T`:
/// nothing for a sender or a listener, a number of permits for an acquirer).
#[derive(Debug)]
pub(crate) struct Waiters<T = ()> {
    queue: VecDeque<Waiter<T>>,
    next_ticket: u64,
}

/// One parked future.
#[derive(Debug)]
pub(crate) struct Waiter<T> {
    pub(crate) ticket: u64,
    pub(crate) waker: Waker,
    pub(crate) wants: T,
}

impl<T> Waiters<T> {
    pub(crate) const fn new() -> Self {
        Waiters {
            queue: VecDeque::new(),
            next_ticket: 0,
        }
    }

    /// Join at the back; the ticket is the future's place from now on.
    pub(crate) fn push(&mut self, waker: Waker, wants: T) -> u64 {
        let ticket = self.next_ticket;
        self.next_ticket += 1;
        self.queue.push_back(Waiter {
            ticket,
            waker,
            wants,
        });
        ticket
    }

    /// Where the waiter holding `ticket` sits, or `None` if it has left.
    pub(crate) fn find(&self, ticket: u64) -> Option<usize> {
        self.queue.binary_search_by_key(&ticket, |w| w.ticket).ok()
    }

    /// Take the waiter at `index` out (it was cancelled).
    pub(crate) fn remove(&mut self, index: usize) -> Waiter<T> {
        self.queue.remove(index).expect("index from `find`")
    }

    pub(crate) fn front(&self) -> Option<&Waiter<T>> {
        self.queue.front()
    }

    pub(crate) fn pop_front(&mut self) -> Option<Waiter<T>> {
        self.queue.pop_front()
    }

    /// Every waiter, emptying the queue; tickets keep counting from where
    /// they were, so a ticket is never given twice.
    pub(crate) fn take_all(&mut self) -> VecDeque<Waiter<T>> {
        mem::take(&mut self.queue)
    }

    /// The ticket the next waiter will get.
    pub(crate) fn next_ticket(&self) -> u64 {
        self.next_ticket
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    pub(crate) fn len(&self) -> usize {
        self.queue.len()
    }
}

impl<T> Index<usize> for Waiters<T> {
    type Output = Waiter<T>;

    fn index(&self, index: usize) -> &Waiter<T> {
        &self.queue[index]
    }
}

impl<T> IndexMut<usize> for Waiters<T> {
    fn index_mut(&mut self, index: usize) -> &mut Waiter<T> {
        &mut self.queue[index]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn noop() -> Waker {
        futures_task::noop_waker()
    }

    #[test]
    fn a_ticket_is_found_while_queued_and_never_given_twice() {
        let mut q = Waiters::<usize>::new();
        let (a, b, c) = (q.push(noop(), 1), q.push(noop(), 2), q.push(noop(), 3));
        assert_eq!((a, b, c), (0, 1, 2));
        assert_eq!(q.find(b), Some(1));
        assert_eq!(q.remove(1).wants, 2); // b cancelled
        assert_eq!(q.find(b), None);
        assert_eq!(q.find(c), Some(1), "the search still works with a gap");
        assert_eq!(q.pop_front().map(|w| w.ticket), Some(a)); // a served
        assert_eq!(q.take_all().len(), 1);
        assert!(q.is_empty());
        // Emptied, but counting on: an old ticket can never match a new waiter.
        assert_eq!(q.push(noop(), 4), 3);
        assert_eq!(q.find(a), None);
    }
}
