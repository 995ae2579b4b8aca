//! The timer wheel: where every `sleep` waits for its deadline.
//!
//! In step 5 of a turn the loop advances the clock and fires every timer that
//! is due; in step 3 it asks how long it may sleep, which is "until the next
//! timer". Both questions are answered here. The chapter *The timer wheel*
//! draws this module's comments.
//!
//! # Why a wheel, and not a heap
//!
//! The obvious structure is a `BinaryHeap` ordered by deadline: the earliest
//! timer is on top. But timers are created and cancelled far more often than
//! they fire — every `timeout(d, fut)` whose future finishes first is a timer
//! that is dropped unfired. A heap pays O(log n) to insert, and cancelling
//! means finding the entry again (a scan, or extra bookkeeping). A wheel
//! inserts and cancels in O(1): an entry is dropped into a bucket (a *slot*)
//! picked by arithmetic on its deadline, and cancelling unlinks it from that
//! slot's list.
//!
//! # Levels and slots
//!
//! Time is counted in *ticks* (1 tick = 1 ms in the runtime) since the wheel
//! was made. Write a tick count in base 64: each base-64 digit is one *level*
//! of the wheel, and the digit's value picks one of that level's 64 *slots*.
//!
//! | level | digit of the tick | one slot spans     | the whole level spans |
//! |-------|-------------------|--------------------|-----------------------|
//! | 0     | bits 0..6         | 1 ms               | 64 ms                 |
//! | 1     | bits 6..12        | 64 ms              | 4.096 s               |
//! | 2     | bits 12..18       | 4.096 s            | ~4.4 min              |
//! | 3     | bits 18..24       | ~4.4 min           | ~4.7 h                |
//! | 4     | bits 24..30       | ~4.7 h             | ~12.4 days            |
//! | 5     | bits 30..36       | ~12.4 days         | ~2.2 years            |
//!
//! An entry goes to the level of the *highest digit in which its deadline
//! differs from now* (`elapsed`), into the slot named by that digit of the
//! deadline. So a timer due in the current 64 ms window sits in level 0, at
//! its exact tick; one due later in the current 4 s window sits in level 1,
//! in the slot for its 64 ms window; and so on. It follows that everything in
//! level 0 is due before everything in level 1, which is due before
//! everything in level 2: the wheel is sorted by level for free.
//!
//! # Cascading
//!
//! A slot of level 1 or higher holds entries with different deadlines, so it
//! cannot fire as a whole. Instead, when time reaches the start of such a
//! slot, its entries are taken out and inserted again, relative to the new
//! `elapsed`. Now the high digits agree, so each entry lands on a lower level,
//! nearer its exact tick. An entry cascades at most once per level on its way
//! down to level 0, where it fires: amortised O(1) per timer.
//!
//! A deadline more than ~2.2 years ahead has no digit to go in. It is put in
//! the top level's furthest slot and simply cascades back into the top level
//! when that slot comes round, until it is near enough: it still fires at its
//! exact tick.
//!
//! # The next expiration, without a scan
//!
//! Each level keeps a `u64` *occupancy bitmap*: bit `s` is set exactly when
//! slot `s` is non-empty. To find the next non-empty slot after the current
//! one, rotate the bitmap so the current slot is bit 0, then count
//! `trailing_zeros`: that is the distance, in slots, to the next slot with
//! work. One instruction per level, six levels: `next_expiration` never looks
//! at an entry, so it costs the same beside 1 timer or 100,000. `advance`
//! uses it to jump from slot to slot, so moving the clock forward by a year
//! with three timers costs a handful of steps, not 31 billion ticks.
//!
//! The answer is a slot boundary: on level 0 the exact deadline, above it the
//! slot's *start*, when it must cascade, which may come before the earliest
//! deadline in it. The loop sleeps until then (as tokio's does), so a
//! real-clock loop waiting on one far timer may wake early at a slot
//! boundary, cascade, and sleep again: at most once per level on the way
//! down. Finding the exact minimum instead would mean reading every entry of
//! that slot — 100,000 idle keep-alive timeouts in one far slot, read on
//! every park. A paused clock loses nothing: it jumps to the boundary,
//! cascades, and jumps again, landing on the exact deadline.
//!
//! # Keys
//!
//! Entries live in a slab (a `Vec` with a free list), and each slot's list is
//! doubly linked through slab indices. A [`TimerKey`] is the index plus a
//! *generation*: when an entry fires or is removed its place's generation is
//! bumped, so an old key held by a `Sleep` that has already fired can never
//! cancel the stranger that now lives in the same place. A key also names
//! its wheel (every wheel gets a number of its own), so a key carried to
//! another runtime's wheel finds nothing there either.
//!
//! Ticks are plain `u64`s: at 1 ms per tick they last 584 million years, so
//! the arithmetic below does not guard against the count wrapping.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

