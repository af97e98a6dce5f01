//! How the document-term matrix ([`CsrMatrix`], rows = documents in input order) is made:
//! rows counted in parallel, then assembled.
//!
//! Counting packs each entry as `(id << 32) | value`, so a row sorts by column as plain `u64`s.
//! Rows are ranges of a buffer (an arena), each [`Segment`] of them in one worker's ids; rows
//! counted in several buffers are first appended to one, in order. Assembly maps provisional
//! ids to final columns, drops pruned ones, sorts and weights each row, where the rows are,
//! and the buffer becomes the values. Nothing here knows about terms.

use std::ops::Range;

use rayon::prelude::*;

use super::weighting::Weights;
use crate::sparse::CsrMatrix;

/// Builds a matrix row after row, from counts in increasing column order.
pub(crate) struct RowBuilder {
    n_cols: usize,
    indptr: Vec<usize>,
    indices: Vec<u32>,
    data: Vec<f64>,
}

impl RowBuilder {
    pub(crate) fn new(n_cols: usize) -> RowBuilder {
        RowBuilder {
            n_cols,
            indptr: vec![0],
            indices: Vec::new(),
            data: Vec::new(),
        }
    }

    /// The next entry of the current row; columns must increase within a row.
    pub(crate) fn push(&mut self, column: u32, count: f64) {
        debug_assert!(
            self.indices.len() == self.row_start() || self.indices.last() < Some(&column)
        );
        self.indices.push(column);
        self.data.push(count);
    }

    /// End the current row, its counts turned into values by `weights`.
    pub(crate) fn end_row(&mut self, weights: &Weights<'_>) {
        let start = self.row_start();
        weights.apply(&self.indices[start..], &mut self.data[start..]);
        self.indptr.push(self.indices.len());
    }

    pub(crate) fn finish(self) -> CsrMatrix {
        CsrMatrix::from_parts(self.n_cols, self.indptr, self.indices, self.data)
    }

