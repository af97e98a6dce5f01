//! `stance predict`: classify paragraphs with a saved model, streaming.
//!
//! Input is read in batches of about `BATCH_BYTES` of text (4 MB); while one batch is featurized,
//! scored and formatted on every core, the next is read. Output is written in input order,
//! so memory stays flat however large the corpus. Three kinds of input: plain text (one
//! paragraph per line; blank lines skipped, line numbers kept), whole articles (`--articles`,
//! split into paragraphs as `stance ingest` does) and JSON Lines (`--field`); any of them
//! may be gzip-compressed.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, bail};
use flate2::read::MultiGzDecoder;
use rayon::prelude::*;
use serde::Serialize;
use serde::ser::SerializeMap;
use stance::corpus::{ArticleId, BlockKind, split_article};
use stance::input::{Batch, Decoding, DocumentReader, InputFormat};
use stance::model::{Explanation, Scored};
use stance::model_file;
use stance::trained::TrainedModel;

use super::Outcome;

/// Text per batch: enough to keep every core busy, little enough to bound memory.
const BATCH_BYTES: usize = 4 << 20;

/// Predictions formatted per parallel task.
const ROWS_PER_TASK: usize = 256;

const NO_TERMS: &str = "no known terms: predicted from the intercept alone";

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum OutputFormat {
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
    format: OutputFormat,

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
    let mut source = Source::new(&args)?;
    let explain = args.explain.map(|k| k as usize);

    let mut out = BufWriter::with_capacity(1 << 20, io::stdout().lock());
    let (mut current, mut next) = (Paragraphs::default(), Paragraphs::default());
    let (mut n_paragraphs, mut text_bytes) = (0usize, 0usize);
    let mut more = source.fill(&mut current)?;
    while more {
        let (read, rendered) = rayon::join(
            || source.fill(&mut next),
            || render(&model, &current, explain, args.format),
        );
        if n_paragraphs == 0 && args.format == OutputFormat::Tsv {
            out.write_all(tsv_header(&model, explain.is_some()).as_bytes())?;
        }
        for chunk in rendered? {
            out.write_all(&chunk)?;
        }
        n_paragraphs += current.len();
        text_bytes += current.text.len();
        more = read?;
        std::mem::swap(&mut current, &mut next);
    }
    out.flush()?;
    if n_paragraphs == 0 {
        bail!(
            "no paragraphs to predict in {}{}",
            source.names.join(", "),
            if args.articles || args.field.is_some() {
                ""
            } else {
                " (blank lines are skipped)"
            }
        );
    }
    if args.stats {
        let seconds = started.elapsed().as_secs_f64().max(1e-9);
        let megabytes = text_bytes as f64 / 1e6;
        eprintln!(
            "predicted {n_paragraphs} paragraphs ({megabytes:.1} MB of text) in {seconds:.2} s: \
             {:.0} paragraphs/s, {:.1} MB/s, {} threads",
            n_paragraphs as f64 / seconds,
            megabytes / seconds,
            rayon::current_num_threads()
        );
    }
    Ok(Outcome::Success)
}

/// Paragraphs back to back in one buffer, with their ids; reused from batch to batch.
#[derive(Default)]
struct Paragraphs {
    text: String,
    ends: Vec<usize>,
    ids: Vec<String>,
}

impl Paragraphs {
    fn clear(&mut self) {
        self.text.clear();
        self.ends.clear();
        self.ids.clear();
    }

    fn push(&mut self, id: String, text: &str) {
        self.text.push_str(text);
        self.ends.push(self.text.len());
        self.ids.push(id);
    }

    fn len(&self) -> usize {
        self.ends.len()
    }

    fn texts(&self) -> Vec<&str> {
        let mut start = 0;
        self.ends
            .iter()
            .map(|&end| {
                let text = &self.text[start..end];
                start = end;
                text
            })
            .collect()
    }
}

/// How each input holds paragraphs.
enum Mode {
    Lines,
    JsonLines(String),
    Articles(Option<ArticleId>),
}

/// The inputs, read in order into batches of paragraphs.
struct Source {
    pending: VecDeque<PathBuf>,
    /// Every input's name, for messages.
    names: Vec<String>,
    mode: Mode,
    decoding: Decoding,
    batch_bytes: usize,
    /// The input being read, its name, and how many paragraphs it has given so far.
    current: Option<(DocumentReader, String, usize)>,
    raw: Batch,
}

fn is_stdin(path: &Path) -> bool {
    path.as_os_str() == "-"
}

fn name_of(path: &Path) -> String {
    if is_stdin(path) {
        "stdin".to_owned()
    } else {
        path.display().to_string()
    }
}

