//! Feature unions: several feature sets side by side, their columns concatenated, as
//! scikit-learn's `FeatureUnion` (say word 1–3-grams beside char_wb 2–5-grams).
//!
//! Takes the checked sets ([`FeatureUnion`]), and for a labelled set hands on, per subset of
//! rows, one matrix whose columns are the first part's, then the second's, and so on; each
//! part is fitted on those rows alone (its vocabulary, document frequencies and idf), exactly
//! as it would be on its own. A single feature set is a union of one part, whose matrix is
//! that part's, untouched.

use super::analyzed::{AnalyzedCorpus, FoldColumns};
use super::config::{FeatureConfig, RawFeatureConfig};
use super::{FeatureError, FittedFeatures};
use crate::sparse::CsrMatrix;

/// One feature set (`[features]`) or several (`[[features]]`), in order.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureUnion {
    parts: Vec<FeatureConfig>,
    /// Written as an array of tables (kept so that the resolved config reads as written).
    as_array: bool,
}

impl FeatureUnion {
    /// A single feature set.
    pub fn single(set: FeatureConfig) -> FeatureUnion {
        FeatureUnion {
            parts: vec![set],
            as_array: false,
        }
    }

    /// Several feature sets (at least one), their columns side by side.
    pub fn of(parts: Vec<FeatureConfig>) -> Option<FeatureUnion> {
        (!parts.is_empty()).then_some(FeatureUnion {
            parts,
            as_array: true,
        })
    }

    pub fn parts(&self) -> &[FeatureConfig] {
        &self.parts
    }

    /// The one feature set, unless this is a union written as an array of tables.
    pub fn as_single(&self) -> Option<&FeatureConfig> {
        match (self.as_array, &self.parts[..]) {
            (false, [single]) => Some(single),
            _ => None,
        }
    }

    /// The table (or array of tables) with every default written out, for records.
    pub fn to_raw_json(&self) -> serde_json::Value {
        let raw: Vec<RawFeatureConfig> = self.parts.iter().map(FeatureConfig::to_raw).collect();
        let value = |raw: &RawFeatureConfig| {
            serde_json::to_value(raw).expect("a feature table serialises to JSON")
        };
        match (self.as_array, &raw[..]) {
            (false, [single]) => value(single),
            _ => serde_json::Value::Array(raw.iter().map(value).collect()),
        }
    }

    /// Analyse `docs` once per part.
    pub fn analyze_corpus<S: AsRef<str> + Sync>(&self, docs: &[S]) -> AnalyzedUnion {
        AnalyzedUnion {
            parts: self
                .parts
                .iter()
                .map(|part| part.analyze_corpus(docs))
                .collect(),
        }
    }
}

/// A labelled set analysed for every part of a union.
pub struct AnalyzedUnion {
    parts: Vec<AnalyzedCorpus>,
}

/// What fitting every part on some rows learnt.
pub struct UnionColumns {
    parts: Vec<FoldColumns>,
}

impl UnionColumns {
    /// Columns of the concatenated matrix.
    pub fn n_features(&self) -> usize {
        self.parts.iter().map(FoldColumns::n_features).sum()
    }
}

impl AnalyzedUnion {
    pub fn n_documents(&self) -> usize {
        self.parts.first().map_or(0, AnalyzedCorpus::n_documents)
    }

    pub fn parts(&self) -> &[AnalyzedCorpus] {
        &self.parts
    }

    /// Fit every part on the documents `rows`: the concatenated matrix and the fitted
    /// columns. A part that fails (no term left) fails the union, as scikit-learn's does.
    pub fn fit_transform(&self, rows: &[usize]) -> Result<(UnionColumns, CsrMatrix), FeatureError> {
        let mut columns = Vec::with_capacity(self.parts.len());
        let mut matrices = Vec::with_capacity(self.parts.len());
        for part in &self.parts {
            let (fold, matrix) = part.fit_transform(rows)?;
            columns.push(fold);
            matrices.push(matrix);
        }
        let matrix = hstack(matrices);
        Ok((UnionColumns { parts: columns }, matrix))
    }

    /// The documents `rows` through every part's fitted columns, concatenated.
    pub fn transform(&self, fold: &UnionColumns, rows: &[usize]) -> CsrMatrix {
        hstack(
            self.parts
                .iter()
                .zip(&fold.parts)
                .map(|(part, columns)| part.transform(columns, rows))
                .collect(),
        )
    }

    /// Each part's fitted features, in order.
    pub fn fitted_features(&self, fold: &UnionColumns) -> Vec<FittedFeatures> {
        self.parts
            .iter()
            .zip(&fold.parts)
            .map(|(part, columns)| part.fitted_features(columns))
            .collect()
    }
}

