//! An experiment file (`experiments/NAME.toml`): TOML in, a checked [`Experiment`] out.
//!
//! Raw serde tables (`deny_unknown_fields`) are checked once, here, into the types of the
//! stages they configure (`FeatureConfig`, `ModelConfig`, `CvConfig`, [`StatsConfig`]); nothing
//! downstream re-checks. Every error names the file, the line and the key. This module reads
//! the one file it is given and nothing else: the label store is opened by `data`.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::cv::{CvConfig, RawCvConfig};
use crate::features::{FeatureConfig, FeatureUnion, RawFeatureConfig};
use crate::metrics::Metric;
use crate::model::{ModelConfig, RawModelConfig};
use crate::persist::hex_sha256;
use crate::stats::interval::ConfidenceLevel;

use super::search::{SearchConfig, check_search};

/// A bad experiment file. Printed as `FILE:LINE: key `KEY`: MESSAGE`.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read experiment {}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}{}: {message}", path.display(), Location(*line))]
    Syntax {
        path: PathBuf,
        line: Option<usize>,
        message: String,
    },
    #[error("{}{}: key `{key}`: {message}", path.display(), Location(*line))]
    Invalid {
        path: PathBuf,
        line: Option<usize>,
        key: String,
        message: String,
    },
    /// A bad `[features]` table of a file read for its features alone
    /// ([`load_feature_config`]): the message names the key.
    #[error("{}{}: [features] {message}", path.display(), Location(*line))]
    Features {
        path: PathBuf,
        line: Option<usize>,
        message: String,
    },
}

struct Location(Option<usize>);

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(line) => write!(f, ":{line}"),
            None => Ok(()),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExperiment {
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    data: RawDataConfig,
    #[serde(default)]
    features: RawFeatures,
    #[serde(default)]
    model: RawModelConfig,
    #[serde(default)]
    cv: RawCvConfig,
    #[serde(default)]
    stats: RawStatsConfig,
    #[serde(default)]
    search: Option<toml::Table>,
}

/// `[features]` (one table) or `[[features]]` (an array of tables: a feature union).
#[derive(Debug, Clone)]
enum RawFeatures {
    One(RawFeatureConfig),
    Union(Vec<RawFeatureConfig>),
}

impl Default for RawFeatures {
    fn default() -> Self {
        RawFeatures::One(RawFeatureConfig::default())
    }
}

impl<'de> Deserialize<'de> for RawFeatures {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Either;
        impl<'de> serde::de::Visitor<'de> for Either {
            type Value = RawFeatures;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a [features] table or [[features]] tables")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<RawFeatures, A::Error> {
                RawFeatureConfig::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(RawFeatures::One)
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                seq: A,
            ) -> Result<RawFeatures, A::Error> {
                Vec::<RawFeatureConfig>::deserialize(serde::de::value::SeqAccessDeserializer::new(
                    seq,
                ))
                .map(RawFeatures::Union)
            }
        }
        deserializer.deserialize_any(Either)
    }
}

impl RawFeatures {
    fn parts(&self) -> &[RawFeatureConfig] {
        match self {
            RawFeatures::One(one) => std::slice::from_ref(one),
            RawFeatures::Union(parts) => parts,
        }
    }
}

/// The `[data]` table: which labels an experiment uses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawDataConfig {
    /// The label store, relative to the experiment file's directory.
    pub store: String,
    /// The classes to classify; paragraphs with other labels are left out (never deleted).
    pub classes: Vec<String>,
    /// Whose labels: each paragraph's current label by this annotator, or by several,
    /// combined by `combine`.
    pub annotator: AnnotatorNames,
    /// How several annotators' labels become one; only with several.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub combine: Option<Combine>,
    /// Leave out paragraphs whose label is marked low-confidence.
    pub drop_low_confidence: bool,
    /// Only these groups (articles; an imported group by the name its file gave it, or by
    /// its article id); all when empty.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    /// Only paragraphs imported into this split (with holdout, also the `test_split` ones).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub split: Option<String>,
}

impl Default for RawDataConfig {
    fn default() -> Self {
        RawDataConfig {
            store: "../labels".to_owned(),
            classes: vec!["fracturing".to_owned(), "stable".to_owned()],
            annotator: AnnotatorNames::One("annotator-1".to_owned()),
            combine: None,
            drop_low_confidence: false,
            groups: Vec::new(),
            split: None,
        }
    }
}

