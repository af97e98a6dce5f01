//! Which paragraph to label next (active learning): paragraphs analysed once, the rows
//! labelled so far and the rows still unlabelled in; the unlabelled rows in the order to
//! label them out, with what the model said about each.
//!
//! Three orders ([`Order`]): `article` (the store's order), `random` (a seeded permutation)
//! and `uncertainty` (uncertainty sampling, Lewis & Gale 1994): the experiment's model is
//! trained on the labels so far and scores every unlabelled row; the row whose two most
//! probable classes are closest comes first (the margin; with two classes, the probability
//! closest to ½). Until each class has [`MIN_PER_CLASS`] labels there is no model worth
//! asking, and `uncertainty` offers the random order instead.
//!
//! [`LabellingOrder`] serves `stance label` (interactive, and the `--queue` for other tools);
//! `simulate` uses the same pieces ([`fit_and_predict`], [`by_margin`], [`permutation`]).
//! Pure: no I/O beyond the store handed in, every random choice through `rng::seeded`, ties
//! broken by row, so an order is a function of the store, the labels, the experiment and the
//! seed.

use ndarray::{Array2, ArrayView1, ArrayView2};

use crate::corpus::ParagraphId;
use crate::features::AnalyzedUnion;
use crate::labels::{Confidence, Offered, Order, Shown, Store};
use crate::model::ModelConfig;

use super::config::Experiment;
use super::cross_validate::{FitError, fit_on_rows};

/// Labels each class needs before `uncertainty` trusts a model over the random order.
pub const MIN_PER_CLASS: usize = 2;

/// The stream of `rng::seeded` for the random labelling order.
const ORDER_STREAM: u64 = 0x006f_7264_6572; // "order"

/// Why an order could not be worked out.
#[derive(Debug, thiserror::Error)]
pub enum OrderError {
    #[error("--order uncertainty needs an experiment (--experiment X.toml) for its model")]
    NoExperiment,
    #[error(
        "class `{class}` of experiment `{experiment}` is not in the label store's schema (it has: {known})"
    )]
    UnknownClass {
        experiment: String,
        class: String,
        known: String,
    },
    #[error("training the model on {trained_on} labels")]
    Fit {
        trained_on: usize,
        #[source]
        source: FitError,
    },
}

/// The margin between the two largest probabilities of a row: 0 when they tie (the model
/// cannot tell them apart), 1 when one class has it all.
pub fn margin(probabilities: ArrayView1<f64>) -> f64 {
    let (mut first, mut second) = (f64::NEG_INFINITY, f64::NEG_INFINITY);
    for &p in probabilities {
        if p > first {
            second = first;
            first = p;
        } else if p > second {
            second = p;
        }
    }
    first - second
}

/// Row positions of `probabilities` (rows × classes) by ascending margin, ties in row order.
pub fn by_margin(probabilities: ArrayView2<f64>) -> Vec<usize> {
    let margins: Vec<f64> = probabilities.outer_iter().map(margin).collect();
    let mut order: Vec<usize> = (0..margins.len()).collect();
    // Stable: equal margins keep row order.
    order.sort_by(|&a, &b| margins[a].total_cmp(&margins[b]));
    order
}

/// `0..n` in the seeded random order of `(seed, stream)`.
pub fn permutation(n: usize, seed: u64, stream: u64) -> Vec<usize> {
    let mut rows: Vec<usize> = (0..n).collect();
    crate::cv::shuffle(&mut rows, &mut crate::rng::seeded(seed, stream));
    rows
}

/// Fits the featurizer and the model on the corpus rows `train` ([`fit_on_rows`]: `labels`
/// is indexed by corpus row, and only the rows of `train` are read), then gives the class
/// probabilities of the rows `rows` (rows × classes), scored on their sparse rows.
pub fn fit_and_predict(
    corpus: &AnalyzedUnion,
    model: &ModelConfig,
    labels: &[usize],
    n_classes: usize,
    train: &[usize],
    rows: &[usize],
) -> Result<Array2<f64>, FitError> {
    let (columns, fitted) = fit_on_rows(corpus, model, labels, n_classes, train)?;
    Ok(fitted.predict_proba(&corpus.transform(&columns, rows))?)
}

/// The order in which one store's paragraphs are offered for labelling: built once per
/// session (the paragraphs analysed once), asked again whenever the labels have changed.
pub struct LabellingOrder {
    order: Order,
    seed: u64,
    /// The store's paragraphs to label, in store order: the rows of everything below.
    ids: Vec<ParagraphId>,
    uncertainty: Option<UncertaintyModel>,
}

