//! Logistic regression behind a seam of our own: a training matrix (dense, or the
//! featurizer's sparse rows) and class indices in, a [`FittedModel`] out that holds only plain arrays (coefficient sets, intercepts, the
//! class each set scores) and says whether the solver converged.
//!
//! The rest of `stance` sees [`Classifier`], [`FittedModel`] and the `[model]` config
//! ([`RawModelConfig`] → [`ModelConfig`]); which solver ran is a detail behind them. Three
//! solvers minimise the same objective: linfa-logistic 0.8.1 (the default for small
//! two-class problems), our own L-BFGS (small problems of three or more classes, because
//! linfa-logistic's multinomial model computes a wrong loss on realistic data; see
//! `notes/linfa-multinomial.md`) and our own truncated Newton (large sparse problems).
//! Our two can start from an earlier solution ([`Classifier::fit_csr_from`]).
//!
//! Architecture invariant: this module knows nothing about text, folds or class names. Labels
//! are class indices `0..n_classes`; the caller maps names. It does no I/O and never panics
//! on bad input.

mod lbfgs;
mod newton;
mod objective;
mod predict;
mod row_space;
mod solvers;

use ndarray::{Array1, Array2, ArrayView1, ArrayView2, Axis};
use serde::{Deserialize, Serialize};
use thiserror::Error;

pub use predict::{Contribution, Explanation, Scored, predicted_class};

use crate::sparse::CsrMatrix;

/// The `[model]` table of an experiment, as written.
///
/// The model is L2-penalised logistic regression fitted by minimising the *summed* loss
/// `Σᵢ −log p(yᵢ | xᵢ) + alpha/2 · ‖W‖²`, where the penalty covers the weights only and the
/// intercepts are free. This is linfa-logistic's objective. scikit-learn's
/// `LogisticRegression(solver="lbfgs")` minimises `mean loss + ‖W‖² / (2·C·n)`, which is ours
/// divided by the `n` rows when **`alpha = 1 / C`**: same solution, so `alpha = 1.0` is
/// scikit-learn's default `C = 1.0`. Two classes use one
/// coefficient set (the logit of the higher class index, as scikit-learn's `coef_` for
/// `classes_[1]`); three or more use one set per class (softmax, scikit-learn's multinomial).
///
/// `gradient_tolerance` is scikit-learn's `tol`: it bounds the largest component of the
/// gradient of the *mean* objective, `F / rows`, at the solution, for every solver (so that
/// the default converges whatever the number of rows). A fit that stops above it is reported
/// as not converged ([`Convergence`]), which also records `‖∇F‖₂` of the summed objective.
///
/// `solver` picks who minimises it:
/// - `"auto"` (default): linfa-logistic's `LogisticRegression` for two classes while the
///   dense matrix it takes stays small, else our L-BFGS or our truncated Newton by the size
///   of the problem (see [`SolverChoice::for_training`]). Not linfa for three or more
///   classes, because linfa-logistic 0.8.1's `MultiLogisticRegression` cannot be trusted:
///   it shifts log-sum-exp by the largest score of the whole matrix instead of each row's, so
///   loss and gradient go wrong once rows' scores differ by more than ~35, and its line
///   search then stops early without saying so (`notes/linfa-multinomial.md`).
/// - `"linfa"`: linfa-logistic for any number of classes (`MultiLogisticRegression` for three
///   or more: kept to compare against; the convergence check below catches its failures).
/// - `"lbfgs"`: our own L-BFGS with a strong-Wolfe line search, for any number of classes.
/// - `"newton"`: our own truncated Newton (conjugate gradients on Hessian-vector products
///   over the sparse rows), for any number of classes.
///
/// `class_weight = "balanced"` weighs row `i`'s loss by `sᵢ` ([`ClassWeight`]), the objective
/// becoming `Σᵢ sᵢ · −log p(yᵢ | xᵢ) + alpha/2 · ‖W‖²`, scikit-learn's with its sample weights.
/// linfa-logistic takes no sample weights, so weighted fits go to our solvers: `"auto"` picks
/// L-BFGS or Newton by size, and `"linfa"` is refused.
///
/// linfa and L-BFGS work, on wide data (far fewer rows than features, as with a few dozen
/// paragraphs), in the row space of the matrix: the identical problem on rows × rank instead
/// of rows × features, so a fit on 20 paragraphs × 1,700 features takes ~0.2 ms.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawModelConfig {
    /// L2 penalty strength on the weights, `1/C` of scikit-learn; at least 0.
    pub alpha: f64,
    /// Most solver iterations (L-BFGS steps); at least 1.
    pub max_iterations: u64,
    /// Largest acceptable component of the gradient of the mean objective at the solution
    /// (scikit-learn's `tol`); above 0.
    pub gradient_tolerance: f64,
    /// Fit an unpenalised intercept per coefficient set.
    pub fit_intercept: bool,
    pub solver: SolverChoice,
    /// One model per group (article) instead of one for all: a setting of the experiment
    /// (`experiment` fits each group's model on its own rows); this module fits whatever
    /// rows it is given.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub per_group: bool,
    /// scikit-learn's `class_weight`: `"balanced"` weighs each training row's loss by
    /// `n_rows / (n_classes · rows of its class)`, counted on the rows being fitted.
    #[serde(skip_serializing_if = "ClassWeight::is_none")]
    pub class_weight: ClassWeight,
}

