//! Does choosing what to label pay? An experiment and its labelled paragraphs in; for each
//! labelling order, the learning curve of a model trained on the paragraphs that order would
//! have had labelled, with intervals across seeds, the area under each curve, and how many
//! labels each order needs to reach another's final score.
//!
//! The labels are hidden and revealed as an order asks for them. For each seed (a
//! *replicate*): a stratified held-out part is set aside (`held_out` of each class, at least
//! one paragraph of each class on either side), a stratified seed set of `initial` paragraphs
//! is drawn from the rest (at least one per class), and then each order in turn trains the
//! experiment's model on what is labelled, scores the held-out part with the experiment's
//! `[stats] metric`, and labels the next `step` paragraphs it picks from the pool, until
//! `budget` paragraphs are labelled. Within a replicate every order starts from the same seed
//! set and is scored on the same held-out part, so orders are compared in pairs.
//!
//! - `random` takes the pool in a seeded random order (drawn once per replicate);
//! - `uncertainty` takes the `step` paragraphs of the smallest margin under the current model
//!   (ties in store order), as `stance label --order uncertainty` offers them;
//! - `article` takes the pool in store order.
//!
//! Intervals are t-intervals of the mean over replicates (`mean ± t·s/√n`); the area under a
//! curve is the trapezoid rule over labels, divided by the labels spanned (so it is the mean
//! score over the budget, on the metric's scale). Replicates run in parallel and are collected
//! in order: the result is a function of the experiment, the labels and the seed.

use rayon::prelude::*;
use statrs::distribution::{ContinuousCDF as _, StudentsT};

use crate::labels::Order;
use crate::metrics::{Metric, MetricsError, score};
use crate::persist::Version;
use crate::record;
use crate::rng::seeded;
use crate::stats::summary::{mean, sample_std};

use super::Progress;
use super::active::{by_margin, fit_and_predict, permutation};
use super::config::Experiment;
use super::cross_validate::FitError;
use super::data::Dataset;

/// Streams of `rng::seeded` for replicate `r`: `STREAMS + r·8 + part`.
const STREAMS: u64 = 0x7369_6d00_0000_0000; // "sim"
const HELD_OUT: u64 = 0;
const SEED_SET: u64 = 1;
const RANDOM_ORDER: u64 = 2;

/// The settings of a simulation, as given.
#[derive(Debug, Clone, PartialEq)]
pub struct RawSimulation {
    pub orders: Vec<Order>,
    pub replicates: usize,
    pub seed: u64,
    /// Labelled paragraphs at the end, the seed set included; `None`: the whole pool.
    pub budget: Option<usize>,
    /// Paragraphs labelled between two scorings.
    pub step: usize,
    /// The seed set.
    pub initial: usize,
    /// Fraction of each class held out for scoring.
    pub held_out: f64,
}

/// Checked settings; only [`RawSimulation::check`] makes them.
#[derive(Debug, Clone, PartialEq)]
pub struct SimulationSpec {
    orders: Vec<Order>,
    replicates: usize,
    seed: u64,
    budget: Option<usize>,
    step: usize,
    initial: usize,
    held_out: f64,
}

/// Settings that cannot be simulated, or a simulation that failed.
#[derive(Debug, thiserror::Error)]
pub enum SimulateError {
    #[error("{0}")]
    Settings(String),
    #[error("replicate {replicate} (seed {seed}), {order} order at {labels} labels")]
    Fit {
        replicate: usize,
        seed: u64,
        order: Order,
        labels: usize,
        #[source]
        source: FitError,
    },
    #[error("replicate {replicate}: scoring the held-out part")]
    Score {
        replicate: usize,
        #[source]
        source: MetricsError,
    },
    #[error("{metric} is undefined on the held-out part of replicate {replicate}")]
    Undefined { metric: String, replicate: usize },
}

