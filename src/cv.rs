//! Cross-validation folds of our own: the `[cv]` table and class indices (plus group indices
//! for the grouped schemes) in, [`Split`]s of row indices out.
//!
//! linfa's `fold` neither shuffles nor stratifies and leaves the `n mod k` remainder out of
//! validation; these folds are stratified, shuffled from an explicit seed through
//! `stance::rng::seeded` (stream = repeat), and put every row in exactly one test fold per
//! repeat. Identical inputs give identical folds on every platform, which is what lets
//! `stance compare` run experiments on the same folds. The grouped schemes never put one
//! group (article) in two folds: leave-one-group-out, and scikit-learn's
//! `StratifiedGroupKFold` with our shuffle.
//!
//! Architecture invariant: this module never sees text, features or models, does no I/O and
//! never panics on bad input.

use rand_chacha::rand_core::Rng;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::rng::seeded;

/// The `[cv]` table of an experiment, as written.
///
/// - `scheme`: `"stratified_kfold"` (default), `"repeated_stratified_kfold"`,
///   `"stratified_group_kfold"` (folds of whole groups, i.e. articles, with class balance as
///   even as the groups allow), `"leave_one_group_out"` (one fold per group), or
///   `"holdout"` (one split: fit on the training paragraphs, score the `test_split` ones);
/// - `test_split`: the split held out (holdout only, and required there);
/// - `folds`: number of folds, at least 2 (default 5); not allowed with leave-one-group-out;
/// - `repeats`: independent reshuffles (default 1); above 1 only with the repeated scheme
///   and the stratified group scheme;
/// - `seed`: the seed of every shuffle (default 42).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCvConfig {
    #[serde(default)]
    pub scheme: SchemeKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub folds: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeats: Option<usize>,
    #[serde(default = "default_seed")]
    pub seed: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_split: Option<String>,
}

const DEFAULT_FOLDS: usize = 5;
const DEFAULT_SEED: u64 = 42;

fn default_seed() -> u64 {
    DEFAULT_SEED
}

impl Default for RawCvConfig {
    fn default() -> Self {
        RawCvConfig {
            scheme: SchemeKind::default(),
            folds: None,
            repeats: None,
            seed: DEFAULT_SEED,
            test_split: None,
        }
    }
}

/// The `scheme` key.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SchemeKind {
    #[default]
    #[serde(rename = "stratified_kfold")]
    StratifiedKFold,
    #[serde(rename = "repeated_stratified_kfold")]
    RepeatedStratifiedKFold,
    #[serde(rename = "stratified_group_kfold")]
    StratifiedGroupKFold,
    LeaveOneGroupOut,
    Holdout,
}

impl SchemeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SchemeKind::StratifiedKFold => "stratified_kfold",
            SchemeKind::RepeatedStratifiedKFold => "repeated_stratified_kfold",
            SchemeKind::StratifiedGroupKFold => "stratified_group_kfold",
            SchemeKind::LeaveOneGroupOut => "leave_one_group_out",
            SchemeKind::Holdout => "holdout",
        }
    }

    /// Whether no group is ever in two folds' test sets, or in a fold's training and test
    /// rows at once.
    pub fn keeps_groups_whole(self) -> bool {
        matches!(
            self,
            SchemeKind::StratifiedGroupKFold | SchemeKind::LeaveOneGroupOut
        )
    }
}

/// The most repeats a scheme may have (each is a whole cross-validation; a real study uses
/// tens). More would only run until memory or patience is gone.
pub const MAX_REPEATS: usize = 1000;

impl RawCvConfig {
    pub fn check(&self) -> Result<CvConfig, CvConfigError> {
        let kind = self.scheme;
        let repeats = self.repeats.unwrap_or(1);
        if repeats == 0 {
            return Err(CvConfigError::NoRepeats);
        }
        if repeats > MAX_REPEATS {
            return Err(CvConfigError::TooManyRepeats { repeats });
        }
        let repeatable = matches!(
            kind,
            SchemeKind::RepeatedStratifiedKFold | SchemeKind::StratifiedGroupKFold
        );
        if repeats > 1 && !repeatable {
            return Err(CvConfigError::RepeatsNeedRepeatedScheme {
                repeats,
                scheme: kind,
            });
        }
        let folds = match (kind, self.folds) {
            (SchemeKind::LeaveOneGroupOut, Some(_)) => return Err(CvConfigError::FoldsWithGroups),
            (SchemeKind::Holdout, Some(_)) => return Err(CvConfigError::FoldsWithHoldout),
            (SchemeKind::LeaveOneGroupOut | SchemeKind::Holdout, None) => None,
            (_, Some(folds)) if folds < 2 => return Err(CvConfigError::TooFewFolds { folds }),
            (_, folds) => Some(folds.unwrap_or(DEFAULT_FOLDS)),
        };
        let test_split = match (kind, &self.test_split) {
            (SchemeKind::Holdout, None) => return Err(CvConfigError::NoTestSplit),
            (SchemeKind::Holdout, Some(split)) if split.trim().is_empty() => {
                return Err(CvConfigError::NoTestSplit);
            }
            (SchemeKind::Holdout, Some(split)) => Some(split.clone()),
            (_, Some(_)) => return Err(CvConfigError::TestSplitWithoutHoldout { scheme: kind }),
            (_, None) => None,
        };
        Ok(CvConfig {
            kind,
            folds,
            repeats,
            seed: self.seed,
            test_split,
        })
    }
}

/// A value of the `[cv]` table that is out of range or does not fit the scheme.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CvConfigError {
    #[error("`folds` must be at least 2, got {folds}")]
    TooFewFolds { folds: usize },
    #[error("`repeats` must be at least 1")]
    NoRepeats,
    #[error("`repeats` must be at most {MAX_REPEATS}, got {repeats}")]
    TooManyRepeats { repeats: usize },
    #[error(
        "`repeats = {repeats}` needs scheme = \"repeated_stratified_kfold\" or \"stratified_group_kfold\", not \"{}\"",
        scheme.as_str()
    )]
    RepeatsNeedRepeatedScheme { repeats: usize, scheme: SchemeKind },
    #[error(
        "`folds` does not apply to scheme = \"leave_one_group_out\", which has one fold per group"
    )]
    FoldsWithGroups,
    #[error("`folds` does not apply to scheme = \"holdout\", which has one split")]
    FoldsWithHoldout,
    #[error("scheme = \"holdout\" needs `test_split`, the split it scores (e.g. \"test\")")]
    NoTestSplit,
    #[error(
        "`test_split` applies to scheme = \"holdout\", not \"{}\"",
        scheme.as_str()
    )]
    TestSplitWithoutHoldout { scheme: SchemeKind },
}

