//! Fitting, behind [`Classifier`]: checked training data in, a [`FittedModel`] out (from
//! linfa-logistic, our L-BFGS or our truncated Newton), with the convergence verdict
//! computed by us from the gradient at the returned solution.

use linfa::DatasetBase;
use linfa::traits::Fit as _;
use linfa_logistic::{LogisticRegression, MultiLogisticRegression};
use ndarray::{Array1, Array2, ArrayView2, Axis, CowArray, Ix2};

use crate::sparse::CsrMatrix;

use super::lbfgs::{self, Norm};
use super::newton;
use super::objective::{GradientNorms, Link, Objective, SparseRows};
use super::row_space::{self, RowSpace};
use super::{
    ClassWeight, Classifier, Convergence, FittedModel, ModelConfig, ModelError, ModelParts, Solver,
};

/// The one way into fitting: checked data, then the solver `[model] solver` picks for it.
impl Classifier for ModelConfig {
    fn fit(
        &self,
        x: ArrayView2<f64>,
        y: &[usize],
        n_classes: usize,
    ) -> Result<FittedModel, ModelError> {
        self.fit_checked(TrainingSet::new(x.view(), y, n_classes)?, None)
    }

    fn fit_csr_from(
        &self,
        x: &CsrMatrix,
        y: &[usize],
        n_classes: usize,
        start: Option<&FittedModel>,
    ) -> Result<FittedModel, ModelError> {
        let data = TrainingSet::from_csr(x, y, n_classes)?;
        if let Some(start) = start {
            let (_, n_features) = data.shape();
            if start.n_features() != n_features || start.classes() != data.classes() {
                return Err(ModelError::InvalidParts(format!(
                    "a warm start must have the training matrix's {n_features} features and \
                     its classes {:?}; it has {} features and classes {:?}",
                    data.classes(),
                    start.n_features(),
                    start.classes()
                )));
            }
        }
        self.fit_checked(data, start)
    }
}

impl ModelConfig {
    fn fit_checked(
        &self,
        data: TrainingSet,
        start: Option<&FittedModel>,
    ) -> Result<FittedModel, ModelError> {
        let (n_rows, n_features) = data.shape();
        let data = data.weighted(self.class_weight);
        let (present, nnz) = (data.n_present(), data.nnz());
        let solver = if data.row_weights.is_some() {
            self.solver
                .for_weighted_training(present, n_rows, n_features, nnz)
        } else {
            self.solver.for_training(present, n_rows, n_features, nnz)
        };
        match solver {
            Solver::Linfa => fit_linfa(self, &data),
            Solver::Lbfgs => Ok(fit_lbfgs(self, &data, start)),
            Solver::Newton => Ok(fit_newton(self, &data, start)),
        }
    }
}

/// Curvature pairs our L-BFGS keeps (scipy's L-BFGS-B default, as scikit-learn uses it).
const LBFGS_HISTORY: usize = 10;

/// Training data whose shapes, labels and values have been checked.
pub(super) struct TrainingSet<'a> {
    /// The rows' entries: what every solver works on.
    rows: SparseRows<'a>,
    /// The rows as given, when they came dense (linfa-logistic takes dense input only).
    dense: Option<ArrayView2<'a, f64>>,
    y: &'a [usize],
    n_classes: usize,
    /// Classes present in `y`, ascending; at least two.
    classes: Vec<usize>,
    /// Per row, the weight of its loss (`class_weight`); `None`: every row counts once.
    row_weights: Option<Vec<f64>>,
}

