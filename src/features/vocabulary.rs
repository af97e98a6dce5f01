//! Term interning: a string table that hands out dense ids, so that the hot path hashes each
//! token once, compares it in place, and never allocates a `String` per token.
//!
//! A token of at most 16 bytes is keyed by its bytes packed into two `u64`s, so finding it
//! costs one hash of three words and one probe of a flat, linearly probed table; longer
//! tokens are hashed and compared through the byte arena. Ids are given in first-seen order
//! and are provisional: column order is decided later, by sorting terms. Nothing here iterates
//! a hash table in an order that can reach output.

use std::hash::BuildHasher;

use hashbrown::HashTable;
use rustc_hash::FxBuildHasher;

fn hash_term(term: &str) -> u64 {
    FxBuildHasher.hash_one(term.as_bytes())
}

const INLINE: usize = 16;

#[inline]
fn load_u64(bytes: &[u8]) -> u64 {
    let mut word = [0u8; 8];
    word.copy_from_slice(&bytes[..8]);
    u64::from_le_bytes(word)
}

#[inline]
fn load_u32(bytes: &[u8]) -> u64 {
    let mut word = [0u8; 4];
    word.copy_from_slice(&bytes[..4]);
    u64::from(u32::from_le_bytes(word))
}

/// The bytes of a token of at most 16 bytes as two words; with the length, this identifies
/// the token (the loads overlap rather than pad, so no byte is read twice differently).
#[inline]
fn pack_short(bytes: &[u8]) -> (u64, u64) {
    let len = bytes.len();
    if len >= 8 {
        (load_u64(bytes), load_u64(&bytes[len - 8..]))
    } else if len >= 4 {
        (load_u32(bytes) | (load_u32(&bytes[len - 4..]) << 32), 0)
    } else {
        let mut word = 0u64;
        for (i, &b) in bytes.iter().enumerate() {
            word |= u64::from(b) << (8 * i);
        }
        (word, 0)
    }
}

#[inline]
fn mix(a: u64, b: u64, len: usize) -> u64 {
    const K: u64 = 0x9E37_79B9_7F4A_7C15;
    let h = (a ^ (len as u64).rotate_left(32)).wrapping_mul(K) ^ b;
    let h = h.wrapping_mul(K);
    h ^ (h >> 29)
}

/// One slot of the table. Short tokens: `a`, `b` are their packed bytes. Long tokens: `a` is
/// the start in the arena and `b` the full hash. `len == EMPTY` marks a free slot.
#[derive(Clone, Copy)]
struct Slot {
    a: u64,
    b: u64,
    id: u32,
    len: u32,
}

const EMPTY: u32 = u32::MAX;
const FREE: Slot = Slot {
    a: 0,
    b: 0,
    id: 0,
    len: EMPTY,
};

/// Interned terms stored back to back in one buffer.
#[derive(Clone)]
pub(crate) struct TermTable {
    slots: Vec<Slot>,
    mask: usize,
    /// Where each id's term ends in `bytes`.
    ends: Vec<usize>,
    bytes: String,
}

impl Default for TermTable {
    fn default() -> TermTable {
        TermTable {
            slots: vec![FREE; 1024],
            mask: 1023,
            ends: Vec::new(),
            bytes: String::new(),
        }
    }
}

impl TermTable {
    pub(crate) fn len(&self) -> usize {
        self.ends.len()
    }

    pub(crate) fn term(&self, id: u32) -> &str {
        let id = id as usize;
        let start = if id == 0 { 0 } else { self.ends[id - 1] };
        &self.bytes[start..self.ends[id]]
    }

    /// Where a token's slot is (found or free), and the slot's key.
    #[inline]
    fn probe(&self, term: &str) -> (usize, Slot) {
        let bytes = term.as_bytes();
        let len = bytes.len();
        let (key, hash) = if len <= INLINE {
            let (a, b) = pack_short(bytes);
            let key = Slot {
                a,
                b,
                id: 0,
                len: len as u32,
            };
            (key, mix(a, b, len))
        } else {
            let hash = hash_term(term);
            let key = Slot {
                a: 0,
                b: hash,
                id: 0,
                len: u32::try_from(len).unwrap_or(EMPTY - 1),
            };
            (key, hash)
        };
        let mut i = (hash as usize) & self.mask;
        loop {
            let slot = self.slots[i];
            if slot.len == EMPTY {
                return (i, key);
            }
            if slot.len == key.len {
                let same = if len <= INLINE {
                    slot.a == key.a && slot.b == key.b
                } else {
                    let start = slot.a as usize;
                    slot.b == key.b && self.bytes.as_bytes().get(start..start + len) == Some(bytes)
                };
                if same {
                    return (i, slot);
                }
            }
            i = (i + 1) & self.mask;
        }
    }

