//! Is A better than B? Paired tests of two classifiers evaluated on identical folds: the
//! corrected resampled t-test over per-fold differences of a metric, McNemar's exact test over
//! paired right/wrong predictions, and a [`Verdict`] saying when there are too few data for
//! either test to mean anything.
//!
//! Takes per-fold differences and set sizes, or counts of discordant predictions; hands back
//! [`TTest`], [`McNemar`] and [`Verdict`] values. Never runs classifiers, never draws random
//! numbers, never does I/O.

use statrs::distribution::{ContinuousCDF as _, StudentsT};
use statrs::function::factorial::ln_binomial;

use super::summary::{mean, sample_variance};

/// The significance level the verdicts speak of: "cannot detect a difference at the 5% level".
pub const ALPHA: f64 = 0.05;

/// The fewest per-fold differences for the corrected resampled t-test to mean anything.
///
/// Bouckaert & Frank (2004) recommend the corrected test over 10 repeats of 10-fold CV (100
/// differences). Below 10 differences the test has under 9 degrees of freedom, and the
/// variance it divides by is itself too uncertain (its relative standard error is about
/// `1/√(2·df)`, over 24%) for one unusual fold not to decide the answer. Ten is two repeats of
/// 5-fold cross-validation: the least we accept, not what we recommend.
pub const MIN_T_TEST_DIFFERENCES: usize = 10;

/// The corrected resampled t-test of the mean of per-fold differences against zero.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TTest {
    /// Mean of the differences (A − B when the caller subtracts that way).
    pub mean: f64,
    /// `mean / √corrected_variance`; `±∞` when the differences are all equal and nonzero.
    pub t: f64,
    /// Degrees of freedom, `J − 1` for `J` differences.
    pub df: usize,
    /// Two-sided p-value from Student's t with `df` degrees of freedom.
    pub p_value: f64,
    /// `(1/J + n_test/n_train) · s²`, with `s²` the sample variance (`ddof = 1`).
    pub corrected_variance: f64,
    /// Every difference is the same, so the variance is zero and the t statistic is
    /// degenerate: p is 1 when they are all zero, 0 otherwise, and neither is worth much.
    pub zero_variance: bool,
}

impl TTest {
    /// The interval around `mean` at `level` (e.g. 0.95) that this test's p-value inverts:
    /// `mean ± t(df, 1 − (1 − level)/2) · √corrected_variance`; a point when the variance is
    /// zero. `None` for a level outside `(0, 1)`.
    pub fn interval(&self, level: f64) -> Option<(f64, f64)> {
        if !(level > 0.0 && level < 1.0) {
            return None;
        }
        if self.zero_variance {
            return Some((self.mean, self.mean));
        }
        let students_t = StudentsT::new(0.0, 1.0, self.df as f64).ok()?;
        let half =
            students_t.inverse_cdf(1.0 - (1.0 - level) / 2.0) * self.corrected_variance.sqrt();
        Some((self.mean - half, self.mean + half))
    }
}