impl<'a> TrainingSet<'a> {
    pub(super) fn new(
        x: ArrayView2<'a, f64>,
        y: &'a [usize],
        n_classes: usize,
    ) -> Result<TrainingSet<'a>, ModelError> {
        let classes = check_labels(x.nrows(), y, n_classes)?;
        TrainingSet::checked(SparseRows::from_dense(x), Some(x), y, n_classes, classes)
    }

    /// The same from sparse rows, which are never made dense unless linfa-logistic needs them.
    pub(super) fn from_csr(
        x: &'a CsrMatrix,
        y: &'a [usize],
        n_classes: usize,
    ) -> Result<TrainingSet<'a>, ModelError> {
        let classes = check_labels(x.n_rows(), y, n_classes)?;
        TrainingSet::checked(SparseRows::from_csr(x), None, y, n_classes, classes)
    }

    /// The set of `rows` (and their `dense` form, if given), once their values are found
    /// finite: a value that is not is never zero, so it is among the sparse rows' entries.
    fn checked(
        rows: SparseRows<'a>,
        dense: Option<ArrayView2<'a, f64>>,
        y: &'a [usize],
        n_classes: usize,
        classes: Vec<usize>,
    ) -> Result<TrainingSet<'a>, ModelError> {
        if let Some((row, column, value)) = rows.first_non_finite() {
            return Err(ModelError::NonFiniteFeature { row, column, value });
        }
        Ok(TrainingSet {
            rows,
            dense,
            y,
            n_classes,
            classes,
            row_weights: None,
        })
    }

    /// The set with each row's loss weighted by `class_weight`, computed from these rows
    /// only (a fold's training rows).
    pub(super) fn weighted(mut self, class_weight: ClassWeight) -> TrainingSet<'a> {
        self.row_weights = class_weight.row_weights(self.y, &self.classes);
        self
    }

    /// The rows as a dense matrix: the one given, or one made from the sparse rows.
    fn dense(&self) -> CowArray<'a, f64, Ix2> {
        match self.dense {
            Some(view) => CowArray::from(view),
            None => CowArray::from(self.rows.to_dense()),
        }
    }

    /// Rows × features.
    pub(super) fn shape(&self) -> (usize, usize) {
        (self.rows.n_rows(), self.rows.n_features())
    }

    /// Stored entries of the rows.
    pub(super) fn nnz(&self) -> usize {
        self.rows.nnz()
    }

    /// Classes present in the training rows, ascending.
    pub(super) fn classes(&self) -> &[usize] {
        &self.classes
    }

    /// How many classes the training rows actually have.
    pub(super) fn n_present(&self) -> usize {
        self.classes.len()
    }

    fn link(&self) -> Link {
        match self.classes.len() {
            2 => Link::Logistic,
            n_sets => Link::Softmax { n_sets },
        }
    }

    /// The objective of fitting these rows (or their image `x` in the row space) to
    /// `targets`, each row's loss weighted as the set says.
    fn objective<'b>(
        &'b self,
        x: &'b SparseRows<'b>,
        targets: &'b [usize],
        params: &ModelConfig,
    ) -> Objective<'b> {
        Objective::new(x, targets, self.link(), params.alpha, params.fit_intercept)
            .with_row_weights(self.row_weights.as_deref())
    }

    /// Each row's target for [`Objective`]: 1 for the logit's class (two classes), else the
    /// index of its class among the coefficient sets.
    fn targets(&self) -> Vec<usize> {
        let mut set_of_class = vec![0; self.n_classes];
        for (set, &class) in self.classes.iter().enumerate() {
            set_of_class[class] = set;
        }
        self.y.iter().map(|&label| set_of_class[label]).collect()
    }
}

