//! The penalised logistic objective both solvers are judged by, and the sparse view of the
//! training matrix that makes it cheap to evaluate.
//!
//! Objective (summed over rows, as linfa-logistic states it):
//! `F(W, b) = Σᵢ −log p(yᵢ | xᵢ) + α/2 · ‖W‖²`, with the intercepts `b` unpenalised.
//! Two links share one parameter layout: `Logistic` (one coefficient set, the logit of the
//! higher-indexed class) and `Softmax` (one set per class). Parameters are stored feature-major,
//! `θ[j·k + c]` for weight `(c, j)`, then the `k` intercepts when fitted.

use std::borrow::Cow;

use ndarray::{Array1, Array2, ArrayView2};

use crate::hint::prefetch;
use crate::sparse::CsrMatrix;

/// The entries of the training matrix, row by row: the featurizer's own arrays, borrowed, or
/// the non-zeros of a dense matrix. Bag-of-words rows are mostly zeros, so products cost
/// O(entries) rather than O(rows × features). A stored zero adds nothing to any product.
#[derive(Debug, Clone)]
pub(crate) struct SparseRows<'a> {
    n_features: usize,
    row_starts: Cow<'a, [usize]>,
    columns: Cow<'a, [u32]>,
    values: Cow<'a, [f64]>,
}

impl SparseRows<'static> {
    pub(crate) fn from_dense(x: ArrayView2<f64>) -> SparseRows<'static> {
        let mut row_starts = Vec::with_capacity(x.nrows() + 1);
        let mut columns = Vec::new();
        let mut values = Vec::new();
        row_starts.push(0);
        for row in x.rows() {
            for (column, &value) in row.iter().enumerate() {
                if value != 0.0 {
                    columns.push(column as u32);
                    values.push(value);
                }
            }
            row_starts.push(columns.len());
        }
        SparseRows {
            n_features: x.ncols(),
            row_starts: Cow::Owned(row_starts),
            columns: Cow::Owned(columns),
            values: Cow::Owned(values),
        }
    }
}

impl<'a> SparseRows<'a> {
    /// The rows of `x`, borrowed (no copy of the matrix) unless it stores zeros (hashed
    /// features whose signs cancelled): those are dropped, so that every product sums the
    /// same terms in the same order as from the dense form, to the last bit.
    pub(crate) fn from_csr(x: &'a CsrMatrix) -> SparseRows<'a> {
        if !x.data().contains(&0.0) {
            return SparseRows {
                n_features: x.n_cols(),
                row_starts: Cow::Borrowed(x.indptr()),
                columns: Cow::Borrowed(x.indices()),
                values: Cow::Borrowed(x.data()),
            };
        }
        let mut row_starts = Vec::with_capacity(x.n_rows() + 1);
        let mut columns = Vec::with_capacity(x.nnz());
        let mut values = Vec::with_capacity(x.nnz());
        row_starts.push(0);
        for i in 0..x.n_rows() {
            let (row_columns, row_values) = x.row(i);
            for (&column, &value) in row_columns.iter().zip(row_values) {
                if value != 0.0 {
                    columns.push(column);
                    values.push(value);
                }
            }
            row_starts.push(columns.len());
        }
        SparseRows {
            n_features: x.n_cols(),
            row_starts: Cow::Owned(row_starts),
            columns: Cow::Owned(columns),
            values: Cow::Owned(values),
        }
    }

    /// The same rows with their columns renumbered by how many rows hold them, most first
    /// (ties in their original order), and the original column of each new one.
    ///
    /// Why: every stored entry reads and writes the coefficients of its column, at random,
    /// on every pass of a solver; on text a few hundred frequent terms hold most entries.
    /// Numbered first, their coefficients share cache lines and stay in the nearest caches,
    /// where in alphabetical order they are spread over the whole coefficient matrix. Only the
    /// column numbers are copied; each row keeps its entries in their original order, so each
    /// row's scores are summed in the same order as from `self`, to the last bit.
    pub(crate) fn renumbered_by_frequency(&self) -> (SparseRows<'_>, Vec<usize>) {
        let mut rows_holding = vec![0usize; self.n_features];
        for &j in self.columns.iter() {
            rows_holding[j as usize] += 1;
        }
        let mut original: Vec<usize> = (0..self.n_features).collect();
        original.sort_by_key(|&j| std::cmp::Reverse(rows_holding[j]));
        let mut renumbered = vec![0u32; self.n_features];
        for (new, &old) in original.iter().enumerate() {
            renumbered[old] = new as u32;
        }
        let rows = SparseRows {
            n_features: self.n_features,
            row_starts: Cow::Borrowed(&self.row_starts),
            columns: Cow::Owned(
                self.columns
                    .iter()
                    .map(|&j| renumbered[j as usize])
                    .collect(),
            ),
            values: Cow::Borrowed(&self.values),
        };
        (rows, original)
    }

    pub(crate) fn to_dense(&self) -> Array2<f64> {
        let mut dense = Array2::zeros((self.n_rows(), self.n_features));
        for i in 0..self.n_rows() {
            for (j, v) in self.row(i) {
                dense[[i, j]] = v;
            }
        }
        dense
    }

    /// The first value that is not finite, as (row, column, value), in row-major order.
    pub(crate) fn first_non_finite(&self) -> Option<(usize, usize, f64)> {
        (0..self.n_rows()).find_map(|i| {
            self.row(i)
                .find(|(_, v)| !v.is_finite())
                .map(|(j, v)| (i, j, v))
        })
    }

    pub(crate) fn n_rows(&self) -> usize {
        self.row_starts.len() - 1
    }

    pub(crate) fn n_features(&self) -> usize {
        self.n_features
    }

    /// `X·Xᵀ`: each row scattered once into a dense buffer, then dotted with the rows after it.
    pub(crate) fn gram(&self) -> Array2<f64> {
        let n = self.n_rows();
        let mut gram = Array2::zeros((n, n));
        let mut dense = vec![0.0; self.n_features];
        for i in 0..n {
            for (j, v) in self.row(i) {
                dense[j] = v;
            }
            for k in i..n {
                let dot: f64 = self.row(k).map(|(j, v)| dense[j] * v).sum();
                gram[[i, k]] = dot;
                gram[[k, i]] = dot;
            }
            for (j, _) in self.row(i) {
                dense[j] = 0.0;
            }
        }
        gram
    }

    /// The non-zero `(column, value)` pairs of row `i`, columns ascending.
    pub(crate) fn row(&self, i: usize) -> impl Iterator<Item = (usize, f64)> + '_ {
        let (columns, values) = self.row_slices(i);
        columns
            .iter()
            .map(|&j| j as usize)
            .zip(values.iter().copied())
    }