/// The corrected resampled t-test (Nadeau & Bengio 2003, in the form of Bouckaert & Frank
/// 2004) over per-fold paired differences from `r` repeats of `k`-fold cross-validation
/// (`J = r·k` values), with `n_train` and `n_test` the (typical) training and test set sizes.
///
/// The plain paired t-test divides the variance by `J`, as if folds were independent; they
/// share training data, so it rejects far too often. The correction divides by
/// `1/J + n_test/n_train` instead, which for `k`-fold CV stays above `1/(k − 1)` however many
/// repeats are added.
///
/// `None` when there are fewer than two differences, a difference is not finite, or either
/// set size is zero. See [`t_test_verdict`] for whether the result can mean anything.
pub fn corrected_resampled_t_test(
    differences: &[f64],
    n_train: usize,
    n_test: usize,
) -> Option<TTest> {
    if differences.len() < 2 || n_train == 0 || n_test == 0 {
        return None;
    }
    if !differences.iter().all(|d| d.is_finite()) {
        return None;
    }
    let count = differences.len();
    let df = count - 1;
    if differences.iter().all(|&d| d == differences[0]) {
        // Taken apart from the general case so that rounding in the sums cannot turn equal
        // differences into a tiny variance and a huge but finite t.
        let mean = differences[0];
        let (t, p_value) = if mean == 0.0 {
            (0.0, 1.0)
        } else {
            (f64::INFINITY.copysign(mean), 0.0)
        };
        return Some(TTest {
            mean,
            t,
            df,
            p_value,
            corrected_variance: 0.0,
            zero_variance: true,
        });
    }
    let mean = mean(differences)?;
    let variance = sample_variance(differences)?;
    let corrected_variance = (1.0 / count as f64 + n_test as f64 / n_train as f64) * variance;
    let t = mean / corrected_variance.sqrt();
    let students_t = StudentsT::new(0.0, 1.0, df as f64).ok()?;
    let p_value = (2.0 * students_t.sf(t.abs())).min(1.0);
    Some(TTest {
        mean,
        t,
        df,
        p_value,
        corrected_variance,
        zero_variance: false,
    })
}

/// McNemar's exact test on paired right/wrong predictions of two classifiers on the same items.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct McNemar {
    /// Items A got right and B got wrong.
    pub b: u64,
    /// Items A got wrong and B got right.
    pub c: u64,
    /// Two-sided exact p-value.
    pub p_value: f64,
}

/// McNemar's exact test: under "A and B are equally good", each of the `b + c` discordant
/// items is equally likely to favour either, so `b ~ Bin(b + c, ½)`. Two-sided
/// `p = min(1, 2·P[X ≤ min(b, c)])`, as `statsmodels`' `mcnemar(exact=True)`; `p = 1` when
/// there are no discordant items.
///
/// The binomial tail is exact (correctly rounded) while its coefficients fit in 128-bit
/// integers (`b + c` up to about 120, more when the split is lopsided) and summed in log space
/// beyond, within about 1e-11 relative for `b + c` in the thousands.
///
/// Items must be independent: pooling the predictions of several CV repeats counts each
/// paragraph several times, so use one repeat's out-of-fold predictions.
pub fn mcnemar_exact(b: u64, c: u64) -> McNemar {
    let discordant = b.saturating_add(c);
    let p_value = if discordant == 0 {
        1.0
    } else {
        (2.0 * binomial_half_cdf(b.min(c), discordant)).min(1.0)
    };
    McNemar { b, c, p_value }
}

/// The smallest p-value McNemar's exact test can give with `discordant = b + c` items, reached
/// when they all favour one side: `min(1, 2·½^discordant)`.
pub fn mcnemar_min_p_value(discordant: u64) -> f64 {
    if discordant == 0 {
        return 1.0;
    }
    let exponent = i32::try_from(discordant).unwrap_or(i32::MAX);
    (2.0 * 0.5f64.powi(exponent)).min(1.0)
}

/// `P[X ≤ k]` for `X ~ Bin(n, ½)`: correctly rounded while the coefficients fit in integers,
/// otherwise summed in log space without underflow in the intermediate terms.
fn binomial_half_cdf(k: u64, n: u64) -> f64 {
    if k >= n {
        return 1.0;
    }
    if 2 * k > n {
        // Both methods sum from 0 to k, which is shorter from the nearer tail.
        return 1.0 - binomial_half_cdf(n - k - 1, n);
    }
    exact_binomial_half_cdf(k, n).unwrap_or_else(|| log_space_binomial_half_cdf(k, n))
}