impl RawSimulation {
    pub fn check(&self) -> Result<SimulationSpec, SimulateError> {
        let bad = |message: String| Err(SimulateError::Settings(message));
        if self.orders.is_empty() {
            return bad("name at least one order to simulate".to_owned());
        }
        if let Some(order) = self
            .orders
            .iter()
            .enumerate()
            .find_map(|(i, order)| self.orders[..i].contains(order).then_some(order))
        {
            return bad(format!("order `{order}` is named twice"));
        }
        if self.replicates == 0 {
            return bad("--seeds must be at least 1".to_owned());
        }
        if self.step == 0 {
            return bad("--step must be at least 1".to_owned());
        }
        if !(self.held_out > 0.0 && self.held_out < 1.0) {
            return bad(format!(
                "--held-out must be a fraction between 0 and 1, not {}",
                self.held_out
            ));
        }
        if let Some(budget) = self.budget
            && budget < self.initial
        {
            return bad(format!(
                "--budget {budget} is smaller than the seed set (--initial {})",
                self.initial
            ));
        }
        Ok(SimulationSpec {
            orders: self.orders.clone(),
            replicates: self.replicates,
            seed: self.seed,
            budget: self.budget,
            step: self.step,
            initial: self.initial,
            held_out: self.held_out,
        })
    }
}

impl SimulationSpec {
    pub fn orders(&self) -> &[Order] {
        &self.orders
    }
    pub fn replicates(&self) -> usize {
        self.replicates
    }
    pub fn seed(&self) -> u64 {
        self.seed
    }
    pub fn step(&self) -> usize {
        self.step
    }
    pub fn initial(&self) -> usize {
        self.initial
    }
    pub fn held_out(&self) -> f64 {
        self.held_out
    }
}

/// A mean over replicates with its interval (none with a single replicate).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    pub mean: f64,
    pub low: Option<f64>,
    pub high: Option<f64>,
}

/// One order's learning curve.
#[derive(Debug, Clone, PartialEq)]
pub struct Curve {
    pub order: Order,
    /// Per replicate, the score at each size of [`Simulation::sizes`].
    pub per_replicate: Vec<Vec<f64>>,
    /// Per size, the mean score and its interval.
    pub points: Vec<Estimate>,
    /// Per replicate, the area under its curve (the mean score over the labels spanned).
    pub area_per_replicate: Vec<f64>,
    pub area: Estimate,
}

impl Curve {
    /// The mean score at the budget.
    pub fn final_score(&self) -> f64 {
        self.points.last().map_or(f64::NAN, |point| point.mean)
    }
}

/// One order against another.
#[derive(Debug, Clone, PartialEq)]
pub struct Pairing {
    pub order: Order,
    pub against: Order,
    /// Area of `order` minus area of `against`, paired by replicate.
    pub area_difference: Estimate,
    /// `against`'s mean final score.
    pub target: f64,
    /// The fewest labels at which `order`'s mean curve reaches `target`; `None` if it never
    /// does within the budget.
    pub labels_to_reach: Option<usize>,
}

/// What a simulation found.
#[derive(Debug, Clone, PartialEq)]
pub struct Simulation {
    pub classes: Vec<String>,
    pub metric: Metric,
    pub level: f64,
    /// Labelled paragraphs of the experiment.
    pub paragraphs: usize,
    /// Held out for scoring, in every replicate.
    pub held_out: usize,
    /// Labelled paragraphs at each scoring: the seed set, then one `step` more each time, up
    /// to the budget.
    pub sizes: Vec<usize>,
    /// One per order, in the order asked for.
    pub curves: Vec<Curve>,
    /// Every order against every other.
    pub pairings: Vec<Pairing>,
}

