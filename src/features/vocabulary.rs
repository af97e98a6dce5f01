//! Term interning: a string table that hands out dense ids, so that the hot path hashes each
//! token once, compares it in place, and never allocates a `String` per token.
//!
//! A token of at most 16 bytes is keyed by its bytes packed into two `u64`s, so finding it
//! costs one hash of three words and one probe of a flat, linearly probed table whose slots
//! hold the key itself and the id: a token touches one cache line, and lookups only read
//! the table (counting happens elsewhere, by id). Longer tokens are hashed and compared
//! through the byte arena. Ids are given in first-seen order and are provisional: column
//! order is decided later, by sorting terms. Nothing here iterates a hash table in an order
//! that can reach output.

use std::cmp::Ordering;
use std::hash::BuildHasher;

use rustc_hash::FxBuildHasher;

/// Terms of at most this many bytes are keyed by their bytes: [`ShortKey`].
pub(crate) const SHORT_TERM: usize = 16;
const INLINE: usize = SHORT_TERM;

fn hash_long(term: &str) -> u64 {
    FxBuildHasher.hash_one(term.as_bytes())
}

/// The hash of a short term's words. One multiply: the table takes its slot from the high
/// bits of the product, which depend on every bit of the key (Fibonacci hashing).
#[inline]
fn mix(a: u64, b: u64, len: usize) -> u64 {
    const K: u64 = 0x9E37_79B9_7F4A_7C15;
    (a ^ b.rotate_left(29) ^ ((len as u64) << 59)).wrapping_mul(K)
}

/// Eight bytes of `bytes` from `at`, little-endian (so byte `at` is the low byte).
#[inline]
fn load_u64(bytes: &[u8], at: usize) -> u64 {
    let mut word = [0u8; 8];
    word.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(word)
}

/// The two words of a short term (at most 16 bytes); with the length, they identify it.
/// Up to 8 bytes: the bytes, zero-padded, and 0. Longer: the first 8 and the last 8 bytes
/// (overlapping rather than padded, so no byte is read twice differently).
#[inline]
fn pack_short(bytes: &[u8]) -> (u64, u64) {
    let len = bytes.len();
    if len > 8 {
        (load_u64(bytes, 0), load_u64(bytes, len - 8))
    } else {
        let mut word = [0u8; 8];
        word[..len].copy_from_slice(bytes);
        (u64::from_le_bytes(word), 0)
    }
}

/// The key of a term of at most 16 bytes: enough to find it, or to add it, without the text.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ShortKey {
    a: u64,
    b: u64,
    len: u32,
    hash: u64,
}

impl ShortKey {
    fn from_words(a: u64, b: u64, len: usize) -> ShortKey {
        ShortKey {
            a,
            b,
            len: len as u32,
            hash: mix(a, b, len),
        }
    }

    /// `None` for terms longer than 16 bytes.
    #[inline]
    pub(crate) fn new(term: &str) -> Option<ShortKey> {
        let len = term.len();
        (len <= INLINE).then(|| {
            let (a, b) = pack_short(term.as_bytes());
            ShortKey::from_words(a, b, len)
        })
    }

    /// The key of `text[start..end]`, a term of 1 to 16 bytes, when `text` has at least 8
    /// bytes from `start` on (the scanner pads its text): one or two word loads, no copy.
    #[inline(always)]
    pub(crate) fn from_padded(text: &[u8], start: usize, end: usize) -> ShortKey {
        /// The mask of the term's bytes in its first word, by length.
        const FIRST_WORD: [u64; INLINE + 1] = {
            let mut masks = [u64::MAX; INLINE + 1];
            let mut len = 0;
            while len < 8 {
                masks[len] = (1 << (8 * len)) - 1;
                len += 1;
            }
            masks
        };
        let len = end - start;
        let a = load_u64(text, start) & FIRST_WORD[len];
        let b = if len > 8 { load_u64(text, end - 8) } else { 0 };
        ShortKey::from_words(a, b, len)
    }