impl CvConfigError {
    /// The offending key of the `[cv]` table.
    pub fn key(&self) -> &'static str {
        match self {
            CvConfigError::TooFewFolds { .. }
            | CvConfigError::FoldsWithGroups
            | CvConfigError::FoldsWithHoldout => "folds",
            CvConfigError::NoTestSplit | CvConfigError::TestSplitWithoutHoldout { .. } => {
                "test_split"
            }
            CvConfigError::NoRepeats
            | CvConfigError::TooManyRepeats { .. }
            | CvConfigError::RepeatsNeedRepeatedScheme { .. } => "repeats",
        }
    }
}

/// A checked cross-validation scheme; only [`RawCvConfig::check`] makes one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CvConfig {
    kind: SchemeKind,
    /// `None` for leave-one-group-out and holdout.
    folds: Option<usize>,
    repeats: usize,
    seed: u64,
    /// Holdout only.
    test_split: Option<String>,
}

impl CvConfig {
    pub fn kind(&self) -> SchemeKind {
        self.kind
    }
    /// Number of folds; `None` for leave-one-group-out (one per group) and holdout.
    pub fn folds(&self) -> Option<usize> {
        self.folds
    }
    /// The split holdout scores; `None` for the other schemes.
    pub fn test_split(&self) -> Option<&str> {
        self.test_split.as_deref()
    }
    pub fn repeats(&self) -> usize {
        self.repeats
    }
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The scheme as reports name it, e.g. "stratified 5-fold, seed 42", "stratified 5-fold
    /// × 10 repeats, seed 42", "stratified 5-fold of whole articles, seed 42" or, over
    /// `n_groups` articles, "leave-one-article-out (2 folds)".
    pub fn describe(&self, n_groups: usize) -> String {
        let whole = if self.kind == SchemeKind::StratifiedGroupKFold {
            " of whole articles"
        } else {
            ""
        };
        if let Some(split) = &self.test_split {
            return format!("held-out split `{split}` (fitted once on the rest)");
        }
        match (self.folds, self.repeats) {
            (None, _) => format!("leave-one-article-out ({n_groups} folds)"),
            (Some(folds), 1) => format!("stratified {folds}-fold{whole}, seed {}", self.seed),
            (Some(folds), repeats) => {
                format!(
                    "stratified {folds}-fold{whole} × {repeats} repeats, seed {}",
                    self.seed
                )
            }
        }
    }

    /// The table with every default written out, for records.
    pub fn to_raw(&self) -> RawCvConfig {
        RawCvConfig {
            scheme: self.kind,
            folds: self.folds,
            repeats: Some(self.repeats),
            seed: self.seed,
            test_split: self.test_split.clone(),
        }
    }
}

/// One fold of one repeat: training and test row indices, both ascending and disjoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    repeat: usize,
    fold: usize,
    train: Vec<usize>,
    test: Vec<usize>,
}

impl Split {
    pub fn repeat(&self) -> usize {
        self.repeat
    }
    pub fn fold(&self) -> usize {
        self.fold
    }
    pub fn train(&self) -> &[usize] {
        &self.train
    }
    pub fn test(&self) -> &[usize] {
        &self.test
    }

    /// The same split with its test rows numbered as `test` (the same rows, counted among
    /// the tested rows only: scoring a holdout split on its test rows).
    pub fn with_test(&self, test: Vec<usize>) -> Split {
        Split {
            test,
            ..self.clone()
        }
    }

    /// A split of exactly these rows, for tests that need particular folds.
    #[cfg(test)]
    pub(crate) fn of_rows(
        repeat: usize,
        fold: usize,
        train: Vec<usize>,
        test: Vec<usize>,
    ) -> Split {
        Split {
            repeat,
            fold,
            train,
            test,
        }
    }

    /// The same split trained on `train` only, a subset of its training rows (learning
    /// curves; see [`subsample_train`]).
    pub fn with_train(&self, train: Vec<usize>) -> Split {
        Split {
            train,
            ..self.clone()
        }
    }
}

/// The one split of holdout: rows with `in_test[i]` are tested, the others train. Both
/// sides must hold rows.
pub fn holdout(in_test: &[bool]) -> Result<Split, CvError> {
    let (test, train): (Vec<usize>, Vec<usize>) = (0..in_test.len()).partition(|&i| in_test[i]);
    if test.is_empty() {
        return Err(CvError::EmptyHoldout { side: "test" });
    }
    if train.is_empty() {
        return Err(CvError::EmptyHoldout { side: "training" });
    }
    Ok(Split {
        repeat: 0,
        fold: 0,
        train,
        test,
    })
}

/// Why rows could not be split.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CvError {
    #[error("no paragraphs to split")]
    NoRows,
    #[error("label {label} of row {row} is not one of the {n_classes} classes")]
    LabelOutOfRange {
        row: usize,
        label: usize,
        n_classes: usize,
    },
    #[error("{}", class_too_small(class, *count, *folds))]
    ClassTooSmall {
        class: String,
        count: usize,
        folds: usize,
    },
    #[error("{groups} group labels were given for {rows} paragraphs")]
    GroupCount { rows: usize, groups: usize },
    #[error("leave-one-group-out needs at least 2 groups (articles), found {groups}")]
    TooFewGroups { groups: usize },
    #[error(
        "{rows} training paragraphs cannot be split into {folds} inner folds (lower [search] inner_folds)"
    )]
    TooFewForInnerFolds { rows: usize, folds: usize },
    #[error("holdout: the {side} split has no paragraphs")]
    EmptyHoldout { side: &'static str },
    #[error("holdout takes its split from the data, not from the labels")]
    HoldoutFromLabels,
    #[error(
        "{folds} folds of whole articles need at least {folds} articles, found {groups}; use folds = {groups} or fewer"
    )]
    FewerGroupsThanFolds { groups: usize, folds: usize },
    #[error("training row {row} is outside the {rows} labels given")]
    RowOutOfRange { row: usize, rows: usize },
    #[error("a training subset of {requested} paragraphs cannot be drawn from {available}")]
    TrainSizeTooLarge { requested: usize, available: usize },
    #[error(
        "a training subset of {requested} paragraphs cannot hold all {classes} classes of the fold"
    )]
    TrainSizeTooSmall { requested: usize, classes: usize },
}

