//! A run cut into shards, and the shards merged back: the run's independent tasks in, one
//! shard's partial record out (`stance run --shard I/N`); the N partial records in, the
//! record the unsharded run writes out (`stance merge`).
//!
//! A run's tasks, numbered in one fixed order: its cross-validation folds (one fit each), its
//! permutation shuffles (one whole cross-validation each) and its learning-curve folds (one
//! fit each, fraction by fraction; the fraction 1 is the cross-validation itself). Shard `I`
//! of `N` computes the tasks whose number is `I − 1` modulo `N`. Every task is a function of
//! config, labels and seed alone, so where it ran does not change its result; the merge
//! scores the folds, ranks the observed metric among the shuffles (stopping where the
//! sequential test of the unsharded run stops) and draws the curve exactly as `run` does.
//! What it never does: fit a model. A shard cannot know where the sequential permutation test
//! will stop, so the shards compute every planned shuffle.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use ndarray::Array2;
use rayon::prelude::*;

use crate::cv::Split;
use crate::model::{Convergence, Solver};
use crate::persist::Version;
use crate::record::{
    self, PartialChoice, PartialCurveFold, PartialFold, PartialRecord, PartialShuffle,
    PartialTimings, Record,
};

use super::cache::{RecordPolicy, Recorded, keep, refuse_to_clobber};
use super::cross_validate::{Choice, FoldResult};
use super::curve::{curve_of, curve_subsets};
use super::permutation::shuffled_metric;
use super::run::{Prepared, Shuffles, assemble};
use super::{Experiment, Progress, RunError, RunOptions, record_of};

/// One shard of a run: `index` of `count`, numbered from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    index: usize,
    count: usize,
}

impl Shard {
    /// Shard `index` (from 1) of `count`.
    pub fn new(index: usize, count: usize) -> Result<Shard, ShardError> {
        if count == 0 || index == 0 || index > count {
            return Err(ShardError::Spec(format!(
                "there is no shard {index}/{count}: shards are numbered 1 to N, with N at least 1"
            )));
        }
        Ok(Shard { index, count })
    }

    pub fn index(self) -> usize {
        self.index
    }

    pub fn count(self) -> usize {
        self.count
    }

    fn owns(self, task: usize) -> bool {
        task % self.count == self.index - 1
    }
}

impl std::str::FromStr for Shard {
    type Err = ShardError;

    /// `I/N`, e.g. `2/3`.
    fn from_str(text: &str) -> Result<Shard, ShardError> {
        let parsed = text
            .split_once('/')
            .and_then(|(i, n)| Some((i.trim().parse().ok()?, n.trim().parse().ok()?)));
        match parsed {
            Some((index, count)) => Shard::new(index, count),
            None => Err(ShardError::Spec(format!(
                "`{text}` is not of the form I/N (e.g. 2/3: the second of three shards)"
            ))),
        }
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// Why shards cannot be run or merged.
#[derive(Debug, thiserror::Error)]
pub enum ShardError {
    #[error("{0}")]
    Spec(String),
    #[error("{}: a shard of experiment `{found}`, not `{expected}`", path.display())]
    OtherExperiment {
        path: PathBuf,
        found: String,
        expected: String,
    },
    #[error(
        "{}: computed for another config of this experiment (config_hash {found}, the file now gives {expected}): re-run that shard",
        path.display()
    )]
    OtherConfig {
        path: PathBuf,
        found: String,
        expected: String,
    },
    #[error(
        "{}: computed on other labels (data_hash {found}, the store now gives {expected}): re-run that shard",
        path.display()
    )]
    OtherLabels {
        path: PathBuf,
        found: String,
        expected: String,
    },
    #[error(
        "{}: written by another build of stance ({found}; this is {expected}): merge with the build that ran the shards",
        path.display()
    )]
    OtherBuild {
        path: PathBuf,
        found: String,
        expected: String,
    },
    #[error(
        "{}: shard {found} of a run of {found_permutations} permutations, but {} is shard {first} of {first_permutations}: the shards are of different runs",
        path.display(), first_path.display()
    )]
    Mixed {
        path: PathBuf,
        found: String,
        found_permutations: usize,
        first_path: PathBuf,
        first: String,
        first_permutations: usize,
    },
    #[error("shard {shard} given twice: {} and {}", first.display(), second.display())]
    Duplicate {
        shard: String,
        first: PathBuf,
        second: PathBuf,
    },
    #[error("shard{} {} missing: merging needs all {count} (given: {})",
        if missing.len() == 1 { "" } else { "s" },
        missing.join(", "),
        if given.is_empty() { "none".to_owned() } else { given.join(", ") }
    )]
    Missing {
        missing: Vec<String>,
        given: Vec<String>,
        count: usize,
    },
    #[error("{}: {what}", path.display())]
    Inconsistent { path: PathBuf, what: String },
    #[error("no partial records to merge: give them, or run `stance run --shard I/N` first")]
    NoPartials,
}