    /// The term's bytes back from the key (the inverse of `pack_short`).
    fn unpack<'b>(&self, buffer: &'b mut [u8; INLINE]) -> &'b [u8] {
        let len = self.len as usize;
        buffer[..8].copy_from_slice(&self.a.to_le_bytes());
        if len > 8 {
            buffer[len - 8..len].copy_from_slice(&self.b.to_le_bytes());
        }
        &buffer[..len]
    }
}

/// One slot of the table: a term's key (short terms: packed bytes; long ones: `a` is the
/// start in the arena and `b` the full hash), its length and its id. `len == EMPTY` marks a
/// free slot.
#[derive(Clone, Copy, Debug)]
struct Slot {
    a: u64,
    b: u64,
    len: u32,
    id: u32,
}

const EMPTY: u32 = u32::MAX;

const FREE: Slot = Slot {
    a: 0,
    b: 0,
    len: EMPTY,
    id: 0,
};

impl Slot {
    fn hash(&self) -> u64 {
        if self.len as usize <= INLINE {
            mix(self.a, self.b, self.len as usize)
        } else {
            self.b
        }
    }
}

/// Interned terms, and their text back to back in one buffer.
#[derive(Clone, Debug)]
pub(crate) struct TermTable {
    /// Linear probing, at most half full so that probes stay short; a term's first slot is
    /// the top bits of its hash (`hash >> shift`).
    slots: Vec<Slot>,
    shift: u32,
    /// The terms in id order.
    terms: Vocabulary,
}

impl Default for TermTable {
    fn default() -> TermTable {
        TermTable {
            slots: vec![FREE; 1024],
            shift: 64 - 10,
            terms: Vocabulary::default(),
        }
    }
}

impl TermTable {
    pub(crate) fn len(&self) -> usize {
        self.terms.len()
    }

    /// The term of `id`. Panics if there is no such id, as slice indexing.
    pub(crate) fn term(&self, id: u32) -> &str {
        &self.terms.text[self.terms.span(id as usize)]
    }

    /// The slot holding the term with `hash` for which `same` holds, or the free slot where
    /// it would go.
    #[inline(always)]
    fn probe(&self, hash: u64, same: impl Fn(&Slot) -> bool) -> usize {
        let mask = self.slots.len() - 1;
        let mut i = (hash >> self.shift) as usize;
        loop {
            let slot = &self.slots[i];
            if slot.len == EMPTY || same(slot) {
                return i;
            }
            i = (i + 1) & mask;
        }
    }

    #[inline(always)]
    fn probe_short(&self, key: &ShortKey) -> usize {
        // A free slot's `len` matches no key.
        self.probe(key.hash, |s| {
            s.a == key.a && s.b == key.b && s.len == key.len
        })
    }

    fn probe_long(&self, term: &str, hash: u64) -> usize {
        self.probe(hash, |s| {
            let start = s.a as usize;
            s.b == hash
                && s.len as usize == term.len()
                && self.terms.text.as_bytes().get(start..start + term.len())
                    == Some(term.as_bytes())
        })
    }

    /// The id of `term`, adding it if new.
    pub(crate) fn intern(&mut self, term: &str) -> u32 {
        let i = match ShortKey::new(term) {
            Some(key) => return self.intern_short(&key),
            None => {
                let hash = hash_long(term);
                let i = self.probe_long(term, hash);
                if self.slots[i].len == EMPTY {
                    let a = self.terms.text.len() as u64;
                    // No term from memory is 4 GB long; the arena comparison stays exact.
                    let len = u32::try_from(term.len()).unwrap_or(EMPTY - 1);
                    return self.insert(i, a, hash, len, term);
                }
                i
            }
        };
        self.slots[i].id
    }

    /// The id of the short term `key` was made from, adding it if new.
    #[inline(always)]
    pub(crate) fn intern_short(&mut self, key: &ShortKey) -> u32 {
        let i = self.probe_short(key);
        if self.slots[i].len != EMPTY {
            return self.slots[i].id;
        }
        self.insert_short(i, key)
    }

