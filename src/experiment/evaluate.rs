//! Scoring a cross-validation: fold results in; every metric with its spread across folds,
//! its pooled value and an interval out, for the model and the majority-class baseline.
//!
//! The interval is a percentile bootstrap over paragraphs (or whole articles) of the pooled
//! out-of-fold predictions; with repeated cross-validation the statistic of a resample is
//! the mean over repeats. This module never fits anything.

use ndarray::Array2;

use crate::metrics::{ConfusionMatrix, Metric, MetricsError, RowTerms, score};
use crate::stats::interval::{
    Clusters, ConfidenceLevel, Interval, MIN_RESAMPLING_UNITS, bootstrap_intervals,
};
use crate::stats::summary::{mean, sample_std};

use super::config::BootstrapUnit;
use super::cross_validate::{FoldResult, OutOfFold};

/// How intervals are computed for one run.
#[derive(Debug, Clone, Copy)]
pub struct IntervalSpec {
    pub unit: BootstrapUnit,
    pub resamples: usize,
    pub level: ConfidenceLevel,
    pub seed: u64,
}

impl IntervalSpec {
    /// The experiment's `[stats]` intervals, seeded with its `[cv] seed`.
    pub fn of(experiment: &super::Experiment) -> IntervalSpec {
        let stats = experiment.stats();
        IntervalSpec {
            unit: stats.bootstrap(),
            resamples: stats.resamples(),
            level: stats.level(),
            seed: experiment.cv().seed(),
        }
    }

    /// One line for the record and the screen: what the interval is.
    pub fn describe(&self) -> String {
        let unit = match self.unit {
            BootstrapUnit::Paragraphs => "paragraphs",
            BootstrapUnit::Articles => "whole articles",
        };
        format!(
            "{:.0}% percentile bootstrap over {unit} of the pooled out-of-fold predictions ({} resamples; with repeated cross-validation, of the mean over repeats)",
            self.level.get() * 100.0,
            self.resamples
        )
    }
}

/// One metric of one predictor.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricValue {
    pub metric: Metric,
    /// Mean over folds where the metric is defined.
    pub mean: Option<f64>,
    /// Sample standard deviation (ddof = 1) over those folds.
    pub std: Option<f64>,
    /// On all out-of-fold predictions at once (mean over repeats).
    pub pooled: Option<f64>,
    /// Around `pooled`; `None` when no resample defined the metric.
    pub interval: Option<Interval>,
}

/// Scores of one fold.
#[derive(Debug, Clone)]
pub struct FoldScores {
    pub repeat: usize,
    pub fold: usize,
    pub train: usize,
    pub test: usize,
    /// In the order of [`Evaluation::metrics`].
    pub values: Vec<Option<f64>>,
}

/// Accuracy of the out-of-fold predictions on one article's paragraphs.
#[derive(Debug, Clone)]
pub struct ArticleAccuracy {
    pub article: usize,
    pub paragraphs: usize,
    /// Mean over repeats.
    pub accuracy: f64,
    pub per_class: Vec<usize>,
}

/// Every metric of one group's paragraphs, on their pooled predictions (mean over repeats).
#[derive(Debug, Clone)]
pub struct GroupScores {
    pub group: usize,
    pub paragraphs: usize,
    /// In the order of [`Evaluation::metrics`].
    pub values: Vec<Option<f64>>,
}

#[derive(Debug, Clone)]
pub struct Evaluation {
    pub metrics: Vec<Metric>,
    pub model: Vec<MetricValue>,
    pub baseline: Vec<MetricValue>,
    /// Pooled over every fold of every repeat: rows true class, columns predicted.
    pub confusion: ConfusionMatrix,
    pub folds: Vec<FoldScores>,
    pub by_article: Vec<ArticleAccuracy>,
    /// Every metric per group, when asked for (one model per group, or holdout).
    pub by_group: Vec<GroupScores>,
    pub oof: OutOfFold,
    pub interval: IntervalSpec,
}

