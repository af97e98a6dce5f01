//! Runs that end in a record on disk, and records that stand for runs.
//!
//! A record written for the experiment file's current config and the current labels (same
//! `config_hash` and `data_hash`) is up to date: `compare` and `curve` reuse it instead of
//! running again. A run writes its record atomically, and never over a results file that
//! exists but is not a readable record (it may be someone's work) unless forced; it rewrites a
//! record only when its results changed, never replaces a more careful run's record with a
//! quicker one unless forced, and appends every run to the history (`history`). `verify`
//! re-runs an experiment the way its record was made (its planned permutations, its curve); `compare --repeats` re-runs it in
//! memory on repeated folds.

use std::path::Path;
use std::time::Instant;

use crate::cv::{RawCvConfig, SchemeKind};
use crate::history::{self, RecordFate, RunLine};
use crate::record::Record;

use super::{Dataset, Experiment, Progress, RunError, RunOptions, learning_curve, record_of, run};

/// What a run does with the experiment's record and the run history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordPolicy {
    /// Write the record (as [`RecordFate`] says) and append the run to the history; `false`
    /// writes nothing (`stance run --no-record`).
    pub write: bool,
    /// Replace a results file that is not a readable record, or a record of a more careful
    /// run (more permutations or resamples asked for).
    pub force: bool,
}

impl Default for RecordPolicy {
    fn default() -> Self {
        RecordPolicy {
            write: true,
            force: false,
        }
    }
}

/// A finished run and what became of its record.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// The run's results (those of the record on disk unless it was kept).
    pub record: Record,
    /// `None` when nothing was written.
    pub fate: Option<RecordFate>,
    /// Why a record was kept, or replaced only because forced: the careful run's size.
    pub careful: Option<String>,
}

/// Run `experiment` with its learning curve; then, as `policy` says, write its record and
/// append the run to the history (`results/runs.jsonl`). The record is written only when its
/// results changed: a run that reproduces it (identical apart from its timings and the build
/// that ran it) leaves the file as it is, so that re-running an experiment on a clean
/// checkout changes no tracked file, and `stance verify` still checks the very record that
/// was written. A record of a more careful run (more permutations or resamples asked for) is
/// not replaced by a quicker one unless forced, nor is a results file that is not a readable
/// record.
pub fn run_and_record(
    experiment: &Experiment,
    options: &RunOptions,
    policy: RecordPolicy,
    progress: &dyn Progress,
) -> Result<Recorded, RunError> {
    let record_path = experiment.record_path();
    if policy.write {
        refuse_to_clobber(&record_path, policy.force)?;
    }
    let record = in_experiment(experiment, || {
        let output = run(experiment, options, progress)?;
        // A handful of cross-validations, cheap beside the permutation test: every record
        // answers "would more labels help?" unless `[stats] curve_fractions = []`.
        let clock = Instant::now();
        let curve = learning_curve(experiment, &output.dataset, Some(&output.folds), progress)?;
        let mut record = record_of(experiment, &output, Some(&curve));
        record.timings.seconds_curve = Some(clock.elapsed().as_secs_f64());
        Ok(record)
    })?;
    keep(experiment, record, policy)
}

/// Write `record` of `experiment` as `policy` says (see [`run_and_record`]) and append its run
/// to the history.
pub(super) fn keep(
    experiment: &Experiment,
    record: Record,
    policy: RecordPolicy,
) -> Result<Recorded, RunError> {
    let record_path = experiment.record_path();
    if !policy.write {
        return Ok(Recorded {
            record,
            fate: None,
            careful: None,
        });
    }
    let existing = if record_path.exists() {
        Record::read(&record_path).ok()
    } else {
        None
    };
    let careful = existing.as_ref().and_then(|old| more_careful(old, &record));
    let fate = match &existing {
        Some(old) if same_results(old, &record) => RecordFate::Unchanged,
        Some(_) if careful.is_some() && !policy.force => RecordFate::Kept,
        Some(_) if careful.is_some() => RecordFate::Forced,
        _ => RecordFate::Written,
    };
    if matches!(fate, RecordFate::Written | RecordFate::Forced) {
        // Checked again as the record replaces the file: something may have been written
        // there while the experiment ran.
        let mut refused = None;
        let written = record.write_checked(&record_path, || {
            refuse_to_clobber(&record_path, policy.force).map_err(|err| {
                let message = err.to_string();
                refused = Some(err);
                std::io::Error::other(message)
            })
        });
        if let Some(err) = refused {
            return Err(err);
        }
        written?;
    }
    let history = history::path_in(record_path.parent().unwrap_or(Path::new("")));
    history::append(&history, &RunLine::of(&record, fate))?;
    Ok(Recorded {
        record,
        fate: Some(fate),
        careful,
    })
}

