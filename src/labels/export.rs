//! `stance labels export`: the current labels as TSV, one row per labelled paragraph and
//! annotator, in store order then by annotator:
//! `id article label confidence annotator text note`, with a header line, so that the file
//! imports back with `stance label --import` (columns by name). Fields never hold tabs or line
//! breaks: texts are normalised on ingest, names are checked, and a note's tabs and line
//! breaks are written as spaces (the note itself stays as it was in `annotations.jsonl`).

use std::io::{self, Write};

use super::Store;

impl Store {
    /// Write every annotator's current labels as TSV to `out`.
    pub fn export_tsv(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(out, "id\tarticle\tlabel\tconfidence\tannotator\ttext\tnote")?;
        let annotators = self.annotators();
        let labelled: Vec<_> = annotators.iter().map(|a| self.labelled(a)).collect();
        // Each list is in store order: merge them paragraph by paragraph.
        let mut next = vec![0; annotators.len()];
        for paragraph in self.paragraphs() {
            for ((annotator, labels), at) in annotators.iter().zip(&labelled).zip(&mut next) {
                let Some(label) = labels.get(*at).filter(|l| l.id() == paragraph.id()) else {
                    continue;
                };
                *at += 1;
                writeln!(
                    out,
                    "{}\t{}\t{}\t{}\t{annotator}\t{}\t{}",
                    label.id(),
                    label.article(),
                    label.label(),
                    label.confidence(),
                    label.text(),
                    one_line(label.note().unwrap_or(""))
                )?;
            }
        }
        Ok(())
    }
}

/// `note` with its tabs and line breaks as spaces: one TSV field.
fn one_line(note: &str) -> String {
    note.replace(['\t', '\n', '\r'], " ")
}

#[cfg(test)]
mod tests {
    use crate::corpus::{Article, ArticleId};
    use crate::labels::test_support::decision;
    use crate::labels::{Annotation, Confidence, Store};

    #[test]
    fn rows_follow_the_store_then_the_annotators() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open_or_create(&dir.path().join("labels")).unwrap();
        let articles = [
            Article::new(ArticleId::new("a").unwrap(), "A1.\nA2.\nHead".into()).unwrap(),
            Article::new(ArticleId::new("b").unwrap(), "B1.".into()).unwrap(),
        ];
        store.ingest(&articles).unwrap();
        let noted = |annotation: Annotation, note: &str| match annotation {
            Annotation::Decision(d) => Annotation::Decision(d.with_note(Some(note.to_owned()))),
            other => other,
        };
        let decisions = [
            noted(
                decision(&store, "B1.", "stable", "y", Confidence::High),
                "Beijing's\tvoice",
            ),
            decision(&store, "A2.", "neither", "x", Confidence::Low),
            decision(&store, "A2.", "fracturing", "y", Confidence::High),
        ];
        store.append(&decisions).unwrap();
        let id = |text: &str| {
            let paragraph = store.paragraphs().iter().find(|p| p.text() == text);
            paragraph.unwrap().id().to_string()
        };
        let mut out = Vec::new();
        store.export_tsv(&mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            format!(
                "id\tarticle\tlabel\tconfidence\tannotator\ttext\tnote\n\
                 {a2}\ta\tneither\tlow\tx\tA2.\t\n\
                 {a2}\ta\tfracturing\thigh\ty\tA2.\t\n\
                 {b1}\tb\tstable\thigh\ty\tB1.\tBeijing's voice\n",
                a2 = id("A2."),
                b1 = id("B1.")
            )
        );
    }
}