/// Runs the simulation of `spec` on `dataset` with `experiment`'s features, model and metric.
pub fn simulate(
    experiment: &Experiment,
    dataset: &Dataset,
    spec: &SimulationSpec,
    progress: &dyn Progress,
) -> Result<Simulation, SimulateError> {
    let labels = dataset.labels();
    let n_classes = dataset.classes().len();
    let metric = experiment.stats().metric();
    let level = experiment.stats().level().get();
    let class_rows = rows_by_class(&labels, n_classes);
    let held_out_per_class = held_out_counts(&class_rows, spec.held_out, dataset.classes())?;
    let held_out: usize = held_out_per_class.iter().sum();
    let available = labels.len() - held_out;
    if spec.initial < n_classes {
        return Err(SimulateError::Settings(format!(
            "the seed set (--initial {}) must hold one paragraph of each of the {n_classes} classes",
            spec.initial
        )));
    }
    let budget = spec.budget.unwrap_or(available);
    if budget > available {
        return Err(SimulateError::Settings(format!(
            "--budget {budget} is more than the {available} paragraphs outside the held-out part ({held_out} of {})",
            labels.len()
        )));
    }
    if spec.initial > available {
        return Err(SimulateError::Settings(format!(
            "the seed set (--initial {}) is more than the {available} paragraphs outside the held-out part",
            spec.initial
        )));
    }
    let sizes = sizes(spec.initial, spec.step, budget);
    let corpus = experiment.features().analyze_corpus(&dataset.texts());
    let setting = Setting {
        corpus: &corpus,
        experiment,
        labels: &labels,
        n_classes,
        metric,
        sizes: &sizes,
    };

    progress.stage("simulation", spec.replicates as u64);
    let replicates: Vec<Vec<Vec<f64>>> = (0..spec.replicates)
        .into_par_iter()
        .map(|replicate| {
            let split = split_replicate(&class_rows, &held_out_per_class, spec, replicate);
            let curves = spec
                .orders
                .iter()
                .map(|&order| setting.curve(&split, order, spec.seed, replicate))
                .collect::<Result<Vec<_>, _>>();
            progress.tick();
            curves
        })
        .collect::<Result<_, _>>()?;

    let t = t_quantile(spec.replicates, level);
    let curves: Vec<Curve> = spec
        .orders
        .iter()
        .enumerate()
        .map(|(o, &order)| {
            let per_replicate: Vec<Vec<f64>> = replicates.iter().map(|r| r[o].clone()).collect();
            let points = (0..sizes.len())
                .map(|s| estimate(&per_replicate.iter().map(|r| r[s]).collect::<Vec<_>>(), t))
                .collect();
            let area_per_replicate: Vec<f64> =
                per_replicate.iter().map(|r| area(&sizes, r)).collect();
            Curve {
                order,
                per_replicate,
                points,
                area: estimate(&area_per_replicate, t),
                area_per_replicate,
            }
        })
        .collect();
    let mut pairings = Vec::new();
    for a in &curves {
        for b in &curves {
            if a.order == b.order {
                continue;
            }
            let differences: Vec<f64> = a
                .area_per_replicate
                .iter()
                .zip(&b.area_per_replicate)
                .map(|(x, y)| x - y)
                .collect();
            let target = b.final_score();
            pairings.push(Pairing {
                order: a.order,
                against: b.order,
                area_difference: estimate(&differences, t),
                target,
                labels_to_reach: labels_to_reach(&sizes, &a.points, target, metric),
            });
        }
    }
    Ok(Simulation {
        classes: dataset.classes().to_vec(),
        metric,
        level,
        paragraphs: labels.len(),
        held_out,
        sizes,
        curves,
        pairings,
    })
}

impl Simulation {
    /// The on-disk record of this simulation of `experiment` on `dataset`, run with `spec`.
    pub fn to_record(
        &self,
        experiment: &Experiment,
        dataset: &Dataset,
        spec: &SimulationSpec,
        timings: record::SimulationTimings,
    ) -> record::SimulationRecord {
        let value = |estimate: &Estimate| record::SimulatedValue {
            mean: estimate.mean,
            ci_low: estimate.low,
            ci_high: estimate.high,
        };
        record::SimulationRecord {
            format: record::SIMULATION_FORMAT.to_owned(),
            experiment: experiment.name().to_owned(),
            description: experiment.description().map(str::to_owned),
            config: experiment.resolved().clone(),
            config_hash: experiment.config_hash(),
            data_hash: dataset.hash(),
            version: Version::of_this_build(),
            classes: self.classes.clone(),
            metric: self.metric.key(&self.classes),
            settings: record::SimulationSettings {
                orders: spec.orders.iter().map(|o| o.as_str().to_owned()).collect(),
                seeds: spec.replicates,
                seed: spec.seed,
                budget: self.sizes.last().copied().unwrap_or(spec.initial),
                step: spec.step,
                initial: spec.initial,
                held_out: spec.held_out,
            },
            data: record::SimulationData {
                annotator: experiment.data().annotator_names(),
                paragraphs: self.paragraphs,
                per_class: dataset.per_class(),
                held_out: self.held_out,
            },
            interval: self.describe_interval(),
            sizes: self.sizes.clone(),
            curves: self
                .curves
                .iter()
                .map(|curve| record::SimulatedCurve {
                    order: curve.order.as_str().to_owned(),
                    points: curve.points.iter().map(value).collect(),
                    area: value(&curve.area),
                    per_seed: curve.per_replicate.clone(),
                    area_per_seed: curve.area_per_replicate.clone(),
                })
                .collect(),
            pairings: self
                .pairings
                .iter()
                .map(|pairing| record::SimulatedPairing {
                    order: pairing.order.as_str().to_owned(),
                    against: pairing.against.as_str().to_owned(),
                    area_difference: value(&pairing.area_difference),
                    target: pairing.target,
                    labels_to_reach: pairing.labels_to_reach,
                })
                .collect(),
            timings,
        }
    }

