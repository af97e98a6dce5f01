//! `stance predict`: classify paragraphs with a saved model, streaming
//! ([`stance::apply::predict`]): flags in, predictions on stdout, warnings and `--stats` on
//! stderr.

use std::io::{self, BufWriter};
use std::path::PathBuf;
use std::time::Instant;

use stance::apply::{self, OutputFormat, PredictOptions};
use stance::corpus::ArticleId;
use stance::input::{Decoding, ParagraphInputs, ParagraphMode};
use stance::model_file;

use super::Outcome;

/// Text per batch: enough to keep every core busy, little enough to bound memory.
const BATCH_BYTES: usize = 4 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Format {
    /// Tab-separated, with a header line.
    Tsv,
    /// One JSON object per paragraph.
    Jsonl,
}

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Ids: a paragraph's id with --articles (the id `stance ingest` gives it), \
    else FILE:LINE. Probabilities come one column (or key) per class. With --explain K, each \
    prediction is explained against the other class (with three or more classes, against the \
    runner-up): `logit` is the log-odds of the predicted class against it, `intercept` plus \
    the contributions (weight × feature value) of the paragraph's terms; the K largest \
    contributions toward each side are listed and `rest` sums the others, so that \
    intercept + listed + rest = logit."
)]
pub struct PredictArgs {
    /// The model file written by `stance train`.
    #[arg(long, value_name = "MODEL.json")]
    model: PathBuf,

    /// Input files (gzip accepted); `-` or none reads standard input.
    #[arg(value_name = "FILE")]
    inputs: Vec<PathBuf>,

    /// Each file is a whole article: split it into paragraphs, skip headings and bylines.
    #[arg(long, conflicts_with = "field")]
    articles: bool,

    /// With --articles and one input: the article id instead of the file name.
    #[arg(long, value_name = "ID", requires = "articles")]
    article_id: Option<String>,

    /// Read JSON Lines, taking each paragraph from this field.
    #[arg(long, value_name = "NAME")]
    field: Option<String>,

    /// Output format.
    #[arg(long, value_enum, default_value = "tsv")]
    format: Format,

    /// Explain each prediction with the K terms contributing most toward each side.
    #[arg(long, value_name = "K", value_parser = clap::value_parser!(u32).range(1..))]
    explain: Option<u32>,

    /// Replace invalid UTF-8 with U+FFFD instead of stopping with an error.
    #[arg(long)]
    lossy: bool,

    /// Print paragraphs, text size, time and throughput on stderr at the end.
    #[arg(long)]
    stats: bool,

    /// Text per batch in bytes (tests use small batches to cross many batch boundaries).
    #[arg(long, hide = true, default_value_t = BATCH_BYTES, value_parser = clap::value_parser!(usize))]
    batch_bytes: usize,
}

pub fn run(args: PredictArgs) -> anyhow::Result<Outcome> {
    let started = Instant::now();
    let model = model_file::load(&args.model)?;
    let convergence = model.model().convergence();
    if !convergence.converged {
        eprintln!(
            "warning: the model did not converge when trained: {}",
            convergence.message
        );
    }
    let mode = if args.articles {
        let id = match &args.article_id {
            Some(_) if args.inputs.len() > 1 => anyhow::bail!(
                "--article-id names one article, but {} inputs were given",
                args.inputs.len()
            ),
            Some(id) => Some(ArticleId::new(id)?),
            None => None,
        };
        ParagraphMode::Articles { id }
    } else if let Some(field) = args.field {
        ParagraphMode::JsonLines { field }
    } else {
        ParagraphMode::Lines
    };
    let decoding = if args.lossy {
        Decoding::Lossy
    } else {
        Decoding::Strict
    };
    let mut inputs = ParagraphInputs::new(args.inputs, mode, decoding, args.batch_bytes)?;
    let options = PredictOptions {
        format: match args.format {
            Format::Tsv => OutputFormat::Tsv,
            Format::Jsonl => OutputFormat::Jsonl,
        },
        explain: args.explain.map(|k| k as usize),
    };
    let mut out = BufWriter::with_capacity(1 << 20, io::stdout().lock());
    let predicted = apply::predict(&model, &mut inputs, &options, &mut out);
    for warning in inputs.warnings() {
        eprintln!("warning: {warning}");
    }
    let summary = predicted?;
    if args.stats {
        let seconds = started.elapsed().as_secs_f64().max(1e-9);
        let megabytes = summary.text_bytes as f64 / 1e6;
        eprintln!(
            "predicted {} paragraphs ({megabytes:.1} MB of text) in {seconds:.2} s: \
             {:.0} paragraphs/s, {:.1} MB/s, {} threads",
            summary.paragraphs,
            summary.paragraphs as f64 / seconds,
            megabytes / seconds,
            rayon::current_num_threads()
        );
    }
    Ok(Outcome::Success)
}