/// `Σ_{i ≤ k} C(n, i)` in integers, then one rounding to `f64` and an exact scaling by `2^-n`;
/// `None` once the sum outgrows `u128` or `2^-n` is no longer a normal `f64`.
fn exact_binomial_half_cdf(k: u64, n: u64) -> Option<f64> {
    let exponent = i32::try_from(n).ok().filter(|&n| n <= 1022)?;
    let mut coefficient: u128 = 1;
    let mut sum: u128 = 1;
    for i in 1..=u128::from(k) {
        // C(n, i) = C(n, i − 1)·(n − i + 1)/i, and the division is exact.
        coefficient = coefficient.checked_mul(u128::from(n) - i + 1)? / i;
        sum = sum.checked_add(coefficient)?;
    }
    Some(sum as f64 * 0.5f64.powi(exponent))
}

/// The same tail for large `n`, relative to its largest term `P[X = k]` (for `k ≤ n/2`).
fn log_space_binomial_half_cdf(k: u64, n: u64) -> f64 {
    // P[X = i − 1] / P[X = i] = i / (n − i + 1) ≤ 1 below the mode: sum the terms relative to
    // the largest, then scale by it in log space.
    let mut term = 1.0;
    let mut relative_sum = 1.0;
    for i in (1..=k).rev() {
        term *= i as f64 / (n - i + 1) as f64;
        relative_sum += term;
        if term < relative_sum * f64::EPSILON * 1e-2 {
            break;
        }
    }
    let log_largest = ln_binomial(n, k) - n as f64 * std::f64::consts::LN_2;
    (log_largest + relative_sum.ln()).exp()
}

/// Whether a test had enough data to mean anything, with one sentence saying why, for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// The data are too few for the test to detect a difference: report it, don't trust it.
    pub too_few: bool,
    /// Lower-case, no trailing period, e.g. "only 3 discordant paragraphs: the test cannot
    /// detect a difference at the 5% level (its smallest possible p-value is 0.25)"
    pub sentence: String,
}

/// Whether McNemar's test on `b` and `c` discordant paragraphs can reach [`ALPHA`] at all:
/// too few when even the most lopsided split, [`mcnemar_min_p_value`], stays above it (five or
/// fewer discordant paragraphs at 5%).
pub fn mcnemar_verdict(b: u64, c: u64) -> Verdict {
    let discordant = b.saturating_add(c);
    let min_p = mcnemar_min_p_value(discordant);
    let percent = ALPHA * 100.0;
    if discordant == 0 {
        return Verdict {
            too_few: true,
            sentence: "no discordant paragraphs: both classifiers are right and wrong on the \
                       same paragraphs, so the test has nothing to compare"
                .to_owned(),
        };
    }
    let paragraphs = plural(discordant, "discordant paragraph", "discordant paragraphs");
    if min_p > ALPHA {
        Verdict {
            too_few: true,
            sentence: format!(
                "only {paragraphs}: the test cannot detect a difference at the {percent}% level \
                 (its smallest possible p-value is {})",
                format_p(min_p)
            ),
        }
    } else {
        Verdict {
            too_few: false,
            sentence: format!(
                "{paragraphs}: enough for the test to reach the {percent}% level (its smallest \
                 possible p-value is {})",
                format_p(min_p)
            ),
        }
    }
}

/// Whether the corrected resampled t-test over `differences` per-fold differences can mean
/// anything: too few below [`MIN_T_TEST_DIFFERENCES`].
pub fn t_test_verdict(differences: usize) -> Verdict {
    let folds = plural(differences as u64, "fold difference", "fold differences");
    let minimum = MIN_T_TEST_DIFFERENCES;
    if differences < 2 {
        Verdict {
            too_few: true,
            sentence: format!(
                "only {folds}: the corrected resampled t-test needs at least 2 to run and \
                 {minimum} to mean anything"
            ),
        }
    } else if differences < minimum {
        Verdict {
            too_few: true,
            sentence: format!(
                "only {folds}: the corrected resampled t-test needs at least {minimum} (e.g. 2 \
                 repeats of 5-fold cross-validation) for its p-value to mean anything"
            ),
        }
    } else {
        Verdict {
            too_few: false,
            sentence: format!("{folds}: enough for the corrected resampled t-test"),
        }
    }
}

