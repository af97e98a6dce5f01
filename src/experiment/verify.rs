//! Does a record still reproduce? A recorded and a fresh record in; every difference out,
//! or none. Timings and the build that ran are not compared; everything else must be equal
//! to the bit.

use std::collections::BTreeMap;

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
        let keys = changed_leaves(&flat(&recorded.config), &flat(&fresh.config));
        differences.push(Difference::Config { keys });
    }
    if recorded.data_hash != fresh.data_hash {
        differences.push(label_changes(recorded, fresh));
    }

    // Everything else, leaf by leaf; config changes are reported above.
    let old = comparable(recorded);
    let compared = old.len();
    for (path, recorded, now) in changed_leaves(&old, &comparable(fresh)) {
        if !path.starts_with("config.") {
            differences.push(Difference::Value {
                path,
                recorded,
                now,
            });
        }
    }
    Verification {
        differences,
        compared,
    }
}

/// `(path, old value, new value)` of every leaf that differs, in path order.
fn changed_leaves(
    old: &BTreeMap<String, String>,
    new: &BTreeMap<String, String>,
) -> Vec<(String, String, String)> {
    let mut paths: Vec<&String> = old.keys().chain(new.keys()).collect();
    paths.sort();
    paths.dedup();
    paths
        .into_iter()
        .filter_map(|path| {
            let (a, b) = (old.get(path), new.get(path));
            (a != b).then(|| (path.clone(), show(a), show(b)))
        })
        .collect()
}

fn show(value: Option<&String>) -> String {
    value.cloned().unwrap_or_else(|| "(absent)".to_owned())
}

fn flat(value: &serde_json::Value) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    flatten("", value, &mut out);
    out
}

/// Fields a re-run need not reproduce: who ran it and when, names and prose, and what is
/// compared on its own (the hashes) or derived from the config (interval method, warnings).
const NOT_COMPARED: [&str; 9] = [
    "format",
    "experiment",
    "description",
    "config_hash",
    "data_hash",
    "version",
    "interval",
    "warnings",
    "timings",
];

/// The record as dotted leaves, arrays indexed (`predictions.3.probabilities.stable`).
fn comparable(record: &Record) -> BTreeMap<String, String> {
    let mut value = serde_json::to_value(record).expect("a record serialises");
    if let Some(fields) = value.as_object_mut() {
        fields.retain(|key, _| !NOT_COMPARED.contains(&key.as_str()));
    }
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