    /// What the intervals are, in one line.
    pub fn describe_interval(&self) -> String {
        format!(
            "{:.0}% t-interval of the mean over the {} seeds (mean ± t·s/√n); differences paired by seed",
            self.level * 100.0,
            self.curves
                .first()
                .map_or(0, |curve| curve.per_replicate.len())
        )
    }
}

/// What every curve of a simulation shares.
struct Setting<'a> {
    corpus: &'a crate::features::AnalyzedUnion,
    experiment: &'a Experiment,
    labels: &'a [usize],
    n_classes: usize,
    metric: Metric,
    sizes: &'a [usize],
}

/// One replicate's held-out rows, seed set and pool (each ascending), and its random order
/// of the pool.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ReplicateSplit {
    held_out: Vec<usize>,
    seed_set: Vec<usize>,
    pool: Vec<usize>,
    random_pool: Vec<usize>,
}

impl Setting<'_> {
    /// The scores of `order` at every size, in replicate `replicate`.
    fn curve(
        &self,
        split: &ReplicateSplit,
        order: Order,
        seed: u64,
        replicate: usize,
    ) -> Result<Vec<f64>, SimulateError> {
        let truth: Vec<usize> = split.held_out.iter().map(|&row| self.labels[row]).collect();
        let mut labelled = split.seed_set.clone();
        let mut pool = match order {
            Order::Random => split.random_pool.clone(),
            Order::Article | Order::Uncertainty => split.pool.clone(),
        };
        let mut scores = Vec::with_capacity(self.sizes.len());
        for (s, &size) in self.sizes.iter().enumerate() {
            debug_assert_eq!(labelled.len(), size);
            let next = self.sizes.get(s + 1).map(|&next| next - size);
            // The pool is scored only when the model picks from it.
            let score_pool = order == Order::Uncertainty && next.is_some();
            let mut rows = split.held_out.clone();
            if score_pool {
                rows.extend_from_slice(&pool);
            }
            let probabilities = fit_and_predict(
                self.corpus,
                self.experiment.model(),
                self.labels,
                self.n_classes,
                &labelled,
                &rows,
            )
            .map_err(|source| SimulateError::Fit {
                replicate,
                seed,
                order,
                labels: size,
                source,
            })?;
            let held_out = probabilities.slice(ndarray::s![..truth.len(), ..]);
            let scored = score(&truth, held_out, self.n_classes)
                .map_err(|source| SimulateError::Score { replicate, source })?;
            let value = scored
                .get(self.metric)
                .ok_or_else(|| SimulateError::Undefined {
                    metric: self.metric.key(self.experiment.data().classes()),
                    replicate,
                })?;
            scores.push(value);
            let Some(take) = next else { break };
            let picked: Vec<usize> = match order {
                Order::Uncertainty => {
                    let in_pool = probabilities.slice(ndarray::s![truth.len().., ..]);
                    let mut chosen: Vec<usize> =
                        by_margin(in_pool).into_iter().take(take).collect();
                    // Remove from the back so earlier positions stay valid.
                    chosen.sort_unstable_by(|a, b| b.cmp(a));
                    chosen
                        .into_iter()
                        .map(|position| pool.remove(position))
                        .collect()
                }
                Order::Random | Order::Article => pool.drain(..take).collect(),
            };
            labelled.extend(picked);
            labelled.sort_unstable();
        }
        Ok(scores)
    }
}

