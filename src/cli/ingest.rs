//! `stance ingest`: read article files, split them, add them to the label store.
//!
//! Every file is read and checked before the store is touched, so one bad file leaves the
//! store as it was. Prints one line per article and the store's totals.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use stance::corpus::ArticleId;
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
    deleted)."
)]
pub struct IngestArgs {
    /// Article text files (UTF-8, one paragraph per line; gzip-compressed or not).
    #[arg(required = true, value_name = "ARTICLE.txt")]
    articles: Vec<PathBuf>,

    /// Article id to use instead of the file name without extension (only with one file).
    #[arg(long, value_name = "ID")]
    article_id: Option<String>,

    /// The label store directory; created with the default schema if it does not exist.
    #[arg(long, value_name = "DIR", default_value = "labels")]
    store: PathBuf,
}

pub fn run(args: IngestArgs) -> anyhow::Result<Outcome> {
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
    let articles = args
        .articles
        .iter()
        .map(|path| Store::read_article(path, article_id.clone()))
        .collect::<Result<Vec<_>, _>>()?;

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