    #[cold]
    #[inline(never)]
    fn insert_short(&mut self, i: usize, key: &ShortKey) -> u32 {
        let mut buffer = [0u8; INLINE];
        match std::str::from_utf8(key.unpack(&mut buffer)) {
            Ok(term) => self.insert(i, key.a, key.b, key.len, term),
            // Unreachable: keys are made from `&str`s and from ASCII spans.
            Err(_) => u32::MAX,
        }
    }

    /// The id of `term`, if interned.
    pub(crate) fn get(&self, term: &str) -> Option<u32> {
        let i = match ShortKey::new(term) {
            Some(key) => self.probe_short(&key),
            None => self.probe_long(term, hash_long(term)),
        };
        let slot = &self.slots[i];
        (slot.len != EMPTY).then_some(slot.id)
    }

    /// Put a new term in the free slot `i`; returns its id.
    fn insert(&mut self, i: usize, a: u64, b: u64, len: u32, term: &str) -> u32 {
        // Ids must fit in 32 bits; past that (never, in memory) they saturate.
        let id = u32::try_from(self.terms.len()).unwrap_or(u32::MAX);
        self.slots[i] = Slot { a, b, len, id };
        self.terms.push(term);
        if self.terms.len() * 2 > self.slots.len() {
            self.grow();
        }
        id
    }

    fn grow(&mut self) {
        let doubled = vec![FREE; self.slots.len() * 2];
        let old = std::mem::replace(&mut self.slots, doubled);
        self.shift -= 1;
        let mask = self.slots.len() - 1;
        for slot in old.into_iter().filter(|s| s.len != EMPTY) {
            let mut i = (slot.hash() >> self.shift) as usize;
            while self.slots[i].len != EMPTY {
                i = (i + 1) & mask;
            }
            self.slots[i] = slot;
        }
    }
}

/// A term in string order: its first 16 bytes as two big-endian integers (UTF-8 byte order
/// is code point order, Python's string order), which settle almost every comparison and
/// hold the whole of most terms; its length; its id in its table.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SortedTerm {
    prefix: [u64; 2],
    pub(crate) len: u32,
    pub(crate) id: u32,
}

impl SortedTerm {
    fn of(table: &TermTable, id: u32) -> SortedTerm {
        let term = table.term(id).as_bytes();
        let mut bytes = [0u8; 16];
        let n = term.len().min(16);
        bytes[..n].copy_from_slice(&term[..n]);
        let half = |at: usize| {
            let mut word = [0u8; 8];
            word.copy_from_slice(&bytes[at..at + 8]);
            u64::from_be_bytes(word)
        };
        SortedTerm {
            prefix: [half(0), half(8)],
            len: term.len() as u32,
            id,
        }
    }

    /// The term, from its prefix when it fits (no trip to the table's text).
    pub(crate) fn text<'t>(&self, table: &'t TermTable, buffer: &'t mut [u8; 16]) -> &'t str {
        let len = self.len as usize;
        if len <= 16 {
            buffer[..8].copy_from_slice(&self.prefix[0].to_be_bytes());
            buffer[8..].copy_from_slice(&self.prefix[1].to_be_bytes());
            if let Ok(term) = std::str::from_utf8(&buffer[..len]) {
                return term;
            }
        }
        table.term(self.id)
    }
}

impl TermTable {
    /// Every term, in string order.
    pub(crate) fn sorted(&self) -> Vec<SortedTerm> {
        let mut sorted: Vec<SortedTerm> = (0..self.len() as u32)
            .map(|id| SortedTerm::of(self, id))
            .collect();
        sorted.sort_unstable_by(|a, b| compare(self, a, self, b));
        sorted
    }
}

fn compare(ta: &TermTable, a: &SortedTerm, tb: &TermTable, b: &SortedTerm) -> Ordering {
    a.prefix.cmp(&b.prefix).then_with(|| {
        if a.len <= 16 && b.len <= 16 {
            // The prefixes hold both terms whole: the shorter one is the smaller.
            a.len.cmp(&b.len)
        } else {
            ta.term(a.id).cmp(tb.term(b.id))
        }
    })
}

