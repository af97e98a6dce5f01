//! Curves of scored predictions, as scikit-learn draws them: the ROC curve
//! (`roc_curve(drop_intermediate=False)`) and the reliability bins of
//! `calibration_curve(strategy="uniform")`, each bin with its count.
//!
//! Takes per-item "is positive" flags and scores; hands back points and bins. Checked against
//! scikit-learn (`scripts/gen-report-fixtures.py`). No I/O; bad input is `None`, never a panic.

/// One point of a ROC curve: the rates when items scoring at least `threshold` are called
/// positive.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RocPoint {
    /// `+∞` for the first point (nothing called positive).
    pub threshold: f64,
    pub false_positive_rate: f64,
    pub true_positive_rate: f64,
}

/// The ROC curve of `scores` for items whose class is positive where `positive` is true:
/// `(0, 0)` at threshold `+∞`, then one point per distinct score, highest first.
///
/// `None` when the lengths differ, a score is NaN, or either class is absent (a rate would
/// be 0/0).
pub fn roc_curve(positive: &[bool], scores: &[f64]) -> Option<Vec<RocPoint>> {
    if positive.len() != scores.len() || scores.iter().any(|s| s.is_nan()) {
        return None;
    }
    let n_positive = positive.iter().filter(|&&p| p).count();
    let n_negative = positive.len() - n_positive;
    if n_positive == 0 || n_negative == 0 {
        return None;
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let mut points = vec![RocPoint {
        threshold: f64::INFINITY,
        false_positive_rate: 0.0,
        true_positive_rate: 0.0,
    }];
    let (mut true_positives, mut false_positives) = (0usize, 0usize);
    for (rank, &item) in order.iter().enumerate() {
        if positive[item] {
            true_positives += 1;
        } else {
            false_positives += 1;
        }
        let last_of_its_score = order
            .get(rank + 1)
            .is_none_or(|&next| scores[next] != scores[item]);
        if last_of_its_score {
            points.push(RocPoint {
                threshold: scores[item],
                false_positive_rate: false_positives as f64 / n_negative as f64,
                true_positive_rate: true_positives as f64 / n_positive as f64,
            });
        }
    }
    Some(points)
}

/// One bin of a reliability diagram: the items whose predicted probability falls in
/// `(low, high]` (the first bin also holds 0).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CalibrationBin {
    pub low: f64,
    pub high: f64,
    /// Items in the bin.
    pub count: usize,
    /// Of them, how many are positive.
    pub positives: usize,
    /// Their mean predicted probability.
    pub mean_predicted: f64,
}

impl CalibrationBin {
    /// The observed frequency of positives in the bin.
    pub fn fraction_positive(&self) -> f64 {
        self.positives as f64 / self.count as f64
    }
}

/// The non-empty bins of `n_bins` equal-width bins over `[0, 1]`, in order, as
/// scikit-learn's `calibration_curve(strategy="uniform")` forms them (bin edges from
/// `numpy.linspace`, a probability on an edge going to the lower bin).
///
/// `None` when the lengths differ, there are no items or bins, or a probability is outside
/// `[0, 1]` (or NaN).
pub fn calibration_bins(
    positive: &[bool],
    probabilities: &[f64],
    n_bins: usize,
) -> Option<Vec<CalibrationBin>> {
    if positive.len() != probabilities.len() || probabilities.is_empty() || n_bins == 0 {
        return None;
    }
    if probabilities.iter().any(|p| !(0.0..=1.0).contains(p)) {
        return None;
    }
    // numpy.linspace(0, 1, n_bins + 1): i · step, the last edge exactly 1.
    let step = 1.0 / n_bins as f64;
    let edges: Vec<f64> = (0..=n_bins)
        .map(|i| if i == n_bins { 1.0 } else { i as f64 * step })
        .collect();
    let mut sums = vec![0.0; n_bins];
    let mut counts = vec![0usize; n_bins];
    let mut positives = vec![0usize; n_bins];
    for (&p, &is_positive) in probabilities.iter().zip(positive) {
        // numpy.searchsorted(inner edges, p, side="left"): inner edges below p.
        let bin = edges[1..n_bins].partition_point(|&edge| edge < p);
        sums[bin] += p;
        counts[bin] += 1;
        positives[bin] += usize::from(is_positive);
    }
    Some(
        (0..n_bins)
            .filter(|&bin| counts[bin] > 0)
            .map(|bin| CalibrationBin {
                low: edges[bin],
                high: edges[bin + 1],
                count: counts[bin],
                positives: positives[bin],
                mean_predicted: sums[bin] / counts[bin] as f64,
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Deserialize)]
    struct Fixture {
        roc: Vec<RocCase>,
        calibration: Vec<CalibrationCase>,
    }

    #[derive(Deserialize)]
    struct RocCase {
        name: String,
        positive: Vec<bool>,
        scores: Vec<f64>,
        /// `None` for scikit-learn's `inf`.
        thresholds: Vec<Option<f64>>,
        fpr: Vec<f64>,
        tpr: Vec<f64>,
    }

    #[derive(Deserialize)]
    struct CalibrationCase {
        name: String,
        positive: Vec<bool>,
        probabilities: Vec<f64>,
        n_bins: usize,
        prob_true: Vec<f64>,
        prob_pred: Vec<f64>,
        counts: Vec<usize>,
    }

    fn fixture() -> Fixture {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/metrics/curves.json");
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        serde_json::from_str(&text).unwrap()
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-12 * b.abs().max(1.0)
    }

    #[test]
    fn roc_curves_match_scikit_learn() {
        let cases = fixture().roc;
        assert!(cases.len() >= 4);
        for case in &cases {
            let points = roc_curve(&case.positive, &case.scores).unwrap();
            assert_eq!(points.len(), case.fpr.len(), "{}", case.name);
            for (i, point) in points.iter().enumerate() {
                let threshold = case.thresholds[i].unwrap_or(f64::INFINITY);
                assert_eq!(point.threshold, threshold, "{} point {i}", case.name);
                assert!(
                    close(point.false_positive_rate, case.fpr[i]),
                    "{}",
                    case.name
                );
                assert!(
                    close(point.true_positive_rate, case.tpr[i]),
                    "{}",
                    case.name
                );
            }
        }
    }

    #[test]
    fn calibration_bins_match_scikit_learn() {
        let cases = fixture().calibration;
        assert!(cases.len() >= 4);
        for case in &cases {
            let bins = calibration_bins(&case.positive, &case.probabilities, case.n_bins).unwrap();
            let counts: Vec<usize> = bins.iter().map(|b| b.count).collect();
            assert_eq!(counts, case.counts, "{}", case.name);
            for (i, bin) in bins.iter().enumerate() {
                assert!(
                    close(bin.fraction_positive(), case.prob_true[i]),
                    "{}",
                    case.name
                );
                assert!(
                    close(bin.mean_predicted, case.prob_pred[i]),
                    "{}",
                    case.name
                );
            }
        }
    }

    #[test]
    fn curves_refuse_what_they_cannot_draw() {
        assert_eq!(roc_curve(&[true, true], &[0.2, 0.4]), None);
        assert_eq!(roc_curve(&[true, false], &[0.2]), None);
        assert_eq!(roc_curve(&[true, false], &[0.2, f64::NAN]), None);
        assert_eq!(calibration_bins(&[true], &[1.5], 5), None);
        assert_eq!(calibration_bins(&[true], &[0.5], 0), None);
        assert_eq!(calibration_bins(&[], &[], 5), None);
    }
}
