//! Documents analysed once and fitted many times: cross-validation and permutation tests fit
//! the same feature set on thousands of subsets of one labelled set.
//!
//! Takes a [`FeatureConfig`] and every document; hands on, for any subset of them (a fold's
//! training rows), the matrix and the fitted columns and weights that fitting on their text
//! would give, and the matrix of other rows through those columns. Tokens, n-grams, stop
//! words and stems depend on one document alone, so they are worked out once, for all;
//! document frequencies, vocabulary and idf are still learnt from the subset's rows only.
//! Never reads text after analysis: a fold's columns are positions in the corpus's sorted
//! terms, which are named only when a fold's fitted features are asked for
//! ([`AnalyzedCorpus::fitted_features`]: a model trained on all labels, or inspected).

use super::assembly::{DROPPED, RowBuilder};
use super::config::{Columns, FeatureConfig};
use super::vocabulary::Vocabulary;
use super::{FeatureError, FittedFeatures, select_terms};
use crate::sparse::CsrMatrix;

/// Every document's terms and counts: rows of a matrix whose columns are all the corpus's
/// terms in string order (or, under hashing, the hashed columns).
pub struct AnalyzedCorpus {
    set: FeatureConfig,
    counts: CsrMatrix,
    /// The corpus's terms, one per column of `counts`; `None` under hashing (or when no
    /// document has a term).
    terms: Option<Vocabulary>,
}

/// What fitting on some rows of a corpus learnt: which corpus column becomes which column
/// (none under hashing, where columns are kept), the document frequencies and the weights.
pub struct FoldColumns {
    /// Per corpus column, its column, or `DROPPED`; empty under hashing.
    columns: Vec<u32>,
    n_features: usize,
    /// Per column, among the fitted rows.
    document_frequencies: Vec<u64>,
    n_documents: usize,
    idf: Option<Vec<f64>>,
}

impl FoldColumns {
    pub fn n_features(&self) -> usize {
        self.n_features
    }
}

impl FeatureConfig {
    /// Analyse `docs` once, to fit and transform subsets of them by row.
    pub fn analyze_corpus<S: AsRef<str> + Sync>(&self, docs: &[S]) -> AnalyzedCorpus {
        let (terms, counts) = match self.counting_only().fit_transform(docs) {
            Ok((fitted, counts)) => (fitted.into_vocabulary(), counts),
            // Counting prunes nothing, so it fails only when no document has a term: every
            // row is empty, and every fit will say so as fitting on the text does.
            Err(_) => (None, CsrMatrix::empty(docs.len())),
        };
        AnalyzedCorpus {
            set: self.clone(),
            counts,
            terms,
        }
    }
}

impl AnalyzedCorpus {
    pub fn n_documents(&self) -> usize {
        self.counts.n_rows()
    }

    /// Fit on the documents `rows` (indices, in this order): their matrix and the fitted
    /// columns, exactly as `fit_transform` on their text. Panics if a row is out of range.
    pub fn fit_transform(&self, rows: &[usize]) -> Result<(FoldColumns, CsrMatrix), FeatureError> {
        let n_columns = self.counts.n_cols();
        let limits = match *self.set.columns() {
            Columns::Vocabulary {
                min_df,
                max_df,
                max_features,
            } => Some((min_df, max_df, max_features)),
            Columns::Hashing { .. } => None,
        };
        // Per corpus column: documents among `rows`, and occurrences (for `max_features` only).
        let with_tf = matches!(limits, Some((_, _, Some(_))));
        let mut df = vec![0u64; n_columns];
        let mut tf = vec![0u64; if with_tf { n_columns } else { 0 }];
        for &row in rows {
            let (columns, values) = self.counts.row(row);
            for (&c, &v) in columns.iter().zip(values) {
                df[c as usize] += 1;
                if let Some(total) = tf.get_mut(c as usize) {
                    *total += v.abs() as u64;
                }
            }
        }
        let n_documents = rows.len();
        let fold = match limits {
            Some(limits) => {
                // The fold's candidate terms are those its documents hold, in string order.
                let present: Vec<usize> = (0..n_columns).filter(|&c| df[c] > 0).collect();
                let gather = |all: &[u64]| -> Vec<u64> {
                    present
                        .iter()
                        .filter_map(|&c| all.get(c).copied())
                        .collect()
                };
                let (mut present_df, present_tf) = (gather(&df), gather(&tf));
                let selection =
                    select_terms(&self.set, &present_df, &present_tf, limits, n_documents)?;
                let mut columns = vec![DROPPED; n_columns];
                for (&c, &column) in present.iter().zip(&selection.columns) {
                    columns[c] = column;
                }
                selection.retain_kept(&mut present_df);
                FoldColumns {
                    columns,
                    n_features: selection.n_kept,
                    idf: self.set.idf(&present_df, n_documents),
                    document_frequencies: present_df,
                    n_documents,
                }
            }
            None => FoldColumns {
                columns: Vec::new(),
                n_features: n_columns,
                idf: self.set.idf(&df, n_documents),
                document_frequencies: df,
                n_documents,
            },
        };
        let matrix = self.transform(&fold, rows);
        Ok((fold, matrix))
    }

    /// The matrix of the documents `rows` through `fold`'s columns and weights, exactly as
    /// `transform` on their text. Panics if a row is out of range.
    pub fn transform(&self, fold: &FoldColumns, rows: &[usize]) -> CsrMatrix {
        let weights = self.set.weights(fold.idf.as_deref());
        let mut matrix = RowBuilder::new(fold.n_features);
        for &row in rows {
            let (columns, values) = self.counts.row(row);
            for (&c, &count) in columns.iter().zip(values) {
                // Corpus columns are in string order, and so are a fold's: rows stay sorted.
                let column = fold.columns.get(c as usize).map_or(c, |&column| column);
                if column != DROPPED {
                    matrix.push(column, count);
                }
            }
            matrix.end_row(&weights);
        }
        matrix.finish()
    }

