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
    /// This row minus the first, per column (`None` for the first row, and for a row of
    /// other classes: its values do not measure the same task).
    pub differences: Vec<Option<f64>>,
    /// Whether its classes are the first experiment's.
    pub same_classes: bool,
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

/// The scalar metrics shown side by side (per-class ones stay in each record), then the
/// metric of the paired tests if it is not among them (an `f1_mean`).
fn columns(classes: &[String], metric: &str) -> Vec<String> {
    let mut columns: Vec<String> = Metric::all(classes.len())
        .into_iter()
        .filter(|metric| metric.class().is_none())
        .map(|metric| metric.key(classes))
        .collect();
    let per_class = Metric::parse(metric, classes).is_some_and(|m| m.class().is_some());
    if !per_class && !columns.iter().any(|c| c == metric) {
        columns.push(metric.to_owned());
    }
    columns
}

/// Adds the metric `key` to a record that does not hold it, computed from the record's
/// predictions: each fold's value, their mean and spread, and the pooled value (mean over
/// repeats), without an interval (the bootstrap is not redone). A record that holds it is
/// left alone. False when `key` is not a metric of the record's classes, or a prediction
/// names a class the record does not have.
pub fn add_metric_from_predictions(record: &mut Record, key: &str) -> bool {
    if record.metrics.contains_key(key) {
        return true;
    }
    let Some(metric) = Metric::parse(key, &record.classes) else {
        return false;
    };
    let classes = &record.classes;
    let class_of = |name: &str| classes.iter().position(|c| c == name);
    let score_of = |predictions: &[&crate::record::Prediction]| -> Option<Option<f64>> {
        let mut labels = Vec::with_capacity(predictions.len());
        let mut rows = ndarray::Array2::zeros((predictions.len(), classes.len()));
        for (row, prediction) in predictions.iter().enumerate() {
            labels.push(class_of(&prediction.label)?);
            for (column, class) in classes.iter().enumerate() {
                rows[[row, column]] = *prediction.probabilities.get(class)?;
            }
        }
        Some(
            crate::metrics::score(&labels, rows.view(), classes.len())
                .ok()
                .and_then(|scores| scores.get(metric)),
        )
    };
    let mut per_fold = Vec::with_capacity(record.folds.len());
    for fold in &record.folds {
        let members: Vec<&crate::record::Prediction> = record
            .predictions
            .iter()
            .filter(|p| (p.repeat, p.fold) == (fold.repeat, fold.fold))
            .collect();
        let Some(value) = score_of(&members) else {
            return false;
        };
        per_fold.push(value);
    }
    let repeats: std::collections::BTreeSet<usize> =
        record.predictions.iter().map(|p| p.repeat).collect();
    let mut pooled = Some(0.0);
    for &repeat in &repeats {
        let members: Vec<&crate::record::Prediction> = record
            .predictions
            .iter()
            .filter(|p| p.repeat == repeat)
            .collect();
        let Some(value) = score_of(&members) else {
            return false;
        };
        pooled = pooled.zip(value).map(|(sum, v)| sum + v);
    }
    let pooled = pooled
        .filter(|_| !repeats.is_empty())
        .map(|sum| sum / repeats.len() as f64);
    for (fold, value) in record.folds.iter_mut().zip(&per_fold) {
        fold.metrics.insert(key.to_owned(), *value);
    }
    let defined: Vec<f64> = per_fold.into_iter().flatten().collect();
    record.metrics.insert(
        key.to_owned(),
        crate::record::MetricSummary {
            mean: crate::stats::summary::mean(&defined),
            std: crate::stats::summary::sample_std(&defined),
            pooled,
            ci_low: None,
            ci_high: None,
        },
    );
    true
}