impl Source {
    fn new(args: &PredictArgs) -> anyhow::Result<Source> {
        let mut inputs = args.inputs.clone();
        if inputs.is_empty() {
            inputs.push(PathBuf::from("-"));
        }
        if inputs.iter().filter(|path| is_stdin(path)).count() > 1 {
            bail!("standard input (`-`) can be read only once");
        }
        // A missing file is reported before any output, not after the files before it.
        for path in inputs.iter().filter(|path| !is_stdin(path)) {
            std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
        }
        let mode = if args.articles {
            let id = match &args.article_id {
                Some(_) if inputs.len() > 1 => bail!(
                    "--article-id names one article, but {} inputs were given",
                    inputs.len()
                ),
                Some(id) => Some(ArticleId::new(id)?),
                None => None,
            };
            Mode::Articles(id)
        } else if let Some(field) = &args.field {
            Mode::JsonLines(field.clone())
        } else {
            Mode::Lines
        };
        Ok(Source {
            names: inputs.iter().map(|path| name_of(path)).collect(),
            pending: inputs.into(),
            mode,
            decoding: if args.lossy {
                Decoding::Lossy
            } else {
                Decoding::Strict
            },
            batch_bytes: args.batch_bytes.max(1),
            current: None,
            raw: Batch::new(),
        })
    }

    fn open(&self, path: &Path) -> anyhow::Result<DocumentReader> {
        let format = match &self.mode {
            Mode::JsonLines(field) => InputFormat::JsonLines {
                field: field.clone(),
            },
            Mode::Lines | Mode::Articles(_) => InputFormat::Lines,
        };
        if !is_stdin(path) {
            return Ok(DocumentReader::open(path, format, self.decoding)?);
        }
        let mut raw = BufReader::with_capacity(1 << 20, io::stdin());
        let gzipped = raw
            .fill_buf()
            .context("reading standard input")?
            .starts_with(&[0x1f, 0x8b]);
        let source: Box<dyn BufRead + Send> = if gzipped {
            Box::new(BufReader::with_capacity(1 << 20, MultiGzDecoder::new(raw)))
        } else {
            Box::new(raw)
        };
        Ok(DocumentReader::from_reader(
            Path::new("stdin"),
            source,
            format,
            self.decoding,
        ))
    }

    /// Replace `out` with the next paragraphs (about `batch_bytes` of text, possibly from
    /// several inputs); `false` when the inputs are exhausted.
    fn fill(&mut self, out: &mut Paragraphs) -> anyhow::Result<bool> {
        out.clear();
        while out.text.len() < self.batch_bytes {
            let Some((reader, name, given)) = &mut self.current else {
                let Some(path) = self.pending.pop_front() else {
                    break;
                };
                let reader = self.open(&path)?;
                if let Mode::Articles(id) = &self.mode {
                    // Articles are small: each is read whole and split as `stance ingest` does.
                    let id = match id {
                        Some(id) => id.clone(),
                        None => article_id(&path)?,
                    };
                    let before = out.len();
                    let text = reader.read_all()?.join("\n");
                    for block in split_article(&id, &text) {
                        if block.kind() == BlockKind::Paragraph {
                            out.push(block.id().as_str().to_owned(), block.text());
                        }
                    }
                    if out.len() == before {
                        eprintln!("warning: {}: no paragraphs", name_of(&path));
                    }
                } else {
                    self.current = Some((reader, name_of(&path), 0));
                }
                continue;
            };
            let budget = self.batch_bytes - out.text.len();
            let more = reader.next_batch(&mut self.raw, budget)?;
            let skip_blank = matches!(self.mode, Mode::Lines);
            let before = out.len();
            for i in 0..self.raw.len() {
                let text = self.raw.get(i);
                if skip_blank && text.trim().is_empty() {
                    continue;
                }
                out.push(format!("{name}:{}", self.raw.line(i)), text);
            }
            *given += out.len() - before;
            if !more {
                if *given == 0 {
                    eprintln!("warning: {name}: no paragraphs");
                }
                self.current = None;
            }
        }
        Ok(out.len() > 0)
    }
}

