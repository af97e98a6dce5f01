//! Intervals around a metric: the percentile bootstrap over resampling units (paragraphs, or
//! whole articles through [`Clusters`]), and the percentile across the repeats of repeated
//! cross-validation.
//!
//! Takes a number of units and a closure that computes the statistic on resampled unit
//! indices; hands back an [`Interval`] that names its method and level and says how many
//! resamples it rests on. Refuses, with an [`IntervalError`], when there are too few units or
//! repeats for the interval to mean anything. Never fits a model and never does I/O; every
//! random draw comes from [`crate::rng::seeded`] on a stream of its own per resample, so the
//! answer is the same whatever the number of threads.
//!
//! What is never produced here: mean ± 2·std. That describes spread, not confidence, and with
//! a handful of folds it is neither.

use std::collections::BTreeMap;
use std::fmt;

use rand::RngExt as _;
use rayon::prelude::*;

use super::summary::quantile_of_sorted;
use crate::rng;

/// The fewest resampling units (paragraphs, articles) a bootstrap interval is computed from.
///
/// With `n` units there are only `C(2n − 1, n)` distinct resamples (10 for three units, 35 for
/// four), so the percentiles are set by a handful of extreme resamples; and the bootstrap
/// spread is biased low by the factor `√((n − 1)/n)` (13% too narrow at four units). Below five
/// the interval describes the resampling scheme more than the data. Five is a floor, not a
/// guarantee: intervals from five to ten articles are still rough.
pub const MIN_RESAMPLING_UNITS: usize = 5;

/// Bootstrap resample `i` draws from stream `BOOTSTRAP_STREAM_BASE + i` of the caller's seed,
/// far above the small stream numbers other modules use (fold assignment, repeats).
pub const BOOTSTRAP_STREAM_BASE: u64 = 1 << 40;

/// Resamples handed to a rayon task at a time: each is microseconds of work, so smaller tasks
/// would cost more in scheduling than they save.
const RESAMPLES_PER_TASK: usize = 64;

/// A confidence level strictly between 0 and 1 (0.95 for a 95% interval), checked once.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct ConfidenceLevel(f64);

impl ConfidenceLevel {
    /// The level, or [`IntervalError::InvalidLevel`] unless `0 < level < 1`.
    pub fn new(level: f64) -> Result<Self, IntervalError> {
        if level > 0.0 && level < 1.0 {
            Ok(Self(level))
        } else {
            Err(IntervalError::InvalidLevel { level })
        }
    }

    pub fn get(self) -> f64 {
        self.0
    }

    /// The quantiles that cut off the two tails, `(1 − level)/2` and `(1 + level)/2`.
    fn tail_quantiles(self) -> (f64, f64) {
        ((1.0 - self.0) / 2.0, (1.0 + self.0) / 2.0)
    }
}

impl Default for ConfidenceLevel {
    /// 95%.
    fn default() -> Self {
        Self(0.95)
    }
}

/// How an [`Interval`] was computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntervalMethod {
    /// Percentiles of the statistic over bootstrap resamples of the units (with replacement).
    PercentileBootstrap,
    /// Percentiles of the per-repeat values of repeated cross-validation: how much the metric
    /// moves when the folds are drawn again, not how uncertain it is about new data.
    PercentileAcrossRepeats,
}

impl IntervalMethod {
    /// A short name for people: "percentile bootstrap", "percentile across repeats".
    pub fn describe(self) -> &'static str {
        match self {
            Self::PercentileBootstrap => "percentile bootstrap",
            Self::PercentileAcrossRepeats => "percentile across repeats",
        }
    }
}

impl fmt::Display for IntervalMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

/// An interval `[low, high]` at `level`, with what it rests on.
#[derive(Debug, Clone, PartialEq)]
pub struct Interval {
    pub low: f64,
    pub high: f64,
    pub level: f64,
    pub method: IntervalMethod,
    /// Resamples (or repeats) whose statistic was defined, and so entered the percentiles.
    pub resamples_used: usize,
    /// Resamples (or repeats) whose statistic was undefined (e.g. a class absent from the
    /// resample leaves balanced accuracy undefined), or not finite; left out of the percentiles.
    pub resamples_undefined: usize,
}

