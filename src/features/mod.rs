//! Text to vectors: scikit-learn's bag-of-words features (`CountVectorizer`, `TfidfVectorizer`,
//! `HashingVectorizer`), the same vocabulary and the same numbers, an order of magnitude faster.
//!
//! Takes the checked `[features]` section ([`FeatureConfig`], from [`RawFeatureConfig::check`]) and
//! documents as `&str`; hands on a [`FittedFeatures`] (vocabulary, document frequencies, idf)
//! and sparse [`CsrMatrix`] rows whose columns are the sorted vocabulary. Fitting is the only
//! way to get something that transforms, so features are learnt from the documents passed to
//! `fit` (training folds) and merely applied to others. This module does no I/O and never
//! prints; it reads no randomness, and its output does not depend on the number of threads.
//!
//! Data flow: `tokenize` (lowercase, tokens or char n-grams, stop words, stems) → `vocabulary`
//! (interning) or `hashing` → `assembly` (per-row counting, the matrix) → `weighting` (binary,
//! sublinear tf, idf, norm). `analyzed` keeps a labelled set's counts to fit folds on rows
//! rather than text ([`AnalyzedCorpus`]).
//!
//! Parallelism: each thread counts contiguous chunks of documents with its own term table,
//! into its own small buffer, from which the rows of each batch are copied (in parallel) to
//! one buffer in input order; at `finish` each table is sorted, the sorted lists are merged
//! into the vocabulary (in parallel, over ranges of terms cut at the same terms in every
//! list), and each thread's ids are mapped to columns. Column order comes from sorting,
//! counts are exact, so the result is the same for any number of threads and any batching
//! ([`Fitter`] takes a corpus batch by batch, keeping only counts).
//!
//! Speed, for the default word unigrams (the hot path, `Worker::count_terms`): the scanner
//! finds ASCII tokens with bit masks over an ASCII-folded copy of the document, a token's key
//! is two word loads, a lookup touches one slot, and counting within a document needs no
//! hashing nor sorting (a per-term stamp says whether the term already occurred in the
//! document, and counts its occurrences there). Fresh memory is the other cost (a page fault
//! per 4 KB): the rows' buffer becomes the matrix's values in place, and one thread counts
//! straight into it. Word n-grams have millions of terms, and a table that leaves the cache:
//! their lookups go a few dozen at a time, each slot asked of the cache ahead of its lookup
//! (`vocabulary::Lookahead`), and counting asks ahead for the terms' records too.

mod analyzed;
mod assembly;
mod config;
mod hashing;
mod stop_words;
mod tokenize;
mod vocabulary;
mod weighting;
mod word_classes;

use std::cmp::Reverse;
use std::fmt;
use std::hint::select_unpredictable;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock, PoisonError};

use rayon::prelude::*;

pub use analyzed::{AnalyzedCorpus, FoldColumns};
pub use config::{
    AnalyzerKind, Columns, DocumentFrequency, FeatureConfig, FeatureConfigError, Norm,
    RawFeatureConfig, RawHashing, Stemming, StopWords, Weighting,
};
pub use tokenize::Analyzer;

use crate::sparse::CsrMatrix;
use assembly::{DROPPED, RowCounter, Segment, append_rows, assemble_in_place, pack, unpack};
use tokenize::{WordScanner, WordSink};
pub use vocabulary::Vocabulary;
use vocabulary::{
    Lookahead, SHORT_TERM, ShortKey, SortedTerms, TermTable, merge_sorted, prefetch, vocabulary_of,
};
use weighting::{Weights, inverse_document_frequencies};

/// Why fitting, or restoring fitted features, failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FeatureError {
    #[error(
        "empty vocabulary after min_df/max_df/stop words ({settings}) on {n_documents} documents"
    )]
    EmptyVocabulary {
        settings: String,
        n_documents: usize,
    },
    #[error(
        "max_df = {max_df} corresponds to fewer documents than min_df = {min_df} \
         on {n_documents} documents"
    )]
    MaxDfBelowMinDf {
        min_df: DocumentFrequency,
        max_df: DocumentFrequency,
        n_documents: usize,
    },
    #[error("saved features do not match their feature set: {0}")]
    InconsistentParts(String),
}