fn plural(count: u64, one: &str, many: &str) -> String {
    if count == 1 {
        format!("1 {one}")
    } else {
        format!("{count} {many}")
    }
}

/// The shortest exact decimal from 0.001 up (the smallest McNemar p-values are powers of two,
/// so "0.0625" rather than a rounded "0.062"), scientific notation below.
fn format_p(p: f64) -> String {
    if p >= 1e-3 {
        format!("{p}")
    } else {
        format!("{p:.1e}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde::Deserialize;

    #[derive(Deserialize)]
    struct TTestCase {
        differences: Vec<f64>,
        n_train: usize,
        n_test: usize,
        mean: f64,
        corrected_variance: f64,
        t: f64,
        df: usize,
        p_value: f64,
    }

    #[derive(Deserialize)]
    struct McNemarCase {
        b: u64,
        c: u64,
        p_value: f64,
    }

    #[derive(Deserialize)]
    struct BinomialTailCase {
        k: u64,
        n: u64,
        cdf: f64,
    }

    #[derive(Deserialize)]
    struct Fixture {
        t_tests: Vec<TTestCase>,
        mcnemar: Vec<McNemarCase>,
        binomial_tails: Vec<BinomialTailCase>,
    }

    fn fixture() -> Fixture {
        let text = include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/stats/paired.json"
        ));
        serde_json::from_str(text).expect("fixture is valid json")
    }

    fn close(got: f64, expected: f64, relative: f64) -> bool {
        got == expected || (got - expected).abs() <= relative * expected.abs().max(got.abs())
    }

    #[test]
    fn t_tests_match_scipy() {
        let cases = fixture().t_tests;
        assert!(cases.len() >= 8);
        for case in cases {
            let got = corrected_resampled_t_test(&case.differences, case.n_train, case.n_test)
                .expect("fixture cases have at least two finite differences");
            let context = format!("{:?}: {got:?}", case.differences);
            assert_eq!(got.df, case.df, "{context}");
            assert!(!got.zero_variance, "{context}");
            assert!(close(got.mean, case.mean, 1e-12), "{context}");
            assert!(
                close(got.corrected_variance, case.corrected_variance, 1e-12),
                "{context}"
            );
            assert!(close(got.t, case.t, 1e-12), "{context}");
            assert!(
                close(got.p_value, case.p_value, 1e-9),
                "{context} vs {}",
                case.p_value
            );
        }
    }

    #[test]
    fn t_test_by_hand_with_two_degrees_of_freedom() {
        // Differences 0.1, 0.2, 0.3: mean 0.2, s² = (0.01 + 0 + 0.01)/2 = 0.01; n_test/n_train
        // = 2/8, so the corrected variance is (1/3 + 1/4)·0.01. With 2 degrees of freedom the
        // t tail has a closed form: two-sided p = 1 − t/√(t² + 2).
        let got = corrected_resampled_t_test(&[0.1, 0.2, 0.3], 8, 2).unwrap();
        let corrected: f64 = (1.0 / 3.0 + 0.25) * 0.01;
        let t = 0.2 / corrected.sqrt();
        assert_eq!(got.df, 2);
        assert!(close(got.corrected_variance, corrected, 1e-12));
        assert!(close(got.t, t, 1e-12));
        assert!(close(got.p_value, 1.0 - t / (t * t + 2.0).sqrt(), 1e-12));
    }

    #[test]
    fn zero_variance_differences_are_flagged() {
        let none = corrected_resampled_t_test(&[0.0; 10], 20, 5).unwrap();
        assert_eq!(
            (none.mean, none.t, none.p_value, none.zero_variance),
            (0.0, 0.0, 1.0, true)
        );
        let constant = corrected_resampled_t_test(&[0.1; 10], 20, 5).unwrap();
        assert_eq!(
            (
                constant.mean,
                constant.t,
                constant.p_value,
                constant.corrected_variance
            ),
            (0.1, f64::INFINITY, 0.0, 0.0)
        );
        assert!(constant.zero_variance);
        let negative = corrected_resampled_t_test(&[-0.25; 4], 20, 5).unwrap();
        assert_eq!((negative.t, negative.p_value), (f64::NEG_INFINITY, 0.0));
    }

    #[test]
    fn t_test_needs_two_finite_differences_and_nonzero_sizes() {
        assert_eq!(corrected_resampled_t_test(&[], 20, 5), None);
        assert_eq!(corrected_resampled_t_test(&[0.1], 20, 5), None);
        assert_eq!(corrected_resampled_t_test(&[0.1, f64::NAN], 20, 5), None);
        assert_eq!(corrected_resampled_t_test(&[0.1, 0.2], 0, 5), None);
        assert_eq!(corrected_resampled_t_test(&[0.1, 0.2], 20, 0), None);
    }

    #[test]
    fn mcnemar_matches_statsmodels() {
        let cases = fixture().mcnemar;
        assert!(cases.len() >= 15);
        for case in cases {
            let got = mcnemar_exact(case.b, case.c);
            assert_eq!((got.b, got.c), (case.b, case.c));
            assert!(
                close(got.p_value, case.p_value, 1e-11)
                    || (got.p_value - case.p_value).abs() < 1e-300,
                "b = {}, c = {}: {} vs {}",
                case.b,
                case.c,
                got.p_value,
                case.p_value
            );
        }
    }

    #[test]
    fn mcnemar_by_hand() {
        // Bin(5, ½): P[X ≤ 0] = 1/32, P[X ≤ 1] = 6/32; Bin(4, ½): P[X ≤ 2] = 11/16.
        assert_eq!(mcnemar_exact(0, 5).p_value, 2.0 / 32.0);
        assert_eq!(mcnemar_exact(4, 1).p_value, 12.0 / 32.0);
        assert_eq!(mcnemar_exact(2, 2).p_value, 1.0);
        assert_eq!(mcnemar_exact(0, 0).p_value, 1.0);
    }

    #[test]
    fn binomial_tails_match_scipy() {
        let cases = fixture().binomial_tails;
        assert!(cases.len() >= 15);
        for case in cases {
            let got = binomial_half_cdf(case.k, case.n);
            assert!(
                close(got, case.cdf, 1e-11) || (got - case.cdf).abs() < 1e-300,
                "P[Bin({}, ½) ≤ {}] = {got} vs {}",
                case.n,
                case.k,
                case.cdf
            );
        }
    }

    #[test]
    fn exact_and_log_space_tails_agree_where_both_apply() {
        for n in 1..=120 {
            for k in 0..=n / 2 {
                let exact = exact_binomial_half_cdf(k, n).expect("fits in u128 up to n = 120");
                let log_space = log_space_binomial_half_cdf(k, n);
                assert!(
                    close(log_space, exact, 1e-12),
                    "P[Bin({n}, ½) ≤ {k}]: {log_space} vs {exact}"
                );
            }
        }
    }

    #[test]
    fn smallest_mcnemar_p_values_by_hand() {
        assert_eq!(mcnemar_min_p_value(0), 1.0);
        assert_eq!(mcnemar_min_p_value(1), 1.0);
        assert_eq!(mcnemar_min_p_value(5), 0.0625);
        assert_eq!(mcnemar_min_p_value(6), 0.03125);
        assert_eq!(mcnemar_min_p_value(5_000), 0.0);
        for n in 1..12 {
            assert_eq!(mcnemar_min_p_value(n), mcnemar_exact(0, n).p_value, "{n}");
        }
    }

    fn check_verdict(verdict: Verdict, too_few: bool, sentence: &str) {
        assert_eq!(
            verdict,
            Verdict {
                too_few,
                sentence: sentence.to_owned()
            }
        );
    }

    #[test]
    fn mcnemar_verdicts() {
        check_verdict(
            mcnemar_verdict(1, 2),
            true,
            "only 3 discordant paragraphs: the test cannot detect a difference at the 5% level \
             (its smallest possible p-value is 0.25)",
        );
        check_verdict(
            mcnemar_verdict(0, 1),
            true,
            "only 1 discordant paragraph: the test cannot detect a difference at the 5% level \
             (its smallest possible p-value is 1)",
        );
        check_verdict(
            mcnemar_verdict(5, 0),
            true,
            "only 5 discordant paragraphs: the test cannot detect a difference at the 5% level \
             (its smallest possible p-value is 0.0625)",
        );
        check_verdict(
            mcnemar_verdict(3, 3),
            false,
            "6 discordant paragraphs: enough for the test to reach the 5% level (its smallest \
             possible p-value is 0.03125)",
        );
        check_verdict(
            mcnemar_verdict(20, 20),
            false,
            "40 discordant paragraphs: enough for the test to reach the 5% level (its smallest \
             possible p-value is 1.8e-12)",
        );
        assert!(mcnemar_verdict(0, 0).too_few);
    }

    #[test]
    fn t_test_verdicts() {
        check_verdict(
            t_test_verdict(1),
            true,
            "only 1 fold difference: the corrected resampled t-test needs at least 2 to run and \
             10 to mean anything",
        );
        check_verdict(
            t_test_verdict(5),
            true,
            "only 5 fold differences: the corrected resampled t-test needs at least 10 (e.g. 2 \
             repeats of 5-fold cross-validation) for its p-value to mean anything",
        );
        check_verdict(
            t_test_verdict(10),
            false,
            "10 fold differences: enough for the corrected resampled t-test",
        );
    }

    proptest! {
        #[test]
        fn mcnemar_is_symmetric_and_a_probability(b in 0..3_000u64, c in 0..3_000u64) {
            let forward = mcnemar_exact(b, c).p_value;
            prop_assert_eq!(forward, mcnemar_exact(c, b).p_value);
            prop_assert!(forward > 0.0 || b.abs_diff(c) > 100);
            prop_assert!(forward <= 1.0);
            prop_assert!(mcnemar_min_p_value(b + c) <= forward);
        }

        #[test]
        fn flipping_the_differences_flips_t_and_keeps_p(
            differences in prop::collection::vec(-1.0..1.0f64, 2..40),
            n_test in 1..50usize,
            extra_train in 0..200usize,
        ) {
            let n_train = n_test + extra_train;
            let forward = corrected_resampled_t_test(&differences, n_train, n_test).unwrap();
            let flipped: Vec<f64> = differences.iter().map(|d| -d).collect();
            let backward = corrected_resampled_t_test(&flipped, n_train, n_test).unwrap();
            prop_assert_eq!(forward.t, -backward.t);
            prop_assert_eq!(forward.p_value, backward.p_value);
            prop_assert!((0.0..=1.0).contains(&forward.p_value));
        }
    }

    #[derive(Deserialize)]
    struct IntervalCase {
        differences: Vec<f64>,
        n_train: usize,
        n_test: usize,
        level: f64,
        low: f64,
        high: f64,
    }

    #[test]
    fn t_test_intervals_match_scipy() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/stats/t_interval.json");
        let cases: Vec<IntervalCase> =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        assert_eq!(cases.len(), 3);
        for case in cases {
            let test =
                corrected_resampled_t_test(&case.differences, case.n_train, case.n_test).unwrap();
            let (low, high) = test.interval(case.level).unwrap();
            assert!((low - case.low).abs() < 1e-10, "{low} != {}", case.low);
            assert!((high - case.high).abs() < 1e-10, "{high} != {}", case.high);
        }
        let flat = corrected_resampled_t_test(&[0.1, 0.1, 0.1], 10, 5).unwrap();
        assert_eq!(flat.interval(0.95), Some((0.1, 0.1)));
        assert_eq!(flat.interval(1.0), None);
    }
}