/// Why no interval could be computed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum IntervalError {
    #[error("confidence level must be strictly between 0 and 1, got {level}")]
    InvalidLevel { level: f64 },
    #[error("a bootstrap needs at least one resample")]
    NoResamples,
    #[error(
        "only {units} resampling units: a bootstrap interval needs at least {minimum} \
         (articles or paragraphs) to mean anything"
    )]
    TooFewUnits { units: usize, minimum: usize },
    #[error("the statistic is undefined in all {resamples} bootstrap resamples")]
    AllResamplesUndefined { resamples: usize },
    #[error(
        "only {repeats} repeats with a value: a {}% interval across repeats needs at least \
         {minimum}", percent(*level)
    )]
    TooFewRepeats {
        repeats: usize,
        minimum: usize,
        level: f64,
    },
}

fn percent(level: f64) -> f64 {
    (level * 1e4).round() / 1e2
}

/// A percentile bootstrap interval for a statistic of `n_units` resampling units.
///
/// Draws `resamples` resamples of `n_units` unit indices with replacement; `statistic`
/// receives each one (indices in `0..n_units`, in drawing order) and returns the statistic,
/// or `None` where it is undefined for that resample. Undefined (and non-finite) values are
/// counted in [`Interval::resamples_undefined`] and left out; the interval is the
/// `(1 − level)/2` and `(1 + level)/2` quantiles of the rest, interpolated like numpy's default.
///
/// For a cluster bootstrap, pass the number of clusters and expand the resampled cluster
/// indices with [`Clusters::expand_into`] inside `statistic`.
///
/// Resample `i` draws from stream [`BOOTSTRAP_STREAM_BASE`]` + i` of `seed`, so the same seed
/// gives the same resamples to every statistic (intervals of different metrics share their
/// resamples) and the same answer whatever the number of rayon threads.
///
/// Errors when `n_units < MIN_RESAMPLING_UNITS`, `resamples == 0`, or the statistic is
/// undefined in every resample.
pub fn bootstrap_interval<F>(
    n_units: usize,
    resamples: usize,
    level: ConfidenceLevel,
    seed: u64,
    statistic: F,
) -> Result<Interval, IntervalError>
where
    F: Fn(&[usize]) -> Option<f64> + Sync,
{
    let mut intervals =
        bootstrap_intervals(n_units, resamples, level, seed, 1, |units, values| {
            values[0] = statistic(units);
        })?;
    intervals.pop().unwrap_or(Err(IntervalError::NoResamples))
}

/// [`bootstrap_interval`] for `n_statistics` statistics of the same resamples at once:
/// `statistics` fills one value per statistic for each resample, so what they share (scoring a
/// resample once for every metric) is done once. Interval `k` is the one `bootstrap_interval`
/// gives for statistic `k` alone (an error where it is undefined in every resample); the
/// outer error is for the resampling itself (too few units, no resamples).
pub fn bootstrap_intervals<F>(
    n_units: usize,
    resamples: usize,
    level: ConfidenceLevel,
    seed: u64,
    n_statistics: usize,
    statistics: F,
) -> Result<Vec<Result<Interval, IntervalError>>, IntervalError>
where
    F: Fn(&[usize], &mut [Option<f64>]) + Sync,
{
    if n_units < MIN_RESAMPLING_UNITS {
        return Err(IntervalError::TooFewUnits {
            units: n_units,
            minimum: MIN_RESAMPLING_UNITS,
        });
    }
    if resamples == 0 {
        return Err(IntervalError::NoResamples);
    }
    // Resample-major: the values of resample `i` are `values[i * n_statistics..][..n_statistics]`.
    let values = bootstrap_values(n_units, resamples, seed, n_statistics, &statistics);
    Ok((0..n_statistics)
        .map(|k| {
            let of_statistic: Vec<Option<f64>> = values
                .iter()
                .skip(k)
                .step_by(n_statistics)
                .copied()
                .collect();
            percentile_interval(&of_statistic, level, IntervalMethod::PercentileBootstrap)
                .ok_or(IntervalError::AllResamplesUndefined { resamples })
        })
        .collect())
}

