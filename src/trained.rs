//! A model for use beyond cross-validation: a fitted featurizer, a fitted logistic regression,
//! the class names and where they came from ([`TrainedModel`]), as `experiment::train` makes
//! it and `model_file` saves and loads it.
//!
//! Takes documents and hands on, per document, the class probabilities, the predicted class
//! and, on request, why ([`model::Explanation`](crate::model::Explanation)), with the
//! explained columns named: their vocabulary term, or under hashing `#COLUMN` and the
//! document's features that hash there. Scoring is the model's ([`FittedModel::score`]);
//! this module only puts text and names around it. It does no I/O and never prints.

use std::collections::BTreeMap;

use ndarray::Array2;

use crate::features::FittedFeatures;
use crate::model::{Explanation, FittedModel, ModelError, Scored};
use crate::persist::Version;
use crate::sparse::CsrMatrix;

/// Parts of a model that do not fit together.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the parts of the model do not fit together: {0}")]
pub struct PartsError(String);

/// Where a trained model came from: enough to tell whether it is still the experiment's.
#[derive(Debug, Clone, PartialEq)]
pub struct Provenance {
    /// The experiment's name (its file stem).
    pub experiment: String,
    pub description: Option<String>,
    /// The experiment's resolved configuration (every default written out).
    pub config: serde_json::Value,
    pub config_hash: String,
    /// The hash of the paragraphs it was trained on (`experiment::Dataset::hash`).
    pub data_hash: String,
    pub version: Version,
    /// Training paragraphs per class name.
    pub per_class: BTreeMap<String, usize>,
    /// Articles the training paragraphs came from.
    pub articles: usize,
    /// Characters of the longest training paragraph (unknown in older model files): inputs
    /// far longer than it are far from what the model has seen.
    pub longest_paragraph: Option<usize>,
}

/// A fitted featurizer and logistic regression with their class names.
///
/// Invariants (checked by [`TrainedModel::new`]): the model scores as many columns as the
/// features produce, and has one probability per class name.
#[derive(Debug, Clone)]
pub struct TrainedModel {
    features: FittedFeatures,
    model: FittedModel,
    classes: Vec<String>,
    provenance: Provenance,
}

impl TrainedModel {
    /// Assemble a model from its parts, checking that they fit together.
    pub fn new(
        features: FittedFeatures,
        model: FittedModel,
        classes: Vec<String>,
        provenance: Provenance,
    ) -> Result<TrainedModel, PartsError> {
        if features.n_features() != model.n_features() {
            return Err(PartsError(format!(
                "the features have {} columns but the model has {} weights per coefficient set",
                features.n_features(),
                model.n_features()
            )));
        }
        if classes.len() != model.n_classes() {
            return Err(PartsError(format!(
                "{} class names for a model of {} classes",
                classes.len(),
                model.n_classes()
            )));
        }
        Ok(TrainedModel {
            features,
            model,
            classes,
            provenance,
        })
    }

    pub fn features(&self) -> &FittedFeatures {
        &self.features
    }
    pub fn model(&self) -> &FittedModel {
        &self.model
    }
    /// Class names; probabilities come in this order.
    pub fn classes(&self) -> &[String] {
        &self.classes
    }
    pub fn provenance(&self) -> &Provenance {
        &self.provenance
    }

    /// The name of a column: its vocabulary term, or `#COLUMN` under hashing.
    pub fn term(&self, column: usize) -> String {
        match self.features.term(column) {
            Some(term) => term.to_owned(),
            None => format!("#{column}"),
        }
    }

    /// The names of the columns `explanation` lists (in its order) for the document `doc`
    /// it explains: vocabulary terms, or under hashing `#1234 (sanctions, talks)`, the
    /// column followed by the document's features that hash there.
    pub fn term_names(&self, doc: &str, explanation: &Explanation) -> Vec<String> {
        let hashed = self.features.hashed_features(doc);
        explanation
            .terms
            .iter()
            .map(|term| {
                let words: Vec<&str> = hashed
                    .iter()
                    .flatten()
                    .filter(|(column, _)| *column == term.column)
                    .map(|(_, feature)| feature.as_str())
                    .collect();
                if words.is_empty() {
                    self.term(term.column)
                } else {
                    format!("#{} ({})", term.column, words.join(", "))
                }
            })
            .collect()
    }

    /// The feature matrix of `docs` (in parallel).
    pub fn transform<S: AsRef<str> + Sync>(&self, docs: &[S]) -> CsrMatrix {
        self.features.transform(docs)
    }