/// Row indices of each class, ascending.
fn rows_by_class(labels: &[usize], n_classes: usize) -> Vec<Vec<usize>> {
    let mut rows = vec![Vec::new(); n_classes];
    for (row, &label) in labels.iter().enumerate() {
        rows[label].push(row);
    }
    rows
}

/// How many paragraphs of each class are held out: `fraction` of the class, rounded, and at
/// least one on either side.
fn held_out_counts(
    class_rows: &[Vec<usize>],
    fraction: f64,
    classes: &[String],
) -> Result<Vec<usize>, SimulateError> {
    class_rows
        .iter()
        .zip(classes)
        .map(|(rows, class)| {
            if rows.len() < 2 {
                return Err(SimulateError::Settings(format!(
                    "class `{class}` has {} labelled paragraph{}; a simulation needs at least 2 of each class (one to hold out, one to train on)",
                    rows.len(),
                    if rows.len() == 1 { "" } else { "s" }
                )));
            }
            let count = (fraction * rows.len() as f64).round() as usize;
            Ok(count.clamp(1, rows.len() - 1))
        })
        .collect()
}

/// The held-out part, seed set, pool and random pool order of one replicate.
fn split_replicate(
    class_rows: &[Vec<usize>],
    held_out_per_class: &[usize],
    spec: &SimulationSpec,
    replicate: usize,
) -> ReplicateSplit {
    let stream = |part: u64| STREAMS + replicate as u64 * 8 + part;
    let mut rng = seeded(spec.seed, stream(HELD_OUT));
    let mut held_out = Vec::new();
    let mut rest_by_class = Vec::with_capacity(class_rows.len());
    for (rows, &count) in class_rows.iter().zip(held_out_per_class) {
        let mut rows = rows.clone();
        crate::cv::shuffle(&mut rows, &mut rng);
        held_out.extend_from_slice(&rows[..count]);
        let mut rest = rows[count..].to_vec();
        rest.sort_unstable();
        rest_by_class.push(rest);
    }
    held_out.sort_unstable();

    let mut rng = seeded(spec.seed, stream(SEED_SET));
    for rows in &mut rest_by_class {
        crate::cv::shuffle(rows, &mut rng);
    }
    let mut seed_set = stratified_take(&rest_by_class, spec.initial);
    seed_set.sort_unstable();
    let mut pool: Vec<usize> = rest_by_class
        .iter()
        .flatten()
        .copied()
        .filter(|row| seed_set.binary_search(row).is_err())
        .collect();
    pool.sort_unstable();
    let random_pool = permutation(pool.len(), spec.seed, stream(RANDOM_ORDER))
        .into_iter()
        .map(|position| pool[position])
        .collect();
    ReplicateSplit {
        held_out,
        seed_set,
        pool,
        random_pool,
    }
}

/// `size` rows from the (shuffled) rows of each class: one of each non-empty class first,
/// then always from the class furthest below its share `size · class rows / all rows` (ties
/// to the lower class), each class's rows taken from the front.
fn stratified_take(rows_by_class: &[Vec<usize>], size: usize) -> Vec<usize> {
    let total: usize = rows_by_class.iter().map(Vec::len).sum();
    let mut taken = vec![0usize; rows_by_class.len()];
    let mut chosen = Vec::with_capacity(size);
    for (class, rows) in rows_by_class.iter().enumerate() {
        if chosen.len() < size && !rows.is_empty() {
            chosen.push(rows[0]);
            taken[class] = 1;
        }
    }
    while chosen.len() < size {
        let next_size = chosen.len() + 1;
        let deficit =
            |c: usize| (next_size * rows_by_class[c].len()) as i64 - (taken[c] * total) as i64;
        let Some(class) = (0..rows_by_class.len())
            .filter(|&c| taken[c] < rows_by_class[c].len())
            .max_by(|&a, &b| deficit(a).cmp(&deficit(b)).then(b.cmp(&a)))
        else {
            break;
        };
        chosen.push(rows_by_class[class][taken[class]]);
        taken[class] += 1;
    }
    chosen
}

