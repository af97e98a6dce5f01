//! The two ways of fitting: checked training data in, a [`FittedModel`] out, with the
//! convergence verdict computed by us from the gradient at the returned solution.

use linfa::DatasetBase;
use linfa::traits::Fit as _;
use linfa_logistic::{LogisticRegression, MultiLogisticRegression};
use ndarray::{Array1, Array2, ArrayView2, CowArray, Ix2};

use crate::sparse::CsrMatrix;

use super::lbfgs::{self, Stop};
use super::objective::{Link, Objective, SparseRows};
use super::row_space::{self, RowSpace};
use super::{Convergence, FittedModel, ModelError, ModelParams, ModelParts, Solver};

/// Curvature pairs our L-BFGS keeps (scipy's L-BFGS-B default, as scikit-learn uses it).
const LBFGS_HISTORY: usize = 10;

/// Training data whose shapes, labels and values have been checked.
pub(super) struct TrainingSet<'a> {
    /// The rows' non-zero entries: what every solver works on.
    rows: SparseRows,
    /// The rows as given, when they came dense (linfa-logistic takes dense input only).
    dense: Option<ArrayView2<'a, f64>>,
    y: &'a [usize],
    n_classes: usize,
    /// Classes present in `y`, ascending; at least two.
    classes: Vec<usize>,
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
        x: &CsrMatrix,
        y: &'a [usize],
        n_classes: usize,
    ) -> Result<TrainingSet<'a>, ModelError> {
        let classes = check_labels(x.n_rows(), y, n_classes)?;
        TrainingSet::checked(SparseRows::from_csr(x), None, y, n_classes, classes)
    }

    /// The set of `rows` (and their `dense` form, if given), once their values are found
    /// finite: a value that is not is never zero, so it is among the sparse rows' entries.
    fn checked(
        rows: SparseRows,
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
        })
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

pub(super) fn check_finite(x: ArrayView2<f64>) -> Result<(), ModelError> {
    for (row, values) in x.rows().into_iter().enumerate() {
        if let Some(column) = values.iter().position(|v| !v.is_finite()) {
            let value = values[column];
            return Err(ModelError::NonFiniteFeature { row, column, value });
        }
    }
    Ok(())
}

/// linfa-logistic: `LogisticRegression` for two classes, `MultiLogisticRegression` otherwise.
pub(super) fn fit_linfa(
    params: &ModelParams,
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
    let (weights, intercepts) = if data.classes.len() == 2 {
        let fitted = LogisticRegression::default()
            .alpha(params.alpha)
            .max_iterations(params.max_iterations)
            .gradient_tolerance(params.gradient_tolerance)
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
            .gradient_tolerance(params.gradient_tolerance)
            .with_intercept(params.fit_intercept)
            .fit(&dataset)?;
        // linfa orders its classes ascending, as `data.classes` is.
        (fitted.params().t().to_owned(), fitted.intercept().clone())
    };
    let weights = match &space {
        Some(space) => space.weights(sparse, &weights),
        None => weights,
    };
    let gradient_norm = primal_gradient_norm(params, data, sparse, &weights, &intercepts);
    let tolerance = params.gradient_tolerance;
    let converged = gradient_norm <= tolerance;
    let message = if converged {
        format!("gradient norm {gradient_norm:.2e} within tolerance {tolerance:e}")
    } else {
        format!(
            "not converged: gradient norm {gradient_norm:.2e} above tolerance {tolerance:e} where \
             linfa-logistic stopped (it does not say whether it ran out of iterations, \
             max_iterations = {}, or its line search failed){}",
            params.max_iterations,
            per_row_note(gradient_norm, sparse.n_rows()),
        )
    };
    Ok(finish(
        data,
        weights,
        intercepts,
        Solver::Linfa,
        Convergence {
            converged,
            gradient_norm,
            tolerance,
            iterations: None,
            message,
        },
    ))
}

/// Our own L-BFGS from zero on the same objective; on wide data in the row space of `x`
/// (see `row_space`), which gives the same solution at a fraction of the cost.
pub(super) fn fit_lbfgs(params: &ModelParams, data: &TrainingSet) -> FittedModel {
    let sparse = &data.rows;
    let reduce = row_space::pays_off(sparse.n_rows(), sparse.n_features());
    fit_lbfgs_in(params, data, sparse, reduce)
}

