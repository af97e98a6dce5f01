//! Cross-validation proper: a dataset, labels and splits in; out-of-fold class
//! probabilities out, for the model and for the majority-class baseline.
//!
//! Each fold fits the featurizer on its training paragraphs only (vocabulary, document
//! frequencies and idf never see the test fold), then the model on the training matrix
//! ([`fit_on_rows`], the one place folds meet features), and scores the test paragraphs'
//! sparse rows. The paragraphs are tokenised once per run ([`AnalyzedCorpus`]), not once per
//! fit. Folds run in parallel and come back in split order, so nothing depends on the thread
//! count.

use ndarray::Array2;
use rayon::prelude::*;

use crate::cv::Split;
use crate::features::{AnalyzedCorpus, FeatureError, FoldColumns};
use crate::metrics::{MetricsError, majority_baseline};
use crate::model::{Classifier, Convergence, FittedModel, ModelError, Solver};

/// Why the featurizer or the model could not be fitted.
#[derive(Debug, thiserror::Error)]
pub enum FitError {
    #[error("features: {0}")]
    Features(#[from] FeatureError),
    #[error("model: {0}")]
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

/// Fit the featurizer on the paragraphs `rows` of the analysed corpus, which is fitting it
/// on their text (`AnalyzedCorpus`), without tokenising them again, then the model on their
/// matrix. The one place folds meet features: a fold's training rows in cross-validation,
/// permutations, learning curves and term inspection, or every row for a model trained on
/// all labels (`train`). Nothing of the other rows is seen.
pub fn fit_on_rows<C: Classifier>(
    corpus: &AnalyzedCorpus,
    model: &C,
    labels: &[usize],
    n_classes: usize,
    rows: &[usize],
) -> Result<(FoldColumns, FittedModel), FitError> {
    let row_labels: Vec<usize> = rows.iter().map(|&i| labels[i]).collect();
    let (columns, matrix) = corpus.fit_transform(rows)?;
    let fitted = model.fit_csr(&matrix, &row_labels, n_classes)?;
    Ok((columns, fitted))
}

/// Fit on one split's training rows and predict its test rows; the unit of work of `run`,
/// permutations and learning curves.
pub fn fit_fold<C: Classifier>(
    corpus: &AnalyzedCorpus,
    model: &C,
    labels: &[usize],
    n_classes: usize,
    split: &Split,
) -> Result<FoldResult, FoldError> {
    let (repeat, fold) = (split.repeat(), split.fold());
    let (columns, fitted_model) = fit_on_rows(corpus, model, labels, n_classes, split.train())
        .map_err(|source| FoldError::Fit {
            repeat,
            fold,
            source,
        })?;
    let test_matrix = corpus.transform(&columns, split.test());
    let probabilities =
        fitted_model
            .predict_proba(&test_matrix)
            .map_err(|source| FoldError::Model {
                repeat,
                fold,
                source,
            })?;
    let train_labels: Vec<usize> = split.train().iter().map(|&i| labels[i]).collect();
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