/// `initial`, `initial + step`, … and `budget` last.
fn sizes(initial: usize, step: usize, budget: usize) -> Vec<usize> {
    let mut sizes: Vec<usize> = (initial..budget).step_by(step).collect();
    sizes.push(budget);
    sizes
}

/// The trapezoid area under `scores` over `sizes`, divided by the span of `sizes` (the score
/// itself when there is one size).
fn area(sizes: &[usize], scores: &[f64]) -> f64 {
    let span = match (sizes.first(), sizes.last()) {
        (Some(&first), Some(&last)) if last > first => (last - first) as f64,
        _ => return scores.first().copied().unwrap_or(f64::NAN),
    };
    let sum: f64 = sizes
        .windows(2)
        .zip(scores.windows(2))
        .map(|(x, y)| (x[1] - x[0]) as f64 * (y[0] + y[1]) / 2.0)
        .sum();
    sum / span
}

/// The `(1 + level)/2` quantile of Student's t with `n − 1` degrees of freedom, `None` for
/// fewer than two replicates.
fn t_quantile(n: usize, level: f64) -> Option<f64> {
    if n < 2 {
        return None;
    }
    let t = StudentsT::new(0.0, 1.0, (n - 1) as f64).ok()?;
    Some(t.inverse_cdf((1.0 + level) / 2.0))
}

/// The mean of `values` with the t-interval `mean ± t·s/√n`.
fn estimate(values: &[f64], t: Option<f64>) -> Estimate {
    let centre = mean(values).unwrap_or(f64::NAN);
    let half = match (t, sample_std(values)) {
        (Some(t), Some(std)) => Some(t * std / (values.len() as f64).sqrt()),
        _ => None,
    };
    Estimate {
        mean: centre,
        low: half.map(|half| centre - half),
        high: half.map(|half| centre + half),
    }
}