impl Evaluation {
    pub fn model_value(&self, metric: Metric) -> Option<&MetricValue> {
        self.model.iter().find(|value| value.metric == metric)
    }
    /// The classes the model predicted at least once, over all folds.
    pub fn confusion_columns_used(&self) -> Vec<usize> {
        let n = self.confusion.n_classes();
        (0..n)
            .filter(|&predicted| (0..n).any(|truth| self.confusion.count(truth, predicted) > 0))
            .collect()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EvaluateError {
    #[error(
        "cannot bootstrap over articles: the data has {articles} article(s), and an interval from fewer than {minimum} says more about the resampling than the data (set `[stats] bootstrap = \"paragraphs\"`)"
    )]
    TooFewArticles { articles: usize, minimum: usize },
}

/// The rows the folds tested (every row, except under holdout) and the folds renumbered
/// over them, with their labels and groups: what is scored.
pub fn tested_view(
    folds: &[FoldResult],
    labels: &[usize],
    groups: &[usize],
) -> (Vec<FoldResult>, Vec<usize>, Vec<usize>) {
    let mut tested: Vec<usize> = folds
        .iter()
        .filter(|f| f.split.repeat() == 0)
        .flat_map(|f| f.split.test().iter().copied())
        .collect();
    tested.sort_unstable();
    tested.dedup();
    if tested.len() == labels.len() {
        return (folds.to_vec(), labels.to_vec(), groups.to_vec());
    }
    let position = |row: &usize| tested.binary_search(row).unwrap_or(0);
    let renumbered = folds
        .iter()
        .map(|fold| FoldResult {
            split: fold
                .split
                .with_test(fold.split.test().iter().map(position).collect()),
            ..fold.clone()
        })
        .collect();
    let pick = |values: &[usize]| tested.iter().map(|&i| values[i]).collect::<Vec<usize>>();
    (renumbered, pick(labels), pick(groups))
}

/// Score fold results on every metric of [`Metric::all_and`] `chosen` (the experiment's
/// `[stats] metric`), and per group when `per_group`. `labels` and `groups` are indexed by
/// paragraph, and every paragraph was tested ([`tested_view`]).
pub fn evaluate(
    folds: &[FoldResult],
    labels: &[usize],
    groups: &[usize],
    n_classes: usize,
    intervals: &IntervalSpec,
    chosen: Metric,
    per_group: bool,
) -> Result<Evaluation, EvaluateError> {
    let metrics = Metric::all_and(n_classes, chosen);
    let resampler = Resampler::new(intervals, groups)?;
    let oof = OutOfFold::assemble(folds, labels.len(), n_classes);
    let model_rows = PooledRows::new(&oof.model, labels, n_classes);
    let baseline_rows = PooledRows::new(&oof.baseline, labels, n_classes);

    let mut confusion = ConfusionMatrix::zeros(n_classes);
    let mut fold_scores = Vec::with_capacity(folds.len());
    let mut baseline_per_fold = Vec::with_capacity(folds.len());
    for fold in folds {
        let test_labels: Vec<usize> = fold.split.test().iter().map(|&i| labels[i]).collect();
        let model_scores = score(&test_labels, fold.probabilities.view(), n_classes).ok();
        if let Some(scores) = &model_scores {
            // Same class count on both sides: adding cannot fail.
            let _ = confusion.add(scores.confusion());
        }
        let baseline_scores = score(&test_labels, fold.baseline.view(), n_classes).ok();
        let values = |scores: &Option<crate::metrics::Scores>| -> Vec<Option<f64>> {
            metrics
                .iter()
                .map(|&m| scores.as_ref().and_then(|s| s.get(m)))
                .collect()
        };
        fold_scores.push(FoldScores {
            repeat: fold.split.repeat(),
            fold: fold.split.fold(),
            train: fold.split.train().len(),
            test: fold.split.test().len(),
            values: values(&model_scores),
        });
        baseline_per_fold.push(values(&baseline_scores));
    }

    let summarise_all =
        |per_fold: &dyn Fn(usize) -> Vec<Option<f64>>, rows: &PooledRows| -> Vec<MetricValue> {
            summarise(&metrics, per_fold, rows, &resampler)
        };
    let model = summarise_all(
        &|m| fold_scores.iter().map(|f| f.values[m]).collect(),
        &model_rows,
    );
    let baseline = summarise_all(
        &|m| baseline_per_fold.iter().map(|f| f[m]).collect(),
        &baseline_rows,
    );

    let n_articles = groups.iter().max().map_or(0, |&g| g + 1);
    let mut members_of = vec![Vec::new(); n_articles];
    for (i, &group) in groups.iter().enumerate() {
        members_of[group].push(i);
    }
    let by_article = members_of
        .iter()
        .enumerate()
        .filter(|(_, members)| !members.is_empty())
        .map(|(article, members)| {
            let members = members.clone();
            let mut per_class = vec![0; n_classes];
            for &i in &members {
                per_class[labels[i]] += 1;
            }
            let accuracy = model_rows
                .value(&members, Metric::Accuracy)
                .unwrap_or(f64::NAN);
            ArticleAccuracy {
                article,
                paragraphs: members.len(),
                accuracy,
                per_class,
            }
        })
        .collect();

    let by_group = if per_group {
        members_of
            .iter()
            .enumerate()
            .filter(|(_, members)| !members.is_empty())
            .map(|(group, members)| {
                let mut values = vec![None; metrics.len()];
                model_rows.values(members, &metrics, &mut values);
                GroupScores {
                    group,
                    paragraphs: members.len(),
                    values,
                }
            })
            .collect()
    } else {
        Vec::new()
    };

    Ok(Evaluation {
        metrics,
        model,
        baseline,
        confusion,
        folds: fold_scores,
        by_article,
        by_group,
        oof,
        interval: *intervals,
    })
}