/// The article id of a file: its name without extension (`stdin` for standard input).
fn article_id(path: &Path) -> anyhow::Result<ArticleId> {
    let stem = if is_stdin(path) {
        "stdin".to_owned()
    } else {
        path.file_stem()
            .map(|stem| stem.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    ArticleId::new(&stem)
        .with_context(|| format!("{}: its file name cannot be an article id", path.display()))
}

/// Featurize, score and format one batch; the chunks come back in input order.
fn render(
    model: &TrainedModel,
    paragraphs: &Paragraphs,
    explain: Option<usize>,
    format: OutputFormat,
) -> anyhow::Result<Vec<Vec<u8>>> {
    let texts = paragraphs.texts();
    let matrix = model.transform(&texts);
    let scored = model.score(&matrix, explain)?;
    scored
        .par_chunks(ROWS_PER_TASK)
        .zip(paragraphs.ids.par_chunks(ROWS_PER_TASK))
        .zip(texts.par_chunks(ROWS_PER_TASK))
        .map(|((scored, ids), texts)| {
            let mut buffer = Vec::with_capacity(scored.len() * 64);
            for ((id, scored), text) in ids.iter().zip(scored).zip(texts) {
                let names = match &scored.explanation {
                    Some(explanation) => model.term_names(text, explanation),
                    None => Vec::new(),
                };
                match format {
                    OutputFormat::Tsv => tsv_row(&mut buffer, model, id, scored, &names),
                    OutputFormat::Jsonl => jsonl_row(&mut buffer, model, id, scored, &names)?,
                }
            }
            Ok(buffer)
        })
        .collect()
}

fn tsv_header(model: &TrainedModel, explain: bool) -> String {
    let mut header = String::from("id\tpredicted");
    for class in model.classes() {
        let _ = write!(header, "\tp:{}", tsv_field(class));
    }
    if explain {
        header.push_str("\texplained\tversus\tlogit\tintercept\trest\tterms");
    }
    header.push('\n');
    header
}

/// Tabs and line breaks would break the table; a term or file name may hold them.
fn tsv_field(text: &str) -> std::borrow::Cow<'_, str> {
    if text.contains(['\t', '\n', '\r']) {
        text.replace(['\t', '\n', '\r'], " ").into()
    } else {
        text.into()
    }
}

/// A number as JSON writes it: the shortest form that reads back the same, `1e-20` style.
fn push_number(buffer: &mut Vec<u8>, value: f64) {
    if serde_json::to_writer(&mut *buffer, &value).is_err() {
        buffer.extend_from_slice(value.to_string().as_bytes());
    }
}

fn tsv_row(
    buffer: &mut Vec<u8>,
    model: &TrainedModel,
    id: &str,
    scored: &Scored,
    names: &[String],
) {
    let classes = model.classes();
    buffer.extend_from_slice(tsv_field(id).as_bytes());
    buffer.push(b'\t');
    buffer.extend_from_slice(tsv_field(&classes[scored.predicted]).as_bytes());
    for &p in &scored.probabilities {
        buffer.push(b'\t');
        push_number(buffer, p);
    }
    if let Some(explanation) = &scored.explanation {
        for field in [&classes[explanation.class], &classes[explanation.versus]] {
            buffer.push(b'\t');
            buffer.extend_from_slice(tsv_field(field).as_bytes());
        }
        for value in [explanation.logit, explanation.intercept, explanation.rest] {
            buffer.push(b'\t');
            push_number(buffer, value);
        }
        buffer.push(b'\t');
        if explanation.known_terms == 0 {
            let _ = write!(buffer, "({NO_TERMS})");
        }
        for (i, (term, name)) in explanation.terms.iter().zip(names).enumerate() {
            let separator = if i == 0 { "" } else { ", " };
            let _ = write!(
                buffer,
                "{separator}{} {:+.4}",
                tsv_field(name),
                term.contribution
            );
        }
    }
    buffer.push(b'\n');
}

/// One JSON Lines record; the field order is the documented one.
#[derive(Serialize)]
struct JsonRow<'a> {
    id: &'a str,
    predicted: &'a str,
    probabilities: ClassMap<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    explanation: Option<JsonExplanation<'a>>,
}

/// Class name → probability, in class order.
struct ClassMap<'a> {
    classes: &'a [String],
    values: &'a [f64],
}

impl Serialize for ClassMap<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.classes.len()))?;
        for (class, value) in self.classes.iter().zip(self.values) {
            map.serialize_entry(class, value)?;
        }
        map.end()
    }
}

#[derive(Serialize)]
struct JsonExplanation<'a> {
    class: &'a str,
    versus: &'a str,
    logit: f64,
    intercept: f64,
    terms: Vec<JsonTerm<'a>>,
    rest: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    note: Option<&'static str>,
}

#[derive(Serialize)]
struct JsonTerm<'a> {
    term: &'a str,
    value: f64,
    weight: f64,
    contribution: f64,
}

fn json_explanation<'a>(
    classes: &'a [String],
    explanation: &'a Explanation,
    names: &'a [String],
) -> JsonExplanation<'a> {
    JsonExplanation {
        class: &classes[explanation.class],
        versus: &classes[explanation.versus],
        logit: explanation.logit,
        intercept: explanation.intercept,
        terms: explanation
            .terms
            .iter()
            .zip(names)
            .map(|(term, name)| JsonTerm {
                term: name,
                value: term.value,
                weight: term.weight,
                contribution: term.contribution,
            })
            .collect(),
        rest: explanation.rest,
        note: (explanation.known_terms == 0).then_some(NO_TERMS),
    }
}

fn jsonl_row(
    buffer: &mut Vec<u8>,
    model: &TrainedModel,
    id: &str,
    scored: &Scored,
    names: &[String],
) -> anyhow::Result<()> {
    let classes = model.classes();
    let row = JsonRow {
        id,
        predicted: &classes[scored.predicted],
        probabilities: ClassMap {
            classes,
            values: &scored.probabilities,
        },
        explanation: scored
            .explanation
            .as_ref()
            .map(|explanation| json_explanation(classes, explanation, names)),
    };
    serde_json::to_writer(&mut *buffer, &row)?;
    buffer.push(b'\n');
    Ok(())
}