    /// The id of `term`, adding it if new.
    #[inline]
    pub(crate) fn intern(&mut self, term: &str) -> u32 {
        let (i, mut slot) = self.probe(term);
        if self.slots[i].len != EMPTY {
            return slot.id;
        }
        let id = u32::try_from(self.ends.len()).unwrap_or(u32::MAX);
        if term.len() > INLINE {
            slot.a = self.bytes.len() as u64;
        }
        slot.id = id;
        self.bytes.push_str(term);
        self.ends.push(self.bytes.len());
        self.slots[i] = slot;
        // Keep the load at most one half, so probes stay short.
        if self.ends.len() * 2 > self.slots.len() {
            self.grow();
        }
        id
    }

    fn grow(&mut self) {
        let doubled = vec![FREE; self.slots.len() * 2];
        let old = std::mem::replace(&mut self.slots, doubled);
        self.mask = self.slots.len() - 1;
        for slot in old.into_iter().filter(|s| s.len != EMPTY) {
            let hash = if slot.len as usize <= INLINE {
                mix(slot.a, slot.b, slot.len as usize)
            } else {
                slot.b
            };
            let mut i = (hash as usize) & self.mask;
            while self.slots[i].len != EMPTY {
                i = (i + 1) & self.mask;
            }
            self.slots[i] = slot;
        }
    }
}

/// A read-only index from term to column over a sorted vocabulary.
#[derive(Clone, Default)]
pub(crate) struct VocabularyIndex {
    table: HashTable<u32>,
}

impl VocabularyIndex {
    pub(crate) fn new(vocabulary: &[String]) -> VocabularyIndex {
        let mut table = HashTable::with_capacity(vocabulary.len());
        for (column, term) in vocabulary.iter().enumerate() {
            let column = u32::try_from(column).unwrap_or(u32::MAX);
            table.insert_unique(hash_term(term), column, |&c| {
                hash_term(&vocabulary[c as usize])
            });
        }
        VocabularyIndex { table }
    }

    #[inline]
    pub(crate) fn column(&self, vocabulary: &[String], term: &str) -> Option<u32> {
        self.table
            .find(hash_term(term), |&c| vocabulary[c as usize] == term)
            .copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interning_gives_dense_stable_ids() {
        let mut terms = TermTable::default();
        let words = ["b", "a", "b", "", "ccc", "a"];
        let ids: Vec<u32> = words.iter().map(|w| terms.intern(w)).collect();
        assert_eq!(ids, [0, 1, 0, 2, 3, 1]);
        assert_eq!(terms.len(), 4);
        assert_eq!(terms.term(3), "ccc");
        for i in 0..2000 {
            terms.intern(&i.to_string());
        }
        assert_eq!(terms.intern("1999"), 4 + 1999);
        assert_eq!(terms.intern("b"), 0);
        assert_eq!(terms.len(), 2004);
    }

    #[test]
    fn tokens_of_every_length_are_told_apart() {
        // Lengths around the packing boundaries (3/4, 7/8, 16/17), and strings that differ
        // only in bytes covered by overlapping loads.
        let mut words: Vec<String> = Vec::new();
        for len in 0..40 {
            words.push("x".repeat(len));
            words.push(format!("{}y", "x".repeat(len)));
            words.push(format!("y{}", "x".repeat(len)));
            words.push(format!("{}\0", "x".repeat(len)));
            words.push(format!("é{}", "x".repeat(len)));
        }
        let mut terms = TermTable::default();
        let ids: Vec<u32> = words.iter().map(|w| terms.intern(w)).collect();
        let mut distinct = words.clone();
        distinct.sort();
        distinct.dedup();
        assert_eq!(terms.len(), distinct.len());
        for (word, &id) in words.iter().zip(&ids) {
            assert_eq!(terms.term(id), word);
            assert_eq!(terms.intern(word), id);
        }
    }

    #[test]
    fn vocabulary_index_finds_columns() {
        let vocabulary: Vec<String> = ["aa", "bb", "cc"].map(String::from).to_vec();
        let index = VocabularyIndex::new(&vocabulary);
        assert_eq!(index.column(&vocabulary, "bb"), Some(1));
        assert_eq!(index.column(&vocabulary, "dd"), None);
    }
}