/// `annotator = "a"` or `annotator = ["a", "b"]`: written back as it was given, so that a
/// single name keeps its recorded form (and the config hash).
#[derive(Debug, Clone, PartialEq)]
pub enum AnnotatorNames {
    One(String),
    Several(Vec<String>),
}

impl AnnotatorNames {
    pub fn names(&self) -> &[String] {
        match self {
            AnnotatorNames::One(name) => std::slice::from_ref(name),
            AnnotatorNames::Several(names) => names,
        }
    }
}

impl Serialize for AnnotatorNames {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            AnnotatorNames::One(name) => serializer.serialize_str(name),
            AnnotatorNames::Several(names) => names.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for AnnotatorNames {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct NamesVisitor;

        impl<'de> serde::de::Visitor<'de> for NamesVisitor {
            type Value = AnnotatorNames;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an annotator's name or a list of names")
            }

            fn visit_str<E: serde::de::Error>(self, name: &str) -> Result<AnnotatorNames, E> {
                Ok(AnnotatorNames::One(name.to_owned()))
            }

            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<AnnotatorNames, A::Error> {
                let mut names = Vec::new();
                while let Some(name) = seq.next_element::<String>()? {
                    names.push(name);
                }
                Ok(AnnotatorNames::Several(names))
            }
        }

        deserializer.deserialize_any(NamesVisitor)
    }
}

/// `combine`: how several annotators' current labels on a paragraph become its label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Combine {
    /// The label more than half of the annotators who labelled the paragraph gave; without
    /// one (a tie), the paragraph is left out. One annotator's label alone is a majority.
    Majority,
    /// The label every listed annotator gave; a paragraph they disagree on, or that not all
    /// of them labelled, is left out.
    Unanimous,
}

impl Combine {
    pub fn as_str(self) -> &'static str {
        match self {
            Combine::Majority => "majority",
            Combine::Unanimous => "unanimous",
        }
    }
}

/// The `[stats]` table: how uncertainty is reported.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawStatsConfig {
    /// The metric for the permutation test, paired tests and the learning curve.
    pub metric: String,
    /// Level of every interval.
    pub level: f64,
    /// Bootstrap resamples per interval.
    pub resamples: usize,
    /// What the bootstrap resamples: `"paragraphs"` or whole `"articles"`.
    pub bootstrap: BootstrapUnit,
    /// Label permutations for the test against chance; 0 turns it off.
    pub permutations: usize,
    /// `"sequential"`: stop shuffling once p is clearly above or below the test's level;
    /// `"none"`: run every permutation.
    pub permutation_stopping: PermutationStopping,
    /// Training-set sizes of the learning curve, as fractions of each training fold.
    pub curve_fractions: Vec<f64>,
}

impl Default for RawStatsConfig {
    fn default() -> Self {
        RawStatsConfig {
            metric: "balanced_accuracy".to_owned(),
            level: 0.95,
            resamples: 2000,
            bootstrap: BootstrapUnit::Paragraphs,
            permutations: 1000,
            permutation_stopping: PermutationStopping::Sequential,
            curve_fractions: vec![0.2, 0.4, 0.6, 0.8, 1.0],
        }
    }
}

/// When the permutation test may stop before its last permutation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PermutationStopping {
    /// Sequential Monte Carlo: after every batch, stop once a 99.9% interval on p lies
    /// entirely above or below the level (`1 − [stats] level`).
    Sequential,
    None,
}

/// The unit a bootstrap resamples.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BootstrapUnit {
    Paragraphs,
    Articles,
}

/// The checked `[data]` table.
#[derive(Debug, Clone)]
pub struct DataConfig {
    store: PathBuf,
    classes: Vec<String>,
    /// At least one, no name twice.
    annotators: Vec<String>,
    /// `Some` exactly when there are several annotators.
    combine: Option<Combine>,
    drop_low_confidence: bool,
    groups: Vec<String>,
    split: Option<String>,
    test_split: Option<String>,
}

