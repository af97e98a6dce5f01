//! Experiments side by side: records in, a [`Comparison`] out: each metric per experiment,
//! its difference from the first, paired tests against the first, and the config keys that
//! differ between them.
//!
//! Paired tests need identical folds: same labels (`data_hash`), same classes, same
//! cross-validation, and the same paragraph-to-fold assignment, which is checked rather than
//! assumed. When they do not hold, the row says why instead of testing.

use std::collections::BTreeMap;

use crate::metrics::Metric;
use crate::record::Record;
use crate::stats::paired::{
    McNemar, TTest, Verdict, corrected_resampled_t_test, mcnemar_exact, mcnemar_verdict,
    t_test_verdict,
};

#[derive(Debug, Clone)]
pub struct Comparison {
    /// The metric of the paired tests (`[stats] metric` of the first experiment).
    pub metric: String,
    /// Metric keys shown, in display order.
    pub columns: Vec<String>,
    pub rows: Vec<ComparisonRow>,
    /// Config keys whose values differ between the experiments, with each one's value.
    pub differing_keys: Vec<(String, Vec<String>)>,
}

#[derive(Debug, Clone)]
pub struct ComparisonRow {
    pub experiment: String,
    /// Pooled value of each column, with its interval.
    pub values: Vec<Option<f64>>,
    pub intervals: Vec<Option<(f64, f64)>>,
    /// This row minus the first, per column (`None` for the first row).
    pub differences: Vec<Option<f64>>,
    /// Against the first experiment; `Err` says why the folds are not paired.
    pub paired: Option<Result<PairedTests, String>>,
}

/// Paired tests of one experiment against the first, on identical folds.
#[derive(Debug, Clone)]
pub struct PairedTests {
    /// Mean of the per-fold differences (this − first).
    pub mean_difference: f64,
    pub folds: usize,
    /// Corrected resampled t-test (Nadeau & Bengio 2003); `None` when it cannot be computed.
    pub t_test: Option<TTest>,
    pub t_verdict: Verdict,
    /// McNemar's exact test on the first repeat's out-of-fold predictions: `b` paragraphs
    /// only the first experiment got right, `c` only this one.
    pub mcnemar: McNemar,
    pub mcnemar_verdict: Verdict,
}

/// The scalar metrics shown side by side (per-class ones stay in each record).
fn columns(classes: &[String]) -> Vec<String> {
    Metric::all(classes.len())
        .into_iter()
        .filter(|metric| metric.class().is_none())
        .map(|metric| metric.key(classes))
        .collect()
}

/// Compare `records` (the first is the reference) on `metric` (a metric key).
pub fn compare_records(records: &[Record], metric: &str) -> Comparison {
    let columns = records
        .first()
        .map(|first| columns(&first.classes))
        .unwrap_or_default();
    let rows = records
        .iter()
        .enumerate()
        .map(|(index, record)| {
            let first = &records[0];
            let value = |r: &Record, key: &str| r.metrics.get(key).and_then(|m| m.pooled);
            ComparisonRow {
                experiment: record.experiment.clone(),
                values: columns.iter().map(|key| value(record, key)).collect(),
                intervals: columns
                    .iter()
                    .map(|key| {
                        let summary = record.metrics.get(key)?;
                        Some((summary.ci_low?, summary.ci_high?))
                    })
                    .collect(),
                differences: columns
                    .iter()
                    .map(|key| {
                        if index == 0 {
                            None
                        } else {
                            Some(value(record, key)? - value(first, key)?)
                        }
                    })
                    .collect(),
                paired: (index > 0).then(|| paired_tests(first, record, metric)),
            }
        })
        .collect();
    Comparison {
        metric: metric.to_owned(),
        columns,
        rows,
        differing_keys: differing_keys(records),
    }
}

fn paired_tests(first: &Record, other: &Record, metric: &str) -> Result<PairedTests, String> {
    if first.data_hash != other.data_hash {
        return Err("different labels (data_hash differs): not paired".to_owned());
    }
    if first.classes != other.classes {
        return Err("different classes: not paired".to_owned());
    }
    if first.config.get("cv") != other.config.get("cv") {
        return Err("different [cv] settings: folds are not identical, not paired".to_owned());
    }
    let assignment = |r: &Record| -> BTreeMap<(String, usize), usize> {
        r.predictions
            .iter()
            .map(|p| ((p.id.clone(), p.repeat), p.fold))
            .collect()
    };
    if assignment(first) != assignment(other) {
        return Err("paragraphs fall in different folds: not paired".to_owned());
    }

    let per_fold = |r: &Record| -> BTreeMap<(usize, usize), Option<f64>> {
        r.folds
            .iter()
            .map(|f| ((f.repeat, f.fold), f.metrics.get(metric).copied().flatten()))
            .collect()
    };
    let (a, b) = (per_fold(first), per_fold(other));
    let differences: Vec<f64> = a
        .iter()
        .filter_map(|(key, &value_a)| Some(b.get(key).copied().flatten()? - value_a?))
        .collect();
    let n_train = first.folds.iter().map(|f| f.train).sum::<usize>() / first.folds.len().max(1);
    let n_test = first.folds.iter().map(|f| f.test).sum::<usize>() / first.folds.len().max(1);
    let mean_difference = crate::stats::summary::mean(&differences).unwrap_or(f64::NAN);

    let correct = |r: &Record| -> BTreeMap<String, bool> {
        r.predictions
            .iter()
            .filter(|p| p.repeat == 0)
            .map(|p| (p.id.clone(), p.predicted == p.label))
            .collect()
    };
    let (right_a, right_b) = (correct(first), correct(other));
    let (mut only_first, mut only_other) = (0, 0);
    for (id, &a_right) in &right_a {
        match (a_right, right_b.get(id).copied().unwrap_or(false)) {
            (true, false) => only_first += 1,
            (false, true) => only_other += 1,
            _ => {}
        }
    }
    Ok(PairedTests {
        mean_difference,
        folds: differences.len(),
        t_test: corrected_resampled_t_test(&differences, n_train, n_test),
        t_verdict: t_test_verdict(differences.len()),
        mcnemar: mcnemar_exact(only_first, only_other),
        mcnemar_verdict: mcnemar_verdict(only_first, only_other),
    })
}

/// Config keys (dotted) whose values are not all equal, sorted by key.
fn differing_keys(records: &[Record]) -> Vec<(String, Vec<String>)> {
    let flat: Vec<BTreeMap<String, String>> = records
        .iter()
        .map(|record| {
            let mut out = BTreeMap::new();
            flatten("", &record.config, &mut out);
            // Prose, not a setting.
            out.remove("description");
            out
        })
        .collect();
    let mut keys: Vec<&String> = flat.iter().flat_map(|f| f.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter_map(|key| {
            let values: Vec<String> = flat
                .iter()
                .map(|f| f.get(key).cloned().unwrap_or_else(|| "(unset)".to_owned()))
                .collect();
            values
                .iter()
                .any(|v| v != &values[0])
                .then(|| (key.clone(), values))
        })
        .collect()
}

/// `{"a": {"b": 1}}` → `a.b = 1`; arrays and scalars are leaves, written as JSON.
pub(crate) fn flatten(prefix: &str, value: &serde_json::Value, out: &mut BTreeMap<String, String>) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, inner) in map {
                let path = if prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{prefix}.{key}")
                };
                flatten(&path, inner, out);
            }
        }
        leaf => {
            out.insert(prefix.to_owned(), leaf.to_string());
        }
    }
}
