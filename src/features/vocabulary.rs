//! Term interning: a string table that hands out dense ids, so that the hot path hashes each
//! token once, compares it in place, and never allocates a `String` per token.
//!
//! A token of at most 16 bytes is keyed by its bytes packed into two `u64`s, so finding it
//! costs one hash of three words and one probe of a flat, linearly probed table; longer
//! tokens are hashed and compared through the byte arena. Ids are given in first-seen order
//! and are provisional: column order is decided later, by sorting terms. Nothing here iterates
//! a hash table in an order that can reach output.

use std::hash::BuildHasher;

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

/// A term's slot contents and hash, computed once: for a short term, the key alone is the term.
#[derive(Clone, Copy)]
struct TermKey {
    slot: Slot,
    hash: u64,
}

impl TermKey {
    #[inline]
    fn new(term: &str) -> TermKey {
        let bytes = term.as_bytes();
        let len = bytes.len();
        if len <= INLINE {
            let (a, b) = pack_short(bytes);
            let slot = Slot {
                a,
                b,
                id: 0,
                len: len as u32,
            };
            TermKey {
                slot,
                hash: mix(a, b, len),
            }
        } else {
            let hash = hash_term(term);
            let len = u32::try_from(len).unwrap_or(EMPTY - 1);
            let slot = Slot {
                a: 0,
                b: hash,
                id: 0,
                len,
            };
            TermKey { slot, hash }
        }
    }

    /// The bytes of a short term back from its packed words (the inverse of `pack_short`).
    fn unpack_short<'b>(&self, buffer: &'b mut [u8; INLINE]) -> &'b [u8] {
        let len = self.slot.len as usize;
        let (a, b) = (self.slot.a.to_le_bytes(), self.slot.b.to_le_bytes());
        if len >= 8 {
            buffer[..8].copy_from_slice(&a);
            buffer[len - 8..len].copy_from_slice(&b);
        } else if len >= 4 {
            buffer[..4].copy_from_slice(&a[..4]);
            buffer[len - 4..len].copy_from_slice(&a[4..]);
        } else {
            buffer[..len].copy_from_slice(&a[..len]);
        }
        &buffer[..len]
    }
}

/// The key of a term of at most 16 bytes, which can be interned later without the term.
#[derive(Clone, Copy)]
pub(crate) struct ShortKey(TermKey);

impl ShortKey {
    /// `None` for terms longer than 16 bytes.
    #[inline]
    pub(crate) fn new(term: &str) -> Option<ShortKey> {
        (term.len() <= INLINE).then(|| ShortKey(TermKey::new(term)))
    }
}

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

    /// The slot where the term of `key` is, or the free slot where it would go.
    #[inline]
    fn probe(&self, key: &TermKey, long: Option<&[u8]>) -> usize {
        let mut i = (key.hash as usize) & self.mask;
        loop {
            let slot = &self.slots[i];
            if slot.len == EMPTY {
                return i;
            }
            if slot.len == key.slot.len {
                let same = match long {
                    None => slot.a == key.slot.a && slot.b == key.slot.b,
                    Some(bytes) => {
                        let start = slot.a as usize;
                        slot.b == key.slot.b
                            && self.bytes.as_bytes().get(start..start + bytes.len()) == Some(bytes)
                    }
                };
                if same {
                    return i;
                }
            }
            i = (i + 1) & self.mask;
        }
    }

    /// The id of `term`, adding it if new.
    #[inline]
    pub(crate) fn intern(&mut self, term: &str) -> u32 {
        let key = TermKey::new(term);
        if term.len() <= INLINE {
            self.intern_short(&ShortKey(key))
        } else {
            self.insert_at(self.probe(&key, Some(term.as_bytes())), key, term)
        }
    }

    /// The id of the short term (at most 16 bytes) that `key` was made from, adding it if new.
    #[inline]
    pub(crate) fn intern_short(&mut self, key: &ShortKey) -> u32 {
        let key = &key.0;
        let i = self.probe(key, None);
        if self.slots[i].len != EMPTY {
            return self.slots[i].id;
        }
        let mut buffer = [0u8; INLINE];
        let term = key.unpack_short(&mut buffer);
        match std::str::from_utf8(term) {
            Ok(term) => self.insert_at(i, *key, term),
            // Unreachable: the bytes came from a `&str`.
            Err(_) => u32::MAX,
        }
    }

    /// The id of `term`, if interned.
    #[inline]
    pub(crate) fn get(&self, term: &str) -> Option<u32> {
        let key = TermKey::new(term);
        let long = (term.len() > INLINE).then_some(term.as_bytes());
        let slot = &self.slots[self.probe(&key, long)];
        (slot.len != EMPTY).then_some(slot.id)
    }

    fn insert_at(&mut self, i: usize, key: TermKey, term: &str) -> u32 {
        if self.slots[i].len != EMPTY {
            return self.slots[i].id;
        }
        let mut slot = key.slot;
        if term.len() > INLINE {
            slot.a = self.bytes.len() as u64;
        }
        slot.id = u32::try_from(self.ends.len()).unwrap_or(u32::MAX);
        self.bytes.push_str(term);
        self.ends.push(self.bytes.len());
        self.slots[i] = slot;
        // Keep the load at most one half, so probes stay short.
        if self.ends.len() * 2 > self.slots.len() {
            self.grow();
        }
        slot.id
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
    fn short_keys_intern_later_and_get_finds_without_adding() {
        let mut terms = TermTable::default();
        let words = [
            "kim",
            "a",
            "moscow",
            "pyongyang",
            "ab\u{0}",
            "exactly16bytes!!",
            "seventeen bytes!!",
        ];
        let keys: Vec<Option<ShortKey>> = words.iter().map(|w| ShortKey::new(w)).collect();
        assert!(keys[6].is_none());
        for (word, key) in words.iter().zip(&keys) {
            let id = match key {
                Some(key) => terms.intern_short(key),
                None => terms.intern(word),
            };
            assert_eq!(terms.term(id), *word);
            assert_eq!(terms.get(word), Some(id));
        }
        assert_eq!(terms.get("beijing"), None);
        assert_eq!(terms.get("seventeen bytes!?"), None);
        assert_eq!(terms.len(), words.len());
    }
}
