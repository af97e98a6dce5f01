//! One thread's share of the counting: its own term table (ids in first-seen order) or
//! hashed columns, and its own rows of `(id, count)` entries, so that threads never share a
//! table nor a buffer (the hot path of featurizing); and how a batch is shared out among the
//! workers, in chunks of about equal text.

use std::hint::select_unpredictable;

use super::assembly::{RowCounter, Segment, pack, unpack};
use super::config::{AnalyzerKind, Columns, FeatureConfig, Stemming};
use super::hashing;
use super::tokenize::{Analyzer, WordScanner, WordSink};
use super::vocabulary::{Lookahead, SHORT_TERM, ShortKey, TermTable};
use crate::hint::prefetch;

/// One thread's share of the counting: its own term ids and rows, so threads never share a
/// table nor a buffer.
pub(super) struct Worker<'s> {
    pub(super) index: usize,
    /// The pool thread that counts with it (`None` outside the pool).
    pub(super) thread: Option<usize>,
    set: &'s FeatureConfig,
    /// Rows this worker counted in the current batch, before they join the fitter's (when
    /// several threads count).
    pub(super) scratch: Vec<u64>,
    /// Default word unigrams (the default pattern): tokens go straight from the scanner to
    /// term keys.
    plain_words: bool,
    analyzer: Analyzer<'s>,
    scanner: WordScanner,
    pub(super) terms: TermTable,
    /// The term ids of the current document's tokens.
    ids: Vec<u32>,
    lookahead: Lookahead,
    /// Per term id.
    pub(super) counts: Vec<TermCount>,
    /// Numbers the documents, to tell whether a term was already seen in this one.
    row: u32,
    /// Hashing only: counts per column, and documents per column.
    hashed: RowCounter,
    pub(super) hashed_df: Vec<u64>,
}

/// What a worker keeps about each of its terms, in one record.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct TermCount {
    /// The last document (`Worker::row`) the term occurred in, and its occurrences there.
    row: u32,
    in_row: u32,
    /// Documents containing it, and occurrences.
    pub(super) df: u64,
    pub(super) tf: u64,
}

/// Text per term a worker's table is first given room for: it will not have to grow as
/// often as from empty (each time into fresh memory), while room for a small batch stays
/// small. The first 4 MB of news (allsides) hold a new term per 155 bytes; room for one per
/// 128 bytes of the first batch took 4% off featurizing them on two threads.
pub(super) const BYTES_PER_NEW_TERM: usize = 128;

/// How many tokens ahead the counting asks for a term's record: with millions of terms
/// (n-grams) most records are a trip to memory.
const COUNT_AHEAD: usize = 16;

/// Count one occurrence of term `id` in document `row`, and note the term in `distinct[n]`,
/// where `n` (returned, plus one if the term is new to the row) counts the row's distinct
/// terms so far; a term already seen is overwritten by the next one. No hashing and no
/// sorting: the term's own record says whether it already occurred in this row.
///
/// Branch-free on purpose: whether a term was seen in this document is a coin toss (about
/// half the tokens), and a mispredicted branch costs more than the selects.
#[inline(always)]
fn count_occurrence(
    count: &mut TermCount,
    id: u32,
    row: u32,
    distinct: &mut [u32],
    n: usize,
) -> usize {
    let seen = count.row == row;
    count.in_row = select_unpredictable(seen, count.in_row.saturating_add(1), 1);
    count.row = row;
    distinct[n] = id;
    n + usize::from(!seen)
}

/// Looks the scanner's tokens up in a worker's term table, appending their ids.
struct TermIds<'w> {
    terms: &'w mut TermTable,
    ids: &'w mut Vec<u32>,
}

impl WordSink for TermIds<'_> {
    /// The common case, a handful of instructions: inlined into each of the scanner's call
    /// sites, since a call per token would cost more than the token.
    #[inline(always)]
    fn ascii(&mut self, folded: &str, start: usize, end: usize) {
        let id = if end - start <= SHORT_TERM {
            self.terms
                .intern_short(&ShortKey::from_padded(folded.as_bytes(), start, end))
        } else {
            self.terms.intern(&folded[start..end])
        };
        self.ids.push(id);
    }

    fn lowered(&mut self, token: &str) {
        self.ids.push(self.terms.intern(token));
    }
}