    /// Columns and values of row `i`.
    pub(crate) fn row_slices(&self, i: usize) -> (&[u32], &[f64]) {
        let range = self.row_starts[i]..self.row_starts[i + 1];
        (&self.columns[range.clone()], &self.values[range])
    }

    /// Row `i`'s columns and values, with the column numbers of the entries
    /// [`PREFETCH_DISTANCE`] further on (into the next rows; fewer at the end of the matrix):
    /// what the row kernels ask the memory for while they work on row `i`.
    fn row_with_lookahead(&self, i: usize) -> (&[u32], &[f64], &[u32]) {
        let (start, end) = (self.row_starts[i], self.row_starts[i + 1]);
        let n = self.columns.len();
        let ahead = (start + PREFETCH_DISTANCE).min(n)..(end + PREFETCH_DISTANCE).min(n);
        (
            &self.columns[start..end],
            &self.values[start..end],
            &self.columns[ahead],
        )
    }

    /// Stored entries.
    pub(crate) fn nnz(&self) -> usize {
        self.values.len()
    }
}

/// How a row's scores become class probabilities.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Link {
    /// One coefficient set: `p = σ(score)` for the target `1`, `1 − p` for the target `0`.
    Logistic,
    /// `k ≥ 2` coefficient sets, `p = softmax(scores)`; targets are set indices.
    Softmax { n_sets: usize },
}

impl Link {
    pub(crate) fn n_sets(self) -> usize {
        match self {
            Link::Logistic => 1,
            Link::Softmax { n_sets } => n_sets,
        }
    }
}

/// One training problem: data, targets, link and penalty.
pub(crate) struct Objective<'a> {
    x: &'a SparseRows<'a>,
    /// Per row: `0`/`1` for `Logistic` (1 = the logit's class), the set index for `Softmax`.
    targets: &'a [usize],
    link: Link,
    alpha: f64,
    fit_intercept: bool,
    /// Per row, the weight of its loss (scikit-learn's `sample_weight`); `None`: all 1.
    row_weights: Option<&'a [f64]>,
    /// Per row, after [`Objective::value_and_gradient`]: the residuals `p − target`
    /// (n_rows × n_sets), times the row's weight, from which the curvature at the same point
    /// follows.
    residuals: Vec<f64>,
    /// Per row, after [`Objective::value_and_gradient`]: the scores (intercepts plus `X·W`,
    /// n_rows × n_sets), from which `F` along a line follows without a pass ([`Ray`]).
    scores: Vec<f64>,
}

