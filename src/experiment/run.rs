//! One run of an experiment: select the labels, cross-validate, score with intervals, test
//! against chance; the results ([`RunOutput`]) and what the user must know to read them.

use std::time::Instant;

use crate::cv::{self, CvConfig, CvError, SchemeKind, Split};
use crate::metrics::Metric;
use crate::stats::permutation::SEQUENTIAL_BATCH;

use super::cross_validate::{FoldResult, Learner, cross_validate};
use super::evaluate::{self, Evaluation, IntervalSpec, tested_view};
use super::permutation::{self, PermutationOutcome};
use super::{Dataset, Experiment, PermutationStopping, Progress, RunError, record_of};

/// Choices made at run time, not in the experiment file.
#[derive(Debug, Clone, Copy, Default)]
pub struct RunOptions {
    /// Replace `[stats] permutations` (0 skips the permutation test).
    pub permutations: Option<usize>,
}

/// Everything one run produced, before it becomes a record.
#[derive(Debug, Clone)]
pub struct RunOutput {
    pub dataset: Dataset,
    pub metric: Metric,
    pub folds: Vec<FoldResult>,
    pub evaluation: Evaluation,
    pub permutation: Option<PermutationOutcome>,
    pub permutations_undefined: usize,
    pub warnings: Vec<String>,
    pub started_at: jiff::Timestamp,
    pub seconds_cv: f64,
    /// Scoring with bootstrap intervals.
    pub seconds_bootstrap: f64,
    pub seconds_permutation: f64,
    pub seconds_total: f64,
}

/// Run one experiment: select the labels, cross-validate, score with intervals and test
/// against chance.
pub fn run(
    experiment: &Experiment,
    options: &RunOptions,
    progress: &dyn Progress,
) -> Result<RunOutput, RunError> {
    let started_at = jiff::Timestamp::now();
    let clock = Instant::now();
    let prepared = Prepared::new(experiment)?;
    progress.stage("cross-validation", prepared.splits.len() as u64);
    let folds = cross_validate(
        &prepared.learner,
        &prepared.labels,
        &prepared.splits,
        &|| progress.tick(),
    )?;
    let seconds_cv = clock.elapsed().as_secs_f64();
    let n_permutations = options
        .permutations
        .unwrap_or(experiment.stats().permutations());
    let mut output = assemble(
        experiment,
        prepared,
        folds,
        n_permutations,
        Shuffles::Compute { seconds_cv },
        progress,
    )?;
    output.started_at = started_at;
    output.seconds_cv = seconds_cv;
    output.seconds_total = clock.elapsed().as_secs_f64();
    Ok(output)
}

/// What every task of a run needs: the selected labels, the splits and the learner.
pub(super) struct Prepared {
    pub(super) dataset: Dataset,
    pub(super) labels: Vec<usize>,
    pub(super) groups: Vec<usize>,
    pub(super) splits: Vec<Split>,
    pub(super) learner: Learner,
}

impl Prepared {
    pub(super) fn new(experiment: &Experiment) -> Result<Prepared, RunError> {
        let dataset = Dataset::load(experiment.data())?;
        let labels = dataset.labels();
        let groups = dataset.groups();
        let n_classes = dataset.classes().len();
        let splits =
            splits_for(experiment.cv(), &dataset, &labels, &groups).map_err(RunError::Cv)?;
        let learner = Learner::of_experiment(experiment, &dataset.texts(), &groups, n_classes);
        Ok(Prepared {
            dataset,
            labels,
            groups,
            splits,
            learner,
        })
    }

    /// What each shuffle of the permutation test needs.
    pub(super) fn permutation_inputs<'a>(
        &'a self,
        experiment: &'a Experiment,
    ) -> permutation::PermutationInputs<'a> {
        permutation::PermutationInputs {
            learner: &self.learner,
            scheme: experiment.cv(),
            holdout: holdout_split(&self.splits, experiment.cv()),
            labels: &self.labels,
            groups: &self.groups,
            class_names: self.dataset.classes(),
            metric: experiment.stats().metric(),
            seed: experiment.cv().seed(),
        }
    }
}

