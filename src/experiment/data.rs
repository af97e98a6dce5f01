//! The labelled paragraphs an experiment uses: a label store and a `[data]` table in, a
//! [`Dataset`] of texts, class indices and article groups out.
//!
//! Selection only leaves paragraphs out (other classes, other annotators, low confidence if
//! asked); it never changes the store. Several annotators' labels become one by the
//! `combine` rule, and what it left out is counted ([`Combined`]). The order is the store's,
//! so folds, predictions and the data hash are the same on every machine.

use std::collections::BTreeMap;

use crate::labels::{Paragraph, Store, StoreError};

use super::config::{Combine, DataConfig};
use crate::persist::hex_sha256;

#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("class `{class}` is not in the label store's schema (it has: {known})")]
    UnknownClass { class: String, known: String },
    #[error("annotator `{annotator}` has no labels in {store}; {known}", store = store.display())]
    UnknownAnnotator {
        annotator: String,
        /// Who has: "labels by: a, b", or "it has no labels yet".
        known: String,
        store: std::path::PathBuf,
    },
    #[error("group `{group}` is not in the label store (it has: {known})")]
    UnknownGroup { group: String, known: String },
    #[error("split `{split}` has no labelled paragraphs of these classes by `{annotator}` in {store}", store = store.display())]
    EmptySplit {
        split: String,
        annotator: String,
        store: std::path::PathBuf,
    },
    #[error("class `{class}` has no labels by `{annotator}`{low} in {store}", store = store.display())]
    EmptyClass {
        class: String,
        annotator: String,
        low: &'static str,
        store: std::path::PathBuf,
    },
}

/// One labelled paragraph, with its class as an index into [`Dataset::classes`].
#[derive(Debug, Clone)]
pub struct Item {
    pub id: String,
    pub article: usize,
    pub text: String,
    pub class: usize,
    pub low_confidence: bool,
    /// The split it was imported into, if any.
    pub split: Option<String>,
}

/// The paragraphs of one experiment, in store order.
#[derive(Debug, Clone)]
pub struct Dataset {
    classes: Vec<String>,
    articles: Vec<String>,
    items: Vec<Item>,
    combined: Option<Combined>,
}

/// How several annotators' labels were made one, and what that left out: paragraphs of the
/// selected groups and splits that at least one of them gave a class of the experiment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Combined {
    pub annotators: Vec<String>,
    pub rule: Combine,
    /// Majority: no label had more than half of the votes (a tie).
    pub ties: usize,
    /// Unanimous: labelled by all, not alike.
    pub disagreements: usize,
    /// Unanimous: not labelled by every annotator.
    pub not_labelled_by_all: usize,
}

impl Combined {
    /// The paragraphs left out, by reason (the rule's reasons only, zero counts included).
    pub fn left_out(&self) -> Vec<(&'static str, usize)> {
        match self.rule {
            Combine::Majority => vec![("tie", self.ties)],
            Combine::Unanimous => vec![
                ("disagreement", self.disagreements),
                ("not_labelled_by_all", self.not_labelled_by_all),
            ],
        }
    }
}

/// A paragraph's label after combining, or why it has none.
enum Outcome<'s> {
    Label { label: &'s str, low: bool },
    Tie,
    Disagreement,
    NotLabelledByAll,
}

/// One annotator's vote on a paragraph: its label and whether it is low-confidence.
type Vote<'s> = (&'s str, bool);