impl FeatureConfig {
    /// Learn vocabulary, document frequencies and idf from `docs`.
    pub fn fit<S: AsRef<str> + Sync>(&self, docs: &[S]) -> Result<FittedFeatures, FeatureError> {
        let mut fitter = Fitter::new(self, false);
        fitter.add(docs);
        fitter.finish_with(|_| ()).map(|(fitted, ())| fitted)
    }

    /// [`fit`](Self::fit), and the matrix of the same documents, counting them only once.
    pub fn fit_transform<S: AsRef<str> + Sync>(
        &self,
        docs: &[S],
    ) -> Result<(FittedFeatures, CsrMatrix), FeatureError> {
        let mut fitter = self.fitter();
        fitter.add(docs);
        fitter.finish()
    }

    /// The features of single documents as strings (for explanations and benchmarks).
    pub fn build_analyzer(&self) -> Analyzer<'_> {
        Analyzer::new(self)
    }

    /// A [`fit_transform`](Self::fit_transform) fed in batches, so that the text of a large
    /// corpus never has to be in memory at once (only its counts).
    pub fn fitter(&self) -> Fitter<'_> {
        Fitter::new(self, true)
    }
}

/// Fits a feature set on documents given batch by batch; rows keep the order of the batches.
pub struct Fitter<'s> {
    set: &'s FeatureConfig,
    keep_rows: bool,
    idle: Mutex<Vec<Worker<'s>>>,
    next_worker: AtomicUsize,
    /// Every row counted so far, in input order; each segment says whose ids it uses.
    rows: Vec<u64>,
    segments: Vec<Segment>,
    n_documents: usize,
}

/// One thread's share of the counting: its own term ids and rows, so threads never share a
/// table nor a buffer.
struct Worker<'s> {
    index: usize,
    /// The pool thread that counts with it (`None` outside the pool).
    thread: Option<usize>,
    set: &'s FeatureConfig,
    /// Rows this worker counted in the current batch, before they join the fitter's (when
    /// several threads count).
    scratch: Vec<u64>,
    /// Default word unigrams: tokens go straight from the scanner to term keys.
    plain_words: bool,
    analyzer: Analyzer<'s>,
    scanner: WordScanner,
    terms: TermTable,
    /// The term ids of the current document's tokens.
    ids: Vec<u32>,
    lookahead: Lookahead,
    /// Per term id.
    counts: Vec<TermCount>,
    /// Numbers the documents, to tell whether a term was already seen in this one.
    row: u32,
    /// Hashing only: counts per column, and documents per column.
    hashed: RowCounter,
    hashed_df: Vec<u64>,
}

/// What a worker keeps about each of its terms, in one record.
#[derive(Clone, Copy, Debug, Default)]
struct TermCount {
    /// The last document (`Worker::row`) the term occurred in, and its occurrences there.
    row: u32,
    in_row: u32,
    /// Documents containing it, and occurrences.
    df: u64,
    tf: u64,
}

/// Text per term a worker's table is first given room for: it will not have to grow as
/// often as from empty (each time into fresh memory), while room for a small batch stays
/// small. The first 4 MB of news (allsides) hold a new term per 155 bytes; room for one per
/// 128 bytes of the first batch took 4% off featurizing them on two threads.
const BYTES_PER_NEW_TERM: usize = 128;

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
    fn new(
        set: &'s FeatureConfig,
        index: usize,
        thread: Option<usize>,
        expected_terms: usize,
    ) -> Worker<'s> {
        let plain_words = set.analyzer() == AnalyzerKind::Word
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
    fn count<S: AsRef<str>>(
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

/// What the end of fitting hands to assembly: columns, every row's entries (in order), the
/// rows in them, the worker-id → column maps and the weights.
type Assembly<'a> = (
    usize,
    Vec<u64>,
    Vec<Segment>,
    Option<&'a [Vec<u32>]>,
    Weights<'a>,
);

/// Bytes of text in `docs`.
fn text_bytes<S: AsRef<str>>(docs: &[S]) -> usize {
    docs.iter().map(|d| d.as_ref().len()).sum()
}