fn class_too_small(class: &str, count: usize, folds: usize) -> String {
    match count {
        0 => format!("class `{class}` has no paragraphs"),
        1 => format!(
            "class `{class}` has 1 paragraph, fewer than folds = {folds}; cross-validation needs at least 2 per class"
        ),
        _ => format!(
            "class `{class}` has {count} paragraphs, fewer than folds = {folds}; use folds = {count} or fewer"
        ),
    }
}

/// Splits rows `0..y.len()` by `scheme`. `y[i]` indexes `classes` (whose names are used in
/// messages). `groups[i]` is row `i`'s group, used by the grouped schemes only (may be empty
/// otherwise).
///
/// Stratified schemes, per repeat `r`: each class's rows, in index order, are shuffled with
/// `seeded(seed, r)` (classes in index order), then dealt round-robin to folds `0, 1, …, k−1,
/// 0, …`, the count running on from one class to the next. So every row is tested exactly once
/// per repeat, fold sizes differ by at most one, and each class's count per fold by at most
/// one. Every class needs at least `folds` rows, which also keeps every class in every
/// training fold. Stratified group k-fold: see [`stratified_group_folds`]; it needs at least
/// `folds` groups, and a class confined to few groups may be missing from some folds.
/// Leave-one-group-out: one fold per distinct group, ascending; no randomness.
///
/// Splits come ordered by repeat, then fold.
pub fn splits<S: AsRef<str>>(
    scheme: &CvConfig,
    classes: &[S],
    y: &[usize],
    groups: &[usize],
) -> Result<Vec<Split>, CvError> {
    if y.is_empty() {
        return Err(CvError::NoRows);
    }
    let members = members_by_class(classes.len(), y)?;
    match scheme.folds {
        Some(folds) if scheme.kind == SchemeKind::StratifiedGroupKFold => {
            if groups.len() != y.len() {
                return Err(CvError::GroupCount {
                    rows: y.len(),
                    groups: groups.len(),
                });
            }
            if let Some((class, _)) = classes.iter().zip(&members).find(|(_, m)| m.is_empty()) {
                return Err(CvError::ClassTooSmall {
                    class: class.as_ref().to_owned(),
                    count: 0,
                    folds,
                });
            }
            let (group_of, n_groups) = dense_groups(groups);
            if n_groups < folds {
                return Err(CvError::FewerGroupsThanFolds {
                    groups: n_groups,
                    folds,
                });
            }
            Ok((0..scheme.repeats)
                .flat_map(|repeat| {
                    let mut rng = seeded(scheme.seed, repeat as u64);
                    let mut order: Vec<usize> = (0..n_groups).collect();
                    shuffle(&mut order, &mut rng);
                    let fold_of_group = stratified_group_folds(
                        y,
                        classes.len(),
                        &group_of,
                        n_groups,
                        folds,
                        &order,
                    );
                    let fold_of: Vec<usize> = group_of.iter().map(|&g| fold_of_group[g]).collect();
                    splits_of(&fold_of, folds, repeat)
                })
                .collect())
        }
        Some(folds) => {
            for (class, rows) in classes.iter().zip(&members) {
                if rows.len() < folds {
                    return Err(CvError::ClassTooSmall {
                        class: class.as_ref().to_owned(),
                        count: rows.len(),
                        folds,
                    });
                }
            }
            Ok((0..scheme.repeats)
                .flat_map(|repeat| stratified(&members, y.len(), folds, scheme.seed, repeat))
                .collect())
        }
        None if scheme.kind == SchemeKind::Holdout => Err(CvError::HoldoutFromLabels),
        None => leave_one_group_out(y.len(), groups),
    }
}

/// Row indices of each class, ascending.
fn members_by_class(n_classes: usize, y: &[usize]) -> Result<Vec<Vec<usize>>, CvError> {
    let mut members = vec![Vec::new(); n_classes];
    for (row, &label) in y.iter().enumerate() {
        match members.get_mut(label) {
            Some(rows) => rows.push(row),
            None => {
                return Err(CvError::LabelOutOfRange {
                    row,
                    label,
                    n_classes,
                });
            }
        }
    }
    Ok(members)
}

fn stratified(
    members: &[Vec<usize>],
    n_rows: usize,
    folds: usize,
    seed: u64,
    repeat: usize,
) -> Vec<Split> {
    stratified_on_stream(members, n_rows, folds, seed, repeat as u64, repeat)
}

fn stratified_on_stream(
    members: &[Vec<usize>],
    n_rows: usize,
    folds: usize,
    seed: u64,
    stream: u64,
    repeat: usize,
) -> Vec<Split> {
    let mut rng = seeded(seed, stream);
    let mut fold_of = vec![0; n_rows];
    let mut dealt = 0;
    for rows in members {
        let mut rows = rows.clone();
        shuffle(&mut rows, &mut rng);
        for row in rows {
            fold_of[row] = dealt % folds;
            dealt += 1;
        }
    }
    (0..folds)
        .map(|fold| {
            let (test, train) = (0..n_rows).partition(|&row| fold_of[row] == fold);
            Split {
                repeat,
                fold,
                train,
                test,
            }
        })
        .collect()
}

/// The splits of one repeat whose test fold of row `i` is `fold_of[i]`.
fn splits_of(fold_of: &[usize], folds: usize, repeat: usize) -> Vec<Split> {
    (0..folds)
        .map(|fold| {
            let (test, train) = (0..fold_of.len()).partition(|&row| fold_of[row] == fold);
            Split {
                repeat,
                fold,
                train,
                test,
            }
        })
        .collect()
}

