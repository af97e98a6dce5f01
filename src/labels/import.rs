//! Importing labels from a file, in one of two formats told apart by the first line that is
//! not blank or a `#` comment:
//!
//! - TSV: `paragraph_id<TAB>label[<TAB>low|high[<TAB>note]]`, or columns named by a header
//!   line holding `id` (or `paragraph_id`) and `label`, and optionally `confidence` and
//!   `note`; other columns are ignored, so `stance labels export`'s output imports as it is;
//! - JSON Lines (the first such line starts with `{`): lines of the labelling queue
//!   (`stance label --queue`) with a `label` added, and optionally `confidence` and `note`;
//!   the `order` and `shown` they carry go into the decisions. A line's `article` and `text`,
//!   when present, must be the paragraph's, so a label cannot land on another paragraph.
//!
//! `#` comments and blank lines are allowed. Every line is checked before anything is
//! written (unknown id, heading or byline, unknown label, malformed line, a paragraph given
//! two different labels in one file: the error names file and line); then the decisions are
//! appended in one write. A line that would not change the annotator's current label is not
//! appended again, so importing the same file twice adds nothing.

use std::collections::BTreeMap;
use std::path::Path;

use jiff::Timestamp;

use super::annotations::{Annotation, Annotator, Confidence, Decision, Offered};
use super::records::{self, resolve_label};
use super::{EntryError, Store, StoreError};
use crate::corpus::ParagraphId;

/// What an import did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImportReport {
    /// Decisions written to the log.
    pub appended: usize,
    /// Lines that matched the current label already.
    pub unchanged: usize,
}

impl Store {
    /// Imports `path`'s labels as `annotator`'s decisions, all stamped `time`.
    pub fn import(
        &mut self,
        path: &Path,
        annotator: &Annotator,
        time: Timestamp,
    ) -> Result<ImportReport, StoreError> {
        let text = super::store::read_utf8(path)?;
        let lines = || {
            text.split('\n')
                .enumerate()
                .map(|(i, line)| (i + 1, line.strip_suffix('\r').unwrap_or(line)))
                .filter(|(_, line)| !line.trim().is_empty() && !line.trim_start().starts_with('#'))
        };
        let first = lines().next().map(|(_, line)| line);
        let json_lines = first.is_some_and(|line| line.trim_start().starts_with('{'));
        let header = first.and_then(Columns::of_header).filter(|_| !json_lines);
        let columns = header.clone().unwrap_or(Columns::POSITIONAL);

        let mut decisions = Vec::new();
        // Where each paragraph was labelled first, and how: one file gives one label each.
        let mut given: BTreeMap<ParagraphId, (usize, Decision)> = BTreeMap::new();
        for (number, line) in lines().skip(usize::from(header.is_some())) {
            let decision = if json_lines {
                self.parse_answer_line(line, annotator, time)
            } else {
                self.parse_import_line(line, &columns, annotator, time)
            };
            let line_error = |source| StoreError::Line {
                path: path.to_path_buf(),
                line: number,
                source,
            };
            let decision = decision.map_err(line_error)?;
            if let Some((earlier, other)) = given.get(decision.paragraph()) {
                if !same_label(other, &decision) {
                    let name = |d: &Decision| self.schema().class(d.class()).name().to_owned();
                    let how = if decision.class() == other.class() {
                        format!(
                            "is labelled `{}` here and on line {earlier}, with another \
                             confidence or note",
                            name(&decision)
                        )
                    } else {
                        format!(
                            "is labelled `{}` here and `{}` on line {earlier}",
                            name(&decision),
                            name(other)
                        )
                    };
                    return Err(line_error(EntryError::Malformed(format!(
                        "paragraph {} {how}: an import gives each paragraph one label (keep \
                         one line, or import each annotator's labels separately)",
                        decision.paragraph(),
                    ))));
                }
            } else {
                given.insert(decision.paragraph().clone(), (number, decision.clone()));
            }
            decisions.push(decision);
        }

        // Compare each line with the label it would replace, earlier lines included.
        let mut current: BTreeMap<ParagraphId, (usize, Confidence, Option<String>)> =
            BTreeMap::new();
        let mut unchanged = 0;
        let mut fresh = Vec::new();
        for decision in decisions {
            let key = (
                decision.class().index(),
                decision.confidence(),
                decision.note().map(str::to_owned),
            );
            let before = current.get(decision.paragraph()).cloned().or_else(|| {
                self.current(annotator.as_str(), decision.paragraph())
                    .map(|d| {
                        (
                            d.class().index(),
                            d.confidence(),
                            d.note().map(str::to_owned),
                        )
                    })
            });
            if before.as_ref() == Some(&key) {
                unchanged += 1;
                continue;
            }
            current.insert(decision.paragraph().clone(), key);
            fresh.push(Annotation::Decision(decision));
        }
        self.append(&fresh)?;
        Ok(ImportReport {
            appended: fresh.len(),
            unchanged,
        })
    }