/// One metric only: for learning curves, where the rest is not wanted.
pub fn evaluate_one(
    folds: &[FoldResult],
    labels: &[usize],
    groups: &[usize],
    n_classes: usize,
    intervals: &IntervalSpec,
    metric: Metric,
) -> Result<MetricValue, EvaluateError> {
    let resampler = Resampler::new(intervals, groups)?;
    let oof = OutOfFold::assemble(folds, labels.len(), n_classes);
    let per_fold: Vec<Option<f64>> = folds
        .iter()
        .map(|fold| {
            let test_labels: Vec<usize> = fold.split.test().iter().map(|&i| labels[i]).collect();
            score(&test_labels, fold.probabilities.view(), n_classes)
                .ok()
                .and_then(|s| s.get(metric))
        })
        .collect();
    let mut summary = summarise(
        &[metric],
        &|_| per_fold.clone(),
        &PooledRows::new(&oof.model, labels, n_classes),
        &resampler,
    );
    Ok(summary.remove(0))
}

/// Draws resamples of paragraph indices, directly or through whole articles.
struct Resampler {
    spec: IntervalSpec,
    clusters: Option<Clusters>,
}

impl Resampler {
    fn new(spec: &IntervalSpec, groups: &[usize]) -> Result<Resampler, EvaluateError> {
        let clusters = match spec.unit {
            BootstrapUnit::Paragraphs => None,
            BootstrapUnit::Articles => {
                let clusters = Clusters::from_keys(groups);
                if clusters.len() < MIN_RESAMPLING_UNITS {
                    return Err(EvaluateError::TooFewArticles {
                        articles: clusters.len(),
                        minimum: MIN_RESAMPLING_UNITS,
                    });
                }
                Some(clusters)
            }
        };
        Ok(Resampler {
            spec: *spec,
            clusters,
        })
    }

    /// Intervals of `n_statistics` statistics of the same resamples of `n_items` paragraphs,
    /// which `statistics` computes together for each one; `None` where one has no interval
    /// (undefined in every resample, or too few units to resample).
    fn intervals(
        &self,
        n_items: usize,
        n_statistics: usize,
        statistics: impl Fn(&[usize], &mut [Option<f64>]) + Sync,
    ) -> Vec<Option<Interval>> {
        let (resamples, level, seed) = (self.spec.resamples, self.spec.level, self.spec.seed);
        let result = match &self.clusters {
            None => bootstrap_intervals(n_items, resamples, level, seed, n_statistics, statistics),
            Some(clusters) => bootstrap_intervals(
                clusters.len(),
                resamples,
                level,
                seed,
                n_statistics,
                |picked, values| statistics(&clusters.expand(picked), values),
            ),
        };
        match result {
            Ok(intervals) => intervals.into_iter().map(Result::ok).collect(),
            Err(_) => vec![None; n_statistics],
        }
    }
}