impl<'a> Objective<'a> {
    pub(crate) fn new(
        x: &'a SparseRows<'a>,
        targets: &'a [usize],
        link: Link,
        alpha: f64,
        fit_intercept: bool,
    ) -> Objective<'a> {
        Objective {
            x,
            targets,
            link,
            alpha,
            fit_intercept,
            row_weights: None,
            residuals: vec![0.0; x.n_rows() * link.n_sets()],
            scores: vec![0.0; x.n_rows() * link.n_sets()],
        }
    }

    /// The same problem with row `i`'s loss weighted by `weights[i]` (positive, one per row):
    /// `F(W, b) = Σᵢ sᵢ · −log p(yᵢ | xᵢ) + α/2 · ‖W‖²`.
    pub(crate) fn with_row_weights(mut self, weights: Option<&'a [f64]>) -> Objective<'a> {
        debug_assert!(weights.is_none_or(|w| w.len() == self.x.n_rows()));
        self.row_weights = weights;
        self
    }

    /// Length of the parameter vector θ.
    pub(crate) fn dimension(&self) -> usize {
        let k = self.link.n_sets();
        self.x.n_features() * k + if self.fit_intercept { k } else { 0 }
    }

    pub(crate) fn alpha(&self) -> f64 {
        self.alpha
    }

    /// Length of a vector of the rows' scores (rows × sets), as [`Objective::ray`] takes.
    pub(crate) fn row_scores_len(&self) -> usize {
        self.scores.len()
    }

    /// `F(θ)`, writing `∇F(θ)` into `gradient`. One pass over the rows: each row's scores,
    /// loss and residuals are computed and scattered into the gradient while the row is in
    /// cache.
    pub(crate) fn value_and_gradient(&mut self, theta: &[f64], gradient: &mut [f64]) -> f64 {
        self.evaluate(theta, gradient, None)
    }

    /// [`Objective::value_and_gradient`], writing the diagonal of `∇²F(θ)` into `diagonal`
    /// in the same pass (while each row's columns are in cache) rather than in a pass of its
    /// own.
    pub(crate) fn value_gradient_and_diagonal(
        &mut self,
        theta: &[f64],
        gradient: &mut [f64],
        diagonal: &mut [f64],
    ) -> f64 {
        self.evaluate(theta, gradient, Some(diagonal))
    }

    fn evaluate(
        &mut self,
        theta: &[f64],
        gradient: &mut [f64],
        diagonal: Option<&mut [f64]>,
    ) -> f64 {
        let k = self.link.n_sets();
        let n_weights = self.x.n_features() * k;
        let (weights, intercepts) = theta.split_at(n_weights);
        let (gradient_weights, gradient_intercepts) = gradient.split_at_mut(n_weights);
        let mut penalty = 0.0;
        for (g, &w) in gradient_weights.iter_mut().zip(weights) {
            penalty += w * w;
            *g = self.alpha * w;
        }
        gradient_intercepts.fill(0.0);
        let mut diagonal = diagonal.map(|diagonal| {
            let (weights, intercepts) = diagonal.split_at_mut(n_weights);
            weights.fill(self.alpha);
            intercepts.fill(0.0);
            (weights, intercepts)
        });
        let mut curvature = vec![0.0; k];

        let mut loss = 0.0;
        for (i, &target) in self.targets.iter().enumerate() {
            let (columns, values, ahead) = self.x.row_with_lookahead(i);
            let residuals = &mut self.residuals[i * k..(i + 1) * k];
            // Scores: intercept plus the sparse row times each coefficient set.
            if self.fit_intercept {
                residuals.copy_from_slice(intercepts);
            } else {
                residuals.fill(0.0);
            }
            // A weighted row's loss and residuals are scaled by its weight; an unweighted
            // problem takes the same steps as without the hook.
            let row_weight = self.row_weights.map(|w| w[i]);
            match self.link {
                Link::Logistic => {
                    let z = residuals[0] + sparse_dot(columns, values, weights);
                    self.scores[i] = z;
                    let t = target as f64;
                    let mut row_loss = softplus(z) - t * z;
                    let p = sigmoid(z);
                    let mut r = p - t;
                    curvature[0] = p * (1.0 - p);
                    if let Some(s) = row_weight {
                        row_loss *= s;
                        r *= s;
                        curvature[0] *= s;
                    }
                    loss += row_loss;
                    residuals[0] = r;
                    for (&j, &v) in columns.iter().zip(values) {
                        gradient_weights[j as usize] += v * r;
                    }
                }
                Link::Softmax { .. } => {
                    gather(
                        columns,
                        values,
                        weights,
                        residuals,
                        (ahead, gradient_weights),
                    );
                    self.scores[i * k..(i + 1) * k].copy_from_slice(residuals);
                    let lse = log_sum_exp(residuals);
                    let mut row_loss = lse - residuals[target];
                    for (score, d) in residuals.iter_mut().zip(curvature.iter_mut()) {
                        *score = (*score - lse).exp();
                        *d = *score * (1.0 - *score);
                    }
                    residuals[target] -= 1.0;
                    if let Some(s) = row_weight {
                        row_loss *= s;
                        for (r, d) in residuals.iter_mut().zip(curvature.iter_mut()) {
                            *r *= s;
                            *d *= s;
                        }
                    }
                    loss += row_loss;
                    scatter(columns, values, residuals, gradient_weights);
                }
            }
            for (g, r) in gradient_intercepts.iter_mut().zip(residuals.iter()) {
                *g += r;
            }
            if let Some((diagonal_weights, diagonal_intercepts)) = diagonal.as_mut() {
                scatter_squared(columns, values, &curvature, diagonal_weights);
                for (o, d) in diagonal_intercepts.iter_mut().zip(&curvature) {
                    *o += d;
                }
            }
        }
        loss + 0.5 * self.alpha * penalty
    }

    /// Each row's probabilities (Softmax, n_rows × n_sets) or `s·p·(1 − p)` (Logistic, one
    /// per row, `s` the row's weight) at the point of the last
    /// [`Objective::value_and_gradient`]: what the Hessian there is made of.
    pub(crate) fn curvature(&self) -> Curvature {
        let k = self.link.n_sets();
        let mut values = self.residuals.clone();
        if let Some(weights) = self.row_weights {
            // The residuals were scaled by the rows' weights (all positive).
            for (row, &s) in values.chunks_exact_mut(k).zip(weights) {
                for r in row {
                    *r /= s;
                }
            }
        }
        match self.link {
            Link::Logistic => {
                for (i, (r, &target)) in values.iter_mut().zip(self.targets).enumerate() {
                    let p = *r + target as f64;
                    *r = p * (1.0 - p);
                    if let Some(weights) = self.row_weights {
                        *r *= weights[i];
                    }
                }
            }
            Link::Softmax { .. } => {
                for (i, &target) in self.targets.iter().enumerate() {
                    values[i * k + target] += 1.0;
                }
            }
        }
        Curvature { values }
    }

    /// `out = ∇²F(θ)·v` at the point `curvature` was taken, without forming the Hessian:
    /// one pass over the rows, `Xᵀ·(D·(X·v)) + α·v` (Softmax: `D` is each row's
    /// `diag(p) − p·pᵀ`).
    ///
    /// Given `row_products`, each row's product with `v` (its intercepts plus `X·V`, n_rows ×
    /// n_sets) is written there as well: how the rows' scores change along `v`, gathered by
    /// the pass anyway.
    pub(crate) fn hessian_vector(
        &self,
        curvature: &Curvature,
        v: &[f64],
        out: &mut [f64],
        mut row_products: Option<&mut [f64]>,
    ) {
        let k = self.link.n_sets();
        let n_weights = self.x.n_features() * k;
        let (v_weights, v_intercepts) = v.split_at(n_weights);
        let (out_weights, out_intercepts) = out.split_at_mut(n_weights);
        for (o, &w) in out_weights.iter_mut().zip(v_weights) {
            *o = self.alpha * w;
        }
        out_intercepts.fill(0.0);
        let mut u = vec![0.0; k];
        for i in 0..self.x.n_rows() {
            let (columns, values, ahead) = self.x.row_with_lookahead(i);
            if self.fit_intercept {
                u.copy_from_slice(v_intercepts);
            } else {
                u.fill(0.0);
            }
            match self.link {
                Link::Logistic => {
                    let product = u[0] + sparse_dot(columns, values, v_weights);
                    if let Some(row_products) = row_products.as_deref_mut() {
                        row_products[i] = product;
                    }
                    let t = curvature.values[i] * product;
                    u[0] = t;
                    for (&j, &x) in columns.iter().zip(values) {
                        out_weights[j as usize] += x * t;
                    }
                }
                Link::Softmax { .. } => {
                    gather(columns, values, v_weights, &mut u, (ahead, out_weights));
                    if let Some(row_products) = row_products.as_deref_mut() {
                        row_products[i * k..(i + 1) * k].copy_from_slice(&u);
                    }
                    let p = &curvature.values[i * k..(i + 1) * k];
                    let mean: f64 = p.iter().zip(&u).map(|(p, s)| p * s).sum();
                    for (s, p) in u.iter_mut().zip(p) {
                        *s = p * (*s - mean);
                    }
                    if let Some(weights) = self.row_weights {
                        for s in u.iter_mut() {
                            *s *= weights[i];
                        }
                    }
                    scatter(columns, values, &u, out_weights);
                }
            }
            for (o, s) in out_intercepts.iter_mut().zip(&u) {
                *o += s;
            }
        }
    }

    /// `F` along the line `θ + t·d` from the point `θ` of the last
    /// [`Objective::value_and_gradient`], given how `d` changes the rows' scores (from
    /// [`Objective::hessian_vector`]'s row products, summed as `d` was built): each value
    /// costs O(rows × sets), no pass over the entries.
    pub(crate) fn ray<'r>(
        &'r self,
        theta: &[f64],
        direction: &[f64],
        direction_scores: &'r [f64],
    ) -> Ray<'r> {
        let n_weights = self.x.n_features() * self.link.n_sets();
        let (mut ww, mut wd, mut dd) = (0.0, 0.0, 0.0);
        for (&w, &d) in theta[..n_weights].iter().zip(&direction[..n_weights]) {
            ww += w * w;
            wd += w * d;
            dd += d * d;
        }
        Ray {
            objective: self,
            direction_scores,
            penalty: [ww, wd, dd],
        }
    }

    /// `‖∇F(θ)‖₂` and `‖∇F(θ)‖∞` of the summed objective.
    pub(crate) fn gradient_norms(&mut self, theta: &[f64]) -> GradientNorms {
        let mut gradient = vec![0.0; theta.len()];
        self.value_and_gradient(theta, &mut gradient);
        GradientNorms::of(&gradient)
    }

    /// Packs coefficient sets (sets × features) and intercepts into θ.
    pub(crate) fn pack(&self, weights: &Array2<f64>, intercepts: &Array1<f64>) -> Vec<f64> {
        let k = self.link.n_sets();
        let mut theta = vec![0.0; self.dimension()];
        for (c, set) in weights.outer_iter().enumerate() {
            for (j, &w) in set.iter().enumerate() {
                theta[j * k + c] = w;
            }
        }
        if self.fit_intercept {
            let start = self.x.n_features() * k;
            for (slot, &b) in theta[start..].iter_mut().zip(intercepts) {
                *slot = b;
            }
        }
        theta
    }

    /// Unpacks θ into coefficient sets (sets × features) and intercepts (zero when not fitted).
    pub(crate) fn unpack(&self, theta: &[f64]) -> (Array2<f64>, Array1<f64>) {
        let k = self.link.n_sets();
        let n_features = self.x.n_features();
        let weights = Array2::from_shape_fn((k, n_features), |(c, j)| theta[j * k + c]);
        let intercepts = if self.fit_intercept {
            Array1::from(theta[n_features * k..].to_vec())
        } else {
            Array1::zeros(k)
        };
        (weights, intercepts)
    }
}

