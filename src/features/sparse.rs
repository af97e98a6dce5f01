//! The document-term matrix (CSR, rows = documents in input order, columns sorted within each
//! row), and the machinery that counts rows in parallel and assembles them.
//!
//! Counting packs each entry as `(id << 32) | value`, so a row sorts by column as plain `u64`s.
//! Assembly maps provisional ids to final columns, drops pruned ones and weights each row.
//! Dense conversion is separate ([`CsrMatrix::to_dense`]); nothing here knows about terms.

use ndarray::Array2;
use rayon::prelude::*;

use super::weighting::Weights;

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

/// Marks an id whose term was pruned.
pub(crate) const DROPPED: u32 = u32::MAX;

#[inline]
fn pack(id: u32, value: i32) -> u64 {
    (u64::from(id) << 32) | u64::from(value as u32)
}

#[inline]
pub(crate) fn unpack(entry: u64) -> (u32, i32) {
    ((entry >> 32) as u32, entry as u32 as i32)
}

/// Rows counted by one worker, in input order.
pub(crate) struct Segment {
    /// Which worker counted them (whose ids the entries use).
    pub(crate) worker: usize,
    pub(crate) row_ends: Vec<usize>,
    pub(crate) entries: Vec<u64>,
}

impl Segment {
    pub(crate) fn new(worker: usize) -> Segment {
        Segment {
            worker,
            row_ends: Vec::new(),
            entries: Vec::new(),
        }
    }
}

/// Sums occurrences per id within one row without hashing: `seen[id]` holds the row in which
/// `id` was last seen and where its entry is in that row (one cache line per lookup).
#[derive(Default)]
pub(crate) struct RowCounter {
    seen: Vec<(u32, u32)>,
    current: u32,
    row_start: usize,
}

impl RowCounter {
    pub(crate) fn start_row(&mut self, entries: &[u64]) {
        self.current = self.current.wrapping_add(1);
        if self.current == 0 {
            self.seen.fill((0, 0));
            self.current = 1;
        }
        self.row_start = entries.len();
    }

    #[inline]
    pub(crate) fn add(&mut self, entries: &mut Vec<u64>, id: u32, value: i32) {
        let i = id as usize;
        if i >= self.seen.len() {
            let len = (i + 1).max(self.seen.len() * 2).max(1024);
            self.seen.resize(len, (0, 0));
        }
        let (row, offset) = &mut self.seen[i];
        if *row == self.current {
            let entry = &mut entries[self.row_start + *offset as usize];
            let (_, old) = unpack(*entry);
            *entry = pack(id, old.saturating_add(value));
        } else {
            *row = self.current;
            // A row holds at most one entry per distinct feature: far fewer than 2^32.
            *offset = (entries.len() - self.row_start) as u32;
            entries.push(pack(id, value));
        }
    }
}

