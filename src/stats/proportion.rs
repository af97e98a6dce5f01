//! How sure is a proportion? The Wilson score interval for `k` successes in `n` trials: a
//! count and a level in, an interval out. It stays inside `[0, 1]` and keeps its coverage
//! near the nominal level for the handful of items a bin or an article holds, where the
//! normal approximation does not. Pure; no I/O.

use statrs::distribution::{ContinuousCDF as _, Normal};

/// The Wilson score interval (Wilson 1927) at `level` (e.g. 0.95) for `successes` of
/// `trials`; statsmodels' `proportion_confint(method="wilson")`. `None` with no trials, more
/// successes than trials, or a level outside `(0, 1)`.
pub fn wilson_interval(successes: u64, trials: u64, level: f64) -> Option<(f64, f64)> {
    if trials == 0 || successes > trials || !(level > 0.0 && level < 1.0) {
        return None;
    }
    let z = Normal::standard().inverse_cdf(1.0 - (1.0 - level) / 2.0);
    let n = trials as f64;
    let p = successes as f64 / n;
    let z2 = z * z;
    let denominator = 1.0 + z2 / n;
    let centre = (p + z2 / (2.0 * n)) / denominator;
    let half = z / denominator * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    Some(((centre - half).max(0.0), (centre + half).min(1.0)))
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Deserialize)]
    struct Case {
        successes: u64,
        trials: u64,
        level: f64,
        low: f64,
        high: f64,
    }

    #[test]
    fn wilson_intervals_match_statsmodels() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/stats/proportion.json");
        let text = std::fs::read_to_string(&path).unwrap();
        let cases: Vec<Case> = serde_json::from_str(&text).unwrap();
        assert!(cases.len() >= 8);
        for case in cases {
            let (low, high) = wilson_interval(case.successes, case.trials, case.level).unwrap();
            let label = format!("{} of {} at {}", case.successes, case.trials, case.level);
            assert!(
                (low - case.low).abs() < 1e-12,
                "{label}: {low} != {}",
                case.low
            );
            assert!(
                (high - case.high).abs() < 1e-12,
                "{label}: {high} != {}",
                case.high
            );
        }
    }

    #[test]
    fn impossible_counts_have_no_interval() {
        assert_eq!(wilson_interval(0, 0, 0.95), None);
        assert_eq!(wilson_interval(3, 2, 0.95), None);
        assert_eq!(wilson_interval(1, 2, 1.0), None);
        assert_eq!(wilson_interval(1, 2, f64::NAN), None);
    }
}