/// What `uncertainty` needs: the experiment's features, model and classes.
struct UncertaintyModel {
    experiment: String,
    corpus: AnalyzedUnion,
    model: ModelConfig,
    classes: Vec<String>,
    /// Per schema class, its index among the experiment's classes.
    class_of: Vec<Option<usize>>,
    drop_low_confidence: bool,
}

/// One annotator's labels on the store's paragraphs, row by row, as an order sees them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelState {
    /// Whether the annotator has a current label on the row (any class).
    labelled: Vec<bool>,
    /// The row's class among the experiment's classes, if it trains the model.
    class: Vec<Option<usize>>,
}

impl LabelState {
    /// Rows that train the model.
    pub fn trained_on(&self) -> usize {
        self.class.iter().flatten().count()
    }
}

impl LabellingOrder {
    /// The order `order` of `store`'s paragraphs. `uncertainty` needs `experiment` (its
    /// `[features]`, `[model]` and `[data]` classes and `drop_low_confidence`; the labels are
    /// the annotator's, from `store`); `seed` draws the random order.
    pub fn new(
        store: &Store,
        order: Order,
        experiment: Option<&Experiment>,
        seed: u64,
    ) -> Result<LabellingOrder, OrderError> {
        let paragraphs: Vec<_> = store
            .paragraphs()
            .iter()
            .filter(|p| p.is_labelable())
            .collect();
        let uncertainty = match (order, experiment) {
            (Order::Uncertainty, None) => return Err(OrderError::NoExperiment),
            (Order::Uncertainty, Some(experiment)) => {
                let schema = store.schema();
                let classes = experiment.data().classes().to_vec();
                for class in &classes {
                    if schema.index_of(class).is_none() {
                        return Err(OrderError::UnknownClass {
                            experiment: experiment.name().to_owned(),
                            class: class.clone(),
                            known: schema.names().to_string(),
                        });
                    }
                }
                let class_of = schema
                    .indices()
                    .map(|c| {
                        let name = schema.class(c).name();
                        classes.iter().position(|class| class == name)
                    })
                    .collect();
                let texts: Vec<&str> = paragraphs.iter().map(|p| p.text()).collect();
                Some(UncertaintyModel {
                    experiment: experiment.name().to_owned(),
                    corpus: experiment.features().analyze_corpus(&texts),
                    model: experiment.model().clone(),
                    classes,
                    class_of,
                    drop_low_confidence: experiment.data().drop_low_confidence(),
                })
            }
            _ => None,
        };
        Ok(LabellingOrder {
            order,
            seed,
            ids: paragraphs.iter().map(|p| p.id().clone()).collect(),
            uncertainty,
        })
    }

    pub fn order(&self) -> Order {
        self.order
    }

    /// `annotator`'s current labels in `store` (which must be the store this order was built
    /// on, possibly with more annotations).
    pub fn state(&self, store: &Store, annotator: &str) -> LabelState {
        let decisions: Vec<_> = self
            .ids
            .iter()
            .map(|id| store.current(annotator, id))
            .collect();
        let class = decisions
            .iter()
            .map(|decision| {
                let model = self.uncertainty.as_ref()?;
                let decision = (*decision)?;
                if model.drop_low_confidence && decision.confidence() == Confidence::Low {
                    return None;
                }
                model.class_of.get(decision.class().index()).copied()?
            })
            .collect();
        LabelState {
            labelled: decisions.iter().map(Option::is_some).collect(),
            class,
        }
    }