/// The `class_weight` key: how much each row's loss counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClassWeight {
    /// Every row counts once (scikit-learn's `class_weight=None`).
    #[default]
    None,
    /// Row `i` of class `c` counts `n_rows / (n_classes · n_c)`, over the classes present
    /// in the training rows: each class then weighs the same in total, and the weights sum
    /// to `n_rows`, so the penalty keeps its meaning.
    Balanced,
}

impl ClassWeight {
    pub fn is_none(&self) -> bool {
        *self == ClassWeight::None
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ClassWeight::None => "none",
            ClassWeight::Balanced => "balanced",
        }
    }

    /// Per row of labels `y`, its weight; `None` when every row counts once. `classes` are
    /// the classes present in `y`.
    pub(crate) fn row_weights(self, y: &[usize], classes: &[usize]) -> Option<Vec<f64>> {
        match self {
            ClassWeight::None => None,
            ClassWeight::Balanced => {
                let mut counts = vec![0usize; classes.last().map_or(0, |&c| c + 1)];
                for &label in y {
                    counts[label] += 1;
                }
                let n_rows = y.len() as f64;
                let n_classes = classes.len() as f64;
                Some(
                    y.iter()
                        .map(|&label| n_rows / (n_classes * counts[label] as f64))
                        .collect(),
                )
            }
        }
    }
}

impl Default for RawModelConfig {
    fn default() -> Self {
        RawModelConfig {
            alpha: 1.0,
            max_iterations: 100,
            gradient_tolerance: 1e-4,
            fit_intercept: true,
            solver: SolverChoice::Auto,
            per_group: false,
            class_weight: ClassWeight::None,
        }
    }
}

/// Cells of the dense matrix up to which `solver = "auto"` lets linfa-logistic fit two
/// classes (8 MB of `f64`): see [`SolverChoice::for_training`].
pub const LINFA_MAX_CELLS: usize = 1 << 20;

/// Stored entries × coefficient sets from which `solver = "auto"` prefers truncated Newton
/// to L-BFGS: see [`SolverChoice::for_training`].
pub const NEWTON_MIN_WORK: usize = 1 << 18;

/// The `solver` key; see [`RawModelConfig`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SolverChoice {
    /// linfa-logistic for two classes while its dense matrix is small, else our L-BFGS or
    /// truncated Newton by size.
    #[default]
    Auto,
    Linfa,
    Lbfgs,
    Newton,
}