/// How many levels: 6 levels of 6 bits cover 2^36 ticks, about 2.2 years of
/// milliseconds, which is longer than any sleep a program means to take.
const LEVELS: usize = 6;
/// Slots per level. 64 because one `u64` then holds a level's occupancy, and
/// a bit count on it (`trailing_zeros`) is a single CPU instruction.
const SLOTS: usize = 64;
/// log2(SLOTS): how many bits of a tick count each level reads.
const SLOT_BITS: usize = 6;
/// The low six bits: one level's digit.
const SLOT_MASK: u64 = SLOTS as u64 - 1;

/// Key of an entry: the wheel's number, slab index and generation, so a stale
/// key (entry fired or removed, its place reused) or a key from another wheel
/// (a `Sleep` polled in another runtime) is harmless: it finds nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TimerKey {
    wheel: u64,
    index: u32,
    generation: u32,
}

/// The next wheel's number. Never reused, so no two wheels share one.
static NEXT_WHEEL: AtomicU64 = AtomicU64::new(1);

/// A hierarchical timer wheel: [`TimerWheel::LEVELS`] levels of
/// [`TimerWheel::SLOTS`] slots, holding one `T` per timer.
///
/// The runtime stores a `std::task::Waker` as `T`; tests store ids. The wheel
/// knows nothing of real time: the caller says what tick it is, through
/// [`advance`](TimerWheel::advance).
pub struct TimerWheel<T> {
    /// This wheel's number, stamped on every key it hands out.
    id: u64,
    /// The tick the wheel has advanced to. Invariant: every entry's deadline
    /// is `>= elapsed`; an entry whose deadline `== elapsed` is due and fires
    /// on the next `advance`.
    elapsed: u64,
    levels: [Level; LEVELS],
    /// The slab. A place is reused after its entry fires or is removed.
    places: Vec<Place<T>>,
    /// Indices of the places in `places` that hold no entry.
    free: Vec<usize>,
    /// How many entries are in the wheel.
    len: usize,
}

/// One level: 64 slots and the bitmap of which of them are non-empty.
struct Level {
    /// Invariant, kept by `link`, `unlink` and `take_slot`: bit `s` is set
    /// iff `slots[s]` has at least one entry.
    occupied: u64,
    slots: [Slot; SLOTS],
}

/// One slot: a doubly linked list of entries, through slab indices. New
/// entries join at the tail, so entries with equal deadlines fire in the
/// order they were inserted.
#[derive(Clone, Copy, Default)]
struct Slot {
    head: Link,
    tail: Link,
}

/// A link in a slot's list: a slab index in 4 bytes rather than an
/// `Option<usize>`'s 16 (a wheel holds fewer than 4 billion timers). With the
/// level and slot in a byte each, an entry holding a `Waker` is 40 bytes (48
/// with its slab place's generation).
#[derive(Clone, Copy, PartialEq, Eq)]
struct Link(u32);

impl Link {
    /// The end of a list.
    const NONE: Link = Link(u32::MAX);

    fn to(index: usize) -> Link {
        let index = u32::try_from(index).ok().filter(|&i| i != u32::MAX);
        Link(index.expect("a timer wheel holds fewer than 2^32 - 1 timers"))
    }

    fn get(self) -> Option<usize> {
        (self != Link::NONE).then_some(self.0 as usize)
    }
}

impl Default for Link {
    fn default() -> Link {
        Link::NONE
    }
}

/// A place in the slab: an entry, or nothing, plus how many entries have
/// lived here (the generation a [`TimerKey`] must match).
struct Place<T> {
    generation: u32,
    entry: Option<Entry<T>>,
}