/// `φ(t) = F(θ + t·d)`, from the rows' scores at `θ` and along `d`; see [`Objective::ray`].
pub(crate) struct Ray<'r> {
    objective: &'r Objective<'r>,
    direction_scores: &'r [f64],
    /// `‖w‖²`, `wᵀd` and `‖d‖²` over the penalised coefficients.
    penalty: [f64; 3],
}

impl Ray<'_> {
    /// `φ(t)`, `φ'(t)` and `φ''(t)`.
    pub(crate) fn at(&self, t: f64) -> (f64, f64, f64) {
        let objective = self.objective;
        let k = objective.link.n_sets();
        let (mut value, mut slope, mut curvature) = (0.0, 0.0, 0.0);
        let mut z = vec![0.0; k];
        for (i, &target) in objective.targets.iter().enumerate() {
            let scores = &objective.scores[i * k..(i + 1) * k];
            let along = &self.direction_scores[i * k..(i + 1) * k];
            let (row_value, row_slope, row_curvature) = match objective.link {
                Link::Logistic => {
                    let z = scores[0] + t * along[0];
                    let y = target as f64;
                    let p = sigmoid(z);
                    (
                        softplus(z) - y * z,
                        (p - y) * along[0],
                        p * (1.0 - p) * along[0] * along[0],
                    )
                }
                Link::Softmax { .. } => {
                    for ((z, s), a) in z.iter_mut().zip(scores).zip(along) {
                        *z = s + t * a;
                    }
                    let lse = log_sum_exp(&z);
                    let (mut mean, mut second) = (0.0, 0.0);
                    for (z, a) in z.iter().zip(along) {
                        let p = (z - lse).exp();
                        mean += p * a;
                        second += p * a * a;
                    }
                    (lse - z[target], mean - along[target], second - mean * mean)
                }
            };
            let s = objective.row_weights.map_or(1.0, |w| w[i]);
            value += s * row_value;
            slope += s * row_slope;
            curvature += s * row_curvature;
        }
        let [ww, wd, dd] = self.penalty;
        let alpha = objective.alpha;
        (
            value + 0.5 * alpha * (ww + t * (2.0 * wd + t * dd)),
            slope + alpha * (wd + t * dd),
            curvature + alpha * dd,
        )
    }
}

