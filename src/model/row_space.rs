//! An exact change of basis for wide data, where paragraphs are few and features many.
//!
//! Every gradient of the penalised objective from `W = 0` lies in the row space of `X`, and
//! so does the solution. Writing `w = V·c` with `V` (features × r) orthonormal spanning that
//! space, `X·w = Z·c` with `Z = X·V` (rows × r) and `‖w‖ = ‖c‖`: the same problem with the
//! same penalty, on `r ≤ rows` columns instead of thousands, and `‖∇_w F‖ = ‖∇_c F‖`.
//!
//! `Z` comes from a pivoted Cholesky factorisation of the Gram matrix `K = X·Xᵀ = Z·Zᵀ`
//! (rank-revealing, so duplicate or dependent rows only lower `r`); `V` is never formed:
//! `w = X_Pᵀ·L₁⁻ᵀ·c`, with `X_P` the pivot rows and `L₁` their block of the factor.

use ndarray::Array2;

use super::objective::SparseRows;

/// Whether the reduction pays: it costs O(rows³) once, and saves O(features) per vector
/// operation of every L-BFGS iteration.
pub(crate) fn pays_off(rows: usize, features: usize) -> bool {
    2 * rows <= features && rows * rows <= 100 * features
}

pub(crate) struct RowSpace {
    /// Rows × r: the data in the new coordinates.
    basis: Array2<f64>,
    /// The rows whose span is kept, in pivot order.
    pivots: Vec<usize>,
    /// r × r lower-triangular block of the factor on the pivot rows.
    pivot_block: Array2<f64>,
}

impl RowSpace {
    pub(crate) fn new(x: &SparseRows) -> RowSpace {
        let n = x.n_rows();
        let gram = x.gram();

        // Outer-product Cholesky with full pivoting on the remaining diagonal; it stops when
        // what is left is rounding noise (LAPACK dpstrf's default, n·ε·max diagonal).
        let mut remaining: Vec<f64> = (0..n).map(|i| gram[[i, i]]).collect();
        let largest = remaining.iter().copied().fold(0.0, f64::max);
        let threshold = n as f64 * f64::EPSILON * largest;
        let mut order: Vec<usize> = (0..n).collect();
        let mut factor = Array2::<f64>::zeros((n, n));
        let mut rank = 0;
        while rank < n {
            let mut best = rank;
            for i in rank + 1..n {
                if remaining[order[i]] > remaining[order[best]] {
                    best = i;
                }
            }
            let best_value = remaining[order[best]];
            if best_value.is_nan() || best_value <= threshold {
                break;
            }
            order.swap(rank, best);
            let pivot = order[rank];
            let diagonal = best_value.sqrt();
            factor[[pivot, rank]] = diagonal;
            for &row in &order[rank + 1..] {
                let mut value = gram[[row, pivot]];
                for m in 0..rank {
                    value -= factor[[row, m]] * factor[[pivot, m]];
                }
                value /= diagonal;
                factor[[row, rank]] = value;
                remaining[row] -= value * value;
            }
            rank += 1;
        }

        let pivots = order[..rank].to_vec();
        let basis = factor.slice(ndarray::s![.., ..rank]).to_owned();
        let pivot_block = Array2::from_shape_fn((rank, rank), |(i, j)| basis[[pivots[i], j]]);
        RowSpace {
            basis,
            pivots,
            pivot_block,
        }
    }

    /// Rows × r: the data in the new coordinates.
    pub(crate) fn basis(&self) -> &Array2<f64> {
        &self.basis
    }

    /// Coefficient sets in the new coordinates (sets × r) back to weights (sets × features).
    pub(crate) fn weights(&self, x: &SparseRows, coordinates: &Array2<f64>) -> Array2<f64> {
        let r = self.pivots.len();
        let mut weights = Array2::zeros((coordinates.nrows(), x.n_features()));
        for (set, c) in coordinates.outer_iter().enumerate() {
            // Solve L₁ᵀ·a = c (upper triangular), then w = Σₖ aₖ·x_{pivot k}.
            let mut a = c.to_vec();
            for k in (0..r).rev() {
                for m in k + 1..r {
                    a[k] -= self.pivot_block[[m, k]] * a[m];
                }
                a[k] /= self.pivot_block[[k, k]];
            }
            for (k, &row) in self.pivots.iter().enumerate() {
                for (j, v) in x.row(row) {
                    weights[[set, j]] += a[k] * v;
                }
            }
        }
        weights
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn basis_reproduces_the_gram_matrix_and_maps_back() {
        // Row 3 = row 0 + row 1, row 4 duplicates row 2: rank 3.
        let x = array![
            [1.0, 0.0, 2.0, 0.0, 0.0, 1.0],
            [0.0, 3.0, 0.0, 1.0, 0.0, 0.0],
            [0.0, 0.0, 1.0, 0.0, 4.0, 0.0],
            [1.0, 3.0, 2.0, 1.0, 0.0, 1.0],
            [0.0, 0.0, 1.0, 0.0, 4.0, 0.0],
        ];
        let sparse = SparseRows::from_dense(x.view());
        let space = RowSpace::new(&sparse);
        let z = space.basis();
        assert_eq!(z.ncols(), 3);
        let gram = x.dot(&x.t());
        assert!((z.dot(&z.t()) - &gram).iter().all(|d| d.abs() < 1e-12));

        // w = V·c must reproduce the scores Z·c and keep the norm of c.
        let c = array![[0.3, -1.2, 0.7], [1.0, 0.0, -0.5]];
        let w = space.weights(&sparse, &c);
        assert!(
            (x.dot(&w.t()) - z.dot(&c.t()))
                .iter()
                .all(|d| d.abs() < 1e-12)
        );
        for (w_set, c_set) in w.outer_iter().zip(c.outer_iter()) {
            assert!((w_set.dot(&w_set) - c_set.dot(&c_set)).abs() < 1e-12);
        }
    }

    #[test]
    fn all_zero_rows_have_rank_zero() {
        let x = Array2::zeros((3, 4));
        let space = RowSpace::new(&SparseRows::from_dense(x.view()));
        assert_eq!(space.basis().ncols(), 0);
    }
}