/// A timer in the wheel.
struct Entry<T> {
    /// The tick it fires at (never earlier than `elapsed` was at insertion).
    deadline: u64,
    value: T,
    /// Where it is linked now, so `remove` can unlink it without a search.
    level: u8,
    slot: u8,
    /// Neighbours in the slot's list.
    prev: Link,
    next: Link,
}

// ANCHOR: position
/// Where an entry due at `deadline` belongs, seen from `elapsed`: `(level, slot)`.
///
/// The level is the highest base-64 digit in which the two differ. Worked
/// through once, for `elapsed = 1000` and `deadline = 5000`:
///
/// ```text
///   1000 = 0*4096 + 15*64 + 40   digits (level 2, 1, 0) = ( 0, 15, 40)
///   5000 = 1*4096 + 14*64 +  8   digits                 = ( 1, 14,  8)
///   1000 ^ 5000 = 0b1_000001_100000   the highest set bit is bit 12
///   | 63        = 0b1_000001_111111   (so a difference of 0 still means level 0)
///   63 - leading_zeros = 12;  12 / 6 = level 2;  slot = digit 2 of 5000 = 1
/// ```
///
/// Level 2, slot 1 spans ticks 4096..8192. At 4096 the slot cascades: seen
/// from 4096, 5000 = (1, 14, 8) differs in digit 1, so it moves to level 1,
/// slot 14 (ticks 4992..5056). At 4992 it cascades again, to level 0, slot 8,
/// and fires at 5000.
fn position(elapsed: u64, deadline: u64) -> (usize, usize) {
    debug_assert!(deadline >= elapsed, "the wheel holds no past deadlines");
    let masked = (deadline ^ elapsed) | SLOT_MASK;
    let highest_bit = 63 - masked.leading_zeros() as usize;
    // A deadline beyond the top level (2^36 ticks) would want level 6 or more:
    // clamp it to the top level.
    let level = (highest_bit / SLOT_BITS).min(LEVELS - 1);
    let shift = level * SLOT_BITS;
    // How many slots of this level lie between now and the deadline. Below
    // the top level this is at most 63 by the choice of level; at the top
    // level a far deadline is clamped to the furthest slot (63 ahead): that
    // slot starts before the deadline, and when it does the entry is simply
    // placed again, from the new `elapsed`.
    let distance = (deadline >> shift) - (elapsed >> shift);
    debug_assert!(distance <= SLOT_MASK || level == LEVELS - 1);
    let distance = distance.min(SLOT_MASK);
    let slot = ((elapsed >> shift) + distance) & SLOT_MASK;
    (level, slot as usize)
}
// ANCHOR_END: position

impl<T> TimerWheel<T> {
    /// Number of levels (each one 64 times coarser than the one below).
    pub const LEVELS: usize = LEVELS;
    /// Number of slots per level. With 1 ms ticks the wheel spans 64^6 ms ≈ 2.2 years.
    pub const SLOTS: usize = SLOTS;

    /// An empty wheel at tick 0.
    pub fn new() -> Self {
        TimerWheel {
            id: NEXT_WHEEL.fetch_add(1, Ordering::Relaxed),
            elapsed: 0,
            levels: std::array::from_fn(|_| Level {
                occupied: 0,
                slots: [Slot::default(); SLOTS],
            }),
            places: Vec::new(),
            free: Vec::new(),
            len: 0,
        }
    }

    /// The tick the wheel has advanced to.
    pub fn elapsed(&self) -> u64 {
        self.elapsed
    }

    /// How many timers are waiting (including any that are due but not yet fired).
    pub fn len(&self) -> usize {
        self.len
    }

    /// `true` if no timer is waiting.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// How many slots of each level hold at least one timer, level 0 (1 ms
    /// slots) first: the bitmaps' popcounts, so it reads no entry. A live
    /// view draws it as six bars.
    pub fn occupancy(&self) -> [u32; LEVELS] {
        std::array::from_fn(|level| self.levels[level].occupied.count_ones())
    }

