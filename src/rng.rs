//! Seeded randomness that does not depend on libtorch's global generator:
//! a small 64-bit generator and seeded permutations, so that batch order,
//! latent codes drawn for a figure and attack start points depend on the
//! seed alone.
//!
//! ```
//! use gan_tutorial::rng::{permutation, SplitMix64};
//! let mut rng = SplitMix64::new(7);
//! assert!(rng.below(10) < 10);
//! assert_eq!(permutation(5, 1), permutation(5, 1));
//! ```

/// A small, well-mixed 64-bit generator (SplitMix64, Steele et al. 2014).
/// Used for shuffling so that batch order depends on the seed alone, not on
/// libtorch's generator state.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n` (Lemire's multiply-shift; bias below 2^-32 for n < 2^32).
    pub fn below(&mut self, n: usize) -> usize {
        ((self.next_u64() >> 32).wrapping_mul(n as u64) >> 32) as usize
    }
}

/// A permutation of `0..n` from `seed` (Fisher-Yates).
pub fn permutation(n: usize, seed: u64) -> Vec<i64> {
    let mut rng = SplitMix64::new(seed);
    let mut p: Vec<i64> = (0..n as i64).collect();
    for i in (1..n).rev() {
        p.swap(i, rng.below(i + 1));
    }
    p
}

/// libtorch's random generator is global to the process. A section that seeds
/// it and then draws from it (a network's initialisation: `manual_seed`, then
/// the weights) holds this lock, so that two such sections on different
/// threads (cargo's parallel tests, a caller's worker threads) cannot
/// interleave their draws: without it a classifier's or a GAN's initial
/// weights, and so everything trained from them, depend on what else the
/// process does at that moment (seen: a CI run where an integration test's
/// PGD-trained LeNet missed its robustness check while other tests trained
/// beside it; `tests/seeded_init.rs` shows the difference). Not held across
/// training steps; a test that needs a step's own draws repeated holds
/// `torch_rng_lock` (tests only) as well.
pub(crate) fn seeded_section() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// libtorch's random generator is global to the process and unit tests run
/// on several threads: a test that checks "same seed, same numbers", and
/// every test that draws from the generator while such a test could run,
/// holds this lock.
#[cfg(test)]
pub(crate) fn torch_rng_lock() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permutation_is_seeded_and_complete() {
        let a = permutation(1000, 7);
        let mut s = a.clone();
        s.sort();
        assert_eq!(s, (0..1000).collect::<Vec<i64>>());
        assert_eq!(a, permutation(1000, 7));
        assert_ne!(a, permutation(1000, 8));
        assert_ne!(a, (0..1000).collect::<Vec<i64>>());
    }
}
