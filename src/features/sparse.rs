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
pub(crate) fn pack(id: u32, value: i32) -> u64 {
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
///
/// Rows are sorted in place, with a radix sort on the column (two counting passes), and
/// the segments are cut into one part of contiguous rows per thread. Nothing as large as
/// the entries is allocated besides the output: fresh memory is expensive (a page fault per
/// 4 KB), more so than the sorting.
pub(crate) fn assemble(
    n_cols: usize,
    segments: Vec<(Segment, Option<&[u32]>)>,
    weights: &Weights<'_>,
) -> CsrMatrix {
    let n_entries: usize = segments.iter().map(|(s, _)| s.entries.len()).sum();
    let column_bits = usize::BITS - n_cols.saturating_sub(1).leading_zeros();
    let parts: Vec<Part> = split_parts(segments, n_entries, rayon::current_num_threads())
        .into_par_iter()
        .map(|segments| Part::new(segments, column_bits))
        .collect();

    let n_rows: usize = parts.iter().map(|p| p.row_lengths.len()).sum();
    let mut indptr = Vec::with_capacity(n_rows + 1);
    indptr.push(0);
    for part in &parts {
        for &len in &part.row_lengths {
            indptr.push(indptr[indptr.len() - 1] + len);
        }
    }
    let nnz = indptr[n_rows];
    let mut indices = vec![0u32; nnz];
    let mut data = vec![0f64; nnz];

    // Give each part its own disjoint slice of the output, then fill them in parallel.
    let mut jobs = Vec::with_capacity(parts.len());
    let (mut rest_indices, mut rest_data) = (indices.as_mut_slice(), data.as_mut_slice());
    for part in parts {
        let total: usize = part.row_lengths.iter().sum();
        let (part_indices, tail_indices) = rest_indices.split_at_mut(total);
        let (part_data, tail_data) = rest_data.split_at_mut(total);
        rest_indices = tail_indices;
        rest_data = tail_data;
        jobs.push((part, part_indices, part_data));
    }
    jobs.into_par_iter()
        .for_each(|(part, indices, data)| part.write_rows(indices, data, weights));
    CsrMatrix {
        n_cols,
        indptr,
        indices,
        data,
    }
}

/// Contiguous groups of `segments` with about `n_entries / n_parts` entries each.
fn split_parts<T>(
    segments: Vec<(Segment, T)>,
    n_entries: usize,
    n_parts: usize,
) -> Vec<Vec<(Segment, T)>> {
    let target = n_entries.div_ceil(n_parts.max(1)).max(1);
    let mut parts: Vec<Vec<(Segment, T)>> = Vec::new();
    let mut size = target;
    for (segment, map) in segments {
        if size >= target {
            parts.push(Vec::new());
            size = 0;
        }
        size += segment.entries.len();
        if let Some(part) = parts.last_mut() {
            part.push((segment, map));
        }
    }
    parts
}

/// Contiguous rows of the matrix being assembled, each sorted in place: kept entries
/// (`column << 32 | value`) at the start of the row's range in its segment.
struct Part {
    segments: Vec<Segment>,
    row_lengths: Vec<usize>,
}

impl Part {
    /// Map the entries' ids to columns, drop the pruned ones and sort each row.
    fn new(segments: Vec<(Segment, Option<&[u32]>)>, column_bits: u32) -> Part {
        let mut row_lengths = Vec::new();
        let mut sorter = RowSorter::default();
        let segments = segments
            .into_iter()
            .map(|(mut segment, map)| {
                let mut start = 0;
                for &end in &segment.row_ends {
                    let row = &mut segment.entries[start..end];
                    let mut kept = 0;
                    for i in 0..row.len() {
                        let (id, value) = unpack(row[i]);
                        let column = map.map_or(id, |m| m[id as usize]);
                        if column != DROPPED {
                            row[kept] = pack(column, value);
                            kept += 1;
                        }
                    }
                    sorter.sort(&mut row[..kept], column_bits);
                    row_lengths.push(kept);
                    start = end;
                }
                segment
            })
            .collect();
        Part {
            segments,
            row_lengths,
        }
    }

    /// Write the part's rows into its slices of the output, weighted.
    fn write_rows(self, indices: &mut [u32], data: &mut [f64], weights: &Weights<'_>) {
        let mut lengths = self.row_lengths.iter();
        let mut out = 0;
        for segment in &self.segments {
            let mut start = 0;
            for &end in &segment.row_ends {
                let len = lengths.next().copied().unwrap_or(0);
                let row = out..out + len;
                let sorted = &segment.entries[start..start + len];
                for ((c, v), &entry) in indices[row.clone()]
                    .iter_mut()
                    .zip(&mut data[row.clone()])
                    .zip(sorted)
                {
                    let (column, value) = unpack(entry);
                    *c = column;
                    *v = f64::from(value);
                }
                weights.apply(&indices[row.clone()], &mut data[row]);
                out += len;
                start = end;
            }
        }
    }
}

/// Sorts rows of entries by column: an LSD radix sort in two counting passes over the
/// column bits (each row is a few hundred entries, in cache), short rows by comparison.
struct RowSorter {
    scratch: Vec<u64>,
    /// Per digit value: the count, then where the next entry with it goes.
    low_starts: Box<[u32; DIGITS]>,
    high_starts: Box<[u32; DIGITS]>,
}

/// Bits of a radix digit at most; wider columns (two digits) are sorted by comparison.
const DIGIT_BITS_MAX: u32 = 12;
const DIGITS: usize = 1 << DIGIT_BITS_MAX;

impl Default for RowSorter {
    fn default() -> RowSorter {
        RowSorter {
            scratch: Vec::new(),
            low_starts: Box::new([0; DIGITS]),
            high_starts: Box::new([0; DIGITS]),
        }
    }
}

impl RowSorter {
    fn sort(&mut self, row: &mut [u64], column_bits: u32) {
        if row.len() < 64 || column_bits > 2 * DIGIT_BITS_MAX {
            row.sort_unstable();
            return;
        }
        let (low_bits, high_bits) = (column_bits / 2, column_bits - column_bits / 2);
        // Masked to the table size as well, which lets the compiler drop bounds checks.
        let low = |entry: u64| ((entry >> 32) as usize) & ((1 << low_bits) - 1) & (DIGITS - 1);
        let high = |entry: u64| ((entry >> (32 + low_bits)) as usize) & (DIGITS - 1);
        let low_starts = &mut self.low_starts[..1 << low_bits];
        let high_starts = &mut self.high_starts[..1 << high_bits];
        low_starts.fill(0);
        high_starts.fill(0);
        // Both digits counted in one pass.
        for &entry in &*row {
            low_starts[low(entry)] += 1;
            high_starts[high(entry)] += 1;
        }
        exclusive_prefix_sums(low_starts);
        exclusive_prefix_sums(high_starts);
        self.scratch.resize(row.len(), 0);
        let scratch = &mut self.scratch[..row.len()];
        for &entry in &*row {
            let at = low_starts[low(entry)];
            low_starts[low(entry)] = at + 1;
            scratch[at as usize] = entry;
        }
        for &entry in &*scratch {
            let at = high_starts[high(entry)];
            high_starts[high(entry)] = at + 1;
            row[at as usize] = entry;
        }
    }
}

fn exclusive_prefix_sums(counts: &mut [u32]) {
    let mut next = 0;
    for count in counts {
        next += *count;
        *count = next - *count;
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
