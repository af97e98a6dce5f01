//! A labelled corpus into the store (`stance import`): the rows of a CSV, TSV or JSON Lines
//! file ([`crate::import`]) in, imported paragraphs and one annotator's decisions out.
//!
//! One record is one paragraph, its text kept as it is (no heading or byline heuristics).
//! Its group (`--group`, else the file's stem) is its article: an article id is made of the
//! group's name ([`ArticleId::for_group`]), the name kept beside it when it differs, and two
//! names that would share an id are refused. Its id is a content hash of article, the
//! record's own id when the file has one, and text, so re-importing a file changes nothing;
//! a record that repeats an earlier one (same group, id and text) is kept once, and refused
//! if its label or split differ. Its split (`--split`, `--split-column`) is kept with it. A
//! new store's schema is `--classes`, or the labels in first-seen order; a label outside the
//! schema is refused naming file and line. Everything is checked before anything is
//! written, and the paragraphs and decisions are then written together under the store lock
//! ([`Store::import_records`]).
//!
//! This module never reads files itself and never touches the store's files but through
//! [`Store`].

use std::collections::BTreeMap;
use std::path::Path;

use jiff::Timestamp;

use super::annotations::{Annotation, Annotator, Confidence, Decision};
use super::paragraph::{Origin, Paragraph};
use super::schema::{ClassIdx, Schema};
use super::store::Addition;
use super::{EntryError, Store, StoreError};
use crate::corpus::{ArticleId, ParagraphId};
use crate::import::ImportedRow;

