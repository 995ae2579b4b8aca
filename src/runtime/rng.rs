//! A small seeded random number generator: SplitMix64.
//!
//! A seeded runtime (`Builder::seed`) uses it to pick the order of the tasks
//! ready in a turn, of the timers that fire together, and of the I/O events of
//! one poll; the simulated connections of `evloop::testing` use it for their
//! latencies. It has to be *repeatable*, not unpredictable: the same seed must
//! give the same numbers on every machine, in every build, forever — so it is
//! written here, in a dozen lines, rather than borrowed from a crate whose
//! algorithm may change in a minor version.
//!
//! SplitMix64 (Steele, Lea and Flood, 2014; the seeder of Java's
//! `SplittableRandom` and of xoshiro) adds a constant to its state and mixes
//! the result: any seed, even 0, gives a well-spread sequence, and
//! neighbouring seeds (0, 1, 2, … as `explore` tries them) give unrelated ones.

/// A seeded SplitMix64 generator: the same seed gives the same sequence.
///
/// ```
/// use evloop::testing::Rng;
/// let (mut a, mut b) = (Rng::new(7), Rng::new(7));
/// assert_eq!(a.next_u64(), b.next_u64());
/// let mut cards = [1, 2, 3, 4, 5];
/// a.shuffle(&mut cards);
/// b.shuffle(&mut [0; 5]); // same draws, so the two stay in step
/// assert_eq!(a.next_u64(), b.next_u64());
/// ```
#[derive(Debug, Clone)]
pub struct Rng {
    state: u64,
}

impl Rng {
    /// A generator whose sequence is fixed by `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng { state: seed }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`). Multiply-and-shift (Lemire) rather than
    /// `%`: no division, and the bias for the small `n` used here is far below
    /// anything a test could notice.
    pub fn below(&mut self, n: u64) -> u64 {
        debug_assert!(n > 0, "Rng::below(0): the range is empty");
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// True with probability `p` (0.0 never, 1.0 always).
    pub fn chance(&mut self, p: f64) -> bool {
        // 53 random bits as a float in [0, 1).
        ((self.next_u64() >> 11) as f64 / (1u64 << 53) as f64) < p
    }

    // ANCHOR: shuffle
    /// Put `items` in a random order (Fisher–Yates: each of the n! orders is
    /// equally likely). One draw per item; a slice of 0 or 1 draws nothing.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            items.swap(i, j);
        }
    }
    // ANCHOR_END: shuffle
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sequence_is_splitmix64() {
        // The reference values of SplitMix64 from seed 0 (as in the
        // xoshiro authors' C code): a change of algorithm would change every
        // recorded seed's meaning, so it must not happen silently.
        let mut rng = Rng::new(0);
        assert_eq!(rng.next_u64(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(rng.next_u64(), 0x6E78_9E6A_A1B9_65F4);
    }

    #[test]
    fn shuffle_gives_every_order_of_three() {
        let mut rng = Rng::new(1);
        let mut seen = std::collections::BTreeMap::new();
        for _ in 0..6_000 {
            let mut items = [0, 1, 2];
            rng.shuffle(&mut items);
            *seen.entry(items).or_insert(0) += 1;
        }
        assert_eq!(seen.len(), 6, "all 3! orders appear");
        for count in seen.values() {
            assert!((800..1200).contains(count), "roughly even: {seen:?}");
        }
    }

    #[test]
    fn below_stays_in_range() {
        let mut rng = Rng::new(99);
        assert!((0..10_000).all(|_| rng.below(7) < 7));
        assert_eq!(rng.below(1), 0);
    }
}