    /// A line of the labelling queue with its answer.
    fn parse_answer_line(
        &self,
        line: &str,
        annotator: &Annotator,
        time: Timestamp,
    ) -> Result<Decision, EntryError> {
        let answer = records::parse_answer(line, self.schema())?;
        let paragraph = self.check_labelable(&answer.id)?;
        if let Some(article) = &answer.article
            && article != paragraph.article().as_str()
        {
            return Err(EntryError::Malformed(format!(
                "paragraph {} is in article `{}`, not `{article}`",
                answer.id,
                paragraph.article()
            )));
        }
        if answer
            .text
            .as_deref()
            .is_some_and(|text| text != paragraph.text())
        {
            return Err(EntryError::Malformed(format!(
                "the text given for paragraph {} is not the store's text of that paragraph",
                answer.id
            )));
        }
        Ok(Decision::new(
            answer.id,
            answer.class,
            annotator.clone(),
            answer.confidence,
            time,
        )
        .with_note(answer.note)
        .with_offered(answer.offered))
    }

    /// The labelling queue's lines for `offers` (paragraphs of this store to label, in order),
    /// each with its newline; ids not in the store are left out.
    pub fn queue_lines(&self, offers: &[(ParagraphId, Offered)]) -> Result<String, StoreError> {
        offers
            .iter()
            .filter_map(|(id, offered)| {
                let paragraph = self.paragraph(id)?;
                Some(records::queue_line(paragraph, offered).map_err(StoreError::Entry))
            })
            .collect()
    }

    fn parse_import_line(
        &self,
        line: &str,
        columns: &Columns,
        annotator: &Annotator,
        time: Timestamp,
    ) -> Result<Decision, EntryError> {
        let fields: Vec<&str> = line.split('\t').map(str::trim).collect();
        let (id, label, confidence, note) = if columns.named {
            if fields.len() < columns.needed() {
                return Err(EntryError::Malformed(format!(
                    "the header names {} columns, this line has {}",
                    columns.needed(),
                    fields.len()
                )));
            }
            let field = |column: Option<usize>| column.map(|i| fields[i]);
            (
                fields[columns.id],
                fields[columns.label],
                field(columns.confidence).unwrap_or("high"),
                field(columns.note).filter(|note| !note.is_empty()),
            )
        } else {
            match fields.as_slice() {
                [id, label] => (*id, *label, "high", None),
                [id, label, confidence] => (*id, *label, *confidence, None),
                [id, label, confidence, note] => (*id, *label, *confidence, Some(*note)),
                _ => {
                    return Err(EntryError::Malformed(format!(
                        "expected `paragraph_id<TAB>label[<TAB>low]` (or a header line naming \
                         `id` and `label` columns), found {} tab-separated field{}",
                        fields.len(),
                        if fields.len() == 1 { "" } else { "s" }
                    )));
                }
            }
        };
        let id = ParagraphId::parse(id)?;
        self.check_labelable(&id)?;
        let class = resolve_label(self.schema(), label)?;
        let confidence = match confidence {
            "" | "high" => Confidence::High,
            "low" => Confidence::Low,
            other => {
                return Err(EntryError::Malformed(format!(
                    "the confidence must be `low` (or `high`), not `{other}`"
                )));
            }
        };
        Ok(
            Decision::new(id, class, annotator.clone(), confidence, time)
                .with_note(note.map(str::to_owned)),
        )
    }
}

/// Whether two decisions on one paragraph say the same.
fn same_label(a: &Decision, b: &Decision) -> bool {
    a.class() == b.class() && a.confidence() == b.confidence() && a.note() == b.note()
}

/// Where a TSV import's fields are.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Columns {
    id: usize,
    label: usize,
    confidence: Option<usize>,
    note: Option<usize>,
    /// Named by a header (rows need every named column), or by position.
    named: bool,
}

impl Columns {
    const POSITIONAL: Columns = Columns {
        id: 0,
        label: 1,
        confidence: Some(2),
        note: Some(3),
        named: false,
    };

    /// The columns a header line names: it has a `label` column and an `id` (or
    /// `paragraph_id`, `paragraph`) column. Any other line is not a header.
    fn of_header(line: &str) -> Option<Columns> {
        let names: Vec<String> = line
            .split('\t')
            .map(|name| name.trim().to_ascii_lowercase())
            .collect();
        let find = |wanted: &[&str]| {
            names
                .iter()
                .position(|name| wanted.contains(&name.as_str()))
        };
        Some(Columns {
            id: find(&["id", "paragraph_id", "paragraph"])?,
            label: find(&["label"])?,
            confidence: find(&["confidence"]),
            note: find(&["note"]),
            named: true,
        })
    }

