//! Scores of out-of-fold predictions: true class indices and class probabilities in,
//! [`Scores`] (accuracy, balanced accuracy, macro-F1, log loss, ROC AUC, per-class precision,
//! recall and F1, confusion matrix) out; plus the majority-class baseline, the mean and
//! standard deviation across folds, and [`Metric`], the scalar metric names: a fixed list,
//! plus `f1_mean` over a chosen set of classes (SemEval-2016's F_avg is `f1_mean` over FAVOR
//! and AGAINST of three-class predictions). `curves` draws the ROC curve and the reliability
//! bins of a calibration diagram.
//!
//! Definitions follow scikit-learn, against which they are tested
//! (`scripts/gen-metric-fixtures.py`). The predicted class is the argmax of a row's
//! probabilities, ties going to the lowest class index. Where a ratio is 0/0 the value is 0,
//! as scikit-learn's `zero_division=0`, and the case is flagged, never hidden.
//!
//! Architecture invariant: this module knows class indices only (names are the caller's),
//! does no I/O and never panics on bad input.

use ndarray::{Array2, ArrayView2};
use thiserror::Error;

use crate::model::predicted_class;

mod curves;

pub use curves::{CalibrationBin, RocPoint, calibration_bins, roc_curve};

/// How far a row's probabilities may sum from 1 (solvers and frequencies round).
const SUM_TOLERANCE: f64 = 1e-6;

/// Why predictions could not be scored.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum MetricsError {
    #[error("no predictions to score")]
    NoRows,
    #[error("scoring needs at least 2 classes, got {n_classes}")]
    TooFewClasses { n_classes: usize },
    #[error("{labels} labels but {rows} rows of probabilities")]
    RowCount { labels: usize, rows: usize },
    #[error("probabilities have {columns} columns for {n_classes} classes")]
    ColumnCount { columns: usize, n_classes: usize },
    #[error("label {label} of row {row} is not below n_classes = {n_classes}")]
    LabelOutOfRange {
        row: usize,
        label: usize,
        n_classes: usize,
    },
    #[error("the probabilities of row {row} are not a distribution (each in [0, 1], summing to 1)")]
    NotProbabilities { row: usize },
    #[error("cannot pool a {left}-class confusion matrix with a {right}-class one")]
    ConfusionSize { left: usize, right: usize },
}

/// The class each row predicts: the argmax of its probabilities, ties to the lowest index.
pub fn predicted_classes(proba: ArrayView2<f64>) -> Vec<usize> {
    proba.outer_iter().map(predicted_class).collect()
}

/// Counts of (true class, predicted class): rows are true classes, columns predicted ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfusionMatrix {
    n_classes: usize,
    counts: Vec<usize>,
}

impl ConfusionMatrix {
    pub fn zeros(n_classes: usize) -> ConfusionMatrix {
        ConfusionMatrix {
            n_classes,
            counts: vec![0; n_classes * n_classes],
        }
    }

    pub fn n_classes(&self) -> usize {
        self.n_classes
    }

    /// Rows whose true class is `truth` and predicted class `predicted`.
    pub fn count(&self, truth: usize, predicted: usize) -> usize {
        self.row(truth).get(predicted).copied().unwrap_or(0)
    }

    /// The predictions for true class `truth`, by predicted class (empty if out of range).
    pub fn row(&self, truth: usize) -> &[usize] {
        let start = (truth * self.n_classes).min(self.counts.len());
        let end = (start + self.n_classes).min(self.counts.len());
        &self.counts[start..end]
    }

    pub fn total(&self) -> usize {
        self.counts.iter().sum()
    }

    /// Adds `other`'s counts: pooling folds.
    pub fn add(&mut self, other: &ConfusionMatrix) -> Result<(), MetricsError> {
        if other.n_classes != self.n_classes {
            return Err(MetricsError::ConfusionSize {
                left: self.n_classes,
                right: other.n_classes,
            });
        }
        for (mine, theirs) in self.counts.iter_mut().zip(&other.counts) {
            *mine += theirs;
        }
        Ok(())
    }

    fn support(&self, class: usize) -> usize {
        self.row(class).iter().sum()
    }

    fn predicted(&self, class: usize) -> usize {
        (0..self.n_classes)
            .map(|truth| self.count(truth, class))
            .sum()
    }
}

/// One class's scores. A value whose ratio is 0/0 is 0 and its flag is set.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClassScores {
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    /// Rows of this class.
    pub support: usize,
    /// Rows predicted as this class.
    pub predicted: usize,
    /// Never predicted: precision is 0/0.
    pub precision_undefined: bool,
    /// No rows of this class: recall is 0/0.
    pub recall_undefined: bool,
    /// Neither present nor predicted: F1 is 0/0, and the class is left out of macro-F1.
    pub f1_undefined: bool,
}

/// Scores of one set of predictions (one fold, or pooled out-of-fold predictions).
#[derive(Debug, Clone, PartialEq)]
pub struct Scores {
    accuracy: f64,
    balanced_accuracy: f64,
    macro_f1: f64,
    log_loss: f64,
    roc_auc: Option<f64>,
    per_class: Vec<ClassScores>,
    confusion: ConfusionMatrix,
}

impl Scores {
    pub fn accuracy(&self) -> f64 {
        self.accuracy
    }
    /// Mean recall over the classes present in `y_true` (scikit-learn's
    /// `balanced_accuracy_score`: classes with no rows are left out).
    pub fn balanced_accuracy(&self) -> f64 {
        self.balanced_accuracy
    }
    /// Mean F1 over the classes present in `y_true` or predicted (scikit-learn's
    /// `f1_score(average="macro")` without `labels`).
    pub fn macro_f1(&self) -> f64 {
        self.macro_f1
    }
    /// Mean of `−ln p(true class)`, probabilities clipped to `[ε, 1 − ε]` (f64 machine
    /// epsilon) as scikit-learn's `log_loss`.
    pub fn log_loss(&self) -> f64 {
        self.log_loss
    }
    /// Two classes only, positive = class 1, scored by its probability; ties count half
    /// (scikit-learn's `roc_auc_score`). `None` with three or more classes, or when `y_true`
    /// holds only one class.
    pub fn roc_auc(&self) -> Option<f64> {
        self.roc_auc
    }
    /// Per class, in class-index order.
    pub fn per_class(&self) -> &[ClassScores] {
        &self.per_class
    }
    pub fn confusion(&self) -> &ConfusionMatrix {
        &self.confusion
    }

