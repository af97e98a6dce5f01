//! Featurizing a corpus: documents in (batch by batch, the next read while the current one
//! is counted on every core), the fitted features and the document-term matrix out; and
//! their files: `vocabulary.txt` (one term per line, in column order) and `matrix.mtx`
//! (Matrix Market coordinate format, 1-based, rows in input order), each replaced
//! atomically.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::ops::Range;
use std::path::Path;

use rayon::prelude::*;

use super::ApplyError;
use crate::features::{FeatureConfig, FittedFeatures};
use crate::input::{Batch, Batches, DocumentReader, pipelined};
use crate::persist::replace_dir_atomic;
use crate::sparse::CsrMatrix;

/// A fitted feature set with the matrix of the documents it was fitted on.
pub struct Featurized {
    pub features: FittedFeatures,
    /// A row per document, in input order.
    pub matrix: CsrMatrix,
    /// Bytes of document text read.
    pub text_bytes: usize,
}

/// Fit `set` on the documents of `reader`, read in batches of about `batch_bytes` of text.
pub fn featurize(
    set: &FeatureConfig,
    reader: &mut DocumentReader,
    batch_bytes: usize,
) -> Result<Featurized, ApplyError> {
    // On a thread of the pool, so that handing each batch to the pool is no round trip
    // between threads (one thread: 1%; two: 3%).
    rayon::scope(|_| {
        let mut fitter = set.fitter();
        let mut text_bytes = 0usize;
        let input = reader.path().to_owned();
        pipelined(
            &mut Batches::new(reader, batch_bytes),
            |batch: &Batch| -> Result<(), ApplyError> {
                fitter.add(&batch.documents());
                Ok(())
            },
            |batch, ()| {
                text_bytes += batch.text_len();
                Ok(())
            },
        )?;
        let (features, matrix) = fitter
            .finish()
            .map_err(|source| ApplyError::Features { input, source })?;
        Ok(Featurized {
            features,
            matrix,
            text_bytes,
        })
    })
}

/// Write `dir/vocabulary.txt` (none under hashing, whose columns have no terms) and
/// `dir/matrix.mtx` as a pair: both go into a fresh directory that replaces `dir` whole
/// ([`replace_dir_atomic`]), so that a kill never leaves a new vocabulary beside an old
/// matrix. `dir` may hold only those two files (it is replaced, not merged into).
pub fn write_featurized(
    dir: &Path,
    features: &FittedFeatures,
    matrix: &CsrMatrix,
) -> Result<(), ApplyError> {
    replace_dir_atomic(dir, &["vocabulary.txt", "matrix.mtx"], |fresh| {
        if let Some(vocabulary) = features.vocabulary() {
            let mut out = BufWriter::new(File::create(fresh.join("vocabulary.txt"))?);
            for term in vocabulary.iter() {
                writeln!(out, "{term}")?;
            }
            out.into_inner().map_err(|err| err.into_error())?;
        }
        let mut out = BufWriter::with_capacity(1 << 20, File::create(fresh.join("matrix.mtx"))?);
        write_matrix_market(&mut out, matrix)?;
        out.into_inner().map_err(|err| err.into_error())?;
        Ok(())
    })
    .map_err(|source| ApplyError::Write {
        path: dir.to_owned(),
        source,
    })
}

/// Matrix Market coordinate format, 1-based, rows in input order.
pub fn write_matrix_market(out: &mut dyn Write, matrix: &CsrMatrix) -> io::Result<()> {
    write_matrix_market_in_pieces(out, matrix, ENTRIES_PER_PIECE)
}

/// [`write_matrix_market`], rows formatted in parallel, a piece of about `entries_per_piece`
/// entries each, and written in order; at most a few pieces of text are held at once,
/// however long the documents.
fn write_matrix_market_in_pieces(
    out: &mut dyn Write,
    matrix: &CsrMatrix,
    entries_per_piece: usize,
) -> io::Result<()> {
    writeln!(out, "%%MatrixMarket matrix coordinate real general")?;
    writeln!(
        out,
        "% stance featurize: rows are documents in input order, columns vocabulary.txt lines"
    )?;
    writeln!(
        out,
        "{} {} {}",
        matrix.n_rows(),
        matrix.n_cols(),
        matrix.nnz()
    )?;
    let indptr = matrix.indptr();
    let mut pieces: Vec<Range<usize>> = Vec::new();
    let mut start = 0;
    for end in 1..=matrix.n_rows() {
        if indptr[end] - indptr[start] >= entries_per_piece || end == matrix.n_rows() {
            pieces.push(start..end);
            start = end;
        }
    }
    let group_size = rayon::current_num_threads() * 4;
    // Reused from group to group: fresh pages cost more than formatting them.
    let mut texts: Vec<Vec<u8>> = vec![Vec::new(); group_size];
    for group in pieces.chunks(group_size) {
        let texts = &mut texts[..group.len()];
        texts
            .par_iter_mut()
            .zip(group)
            .try_for_each(|(text, rows)| format_rows(matrix, rows.clone(), text))?;
        for text in texts.iter() {
            out.write_all(text)?;
        }
    }
    Ok(())
}

