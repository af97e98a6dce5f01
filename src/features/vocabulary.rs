//! Term interning: a string table that hands out dense ids, so that the hot path hashes each
//! token once, compares bytes, and never allocates a `String` per token.
//!
//! Ids are given in first-seen order and are provisional: column order is decided later, by
//! sorting terms. Nothing here iterates a hash table in an order that can reach output.

use std::hash::BuildHasher;

use hashbrown::HashTable;
use rustc_hash::FxBuildHasher;

fn hash_term(term: &str) -> u64 {
    FxBuildHasher.hash_one(term.as_bytes())
}

/// Interned terms stored back to back in one buffer.
#[derive(Clone, Default)]
pub(crate) struct TermTable {
    table: HashTable<u32>,
    hashes: Vec<u64>,
    ends: Vec<usize>,
    bytes: String,
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

    /// The id of `term`, adding it if new.
    #[inline]
    pub(crate) fn intern(&mut self, term: &str) -> u32 {
        let hash = hash_term(term);
        let TermTable {
            table,
            hashes,
            ends,
            bytes,
        } = self;
        let term_at = |id: u32| {
            let id = id as usize;
            let start = if id == 0 { 0 } else { ends[id - 1] };
            &bytes[start..ends[id]]
        };
        if let Some(&id) = table.find(hash, |&id| term_at(id) == term) {
            return id;
        }
        let id = u32::try_from(ends.len()).unwrap_or(u32::MAX);
        table.insert_unique(hash, id, |&id| hashes[id as usize]);
        bytes.push_str(term);
        ends.push(bytes.len());
        hashes.push(hash);
        id
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
    fn vocabulary_index_finds_columns() {
        let vocabulary: Vec<String> = ["aa", "bb", "cc"].map(String::from).to_vec();
        let index = VocabularyIndex::new(&vocabulary);
        assert_eq!(index.column(&vocabulary, "bb"), Some(1));
        assert_eq!(index.column(&vocabulary, "dd"), None);
    }
}