/// Where shard `shard` of `experiment` writes its partial record: beside the record,
/// `results/NAME.shard-I-of-N.json`.
pub fn partial_path(experiment: &Experiment, shard: Shard) -> PathBuf {
    let record = experiment.record_path();
    record.with_file_name(format!(
        "{}.shard-{}-of-{}.json",
        experiment.name(),
        shard.index,
        shard.count
    ))
}

/// The partial records of `experiment` beside its record (`results/NAME.shard-*-of-*.json`),
/// in name order.
pub fn partial_paths(experiment: &Experiment) -> Vec<PathBuf> {
    let record = experiment.record_path();
    let prefix = format!("{}.shard-", experiment.name());
    let Some(Ok(entries)) = record.parent().map(std::fs::read_dir) else {
        return Vec::new();
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| {
            path.file_name()
                .and_then(|name| name.to_str())
                .is_some_and(|name| {
                    name.starts_with(&prefix)
                        && name.ends_with(".json")
                        && name.contains("-of-")
                        && !name.starts_with('.')
                })
        })
        .collect();
    paths.sort();
    paths
}

/// The run's tasks, in their fixed order.
#[derive(Debug, Clone, Copy)]
enum Task {
    /// A cross-validation fold: index into the splits.
    Fold(usize),
    /// A permutation shuffle.
    Shuffle(usize),
    /// A learning-curve fold: index into the curve's fitted fractions, and into the splits.
    Curve(usize, usize),
}

/// How many tasks of each kind a run has.
struct Plan {
    folds: usize,
    permutations: usize,
    /// Indices into `[stats] curve_fractions` of the fractions that are fitted (all but 1).
    curve_fractions: Vec<usize>,
}

impl Plan {
    fn of(experiment: &Experiment, folds: usize, permutations: usize) -> Plan {
        Plan {
            folds,
            permutations,
            curve_fractions: experiment
                .stats()
                .curve_fractions()
                .iter()
                .enumerate()
                .filter(|&(_, &fraction)| fraction != 1.0)
                .map(|(index, _)| index)
                .collect(),
        }
    }

    fn tasks(&self) -> impl Iterator<Item = (usize, Task)> + '_ {
        let folds = (0..self.folds).map(Task::Fold);
        let shuffles = (0..self.permutations).map(Task::Shuffle);
        let curve = (0..self.curve_fractions.len())
            .flat_map(move |k| (0..self.folds).map(move |s| Task::Curve(k, s)));
        folds.chain(shuffles).chain(curve).enumerate()
    }

    fn len(&self) -> usize {
        self.folds * (1 + self.curve_fractions.len()) + self.permutations
    }
}

/// What one task produced.
enum Done {
    Fold(usize, FoldResult),
    Shuffle(usize, Option<f64>),
    Curve(usize, usize, FoldResult),
}

