//! Helpers for the label store's unit tests.

use jiff::Timestamp;

use super::{Annotation, Annotator, Confidence, Decision, Store};

/// `who`'s decision `label` on the store's paragraph whose text is `text`.
pub(super) fn decision(
    store: &Store,
    text: &str,
    label: &str,
    who: &str,
    confidence: Confidence,
) -> Annotation {
    let id = store
        .paragraphs()
        .iter()
        .find(|p| p.text() == text)
        .unwrap()
        .id()
        .clone();
    Annotation::Decision(Decision::new(
        id,
        store.schema().index_of(label).unwrap(),
        Annotator::new(who).unwrap(),
        confidence,
        Timestamp::UNIX_EPOCH,
    ))
}

/// An error and its causes, joined as `{:#}` would print them.
pub(super) fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}