    fn row_start(&self) -> usize {
        self.indptr.last().copied().unwrap_or(0)
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

/// Rows counted by one worker, in input order: a range of an arena.
#[derive(Clone)]
pub(crate) struct Segment {
    /// Whose ids the entries use; when workers keep their own arenas, also which arena.
    pub(crate) arena: usize,
    /// Where the first row starts in the arena, and where each row ends.
    pub(crate) start: usize,
    pub(crate) row_ends: Vec<usize>,
}

impl Segment {
    pub(crate) fn new(arena: usize, start: usize) -> Segment {
        Segment {
            arena,
            start,
            row_ends: Vec::new(),
        }
    }

    fn end(&self) -> usize {
        self.row_ends.last().copied().unwrap_or(self.start)
    }

    /// Entries in the segment's rows.
    pub(crate) fn len(&self) -> usize {
        self.end() - self.start
    }

    /// The same rows, once they have been copied to `start` (of another buffer).
    pub(crate) fn move_to(&mut self, start: usize) {
        for end in &mut self.row_ends {
            *end = *end - self.start + start;
        }
        self.start = start;
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

/// Copy the rows of `pieces` (each a segment of the arena it comes with), in the order given,
/// to the end of `rows`, in parallel, and add their segments (moved there) to `segments`:
/// rows counted in separate buffers end up in one, ready for [`assemble_in_place`].
pub(crate) fn append_rows(
    rows: &mut Vec<u64>,
    segments: &mut Vec<Segment>,
    pieces: Vec<(&[u64], Segment)>,
) {
    let total: usize = pieces.iter().map(|(_, segment)| segment.len()).sum();
    let start = rows.len();
    rows.reserve(total);
    // Copied straight into the spare room, not over zeros written first: on fresh pages
    // that would be a second pass over the whole of it.
    let mut rest = &mut rows.spare_capacity_mut()[..total];
    let mut at = start;
    let mut copies = Vec::with_capacity(pieces.len());
    for (arena, mut segment) in pieces {
        let source = &arena[segment.start..segment.start + segment.len()];
        let (target, tail) = std::mem::take(&mut rest).split_at_mut(source.len());
        rest = tail;
        copies.push((target, source));
        segment.move_to(at);
        at += source.len();
        segments.push(segment);
    }
    copies.into_par_iter().for_each(|(target, source)| {
        target.write_copy_of_slice(source);
    });
    // SAFETY: the copies wrote every one of the `total` places after `start` (the targets
    // tile them), and `reserve` made room for them.
    unsafe { rows.set_len(start + total) };
}

/// The matrix of rows that all lie in `entries`, in order: `segments` tile it from the start,
/// and the ids of segment `s` go through `maps[s.arena]` (if any) to columns.
///
/// Built where the entries are, in parallel over parts of contiguous rows: ids are mapped,
/// pruned ones dropped, each row sorted and weighted, and the entries' buffer becomes the
/// values (`u64` and `f64` have one size). The only fresh memory is the column indices.
pub(crate) fn assemble_in_place(
    n_cols: usize,
    mut entries: Vec<u64>,
    segments: &[Segment],
    maps: Option<&[Vec<u32>]>,
    weights: &Weights<'_>,
) -> CsrMatrix {
    let column_bits = usize::BITS - n_cols.saturating_sub(1).leading_zeros();
    // Where each row ends, and the map of its ids.
    let rows: Vec<(usize, Option<&[u32]>)> = segments
        .iter()
        .flat_map(|s| {
            let map = maps.map(|maps| maps[s.arena].as_slice());
            s.row_ends.iter().map(move |&end| (end, map))
        })
        .collect();
    entries.truncate(rows.last().map_or(0, |&(end, _)| end));
    let mut indices = vec![0u32; entries.len()];

    // Parts of contiguous rows with about equal entries, each with its slices of the buffers.
    let n_parts = rayon::current_num_threads();
    let target = entries.len().div_ceil(n_parts).max(1);
    let mut parts = Vec::with_capacity(n_parts);
    let (mut rest_entries, mut rest_indices) = (entries.as_mut_slice(), indices.as_mut_slice());
    let (mut first_row, mut part_start) = (0, 0);
    for (i, &(end, _)) in rows.iter().enumerate() {
        if end - part_start >= target || i + 1 == rows.len() {
            let (part_entries, tail_entries) = rest_entries.split_at_mut(end - part_start);
            let (part_indices, tail_indices) = rest_indices.split_at_mut(end - part_start);
            (rest_entries, rest_indices) = (tail_entries, tail_indices);
            let part_rows = &rows[first_row..=i];
            parts.push((part_start, part_entries, part_indices, part_rows));
            (first_row, part_start) = (i + 1, end);
        }
    }
    let done: Vec<(usize, usize, Vec<usize>)> = parts
        .into_par_iter()
        .map(|(start, entries, indices, rows)| {
            let (kept, lengths) =
                assemble_part(start, entries, indices, rows, column_bits, weights);
            (start, kept, lengths)
        })
        .collect();

    // Parts are compacted within themselves; close the gaps pruning left between them.
    let mut indptr = Vec::with_capacity(rows.len() + 1);
    indptr.push(0);
    let mut next = 0;
    for (start, kept, lengths) in done {
        if start != next {
            entries.copy_within(start..start + kept, next);
            indices.copy_within(start..start + kept, next);
        }
        for length in lengths {
            indptr.push(indptr[indptr.len() - 1] + length);
        }
        next += kept;
    }
    entries.truncate(next);
    indices.truncate(next);
    // The entries now hold the values' bits; the buffer is reused as it is.
    let data: Vec<f64> = bytemuck::allocation::try_cast_vec(entries)
        .unwrap_or_else(|(_, entries)| entries.into_iter().map(f64::from_bits).collect());
    CsrMatrix::from_parts(n_cols, indptr, indices, data)
}

/// One part of [`assemble_in_place`]: `rows` (ends counted from the start of the buffer, the
/// part starting at `start`) are mapped, compacted to the front of `entries`, sorted, their
/// columns written to `indices` and their counts to `entries` (as `f64` bits), then
/// weighted there.
/// Returns the entries kept and each row's length.
fn assemble_part(
    start: usize,
    entries: &mut [u64],
    indices: &mut [u32],
    rows: &[(usize, Option<&[u32]>)],
    column_bits: u32,
    weights: &Weights<'_>,
) -> (usize, Vec<usize>) {
    let mut sorter = RowSorter::default();
    let mut lengths = Vec::with_capacity(rows.len());
    // Rows move down over the dropped entries as they are mapped: `kept` never passes `i`.
    let (mut kept, mut from) = (0, 0);
    for &(end, map) in rows {
        let end = end - start;
        let row_start = kept;
        kept = if RowSorter::takes(end - from, column_bits) {
            // The digits are counted here, not in a pass of the sort's own.
            sorter.start_counting(column_bits);
            map_row(entries, from..end, kept, map, |entry| sorter.count(entry))
        } else {
            map_row(entries, from..end, kept, map, |_| ())
        };
        let row = &mut entries[row_start..kept];
        let columns = &mut indices[row_start..kept];
        sorter.sort_split(row, columns, column_bits);
        if !weights.is_identity() {
            weights.apply(columns, bytemuck::cast_slice_mut(row));
        }
        lengths.push(kept - row_start);
        from = end;
    }
    (kept, lengths)
}

/// Map the ids of `entries[span]` to columns through `map` (if any), dropping pruned ones,
/// and write the rest from `kept` on (never past the entry being read), each also handed to
/// `each`; returns where the kept entries end.
#[inline(always)]
fn map_row(
    entries: &mut [u64],
    span: Range<usize>,
    mut kept: usize,
    map: Option<&[u32]>,
    mut each: impl FnMut(u64),
) -> usize {
    for i in span {
        let (id, value) = unpack(entries[i]);
        let column = map.map_or(id, |m| m[id as usize]);
        if column != DROPPED {
            let entry = pack(column, value);
            entries[kept] = entry;
            each(entry);
            kept += 1;
        }
    }
    kept
}

/// Sorts rows of entries by column: an LSD radix sort in two counting passes over the
/// column bits (each row is a few hundred entries, in cache), short rows by comparison.
struct RowSorter {
    scratch: Vec<u64>,
    /// Per digit value: the count, then where the next entry with it goes.
    low_starts: Box<[u32; DIGITS]>,
    high_starts: Box<[u32; DIGITS]>,
    /// Bits of the low digit of the row being counted.
    low_bits: u32,
}

/// Bits of a radix digit at most; wider columns (two digits) are sorted by comparison.
const DIGIT_BITS_MAX: u32 = 12;
const DIGITS: usize = 1 << DIGIT_BITS_MAX;
/// Shorter rows are sorted by comparison.
const RADIX_MIN: usize = 64;

/// The low digit of an entry's column, of `low_bits` bits. Masked to the table size as well,
/// which lets the compiler drop bounds checks.
#[inline(always)]
fn low_digit(entry: u64, low_bits: u32) -> usize {
    ((entry >> 32) as usize) & ((1 << low_bits) - 1) & (DIGITS - 1)
}

/// The rest of an entry's column above its low digit.
#[inline(always)]
fn high_digit(entry: u64, low_bits: u32) -> usize {
    ((entry >> (32 + low_bits)) as usize) & (DIGITS - 1)
}

impl Default for RowSorter {
    fn default() -> RowSorter {
        RowSorter {
            scratch: Vec::new(),
            low_starts: Box::new([0; DIGITS]),
            high_starts: Box::new([0; DIGITS]),
            low_bits: 0,
        }
    }
}

impl RowSorter {
    /// Whether a row of `len` entries is radix-sorted (else by comparison): then its digits
    /// are counted as its entries are mapped ([`count`](Self::count)), not in a pass of
    /// their own.
    fn takes(len: usize, column_bits: u32) -> bool {
        len >= RADIX_MIN && column_bits <= 2 * DIGIT_BITS_MAX
    }

    fn digits(column_bits: u32) -> (u32, u32) {
        (column_bits / 2, column_bits - column_bits / 2)
    }

    /// Forget the last row's counts.
    fn start_counting(&mut self, column_bits: u32) {
        let (low_bits, high_bits) = Self::digits(column_bits);
        self.low_bits = low_bits;
        self.low_starts[..1 << low_bits].fill(0);
        self.high_starts[..1 << high_bits].fill(0);
    }

    /// Count the digits of one entry of the row about to be sorted.
    #[inline(always)]
    fn count(&mut self, entry: u64) {
        self.low_starts[low_digit(entry, self.low_bits)] += 1;
        self.high_starts[high_digit(entry, self.low_bits)] += 1;
    }

    /// Sort `row` by column, and split each entry: its column to `columns`, its count back
    /// into `row` as `f64` bits (in the sort's last pass). A row this [`takes`](Self::takes)
    /// must have had every entry [`count`](Self::count)ed since
    /// [`start_counting`](Self::start_counting): the caller counts whenever the row it maps
    /// is long enough, and mapping only ever shortens it.
    fn sort_split(&mut self, row: &mut [u64], columns: &mut [u32], column_bits: u32) {
        let columns = &mut columns[..row.len()];
        if !Self::takes(row.len(), column_bits) {
            row.sort_unstable();
            for (column, entry) in columns.iter_mut().zip(row.iter_mut()) {
                let (c, value) = unpack(*entry);
                *column = c;
                *entry = f64::from(value).to_bits();
            }
            return;
        }
        let (low_bits, high_bits) = Self::digits(column_bits);
        let low = |entry| low_digit(entry, low_bits);
        let high = |entry| high_digit(entry, low_bits);
        let low_starts = &mut self.low_starts[..1 << low_bits];
        let high_starts = &mut self.high_starts[..1 << high_bits];
        debug_assert_eq!(low_starts.iter().sum::<u32>() as usize, row.len());
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
            let at = high_starts[high(entry)] as usize;
            high_starts[high(entry)] = at as u32 + 1;
            let (column, value) = unpack(entry);
            columns[at] = column;
            row[at] = f64::from(value).to_bits();
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
    use crate::testing::in_pool;

    /// The matrix of `segments` (in row order) whose entries are in `arenas` (by
    /// `Segment::arena`): gathered into one buffer, then assembled there.
    fn assemble(
        n_cols: usize,
        arenas: Vec<Vec<u64>>,
        segments: Vec<Segment>,
        maps: Option<&[Vec<u32>]>,
        weights: &Weights<'_>,
    ) -> CsrMatrix {
        let pieces = segments
            .into_iter()
            .map(|segment| (arenas[segment.arena].as_slice(), segment))
            .collect();
        let (mut rows, mut gathered) = (Vec::new(), Vec::new());
        append_rows(&mut rows, &mut gathered, pieces);
        assemble_in_place(n_cols, rows, &gathered, maps, weights)
    }

    const COUNTS: Weights<'static> = Weights {
        binary: false,
        sublinear_tf: false,
        idf: None,
        norm: Norm::None,
    };

    /// Rows counted into `arena` as one segment.
    fn segment(arena: &mut Vec<u64>, index: usize, rows: &[&[(u32, i32)]]) -> Segment {
        let mut segment = Segment::new(index, arena.len());
        let mut counter = RowCounter::default();
        for row in rows {
            counter.start_row(arena);
            for &(id, value) in row.iter() {
                counter.add(arena, id, value);
            }
            segment.row_ends.push(arena.len());
        }
        segment
    }

    #[test]
    fn counting_sums_repeats_within_a_row_only() {
        let mut arena = Vec::new();
        let rows: &[&[(u32, i32)]] = &[&[(5, 1), (2, 1), (5, 1)], &[(5, -1), (5, 1)], &[]];
        let s = segment(&mut arena, 0, rows);
        let m = assemble(6, vec![arena], vec![s], None, &COUNTS);
        assert_eq!(m.n_rows(), 3);
        assert_eq!(m.row(0), (&[2u32, 5][..], &[1.0, 2.0][..]));
        // Cancelled occurrences stay as an explicit zero, as scikit-learn's hashing keeps them.
        assert_eq!(m.row(1), (&[5u32][..], &[0.0][..]));
        assert_eq!(m.row(2), (&[][..], &[][..]));
        assert_eq!(m.nnz(), 3);
    }

    #[test]
    fn assembly_maps_drops_and_concatenates_in_order() {
        // Rows 0 and 2 in arena 0, row 1 in arena 1; then all in one arena, in order.
        let (mut a, mut b) = (Vec::new(), Vec::new());
        let first = segment(&mut a, 0, &[&[(0, 1), (1, 3)]]);
        let second = segment(&mut b, 1, &[&[(0, 2)]]);
        let third = segment(&mut a, 0, &[&[(1, 1), (0, 1)]]);
        let maps = [vec![DROPPED, 0], vec![1, 0]];
        let m = assemble(
            2,
            vec![a, b],
            vec![first, second, third],
            Some(&maps),
            &COUNTS,
        );
        assert_eq!(m.indptr(), &[0, 1, 2, 3]);
        assert_eq!(m.row(0), (&[0u32][..], &[3.0][..]));
        assert_eq!(m.row(1), (&[1u32][..], &[2.0][..]));
        assert_eq!(m.row(2), (&[0u32][..], &[1.0][..]));
        let dense = m.to_dense();
        assert_eq!(dense.shape(), &[3, 2]);
        assert_eq!(dense[(0, 0)], 3.0);
        assert_eq!(dense[(0, 1)], 0.0);

        // The same rows in one buffer, in order, each segment with its own ids.
        let mut one = Vec::new();
        let segments = [
            segment(&mut one, 0, &[&[(0, 1), (1, 3)]]),
            segment(&mut one, 1, &[&[(0, 2)]]),
            segment(&mut one, 0, &[&[(1, 1), (0, 1)]]),
        ];
        assert_eq!(
            assemble_in_place(2, one, &segments, Some(&maps), &COUNTS),
            m
        );
    }

    #[test]
    fn an_empty_segment_counted_before_an_earlier_one_is_fine() {
        // A worker counted the empty-rowed `later` first, then `earlier` (work stealing):
        // both start at the same place in its arena.
        let mut arena = Vec::new();
        let later = segment(&mut arena, 0, &[&[]]);
        let earlier = segment(&mut arena, 0, &[&[(1, 2)]]);
        let m = assemble(2, vec![arena], vec![earlier, later], None, &COUNTS);
        assert_eq!(m.indptr(), &[0, 1, 1]);
        assert_eq!(m.row(0), (&[1u32][..], &[2.0][..]));
    }

    proptest::proptest! {
        /// Rows spread over arenas, and the same rows in one buffer assembled in place (by any
        /// number of threads), give the same matrix, whatever the row lengths (short rows are
        /// sorted by comparison, long ones by radix) and whichever ids are pruned.
        #[test]
        fn in_place_and_spread_assembly_agree(
            rows in proptest::collection::vec(
                proptest::collection::vec((0u32..3000, 1i32..5), 0..200),
                1..12,
            ),
            threads in 1usize..4,
        ) {
            let rows: Vec<Vec<(u32, i32)>> = rows;
            let views: Vec<&[(u32, i32)]> = rows.iter().map(Vec::as_slice).collect();
            // Two workers whose ids mean different columns; a seventh of each's are pruned.
            let maps: [Vec<u32>; 2] = [
                (0..3000).map(|id| if id % 7 == 0 { DROPPED } else { 2999 - id }).collect(),
                (0..3000).map(|id| if id % 7 == 3 { DROPPED } else { id }).collect(),
            ];
            let (mut a, mut b, mut one) = (Vec::new(), Vec::new(), Vec::new());
            let (mut spread, mut in_order) = (Vec::new(), Vec::new());
            for (i, row) in views.iter().enumerate() {
                let (arena, index) = if i % 2 == 0 { (&mut a, 0) } else { (&mut b, 1) };
                spread.push(segment(arena, index, &[row]));
                in_order.push(segment(&mut one, index, &[row]));
            }
            // Raw counts, and weights that touch every value (as tf-idf with a norm does).
            let idf: Vec<f64> = (0..3000).map(|c| 1.0 + f64::from(c % 13) / 7.0).collect();
            let weighted = Weights {
                binary: false,
                sublinear_tf: true,
                idf: Some(&idf),
                norm: Norm::L2,
            };
            let counts_of = |weights: &Weights<'_>| {
                let spread = assemble(3000, vec![a.clone(), b.clone()], spread.clone(), Some(&maps), weights);
                let in_place = in_pool(threads, || {
                    assemble_in_place(3000, one.clone(), &in_order, Some(&maps), weights)
                });
                (spread, in_place)
            };
            let (weighted_spread, weighted_in_place) = counts_of(&weighted);
            proptest::prop_assert_eq!(&weighted_in_place, &weighted_spread);
            let (expected, in_place) = counts_of(&COUNTS);
            proptest::prop_assert_eq!(&in_place, &expected);
            for i in 0..expected.n_rows() {
                let (columns, _) = expected.row(i);
                proptest::prop_assert!(columns.windows(2).all(|w| w[0] < w[1]));
            }
        }
    }
}
