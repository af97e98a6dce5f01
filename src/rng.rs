//! The one source of randomness. Every random choice in `stance` takes an explicit seed and
//! goes through [`seeded`], a ChaCha8 generator whose output is the same on every platform.
//!
//! A `stream` separates independent uses of one seed (fold assignment, bootstrap, permutation
//! number `i`, ...) so that adding a consumer never shifts the numbers another one sees.

use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::SeedableRng;

/// A portable generator for `seed`, on its own `stream`.
pub fn seeded(seed: u64, stream: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream);
    rng
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::RngExt as _;

    #[test]
    fn same_seed_and_stream_give_same_numbers() {
        let a: Vec<u64> = (0..4)
            .map({
                let mut r = seeded(42, 0);
                move |_| r.random()
            })
            .collect();
        let b: Vec<u64> = (0..4)
            .map({
                let mut r = seeded(42, 0);
                move |_| r.random()
            })
            .collect();
        let c: Vec<u64> = (0..4)
            .map({
                let mut r = seeded(42, 1);
                move |_| r.random()
            })
            .collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }
}