pub(super) fn fit_lbfgs_in(
    params: &ModelParams,
    data: &TrainingSet,
    sparse: &SparseRows,
    reduce: bool,
) -> FittedModel {
    let targets = data.targets();
    let settings = lbfgs::Settings {
        max_iterations: params.max_iterations,
        // Halved on the reduced problem so that rounding in the change of basis cannot lift
        // the gradient we check below over the tolerance.
        gradient_tolerance: params.gradient_tolerance * if reduce { 0.5 } else { 1.0 },
        history: LBFGS_HISTORY,
    };
    let minimize_on = |x: &SparseRows| {
        let mut objective =
            Objective::new(x, &targets, data.link(), params.alpha, params.fit_intercept);
        let start = vec![0.0; objective.dimension()];
        let outcome = lbfgs::minimize(
            |theta, gradient| objective.value_and_gradient(theta, gradient),
            start,
            &settings,
        );
        let (weights, intercepts) = objective.unpack(&outcome.theta);
        (weights, intercepts, outcome.stop, outcome.iterations)
    };
    let (weights, intercepts, stop, iterations) = if reduce {
        let space = RowSpace::new(sparse);
        let (coordinates, intercepts, stop, iterations) =
            minimize_on(&SparseRows::from_dense(space.basis().view()));
        (
            space.weights(sparse, &coordinates),
            intercepts,
            stop,
            iterations,
        )
    } else {
        minimize_on(sparse)
    };

    let gradient_norm = primal_gradient_norm(params, data, sparse, &weights, &intercepts);
    let tolerance = params.gradient_tolerance;
    let converged = gradient_norm <= tolerance;
    let note = || per_row_note(gradient_norm, sparse.n_rows());
    let message = match stop {
        _ if converged => {
            format!(
                "gradient norm {gradient_norm:.2e} within tolerance {tolerance:e} after {iterations} iterations"
            )
        }
        Stop::MaxIterations => format!(
            "not converged: gradient norm {gradient_norm:.2e} above tolerance {tolerance:e} after \
             max_iterations = {iterations}{}",
            note()
        ),
        Stop::LineSearch | Stop::GradientTolerance => format!(
            "not converged: gradient norm {gradient_norm:.2e} above tolerance {tolerance:e} when \
             the line search found no lower point after {iterations} iterations{}",
            note()
        ),
    };
    finish(
        data,
        weights,
        intercepts,
        Solver::Lbfgs,
        Convergence {
            converged,
            gradient_norm,
            tolerance,
            iterations: Some(iterations),
            message,
        },
    )
}

/// scikit-learn's default `tol`: on the largest component of the gradient of the *mean*
/// objective.
const SKLEARN_DEFAULT_TOL: f64 = 1e-4;

/// For a fit stopped above the tolerance: whether it would pass scikit-learn's default test.
/// Our tolerance bounds the gradient of the *summed* objective, so it is stricter the more
/// rows there are; with thousands, a fit can miss it by far and still be one scikit-learn calls
/// converged (`‖∇‖₂ / rows` bounds its largest component of the mean gradient).
pub(super) fn per_row_note(gradient_norm: f64, n_rows: usize) -> String {
    let per_row = gradient_norm / n_rows.max(1) as f64;
    if per_row <= SKLEARN_DEFAULT_TOL {
        format!(
            "; that is {per_row:.1e} per row, which scikit-learn's default tol = \
             {SKLEARN_DEFAULT_TOL:e} on the mean objective accepts"
        )
    } else {
        String::new()
    }
}

/// `‖∇F‖₂` of the summed objective at a solution, in the original features: the one
/// convergence test every solver is held to.
fn primal_gradient_norm(
    params: &ModelParams,
    data: &TrainingSet,
    sparse: &SparseRows,
    weights: &Array2<f64>,
    intercepts: &Array1<f64>,
) -> f64 {
    let targets = data.targets();
    let mut objective = Objective::new(
        sparse,
        &targets,
        data.link(),
        params.alpha,
        params.fit_intercept,
    );
    let theta = objective.pack(weights, intercepts);
    objective.gradient_norm(&theta)
}

fn finish(
    data: &TrainingSet,
    weights: Array2<f64>,
    intercepts: Array1<f64>,
    solver: Solver,
    convergence: Convergence,
) -> FittedModel {
    FittedModel {
        parts: ModelParts {
            n_classes: data.n_classes,
            classes: data.classes.clone(),
            weights,
            intercepts,
            solver,
            convergence,
        },
    }
}
