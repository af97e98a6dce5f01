//! Importing labels from a file, in one of two formats told apart by the first line that is
//! not blank or a `#` comment:
//!
//! - TSV: `paragraph_id<TAB>label[<TAB>low|high[<TAB>note]]`;
//! - JSON Lines (the first such line starts with `{`): lines of the labelling queue
//!   (`stance label --queue`) with a `label` added, and optionally `confidence` and `note`;
//!   the `order` and `shown` they carry go into the decisions. A line's `article` and `text`,
//!   when present, must be the paragraph's, so a label cannot land on another paragraph.
//!
//! `#` comments and blank lines are allowed. Every line is checked before anything is
//! written (unknown id, heading or byline, unknown label, malformed line: the error names
//! file and line); then the decisions are appended in one write. A line that would not
//! change the annotator's current label is not appended again, so importing the same file
//! twice adds nothing.

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
        let json_lines = lines()
            .next()
            .is_some_and(|(_, line)| line.trim_start().starts_with('{'));

        let mut decisions = Vec::new();
        for (number, line) in lines() {
            let decision = if json_lines {
                self.parse_answer_line(line, annotator, time)
            } else {
                self.parse_import_line(line, annotator, time)
            };
            decisions.push(decision.map_err(|source| StoreError::Line {
                path: path.to_path_buf(),
                line: number,
                source,
            })?);
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
        annotator: &Annotator,
        time: Timestamp,
    ) -> Result<Decision, EntryError> {
        let fields: Vec<&str> = line.split('\t').map(str::trim).collect();
        let (id, label, confidence, note) = match fields.as_slice() {
            [id, label] => (*id, *label, "high", None),
            [id, label, confidence] => (*id, *label, *confidence, None),
            [id, label, confidence, note] => (*id, *label, *confidence, Some(*note)),
            _ => {
                return Err(EntryError::Malformed(format!(
                    "expected `paragraph_id<TAB>label[<TAB>low]`, found {} tab-separated field{}",
                    fields.len(),
                    if fields.len() == 1 { "" } else { "s" }
                )));
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
                    "third field must be `low` (or `high`), not `{other}`"
                )));
            }
        };
        Ok(
            Decision::new(id, class, annotator.clone(), confidence, time)
                .with_note(note.map(str::to_owned)),
        )
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
        check("{one}\tstable\n{one}\tstable\n{one}\tneither\n", Ok((2, 1)));
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
            Err(":1: expected `paragraph_id<TAB>label[<TAB>low]`, found 1 tab-separated field"),
        );
        check(
            "{one}\tstable\tmaybe\n",
            Err(":1: third field must be `low` (or `high`), not `maybe`"),
        );
    }
}