/// Each row's group as an index into the distinct groups in ascending order, and how many
/// there are (numpy's `unique(return_inverse=True)`).
fn dense_groups(groups: &[usize]) -> (Vec<usize>, usize) {
    let mut distinct = groups.to_vec();
    distinct.sort_unstable();
    distinct.dedup();
    let group_of = groups
        .iter()
        .map(|g| distinct.binary_search(g).unwrap_or(0))
        .collect();
    (group_of, distinct.len())
}

/// scikit-learn's `StratifiedGroupKFold` (1.9): the fold of each of `n_groups` groups, so
/// that every group is in one fold and each class is spread over the folds as evenly as
/// whole groups allow. `y[i]` is row `i`'s class and `group_of[i]` its group; `order` is the
/// order groups are first considered in (scikit-learn: ascending, or a random permutation
/// with `shuffle=True`; ours is a ChaCha8 shuffle).
///
/// Groups are taken in `order`, stably sorted by the standard deviation of their class
/// counts, largest first (groups dominated by one class go first); each goes to the fold
/// whose choice gives the smallest mean over classes of the standard deviation, across
/// folds, of the fold's share of the class (its count over the class total). A fold whose
/// value is within `numpy.isclose` of the best so far wins when it holds fewer rows.
fn stratified_group_folds(
    y: &[usize],
    n_classes: usize,
    group_of: &[usize],
    n_groups: usize,
    folds: usize,
    order: &[usize],
) -> Vec<usize> {
    let mut counts = vec![vec![0.0f64; n_classes]; n_groups];
    let mut class_totals = vec![0.0f64; n_classes];
    for (&class, &group) in y.iter().zip(group_of) {
        counts[group][class] += 1.0;
        class_totals[class] += 1.0;
    }
    let mut considered: Vec<(usize, f64)> = order
        .iter()
        .map(|&group| (group, population_std(counts[group].iter().copied())))
        .collect();
    // Stable: equal spreads keep `order`.
    considered.sort_by(|a, b| b.1.total_cmp(&a.1));

    let mut per_fold = vec![vec![0.0f64; n_classes]; folds];
    let mut fold_of_group = vec![0; n_groups];
    for (group, _) in considered {
        let group_counts = &counts[group];
        let mut best: Option<(usize, f64, f64)> = None;
        for fold in 0..folds {
            for (total, count) in per_fold[fold].iter_mut().zip(group_counts) {
                *total += count;
            }
            let spread = (0..n_classes)
                .map(|class| {
                    population_std(
                        per_fold
                            .iter()
                            .map(|counts| counts[class] / class_totals[class]),
                    )
                })
                .sum::<f64>()
                / n_classes as f64;
            for (total, count) in per_fold[fold].iter_mut().zip(group_counts) {
                *total -= count;
            }
            let rows: f64 = per_fold[fold].iter().sum();
            let better = match best {
                None => true,
                Some((_, best_spread, best_rows)) => {
                    spread < best_spread || (is_close(spread, best_spread) && rows < best_rows)
                }
            };
            if better {
                best = Some((fold, spread, rows));
            }
        }
        let fold = best.map_or(0, |(fold, _, _)| fold);
        for (total, count) in per_fold[fold].iter_mut().zip(group_counts) {
            *total += count;
        }
        fold_of_group[group] = fold;
    }
    fold_of_group
}

/// numpy's `std` (ddof = 0), summing in order as numpy does for short rows.
fn population_std(values: impl Iterator<Item = f64> + Clone) -> f64 {
    let n = values.clone().count() as f64;
    let mean = values.clone().sum::<f64>() / n;
    (values.map(|v| (v - mean) * (v - mean)).sum::<f64>() / n).sqrt()
}

/// numpy's `isclose(a, b)` with its default tolerances.
fn is_close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-8 + 1e-5 * b.abs()
}

fn leave_one_group_out(n_rows: usize, groups: &[usize]) -> Result<Vec<Split>, CvError> {
    if groups.len() != n_rows {
        return Err(CvError::GroupCount {
            rows: n_rows,
            groups: groups.len(),
        });
    }
    let mut distinct = groups.to_vec();
    distinct.sort_unstable();
    distinct.dedup();
    if distinct.len() < 2 {
        return Err(CvError::TooFewGroups {
            groups: distinct.len(),
        });
    }
    Ok(distinct
        .iter()
        .enumerate()
        .map(|(fold, &group)| {
            let (test, train) = (0..n_rows).partition(|&row| groups[row] == group);
            Split {
                repeat: 0,
                fold,
                train,
                test,
            }
        })
        .collect())
}

/// Streams of `seeded` used by the inner folds of a search: the two bits below the top one
/// set, so they meet neither the fold streams `0..repeats`, the training subsets' nor the
/// permutations'.
pub const INNER_STREAMS: u64 = 3 << 61;

/// The stream of the inner folds of a search on all labels (`stance train`).
pub const TRAINING_INNER_STREAM: u64 = INNER_STREAMS - 1;

/// The stream of the inner folds of outer `repeat`, `fold` and group `group` (0 without
/// groups).
pub fn inner_stream(repeat: usize, fold: usize, group: usize) -> u64 {
    INNER_STREAMS
        + ((repeat as u64) << 44)
        + ((fold as u64 & 0xf_ffff) << 24)
        + (group as u64 & 0xff_ffff)
}

/// Stratified k-fold of rows `0..y.len()` for a search's inner cross-validation, shuffled on
/// `stream` of `seed`: as [`splits`]' stratified folds, but a class with fewer rows than
/// folds is allowed (some training folds then lack it, as scikit-learn's `StratifiedKFold`
/// allows with a warning); at least `folds` rows are needed.
pub fn inner_splits(
    y: &[usize],
    folds: usize,
    seed: u64,
    stream: u64,
) -> Result<Vec<Split>, CvError> {
    if y.len() < folds {
        return Err(CvError::TooFewForInnerFolds {
            rows: y.len(),
            folds,
        });
    }
    let n_classes = y.iter().max().map_or(0, |&c| c + 1);
    let members = members_by_class(n_classes, y)?;
    Ok(stratified_on_stream(
        &members,
        y.len(),
        folds,
        seed,
        stream,
        0,
    ))
}

