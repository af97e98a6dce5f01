//! Is a classifier better than chance? The permutation test's two pure halves: seeded label
//! permutations (of all items, or only within groups), and the p-value of an observed metric
//! against the metrics obtained on permuted labels.
//!
//! Takes label slices, a seed and a permutation number, or an observed value and its null
//! values; hands back permuted labels and a [`PermutationResult`]. Never re-runs the
//! cross-validation itself (the caller does, once per permutation) and never does I/O; every
//! random draw comes from [`crate::rng::seeded`], one stream per permutation, so permutations
//! can be computed in any order, on any number of threads, with the same result.

use std::collections::BTreeMap;

use rand::seq::SliceRandom as _;

use crate::rng;

/// Permutation `i` shuffles with stream `PERMUTATION_STREAM_BASE + i` of the caller's seed,
/// apart from the bootstrap's streams and the small stream numbers other modules use.
pub const PERMUTATION_STREAM_BASE: u64 = 2 << 40;

/// Relative tolerance within which a null value counts as a tie with the observed one: the
/// same confusion matrix reached through different fold sizes can differ in the last bits,
/// and a tie must count against the classifier, never for it.
const TIE_TOLERANCE: f64 = 1e-12;

/// The outcome of a permutation test.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PermutationResult {
    /// `(1 + #{null at least as good as observed}) / (1 + N)`.
    pub p_value: f64,
    /// `N`: the null values the p-value rests on (NaN ones are left out).
    pub n_permutations: usize,
    /// `1 / (1 + N)`: the smallest p-value `N` permutations can give, and the step between
    /// attainable p-values. A p-value equal to it means "at most this", not "exactly this".
    pub resolution: f64,
}

/// Permutations between two looks of the sequential test: fixed, so that where it stops does
/// not depend on the thread count.
pub const SEQUENTIAL_BATCH: usize = 50;

/// Confidence of the interval on p that must clear the level for the test to stop early.
pub const SEQUENTIAL_CONFIDENCE: f64 = 0.999;

/// Where a permutation test's p-value stands after some permutations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sequential {
    /// The interval on p still contains the level.
    Undecided,
    /// p is clearly above the level: not significant.
    Above,
    /// p is clearly below the level: significant.
    Below,
}

/// Sequential Monte Carlo (in the spirit of Besag & Clifford 1991): with `at_least_as_good`
/// of `n` shuffles at least as good as the observed labelling, the Clopper–Pearson interval
/// of confidence [`SEQUENTIAL_CONFIDENCE`] on the p-value the full test would estimate; the
/// test may stop once it lies entirely on one side of `level`. With none as good, that takes
/// 150 shuffles at level 0.05; with p near 0.3, 50.
pub fn sequential_verdict(at_least_as_good: usize, n: usize, level: f64) -> Sequential {
    use statrs::distribution::{Beta, ContinuousCDF as _};
    if n == 0 {
        return Sequential::Undecided;
    }
    let tail = (1.0 - SEQUENTIAL_CONFIDENCE) / 2.0;
    let (b, n_f) = (at_least_as_good as f64, n as f64);
    let lower = if at_least_as_good == 0 {
        0.0
    } else {
        Beta::new(b, n_f - b + 1.0).map_or(0.0, |d| d.inverse_cdf(tail))
    };
    let upper = if at_least_as_good >= n {
        1.0
    } else {
        Beta::new(b + 1.0, n_f - b).map_or(1.0, |d| d.inverse_cdf(1.0 - tail))
    };
    if upper < level {
        Sequential::Below
    } else if lower > level {
        Sequential::Above
    } else {
        Sequential::Undecided
    }
}

/// How many of `null_values` (NaN ones left out) are at least as good as `observed`, and how
/// many are defined: the counts [`permutation_p_value`] rests on.
pub fn at_least_as_good(
    observed: f64,
    null_values: &[f64],
    higher_is_better: bool,
) -> (usize, usize) {
    let tolerance = TIE_TOLERANCE * observed.abs().max(1.0);
    let defined = null_values.iter().filter(|value| !value.is_nan());
    let n = defined.clone().count();
    let good = defined
        .filter(|&&value| {
            if higher_is_better {
                value >= observed - tolerance
            } else {
                value <= observed + tolerance
            }
        })
        .count();
    (good, n)
}

/// Why labels could not be permuted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PermutationError {
    #[error("{groups} group ids for {labels} labels: every label needs exactly one group")]
    GroupLengthMismatch { labels: usize, groups: usize },
}