/// The statistics of every resample, resample after resample (undefined and non-finite values
/// as `None`).
fn bootstrap_values<F>(
    n_units: usize,
    resamples: usize,
    seed: u64,
    n_statistics: usize,
    statistics: &F,
) -> Vec<Option<f64>>
where
    F: Fn(&[usize], &mut [Option<f64>]) + Sync,
{
    let mut values = vec![None; resamples * n_statistics];
    if n_statistics == 0 {
        return values;
    }
    values
        .par_chunks_mut(n_statistics)
        .enumerate()
        .with_min_len(RESAMPLES_PER_TASK)
        .for_each_init(
            || Vec::with_capacity(n_units),
            |units: &mut Vec<usize>, (index, values)| {
                draw_resample(n_units, seed, index, units);
                statistics(units, values);
                for value in values.iter_mut() {
                    *value = value.filter(|value| value.is_finite());
                }
            },
        );
    values
}

/// Fills `units` with resample number `index`: `n_units` draws from `0..n_units`.
fn draw_resample(n_units: usize, seed: u64, index: usize, units: &mut Vec<usize>) {
    let mut rng = rng::seeded(seed, BOOTSTRAP_STREAM_BASE + index as u64);
    units.clear();
    units.extend((0..n_units).map(|_| rng.random_range(0..n_units)));
}

/// The fewest repeats with a value for [`repeat_interval`] at `level`: the smallest `R` with
/// `(R − 1)/(R + 1) ≥ level`, 39 at 95%.
///
/// Why: a fresh repeat falls between the smallest and largest of `R` earlier ones with
/// probability `(R − 1)/(R + 1)` (order statistics, whatever the distribution). With fewer
/// repeats even the full range of the values covers less than `level`, so calling any
/// percentile range of them a `level` interval would overstate it.
pub fn min_repeats(level: ConfidenceLevel) -> usize {
    let level = level.get();
    // The tolerance keeps e.g. 0.9 → 19 from becoming 20 through rounding.
    let bound = ((1.0 + level) / (1.0 - level) - 1e-9).ceil();
    if bound >= usize::MAX as f64 {
        usize::MAX
    } else {
        bound as usize
    }
}

/// The interval across repeats of repeated cross-validation: the `(1 − level)/2` and
/// `(1 + level)/2` quantiles of the per-repeat values (numpy's default interpolation).
///
/// It says how far the metric moves when the folds are drawn again; it is not a confidence
/// interval for performance on new data (use [`bootstrap_interval`] for that). Non-finite
/// values count as undefined repeats. Errors with [`IntervalError::TooFewRepeats`] when fewer
/// than [`min_repeats`] values are defined: the interval is then not available.
pub fn repeat_interval(
    per_repeat: &[f64],
    level: ConfidenceLevel,
) -> Result<Interval, IntervalError> {
    let values: Vec<Option<f64>> = per_repeat
        .iter()
        .map(|&value| Some(value).filter(|value| value.is_finite()))
        .collect();
    let minimum = min_repeats(level);
    match percentile_interval(&values, level, IntervalMethod::PercentileAcrossRepeats) {
        Some(interval) if interval.resamples_used >= minimum => Ok(interval),
        interval => Err(IntervalError::TooFewRepeats {
            repeats: interval.map_or(0, |interval| interval.resamples_used),
            minimum,
            level: level.get(),
        }),
    }
}

/// The percentile interval of the defined values, or `None` when none is defined.
fn percentile_interval(
    values: &[Option<f64>],
    level: ConfidenceLevel,
    method: IntervalMethod,
) -> Option<Interval> {
    let mut sorted: Vec<f64> = values.iter().flatten().copied().collect();
    sorted.sort_by(f64::total_cmp);
    let (low_q, high_q) = level.tail_quantiles();
    Some(Interval {
        low: quantile_of_sorted(&sorted, low_q)?,
        high: quantile_of_sorted(&sorted, high_q)?,
        level: level.get(),
        method,
        resamples_used: sorted.len(),
        resamples_undefined: values.len() - sorted.len(),
    })
}