    /// Fields a row needs.
    fn needed(&self) -> usize {
        [Some(self.id), Some(self.label), self.confidence, self.note]
            .into_iter()
            .flatten()
            .max()
            .map_or(0, |last| last + 1)
    }
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;
    use crate::corpus::{Article, ArticleId};

    fn setup(tsv: &str) -> (tempfile::TempDir, Store, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open_or_create(&dir.path().join("labels")).unwrap();
        let article =
            Article::new(ArticleId::new("a").unwrap(), "Title\nOne.\nTwo.".to_owned()).unwrap();
        store.ingest(&[article]).unwrap();
        let path = dir.path().join("import.tsv");
        let tsv = tsv
            .replace("{one}", store.paragraphs()[1].id().as_str())
            .replace("{two}", store.paragraphs()[2].id().as_str())
            .replace("{title}", store.paragraphs()[0].id().as_str());
        fs::write(&path, tsv).unwrap();
        (dir, store, path)
    }

    /// Imports `tsv` ({one}, {two}, {title} stand for ids) and compares the outcome.
    fn check(tsv: &str, expected: Result<(usize, usize), &str>) {
        let (_dir, mut store, path) = setup(tsv);
        let annotator = Annotator::new("x").unwrap();
        let got = store.import(&path, &annotator, Timestamp::UNIX_EPOCH);
        match (got, expected) {
            (Ok(report), Ok((appended, unchanged))) => {
                assert_eq!((report.appended, report.unchanged), (appended, unchanged));
            }
            (Err(err), Err(message)) => {
                let message = &message.replace("{one}", store.paragraphs()[1].id().as_str());
                let got = crate::labels::test_support::error_chain(&err);
                assert!(got.ends_with(message), "got {got:?}, want …{message:?}");
                assert_eq!(fs::read(store.annotations_path()).unwrap(), b"");
            }
            (got, expected) => panic!("got {got:?}, expected {expected:?}"),
        }
    }

    #[test]
    fn imports_labels_with_comments_and_confidence() {
        check(
            "# id\tlabel\n{one}\tstable\n\n{two}\tfracturing\tlow\tquoted expert\r\n",
            Ok((2, 0)),
        );
    }

    #[test]
    fn repeated_lines_are_not_appended_twice() {
        check("{one}\tstable\n{one}\tstable\n{two}\tneither\n", Ok((2, 1)));
    }

    #[test]
    fn a_paragraph_given_two_labels_in_one_file_is_refused() {
        check(
            "{one}\tstable\n{two}\tneither\n{one}\tfracturing\n",
            Err(
                ":3: paragraph {one} is labelled `fracturing` here and `stable` on line 1: an import gives each paragraph one label (keep one line, or import each annotator's labels separately)",
            ),
        );
    }

    #[test]
    fn columns_are_found_by_the_names_of_a_header() {
        // `stance labels export`'s own columns, with a text holding a tab-free sentence.
        check(
            "id\tarticle\tlabel\tconfidence\tannotator\ttext\tnote\n\
             {one}\ta\tstable\thigh\tann\tOne.\t\n\
             {two}\ta\tneither\tlow\tann\tTwo.\thedged\n",
            Ok((2, 0)),
        );
        check("label\tparagraph_id\nstable\t{one}\n", Ok((1, 0)));
        check(
            "id\tarticle\tlabel\tconfidence\n{one}\ta\tstable\n",
            Err(":2: the header names 4 columns, this line has 3"),
        );
    }

    #[test]
    fn every_bad_line_is_named_and_nothing_is_written() {
        check(
            "{one}\tstable\n{two}\tmaybe\n",
            Err(":2: unknown label `maybe` (the schema has fracturing, stable, neither)"),
        );
        check(
            "{one}\tstable\nffffffffffff\tstable\n",
            Err(":2: unknown paragraph id ffffffffffff (not in the store)"),
        );
        check(
            "{title}\tneither\n",
            Err(" is a heading, not a paragraph to label"),
        );
        check(
            "{one} stable\n",
            Err(
                ":1: expected `paragraph_id<TAB>label[<TAB>low]` (or a header line naming `id` and `label` columns), found 1 tab-separated field",
            ),
        );
        check(
            "{one}\tstable\tmaybe\n",
            Err(":1: the confidence must be `low` (or `high`), not `maybe`"),
        );
    }
}
