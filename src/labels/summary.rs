//! What `stance labels` reports: label counts per article and annotator, agreement
//! between every pair of annotators who labelled the same paragraphs, and the paragraphs
//! on which annotators disagree.

use super::Store;
use super::agreement::{Agreement, cohen_kappa};
use crate::corpus::{ArticleId, ParagraphId};

/// Label counts of one annotator on one article (or on all articles, `article: None`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CountRow {
    pub article: Option<ArticleId>,
    pub annotator: String,
    /// One count per class, in schema order.
    pub per_class: Vec<usize>,
    /// Of those, how many are low-confidence.
    pub low: usize,
    /// Labelable paragraphs of the article this annotator has not labelled.
    pub unlabelled: usize,
}

/// Agreement of two annotators on the paragraphs both labelled (current labels).
#[derive(Debug, Clone, PartialEq)]
pub struct PairAgreement {
    pub first: String,
    pub second: String,
    pub agreement: Agreement,
}

/// A paragraph that two or more annotators labelled differently.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disagreement {
    pub paragraph: ParagraphId,
    /// Each annotator who labelled it (sorted) with their current label.
    pub labels: Vec<(String, String)>,
}

/// The store at a glance.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub articles: usize,
    /// Blocks of every kind.
    pub blocks: usize,
    /// Blocks that are paragraphs to label.
    pub labelable: usize,
    /// Of those, how many no annotator has labelled yet.
    pub unlabelled: usize,
    /// Rows by article (ingest order) then annotator (sorted), then one total row per
    /// annotator.
    pub counts: Vec<CountRow>,
    /// Pairs (sorted) with at least one paragraph in common.
    pub agreements: Vec<PairAgreement>,
    /// Paragraphs whose annotators gave different labels, in store order.
    pub disagreements: Vec<Disagreement>,
}

impl Store {
    pub fn summary(&self) -> Summary {
        let annotators = self.annotators();
        let articles = self.articles();
        let labelable = self
            .paragraphs()
            .iter()
            .filter(|p| p.is_labelable())
            .count();
        let mut counts = Vec::new();
        let mut totals: Vec<CountRow> = annotators
            .iter()
            .map(|annotator| CountRow {
                article: None,
                annotator: (*annotator).to_owned(),
                per_class: vec![0; self.schema().len()],
                low: 0,
                unlabelled: labelable,
            })
            .collect();
        let labelled: Vec<_> = annotators.iter().map(|a| self.labelled(a)).collect();
        for article in &articles {
            let in_article = self
                .paragraphs()
                .iter()
                .filter(|p| p.is_labelable() && p.article() == *article)
                .count();
            for ((annotator, total), labelled) in annotators.iter().zip(&mut totals).zip(&labelled)
            {
                let mut row = CountRow {
                    article: Some((*article).clone()),
                    annotator: (*annotator).to_owned(),
                    per_class: vec![0; self.schema().len()],
                    low: 0,
                    unlabelled: in_article,
                };
                for labelled in labelled.iter().filter(|l| l.article() == *article) {
                    row.per_class[labelled.class().index()] += 1;
                    total.per_class[labelled.class().index()] += 1;
                    if labelled.low_confidence() {
                        row.low += 1;
                        total.low += 1;
                    }
                    row.unlabelled -= 1;
                    total.unlabelled -= 1;
                }
                counts.push(row);
            }
        }
        counts.extend(totals);

        let mut agreements = Vec::new();
        for (i, first) in annotators.iter().enumerate() {
            for second in &annotators[i + 1..] {
                let (mut a, mut b) = (Vec::new(), Vec::new());
                for paragraph in self.paragraphs().iter().filter(|p| p.is_labelable()) {
                    let pair = (
                        self.current(first, paragraph.id()),
                        self.current(second, paragraph.id()),
                    );
                    if let (Some(x), Some(y)) = pair {
                        a.push(x.class().index());
                        b.push(y.class().index());
                    }
                }
                // No overlap means nothing to compare, not an error.
                if let Ok(agreement) = cohen_kappa(&a, &b) {
                    agreements.push(PairAgreement {
                        first: (*first).to_owned(),
                        second: (*second).to_owned(),
                        agreement,
                    });
                }
            }
        }

        let mut disagreements = Vec::new();
        for paragraph in self.paragraphs().iter().filter(|p| p.is_labelable()) {
            let labels: Vec<(String, String)> = annotators
                .iter()
                .filter_map(|annotator| {
                    let decision = self.current(annotator, paragraph.id())?;
                    let label = self.schema().class(decision.class()).name();
                    Some(((*annotator).to_owned(), label.to_owned()))
                })
                .collect();
            if labels.iter().any(|(_, label)| *label != labels[0].1) {
                disagreements.push(Disagreement {
                    paragraph: paragraph.id().clone(),
                    labels,
                });
            }
        }

        let unlabelled = self
            .paragraphs()
            .iter()
            .filter(|p| p.is_labelable())
            .filter(|p| annotators.iter().all(|a| self.current(a, p.id()).is_none()))
            .count();
        Summary {
            articles: articles.len(),
            blocks: self.paragraphs().len(),
            labelable,
            unlabelled,
            counts,
            agreements,
            disagreements,
        }
    }
}

