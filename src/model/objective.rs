//! The penalised logistic objective both solvers are judged by, and the sparse view of the
//! training matrix that makes it cheap to evaluate.
//!
//! Objective (summed over rows, as linfa-logistic states it):
//! `F(W, b) = Σᵢ −log p(yᵢ | xᵢ) + α/2 · ‖W‖²`, with the intercepts `b` unpenalised.
//! Two links share one parameter layout: `Logistic` (one coefficient set, the logit of the
//! higher-indexed class) and `Softmax` (one set per class). Parameters are stored feature-major,
//! `θ[j·k + c]` for weight `(c, j)`, then the `k` intercepts when fitted.

use ndarray::{Array1, Array2, ArrayView2};

use crate::sparse::CsrMatrix;

/// The non-zero entries of a dense matrix, row by row. Bag-of-words rows are mostly zeros,
/// so products cost O(non-zeros) rather than O(rows × features).
#[derive(Debug, Clone)]
pub(crate) struct SparseRows {
    n_features: usize,
    row_starts: Vec<usize>,
    columns: Vec<usize>,
    values: Vec<f64>,
}

impl SparseRows {
    pub(crate) fn from_dense(x: ArrayView2<f64>) -> SparseRows {
        let mut row_starts = Vec::with_capacity(x.nrows() + 1);
        let mut columns = Vec::new();
        let mut values = Vec::new();
        row_starts.push(0);
        for row in x.rows() {
            for (column, &value) in row.iter().enumerate() {
                if value != 0.0 {
                    columns.push(column);
                    values.push(value);
                }
            }
            row_starts.push(columns.len());
        }
        SparseRows {
            n_features: x.ncols(),
            row_starts,
            columns,
            values,
        }
    }

    /// The non-zero entries of `x`, row by row: as [`SparseRows::from_dense`] of its dense
    /// form (explicit zeros dropped), without forming it.
    pub(crate) fn from_csr(x: &CsrMatrix) -> SparseRows {
        let mut row_starts = Vec::with_capacity(x.n_rows() + 1);
        let mut columns = Vec::with_capacity(x.nnz());
        let mut values = Vec::with_capacity(x.nnz());
        row_starts.push(0);
        for i in 0..x.n_rows() {
            let (row_columns, row_values) = x.row(i);
            for (&column, &value) in row_columns.iter().zip(row_values) {
                if value != 0.0 {
                    columns.push(column as usize);
                    values.push(value);
                }
            }
            row_starts.push(columns.len());
        }
        SparseRows {
            n_features: x.n_cols(),
            row_starts,
            columns,
            values,
        }
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
        let range = self.row_starts[i]..self.row_starts[i + 1];
        self.columns[range.clone()]
            .iter()
            .copied()
            .zip(self.values[range].iter().copied())
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
    x: &'a SparseRows,
    /// Per row: `0`/`1` for `Logistic` (1 = the logit's class), the set index for `Softmax`.
    targets: &'a [usize],
    link: Link,
    alpha: f64,
    fit_intercept: bool,
    /// Row scores, reused across evaluations (n_rows × n_sets).
    scores: Vec<f64>,
}

impl<'a> Objective<'a> {
    pub(crate) fn new(
        x: &'a SparseRows,
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
            scores: vec![0.0; x.n_rows() * link.n_sets()],
        }
    }

    /// Length of the parameter vector θ.
    pub(crate) fn dimension(&self) -> usize {
        let k = self.link.n_sets();
        self.x.n_features() * k + if self.fit_intercept { k } else { 0 }
    }

    /// `F(θ)`, writing `∇F(θ)` into `gradient`.
    pub(crate) fn value_and_gradient(&mut self, theta: &[f64], gradient: &mut [f64]) -> f64 {
        let k = self.link.n_sets();
        let n_weights = self.x.n_features() * k;
        let (weights, intercepts) = theta.split_at(n_weights);

        // Scores: intercept plus the sparse row times each coefficient set.
        for i in 0..self.x.n_rows() {
            let scores = &mut self.scores[i * k..(i + 1) * k];
            if self.fit_intercept {
                scores.copy_from_slice(intercepts);
            } else {
                scores.fill(0.0);
            }
            for (j, v) in self.x.row(i) {
                for (score, w) in scores.iter_mut().zip(&weights[j * k..(j + 1) * k]) {
                    *score += v * w;
                }
            }
        }

        // Loss; the scores turn into residuals p − target in place.
        let mut loss = 0.0;
        for (i, &target) in self.targets.iter().enumerate() {
            let scores = &mut self.scores[i * k..(i + 1) * k];
            match self.link {
                Link::Logistic => {
                    let z = scores[0];
                    let t = target as f64;
                    loss += softplus(z) - t * z;
                    scores[0] = sigmoid(z) - t;
                }
                Link::Softmax { .. } => {
                    let lse = log_sum_exp(scores);
                    loss += lse - scores[target];
                    for score in scores.iter_mut() {
                        *score = (*score - lse).exp();
                    }
                    scores[target] -= 1.0;
                }
            }
        }

        // Gradient: α·W + Xᵀ·residuals, and the residual sums for the intercepts.
        let (gradient_weights, gradient_intercepts) = gradient.split_at_mut(n_weights);
        let mut penalty = 0.0;
        for (g, &w) in gradient_weights.iter_mut().zip(weights) {
            penalty += w * w;
            *g = self.alpha * w;
        }
        gradient_intercepts.fill(0.0);
        for i in 0..self.x.n_rows() {
            let residuals = &self.scores[i * k..(i + 1) * k];
            for (j, v) in self.x.row(i) {
                for (g, r) in gradient_weights[j * k..(j + 1) * k]
                    .iter_mut()
                    .zip(residuals)
                {
                    *g += v * r;
                }
            }
            for (g, r) in gradient_intercepts.iter_mut().zip(residuals) {
                *g += r;
            }
        }
        loss + 0.5 * self.alpha * penalty
    }

    /// `‖∇F(θ)‖₂`.
    pub(crate) fn gradient_norm(&mut self, theta: &[f64]) -> f64 {
        let mut gradient = vec![0.0; theta.len()];
        self.value_and_gradient(theta, &mut gradient);
        gradient.iter().map(|g| g * g).sum::<f64>().sqrt()
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

    /// Central differences of `F` against the analytic gradient.
    fn check_gradient(link: Link, targets: &[usize], fit_intercept: bool) {
        let x = array![
            [1.0, 0.0, 2.0],
            [0.0, 3.0, 0.0],
            [1.0, 1.0, 0.0],
            [0.0, 0.0, 0.5]
        ];
        let sparse = SparseRows::from_dense(x.view());
        let mut objective = Objective::new(&sparse, targets, link, 0.7, fit_intercept);
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