/// Entries per piece of Matrix Market text (about 1 MB of it).
const ENTRIES_PER_PIECE: usize = 1 << 16;

/// The Matrix Market lines of `rows` (1-based row and column, value), in place of `text`.
fn format_rows(matrix: &CsrMatrix, rows: Range<usize>, text: &mut Vec<u8>) -> io::Result<()> {
    text.clear();
    let mut integers = itoa::Buffer::new();
    let mut row_prefix = Vec::new();
    for i in rows {
        let (columns, values) = matrix.row(i);
        // The row's number starts each of its lines: formatted once.
        row_prefix.clear();
        row_prefix.extend_from_slice(integers.format(i + 1).as_bytes());
        row_prefix.push(b' ');
        for (&c, &v) in columns.iter().zip(values) {
            text.extend_from_slice(&row_prefix);
            text.extend_from_slice(integers.format(u64::from(c) + 1).as_bytes());
            text.push(b' ');
            push_value(text, &mut integers, v)?;
            text.push(b'\n');
        }
    }
    Ok(())
}

/// `value` as `{}` prints it. Counts, the common case, are whole numbers: printed as integers
/// (the same digits) without the shortest-float search, which took most of the writing.
fn push_value(line: &mut Vec<u8>, integers: &mut itoa::Buffer, value: f64) -> io::Result<()> {
    /// Below 2^53 every whole `f64` is an exact integer.
    const EXACT: f64 = 9_007_199_254_740_992.0;
    let whole = value.fract() == 0.0 && value.abs() < EXACT;
    // `-0.0` prints as "-0"; as an integer it would lose its sign.
    if whole && !(value == 0.0 && value.is_sign_negative()) {
        line.extend_from_slice(integers.format(value as i64).as_bytes());
        Ok(())
    } else {
        write!(line, "{value}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::RawFeatureConfig;

    fn check(value: f64) {
        let mut line = Vec::new();
        push_value(&mut line, &mut itoa::Buffer::new(), value).expect("a Vec takes text");
        assert_eq!(String::from_utf8(line).expect("text"), format!("{value}"));
    }

    /// The Matrix Market text of `matrix`, written in a pool of `threads`, in pieces of about
    /// `entries_per_piece` entries.
    fn written(matrix: &CsrMatrix, threads: usize, entries_per_piece: usize) -> String {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("pool");
        let mut out = Vec::new();
        pool.install(|| write_matrix_market_in_pieces(&mut out, matrix, entries_per_piece))
            .expect("a Vec takes text");
        String::from_utf8(out).expect("text")
    }

    #[test]
    fn matrix_market_lines_are_the_entries_in_row_order() {
        // Rows of several lengths, some of them empty.
        let docs: Vec<String> = (0..1500)
            .map(|i| match i % 7 {
                0 => String::new(),
                k => format!("w{k} w{} w{k} shared {}", i % 13, "x".repeat(k)),
            })
            .collect();
        let set = RawFeatureConfig::default().check().expect("defaults");
        let (_, matrix) = set.fit_transform(&docs).expect("fit");
        let mut expected = format!(
            "%%MatrixMarket matrix coordinate real general\n\
             % stance featurize: rows are documents in input order, columns vocabulary.txt lines\n\
             {} {} {}\n",
            matrix.n_rows(),
            matrix.n_cols(),
            matrix.nnz()
        );
        for i in 0..matrix.n_rows() {
            let (columns, values) = matrix.row(i);
            for (&c, &v) in columns.iter().zip(values) {
                expected.push_str(&format!("{} {} {v}\n", i + 1, c + 1));
            }
        }
        // One piece; many pieces and groups of them; a piece per row.
        for entries_per_piece in [ENTRIES_PER_PIECE, 50, 1] {
            for threads in [1, 3] {
                let text = written(&matrix, threads, entries_per_piece);
                assert_eq!(text, expected, "{threads} threads, {entries_per_piece}");
            }
        }
    }

    #[test]
    fn values_print_as_display_prints_them() {
        for value in [
            0.0,
            -0.0,
            1.0,
            3.0,
            -2.0,
            17.0,
            0.5,
            -0.25,
            1e-7,
            0.1 + 0.2,
            1e15,
            9.1e15,
            1e20,
            -1e300,
            2f64.powi(53),
            2f64.powi(53) - 1.0,
            f64::MIN_POSITIVE,
            f64::NAN,
            f64::INFINITY,
        ] {
            check(value);
        }
    }
}