/// Whether two records hold the same results: equal in everything but their timings and the
/// build that ran them.
fn same_results(a: &Record, b: &Record) -> bool {
    let comparable = |record: &Record| {
        let mut value = serde_json::to_value(record).ok()?;
        let fields = value.as_object_mut()?;
        fields.remove("timings");
        fields.remove("version");
        Some(value)
    };
    match (comparable(a), comparable(b)) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

/// Permutations asked for (not those run: the sequential test may stop early).
fn permutations_requested(record: &Record) -> usize {
    record
        .permutation
        .as_ref()
        .map_or(0, |p| p.planned.unwrap_or(p.n_permutations))
}

/// How `old` was more careful than `new`, if it was: more permutations or bootstrap
/// resamples asked for.
fn more_careful(old: &Record, new: &Record) -> Option<String> {
    let mut more = Vec::new();
    let (old_permutations, new_permutations) =
        (permutations_requested(old), permutations_requested(new));
    if new_permutations < old_permutations {
        more.push(format!(
            "{old_permutations} permutations (this run: {new_permutations})"
        ));
    }
    if new.interval.resamples < old.interval.resamples {
        more.push(format!(
            "{} bootstrap resamples (this run: {})",
            old.interval.resamples, new.interval.resamples
        ));
    }
    (!more.is_empty()).then(|| more.join(" and "))
}

/// A results file that exists but cannot be read as a record may be someone's work: say so
/// instead of replacing it.
pub(super) fn refuse_to_clobber(path: &Path, force: bool) -> Result<(), RunError> {
    if force || !path.exists() {
        return Ok(());
    }
    match Record::read(path) {
        Ok(_) => Ok(()),
        Err(err) => Err(RunError::WouldOverwrite {
            reason: err.to_string(),
        }),
    }
}

/// The experiment's record if it exists and was written for this config and these labels.
pub fn up_to_date_record(experiment: &Experiment) -> Result<Option<Record>, RunError> {
    let path = experiment.record_path();
    if !path.exists() {
        return Ok(None);
    }
    let Ok(record) = Record::read(&path) else {
        return Ok(None);
    };
    let dataset = in_experiment(experiment, || Ok(Dataset::load(experiment.data())?))?;
    let current =
        record.config_hash == experiment.config_hash() && record.data_hash == dataset.hash();
    Ok(current.then_some(record))
}

/// Run `experiment` again as `recorded` was made (its permutation count and, if it has one,
/// its learning curve), for comparison; nothing is written.
pub fn rerun_like(
    experiment: &Experiment,
    recorded: &Record,
    progress: &dyn Progress,
) -> Result<Record, RunError> {
    let permutations = recorded
        .permutation
        .as_ref()
        .map_or(0, |p| p.planned.unwrap_or(p.n_permutations));
    let options = RunOptions {
        permutations: Some(permutations),
    };
    in_experiment(experiment, || {
        let output = run(experiment, &options, progress)?;
        let curve = match recorded.learning_curve {
            Some(_) => Some(learning_curve(
                experiment,
                &output.dataset,
                Some(&output.folds),
                progress,
            )?),
            None => None,
        };
        Ok(record_of(experiment, &output, curve.as_deref()))
    })
}

/// Run `experiment` in memory on `repeats` repeats of its k folds (reshuffled; of whole
/// articles if its folds are), keeping its seed, without a permutation test or a learning
/// curve; nothing is written. Leave-one-group-out has no repeats.
pub fn run_repeated(
    experiment: &Experiment,
    repeats: usize,
    progress: &dyn Progress,
) -> Result<Record, RunError> {
    if !(1..=crate::cv::MAX_REPEATS).contains(&repeats) {
        return Err(RunError::Repeats(format!(
            "--repeats must be between 1 and {}, got {repeats}",
            crate::cv::MAX_REPEATS
        )));
    }
    let cv = experiment.cv();
    if matches!(
        cv.kind(),
        SchemeKind::LeaveOneGroupOut | SchemeKind::Holdout
    ) {
        return Err(RunError::Repeats(format!(
            "--repeats applies to stratified k-fold; {} uses {}",
            experiment.path().display(),
            cv.kind().as_str().replace('_', "-")
        )));
    }
    // Folds of whole articles stay so, reshuffled.
    let scheme = match cv.kind() {
        SchemeKind::StratifiedGroupKFold => SchemeKind::StratifiedGroupKFold,
        _ => SchemeKind::RepeatedStratifiedKFold,
    };
    let raw = RawCvConfig {
        scheme,
        folds: cv.folds(),
        repeats: Some(repeats),
        seed: cv.seed(),
        test_split: None,
    };
    let scheme = raw
        .check()
        .map_err(|err| RunError::Repeats(err.to_string()))?;
    let repeated = experiment.with_cv(scheme);
    let options = RunOptions {
        permutations: Some(0),
    };
    in_experiment(experiment, || {
        let output = run(&repeated, &options, progress)?;
        Ok(record_of(&repeated, &output, None))
    })
}

/// `work`'s error, if any, placed in `experiment`'s file.
fn in_experiment<T>(
    experiment: &Experiment,
    work: impl FnOnce() -> Result<T, RunError>,
) -> Result<T, RunError> {
    work().map_err(|source| RunError::InExperiment {
        path: experiment.path().to_owned(),
        source: Box::new(source),
    })
}