    /// Adds a timer due at tick `deadline`, carrying `value`. O(1).
    ///
    /// A deadline `<= elapsed()` is due at once: it is stored as `elapsed()`
    /// and fires on the next [`advance`](Self::advance), even
    /// `advance(elapsed())`. A deadline beyond the wheel's range
    /// (`>= elapsed() + 64^6`) is parked in the top level's furthest slot and
    /// cascaded again later, so it still fires at its exact tick.
    pub fn insert(&mut self, deadline: u64, value: T) -> TimerKey {
        // The wheel cannot hold the past; "late" means "now".
        let deadline = deadline.max(self.elapsed);
        let entry = Entry {
            deadline,
            value,
            level: 0,
            slot: 0,
            prev: Link::NONE,
            next: Link::NONE,
        };
        let index = match self.free.pop() {
            Some(index) => {
                debug_assert!(self.places[index].entry.is_none());
                self.places[index].entry = Some(entry);
                index
            }
            None => {
                self.places.push(Place {
                    generation: 0,
                    entry: Some(entry),
                });
                self.places.len() - 1
            }
        };
        self.len += 1;
        self.link(index);
        self.key(index)
    }

    /// Cancels a timer and gives back its value. O(1): the entry is unlinked
    /// from its slot's list, and the slot's bit cleared if that empties it.
    /// `None` if the timer already fired or was removed, or the key is
    /// another wheel's.
    pub fn remove(&mut self, key: TimerKey) -> Option<T> {
        self.entry(key)?;
        let index = key.index as usize;
        self.unlink(index);
        Some(self.release(index).1)
    }

    /// The value of a waiting timer, to change it in place (the runtime swaps
    /// in a new waker when a `Sleep` is polled again). `None` if it is gone,
    /// or the key is another wheel's.
    pub fn get_mut(&mut self, key: TimerKey) -> Option<&mut T> {
        self.entry(key)?;
        self.places[key.index as usize]
            .entry
            .as_mut()
            .map(|entry| &mut entry.value)
    }

    /// The tick a waiting timer fires at: its deadline, or the `elapsed()` of
    /// the moment it was inserted if that deadline had already passed.
    /// `None` if it is gone.
    pub fn deadline(&self, key: TimerKey) -> Option<u64> {
        self.entry(key).map(|entry| entry.deadline)
    }

    /// Where a waiting timer is linked right now, as `(level, slot)`: the
    /// wheel's inner state, shown for the book and the tests. `None` if it is gone.
    pub fn level_and_slot(&self, key: TimerKey) -> Option<(usize, usize)> {
        self.entry(key)
            .map(|entry| (entry.level.into(), entry.slot.into()))
    }

    /// The earliest tick at which [`advance`](Self::advance) has work to do:
    /// fire a level-0 slot, or cascade a higher one. `None` if the wheel is
    /// empty; `elapsed()` if something is already due.
    ///
    /// This is a slot boundary, never later than the earliest deadline. For
    /// level 0 it is the exact deadline; for a higher level it is when the
    /// slot must cascade, which may be before the earliest deadline in it. The
    /// runtime may sleep until then, but no longer. Found from the occupancy
    /// bitmaps alone: no entry is looked at, so the cost does not grow with
    /// the number of timers.
    pub fn next_expiration(&self) -> Option<u64> {
        self.next_slot().map(|(when, _, _)| when)
    }

    /// Moves time forward to `now` and calls `fire(key, value)` for every
    /// timer whose deadline is `<= now`, in deadline order (equal deadlines in
    /// insertion order). Returns how many fired. A `now` before `elapsed()`
    /// is taken as `elapsed()`.
    ///
    /// On the way, each higher-level slot whose start is reached is cascaded.
    /// The wheel jumps straight from one slot with work to the next, so a
    /// jump of a year with a few timers in it takes a few steps.
    pub fn advance(&mut self, now: u64, mut fire: impl FnMut(TimerKey, T)) -> usize {
        let now = now.max(self.elapsed);
        let mut fired = 0;
        while let Some((when, level, slot)) = self.next_slot() {
            if when > now {
                break;
            }
            // No slot has work before `when`, so we may skip straight there.
            // Every other entry's slot start is still ahead (or also `when`),
            // so moving `elapsed` does not move any entry's slot.
            self.elapsed = when;
            let mut next = self.take_slot(level, slot);
            while let Some(index) = next {
                // Read the link before the entry is fired or relinked.
                next = self.linked(index).next.get();
                if level == 0 {
                    // A level-0 slot holds exactly one tick: all of it is due now.
                    debug_assert_eq!(self.linked(index).deadline, when);
                    let (key, value) = self.release(index);
                    fire(key, value);
                    fired += 1;
                } else {
                    // Cascade: seen from the slot's start the entry's higher
                    // digits now match, so it lands on a lower level (or, if
                    // it is due right now, in level 0's current slot, which
                    // the next round of this loop fires).
                    self.link(index);
                }
            }
        }
        self.elapsed = now;
        // Everything due has fired, so above level 0 the current slot is
        // empty: each level's occupied slots all lie ahead of now.
        debug_assert!((1..LEVELS).all(|level| {
            let current = (self.elapsed >> (level * SLOT_BITS)) & SLOT_MASK;
            self.levels[level].occupied & (1 << current) == 0
        }));
        fired
    }

