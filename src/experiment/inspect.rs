//! Which terms carry each class, and do they hold across folds? A trained model (and,
//! for an experiment, a fit on the training paragraphs of each of its folds) in; per class,
//! the heaviest terms with their document frequency and how often each weight keeps its sign
//! from fold to fold out. A term whose sign flips between folds is noise.
//!
//! Fold fits come from the experiment's [`Learner`], as every fold of cross-validation does.

use rayon::prelude::*;

use crate::cv::{self, Split};
use crate::features::FittedFeatures;
use crate::model::FittedModel;
use crate::trained::TrainedModel;

use super::cross_validate::Learner;
use super::train::{TrainError, check_trainable};
use super::{Dataset, Experiment, splits_for};

/// A featurizer and model fitted on the training paragraphs of one split.
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

/// Fit on the training rows of every split of the experiment's cross-validation scheme (a
/// tuned experiment choosing on each split's training rows, as its cross-validation does).
pub fn fit_folds(experiment: &Experiment, dataset: &Dataset) -> Result<Vec<FoldFit>, TrainError> {
    check_trainable(experiment)?;
    let labels = dataset.labels();
    let groups = dataset.groups();
    let splits = splits_for(experiment.cv(), dataset, &labels, &groups)?;
    let n_classes = dataset.classes().len();
    let learner = Learner::of_experiment(experiment, &dataset.texts(), &groups, n_classes);
    splits
        .into_par_iter()
        .map(|split| {
            let stream = cv::inner_stream(split.repeat(), split.fold(), 0);
            let fit = learner
                .fit_rows(&labels, split.train(), stream, None)
                .map_err(|source| TrainError::Fold {
                    repeat: split.repeat(),
                    fold: split.fold(),
                    source,
                })?;
            Ok(FoldFit {
                features: learner
                    .corpus(fit.features)
                    .fitted_features(&fit.columns)
                    .pop()
                    .expect("one feature set"),
                split,
                model: fit.model,
            })
        })
        .collect()
}

/// The `k` terms of `trained` with the largest positive weight toward `class` (largest
/// first), with their sign stability across `folds` when any are given.
pub fn top_terms(
    trained: &TrainedModel,
    class: usize,
    k: usize,
    folds: &[FoldFit],
) -> Vec<TermWeight> {
    let model = trained.model();
    let mut weighted: Vec<(usize, f64)> = (0..model.n_features())
        .filter_map(|column| {
            model
                .class_weight(class, column)
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
    let document_frequencies = trained.features().document_frequencies().unwrap_or(&[]);
    weighted
        .into_iter()
        .map(|(column, weight)| TermWeight {
            column,
            term: trained.term(column),
            weight,
            document_frequency: document_frequencies.get(column).copied().unwrap_or(0),
            stability: (!folds.is_empty())
                .then(|| sign_stability(trained.features(), class, column, weight, folds)),
        })
        .collect()
}

/// How the weight toward `class` of `column` (of `features`; its weight `weight` in the full
/// model) fares in each fold.
fn sign_stability(
    features: &FittedFeatures,
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
        let fold_column = match (features.term(column), fold.features.vocabulary()) {
            (Some(term), Some(vocabulary)) => vocabulary.column(term),
            _ => Some(column),
        };
        match fold_column.and_then(|c| fold.model.class_weight(class, c)) {
            // A hashed column no training paragraph of the fold touched has weight 0.
            None | Some(0.0) => stability.absent += 1,
            Some(w) if w.signum() == weight.signum() => stability.same_sign += 1,
            Some(_) => stability.flipped += 1,
        }
    }
    stability
}

#[cfg(test)]
mod tests {
    use ndarray::{Array2, array};

    use super::*;
    use crate::trained::tests::{binary, fitted_features, fitted_model};

    #[test]
    fn top_terms_carry_each_side_and_count_sign_flips_across_folds() {
        let model = binary();
        let terms = |class, folds: &[FoldFit]| -> Vec<(String, f64, Option<SignStability>)> {
            top_terms(&model, class, 2, folds)
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
            split: crate::cv::splits(
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
}