/// Compute `shard`'s tasks of `experiment` (with its learning curve, as `stance run` draws
/// it) into a partial record; nothing is written.
pub fn run_shard(
    experiment: &Experiment,
    options: &RunOptions,
    shard: Shard,
    progress: &dyn Progress,
) -> Result<PartialRecord, RunError> {
    let started_at = jiff::Timestamp::now();
    let clock = Instant::now();
    let prepared = Prepared::new(experiment)?;
    let permutations = options
        .permutations
        .unwrap_or(experiment.stats().permutations());
    let plan = Plan::of(experiment, prepared.splits.len(), permutations);
    let owned: Vec<Task> = plan
        .tasks()
        .filter(|&(number, _)| shard.owns(number))
        .map(|(_, task)| task)
        .collect();
    let count = |kind: fn(&Task) -> bool| owned.iter().filter(|t| kind(t)).count();
    let shuffles = count(|t| matches!(t, Task::Shuffle(_)));
    progress.note(&format!(
        "shard {shard}: {} of the run's {} tasks ({}, {}, {}){}",
        owned.len(),
        plan.len(),
        counted(count(|t| matches!(t, Task::Fold(_))), "fold"),
        counted(shuffles, "permutation shuffle"),
        counted(
            count(|t| matches!(t, Task::Curve(..))),
            "learning-curve fold"
        ),
        if shuffles > 0 {
            "; each shuffle is a whole cross-validation, and a shard computes every planned \
             one (only the merge can tell where the sequential test stops): --permutations \
             bounds them"
        } else {
            ""
        }
    ));
    let curve_splits = plan
        .curve_fractions
        .iter()
        .map(|&index| {
            let fraction = experiment.stats().curve_fractions()[index];
            curve_subsets(experiment, &prepared.labels, &prepared.splits, fraction)
        })
        .collect::<Result<Vec<Vec<Split>>, RunError>>()?;
    let inputs = prepared.permutation_inputs(experiment);
    progress.stage(&format!("shard {shard}"), owned.len() as u64);
    let timed = owned
        .par_iter()
        .map(|&task| {
            let clock = Instant::now();
            let done = match task {
                Task::Fold(s) => Done::Fold(
                    s,
                    prepared
                        .learner
                        .fit_split(&prepared.labels, &prepared.splits[s])?,
                ),
                Task::Shuffle(p) => Done::Shuffle(p, shuffled_metric(&inputs, p as u64, &|| {})?),
                Task::Curve(k, s) => Done::Curve(
                    k,
                    s,
                    prepared
                        .learner
                        .fit_split(&prepared.labels, &curve_splits[k][s])?,
                ),
            };
            progress.tick();
            Ok((done, clock.elapsed().as_secs_f64()))
        })
        .collect::<Result<Vec<(Done, f64)>, RunError>>()?;

    let mut partial = PartialRecord {
        format: record::PARTIAL_FORMAT.to_owned(),
        experiment: experiment.name().to_owned(),
        config_hash: experiment.config_hash(),
        data_hash: prepared.dataset.hash(),
        version: Version::of_this_build(),
        shard: shard.index,
        shards: shard.count,
        tasks: plan.len(),
        permutations,
        folds: Vec::new(),
        shuffles: Vec::new(),
        curve: Vec::new(),
        timings: PartialTimings {
            started_at: started_at.to_string(),
            seconds_total: 0.0,
            seconds_cv: 0.0,
            seconds_permutation: 0.0,
            seconds_curve: 0.0,
        },
    };
    for (done, seconds) in timed {
        match done {
            Done::Fold(split, fold) => {
                partial.timings.seconds_cv += seconds;
                partial.folds.push(partial_fold(split, &fold));
            }
            Done::Shuffle(permutation, value) => {
                partial.timings.seconds_permutation += seconds;
                partial.shuffles.push(PartialShuffle { permutation, value });
            }
            Done::Curve(k, split, fold) => {
                partial.timings.seconds_curve += seconds;
                partial.curve.push(PartialCurveFold {
                    fraction: plan.curve_fractions[k],
                    fold: partial_fold(split, &fold),
                });
            }
        }
    }
    partial.timings.seconds_total = clock.elapsed().as_secs_f64();
    Ok(partial)
}

