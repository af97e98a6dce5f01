//! The sparse matrix every stage hands on: documents × columns in compressed sparse row form.
//!
//! The featurizer makes it (`features`), the model trains on and scores its rows (`model`).
//! A leaf: it knows nothing about terms, weights or classes, and depends on no other module
//! of `stance`.

use ndarray::Array2;

/// A sparse matrix in compressed sparse row form, `f64` values, sorted column indices.
#[derive(Clone, Debug, PartialEq)]
pub struct CsrMatrix {
    n_cols: usize,
    indptr: Vec<usize>,
    indices: Vec<u32>,
    data: Vec<f64>,
}

impl CsrMatrix {
    pub fn n_rows(&self) -> usize {
        self.indptr.len() - 1
    }

    pub fn n_cols(&self) -> usize {
        self.n_cols
    }

    /// Stored entries; under hashing with `alternate_sign` an entry may hold an explicit zero
    /// (occurrences that cancelled), as scikit-learn keeps it.
    pub fn nnz(&self) -> usize {
        self.data.len()
    }

    /// Columns (increasing) and values of row `i`. Panics if `i >= n_rows()`, as slice indexing.
    pub fn row(&self, i: usize) -> (&[u32], &[f64]) {
        let range = self.indptr[i]..self.indptr[i + 1];
        (&self.indices[range.clone()], &self.data[range])
    }

    /// Row offsets into `indices()` and `data()`: row `i` is `indptr[i]..indptr[i + 1]`.
    pub fn indptr(&self) -> &[usize] {
        &self.indptr
    }

    pub fn indices(&self) -> &[u32] {
        &self.indices
    }

    pub fn data(&self) -> &[f64] {
        &self.data
    }

    /// A matrix of exactly these entries (explicit zeros kept), rows of `(column, value)` in
    /// increasing column order; for tests elsewhere in the crate.
    #[cfg(test)]
    pub(crate) fn from_rows(n_cols: usize, rows: &[Vec<(u32, f64)>]) -> CsrMatrix {
        let mut indptr = vec![0];
        let (mut indices, mut data) = (Vec::new(), Vec::new());
        for row in rows {
            for &(column, value) in row {
                indices.push(column);
                data.push(value);
            }
            indptr.push(indices.len());
        }
        CsrMatrix {
            n_cols,
            indptr,
            indices,
            data,
        }
    }

    /// A matrix of these parts, as the featurizer assembles them: `indptr` starts at 0 and
    /// never decreases, ends at the number of entries, and each row's columns increase and are
    /// below `n_cols` (checked in debug builds).
    pub(crate) fn from_parts(
        n_cols: usize,
        indptr: Vec<usize>,
        indices: Vec<u32>,
        data: Vec<f64>,
    ) -> CsrMatrix {
        debug_assert!(indptr.first() == Some(&0) && indptr.last() == Some(&indices.len()));
        debug_assert_eq!(indices.len(), data.len());
        debug_assert!(indptr.windows(2).all(|w| w[0] <= w[1]));
        debug_assert!(indptr.windows(2).all(|w| {
            let row = &indices[w[0]..w[1]];
            row.windows(2).all(|pair| pair[0] < pair[1])
                && row.last().is_none_or(|&c| (c as usize) < n_cols)
        }));
        CsrMatrix {
            n_cols,
            indptr,
            indices,
            data,
        }
    }

    /// `n_rows` rows without entries, and no columns.
    pub(crate) fn empty(n_rows: usize) -> CsrMatrix {
        CsrMatrix {
            n_cols: 0,
            indptr: vec![0; n_rows + 1],
            indices: Vec::new(),
            data: Vec::new(),
        }
    }

    /// The same matrix with its zeros written out (for tests and small matrices).
    pub fn to_dense(&self) -> Array2<f64> {
        let mut dense = Array2::zeros((self.n_rows(), self.n_cols));
        for i in 0..self.n_rows() {
            let (columns, values) = self.row(i);
            for (&c, &v) in columns.iter().zip(values) {
                dense[(i, c as usize)] = v;
            }
        }
        dense
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_and_the_dense_copy_hold_the_same_entries() {
        let m = CsrMatrix::from_rows(3, &[vec![(0, 1.0), (2, 2.5)], vec![], vec![(1, -1.0)]]);
        assert_eq!((m.n_rows(), m.n_cols(), m.nnz()), (3, 3, 3));
        assert_eq!(m.indptr(), &[0, 2, 2, 3]);
        assert_eq!(m.row(0), (&[0u32, 2][..], &[1.0, 2.5][..]));
        assert_eq!(m.row(1), (&[][..], &[][..]));
        assert_eq!(
            m.to_dense(),
            ndarray::array![[1.0, 0.0, 2.5], [0.0, 0.0, 0.0], [0.0, -1.0, 0.0]]
        );
        assert_eq!(CsrMatrix::empty(2).to_dense().shape(), &[2, 0]);
    }
}