/// The classes present among labels `y` of `n_rows` rows, ascending, once shapes and labels
/// are checked: at least two classes asked for, one label per row, labels in range, and at
/// least two classes present.
fn check_labels(n_rows: usize, y: &[usize], n_classes: usize) -> Result<Vec<usize>, ModelError> {
    if n_classes < 2 {
        return Err(ModelError::TooFewClasses { n_classes });
    }
    if n_rows != y.len() {
        return Err(ModelError::RowCount {
            rows: n_rows,
            labels: y.len(),
        });
    }
    if y.is_empty() {
        return Err(ModelError::NoRows);
    }
    let mut present = vec![false; n_classes];
    for (row, &label) in y.iter().enumerate() {
        match present.get_mut(label) {
            Some(seen) => *seen = true,
            None => {
                return Err(ModelError::LabelOutOfRange {
                    row,
                    label,
                    n_classes,
                });
            }
        }
    }
    let classes: Vec<usize> = (0..n_classes).filter(|&c| present[c]).collect();
    if classes.len() < 2 {
        return Err(ModelError::SingleClass { class: y[0] });
    }
    Ok(classes)
}

/// linfa-logistic: `LogisticRegression` for two classes, `MultiLogisticRegression` otherwise.
pub(super) fn fit_linfa(
    params: &ModelConfig,
    data: &TrainingSet,
) -> Result<FittedModel, ModelError> {
    let sparse = &data.rows;
    // The same change of basis as for our own solver: linfa then works on rows × rank
    // instead of rows × features, with the identical solution (see `row_space`).
    let space =
        row_space::pays_off(sparse.n_rows(), sparse.n_features()).then(|| RowSpace::new(sparse));
    let dense;
    let x = match &space {
        Some(space) => space.basis().view(),
        None => {
            dense = data.dense();
            dense.view()
        }
    };
    let labels = Array1::from(data.y.to_vec());
    let dataset = DatasetBase::new(x, labels);
    // linfa stops on ‖∇F‖₂ of the summed objective, which bounds its largest component:
    // within `tolerance · rows`, the mean objective's largest component is within `tolerance`.
    let linfa_tolerance = params.gradient_tolerance * sparse.n_rows() as f64;
    let (weights, intercepts) = if data.classes.len() == 2 {
        let fitted = LogisticRegression::default()
            .alpha(params.alpha)
            .max_iterations(params.max_iterations)
            .gradient_tolerance(linfa_tolerance)
            .with_intercept(params.fit_intercept)
            .fit(&dataset)?;
        // linfa's "positive" class is the more frequent one; we always score the higher index.
        let sign = if fitted.labels().pos.class == data.classes[1] {
            1.0
        } else {
            -1.0
        };
        let weights = (fitted.params() * sign).insert_axis(ndarray::Axis(0));
        (weights, Array1::from(vec![sign * fitted.intercept()]))
    } else {
        let fitted = MultiLogisticRegression::default()
            .alpha(params.alpha)
            .max_iterations(params.max_iterations)
            .gradient_tolerance(linfa_tolerance)
            .with_intercept(params.fit_intercept)
            .fit(&dataset)?;
        // linfa orders its classes ascending, as `data.classes` is.
        (fitted.params().t().to_owned(), fitted.intercept().clone())
    };
    let weights = match &space {
        Some(space) => space.weights(sparse, &weights),
        None => weights,
    };
    let stopped = || {
        format!(
            "where linfa-logistic stopped (it does not say whether it ran out of iterations, \
             max_iterations = {}, or its line search failed)",
            params.max_iterations
        )
    };
    Ok(finish(
        params,
        data,
        weights,
        intercepts,
        Solver::Linfa,
        None,
        stopped,
    ))
}

/// Our own L-BFGS on the same objective, from zero or `start`; on wide data in the row space
/// of `x` (see `row_space`), which gives the same solution at a fraction of the cost.
pub(super) fn fit_lbfgs(
    params: &ModelConfig,
    data: &TrainingSet,
    start: Option<&FittedModel>,
) -> FittedModel {
    let sparse = &data.rows;
    let reduce = start.is_none() && row_space::pays_off(sparse.n_rows(), sparse.n_features());
    fit_lbfgs_in(params, data, sparse, reduce, start)
}