    /// Probabilities (rows × classes) of the rows of `x`.
    pub fn predict_proba(&self, x: &CsrMatrix) -> Result<Array2<f64>, ModelError> {
        self.model.predict_proba(x)
    }

    /// Predict every row of `x` (in parallel, in row order), explaining each with the `k`
    /// columns toward each side when `explain` is `Some(k)`.
    pub fn score(&self, x: &CsrMatrix, explain: Option<usize>) -> Result<Vec<Scored>, ModelError> {
        self.model.score(x, explain)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use ndarray::{Array1, Array2, array};
    use proptest::prelude::*;

    use super::*;
    use crate::features::{FeatureConfig, RawFeatureConfig};
    use crate::model::{Convergence, ModelParts, Solver};

    const VOCABULARY: [&str; 5] = ["aa", "bb", "cc", "dd", "ee"];

    pub(crate) fn provenance() -> Provenance {
        Provenance {
            experiment: "test".to_owned(),
            description: None,
            config: serde_json::Value::Null,
            config_hash: String::new(),
            data_hash: String::new(),
            version: Version::of_this_build(),
            per_class: BTreeMap::new(),
            articles: 0,
            longest_paragraph: None,
        }
    }

    fn counts() -> FeatureConfig {
        RawFeatureConfig::default().check().unwrap()
    }

    pub(crate) fn fitted_features(vocabulary: &[&str]) -> FittedFeatures {
        let terms: Vec<String> = vocabulary.iter().map(|t| t.to_string()).collect();
        FittedFeatures::from_parts(counts(), terms, vec![1; vocabulary.len()], 4).unwrap()
    }

    pub(crate) fn fitted_model(
        classes: Vec<usize>,
        n_classes: usize,
        weights: Array2<f64>,
        intercepts: Array1<f64>,
    ) -> FittedModel {
        FittedModel::from_parts(ModelParts {
            n_classes,
            classes,
            weights,
            intercepts,
            solver: Solver::Lbfgs,
            convergence: Convergence {
                converged: true,
                gradient_norm: 0.0,
                tolerance: 1e-4,
                iterations: Some(1),
                message: String::new(),
            },
        })
        .unwrap()
    }

    /// Two classes; the single set scores `stable` with weights aa 2, bb −1, cc 0.5, dd −3,
    /// ee 1 and intercept 0.25.
    pub(crate) fn binary() -> TrainedModel {
        let model = fitted_model(
            vec![0, 1],
            2,
            array![[2.0, -1.0, 0.5, -3.0, 1.0]],
            array![0.25],
        );
        let classes = vec!["fracturing".to_owned(), "stable".to_owned()];
        TrainedModel::new(fitted_features(&VOCABULARY), model, classes, provenance()).unwrap()
    }

    fn explain(model: &TrainedModel, doc: &str, k: usize) -> Scored {
        let matrix = model.transform(&[doc]);
        model.score(&matrix, Some(k)).unwrap().remove(0)
    }

    /// `(term, contribution)` of the listed terms (every model here has the same vocabulary).
    fn listed(explanation: &Explanation) -> Vec<(String, f64)> {
        let names = binary().term_names("", explanation);
        names
            .into_iter()
            .zip(&explanation.terms)
            .map(|(name, t)| (name, t.contribution))
            .collect()
    }

    /// `listed`'s expected value.
    fn terms(expected: &[(&str, f64)]) -> Vec<(String, f64)> {
        expected.iter().map(|&(t, c)| (t.to_owned(), c)).collect()
    }

    #[test]
    fn explanations_list_k_terms_toward_each_side_and_sum_to_the_logit() {
        // Counts aa 2, bb 1, cc 1, dd 1, ee 2: contributions toward stable 4, −1, 0.5, −3, 2;
        // logit 0.25 + 2.5 = 2.75, so stable is predicted.
        let doc = "aa bb aa cc dd ee ee";
        let scored = explain(&binary(), doc, 1);
        assert_eq!(scored.predicted, 1);
        let e = scored.explanation.unwrap();
        assert_eq!((e.class, e.versus), (1, 0));
        assert_eq!(listed(&e), terms(&[("aa", 4.0), ("dd", -3.0)]));
        assert_eq!(
            (e.intercept, e.logit, e.rest, e.known_terms),
            (0.25, 2.75, 1.5, 5)
        );
        assert_eq!(e.terms[0].value, 2.0);
        assert_eq!(e.terms[0].weight, 2.0);

        let e = explain(&binary(), doc, 2).explanation.unwrap();
        assert_eq!(
            listed(&e),
            terms(&[("aa", 4.0), ("ee", 2.0), ("dd", -3.0), ("bb", -1.0)])
        );
        assert_eq!(e.rest, 0.5);

        // More than there are: every term listed, nothing left.
        let e = explain(&binary(), doc, 9).explanation.unwrap();
        assert_eq!(e.terms.len(), 5);
        assert_eq!(e.rest, 0.0);
    }

    #[test]
    fn the_other_class_is_explained_with_the_signs_turned() {
        // dd 2, bb 1: toward stable −6 − 1 + 0.25 = −6.75, so fracturing, by 6.75.
        let scored = explain(&binary(), "dd bb dd", 1);
        assert_eq!(scored.predicted, 0);
        let e = scored.explanation.unwrap();
        assert_eq!((e.class, e.versus), (0, 1));
        assert_eq!((e.intercept, e.logit), (-0.25, 6.75));
        assert_eq!(listed(&e), terms(&[("dd", 6.0)]));
        assert_eq!(e.terms[0].weight, 3.0);
        assert_eq!(e.rest, 1.0);
        let p = scored.probabilities[0];
        assert!((p - 1.0 / (1.0 + (-6.75f64).exp())).abs() < 1e-15);
    }

    #[test]
    fn a_paragraph_without_known_terms_is_the_intercept() {
        let scored = explain(&binary(), "zz unknown words", 3);
        let e = scored.explanation.unwrap();
        assert_eq!(scored.predicted, 1);
        assert_eq!(
            (e.known_terms, e.terms.len(), e.logit, e.rest),
            (0, 0, 0.25, 0.0)
        );
        let empty = explain(&binary(), "", 3);
        assert_eq!(empty.probabilities, scored.probabilities);
    }

    #[test]
    fn three_classes_are_explained_against_the_runner_up() {
        // Scores: fracturing aa, stable bb, neither intercept 0.5.
        let model = fitted_model(
            vec![0, 1, 2],
            3,
            array![
                [1.0, 0.0, 0.0, 0.0, 0.0],
                [0.0, 1.0, 0.0, 0.0, 0.0],
                [0.0, 0.0, 0.0, 0.0, 0.0]
            ],
            array![0.0, 0.0, 0.5],
        );
        let classes = ["fracturing", "stable", "neither"]
            .map(String::from)
            .to_vec();
        let model =
            TrainedModel::new(fitted_features(&VOCABULARY), model, classes, provenance()).unwrap();
        // Scores 3, 1, 0.5: fracturing against stable, logit 2 = aa 3 − bb 1.
        let scored = explain(&model, "aa aa aa bb", 5);
        let e = scored.explanation.unwrap();
        assert_eq!((scored.predicted, e.class, e.versus), (0, 0, 1));
        assert_eq!((e.logit, e.intercept), (2.0, 0.0));
        assert_eq!(listed(&e), terms(&[("aa", 3.0), ("bb", -1.0)]));
        let p = &scored.probabilities;
        let pairwise = p[0] / (p[0] + p[1]);
        assert!((pairwise - 1.0 / (1.0 + (-2.0f64).exp())).abs() < 1e-15);
        // Scores 0, 0, 0.5: neither, against the lower-indexed of the tied runners-up.
        let e = explain(&model, "cc", 1).explanation.unwrap();
        assert_eq!((e.class, e.versus, e.logit, e.intercept), (2, 0, 0.5, 0.5));
    }

    #[test]
    fn models_whose_parts_disagree_are_refused() {
        let model = fitted_model(vec![0, 1], 2, array![[1.0, 2.0]], array![0.0]);
        let err = TrainedModel::new(
            fitted_features(&VOCABULARY),
            model.clone(),
            vec!["a".into(), "b".into()],
            provenance(),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "the parts of the model do not fit together: the features have 5 columns but the \
             model has 2 weights per coefficient set"
        );
        let err = TrainedModel::new(
            fitted_features(&["aa", "bb"]),
            model,
            vec!["a".into(), "b".into(), "c".into()],
            provenance(),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "the parts of the model do not fit together: 3 class names for a model of 2 classes"
        );
    }

    #[test]
    fn hashed_columns_are_named_after_the_document_s_features() {
        let set: FeatureConfig = toml::from_str::<RawFeatureConfig>("hashing = { n_features = 4 }")
            .unwrap()
            .check()
            .unwrap();
        let features = FittedFeatures::from_parts(set, Vec::new(), vec![1; 4], 4).unwrap();
        let doc = "aa bb aa";
        let hashed = features.hashed_features(doc).unwrap();
        let model = fitted_model(vec![0, 1], 2, array![[1.0, -1.0, 2.0, 0.5]], array![0.0]);
        let classes = vec!["x".to_owned(), "y".to_owned()];
        let model = TrainedModel::new(features, model, classes, provenance()).unwrap();
        let scored = model.score(&model.transform(&[doc]), Some(4)).unwrap();
        let explanation = scored[0].explanation.as_ref().unwrap();
        let names = model.term_names(doc, explanation);
        assert_eq!(names.len(), explanation.terms.len());
        for (name, term) in names.iter().zip(&explanation.terms) {
            // Every word of the document hashed to this column, in document order.
            let words: Vec<&str> = hashed
                .iter()
                .filter(|(column, _)| *column == term.column)
                .map(|(_, word)| word.as_str())
                .collect();
            assert_eq!(name, &format!("#{} ({})", term.column, words.join(", ")));
        }
        assert!(!names.is_empty());
    }

    fn arbitrary_model(n_classes: usize) -> impl Strategy<Value = (TrainedModel, Vec<String>)> {
        let sets = if n_classes == 2 { 1 } else { n_classes };
        let words = prop::collection::vec(prop::sample::select(&VOCABULARY[..]), 0..12)
            .prop_map(|words| words.join(" "));
        (
            prop::collection::vec(-3.0f64..3.0, sets * VOCABULARY.len()),
            prop::collection::vec(-2.0f64..2.0, sets),
            prop::collection::vec(words, 1..8),
        )
            .prop_map(move |(weights, intercepts, docs)| {
                let model = fitted_model(
                    (0..n_classes).collect(),
                    n_classes,
                    Array2::from_shape_vec((sets, VOCABULARY.len()), weights).unwrap(),
                    Array1::from(intercepts),
                );
                let classes = (0..n_classes).map(|c| format!("c{c}")).collect();
                let features = fitted_features(&VOCABULARY);
                (
                    TrainedModel::new(features, model, classes, provenance()).unwrap(),
                    docs,
                )
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn sparse_scores_match_dense_arithmetic_and_explanations_add_up(
            (model, docs) in (2usize..5).prop_flat_map(arbitrary_model),
            k in 1usize..4,
        ) {
            let matrix = model.transform(&docs);
            // The same probabilities from the dense rows, computed here independently.
            let fitted = model.model();
            let scores = matrix.to_dense().dot(&fitted.weights().t()) + fitted.intercepts();
            let sparse = model.predict_proba(&matrix).unwrap();
            let scored = model.score(&matrix, Some(k)).unwrap();
            for (i, scored) in scored.iter().enumerate() {
                let row = scores.row(i);
                let dense: Vec<f64> = if row.len() == 1 {
                    let p = 1.0 / (1.0 + (-row[0]).exp());
                    vec![1.0 - p, p]
                } else {
                    let total: f64 = row.iter().map(|s| s.exp()).sum();
                    row.iter().map(|s| s.exp() / total).collect()
                };
                for (c, &p) in scored.probabilities.iter().enumerate() {
                    prop_assert!((p - dense[c]).abs() <= 1e-12);
                    prop_assert_eq!(p, sparse[(i, c)]);
                }
                let e = scored.explanation.as_ref().unwrap();
                let listed: f64 = e.terms.iter().map(|t| t.contribution).sum();
                prop_assert!((e.intercept + listed + e.rest - e.logit).abs() <= 1e-9);
                let (pc, pr) = (scored.probabilities[e.class], scored.probabilities[e.versus]);
                let pairwise = 1.0 / (1.0 + (-e.logit).exp());
                prop_assert!((pairwise - pc / (pc + pr)).abs() <= 1e-9);
                prop_assert!(pc >= pr);
                let positive = e.terms.iter().filter(|t| t.contribution > 0.0).count();
                prop_assert!(positive <= k && e.terms.len() - positive <= k);
                for (t, name) in e.terms.iter().zip(model.term_names(&docs[i], e)) {
                    prop_assert!(docs[i].split(' ').any(|w| w == name));
                    prop_assert_eq!(t.contribution, t.weight * t.value);
                }
            }
        }
    }
}