/// Where the permutation test's shuffled metrics come from.
pub(super) enum Shuffles<'a> {
    /// Computed now, at about the pace of a cross-validation of `seconds_cv`.
    Compute { seconds_cv: f64 },
    /// Computed by the shards of a sharded run: the metric of each shuffle, in order.
    Given(&'a [Option<f64>]),
}

/// Everything after the cross-validation: scores with intervals (handed to
/// [`Progress::partial`] before the long part, so that an interrupted run keeps them), the
/// permutation test and the warnings. Its timings are its own (`seconds_bootstrap`,
/// `seconds_permutation`); the caller fills in the rest.
pub(super) fn assemble(
    experiment: &Experiment,
    prepared: Prepared,
    folds: Vec<FoldResult>,
    n_permutations: usize,
    shuffles: Shuffles<'_>,
    progress: &dyn Progress,
) -> Result<RunOutput, RunError> {
    let started_at = jiff::Timestamp::now();
    let clock = Instant::now();
    let metric = experiment.stats().metric();
    let n_classes = prepared.dataset.classes().len();
    let stats = experiment.stats();
    let intervals = IntervalSpec::of(experiment);
    let (tested_folds, tested_labels, tested_groups) =
        tested_view(&folds, &prepared.labels, &prepared.groups);
    let evaluation = evaluate::evaluate(
        &tested_folds,
        &tested_labels,
        &tested_groups,
        n_classes,
        &intervals,
        metric,
        scores_per_group(experiment),
    )?;
    let seconds_bootstrap = clock.elapsed().as_secs_f64();

    let Prepared {
        dataset,
        labels,
        groups,
        splits,
        learner,
    } = prepared;
    let mut output = RunOutput {
        warnings: warnings(experiment, &dataset, &folds, &evaluation, None, 0),
        dataset,
        metric,
        folds,
        evaluation,
        permutation: None,
        permutations_undefined: 0,
        started_at,
        seconds_cv: 0.0,
        seconds_bootstrap,
        seconds_permutation: 0.0,
        seconds_total: clock.elapsed().as_secs_f64(),
    };
    // The cross-validation's results before the long part, so that an interrupted run
    // keeps them.
    if progress.wants_partial() {
        progress.partial(&record_of(experiment, &output, None));
    }

    let permutation_clock = Instant::now();
    let observed = output
        .evaluation
        .model_value(metric)
        .and_then(|value| value.pooled);
    if let Some(observed) = observed.filter(|_| n_permutations > 0) {
        let sequential_level = (stats.permutation_stopping() == PermutationStopping::Sequential)
            .then(|| 1.0 - stats.level().get());
        let (permutation, undefined) = match shuffles {
            Shuffles::Compute { seconds_cv } => {
                progress.note(&permutation_estimate(
                    n_permutations,
                    splits.len(),
                    seconds_cv,
                    sequential_level,
                ));
                progress.stage("permutation test", (n_permutations * splits.len()) as u64);
                let inputs = permutation::PermutationInputs {
                    learner: &learner,
                    scheme: experiment.cv(),
                    holdout: holdout_split(&splits, experiment.cv()),
                    labels: &labels,
                    groups: &groups,
                    class_names: output.dataset.classes(),
                    metric,
                    seed: experiment.cv().seed(),
                };
                permutation::permutation_test(
                    &inputs,
                    observed,
                    n_permutations,
                    sequential_level,
                    &|| progress.tick(),
                )?
            }
            Shuffles::Given(values) => permutation::ranked_among_shuffles(
                &|index| Ok(values[index as usize]),
                metric,
                observed,
                n_permutations,
                sequential_level,
            )?,
        };
        output.permutation = permutation;
        output.permutations_undefined = undefined;
        output.warnings = warnings(
            experiment,
            &output.dataset,
            &output.folds,
            &output.evaluation,
            output.permutation.as_ref(),
            undefined,
        );
    }
    output.seconds_permutation = permutation_clock.elapsed().as_secs_f64();
    output.seconds_total = clock.elapsed().as_secs_f64();
    Ok(output)
}