/// Contiguous slices of `docs` of about equal text size, at most `n_chunks` of them.
fn split_balanced<S: AsRef<str>>(docs: &[S], n_chunks: usize) -> Vec<&[S]> {
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
fn chunk_count() -> usize {
    rayon::current_num_threads() * 16
}

impl<'s> Fitter<'s> {
    fn new(set: &'s FeatureConfig, keep_rows: bool) -> Fitter<'s> {
        Fitter {
            set,
            keep_rows,
            idle: Mutex::new(Vec::new()),
            next_worker: AtomicUsize::new(0),
            rows: Vec::new(),
            segments: Vec::new(),
            n_documents: 0,
        }
    }

    /// Count the next documents, in parallel; they become the next rows.
    pub fn add<S: AsRef<str> + Sync>(&mut self, docs: &[S]) {
        let keep_rows = self.keep_rows;
        // Only a new worker asks, so the batch is measured only then.
        let expected_terms = || text_bytes(docs) / BYTES_PER_NEW_TERM;
        if rayon::current_num_threads() == 1 {
            // One thread: the rows are counted straight into their place.
            let mut rows = std::mem::take(&mut self.rows);
            let segment = self.with_idle_worker(expected_terms, |worker| {
                worker.count(docs, &mut rows, keep_rows)
            });
            self.rows = rows;
            self.segments.push(segment);
        } else {
            let counted: Vec<Segment> = split_balanced(docs, chunk_count())
                .into_par_iter()
                .map(|chunk| {
                    self.with_idle_worker(expected_terms, |worker| {
                        let mut scratch = std::mem::take(&mut worker.scratch);
                        let segment = worker.count(chunk, &mut scratch, keep_rows);
                        worker.scratch = scratch;
                        segment
                    })
                })
                .collect();
            self.gather(counted);
        }
        self.n_documents += docs.len();
    }

    /// `work` with an idle worker of this thread (a new one, with room for `expected_terms()`,
    /// when none is idle), which is idle again after. A worker stays with the thread that
    /// made it, and its table in that core's cache (a worker moving between threads cost 7%
    /// more counting on two).
    fn with_idle_worker<T>(
        &self,
        expected_terms: impl FnOnce() -> usize,
        work: impl FnOnce(&mut Worker<'s>) -> T,
    ) -> T {
        let thread = rayon::current_thread_index();
        let idle = {
            let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
            let mine = idle.iter().position(|worker| worker.thread == thread);
            mine.map(|i| idle.swap_remove(i))
        };
        let mut worker = idle.unwrap_or_else(|| {
            let index = self.next_worker.fetch_add(1, Ordering::Relaxed);
            Worker::new(self.set, index, thread, expected_terms())
        });
        let result = work(&mut worker);
        self.idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(worker);
        result
    }

    /// Copy the rows of `counted` (segments of the workers' scratch buffers, in row order) to
    /// the end of `rows`, in parallel, so that every row ends up in one buffer, in order: the
    /// buffer the matrix is assembled in (see [`assemble_in_place`]). Scratch buffers stay
    /// small and warm; only `rows` takes fresh memory.
    fn gather(&mut self, counted: Vec<Segment>) {
        let workers = self.idle.get_mut().unwrap_or_else(PoisonError::into_inner);
        // Every worker that counted a segment is back among the idle ones.
        let pieces = counted
            .into_iter()
            .filter_map(|segment| {
                let worker = workers.iter().find(|w| w.index == segment.arena)?;
                Some((worker.scratch.as_slice(), segment))
            })
            .collect();
        append_rows(&mut self.rows, &mut self.segments, pieces);
        for worker in workers.iter_mut() {
            worker.scratch.clear();
        }
    }

    /// Documents added so far.
    pub fn n_documents(&self) -> usize {
        self.n_documents
    }

    /// Decide the vocabulary (sorted, pruned) and build the matrix of every document added.
    pub fn finish(self) -> Result<(FittedFeatures, CsrMatrix), FeatureError> {
        self.finish_with(|(n_cols, rows, segments, maps, weights)| {
            assemble_in_place(n_cols, rows, &segments, maps, &weights)
        })
    }

    /// Shared end of `fit` and `finish`: `build` receives the columns, the workers' entries
    /// and the counted rows in them, the worker-id → column maps (none under hashing) and the
    /// weights.
    fn finish_with<T: Send>(
        self,
        build: impl FnOnce(Assembly<'_>) -> T + Send,
    ) -> Result<(FittedFeatures, T), FeatureError> {
        let set = self.set;
        let n_documents = self.n_documents;
        let mut workers = self
            .idle
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner);
        workers.sort_by_key(|w| w.index);
        match *set.columns() {
            Columns::Vocabulary {
                min_df,
                max_df,
                max_features,
            } => {
                let (tables, counts): (Vec<TermTable>, Vec<Vec<TermCount>>) =
                    workers.into_iter().map(|w| (w.terms, w.counts)).unzip();
                let limits = (min_df, max_df, max_features);
                let tables: Vec<SortedTerms> =
                    tables.into_par_iter().map(TermTable::into_sorted).collect();
                let decided = decide_vocabulary(set, &tables, &counts, limits, n_documents);
                let Decided {
                    terms,
                    document_frequencies,
                    worker_to_column,
                } = decided?;
                let fitted = FittedFeatures::new(
                    set.clone(),
                    Some(terms),
                    document_frequencies,
                    n_documents,
                );
                // The workers' tables go while the matrix is built (freeing them is not free),
                // and first when there is one thread: the matrix's fresh pages are then
                // likely the pages just freed, which a virtual machine's host has at hand
                // (3 ms of 80 on one thread, allsides-25mb).
                let ((), built) = rayon::join(
                    move || drop((tables, counts)),
                    || {
                        build((
                            fitted.n_features(),
                            self.rows,
                            self.segments,
                            Some(&worker_to_column),
                            fitted.weights(),
                        ))
                    },
                );
                Ok((fitted, built))
            }
            Columns::Hashing { n_features, .. } => {
                let mut document_frequencies = vec![0u64; n_features as usize];
                for worker in &workers {
                    for (total, &d) in document_frequencies.iter_mut().zip(&worker.hashed_df) {
                        *total += d;
                    }
                }
                drop(workers);
                let fitted =
                    FittedFeatures::new(set.clone(), None, document_frequencies, n_documents);
                let built = build((
                    fitted.n_features(),
                    self.rows,
                    self.segments,
                    None,
                    fitted.weights(),
                ));
                Ok((fitted, built))
            }
        }
    }
}

/// A decided vocabulary: the sorted, pruned terms, their document frequencies, and each
/// worker's id → column map (`DROPPED` for pruned terms).
struct Decided {
    terms: Vocabulary,
    document_frequencies: Vec<u64>,
    worker_to_column: Vec<Vec<u32>>,
}

/// The vocabulary of the workers' term `tables` (with their `counts`).
fn decide_vocabulary(
    set: &FeatureConfig,
    tables: &[SortedTerms],
    counts: &[Vec<TermCount>],
    limits: Limits,
    n_documents: usize,
) -> Result<Decided, FeatureError> {
    let (_, _, max_features) = limits;
    // The workers' terms merged into the sorted vocabulary; ids are provisional, columns
    // come from this order.
    let union = merge_sorted(tables);
    let n_merged = union.len();
    // Total frequencies matter only to `max_features`.
    let mut df = vec![0u64; n_merged];
    let mut tf = vec![0u64; if max_features.is_some() { n_merged } else { 0 }];
    for (counts, map) in counts.iter().zip(&union.maps) {
        for (count, &m) in counts.iter().zip(map) {
            df[m as usize] += count.df;
            if let Some(total) = tf.get_mut(m as usize) {
                *total += count.tf;
            }
        }
    }

    let selection = select_terms(set, &df, &tf, limits, n_documents)?;
    let kept = (0..n_merged)
        .filter(|&m| selection.keep[m])
        .map(|m| union.place(m));
    let vocabulary = vocabulary_of(tables, kept, selection.n_kept);
    // Both in place: the merged positions become columns, the frequencies those kept.
    selection.retain_kept(&mut df);
    let mut worker_to_column = union.maps;
    worker_to_column.par_iter_mut().for_each(|map| {
        for m in map.iter_mut() {
            *m = selection.columns[*m as usize];
        }
    });
    Ok(Decided {
        terms: vocabulary,
        document_frequencies: df,
        worker_to_column,
    })
}

/// How a vocabulary is pruned: `min_df`, `max_df`, `max_features`.
pub(crate) type Limits = (DocumentFrequency, DocumentFrequency, Option<usize>);

/// The terms a vocabulary keeps, out of candidates in string order.
pub(crate) struct Selection {
    pub(crate) keep: Vec<bool>,
    /// Each candidate's column, `DROPPED` for those not kept.
    pub(crate) columns: Vec<u32>,
    pub(crate) n_kept: usize,
}

impl Selection {
    /// Keep, of one value per candidate, those of the kept terms (in place).
    pub(crate) fn retain_kept(&self, values: &mut Vec<u64>) {
        let mut kept = self.keep.iter();
        values.retain(|_| kept.next().copied().unwrap_or(false));
    }
}

/// Which of the candidate terms (in string order, with their document frequencies `df` and,
/// under `max_features`, their total frequencies `tf`, among `n_documents`) the vocabulary
/// keeps: those within `min_df` and `max_df`, then the `max_features` most frequent, as
/// scikit-learn. So are its errors: no terms at all (reported first), `max_df` below
/// `min_df`, no term left.
pub(crate) fn select_terms(
    set: &FeatureConfig,
    df: &[u64],
    tf: &[u64],
    (min_df, max_df, max_features): Limits,
    n_documents: usize,
) -> Result<Selection, FeatureError> {
    let empty = || FeatureError::EmptyVocabulary {
        settings: set.pruning_settings(),
        n_documents,
    };
    if df.is_empty() {
        return Err(empty());
    }
    let bound = |limit: DocumentFrequency| match limit {
        DocumentFrequency::Count(n) => n as f64,
        DocumentFrequency::Proportion(p) => p * n_documents as f64,
    };
    let (low, high) = (bound(min_df), bound(max_df));
    if high < low {
        return Err(FeatureError::MaxDfBelowMinDf {
            min_df,
            max_df,
            n_documents,
        });
    }
    let mut keep: Vec<bool> = df
        .iter()
        .map(|&d| (d as f64) >= low && (d as f64) <= high)
        .collect();
    if let Some(limit) = max_features {
        let mut kept: Vec<usize> = (0..df.len()).filter(|&m| keep[m]).collect();
        if kept.len() > limit {
            // As scikit-learn, frequency is summed after `binary`. A stable sort keeps term
            // order among equal frequencies: ties go to the smaller term.
            let frequency = if set.binary() { df } else { tf };
            kept.sort_by_key(|&m| Reverse(frequency[m]));
            for &m in &kept[limit..] {
                keep[m] = false;
            }
        }
    }
    let mut next = 0;
    let columns: Vec<u32> = keep
        .iter()
        .map(|&kept| {
            next += u32::from(kept);
            if kept { next - 1 } else { DROPPED }
        })
        .collect();
    if next == 0 {
        return Err(empty());
    }
    Ok(Selection {
        keep,
        columns,
        n_kept: next as usize,
    })
}

impl FeatureConfig {
    /// The idf of terms with `document_frequencies` among `n_documents`, under tf-idf only.
    fn idf(&self, document_frequencies: &[u64], n_documents: usize) -> Option<Vec<f64>> {
        (self.weighting() == Weighting::Tfidf).then(|| {
            inverse_document_frequencies(document_frequencies, n_documents, self.smooth_idf())
        })
    }

    /// How this set turns a row of counts into values, with the fitted `idf`.
    fn weights<'a>(&self, idf: Option<&'a [f64]>) -> Weights<'a> {
        Weights {
            binary: self.binary(),
            sublinear_tf: self.weighting() == Weighting::Tfidf && self.sublinear_tf(),
            idf,
            norm: self.norm(),
        }
    }
}

/// What fitting learnt: the only thing that can transform documents.
#[derive(Clone)]
pub struct FittedFeatures {
    set: FeatureConfig,
    n_documents: usize,
    /// Sorted terms, one per column; `None` under hashing.
    vocabulary: Option<Vocabulary>,
    /// Term → column, over `vocabulary`; built on the first `transform`.
    index: OnceLock<TermTable>,
    /// Per column, among the fitted documents.
    document_frequencies: Vec<u64>,
    /// Per column, under tf-idf weighting only.
    idf: Option<Vec<f64>>,
}

impl fmt::Debug for FittedFeatures {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FittedFeatures")
            .field("set", &self.set)
            .field("n_documents", &self.n_documents)
            .field("n_features", &self.n_features())
            .finish_non_exhaustive()
    }
}