impl SolverChoice {
    pub fn as_str(self) -> &'static str {
        match self {
            SolverChoice::Auto => "auto",
            SolverChoice::Linfa => "linfa",
            SolverChoice::Lbfgs => "lbfgs",
            SolverChoice::Newton => "newton",
        }
    }

    /// The solver that fits a training set of `n_rows` × `n_features` with `nnz` stored
    /// entries and `n_present` classes.
    ///
    /// `Auto` gives two classes to linfa-logistic only while the dense matrix it needs stays
    /// small: wide data, which it fits in its row space (a few dozen paragraphs), or at most
    /// [`LINFA_MAX_CELLS`] cells. Past that its cost grows with rows × features where ours
    /// grows with the entries: on 1,418 tweets × 5,000 terms our L-BFGS fits a fold in 15 ms,
    /// linfa-logistic in 1.5 s. Of ours, L-BFGS is fast on small problems (a few dozen
    /// paragraphs in their row space, a few thousand tweets), truncated Newton once entries ×
    /// coefficient sets reach [`NEWTON_MIN_WORK`]: on news articles L-BFGS has not reached
    /// the tolerance after 100 iterations from 240 articles on, where Newton converges in
    /// 10–50 (measured in `notes/newton.md`).
    pub fn for_training(
        self,
        n_present: usize,
        n_rows: usize,
        n_features: usize,
        nnz: usize,
    ) -> Solver {
        self.pick(n_present, n_rows, n_features, nnz, false)
    }

    /// [`SolverChoice::for_training`] for rows whose losses are weighted (`class_weight`):
    /// never linfa-logistic, which has no sample weights, so `auto` takes our L-BFGS or
    /// truncated Newton by size for two classes too.
    pub fn for_weighted_training(
        self,
        n_present: usize,
        n_rows: usize,
        n_features: usize,
        nnz: usize,
    ) -> Solver {
        self.pick(n_present, n_rows, n_features, nnz, true)
    }

    fn pick(
        self,
        n_present: usize,
        n_rows: usize,
        n_features: usize,
        nnz: usize,
        weighted: bool,
    ) -> Solver {
        let wide = row_space::pays_off(n_rows, n_features);
        let dense_is_small = wide || n_rows.saturating_mul(n_features) <= LINFA_MAX_CELLS;
        let sets = if n_present <= 2 { 1 } else { n_present };
        let large = nnz.saturating_mul(sets) >= NEWTON_MIN_WORK;
        match self {
            SolverChoice::Auto if n_present <= 2 && dense_is_small && !weighted => Solver::Linfa,
            SolverChoice::Auto if large => Solver::Newton,
            SolverChoice::Auto => Solver::Lbfgs,
            // `check` refuses linfa with weights; were it asked anyway, L-BFGS honours them.
            SolverChoice::Linfa if weighted => Solver::Lbfgs,
            SolverChoice::Linfa => Solver::Linfa,
            SolverChoice::Lbfgs => Solver::Lbfgs,
            SolverChoice::Newton => Solver::Newton,
        }
    }
}

/// The solver that actually fitted a model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Solver {
    /// Our own L-BFGS on the objective above.
    Lbfgs,
    /// Our own truncated Newton on the objective above.
    Newton,
    /// linfa-logistic's `LogisticRegression` (two classes) or `MultiLogisticRegression`.
    Linfa,
}

impl Solver {
    pub fn as_str(self) -> &'static str {
        match self {
            Solver::Lbfgs => "lbfgs",
            Solver::Newton => "newton",
            Solver::Linfa => "linfa",
        }
    }

    pub fn parse(text: &str) -> Option<Solver> {
        match text {
            "lbfgs" => Some(Solver::Lbfgs),
            "newton" => Some(Solver::Newton),
            "linfa" => Some(Solver::Linfa),
            _ => None,
        }
    }
}

impl RawModelConfig {
    pub fn check(&self) -> Result<ModelConfig, ModelConfigError> {
        if !(self.alpha.is_finite() && self.alpha >= 0.0) {
            return Err(ModelConfigError::Alpha(self.alpha));
        }
        if self.max_iterations == 0 {
            return Err(ModelConfigError::MaxIterations);
        }
        if !(self.gradient_tolerance.is_finite() && self.gradient_tolerance > 0.0) {
            return Err(ModelConfigError::GradientTolerance(self.gradient_tolerance));
        }
        if self.solver == SolverChoice::Linfa && !self.class_weight.is_none() {
            return Err(ModelConfigError::LinfaWeights(self.class_weight));
        }
        Ok(ModelConfig {
            alpha: self.alpha,
            max_iterations: self.max_iterations,
            gradient_tolerance: self.gradient_tolerance,
            fit_intercept: self.fit_intercept,
            solver: self.solver,
            per_group: self.per_group,
            class_weight: self.class_weight,
        })
    }
}