/// Matrices of the same rows side by side; one matrix is returned as it is.
pub fn hstack(mut parts: Vec<CsrMatrix>) -> CsrMatrix {
    if parts.len() == 1 {
        return parts.pop().expect("one part");
    }
    let n_rows = parts.first().map_or(0, CsrMatrix::n_rows);
    debug_assert!(parts.iter().all(|part| part.n_rows() == n_rows));
    let n_cols: usize = parts.iter().map(CsrMatrix::n_cols).sum();
    let nnz: usize = parts.iter().map(CsrMatrix::nnz).sum();
    let mut indptr = Vec::with_capacity(n_rows + 1);
    let mut indices = Vec::with_capacity(nnz);
    let mut data = Vec::with_capacity(nnz);
    indptr.push(0);
    for row in 0..n_rows {
        let mut offset = 0u32;
        for part in &parts {
            let (columns, values) = part.row(row);
            indices.extend(columns.iter().map(|&c| c + offset));
            data.extend_from_slice(values);
            offset += part.n_cols() as u32;
        }
        indptr.push(indices.len());
    }
    CsrMatrix::from_parts(n_cols, indptr, indices, data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hstack_puts_rows_side_by_side() {
        let a = CsrMatrix::from_rows(2, &[vec![(1, 1.0)], vec![]]);
        let b = CsrMatrix::from_rows(3, &[vec![(0, 2.0), (2, 3.0)], vec![(1, 4.0)]]);
        let stacked = hstack(vec![a.clone(), b]);
        assert_eq!(
            stacked.to_dense(),
            ndarray::array![[0.0, 1.0, 2.0, 0.0, 3.0], [0.0, 0.0, 0.0, 4.0, 0.0]]
        );
        assert_eq!(hstack(vec![a.clone()]), a);
    }

    #[derive(serde::Deserialize)]
    struct Fixture {
        train_rows: Vec<usize>,
        test_rows: Vec<usize>,
        features: Vec<String>,
        train: Csr,
        test: Csr,
    }

    #[derive(serde::Deserialize)]
    struct Csr {
        shape: (usize, usize),
        indptr: Vec<usize>,
        indices: Vec<u32>,
        data: Vec<f64>,
    }

    fn check_matrix(name: &str, ours: &CsrMatrix, theirs: &Csr) {
        assert_eq!(
            (ours.n_rows(), ours.n_cols()),
            theirs.shape,
            "{name}: shape"
        );
        assert_eq!(ours.indptr(), &theirs.indptr[..], "{name}: rows");
        assert_eq!(ours.indices(), &theirs.indices[..], "{name}: columns");
        for (a, b) in ours.data().iter().zip(&theirs.data) {
            assert!(
                (a - b).abs() <= 1e-12 * b.abs().max(1.0),
                "{name}: {a} != {b}"
            );
        }
    }

    /// scikit-learn's `FeatureUnion` of word 1–3-gram counts and sublinear char_wb 2–5-gram
    /// tf-idf, fitted on some rows of the seed paragraphs (`scripts/gen-union-fixture.py`):
    /// the same columns, names and values, for the fitted rows and for the others.
    #[test]
    fn unions_match_scikit_learn() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let file = std::fs::File::open(root.join("tests/fixtures/features/union.json.gz")).unwrap();
        let fixture: Fixture = serde_json::from_reader(flate2::read::GzDecoder::new(file)).unwrap();
        let docs: Vec<String> = serde_json::from_str(
            &std::fs::read_to_string(root.join("tests/fixtures/features/corpora/seeds.json"))
                .unwrap(),
        )
        .unwrap();
        let part = |toml_text: &str| {
            toml::from_str::<RawFeatureConfig>(toml_text)
                .unwrap()
                .check()
                .unwrap()
        };
        let union = FeatureUnion::of(vec![
            part("ngram_range = [1, 3]"),
            part("analyzer = \"char_wb\"\nngram_range = [2, 5]\nweighting = \"tfidf\"\nsublinear_tf = true"),
        ])
        .unwrap();
        let analyzed = union.analyze_corpus(&docs);
        let (columns, train) = analyzed.fit_transform(&fixture.train_rows).unwrap();
        check_matrix("train", &train, &fixture.train);
        check_matrix(
            "test",
            &analyzed.transform(&columns, &fixture.test_rows),
            &fixture.test,
        );
        let fitted = analyzed.fitted_features(&columns);
        let names: Vec<String> = ["word", "char"]
            .iter()
            .zip(&fitted)
            .flat_map(|(prefix, part)| {
                (0..part.n_features()).map(move |c| format!("{prefix}__{}", part.term(c).unwrap()))
            })
            .collect();
        assert_eq!(names, fixture.features);
        assert_eq!(columns.n_features(), fixture.features.len());
        assert_eq!(union.to_raw_json().as_array().map(Vec::len), Some(2));
    }
}