impl FittedFeatures {
    fn new(
        set: FeatureConfig,
        vocabulary: Option<Vocabulary>,
        document_frequencies: Vec<u64>,
        n_documents: usize,
    ) -> FittedFeatures {
        let idf = set.idf(&document_frequencies, n_documents);
        FittedFeatures {
            set,
            n_documents,
            vocabulary,
            index: OnceLock::new(),
            document_frequencies,
            idf,
        }
    }

    /// Restore fitted features saved as parts (a model on disk). Checks that the parts fit
    /// the set (sorted unique vocabulary, one frequency per column, none above `n_documents`);
    /// the idf is recomputed. Under hashing, `vocabulary` is empty and there is one
    /// document frequency per hashed column.
    pub fn from_parts(
        set: FeatureConfig,
        vocabulary: Vec<String>,
        document_frequencies: Vec<u64>,
        n_documents: usize,
    ) -> Result<FittedFeatures, FeatureError> {
        let inconsistent = |message: String| Err(FeatureError::InconsistentParts(message));
        let n_columns = match *set.columns() {
            Columns::Vocabulary { max_features, .. } => {
                if vocabulary.is_empty() {
                    return inconsistent("the vocabulary is empty".into());
                }
                if let Some(pair) = vocabulary.windows(2).find(|pair| pair[0] >= pair[1]) {
                    return inconsistent(format!(
                        "the vocabulary is not sorted and unique: {:?} comes before {:?}",
                        pair[0], pair[1]
                    ));
                }
                if vocabulary.len() >= u32::MAX as usize {
                    return inconsistent(format!("{} terms are too many", vocabulary.len()));
                }
                if let Some(limit) = max_features.filter(|&limit| vocabulary.len() > limit) {
                    return inconsistent(format!(
                        "{} terms but max_features = {limit}",
                        vocabulary.len()
                    ));
                }
                vocabulary.len()
            }
            Columns::Hashing { n_features, .. } => {
                if !vocabulary.is_empty() {
                    return inconsistent("hashed features have no vocabulary".into());
                }
                n_features as usize
            }
        };
        if document_frequencies.len() != n_columns {
            return inconsistent(format!(
                "{} document frequencies for {n_columns} columns",
                document_frequencies.len()
            ));
        }
        if let Some(df) = document_frequencies
            .iter()
            .find(|&&df| df > n_documents as u64)
        {
            return inconsistent(format!(
                "a document frequency of {df} exceeds the {n_documents} fitted documents"
            ));
        }
        let vocabulary = match set.columns() {
            Columns::Vocabulary { .. } => Some(vocabulary.iter().collect()),
            Columns::Hashing { .. } => None,
        };
        Ok(FittedFeatures::new(
            set,
            vocabulary,
            document_frequencies,
            n_documents,
        ))
    }