/// `n thing` or `n things`.
fn counted(n: usize, thing: &str) -> String {
    format!("{n} {thing}{}", if n == 1 { "" } else { "s" })
}

/// Run `shard` of `experiment` and write its partial record beside the record; its path is
/// returned. A file there that is not a readable partial record is only replaced when
/// `force` is set.
pub fn run_shard_and_write(
    experiment: &Experiment,
    options: &RunOptions,
    shard: Shard,
    force: bool,
    progress: &dyn Progress,
) -> Result<PathBuf, RunError> {
    let path = partial_path(experiment, shard);
    if !force
        && path.exists()
        && let Err(err) = PartialRecord::read(&path)
    {
        return Err(RunError::WouldOverwrite {
            reason: err.to_string(),
        });
    }
    let partial = run_shard(experiment, options, shard, progress).map_err(|source| {
        RunError::InExperiment {
            path: experiment.path().to_owned(),
            source: Box::new(source),
        }
    })?;
    partial.write(&path)?;
    Ok(path)
}

/// Merge the partial records at `paths` (all the shards of one run of `experiment`) into the
/// record the unsharded run writes, and keep it as `stance run` does (`policy`: written unless
/// unchanged or a more careful run's, appended to the run history).
pub fn merge_and_record(
    experiment: &Experiment,
    paths: &[PathBuf],
    policy: RecordPolicy,
    progress: &dyn Progress,
) -> Result<Recorded, RunError> {
    if policy.write {
        refuse_to_clobber(&experiment.record_path(), policy.force)?;
    }
    let partials = paths
        .iter()
        .map(|path| Ok((path.clone(), PartialRecord::read(path)?)))
        .collect::<Result<Vec<_>, RunError>>()?;
    let record =
        merge(experiment, &partials, progress).map_err(|source| RunError::InExperiment {
            path: experiment.path().to_owned(),
            source: Box::new(source),
        })?;
    keep(experiment, record, policy)
}