    // ANCHOR: next_slot
    /// The next slot with work: `(tick when it is due, level, slot)`.
    fn next_slot(&self) -> Option<(u64, usize, usize)> {
        let mut best: Option<(u64, usize, usize)> = None;
        for (level, state) in self.levels.iter().enumerate() {
            if state.occupied == 0 {
                continue;
            }
            let shift = level * SLOT_BITS;
            let current = (self.elapsed >> shift) & SLOT_MASK;
            // Rotate so the current slot is bit 0: trailing zeros is then the
            // distance to the next occupied slot, wrapping round the level.
            // E.g. current = 5 and slots 2 and 9 occupied: rotated, bit 4
            // (slot 9) and bit 61 (slot 2, next time round) are set; the
            // distance is 4, and slot 9 starts 4 slots of this level from now.
            let distance = u64::from(state.occupied.rotate_right(current as u32).trailing_zeros());
            let when = ((self.elapsed >> shift) + distance) << shift;
            let slot = ((current + distance) & SLOT_MASK) as usize;
            // Strictly earlier only: on a tie the lower level goes first.
            if best.map_or(true, |(earliest, _, _)| when < earliest) {
                best = Some((when, level, slot));
            }
        }
        best
    }
    // ANCHOR_END: next_slot

    /// The key of the entry at slab index `index`, as it is now.
    fn key(&self, index: usize) -> TimerKey {
        TimerKey {
            wheel: self.id,
            // `link` has checked that every index fits a `Link`'s `u32`.
            index: index as u32,
            generation: self.places[index].generation,
        }
    }

    /// The entry behind `key`, if the key is this wheel's and still current.
    fn entry(&self, key: TimerKey) -> Option<&Entry<T>> {
        if key.wheel != self.id {
            return None; // another wheel's key: its index means nothing here
        }
        let place = self.places.get(key.index as usize)?;
        if place.generation != key.generation {
            return None; // the entry fired or was removed; the place moved on
        }
        place.entry.as_ref()
    }

    /// The entry at a slab index that a slot list points to: every walk
    /// along a slot's list reads entries through here.
    fn linked(&self, index: usize) -> &Entry<T> {
        #[cfg(test)]
        tests::count_visit();
        self.places[index]
            .entry
            .as_ref()
            .expect("a slot list points only at live entries")
    }

    fn linked_mut(&mut self, index: usize) -> &mut Entry<T> {
        self.places[index]
            .entry
            .as_mut()
            .expect("a slot list points only at live entries")
    }

    /// Appends the entry at `index` to the tail of the slot its deadline picks.
    fn link(&mut self, index: usize) {
        let (level, slot) = position(self.elapsed, self.linked(index).deadline);
        let tail = self.levels[level].slots[slot].tail;
        let entry = self.linked_mut(index);
        // Both fit a byte: LEVELS and SLOTS are 6 and 64.
        entry.level = level as u8;
        entry.slot = slot as u8;
        entry.prev = tail;
        entry.next = Link::NONE;
        match tail.get() {
            Some(tail) => self.linked_mut(tail).next = Link::to(index),
            None => self.levels[level].slots[slot].head = Link::to(index),
        }
        self.levels[level].slots[slot].tail = Link::to(index);
        // The slot is non-empty now: set its bit.
        self.levels[level].occupied |= 1 << slot;
    }

