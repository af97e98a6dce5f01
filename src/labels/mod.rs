//! The hand-label store: paragraphs in, labelled paragraphs out.
//!
//! Takes articles split by [`crate::corpus`] and people's decisions (from the terminal
//! session or an import file), keeps them on disk in a directory of plain text files, and
//! hands on, for an annotator, each paragraph with its current label
//! ([`Store::labelled`]).
//!
//! A store directory holds:
//!
//! - `schema.toml`: the classes and their one-line definitions ([`schema`]);
//! - `articles/<article_id>.txt`: a copy of each ingested article;
//! - `paragraphs.jsonl`: every block of every article, rewritten atomically on ingest;
//! - `annotations.jsonl`: the decisions, **append-only**, one per line, each synced to disk as
//!   it is made; an undo appends a retraction. An import's decisions go in all together or
//!   not at all (a copy of the log with them, renamed over it).
//!
//! Every writer holds the store lock ([`lock`]) while it writes, so concurrent writers take
//! turns. A last line of the log torn by an interrupted write is reported, never read as a
//! decision, and removed on request ([`Store::repair`]); no complete line is ever touched.
//!
//! This module never rewrites or deletes an annotation, never drops a label whose paragraph
//! has gone (it reports it as orphaned), and knows nothing about terminals, features or
//! models. Only [`records`] defines what a line on disk looks like.

pub mod agreement;
pub mod annotations;
mod corpus_import;
mod export;
mod import;
mod lock;
mod paragraph;
mod records;
pub mod schema;
pub mod session;
mod store;
mod summary;
#[cfg(test)]
pub(crate) mod test_support;

use std::path::PathBuf;

pub use annotations::{
    Annotation, Annotator, AnnotatorError, Confidence, Decision, Offered, Order, Retraction, Shown,
    UnknownOrder,
};
pub use corpus_import::{CorpusImport, CorpusImportReport, import_corpus};
pub use import::ImportReport;
pub use paragraph::{Origin, Paragraph};
pub use schema::{Class, ClassIdx, Schema, SchemaError};
pub use store::{
    Health, IngestReport, IngestStatus, LabelledParagraph, Orphan, Repair, Store, TornLine,
};
pub use summary::{CountRow, Disagreement, PairAgreement, Summary};

use crate::corpus::{BlockKind, CorpusError};

/// Everything that can go wrong with a store, with the file and line where it did.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "no label store at {} (create one by ingesting articles: `stance ingest ARTICLE.txt --store {}`)",
        dir.display(),
        dir.display()
    )]
    Missing { dir: PathBuf },
    #[error("{} is missing from the label store ({what}); restore it from version control", path.display())]
    MissingFile { path: PathBuf, what: &'static str },
    #[error("cannot read {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write {}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "the label store {} is busy: another stance process is writing to it and has not \
         finished in {} s; try again when it has",
        dir.display(),
        waited.as_secs()
    )]
    Busy {
        dir: PathBuf,
        waited: std::time::Duration,
    },
    #[error("cannot lock the label store {}", dir.display())]
    Lock {
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The log's last line was cut off by an interrupted write (a kill, a full disk, a crash).
    #[error(
        "{}:{line}: the last line is incomplete ({bytes} bytes without an end, left by an \
         interrupted write); every line before it is intact. `stance labels repair --store {}` \
         removes it",
        path.display(),
        store.display()
    )]
    TornLine {
        path: PathBuf,
        store: PathBuf,
        line: usize,
        bytes: u64,
    },
    #[error("{} is read-only: no labels can be added (make it writable to label)", path.display())]
    ReadOnly { path: PathBuf },
    #[error("{}: not valid UTF-8 (first bad byte at offset {offset})", path.display())]
    NotUtf8 { path: PathBuf, offset: usize },
    #[error("{}: the article is empty", path.display())]
    EmptyArticle { path: PathBuf },
    #[error(
        "{} looks like JSON Lines ({reason}): an article is plain text, a paragraph per line \
         (to read an article from each record, pass --text FIELD --id FIELD)",
        path.display()
    )]
    JsonLines { path: PathBuf, reason: String },
    #[error("{}: cannot name the article after the file", path.display())]
    ArticleName {
        path: PathBuf,
        #[source]
        source: CorpusError,
    },
    #[error("article `{id}` is given twice")]
    DuplicateArticle { id: String },
    #[error(
        "paragraph id {id} of article `{article}` is already taken by article `{other}` (a hash collision; rename one article)"
    )]
    IdCollision {
        id: String,
        article: String,
        other: String,
    },
    #[error("{}: invalid schema", path.display())]
    Schema {
        path: PathBuf,
        #[source]
        source: SchemaError,
    },
    #[error(
        "the label store {} has the classes {store}, not {given} (--classes sets a new \
         store's schema: leave it out, or give the store's)",
        dir.display()
    )]
    ClassesDiffer {
        dir: PathBuf,
        store: String,
        given: String,
    },
    #[error(
        "{}: a new store needs at least two classes, and the labels are {labels} (give \
         --classes to name them all)",
        path.display()
    )]
    TooFewClasses { path: PathBuf, labels: String },
    /// A line of a store file or an import file that cannot be accepted.
    #[error("{}:{line}", path.display())]
    Line {
        path: PathBuf,
        line: usize,
        #[source]
        source: EntryError,
    },
    /// An annotation handed to [`Store::append`] that the store cannot accept.
    #[error(transparent)]
    Entry(#[from] EntryError),
}

/// What is wrong with one entry: a line of a store file or of an import file, or an
/// annotation handed to [`Store::append`].
#[derive(Debug, thiserror::Error)]
pub enum EntryError {
    #[error("not valid JSON")]
    Json(#[source] crate::persist::JsonError),
    #[error("cannot be written as JSON")]
    Serialize(#[source] serde_json::Error),
    #[error("{0}")]
    Malformed(String),
    #[error(transparent)]
    Id(#[from] CorpusError),
    #[error(transparent)]
    Annotator(#[from] AnnotatorError),
    #[error("invalid time `{time}` (expected RFC 3339, e.g. 2024-10-08T09:30:00Z)")]
    Time {
        time: String,
        #[source]
        source: jiff::Error,
    },
    #[error("unknown label `{label}` (the schema has {known})")]
    UnknownLabel { label: String, known: String },
    #[error("unknown paragraph id {id} (not in the store)")]
    UnknownParagraph { id: String },
    #[error("paragraph {id} is a {kind}, not a paragraph to label")]
    NotLabelable { id: String, kind: BlockKind },
    #[error(
        "paragraph id {id} does not match its article and text (edit articles and re-ingest; never edit paragraphs.jsonl)"
    )]
    IdMismatch { id: String },
    #[error("paragraph id {id} appears twice")]
    DuplicateParagraph { id: String },
    #[error(transparent)]
    NothingToRetract(#[from] annotations::NothingToRetract),
}