    /// The fitted features of `fold`: what `fit` on the text of its rows gives (vocabulary,
    /// document frequencies, idf), to transform new text.
    pub fn fitted_features(&self, fold: &FoldColumns) -> FittedFeatures {
        let vocabulary = match self.set.columns() {
            Columns::Vocabulary { .. } => {
                // Kept corpus columns are numbered in the corpus's (string) order.
                let terms = self.terms.as_ref();
                let kept = fold.columns.iter().enumerate();
                let kept = kept.filter(|&(_, &column)| column != DROPPED);
                Some(
                    kept.filter_map(|(c, _)| terms.and_then(|terms| terms.get(c)))
                        .collect(),
                )
            }
            Columns::Hashing { .. } => None,
        };
        FittedFeatures::new(
            self.set.clone(),
            vocabulary,
            fold.document_frequencies.clone(),
            fold.n_documents,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::RawFeatureConfig;

    fn set_of(config: &str) -> FeatureConfig {
        let raw: RawFeatureConfig = toml::from_str(config).expect("toml");
        raw.check().expect("valid")
    }

    /// Fitting `config` on the rows `train` of the analysed `docs` gives what fitting on
    /// their text gives (the same matrix and fitted features, or the same error), and the
    /// other rows transform as their text does.
    fn check(config: &str, docs: &[&str], train: &[usize]) {
        let set = set_of(config);
        let corpus = set.analyze_corpus(docs);
        assert_eq!(corpus.n_documents(), docs.len());
        let test: Vec<usize> = (0..docs.len()).filter(|i| !train.contains(i)).collect();
        let texts = |rows: &[usize]| -> Vec<&str> { rows.iter().map(|&i| docs[i]).collect() };
        match (
            set.fit_transform(&texts(train)),
            corpus.fit_transform(train),
        ) {
            (Ok((fitted, by_text)), Ok((fold, by_rows))) => {
                assert_eq!(by_rows, by_text, "{config}: training rows {train:?}");
                assert_eq!(fold.n_features(), fitted.n_features(), "{config}");
                let restored = corpus.fitted_features(&fold);
                assert_eq!(restored.vocabulary(), fitted.vocabulary(), "{config}");
                assert_eq!(
                    restored.document_frequencies(),
                    fitted.document_frequencies(),
                    "{config}"
                );
                assert_eq!(restored.idf(), fitted.idf(), "{config}");
                assert_eq!(restored.n_documents(), fitted.n_documents(), "{config}");
                let by_text = fitted.transform(&texts(&test));
                assert_eq!(
                    corpus.transform(&fold, &test),
                    by_text,
                    "{config}: test rows"
                );
            }
            (Err(by_text), Err(by_rows)) => {
                assert_eq!(by_rows.to_string(), by_text.to_string(), "{config}");
            }
            (by_text, by_rows) => panic!(
                "{config}: by text {:?}, by rows {:?}",
                by_text.err(),
                by_rows.err()
            ),
        }
    }

    const CONFIGS: [&str; 10] = [
        "",
        "ngram_range = [1, 2]\nmin_df = 2",
        "weighting = \"tfidf\"\nmax_features = 5",
        "binary = true\nmax_features = 4\nmax_df = 0.8",
        "stop_words = \"english\"\nstemming = \"english\"\nweighting = \"tfidf\"\nsublinear_tf = true",
        "analyzer = \"char_wb\"\nngram_range = [2, 4]\nweighting = \"tfidf\"\nnorm = \"l1\"",
        "lowercase = false\nmin_df = 0.3",
        "hashing = { n_features = 16 }\nweighting = \"tfidf\"",
        "hashing = { n_features = 8, alternate_sign = false }\nbinary = true",
        "min_df = 3\nmax_df = 0.5",
    ];

    #[test]
    fn fitting_rows_is_fitting_their_text() {
        let docs = [
            "Pyongyang and Beijing: an alliance of convenience.",
            "Moscow needs shells; Pyongyang needs oil, and Beijing watches.",
            "",
            "... !!! 42",
            "The alliance is stable, say officials in Beijing and Moscow.",
            "Cracks: Beijing's patience with Pyongyang wears thin.",
            "a b c",
        ];
        for config in CONFIGS {
            for train in [
                &[0, 1, 4, 5][..],
                &[5, 3, 0],
                &[2, 3, 6],
                &[1],
                &[6, 5, 4, 3, 2, 1, 0],
            ] {
                check(config, &docs, train);
            }
            // No terms in the fold, or none in the whole corpus: the same error.
            check(config, &docs, &[2, 6]);
            check(config, &docs, &[]);
            check(config, &["", "a b", "?"], &[0, 1]);
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(200))]

        #[test]
        fn fitting_random_rows_is_fitting_their_text(
            docs in proptest::collection::vec("(aa|bb|Cc|dd ee|ff's|é|x|,| )*", 1..12),
            picks in proptest::collection::vec(0usize..12, 0..12),
            config in 0..CONFIGS.len(),
        ) {
            let docs: Vec<&str> = docs.iter().map(String::as_str).collect();
            let mut train: Vec<usize> = picks.into_iter().filter(|&i| i < docs.len()).collect();
            train.dedup();
            check(CONFIGS[config], &docs, &train);
        }
    }
}