/// Concatenate `segments` (in row order) into one matrix: ids go through the segment's map
/// (if any) to columns, `DROPPED` ids vanish, rows are sorted and weighted.
pub(crate) fn assemble(
    n_cols: usize,
    segments: Vec<(Segment, Option<&[u32]>)>,
    weights: &Weights<'_>,
) -> CsrMatrix {
    let column = |map: Option<&[u32]>, id: u32| map.map_or(id, |m| m[id as usize]);
    let kept_per_row: Vec<Vec<usize>> = segments
        .par_iter()
        .map(|(segment, map)| {
            let mut start = 0;
            segment
                .row_ends
                .iter()
                .map(|&end| {
                    let row = &segment.entries[start..end];
                    start = end;
                    row.iter()
                        .filter(|&&e| column(*map, unpack(e).0) != DROPPED)
                        .count()
                })
                .collect()
        })
        .collect();
    let mut indptr = Vec::with_capacity(kept_per_row.iter().map(Vec::len).sum::<usize>() + 1);
    indptr.push(0);
    for &kept in kept_per_row.iter().flatten() {
        indptr.push(indptr[indptr.len() - 1] + kept);
    }
    let nnz = indptr[indptr.len() - 1];
    let mut indices = vec![0u32; nnz];
    let mut data = vec![0f64; nnz];

    // Give each segment its own disjoint slice of the output, then fill them in parallel.
    let mut jobs = Vec::with_capacity(segments.len());
    let (mut rest_indices, mut rest_data) = (indices.as_mut_slice(), data.as_mut_slice());
    for ((segment, map), kept) in segments.into_iter().zip(&kept_per_row) {
        let total: usize = kept.iter().sum();
        let (seg_indices, tail_indices) = rest_indices.split_at_mut(total);
        let (seg_data, tail_data) = rest_data.split_at_mut(total);
        rest_indices = tail_indices;
        rest_data = tail_data;
        jobs.push((segment, map, seg_indices, seg_data));
    }
    jobs.into_par_iter()
        .for_each(|(segment, map, out_indices, out_data)| {
            let mut row = Vec::new();
            let (mut start, mut out) = (0, 0);
            for &end in &segment.row_ends {
                row.clear();
                row.extend(segment.entries[start..end].iter().filter_map(|&e| {
                    let (id, value) = unpack(e);
                    let c = column(map, id);
                    (c != DROPPED).then(|| pack(c, value))
                }));
                start = end;
                row.sort_unstable();
                let columns = &mut out_indices[out..out + row.len()];
                let values = &mut out_data[out..out + row.len()];
                for ((c, v), &e) in columns.iter_mut().zip(values.iter_mut()).zip(&row) {
                    let (id, value) = unpack(e);
                    *c = id;
                    *v = f64::from(value);
                }
                weights.apply(columns, values);
                out += row.len();
            }
        });
    CsrMatrix {
        n_cols,
        indptr,
        indices,
        data,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::config::Norm;

    const COUNTS: Weights<'static> = Weights {
        binary: false,
        sublinear_tf: false,
        idf: None,
        norm: Norm::None,
    };

    fn segment(worker: usize, rows: &[&[(u32, i32)]]) -> Segment {
        let mut segment = Segment::new(worker);
        let mut counter = RowCounter::default();
        for row in rows {
            counter.start_row(&segment.entries);
            for &(id, value) in row.iter() {
                counter.add(&mut segment.entries, id, value);
            }
            segment.row_ends.push(segment.entries.len());
        }
        segment
    }

    #[test]
    fn counting_sums_repeats_within_a_row_only() {
        let s = segment(0, &[&[(5, 1), (2, 1), (5, 1)], &[(5, -1), (5, 1)], &[]]);
        let m = assemble(6, vec![(s, None)], &COUNTS);
        assert_eq!(m.n_rows(), 3);
        assert_eq!(m.row(0), (&[2u32, 5][..], &[1.0, 2.0][..]));
        // Cancelled occurrences stay as an explicit zero, as scikit-learn's hashing keeps them.
        assert_eq!(m.row(1), (&[5u32][..], &[0.0][..]));
        assert_eq!(m.row(2), (&[][..], &[][..]));
        assert_eq!(m.nnz(), 3);
    }

    #[test]
    fn assembly_maps_drops_and_concatenates_in_order() {
        let a = segment(0, &[&[(0, 1), (1, 3)]]);
        let b = segment(1, &[&[(0, 2)], &[(1, 1), (0, 1)]]);
        let map_a = [DROPPED, 0];
        let map_b = [1, 0];
        let m = assemble(
            2,
            vec![(a, Some(&map_a[..])), (b, Some(&map_b[..]))],
            &COUNTS,
        );
        assert_eq!(m.indptr(), &[0, 1, 2, 4]);
        assert_eq!(m.row(0), (&[0u32][..], &[3.0][..]));
        assert_eq!(m.row(1), (&[1u32][..], &[2.0][..]));
        assert_eq!(m.row(2), (&[0u32, 1][..], &[1.0, 1.0][..]));
        let dense = m.to_dense();
        assert_eq!(dense.shape(), &[3, 2]);
        assert_eq!(dense[(0, 0)], 3.0);
        assert_eq!(dense[(0, 1)], 0.0);
    }
}