    /// Takes the entry at `index` out of its slot's list (it stays in the slab).
    fn unlink(&mut self, index: usize) {
        let Entry {
            level,
            slot,
            prev,
            next,
            ..
        } = *self.linked(index);
        let (level, slot) = (usize::from(level), usize::from(slot));
        match prev.get() {
            Some(prev) => self.linked_mut(prev).next = next,
            None => self.levels[level].slots[slot].head = next,
        }
        match next.get() {
            Some(next) => self.linked_mut(next).prev = prev,
            None => self.levels[level].slots[slot].tail = prev,
        }
        let state = &mut self.levels[level];
        if state.slots[slot].head == Link::NONE {
            // That was the last entry: clear the bit, or `next_expiration`
            // would keep pointing at an empty slot.
            state.occupied &= !(1 << slot);
        }
        debug_assert_eq!(
            state.occupied & (1 << slot) != 0,
            state.slots[slot].head != Link::NONE
        );
    }

    /// Empties a whole slot in O(1) and returns the head of its old list.
    /// The entries keep their `next` links, so the caller can walk them.
    fn take_slot(&mut self, level: usize, slot: usize) -> Option<usize> {
        let state = &mut self.levels[level];
        state.occupied &= !(1 << slot);
        state.slots[slot].tail = Link::NONE;
        std::mem::take(&mut state.slots[slot].head).get()
    }

    /// Frees the (already unlinked) entry at `index`, returning its key and value.
    fn release(&mut self, index: usize) -> (TimerKey, T) {
        let key = self.key(index);
        let place = &mut self.places[index];
        let entry = place.entry.take().expect("released entries are live");
        // A new generation: `key` (and any copy of it) no longer matches.
        place.generation = place.generation.wrapping_add(1);
        self.free.push(index);
        self.len -= 1;
        (key, entry.value)
    }
}

impl<T> Default for TimerWheel<T> {
    fn default() -> Self {
        Self::new()
    }
}

/// Shows the clock and each level's occupancy bitmap (slot 0 on the right),
/// which is all `next_expiration` reads.
impl<T> fmt::Debug for TimerWheel<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let occupied: Vec<String> = self
            .levels
            .iter()
            .map(|level| format!("{:064b}", level.occupied))
            .collect();
        f.debug_struct("TimerWheel")
            .field("id", &self.id)
            .field("elapsed", &self.elapsed)
            .field("len", &self.len)
            .field("occupied", &occupied)
            .finish()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::cell::Cell;

    use super::TimerWheel;

    thread_local! {
        /// Entries read through `linked` on this thread: the unit tests count
        /// them to show what a question to the wheel costs, without a stopwatch.
        static VISITS: Cell<u64> = const { Cell::new(0) };
    }

    pub(super) fn count_visit() {
        VISITS.with(|visits| visits.set(visits.get() + 1));
    }

    /// Entries read so far on this thread.
    pub(crate) fn visits() -> u64 {
        VISITS.with(Cell::get)
    }

    /// A level-3 slot spans 64^3 ticks: 262,144 ms, about 4.4 minutes.
    pub(crate) const LEVEL_3_SLOT: u64 = 1 << 18;

    /// 100,000 idle keep-alive timeouts, an hour ahead to within a second:
    /// all in one slot of level 3, the one starting at 13 * 2^18 ms.
    pub(crate) fn keep_alive_deadlines() -> impl Iterator<Item = u64> {
        (0..100_000).map(|i| 3_600_000 + i % 1_000)
    }

    #[test]
    fn the_next_expiration_reads_no_entry_beside_100_000_timers() {
        let mut wheel = TimerWheel::new();
        let keys: Vec<_> = keep_alive_deadlines()
            .map(|deadline| wheel.insert(deadline, ()))
            .collect();
        let slot = wheel.level_and_slot(keys[0]);
        assert_eq!(slot, Some((3, 13)));
        assert!(keys.iter().all(|&key| wheel.level_and_slot(key) == slot));

        // The slot's start, from the bitmaps: not one entry read.
        let before = visits();
        assert_eq!(wheel.next_expiration(), Some(13 * LEVEL_3_SLOT));
        assert_eq!(visits() - before, 0);

        // Beside a near timer, the same: level 0 answers first.
        wheel.insert(5, ());
        let before = visits();
        assert_eq!(wheel.next_expiration(), Some(5));
        assert_eq!(visits() - before, 0);

        // The counter does count: cascading the slot reads every entry in it.
        let before = visits();
        wheel.advance(13 * LEVEL_3_SLOT, |_, ()| ());
        assert!(visits() - before >= 100_000);
    }
}