pub(super) fn fit_lbfgs_in(
    params: &ModelConfig,
    data: &TrainingSet,
    sparse: &SparseRows,
    reduce: bool,
    start: Option<&FittedModel>,
) -> FittedModel {
    let targets = data.targets();
    let n_rows = sparse.n_rows() as f64;
    let settings = lbfgs::Settings {
        max_iterations: params.max_iterations,
        // On the reduced problem ‖∇_c F‖₂ = ‖∇_w F‖₂ bounds the largest component of ∇_w F;
        // halved so that rounding in the change of basis cannot lift the gradient we check
        // below over the tolerance.
        gradient_tolerance: params.gradient_tolerance * n_rows * if reduce { 0.5 } else { 1.0 },
        norm: if reduce {
            Norm::Euclidean
        } else {
            Norm::Largest
        },
        history: LBFGS_HISTORY,
    };
    let minimize_on = |x: &SparseRows, start: Option<&FittedModel>| {
        let mut objective = data.objective(x, &targets, params);
        let theta = starting_point(&objective, start);
        let outcome = lbfgs::minimize(
            |theta, gradient| objective.value_and_gradient(theta, gradient),
            theta,
            &settings,
        );
        let (weights, intercepts) = objective.unpack(&outcome.theta);
        (weights, intercepts, outcome.stop, outcome.iterations)
    };
    let (weights, intercepts, stop, iterations) = if reduce {
        let space = RowSpace::new(sparse);
        let (coordinates, intercepts, stop, iterations) =
            minimize_on(&SparseRows::from_dense(space.basis().view()), None);
        (
            space.weights(sparse, &coordinates),
            intercepts,
            stop,
            iterations,
        )
    } else {
        minimize_on(sparse, start)
    };
    let stopped = || match stop {
        lbfgs::Stop::MaxIterations => format!("after max_iterations = {iterations}"),
        lbfgs::Stop::LineSearch | lbfgs::Stop::GradientTolerance => {
            format!("when the line search found no lower point after {iterations} iterations")
        }
    };
    finish(
        params,
        data,
        weights,
        intercepts,
        Solver::Lbfgs,
        Some(iterations),
        stopped,
    )
}

/// Conjugate-gradient steps one Newton iteration may take (scikit-learn's `maxinner`).
const NEWTON_MAX_CG_STEPS: usize = 200;

/// Truncated Newton on the sparse rows, from zero or `start` (see `newton`), on the solver's
/// own copy of the rows' column numbers, renumbered by frequency
/// ([`SparseRows::renumbered_by_frequency`]); the coefficients are put back in the original
/// column order before anything else sees them.
pub(super) fn fit_newton(
    params: &ModelConfig,
    data: &TrainingSet,
    start: Option<&FittedModel>,
) -> FittedModel {
    let (weights, mut intercepts, outcome) = newton_renumbered(params, data, start);
    if matches!(data.link(), Link::Softmax { .. }) {
        // Softmax does not change when every intercept moves alike; scikit-learn's (and
        // L-BFGS's, from zero) sum to zero.
        let mean = intercepts.mean().unwrap_or(0.0);
        intercepts.mapv_inplace(|b| b - mean);
    }
    let iterations = outcome.iterations;
    let cg_steps = outcome.cg_steps;
    let stopped = || match outcome.stop {
        newton::Stop::MaxIterations => {
            format!("after max_iterations = {iterations} ({cg_steps} conjugate-gradient steps)")
        }
        newton::Stop::LineSearch | newton::Stop::GradientTolerance => {
            format!("when the line search found no lower point after {iterations} iterations")
        }
    };
    finish(
        params,
        data,
        weights,
        intercepts,
        Solver::Newton,
        Some(iterations),
        stopped,
    )
    .with_note(&format!(" ({cg_steps} conjugate-gradient steps)"))
}

