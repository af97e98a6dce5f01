//! Feature hashing as scikit-learn's `HashingVectorizer`: MurmurHash3 (x86, 32-bit, seed 0)
//! of the feature's UTF-8 bytes, read as a signed integer; the column is its absolute value
//! modulo `n_features`, and with `alternate_sign` a negative hash counts −1 instead of +1.
//!
//! Takes a feature string, hands on a column and a sign; knows nothing of vocabularies.

/// MurmurHash3_x86_32 of `bytes` with `seed`.
pub(crate) fn murmur3_32(bytes: &[u8], seed: u32) -> u32 {
    const C1: u32 = 0xcc9e_2d51;
    const C2: u32 = 0x1b87_3593;
    let mut h = seed;
    let mut blocks = bytes.chunks_exact(4);
    for block in &mut blocks {
        let mut k = u32::from_le_bytes([block[0], block[1], block[2], block[3]]);
        k = k.wrapping_mul(C1).rotate_left(15).wrapping_mul(C2);
        h ^= k;
        h = h.rotate_left(13).wrapping_mul(5).wrapping_add(0xe654_6b64);
    }
    let tail = blocks.remainder();
    if !tail.is_empty() {
        let mut k = 0u32;
        for (i, &b) in tail.iter().enumerate() {
            k |= u32::from(b) << (8 * i);
        }
        k = k.wrapping_mul(C1).rotate_left(15).wrapping_mul(C2);
        h ^= k;
    }
    // The length is mixed in modulo 2^32, as the reference implementation's `int len`.
    h ^= bytes.len() as u32;
    h ^= h >> 16;
    h = h.wrapping_mul(0x85eb_ca6b);
    h ^= h >> 13;
    h = h.wrapping_mul(0xc2b2_ae35);
    h ^= h >> 16;
    h
}

/// The column of `feature` among `n_features`, and the value one occurrence adds to it.
pub(crate) fn hashed_column(feature: &str, n_features: u32, alternate_sign: bool) -> (u32, i32) {
    let signed = murmur3_32(feature.as_bytes(), 0) as i32;
    let column = signed.unsigned_abs() % n_features;
    let sign = if alternate_sign && signed < 0 { -1 } else { 1 };
    (column, sign)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn murmur3_matches_reference_vectors() {
        // Published MurmurHash3_x86_32 test vectors, confirmed with sklearn.utils.murmurhash3_32.
        for (input, seed, expected) in [
            ("", 0, 0u32),
            ("", 1, 0x514E_28B7),
            ("", 0xffff_ffff, 0x81F1_6F39),
            ("test", 0, 0xba6b_d213),
            ("Hello, world!", 0x9747_b28c, 0x2488_4CBA),
            (
                "The quick brown fox jumps over the lazy dog",
                0x9747_b28c,
                0x2FA8_26CD,
            ),
            ("aaaa", 0x9747_b28c, 0x5A97_808A),
            ("abc", 0, 0xB3DD_93FA),
        ] {
            assert_eq!(murmur3_32(input.as_bytes(), seed), expected, "{input:?}");
        }
    }

    #[test]
    fn the_most_negative_hash_maps_like_scikit_learn() {
        // scikit-learn maps abs(-2^31) to (2^31 - 1 - (n - 1)) % n, which is 2^31 % n.
        for n in [1u32, 3, 1000, 1 << 20, i32::MAX as u32] {
            assert_eq!((i32::MIN).unsigned_abs() % n, (2_147_483_647 - (n - 1)) % n);
        }
    }
}
