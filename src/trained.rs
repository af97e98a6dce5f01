//! A model for use beyond cross-validation: an experiment and its labelled paragraphs in, a
//! [`TrainedModel`] out (fitted featurizer, fitted logistic regression, class names and where
//! it came from), which scores new documents, explains each decision term by term, and lists
//! the terms that carry each class with their stability across the experiment's folds.
//!
//! Scoring works on the sparse rows of [`CsrMatrix`] and never builds a dense matrix, so a
//! batch of any size costs memory in proportion to its non-zeros. Probabilities are the same
//! numbers [`FittedModel::predict_proba`] gives on the dense rows (same formulas; only the
//! order of the sums differs).
//!
//! Explanations. The explained class `c` is the predicted one; it is explained against `r`,
//! the other class (two classes) or the runner-up by probability (three or more). The logit
//! is `s_c − s_r`, the difference of the two classes' scores, so its logistic is
//! `p_c / (p_c + p_r)`: with two classes exactly `p_c`. It splits into the intercept
//! `b_c − b_r` plus, per column `j` of the paragraph, `(w_cj − w_rj) · x_j`. (With two
//! classes the single coefficient set `w` scores the higher class, so `w_c − w_r` is `±w`.)
//! The listed terms are the `k` largest positive contributions (toward `c`, largest first)
//! then the `k` most negative (toward `r`, most negative first); `rest` sums the others, so
//! `intercept + Σ listed + rest = logit`.
//!
//! This module does no I/O (the model file is `model_file`'s) and never prints.

use std::collections::BTreeMap;

use ndarray::Array2;
use rayon::prelude::*;

use crate::cv::{self, CvError, Split};
use crate::experiment::{DataError, Dataset, Experiment, FitError, fit_features_and_model};
use crate::features::{FeatureError, FeatureSet, FittedFeatures};
use crate::metrics::predicted_class;
use crate::model::{FittedModel, ModelError, ModelParams};
use crate::persist::Version;
use crate::sparse::CsrMatrix;

