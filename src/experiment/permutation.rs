//! Is the classifier better than chance? Labels are shuffled, the whole cross-validation
//! (folds, featurizer, model) is run again on the shuffled labels, and the observed metric is
//! ranked among the shuffled ones.
//!
//! Permutation `i` shuffles with stream `i` of the experiment's seed, and permutations run
//! in parallel but are collected in order: the p-value does not depend on the thread count.
//! Under leave-one-article-out, and with one model per group, labels are shuffled within
//! each article (group) only, so every article keeps its mix of labels and the test asks
//! whether the words, not the article, carry the label. Under holdout only the training
//! labels are shuffled: the model is re-fitted on them and scored once more on the test
//! paragraphs' true labels.

use rayon::prelude::*;

use crate::cv::{self, CvConfig, SchemeKind, Split};
use crate::metrics::Metric;
use crate::stats::permutation::{
    PermutationResult, SEQUENTIAL_BATCH, Sequential, at_least_as_good, permutation_p_value,
    permuted_labels, sequential_verdict,
};

use super::RunError;
use super::cross_validate::{Learner, OutOfFold};
use super::evaluate::{pooled_metric, tested_view};

/// The observed metric ranked among its values under shuffled labels.
#[derive(Debug, Clone)]
pub struct PermutationOutcome {
    pub metric: Metric,
    pub observed: f64,
    pub result: PermutationResult,
    pub null_mean: f64,
    /// The defined null values, in permutation order.
    pub null_values: Vec<f64>,
    /// Permutations allowed; fewer ran when the sequential test stopped early.
    pub planned: usize,
    /// Where the sequential test stopped it early, if it did.
    pub stopped: Option<Sequential>,
}

pub struct PermutationInputs<'a> {
    pub learner: &'a Learner,
    pub scheme: &'a CvConfig,
    /// Holdout's split: kept, its training labels alone shuffled.
    pub holdout: Option<&'a Split>,
    pub labels: &'a [usize],
    pub groups: &'a [usize],
    pub class_names: &'a [String],
    pub metric: Metric,
    pub seed: u64,
}

/// Run up to `n_permutations` shuffled cross-validations; `tick` is called once per fold
/// fitted (a permutation of a leave-one-out over 200 articles is 200 fits: a tick per
/// permutation would leave a bar still for minutes). With `sequential_level`, they run in batches of [`SEQUENTIAL_BATCH`] (each in
/// parallel, collected in order) and stop after the first batch whose p-value interval lies
/// clearly on one side of that level ([`sequential_verdict`]), so where they stop depends on
/// the seed alone. Also returns how many permutations left the metric undefined (they are
/// not counted).
pub fn permutation_test(
    inputs: &PermutationInputs<'_>,
    observed: f64,
    n_permutations: usize,
    sequential_level: Option<f64>,
    tick: &(dyn Fn() + Sync),
) -> Result<(Option<PermutationOutcome>, usize), RunError> {
    let shuffled = |index: u64| shuffled_metric(inputs, index, tick);
    ranked_among_shuffles(
        &shuffled,
        inputs.metric,
        observed,
        n_permutations,
        sequential_level,
    )
}

/// The permutation test over the metric of each shuffle, `shuffled(index)`: computed here
/// ([`permutation_test`]) or by the shards of a sharded run (`stance merge`), to the same
/// outcome.
pub(super) fn ranked_among_shuffles(
    shuffled: &(dyn Fn(u64) -> Result<Option<f64>, RunError> + Sync),
    metric: Metric,
    observed: f64,
    n_permutations: usize,
    sequential_level: Option<f64>,
) -> Result<(Option<PermutationOutcome>, usize), RunError> {
    let higher_is_better = metric.higher_is_better();
    let batch = if sequential_level.is_some() {
        SEQUENTIAL_BATCH
    } else {
        n_permutations.max(1)
    };
    let mut null = Vec::new();
    let mut ran = 0;
    let mut stopped = None;
    while ran < n_permutations {
        let end = (ran + batch).min(n_permutations);
        let values = (ran as u64..end as u64)
            .into_par_iter()
            .map(shuffled)
            .collect::<Result<Vec<Option<f64>>, RunError>>()?;
        // A shuffle whose metric is undefined says nothing about chance: it is left out.
        null.extend(values.into_iter().flatten());
        ran = end;
        if let Some(level) = sequential_level
            && ran < n_permutations
        {
            let (good, n) = at_least_as_good(observed, &null, higher_is_better);
            let verdict = sequential_verdict(good, n, level);
            if verdict != Sequential::Undecided {
                stopped = Some(verdict);
                break;
            }
        }
    }
    let undefined = ran - null.len();
    let Some(result) = permutation_p_value(observed, &null, higher_is_better) else {
        return Ok((None, undefined));
    };
    let null_mean = crate::stats::summary::mean(&null).unwrap_or(f64::NAN);
    Ok((
        Some(PermutationOutcome {
            metric,
            observed,
            result,
            null_mean,
            null_values: null,
            planned: n_permutations,
            stopped,
        }),
        undefined,
    ))
}

/// The experiment's metric on the cross-validation of shuffle `index` (`None` where it is
/// undefined): one task of the permutation test; `on_fold` is called once per fold fitted.
pub(super) fn shuffled_metric(
    inputs: &PermutationInputs<'_>,
    index: u64,
    on_fold: &(dyn Fn() + Sync),
) -> Result<Option<f64>, RunError> {
    let within_articles =
        inputs.scheme.kind() == SchemeKind::LeaveOneGroupOut || inputs.learner.per_group();
    let groups = within_articles.then_some(inputs.groups);
    let (labels, splits) = match inputs.holdout {
        Some(split) => {
            let pick = |values: &[usize]| -> Vec<usize> {
                split.train().iter().map(|&i| values[i]).collect()
            };
            let train_groups = groups.map(pick);
            let shuffled = permuted_labels(
                &pick(inputs.labels),
                train_groups.as_deref(),
                inputs.seed,
                index,
            )
            .map_err(RunError::Permutation)?;
            let mut labels = inputs.labels.to_vec();
            for (&row, label) in split.train().iter().zip(shuffled) {
                labels[row] = label;
            }
            (labels, vec![split.clone()])
        }
        None => {
            let labels = permuted_labels(inputs.labels, groups, inputs.seed, index)
                .map_err(RunError::Permutation)?;
            let splits = cv::splits(inputs.scheme, inputs.class_names, &labels, inputs.groups)
                .map_err(RunError::Cv)?;
            (labels, splits)
        }
    };
    let folds = splits
        .iter()
        .map(|split| {
            let fold = inputs.learner.fit_split(&labels, split);
            on_fold();
            fold
        })
        .collect::<Result<Vec<_>, _>>()?;
    let (folds, labels, _) = tested_view(&folds, &labels, inputs.groups);
    let n_classes = inputs.learner.n_classes();
    let oof = OutOfFold::assemble(&folds, labels.len(), n_classes);
    Ok(pooled_metric(&oof.model, &labels, n_classes, inputs.metric))
}