/// `votes` (from the annotators who labelled the paragraph, of `n_annotators`) made one.
fn combine<'s>(rule: Combine, votes: &[Vote<'s>], n_annotators: usize) -> Outcome<'s> {
    // Labels in first-vote order with their counts: no map order reaches the result.
    let mut tally: Vec<(&str, usize, bool)> = Vec::new();
    for &(label, low) in votes {
        match tally.iter_mut().find(|(l, _, _)| *l == label) {
            Some((_, count, any_low)) => {
                *count += 1;
                *any_low |= low;
            }
            None => tally.push((label, 1, low)),
        }
    }
    match rule {
        Combine::Majority => tally
            .iter()
            .find(|(_, count, _)| 2 * count > votes.len())
            .map_or(Outcome::Tie, |&(label, _, low)| Outcome::Label {
                label,
                low,
            }),
        Combine::Unanimous if votes.len() < n_annotators => Outcome::NotLabelledByAll,
        Combine::Unanimous => match tally[..] {
            [(label, _, low)] => Outcome::Label { label, low },
            _ => Outcome::Disagreement,
        },
    }
}

impl Dataset {
    /// Open the store named by `spec` and select its paragraphs.
    pub fn load(spec: &DataConfig) -> Result<Dataset, DataError> {
        let store = Store::open(spec.store())?;
        Dataset::select(&store, spec)
    }

    pub fn select(store: &Store, spec: &DataConfig) -> Result<Dataset, DataError> {
        let schema = store.schema();
        for class in spec.classes() {
            if schema.index_of(class).is_none() {
                let known: Vec<&str> = schema.classes().iter().map(|c| c.name()).collect();
                return Err(DataError::UnknownClass {
                    class: class.clone(),
                    known: known.join(", "),
                });
            }
        }
        let annotators = store.annotators();
        for annotator in spec.annotators() {
            if !annotators.contains(&annotator.as_str()) {
                return Err(DataError::UnknownAnnotator {
                    annotator: annotator.to_owned(),
                    known: if annotators.is_empty() {
                        "it has no labels yet".to_owned()
                    } else {
                        format!("labels by: {}", annotators.join(", "))
                    },
                    store: spec.store().to_owned(),
                });
            }
        }
        // Groups by the name an import gave them, or by article id.
        let known_groups: BTreeMap<&str, &str> = store
            .paragraphs()
            .iter()
            .flat_map(|p| {
                [
                    (p.group_name(), p.article().as_str()),
                    (p.article().as_str(), p.article().as_str()),
                ]
            })
            .collect();
        let mut wanted_articles = std::collections::BTreeSet::new();
        for group in spec.groups() {
            match known_groups.get(group.as_str()) {
                Some(article) => {
                    wanted_articles.insert(*article);
                }
                None => {
                    let mut names: Vec<&str> =
                        store.paragraphs().iter().map(|p| p.group_name()).collect();
                    names.sort_unstable();
                    names.dedup();
                    return Err(DataError::UnknownGroup {
                        group: group.clone(),
                        known: names.join(", "),
                    });
                }
            }
        }
        let in_splits = |split: Option<&str>| match spec.split() {
            None => true,
            Some(wanted) => {
                split == Some(wanted) || (split.is_some() && split == spec.test_split())
            }
        };
        let mut articles: Vec<String> = Vec::new();
        let mut article_index: BTreeMap<String, usize> = BTreeMap::new();
        let mut items = Vec::new();
        let mut combined = spec.combine().map(|rule| Combined {
            annotators: spec.annotators().to_vec(),
            rule,
            ties: 0,
            disagreements: 0,
            not_labelled_by_all: 0,
        });
        for (paragraph, outcome, votes) in Dataset::outcomes(store, spec) {
            if !wanted_articles.is_empty()
                && !wanted_articles.contains(paragraph.article().as_str())
            {
                continue;
            }
            if !in_splits(paragraph.split()) {
                continue;
            }
            let (label, low) = match outcome {
                Outcome::Label { label, low } => (label, low),
                left_out => {
                    // Counted only where the paragraph would have been a candidate: a vote
                    // for one of the experiment's classes.
                    let relevant = votes
                        .iter()
                        .any(|(label, _)| spec.classes().iter().any(|c| c == label));
                    if let (Some(combined), true) = (&mut combined, relevant) {
                        match left_out {
                            Outcome::Tie => combined.ties += 1,
                            Outcome::Disagreement => combined.disagreements += 1,
                            _ => combined.not_labelled_by_all += 1,
                        }
                    }
                    continue;
                }
            };
            let Some(class) = spec.classes().iter().position(|c| c == label) else {
                continue;
            };
            let group_name = paragraph.group_name();
            let article = *article_index
                .entry(group_name.to_owned())
                .or_insert_with(|| {
                    articles.push(group_name.to_owned());
                    articles.len() - 1
                });
            items.push(Item {
                id: paragraph.id().as_str().to_owned(),
                article,
                text: paragraph.text().to_owned(),
                class,
                low_confidence: low,
                split: paragraph.split().map(str::to_owned),
            });
        }
        if let Some(split) = spec.split()
            && !items
                .iter()
                .any(|item| item.split.as_deref() == Some(split))
        {
            return Err(DataError::EmptySplit {
                split: split.to_owned(),
                annotator: spec.annotator_names(),
                store: spec.store().to_owned(),
            });
        }
        let dataset = Dataset {
            classes: spec.classes().to_vec(),
            articles,
            items,
            combined,
        };
        let counts = dataset.class_counts();
        if let Some(empty) = counts.iter().position(|&count| count == 0) {
            return Err(DataError::EmptyClass {
                class: dataset.classes[empty].clone(),
                annotator: spec.annotator_names(),
                low: if spec.drop_low_confidence() {
                    " (high-confidence)"
                } else {
                    ""
                },
                store: spec.store().to_owned(),
            });
        }
        Ok(dataset)
    }

