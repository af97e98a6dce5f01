//! Cross-validation proper: a dataset, labels and splits in; out-of-fold class
//! probabilities out, for the model and for the majority-class baseline.
//!
//! Each fold fits the featurizer on its training paragraphs only (vocabulary, document
//! frequencies and idf never see the test fold), then the model on the training matrix. The
//! paragraphs are tokenised once per run ([`AnalyzedCorpus`]), not once per fit.
//! Folds run in parallel and come back in split order, so nothing depends on the thread count.

use ndarray::Array2;
use rayon::prelude::*;

use crate::cv::Split;
use crate::features::{AnalyzedCorpus, FeatureError, FeatureSet, FittedFeatures};
use crate::metrics::{MetricsError, majority_baseline};
use crate::model::{Classifier, Convergence, FittedModel, ModelError, Solver};

/// Why the featurizer or the model could not be fitted.
#[derive(Debug, thiserror::Error)]
pub enum FitError {
    #[error(transparent)]
    Features(#[from] FeatureError),
    #[error(transparent)]
    Model(#[from] ModelError),
}

/// What went wrong in one fold.
#[derive(Debug, thiserror::Error)]
pub enum FoldError {
    #[error("repeat {repeat}, fold {fold}")]
    Fit {
        repeat: usize,
        fold: usize,
        source: FitError,
    },
    #[error("repeat {repeat}, fold {fold}")]
    Model {
        repeat: usize,
        fold: usize,
        source: ModelError,
    },
    #[error("repeat {repeat}, fold {fold}: majority baseline")]
    Baseline {
        repeat: usize,
        fold: usize,
        source: MetricsError,
    },
}

/// One fold's predictions for its test paragraphs (rows in `split.test` order).
#[derive(Debug, Clone)]
pub struct FoldResult {
    pub split: Split,
    pub probabilities: Array2<f64>,
    pub baseline: Array2<f64>,
    pub solver: Solver,
    pub convergence: Convergence,
}

/// Fit and predict every split. `corpus` (the paragraphs, analysed) and `labels` are indexed
/// by paragraph.
pub fn cross_validate<C: Classifier + Sync>(
    corpus: &AnalyzedCorpus,
    model: &C,
    labels: &[usize],
    n_classes: usize,
    splits: &[Split],
) -> Result<Vec<FoldResult>, FoldError> {
    splits
        .par_iter()
        .map(|split| fit_fold(corpus, model, labels, n_classes, split))
        .collect()
}

/// Fit and predict one split; the unit of work of `run`, permutations and learning curves.
/// The featurizer is fitted on the split's training rows of the analysed corpus, which is
/// fitting it on their text (`AnalyzedCorpus`), without tokenising them again.
pub fn fit_fold<C: Classifier>(
    corpus: &AnalyzedCorpus,
    model: &C,
    labels: &[usize],
    n_classes: usize,
    split: &Split,
) -> Result<FoldResult, FoldError> {
    let (repeat, fold) = (split.repeat(), split.fold());
    let fit_error = |source| FoldError::Fit {
        repeat,
        fold,
        source,
    };
    let train_labels: Vec<usize> = split.train().iter().map(|&i| labels[i]).collect();
    let (columns, train_matrix) = corpus
        .fit_transform(split.train())
        .map_err(|source| fit_error(FitError::Features(source)))?;
    let fitted_model = model
        .fit_csr(&train_matrix, &train_labels, n_classes)
        .map_err(|source| fit_error(FitError::Model(source)))?;
    let test_matrix = corpus.transform(&columns, split.test());
    let probabilities = fitted_model
        .predict_proba_csr(&test_matrix)
        .map_err(|source| FoldError::Model {
            repeat,
            fold,
            source,
        })?;
    let baseline =
        majority_baseline(&train_labels, n_classes, split.test().len()).map_err(|source| {
            FoldError::Baseline {
                repeat,
                fold,
                source,
            }
        })?;
    Ok(FoldResult {
        split: split.clone(),
        probabilities,
        baseline,
        solver: fitted_model.solver(),
        convergence: fitted_model.convergence().clone(),
    })
}

/// Fit the featurizer on `texts`, then the model on their matrix: the one place both are
/// fitted, for a fold's training paragraphs or for all of them (`trained`).
pub fn fit_features_and_model<S: AsRef<str> + Sync, C: Classifier>(
    features: &FeatureSet,
    model: &C,
    texts: &[S],
    labels: &[usize],
    n_classes: usize,
) -> Result<(FittedFeatures, FittedModel), FitError> {
    let (fitted, matrix) = features.fit_transform(texts)?;
    let fitted_model = model.fit_csr(&matrix, labels, n_classes)?;
    Ok((fitted, fitted_model))
}

/// Out-of-fold probabilities of every paragraph, one matrix per repeat (rows = paragraphs).
#[derive(Debug, Clone)]
pub struct OutOfFold {
    pub model: Vec<Array2<f64>>,
    pub baseline: Vec<Array2<f64>>,
}

impl OutOfFold {
    /// Assemble per-repeat matrices; every paragraph is in exactly one test fold per repeat.
    pub fn assemble(folds: &[FoldResult], n_items: usize, n_classes: usize) -> OutOfFold {
        let repeats = folds
            .iter()
            .map(|f| f.split.repeat() + 1)
            .max()
            .unwrap_or(0);
        let mut model = vec![Array2::zeros((n_items, n_classes)); repeats];
        let mut baseline = vec![Array2::zeros((n_items, n_classes)); repeats];
        for fold in folds {
            let repeat = fold.split.repeat();
            for (row, &item) in fold.split.test().iter().enumerate() {
                model[repeat]
                    .row_mut(item)
                    .assign(&fold.probabilities.row(row));
                baseline[repeat]
                    .row_mut(item)
                    .assign(&fold.baseline.row(row));
            }
        }
        OutOfFold { model, baseline }
    }

    pub fn repeats(&self) -> usize {
        self.model.len()
    }
}