/// Two sizes of a gradient of the summed objective.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct GradientNorms {
    /// `‖∇F‖₂`.
    pub(crate) euclidean: f64,
    /// `‖∇F‖∞`, the largest component.
    pub(crate) largest: f64,
}

impl GradientNorms {
    pub(crate) fn of(gradient: &[f64]) -> GradientNorms {
        GradientNorms {
            euclidean: gradient.iter().map(|g| g * g).sum::<f64>().sqrt(),
            largest: gradient.iter().fold(0.0, |m: f64, g| m.max(g.abs())),
        }
    }
}

/// The per-row factors of the Hessian at one point; see [`Objective::curvature`].
pub(crate) struct Curvature {
    values: Vec<f64>,
}

/// `acc[c] += Σ values[m] · dense[columns[m]·k + c]` for each of the `k = acc.len()` sets
/// (feature-major coefficients), with the set count known to the compiler for 2–4 sets;
/// meanwhile the coefficients of the columns `ahead` are prefetched in `dense` and in
/// `written` (the array the row's scatter will update next).
fn gather(
    columns: &[u32],
    values: &[f64],
    dense: &[f64],
    acc: &mut [f64],
    (ahead, written): (&[u32], &[f64]),
) {
    fn fixed<const K: usize>(
        columns: &[u32],
        values: &[f64],
        dense: &[f64],
        acc: &mut [f64],
        (ahead, written): (&[u32], &[f64]),
    ) {
        // Two sets of partial sums, so that consecutive entries' adds overlap.
        let (mut even, mut odd) = ([0.0; K], [0.0; K]);
        let mut pairs_c = columns.chunks_exact(2);
        let mut pairs_v = values.chunks_exact(2);
        let mut pairs_ahead = ahead.chunks_exact(2);
        for (c, v) in (&mut pairs_c).zip(&mut pairs_v) {
            if let Some(a) = pairs_ahead.next() {
                for &j in a {
                    prefetch(&dense[j as usize * K]);
                    prefetch(&written[j as usize * K]);
                }
            }
            let w0: &[f64; K] = dense[c[0] as usize * K..][..K]
                .try_into()
                .expect("K values");
            let w1: &[f64; K] = dense[c[1] as usize * K..][..K]
                .try_into()
                .expect("K values");
            for s in 0..K {
                even[s] += v[0] * w0[s];
                odd[s] += v[1] * w1[s];
            }
        }
        for (&j, &v) in pairs_c.remainder().iter().zip(pairs_v.remainder()) {
            let w: &[f64; K] = dense[j as usize * K..][..K].try_into().expect("K values");
            for s in 0..K {
                even[s] += v * w[s];
            }
        }
        for ((a, e), o) in acc.iter_mut().zip(even).zip(odd) {
            *a += e + o;
        }
    }
    match acc.len() {
        2 => fixed::<2>(columns, values, dense, acc, (ahead, written)),
        3 => fixed::<3>(columns, values, dense, acc, (ahead, written)),
        4 => fixed::<4>(columns, values, dense, acc, (ahead, written)),
        k => {
            let mut sums = vec![0.0; k];
            for (&j, &v) in columns.iter().zip(values) {
                let j = j as usize;
                for (s, w) in sums.iter_mut().zip(&dense[j * k..(j + 1) * k]) {
                    *s += v * w;
                }
            }
            for (a, s) in acc.iter_mut().zip(sums) {
                *a += s;
            }
        }
    }
}

/// Stored entries between asking the memory for an entry's coefficients and using them:
/// most columns' coefficients are not in the nearest caches (0.3–3 MB of them, read at
/// random), and a row's gather, then its scatter, would otherwise wait for each in turn.
/// 32 was the fastest of 8–128 for 3 classes at 8,000 and 30,000 rows (`notes/newton.md`).
const PREFETCH_DISTANCE: usize = 32;

/// `out[columns[m]·k + c] += values[m] · factors[c]` for each of the `k = factors.len()` sets.
fn scatter(columns: &[u32], values: &[f64], factors: &[f64], out: &mut [f64]) {
    scatter_powers::<false>(columns, values, factors, out);
}

/// `out[columns[m]·k + c] += values[m]² · factors[c]`: the Hessian's diagonal.
fn scatter_squared(columns: &[u32], values: &[f64], factors: &[f64], out: &mut [f64]) {
    scatter_powers::<true>(columns, values, factors, out);
}