/// The first size at which the mean curve `points` reaches `target` (at or above it, or at
/// or below for a metric where lower is better).
fn labels_to_reach(
    sizes: &[usize],
    points: &[Estimate],
    target: f64,
    metric: Metric,
) -> Option<usize> {
    sizes
        .iter()
        .zip(points)
        .find(|(_, point)| {
            if metric.higher_is_better() {
                point.mean >= target
            } else {
                point.mean <= target
            }
        })
        .map(|(&size, _)| size)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::experiment::{Item, Silent};

    fn experiment(toml: &str) -> Experiment {
        Experiment::parse(Path::new("sim.toml"), toml).unwrap()
    }

    /// A dataset of `(text, class)` in this order, one article per paragraph.
    fn dataset(rows: &[(String, usize)]) -> Dataset {
        let items = rows
            .iter()
            .enumerate()
            .map(|(i, (text, class))| Item {
                id: format!("{i:012x}"),
                article: i,
                text: text.clone(),
                class: *class,
                low_confidence: false,
                split: None,
            })
            .collect();
        Dataset::from_items(
            vec!["fracturing".to_owned(), "stable".to_owned()],
            (0..rows.len()).map(|i| format!("a{i}")).collect(),
            items,
        )
    }

    fn spec(orders: &[Order], replicates: usize, initial: usize, step: usize) -> SimulationSpec {
        RawSimulation {
            orders: orders.to_vec(),
            replicates,
            seed: 7,
            budget: None,
            step,
            initial,
            held_out: 0.25,
        }
        .check()
        .unwrap()
    }

    /// Every paragraph is the one word `xx`: the penalised weight of a column every row holds
    /// is 0 at the optimum, so the model is its intercept alone, the log-odds of the training
    /// classes, and predicts the training majority for every paragraph. With odd training
    /// sizes there is no tie, and a curve can be worked out by counting.
    #[test]
    fn random_curve_is_the_hand_computed_one() {
        let rows: Vec<(String, usize)> = (0..12)
            .map(|i| ("xx".to_owned(), usize::from(i >= 8)))
            .collect();
        let data = dataset(&rows);
        let experiment = experiment("[stats]\nmetric = \"accuracy\"\n");
        let spec = spec(&[Order::Random], 3, 3, 2);
        let got = simulate(&experiment, &data, &spec, &Silent).unwrap();
        // 8 `fracturing`, 4 `stable`: 2 and 1 held out, 9 left, budget 9.
        assert_eq!(got.held_out, 3);
        assert_eq!(got.sizes, [3, 5, 7, 9]);
        let labels = data.labels();
        let class_rows = rows_by_class(&labels, 2);
        for replicate in 0..3 {
            let split = split_replicate(&class_rows, &[2, 1], &spec, replicate);
            // Stratified: two `fracturing` and one `stable` held out; the seed set holds both.
            let held: Vec<usize> = split.held_out.iter().map(|&r| labels[r]).collect();
            assert_eq!(held.iter().filter(|&&c| c == 0).count(), 2, "{split:?}");
            let mut expected = Vec::new();
            for &size in &got.sizes {
                let mut train = split.seed_set.clone();
                train.extend(&split.random_pool[..size - split.seed_set.len()]);
                let stable = train.iter().filter(|&&r| labels[r] == 1).count();
                let majority = usize::from(2 * stable > train.len());
                let right = held.iter().filter(|&&c| c == majority).count();
                expected.push(right as f64 / held.len() as f64);
            }
            let curve = &got.curves[0].per_replicate[replicate];
            assert_eq!(curve.len(), expected.len());
            for (g, e) in curve.iter().zip(&expected) {
                assert!(
                    (g - e).abs() < 1e-12,
                    "replicate {replicate}: {curve:?} vs {expected:?}"
                );
            }
        }
    }

    /// 120 easy paragraphs (`alpha` of one class, `beta` of the other) and 80 hard ones, four
    /// for each of 20 words `hard0` … `hard19` (even words one class, odd the other), every
    /// paragraph with a filler word of its own. A paragraph of a word the model has not seen is
    /// scored by the intercept alone, near ½: exactly what uncertainty sampling asks for
    /// first, one word after another (ties in store order, where consecutive hard paragraphs
    /// differ in word), while random order meets the 20 words only as a coupon collector does.
    fn separable() -> Dataset {
        let mut rows = Vec::new();
        let mut hard = 0;
        for i in 0..200 {
            let row = if i % 5 < 3 {
                let (word, class) = if i % 2 == 0 {
                    ("alpha", 0)
                } else {
                    ("beta", 1)
                };
                (format!("{word} filler{i}"), class)
            } else {
                hard += 1;
                let word = hard % 20;
                (format!("hard{word} filler{i}"), word % 2)
            };
            rows.push(row);
        }
        dataset(&rows)
    }

    #[test]
    fn uncertainty_sampling_wins_on_a_problem_made_for_it() {
        let experiment = experiment("[stats]\nmetric = \"accuracy\"\n");
        let mut spec = spec(&[Order::Random, Order::Uncertainty], 10, 4, 4);
        spec.budget = Some(60);
        let got = simulate(&experiment, &separable(), &spec, &Silent).unwrap();
        let (random, uncertainty) = (&got.curves[0], &got.curves[1]);
        eprintln!(
            "{:?}\n{:?}\n{:?}",
            random.points, uncertainty.points, got.pairings
        );
        let pairing = got
            .pairings
            .iter()
            .find(|p| p.order == Order::Uncertainty)
            .unwrap();
        assert!(pairing.area_difference.low.unwrap() > 0.0, "{pairing:?}");
        assert!(uncertainty.area.mean > random.area.mean);
    }

    #[test]
    fn same_seed_same_result_whatever_the_threads() {
        let experiment = experiment("");
        let mut spec = spec(
            &[Order::Uncertainty, Order::Random, Order::Article],
            4,
            4,
            6,
        );
        spec.budget = Some(28);
        let run = |threads| {
            crate::testing::in_pool(threads, || {
                simulate(&experiment, &separable(), &spec, &Silent).unwrap()
            })
        };
        let one = run(1);
        assert_eq!(one, run(2));
        let mut other = spec.clone();
        other.seed = 8;
        assert_ne!(
            one,
            simulate(&experiment, &separable(), &other, &Silent).unwrap()
        );
    }

    #[test]
    fn bad_settings_are_named() {
        let experiment = experiment("");
        let check = |raw: RawSimulation, message: &str| {
            let err = raw
                .check()
                .and_then(|spec| simulate(&experiment, &separable(), &spec, &Silent))
                .unwrap_err();
            assert!(err.to_string().contains(message), "{err}");
        };
        let good = RawSimulation {
            orders: vec![Order::Random],
            replicates: 2,
            seed: 1,
            budget: None,
            step: 5,
            initial: 4,
            held_out: 0.25,
        };
        check(
            RawSimulation {
                replicates: 0,
                ..good.clone()
            },
            "--seeds must be at least 1",
        );
        check(
            RawSimulation {
                step: 0,
                ..good.clone()
            },
            "--step must be at least 1",
        );
        check(
            RawSimulation {
                held_out: 1.0,
                ..good.clone()
            },
            "--held-out must be a fraction",
        );
        check(
            RawSimulation {
                orders: vec![Order::Random, Order::Random],
                ..good.clone()
            },
            "named twice",
        );
        check(
            RawSimulation {
                budget: Some(3),
                ..good.clone()
            },
            "smaller than the seed set",
        );
        check(
            RawSimulation {
                budget: Some(190),
                ..good.clone()
            },
            "more than the 150 paragraphs outside the held-out part (50 of 200)",
        );
        check(
            RawSimulation {
                initial: 1,
                ..good.clone()
            },
            "one paragraph of each of the 2 classes",
        );
    }

    #[test]
    fn sizes_step_up_to_the_budget() {
        assert_eq!(sizes(4, 3, 10), [4, 7, 10]);
        assert_eq!(sizes(4, 4, 10), [4, 8, 10]);
        assert_eq!(sizes(4, 4, 4), [4]);
    }

    #[test]
    fn area_is_the_mean_height_of_the_trapezoids() {
        // (2·(0.5 + 0.7)/2 + 4·(0.7 + 1.0)/2) / 6 = (1.2 + 3.4) / 6.
        let got = area(&[2, 4, 8], &[0.5, 0.7, 1.0]);
        assert!((got - 4.6 / 6.0).abs() < 1e-12, "{got}");
        assert_eq!(area(&[5], &[0.25]), 0.25);
    }

    #[test]
    fn estimates_are_t_intervals_of_the_mean() {
        // Mean 2, s = 1, n = 3: t(0.975, 2) = 4.302652729749464.
        let got = estimate(&[1.0, 2.0, 3.0], t_quantile(3, 0.95));
        let half = 4.302_652_729_749_464 / 3f64.sqrt();
        assert!((got.mean - 2.0).abs() < 1e-12);
        assert!((got.low.unwrap() - (2.0 - half)).abs() < 1e-9, "{got:?}");
        assert!((got.high.unwrap() - (2.0 + half)).abs() < 1e-9, "{got:?}");
        assert_eq!(estimate(&[0.5], t_quantile(1, 0.95)).low, None);
    }

    #[test]
    fn stratified_take_starts_with_one_of_each_class_then_keeps_shares() {
        let rows = vec![vec![0, 1, 2, 3, 4, 5], vec![10, 11], vec![20, 21, 22, 23]];
        assert_eq!(stratified_take(&rows, 3), [0, 10, 20]);
        // Shares of 6 from 6:2:4 are 3:1:2.
        let mut six = stratified_take(&rows, 6);
        six.sort_unstable();
        assert_eq!(six, [0, 1, 2, 10, 20, 21]);
    }

    #[test]
    fn labels_to_reach_takes_the_first_size_at_the_target() {
        let points: Vec<Estimate> = [0.5, 0.6, 0.8, 0.7]
            .iter()
            .map(|&mean| Estimate {
                mean,
                low: None,
                high: None,
            })
            .collect();
        let sizes = [10, 20, 30, 40];
        let check = |target, metric, expected| {
            assert_eq!(labels_to_reach(&sizes, &points, target, metric), expected);
        };
        check(0.6, Metric::Accuracy, Some(20));
        check(0.75, Metric::Accuracy, Some(30));
        check(0.9, Metric::Accuracy, None);
        check(0.55, Metric::LogLoss, Some(10));
        check(0.4, Metric::LogLoss, None);
    }
}