    /// The unlabelled paragraphs in the order to offer them, each with how it is offered.
    /// `uncertainty` trains its model on `state` here (a few milliseconds on hundreds of
    /// labels); it offers the random order while a class has fewer than [`MIN_PER_CLASS`].
    pub fn offers(&self, state: &LabelState) -> Result<Vec<(ParagraphId, Offered)>, OrderError> {
        let unlabelled = |&row: &usize| !state.labelled[row];
        let plain = |rows: Vec<usize>, order: Order| {
            rows.into_iter()
                .filter(unlabelled)
                .map(|row| (self.ids[row].clone(), Offered::new(order, None)))
                .collect()
        };
        let random = || permutation(self.ids.len(), self.seed, ORDER_STREAM);
        let model = match (self.order, &self.uncertainty) {
            (Order::Article, _) => return Ok(plain((0..self.ids.len()).collect(), Order::Article)),
            (Order::Random, _) | (Order::Uncertainty, None) => {
                return Ok(plain(random(), Order::Random));
            }
            (Order::Uncertainty, Some(model)) => model,
        };
        let train: Vec<usize> = (0..self.ids.len())
            .filter(|&row| state.class[row].is_some())
            .collect();
        let mut per_class = vec![0; model.classes.len()];
        for class in state.class.iter().flatten() {
            per_class[*class] += 1;
        }
        if per_class.iter().any(|&count| count < MIN_PER_CLASS) {
            return Ok(plain(random(), Order::Random));
        }
        let pool: Vec<usize> = (0..self.ids.len()).filter(unlabelled).collect();
        if pool.is_empty() {
            return Ok(Vec::new());
        }
        // Rows without a class are never read: they are not in `train`.
        let labels: Vec<usize> = state.class.iter().map(|class| class.unwrap_or(0)).collect();
        let probabilities = fit_and_predict(
            &model.corpus,
            &model.model,
            &labels,
            model.classes.len(),
            &train,
            &pool,
        )
        .map_err(|source| OrderError::Fit {
            trained_on: train.len(),
            source,
        })?;
        Ok(by_margin(probabilities.view())
            .into_iter()
            .map(|position| {
                let shown = Shown::new(
                    model.experiment.clone(),
                    train.len(),
                    model
                        .classes
                        .iter()
                        .cloned()
                        .zip(probabilities.row(position).iter().copied())
                        .collect(),
                );
                (
                    self.ids[pool[position]].clone(),
                    Offered::new(Order::Uncertainty, Some(shown)),
                )
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use jiff::Timestamp;
    use ndarray::array;

    use super::*;
    use crate::corpus::{Article, ArticleId};
    use crate::labels::{Annotation, Annotator, Decision};

    const TEXTS: [&str; 8] = [
        "Beijing and Pyongyang drift apart.",
        "Moscow and Pyongyang stand together.",
        "Beijing distrusts Moscow over the deal.",
        "The three stand together as one bloc.",
        "Seoul answers the test launch.",
        "Pyongyang plays Beijing against Moscow.",
        "The partners stand together again.",
        "A trade fair opens in Dandong.",
    ];

    /// A store of one article holding `TEXTS`, with `labels` (text index, class) by `ann`.
    fn store_with(labels: &[(usize, &str)]) -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open_or_create(&dir.path().join("labels")).unwrap();
        let article = Article::new(ArticleId::new("art").unwrap(), TEXTS.join("\n")).unwrap();
        store.ingest(&[article]).unwrap();
        let decisions: Vec<Annotation> = labels
            .iter()
            .map(|&(row, label)| {
                Annotation::Decision(Decision::new(
                    store.paragraphs()[row].id().clone(),
                    store.schema().index_of(label).unwrap(),
                    Annotator::new("ann").unwrap(),
                    Confidence::High,
                    Timestamp::UNIX_EPOCH,
                ))
            })
            .collect();
        store.append(&decisions).unwrap();
        (dir, store)
    }

    fn experiment() -> Experiment {
        Experiment::parse(Path::new("order.toml"), "[model]\nalpha = 0.5\n").unwrap()
    }

    /// The offers of `order` as (text index, order, shown).
    fn offers(store: &Store, order: Order, seed: u64) -> Vec<(usize, Order, Option<Shown>)> {
        let experiment = experiment();
        let labelling = LabellingOrder::new(store, order, Some(&experiment), seed).unwrap();
        let state = labelling.state(store, "ann");
        labelling
            .offers(&state)
            .unwrap()
            .into_iter()
            .map(|(id, offered)| {
                let row = store
                    .paragraphs()
                    .iter()
                    .position(|p| p.id() == &id)
                    .unwrap();
                (row, offered.order(), offered.shown().cloned())
            })
            .collect()
    }

    fn rows(offers: &[(usize, Order, Option<Shown>)]) -> Vec<usize> {
        offers.iter().map(|(row, ..)| *row).collect()
    }

    #[test]
    fn article_and_random_orders_offer_every_unlabelled_paragraph_once() {
        let (_dir, store) = store_with(&[(1, "stable"), (4, "neither")]);
        let article = offers(&store, Order::Article, 1);
        assert_eq!(rows(&article), [0, 2, 3, 5, 6, 7]);
        assert!(
            article
                .iter()
                .all(|(_, order, shown)| *order == Order::Article && shown.is_none())
        );

        let random = offers(&store, Order::Random, 1);
        let mut sorted = rows(&random);
        sorted.sort_unstable();
        assert_eq!(sorted, [0, 2, 3, 5, 6, 7]);
        assert!(random.iter().all(|(_, order, _)| *order == Order::Random));
        assert_eq!(rows(&random), rows(&offers(&store, Order::Random, 1)));
        assert_ne!(rows(&random), rows(&offers(&store, Order::Random, 2)));
        // Labelling the first offered paragraph leaves the rest in the same order: a queue
        // continues where the last one stopped.
        let (_dir, more) = store_with(&[(1, "stable"), (4, "neither"), (random[0].0, "stable")]);
        assert_eq!(rows(&offers(&more, Order::Random, 1)), rows(&random)[1..]);
    }

    #[test]
    fn uncertainty_is_random_until_each_class_has_two_labels() {
        // `neither` is not one of the experiment's classes: it counts as labelled, never trains.
        let few = [
            (0, "fracturing"),
            (1, "stable"),
            (2, "fracturing"),
            (4, "neither"),
        ];
        let (_dir, store) = store_with(&few);
        let fallback = offers(&store, Order::Uncertainty, 3);
        assert_eq!(rows(&fallback), rows(&offers(&store, Order::Random, 3)));
        assert!(
            fallback
                .iter()
                .all(|(_, order, shown)| *order == Order::Random && shown.is_none())
        );
        let err = LabellingOrder::new(&store, Order::Uncertainty, None, 3)
            .err()
            .unwrap();
        assert!(err.to_string().contains("needs an experiment"), "{err}");
    }

    #[test]
    fn uncertainty_offers_the_smallest_margin_first_with_what_the_model_said() {
        let labels = [
            (0, "fracturing"),
            (1, "stable"),
            (2, "fracturing"),
            (3, "stable"),
            (4, "neither"),
        ];
        let (_dir, store) = store_with(&labels);
        let got = offers(&store, Order::Uncertainty, 3);
        assert_eq!(rows(&got).len(), 3);
        // The same model fitted on the training texts themselves.
        let experiment = experiment();
        let train: Vec<&str> = [0, 2, 1, 3].iter().map(|&i| TEXTS[i]).collect();
        let single = experiment.features().as_single().unwrap();
        let (features, matrix) = single.fit_transform(&train).unwrap();
        let model =
            crate::model::Classifier::fit_csr(experiment.model(), &matrix, &[0, 0, 1, 1], 2)
                .unwrap();
        let mut margins = Vec::new();
        for (row, order, shown) in &got {
            assert_eq!(*order, Order::Uncertainty);
            let shown = shown.as_ref().unwrap();
            assert_eq!((shown.experiment(), shown.trained_on()), ("order", 4));
            let expected = model
                .predict_proba(&features.transform(&[TEXTS[*row]]))
                .unwrap();
            let classes: Vec<&str> = shown
                .probabilities()
                .iter()
                .map(|(c, _)| c.as_str())
                .collect();
            assert_eq!(classes, ["fracturing", "stable"]);
            for (c, (_, p)) in shown.probabilities().iter().enumerate() {
                assert!(
                    (p - expected[(0, c)]).abs() < 1e-9,
                    "{row}: {shown:?} vs {expected}"
                );
            }
            margins.push((expected[(0, 0)] - expected[(0, 1)]).abs());
        }
        assert!(margins.windows(2).all(|w| w[0] <= w[1]), "{margins:?}");
    }

    #[test]
    fn margin_is_the_gap_between_the_two_largest() {
        let check = |p: &[f64], expected: f64| {
            let got = margin(ArrayView1::from(p));
            assert!((got - expected).abs() < 1e-12, "{p:?}: {got}");
        };
        check(&[0.5, 0.5], 0.0);
        check(&[0.3, 0.7], 0.4);
        check(&[0.1, 0.6, 0.3], 0.3);
        check(&[0.4, 0.2, 0.4], 0.0);
        check(&[1.0, 0.0, 0.0], 1.0);
    }

    #[test]
    fn by_margin_puts_the_closest_first_and_keeps_ties_in_row_order() {
        let probabilities = array![[0.9, 0.1], [0.45, 0.55], [0.55, 0.45], [0.3, 0.7]];
        assert_eq!(by_margin(probabilities.view()), [1, 2, 3, 0]);
        let three = array![[0.6, 0.3, 0.1], [0.34, 0.33, 0.33], [0.5, 0.1, 0.4]];
        assert_eq!(by_margin(three.view()), [1, 2, 0]);
    }

    #[test]
    fn permutations_depend_on_seed_and_stream_only() {
        let a = permutation(20, 7, 1);
        assert_eq!(a, permutation(20, 7, 1));
        assert_ne!(a, permutation(20, 8, 1));
        assert_ne!(a, permutation(20, 7, 2));
        let mut sorted = a.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..20).collect::<Vec<_>>());
    }
}