/// Streams of `seeded` used for training subsets: top bit set, so they never meet the fold
/// streams `0..repeats`.
const SUBSAMPLE_STREAMS: u64 = 1 << 63;

/// A stratified subset of `train_size` rows of `split`'s training rows (ascending), for
/// learning curves. Subsets are nested: for one split and seed, a larger size contains every
/// row of a smaller one. Each class's training rows are shuffled (stream
/// `2⁶³ + repeat·2³² + fold` of `seed`); one row of each class is taken first, so every
/// class is in once `train_size` reaches the number of classes, then one at a time from the
/// class furthest below its proportional share (ties to the lower class index), which keeps
/// each class's count within two of `train_size · class total / training rows`.
pub fn subsample_train(
    split: &Split,
    y: &[usize],
    train_size: usize,
    seed: u64,
) -> Result<Vec<usize>, CvError> {
    let available = split.train.len();
    if train_size > available {
        return Err(CvError::TrainSizeTooLarge {
            requested: train_size,
            available,
        });
    }
    let mut pools: Vec<Vec<usize>> = Vec::new();
    for &row in &split.train {
        let &label = y
            .get(row)
            .ok_or(CvError::RowOutOfRange { row, rows: y.len() })?;
        if pools.len() <= label {
            pools.resize_with(label + 1, Vec::new);
        }
        pools[label].push(row);
    }
    pools.retain(|pool| !pool.is_empty());
    if train_size < pools.len() {
        return Err(CvError::TrainSizeTooSmall {
            requested: train_size,
            classes: pools.len(),
        });
    }

    let stream = SUBSAMPLE_STREAMS + ((split.repeat as u64) << 32) + split.fold as u64;
    let mut rng = seeded(seed, stream);
    for pool in &mut pools {
        shuffle(pool, &mut rng);
    }
    // One row of each class first, then always the class furthest below its proportional
    // share of the next size: (size + 1)·total_c/N − taken_c, compared times N in integers.
    // `train_size >= pools.len()` was checked above.
    let mut taken = vec![1usize; pools.len()];
    let mut subset: Vec<usize> = pools.iter().map(|pool| pool[0]).collect();
    while subset.len() < train_size {
        let next_size = subset.len() + 1;
        let deficit =
            |c: usize| (next_size * pools[c].len()) as i64 - (taken[c] * available) as i64;
        let next = (0..pools.len())
            .filter(|&c| taken[c] < pools[c].len())
            .max_by(|&a, &b| deficit(a).cmp(&deficit(b)).then(b.cmp(&a)));
        let Some(class) = next else { break };
        subset.push(pools[class][taken[class]]);
        taken[class] += 1;
    }
    subset.sort_unstable();
    Ok(subset)
}

/// Fisher–Yates with our own bounded draw, so the permutation depends on ChaCha8's output
/// only, not on how a version of `rand` maps it to a range.
pub(crate) fn shuffle<R: Rng>(rows: &mut [usize], rng: &mut R) {
    for i in (1..rows.len()).rev() {
        let j = below(rng, i as u64 + 1) as usize;
        rows.swap(i, j);
    }
}