/// The record of `experiment` from the partial records of all its shards (each with the
/// path it was read from, for messages).
pub fn merge(
    experiment: &Experiment,
    partials: &[(PathBuf, PartialRecord)],
    progress: &dyn Progress,
) -> Result<Record, RunError> {
    let clock = Instant::now();
    let (first_path, first) = partials
        .first()
        .ok_or(RunError::Shard(ShardError::NoPartials))?;
    let build = Version::of_this_build();
    let mut by_index: BTreeMap<usize, &Path> = BTreeMap::new();
    for (path, partial) in partials {
        check_partial(experiment, path, partial, &build)?;
        if (partial.shards, partial.permutations, partial.tasks)
            != (first.shards, first.permutations, first.tasks)
        {
            return Err(ShardError::Mixed {
                path: path.clone(),
                found: format!("{}/{}", partial.shard, partial.shards),
                found_permutations: partial.permutations,
                first_path: first_path.clone(),
                first: format!("{}/{}", first.shard, first.shards),
                first_permutations: first.permutations,
            }
            .into());
        }
        if let Some(earlier) = by_index.insert(partial.shard, path) {
            return Err(ShardError::Duplicate {
                shard: format!("{}/{}", partial.shard, partial.shards),
                first: earlier.to_owned(),
                second: path.clone(),
            }
            .into());
        }
    }
    let count = first.shards;
    let missing: Vec<String> = (1..=count)
        .filter(|index| !by_index.contains_key(index))
        .map(|index| format!("{index}/{count}"))
        .collect();
    if !missing.is_empty() {
        return Err(ShardError::Missing {
            missing,
            given: by_index.keys().map(|i| format!("{i}/{count}")).collect(),
            count,
        }
        .into());
    }

    let prepared = Prepared::new(experiment)?;
    let data_hash = prepared.dataset.hash();
    if let Some((path, partial)) = partials.iter().find(|(_, p)| p.data_hash != data_hash) {
        return Err(ShardError::OtherLabels {
            path: path.clone(),
            found: partial.data_hash.clone(),
            expected: data_hash,
        }
        .into());
    }
    let plan = Plan::of(experiment, prepared.splits.len(), first.permutations);
    let collected = Collected::of(&plan, &prepared, experiment, partials)?;

    let output = assemble(
        experiment,
        prepared,
        collected.folds,
        plan.permutations,
        Shuffles::Given(&collected.shuffles),
        progress,
    )?;
    let curve_folds = collected.curve;
    let fitted = |index: usize, subsets: &[Split]| -> Result<Vec<FoldResult>, RunError> {
        subsets.iter().for_each(|_| progress.tick());
        Ok(curve_folds[&index].clone())
    };
    let curve = curve_of(
        experiment,
        &output.dataset,
        Some(&output.folds),
        progress,
        &fitted,
    )?;
    let mut record = record_of(experiment, &output, Some(&curve));
    let sum = |seconds: fn(&PartialTimings) -> f64| -> f64 {
        partials.iter().map(|(_, p)| seconds(&p.timings)).sum()
    };
    record.timings.started_at = partials
        .iter()
        .map(|(_, p)| p.timings.started_at.clone())
        .min()
        .unwrap_or_default();
    record.timings.seconds_cv = sum(|t| t.seconds_cv);
    record.timings.seconds_permutation = sum(|t| t.seconds_permutation);
    record.timings.seconds_curve = Some(sum(|t| t.seconds_curve));
    record.timings.seconds_total = sum(|t| t.seconds_total) + clock.elapsed().as_secs_f64();
    Ok(record)
}

/// A partial record belongs to this experiment, config and build.
fn check_partial(
    experiment: &Experiment,
    path: &Path,
    partial: &PartialRecord,
    build: &Version,
) -> Result<(), ShardError> {
    if partial.experiment != experiment.name() {
        return Err(ShardError::OtherExperiment {
            path: path.to_owned(),
            found: partial.experiment.clone(),
            expected: experiment.name().to_owned(),
        });
    }
    if partial.config_hash != experiment.config_hash() {
        return Err(ShardError::OtherConfig {
            path: path.to_owned(),
            found: partial.config_hash.clone(),
            expected: experiment.config_hash(),
        });
    }
    if &partial.version != build {
        let describe = |v: &Version| {
            format!(
                "{}{}{}",
                v.crate_version,
                v.git_commit
                    .as_deref()
                    .map_or(String::new(), |c| format!(" commit {c}")),
                if v.git_dirty == Some(true) {
                    " with local changes"
                } else {
                    ""
                }
            )
        };
        return Err(ShardError::OtherBuild {
            path: path.to_owned(),
            found: describe(&partial.version),
            expected: describe(build),
        });
    }
    if partial.shards == 0 || partial.shard == 0 || partial.shard > partial.shards {
        return Err(ShardError::Inconsistent {
            path: path.to_owned(),
            what: format!("shard {}/{} does not exist", partial.shard, partial.shards),
        });
    }
    Ok(())
}

/// Every task's result, from the shards that computed them.
struct Collected {
    folds: Vec<FoldResult>,
    shuffles: Vec<Option<f64>>,
    /// By index into `[stats] curve_fractions`: the folds of that fraction, in split order.
    curve: BTreeMap<usize, Vec<FoldResult>>,
}