/// A value of the `[model]` table that is out of range.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum ModelConfigError {
    #[error("`alpha` must be a finite number >= 0, got {0}")]
    Alpha(f64),
    #[error("`max_iterations` must be at least 1")]
    MaxIterations,
    #[error("`gradient_tolerance` must be a finite number > 0, got {0}")]
    GradientTolerance(f64),
    #[error(
        "`class_weight = \"{}\"` needs sample weights, which linfa-logistic 0.8.1 does not \
         take: use solver = \"auto\", \"lbfgs\" or \"newton\"",
        .0.as_str()
    )]
    LinfaWeights(ClassWeight),
}

impl ModelConfigError {
    /// The offending key of the `[model]` table.
    pub fn key(&self) -> &'static str {
        match self {
            ModelConfigError::Alpha(_) => "alpha",
            ModelConfigError::MaxIterations => "max_iterations",
            ModelConfigError::GradientTolerance(_) => "gradient_tolerance",
            ModelConfigError::LinfaWeights(_) => "class_weight",
        }
    }
}

/// Checked model settings; only [`RawModelConfig::check`] makes them.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelConfig {
    alpha: f64,
    max_iterations: u64,
    gradient_tolerance: f64,
    fit_intercept: bool,
    solver: SolverChoice,
    per_group: bool,
    class_weight: ClassWeight,
}

impl ModelConfig {
    pub fn alpha(&self) -> f64 {
        self.alpha
    }
    /// Whether the experiment fits one model per group.
    pub fn per_group(&self) -> bool {
        self.per_group
    }
    /// The same settings with another penalty (a candidate of a search; `alpha` must be
    /// finite and at least 0, as `check` requires).
    pub fn with_alpha(&self, alpha: f64) -> ModelConfig {
        ModelConfig {
            alpha,
            ..self.clone()
        }
    }
    pub fn max_iterations(&self) -> u64 {
        self.max_iterations
    }
    pub fn gradient_tolerance(&self) -> f64 {
        self.gradient_tolerance
    }
    pub fn fit_intercept(&self) -> bool {
        self.fit_intercept
    }
    pub fn solver(&self) -> SolverChoice {
        self.solver
    }
    pub fn class_weight(&self) -> ClassWeight {
        self.class_weight
    }

    /// The table these settings came from, every default written out.
    pub fn to_raw(&self) -> RawModelConfig {
        RawModelConfig {
            alpha: self.alpha,
            max_iterations: self.max_iterations,
            gradient_tolerance: self.gradient_tolerance,
            fit_intercept: self.fit_intercept,
            solver: self.solver,
            per_group: self.per_group,
            class_weight: self.class_weight,
        }
    }
}

impl Default for ModelConfig {
    fn default() -> Self {
        let raw = RawModelConfig::default();
        ModelConfig {
            alpha: raw.alpha,
            max_iterations: raw.max_iterations,
            gradient_tolerance: raw.gradient_tolerance,
            fit_intercept: raw.fit_intercept,
            solver: raw.solver,
            per_group: raw.per_group,
            class_weight: raw.class_weight,
        }
    }
}

/// Something that learns class probabilities from a matrix and class indices.
pub trait Classifier {
    /// Fits on `x` (rows × features) with `y[i] ∈ 0..n_classes` the class of row `i`.
    ///
    /// Classes absent from `y` get probability 0 from the fitted model; fewer than two
    /// classes present is [`ModelError::SingleClass`].
    fn fit(
        &self,
        x: ArrayView2<f64>,
        y: &[usize],
        n_classes: usize,
    ) -> Result<FittedModel, ModelError>;