    /// The value of `metric`; `None` when it does not exist here (ROC AUC undefined, or a
    /// class index out of range). Per-class 0/0 values are `Some(0.0)`; see [`Scores::is_undefined`].
    pub fn get(&self, metric: Metric) -> Option<f64> {
        match metric {
            Metric::Accuracy => Some(self.accuracy),
            Metric::BalancedAccuracy => Some(self.balanced_accuracy),
            Metric::MacroF1 => Some(self.macro_f1),
            Metric::LogLoss => Some(self.log_loss),
            Metric::RocAuc => self.roc_auc,
            Metric::Precision(c) => self.per_class.get(c).map(|s| s.precision),
            Metric::Recall(c) => self.per_class.get(c).map(|s| s.recall),
            Metric::F1(c) => self.per_class.get(c).map(|s| s.f1),
            Metric::F1Mean(classes) => {
                let f1: Vec<f64> = classes
                    .iter()
                    .map(|c| self.per_class.get(c).map(|s| s.f1))
                    .collect::<Option<_>>()?;
                Some(f1.iter().sum::<f64>() / f1.len() as f64)
            }
        }
    }

    /// Whether `metric` is a 0/0 (reported as 0) or missing here.
    pub fn is_undefined(&self, metric: Metric) -> bool {
        let class = |c: usize| self.per_class.get(c);
        match metric {
            Metric::Accuracy | Metric::BalancedAccuracy | Metric::MacroF1 | Metric::LogLoss => {
                false
            }
            Metric::RocAuc => self.roc_auc.is_none(),
            Metric::Precision(c) => class(c).is_none_or(|s| s.precision_undefined),
            Metric::Recall(c) => class(c).is_none_or(|s| s.recall_undefined),
            Metric::F1(c) => class(c).is_none_or(|s| s.f1_undefined),
            Metric::F1Mean(classes) => classes
                .iter()
                .any(|c| class(c).is_none_or(|s| s.f1_undefined)),
        }
    }
}

/// Scores probabilistic predictions. `proba` is rows × `n_classes`, columns in class-index
/// order, each row a distribution (within 1e-6).
pub fn score(
    y_true: &[usize],
    proba: ArrayView2<f64>,
    n_classes: usize,
) -> Result<Scores, MetricsError> {
    if n_classes < 2 {
        return Err(MetricsError::TooFewClasses { n_classes });
    }
    if y_true.is_empty() {
        return Err(MetricsError::NoRows);
    }
    let every_row: Vec<usize> = (0..y_true.len()).collect();
    RowTerms::new(y_true, proba, n_classes)?.score(&every_row)
}

/// What [`score`] needs of each row of a set of predictions, worked out once: its true and
/// predicted class, its log-loss term, whether it can be scored at all, and (two classes) its
/// place in the order of the positive class's probability.
///
/// Scoring a selection of the rows (a subset, or a bootstrap resample that repeats rows) then
/// only counts and sums, instead of copying the rows' probabilities and starting over, and
/// gives the very bits [`score`] gives on those rows' probabilities: [`score`] itself is this
/// type scoring every row once.
#[derive(Debug, Clone)]
pub struct RowTerms {
    n_classes: usize,
    truth: Vec<usize>,
    predicted: Vec<usize>,
    /// `−ln p(true class)`, clipped as [`Scores::log_loss`] says.
    log_loss: Vec<f64>,
    /// Why a row cannot be scored, for each row; `None` when every row can.
    faults: Option<Vec<Option<RowFault>>>,
    /// Two classes: the probability of class 1 per row, and the rows in its ascending total
    /// order. Empty otherwise.
    positive_score: Vec<f64>,
    by_positive_score: Vec<usize>,
}

/// Why one row cannot be scored.
#[derive(Debug, Clone, Copy, PartialEq)]
enum RowFault {
    LabelOutOfRange(usize),
    NotProbabilities,
}

impl RowTerms {
    /// The terms of every row of `proba` (rows × `n_classes`) with true classes `y_true`. A
    /// row that cannot be scored (label out of range, not a distribution) is remembered, and
    /// fails only the selections that include it.
    pub fn new(
        y_true: &[usize],
        proba: ArrayView2<f64>,
        n_classes: usize,
    ) -> Result<RowTerms, MetricsError> {
        if n_classes < 2 {
            return Err(MetricsError::TooFewClasses { n_classes });
        }
        if proba.nrows() != y_true.len() {
            return Err(MetricsError::RowCount {
                labels: y_true.len(),
                rows: proba.nrows(),
            });
        }
        if proba.ncols() != n_classes {
            return Err(MetricsError::ColumnCount {
                columns: proba.ncols(),
                n_classes,
            });
        }
        let faults: Vec<Option<RowFault>> = y_true
            .iter()
            .zip(proba.outer_iter())
            .map(|(&label, p)| {
                let in_range = p.iter().all(|v| (0.0..=1.0).contains(v));
                if label >= n_classes {
                    Some(RowFault::LabelOutOfRange(label))
                } else if !in_range || (p.sum() - 1.0).abs() > SUM_TOLERANCE {
                    Some(RowFault::NotProbabilities)
                } else {
                    None
                }
            })
            .collect();
        let log_loss = y_true
            .iter()
            .zip(proba.outer_iter())
            .map(|(&truth, row)| match row.get(truth) {
                Some(p) => -p.clamp(f64::EPSILON, 1.0 - f64::EPSILON).ln(),
                None => f64::NAN,
            })
            .collect();
        let (positive_score, by_positive_score) = if n_classes == 2 {
            let positive: Vec<f64> = proba.column(1).to_vec();
            let mut order: Vec<usize> = (0..positive.len()).collect();
            order.sort_by(|&a, &b| positive[a].total_cmp(&positive[b]));
            (positive, order)
        } else {
            (Vec::new(), Vec::new())
        };
        Ok(RowTerms {
            n_classes,
            truth: y_true.to_vec(),
            predicted: predicted_classes(proba),
            log_loss,
            faults: faults.iter().any(Option::is_some).then_some(faults),
            positive_score,
            by_positive_score,
        })
    }

