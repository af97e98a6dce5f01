//! `stance predict`: classify paragraphs with a saved model, streaming
//! ([`stance::apply::predict`]): flags in, predictions on stdout, warnings and `--stats` on
//! stderr.

use std::io::{self, BufWriter, IsTerminal};
use std::path::PathBuf;
use std::time::Instant;

use stance::apply::{self, OutputFormat, PredictOptions};
use stance::corpus::ArticleId;
use stance::experiment::thousands;
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
    the --id-field's value with --field, else FILE:LINE. --keep passes fields of JSON Lines \
    input through, after the id (TSV: a string as it is, other values as JSON, a missing field \
    empty). Probabilities come one column (or key) per class. With --explain K, each \
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

    /// With --field: each paragraph's id from this field (a string or a number) instead of
    /// FILE:LINE.
    #[arg(long, value_name = "NAME", requires = "field")]
    id_field: Option<String>,

    /// With --field: pass these fields of each record through to the output, after the id.
    #[arg(
        long,
        value_name = "FIELD,…",
        value_delimiter = ',',
        requires = "field"
    )]
    keep: Vec<String>,

    /// Round probabilities to N decimals (they are written in full, up to 17 digits).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(0..=17))]
    digits: Option<u32>,

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
        check_kept(&args.keep)?;
        ParagraphMode::JsonLines {
            field,
            id_field: args.id_field,
            keep: args.keep,
        }
    } else {
        ParagraphMode::Lines
    };
    let decoding = if args.lossy {
        Decoding::Lossy
    } else {
        Decoding::Strict
    };
    let reads_stdin = args.inputs.is_empty() || args.inputs.iter().any(|path| path == "-");
    if reads_stdin && io::stdin().is_terminal() {
        eprintln!(
            "reading paragraphs from the terminal, one per line; end with Ctrl-D \
             (or give files: stance predict --model MODEL.json FILE…)"
        );
    }
    let mut inputs = ParagraphInputs::new(args.inputs, mode, decoding, args.batch_bytes)?;
    let options = PredictOptions {
        format: match args.format {
            Format::Tsv => OutputFormat::Tsv,
            Format::Jsonl => OutputFormat::Jsonl,
        },
        explain: args.explain.map(|k| k as usize),
        digits: args.digits,
    };
    let mut out = BufWriter::with_capacity(1 << 20, io::stdout().lock());
    let predicted = apply::predict(&model, &mut inputs, &options, &mut out);
    for warning in inputs.warnings() {
        eprintln!("warning: {warning}");
    }
    let summary = predicted?;
    if summary.far_longer > 0
        && let Some(longest) = model.provenance().longest_paragraph
    {
        eprintln!(
            "warning: {} of {} paragraphs are more than {} times as long as the longest the \
             model was trained on ({} characters): its probabilities for them mean little{}",
            thousands(summary.far_longer),
            thousands(summary.paragraphs),
            apply::FAR_LONGER,
            thousands(longest),
            if *inputs.mode() == ParagraphMode::Lines {
                "; whole articles? split them with --articles"
            } else {
                ""
            }
        );
    }
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

/// Kept fields are written beside the prediction's own: in JSON Lines, a field named as one
/// of them, or twice, would make two keys of one name.
fn check_kept(keep: &[String]) -> anyhow::Result<()> {
    const OWN: [&str; 4] = ["id", "predicted", "probabilities", "explanation"];
    for (i, name) in keep.iter().enumerate() {
        if name.is_empty() {
            anyhow::bail!(
                "--keep: an empty field name (write --keep a,b without spaces or a trailing comma)"
            );
        }
        if OWN.contains(&name.as_str()) {
            anyhow::bail!(
                "--keep {name}: the output has its own `{name}`; keep other fields (the \
                 output's are {})",
                OWN.join(", ")
            );
        }
        if keep[..i].contains(name) {
            anyhow::bail!("--keep names `{name}` twice");
        }
    }
    Ok(())
}
