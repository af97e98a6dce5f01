//! The parallel fitting engine: documents in, batch by batch; each batch cut into chunks of
//! about equal text that the threads' workers count (`worker`); at the end the workers'
//! tables are sorted and merged into the vocabulary (`select`), and their rows assembled in
//! input order into the matrix (`assembly`). The result does not depend on the number of
//! threads nor on the batching.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};

use rayon::prelude::*;

use super::FeatureError;
use super::assembly::{Segment, append_rows, assemble_in_place};
use super::config::{Columns, FeatureConfig};
use super::fitted::FittedFeatures;
use super::select::{Decided, decide_vocabulary};
use super::tokenize::Analyzer;
use super::vocabulary::{SortedTerms, TermTable};
use super::weighting::Weights;
use super::worker::{
    BYTES_PER_NEW_TERM, TermCount, Worker, chunk_count, split_balanced, text_bytes,
};
use crate::sparse::CsrMatrix;

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

/// What the end of fitting hands to assembly: columns, every row's entries (in order), the
/// rows in them, the worker-id → column maps and the weights.
type Assembly<'a> = (
    usize,
    Vec<u64>,
    Vec<Segment>,
    Option<&'a [Vec<u32>]>,
    Weights<'a>,
);

impl<'s> Fitter<'s> {
    pub(super) fn new(set: &'s FeatureConfig, keep_rows: bool) -> Fitter<'s> {
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

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::features::tokenize::{lowercase_into, word_tokens};
    use crate::features::{RawFeatureConfig, Vocabulary};
    use crate::testing::in_pool;

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