/// The permutation p-value of `observed` against `null_values` (the metric recomputed on
/// permuted labels), counting the observed labelling as one of the permutations:
/// `p = (1 + #{null ≥ observed}) / (1 + N)` when `higher_is_better`, with `≤` otherwise.
///
/// This is the p-value Phipson & Smyth (2010) recommend in "Permutation p-values should
/// never be zero": counting the observed labelling among the permutations keeps it valid
/// (never below its nominal rate under the null) when permutations are drawn at random, and
/// never reports 0; their exact correction would only make it slightly smaller. Values equal to `observed` up to rounding count as at least as good. NaN
/// null values are left out of `N`. `None` when `observed` is NaN, which has no rank.
pub fn permutation_p_value(
    observed: f64,
    null_values: &[f64],
    higher_is_better: bool,
) -> Option<PermutationResult> {
    if observed.is_nan() {
        return None;
    }
    let tolerance = TIE_TOLERANCE * observed.abs().max(1.0);
    let defined = null_values.iter().filter(|value| !value.is_nan());
    let n_permutations = defined.clone().count();
    let at_least_as_good = defined
        .filter(|&&value| {
            if higher_is_better {
                value >= observed - tolerance
            } else {
                value <= observed + tolerance
            }
        })
        .count();
    let denominator = (n_permutations + 1) as f64;
    Some(PermutationResult {
        p_value: (at_least_as_good + 1) as f64 / denominator,
        n_permutations,
        resolution: 1.0 / denominator,
    })
}

