//! Results on disk: the JSON record of one experiment, and of one simulation of labelling
//! orders ([`SimulationRecord`]), written atomically through [`persist`](crate::persist).
//!
//! Takes the plain record types below (filled in by `experiment` from its internal results)
//! and hands back bytes on disk or a parsed record. Only this module defines the layout of
//! `experiments/results/NAME.json`; internal types never derive `Serialize` for it. It never
//! computes anything: a record is read and written as it is.
//!
//! Everything in a record is a function of config, labels and seed, except `timings`, so two
//! runs of the same experiment give the same bytes apart from that one field.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::cv::RawCvConfig;
use crate::persist::{DocumentError, DocumentKind, Version};

/// The layout version written into every record; a reader refuses others.
pub const FORMAT: &str = "stance-record/1";

/// Records as documents of [`persist`]: how they are named in messages, which format is read.
pub const DOCUMENT: DocumentKind = DocumentKind {
    noun: "record",
    description: "a stance record",
    format: FORMAT,
    remedy: "re-run the experiment to rewrite it",
};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Record {
    pub format: String,
    pub experiment: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The fully resolved configuration (every default written out).
    pub config: serde_json::Value,
    pub config_hash: String,
    pub data_hash: String,
    pub seed: u64,
    pub version: Version,
    pub classes: Vec<String>,
    pub data: DataSummary,
    /// How every `ci_low`/`ci_high` in this record was computed.
    pub interval: IntervalMethod,
    /// Scalar metrics of the model, by name.
    pub metrics: BTreeMap<String, MetricSummary>,
    /// The same metrics for the majority-class baseline on the same folds.
    pub baseline: BTreeMap<String, MetricSummary>,
    /// Confusion matrix pooled over all folds and repeats: rows true, columns predicted.
    pub confusion: Vec<Vec<u64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permutation: Option<Permutation>,
    pub by_article: Vec<ArticleScore>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub learning_curve: Option<Vec<CurvePoint>>,
    /// Every metric of each group's paragraphs (one model per group, or holdout).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<Vec<GroupScore>>,
    /// A tuned experiment's nested search: its candidates and what each fold chose.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub search: Option<SearchRecord>,
    pub folds: Vec<FoldRecord>,
    pub predictions: Vec<Prediction>,
    pub warnings: Vec<String>,
    /// The only part of a record that differs between identical runs.
    pub timings: Timings,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataSummary {
    pub store: String,
    /// The annotator, or several as `a, b` (then `combined` says how).
    pub annotator: String,
    pub paragraphs: usize,
    pub per_class: BTreeMap<String, usize>,
    pub low_confidence: usize,
    pub articles: Vec<String>,
    /// Several annotators' labels made one: who, by which rule, and what it left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub combined: Option<CombinedLabels>,
}

/// `[data] annotator = [...]` with `combine`: recorded so a record says whose labels it used.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CombinedLabels {
    pub annotators: Vec<String>,
    /// `majority` or `unanimous`.
    pub rule: String,
    /// Paragraphs left out, by reason (`tie`; `disagreement`, `not_labelled_by_all`).
    pub left_out: BTreeMap<String, usize>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntervalMethod {
    pub method: String,
    pub level: f64,
    pub resamples: usize,
}

/// One metric: across-fold mean and sample standard deviation, the value on the pooled
/// out-of-fold predictions, and the interval around the pooled value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricSummary {
    pub mean: Option<f64>,
    pub std: Option<f64>,
    pub pooled: Option<f64>,
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Permutation {
    pub metric: String,
    pub observed: f64,
    pub p_value: f64,
    pub n_permutations: usize,
    /// The smallest p-value this many permutations can give, 1/(n+1).
    pub resolution: f64,
    /// Permutations allowed, when the sequential test stopped before them: it ran
    /// `n_permutations` and found p clearly above or below the level.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub planned: Option<usize>,
    pub null_mean: f64,
    /// The metric under shuffled labels: each distinct value, ascending, with how many
    /// permutations gave it (counts sum to `n_permutations`). Absent from older records.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub null_distribution: Option<Vec<NullCount>>,
}

/// One group's paragraphs scored on their own (pooled predictions, mean over repeats).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupScore {
    pub group: String,
    pub paragraphs: usize,
    pub per_class: BTreeMap<String, usize>,
    pub metrics: BTreeMap<String, Option<f64>>,
}

/// A nested search: the candidates, in order, and the choice of every model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchRecord {
    /// The metric candidates were chosen by, on their inner out-of-fold predictions.
    pub metric: String,
    pub inner_folds: usize,
    /// Each candidate's searched settings.
    pub candidates: Vec<serde_json::Value>,
    /// How many models chose each candidate, in candidate order.
    pub wins: Vec<usize>,
    pub choices: Vec<ChoiceRecord>,
}

/// What one model (of a fold, and of a group with one model per group) chose.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChoiceRecord {
    pub repeat: usize,
    pub fold: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Index into `candidates`.
    pub candidate: usize,
    /// Every candidate's inner score, in candidate order.
    pub inner_scores: Vec<Option<f64>>,
}

