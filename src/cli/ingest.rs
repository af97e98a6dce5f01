//! `stance ingest`: read article files, or a corpus of articles in JSON Lines, split them,
//! keep the paragraphs every `--match` hits, add them to the label store.
//!
//! Every file is read and checked before the store is touched, so one bad file or record
//! leaves the store as it was. Prints one line per article and the store's totals.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use stance::candidates::Query;
use stance::corpus::{Article, ArticleId};
use stance::input::{ArticleFields, scan_articles};
use stance::labels::{IngestReport, IngestStatus, Store};

use super::Outcome;

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Each line of an article is a paragraph; paragraphs glued together by scraping \
    (`trade.On Oct. 7`) are split again. Short lines without final punctuation are kept as \
    headings and `Author: …` / `By …` lines as bylines: both are stored but never labelled. \
    Each paragraph's id is a hash of the article id and its text, so ingesting the same \
    article again changes nothing; if an article's text changed, its paragraphs are \
    replaced and labels on paragraphs that are gone are reported as orphaned (never \
    deleted).\n\n\
    JSON Lines (`--text FIELD --id FIELD`, gzip-compressed or not): each record is an \
    article, its text split as an article file is (blank lines between paragraphs are \
    dropped), named by its id field; its other fields (source, date, title …) are kept in \
    the store as `articles/ID.json`.\n\n\
    `--match REGEX` (repeatable) keeps only the paragraphs that every pattern hits, in the \
    paragraph's text or in the article's title (`--title FIELD`); articles keep the \
    positions and ids their paragraphs have in the whole article. Patterns are Rust `regex` \
    syntax, case-sensitive unless they start with `(?i)`.\n\n\
    Example: stance ingest allsides-full.jsonl.gz --text text --id ID --title title \
    --match 'North Korea|Pyongyang|Kim Jong' --match 'China|Beijing|Russia|Moscow|Putin|Xi'"
)]
pub struct IngestArgs {
    /// Article text files (UTF-8, one paragraph per line; gzip-compressed or not), or with
    /// `--text` files of JSON Lines (`.gz` too) of one article a record.
    #[arg(required = true, value_name = "ARTICLE.txt|CORPUS.jsonl")]
    articles: Vec<PathBuf>,

    /// Article id to use instead of the file name without extension (only with one file).
    #[arg(long, value_name = "ID", conflicts_with = "text")]
    article_id: Option<String>,

    /// Read JSON Lines: the field that holds each article's text.
    #[arg(long, value_name = "FIELD", requires = "id")]
    text: Option<String>,

    /// With `--text`: the field that holds each article's id (text or a whole number; letters,
    /// digits, `_`, `.`, `-`).
    #[arg(long, value_name = "FIELD", requires = "text")]
    id: Option<String>,

    /// With `--text`: the field that holds each article's title, which `--match` patterns may
    /// hit for every paragraph of the article.
    #[arg(long, value_name = "FIELD", requires = "text")]
    title: Option<String>,

    /// Keep only paragraphs this regular expression hits (in the paragraph, or the title);
    /// repeated, every one must hit.
    #[arg(long = "match", value_name = "REGEX")]
    patterns: Vec<String>,

    /// The label store directory; created with the default schema if it does not exist.
    #[arg(long, value_name = "DIR", default_value = "labels")]
    store: PathBuf,
}

pub fn run(args: IngestArgs) -> anyhow::Result<Outcome> {
    let query = Query::new(&args.patterns)?;
    let articles = match (&args.text, &args.id) {
        (Some(text), Some(id)) => {
            let fields = ArticleFields {
                text: text.clone(),
                id: id.clone(),
                title: args.title.clone(),
            };
            read_corpora(&args, &fields, &query)?
        }
        _ => read_article_files(&args, &query)?,
    };

    let mut store = Store::open_or_create(&args.store)?;
    let reports = store.ingest(&articles)?;

    let mut out = std::io::stdout().lock();
    for report in &reports {
        writeln!(out, "{}", describe(report)).context("cannot write to stdout")?;
    }
    let summary = store.summary();
    writeln!(
        out,
        "store {}: {} article{}, {} paragraph{}, {} of them not labelled yet",
        store.dir().display(),
        summary.articles,
        plural(summary.articles),
        summary.labelable,
        plural(summary.labelable),
        summary.unlabelled,
    )
    .context("cannot write to stdout")?;
    Ok(Outcome::Success)
}

/// Articles from text files, each named by its file or `--article-id`.
fn read_article_files(args: &IngestArgs, query: &Query) -> anyhow::Result<Vec<Article>> {
    let article_id = match &args.article_id {
        Some(_) if args.articles.len() > 1 => {
            anyhow::bail!(
                "--article-id names one article, but {} files were given",
                args.articles.len()
            )
        }
        Some(id) => Some(ArticleId::new(id)?),
        None => None,
    };
    let mut articles = Vec::new();
    for path in &args.articles {
        let article = Store::read_article(path, article_id.clone())?;
        match query.select(article, None) {
            Some(article) => articles.push(article),
            None => eprintln!(
                "{}: no paragraph that every --match hits; not ingested",
                path.display()
            ),
        }
    }
    Ok(articles)
}

/// Articles with candidate paragraphs from JSON Lines files; says on stderr how many records
/// each file held and how many articles and paragraphs were kept.
fn read_corpora(
    args: &IngestArgs,
    fields: &ArticleFields,
    query: &Query,
) -> anyhow::Result<Vec<Article>> {
    let mut articles = Vec::new();
    for path in &args.articles {
        let scan = scan_articles(path, fields, query)?;
        let blank = match scan.blank {
            0 => String::new(),
            n => format!(" ({n} with blank text, skipped)"),
        };
        let kept = if query.is_empty() {
            "kept whole".to_owned()
        } else {
            format!(
                "with paragraphs every --match hits ({} pattern{})",
                args.patterns.len(),
                plural(args.patterns.len())
            )
        };
        eprintln!(
            "{}: {} record{}{blank}; {} article{} {kept}, {} paragraph{}",
            path.display(),
            scan.records,
            plural(scan.records as usize),
            scan.articles.len(),
            plural(scan.articles.len()),
            scan.paragraphs(),
            plural(scan.paragraphs()),
        );
        articles.extend(scan.articles);
    }
    Ok(articles)
}

fn describe(report: &IngestReport) -> String {
    let status = match report.status {
        IngestStatus::New => "new".to_owned(),
        IngestStatus::Unchanged => "unchanged".to_owned(),
        IngestStatus::Changed {
            kept,
            added,
            removed,
        } => format!("changed ({kept} kept, {added} added, {removed} removed)"),
    };
    let mut line = format!(
        "{}: {status}: {} paragraph{}, {} heading{}, {} byline{}",
        report.article,
        report.paragraphs,
        plural(report.paragraphs),
        report.headings,
        plural(report.headings),
        report.bylines,
        plural(report.bylines),
    );
    if report.duplicates > 0 {
        line.push_str(&format!(
            "; {} repeated line{} kept once",
            report.duplicates,
            plural(report.duplicates)
        ));
    }
    if report.orphaned > 0 {
        line.push_str(&format!(
            "; {} label{} orphaned (kept in annotations.jsonl, listed by `stance labels`)",
            report.orphaned,
            plural(report.orphaned)
        ));
    }
    line
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
