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
use std::ops::Range;

use rayon::prelude::*;
use rustc_hash::FxBuildHasher;

use crate::hint::prefetch;

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
        (load_partial(bytes), 0)
    }
}

/// Up to 8 bytes as a little-endian word, zero-padded. Built from loads that stay inside
/// the slice, two overlapping ones of 4 bytes or three single bytes, rather than by copying
/// into a zeroed buffer: that copy is a call to `memcpy`, and reading the buffer back as
/// one word right after it stalls on store forwarding (a third of interning char n-grams).
#[inline]
fn load_partial(bytes: &[u8]) -> u64 {
    let len = bytes.len();
    let load_u32 = |at: usize| {
        let mut word = [0u8; 4];
        word.copy_from_slice(&bytes[at..at + 4]);
        u64::from(u32::from_le_bytes(word))
    };
    if len >= 4 {
        // Bytes `len - 4..len` shifted into place; where they overlap the first four, the
        // same bytes meet, so OR keeps them.
        load_u32(0) | (load_u32(len - 4) << (8 * (len - 4)))
    } else if len > 0 {
        let byte = |at: usize| u64::from(bytes[at]);
        byte(0) | (byte(len / 2) << (8 * (len / 2))) | (byte(len - 1) << (8 * (len - 1)))
    } else {
        0
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

/// What a table needs to find any term: a short term's [`ShortKey`], or a long term's hash
/// (its bytes are compared in the table's text).
#[derive(Clone, Copy, Debug)]
enum TermKey {
    Short(ShortKey),
    Long(u64),
}

impl TermKey {
    #[inline]
    fn of(term: &str) -> TermKey {
        match ShortKey::new(term) {
            Some(key) => TermKey::Short(key),
            None => TermKey::Long(hash_long(term)),
        }
    }

    fn hash(&self) -> u64 {
        match self {
            TermKey::Short(key) => key.hash,
            &TermKey::Long(hash) => hash,
        }
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
        TermTable::with_slots(MIN_SLOTS)
    }
}

const MIN_SLOTS: usize = 1024;
/// Room given in advance stops here (6 MB of slots); a table grows as far as it must.
const MAX_ROOM_SLOTS: usize = 1 << 18;

impl TermTable {
    /// An empty table of `slots` slots, a power of two.
    fn with_slots(slots: usize) -> TermTable {
        TermTable {
            slots: vec![FREE; slots],
            shift: 64 - slots.trailing_zeros(),
            terms: Vocabulary::default(),
        }
    }

    /// An empty table with room for about `n` terms before it grows (within reason).
    pub(crate) fn with_room_for(n: usize) -> TermTable {
        let slots = (n.min(MAX_ROOM_SLOTS / 2) * 2).next_power_of_two();
        TermTable::with_slots(slots.max(MIN_SLOTS))
    }

    /// An empty table for `n` terms that will mostly be asked for words it does not hold
    /// (a fitted vocabulary, against new text): a miss probes on to a free slot, so a small
    /// vocabulary gets a table at most a quarter full (two slots per probe on average
    /// instead of three); a large one, whose table would leave the cache, half full.
    pub(crate) fn for_lookups(n: usize) -> TermTable {
        const SMALL: usize = 1 << 16;
        let quarter = n.saturating_mul(4).next_power_of_two();
        let slots = if quarter <= SMALL {
            quarter
        } else {
            n.saturating_mul(2).saturating_add(1).next_power_of_two()
        };
        TermTable::with_slots(slots.max(MIN_SLOTS))
    }

    pub(crate) fn len(&self) -> usize {
        self.terms.len()
    }

    /// Whether the slots have outgrown the caches, so that most lookups of rare terms wait
    /// on memory: then a [`Lookahead`] pays for copying each term into its queue. (Char
    /// n-grams, a few hundred thousand terms with most lookups among the commonest, do not
    /// gain; word bigrams, millions of terms, are a third faster.)
    pub(crate) fn beyond_cache(&self) -> bool {
        // The crate's own tests take the lookahead at any size (and check it against plain
        // counting); the integration tests, like everyone else, only past this size (and
        // check the direct way against scikit-learn).
        const CACHED_BYTES: usize = if cfg!(test) { 0 } else { 16 << 20 };
        self.slots.len() * std::mem::size_of::<Slot>() > CACHED_BYTES
    }

    /// The term of `id`. Panics if there is no such id, as slice indexing.
    #[cfg(test)]
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
        self.intern_keyed(term, &TermKey::of(term))
    }

    /// [`intern`](Self::intern) with the key already worked out (`TermKey::of(term)`).
    fn intern_keyed(&mut self, term: &str, key: &TermKey) -> u32 {
        let i = match key {
            // As `intern_short`, but a new term is stored from `term` as it is, not from the
            // key's bytes checked again as UTF-8.
            TermKey::Short(key) => {
                let i = self.probe_short(key);
                if self.slots[i].len == EMPTY {
                    return self.insert(i, key.a, key.b, key.len, term);
                }
                i
            }
            &TermKey::Long(hash) => {
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

    /// Ask the cache for the slot where the probe for `key` starts: the lookup a little
    /// later finds it there instead of waiting on memory.
    #[inline]
    fn prefetch(&self, key: &TermKey) {
        if let Some(slot) = self.slots.get((key.hash() >> self.shift) as usize) {
            prefetch(slot);
        }
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
        self.get_keyed(term, &TermKey::of(term))
    }

    fn get_keyed(&self, term: &str, key: &TermKey) -> Option<u32> {
        let i = match key {
            TermKey::Short(key) => self.probe_short(key),
            &TermKey::Long(hash) => self.probe_long(term, hash),
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

/// Terms on their way to a [`TermTable`], looked up a few dozen at a time. Each term's slot
/// is asked of the cache when the term arrives and read when the batch is full: in a table
/// larger than the cache (word n-grams have millions of terms) the lookups then wait for
/// memory side by side instead of one after another. Ids come out in the order the terms
/// went in.
#[derive(Debug, Default)]
pub(crate) struct Lookahead {
    text: String,
    ends: Vec<usize>,
    keys: Vec<TermKey>,
}

impl Lookahead {
    /// Terms per batch: enough work between a term's prefetch and its lookup to cover a trip
    /// to memory, few enough that the slots are still in the first-level cache.
    const BATCH: usize = 32;

    /// Queue `term` for `table`; `true` when the batch is full and must be taken out now.
    #[inline]
    pub(crate) fn push(&mut self, table: &TermTable, term: &str) -> bool {
        let key = TermKey::of(term);
        table.prefetch(&key);
        self.text.push_str(term);
        self.ends.push(self.text.len());
        self.keys.push(key);
        self.keys.len() >= Self::BATCH
    }

    /// Each queued term's id (interned if new), in order; the queue is empty after.
    pub(crate) fn intern(&mut self, table: &mut TermTable, mut each: impl FnMut(u32)) {
        self.drain(|term, key| each(table.intern_keyed(term, key)));
    }

    /// Each queued term's id if `table` has it, in order; the queue is empty after.
    pub(crate) fn get(&mut self, table: &TermTable, mut each: impl FnMut(Option<u32>)) {
        self.drain(|term, key| each(table.get_keyed(term, key)));
    }

    /// Each queued term with its key, in order, then an empty queue.
    fn drain(&mut self, mut each: impl FnMut(&str, &TermKey)) {
        let mut start = 0;
        for (key, &end) in self.keys.iter().zip(&self.ends) {
            each(&self.text[start..end], key);
            start = end;
        }
        self.text.clear();
        self.ends.clear();
        self.keys.clear();
    }
}

/// A term in string order: its first 16 bytes as two big-endian integers (UTF-8 byte order
/// is code point order, Python's string order), which settle almost every comparison and
/// hold the whole of most terms; its length; its id in its table.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SortedTerm {
    prefix: [u64; 2],
    len: u32,
    id: u32,
}

impl SortedTerm {
    fn of(terms: &Vocabulary, id: u32) -> SortedTerm {
        let term = terms.term_bytes(id as usize);
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
}

/// The terms of a finished [`TermTable`] in string order, to be merged with other tables'.
pub(crate) struct SortedTerms {
    table: TermTable,
    /// In string order.
    order: Vec<SortedTerm>,
}

impl TermTable {
    /// Its terms in string order; the table is done with (it goes with them).
    pub(crate) fn into_sorted(self) -> SortedTerms {
        let mut order: Vec<SortedTerm> = (0..self.len() as u32)
            .map(|id| SortedTerm::of(&self.terms, id))
            .collect();
        order.sort_unstable_by(|a, b| compare(&self.terms, a, &self.terms, b));
        SortedTerms { table: self, order }
    }
}

impl SortedTerms {
    pub(crate) fn len(&self) -> usize {
        self.order.len()
    }

    /// The term at `place` in string order.
    pub(crate) fn at(&self, place: usize) -> &SortedTerm {
        &self.order[place]
    }

    /// The whole of `term`, one of this table's.
    fn bytes_of(&self, term: &SortedTerm) -> &[u8] {
        self.table.terms.term_bytes(term.id as usize)
    }

    /// `positions` (one per term, in string order) rearranged by the terms' ids.
    fn by_id(&self, positions: impl IntoIterator<Item = u32>) -> Vec<u32> {
        let mut by_id = vec![0; self.len()];
        for (term, position) in self.order.iter().zip(positions) {
            by_id[term.id as usize] = position;
        }
        by_id
    }
}

fn compare(ta: &Vocabulary, a: &SortedTerm, tb: &Vocabulary, b: &SortedTerm) -> Ordering {
    a.prefix.cmp(&b.prefix).then_with(|| {
        if a.len <= 16 && b.len <= 16 {
            // The prefixes hold both terms whole: the shorter one is the smaller.
            a.len.cmp(&b.len)
        } else {
            ta.term_bytes(a.id as usize)
                .cmp(tb.term_bytes(b.id as usize))
        }
    })
}

/// A merge of some of the tables' terms: for each term of the union, in string order, the
/// table it was first found in and its place in that table's order; and per table, the
/// position in the union of each of its terms, in its order.
type Merged = (Vec<(u32, u32)>, Vec<Vec<u32>>);

/// The union of several tables' terms, in string order.
pub(crate) struct Union {
    /// Per term: the table it was first found in and its place in that table's order;
    /// `None` for a single table, whose order is the union's.
    places: Option<Vec<(u32, u32)>>,
    /// Per table, the position in the union of each of its ids.
    pub(crate) maps: Vec<Vec<u32>>,
}

impl Union {
    pub(crate) fn len(&self) -> usize {
        match &self.places {
            Some(places) => places.len(),
            // A single table's terms, each once.
            None => self.maps.first().map_or(0, Vec::len),
        }
    }

    /// Where the term at `position` is: its table and its place in that table's order.
    pub(crate) fn place(&self, position: usize) -> (u32, u32) {
        match &self.places {
            Some(places) => places[position],
            None => (0, position as u32),
        }
    }
}

/// The union of the terms of `tables`, in string order.
///
/// A merge of sorted lists, no hashing, in parallel: the terms are cut into ranges at the
/// same terms in every table (terms of the largest one, at equal steps), and the ranges are
/// merged each on their own.
pub(crate) fn merge_sorted(tables: &[SortedTerms]) -> Union {
    if let [table] = tables {
        return Union {
            places: None,
            maps: vec![table.by_id(0..table.len() as u32)],
        };
    }
    let Some(largest) = tables.iter().max_by_key(|t| t.len()) else {
        return Union {
            places: Some(Vec::new()),
            maps: Vec::new(),
        };
    };
    let n_parts = (rayon::current_num_threads() * 4).clamp(1, largest.len().max(1));
    let pivots: Vec<&SortedTerm> = (1..n_parts)
        .map(|k| &largest.order[k * largest.len() / n_parts])
        .collect();
    // Per table, where each range starts, then its end.
    let cuts: Vec<Vec<usize>> = tables
        .iter()
        .map(|t| {
            let below = |pivot: &&SortedTerm| {
                t.order.partition_point(|term| {
                    compare(&t.table.terms, term, &largest.table.terms, pivot) == Ordering::Less
                })
            };
            let mut cuts = vec![0];
            cuts.extend(pivots.iter().map(below));
            cuts.push(t.len());
            cuts
        })
        .collect();
    let parts: Vec<Merged> = (0..n_parts)
        .into_par_iter()
        .map(|k| {
            let ranges: Vec<Range<usize>> = cuts.iter().map(|c| c[k]..c[k + 1]).collect();
            merge_ranges(tables, &ranges)
        })
        .collect();

    let mut merged = Vec::with_capacity(parts.iter().map(|(m, _)| m.len()).sum());
    let mut positions: Vec<Vec<u32>> = tables.iter().map(|t| Vec::with_capacity(t.len())).collect();
    for (part, part_positions) in parts {
        let offset = merged.len() as u32;
        merged.extend(part);
        for (all, part) in positions.iter_mut().zip(part_positions) {
            all.extend(part.into_iter().map(|p| p + offset));
        }
    }
    let maps = tables
        .par_iter()
        .zip(positions)
        .map(|(table, positions)| table.by_id(positions))
        .collect();
    Union {
        places: Some(merged),
        maps,
    }
}

/// The merge of `ranges` (one per table, of its order); positions count from the first
/// term of the ranges.
fn merge_ranges(tables: &[SortedTerms], ranges: &[Range<usize>]) -> Merged {
    let mut heads: Vec<usize> = ranges.iter().map(|r| r.start).collect();
    let mut merged =
        Vec::with_capacity(ranges.iter().map(ExactSizeIterator::len).max().unwrap_or(0));
    let mut positions: Vec<Vec<u32>> = ranges.iter().map(|r| Vec::with_capacity(r.len())).collect();
    let head =
        |t: usize, heads: &[usize]| (heads[t] < ranges[t].end).then(|| &tables[t].order[heads[t]]);
    loop {
        let mut smallest: Option<(usize, &SortedTerm)> = None;
        for t in 0..tables.len() {
            if let Some(term) = head(t, &heads) {
                let smaller = smallest.is_none_or(|(s, best)| {
                    compare(&tables[t].table.terms, term, &tables[s].table.terms, best)
                        == Ordering::Less
                });
                if smaller {
                    smallest = Some((t, term));
                }
            }
        }
        let Some((s, best)) = smallest else { break };
        let position = merged.len() as u32;
        merged.push((s as u32, heads[s] as u32));
        for t in 0..tables.len() {
            if let Some(term) = head(t, &heads)
                && (t == s
                    || compare(&tables[t].table.terms, term, &tables[s].table.terms, best)
                        == Ordering::Equal)
            {
                positions[t].push(position);
                heads[t] += 1;
            }
        }
    }
    (merged, positions)
}

/// The vocabulary of the terms at `places` (table, place in its order), in this order. A
/// term of at most 16 bytes is copied from its prefix (no trip to its table's text), and
/// the text is checked as UTF-8 once, whole.
pub(crate) fn vocabulary_of(
    tables: &[SortedTerms],
    places: impl Iterator<Item = (u32, u32)>,
    n_terms: usize,
) -> Vocabulary {
    let mut text = Vec::with_capacity(n_terms * 8);
    let mut ends = Vec::with_capacity(n_terms);
    for (t, place) in places {
        let table = &tables[t as usize];
        let term = table.at(place as usize);
        let len = term.len as usize;
        if len <= 16 {
            // A fixed-size copy of both words, cut back to the term.
            let start = text.len();
            text.extend_from_slice(&term.prefix[0].to_be_bytes());
            text.extend_from_slice(&term.prefix[1].to_be_bytes());
            text.truncate(start + len);
        } else {
            text.extend_from_slice(table.bytes_of(term));
        }
        ends.push(text.len());
    }
    // Whole terms of valid text, so valid text; converted lossily rather than trusted.
    let text = String::from_utf8(text)
        .unwrap_or_else(|error| String::from_utf8_lossy(error.as_bytes()).into_owned());
    Vocabulary { text, ends }
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
    fn span(&self, column: usize) -> Range<usize> {
        let start = column
            .checked_sub(1)
            .map_or(0, |previous| self.ends[previous]);
        start..self.ends[column]
    }

    /// The bytes of the term of `column`. Panics past the last column.
    fn term_bytes(&self, column: usize) -> &[u8] {
        &self.text.as_bytes()[self.span(column)]
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
    fn partial_words_are_the_bytes_zero_padded() {
        let bytes = b"abcdefgh";
        for len in 0..=8 {
            let mut padded = [0u8; 8];
            padded[..len].copy_from_slice(&bytes[..len]);
            assert_eq!(
                load_partial(&bytes[..len]),
                u64::from_le_bytes(padded),
                "{len}"
            );
        }
    }

    #[test]
    fn lookup_tables_of_every_size_find_their_terms() {
        for n in [0, 5, 20_000, 40_000] {
            let mut table = TermTable::for_lookups(n);
            let words: Vec<String> = (0..n).map(|i| format!("w{i}")).collect();
            for (id, word) in words.iter().enumerate() {
                assert_eq!(table.intern(word), id as u32);
            }
            // Room was made up front: no growth, at most half full.
            assert!(table.slots.len() >= 2 * n, "{n}");
            for (id, word) in words.iter().enumerate() {
                assert_eq!(table.get(word), Some(id as u32));
            }
            assert_eq!(table.get("absent"), None);
        }
    }

    /// A table made with room for `n` terms has `slots` slots, and takes `n` terms (if it
    /// made room for them all) without growing.
    fn check_room(n: usize, slots: usize) {
        let mut table = TermTable::with_room_for(n);
        assert_eq!(table.slots.len(), slots, "room for {n}");
        let fits = n.min(slots / 2);
        for i in 0..fits {
            assert_eq!(table.intern(&format!("t{i}")), i as u32);
        }
        assert_eq!(table.slots.len(), slots, "{fits} terms in room for {n}");
    }

    #[test]
    fn room_is_made_for_the_expected_terms_within_bounds() {
        check_room(0, MIN_SLOTS);
        check_room(512, MIN_SLOTS);
        check_room(513, 2 * MIN_SLOTS);
        check_room(32_768, 65_536);
        check_room(usize::MAX, MAX_ROOM_SLOTS);
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

    /// Interning `words` through a [`Lookahead`] (taken out whenever a batch fills, and at
    /// the end) gives the ids that interning them one by one gives, and so does `get`.
    fn check_lookahead(words: &[String]) {
        let mut direct = TermTable::default();
        let expected: Vec<u32> = words.iter().map(|w| direct.intern(w)).collect();

        let (mut table, mut lookahead, mut ids) =
            (TermTable::default(), Lookahead::default(), vec![]);
        for word in words {
            if lookahead.push(&table, word) {
                lookahead.intern(&mut table, |id| ids.push(id));
            }
        }
        lookahead.intern(&mut table, |id| ids.push(id));
        assert_eq!(ids, expected);

        let mut found = vec![];
        for word in words
            .iter()
            .map(String::as_str)
            .chain(["absent", "an absent long term"])
        {
            if lookahead.push(&table, word) {
                lookahead.get(&table, |id| found.push(id));
            }
        }
        lookahead.get(&table, |id| found.push(id));
        let mut expected: Vec<Option<u32>> = expected.into_iter().map(Some).collect();
        expected.extend([None, None]);
        assert_eq!(found, expected);
    }

    #[test]
    fn lookahead_hands_out_the_ids_of_one_by_one_lookups() {
        check_lookahead(&[]);
        check_lookahead(&["kim".to_string()]);
        // Short and long terms, repeated across batches, more than one batch of them.
        let words: Vec<String> = (0..5 * Lookahead::BATCH + 3)
            .map(|i| match i % 4 {
                0 => format!("w{}", i % 7),
                1 => format!("a term longer than sixteen bytes {}", i % 5),
                2 => format!("é{i}"),
                _ => "kim jong un".to_string(),
            })
            .collect();
        check_lookahead(&words);
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

    /// Merges the tables of `words` (one table per list) in a pool of `threads`, and checks
    /// the union is the sorted, deduplicated words and every table's map points at its words.
    fn check_merge(words: &[Vec<&str>], threads: usize) {
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
        let ids: Vec<Vec<u32>> = words
            .iter()
            .zip(&tables)
            .map(|(ws, t)| ws.iter().map(|w| t.get(w).expect("interned")).collect())
            .collect();
        let sorted: Vec<SortedTerms> = tables.into_iter().map(TermTable::into_sorted).collect();
        let merged = crate::testing::in_pool(threads, || merge_sorted(&sorted));
        let union: Vec<String> = (0..merged.len())
            .map(|position| {
                let (t, place) = merged.place(position);
                let table = &sorted[t as usize];
                let term = table.bytes_of(table.at(place as usize));
                String::from_utf8(term.to_vec()).expect("a term")
            })
            .collect();
        let mut expected: Vec<&str> = words.iter().flatten().copied().collect();
        expected.sort();
        expected.dedup();
        assert_eq!(union, expected, "{threads} threads");
        for (t, ws) in words.iter().enumerate() {
            for (w, &id) in ws.iter().zip(&ids[t]) {
                assert_eq!(union[merged.maps[t][id as usize] as usize], *w);
            }
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
        for threads in [1, 2, 5] {
            check_merge(&words, threads);
            check_merge(&words[..1], threads);
        }
    }

    proptest::proptest! {
        /// Cut into ranges at any number of pivots, the merge is the same.
        #[test]
        fn merging_in_ranges_gives_the_sorted_union(
            words in proptest::collection::vec(
                proptest::collection::vec("[ab]{0,3}|[a-c é]{8,20}", 0..60),
                1..5,
            ),
            threads in 1usize..9,
        ) {
            let words: Vec<Vec<&str>> =
                words.iter().map(|ws| ws.iter().map(String::as_str).collect()).collect();
            check_merge(&words, threads);
        }
    }
}