/// How rows become paragraphs and decisions.
#[derive(Debug, Clone)]
pub struct CorpusImport {
    /// Whose decisions the labels become.
    pub annotator: Annotator,
    /// Label renamings (`--map FROM=TO`), applied before anything else.
    pub label_map: BTreeMap<String, String>,
    /// A new store's classes, in order (`--classes`); else its labels in first-seen order.
    pub classes: Option<Vec<String>>,
    /// The group of rows without one (`--group` not given): the file's stem.
    pub default_group: String,
    /// The split of rows without one (`--split NAME`).
    pub default_split: Option<String>,
    /// When the decisions are made.
    pub time: Timestamp,
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CorpusImportReport {
    pub records: usize,
    /// Whether the store was created.
    pub created: bool,
    /// Paragraphs added to the store.
    pub added: usize,
    /// Records whose paragraph the store held already.
    pub known: usize,
    /// Records that repeat an earlier record of the file (same group, id and text): kept once.
    pub repeated: usize,
    /// Decisions appended (labels new or changed for the annotator).
    pub appended: usize,
    /// Records whose label the annotator had already.
    pub unchanged: usize,
    /// Records per group name, in first-seen order.
    pub groups: Vec<(String, usize)>,
    /// Records per split (`""` for none).
    pub splits: BTreeMap<String, usize>,
    /// The store's classes after the import.
    pub classes: Vec<String>,
}

/// Imports `rows` (read from `source`) into the store at `dir`, creating it if it has none
/// of a store's files, as one change under the store lock ([`Store::import_records`]). Returns the
/// store as it now is and what was done.
pub fn import_corpus(
    dir: &Path,
    source: &Path,
    rows: Vec<ImportedRow>,
    options: &CorpusImport,
) -> Result<(Store, CorpusImportReport), StoreError> {
    let mapped = |label: &str| -> String {
        options
            .label_map
            .get(label)
            .cloned()
            .unwrap_or_else(|| label.to_owned())
    };
    // A new store's classes: --classes, or the labels in first-seen order with their line.
    let classes: Vec<(String, u64)> = match &options.classes {
        Some(given) => given.iter().map(|class| (class.clone(), 0)).collect(),
        None => {
            let mut classes: Vec<(String, u64)> = Vec::new();
            for row in &rows {
                let label = mapped(&row.label);
                if !classes.iter().any(|(class, _)| *class == label) {
                    classes.push((label, row.line));
                }
            }
            classes
        }
    };
    let (store, created, mut report) = Store::import_records(
        dir,
        || new_schema(source, classes),
        |store| plan(store, source, rows, options, &mapped),
    )?;
    report.created = created;
    report.classes = store
        .schema()
        .classes()
        .iter()
        .map(|class| class.name().to_owned())
        .collect();
    Ok((store, report))
}

/// What importing `rows` adds to `store`, checked record by record; the first record that
/// cannot be accepted is refused naming `source` and its line.
fn plan(
    store: &Store,
    source: &Path,
    rows: Vec<ImportedRow>,
    options: &CorpusImport,
    mapped: &dyn Fn(&str) -> String,
) -> Result<(Addition, CorpusImportReport), StoreError> {
    let at = |line: u64, source_error: EntryError| StoreError::Line {
        path: source.to_path_buf(),
        line: line as usize,
        source: source_error,
    };
    if let Some(classes) = &options.classes {
        let names: Vec<&str> = store.schema().classes().iter().map(|c| c.name()).collect();
        if names != *classes {
            return Err(StoreError::ClassesDiffer {
                dir: store.dir().to_path_buf(),
                store: names.join(","),
                given: classes.join(","),
            });
        }
    }
    let mut report = CorpusImportReport {
        records: rows.len(),
        ..CorpusImportReport::default()
    };

    // Group names by article id, the store's first: two names may not share an id.
    let mut group_of_article: BTreeMap<ArticleId, String> = BTreeMap::new();
    let mut next_position: BTreeMap<ArticleId, usize> = BTreeMap::new();
    for paragraph in store.paragraphs() {
        group_of_article
            .entry(paragraph.article().clone())
            .or_insert_with(|| paragraph.group_name().to_owned());
        let next = next_position
            .entry(paragraph.article().clone())
            .or_insert(0);
        *next = (*next).max(paragraph.position() + 1);
    }

    // Each record's paragraph id, first line and (class, split), to find repeats.
    let mut seen: BTreeMap<ParagraphId, (u64, ClassIdx, Option<String>)> = BTreeMap::new();
    let mut addition = Addition::default();
    let annotator = options.annotator.as_str();
    for row in rows {
        let line = row.line;
        let label = mapped(&row.label);
        let class = store.schema().index_of(&label).ok_or_else(|| {
            at(
                line,
                EntryError::UnknownLabel {
                    label: label.clone(),
                    known: store.schema().names().to_string(),
                },
            )
        })?;
        let group = row.group.unwrap_or_else(|| options.default_group.clone());
        let article = ArticleId::for_group(&group);
        match group_of_article.get(&article) {
            Some(other) if *other != group => {
                return Err(at(
                    line,
                    EntryError::Malformed(format!(
                        "groups `{group}` and `{other}` would both be article `{article}`: rename one"
                    )),
                ));
            }
            Some(_) => {}
            None => {
                group_of_article.insert(article.clone(), group.clone());
            }
        }
        match report.groups.iter_mut().find(|(name, _)| *name == group) {
            Some((_, count)) => *count += 1,
            None => report.groups.push((group.clone(), 1)),
        }
        let split = row.split.or_else(|| options.default_split.clone());
        *report
            .splits
            .entry(split.clone().unwrap_or_default())
            .or_default() += 1;

        let origin = Origin {
            key: row.id,
            group: (article.as_str() != group).then_some(group),
            split: split.clone(),
        };
        let position = next_position.entry(article.clone()).or_insert(0);
        let paragraph = Paragraph::imported(article, origin, *position, row.text);
        let id = paragraph.id().clone();

        if let Some((first, first_class, first_split)) = seen.get(&id) {
            if (*first_class, first_split) != (class, &split) {
                return Err(at(
                    line,
                    EntryError::Malformed(format!(
                        "the same record as line {first} (same group, id and text) with another label or split"
                    )),
                ));
            }
            report.repeated += 1;
            continue;
        }
        seen.insert(id.clone(), (line, class, split.clone()));

        match store.paragraph(&id) {
            Some(stored) => {
                if stored.split() != split.as_deref() {
                    return Err(at(
                        line,
                        EntryError::Malformed(format!(
                            "paragraph {id} is in the store already, in split `{}`, not `{}`: a paragraph is in one split",
                            stored.split().unwrap_or("(none)"),
                            split.as_deref().unwrap_or("(none)")
                        )),
                    ));
                }
                report.known += 1;
            }
            None => {
                *position += 1;
                addition.paragraphs.push(paragraph);
            }
        }
        if store
            .current(annotator, &id)
            .is_some_and(|decision| decision.class() == class)
        {
            report.unchanged += 1;
        } else {
            addition.decisions.push(Annotation::Decision(Decision::new(
                id,
                class,
                options.annotator.clone(),
                Confidence::High,
                options.time,
            )));
        }
    }
    report.added = addition.paragraphs.len();
    report.appended = addition.decisions.len();
    Ok((addition, report))
}

/// A new store's schema: `classes` (from `--classes`, line 0, or the mapped labels in
/// first-seen order with the line of each), each defined as imported from `source`.
fn new_schema(source: &Path, classes: Vec<(String, u64)>) -> Result<Schema, StoreError> {
    for (name, line) in &classes {
        if *line > 0 && !Schema::is_valid_name(name) {
            return Err(StoreError::Line {
                path: source.to_path_buf(),
                line: *line as usize,
                source: EntryError::Malformed(format!(
                    "label `{name}` cannot name a class (lowercase letters, digits, `_`, `-`, \
                     starting with a letter): map it, e.g. --map {name}={}, or give --classes",
                    suggested_name(name)
                )),
            });
        }
    }
    if classes.len() < 2 {
        return Err(StoreError::TooFewClasses {
            path: source.to_path_buf(),
            labels: classes
                .iter()
                .map(|(class, _)| format!("`{class}`"))
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    let file = source.file_name().map_or_else(
        || source.display().to_string(),
        |name| name.to_string_lossy().into_owned(),
    );
    Schema::new(
        classes
            .into_iter()
            .map(|(name, _)| (name, format!("imported from {file}")))
            .collect(),
    )
    .map_err(|source_error| StoreError::Schema {
        path: source.to_path_buf(),
        source: source_error,
    })
}

/// `FAVOR` → `favor`, `Left Wing` → `left_wing`: a valid class name near `label`.
fn suggested_name(label: &str) -> String {
    let mut name: String = label
        .to_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if !name.starts_with(|c: char| c.is_ascii_lowercase()) {
        name.insert(0, 'c');
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::labels::test_support::error_chain;

    fn row(line: u64, text: &str, label: &str) -> ImportedRow {
        ImportedRow {
            line,
            text: text.to_owned(),
            label: label.to_owned(),
            id: None,
            group: None,
            split: Some("train".to_owned()),
        }
    }

    fn options() -> CorpusImport {
        CorpusImport {
            annotator: Annotator::new("annotator-1").unwrap(),
            label_map: BTreeMap::new(),
            classes: None,
            default_group: "file".to_owned(),
            default_split: None,
            time: Timestamp::UNIX_EPOCH,
        }
    }

    fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
        ["schema.toml", "paragraphs.jsonl", "annotations.jsonl"]
            .iter()
            .map(|name| (name.to_string(), std::fs::read(dir.join(name)).unwrap()))
            .collect()
    }

    /// Imports into a store that cannot take the decisions write nothing at all: not the
    /// paragraphs either.
    #[test]
    fn an_import_the_log_cannot_take_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("labels");
        let source = Path::new("first.tsv");
        let rows = vec![row(2, "Unity", "stable"), row(3, "A rift", "fracturing")];
        import_corpus(&store, source, rows, &options()).unwrap();
        let before = files(&store);
        let log = store.join("annotations.jsonl");
        let mut permissions = std::fs::metadata(&log).unwrap().permissions();
        permissions.set_readonly(true);
        std::fs::set_permissions(&log, permissions).unwrap();

        let more = vec![row(2, "Talks", "stable")];
        let err = import_corpus(&store, Path::new("more.tsv"), more, &options()).unwrap_err();
        assert!(
            error_chain(&err).contains("is read-only"),
            "{}",
            error_chain(&err)
        );
        assert_eq!(files(&store), before);
    }

    /// A log whose last line was torn is refused before anything is written.
    #[test]
    fn an_import_into_a_store_with_a_torn_log_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("labels");
        let rows = vec![row(2, "Unity", "stable"), row(3, "A rift", "fracturing")];
        import_corpus(&store, Path::new("first.tsv"), rows, &options()).unwrap();
        let log = store.join("annotations.jsonl");
        let mut bytes = std::fs::read(&log).unwrap();
        bytes.extend_from_slice(b"{\"paragraph\":\"ab");
        std::fs::write(&log, &bytes).unwrap();
        let before = files(&store);

        let more = vec![row(2, "Talks", "stable")];
        let err = import_corpus(&store, Path::new("more.tsv"), more, &options()).unwrap_err();
        assert!(matches!(err, StoreError::TornLine { line: 3, .. }), "{err}");
        assert_eq!(files(&store), before);
    }

    #[test]
    fn too_few_classes_for_a_new_store_are_refused_and_no_directory_is_left() {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("labels");
        let rows = vec![row(2, "Unity", "stable"), row(3, "Calm", "stable")];
        let err = import_corpus(&store, Path::new("one.tsv"), rows, &options()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "one.tsv: a new store needs at least two classes, and the labels are `stable` \
             (give --classes to name them all)"
        );
        assert!(!store.exists());
    }

    #[test]
    fn suggested_names_are_valid_class_names() {
        for (label, expected) in [
            ("FAVOR", "favor"),
            ("Left Wing", "left_wing"),
            ("1st", "c1st"),
            ("pro-choice", "pro-choice"),
        ] {
            assert_eq!(suggested_name(label), expected);
            assert!(Schema::is_valid_name(expected));
        }
    }
}