/// Items grouped into clusters (paragraphs into articles) for a cluster bootstrap: resample
/// cluster indices with [`bootstrap_interval`]`(clusters.len(), …)`, then expand them to the
/// items they hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clusters {
    /// Item indices of each cluster, ascending; clusters in ascending order of their key.
    members: Vec<Vec<usize>>,
}

impl Clusters {
    /// Groups item `i` with every item sharing `keys[i]` (e.g. an article id). Cluster `0` is
    /// the smallest key, and so on; items keep their ascending order within a cluster.
    pub fn from_keys<K: Ord>(keys: &[K]) -> Self {
        let mut by_key: BTreeMap<&K, Vec<usize>> = BTreeMap::new();
        for (item, key) in keys.iter().enumerate() {
            by_key.entry(key).or_default().push(item);
        }
        Self {
            members: by_key.into_values().collect(),
        }
    }

    /// The number of clusters.
    pub fn len(&self) -> usize {
        self.members.len()
    }

    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// The items of cluster `cluster`, ascending; empty if there is no such cluster.
    pub fn members(&self, cluster: usize) -> &[usize] {
        self.members.get(cluster).map_or(&[], Vec::as_slice)
    }

    /// Replaces `items` with the items of each resampled cluster in turn (a cluster drawn
    /// twice contributes its items twice). Reuses the buffer's allocation.
    pub fn expand_into(&self, clusters: &[usize], items: &mut Vec<usize>) {
        items.clear();
        for &cluster in clusters {
            items.extend_from_slice(self.members(cluster));
        }
    }