/// The union of the terms of `tables`, each given in string order (`sorted`), in string
/// order: for each term, the table it was first found in and its place in that table's
/// `sorted`; and per table, its ids' positions in the union. A merge of sorted lists, no
/// hashing.
pub(crate) fn merge_sorted(
    tables: &[&TermTable],
    sorted: &[Vec<SortedTerm>],
) -> (Vec<(u32, u32)>, Vec<Vec<u32>>) {
    let mut maps: Vec<Vec<u32>> = tables.iter().map(|t| vec![0; t.len()]).collect();
    if let ([sorted], [map]) = (sorted, maps.as_mut_slice()) {
        // One table: the union is its order.
        for (position, term) in sorted.iter().enumerate() {
            map[term.id as usize] = position as u32;
        }
        return ((0..sorted.len() as u32).map(|i| (0, i)).collect(), maps);
    }
    let mut heads = vec![0; tables.len()];
    let mut merged = Vec::with_capacity(sorted.iter().map(Vec::len).max().unwrap_or(0));
    loop {
        let head = |t: usize, heads: &[usize]| sorted[t].get(heads[t]);
        let mut smallest: Option<(usize, SortedTerm)> = None;
        for t in 0..tables.len() {
            if let Some(term) = head(t, &heads) {
                let smaller = smallest.is_none_or(|(s, best)| {
                    compare(tables[t], term, tables[s], &best) == Ordering::Less
                });
                if smaller {
                    smallest = Some((t, *term));
                }
            }
        }
        let Some((s, best)) = smallest else { break };
        let position = merged.len() as u32;
        merged.push((s as u32, heads[s] as u32));
        for t in 0..tables.len() {
            if let Some(&term) = head(t, &heads)
                && (t == s || compare(tables[t], &term, tables[s], &best) == Ordering::Equal)
            {
                maps[t][term.id as usize] = position;
                heads[t] += 1;
            }
        }
    }
    (merged, maps)
}

/// Fitted terms in column order, back to back in one buffer: one allocation for the whole
/// vocabulary instead of one per term (a vocabulary of news has tens of thousands). A
/// [`TermTable`] keeps its terms in one too, in id order.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Vocabulary {
    text: String,
    /// Where each term ends in `text`.
    ends: Vec<usize>,
}

impl Vocabulary {
    pub(crate) fn with_capacity(terms: usize, bytes: usize) -> Vocabulary {
        Vocabulary {
            text: String::with_capacity(bytes),
            ends: Vec::with_capacity(terms),
        }
    }