/// Why a model could not be trained, assembled or applied.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error(transparent)]
    Data(#[from] DataError),
    #[error("features: {0}")]
    Features(#[from] FeatureError),
    #[error("model: {0}")]
    Model(#[from] ModelError),
    #[error("cross-validation: {0}")]
    Cv(#[from] CvError),
    #[error("repeat {repeat}, fold {fold}")]
    Fold {
        repeat: usize,
        fold: usize,
        source: Box<TrainError>,
    },
    #[error("the parts of the model do not fit together: {0}")]
    Mismatch(String),
}

/// Where a trained model came from: enough to tell whether it is still the experiment's.
#[derive(Debug, Clone, PartialEq)]
pub struct Provenance {
    /// The experiment's name (its file stem).
    pub experiment: String,
    pub description: Option<String>,
    /// The experiment's resolved configuration (every default written out).
    pub config: serde_json::Value,
    pub config_hash: String,
    /// [`Dataset::hash`] of the paragraphs it was trained on.
    pub data_hash: String,
    pub version: Version,
    /// Training paragraphs per class name.
    pub per_class: BTreeMap<String, usize>,
    /// Articles the training paragraphs came from.
    pub articles: usize,
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
    /// The model's coefficients feature-major (`[j · sets + s]`), so that scoring a row reads
    /// one contiguous run per non-zero.
    coefficients: Vec<f64>,
    n_sets: usize,
    /// Per class index, its coefficient set (for three or more classes).
    set_of_class: Vec<Option<usize>>,
}

/// One document's prediction.
#[derive(Debug, Clone, PartialEq)]
pub struct Scored {
    /// Class index (into [`TrainedModel::classes`]) of the highest probability; the lower
    /// index on a tie.
    pub predicted: usize,
    /// One per class, in class order, summing to 1.
    pub probabilities: Vec<f64>,
    pub explanation: Option<Explanation>,
}

/// Why a document was given its class; see the module documentation for the definition.
#[derive(Debug, Clone, PartialEq)]
pub struct Explanation {
    /// The explained (predicted) class.
    pub class: usize,
    /// The class it is explained against: the other one, or the runner-up.
    pub versus: usize,
    /// `s_class − s_versus`; its logistic is `p_class / (p_class + p_versus)`.
    pub logit: f64,
    /// `b_class − b_versus`.
    pub intercept: f64,
    /// The largest positive contributions, largest first, then the most negative, most
    /// negative first.
    pub terms: Vec<Contribution>,
    /// The summed contributions of the document's other columns.
    pub rest: f64,
    /// Non-zero columns of the document: 0 means it was predicted from the intercept alone.
    pub known_terms: usize,
}

/// One column's share of a logit.
#[derive(Debug, Clone, PartialEq)]
pub struct Contribution {
    pub column: usize,
    /// The vocabulary term; under hashing (which keeps no terms), `#COLUMN`, followed by the
    /// document's features that hash there once [`TrainedModel::name_hashed_columns`] ran.
    pub term: String,
    /// The document's feature value.
    pub value: f64,
    /// `w_class − w_versus` of the column.
    pub weight: f64,
    /// `weight · value`.
    pub contribution: f64,
}

/// A featurizer and model fitted on one training fold of an experiment.
#[derive(Debug, Clone)]
pub struct FoldFit {
    pub split: Split,
    pub features: FittedFeatures,
    pub model: FittedModel,
}

/// How often a term's weight for a class keeps the full model's sign across folds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignStability {
    pub folds: usize,
    /// Folds whose vocabulary has the term and whose weight has the full model's sign.
    pub same_sign: usize,
    /// Folds whose weight has the opposite sign: the term is noise.
    pub flipped: usize,
    /// Folds that never saw the term (or the class), or gave it no weight.
    pub absent: usize,
}

impl SignStability {
    pub fn is_noise(&self) -> bool {
        self.flipped > 0
    }
}

/// One of the terms that carry a class.
#[derive(Debug, Clone, PartialEq)]
pub struct TermWeight {
    pub column: usize,
    pub term: String,
    /// The term's weight toward the class: `w` or `−w` with two classes, `w_class` otherwise.
    pub weight: f64,
    /// Training paragraphs containing the term.
    pub document_frequency: u64,
    /// `None` when no folds were given.
    pub stability: Option<SignStability>,
}

/// Fit `set` and `params` on `texts` with class indices `labels`.
pub fn fit<S: AsRef<str> + Sync>(
    set: &FeatureSet,
    params: &ModelParams,
    texts: &[S],
    labels: &[usize],
    n_classes: usize,
) -> Result<(FittedFeatures, FittedModel), TrainError> {
    fit_features_and_model(set, params, texts, labels, n_classes).map_err(|err| match err {
        FitError::Features(err) => TrainError::Features(err),
        FitError::Model(err) => TrainError::Model(err),
    })
}

/// Train on every paragraph the experiment selects from its label store.
pub fn train(experiment: &Experiment) -> Result<TrainedModel, TrainError> {
    let dataset = Dataset::load(experiment.data())?;
    train_on(experiment, &dataset)
}

/// Train on `dataset`, which should be the experiment's selection (its hash is recorded).
pub fn train_on(experiment: &Experiment, dataset: &Dataset) -> Result<TrainedModel, TrainError> {
    let (features, model) = fit(
        experiment.features(),
        experiment.model(),
        &dataset.texts(),
        &dataset.labels(),
        dataset.classes().len(),
    )?;
    let provenance = Provenance {
        experiment: experiment.name().to_owned(),
        description: experiment.description().map(str::to_owned),
        config: experiment.resolved().clone(),
        config_hash: experiment.config_hash(),
        data_hash: dataset.hash(),
        version: Version::of_this_build(),
        per_class: dataset.per_class(),
        articles: dataset.articles().len(),
    };
    TrainedModel::new(features, model, dataset.classes().to_vec(), provenance)
}

/// Fit on the training rows of every split of the experiment's cross-validation scheme.
pub fn fit_folds(experiment: &Experiment, dataset: &Dataset) -> Result<Vec<FoldFit>, TrainError> {
    let labels = dataset.labels();
    let splits = cv::splits(
        experiment.cv(),
        dataset.classes(),
        &labels,
        &dataset.groups(),
    )?;
    let texts = dataset.texts();
    splits
        .into_par_iter()
        .map(|split| {
            let train_texts: Vec<&str> = split.train().iter().map(|&i| texts[i]).collect();
            let train_labels: Vec<usize> = split.train().iter().map(|&i| labels[i]).collect();
            let (features, model) = fit(
                experiment.features(),
                experiment.model(),
                &train_texts,
                &train_labels,
                dataset.classes().len(),
            )
            .map_err(|source| TrainError::Fold {
                repeat: split.repeat(),
                fold: split.fold(),
                source: Box::new(source),
            })?;
            Ok(FoldFit {
                split,
                features,
                model,
            })
        })
        .collect()
}

/// The weight of `column` toward `class`: `±w` with two classes seen, `w_class` with more;
/// `None` if the model never saw the class.
fn class_weight(model: &FittedModel, class: usize, column: usize) -> Option<f64> {
    match model.classes() {
        &[negative, positive] => {
            let w = model.weights()[(0, column)];
            if class == positive {
                Some(w)
            } else if class == negative {
                Some(-w)
            } else {
                None
            }
        }
        _ => model.weights_for(class).map(|weights| weights[column]),
    }
}

impl TrainedModel {
    /// Assemble a model from its parts, checking that they fit together.
    pub fn new(
        features: FittedFeatures,
        model: FittedModel,
        classes: Vec<String>,
        provenance: Provenance,
    ) -> Result<TrainedModel, TrainError> {
        if features.n_features() != model.n_features() {
            return Err(TrainError::Mismatch(format!(
                "the features have {} columns but the model has {} weights per coefficient set",
                features.n_features(),
                model.n_features()
            )));
        }
        if classes.len() != model.n_classes() {
            return Err(TrainError::Mismatch(format!(
                "{} class names for a model of {} classes",
                classes.len(),
                model.n_classes()
            )));
        }
        let n_sets = model.weights().nrows();
        let mut coefficients = vec![0.0; n_sets * model.n_features()];
        for ((set, column), &w) in model.weights().indexed_iter() {
            coefficients[column * n_sets + set] = w;
        }
        let mut set_of_class = vec![None; classes.len()];
        for (set, &class) in model.set_classes().iter().enumerate() {
            set_of_class[class] = Some(set);
        }
        Ok(TrainedModel {
            features,
            model,
            classes,
            provenance,
            coefficients,
            n_sets,
            set_of_class,
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

    /// Under hashing, name each explained column of `scored` (rows of `docs`, in order) after
    /// the document's features that hash to it: `#1234 (sanctions, talks)`. Without hashing,
    /// or without explanations, nothing changes.
    pub fn name_hashed_columns<S: AsRef<str> + Sync>(&self, docs: &[S], scored: &mut [Scored]) {
        scored
            .par_iter_mut()
            .zip(docs.par_iter())
            .for_each(|(scored, doc)| {
                let Some(explanation) = &mut scored.explanation else {
                    return;
                };
                let Some(features) = self.features.hashed_features(doc.as_ref()) else {
                    return;
                };
                for term in &mut explanation.terms {
                    let words: Vec<&str> = features
                        .iter()
                        .filter(|(column, _)| *column == term.column)
                        .map(|(_, feature)| feature.as_str())
                        .collect();
                    if !words.is_empty() {
                        term.term = format!("#{} ({})", term.column, words.join(", "));
                    }
                }
            });
    }

    /// The feature matrix of `docs` (in parallel).
    pub fn transform<S: AsRef<str> + Sync>(&self, docs: &[S]) -> CsrMatrix {
        self.features.transform(docs)
    }

    fn check_columns(&self, x: &CsrMatrix) -> Result<(), TrainError> {
        if x.n_cols() == self.model.n_features() {
            Ok(())
        } else {
            Err(TrainError::Model(ModelError::FeatureCount {
                expected: self.model.n_features(),
                found: x.n_cols(),
            }))
        }
    }

    /// Probabilities (rows × classes) of the rows of `x`, without densifying it.
    pub fn predict_proba(&self, x: &CsrMatrix) -> Result<Array2<f64>, TrainError> {
        self.check_columns(x)?;
        let n_classes = self.classes.len();
        let mut proba = vec![0.0; x.n_rows() * n_classes];
        proba
            .par_chunks_mut(n_classes)
            .enumerate()
            .for_each(|(i, out)| {
                let (columns, values) = x.row(i);
                self.model
                    .probabilities_from_scores(&self.scores(columns, values), out);
            });
        Array2::from_shape_vec((x.n_rows(), n_classes), proba)
            .map_err(|err| TrainError::Mismatch(err.to_string()))
    }

    /// Predict every row of `x` (in parallel, in row order), explaining each with the `k`
    /// terms toward each side when `explain` is `Some(k)`.
    pub fn score(&self, x: &CsrMatrix, explain: Option<usize>) -> Result<Vec<Scored>, TrainError> {
        self.check_columns(x)?;
        Ok((0..x.n_rows())
            .into_par_iter()
            .map(|i| {
                let (columns, values) = x.row(i);
                self.score_row(columns, values, explain)
            })
            .collect())
    }

    /// `intercept + Σ w·x` per coefficient set; `columns` are below `n_features`.
    fn scores(&self, columns: &[u32], values: &[f64]) -> Vec<f64> {
        let k = self.n_sets;
        let mut scores = self.model.intercepts().to_vec();
        for (&column, &value) in columns.iter().zip(values) {
            let start = column as usize * k;
            for (score, &w) in scores.iter_mut().zip(&self.coefficients[start..start + k]) {
                *score += w * value;
            }
        }
        scores
    }

    fn score_row(&self, columns: &[u32], values: &[f64], explain: Option<usize>) -> Scored {
        let scores = self.scores(columns, values);
        let mut probabilities = vec![0.0; self.classes.len()];
        self.model
            .probabilities_from_scores(&scores, &mut probabilities);
        let predicted = predicted_class(&probabilities);
        let explanation = explain.map(|k| {
            let versus = self.versus(predicted, &probabilities);
            self.explain(columns, values, predicted, versus, k)
        });
        Scored {
            predicted,
            probabilities,
            explanation,
        }
    }

    /// The most probable class the model has seen other than `class` (with two seen: the
    /// other one); the lower index on a tie.
    fn versus(&self, class: usize, probabilities: &[f64]) -> usize {
        let mut best: Option<usize> = None;
        for &other in self.model.classes() {
            if other == class {
                continue;
            }
            match best {
                Some(b) if probabilities[b] >= probabilities[other] => {}
                _ => best = Some(other),
            }
        }
        best.unwrap_or(class)
    }

    /// Weight and intercept of the log-odds of `class` against `versus`, per column.
    fn pair(&self, class: usize, versus: usize) -> (impl Fn(usize) -> f64 + '_, f64) {
        let k = self.n_sets;
        let intercepts = self.model.intercepts();
        // Two classes: one set scoring the higher class, so the pair is ±w.
        let (plus, minus, sign) = match (self.set_of_class[class], self.set_of_class[versus]) {
            (Some(c), Some(r)) if k > 1 => (c, Some(r), 1.0),
            (Some(c), _) => (c, None, 1.0),
            (None, Some(r)) => (r, None, -1.0),
            (None, None) => (0, None, 0.0),
        };
        let weight = move |column: usize| {
            let row = &self.coefficients[column * k..column * k + k];
            sign * (row[plus] - minus.map_or(0.0, |m| row[m]))
        };
        let intercept = sign * (intercepts[plus] - minus.map_or(0.0, |m| intercepts[m]));
        (weight, intercept)
    }

    fn explain(
        &self,
        columns: &[u32],
        values: &[f64],
        class: usize,
        versus: usize,
        k: usize,
    ) -> Explanation {
        let (weight, intercept) = self.pair(class, versus);
        let parts: Vec<(usize, f64, f64, f64)> = columns
            .iter()
            .zip(values)
            .map(|(&column, &value)| {
                let column = column as usize;
                let w = weight(column);
                (column, value, w, w * value)
            })
            .collect();
        let logit = intercept + parts.iter().map(|p| p.3).sum::<f64>();

        // Largest first; ties by column, so the choice never depends on anything else.
        let by_size = |a: &usize, b: &usize, sign: f64| {
            (sign * parts[*b].3)
                .total_cmp(&(sign * parts[*a].3))
                .then(parts[*a].0.cmp(&parts[*b].0))
        };
        let top = |sign: f64| -> Vec<usize> {
            let mut side: Vec<usize> = (0..parts.len())
                .filter(|&i| sign * parts[i].3 > 0.0)
                .collect();
            if side.len() > k {
                side.select_nth_unstable_by(k, |a, b| by_size(a, b, sign));
                side.truncate(k);
            }
            side.sort_by(|a, b| by_size(a, b, sign));
            side
        };
        let listed: Vec<usize> = top(1.0).into_iter().chain(top(-1.0)).collect();
        let mut is_listed = vec![false; parts.len()];
        for &i in &listed {
            is_listed[i] = true;
        }
        let rest = parts
            .iter()
            .zip(&is_listed)
            .filter(|(_, listed)| !**listed)
            .map(|(p, _)| p.3)
            .sum();
        let terms = listed
            .into_iter()
            .map(|i| {
                let (column, value, weight, contribution) = parts[i];
                Contribution {
                    column,
                    term: self.term(column),
                    value,
                    weight,
                    contribution,
                }
            })
            .collect();
        Explanation {
            class,
            versus,
            logit,
            intercept,
            terms,
            rest,
            known_terms: values.iter().filter(|&&v| v != 0.0).count(),
        }
    }

    /// The `k` terms with the largest positive weight toward `class` (largest first), with
    /// their sign stability across `folds` when any are given.
    pub fn top_terms(&self, class: usize, k: usize, folds: &[FoldFit]) -> Vec<TermWeight> {
        let mut weighted: Vec<(usize, f64)> = (0..self.model.n_features())
            .filter_map(|column| {
                class_weight(&self.model, class, column)
                    .filter(|&w| w > 0.0)
                    .map(|w| (column, w))
            })
            .collect();
        let order = |a: &(usize, f64), b: &(usize, f64)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
        if weighted.len() > k {
            weighted.select_nth_unstable_by(k, order);
            weighted.truncate(k);
        }
        weighted.sort_by(order);
        let document_frequencies = self.features.document_frequencies().unwrap_or(&[]);
        weighted
            .into_iter()
            .map(|(column, weight)| TermWeight {
                column,
                term: self.term(column),
                weight,
                document_frequency: document_frequencies.get(column).copied().unwrap_or(0),
                stability: (!folds.is_empty())
                    .then(|| self.sign_stability(class, column, weight, folds)),
            })
            .collect()
    }

    fn sign_stability(
        &self,
        class: usize,
        column: usize,
        weight: f64,
        folds: &[FoldFit],
    ) -> SignStability {
        let mut stability = SignStability {
            folds: folds.len(),
            same_sign: 0,
            flipped: 0,
            absent: 0,
        };
        for fold in folds {
            // Vocabulary columns differ between fits; hashed columns are the same everywhere.
            let fold_column = match (self.features.term(column), fold.features.vocabulary()) {
                (Some(term), Some(vocabulary)) => vocabulary.column(term),
                _ => Some(column),
            };
            match fold_column.and_then(|c| class_weight(&fold.model, class, c)) {
                // A hashed column no training paragraph of the fold touched has weight 0.
                None | Some(0.0) => stability.absent += 1,
                Some(w) if w.signum() == weight.signum() => stability.same_sign += 1,
                Some(_) => stability.flipped += 1,
            }
        }
        stability
    }
}

#[cfg(test)]
mod tests {
    use ndarray::{Array1, Array2, array};
    use proptest::prelude::*;

    use super::*;
    use crate::features::RawFeatureConfig;
    use crate::model::{Convergence, ModelParts, Solver};

    const VOCABULARY: [&str; 5] = ["aa", "bb", "cc", "dd", "ee"];

    fn provenance() -> Provenance {
        Provenance {
            experiment: "test".to_owned(),
            description: None,
            config: serde_json::Value::Null,
            config_hash: String::new(),
            data_hash: String::new(),
            version: Version::of_this_build(),
            per_class: BTreeMap::new(),
            articles: 0,
        }
    }

    fn counts() -> FeatureSet {
        RawFeatureConfig::default().check().unwrap()
    }

    fn fitted_features(vocabulary: &[&str]) -> FittedFeatures {
        let terms: Vec<String> = vocabulary.iter().map(|t| t.to_string()).collect();
        FittedFeatures::from_parts(counts(), terms, vec![1; vocabulary.len()], 4).unwrap()
    }

    fn fitted_model(
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
    fn binary() -> TrainedModel {
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

    /// `(term, contribution)` of the listed terms.
    fn listed(explanation: &Explanation) -> Vec<(&str, f64)> {
        explanation
            .terms
            .iter()
            .map(|t| (t.term.as_str(), t.contribution))
            .collect()
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
        assert_eq!(listed(&e), [("aa", 4.0), ("dd", -3.0)]);
        assert_eq!(
            (e.intercept, e.logit, e.rest, e.known_terms),
            (0.25, 2.75, 1.5, 5)
        );
        assert_eq!(e.terms[0].value, 2.0);
        assert_eq!(e.terms[0].weight, 2.0);

        let e = explain(&binary(), doc, 2).explanation.unwrap();
        assert_eq!(
            listed(&e),
            [("aa", 4.0), ("ee", 2.0), ("dd", -3.0), ("bb", -1.0)]
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
        assert_eq!(listed(&e), [("dd", 6.0)]);
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
        assert_eq!(listed(&e), [("aa", 3.0), ("bb", -1.0)]);
        let p = &scored.probabilities;
        let pairwise = p[0] / (p[0] + p[1]);
        assert!((pairwise - 1.0 / (1.0 + (-2.0f64).exp())).abs() < 1e-15);
        // Scores 0, 0, 0.5: neither, against the lower-indexed of the tied runners-up.
        let e = explain(&model, "cc", 1).explanation.unwrap();
        assert_eq!((e.class, e.versus, e.logit, e.intercept), (2, 0, 0.5, 0.5));
    }

    #[test]
    fn top_terms_carry_each_side_and_count_sign_flips_across_folds() {
        let model = binary();
        let terms = |class, folds: &[FoldFit]| -> Vec<(String, f64, Option<SignStability>)> {
            model
                .top_terms(class, 2, folds)
                .into_iter()
                .map(|t| (t.term, t.weight, t.stability))
                .collect()
        };
        assert_eq!(
            terms(1, &[]),
            [("aa".to_owned(), 2.0, None), ("ee".to_owned(), 1.0, None)]
        );
        assert_eq!(
            terms(0, &[]),
            [("dd".to_owned(), 3.0, None), ("bb".to_owned(), 1.0, None)]
        );

        // Fold 1 agrees on aa and lacks ee; fold 2 flips aa and agrees on ee.
        let fold = |vocabulary: &[&str], weights: Vec<f64>| FoldFit {
            split: cv::splits(
                &crate::cv::RawCvConfig::default().check().unwrap(),
                &["x", "y"],
                &[0, 0, 0, 0, 0, 1, 1, 1, 1, 1],
                &[],
            )
            .unwrap()
            .remove(0),
            features: fitted_features(vocabulary),
            model: fitted_model(
                vec![0, 1],
                2,
                Array2::from_shape_vec((1, weights.len()), weights).unwrap(),
                array![0.0],
            ),
        };
        let folds = [
            fold(&["aa", "dd"], vec![0.5, -0.1]),
            fold(&["aa", "bb", "ee"], vec![-0.5, -0.2, 0.3]),
        ];
        let stability = |same_sign, flipped, absent| {
            Some(SignStability {
                folds: 2,
                same_sign,
                flipped,
                absent,
            })
        };
        let listed = terms(1, &folds);
        assert_eq!(listed[0].2, stability(1, 1, 0));
        assert!(listed[0].2.unwrap().is_noise());
        assert_eq!(listed[1].2, stability(1, 0, 1));
        let against = terms(0, &folds);
        assert_eq!(against[0].2, stability(1, 0, 1));
        assert_eq!(against[1].2, stability(1, 0, 1));
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
        fn sparse_scores_match_the_dense_model_and_explanations_add_up(
            (model, docs) in (2usize..5).prop_flat_map(arbitrary_model),
            k in 1usize..4,
        ) {
            let matrix = model.transform(&docs);
            let dense = model.model().predict_proba(matrix.to_dense().view()).unwrap();
            let sparse = model.predict_proba(&matrix).unwrap();
            let scored = model.score(&matrix, Some(k)).unwrap();
            for (i, scored) in scored.iter().enumerate() {
                for (c, &p) in scored.probabilities.iter().enumerate() {
                    prop_assert!((p - dense[(i, c)]).abs() <= 1e-12);
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
                for t in &e.terms {
                    prop_assert!(docs[i].split(' ').any(|w| w == t.term));
                    prop_assert_eq!(t.contribution, t.weight * t.value);
                }
            }
        }
    }
}