/// The splits of an experiment over `dataset`: holdout's one split from the paragraphs'
/// splits (the labels play no part), else the folds of `cv` over the labels.
pub(crate) fn splits_for(
    cv: &CvConfig,
    dataset: &Dataset,
    labels: &[usize],
    groups: &[usize],
) -> Result<Vec<Split>, CvError> {
    match cv.test_split() {
        Some(test_split) => Ok(vec![cv::holdout(&dataset.in_split(test_split))?]),
        None => cv::splits(cv, dataset.classes(), labels, groups),
    }
}

/// Holdout's one split, which permutations keep (shuffling the training labels only).
fn holdout_split<'a>(splits: &'a [Split], cv: &CvConfig) -> Option<&'a Split> {
    (cv.kind() == SchemeKind::Holdout).then(|| &splits[0])
}

/// Whether each group's own metrics are worth a record: with one model per group, or a
/// held-out split (SemEval's per-target scores).
pub(crate) fn scores_per_group(experiment: &Experiment) -> bool {
    experiment.model().per_group() || experiment.cv().kind() == SchemeKind::Holdout
}

/// The permutation test's size and how long it should take at the pace of the
/// cross-validation just run (each shuffle re-runs it; shuffles run in parallel).
fn permutation_estimate(
    n_permutations: usize,
    n_folds: usize,
    seconds_cv: f64,
    sequential_level: Option<f64>,
) -> String {
    let threads = rayon::current_num_threads().max(1);
    let per_shuffle = seconds_cv;
    let total = per_shuffle * n_permutations as f64 / threads.min(n_permutations) as f64;
    let mut note = format!(
        "permutation test: up to {} permutations × {} folds = {} fits; at the \
         cross-validation's pace ({} for {} fits) that is up to {} on {threads} thread{}",
        thousands(n_permutations),
        thousands(n_folds),
        thousands(n_permutations * n_folds),
        duration(per_shuffle),
        thousands(n_folds),
        duration(total),
        if threads == 1 { "" } else { "s" },
    );
    if let Some(level) = sequential_level {
        let first = SEQUENTIAL_BATCH.min(n_permutations);
        note.push_str(&format!(
            "; it stops early once p is clearly above or below {} (checked every {first} \
             permutations: about {} for the first check)",
            (level * 1e6).round() / 1e6,
            duration(per_shuffle * first as f64 / threads.min(first) as f64)
        ));
    }
    note
}

/// `1234567` as `1,234,567`.
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// Seconds as the user reads them.
fn duration(seconds: f64) -> String {
    if seconds < 0.1 {
        format!("{:.0} ms", (seconds * 1000.0).max(1.0))
    } else if seconds < 60.0 {
        format!("{seconds:.1} s")
    } else if seconds < 3600.0 {
        format!("{:.1} min", seconds / 60.0)
    } else {
        format!("{:.1} h", seconds / 3600.0)
    }
}

