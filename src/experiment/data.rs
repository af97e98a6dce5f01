//! The labelled paragraphs an experiment uses: a label store and a `[data]` table in, a
//! [`Dataset`] of texts, class indices and article groups out.
//!
//! Selection only leaves paragraphs out (other classes, other annotators, low confidence if
//! asked); it never changes the store. The order is the store's, so folds, predictions and
//! the data hash are the same on every machine.

use std::collections::BTreeMap;

use crate::labels::{Store, StoreError};

use super::config::DataConfig;
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
        if !annotators.contains(&spec.annotator()) {
            return Err(DataError::UnknownAnnotator {
                annotator: spec.annotator().to_owned(),
                known: if annotators.is_empty() {
                    "it has no labels yet".to_owned()
                } else {
                    format!("labels by: {}", annotators.join(", "))
                },
                store: spec.store().to_owned(),
            });
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
        for labelled in store.labelled(spec.annotator()) {
            let Some(class) = spec.classes().iter().position(|c| c == labelled.label()) else {
                continue;
            };
            if spec.drop_low_confidence() && labelled.low_confidence() {
                continue;
            }
            if !wanted_articles.is_empty() && !wanted_articles.contains(labelled.article().as_str())
            {
                continue;
            }
            let paragraph = labelled.paragraph();
            if !in_splits(paragraph.split()) {
                continue;
            }
            let group_name = paragraph.group_name();
            let article = *article_index
                .entry(group_name.to_owned())
                .or_insert_with(|| {
                    articles.push(group_name.to_owned());
                    articles.len() - 1
                });
            items.push(Item {
                id: labelled.id().as_str().to_owned(),
                article,
                text: labelled.text().to_owned(),
                class,
                low_confidence: labelled.low_confidence(),
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
                annotator: spec.annotator().to_owned(),
                store: spec.store().to_owned(),
            });
        }
        let dataset = Dataset {
            classes: spec.classes().to_vec(),
            articles,
            items,
        };
        let counts = dataset.class_counts();
        if let Some(empty) = counts.iter().position(|&count| count == 0) {
            return Err(DataError::EmptyClass {
                class: dataset.classes[empty].clone(),
                annotator: spec.annotator().to_owned(),
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

    /// A dataset from parts, for tests and for callers that hold texts already.
    pub fn from_items(classes: Vec<String>, articles: Vec<String>, items: Vec<Item>) -> Dataset {
        Dataset {
            classes,
            articles,
            items,
        }
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