/// Compare `records` (the first is the reference) on `metric` (a metric key).
pub fn compare_records(records: &[Record], metric: &str) -> Comparison {
    let columns = records
        .first()
        .map(|first| columns(&first.classes, metric))
        .unwrap_or_default();
    let rows = records
        .iter()
        .enumerate()
        .map(|(index, record)| {
            let first = &records[0];
            let value = |r: &Record, key: &str| r.metrics.get(key).and_then(|m| m.pooled);
            let same_classes = record.classes == first.classes;
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
                        if index == 0 || !same_classes {
                            None
                        } else {
                            Some(value(record, key)? - value(first, key)?)
                        }
                    })
                    .collect(),
                same_classes,
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
    if first.classes != other.classes {
        return Err("different classes: not paired".to_owned());
    }
    if first.data_hash != other.data_hash {
        return Err("different labels (data_hash differs): not paired".to_owned());
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

impl Comparison {
    /// The comparison as JSON (`stance compare --format json`): the metric, per experiment
    /// its metrics with intervals and differences and its paired tests, and the config keys
    /// that differ.
    pub fn to_json(&self) -> serde_json::Value {
        let comparison = self;
        let rows: Vec<serde_json::Value> = comparison
            .rows
            .iter()
            .map(|row| {
                let metrics: serde_json::Map<String, serde_json::Value> = comparison
                    .columns
                    .iter()
                    .enumerate()
                    .map(|(c, key)| {
                        let value = serde_json::json!({
                            "value": row.values[c],
                            "ci_low": row.intervals[c].map(|i| i.0),
                            "ci_high": row.intervals[c].map(|i| i.1),
                            "difference": row.differences[c],
                        });
                        (key.clone(), value)
                    })
                    .collect();
                let paired = match &row.paired {
                    None => serde_json::Value::Null,
                    Some(Err(reason)) => serde_json::json!({ "paired": false, "reason": reason }),
                    Some(Ok(paired)) => serde_json::json!({
                        "paired": true,
                        "metric": comparison.metric,
                        "mean_difference": paired.mean_difference,
                        "folds": paired.folds,
                        "corrected_t_test": paired.t_test.as_ref().map(|t| serde_json::json!({
                            "t": finite(t.t), "df": t.df, "p_value": t.p_value, "zero_variance": t.zero_variance,
                        })),
                        "t_test_too_few": paired.t_verdict.too_few,
                        "t_test_note": paired.t_verdict.sentence,
                        "mcnemar": { "b": paired.mcnemar.b, "c": paired.mcnemar.c, "p_value": paired.mcnemar.p_value },
                        "mcnemar_too_few": paired.mcnemar_verdict.too_few,
                        "mcnemar_note": paired.mcnemar_verdict.sentence,
                    }),
                };
                serde_json::json!({ "experiment": row.experiment, "same_classes": row.same_classes, "metrics": metrics, "paired_tests": paired })
            })
            .collect();
        let differing: serde_json::Map<String, serde_json::Value> = comparison
            .differing_keys
            .iter()
            .map(|(key, values)| (key.clone(), serde_json::json!(values)))
            .collect();
        serde_json::json!({ "metric": comparison.metric, "experiments": rows, "differing_config": differing })
    }
}

/// JSON has no infinity: a zero-variance t statistic is written as a string.
fn finite(value: f64) -> serde_json::Value {
    if value.is_finite() {
        serde_json::json!(value)
    } else {
        serde_json::json!(value.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shipped(name: &str) -> Record {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("experiments/results")
            .join(format!("{name}.json"));
        Record::read(&path).unwrap()
    }

    /// A metric the record holds, dropped and computed again from its predictions, comes
    /// back with the same fold values, mean, spread and pooled value.
    fn check_recomputed(name: &str, key: &str) {
        let recorded = shipped(name);
        let mut stripped = recorded.clone();
        stripped.metrics.remove(key);
        for fold in &mut stripped.folds {
            fold.metrics.remove(key);
        }
        assert!(add_metric_from_predictions(&mut stripped, key));
        let (ours, theirs) = (&stripped.metrics[key], &recorded.metrics[key]);
        assert_eq!(
            (ours.mean, ours.std, ours.pooled),
            (theirs.mean, theirs.std, theirs.pooled),
            "{name}: {key}"
        );
        assert_eq!((ours.ci_low, ours.ci_high), (None, None));
        for (a, b) in stripped.folds.iter().zip(&recorded.folds) {
            assert_eq!(a.metrics[key], b.metrics[key], "{name}: {key}");
        }
    }

    #[test]
    fn a_missing_metric_is_computed_from_the_predictions() {
        check_recomputed("three-class", "macro_f1");
        check_recomputed("three-class", "f1:stable");
        check_recomputed("baseline", "balanced_accuracy");
        let mut record = shipped("three-class");
        assert!(add_metric_from_predictions(
            &mut record,
            "f1_mean:fracturing,stable"
        ));
        let mean = |key: &str| record.metrics[key].pooled.unwrap();
        let expected = (mean("f1:fracturing") + mean("f1:stable")) / 2.0;
        assert!((mean("f1_mean:fracturing,stable") - expected).abs() < 1e-15);
        assert!(!add_metric_from_predictions(&mut record, "f1_mean:maybe"));
        assert!(!add_metric_from_predictions(&mut record, "roc_auc"));
    }

    #[test]
    fn experiments_of_other_classes_get_no_difference() {
        let records = [
            shipped("baseline"),
            shipped("three-class"),
            shipped("binary"),
        ];
        let comparison = compare_records(&records, "balanced_accuracy");
        let [_, three, binary] = &comparison.rows[..] else {
            panic!("three rows");
        };
        assert!(!three.same_classes && binary.same_classes);
        assert!(three.values.iter().any(Option::is_some));
        assert!(three.differences.iter().all(Option::is_none));
        assert!(binary.differences.iter().any(Option::is_some));
        assert_eq!(
            three.paired.as_ref().unwrap().as_ref().unwrap_err(),
            "different classes: not paired"
        );
        assert_eq!(
            comparison.to_json()["experiments"][1]["same_classes"],
            false
        );
    }

    #[test]
    fn an_f1_mean_of_the_tests_is_a_column() {
        let classes = ["a".to_owned(), "b".to_owned(), "c".to_owned()];
        let check = |metric: &str, last: &str| {
            assert_eq!(columns(&classes, metric).last().unwrap(), last, "{metric}");
        };
        check("f1_mean:a,c", "f1_mean:a,c");
        check("f1:b", "log_loss");
        check("accuracy", "log_loss");
    }
}