    /// [`fit`](Classifier::fit) on sparse rows: the same model, without a dense matrix of
    /// rows × features (bag-of-words rows are mostly zeros).
    fn fit_csr(
        &self,
        x: &CsrMatrix,
        y: &[usize],
        n_classes: usize,
    ) -> Result<FittedModel, ModelError> {
        self.fit_csr_from(x, y, n_classes, None)
    }

    /// [`fit_csr`](Classifier::fit_csr) from `start` (a warm start: an earlier solution of a
    /// related problem, e.g. the next alpha of a path or a larger subset of the same rows),
    /// or from zero. `start` must have `x`'s columns and the classes present in `y`. The
    /// solution is the same to within the tolerance; only the work to reach it changes.
    /// linfa-logistic ignores it.
    fn fit_csr_from(
        &self,
        x: &CsrMatrix,
        y: &[usize],
        n_classes: usize,
        start: Option<&FittedModel>,
    ) -> Result<FittedModel, ModelError>;
}

/// Whether the solver reached the gradient tolerance, and what it had reached when it stopped.
#[derive(Debug, Clone, PartialEq)]
pub struct Convergence {
    /// The largest component of the mean objective's gradient is within `tolerance`.
    pub converged: bool,
    /// `‖∇‖₂` of the summed penalised objective at the returned solution, computed by us.
    pub gradient_norm: f64,
    pub tolerance: f64,
    /// L-BFGS or Newton iterations; `None` when the solver does not say (linfa-logistic).
    pub iterations: Option<u64>,
    /// One line for the user, e.g. why the solver stopped.
    pub message: String,
}

/// A fitted model's contents, for saving and loading; [`FittedModel::from_parts`] checks them.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelParts {
    pub n_classes: usize,
    /// Classes seen in training, ascending; the others get probability 0.
    pub classes: Vec<usize>,
    /// Coefficient sets × features: one set (the logit of `classes[1]`) for two classes,
    /// else one per entry of `classes`.
    pub weights: Array2<f64>,
    /// One per coefficient set.
    pub intercepts: Array1<f64>,
    pub solver: Solver,
    pub convergence: Convergence,
}

/// A fitted logistic regression as plain arrays: scoring, saving and explaining it needs no
/// solver type.
///
/// With two classes seen, its single coefficient set gives
/// `intercept + Σⱼ wⱼ·xⱼ = log(p(c) / p(other))` for `c =` [`FittedModel::logit_class`] (the
/// higher class index, whichever class was more frequent). With three or more, set `s` scores
/// class `classes()[s]` and probabilities are the softmax of the scores.
#[derive(Debug, Clone, PartialEq)]
pub struct FittedModel {
    parts: ModelParts,
    /// The weights feature-major (`[j · sets + s]`), so that scoring a sparse row reads one
    /// contiguous run per non-zero.
    by_feature: Vec<f64>,
    /// Per class index, the coefficient set scoring it, if any.
    set_of_class: Vec<Option<usize>>,
}

impl FittedModel {
    /// Rebuilds a model from saved parts, checking that the shapes fit together.
    pub fn from_parts(parts: ModelParts) -> Result<FittedModel, ModelError> {
        let invalid = |reason: String| Err(ModelError::InvalidParts(reason));
        let ModelParts {
            n_classes,
            classes,
            weights,
            intercepts,
            ..
        } = &parts;
        if classes.len() < 2 {
            return invalid(format!(
                "{} classes listed, at least 2 needed",
                classes.len()
            ));
        }
        if !classes.windows(2).all(|w| w[0] < w[1]) {
            return invalid(format!("classes {classes:?} are not strictly ascending"));
        }
        if let Some(&last) = classes.last().filter(|&&c| c >= *n_classes) {
            return invalid(format!("class {last} is not below n_classes = {n_classes}"));
        }
        let sets = if classes.len() == 2 { 1 } else { classes.len() };
        if weights.nrows() != sets {
            return invalid(format!(
                "weights have {} coefficient sets, expected {sets} for {} classes",
                weights.nrows(),
                classes.len()
            ));
        }
        if intercepts.len() != sets {
            return invalid(format!("{} intercepts, expected {sets}", intercepts.len()));
        }
        if !weights.iter().chain(intercepts).all(|v| v.is_finite()) {
            return invalid("weights or intercepts are not all finite".to_owned());
        }
        Ok(FittedModel::with_parts(parts))
    }

