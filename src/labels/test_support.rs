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

/// A record of [`imported_store`]: group, key, text, label (of the default schema) and split.
pub(crate) type Row<'a> = (&'a str, &'a str, &'a str, &'a str, &'a str);

/// A store at `dir` (default schema) holding `rows` as imported paragraphs, each labelled by
/// `annotator-1`: what `stance import` of such a file makes, written directly.
pub(crate) fn imported_store(dir: &std::path::Path, rows: &[Row<'_>]) -> Store {
    use crate::corpus::ArticleId;
    use crate::labels::{Origin, Paragraph};
    let mut store = Store::open_or_create(dir).unwrap();
    let mut body = String::new();
    let mut positions = std::collections::BTreeMap::new();
    let paragraphs: Vec<Paragraph> = rows
        .iter()
        .map(|&(group, key, text, _, split)| {
            let position = positions.entry(group).or_insert(0);
            let paragraph = Paragraph::imported(
                ArticleId::for_group(group),
                Origin {
                    key: Some(key.to_owned()),
                    group: (ArticleId::for_group(group).as_str() != group)
                        .then(|| group.to_owned()),
                    split: Some(split.to_owned()),
                },
                *position,
                text.to_owned(),
            );
            *position += 1;
            paragraph
        })
        .collect();
    for paragraph in &paragraphs {
        body.push_str(&super::records::paragraph_line(paragraph).unwrap());
    }
    std::fs::write(dir.join("paragraphs.jsonl"), body).unwrap();
    store = Store::open(store.dir()).unwrap();
    let decisions: Vec<Annotation> = paragraphs
        .iter()
        .zip(rows)
        .map(|(paragraph, &(_, _, _, label, _))| {
            Annotation::Decision(Decision::new(
                paragraph.id().clone(),
                store.schema().index_of(label).unwrap(),
                Annotator::new("annotator-1").unwrap(),
                Confidence::High,
                Timestamp::UNIX_EPOCH,
            ))
        })
        .collect();
    store.append(&decisions).unwrap();
    store
}