impl DataConfig {
    /// The store directory, resolved against the experiment file's directory.
    pub fn store(&self) -> &Path {
        &self.store
    }
    pub fn classes(&self) -> &[String] {
        &self.classes
    }
    /// Whose labels: one annotator, or several whose labels `combine` makes one.
    pub fn annotators(&self) -> &[String] {
        &self.annotators
    }
    /// How several annotators' labels are combined; `None` for one annotator.
    pub fn combine(&self) -> Option<Combine> {
        self.combine
    }
    /// The annotators' names for people: `a`, or `a, b`.
    pub fn annotator_names(&self) -> String {
        self.annotators.join(", ")
    }
    pub fn drop_low_confidence(&self) -> bool {
        self.drop_low_confidence
    }
    /// The groups selected by name; all when empty.
    pub fn groups(&self) -> &[String] {
        &self.groups
    }
    /// The split selected (training split under holdout); all paragraphs when `None`.
    pub fn split(&self) -> Option<&str> {
        self.split.as_deref()
    }
    /// Holdout's test split, selected beside `split`.
    pub fn test_split(&self) -> Option<&str> {
        self.test_split.as_deref()
    }
}

/// The checked `[stats]` table.
#[derive(Debug, Clone)]
pub struct StatsConfig {
    metric: Metric,
    level: ConfidenceLevel,
    resamples: usize,
    bootstrap: BootstrapUnit,
    permutations: usize,
    permutation_stopping: PermutationStopping,
    curve_fractions: Vec<f64>,
}

impl StatsConfig {
    pub fn permutation_stopping(&self) -> PermutationStopping {
        self.permutation_stopping
    }

    /// The metric of the permutation test, paired tests and learning curve, resolved against
    /// `[data] classes` (so `"f1:stable"` and `"f1_mean:favor,against"` are metrics too).
    pub fn metric(&self) -> Metric {
        self.metric
    }
    pub fn level(&self) -> ConfidenceLevel {
        self.level
    }
    pub fn resamples(&self) -> usize {
        self.resamples
    }
    pub fn bootstrap(&self) -> BootstrapUnit {
        self.bootstrap
    }
    pub fn permutations(&self) -> usize {
        self.permutations
    }
    /// Strictly increasing fractions in (0, 1].
    pub fn curve_fractions(&self) -> &[f64] {
        &self.curve_fractions
    }
}

/// A checked experiment: everything needed to run it, nothing that could be wrong.
#[derive(Debug, Clone)]
pub struct Experiment {
    name: String,
    path: PathBuf,
    description: Option<String>,
    data: DataConfig,
    features: FeatureUnion,
    model: ModelConfig,
    cv: CvConfig,
    stats: StatsConfig,
    search: Option<SearchConfig>,
    resolved: serde_json::Value,
}