/// When every article of two or more paragraphs has one label for all of them (labels given
/// per article, as AllSides' bias is) and the folds put paragraphs of one article on both
/// sides, a model can learn to recognise articles instead of stances: say so.
fn labels_follow_groups(dataset: &Dataset, folds: &[FoldResult]) -> Option<String> {
    let items = dataset.items();
    let mut labels_of: Vec<Vec<usize>> = vec![Vec::new(); dataset.articles().len()];
    for item in items {
        labels_of[item.article].push(item.class);
    }
    let multi: Vec<&Vec<usize>> = labels_of
        .iter()
        .filter(|labels| labels.len() >= 2)
        .collect();
    let constant = multi
        .iter()
        .all(|labels| labels.iter().all(|&l| l == labels[0]));
    if multi.is_empty() || !constant {
        return None;
    }
    let split_groups = folds.iter().any(|fold| {
        let mut in_test = vec![false; labels_of.len()];
        for &i in fold.split.test() {
            in_test[items[i].article] = true;
        }
        fold.split
            .train()
            .iter()
            .any(|&i| in_test[items[i].article])
    });
    split_groups.then(|| {
        format!(
            "every article's paragraphs share one label ({} articles of 2 or more paragraphs), and the folds put paragraphs of one article on both sides: a model can recognise the article rather than the stance, so these scores are optimistic (use [cv] scheme = \"stratified_group_kfold\")",
            multi.len()
        )
    })
}

/// What the user must know to read the numbers right.
fn warnings(
    experiment: &Experiment,
    dataset: &Dataset,
    folds: &[FoldResult],
    evaluation: &Evaluation,
    permutation: Option<&PermutationOutcome>,
    permutations_undefined: usize,
) -> Vec<String> {
    let mut warnings = Vec::new();
    let unconverged: Vec<&FoldResult> = folds.iter().filter(|f| !f.convergence.converged).collect();
    if let Some(worst) = unconverged.iter().max_by(|a, b| {
        a.convergence
            .gradient_norm
            .total_cmp(&b.convergence.gradient_norm)
    }) {
        warnings.push(format!(
            "{} of {} folds did not converge (worst: repeat {}, fold {}: {}); raise [model] max_iterations or alpha",
            unconverged.len(),
            folds.len(),
            worst.split.repeat(),
            worst.split.fold(),
            worst.convergence.message
        ));
    }
    for (m, &metric) in evaluation.metrics.iter().enumerate() {
        let undefined = evaluation
            .folds
            .iter()
            .filter(|f| f.values[m].is_none())
            .count();
        if undefined > 0 {
            warnings.push(format!(
                "{} is undefined in {undefined} of {} folds (a test fold with a single class); its mean is over the others",
                metric.key(dataset.classes()),
                evaluation.folds.len()
            ));
        }
    }
    let predicted = evaluation.confusion_columns_used();
    if predicted.len() == 1 {
        warnings.push(format!(
            "the model predicts `{}` for every paragraph: it has learnt nothing beyond the class balance (the penalty may be too strong for these features: try a smaller [model] alpha)",
            dataset.classes()[predicted[0]]
        ));
    }
    if let Some(warning) = labels_follow_groups(dataset, folds) {
        warnings.push(warning);
    }
    if experiment.cv().kind() == SchemeKind::LeaveOneGroupOut && dataset.articles().len() < 5 {
        warnings.push(format!(
            "leave-one-article-out with {} articles: each fold tests one article, so the spread across folds rests on {} numbers",
            dataset.articles().len(),
            dataset.articles().len()
        ));
    }
    if permutations_undefined > 0 {
        warnings.push(format!(
            "{permutations_undefined} permutations gave an undefined {} and were left out of the test",
            experiment.stats().metric().key(dataset.classes())
        ));
    }
    if let Some(outcome) = permutation
        && outcome.stopped.is_none()
        && outcome.result.n_permutations < 100
    {
        warnings.push(format!(
            "only {} permutations: the smallest attainable p-value is {:.3}",
            outcome.result.n_permutations, outcome.result.resolution
        ));
    }
    warnings
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_durations_read_as_people_write_them() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(200_000), "200,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(duration(0.0001), "1 ms");
        assert_eq!(duration(0.038), "38 ms");
        assert_eq!(duration(2.25), "2.2 s");
        assert_eq!(duration(150.0), "2.5 min");
        assert_eq!(duration(7200.0), "2.0 h");
    }
}