    /// The rows these terms were worked out for.
    pub fn len(&self) -> usize {
        self.truth.len()
    }

    pub fn is_empty(&self) -> bool {
        self.truth.is_empty()
    }

    /// The scores of the rows `rows` (indices below [`RowTerms::len`], a row as often as it
    /// is listed), bit for bit those of [`score`] on the same rows' labels and probabilities
    /// in that order. Errors as [`score`] would, a row numbered by its place in `rows`.
    ///
    /// # Panics
    /// If a row index is not below [`RowTerms::len`].
    pub fn score(&self, rows: &[usize]) -> Result<Scores, MetricsError> {
        if rows.is_empty() {
            return Err(MetricsError::NoRows);
        }
        if let Some(faults) = &self.faults {
            let fault = rows
                .iter()
                .enumerate()
                .find_map(|(place, &row)| faults[row].map(|fault| (place, fault)));
            match fault {
                Some((row, RowFault::LabelOutOfRange(label))) => {
                    return Err(MetricsError::LabelOutOfRange {
                        row,
                        label,
                        n_classes: self.n_classes,
                    });
                }
                Some((row, RowFault::NotProbabilities)) => {
                    return Err(MetricsError::NotProbabilities { row });
                }
                None => {}
            }
        }
        let n_classes = self.n_classes;
        let mut confusion = ConfusionMatrix::zeros(n_classes);
        for &row in rows {
            confusion.counts[self.truth[row] * n_classes + self.predicted[row]] += 1;
        }
        // Summed in the order of `rows`, as over the selected probabilities' rows.
        let log_loss_sum = rows.iter().map(|&row| self.log_loss[row]).sum::<f64>();
        let roc_auc = if n_classes == 2 {
            self.roc_auc(rows)
        } else {
            None
        };
        Ok(Scores::of_counts(confusion, log_loss_sum, roc_auc))
    }

    /// Mann–Whitney form of the area under the ROC curve of the selected rows: the chance
    /// that a random positive (class 1) scores above a random negative, ties counting half,
    /// via average ranks. The selection's scores are walked in the order sorted once for all
    /// rows, each row as many times as it is selected, so ties group as in a sort of the
    /// selection itself.
    fn roc_auc(&self, rows: &[usize]) -> Option<f64> {
        let n_positive = rows.iter().filter(|&&row| self.truth[row] == 1).count();
        let n_negative = rows.len() - n_positive;
        if n_positive == 0 || n_negative == 0 {
            return None;
        }
        let mut copies = vec![0usize; self.len()];
        for &row in rows {
            copies[row] += 1;
        }
        let score = &self.positive_score;
        let mut selected = self
            .by_positive_score
            .iter()
            .copied()
            .filter(|&row| copies[row] > 0)
            .peekable();
        let mut rank_sum = 0.0;
        let mut start = 0;
        while let Some(first) = selected.next() {
            let (mut size, mut positives) = (0, 0);
            let mut take = |row: usize| {
                size += copies[row];
                if self.truth[row] == 1 {
                    positives += copies[row];
                }
            };
            take(first);
            while let Some(row) = selected.next_if(|&row| score[row] == score[first]) {
                take(row);
            }
            // Ranks start..=end (1-based: start+1..=end+1) share their average.
            let end = start + size - 1;
            let average_rank = (start + end) as f64 / 2.0 + 1.0;
            rank_sum += average_rank * positives as f64;
            start = end + 1;
        }
        let (p, q) = (n_positive as f64, n_negative as f64);
        Some((rank_sum - p * (p + 1.0) / 2.0) / (p * q))
    }
}

impl Scores {
    /// The scores of predictions whose (true, predicted) counts are `confusion`, whose
    /// log-loss terms sum to `log_loss_sum`, and whose ROC AUC is `roc_auc`: the one place
    /// each metric's formula is written.
    fn of_counts(confusion: ConfusionMatrix, log_loss_sum: f64, roc_auc: Option<f64>) -> Scores {
        let n = confusion.total();
        let ratio = |num: usize, den: usize| {
            if den == 0 {
                0.0
            } else {
                num as f64 / den as f64
            }
        };
        let per_class: Vec<ClassScores> = (0..confusion.n_classes)
            .map(|c| {
                let tp = confusion.count(c, c);
                let support = confusion.support(c);
                let predicted = confusion.predicted(c);
                // F1 = 2tp / (2tp + fp + fn) = 2tp / (predicted + support).
                ClassScores {
                    precision: ratio(tp, predicted),
                    recall: ratio(tp, support),
                    f1: ratio(2 * tp, predicted + support),
                    support,
                    predicted,
                    precision_undefined: predicted == 0,
                    recall_undefined: support == 0,
                    f1_undefined: predicted + support == 0,
                }
            })
            .collect();

        let correct: usize = (0..confusion.n_classes)
            .map(|c| confusion.count(c, c))
            .sum();
        let present: Vec<&ClassScores> = per_class.iter().filter(|s| s.support > 0).collect();
        let balanced_accuracy =
            present.iter().map(|s| s.recall).sum::<f64>() / present.len() as f64;
        let scored: Vec<&ClassScores> = per_class.iter().filter(|s| !s.f1_undefined).collect();
        let macro_f1 = scored.iter().map(|s| s.f1).sum::<f64>() / scored.len() as f64;
        Scores {
            accuracy: correct as f64 / n as f64,
            balanced_accuracy,
            macro_f1,
            log_loss: log_loss_sum / n as f64,
            roc_auc,
            per_class,
            confusion,
        }
    }
}