    pub(crate) fn push(&mut self, term: &str) {
        self.text.push_str(term);
        self.ends.push(self.text.len());
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Where the term of `column` is in `text`. Panics past the last column.
    fn span(&self, column: usize) -> std::ops::Range<usize> {
        let start = column
            .checked_sub(1)
            .map_or(0, |previous| self.ends[previous]);
        start..self.ends[column]
    }

    /// The term of `column`, if there is such a column.
    pub fn get(&self, column: usize) -> Option<&str> {
        (column < self.len()).then(|| &self.text[self.span(column)])
    }

    pub fn iter(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        (0..self.len()).map(|column| &self.text[self.span(column)])
    }

    /// The column of `term`: the terms are sorted, so this is a binary search.
    pub fn column(&self, term: &str) -> Option<usize> {
        let (mut low, mut high) = (0, self.len());
        while low < high {
            let middle = low + (high - low) / 2;
            match self.get(middle).map(|probe| probe.cmp(term)) {
                Some(Ordering::Less) => low = middle + 1,
                Some(Ordering::Greater) => high = middle,
                Some(Ordering::Equal) => return Some(middle),
                None => break,
            }
        }
        None
    }

    pub fn to_vec(&self) -> Vec<String> {
        self.iter().map(str::to_owned).collect()
    }
}

impl<S: AsRef<str>> FromIterator<S> for Vocabulary {
    fn from_iter<I: IntoIterator<Item = S>>(terms: I) -> Vocabulary {
        let mut vocabulary = Vocabulary::default();
        for term in terms {
            vocabulary.push(term.as_ref());
        }
        vocabulary
    }
}

impl std::fmt::Debug for Vocabulary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_vocabulary_gives_back_its_terms_and_finds_their_columns() {
        let terms = ["", "a", "bb", "zz", "été"];
        let vocabulary: Vocabulary = terms.iter().collect();
        assert_eq!(vocabulary.len(), 5);
        assert_eq!(vocabulary.iter().collect::<Vec<_>>(), terms);
        assert_eq!(vocabulary.to_vec(), terms);
        for (column, term) in terms.iter().enumerate() {
            assert_eq!(vocabulary.get(column), Some(*term));
            assert_eq!(vocabulary.column(term), Some(column));
        }
        assert_eq!(vocabulary.get(5), None);
        for absent in ["0", "b", "zzz", "ét"] {
            assert_eq!(vocabulary.column(absent), None, "{absent}");
        }
        assert_eq!(format!("{vocabulary:?}"), format!("{terms:?}"));
        assert!(Vocabulary::default().is_empty());
        assert_eq!(Vocabulary::default().column("a"), None);
    }

    #[test]
    fn interning_gives_dense_stable_ids() {
        let mut terms: TermTable = TermTable::default();
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
        let mut terms: TermTable = TermTable::default();
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
        let mut terms: TermTable = TermTable::default();
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

    proptest::proptest! {
        /// A key read with word loads from padded text is the key of the term itself.
        #[test]
        fn padded_keys_match_keys_of_the_term(
            before in "[a-z0-9_ ]{0,9}",
            word in "[a-z0-9_é]{1,8}",
            after in "[a-z0-9_ ]{0,9}",
        ) {
            let text = format!("{before} {word} {after}{}", "\0".repeat(8));
            let start = before.len() + 1;
            let from_span = ShortKey::from_padded(text.as_bytes(), start, start + word.len());
            let expected = ShortKey::new(&word).expect("short");
            let mut terms: TermTable = TermTable::default();
            let id = terms.intern_short(&expected);
            proptest::prop_assert_eq!(terms.intern_short(&from_span), id);
            proptest::prop_assert_eq!(terms.len(), 1);
            proptest::prop_assert_eq!(terms.term(id), word);
        }
    }

    #[test]
    fn merging_sorted_tables_gives_the_sorted_union() {
        let words = [
            vec![
                "b",
                "a",
                "extraordinarily_long_term",
                "extraordinarily_long_terms",
                "é",
            ],
            vec!["c", "a", "extraordinarily_long_term", "ab\u{0}", "ab", "z"],
        ];
        let tables: Vec<TermTable> = words
            .iter()
            .map(|ws| {
                let mut t = TermTable::default();
                for w in ws {
                    t.intern(w);
                }
                t
            })
            .collect();
        let refs: Vec<&TermTable> = tables.iter().collect();
        let sorted: Vec<Vec<SortedTerm>> = tables.iter().map(TermTable::sorted).collect();
        let (merged, maps) = merge_sorted(&refs, &sorted);
        let mut buffer = [0u8; 16];
        let union: Vec<String> = merged
            .iter()
            .map(|&(t, i)| {
                let t = t as usize;
                sorted[t][i as usize].text(refs[t], &mut buffer).to_string()
            })
            .collect();
        let mut expected: Vec<&str> = words.iter().flatten().copied().collect();
        expected.sort();
        expected.dedup();
        assert_eq!(union, expected);
        for (t, ws) in words.iter().enumerate() {
            for w in ws {
                let id = tables[t].get(w).expect("interned");
                assert_eq!(union[maps[t][id as usize] as usize], *w);
            }
        }
    }
}