/// Each of `metrics` (the `m`th with `per_fold(m)` its value per fold) summarised over the
/// pooled out-of-fold predictions `rows`: its mean and spread over folds, its pooled value,
/// and its bootstrap interval. A resample is scored once for all the metrics.
fn summarise(
    metrics: &[Metric],
    per_fold: &dyn Fn(usize) -> Vec<Option<f64>>,
    rows: &PooledRows,
    resampler: &Resampler,
) -> Vec<MetricValue> {
    let all: Vec<usize> = (0..rows.n_items).collect();
    let mut pooled_values = vec![None; metrics.len()];
    rows.values(&all, metrics, &mut pooled_values);
    let intervals = resampler.intervals(rows.n_items, metrics.len(), |items, values| {
        rows.values(items, metrics, values);
    });
    metrics
        .iter()
        .zip(pooled_values)
        .zip(intervals)
        .enumerate()
        .map(|(m, ((&metric, pooled), interval))| {
            let defined: Vec<f64> = per_fold(m).into_iter().flatten().collect();
            MetricValue {
                metric,
                mean: mean(&defined),
                std: sample_std(&defined),
                pooled,
                interval,
            }
        })
        .collect()
}

/// The out-of-fold predictions of every repeat, each reduced once to what scoring needs of
/// its rows ([`RowTerms`]): a selection of paragraphs (a bootstrap resample, an article) is
/// then scored by counting and summing, with the bits of scoring its rows' probabilities.
struct PooledRows {
    n_items: usize,
    /// One per repeat; an error (wrong shape) leaves every metric undefined.
    repeats: Result<Vec<RowTerms>, MetricsError>,
}

impl PooledRows {
    fn new(oof: &[Array2<f64>], labels: &[usize], n_classes: usize) -> PooledRows {
        PooledRows {
            n_items: labels.len(),
            repeats: oof
                .iter()
                .map(|repeat| RowTerms::new(labels, repeat.view(), n_classes))
                .collect(),
        }
    }

    /// Each of `metrics` on the out-of-fold predictions of `items`, averaged over repeats,
    /// into `values` (one per metric); `None` for a metric undefined in any repeat.
    fn values(&self, items: &[usize], metrics: &[Metric], values: &mut [Option<f64>]) {
        let Ok(repeats) = &self.repeats else {
            values.fill(None);
            return;
        };
        values.fill(Some(0.0));
        for repeat in repeats {
            let Ok(scores) = repeat.score(items) else {
                values.fill(None);
                return;
            };
            for (total, &metric) in values.iter_mut().zip(metrics) {
                *total = total
                    .zip(scores.get(metric))
                    .map(|(sum, value)| sum + value);
            }
        }
        for total in values.iter_mut() {
            *total = total.map(|sum| sum / repeats.len() as f64);
        }
    }

    /// One metric of [`PooledRows::values`].
    fn value(&self, items: &[usize], metric: Metric) -> Option<f64> {
        let mut value = [None];
        self.values(items, &[metric], &mut value);
        value[0]
    }
}