/// Uniform in `0..n` (`n > 0`), Lemire's multiply-and-reject.
fn below<R: Rng>(rng: &mut R, n: u64) -> u64 {
    let threshold = n.wrapping_neg() % n;
    loop {
        let product = u128::from(rng.next_u64()) * u128::from(n);
        if product as u64 >= threshold {
            return (product >> 64) as u64;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn scheme(text: &str) -> CvConfig {
        toml::from_str::<RawCvConfig>(text)
            .unwrap()
            .check()
            .unwrap()
    }

    // ---- config

    #[test]
    fn schemes_describe_themselves() {
        let check = |text: &str, n_groups: usize, expected: &str| {
            assert_eq!(scheme(text).describe(n_groups), expected);
        };
        check("", 2, "stratified 5-fold, seed 42");
        check(
            "scheme = \"repeated_stratified_kfold\"\nfolds = 3\nrepeats = 10\nseed = 7",
            2,
            "stratified 3-fold × 10 repeats, seed 7",
        );
        check(
            "scheme = \"leave_one_group_out\"",
            4,
            "leave-one-article-out (4 folds)",
        );
    }

    #[test]
    fn defaults_are_stratified_five_fold_seed_42() {
        let s = scheme("");
        assert_eq!(
            (s.kind(), s.folds(), s.repeats(), s.seed()),
            (SchemeKind::StratifiedKFold, Some(5), 1, 42)
        );
        let raw = s.to_raw();
        assert_eq!(
            toml::from_str::<RawCvConfig>(&toml::to_string(&raw).unwrap()).unwrap(),
            raw
        );
        assert_eq!(raw.check().unwrap(), s);
    }

    #[test]
    fn schemes_parse() {
        let s = scheme("scheme = \"repeated_stratified_kfold\"\nfolds = 3\nrepeats = 10\nseed = 7");
        assert_eq!(
            (s.kind(), s.folds(), s.repeats(), s.seed()),
            (SchemeKind::RepeatedStratifiedKFold, Some(3), 10, 7)
        );
        let s = scheme("scheme = \"leave_one_group_out\"");
        assert_eq!(
            (s.kind(), s.folds(), s.repeats()),
            (SchemeKind::LeaveOneGroupOut, None, 1)
        );
        for kind in [
            SchemeKind::StratifiedKFold,
            SchemeKind::RepeatedStratifiedKFold,
            SchemeKind::StratifiedGroupKFold,
            SchemeKind::LeaveOneGroupOut,
        ] {
            assert_eq!(
                scheme(&format!("scheme = \"{}\"", kind.as_str())).kind(),
                kind
            );
        }
    }

    #[test]
    fn bad_tables_are_rejected_naming_the_key() {
        fn check(text: &str, key: &str, message: &str) {
            let err = toml::from_str::<RawCvConfig>(text)
                .unwrap()
                .check()
                .unwrap_err();
            assert_eq!(
                (err.key(), err.to_string().as_str()),
                (key, message),
                "{text}"
            );
        }
        check("folds = 1", "folds", "`folds` must be at least 2, got 1");
        check("folds = 0", "folds", "`folds` must be at least 2, got 0");
        check("repeats = 0", "repeats", "`repeats` must be at least 1");
        check(
            "repeats = 3",
            "repeats",
            "`repeats = 3` needs scheme = \"repeated_stratified_kfold\" or \"stratified_group_kfold\", not \"stratified_kfold\"",
        );
        check(
            "scheme = \"leave_one_group_out\"\nfolds = 4",
            "folds",
            "`folds` does not apply to scheme = \"leave_one_group_out\", which has one fold per group",
        );
        for text in [
            "fold = 5",
            "scheme = \"kfold\"",
            "folds = -1",
            "seed = \"x\"",
        ] {
            assert!(
                toml::from_str::<RawCvConfig>(text).is_err(),
                "{text} was accepted"
            );
        }
    }

    // ---- splitting errors

    const NAMES: [&str; 3] = ["fracturing", "stable", "neither"];

    fn split_error(scheme_text: &str, y: &[usize], groups: &[usize]) -> String {
        splits(&scheme(scheme_text), &NAMES, y, groups)
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn too_small_classes_are_named_with_a_suggestion() {
        let y = [0, 0, 0, 0, 0, 0, 1, 1, 1, 2, 2, 2, 2, 2, 2];
        assert_eq!(
            split_error("", &y, &[]),
            "class `stable` has 3 paragraphs, fewer than folds = 5; use folds = 3 or fewer"
        );
        assert!(splits(&scheme("folds = 3"), &NAMES, &y, &[]).is_ok());
        assert_eq!(
            split_error("folds = 2", &[0, 0, 1, 2, 2], &[]),
            "class `stable` has 1 paragraph, fewer than folds = 2; cross-validation needs at least 2 per class"
        );
        assert_eq!(
            split_error("folds = 2", &[0, 0, 2, 2], &[]),
            "class `stable` has no paragraphs"
        );
    }

    #[test]
    fn other_bad_input_is_an_error() {
        assert_eq!(split_error("", &[], &[]), "no paragraphs to split");
        assert_eq!(
            split_error("folds = 2", &[0, 0, 3], &[]),
            "label 3 of row 2 is not one of the 3 classes"
        );
        let logo = "scheme = \"leave_one_group_out\"";
        assert_eq!(
            split_error(logo, &[0, 1, 2], &[4, 4, 4]),
            "leave-one-group-out needs at least 2 groups (articles), found 1"
        );
        assert_eq!(
            split_error(logo, &[0, 1, 2], &[0, 1]),
            "2 group labels were given for 3 paragraphs"
        );
    }

    #[test]
    fn leave_one_group_out_holds_out_each_group_in_turn() {
        let s = scheme("scheme = \"leave_one_group_out\"");
        let folds = splits(&s, &NAMES, &[0, 1, 0, 2, 1], &[7, 3, 7, 3, 9]).unwrap();
        let tests: Vec<&[usize]> = folds.iter().map(Split::test).collect();
        assert_eq!(tests, vec![&[1, 3][..], &[0, 2], &[4]]);
        assert_eq!(folds[0].train(), &[0, 2, 4]);
        assert!(folds.iter().all(|f| f.repeat() == 0));
    }

    #[test]
    fn repeats_reshuffle() {
        let y: Vec<usize> = (0..30).map(|i| i % 3).collect();
        let s = scheme("scheme = \"repeated_stratified_kfold\"\nrepeats = 2");
        let all = splits(&s, &NAMES, &y, &[]).unwrap();
        assert_eq!(all.len(), 10);
        assert_ne!(all[0].test(), all[5].test());
        assert_eq!((all[5].repeat(), all[5].fold()), (1, 0));
    }

    #[test]
    fn bounded_draws_are_uniform_enough() {
        // 60,000 draws in 0..6: each count within 5 standard deviations of 10,000.
        let mut rng = seeded(1, 0);
        let mut counts = [0usize; 6];
        for _ in 0..60_000 {
            counts[below(&mut rng, 6) as usize] += 1;
        }
        assert!(
            counts.iter().all(|&c| c.abs_diff(10_000) < 5 * 91),
            "{counts:?}"
        );
    }

    // ---- properties

    /// Labels with every class at least `min` times, plus a seed and a fold count.
    fn labelled(min: usize) -> impl Strategy<Value = (Vec<usize>, usize, u64)> {
        (2usize..=4, 2usize..=6, any::<u64>()).prop_flat_map(move |(n_classes, folds, seed)| {
            let base: Vec<usize> = (0..n_classes)
                .flat_map(|c| std::iter::repeat_n(c, folds.max(min)))
                .collect();
            (
                Just(base),
                prop::collection::vec(0..n_classes, 0..25),
                Just(folds),
                Just(seed),
            )
                .prop_map(|(mut y, extra, folds, seed)| {
                    y.extend(extra);
                    // Interleave so classes are not in blocks.
                    y.sort_by_key(|&c| (c * 7919) % 13);
                    (y, folds, seed)
                })
        })
    }

    fn names_for(y: &[usize]) -> Vec<String> {
        let n_classes = y.iter().max().map_or(0, |&c| c + 1);
        (0..n_classes).map(|c| format!("c{c}")).collect()
    }

    fn stratified_scheme(folds: usize, repeats: usize, seed: u64) -> CvConfig {
        RawCvConfig {
            scheme: SchemeKind::RepeatedStratifiedKFold,
            folds: Some(folds),
            repeats: Some(repeats),
            seed,
            test_split: None,
        }
        .check()
        .unwrap()
    }

    proptest! {
        #[test]
        fn folds_partition_and_stratify((y, folds, seed) in labelled(0), repeats in 1usize..3) {
            let n_classes = y.iter().max().unwrap() + 1;
            let names = names_for(&y);
            let all = splits(&stratified_scheme(folds, repeats, seed), &names, &y, &[]).unwrap();
            prop_assert_eq!(all.len(), folds * repeats);
            for repeat in 0..repeats {
                let these: Vec<&Split> = all.iter().filter(|s| s.repeat() == repeat).collect();
                let mut tested = vec![0; y.len()];
                for split in &these {
                    // train and test: ascending, disjoint, together every row.
                    prop_assert!(split.train().windows(2).all(|w| w[0] < w[1]));
                    prop_assert!(split.test().windows(2).all(|w| w[0] < w[1]));
                    let mut union: Vec<usize> = split.train().iter().chain(split.test()).copied().collect();
                    union.sort_unstable();
                    prop_assert_eq!(union, (0..y.len()).collect::<Vec<_>>());
                    for &row in split.test() {
                        tested[row] += 1;
                    }
                    for class in 0..n_classes {
                        let total = y.iter().filter(|&&c| c == class).count();
                        let in_test = split.test().iter().filter(|&&r| y[r] == class).count();
                        prop_assert!(in_test == total / folds || in_test == total.div_ceil(folds));
                        prop_assert!(split.train().iter().any(|&r| y[r] == class));
                    }
                }
                prop_assert!(tested.iter().all(|&t| t == 1));
                let sizes: Vec<usize> = these.iter().map(|s| s.test().len()).collect();
                prop_assert!(sizes.iter().max().unwrap() - sizes.iter().min().unwrap() <= 1);
            }
        }

        #[test]
        fn same_seed_same_folds((y, folds, seed) in labelled(0)) {
            let names = names_for(&y);
            let s = stratified_scheme(folds, 2, seed);
            prop_assert_eq!(splits(&s, &names, &y, &[]).unwrap(), splits(&s, &names, &y, &[]).unwrap());
        }

        #[test]
        fn training_subsets_are_nested_and_stratified((y, folds, seed) in labelled(3)) {
            let names = names_for(&y);
            let all = splits(&stratified_scheme(folds, 1, seed), &names, &y, &[]).unwrap();
            let split = &all[0];
            let classes: Vec<usize> = (0..4).filter(|c| split.train().iter().any(|&r| y[r] == *c)).collect();
            let mut previous: Vec<usize> = Vec::new();
            for size in classes.len()..=split.train().len() {
                let subset = subsample_train(split, &y, size, seed).unwrap();
                prop_assert_eq!(subset.len(), size);
                prop_assert!(subset.windows(2).all(|w| w[0] < w[1]));
                prop_assert!(subset.iter().all(|r| split.train().binary_search(r).is_ok()));
                prop_assert!(previous.iter().all(|r| subset.binary_search(r).is_ok()));
                for &class in &classes {
                    let total = split.train().iter().filter(|&&r| y[r] == class).count();
                    let taken = subset.iter().filter(|&&r| y[r] == class).count();
                    let share = size as f64 * total as f64 / split.train().len() as f64;
                    prop_assert!(taken >= 1 && (taken as f64 - share).abs() < 2.0,
                        "class {} took {} of share {}", class, taken, share);
                }
                prop_assert_eq!(subsample_train(split, &y, size, seed).unwrap(), subset.clone());
                previous = subset;
            }
        }
    }

    // ---- stratified group k-fold against scikit-learn

    #[derive(serde::Deserialize)]
    struct GroupCases {
        cases: Vec<GroupCase>,
    }

    #[derive(serde::Deserialize)]
    struct GroupCase {
        name: String,
        folds: usize,
        y: Vec<usize>,
        groups: Vec<usize>,
        unshuffled: Vec<usize>,
        shuffled_balance: ShuffledBalance,
    }

    #[derive(serde::Deserialize)]
    struct ShuffledBalance {
        seeds: u64,
        mean: f64,
        std: f64,
        mean_size_spread: f64,
        size_spread_std: f64,
    }

    fn group_cases() -> Vec<GroupCase> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/cv/stratified_group_kfold.json");
        let text = std::fs::read_to_string(&path).unwrap();
        serde_json::from_str::<GroupCases>(&text).unwrap().cases
    }

    fn n_classes_of(y: &[usize]) -> usize {
        y.iter().max().map_or(0, |&c| c + 1)
    }

    /// The quantity the algorithm minimises: the mean over classes of the standard deviation
    /// across folds of each fold's share of the class; and the largest minus the smallest
    /// fold.
    fn balance(y: &[usize], fold_of: &[usize], folds: usize) -> (f64, usize) {
        let n_classes = n_classes_of(y);
        let spread = (0..n_classes)
            .map(|class| {
                let total = y.iter().filter(|&&c| c == class).count() as f64;
                population_std((0..folds).map(|fold| {
                    let n = (0..y.len())
                        .filter(|&i| y[i] == class && fold_of[i] == fold)
                        .count();
                    n as f64 / total
                }))
            })
            .sum::<f64>()
            / n_classes as f64;
        let sizes: Vec<usize> = (0..folds)
            .map(|fold| fold_of.iter().filter(|&&f| f == fold).count())
            .collect();
        (
            spread,
            sizes.iter().max().unwrap() - sizes.iter().min().unwrap(),
        )
    }

    fn fold_of_rows(all: &[Split], n_rows: usize) -> Vec<usize> {
        let mut fold_of = vec![usize::MAX; n_rows];
        for split in all {
            for &row in split.test() {
                fold_of[row] = split.fold();
            }
        }
        fold_of
    }

    #[test]
    fn unshuffled_group_folds_are_scikit_learns() {
        for case in group_cases() {
            let (group_of, n_groups) = dense_groups(&case.groups);
            let ascending: Vec<usize> = (0..n_groups).collect();
            let fold_of_group = stratified_group_folds(
                &case.y,
                n_classes_of(&case.y),
                &group_of,
                n_groups,
                case.folds,
                &ascending,
            );
            let fold_of: Vec<usize> = group_of.iter().map(|&g| fold_of_group[g]).collect();
            assert_eq!(fold_of, case.unshuffled, "{}", case.name);
        }
    }

    /// Our shuffle is ChaCha8's, not numpy's, so single folds differ; over 200 seeds the class
    /// balance and the fold sizes must be scikit-learn's within four standard errors.
    #[test]
    fn shuffled_group_folds_balance_classes_as_scikit_learn_does() {
        for case in group_cases() {
            let names = names_for(&case.y);
            let expected = &case.shuffled_balance;
            let (mut spreads, mut sizes) = (Vec::new(), Vec::new());
            for seed in 0..expected.seeds {
                let scheme = RawCvConfig {
                    scheme: SchemeKind::StratifiedGroupKFold,
                    folds: Some(case.folds),
                    repeats: None,
                    seed,
                    test_split: None,
                }
                .check()
                .unwrap();
                let all = splits(&scheme, &names, &case.y, &case.groups).unwrap();
                let (spread, size) =
                    balance(&case.y, &fold_of_rows(&all, case.y.len()), case.folds);
                spreads.push(spread);
                sizes.push(size as f64);
            }
            let n = expected.seeds as f64;
            let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
            let within = |ours: f64, theirs: f64, std: f64| {
                (ours - theirs).abs() <= 4.0 * std / n.sqrt() + 1e-12
            };
            assert!(
                within(mean(&spreads), expected.mean, expected.std),
                "{}: balance {} against scikit-learn's {} ± {}",
                case.name,
                mean(&spreads),
                expected.mean,
                expected.std
            );
            assert!(
                within(
                    mean(&sizes),
                    expected.mean_size_spread,
                    expected.size_spread_std
                ),
                "{}: size spread {} against scikit-learn's {}",
                case.name,
                mean(&sizes),
                expected.mean_size_spread
            );
        }
    }

    #[test]
    fn group_folds_need_enough_groups() {
        let scheme = scheme("scheme = \"stratified_group_kfold\"\nfolds = 3");
        let err = |y: &[usize], groups: &[usize]| {
            splits(&scheme, &NAMES[..2], y, groups)
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            err(&[0, 1, 0, 1], &[5, 5, 9, 9]),
            "3 folds of whole articles need at least 3 articles, found 2; use folds = 2 or fewer"
        );
        assert_eq!(
            err(&[0, 1, 0], &[5, 5]),
            "2 group labels were given for 3 paragraphs"
        );
        assert_eq!(
            err(&[0, 0, 0], &[1, 2, 3]),
            "class `stable` has no paragraphs"
        );
        assert_eq!(
            scheme.describe(4),
            "stratified 3-fold of whole articles, seed 42"
        );
    }

    /// Labels and groups: 2 to 4 classes, up to 30 groups of 1 to 6 rows.
    fn grouped() -> impl Strategy<Value = (Vec<usize>, Vec<usize>, usize, u64)> {
        (2usize..=4, 2usize..=6, any::<u64>()).prop_flat_map(|(n_classes, folds, seed)| {
            let group = (1usize..=6, 0..n_classes, 0u8..3);
            (
                prop::collection::vec(group, folds..30),
                Just(n_classes),
                Just(folds),
                Just(seed),
            )
                .prop_map(|(spec, n_classes, folds, seed)| {
                    let (mut y, mut groups) = (Vec::new(), Vec::new());
                    for (g, &(size, class, mix)) in spec.iter().enumerate() {
                        for i in 0..size {
                            // Some groups of one class, some mixed.
                            let c = if mix == 0 {
                                class
                            } else {
                                (class + i) % n_classes
                            };
                            y.push(c);
                            groups.push(g * 3 + 1);
                        }
                    }
                    // Every class present, in a group of its own.
                    for class in 0..n_classes {
                        y.push(class);
                        groups.push(1000 + class);
                    }
                    (y, groups, folds, seed)
                })
        })
    }

    proptest! {
        #[test]
        fn group_folds_partition_rows_and_never_split_a_group(
            (y, groups, folds, seed) in grouped(),
            repeats in 1usize..3,
        ) {
            let names = names_for(&y);
            let scheme = RawCvConfig {
                scheme: SchemeKind::StratifiedGroupKFold,
                folds: Some(folds),
                repeats: Some(repeats),
                seed,
                test_split: None,
            }
            .check()
            .unwrap();
            let all = splits(&scheme, &names, &y, &groups).unwrap();
            prop_assert_eq!(all.len(), folds * repeats);
            for repeat in 0..repeats {
                let mut fold_of_group = std::collections::BTreeMap::new();
                let mut tested = vec![0; y.len()];
                for split in all.iter().filter(|s| s.repeat() == repeat) {
                    let mut union: Vec<usize> =
                        split.train().iter().chain(split.test()).copied().collect();
                    union.sort_unstable();
                    prop_assert_eq!(union, (0..y.len()).collect::<Vec<_>>());
                    for &row in split.test() {
                        tested[row] += 1;
                        let fold = *fold_of_group.entry(groups[row]).or_insert(split.fold());
                        prop_assert_eq!(fold, split.fold(), "group {} in two folds", groups[row]);
                    }
                    let test_groups: std::collections::BTreeSet<usize> =
                        split.test().iter().map(|&r| groups[r]).collect();
                    prop_assert!(split.train().iter().all(|r| !test_groups.contains(&groups[*r])));
                }
                prop_assert!(tested.iter().all(|&t| t == 1));
            }
            prop_assert_eq!(splits(&scheme, &names, &y, &groups).unwrap(), all);
        }
    }

    #[test]
    fn training_subset_sizes_are_checked() {
        let y = [0, 0, 0, 1, 1, 1];
        let all = splits(&scheme("folds = 3"), &NAMES[..2], &y, &[]).unwrap();
        let split = &all[0];
        assert_eq!(
            subsample_train(split, &y, 5, 1).unwrap_err().to_string(),
            "a training subset of 5 paragraphs cannot be drawn from 4"
        );
        assert_eq!(
            subsample_train(split, &y, 1, 1).unwrap_err().to_string(),
            "a training subset of 1 paragraphs cannot hold all 2 classes of the fold"
        );
        assert_eq!(subsample_train(split, &y, 4, 1).unwrap(), split.train());
        assert_eq!(
            subsample_train(split, &y[..3], 2, 1)
                .unwrap_err()
                .to_string(),
            format!(
                "training row {} is outside the 3 labels given",
                split.train().iter().find(|&&row| row >= 3).unwrap()
            )
        );
    }
}
