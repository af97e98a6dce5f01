//! Experiments: a checked config in, cross-validated results out, as a [`record::Record`].
//!
//! `config` reads the TOML; `data` selects labelled paragraphs from the store; `run` is one
//! run: `cross_validate` fits featurizer and model per fold (`fit_on_rows`, the one place
//! folds meet features), `evaluate` scores the out-of-fold predictions with intervals,
//! `permutation` tests against chance; `search` holds a tuned experiment's candidates;
//! `curve` draws the learning curve; `shard` cuts a run into shards and merges them back;
//! `report` turns
//! results into the on-disk record; `cache` reuses and writes records; `compare` and
//! `verify` work on records; `train` fits a model on all labels and `inspect` lists the
//! terms that carry each class. This file holds only what they share: [`RunError`] and
//! [`Progress`]. This module never prints: progress goes through [`Progress`], and the CLI
//! decides what the user sees.
//!
//! [`record::Record`]: crate::record::Record

mod active;
mod cache;
mod compare;
mod config;
mod cross_validate;
mod curve;
mod data;
mod evaluate;
mod inspect;
mod permutation;
#[cfg(test)]
mod protocol_tests;
mod report;
mod run;
mod search;
mod shard;
mod simulate;
mod train;
mod verify;

#[cfg(test)]
mod tests;

use std::path::PathBuf;

pub use active::{
    LabelState, LabellingOrder, MIN_PER_CLASS, OrderError, by_margin, fit_and_predict, margin,
    permutation,
};
pub use cache::{
    RecordPolicy, Recorded, rerun_like, run_and_record, run_repeated, up_to_date_record,
};
pub(crate) use compare::flatten;
pub use compare::{
    Comparison, ComparisonRow, PairedTests, add_metric_from_predictions, compare_records,
};
pub use config::{
    AnnotatorNames, BootstrapUnit, Combine, ConfigError, DataConfig, Experiment,
    PermutationStopping, RawDataConfig, RawStatsConfig, StatsConfig, key_line, load_feature_config,
};
pub use cross_validate::{
    Choice, FitError, FoldError, FoldResult, Learner, OutOfFold, cross_validate, fit_on_rows,
};
pub use curve::{CurvePoint, learning_curve};
pub use data::{DataError, Dataset, Item};
pub use evaluate::{
    ArticleAccuracy, EvaluateError, Evaluation, FoldScores, GroupScores, IntervalSpec, MetricValue,
    tested_view,
};
pub use inspect::{FoldFit, SignStability, TermWeight, fit_folds, top_terms};
pub use permutation::PermutationOutcome;
pub use report::record_of;
pub(crate) use run::splits_for;
pub use run::{RunOptions, RunOutput, run, thousands};
pub use search::{Candidate, SearchConfig};
pub use shard::{
    Shard, ShardError, merge, merge_and_record, partial_path, partial_paths, run_shard,
    run_shard_and_write,
};
pub use simulate::{
    Curve, Estimate, Pairing, RawSimulation, SimulateError, Simulation, SimulationSpec, simulate,
};
pub use train::{TrainError, train, train_on};
pub use verify::{Difference, Verification, verify_record};

use crate::cv;
use crate::persist::DocumentError;
use crate::stats::permutation::PermutationError;

/// Anything that stops an experiment from running.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Data(#[from] DataError),
    #[error("cross-validation: {0}")]
    Cv(cv::CvError),
    #[error(transparent)]
    Fold(#[from] FoldError),
    #[error(transparent)]
    Evaluate(#[from] EvaluateError),
    #[error("permutation test: {0}")]
    Permutation(PermutationError),
    #[error("learning curve: {0}")]
    Curve(cv::CvError),
    #[error(transparent)]
    Shard(#[from] ShardError),
    /// The results file exists and is not a readable record (`reason`): it may be someone's
    /// work.
    #[error("{reason}\nrefusing to overwrite it: move it away, or pass --force to replace it")]
    WouldOverwrite { reason: String },
    #[error(transparent)]
    Record(#[from] DocumentError),
    #[error(transparent)]
    History(#[from] crate::history::HistoryError),
    /// Repeated cross-validation cannot be asked of this experiment.
    #[error("{0}")]
    Repeats(String),
    #[error("experiment {}", path.display())]
    InExperiment {
        path: PathBuf,
        source: Box<RunError>,
    },
}

/// Where long work reports how far it has got; the CLI draws a progress bar from it.
pub trait Progress: Sync {
    /// A new stage with `total` steps begins.
    fn stage(&self, name: &str, total: u64);
    /// One step of the current stage is done.
    fn tick(&self);
    /// Something the user should know before long work starts (its size, an estimate).
    fn note(&self, _message: &str) {}
    /// Whether [`partial`](Progress::partial) is wanted (a record is built for it).
    fn wants_partial(&self) -> bool {
        false
    }
    /// The cross-validated results, as a record without its permutation test and learning
    /// curve, before those start: shown then, they survive an interrupted run.
    fn partial(&self, _record: &crate::record::Record) {}
}

/// Reports nothing.
pub struct Silent;

impl Progress for Silent {
    fn stage(&self, _name: &str, _total: u64) {}
    fn tick(&self) {}
}