/// The metric on all out-of-fold predictions, averaged over repeats.
pub fn pooled_metric(
    oof: &[Array2<f64>],
    labels: &[usize],
    n_classes: usize,
    metric: Metric,
) -> Option<f64> {
    let all: Vec<usize> = (0..labels.len()).collect();
    PooledRows::new(oof, labels, n_classes).value(&all, metric)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Axis;
    use proptest::prelude::*;

    /// Pooling as it was before [`PooledRows`]: copy the items' rows of each repeat and score
    /// them from their probabilities.
    fn pooled_by_copying(
        oof: &[Array2<f64>],
        labels: &[usize],
        items: &[usize],
        n_classes: usize,
        metrics: &[Metric],
    ) -> Vec<Option<f64>> {
        let item_labels: Vec<usize> = items.iter().map(|&i| labels[i]).collect();
        let mut values = vec![Some(0.0); metrics.len()];
        for repeat in oof {
            let probabilities = repeat.select(Axis(0), items);
            let Ok(scores) = score(&item_labels, probabilities.view(), n_classes) else {
                return vec![None; metrics.len()];
            };
            for (total, &metric) in values.iter_mut().zip(metrics) {
                *total = total
                    .zip(scores.get(metric))
                    .map(|(sum, value)| sum + value);
            }
        }
        values
            .into_iter()
            .map(|total| total.map(|sum| sum / oof.len() as f64))
            .collect()
    }

    /// [`PooledRows::values`] of `items` has the bits of pooling the copied rows.
    fn check(oof: &[Array2<f64>], labels: &[usize], n_classes: usize, items: &[usize]) {
        let metrics = Metric::all(n_classes);
        let bits = |values: &[Option<f64>]| -> Vec<Option<u64>> {
            values.iter().map(|v| v.map(f64::to_bits)).collect()
        };
        let mut values = vec![None; metrics.len()];
        PooledRows::new(oof, labels, n_classes).values(items, &metrics, &mut values);
        let expected = pooled_by_copying(oof, labels, items, n_classes, &metrics);
        assert_eq!(bits(&values), bits(&expected), "items {items:?}");
    }

    #[test]
    fn pooled_rows_score_as_copied_rows_would_be() {
        let first = ndarray::array![[0.5, 0.5], [0.1, 0.9], [1.0, 0.0], [0.3, 0.7]];
        let second = ndarray::array![[0.6, 0.4], [0.0, 1.0], [0.5, 0.5], [0.2, 0.8]];
        let labels = [0, 1, 1, 0];
        check(&[first.clone(), second.clone()], &labels, 2, &[0, 1, 2, 3]);
        check(&[first.clone(), second.clone()], &labels, 2, &[3, 3, 1, 0]);
        // One class only: ROC AUC undefined, the rest defined.
        check(&[first.clone(), second], &labels, 2, &[1, 2, 2]);
        check(std::slice::from_ref(&first), &labels, 2, &[]);
        // A row never tested (zeros) leaves undefined just the selections holding it.
        let mut untested = first;
        untested.row_mut(2).fill(0.0);
        check(&[untested.clone()], &labels, 2, &[0, 1, 3, 3]);
        check(&[untested], &labels, 2, &[0, 2]);
    }

    proptest! {
        /// Random repeats of predictions on a coarse grid (argmax ties, 0/1 rows), random
        /// resamples of paragraphs and of whole articles.
        #[test]
        fn pooled_rows_score_random_resamples_as_copied_rows_would_be(
            n_classes in 2usize..4,
            rows in proptest::collection::vec((0usize..3, 0usize..4), 5..25),
            weights in proptest::collection::vec(0u8..3, 2 * 25 * 3),
            picks in proptest::collection::vec(0usize..1000, 1..30),
            repeats in 1usize..3,
        ) {
            let labels: Vec<usize> = rows.iter().map(|(label, _)| label % n_classes).collect();
            let groups: Vec<usize> = rows.iter().map(|(_, group)| *group).collect();
            let oof: Vec<Array2<f64>> = (0..repeats)
                .map(|repeat| {
                    Array2::from_shape_fn((rows.len(), n_classes), |(i, c)| {
                        let w = |c: usize| weights[(repeat * 25 + i) * 3 + c];
                        let total: u8 = (0..n_classes).map(w).sum();
                        if total == 0 {
                            f64::from(u8::from(c == n_classes - 1))
                        } else {
                            f64::from(w(c)) / f64::from(total)
                        }
                    })
                })
                .collect();
            let paragraphs: Vec<usize> = picks.iter().map(|pick| pick % rows.len()).collect();
            check(&oof, &labels, n_classes, &paragraphs);
            let clusters = Clusters::from_keys(&groups);
            let articles: Vec<usize> = picks.iter().map(|pick| pick % clusters.len()).collect();
            check(&oof, &labels, n_classes, &clusters.expand(&articles));
        }
    }
}