    fn weights(&self) -> Weights<'_> {
        self.set.weights(self.idf.as_deref())
    }

    /// The matrix of `docs` with the fitted columns; terms not in the vocabulary are ignored.
    pub fn transform<S: AsRef<str> + Sync>(&self, docs: &[S]) -> CsrMatrix {
        let index = self.index.get_or_init(|| {
            let n_terms = self.vocabulary.as_ref().map_or(0, Vocabulary::len);
            let mut index = TermTable::for_lookups(n_terms);
            for term in self.vocabulary.iter().flat_map(Vocabulary::iter) {
                index.intern(term);
            }
            index
        });
        let counted: Vec<(Vec<u64>, Segment)> = split_balanced(docs, chunk_count())
            .into_par_iter()
            .enumerate()
            .map(|(i, chunk)| {
                let mut analyzer = Analyzer::new(&self.set);
                let mut lookahead = Lookahead::default();
                let mut counter = RowCounter::default();
                let mut entries = Vec::new();
                let mut segment = Segment::new(i, 0);
                for doc in chunk {
                    counter.start_row(&entries);
                    let entries = &mut entries;
                    match (&self.vocabulary, self.set.columns()) {
                        (Some(_), _) if index.beyond_cache() => {
                            let mut found = |column: Option<u32>| {
                                if let Some(column) = column {
                                    counter.add(entries, column, 1);
                                }
                            };
                            analyzer.analyze(doc.as_ref(), |feature| {
                                if lookahead.push(index, feature) {
                                    lookahead.get(index, &mut found);
                                }
                            });
                            lookahead.get(index, &mut found);
                        }
                        (Some(_), _) => analyzer.analyze(doc.as_ref(), |feature| {
                            if let Some(column) = index.get(feature) {
                                counter.add(entries, column, 1);
                            }
                        }),
                        (
                            None,
                            &Columns::Hashing {
                                n_features,
                                alternate_sign,
                            },
                        ) => analyzer.analyze(doc.as_ref(), |feature| {
                            let (column, sign) =
                                hashing::hashed_column(feature, n_features, alternate_sign);
                            counter.add(entries, column, sign);
                        }),
                        (None, Columns::Vocabulary { .. }) => {}
                    }
                    segment.row_ends.push(entries.len());
                }
                (entries, segment)
            })
            .collect();
        let (arenas, counted): (Vec<Vec<u64>>, Vec<Segment>) = counted.into_iter().unzip();
        let pieces = arenas.iter().map(Vec::as_slice).zip(counted).collect();
        let (mut rows, mut segments) = (Vec::new(), Vec::new());
        append_rows(&mut rows, &mut segments, pieces);
        drop(arenas);
        assemble_in_place(self.n_features(), rows, &segments, None, &self.weights())
    }

    /// Under hashing, each feature of `doc` with the column it hashes to, in order of first
    /// occurrence, once each; `None` with a vocabulary (whose columns are their terms). It is
    /// how a hashed column of one document can be named.
    pub fn hashed_features(&self, doc: &str) -> Option<Vec<(usize, String)>> {
        let Columns::Hashing {
            n_features,
            alternate_sign,
        } = *self.set.columns()
        else {
            return None;
        };
        // Interned once each: a table hands out ids in order of first occurrence.
        let mut seen = TermTable::default();
        let mut features = Vec::new();
        Analyzer::new(&self.set).analyze(doc, |feature| {
            if seen.intern(feature) as usize == features.len() {
                let (column, _) = hashing::hashed_column(feature, n_features, alternate_sign);
                features.push((column as usize, feature.to_owned()));
            }
        });
        Some(features)
    }

    /// Columns of the matrices this produces.
    pub fn n_features(&self) -> usize {
        self.document_frequencies.len()
    }

    /// The term of `column`; `None` under hashing or past the last column.
    pub fn term(&self, column: usize) -> Option<&str> {
        self.vocabulary.as_ref()?.get(column)
    }

    /// Terms in column order (sorted); `None` under hashing.
    pub fn vocabulary(&self) -> Option<&Vocabulary> {
        self.vocabulary.as_ref()
    }

    /// Per column, how many fitted documents contain it (under hashing: touch the column).
    pub fn document_frequencies(&self) -> Option<&[u64]> {
        Some(&self.document_frequencies)
    }

    /// Per column, under tf-idf weighting.
    pub fn idf(&self) -> Option<&[f64]> {
        self.idf.as_deref()
    }

    /// Documents the features were fitted on.
    pub fn n_documents(&self) -> usize {
        self.n_documents
    }

    pub fn config(&self) -> &FeatureConfig {
        &self.set
    }

    /// The vocabulary, giving up the rest.
    fn into_vocabulary(self) -> Option<Vocabulary> {
        self.vocabulary
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::testing::in_pool;
    use tokenize::{lowercase_into, word_tokens};

    /// Default unigram counts computed the plain way: lowercase each document, tokenise it,
    /// count in ordered maps. Vocabulary, and per row its (column, count) pairs.
    fn plain_counts(docs: &[String]) -> (Vec<String>, Vec<Vec<(u32, f64)>>) {
        let mut lowered = String::new();
        counted_plainly(docs, |doc, count| {
            lowercase_into(doc, &mut lowered);
            word_tokens(&lowered, count);
        })
    }

    /// Counts of any feature set without weighting or pruning, the plain way: its analyzer's
    /// features of each document counted in ordered maps.
    fn plain_analyzed_counts(
        set: &FeatureConfig,
        docs: &[String],
    ) -> (Vec<String>, Vec<Vec<(u32, f64)>>) {
        let mut analyzer = set.build_analyzer();
        counted_plainly(docs, |doc, count| analyzer.analyze(doc, count))
    }

    /// The vocabulary and rows of `docs`, whose features `features` hands to its callback.
    fn counted_plainly(
        docs: &[String],
        mut features: impl FnMut(&str, &mut dyn FnMut(&str)),
    ) -> (Vec<String>, Vec<Vec<(u32, f64)>>) {
        let rows: Vec<BTreeMap<String, u32>> = docs
            .iter()
            .map(|doc| {
                let mut row = BTreeMap::new();
                features(doc, &mut |f| *row.entry(f.to_string()).or_insert(0) += 1);
                row
            })
            .collect();
        let vocabulary: Vec<String> = rows
            .iter()
            .flat_map(|row| row.keys().cloned())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let column = |term: &String| vocabulary.binary_search(term).unwrap_or(0) as u32;
        let rows = rows
            .iter()
            .map(|row| {
                row.iter()
                    .map(|(t, &n)| (column(t), f64::from(n)))
                    .collect()
            })
            .collect();
        (vocabulary, rows)
    }

    fn row_pairs(matrix: &CsrMatrix, i: usize) -> Vec<(u32, f64)> {
        let (columns, values) = matrix.row(i);
        columns
            .iter()
            .copied()
            .zip(values.iter().copied())
            .collect()
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(48))]

        /// Analyzers other than plain words (n-grams, char n-grams, stop words) go through
        /// the table a batch of lookups at a time (`Lookahead`, which this crate's own tests
        /// take at any table size): fitting and transforming give the plain counts.
        #[test]
        fn analyzed_counts_are_the_plain_counts(
            docs in proptest::collection::vec(
                "([a-z ,.'-]{0,30}|[ÉéΣ’ x]{0,3}|the |extraordinarily_long_words ){0,6}",
                1..30,
            ),
            config in proptest::sample::select(vec![
                "ngram_range = [1, 2]",
                "ngram_range = [2, 3]\nstop_words = \"english\"",
                "analyzer = \"char_wb\"\nngram_range = [2, 4]",
            ]),
        ) {
            let raw: RawFeatureConfig = toml::from_str(config).expect("config");
            let set = raw.check().expect("valid");
            let (vocabulary, rows) = plain_analyzed_counts(&set, &docs);
            for threads in [1, 2] {
                let result = in_pool(threads, || {
                    set.fit_transform(&docs).map(|(fitted, matrix)| {
                        let again = fitted.transform(&docs);
                        (fitted, matrix, again)
                    })
                });
                match result {
                    Ok((fitted, matrix, again)) => {
                        proptest::prop_assert_eq!(fitted.vocabulary().map(Vocabulary::to_vec), Some(vocabulary.clone()));
                        for (i, row) in rows.iter().enumerate() {
                            proptest::prop_assert_eq!(&row_pairs(&matrix, i), row);
                            proptest::prop_assert_eq!(&row_pairs(&again, i), row);
                        }
                    }
                    Err(_) => proptest::prop_assert!(vocabulary.is_empty()),
                }
            }
        }

        /// The fast path for default unigrams (scanner, word-load keys, key-in-slot table,
        /// stamped counting, sorted merge, in-place or parallel assembly) gives the plain
        /// counts, with one thread or several, in one batch or many.
        #[test]
        fn default_counts_are_the_plain_counts(
            docs in proptest::collection::vec(
                "([A-Za-z0-9_ ,.'-]{0,40}|[ÉéİΣ’“ x]{0,3}|extraordinarily_long_Words{1,2}){0,6}",
                1..40,
            ),
            cut in 0usize..40,
        ) {
            let set = RawFeatureConfig::default().check().expect("defaults");
            let (vocabulary, rows) = plain_counts(&docs);
            let cut = cut.min(docs.len());
            for threads in [1, 3] {
                let result = in_pool(threads, || {
                    let mut fitter = set.fitter();
                    fitter.add(&docs[..cut]);
                    fitter.add(&docs[cut..]);
                    fitter.finish()
                });
                match result {
                    Ok((fitted, matrix)) => {
                        proptest::prop_assert_eq!(fitted.vocabulary().map(Vocabulary::to_vec), Some(vocabulary.clone()));
                        for (i, row) in rows.iter().enumerate() {
                            proptest::prop_assert_eq!(&row_pairs(&matrix, i), row);
                        }
                    }
                    Err(_) => proptest::prop_assert!(vocabulary.is_empty()),
                }
            }
        }
    }
}