/// Truncated Newton on the rows renumbered by frequency: the weights in the original column
/// order, the intercepts and how it stopped.
fn newton_renumbered(
    params: &ModelConfig,
    data: &TrainingSet,
    start: Option<&FittedModel>,
) -> (Array2<f64>, Array1<f64>, newton::Outcome) {
    let targets = data.targets();
    let (rows, original) = data.rows.renumbered_by_frequency();
    let mut objective = data.objective(&rows, &targets, params);
    let settings = newton::Settings {
        max_iterations: params.max_iterations,
        largest_gradient: params.gradient_tolerance * rows.n_rows() as f64,
        max_cg_steps: NEWTON_MAX_CG_STEPS,
    };
    let theta = match start {
        Some(model) => objective.pack(
            &model.parts.weights.select(Axis(1), &original),
            &model.parts.intercepts,
        ),
        None => vec![0.0; objective.dimension()],
    };
    let outcome = newton::minimize(&mut objective, theta, &settings);
    let (renumbered, intercepts) = objective.unpack(&outcome.theta);
    let mut weights = Array2::zeros(renumbered.raw_dim());
    for (new, &old) in original.iter().enumerate() {
        weights.column_mut(old).assign(&renumbered.column(new));
    }
    (weights, intercepts, outcome)
}

impl FittedModel {
    /// The same model, its convergence message extended by `note` when it converged.
    fn with_note(mut self, note: &str) -> FittedModel {
        if self.parts.convergence.converged {
            self.parts.convergence.message.push_str(note);
        }
        self
    }
}

/// θ from a warm start whose classes and features match the data's (the caller checked),
/// else zero.
fn starting_point(objective: &Objective, start: Option<&FittedModel>) -> Vec<f64> {
    match start {
        Some(model) => objective.pack(&model.parts.weights, &model.parts.intercepts),
        None => vec![0.0; objective.dimension()],
    }
}

/// For a fit stopped above the tolerance, a note for the user when the Euclidean norm of the
/// summed objective's gradient, `gradient_norm`, is large only because rows are many.
pub(super) fn per_row_note(gradient_norm: f64, n_rows: usize) -> String {
    let per_row = gradient_norm / n_rows.max(1) as f64;
    format!("; ‖∇F‖₂ of the summed objective is {gradient_norm:.2e}, {per_row:.1e} per row")
}

/// The model from a solver's solution, with the verdict every solver is held to: the largest
/// component of the gradient of the *mean* objective `F / rows`, computed by us in the original
/// features, within `gradient_tolerance` (scikit-learn's `tol`). `stopped` says where the
/// solver stopped, for the message of a fit that did not converge.
fn finish(
    params: &ModelConfig,
    data: &TrainingSet,
    weights: Array2<f64>,
    intercepts: Array1<f64>,
    solver: Solver,
    iterations: Option<u64>,
    stopped: impl FnOnce() -> String,
) -> FittedModel {
    let targets = data.targets();
    let mut objective = data.objective(&data.rows, &targets, params);
    let theta = objective.pack(&weights, &intercepts);
    let GradientNorms { euclidean, largest } = objective.gradient_norms(&theta);
    let n_rows = data.rows.n_rows();
    let mean_largest = largest / n_rows.max(1) as f64;
    let tolerance = params.gradient_tolerance;
    let converged = mean_largest <= tolerance;
    let after = iterations.map_or(String::new(), |i| format!(" after {i} iterations"));
    let message = if converged {
        format!(
            "largest gradient component of the mean objective {mean_largest:.2e} within tolerance {tolerance:e}{after}"
        )
    } else {
        format!(
            "not converged: largest gradient component of the mean objective {mean_largest:.2e} above tolerance {tolerance:e} {}{}",
            stopped(),
            per_row_note(euclidean, n_rows)
        )
    };
    FittedModel::with_parts(ModelParts {
        n_classes: data.n_classes,
        classes: data.classes.clone(),
        weights,
        intercepts,
        solver,
        convergence: Convergence {
            converged,
            gradient_norm: euclidean,
            tolerance,
            iterations,
            message,
        },
    })
}