/// The labels `y` under permutation number `permutation_index` of `seed`.
///
/// Without `groups`, all labels are shuffled together. With `groups` (one group id per label,
/// e.g. the article of each paragraph), labels are shuffled only among items of the same
/// group, so every group keeps its own labels and the data keep their group structure (as
/// scikit-learn's `permutation_test_score(groups=…)` does). A group whose items all share a
/// label is left as it is: if every group is like that, every permutation is the identity
/// and the test can say nothing.
///
/// Errors when `groups` is not as long as `y`.
pub fn permuted_labels<T: Clone>(
    y: &[T],
    groups: Option<&[usize]>,
    seed: u64,
    permutation_index: u64,
) -> Result<Vec<T>, PermutationError> {
    let mut rng = rng::seeded(seed, PERMUTATION_STREAM_BASE + permutation_index);
    let mut permuted = y.to_vec();
    let Some(groups) = groups else {
        permuted.shuffle(&mut rng);
        return Ok(permuted);
    };
    if groups.len() != y.len() {
        return Err(PermutationError::GroupLengthMismatch {
            labels: y.len(),
            groups: groups.len(),
        });
    }
    // Groups in ascending id order, items in ascending order within each, so the draws are
    // consumed in an order that does not depend on how the items are listed.
    let mut members: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (item, &group) in groups.iter().enumerate() {
        members.entry(group).or_default().push(item);
    }
    for items in members.values() {
        let mut labels: Vec<T> = items.iter().map(|&item| y[item].clone()).collect();
        labels.shuffle(&mut rng);
        for (&item, label) in items.iter().zip(labels) {
            permuted[item] = label;
        }
    }
    Ok(permuted)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn check_p(observed: f64, null: &[f64], higher_is_better: bool, p: f64, n: usize) {
        let result = permutation_p_value(observed, null, higher_is_better).unwrap();
        assert_eq!(result.p_value, p, "p for {observed} against {null:?}");
        assert_eq!(result.n_permutations, n);
        assert_eq!(result.resolution, 1.0 / (n as f64 + 1.0));
    }

    /// Clopper–Pearson bounds at 99.9% from scipy (`beta.ppf(0.0005, b, n − b + 1)`,
    /// `beta.ppf(0.9995, b + 1, n − b)`): 13 of 50 → [0.093, 0.499]; 2 of 50 → [0.0006,
    /// 0.218]; 0 of 148 → [0, 0.05006]; 0 of 149 → [0, 0.04973].
    #[test]
    fn sequential_verdicts_follow_the_interval() {
        fn check(good: usize, n: usize, level: f64, expected: Sequential) {
            assert_eq!(
                sequential_verdict(good, n, level),
                expected,
                "{good} of {n}"
            );
        }
        check(13, 50, 0.05, Sequential::Above);
        check(13, 50, 0.1, Sequential::Undecided);
        check(2, 50, 0.05, Sequential::Undecided);
        check(0, 148, 0.05, Sequential::Undecided);
        check(0, 149, 0.05, Sequential::Below);
        check(0, 0, 0.05, Sequential::Undecided);
        check(50, 50, 0.05, Sequential::Above);
        assert_eq!(
            at_least_as_good(0.7, &[0.5, 0.7, f64::NAN, 0.9], true),
            (2, 3)
        );
    }

    #[test]
    fn p_values_by_hand() {
        let null = [0.5, 0.6, 0.7, 0.8];
        // Two null values (0.7 and 0.8) at least as high as 0.7: (1 + 2)/(1 + 4).
        check_p(0.7, &null, true, 3.0 / 5.0, 4);
        // Three at most 0.7 when lower is better: (1 + 3)/(1 + 4).
        check_p(0.7, &null, false, 4.0 / 5.0, 4);
        // Nothing beats 0.9: the smallest attainable p, never zero.
        check_p(0.9, &null, true, 1.0 / 5.0, 4);
        check_p(0.1, &null, true, 1.0, 4);
        // No permutations at all: no evidence either way.
        check_p(0.9, &[], true, 1.0, 0);
    }

    #[test]
    fn near_ties_count_against_the_classifier() {
        let observed = 0.1 + 0.2; // 0.30000000000000004
        check_p(observed, &[0.3], true, 1.0, 1);
        check_p(0.3, &[observed], false, 1.0, 1);
    }

    #[test]
    fn nan_is_left_out_of_the_null_and_has_no_p_value_when_observed() {
        check_p(0.7, &[0.8, f64::NAN, 0.6], true, 2.0 / 3.0, 2);
        assert_eq!(permutation_p_value(f64::NAN, &[0.5], true), None);
    }

    #[test]
    fn permuting_all_labels_is_seeded() {
        let y: Vec<usize> = (0..20).map(|i| i % 3).collect();
        let first = permuted_labels(&y, None, 42, 0).unwrap();
        assert_eq!(first, permuted_labels(&y, None, 42, 0).unwrap());
        assert_ne!(first, permuted_labels(&y, None, 42, 1).unwrap());
        assert_ne!(first, permuted_labels(&y, None, 43, 0).unwrap());
        assert_ne!(first, y, "twenty labels left in place by chance");
    }

    #[test]
    fn labels_move_only_within_their_group() {
        // Group 7 holds items 0, 2, 4 (labels a, a, c); group 3 holds 1, 3, 5 (all b).
        let y = ["a", "b", "a", "b", "c", "b"];
        let groups = [7, 3, 7, 3, 7, 3];
        for index in 0..20 {
            let permuted = permuted_labels(&y, Some(&groups), 1, index).unwrap();
            let mut of_group_7 = vec![permuted[0], permuted[2], permuted[4]];
            of_group_7.sort_unstable();
            assert_eq!(of_group_7, ["a", "a", "c"]);
            assert_eq!([permuted[1], permuted[3], permuted[5]], ["b", "b", "b"]);
        }
    }

    #[test]
    fn groups_of_the_wrong_length_are_refused() {
        let error = permuted_labels(&[0, 1, 0], Some(&[0, 0]), 1, 0).unwrap_err();
        assert_eq!(
            error,
            PermutationError::GroupLengthMismatch {
                labels: 3,
                groups: 2
            }
        );
        assert_eq!(
            error.to_string(),
            "2 group ids for 3 labels: every label needs exactly one group"
        );
    }

    proptest! {
        #[test]
        fn a_permutation_keeps_each_groups_labels(
            labelled in prop::collection::vec((0..3usize, 0..4usize), 0..40),
            grouped in any::<bool>(),
            seed in any::<u64>(),
            index in any::<u32>(),
        ) {
            let (y, groups): (Vec<usize>, Vec<usize>) = labelled.into_iter().unzip();
            let groups = if grouped { groups } else { vec![0; y.len()] };
            let permuted = permuted_labels(&y, grouped.then_some(groups.as_slice()), seed, u64::from(index)).unwrap();
            for group in 0..4 {
                let of = |labels: &[usize]| {
                    let mut of: Vec<usize> = (0..labels.len()).filter(|&i| groups[i] == group).map(|i| labels[i]).collect();
                    of.sort_unstable();
                    of
                };
                prop_assert_eq!(of(&y), of(&permuted));
            }
        }

        #[test]
        fn p_values_lie_between_the_resolution_and_one(
            observed in -1.0..1.0f64,
            null in prop::collection::vec(-1.0..1.0f64, 0..100),
            higher_is_better in any::<bool>(),
        ) {
            let result = permutation_p_value(observed, &null, higher_is_better).unwrap();
            prop_assert!(result.resolution <= result.p_value && result.p_value <= 1.0);
            prop_assert_eq!(result.n_permutations, null.len());
        }
    }
}