impl Collected {
    fn of(
        plan: &Plan,
        prepared: &Prepared,
        experiment: &Experiment,
        partials: &[(PathBuf, PartialRecord)],
    ) -> Result<Collected, ShardError> {
        let n_classes = prepared.dataset.classes().len();
        let splits = &prepared.splits;
        let mut folds: Vec<Option<FoldResult>> = vec![None; plan.folds];
        let mut shuffles: Vec<Option<Option<f64>>> = vec![None; plan.permutations];
        let mut curve: Vec<Vec<Option<FoldResult>>> =
            vec![vec![None; plan.folds]; plan.curve_fractions.len()];
        let mut number_of = BTreeMap::new();
        for (number, task) in plan.tasks() {
            let key = match task {
                Task::Fold(s) => (0, s, 0),
                Task::Shuffle(p) => (1, p, 0),
                Task::Curve(k, s) => (2, plan.curve_fractions[k], s),
            };
            number_of.insert(key, number);
        }
        for (path, partial) in partials {
            let shard = Shard::new(partial.shard, partial.shards).expect("checked");
            let fault = |what: String| ShardError::Inconsistent {
                path: path.clone(),
                what,
            };
            if partial.tasks != plan.len() {
                return Err(fault(format!(
                    "its run has {} tasks, this experiment's {}: the shards are of another run",
                    partial.tasks,
                    plan.len()
                )));
            }
            let owned = |key: (usize, usize, usize), what: &str| match number_of.get(&key) {
                Some(&number) if shard.owns(number) => Ok(()),
                Some(_) => Err(fault(format!("{what} belongs to another shard"))),
                None => Err(fault(format!("{what} is not a task of this run"))),
            };
            for fold in &partial.folds {
                let what = format!("fold #{}", fold.split);
                owned((0, fold.split, 0), &what)?;
                let result = fold_result(fold, &splits[fold.split], n_classes)
                    .map_err(|e| fault(format!("{what}: {e}")))?;
                if folds[fold.split].replace(result).is_some() {
                    return Err(fault(format!("{what} appears twice")));
                }
            }
            for shuffle in &partial.shuffles {
                let what = format!("permutation #{}", shuffle.permutation);
                owned((1, shuffle.permutation, 0), &what)?;
                if shuffles[shuffle.permutation]
                    .replace(shuffle.value)
                    .is_some()
                {
                    return Err(fault(format!("{what} appears twice")));
                }
            }
            for point in &partial.curve {
                let what = format!(
                    "learning-curve fraction #{}, fold #{}",
                    point.fraction, point.fold.split
                );
                owned((2, point.fraction, point.fold.split), &what)?;
                let k = plan
                    .curve_fractions
                    .iter()
                    .position(|&f| f == point.fraction)
                    .expect("owned tasks exist");
                let fraction = experiment.stats().curve_fractions()[point.fraction];
                let subset = curve_subsets(
                    experiment,
                    &prepared.labels,
                    std::slice::from_ref(&splits[point.fold.split]),
                    fraction,
                )
                .map_err(|e| fault(format!("{what}: {e}")))?;
                let result = fold_result(&point.fold, &subset[0], n_classes)
                    .map_err(|e| fault(format!("{what}: {e}")))?;
                if curve[k][point.fold.split].replace(result).is_some() {
                    return Err(fault(format!("{what} appears twice")));
                }
            }
        }
        // Each shard held exactly its tasks (checked above), and every shard is present: a
        // gap can only be a task a shard left out.
        let gap = |what: String| ShardError::Inconsistent {
            path: PathBuf::from(&partials[0].0),
            what: format!("the shards lack {what}"),
        };
        let folds = folds
            .into_iter()
            .enumerate()
            .map(|(s, fold)| fold.ok_or_else(|| gap(format!("fold #{s}"))))
            .collect::<Result<Vec<_>, _>>()?;
        let shuffles = shuffles
            .into_iter()
            .enumerate()
            .map(|(p, value)| value.ok_or_else(|| gap(format!("permutation #{p}"))))
            .collect::<Result<Vec<_>, _>>()?;
        let mut by_fraction = BTreeMap::new();
        for (k, folds) in curve.into_iter().enumerate() {
            let index = plan.curve_fractions[k];
            let folds = folds
                .into_iter()
                .enumerate()
                .map(|(s, fold)| {
                    fold.ok_or_else(|| gap(format!("learning-curve fraction #{index}, fold #{s}")))
                })
                .collect::<Result<Vec<_>, _>>()?;
            by_fraction.insert(index, folds);
        }
        Ok(Collected {
            folds,
            shuffles,
            curve: by_fraction,
        })
    }
}