#[cfg(test)]
mod tests {

    use super::*;
    use crate::corpus::Article;
    use crate::labels::Confidence;

    #[test]
    fn counts_and_agreement_on_a_tiny_store() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open_or_create(&dir.path().join("labels")).unwrap();
        let articles = [
            Article::new(ArticleId::new("a").unwrap(), "A1.\nA2.\nHead".into()).unwrap(),
            Article::new(ArticleId::new("b").unwrap(), "B1.\nB2.".into()).unwrap(),
        ];
        store.ingest(&articles).unwrap();
        let decide = |text: &str, label: &str, who: &str, confidence| {
            crate::labels::test_support::decision(&store, text, label, who, confidence)
        };
        let decisions = [
            decide("A1.", "fracturing", "x", Confidence::Low),
            decide("A2.", "stable", "x", Confidence::High),
            decide("B1.", "stable", "x", Confidence::High),
            decide("A1.", "fracturing", "y", Confidence::High),
            decide("A2.", "fracturing", "y", Confidence::High),
            decide("B1.", "stable", "y", Confidence::High),
            decide("B2.", "neither", "y", Confidence::High),
        ];
        store.append(&decisions).unwrap();

        let summary = store.summary();
        assert_eq!(
            (summary.articles, summary.blocks, summary.labelable),
            (2, 5, 4)
        );
        // article annotator per-class low unlabelled
        let rows: Vec<String> = summary
            .counts
            .iter()
            .map(|r| {
                let article = r.article.as_ref().map_or("all", ArticleId::as_str);
                let per_class = &r.per_class;
                format!(
                    "{article} {} {per_class:?} {} {}",
                    r.annotator, r.low, r.unlabelled
                )
            })
            .collect();
        assert_eq!(
            rows,
            [
                "a x [1, 1, 0] 1 0",
                "a y [2, 0, 0] 0 0",
                "b x [0, 1, 0] 0 1",
                "b y [0, 1, 1] 0 0",
                "all x [1, 2, 0] 1 1",
                "all y [2, 1, 1] 0 0",
            ]
        );
        // Overlap A1, A2, B1: x = [f, s, s], y = [f, f, s]; p_o = 2/3;
        // marginals f (1, 2), s (2, 1): p_e = (2 + 2)/9 = 4/9; κ = (2/3 − 4/9)/(5/9) = 2/5.
        assert_eq!(summary.agreements.len(), 1);
        let pair = &summary.agreements[0];
        assert_eq!((pair.first.as_str(), pair.second.as_str()), ("x", "y"));
        assert_eq!(pair.agreement.items(), 3);
        assert!((pair.agreement.kappa().unwrap() - 0.4).abs() < 1e-12);
        // x and y differ on A2 only.
        let disagreements: Vec<(String, Vec<(String, String)>)> = summary
            .disagreements
            .iter()
            .map(|d| (d.paragraph.as_str().to_owned(), d.labels.clone()))
            .collect();
        let a2 = decisions[1].paragraph().as_str().to_owned();
        let pair = |who: &str, label: &str| (who.to_owned(), label.to_owned());
        assert_eq!(
            disagreements,
            [(a2, vec![pair("x", "stable"), pair("y", "fracturing")])]
        );
    }
}
