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
//! Files, in data-flow order: `config` (the `[features]` table), `tokenize` (lowercase,
//! tokens or char n-grams, stop words, stems) → `worker` (one thread's counting: `vocabulary`
//! interns terms, or `hashing` hashes them) → `fitter` (batches over the threads, the
//! entry points `fit` / `fit_transform` / `fitter`) → `select` (min_df, max_df,
//! max_features) → `assembly` (per-row counting, the matrix) → `weighting` (binary,
//! sublinear tf, idf, norm) → `fitted` ([`FittedFeatures`], which transforms). `analyzed`
//! keeps a labelled set's counts to fit folds on rows rather than text ([`AnalyzedCorpus`]).
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
mod fitted;
mod fitter;
mod hashing;
mod pattern;
mod select;
mod stop_words;
mod tokenize;
mod union;
mod vocabulary;
mod weighting;
mod word_classes;
mod worker;

pub use analyzed::{AnalyzedCorpus, FoldColumns};
pub use config::{
    AnalyzerKind, Columns, DocumentFrequency, FeatureConfig, FeatureConfigError, Norm,
    RawFeatureConfig, RawHashing, Stemming, StopWords, Weighting,
};
pub use fitted::FittedFeatures;
pub use fitter::Fitter;
pub use pattern::{DEFAULT_TOKEN_PATTERN, TokenPattern};
pub use tokenize::Analyzer;
pub use union::{AnalyzedUnion, FeatureUnion, UnionColumns, hstack};
pub use vocabulary::Vocabulary;

pub(crate) use select::select_terms;

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
