//! Would more labels help? The learning curve: the same cross-validation, with each
//! training fold cut to a growing, nested, stratified subset; the test folds stay whole.
//!
//! A curve still rising at the full training size says labelling more paragraphs should pay;
//! a flat one says the features or the model are the limit. Every point carries the same
//! kind of interval as the experiment's metrics. The full-size point is the
//! cross-validation itself: its folds are reused when the caller has them. No fractions, no
//! curve.

use crate::cv::{self, Split};

use super::cross_validate::{FoldResult, Learner, cross_validate};
use super::data::Dataset;
use super::evaluate::{IntervalSpec, MetricValue, evaluate_one, tested_view};
use super::{Experiment, Progress, RunError, splits_for};

/// One point of the curve.
#[derive(Debug, Clone)]
pub struct CurvePoint {
    /// The fraction of each training fold used.
    pub fraction: f64,
    /// Training paragraphs per fold (the mean over folds, rounded down; folds differ by one).
    pub train_size: usize,
    pub value: MetricValue,
}

/// The metric at each `[stats] curve_fractions` of the training folds; `full_folds` are the
/// experiment's own cross-validation, when it was run, reused for the fraction 1.
pub fn learning_curve(
    experiment: &Experiment,
    dataset: &Dataset,
    full_folds: Option<&[FoldResult]>,
    progress: &dyn Progress,
) -> Result<Vec<CurvePoint>, RunError> {
    if experiment.stats().curve_fractions().is_empty() {
        return Ok(Vec::new());
    }
    let labels = dataset.labels();
    let groups = dataset.groups();
    let n_classes = dataset.classes().len();
    let learner = Learner::of_experiment(experiment, &dataset.texts(), &groups, n_classes);
    let fit = |_: usize, subsets: &[Split]| {
        Ok(cross_validate(&learner, &labels, subsets, &|| {
            progress.tick()
        })?)
    };
    curve_of(experiment, dataset, full_folds, progress, &fit)
}

/// The folds of the curve at fraction `index` of `curve_fractions`, on its training subsets.
pub(super) type FitFraction<'a> = dyn Fn(usize, &[Split]) -> Result<Vec<FoldResult>, RunError> + 'a;

/// The learning curve with the folds of each fraction to fit (index into `curve_fractions`,
/// the training subsets of [`curve_subsets`]) from `fit`: fitted here, or by the shards of a
/// sharded run.
pub(super) fn curve_of(
    experiment: &Experiment,
    dataset: &Dataset,
    full_folds: Option<&[FoldResult]>,
    progress: &dyn Progress,
    fit: &FitFraction<'_>,
) -> Result<Vec<CurvePoint>, RunError> {
    let labels = dataset.labels();
    let groups = dataset.groups();
    let n_classes = dataset.classes().len();
    let stats = experiment.stats();
    let intervals = IntervalSpec::of(experiment);
    let splits = splits_for(experiment.cv(), dataset, &labels, &groups).map_err(RunError::Cv)?;
    // One step per fold fitted; the full size reuses the cross-validation's folds.
    progress.stage(
        "learning curve",
        (stats.curve_fractions().len() * splits.len()) as u64,
    );
    let point = |fraction: f64, folds: &[FoldResult], subsets: &[Split]| {
        let (folds, tested_labels, tested_groups) = tested_view(folds, &labels, &groups);
        let value = evaluate_one(
            &folds,
            &tested_labels,
            &tested_groups,
            n_classes,
            &intervals,
            stats.metric(),
        )?;
        let train_size =
            subsets.iter().map(|s| s.train().len()).sum::<usize>() / subsets.len().max(1);
        Ok::<_, RunError>(CurvePoint {
            fraction,
            train_size,
            value,
        })
    };
    let mut points = Vec::new();
    for (index, &fraction) in stats.curve_fractions().iter().enumerate() {
        if let (1.0, Some(folds)) = (fraction, full_folds) {
            points.push(point(fraction, folds, &splits)?);
            splits.iter().for_each(|_| progress.tick());
            continue;
        }
        let subsets = curve_subsets(experiment, &labels, &splits, fraction)?;
        let folds = fit(index, &subsets)?;
        points.push(point(fraction, &folds, &subsets)?);
    }
    Ok(points)
}

/// The curve's splits at `fraction`: each training fold cut to a nested, stratified subset
/// of that share of its rows (at least one row per class it holds); test folds whole.
pub(super) fn curve_subsets(
    experiment: &Experiment,
    labels: &[usize],
    splits: &[Split],
    fraction: f64,
) -> Result<Vec<Split>, RunError> {
    if fraction == 1.0 {
        return Ok(splits.to_vec());
    }
    let seed = experiment.cv().seed();
    splits
        .iter()
        .map(|split| {
            let classes_in_train = distinct(split.train().iter().map(|&i| labels[i]));
            let size = ((fraction * split.train().len() as f64).round() as usize)
                .clamp(classes_in_train, split.train().len());
            cv::subsample_train(split, labels, size, seed).map(|train| split.with_train(train))
        })
        .collect::<Result<Vec<Split>, _>>()
        .map_err(RunError::Curve)
}

fn distinct(values: impl Iterator<Item = usize>) -> usize {
    let mut seen: Vec<usize> = values.collect();
    seen.sort_unstable();
    seen.dedup();
    seen.len()
}
