//! The run history: `results/runs.jsonl` beside the records, one line per `stance run`
//! (MLflow's habit, in a file). Records say what an experiment gives now; the history says
//! what was run, when, by which build, on which config and labels, with its headline numbers
//! and its timings, and what became of the record.
//!
//! Takes a finished [`Record`] and what happened to its file, and hands on one compact JSON
//! line appended through [`persist::append_line`](crate::persist::append_line); reads the lines
//! back for `stance runs`, a line it cannot read being reported with its line number, never
//! fatal. It never decides whether a record is written: `experiment::cache` does. The file is
//! local (it is not versioned with the records): its timings and times of day would make every
//! run a change.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::persist::{self, Version};
use crate::record::Record;

/// The layout version of each line.
pub const FORMAT: &str = "stance-run/1";

/// The history's file name, in a results directory.
pub const FILE_NAME: &str = "runs.jsonl";

/// What became of the experiment's record after a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordFate {
    /// Written: there was none, or its results differ.
    Written,
    /// Not rewritten: identical apart from its timings and the build that ran it.
    Unchanged,
    /// Not replaced: it holds a more careful run (more permutations or resamples).
    Kept,
    /// Replaced, with `--force`, by a less careful run.
    Forced,
}

impl RecordFate {
    pub fn as_str(self) -> &'static str {
        match self {
            RecordFate::Written => "written",
            RecordFate::Unchanged => "unchanged",
            RecordFate::Kept => "kept",
            RecordFate::Forced => "forced",
        }
    }
}