/// [`scatter`] (`SQUARED = false`) or [`scatter_squared`], with the set count known to the
/// compiler for 2–4 sets.
fn scatter_powers<const SQUARED: bool>(
    columns: &[u32],
    values: &[f64],
    factors: &[f64],
    out: &mut [f64],
) {
    fn fixed<const K: usize, const SQUARED: bool>(
        columns: &[u32],
        values: &[f64],
        factors: &[f64],
        out: &mut [f64],
    ) {
        let f: [f64; K] = factors.try_into().expect("K factors");
        for (&j, &v) in columns.iter().zip(values) {
            let v = if SQUARED { v * v } else { v };
            let o: &mut [f64; K] = (&mut out[j as usize * K..][..K])
                .try_into()
                .expect("K values");
            for c in 0..K {
                o[c] += v * f[c];
            }
        }
    }
    match factors.len() {
        2 => fixed::<2, SQUARED>(columns, values, factors, out),
        3 => fixed::<3, SQUARED>(columns, values, factors, out),
        4 => fixed::<4, SQUARED>(columns, values, factors, out),
        k => {
            for (&j, &v) in columns.iter().zip(values) {
                let j = j as usize;
                let v = if SQUARED { v * v } else { v };
                for (o, f) in out[j * k..(j + 1) * k].iter_mut().zip(factors) {
                    *o += v * f;
                }
            }
        }
    }
}

/// `Σ values[m] · dense[columns[m]]`, over four partial sums (the adds then overlap). No
/// prefetching: one coefficient set is an eighth of a cache line per column, and it cost
/// more than it saved (`notes/newton.md`).
fn sparse_dot(columns: &[u32], values: &[f64], dense: &[f64]) -> f64 {
    let mut sums = [0.0; 4];
    let mut chunks_c = columns.chunks_exact(4);
    let mut chunks_v = values.chunks_exact(4);
    for (c, v) in (&mut chunks_c).zip(&mut chunks_v) {
        for m in 0..4 {
            sums[m] += v[m] * dense[c[m] as usize];
        }
    }
    let mut total = (sums[0] + sums[1]) + (sums[2] + sums[3]);
    for (&c, &v) in chunks_c.remainder().iter().zip(chunks_v.remainder()) {
        total += v * dense[c as usize];
    }
    total
}

/// `log(1 + eˣ)` without overflow.
fn softplus(x: f64) -> f64 {
    x.max(0.0) + (-x.abs()).exp().ln_1p()
}

