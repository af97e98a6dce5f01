//! Would more labels help? The learning curve: the same cross-validation, with each
//! training fold cut to a growing, nested, stratified subset; the test folds stay whole.
//!
//! A curve still rising at the full training size says labelling more paragraphs should pay;
//! a flat one says the features or the model are the limit. Every point carries the same
//! kind of interval as the experiment's metrics.

use crate::cv::{self, Split};

use super::cross_validate::cross_validate;
use super::data::Dataset;
use super::evaluate::{IntervalSpec, MetricValue, evaluate_one};
use super::{Experiment, Progress, RunError};

/// One point of the curve.
#[derive(Debug, Clone)]
pub struct CurvePoint {
    /// The fraction of each training fold used.
    pub fraction: f64,
    /// Training paragraphs per fold (the mean over folds, rounded down; folds differ by one).
    pub train_size: usize,
    pub value: MetricValue,
}

/// The metric at each `[stats] curve_fractions` of the training folds.
pub fn learning_curve(
    experiment: &Experiment,
    dataset: &Dataset,
    progress: &dyn Progress,
) -> Result<Vec<CurvePoint>, RunError> {
    let labels = dataset.labels();
    let groups = dataset.groups();
    let corpus = experiment.features().analyze_corpus(&dataset.texts());
    let n_classes = dataset.classes().len();
    let seed = experiment.cv().seed();
    let stats = experiment.stats();
    let intervals = IntervalSpec::of(experiment);
    let splits =
        cv::splits(experiment.cv(), dataset.classes(), &labels, &groups).map_err(RunError::Cv)?;
    progress.stage("learning curve", stats.curve_fractions().len() as u64);
    let mut points = Vec::new();
    for &fraction in stats.curve_fractions() {
        let subsets = splits
            .iter()
            .map(|split| {
                let classes_in_train = distinct(split.train().iter().map(|&i| labels[i]));
                let size = ((fraction * split.train().len() as f64).round() as usize)
                    .clamp(classes_in_train, split.train().len());
                cv::subsample_train(split, &labels, size, seed).map(|train| split.with_train(train))
            })
            .collect::<Result<Vec<Split>, _>>()
            .map_err(RunError::Curve)?;
        let folds = cross_validate(&corpus, experiment.model(), &labels, n_classes, &subsets)?;
        let value = evaluate_one(
            &folds,
            &labels,
            &groups,
            n_classes,
            &intervals,
            stats.metric(),
        )?;
        let train_size =
            subsets.iter().map(|s| s.train().len()).sum::<usize>() / subsets.len().max(1);
        points.push(CurvePoint {
            fraction,
            train_size,
            value,
        });
        progress.tick();
    }
    Ok(points)
}

fn distinct(values: impl Iterator<Item = usize>) -> usize {
    let mut seen: Vec<usize> = values.collect();
    seen.sort_unstable();
    seen.dedup();
    seen.len()
}
