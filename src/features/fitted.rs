//! What fitting learnt ([`FittedFeatures`]: the feature set, the vocabulary or hashing, the
//! document frequencies and idf): the only thing that transforms documents into rows.

use std::fmt;
use std::sync::OnceLock;

use rayon::prelude::*;

use super::FeatureError;
use super::assembly::{RowCounter, Segment, append_rows, assemble_in_place};
use super::config::{Columns, FeatureConfig, Weighting};
use super::hashing;
use super::tokenize::Analyzer;
use super::vocabulary::{Lookahead, TermTable, Vocabulary};
use super::weighting::Weights;
use super::worker::{chunk_count, split_balanced};
use crate::sparse::CsrMatrix;

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
    pub(super) fn new(
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
        if set.weighting() == Weighting::Tfidf && !set.smooth_idf() {
            // Without smoothing, idf = ln(n / df) + 1: finite only for df ≥ 1 (and so n ≥ 1).
            if n_documents == 0 {
                return inconsistent(
                    "n_documents is 0, which gives no finite idf under smooth_idf = false".into(),
                );
            }
            if let Some(column) = document_frequencies.iter().position(|&df| df == 0) {
                return inconsistent(format!(
                    "document_frequencies: column {column} has a document frequency of 0, an \
                     infinite idf under smooth_idf = false"
                ));
            }
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

    pub(super) fn weights(&self) -> Weights<'_> {
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
    pub(super) fn into_vocabulary(self) -> Option<Vocabulary> {
        self.vocabulary
    }
}
