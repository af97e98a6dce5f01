//! What a figure needs beyond the record: a record in, plain numbers out (histogram bins,
//! the predictions one repeat made, the mistakes made with the most confidence). Pure.

use crate::record::{NullCount, Prediction, Record};

/// How many repeats of cross-validation the record's predictions come from.
pub fn repeats(record: &Record) -> usize {
    record
        .predictions
        .iter()
        .map(|p| p.repeat + 1)
        .max()
        .unwrap_or(0)
}

/// The first repeat's out-of-fold predictions: one per paragraph.
pub fn first_repeat(record: &Record) -> Vec<&Prediction> {
    record
        .predictions
        .iter()
        .filter(|p| p.repeat == 0)
        .collect()
}

/// The probability a prediction gives `class` (0 when it names no such class).
pub fn probability(prediction: &Prediction, class: &str) -> f64 {
    prediction.probabilities.get(class).copied().unwrap_or(0.0)
}

/// The probability of the class a prediction chose.
pub fn confidence(prediction: &Prediction) -> f64 {
    probability(prediction, &prediction.predicted)
}

/// The first repeat's wrong predictions, the most confident first (ties by paragraph id),
/// at most `k`.
pub fn confident_mistakes(record: &Record, k: usize) -> Vec<&Prediction> {
    let mut wrong: Vec<&Prediction> = first_repeat(record)
        .into_iter()
        .filter(|p| p.predicted != p.label)
        .collect();
    wrong.sort_by(|a, b| {
        confidence(b)
            .total_cmp(&confidence(a))
            .then_with(|| a.id.cmp(&b.id))
    });
    wrong.truncate(k);
    wrong
}

/// The smallest of 1, 2, 2.5 and 5 times a power of ten that is at least `raw`.
pub fn nice_step(raw: f64) -> f64 {
    if !(raw > 0.0 && raw.is_finite()) {
        return 1.0;
    }
    let power = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 2.5, 5.0, 10.0]
        .into_iter()
        .map(|m| m * power)
        .find(|&step| step >= raw * (1.0 - 1e-9))
        .unwrap_or(10.0 * power)
}

/// Bins of a null distribution: about `target` bins of a round width over its range, each
/// `[start, start + width)`; only the non-empty ones, in order, with their counts.
pub fn histogram(distribution: &[NullCount], target: usize) -> (f64, Vec<(f64, usize)>) {
    let (Some(first), Some(last)) = (distribution.first(), distribution.last()) else {
        return (1.0, Vec::new());
    };
    let span = last.value - first.value;
    // A single value still gets a bar of a readable width.
    let width = if span > 0.0 {
        nice_step(span / target.max(1) as f64).max(1e-6)
    } else {
        0.01
    };
    let mut bins: Vec<(i64, usize)> = Vec::new();
    for entry in distribution {
        // Values on a bin edge (common: metrics of few items are ratios of small counts)
        // belong to the bin they start, whatever the last bit of the division says.
        let index = (entry.value / width + 1e-9).floor() as i64;
        match bins.last_mut() {
            Some((last, count)) if *last == index => *count += entry.count,
            _ => bins.push((index, entry.count)),
        }
    }
    let bins = bins
        .into_iter()
        .map(|(index, count)| (index as f64 * width, count))
        .collect();
    (width, bins)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn null(values: &[(f64, usize)]) -> Vec<NullCount> {
        values
            .iter()
            .map(|&(value, count)| NullCount { value, count })
            .collect()
    }

    #[test]
    fn round_steps() {
        for (raw, step) in [
            (0.013, 0.02),
            (0.02, 0.02),
            (0.021, 0.025),
            (0.3, 0.5),
            (7.0, 10.0),
            (0.0, 1.0),
        ] {
            assert_eq!(nice_step(raw), step, "{raw}");
        }
    }

    #[test]
    fn histogram_bins_count_every_permutation_once() {
        // Width (0.75 − 0.25)/10 = 0.05: 0.25 and 0.3 fall in different bins, 0.3 and 0.32
        // in the same one; 0.75 starts its own bin.
        let (width, bins) = histogram(
            &null(&[(0.25, 2), (0.3, 3), (0.32, 1), (0.6, 4), (0.75, 1)]),
            10,
        );
        assert_eq!(width, 0.05);
        let starts: Vec<String> = bins.iter().map(|b| format!("{:.2}", b.0)).collect();
        let counts: Vec<usize> = bins.iter().map(|b| b.1).collect();
        assert_eq!(starts, ["0.25", "0.30", "0.60", "0.75"]);
        assert_eq!(counts, [2, 4, 4, 1]);
        assert_eq!(histogram(&[], 10).1, []);
        // One value only: a single bin, of a readable width.
        assert_eq!(histogram(&null(&[(0.5, 9)]), 10), (0.01, vec![(0.5, 9)]));
    }
}