impl<'s> Worker<'s> {
    /// A worker whose table has room for `expected_terms` before it must grow.
    pub(super) fn new(
        set: &'s FeatureConfig,
        index: usize,
        thread: Option<usize>,
        expected_terms: usize,
    ) -> Worker<'s> {
        let plain_words = set.analyzer() == AnalyzerKind::Word
            && set.token_pattern().is_none()
            && set.lowercase()
            && set.ngram_range() == (1, 1)
            && !set.has_stop_words()
            && set.stemming() == Stemming::None;
        Worker {
            index,
            thread,
            set,
            scratch: Vec::new(),
            plain_words,
            analyzer: Analyzer::new(set),
            scanner: WordScanner::default(),
            terms: TermTable::with_room_for(expected_terms),
            ids: Vec::new(),
            lookahead: Lookahead::default(),
            counts: Vec::new(),
            row: 0,
            hashed: RowCounter::default(),
            hashed_df: Vec::new(),
        }
    }

    /// Count `docs`, appending their rows to `entries` (unless `keep_rows` is false).
    pub(super) fn count<S: AsRef<str>>(
        &mut self,
        docs: &[S],
        entries: &mut Vec<u64>,
        keep_rows: bool,
    ) -> Segment {
        let mut segment = Segment::new(self.index, entries.len());
        if keep_rows {
            // About one distinct term per 8 bytes of text at most, in news; reserved rather
            // than grown by copying. Pages never written cost no memory.
            entries.reserve(text_bytes(docs) / 8);
            segment.row_ends.reserve(docs.len());
        }
        for doc in docs {
            let row_start = entries.len();
            match *self.set.columns() {
                Columns::Vocabulary { .. } => self.count_terms(doc.as_ref(), entries),
                Columns::Hashing {
                    n_features,
                    alternate_sign,
                } => self.count_hashed(doc.as_ref(), n_features, alternate_sign, entries),
            }
            if keep_rows {
                segment.row_ends.push(entries.len());
            } else {
                entries.truncate(row_start);
            }
        }
        segment
    }

    /// Append the row of `doc` to `entries`, one `(term id, count)` per distinct term.
    fn count_terms(&mut self, doc: &str, entries: &mut Vec<u64>) {
        let Worker {
            plain_words,
            analyzer,
            scanner,
            terms,
            ids,
            lookahead,
            counts,
            ..
        } = self;
        // Look every term up first, then count: the lookups only read the table, so those of
        // successive tokens overlap their cache misses instead of waiting on the counting's
        // stores (whose addresses would depend on them).
        ids.clear();
        if *plain_words {
            let mut sink = TermIds { terms, ids };
            scanner.scan(doc, &mut sink);
        } else if terms.beyond_cache() {
            // Word n-grams: millions of terms, most lookups a trip to memory.
            analyzer.analyze(doc, |feature| {
                if lookahead.push(terms, feature) {
                    lookahead.intern(terms, |id| ids.push(id));
                }
            });
            lookahead.intern(terms, |id| ids.push(id));
        } else {
            analyzer.analyze(doc, |feature| ids.push(terms.intern(feature)));
        }
        if counts.len() < terms.len() {
            counts.resize(terms.len().max(counts.len() * 2), TermCount::default());
        }

        self.row = self.row.wrapping_add(1);
        if self.row == 0 {
            // After 2^32 documents, forget which document each term was last seen in.
            for count in counts.iter_mut() {
                count.row = 0;
            }
            self.row = 1;
        }
        // The row's distinct terms replace its tokens at the front of `ids`, in order of
        // first occurrence (never overtaking the token being read).
        let row = self.row;
        let counts = counts.as_mut_slice();
        let mut n_distinct = 0;
        for k in 0..ids.len() {
            if let Some(&ahead) = ids.get(k + COUNT_AHEAD)
                && let Some(count) = counts.get(ahead as usize)
            {
                prefetch(count);
            }
            let id = ids[k];
            n_distinct = count_occurrence(&mut counts[id as usize], id, row, ids, n_distinct);
        }
        // The row's entries, and totals per term: its records are still in cache.
        entries.extend(ids[..n_distinct].iter().map(|&id| {
            let count = &mut counts[id as usize];
            // The count saturates (as `RowCounter` does).
            let value = count.in_row.min(i32::MAX as u32);
            count.df += 1;
            count.tf += u64::from(value);
            pack(id, value as i32)
        }));
    }

    fn count_hashed(
        &mut self,
        doc: &str,
        n_features: u32,
        alternate_sign: bool,
        entries: &mut Vec<u64>,
    ) {
        let (counter, df) = (&mut self.hashed, &mut self.hashed_df);
        let row_start = entries.len();
        counter.start_row(entries);
        self.analyzer.analyze(doc, |feature| {
            let (column, sign) = hashing::hashed_column(feature, n_features, alternate_sign);
            counter.add(entries, column, sign);
        });
        if df.is_empty() {
            df.resize(n_features as usize, 0);
        }
        for &entry in &entries[row_start..] {
            df[unpack(entry).0 as usize] += 1;
        }
    }
}

/// Bytes of text in `docs`.
pub(super) fn text_bytes<S: AsRef<str>>(docs: &[S]) -> usize {
    docs.iter().map(|d| d.as_ref().len()).sum()
}

/// Contiguous slices of `docs` of about equal text size, at most `n_chunks` of them.
pub(super) fn split_balanced<S: AsRef<str>>(docs: &[S], n_chunks: usize) -> Vec<&[S]> {
    // One extra byte per document, so that runs of empty documents are shared out too.
    let total = text_bytes(docs) + docs.len();
    let target = total.div_ceil(n_chunks.max(1)).max(1);
    let mut chunks = Vec::with_capacity(n_chunks);
    let (mut start, mut size) = (0, 0);
    for (i, doc) in docs.iter().enumerate() {
        size += doc.as_ref().len() + 1;
        if size >= target {
            chunks.push(&docs[start..=i]);
            start = i + 1;
            size = 0;
        }
    }
    if start < docs.len() {
        chunks.push(&docs[start..]);
    }
    chunks
}

/// Enough chunks per thread for work stealing to even out uneven documents, and a core that
/// runs slower than the other (a busy neighbour), before each batch's end waits for both.
pub(super) fn chunk_count() -> usize {
    rayon::current_num_threads() * 16
}