/// One distinct value of a permutation test's null distribution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NullCount {
    pub value: f64,
    pub count: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArticleScore {
    pub article: String,
    pub paragraphs: usize,
    pub accuracy: f64,
    pub per_class: BTreeMap<String, usize>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CurvePoint {
    pub train_size: usize,
    pub fraction: f64,
    pub metric: String,
    pub mean: Option<f64>,
    pub pooled: Option<f64>,
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FoldRecord {
    pub repeat: usize,
    pub fold: usize,
    pub train: usize,
    pub test: usize,
    pub metrics: BTreeMap<String, Option<f64>>,
    /// The largest component of the mean objective's gradient is within the tolerance.
    pub converged: bool,
    /// `‖∇F‖₂` of the summed objective; `None` when the solver ended on a non-finite gradient
    /// (JSON has no infinity).
    pub gradient_norm: Option<f64>,
    /// The solver that fitted the fold (`linfa`, `lbfgs`, `newton`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub solver: Option<String>,
    /// Its iterations, when it says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iterations: Option<u64>,
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Prediction {
    pub id: String,
    pub repeat: usize,
    pub fold: usize,
    pub label: String,
    pub predicted: String,
    pub probabilities: BTreeMap<String, f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Timings {
    pub started_at: String,
    pub seconds_total: f64,
    pub seconds_cv: f64,
    pub seconds_permutation: f64,
    /// Scoring the cross-validation with its bootstrap intervals.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seconds_bootstrap: Option<f64>,
    /// The learning curve, when one was drawn.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seconds_curve: Option<f64>,
}

impl Record {
    /// The recorded cross-validation scheme in words ("stratified 5-fold, seed 42"), from the
    /// `[cv]` table kept in the record; its bare scheme name if that table no longer checks.
    pub fn cv_description(&self) -> String {
        let cv = &self.config["cv"];
        match serde_json::from_value::<RawCvConfig>(cv.clone()).map(|raw| raw.check()) {
            Ok(Ok(scheme)) => scheme.describe(self.data.articles.len()),
            _ => cv["scheme"].as_str().unwrap_or("?").to_owned(),
        }
    }

    /// The record's bytes: pretty JSON with a final newline.
    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        DOCUMENT.to_json(self)
    }

    pub fn read(path: &Path) -> Result<Record, DocumentError> {
        DOCUMENT.read(path)
    }

    pub fn parse(path: &Path, text: &str) -> Result<Record, DocumentError> {
        DOCUMENT.parse(path, text)
    }

    /// Write the record to `path` atomically.
    pub fn write(&self, path: &Path) -> Result<(), DocumentError> {
        DOCUMENT.write(path, self)
    }

    /// [`Record::write`], with `check` called just before the record replaces `path`.
    pub fn write_checked(
        &self,
        path: &Path,
        check: impl FnOnce() -> std::io::Result<()>,
    ) -> Result<(), DocumentError> {
        DOCUMENT.write_checked(path, self, check)
    }
}

/// The layout version of a simulation's record (`stance simulate`).
pub const SIMULATION_FORMAT: &str = "stance-simulation/1";

/// Simulation records as documents of [`persist`].
pub const SIMULATION_DOCUMENT: DocumentKind = DocumentKind {
    noun: "simulation",
    description: "a stance simulation",
    format: SIMULATION_FORMAT,
    remedy: "re-run `stance simulate` to rewrite it",
};

/// What `stance simulate` found: a function of the experiment, its labels and the settings,
/// except `timings`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimulationRecord {
    pub format: String,
    pub experiment: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The experiment's resolved configuration.
    pub config: serde_json::Value,
    pub config_hash: String,
    pub data_hash: String,
    pub version: Version,
    pub classes: Vec<String>,
    /// The metric of every curve (`[stats] metric`).
    pub metric: String,
    pub settings: SimulationSettings,
    pub data: SimulationData,
    /// How every `ci_low`/`ci_high` was computed.
    pub interval: String,
    /// Labelled paragraphs at each point of every curve.
    pub sizes: Vec<usize>,
    pub curves: Vec<SimulatedCurve>,
    pub pairings: Vec<SimulatedPairing>,
    pub timings: SimulationTimings,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimulationSettings {
    pub orders: Vec<String>,
    /// Replicates, each with its own held-out part, seed set and random order.
    pub seeds: usize,
    pub seed: u64,
    /// Labelled paragraphs at the end, seed set included.
    pub budget: usize,
    pub step: usize,
    pub initial: usize,
    /// Fraction of each class held out.
    pub held_out: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimulationData {
    pub annotator: String,
    pub paragraphs: usize,
    pub per_class: BTreeMap<String, usize>,
    /// Held out for scoring in every replicate.
    pub held_out: usize,
}

/// A mean over replicates with its interval (none with one replicate).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimulatedValue {
    pub mean: f64,
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimulatedCurve {
    pub order: String,
    /// One per size.
    pub points: Vec<SimulatedValue>,
    /// The area under the curve over the labels spanned (the mean score over the budget).
    pub area: SimulatedValue,
    /// Per replicate, the score at each size.
    pub per_seed: Vec<Vec<f64>>,
    pub area_per_seed: Vec<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimulatedPairing {
    pub order: String,
    pub against: String,
    /// Area of `order` minus area of `against`, paired by replicate.
    pub area_difference: SimulatedValue,
    /// `against`'s mean score at the budget.
    pub target: f64,
    /// The fewest labels at which `order`'s mean curve reaches `target`; null if it never
    /// does within the budget.
    pub labels_to_reach: Option<usize>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimulationTimings {
    pub started_at: String,
    pub seconds_total: f64,
}

impl SimulationRecord {
    pub fn read(path: &Path) -> Result<SimulationRecord, DocumentError> {
        SIMULATION_DOCUMENT.read(path)
    }

    /// Write the record to `path` atomically.
    pub fn write(&self, path: &Path) -> Result<(), DocumentError> {
        SIMULATION_DOCUMENT.write(path, self)
    }
}

/// The layout version of a partial record: one shard's share of a run (`stance run --shard`).
pub const PARTIAL_FORMAT: &str = "stance-partial/1";

/// Partial records as documents of [`persist`].
pub const PARTIAL_DOCUMENT: DocumentKind = DocumentKind {
    noun: "partial record",
    description: "a stance partial record (one shard of a run)",
    format: PARTIAL_FORMAT,
    remedy: "re-run its shard",
};

/// One shard's results: the tasks of a run it owns (cross-validation folds, permutation
/// shuffles, learning-curve folds), raw enough for `stance merge` to assemble the record the
/// unsharded run writes. Not a record: nothing in it is scored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartialRecord {
    pub format: String,
    pub experiment: String,
    pub config_hash: String,
    pub data_hash: String,
    pub version: Version,
    /// This shard, numbered from 1.
    pub shard: usize,
    /// Shards the run was cut into.
    pub shards: usize,
    /// The run's tasks, over all shards.
    pub tasks: usize,
    /// Permutations planned for the run.
    pub permutations: usize,
    /// Cross-validation folds, by index into the run's splits.
    pub folds: Vec<PartialFold>,
    /// The metric under each owned shuffle (`null` where undefined).
    pub shuffles: Vec<PartialShuffle>,
    /// Learning-curve folds.
    pub curve: Vec<PartialCurveFold>,
    pub timings: PartialTimings,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartialFold {
    /// Index into the run's splits (repeat-major).
    pub split: usize,
    pub repeat: usize,
    pub fold: usize,
    pub train: usize,
    pub test: usize,
    /// Per test paragraph (in the split's order), a probability per class.
    pub probabilities: Vec<Vec<f64>>,
    pub baseline: Vec<Vec<f64>>,
    pub solver: String,
    pub converged: bool,
    /// `‖∇F‖₂` when finite, else its text in `gradient_norm_text` (`inf`, `NaN`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gradient_norm: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gradient_norm_text: Option<String>,
    pub tolerance: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iterations: Option<u64>,
    pub message: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub choices: Vec<PartialChoice>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartialChoice {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<usize>,
    pub candidate: usize,
    pub inner_scores: Vec<Option<f64>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartialShuffle {
    pub permutation: usize,
    pub value: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartialCurveFold {
    /// Index into `[stats] curve_fractions`.
    pub fraction: usize,
    pub fold: PartialFold,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartialTimings {
    pub started_at: String,
    pub seconds_total: f64,
    pub seconds_cv: f64,
    pub seconds_permutation: f64,
    pub seconds_curve: f64,
}

impl PartialRecord {
    pub fn read(path: &Path) -> Result<PartialRecord, DocumentError> {
        PARTIAL_DOCUMENT.read(path)
    }

    /// Write the partial record to `path` atomically.
    pub fn write(&self, path: &Path) -> Result<(), DocumentError> {
        PARTIAL_DOCUMENT.write(path, self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, expected: &str) {
        let err = Record::parse(Path::new("results/x.json"), text).unwrap_err();
        assert_eq!(err.to_string(), expected);
    }

    #[test]
    fn unreadable_records_say_where() {
        check(
            "{ not json",
            "record results/x.json is corrupt at line 1, column 3: key must be a string",
        );
        check(
            "{\"format\": \"stance-record/0\"}",
            "record results/x.json has format `stance-record/0`, this stance reads `stance-record/1`: re-run the experiment to rewrite it",
        );
        check(
            "[1, 2]",
            "record results/x.json is not a stance record: it is JSON but not an object (it starts `[1, 2]`)",
        );
        check(
            "[data]\nclasses = [\"a\", \"b\"]\n",
            "record results/x.json is not a stance record: it looks like TOML (an experiment file?), not JSON: it starts `[data]`",
        );
        let wrong_type = "{\"format\": \"stance-record/1\",\n\"experiment\": 5}";
        let err = Record::parse(Path::new("results/x.json"), wrong_type)
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("record results/x.json is corrupt at line 2, column 15: invalid type"),
            "{err}"
        );
    }
}