/// A fold's predictions as a partial record holds them.
fn partial_fold(split: usize, fold: &FoldResult) -> PartialFold {
    let rows = |matrix: &Array2<f64>| -> Vec<Vec<f64>> {
        matrix.rows().into_iter().map(|row| row.to_vec()).collect()
    };
    let norm = fold.convergence.gradient_norm;
    PartialFold {
        split,
        repeat: fold.split.repeat(),
        fold: fold.split.fold(),
        train: fold.split.train().len(),
        test: fold.split.test().len(),
        probabilities: rows(&fold.probabilities),
        baseline: rows(&fold.baseline),
        solver: fold.solver.as_str().to_owned(),
        converged: fold.convergence.converged,
        gradient_norm: norm.is_finite().then_some(norm),
        gradient_norm_text: (!norm.is_finite()).then(|| norm.to_string()),
        tolerance: fold.convergence.tolerance,
        iterations: fold.convergence.iterations,
        message: fold.convergence.message.clone(),
        choices: fold
            .choices
            .iter()
            .map(|choice| PartialChoice {
                group: choice.group,
                candidate: choice.candidate,
                inner_scores: choice.inner_scores.clone(),
            })
            .collect(),
    }
}

/// A partial record's fold back as the fold of `split`, checked to be that fold's.
fn fold_result(fold: &PartialFold, split: &Split, n_classes: usize) -> Result<FoldResult, String> {
    if (fold.repeat, fold.fold, fold.train, fold.test)
        != (
            split.repeat(),
            split.fold(),
            split.train().len(),
            split.test().len(),
        )
    {
        return Err(format!(
            "it is repeat {}, fold {} with {} training and {} test paragraphs; this run's is repeat {}, fold {} with {} and {}",
            fold.repeat,
            fold.fold,
            fold.train,
            fold.test,
            split.repeat(),
            split.fold(),
            split.train().len(),
            split.test().len()
        ));
    }
    let matrix = |rows: &[Vec<f64>], what: &str| -> Result<Array2<f64>, String> {
        if rows.len() != split.test().len() || rows.iter().any(|row| row.len() != n_classes) {
            return Err(format!(
                "its {what} are not {} rows of {n_classes} classes",
                split.test().len()
            ));
        }
        let flat: Vec<f64> = rows.iter().flatten().copied().collect();
        Ok(Array2::from_shape_vec((rows.len(), n_classes), flat).expect("shape checked"))
    };
    let solver =
        Solver::parse(&fold.solver).ok_or_else(|| format!("unknown solver `{}`", fold.solver))?;
    let gradient_norm = match (fold.gradient_norm, &fold.gradient_norm_text) {
        (Some(norm), None) => norm,
        (None, Some(text)) => text
            .parse()
            .map_err(|_| format!("gradient_norm_text `{text}` is not a number"))?,
        _ => return Err("it needs one of gradient_norm and gradient_norm_text".to_owned()),
    };
    Ok(FoldResult {
        split: split.clone(),
        probabilities: matrix(&fold.probabilities, "probabilities")?,
        baseline: matrix(&fold.baseline, "baseline probabilities")?,
        solver,
        convergence: Convergence {
            converged: fold.converged,
            gradient_norm,
            tolerance: fold.tolerance,
            iterations: fold.iterations,
            message: fold.message.clone(),
        },
        choices: fold
            .choices
            .iter()
            .map(|choice| Choice {
                group: choice.group,
                candidate: choice.candidate,
                inner_scores: choice.inner_scores.clone(),
            })
            .collect(),
    })
}
