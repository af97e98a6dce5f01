//! `stance featurize`: fit the `[features]` table of an experiment on a corpus, in batches,
//! and optionally write the vocabulary and the matrix (Matrix Market). Always prints one
//! summary line on stderr.
//!
//! Reading the next batch overlaps counting the current one, so text is never held whole.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, anyhow};
use serde::Deserialize;
use stance::experiment::key_line;
use stance::features::{CsrMatrix, FeatureSet, FittedFeatures, RawFeatureConfig};
use stance::input::{Batch, Decoding, DocumentReader, InputFormat};

use super::Outcome;

/// Text per batch: large enough to keep every core busy, small enough to bound memory.
const BATCH_BYTES: usize = 2 << 20;

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
    let n_documents = fitter.n_documents();
    let (fitted, matrix) = fitter
        .finish()
        .with_context(|| format!("featurizing {}", args.input.display()))?;

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
        "featurized {n_documents} documents ({megabytes:.1} MB of text): {columns}, {} non-zeros \
         in {seconds:.3} s ({:.0} MB/s)",
        matrix.nnz(),
        megabytes / seconds.max(1e-9),
    );
    Ok(Outcome::Success)
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
    for i in 0..matrix.n_rows() {
        let (columns, values) = matrix.row(i);
        for (&c, &v) in columns.iter().zip(values) {
            writeln!(out, "{} {} {v}", i + 1, c + 1)?;
        }
    }
    Ok(())
}

/// Write `path` atomically ([`stance::durable`]): a reader never sees half a file.
fn write_atomically(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> anyhow::Result<()> {
    stance::durable::write_atomic_with(path, write)
        .with_context(|| format!("writing {}", path.display()))
}