/// One line of the history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunLine {
    pub format: String,
    pub started_at: String,
    pub experiment: String,
    pub config_hash: String,
    pub data_hash: String,
    pub version: Version,
    pub seed: u64,
    pub paragraphs: usize,
    pub level: f64,
    pub resamples: usize,
    /// The metric of the permutation test (`[stats] metric`).
    pub metric: String,
    /// The summary metrics and the test's metric: pooled value and interval.
    pub metrics: BTreeMap<String, Headline>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permutation: Option<PermutationLine>,
    pub seconds_total: f64,
    pub record: RecordFate,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Headline {
    pub value: Option<f64>,
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PermutationLine {
    pub p_value: f64,
    /// Shuffles run.
    pub run: usize,
    /// Shuffles asked for (the sequential test may stop before).
    pub requested: usize,
}

impl RunLine {
    /// The line for a run that produced `record`, whose file then met `fate`.
    pub fn of(record: &Record, fate: RecordFate) -> RunLine {
        let metric = record
            .permutation
            .as_ref()
            .map(|p| p.metric.clone())
            .or_else(|| record.config["stats"]["metric"].as_str().map(str::to_owned))
            .unwrap_or_default();
        let metrics = record
            .metrics
            .iter()
            .filter(|(key, _)| !key.contains(':') || **key == metric)
            .map(|(key, summary)| {
                let headline = Headline {
                    value: summary.pooled,
                    ci_low: summary.ci_low,
                    ci_high: summary.ci_high,
                };
                (key.clone(), headline)
            })
            .collect();
        RunLine {
            format: FORMAT.to_owned(),
            started_at: record.timings.started_at.clone(),
            experiment: record.experiment.clone(),
            config_hash: record.config_hash.clone(),
            data_hash: record.data_hash.clone(),
            version: record.version.clone(),
            seed: record.seed,
            paragraphs: record.data.paragraphs,
            level: record.interval.level,
            resamples: record.interval.resamples,
            metric,
            metrics,
            permutation: record.permutation.as_ref().map(|p| PermutationLine {
                p_value: p.p_value,
                run: p.n_permutations,
                requested: p.planned.unwrap_or(p.n_permutations),
            }),
            seconds_total: record.timings.seconds_total,
            record: fate,
        }
    }
}

/// The history file of the records in `results_dir`.
pub fn path_in(results_dir: &Path) -> PathBuf {
    results_dir.join(FILE_NAME)
}

/// A history that cannot be written or read.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    #[error("cannot append to the run history {}", path.display())]
    Append {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot read the run history {}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot serialise a line of the run history")]
    Serialise(#[source] serde_json::Error),
}

/// Append `line` to the history at `path` (created if need be), synced.
pub fn append(path: &Path, line: &RunLine) -> Result<(), HistoryError> {
    let text = persist::to_line(line).map_err(HistoryError::Serialise)?;
    persist::append_line(path, &text).map_err(|source| HistoryError::Append {
        path: path.to_owned(),
        source,
    })
}

/// The history at `path`, in order, with the lines that could not be read (`N: why`).
/// A missing file is an empty history.
pub fn read(path: &Path) -> Result<(Vec<RunLine>, Vec<String>), HistoryError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(source) => {
            return Err(HistoryError::Read {
                path: path.to_owned(),
                source,
            });
        }
    };
    let mut lines = Vec::new();
    let mut unreadable = Vec::new();
    for (index, text) in text.lines().enumerate() {
        if text.trim().is_empty() {
            continue;
        }
        let number = index + 1;
        // The format first, so that a line of another layout says so.
        let format = match persist::parse_line::<serde_json::Value>(text) {
            Ok(value) => value
                .get("format")
                .and_then(serde_json::Value::as_str)
                .map(str::to_owned),
            Err(_) if !text.trim_start().starts_with('{') => {
                unreadable.push(format!("{number}: not a JSON object"));
                continue;
            }
            Err(err) => {
                unreadable.push(format!("{number}: {err}"));
                continue;
            }
        };
        match format.as_deref() {
            Some(FORMAT) => match persist::parse_line::<RunLine>(text) {
                Ok(line) => lines.push(line),
                Err(err) => unreadable.push(format!("{number}: {err}")),
            },
            Some(other) => unreadable.push(format!(
                "{number}: format `{other}`, this stance reads `{FORMAT}`"
            )),
            None => unreadable.push(format!("{number}: not a run (no `format`)")),
        }
    }
    Ok((lines, unreadable))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(experiment: &str, fate: RecordFate) -> RunLine {
        RunLine {
            format: FORMAT.to_owned(),
            started_at: "2026-12-06T14:29:44Z".to_owned(),
            experiment: experiment.to_owned(),
            config_hash: "c".repeat(64),
            data_hash: "d".repeat(64),
            version: Version {
                crate_version: "0.1.0".to_owned(),
                git_commit: None,
                git_dirty: None,
            },
            seed: 42,
            paragraphs: 22,
            level: 0.95,
            resamples: 2000,
            metric: "balanced_accuracy".to_owned(),
            metrics: BTreeMap::from([(
                "balanced_accuracy".to_owned(),
                Headline {
                    value: Some(0.5),
                    ci_low: Some(0.25),
                    ci_high: Some(0.75),
                },
            )]),
            permutation: Some(PermutationLine {
                p_value: 0.3,
                run: 50,
                requested: 1000,
            }),
            seconds_total: 0.25,
            record: fate,
        }
    }

    #[test]
    fn lines_are_appended_in_order_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = path_in(dir.path());
        assert_eq!(read(&path).unwrap(), (vec![], vec![]));
        let (a, b) = (
            line("a", RecordFate::Written),
            line("b", RecordFate::Unchanged),
        );
        append(&path, &a).unwrap();
        append(&path, &b).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 2);
        assert!(text.contains("\"record\":\"unchanged\""), "{text}");
        assert_eq!(read(&path).unwrap(), (vec![a, b], vec![]));
    }

    #[test]
    fn a_torn_or_foreign_line_is_reported_and_the_rest_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = path_in(dir.path());
        let good = line("a", RecordFate::Kept);
        let mut text = persist::to_line(&good).unwrap();
        // A crash mid-append leaves a line without its end; the next append starts afresh.
        text.push_str("{\"format\":\"stance-run/1\",\"started");
        std::fs::write(&path, &text).unwrap();
        append(&path, &good).unwrap();
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .and_then(|mut file| {
                use std::io::Write as _;
                file.write_all(b"{\"format\":\"stance-run/9\"}\nnot json\n")
            })
            .unwrap();
        let (lines, unreadable) = read(&path).unwrap();
        assert_eq!(lines, vec![good.clone(), good]);
        assert_eq!(unreadable.len(), 3, "{unreadable:?}");
        assert!(
            unreadable[0].starts_with("2: it ends early"),
            "{unreadable:?}"
        );
        assert_eq!(
            unreadable[1],
            "4: format `stance-run/9`, this stance reads `stance-run/1`"
        );
        assert_eq!(unreadable[2], "5: not a JSON object");
    }
}
