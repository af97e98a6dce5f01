//! Results become a record: internal run results in, the plain [`Record`] of `record` out.
//! Nothing is computed here except formatting choices (keys, rounding is never applied).

use std::collections::BTreeMap;

use crate::metrics::{Metric, predicted_classes};
use crate::persist::Version;
use crate::record::{self, ArticleScore, FoldRecord, MetricSummary, Prediction, Record};

use super::curve::CurvePoint;
use super::evaluate::{Evaluation, MetricValue};
use super::{Dataset, Experiment, RunOutput};

/// The record of one run (and its learning curve, when one was drawn).
pub fn record_of(
    experiment: &Experiment,
    output: &RunOutput,
    curve: Option<&[CurvePoint]>,
) -> Record {
    let dataset = &output.dataset;
    let classes = dataset.classes();
    let evaluation = &output.evaluation;
    let key = |metric: Metric| metric.key(classes);
    let summaries = |values: &[MetricValue]| -> BTreeMap<String, MetricSummary> {
        values
            .iter()
            .map(|value| (key(value.metric), summary(value)))
            .collect()
    };
    Record {
        format: record::FORMAT.to_owned(),
        experiment: experiment.name().to_owned(),
        description: experiment.description().map(str::to_owned),
        config: experiment.resolved().clone(),
        config_hash: experiment.config_hash(),
        data_hash: dataset.hash(),
        seed: experiment.cv().seed(),
        version: Version::of_this_build(),
        classes: classes.to_vec(),
        data: data_summary(experiment, dataset),
        interval: record::IntervalMethod {
            method: evaluation.interval.describe(),
            level: evaluation.interval.level.get(),
            resamples: evaluation.interval.resamples,
        },
        metrics: summaries(&evaluation.model),
        baseline: summaries(&evaluation.baseline),
        confusion: confusion_counts(evaluation, classes.len()),
        permutation: output
            .permutation
            .as_ref()
            .map(|outcome| record::Permutation {
                metric: key(outcome.metric),
                observed: outcome.observed,
                p_value: outcome.result.p_value,
                n_permutations: outcome.result.n_permutations,
                resolution: outcome.result.resolution,
                planned: outcome.stopped.map(|_| outcome.planned),
                null_mean: outcome.null_mean,
                null_distribution: Some(null_distribution(&outcome.null_values)),
            }),
        by_article: article_scores(evaluation, dataset),
        learning_curve: curve
            .filter(|points| !points.is_empty())
            .map(|points| record_of_curve(experiment, points)),
        groups: group_scores(output),
        search: search_record(experiment, output),
        folds: fold_records(output),
        predictions: prediction_records(output),
        warnings: output.warnings.clone(),
        timings: record::Timings {
            started_at: output.started_at.to_string(),
            seconds_total: output.seconds_total,
            seconds_cv: output.seconds_cv,
            seconds_permutation: output.seconds_permutation,
            seconds_bootstrap: Some(output.seconds_bootstrap),
            seconds_curve: None,
        },
    }
}

/// Each group's own metrics, when they were scored (one model per group, or holdout); the
/// labels counted are those of its tested paragraphs.
fn group_scores(output: &RunOutput) -> Option<Vec<record::GroupScore>> {
    let (dataset, evaluation) = (&output.dataset, &output.evaluation);
    let classes = dataset.classes();
    if evaluation.by_group.is_empty() {
        return None;
    }
    let mut tested_per_class = vec![vec![0usize; classes.len()]; dataset.articles().len()];
    for fold in output.folds.iter().filter(|f| f.split.repeat() == 0) {
        for &i in fold.split.test() {
            let item = &dataset.items()[i];
            tested_per_class[item.article][item.class] += 1;
        }
    }
    Some(
        evaluation
            .by_group
            .iter()
            .map(|group| record::GroupScore {
                group: dataset.articles()[group.group].clone(),
                paragraphs: group.paragraphs,
                per_class: classes
                    .iter()
                    .cloned()
                    .zip(tested_per_class[group.group].iter().copied())
                    .collect(),
                metrics: evaluation
                    .metrics
                    .iter()
                    .zip(&group.values)
                    .map(|(&m, &v)| (m.key(classes), v))
                    .collect(),
            })
            .collect(),
    )
}

/// A tuned experiment's candidates, every model's choice and how often each candidate won.
fn search_record(experiment: &Experiment, output: &RunOutput) -> Option<record::SearchRecord> {
    let search = experiment.search()?;
    let dataset = &output.dataset;
    let choices: Vec<record::ChoiceRecord> = output
        .folds
        .iter()
        .flat_map(|fold| {
            fold.choices.iter().map(|choice| record::ChoiceRecord {
                repeat: fold.split.repeat(),
                fold: fold.split.fold(),
                group: choice.group.map(|g| dataset.articles()[g].clone()),
                candidate: choice.candidate,
                inner_scores: choice.inner_scores.clone(),
            })
        })
        .collect();
    let mut wins = vec![0; search.candidates().len()];
    for choice in &choices {
        wins[choice.candidate] += 1;
    }
    Some(record::SearchRecord {
        metric: experiment.stats().metric().key(dataset.classes()),
        inner_folds: search.inner_folds(),
        candidates: (0..search.candidates().len())
            .map(|i| search.settings_json(i))
            .collect(),
        wins,
        choices,
    })
}