/// The logistic function, accurate in both tails.
pub(crate) fn sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// `log Σ eˣ` over one row, shifted by that row's own maximum.
pub(crate) fn log_sum_exp(row: &[f64]) -> f64 {
    let max = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !max.is_finite() {
        return max;
    }
    max + row.iter().map(|&s| (s - max).exp()).sum::<f64>().ln()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    /// The four rows over three columns that the derivative checks share.
    fn four_rows() -> SparseRows<'static> {
        let x = array![
            [1.0, 0.0, 2.0],
            [0.0, 3.0, 0.0],
            [1.0, 1.0, 0.0],
            [0.0, 0.0, 0.5]
        ];
        SparseRows::from_dense(x.view())
    }

    /// Central differences of `F` against the analytic gradient.
    fn check_gradient(link: Link, targets: &[usize], fit_intercept: bool) {
        check_gradient_weighted(link, targets, fit_intercept, None);
    }

    fn check_gradient_weighted(
        link: Link,
        targets: &[usize],
        fit_intercept: bool,
        row_weights: Option<&[f64]>,
    ) {
        let sparse = four_rows();
        let mut objective = Objective::new(&sparse, targets, link, 0.7, fit_intercept)
            .with_row_weights(row_weights);
        let n = objective.dimension();
        let theta: Vec<f64> = (0..n).map(|i| 0.3 * (i as f64) - 0.8).collect();
        let mut gradient = vec![0.0; n];
        objective.value_and_gradient(&theta, &mut gradient);
        let mut scratch = vec![0.0; n];
        for i in 0..n {
            let h = 1e-6;
            let mut plus = theta.clone();
            plus[i] += h;
            let mut minus = theta.clone();
            minus[i] -= h;
            let numeric = (objective.value_and_gradient(&plus, &mut scratch)
                - objective.value_and_gradient(&minus, &mut scratch))
                / (2.0 * h);
            assert!(
                (numeric - gradient[i]).abs() < 1e-6,
                "component {i}: numeric {numeric}, analytic {}",
                gradient[i]
            );
        }
    }

    #[test]
    fn gradients_match_finite_differences() {
        check_gradient(Link::Logistic, &[1, 0, 0, 1], true);
        check_gradient(Link::Logistic, &[1, 0, 0, 1], false);
        check_gradient(Link::Softmax { n_sets: 3 }, &[2, 0, 1, 1], true);
        check_gradient(Link::Softmax { n_sets: 3 }, &[2, 0, 1, 1], false);
    }

    /// Central differences of `∇F` along a direction against the Hessian-vector product,
    /// and the Hessian's diagonal against products with unit vectors.
    fn check_hessian(link: Link, targets: &[usize], fit_intercept: bool) {
        check_hessian_weighted(link, targets, fit_intercept, None);
    }

    fn check_hessian_weighted(
        link: Link,
        targets: &[usize],
        fit_intercept: bool,
        row_weights: Option<&[f64]>,
    ) {
        let sparse = four_rows();
        let mut objective = Objective::new(&sparse, targets, link, 0.7, fit_intercept)
            .with_row_weights(row_weights);
        let n = objective.dimension();
        let theta: Vec<f64> = (0..n).map(|i| 0.3 * (i as f64) - 0.8).collect();
        let v: Vec<f64> = (0..n).map(|i| ((i * 7) % 5) as f64 - 2.0).collect();
        let mut gradient = vec![0.0; n];
        objective.value_and_gradient(&theta, &mut gradient);
        let curvature = objective.curvature();
        let mut hv = vec![0.0; n];
        objective.hessian_vector(&curvature, &v, &mut hv, None);
        let mut diagonal = vec![0.0; n];
        objective.value_gradient_and_diagonal(&theta, &mut gradient, &mut diagonal);
        let h = 1e-6;
        let (mut plus, mut minus) = (vec![0.0; n], vec![0.0; n]);
        let step = |sign: f64| -> Vec<f64> {
            theta
                .iter()
                .zip(&v)
                .map(|(t, d)| t + sign * h * d)
                .collect()
        };
        objective.value_and_gradient(&step(1.0), &mut plus);
        objective.value_and_gradient(&step(-1.0), &mut minus);
        for i in 0..n {
            let numeric = (plus[i] - minus[i]) / (2.0 * h);
            assert!(
                (numeric - hv[i]).abs() < 1e-5,
                "{link:?} component {i}: numeric {numeric}, analytic {}",
                hv[i]
            );
            let mut unit = vec![0.0; n];
            unit[i] = 1.0;
            let mut column = vec![0.0; n];
            objective.hessian_vector(&curvature, &unit, &mut column, None);
            assert!(
                (column[i] - diagonal[i]).abs() < 1e-12,
                "{link:?} diagonal {i}"
            );
        }
    }

    #[test]
    fn hessian_products_match_finite_differences() {
        check_hessian(Link::Logistic, &[1, 0, 0, 1], true);
        check_hessian(Link::Logistic, &[1, 0, 0, 1], false);
        check_hessian(Link::Softmax { n_sets: 3 }, &[2, 0, 1, 1], true);
        check_hessian(Link::Softmax { n_sets: 3 }, &[2, 0, 1, 1], false);
    }

    /// `F`, its slope and its curvature along a line, from the rows' scores at its start
    /// and along it, against `F`, `∇F` and `∇²F` at points on it.
    #[test]
    fn the_ray_is_the_objective_along_the_line() {
        let sparse = four_rows();
        let weights = [0.5, 2.0, 1.25, 3.0];
        for (link, targets) in [
            (Link::Logistic, vec![1, 0, 0, 1]),
            (Link::Softmax { n_sets: 3 }, vec![2, 0, 1, 1]),
        ] {
            for (fit_intercept, row_weights) in [(true, None), (false, Some(&weights[..]))] {
                let mut objective = Objective::new(&sparse, &targets, link, 0.7, fit_intercept)
                    .with_row_weights(row_weights);
                let n = objective.dimension();
                let theta: Vec<f64> = (0..n).map(|i| 0.3 * (i as f64) - 0.8).collect();
                let d: Vec<f64> = (0..n).map(|i| ((i * 7) % 5) as f64 - 2.0).collect();
                let mut gradient = vec![0.0; n];
                objective.value_and_gradient(&theta, &mut gradient);
                let curvature = objective.curvature();
                let (mut hv, mut scores) = (vec![0.0; n], vec![0.0; objective.row_scores_len()]);
                objective.hessian_vector(&curvature, &d, &mut hv, Some(&mut scores));
                let steps = [0.0, 0.25, 1.0, -0.5];
                let ray = objective.ray(&theta, &d, &scores);
                let along: Vec<(f64, f64, f64)> = steps.iter().map(|&t| ray.at(t)).collect();
                for (&t, &(value, slope, second)) in steps.iter().zip(&along) {
                    let point: Vec<f64> = theta.iter().zip(&d).map(|(x, d)| x + t * d).collect();
                    let expected = objective.value_and_gradient(&point, &mut gradient);
                    let expected_slope: f64 = gradient.iter().zip(&d).map(|(g, d)| g * d).sum();
                    let curvature = objective.curvature();
                    objective.hessian_vector(&curvature, &d, &mut hv, None);
                    let expected_second: f64 = hv.iter().zip(&d).map(|(h, d)| h * d).sum();
                    let close = |a: f64, b: f64| (a - b).abs() <= 1e-10 * b.abs().max(1.0);
                    assert!(
                        close(value, expected),
                        "{link:?} {t}: {value} vs {expected}"
                    );
                    assert!(close(slope, expected_slope), "{link:?} {t}: slope {slope}");
                    assert!(close(second, expected_second), "{link:?} {t}: φ'' {second}");
                }
            }
        }
    }

    #[test]
    fn weighted_derivatives_match_finite_differences() {
        let weights = [0.5, 2.0, 1.25, 3.0];
        for intercept in [true, false] {
            check_gradient_weighted(Link::Logistic, &[1, 0, 0, 1], intercept, Some(&weights));
            check_hessian_weighted(Link::Logistic, &[1, 0, 0, 1], intercept, Some(&weights));
            let softmax = Link::Softmax { n_sets: 3 };
            check_gradient_weighted(softmax, &[2, 0, 1, 1], intercept, Some(&weights));
            check_hessian_weighted(softmax, &[2, 0, 1, 1], intercept, Some(&weights));
        }
    }

    /// A row of weight 2 counts as the same row twice: value and gradient agree with the
    /// unweighted problem on the rows repeated.
    #[test]
    fn integer_weights_are_repeated_rows() {
        let x = array![[1.0, 0.0, 2.0], [0.0, 3.0, 0.0], [1.0, 1.0, 0.0]];
        let repeated = array![
            [1.0, 0.0, 2.0],
            [1.0, 0.0, 2.0],
            [0.0, 3.0, 0.0],
            [1.0, 1.0, 0.0],
            [1.0, 1.0, 0.0],
            [1.0, 1.0, 0.0]
        ];
        let (sparse, sparse_repeated) = (
            SparseRows::from_dense(x.view()),
            SparseRows::from_dense(repeated.view()),
        );
        for (link, targets, targets_repeated) in [
            (Link::Logistic, vec![1, 0, 1], vec![1, 1, 0, 1, 1, 1]),
            (
                Link::Softmax { n_sets: 3 },
                vec![2, 0, 1],
                vec![2, 2, 0, 1, 1, 1],
            ),
        ] {
            let weights = [2.0, 1.0, 3.0];
            let mut weighted =
                Objective::new(&sparse, &targets, link, 0.4, true).with_row_weights(Some(&weights));
            let mut plain = Objective::new(&sparse_repeated, &targets_repeated, link, 0.4, true);
            let n = weighted.dimension();
            let theta: Vec<f64> = (0..n).map(|i| 0.2 * (i as f64) - 0.5).collect();
            let (mut g1, mut g2) = (vec![0.0; n], vec![0.0; n]);
            let f1 = weighted.value_and_gradient(&theta, &mut g1);
            let f2 = plain.value_and_gradient(&theta, &mut g2);
            assert!((f1 - f2).abs() < 1e-12, "{link:?}: {f1} vs {f2}");
            for (a, b) in g1.iter().zip(&g2) {
                assert!((a - b).abs() < 1e-12, "{link:?}: {a} vs {b}");
            }
        }
    }

    #[test]
    fn value_at_zero_is_n_log_classes() {
        // All scores zero: every row has probability 1/k for its class.
        let x = array![[1.0, 2.0], [0.0, 1.0], [4.0, 0.0]];
        let sparse = SparseRows::from_dense(x.view());
        for (link, targets, k) in [
            (Link::Logistic, vec![0, 1, 1], 2.0),
            (Link::Softmax { n_sets: 3 }, vec![0, 1, 2], 3.0),
        ] {
            let mut objective = Objective::new(&sparse, &targets, link, 1.0, true);
            let theta = vec![0.0; objective.dimension()];
            let mut gradient = vec![0.0; objective.dimension()];
            let value = objective.value_and_gradient(&theta, &mut gradient);
            assert!((value - 3.0 * f64::ln(k)).abs() < 1e-12);
        }
    }

    #[test]
    fn log_sum_exp_uses_each_rows_own_maximum() {
        // linfa-logistic 0.8.1 shifts by the maximum over all rows; a row 800 below it
        // would underflow to exp(−800) = 0. Per row, it is exact.
        assert!((log_sum_exp(&[-800.0, -800.0]) - (-800.0 + f64::ln(2.0))).abs() < 1e-9);
        assert_eq!(log_sum_exp(&[0.0]), 0.0);
    }

    #[test]
    fn renumbering_puts_frequent_columns_first_and_keeps_the_objective() {
        // Column 2 is in three rows, 0 and 3 in two (a tie: 0 first), 1 in one.
        let x = array![
            [1.0, 0.0, 2.0, 0.0],
            [0.0, 3.0, 1.0, 1.0],
            [1.0, 0.0, 4.0, 0.0],
            [0.0, 0.0, 0.0, 2.0]
        ];
        let sparse = SparseRows::from_dense(x.view());
        let (rows, original) = sparse.renumbered_by_frequency();
        assert_eq!(original, [2, 0, 3, 1]);
        // Each row keeps its entries' order (here the original columns 1, 2, 3).
        assert_eq!(
            rows.row_slices(1),
            (&[3u32, 0, 2][..], &[3.0, 1.0, 1.0][..])
        );

        // The same objective: each row's scores are summed in the same order, so the
        // gradients agree to the last bit; only the penalty's sum runs in another order.
        let targets = [2, 0, 1, 1];
        let link = Link::Softmax { n_sets: 3 };
        let mut plain = Objective::new(&sparse, &targets, link, 0.7, true);
        let mut renumbered = Objective::new(&rows, &targets, link, 0.7, true);
        let n = plain.dimension();
        let theta: Vec<f64> = (0..n).map(|i| 0.3 * (i as f64) - 0.8).collect();
        let mut theta_renumbered = theta.clone();
        for (new, &old) in original.iter().enumerate() {
            theta_renumbered[new * 3..new * 3 + 3].copy_from_slice(&theta[old * 3..old * 3 + 3]);
        }
        let (mut gradient, mut gradient_renumbered) = (vec![0.0; n], vec![0.0; n]);
        let value = plain.value_and_gradient(&theta, &mut gradient);
        let value_renumbered =
            renumbered.value_and_gradient(&theta_renumbered, &mut gradient_renumbered);
        assert!((value - value_renumbered).abs() <= 1e-12 * value.abs());
        for (new, &old) in original.iter().enumerate() {
            assert_eq!(
                gradient_renumbered[new * 3..new * 3 + 3],
                gradient[old * 3..old * 3 + 3]
            );
        }
        assert_eq!(gradient_renumbered[n - 3..], gradient[n - 3..]);
    }

    #[test]
    fn pack_and_unpack_round_trip() {
        let x = array![[1.0, 2.0], [0.0, 1.0]];
        let sparse = SparseRows::from_dense(x.view());
        let objective = Objective::new(&sparse, &[0, 1], Link::Softmax { n_sets: 3 }, 1.0, true);
        let weights = array![[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]];
        let intercepts = array![7.0, 8.0, 9.0];
        let theta = objective.pack(&weights, &intercepts);
        assert_eq!(theta, vec![1.0, 3.0, 5.0, 2.0, 4.0, 6.0, 7.0, 8.0, 9.0]);
        assert_eq!(objective.unpack(&theta), (weights, intercepts));
    }
}