    /// Each labelled paragraph of the store, in store order, with its label (one
    /// annotator's, or several combined) or why it has none, and the votes it was made of.
    /// Low-confidence labels are no votes when the experiment drops them.
    fn outcomes<'s>(
        store: &'s Store,
        spec: &DataConfig,
    ) -> Vec<(&'s Paragraph, Outcome<'s>, Vec<Vote<'s>>)> {
        let annotators = spec.annotators();
        let drop_low = spec.drop_low_confidence();
        let Some(rule) = spec.combine() else {
            return store
                .labelled(&annotators[0])
                .into_iter()
                .filter(|labelled| !(drop_low && labelled.low_confidence()))
                .map(|labelled| {
                    let (label, low) = (labelled.label(), labelled.low_confidence());
                    (
                        labelled.paragraph(),
                        Outcome::Label { label, low },
                        vec![(label, low)],
                    )
                })
                .collect();
        };
        store
            .paragraphs()
            .iter()
            .filter(|paragraph| paragraph.is_labelable())
            .filter_map(|paragraph| {
                let votes: Vec<Vote<'s>> = annotators
                    .iter()
                    .filter_map(|annotator| store.current(annotator, paragraph.id()))
                    .map(|decision| {
                        let label = store.schema().class(decision.class()).name();
                        (
                            label,
                            decision.confidence() == crate::labels::Confidence::Low,
                        )
                    })
                    .filter(|&(_, low)| !(drop_low && low))
                    .collect();
                if votes.is_empty() {
                    return None;
                }
                let outcome = combine(rule, &votes, annotators.len());
                Some((paragraph, outcome, votes))
            })
            .collect()
    }

    /// A dataset from parts, for tests and for callers that hold texts already.
    pub fn from_items(classes: Vec<String>, articles: Vec<String>, items: Vec<Item>) -> Dataset {
        Dataset {
            classes,
            articles,
            items,
            combined: None,
        }
    }

    /// How several annotators' labels were combined, and what that left out.
    pub fn combined(&self) -> Option<&Combined> {
        self.combined.as_ref()
    }

    pub fn classes(&self) -> &[String] {
        &self.classes
    }
    pub fn articles(&self) -> &[String] {
        &self.articles
    }
    pub fn items(&self) -> &[Item] {
        &self.items
    }
    pub fn len(&self) -> usize {
        self.items.len()
    }
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn texts(&self) -> Vec<&str> {
        self.items.iter().map(|item| item.text.as_str()).collect()
    }
    pub fn labels(&self) -> Vec<usize> {
        self.items.iter().map(|item| item.class).collect()
    }
    pub fn groups(&self) -> Vec<usize> {
        self.items.iter().map(|item| item.article).collect()
    }

    pub fn class_counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.classes.len()];
        for item in &self.items {
            counts[item.class] += 1;
        }
        counts
    }

    pub fn per_class(&self) -> BTreeMap<String, usize> {
        self.classes
            .iter()
            .cloned()
            .zip(self.class_counts())
            .collect()
    }

    /// Whether each paragraph is in `split`.
    pub fn in_split(&self, split: &str) -> Vec<bool> {
        self.items
            .iter()
            .map(|item| item.split.as_deref() == Some(split))
            .collect()
    }

    /// SHA-256 over the classes and every selected paragraph's id, article, label,
    /// confidence, text and (for imported paragraphs that have one) split: any change to the
    /// labels an experiment uses changes it.
    pub fn hash(&self) -> String {
        let mut text = format!("classes\t{}\n", self.classes.join("\t"));
        for item in &self.items {
            text.push_str(&format!(
                "{}\t{}\t{}\t{}\t{}",
                item.id,
                self.articles[item.article],
                self.classes[item.class],
                if item.low_confidence { "low" } else { "high" },
                item.text
            ));
            if let Some(split) = &item.split {
                text.push_str(&format!("\tsplit={split}"));
            }
            text.push('\n');
        }
        hex_sha256(text.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `votes` (label, low-confidence) of `n_annotators` combined by `rule`: `label` or
    /// `label (low)`, else `tie`, `disagreement` or `not labelled by all`.
    fn check(rule: Combine, votes: &[(&str, bool)], n_annotators: usize, expected: &str) {
        let got = match combine(rule, votes, n_annotators) {
            Outcome::Label { label, low: false } => label.to_owned(),
            Outcome::Label { label, low: true } => format!("{label} (low)"),
            Outcome::Tie => "tie".to_owned(),
            Outcome::Disagreement => "disagreement".to_owned(),
            Outcome::NotLabelledByAll => "not labelled by all".to_owned(),
        };
        assert_eq!(got, expected, "{rule:?} {votes:?} of {n_annotators}");
    }

    const F: (&str, bool) = ("fracturing", false);
    const S: (&str, bool) = ("stable", false);
    const N: (&str, bool) = ("neither", false);
    const S_LOW: (&str, bool) = ("stable", true);

    #[test]
    fn majority_takes_more_than_half_of_the_votes_and_leaves_ties_out() {
        check(Combine::Majority, &[S, F, S], 3, "stable");
        check(Combine::Majority, &[F, S], 2, "tie");
        check(Combine::Majority, &[F, S, N], 3, "tie");
        check(Combine::Majority, &[F, S, S, F], 4, "tie");
        check(Combine::Majority, &[F, F, S, N], 4, "tie");
        // Only one of three annotators labelled it: one vote of one is a majority.
        check(Combine::Majority, &[F], 3, "fracturing");
        check(Combine::Majority, &[S, S], 3, "stable");
        // A low-confidence vote for the winner makes the combined label low-confidence.
        check(Combine::Majority, &[S, S_LOW, F], 3, "stable (low)");
        check(
            Combine::Majority,
            &[S, S, ("fracturing", true)],
            3,
            "stable",
        );
    }

    #[test]
    fn unanimous_needs_every_annotator_and_one_label() {
        check(Combine::Unanimous, &[S, S, S], 3, "stable");
        check(Combine::Unanimous, &[S, S_LOW], 2, "stable (low)");
        check(Combine::Unanimous, &[S, F], 2, "disagreement");
        check(Combine::Unanimous, &[S, S, F], 3, "disagreement");
        check(Combine::Unanimous, &[S, S], 3, "not labelled by all");
        check(Combine::Unanimous, &[S, F], 3, "not labelled by all");
    }
}
