//! Descriptive summaries of a slice of numbers: mean, sample variance and standard deviation,
//! and quantiles interpolated the way numpy does by default.
//!
//! Takes plain `&[f64]`; hands back `Option<f64>`, `None` where the summary is undefined (an
//! empty slice, one value for a sample variance). Never allocates except where a caller asks
//! for sorting, never reads files, never draws random numbers.

/// The arithmetic mean, or `None` for an empty slice.
pub fn mean(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    Some(values.iter().sum::<f64>() / values.len() as f64)
}

/// The sample variance with `ddof = 1` (divides by `n - 1`, like `numpy.var(x, ddof=1)` and
/// pandas' default), or `None` for fewer than two values.
///
/// Two passes (mean first, then squared deviations) so that large, close values do not
/// cancel catastrophically.
pub fn sample_variance(values: &[f64]) -> Option<f64> {
    if values.len() < 2 {
        return None;
    }
    let centre = mean(values)?;
    let squares: f64 = values.iter().map(|v| (v - centre) * (v - centre)).sum();
    Some(squares / (values.len() - 1) as f64)
}

/// The sample standard deviation with `ddof = 1`: the square root of [`sample_variance`].
pub fn sample_std(values: &[f64]) -> Option<f64> {
    sample_variance(values).map(f64::sqrt)
}

/// The `q`-quantile (`0 ≤ q ≤ 1`) of values **already sorted ascending**, interpolated like
/// numpy's default `method="linear"` (Hyndman & Fan's type 7): position `(n - 1)·q`, linear
/// interpolation between its neighbours, with numpy's own interpolation formula so results
/// agree to the last bit. `numpy.percentile(x, p)` is this with `q = p / 100`.
///
/// `None` when `sorted` is empty or `q` is outside `[0, 1]` (or NaN).
pub fn quantile_of_sorted(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() || !(0.0..=1.0).contains(&q) {
        return None;
    }
    debug_assert!(
        sorted.is_sorted_by(|a, b| a.total_cmp(b).is_le()),
        "quantile_of_sorted needs sorted input"
    );
    let last = sorted.len() - 1;
    let position = last as f64 * q;
    if position >= last as f64 {
        return Some(sorted[last]);
    }
    // `position` is in [0, last), so the floor is a valid index and `below + 1 <= last`.
    let below = position.floor() as usize;
    let weight = position - below as f64;
    Some(numpy_lerp(sorted[below], sorted[below + 1], weight))
}

/// numpy's `_lerp`: interpolates from whichever end is nearer, which is what makes
/// `quantile_of_sorted` agree with numpy bit for bit rather than to within rounding.
fn numpy_lerp(a: f64, b: f64, t: f64) -> f64 {
    let diff = b - a;
    if t >= 0.5 {
        b - diff * (1.0 - t)
    } else {
        a + diff * t
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde::Deserialize;

    /// Numbers as numpy's repr strings: Rust's parser rounds them correctly, so both sides
    /// start from the same bits.
    #[derive(Deserialize)]
    struct QuantileCase {
        values: Vec<String>,
        /// `[q, numpy.quantile(values, q)]` pairs.
        quantiles: Vec<[String; 2]>,
    }

    #[derive(Deserialize)]
    struct MomentCase {
        values: Vec<String>,
        mean: String,
        std: Option<String>,
    }

    #[derive(Deserialize)]
    struct Fixture {
        quantiles: Vec<QuantileCase>,
        moments: Vec<MomentCase>,
    }

    fn fixture() -> Fixture {
        let text = include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/stats/summary.json"
        ));
        serde_json::from_str(text).expect("fixture is valid json")
    }

    fn sorted(values: &[f64]) -> Vec<f64> {
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        sorted
    }

    fn check_quantile(values: &[f64], q: f64, expected: f64) {
        let got = quantile_of_sorted(&sorted(values), q);
        assert_eq!(got, Some(expected), "quantile {q} of {values:?}");
    }

    fn parse(text: &str) -> f64 {
        text.parse().expect("fixture numbers parse")
    }

    #[test]
    fn quantiles_match_numpy_bit_for_bit() {
        let cases = fixture().quantiles;
        assert!(cases.len() >= 8);
        for case in cases {
            let values: Vec<f64> = case.values.iter().map(|v| parse(v)).collect();
            assert!(case.quantiles.len() >= 8);
            for [q, expected] in &case.quantiles {
                check_quantile(&values, parse(q), parse(expected));
            }
        }
    }

    #[test]
    fn quantiles_by_hand() {
        // (n - 1)·q = 1.5 between 20 and 30.
        check_quantile(&[40.0, 10.0, 30.0, 20.0], 0.5, 25.0);
        check_quantile(&[40.0, 10.0, 30.0, 20.0], 0.0, 10.0);
        check_quantile(&[40.0, 10.0, 30.0, 20.0], 1.0, 40.0);
        check_quantile(&[7.0], 0.3, 7.0);
    }

    #[test]
    fn quantile_is_undefined_without_values_or_outside_unit_interval() {
        assert_eq!(quantile_of_sorted(&[], 0.5), None);
        assert_eq!(quantile_of_sorted(&[1.0], -0.1), None);
        assert_eq!(quantile_of_sorted(&[1.0], 1.1), None);
        assert_eq!(quantile_of_sorted(&[1.0], f64::NAN), None);
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-12 * a.abs().max(b.abs()).max(1.0)
    }

    #[test]
    fn mean_and_std_match_numpy() {
        let cases = fixture().moments;
        assert!(cases.len() >= 5);
        for case in cases {
            let values: Vec<f64> = case.values.iter().map(|v| parse(v)).collect();
            let mean = mean(&values).expect("fixture values are not empty");
            assert!(close(mean, parse(&case.mean)), "mean of {values:?}: {mean}");
            match (sample_std(&values), case.std.as_deref().map(parse)) {
                (Some(got), Some(expected)) => {
                    assert!(close(got, expected), "std of {values:?}: {got}")
                }
                (got, expected) => assert_eq!(got, expected, "std of {values:?}"),
            }
        }
    }

    #[test]
    fn moments_by_hand() {
        // Deviations from 5 are -3, -1, 1, 3: squares sum to 20, over n - 1 = 3.
        assert_eq!(mean(&[2.0, 4.0, 6.0, 8.0]), Some(5.0));
        assert_eq!(sample_variance(&[2.0, 4.0, 6.0, 8.0]), Some(20.0 / 3.0));
        assert_eq!(mean(&[]), None);
        assert_eq!(sample_std(&[3.0]), None);
        assert_eq!(sample_std(&[3.0, 3.0, 3.0]), Some(0.0));
    }

    proptest! {
        #[test]
        fn quantiles_stay_within_range_and_grow_with_q(
            values in prop::collection::vec(-1e6..1e6f64, 1..50),
            q1 in 0.0..=1.0f64,
            q2 in 0.0..=1.0f64,
        ) {
            let sorted = sorted(&values);
            let (lo, hi) = (q1.min(q2), q1.max(q2));
            let at_lo = quantile_of_sorted(&sorted, lo).unwrap();
            let at_hi = quantile_of_sorted(&sorted, hi).unwrap();
            prop_assert!(sorted[0] <= at_lo && at_hi <= sorted[sorted.len() - 1]);
            prop_assert!(at_lo <= at_hi);
        }
    }
}
