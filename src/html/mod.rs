//! The report a person reads: records, and what the caller gathered beside them (paragraph
//! texts, each class's top terms), in; one self-contained HTML page out, as a `String`.
//!
//! The page has inline CSS and inline SVG, no script and no external resource, so it opens
//! from disk in any browser and prints. `plot` draws every figure with plotters' SVG backend
//! (each with a title, axis labels, a text alternative and its n); `page` writes the HTML
//! around them (`text` escapes it); `derive` computes what a figure needs beyond the record
//! (histogram bins, reliability bins, the most confident mistakes). Colours are Okabe and
//! Ito's, which colour-blind readers can tell apart.
//!
//! Pure: no I/O, no clock, nothing random, no `HashMap` order: the same inputs give the same
//! bytes. Running experiments and reading labels is the caller's job.

mod derive;
mod page;
mod plot;
mod text;

pub use page::render;

use std::collections::BTreeMap;

use crate::record::Record;

/// One experiment's record and what the page shows beside it.
#[derive(Debug, Clone, Copy)]
pub struct ExperimentInputs<'a> {
    pub record: &'a Record,
    /// The experiment's labelled paragraphs by id, to quote the ones the model gets wrong.
    /// A paragraph missing here is shown by its id alone.
    pub paragraphs: &'a BTreeMap<String, ParagraphText>,
    /// The terms that carry each class, in the record's class order; `None` leaves them out.
    pub terms: Option<&'a [ClassTerms]>,
}

/// A labelled paragraph as the page quotes it.
#[derive(Debug, Clone, PartialEq)]
pub struct ParagraphText {
    pub article: String,
    pub text: String,
}

/// The terms with the largest weight toward one class, fitted on all of the experiment's
/// labels, largest first.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassTerms {
    pub class: String,
    pub terms: Vec<TermBar>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TermBar {
    pub term: String,
    /// The weight toward the class (positive).
    pub weight: f64,
    /// Training paragraphs containing the term.
    pub document_frequency: u64,
    /// How the weight's sign held across the cross-validation folds, when they were fitted.
    pub stability: Option<Stability>,
}

/// Of `folds` fits on training folds: how many gave the term the same sign, the opposite
/// sign (noise), or no weight at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stability {
    pub folds: usize,
    pub same_sign: usize,
    pub flipped: usize,
    pub absent: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum HtmlError {
    #[error("no records to report")]
    Empty,
    #[error("drawing {figure}: {message}")]
    Draw { figure: String, message: String },
}

#[cfg(test)]
mod tests;