/// Probabilities of the majority-class baseline for `n_rows` test rows: every row gets the
/// training class frequencies, so it predicts the most frequent training class (ties to the
/// lowest index).
pub fn majority_baseline(
    y_train: &[usize],
    n_classes: usize,
    n_rows: usize,
) -> Result<Array2<f64>, MetricsError> {
    if y_train.is_empty() {
        return Err(MetricsError::NoRows);
    }
    let mut counts = vec![0usize; n_classes];
    for (row, &label) in y_train.iter().enumerate() {
        match counts.get_mut(label) {
            Some(count) => *count += 1,
            None => {
                return Err(MetricsError::LabelOutOfRange {
                    row,
                    label,
                    n_classes,
                });
            }
        }
    }
    let total = y_train.len() as f64;
    Ok(Array2::from_shape_fn((n_rows, n_classes), |(_, c)| {
        counts[c] as f64 / total
    }))
}

/// A set of class indices, each below [`ClassSet::MAX_CLASSES`]: the classes a metric
/// averages over. Iterates in class-index order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ClassSet(u64);

impl ClassSet {
    /// Classes a set can name: indices `0..64`.
    pub const MAX_CLASSES: usize = 64;

    /// The set of `classes`; `None` if it is empty, names a class twice, or one at or above
    /// [`ClassSet::MAX_CLASSES`].
    pub fn new(classes: impl IntoIterator<Item = usize>) -> Option<ClassSet> {
        let mut bits = 0u64;
        for class in classes {
            let bit = 1u64.checked_shl(u32::try_from(class).ok()?)?;
            if bits & bit != 0 {
                return None;
            }
            bits |= bit;
        }
        (bits != 0).then_some(ClassSet(bits))
    }

    /// The classes, ascending.
    pub fn iter(self) -> impl Iterator<Item = usize> {
        (0..Self::MAX_CLASSES).filter(move |&c| self.0 & (1 << c) != 0)
    }

    pub fn len(self) -> usize {
        self.0.count_ones() as usize
    }

    /// Never true: a set holds at least one class.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

/// A scalar metric, `Copy`, in the fixed order records and tables use ([`Metric::all`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Metric {
    Accuracy,
    BalancedAccuracy,
    MacroF1,
    LogLoss,
    RocAuc,
    Precision(usize),
    Recall(usize),
    F1(usize),
    /// The mean of the named classes' F1 (each 0 where it is 0/0): scikit-learn's
    /// `f1_score(labels=classes, average=None).mean()`. Not in [`Metric::all`]: recorded when
    /// an experiment chooses it.
    F1Mean(ClassSet),
}

impl Metric {
    /// Every scalar metric for `n_classes` classes, in display order: accuracy, balanced
    /// accuracy, macro-F1, log loss, ROC AUC (two classes only), then precision, recall and F1
    /// of each class in class-index order.
    pub fn all(n_classes: usize) -> Vec<Metric> {
        let mut metrics = vec![
            Metric::Accuracy,
            Metric::BalancedAccuracy,
            Metric::MacroF1,
            Metric::LogLoss,
        ];
        if n_classes == 2 {
            metrics.push(Metric::RocAuc);
        }
        for class in 0..n_classes {
            metrics.extend([
                Metric::Precision(class),
                Metric::Recall(class),
                Metric::F1(class),
            ]);
        }
        metrics
    }

    /// [`Metric::all`], followed by `chosen` when it is not among them (an `f1_mean`): the
    /// metrics an experiment whose `[stats] metric` is `chosen` records.
    pub fn all_and(n_classes: usize, chosen: Metric) -> Vec<Metric> {
        let mut metrics = Metric::all(n_classes);
        if !metrics.contains(&chosen) {
            metrics.push(chosen);
        }
        metrics
    }

    /// The metric's family name: `"accuracy"`, `"balanced_accuracy"`, `"macro_f1"`,
    /// `"log_loss"`, `"roc_auc"`, `"precision"`, `"recall"`, `"f1"`, `"f1_mean"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Metric::Accuracy => "accuracy",
            Metric::BalancedAccuracy => "balanced_accuracy",
            Metric::MacroF1 => "macro_f1",
            Metric::LogLoss => "log_loss",
            Metric::RocAuc => "roc_auc",
            Metric::Precision(_) => "precision",
            Metric::Recall(_) => "recall",
            Metric::F1(_) => "f1",
            Metric::F1Mean(_) => "f1_mean",
        }
    }

    /// The class of a per-class metric.
    pub fn class(self) -> Option<usize> {
        match self {
            Metric::Precision(c) | Metric::Recall(c) | Metric::F1(c) => Some(c),
            _ => None,
        }
    }

    /// Full name with the class names for per-class metrics: `"accuracy"`,
    /// `"precision:stable"`, `"f1_mean:favor,against"` (classes in class-index order).
    pub fn key<S: AsRef<str>>(self, classes: &[S]) -> String {
        let name = |c: usize| classes.get(c).map_or("?", |s| s.as_ref());
        match self {
            Metric::F1Mean(set) => {
                let names: Vec<&str> = set.iter().map(name).collect();
                format!("{}:{}", self.as_str(), names.join(","))
            }
            _ => match self.class() {
                Some(c) => format!("{}:{}", self.as_str(), name(c)),
                None => self.as_str().to_owned(),
            },
        }
    }

    /// The metric whose [`Metric::key`] is `key`, for these classes. `f1_mean:` takes its
    /// classes in any order, each once.
    pub fn parse<S: AsRef<str>>(key: &str, classes: &[S]) -> Option<Metric> {
        if let Some(names) = key.strip_prefix("f1_mean:") {
            let indices = names
                .split(',')
                .map(|name| classes.iter().position(|c| c.as_ref() == name))
                .collect::<Option<Vec<usize>>>()?;
            return ClassSet::new(indices).map(Metric::F1Mean);
        }
        Metric::all(classes.len())
            .into_iter()
            .find(|m| m.key(classes) == key)
    }

    /// False for log loss (lower is better), true for the others.
    pub fn higher_is_better(self) -> bool {
        self != Metric::LogLoss
    }
}

/// A metric across folds: the mean and the sample standard deviation (ddof = 1) of its
/// defined values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    /// `None` when no fold defined the metric.
    pub mean: Option<f64>,
    /// `None` with fewer than two defined values.
    pub std: Option<f64>,
    /// Folds where the metric was defined.
    pub n_defined: usize,
    /// Folds where it was not (e.g. ROC AUC on a fold with one class).
    pub n_undefined: usize,
}