/// Which labels the run used.
fn data_summary(experiment: &Experiment, dataset: &Dataset) -> record::DataSummary {
    record::DataSummary {
        store: experiment.resolved()["data"]["store"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        annotator: experiment.data().annotator_names(),
        paragraphs: dataset.len(),
        per_class: dataset.per_class(),
        low_confidence: dataset
            .items()
            .iter()
            .filter(|item| item.low_confidence)
            .count(),
        articles: dataset.articles().to_vec(),
        combined: dataset.combined().map(|combined| record::CombinedLabels {
            annotators: combined.annotators.clone(),
            rule: combined.rule.as_str().to_owned(),
            left_out: combined
                .left_out()
                .into_iter()
                .map(|(reason, count)| (reason.to_owned(), count))
                .collect(),
        }),
    }
}

/// The pooled confusion matrix, rows true classes.
fn confusion_counts(evaluation: &Evaluation, n_classes: usize) -> Vec<Vec<u64>> {
    (0..n_classes)
        .map(|truth| {
            evaluation
                .confusion
                .row(truth)
                .iter()
                .map(|&count| count as u64)
                .collect()
        })
        .collect()
}

/// Accuracy per article, with its paragraphs per class.
fn article_scores(evaluation: &Evaluation, dataset: &Dataset) -> Vec<ArticleScore> {
    evaluation
        .by_article
        .iter()
        .map(|article| ArticleScore {
            article: dataset.articles()[article.article].clone(),
            paragraphs: article.paragraphs,
            accuracy: article.accuracy,
            per_class: dataset
                .classes()
                .iter()
                .cloned()
                .zip(article.per_class.iter().copied())
                .collect(),
        })
        .collect()
}

/// Each fold's metrics and convergence, in split order.
fn fold_records(output: &RunOutput) -> Vec<FoldRecord> {
    let evaluation = &output.evaluation;
    let classes = output.dataset.classes();
    output
        .folds
        .iter()
        .zip(&evaluation.folds)
        .map(|(fold, scores)| FoldRecord {
            repeat: scores.repeat,
            fold: scores.fold,
            train: scores.train,
            test: scores.test,
            metrics: evaluation
                .metrics
                .iter()
                .zip(&scores.values)
                .map(|(&m, &v)| (m.key(classes), v))
                .collect(),
            converged: fold.convergence.converged,
            gradient_norm: Some(fold.convergence.gradient_norm).filter(|g| g.is_finite()),
            solver: Some(fold.solver.as_str().to_owned()),
            iterations: fold.convergence.iterations,
            warnings: if fold.convergence.converged {
                Vec::new()
            } else {
                vec![fold.convergence.message.clone()]
            },
        })
        .collect()
}

/// Every out-of-fold prediction, by repeat, then in the store's paragraph order.
fn prediction_records(output: &RunOutput) -> Vec<Prediction> {
    let dataset = &output.dataset;
    let (classes, items) = (dataset.classes(), dataset.items());
    let mut predictions = Vec::with_capacity(items.len() * output.evaluation.oof.repeats());
    for fold in &output.folds {
        let predicted = predicted_classes(fold.probabilities.view());
        for (row, &item) in fold.split.test().iter().enumerate() {
            predictions.push(Prediction {
                id: items[item].id.clone(),
                repeat: fold.split.repeat(),
                fold: fold.split.fold(),
                label: classes[items[item].class].clone(),
                predicted: classes[predicted[row]].clone(),
                probabilities: classes
                    .iter()
                    .cloned()
                    .zip(fold.probabilities.row(row).iter().copied())
                    .collect(),
            });
        }
    }
    let position: BTreeMap<&str, usize> = items
        .iter()
        .enumerate()
        .map(|(i, item)| (item.id.as_str(), i))
        .collect();
    predictions.sort_by_key(|p| (p.repeat, position[p.id.as_str()]));
    predictions
}

/// Distinct values ascending, each with its count: lossless, and as short as the metric is
/// coarse (a few dozen values for balanced accuracy on a few dozen paragraphs).
fn null_distribution(values: &[f64]) -> Vec<record::NullCount> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mut counts: Vec<record::NullCount> = Vec::new();
    for value in sorted {
        match counts.last_mut() {
            Some(last) if last.value.to_bits() == value.to_bits() => last.count += 1,
            _ => counts.push(record::NullCount { value, count: 1 }),
        }
    }
    counts
}

fn summary(value: &MetricValue) -> MetricSummary {
    MetricSummary {
        mean: value.mean,
        std: value.std,
        pooled: value.pooled,
        ci_low: value.interval.as_ref().map(|i| i.low),
        ci_high: value.interval.as_ref().map(|i| i.high),
    }
}

/// A learning curve as it is recorded.
fn record_of_curve(experiment: &Experiment, points: &[CurvePoint]) -> Vec<record::CurvePoint> {
    let classes = experiment.data().classes();
    points
        .iter()
        .map(|point| record::CurvePoint {
            train_size: point.train_size,
            fraction: point.fraction,
            metric: point.value.metric.key(classes),
            mean: point.value.mean,
            pooled: point.value.pooled,
            ci_low: point.value.interval.as_ref().map(|i| i.low),
            ci_high: point.value.interval.as_ref().map(|i| i.high),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(values: &[f64], expected: &[(f64, usize)]) {
        let counts: Vec<(f64, usize)> = null_distribution(values)
            .into_iter()
            .map(|c| (c.value, c.count))
            .collect();
        assert_eq!(counts, expected);
    }

    #[test]
    fn null_distributions_count_each_distinct_value_in_order() {
        check(&[], &[]);
        check(&[0.5], &[(0.5, 1)]);
        check(
            &[0.75, 0.5, 0.75, 0.25, 0.5, 0.75],
            &[(0.25, 1), (0.5, 2), (0.75, 3)],
        );
        // Values a rounding apart stay apart: the record loses nothing.
        check(&[0.3, 0.1 + 0.2], &[(0.3, 1), (0.1 + 0.2, 1)]);
    }
}