    /// The model of parts whose shapes fit together (see [`FittedModel::from_parts`]).
    fn with_parts(parts: ModelParts) -> FittedModel {
        let (sets, n_features) = parts.weights.dim();
        let mut by_feature = vec![0.0; sets * n_features];
        for ((set, column), &w) in parts.weights.indexed_iter() {
            by_feature[column * sets + set] = w;
        }
        let mut set_of_class = vec![None; parts.n_classes];
        let scored = if parts.classes.len() == 2 {
            &parts.classes[1..]
        } else {
            &parts.classes[..]
        };
        for (set, &class) in scored.iter().enumerate() {
            set_of_class[class] = Some(set);
        }
        FittedModel {
            parts,
            by_feature,
            set_of_class,
        }
    }

    pub fn into_parts(self) -> ModelParts {
        self.parts
    }

    /// The class whose log-odds the single coefficient set gives, when two classes were seen.
    pub fn logit_class(&self) -> Option<usize> {
        match self.parts.classes[..] {
            [_, positive] => Some(positive),
            _ => None,
        }
    }

    /// Classes seen in training, ascending.
    pub fn classes(&self) -> &[usize] {
        &self.parts.classes
    }

    /// The class each coefficient set scores (for two classes: the logit's class).
    pub fn set_classes(&self) -> &[usize] {
        let classes = &self.parts.classes;
        if classes.len() == 2 {
            &classes[1..]
        } else {
            classes
        }
    }

    pub fn n_classes(&self) -> usize {
        self.parts.n_classes
    }

    pub fn n_features(&self) -> usize {
        self.parts.weights.ncols()
    }

    /// Coefficient sets: one for two classes seen, else one per class seen.
    pub fn n_sets(&self) -> usize {
        self.parts.weights.nrows()
    }

    /// Coefficient sets × features.
    pub fn weights(&self) -> ArrayView2<'_, f64> {
        self.parts.weights.view()
    }

    /// Weights of the coefficient set scoring `class`, if there is one.
    pub fn weights_for(&self, class: usize) -> Option<ArrayView1<'_, f64>> {
        let set = self.set_classes().iter().position(|&c| c == class)?;
        Some(self.parts.weights.index_axis(Axis(0), set))
    }

    pub fn intercepts(&self) -> ArrayView1<'_, f64> {
        self.parts.intercepts.view()
    }

    pub fn solver(&self) -> Solver {
        self.parts.solver
    }

    pub fn convergence(&self) -> &Convergence {
        &self.parts.convergence
    }
}

/// Why a model could not be fitted or applied.
#[derive(Debug, Error)]
pub enum ModelError {
    #[error("no training rows")]
    NoRows,
    #[error("the feature matrix has {rows} rows but {labels} labels were given")]
    RowCount { rows: usize, labels: usize },
    #[error("n_classes must be at least 2, got {n_classes}")]
    TooFewClasses { n_classes: usize },
    #[error("label {label} of row {row} is not below n_classes = {n_classes}")]
    LabelOutOfRange {
        row: usize,
        label: usize,
        n_classes: usize,
    },
    #[error("feature {column} of row {row} is {value}, not a finite number")]
    NonFiniteFeature {
        row: usize,
        column: usize,
        value: f64,
    },
    #[error("the training rows all belong to class {class}; fitting needs at least two classes")]
    SingleClass { class: usize },
    #[error("the model has {expected} features but the matrix has {found} columns")]
    FeatureCount { expected: usize, found: usize },
    #[error("invalid model: {0}")]
    InvalidParts(String),
    #[error("linfa-logistic failed")]
    Linfa(#[from] linfa_logistic::error::Error),
}

#[cfg(test)]
mod tests;