/// Mean and sample standard deviation of the defined values (two passes, for accuracy).
pub fn summarize<I: IntoIterator<Item = Option<f64>>>(values: I) -> Summary {
    let mut defined = Vec::new();
    let mut n_undefined = 0;
    for value in values {
        match value {
            Some(v) => defined.push(v),
            None => n_undefined += 1,
        }
    }
    let n = defined.len();
    let mean = (n > 0).then(|| defined.iter().sum::<f64>() / n as f64);
    let std = match mean {
        Some(mean) if n >= 2 => {
            let squares: f64 = defined.iter().map(|v| (v - mean).powi(2)).sum();
            Some((squares / (n - 1) as f64).sqrt())
        }
        _ => None,
    };
    Summary {
        mean,
        std,
        n_defined: n,
        n_undefined,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;
    use serde::Deserialize;

    fn fixture<T: for<'de> Deserialize<'de>>(name: &str) -> T {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/metrics")
            .join(name);
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        serde_json::from_str(&text).unwrap()
    }

    #[derive(Deserialize)]
    struct Cases<T> {
        cases: Vec<T>,
    }

    #[derive(Deserialize)]
    struct Case {
        name: String,
        n_classes: usize,
        y_true: Vec<usize>,
        proba: Vec<Vec<f64>>,
        expected: Expected,
    }

    #[derive(Deserialize)]
    struct Expected {
        predicted: Vec<usize>,
        accuracy: f64,
        balanced_accuracy: f64,
        macro_f1: f64,
        log_loss: f64,
        roc_auc: Option<f64>,
        precision: Vec<f64>,
        recall: Vec<f64>,
        f1: Vec<f64>,
        support: Vec<usize>,
        precision_undefined: Vec<bool>,
        recall_undefined: Vec<bool>,
        f1_undefined: Vec<bool>,
        confusion: Vec<Vec<usize>>,
    }

    fn matrix(rows: &[Vec<f64>]) -> Array2<f64> {
        let cols = rows.first().map_or(0, Vec::len);
        Array2::from_shape_fn((rows.len(), cols), |(i, j)| rows[i][j])
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-12 * b.abs().max(1.0)
    }

    /// Scores `proba` and compares every output with scikit-learn's.
    fn check(name: &str, y_true: &[usize], proba: &Array2<f64>, n_classes: usize, e: &Expected) {
        assert_eq!(predicted_classes(proba.view()), e.predicted, "{name}");
        let s = score(y_true, proba.view(), n_classes).unwrap();
        let scalars = [
            ("accuracy", s.accuracy(), e.accuracy),
            (
                "balanced_accuracy",
                s.balanced_accuracy(),
                e.balanced_accuracy,
            ),
            ("macro_f1", s.macro_f1(), e.macro_f1),
            ("log_loss", s.log_loss(), e.log_loss),
        ];
        for (metric, ours, theirs) in scalars {
            assert!(close(ours, theirs), "{name}: {metric} {ours} != {theirs}");
        }
        match (s.roc_auc(), e.roc_auc) {
            (Some(ours), Some(theirs)) => {
                assert!(close(ours, theirs), "{name}: roc_auc {ours} != {theirs}")
            }
            (ours, theirs) => assert_eq!(ours, theirs, "{name}: roc_auc"),
        }
        for (c, class) in s.per_class().iter().enumerate() {
            assert!(
                close(class.precision, e.precision[c]),
                "{name}: precision {c}"
            );
            assert!(close(class.recall, e.recall[c]), "{name}: recall {c}");
            assert!(close(class.f1, e.f1[c]), "{name}: f1 {c}");
            assert_eq!(class.support, e.support[c], "{name}: support {c}");
            let flags = (
                class.precision_undefined,
                class.recall_undefined,
                class.f1_undefined,
            );
            let expected = (
                e.precision_undefined[c],
                e.recall_undefined[c],
                e.f1_undefined[c],
            );
            assert_eq!(flags, expected, "{name}: undefined flags of class {c}");
            assert_eq!(
                s.is_undefined(Metric::Precision(c)),
                e.precision_undefined[c]
            );
        }
        let confusion: Vec<Vec<usize>> = (0..n_classes)
            .map(|c| s.confusion().row(c).to_vec())
            .collect();
        assert_eq!(confusion, e.confusion, "{name}: confusion");
    }

    #[test]
    fn scores_match_scikit_learn() {
        let cases: Cases<Case> = fixture("cases.json");
        assert_eq!(cases.cases.len(), 11);
        for case in &cases.cases {
            check(
                &case.name,
                &case.y_true,
                &matrix(&case.proba),
                case.n_classes,
                &case.expected,
            );
        }
    }

    #[derive(Deserialize)]
    struct BaselineCase {
        name: String,
        n_classes: usize,
        y_train: Vec<usize>,
        y_test: Vec<usize>,
        proba: Vec<Vec<f64>>,
        expected: Expected,
    }

    #[test]
    fn majority_baseline_matches_scikit_learn() {
        let cases: Cases<BaselineCase> = fixture("baseline.json");
        for case in &cases.cases {
            let proba =
                majority_baseline(&case.y_train, case.n_classes, case.y_test.len()).unwrap();
            let expected = matrix(&case.proba);
            assert!(
                proba.iter().zip(&expected).all(|(a, b)| close(*a, *b)),
                "{}",
                case.name
            );
            check(
                &case.name,
                &case.y_test,
                &proba,
                case.n_classes,
                &case.expected,
            );
        }
    }

    #[derive(Deserialize)]
    struct SummaryCase {
        values: Vec<Option<f64>>,
        mean: Option<f64>,
        std: Option<f64>,
    }

    #[test]
    fn summaries_match_numpy() {
        let cases: Cases<SummaryCase> = fixture("summaries.json");
        for case in &cases.cases {
            let s = summarize(case.values.iter().copied());
            let same = |a: Option<f64>, b: Option<f64>| match (a, b) {
                (Some(a), Some(b)) => close(a, b),
                (a, b) => a == b,
            };
            assert!(
                same(s.mean, case.mean) && same(s.std, case.std),
                "{:?}: {s:?}",
                case.values
            );
            assert_eq!(s.n_defined + s.n_undefined, case.values.len());
            assert_eq!(
                s.n_undefined,
                case.values.iter().filter(|v| v.is_none()).count()
            );
        }
    }

    #[test]
    fn bad_input_is_an_error() {
        fn check(y: &[usize], proba: Array2<f64>, n_classes: usize, expected: &str) {
            assert_eq!(
                score(y, proba.view(), n_classes).unwrap_err().to_string(),
                expected
            );
        }
        check(&[], Array2::zeros((0, 2)), 2, "no predictions to score");
        check(
            &[0],
            array![[1.0]],
            1,
            "scoring needs at least 2 classes, got 1",
        );
        check(
            &[0, 1],
            array![[1.0, 0.0]],
            2,
            "2 labels but 1 rows of probabilities",
        );
        check(
            &[0],
            array![[0.5, 0.25, 0.25]],
            2,
            "probabilities have 3 columns for 2 classes",
        );
        check(
            &[0, 2],
            array![[1.0, 0.0], [0.0, 1.0]],
            2,
            "label 2 of row 1 is not below n_classes = 2",
        );
        let not =
            "the probabilities of row 1 are not a distribution (each in [0, 1], summing to 1)";
        check(&[0, 1], array![[1.0, 0.0], [0.6, 0.6]], 2, not);
        check(&[0, 1], array![[1.0, 0.0], [1.5, -0.5]], 2, not);
        check(&[0, 1], array![[1.0, 0.0], [f64::NAN, 1.0]], 2, not);
        assert_eq!(
            majority_baseline(&[0, 3], 2, 1).unwrap_err().to_string(),
            "label 3 of row 1 is not below n_classes = 2"
        );
        assert_eq!(
            majority_baseline(&[], 2, 1).unwrap_err().to_string(),
            "no predictions to score"
        );
    }

    #[test]
    fn confusion_matrices_pool_by_adding() {
        let a = score(
            &[0, 1, 1],
            array![[0.9, 0.1], [0.2, 0.8], [0.7, 0.3]].view(),
            2,
        )
        .unwrap();
        let b = score(&[1, 0], array![[0.1, 0.9], [0.4, 0.6]].view(), 2).unwrap();
        let mut pooled = ConfusionMatrix::zeros(2);
        pooled.add(a.confusion()).unwrap();
        pooled.add(b.confusion()).unwrap();
        // By hand: truths (0,1,1,1,0), predictions (0,1,0,1,1).
        assert_eq!((pooled.row(0), pooled.row(1)), (&[1, 1][..], &[1, 2][..]));
        assert_eq!(pooled.total(), 5);
        assert_eq!(
            pooled
                .add(&ConfusionMatrix::zeros(3))
                .unwrap_err()
                .to_string(),
            "cannot pool a 2-class confusion matrix with a 3-class one"
        );
        assert_eq!((pooled.count(5, 0), pooled.row(9)), (0, &[][..]));
    }

    #[test]
    fn metrics_have_a_fixed_order_and_round_trip_their_keys() {
        let classes = ["fracturing", "stable"];
        let keys: Vec<String> = Metric::all(2).iter().map(|m| m.key(&classes)).collect();
        assert_eq!(
            keys,
            [
                "accuracy",
                "balanced_accuracy",
                "macro_f1",
                "log_loss",
                "roc_auc",
                "precision:fracturing",
                "recall:fracturing",
                "f1:fracturing",
                "precision:stable",
                "recall:stable",
                "f1:stable"
            ]
        );
        for metric in Metric::all(3) {
            let names = ["a", "b", "c"];
            assert_eq!(Metric::parse(&metric.key(&names), &names), Some(metric));
        }
        assert!(!Metric::all(3).contains(&Metric::RocAuc));
        assert_eq!(Metric::parse("roc_auc", &["a", "b", "c"]), None);
        assert!(!Metric::LogLoss.higher_is_better() && Metric::MacroF1.higher_is_better());
    }

    proptest::proptest! {
        /// Rank-based AUC equals its definition counted pair by pair (scores on a coarse grid
        /// so that ties are common).
        #[test]
        fn auc_is_the_pairwise_win_rate(rows in proptest::collection::vec((0usize..2, 0u8..5), 2..40)) {
            let y: Vec<usize> = rows.iter().map(|r| r.0).collect();
            let scores: Vec<f64> = rows.iter().map(|r| f64::from(r.1) / 4.0).collect();
            let (mut wins, mut pairs) = (0.0, 0.0);
            for (i, &yi) in y.iter().enumerate() {
                for (j, &yj) in y.iter().enumerate() {
                    if yi == 1 && yj == 0 {
                        pairs += 1.0;
                        wins += if scores[i] > scores[j] { 1.0 } else if scores[i] == scores[j] { 0.5 } else { 0.0 };
                    }
                }
            }
            let expected = (pairs > 0.0).then(|| wins / pairs);
            let proba = Array2::from_shape_fn((y.len(), 2), |(i, c)| if c == 1 { scores[i] } else { 1.0 - scores[i] });
            let ours = score(&y, proba.view(), 2).unwrap().roc_auc();
            let agree = match (ours, expected) {
                (Some(a), Some(b)) => (a - b).abs() < 1e-12,
                (a, b) => a == b,
            };
            proptest::prop_assert!(agree, "{:?} != {:?}", ours, expected);
        }
    }

    /// Scoring as it was before [`RowTerms`] (copying the selected rows and working from their
    /// probabilities), kept verbatim as the oracle that scoring a selection by its rows' terms
    /// gives the same bits.
    fn score_from_probabilities(
        y_true: &[usize],
        proba: ArrayView2<f64>,
        n_classes: usize,
    ) -> Result<Scores, MetricsError> {
        if n_classes < 2 {
            return Err(MetricsError::TooFewClasses { n_classes });
        }
        if y_true.is_empty() {
            return Err(MetricsError::NoRows);
        }
        for (row, (&label, p)) in y_true.iter().zip(proba.outer_iter()).enumerate() {
            if label >= n_classes {
                return Err(MetricsError::LabelOutOfRange {
                    row,
                    label,
                    n_classes,
                });
            }
            let in_range = p.iter().all(|v| (0.0..=1.0).contains(v));
            if !in_range || (p.sum() - 1.0).abs() > SUM_TOLERANCE {
                return Err(MetricsError::NotProbabilities { row });
            }
        }
        let n = y_true.len();
        let predicted = predicted_classes(proba);
        let mut confusion = ConfusionMatrix::zeros(n_classes);
        for (&truth, &guess) in y_true.iter().zip(&predicted) {
            confusion.counts[truth * n_classes + guess] += 1;
        }
        let ratio = |num: usize, den: usize| {
            if den == 0 {
                0.0
            } else {
                num as f64 / den as f64
            }
        };
        let per_class: Vec<ClassScores> = (0..n_classes)
            .map(|c| {
                let tp = confusion.count(c, c);
                let support = confusion.support(c);
                let predicted = confusion.predicted(c);
                ClassScores {
                    precision: ratio(tp, predicted),
                    recall: ratio(tp, support),
                    f1: ratio(2 * tp, predicted + support),
                    support,
                    predicted,
                    precision_undefined: predicted == 0,
                    recall_undefined: support == 0,
                    f1_undefined: predicted + support == 0,
                }
            })
            .collect();
        let correct: usize = (0..n_classes).map(|c| confusion.count(c, c)).sum();
        let present: Vec<&ClassScores> = per_class.iter().filter(|s| s.support > 0).collect();
        let balanced_accuracy =
            present.iter().map(|s| s.recall).sum::<f64>() / present.len() as f64;
        let scored: Vec<&ClassScores> = per_class.iter().filter(|s| !s.f1_undefined).collect();
        let macro_f1 = scored.iter().map(|s| s.f1).sum::<f64>() / scored.len() as f64;
        let log_loss = y_true
            .iter()
            .zip(proba.outer_iter())
            .map(|(&truth, row)| -row[truth].clamp(f64::EPSILON, 1.0 - f64::EPSILON).ln())
            .sum::<f64>()
            / n as f64;
        let roc_auc = if n_classes == 2 {
            let positive_score: Vec<f64> = proba.column(1).to_vec();
            let n_positive = y_true.iter().filter(|&&c| c == 1).count();
            let n_negative = y_true.len() - n_positive;
            if n_positive == 0 || n_negative == 0 {
                None
            } else {
                let mut order: Vec<usize> = (0..y_true.len()).collect();
                order.sort_by(|&a, &b| positive_score[a].total_cmp(&positive_score[b]));
                let mut rank_sum = 0.0;
                let mut start = 0;
                while start < order.len() {
                    let mut end = start;
                    while end + 1 < order.len()
                        && positive_score[order[end + 1]] == positive_score[order[start]]
                    {
                        end += 1;
                    }
                    let average_rank = (start + end) as f64 / 2.0 + 1.0;
                    let positives = order[start..=end]
                        .iter()
                        .filter(|&&i| y_true[i] == 1)
                        .count();
                    rank_sum += average_rank * positives as f64;
                    start = end + 1;
                }
                let (p, q) = (n_positive as f64, n_negative as f64);
                Some((rank_sum - p * (p + 1.0) / 2.0) / (p * q))
            }
        } else {
            None
        };
        Ok(Scores {
            accuracy: correct as f64 / n as f64,
            balanced_accuracy,
            macro_f1,
            log_loss,
            roc_auc,
            per_class,
            confusion,
        })
    }

    /// Every value of `scores` as bits (so that -0.0, 0.0 and NaN are told apart), with its
    /// counts and flags.
    fn bits(scores: &Result<Scores, MetricsError>) -> Result<(Vec<u64>, Vec<usize>), MetricsError> {
        let s = scores.as_ref().map_err(Clone::clone)?;
        let mut values = vec![s.accuracy, s.balanced_accuracy, s.macro_f1, s.log_loss];
        values.extend(s.roc_auc);
        let mut counts = s.confusion.counts.clone();
        for class in &s.per_class {
            values.extend([class.precision, class.recall, class.f1]);
            counts.extend([class.support, class.predicted]);
            counts.extend(
                [
                    class.precision_undefined,
                    class.recall_undefined,
                    class.f1_undefined,
                ]
                .map(usize::from),
            );
        }
        Ok((values.iter().map(|v| v.to_bits()).collect(), counts))
    }

    /// Scoring the selection `rows` of (`y_true`, `proba`) through [`RowTerms`] gives the bits
    /// of scoring the selected rows' labels and probabilities as before, and so does [`score`]
    /// on them.
    fn check_selection(y_true: &[usize], proba: &Array2<f64>, n_classes: usize, rows: &[usize]) {
        let selected_labels: Vec<usize> = rows.iter().map(|&row| y_true[row]).collect();
        let selected = proba.select(ndarray::Axis(0), rows);
        let before = bits(&score_from_probabilities(
            &selected_labels,
            selected.view(),
            n_classes,
        ));
        let terms = RowTerms::new(y_true, proba.view(), n_classes).unwrap();
        assert_eq!(bits(&terms.score(rows)), before, "rows {rows:?}");
        assert_eq!(
            bits(&score(&selected_labels, selected.view(), n_classes)),
            before
        );
    }

    #[test]
    fn row_terms_score_selections_as_their_rows_would_be() {
        // Ties in the argmax, 0/1 rows, a class absent from the selection, a row repeated.
        let proba = array![
            [0.5, 0.5, 0.0],
            [0.0, 0.0, 1.0],
            [1.0, 0.0, 0.0],
            [0.25, 0.5, 0.25],
            [0.2, 0.4, 0.4],
        ];
        let y = [1, 2, 0, 1, 2];
        check_selection(&y, &proba, 3, &[0, 1, 2, 3, 4]);
        check_selection(&y, &proba, 3, &[4, 4, 0, 3, 1]);
        check_selection(&y, &proba, 3, &[2, 2, 2]);
        check_selection(&y, &proba, 3, &[]);
        let two = array![[0.5, 0.5], [0.0, 1.0], [1.0, 0.0], [0.5, 0.5], [-0.0, 1.0]];
        check_selection(&[1, 0, 0, 1, 1], &two, 2, &[0, 3, 3, 1, 4, 2]);
        check_selection(&[1, 0, 0, 1, 1], &two, 2, &[1, 2]);
        // A row that cannot be scored fails only the selections holding it, named by its place.
        let faulty = array![[0.6, 0.6], [0.0, 1.0], [1.0, 0.0]];
        check_selection(&[0, 1, 0], &faulty, 2, &[1, 2, 1]);
        check_selection(&[0, 1, 0], &faulty, 2, &[1, 2, 0]);
        check_selection(&[0, 1, 5], &faulty, 2, &[1, 2, 0]);
    }

    proptest::proptest! {
        /// Random predictions on a coarse grid (ties, zeros and ones are common), now and then
        /// a row that cannot be scored, scored through random selections with repeats.
        #[test]
        fn row_terms_score_random_selections_as_their_rows_would_be(
            n_classes in 2usize..5,
            rows in proptest::collection::vec(
                (0usize..5, proptest::collection::vec(0u8..4, 5), 0u8..40), 1..30),
            picks in proptest::collection::vec(0usize..1000, 0..40),
        ) {
            let y: Vec<usize> = rows
                .iter()
                .map(|(label, _, fault)| if *fault == 0 { n_classes } else { label % n_classes })
                .collect();
            let proba = Array2::from_shape_fn((rows.len(), n_classes), |(i, c)| {
                let (_, weights, fault) = &rows[i];
                let weights = &weights[..n_classes];
                let total: u8 = weights.iter().sum();
                match (*fault, total) {
                    (1, _) => 0.75,
                    (_, 0) => f64::from(u8::from(c == 0)),
                    _ => f64::from(weights[c]) / f64::from(total),
                }
            });
            let selection: Vec<usize> = picks.iter().map(|pick| pick % rows.len()).collect();
            check_selection(&y, &proba, n_classes, &selection);
        }
    }

    #[derive(Deserialize)]
    struct F1MeanCase {
        name: String,
        n_classes: usize,
        y_true: Vec<usize>,
        proba: Vec<Vec<f64>>,
        classes: Vec<usize>,
        f1_mean: f64,
    }

    #[test]
    fn f1_mean_matches_scikit_learn() {
        let cases: Cases<F1MeanCase> = fixture("f1_mean.json");
        assert_eq!(cases.cases.len(), 6);
        for case in &cases.cases {
            let s = score(&case.y_true, matrix(&case.proba).view(), case.n_classes).unwrap();
            let metric = Metric::F1Mean(ClassSet::new(case.classes.iter().copied()).unwrap());
            let ours = s.get(metric).unwrap();
            assert!(
                close(ours, case.f1_mean),
                "{}: {ours} != {}",
                case.name,
                case.f1_mean
            );
        }
    }

    #[test]
    fn f1_mean_keys_parse_in_any_order_and_print_in_class_order() {
        let classes = ["favor", "against", "none"];
        let check = |key: &str, expected: Option<&str>| {
            let parsed = Metric::parse(key, &classes);
            assert_eq!(
                parsed.map(|m| m.key(&classes)),
                expected.map(str::to_owned),
                "{key}"
            );
        };
        check("f1_mean:favor,against", Some("f1_mean:favor,against"));
        check("f1_mean:against,favor", Some("f1_mean:favor,against"));
        check("f1_mean:none", Some("f1_mean:none"));
        check("f1_mean:favor,favor", None);
        check("f1_mean:favor,maybe", None);
        check("f1_mean:", None);
        check("f1_mean", None);
        check("f1_mean:favor, against", None);
        let metric = Metric::parse("f1_mean:none,favor", &classes).unwrap();
        assert_eq!(metric.class(), None);
        assert!(metric.higher_is_better());
        assert_eq!(Metric::all_and(3, metric).last(), Some(&metric));
        assert_eq!(Metric::all_and(3, Metric::MacroF1), Metric::all(3));
        assert_eq!(ClassSet::new([64]), None);
        assert_eq!(
            ClassSet::new([63, 0]).map(|s| s.iter().collect::<Vec<_>>()),
            Some(vec![0, 63])
        );
    }

    #[test]
    fn f1_mean_is_undefined_when_a_named_class_is() {
        // Truths (0, 1, 0), predictions (0, 0, 0): class 2 neither true nor predicted.
        let s = score(
            &[0, 1, 0],
            array![[0.8, 0.1, 0.1], [0.5, 0.4, 0.1], [0.9, 0.05, 0.05]].view(),
            3,
        )
        .unwrap();
        let both = Metric::F1Mean(ClassSet::new([0, 1]).unwrap());
        let with_absent = Metric::F1Mean(ClassSet::new([0, 2]).unwrap());
        // By hand: F1(0) = 2·2/(3 + 2) = 0.8, F1(1) = 0, F1(2) = 0/0 = 0.
        assert!(close(s.get(both).unwrap(), 0.4));
        assert!(!s.is_undefined(both));
        assert!(close(s.get(with_absent).unwrap(), 0.4));
        assert!(s.is_undefined(with_absent));
        let out_of_range = Metric::F1Mean(ClassSet::new([0, 5]).unwrap());
        assert_eq!(s.get(out_of_range), None);
        assert!(s.is_undefined(out_of_range));
    }

    #[test]
    fn get_reads_each_metric() {
        let s = score(
            &[0, 1, 1],
            array![[0.9, 0.1], [0.2, 0.8], [0.7, 0.3]].view(),
            2,
        )
        .unwrap();
        assert_eq!(s.get(Metric::Accuracy), Some(s.accuracy()));
        assert_eq!(s.get(Metric::RocAuc), s.roc_auc());
        assert_eq!(s.get(Metric::Recall(1)), Some(s.per_class()[1].recall));
        assert_eq!(s.get(Metric::F1(7)), None);
        assert!(s.is_undefined(Metric::F1(7)));
        for metric in Metric::all(2) {
            assert!(s.get(metric).is_some(), "{metric:?}");
        }
    }
}