impl Experiment {
    /// Read and check `path`. The experiment's name is the file stem.
    pub fn load(path: &Path) -> Result<Experiment, ConfigError> {
        let text = crate::persist::read_text(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Experiment::parse(path, &text)
    }

    /// Check `text` as if read from `path` (which only names the experiment, resolves the
    /// store and labels errors).
    pub fn parse(path: &Path, text: &str) -> Result<Experiment, ConfigError> {
        let raw: RawExperiment =
            toml::from_str(text).map_err(|err| syntax_error(path, text, &err))?;
        let invalid = |section: &str, key: &str, message: String| ConfigError::Invalid {
            path: path.to_owned(),
            // A default that another key made invalid is not written: point at its table.
            line: key_line(text, &format!("{section}.{key}")).or_else(|| key_line(text, section)),
            key: format!("{section}.{key}"),
            message,
        };

        let name = path
            .file_stem()
            .map(|stem| stem.to_string_lossy().into_owned())
            .filter(|stem| !stem.is_empty())
            .ok_or_else(|| {
                invalid(
                    "data",
                    "store",
                    "the experiment file has no name".to_owned(),
                )
            })?;
        let test_split = raw.cv.test_split.as_deref();
        let data = check_data(&raw.data, path, test_split)
            .map_err(|(key, message)| invalid("data", key, message))?;
        let features = match &raw.features {
            RawFeatures::One(one) => FeatureUnion::single(
                one.clone()
                    .check()
                    .map_err(|err| invalid("features", err.key(), err.message().to_owned()))?,
            ),
            RawFeatures::Union(parts) => {
                let checked = parts
                    .iter()
                    .enumerate()
                    .map(|(i, part)| {
                        part.clone().check().map_err(|err| {
                            let message = format!("part {} of the union: {}", i + 1, err.message());
                            invalid("features", err.key(), message)
                        })
                    })
                    .collect::<Result<Vec<FeatureConfig>, _>>()?;
                FeatureUnion::of(checked).ok_or_else(|| {
                    invalid(
                        "features",
                        "",
                        "a feature union needs at least one [[features]] table".to_owned(),
                    )
                })?
            }
        };
        let model = raw
            .model
            .check()
            .map_err(|err| invalid("model", err.key(), err.to_string()))?;
        let cv = raw
            .cv
            .check()
            .map_err(|err| invalid("cv", err.key(), err.to_string()))?;
        let stats = check_stats(&raw.stats, data.classes())
            .map_err(|(key, message)| invalid("stats", key, message))?;
        let search = match &raw.search {
            Some(table) => Some(
                check_search(
                    table,
                    raw.features.parts(),
                    matches!(raw.features, RawFeatures::Union(_)),
                    model.alpha(),
                )
                .map_err(|(key, message)| invalid("search", &key, message))?,
            ),
            None => None,
        };
        if model.per_group() && cv.kind().keeps_groups_whole() {
            return Err(invalid(
                "model",
                "per_group",
                format!(
                    "one model per group cannot be tested on folds of whole groups (scheme = \"{}\"): a test group would have no training paragraphs",
                    cv.kind().as_str()
                ),
            ));
        }

        let mut resolved = serde_json::json!({
            "description": raw.description,
            "data": raw.data,
            "features": features.to_raw_json(),
            "model": model.to_raw(),
            "cv": cv.to_raw(),
            "stats": raw.stats,
        });
        if let Some(table) = &raw.search {
            let mut written = serde_json::to_value(table).unwrap_or_default();
            if let (Some(object), Some(search)) = (written.as_object_mut(), &search) {
                object.insert("inner_folds".to_owned(), search.inner_folds().into());
            }
            resolved["search"] = written;
        }
        Ok(Experiment {
            name,
            path: path.to_owned(),
            description: raw.description,
            data,
            features,
            model,
            cv,
            stats,
            search,
            resolved,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }
    pub fn path(&self) -> &Path {
        &self.path
    }
    pub fn description(&self) -> Option<&str> {
        self.description.as_deref()
    }
    pub fn data(&self) -> &DataConfig {
        &self.data
    }
    /// The feature set, or the union of several (`[[features]]`).
    pub fn features(&self) -> &FeatureUnion {
        &self.features
    }
    /// The `[search]` of a tuned experiment.
    pub fn search(&self) -> Option<&SearchConfig> {
        self.search.as_ref()
    }
    pub fn model(&self) -> &ModelConfig {
        &self.model
    }
    pub fn cv(&self) -> &CvConfig {
        &self.cv
    }
    pub fn stats(&self) -> &StatsConfig {
        &self.stats
    }

    /// The configuration with every default written out, as recorded.
    pub fn resolved(&self) -> &serde_json::Value {
        &self.resolved
    }

    /// SHA-256 of the resolved configuration's canonical JSON (keys sorted).
    pub fn config_hash(&self) -> String {
        hex_sha256(self.resolved.to_string().as_bytes())
    }

    /// Where `stance run` writes this experiment's record: `results/NAME.json` beside the file.
    pub fn record_path(&self) -> PathBuf {
        let dir = self.path.parent().unwrap_or(Path::new(""));
        dir.join("results").join(format!("{}.json", self.name))
    }

    /// The same experiment with its cross-validation replaced (for `compare --repeats`).
    pub fn with_cv(&self, cv: CvConfig) -> Experiment {
        let mut changed = self.clone();
        changed.resolved["cv"] = serde_json::to_value(cv.to_raw()).expect("a cv table serialises");
        changed.cv = cv;
        changed
    }
}

fn check_data(
    raw: &RawDataConfig,
    path: &Path,
    test_split: Option<&str>,
) -> Result<DataConfig, (&'static str, String)> {
    if raw.store.trim().is_empty() {
        return Err(("store", "must name the label store directory".to_owned()));
    }
    if raw.classes.len() < 2 {
        return Err((
            "classes",
            format!("needs at least two classes, got {}", raw.classes.len()),
        ));
    }
    let mut seen = std::collections::BTreeSet::new();
    for class in &raw.classes {
        if !seen.insert(class.as_str()) {
            return Err(("classes", format!("class `{class}` is listed twice")));
        }
    }
    let annotators = raw.annotator.names();
    if annotators.is_empty() || annotators.iter().any(|name| name.trim().is_empty()) {
        return Err(("annotator", "must name an annotator".to_owned()));
    }
    let mut seen = std::collections::BTreeSet::new();
    for name in annotators {
        if !seen.insert(name.as_str()) {
            return Err(("annotator", format!("annotator `{name}` is listed twice")));
        }
    }
    match (annotators.len(), raw.combine) {
        (1, Some(combine)) => {
            return Err((
                "combine",
                format!(
                    "combine = \"{}\" needs several annotators, and `annotator` names one",
                    combine.as_str()
                ),
            ));
        }
        (n, None) if n > 1 => {
            return Err((
                "combine",
                format!(
                    "{n} annotators need a rule to make their labels one: combine = \"majority\" \
                     (a tie leaves the paragraph out) or \"unanimous\" (any disagreement does)"
                ),
            ));
        }
        _ => {}
    }
    let mut seen = std::collections::BTreeSet::new();
    for group in &raw.groups {
        if !seen.insert(group.as_str()) {
            return Err(("groups", format!("group `{group}` is listed twice")));
        }
    }
    if let Some(split) = &raw.split {
        if split.trim().is_empty() {
            return Err(("split", "must name a split (e.g. \"train\")".to_owned()));
        }
        if Some(split.as_str()) == test_split {
            return Err((
                "split",
                format!(
                    "`{split}` is also [cv] test_split: the training and test paragraphs must differ"
                ),
            ));
        }
    }
    let base = path.parent().unwrap_or(Path::new(""));
    Ok(DataConfig {
        store: base.join(&raw.store),
        classes: raw.classes.clone(),
        annotators: annotators.to_vec(),
        combine: raw.combine,
        drop_low_confidence: raw.drop_low_confidence,
        groups: raw.groups.clone(),
        split: raw.split.clone(),
        test_split: test_split.map(str::to_owned),
    })
}

/// Limits no real study meets, past which a run would only exhaust memory or never end.
pub const MAX_RESAMPLES: usize = 100_000;
pub const MAX_PERMUTATIONS: usize = 100_000;
pub const MAX_CURVE_FRACTIONS: usize = 100;

fn check_stats(
    raw: &RawStatsConfig,
    classes: &[String],
) -> Result<StatsConfig, (&'static str, String)> {
    let metric = Metric::parse(&raw.metric, classes).ok_or_else(|| {
        let mut known: Vec<String> = Metric::all(classes.len())
            .iter()
            .map(|m| m.key(classes))
            .collect();
        known.push("f1_mean:CLASS,CLASS,… (the mean F1 of the named classes)".to_owned());
        (
            "metric",
            format!(
                "unknown metric `{}`; one of: {}",
                raw.metric,
                known.join(", ")
            ),
        )
    })?;
    let level = ConfidenceLevel::new(raw.level).map_err(|err| ("level", err.to_string()))?;
    if raw.resamples < 100 {
        return Err((
            "resamples",
            format!(
                "must be at least 100 for a percentile interval, got {}",
                raw.resamples
            ),
        ));
    }
    for (key, value, limit) in [
        ("resamples", raw.resamples, MAX_RESAMPLES),
        ("permutations", raw.permutations, MAX_PERMUTATIONS),
        (
            "curve_fractions",
            raw.curve_fractions.len(),
            MAX_CURVE_FRACTIONS,
        ),
    ] {
        if value > limit {
            let what = if key == "curve_fractions" {
                " fractions"
            } else {
                ""
            };
            return Err((key, format!("must be at most {limit}{what}, got {value}")));
        }
    }
    let mut previous = 0.0;
    for &fraction in &raw.curve_fractions {
        if !(fraction > previous && fraction <= 1.0) {
            return Err((
                "curve_fractions",
                format!(
                    "must be strictly increasing fractions in (0, 1], got {:?}",
                    raw.curve_fractions
                ),
            ));
        }
        previous = fraction;
    }
    Ok(StatsConfig {
        metric,
        level,
        resamples: raw.resamples,
        bootstrap: raw.bootstrap,
        permutations: raw.permutations,
        permutation_stopping: raw.permutation_stopping,
        curve_fractions: raw.curve_fractions.clone(),
    })
}

/// A TOML or type error, located by line and, where a value is at fault, by key, in words
/// rather than Rust's types: `expected f64` is "a number".
fn syntax_error(path: &Path, text: &str, err: &toml::de::Error) -> ConfigError {
    let message = err.message().trim_end_matches('\n');
    let key = err.span().and_then(|span| key_at(text, span.start));
    let message = match (plain_type_error(message), key) {
        (Some(plain), Some(key)) => {
            let hint = quoted_number(message)
                .map(|n| {
                    format!(
                        " (without quotes: {} = {n})",
                        key.rsplit('.').next().unwrap_or(&key)
                    )
                })
                .unwrap_or_default();
            format!("key `{key}`: {plain}{hint}")
        }
        (Some(plain), None) => plain,
        (None, _) => message.to_owned(),
    };
    ConfigError::Syntax {
        path: path.to_owned(),
        line: err.span().map(|span| line_of(text, span.start)),
        message,
    }
}

/// serde's `invalid type: string "1", expected f64` as `expected a number, found the string
/// "1"`; `None` for other messages.
fn plain_type_error(message: &str) -> Option<String> {
    let rest = message
        .strip_prefix("invalid type: ")
        .or_else(|| message.strip_prefix("invalid value: "))?;
    let (found, expected) = rest.rsplit_once(", expected ")?;
    let expected = match expected {
        "f64" | "f32" => "a number",
        "usize" | "u64" | "u32" | "u16" | "u8" => "a whole number, 0 or more",
        "i64" | "i32" | "i16" | "i8" | "isize" => "a whole number",
        other => other,
    };
    let found = if let Some(quoted) = found.strip_prefix("string ") {
        format!("the string {quoted}")
    } else if let Some(value) = found
        .strip_prefix("integer ")
        .or_else(|| found.strip_prefix("floating point "))
    {
        value.trim_matches('`').to_owned()
    } else {
        found.to_owned()
    };
    Some(format!("expected {expected}, found {found}"))
}

/// The number in `invalid type: string "1", …`, when the string holds one.
fn quoted_number(message: &str) -> Option<&str> {
    let quoted = message
        .strip_prefix("invalid type: string \"")?
        .split_once('"')?
        .0;
    quoted.parse::<f64>().is_ok().then_some(quoted)
}

/// The dotted key whose value is at byte `offset` of `text` (`model.alpha`), if any.
fn key_at(text: &str, offset: usize) -> Option<String> {
    fn find(table: &toml::de::DeTable<'_>, offset: usize, path: &mut Vec<String>) -> bool {
        for (key, value) in table.iter() {
            path.push(key.get_ref().to_string());
            // A `[table]`'s own span is its header: look inside it whatever its span.
            let found = match value.get_ref() {
                toml::de::DeValue::Table(inner) => find(inner, offset, path),
                _ => value.span().contains(&offset),
            };
            if found {
                return true;
            }
            path.pop();
        }
        false
    }
    let document = toml::de::DeTable::parse(text).ok()?;
    let mut path = Vec::new();
    find(document.get_ref(), offset, &mut path).then(|| path.join("."))
}

/// 1-based line of byte `offset` in `text`.
fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// The `[features]` table of the experiment file at `path` alone, checked (absent: the
/// defaults, scikit-learn's); other tables are not read. For featurizing a corpus with an
/// experiment's feature set.
pub fn load_feature_config(path: &Path) -> Result<FeatureConfig, ConfigError> {
    /// The experiment file, of which only `[features]` matters here.
    #[derive(Deserialize)]
    struct FeaturesOnly {
        #[serde(default)]
        features: RawFeatureConfig,
    }

    let text = crate::persist::read_text(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    let parsed: FeaturesOnly =
        toml::from_str(&text).map_err(|err| syntax_error(path, &text, &err))?;
    parsed
        .features
        .check()
        .map_err(|err| ConfigError::Features {
            path: path.to_owned(),
            line: key_line(&text, &format!("features.{}", err.key())),
            message: err.to_string(),
        })
}

/// The 1-based line where the dotted key `path` (`features.hashing.n_features`) is written,
/// inline or under a `[table]` header; `None` if it is not written.
pub fn key_line(text: &str, path: &str) -> Option<usize> {
    let document = toml::de::DeTable::parse(text).ok()?;
    let mut table = document.get_ref();
    let mut parts = path.split('.').peekable();
    while let Some(part) = parts.next() {
        let (key, value) = table.get_key_value(part)?;
        if parts.peek().is_none() {
            return Some(line_of(text, key.span().start));
        }
        match value.get_ref() {
            toml::de::DeValue::Table(inner) => table = inner,
            _ => return None,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_error(toml_text: &str, expected: &str) {
        let err = Experiment::parse(Path::new("experiments/x.toml"), toml_text).unwrap_err();
        assert_eq!(err.to_string(), expected);
    }

    #[test]
    fn empty_file_is_the_baseline() {
        let experiment = Experiment::parse(Path::new("experiments/base.toml"), "").unwrap();
        assert_eq!(experiment.name(), "base");
        assert_eq!(
            experiment.data().store(),
            Path::new("experiments/../labels")
        );
        assert_eq!(experiment.data().classes(), ["fracturing", "stable"]);
        assert_eq!(
            experiment.record_path(),
            Path::new("experiments/results/base.json")
        );
        assert_eq!(experiment.stats().resamples(), 2000);
    }

    #[test]
    fn annotators_are_one_name_or_several_with_a_rule() {
        let parse = |text: &str| Experiment::parse(Path::new("experiments/x.toml"), text);
        let one = parse("[data]\nannotator = \"a\"\n").unwrap();
        assert_eq!(
            (one.data().annotators(), one.data().combine()),
            (&["a".to_owned()][..], None)
        );
        // One name is recorded as it always was: a string, no `combine`.
        assert_eq!(one.resolved()["data"]["annotator"], "a");
        assert!(one.resolved()["data"].get("combine").is_none());
        let listed = parse("[data]\nannotator = [\"a\"]\n").unwrap();
        assert_eq!(listed.data().annotators(), ["a"]);
        let two = parse("[data]\nannotator = [\"a\", \"b\"]\ncombine = \"unanimous\"\n").unwrap();
        assert_eq!(two.data().annotators(), ["a", "b"]);
        assert_eq!(two.data().combine(), Some(Combine::Unanimous));
        assert_eq!(two.data().annotator_names(), "a, b");
        assert_eq!(two.resolved()["data"]["combine"], "unanimous");
        check_error(
            "[data]\nannotator = [\"a\", \"b\"]\n",
            "experiments/x.toml:1: key `data.combine`: 2 annotators need a rule to make their \
             labels one: combine = \"majority\" (a tie leaves the paragraph out) or \"unanimous\" \
             (any disagreement does)",
        );
        check_error(
            "[data]\nannotator = \"a\"\ncombine = \"majority\"\n",
            "experiments/x.toml:3: key `data.combine`: combine = \"majority\" needs several \
             annotators, and `annotator` names one",
        );
        check_error(
            "[data]\nannotator = [\"a\", \"a\"]\ncombine = \"majority\"\n",
            "experiments/x.toml:2: key `data.annotator`: annotator `a` is listed twice",
        );
        check_error(
            "[data]\nannotator = []\n",
            "experiments/x.toml:2: key `data.annotator`: must name an annotator",
        );
        assert!(parse("[data]\nannotator = [\"a\", \"b\"]\ncombine = \"vote\"\n").is_err());
        assert!(parse("[data]\nannotator = 3\n").is_err());
    }

    #[test]
    fn config_hash_ignores_how_defaults_are_written() {
        let implicit = Experiment::parse(Path::new("a.toml"), "").unwrap();
        let explicit = Experiment::parse(
            Path::new("a.toml"),
            "[model]\nalpha = 1.0\n[cv]\nseed = 42\n",
        )
        .unwrap();
        assert_eq!(implicit.config_hash(), explicit.config_hash());
        let other = Experiment::parse(Path::new("a.toml"), "[model]\nalpha = 2.0\n").unwrap();
        assert_ne!(implicit.config_hash(), other.config_hash());
    }

    #[test]
    fn invalid_utf8_is_refused_with_its_position() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.toml");
        std::fs::write(&path, b"[data]\nclasses = [\"fr\xff\"]\n").unwrap();
        let err = Experiment::load(&path).unwrap_err();
        assert_eq!(
            format!("{:#}", anyhow::Error::from(err)),
            format!(
                "cannot read experiment {}: not UTF-8 at line 2, column 15 (byte 21)",
                path.display()
            )
        );
    }

    #[test]
    fn unknown_keys_name_file_and_line() {
        check_error(
            "[data]\nclasses = [\"fracturing\", \"stable\"]\n\n[features]\nngram = [1, 2]\n",
            "experiments/x.toml:5: unknown field `ngram`, expected one of `analyzer`, `token_pattern`, `lowercase`, `ngram_range`, `stop_words`, `stemming`, `min_df`, `max_df`, `max_features`, `binary`, `weighting`, `smooth_idf`, `sublinear_tf`, `norm`, `hashing`",
        );
        check_error(
            "[modle]\nalpha = 1\n",
            "experiments/x.toml:1: unknown field `modle`, expected one of `description`, `data`, `features`, `model`, `cv`, `stats`, `search`",
        );
    }

    #[test]
    fn out_of_range_values_name_file_line_and_key() {
        check_error(
            "[model]\nalpha = -1.0\n",
            "experiments/x.toml:2: key `model.alpha`: `alpha` must be a finite number >= 0, got -1",
        );
        check_error(
            "[data]\nclasses = [\"stable\"]\n",
            "experiments/x.toml:2: key `data.classes`: needs at least two classes, got 1",
        );
        check_error(
            "[data]\nclasses = [\"stable\", \"stable\"]\n",
            "experiments/x.toml:2: key `data.classes`: class `stable` is listed twice",
        );
        check_error(
            "\n[stats]\nmetric = \"accuracy\"\ncurve_fractions = [0.5, 0.2]\n",
            "experiments/x.toml:4: key `stats.curve_fractions`: must be strictly increasing fractions in (0, 1], got [0.5, 0.2]",
        );
    }

    #[test]
    fn wrong_types_are_named_in_words_with_their_key() {
        check_error(
            "[model]\nalpha = \"1\"\n",
            "experiments/x.toml:2: key `model.alpha`: expected a number, found the string \"1\" \
             (without quotes: alpha = 1)",
        );
        check_error(
            "[stats]\npermutations = -3\n",
            "experiments/x.toml:2: key `stats.permutations`: expected a whole number, 0 or more, \
             found -3",
        );
        check_error(
            "[cv]\nfolds = \"five\"\n",
            "experiments/x.toml:2: key `cv.folds`: expected a whole number, 0 or more, found the \
             string \"five\"",
        );
        check_error(
            "[data]\ndrop_low_confidence = 1\n",
            "experiments/x.toml:2: key `data.drop_low_confidence`: expected a boolean, found 1",
        );
    }

    #[test]
    fn keys_are_found_in_their_own_table_only() {
        let text = "[model]\nmin_df = 1\n\n[features]\nmax_df = 2\nmin_df = 3\n\
                    hashing = { n_features = 0 }\n[cv]\nngram_range = 1\n";
        assert_eq!(key_line(text, "features.min_df"), Some(6));
        assert_eq!(key_line(text, "features.hashing.n_features"), Some(7));
        assert_eq!(key_line(text, "features.ngram_range"), None);
        let nested = "[features.hashing]\nn_features = -1\n";
        assert_eq!(key_line(nested, "features.hashing.n_features"), Some(2));
    }

    #[test]
    fn line_of_counts_from_one() {
        assert_eq!(line_of("a\nb\nc", 0), 1);
        assert_eq!(line_of("a\nb\nc", 2), 2);
        assert_eq!(line_of("a\nb\nc", 4), 3);
    }
}
