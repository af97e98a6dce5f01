//! `stance featurize`: fit the `[features]` table of an experiment on a corpus, in batches,
//! and optionally write the vocabulary and the matrix (Matrix Market). Always prints one
//! summary line on stderr.
//!
//! Reading the next batch overlaps counting the current one, so text is never held whole.

use std::fs;
use std::io::Write;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, anyhow};
use rayon::prelude::*;
use serde::Deserialize;
use stance::experiment::key_line;
use stance::features::{FeatureSet, FittedFeatures, RawFeatureConfig};
use stance::input::{Batch, Decoding, DocumentReader, InputFormat};
use stance::sparse::CsrMatrix;

use super::Outcome;

/// Text per batch: large enough to keep every core busy, small enough to bound memory.
/// (4 MB took 3–5% less time than 2 MB on allsides-25mb, on one thread and on two; 8 MB no
/// less than 4.)
const BATCH_BYTES: usize = 4 << 20;

#[derive(Debug, clap::Args)]
pub struct FeaturizeArgs {
    /// Experiment TOML; only its `[features]` table is read (absent: scikit-learn's defaults).
    #[arg(long, value_name = "EXPERIMENT.toml")]
    config: PathBuf,
    /// Documents, one per line; JSON Lines with --field. Gzip-compressed input is accepted.
    #[arg(long, value_name = "FILE")]
    input: PathBuf,
    /// Read JSON Lines, taking each document from this field.
    #[arg(long, value_name = "NAME")]
    field: Option<String>,
    /// Write DIR/vocabulary.txt (one term per line, column order) and DIR/matrix.mtx.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Replace invalid UTF-8 with U+FFFD instead of stopping with an error.
    #[arg(long)]
    lossy: bool,
}

pub fn run(args: FeaturizeArgs) -> anyhow::Result<Outcome> {
    let started = Instant::now();
    let set = load_feature_set(&args.config)?;
    let format = match args.field {
        Some(field) => InputFormat::JsonLines { field },
        None => InputFormat::Lines,
    };
    let decoding = if args.lossy {
        Decoding::Lossy
    } else {
        Decoding::Strict
    };
    let mut reader = DocumentReader::open(&args.input, format, decoding)?;
    // On a thread of the pool, so that handing each batch to the pool is no round trip
    // between threads (one thread: 1%; two: 3%).
    let (text_bytes, (fitted, matrix)) =
        rayon::scope(|_| featurize(&set, &mut reader, &args.input))?;

    if let Some(dir) = &args.out {
        write_outputs(dir, &fitted, &matrix)?;
    }

    let seconds = started.elapsed().as_secs_f64();
    let megabytes = text_bytes as f64 / 1e6;
    let columns = match fitted.vocabulary() {
        Some(vocabulary) => format!("{} terms", vocabulary.len()),
        None => format!("{} hashed columns", fitted.n_features()),
    };
    eprintln!(
        "featurized {} documents ({megabytes:.1} MB of text): {columns}, {} non-zeros \
         in {seconds:.3} s ({:.0} MB/s)",
        matrix.n_rows(),
        matrix.nnz(),
        megabytes / seconds.max(1e-9),
    );
    Ok(Outcome::Success)
}

/// Fit `set` on the documents of `reader`, reading the next batch while counting one; the
/// bytes of text, and the fitted features with their matrix (a row per document).
fn featurize(
    set: &FeatureSet,
    reader: &mut DocumentReader,
    input: &Path,
) -> anyhow::Result<(usize, (FittedFeatures, CsrMatrix))> {
    let mut fitter = set.fitter();
    let (mut current, mut next) = (Batch::new(), Batch::new());
    let mut text_bytes = 0usize;
    let mut more = reader.next_batch(&mut current, BATCH_BYTES)?;
    while more {
        text_bytes += current.text_len();
        let docs = current.documents();
        let (read, ()) = rayon::join(
            || reader.next_batch(&mut next, BATCH_BYTES),
            || fitter.add(&docs),
        );
        drop(docs);
        more = read?;
        std::mem::swap(&mut current, &mut next);
    }
    let featurized = fitter
        .finish()
        .with_context(|| format!("featurizing {}", input.display()))?;
    Ok((text_bytes, featurized))
}

/// The experiment file, of which only `[features]` matters here.
#[derive(Deserialize)]
struct ExperimentFeatures {
    #[serde(default)]
    features: RawFeatureConfig,
}

fn load_feature_set(path: &Path) -> anyhow::Result<FeatureSet> {
    let text = fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let parsed: ExperimentFeatures =
        toml::from_str(&text).map_err(|err| anyhow!("{}: {err}", path.display()))?;
    parsed.features.check().map_err(|err| {
        let place = match key_line(&text, &format!("features.{}", err.key())) {
            Some(line) => format!("{}:{line}", path.display()),
            None => path.display().to_string(),
        };
        anyhow!("{place}: [features] {err}")
    })
}

fn write_outputs(dir: &Path, fitted: &FittedFeatures, matrix: &CsrMatrix) -> anyhow::Result<()> {
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let vocabulary_path = dir.join("vocabulary.txt");
    match fitted.vocabulary() {
        Some(vocabulary) => write_atomically(&vocabulary_path, |out| {
            for term in vocabulary.iter() {
                writeln!(out, "{term}")?;
            }
            Ok(())
        })?,
        // Hashed columns have no terms; a vocabulary left by an earlier run would mislead.
        None => {
            if vocabulary_path.exists() {
                fs::remove_file(&vocabulary_path)
                    .with_context(|| format!("removing {}", vocabulary_path.display()))?;
            }
        }
    }
    write_atomically(&dir.join("matrix.mtx"), |out| {
        write_matrix_market(out, matrix)
    })
}

/// Matrix Market coordinate format, 1-based, rows in input order.
fn write_matrix_market(out: &mut dyn Write, matrix: &CsrMatrix) -> std::io::Result<()> {
    write_matrix_market_in_pieces(out, matrix, ENTRIES_PER_PIECE)
}

/// [`write_matrix_market`], rows formatted in parallel, a piece of about `entries_per_piece`
/// entries each, and written in order; at most a few pieces of text are held at once,
/// however long the documents.
fn write_matrix_market_in_pieces(
    out: &mut dyn Write,
    matrix: &CsrMatrix,
    entries_per_piece: usize,
) -> std::io::Result<()> {
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
fn format_rows(matrix: &CsrMatrix, rows: Range<usize>, text: &mut Vec<u8>) -> std::io::Result<()> {
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
fn push_value(line: &mut Vec<u8>, integers: &mut itoa::Buffer, value: f64) -> std::io::Result<()> {
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

/// Write `path` atomically ([`stance::persist`]): a reader never sees half a file.
fn write_atomically(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> anyhow::Result<()> {
    stance::persist::write_atomic_with(path, write)
        .with_context(|| format!("writing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

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
