//! Does a record still reproduce? A recorded and a fresh record in; every difference out,
//! or none. Timings and the build that ran are not compared; everything else must be equal
//! to the bit.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::record::Record;

use super::compare::flatten;

/// One way a fresh run differs from its record.
#[derive(Debug, Clone, PartialEq)]
pub enum Difference {
    /// The experiment file changed since the record was written.
    Config { keys: Vec<(String, String, String)> },
    /// The labels used changed since the record was written.
    Labels {
        added: Vec<String>,
        removed: Vec<String>,
        relabelled: Vec<(String, String, String)>,
    },
    /// A recorded value that the fresh run does not reproduce.
    Value {
        path: String,
        recorded: String,
        now: String,
    },
}

#[derive(Debug, Clone)]
pub struct Verification {
    pub differences: Vec<Difference>,
    /// How many recorded values were compared.
    pub compared: usize,
}

impl Verification {
    pub fn reproduced(&self) -> bool {
        self.differences.is_empty()
    }
}

/// Compare a fresh record with the recorded one.
pub fn verify_record(recorded: &Record, fresh: &Record) -> Verification {
    let mut differences = Vec::new();
    if recorded.config_hash != fresh.config_hash {
        let (old, new) = (flat(&recorded.config), flat(&fresh.config));
        let mut keys: Vec<&String> = old.keys().chain(new.keys()).collect();
        keys.sort();
        keys.dedup();
        let changed = keys
            .into_iter()
            .filter_map(|key| {
                let (a, b) = (old.get(key), new.get(key));
                (a != b).then(|| (key.clone(), show(a), show(b)))
            })
            .collect();
        differences.push(Difference::Config { keys: changed });
    }
    if recorded.data_hash != fresh.data_hash {
        differences.push(label_changes(recorded, fresh));
    }

    // Everything but timings and version, leaf by leaf.
    let (old, new) = (comparable(recorded), comparable(fresh));
    let mut keys: Vec<&String> = old.keys().chain(new.keys()).collect();
    keys.sort();
    keys.dedup();
    let compared = old.len();
    for key in keys {
        let (a, b) = (old.get(key), new.get(key));
        if a != b && !key.starts_with("config.") && key != "config_hash" && key != "data_hash" {
            differences.push(Difference::Value {
                path: key.clone(),
                recorded: show(a),
                now: show(b),
            });
        }
    }
    Verification {
        differences,
        compared,
    }
}

fn show(value: Option<&String>) -> String {
    value.cloned().unwrap_or_else(|| "(absent)".to_owned())
}

fn flat(value: &serde_json::Value) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    flatten("", value, &mut out);
    out
}

/// The record as dotted leaves, arrays indexed (`predictions.3.probabilities.stable`).
fn comparable(record: &Record) -> BTreeMap<String, String> {
    let mut value = serde_json::to_value(Comparable::from(record)).expect("a record serialises");
    index_arrays(&mut value);
    flat(&value)
}

/// Arrays become objects keyed by position (zero-padded so keys sort in order).
fn index_arrays(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Array(items) => {
            let map = items
                .drain(..)
                .enumerate()
                .map(|(i, mut item)| {
                    index_arrays(&mut item);
                    (format!("{i:05}"), item)
                })
                .collect();
            *value = serde_json::Value::Object(map);
        }
        serde_json::Value::Object(map) => map.values_mut().for_each(index_arrays),
        _ => {}
    }
}

/// The parts of a record that a re-run must reproduce.
#[derive(Serialize)]
struct Comparable<'a> {
    config: &'a serde_json::Value,
    seed: u64,
    classes: &'a [String],
    data: &'a crate::record::DataSummary,
    metrics: &'a BTreeMap<String, crate::record::MetricSummary>,
    baseline: &'a BTreeMap<String, crate::record::MetricSummary>,
    confusion: &'a [Vec<u64>],
    permutation: &'a Option<crate::record::Permutation>,
    by_article: &'a [crate::record::ArticleScore],
    learning_curve: &'a Option<Vec<crate::record::CurvePoint>>,
    folds: &'a [crate::record::FoldRecord],
    predictions: &'a [crate::record::Prediction],
}

impl<'a> From<&'a Record> for Comparable<'a> {
    fn from(record: &'a Record) -> Self {
        Comparable {
            config: &record.config,
            seed: record.seed,
            classes: &record.classes,
            data: &record.data,
            metrics: &record.metrics,
            baseline: &record.baseline,
            confusion: &record.confusion,
            permutation: &record.permutation,
            by_article: &record.by_article,
            learning_curve: &record.learning_curve,
            folds: &record.folds,
            predictions: &record.predictions,
        }
    }
}

/// Which paragraphs' labels differ between the records (first repeat's predictions).
fn label_changes(recorded: &Record, fresh: &Record) -> Difference {
    let labels = |r: &Record| -> BTreeMap<String, String> {
        r.predictions
            .iter()
            .filter(|p| p.repeat == 0)
            .map(|p| (p.id.clone(), p.label.clone()))
            .collect()
    };
    let (old, new) = (labels(recorded), labels(fresh));
    Difference::Labels {
        added: new
            .keys()
            .filter(|id| !old.contains_key(*id))
            .cloned()
            .collect(),
        removed: old
            .keys()
            .filter(|id| !new.contains_key(*id))
            .cloned()
            .collect(),
        relabelled: old
            .iter()
            .filter_map(|(id, label)| {
                let now = new.get(id)?;
                (now != label).then(|| (id.clone(), label.clone(), now.clone()))
            })
            .collect(),
    }
}