    /// The items of the resampled clusters, as [`Clusters::expand_into`] but freshly allocated.
    pub fn expand(&self, clusters: &[usize]) -> Vec<usize> {
        let mut items = Vec::new();
        self.expand_into(clusters, &mut items);
        items
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde::Deserialize;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn level95() -> ConfidenceLevel {
        ConfidenceLevel::default()
    }

    /// The share of `outcomes` (1.0 correct, 0.0 wrong) that are correct among `units`.
    fn accuracy(outcomes: &[f64], units: &[usize]) -> Option<f64> {
        let correct: f64 = units.iter().map(|&unit| outcomes[unit]).sum();
        Some(correct / units.len() as f64)
    }

    fn check_interval(interval: &Interval, low: f64, high: f64, used: usize, undefined: usize) {
        assert_eq!(
            (
                interval.low,
                interval.high,
                interval.resamples_used,
                interval.resamples_undefined
            ),
            (low, high, used, undefined)
        );
    }

    #[test]
    fn all_predictions_correct_give_the_interval_one_to_one() {
        let outcomes = [1.0; 28];
        let interval =
            bootstrap_interval(28, 2000, level95(), 7, |units| accuracy(&outcomes, units)).unwrap();
        check_interval(&interval, 1.0, 1.0, 2000, 0);
        assert_eq!(interval.method, IntervalMethod::PercentileBootstrap);
        assert_eq!(interval.level, 0.95);
    }

    #[test]
    fn a_constant_statistic_gives_a_point_interval() {
        let interval = bootstrap_interval(6, 500, level95(), 1, |_| Some(0.25)).unwrap();
        check_interval(&interval, 0.25, 0.25, 500, 0);
    }

    #[test]
    fn resamples_missing_a_class_are_counted_as_undefined() {
        // One item of class 0 among six: a resample lacks it with probability (5/6)^6 ≈ 0.335,
        // so about 670 of 2,000 resamples (binomial sd ≈ 21) must come back undefined.
        let classes = [0, 1, 1, 1, 1, 1];
        let lacking = AtomicUsize::new(0);
        let interval = bootstrap_interval(6, 2000, level95(), 3, |units| {
            let has_both =
                units.iter().any(|&u| classes[u] == 0) && units.iter().any(|&u| classes[u] == 1);
            if has_both {
                Some(units.iter().filter(|&&u| classes[u] == 0).count() as f64)
            } else {
                lacking.fetch_add(1, Ordering::Relaxed);
                None
            }
        })
        .unwrap();
        let lacking = lacking.into_inner();
        assert_eq!(interval.resamples_undefined, lacking);
        assert_eq!(interval.resamples_used + interval.resamples_undefined, 2000);
        let expected = 2000.0 * (5.0f64 / 6.0).powi(6);
        assert!(
            (lacking as f64 - expected).abs() < 5.0 * 21.1,
            "{lacking} undefined, expected ≈ {expected}"
        );
        assert!(interval.low >= 1.0, "only resamples with class 0 count");
    }

    #[test]
    fn a_statistic_undefined_everywhere_is_an_error() {
        let result = bootstrap_interval(5, 100, level95(), 0, |_| None);
        assert_eq!(
            result,
            Err(IntervalError::AllResamplesUndefined { resamples: 100 })
        );
        let result = bootstrap_interval(5, 100, level95(), 0, |_| Some(f64::NAN));
        assert_eq!(
            result,
            Err(IntervalError::AllResamplesUndefined { resamples: 100 })
        );
    }

    #[test]
    fn too_few_units_or_no_resamples_are_refused() {
        let result = bootstrap_interval(2, 2000, level95(), 0, |_| Some(1.0));
        assert_eq!(
            result,
            Err(IntervalError::TooFewUnits {
                units: 2,
                minimum: 5
            })
        );
        assert_eq!(
            result.unwrap_err().to_string(),
            "only 2 resampling units: a bootstrap interval needs at least 5 (articles or \
             paragraphs) to mean anything"
        );
        let result = bootstrap_interval(5, 0, level95(), 0, |_| Some(1.0));
        assert_eq!(result, Err(IntervalError::NoResamples));
    }

    #[test]
    fn levels_outside_the_open_unit_interval_are_refused() {
        for level in [0.0, 1.0, -0.5, 95.0, f64::NAN] {
            assert!(ConfidenceLevel::new(level).is_err(), "{level}");
        }
        assert_eq!(ConfidenceLevel::new(0.9).map(ConfidenceLevel::get), Ok(0.9));
    }

    #[test]
    fn the_same_seed_gives_the_same_interval_and_another_seed_another() {
        let outcomes: Vec<f64> = (0..28).map(|i| f64::from(i % 3 != 0)).collect();
        let run = |seed| {
            bootstrap_interval(28, 2000, level95(), seed, |u| accuracy(&outcomes, u)).unwrap()
        };
        assert_eq!(run(42), run(42));
        let values = |seed| {
            bootstrap_values(28, 200, seed, 1, &|u: &[usize], v: &mut [Option<f64>]| {
                v[0] = accuracy(&outcomes, u);
            })
        };
        assert_ne!(values(42), values(43));
    }

    #[test]
    fn statistics_of_shared_resamples_have_the_intervals_of_each_alone() {
        let outcomes: Vec<f64> = (0..30).map(|i| f64::from(i % 3 != 0)).collect();
        let low_share = |u: &[usize]| Some(u.iter().filter(|&&i| i < 10).count() as f64 / 30.0);
        let never = |_: &[usize]| None;
        let together = bootstrap_intervals(30, 500, level95(), 5, 3, |u, values| {
            values[0] = accuracy(&outcomes, u);
            values[1] = low_share(u);
            values[2] = never(u);
        })
        .unwrap();
        let alone = |statistic: &(dyn Fn(&[usize]) -> Option<f64> + Sync)| {
            bootstrap_interval(30, 500, level95(), 5, statistic)
        };
        assert_eq!(together[0], alone(&|u| accuracy(&outcomes, u)));
        assert_eq!(together[1], alone(&low_share));
        assert_eq!(together[2], alone(&never));
        assert_eq!(
            together[2],
            Err(IntervalError::AllResamplesUndefined { resamples: 500 })
        );
        assert_eq!(
            bootstrap_intervals(3, 500, level95(), 5, 2, |_, _| {}),
            Err(IntervalError::TooFewUnits {
                units: 3,
                minimum: MIN_RESAMPLING_UNITS
            })
        );
    }

    #[test]
    fn the_thread_count_does_not_change_any_resample() {
        let outcomes: Vec<f64> = (0..28).map(|i| f64::from(i % 4 != 0)).collect();
        let on_threads = |threads| {
            crate::testing::in_pool(threads, || {
                let values =
                    bootstrap_values(28, 2000, 9, 1, &|u: &[usize], v: &mut [Option<f64>]| {
                        v[0] = accuracy(&outcomes, u);
                    });
                let interval =
                    bootstrap_interval(28, 2000, level95(), 9, |u| accuracy(&outcomes, u)).unwrap();
                (values, interval)
            })
        };
        assert_eq!(on_threads(1), on_threads(2));
    }

    #[derive(Deserialize)]
    struct BinomialCase {
        items: usize,
        correct: usize,
        resamples: usize,
        level: f64,
        /// scipy's `binom.ppf` of the two tail quantiles, in items.
        low_count: f64,
        high_count: f64,
    }

    #[test]
    fn an_accuracy_interval_lands_on_the_binomial_quantiles() {
        // Resampling n items of which k are correct makes the correct count Bin(n, k/n), so
        // with enough resamples the percentile endpoints sit at its quantiles, within one item.
        let text = include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/stats/bootstrap_binomial.json"
        ));
        let cases: Vec<BinomialCase> = serde_json::from_str(text).unwrap();
        assert!(cases.len() >= 3);
        for case in cases {
            let outcomes: Vec<f64> = (0..case.items)
                .map(|i| f64::from(i < case.correct))
                .collect();
            let level = ConfidenceLevel::new(case.level).unwrap();
            let interval = bootstrap_interval(case.items, case.resamples, level, 2024, |u| {
                accuracy(&outcomes, u)
            })
            .unwrap();
            let n = case.items as f64;
            assert!(
                (interval.low * n - case.low_count).abs() <= 1.0 + 1e-9
                    && (interval.high * n - case.high_count).abs() <= 1.0 + 1e-9,
                "{}/{} correct: [{}, {}] vs counts [{}, {}]",
                case.correct,
                case.items,
                interval.low * n,
                interval.high * n,
                case.low_count,
                case.high_count
            );
        }
    }

    #[test]
    fn a_cluster_bootstrap_resamples_whole_clusters() {
        // Six articles: every paragraph of article "a" wrong, all others right. A resample's
        // accuracy is then 1 − (paragraphs of "a" drawn) / (paragraphs drawn), which can only
        // take the values a whole-article resample allows.
        let articles = ["b", "a", "c", "a", "d", "e", "f", "a"];
        let outcomes = [1.0, 0.0, 1.0, 0.0, 1.0, 1.0, 1.0, 0.0];
        let clusters = Clusters::from_keys(&articles);
        assert_eq!(clusters.len(), 6);
        assert_eq!(clusters.members(0), &[1, 3, 7]);
        let seen = std::sync::Mutex::new(Vec::new());
        let interval = bootstrap_interval(clusters.len(), 300, level95(), 5, |resampled| {
            let items = clusters.expand(resampled);
            let wrong = items.iter().filter(|&&i| outcomes[i] == 0.0).count();
            assert_eq!(wrong % 3, 0, "article a enters whole or not at all");
            seen.lock().unwrap().push(resampled.len());
            accuracy(&outcomes, &items)
        })
        .unwrap();
        assert!(seen.into_inner().unwrap().iter().all(|&n| n == 6));
        assert!(0.0 <= interval.low && interval.low <= interval.high && interval.high == 1.0);
    }

    #[test]
    fn clusters_expand_in_resample_order_with_repeats() {
        let clusters = Clusters::from_keys(&[2, 1, 2, 3]);
        assert_eq!(clusters.expand(&[1, 0, 1]), vec![0, 2, 1, 0, 2]);
        let mut buffer = vec![99];
        clusters.expand_into(&[2], &mut buffer);
        assert_eq!(buffer, vec![3]);
        assert_eq!(clusters.members(7), &[] as &[usize]);
        assert!(Clusters::from_keys::<u32>(&[]).is_empty());
    }

    #[test]
    fn the_minimum_number_of_repeats_follows_the_level() {
        let check = |level: f64, expected: usize| {
            assert_eq!(
                min_repeats(ConfidenceLevel::new(level).unwrap()),
                expected,
                "{level}"
            );
        };
        // (R − 1)/(R + 1) ≥ level ⇔ R ≥ (1 + level)/(1 − level).
        check(0.95, 39);
        check(0.9, 19);
        check(0.8, 9);
        check(0.5, 3);
        check(0.99, 199);
    }

    #[test]
    fn an_interval_across_repeats_needs_enough_repeats() {
        let per_repeat: Vec<f64> = (0..38).map(|i| f64::from(i) / 38.0).collect();
        assert_eq!(
            repeat_interval(&per_repeat, level95()),
            Err(IntervalError::TooFewRepeats {
                repeats: 38,
                minimum: 39,
                level: 0.95
            })
        );
        assert_eq!(
            repeat_interval(&per_repeat, level95())
                .unwrap_err()
                .to_string(),
            "only 38 repeats with a value: a 95% interval across repeats needs at least 39"
        );
        assert!(matches!(
            repeat_interval(&[], level95()),
            Err(IntervalError::TooFewRepeats { repeats: 0, .. })
        ));
        let mut with_nan = per_repeat.clone();
        with_nan.push(f64::NAN);
        assert!(matches!(
            repeat_interval(&with_nan, level95()),
            Err(IntervalError::TooFewRepeats { repeats: 38, .. })
        ));
    }

    #[test]
    fn an_interval_across_repeats_is_the_percentile_of_the_values() {
        // 41 values 0, 1, ..., 40: the quantiles 0.025 and 0.975 sit at positions 1 and 39
        // (up to rounding in (1 ∓ 0.95)/2).
        let mut per_repeat: Vec<f64> = (0..41).rev().map(f64::from).collect();
        per_repeat.push(f64::INFINITY);
        let interval = repeat_interval(&per_repeat, level95()).unwrap();
        assert!((interval.low - 1.0).abs() < 1e-9 && (interval.high - 39.0).abs() < 1e-9);
        assert_eq!(
            (interval.resamples_used, interval.resamples_undefined),
            (41, 1)
        );
        assert_eq!(interval.method, IntervalMethod::PercentileAcrossRepeats);
        assert_eq!(interval.method.to_string(), "percentile across repeats");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn a_mean_interval_is_ordered_and_within_the_data(
            values in prop::collection::vec(-100.0..100.0f64, 5..30),
            seed in any::<u64>(),
            resamples in 1..300usize,
        ) {
            let interval = bootstrap_interval(values.len(), resamples, level95(), seed, |units| {
                Some(units.iter().map(|&u| values[u]).sum::<f64>() / units.len() as f64)
            }).unwrap();
            let min = values.iter().copied().fold(f64::INFINITY, f64::min);
            let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            prop_assert!(min - 1e-9 <= interval.low);
            prop_assert!(interval.low <= interval.high);
            prop_assert!(interval.high <= max + 1e-9);
            prop_assert_eq!(interval.resamples_used, resamples);
        }

        #[test]
        fn resamples_draw_every_index_within_range(
            n_units in 1..50usize,
            seed in any::<u64>(),
            index in 0..10_000usize,
        ) {
            let mut units = Vec::new();
            draw_resample(n_units, seed, index, &mut units);
            prop_assert_eq!(units.len(), n_units);
            prop_assert!(units.iter().all(|&u| u < n_units));
        }

        #[test]
        fn clusters_partition_the_items(keys in prop::collection::vec(0..6u8, 0..40)) {
            let clusters = Clusters::from_keys(&keys);
            let everything: Vec<usize> = (0..clusters.len()).collect();
            let mut items = clusters.expand(&everything);
            items.sort_unstable();
            prop_assert_eq!(items, (0..keys.len()).collect::<Vec<_>>());
        }
    }
}
