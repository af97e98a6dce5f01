//! Values of the experiment layer on six paragraphs, against numbers worked out without it:
//! scikit-learn and scipy (`scripts/gen-experiment-fixture.py`, committed as
//! `tests/fixtures/experiment/six.json`) for scoring, the record and the paired tests, and by
//! hand for a case whose classes a single word separates (permutation test, learning curve).
//!
//! The scored case: p0..p5 labelled x, x, y, x, y, y; article a holds p0 and p1, article b
//! the rest. Fold 0 tests p0, p2, p4, fold 1 p1, p3, p5. Two models' out-of-fold
//! probabilities are given (A, B), so no fitting is involved.

use std::path::Path;

use ndarray::Array2;
use serde_json::Value;

use super::*;
use crate::cv::Split;
use crate::metrics::majority_baseline;
use crate::model::{Convergence, Solver};
use crate::record::Record;
use crate::stats::interval::ConfidenceLevel;

const FIXTURE: &str = include_str!("../../tests/fixtures/experiment/six.json");

fn fixture() -> Value {
    serde_json::from_str(FIXTURE).expect("the fixture is JSON")
}

fn numbers(value: &Value) -> Vec<f64> {
    value
        .as_array()
        .expect("an array")
        .iter()
        .map(|v| v.as_f64().expect("a number"))
        .collect()
}

fn close(what: &str, got: Option<f64>, expected: &Value) {
    match (got, expected.as_f64()) {
        (Some(got), Some(expected)) => {
            assert!(
                (got - expected).abs() <= 1e-12,
                "{what}: {got} vs {expected}"
            )
        }
        (None, None) => {}
        (got, expected) => panic!("{what}: {got:?} vs {expected:?}"),
    }
}

const CLASSES: [&str; 2] = ["x", "y"];

/// The six paragraphs, as a dataset; `texts` are theirs.
fn dataset(texts: [&str; 6]) -> Dataset {
    let fixture = fixture();
    let labels = numbers(&fixture["labels"]);
    let articles = numbers(&fixture["articles"]);
    let items = (0..6)
        .map(|i| Item {
            id: format!("p{i}"),
            article: articles[i] as usize,
            text: texts[i].to_owned(),
            class: labels[i] as usize,
            low_confidence: false,
            split: None,
        })
        .collect();
    Dataset::from_items(
        CLASSES.map(String::from).to_vec(),
        vec!["a".into(), "b".into()],
        items,
    )
}

/// The fixture's two folds, each with the out-of-fold probabilities `probability_y` (of
/// class y, by paragraph) and the majority baseline of its training rows.
fn fold_results(labels: &[usize], probability_y: &[f64]) -> Vec<FoldResult> {
    let folds = fixture()["folds"].clone();
    folds
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
        .map(|(fold, test)| {
            let test: Vec<usize> = numbers(test).iter().map(|&i| i as usize).collect();
            let train: Vec<usize> = (0..6).filter(|i| !test.contains(i)).collect();
            let train_labels: Vec<usize> = train.iter().map(|&i| labels[i]).collect();
            let probabilities = Array2::from_shape_fn((test.len(), 2), |(row, class)| {
                let p = probability_y[test[row]];
                if class == 1 { p } else { 1.0 - p }
            });
            FoldResult {
                baseline: majority_baseline(&train_labels, 2, test.len()).unwrap(),
                split: Split::of_rows(0, fold, train, test),
                probabilities,
                solver: Solver::Lbfgs,
                convergence: Convergence {
                    converged: true,
                    gradient_norm: 0.0,
                    tolerance: 1e-4,
                    iterations: Some(1),
                    message: String::new(),
                },
                choices: Vec::new(),
            }
        })
        .collect()
}

fn experiment(toml: &str) -> Experiment {
    let toml = format!("[data]\nclasses = [\"x\", \"y\"]\n{toml}");
    Experiment::parse(Path::new("six.toml"), &toml).unwrap()
}

fn intervals() -> IntervalSpec {
    IntervalSpec {
        unit: BootstrapUnit::Paragraphs,
        resamples: 50,
        level: ConfidenceLevel::new(0.95).unwrap(),
        seed: 7,
    }
}

/// Model `name`'s evaluation and its record (`a` or `b` of the fixture).
fn scored(name: &str) -> (Evaluation, Record) {
    let fixture = fixture();
    let dataset = dataset(["t0", "t1", "t2", "t3", "t4", "t5"]);
    let labels = dataset.labels();
    let folds = fold_results(&labels, &numbers(&fixture["probability_y"][name]));
    let metric = crate::metrics::Metric::BalancedAccuracy;
    let evaluation = evaluate::evaluate(
        &folds,
        &labels,
        &dataset.groups(),
        2,
        &intervals(),
        metric,
        false,
    )
    .unwrap();
    let output = RunOutput {
        dataset,
        metric,
        folds,
        evaluation: evaluation.clone(),
        permutation: None,
        permutations_undefined: 0,
        warnings: Vec::new(),
        started_at: jiff::Timestamp::UNIX_EPOCH,
        seconds_cv: 0.0,
        seconds_bootstrap: 0.0,
        seconds_permutation: 0.0,
        seconds_total: 0.0,
    };
    let experiment = experiment("[cv]\nfolds = 2\n");
    (evaluation, record_of(&experiment, &output, None))
}

#[test]
fn evaluate_scores_every_metric_as_scikit_learn_does() {
    let fixture = fixture();
    let (evaluation, _) = scored("a");
    let keys: Vec<String> = evaluation
        .metrics
        .iter()
        .map(|m| m.key(&CLASSES.map(String::from)))
        .collect();
    assert_eq!(keys.len(), 11, "{keys:?}");
    for (values, expected) in [
        (&evaluation.model, &fixture["a"]),
        (&evaluation.baseline, &fixture["baseline"]),
    ] {
        for (value, key) in values.iter().zip(&keys) {
            let expected = &expected[key];
            close(&format!("{key} mean"), value.mean, &expected["mean"]);
            close(&format!("{key} std"), value.std, &expected["std"]);
            close(&format!("{key} pooled"), value.pooled, &expected["pooled"]);
        }
    }
    for (fold, scores) in evaluation.folds.iter().enumerate() {
        assert_eq!((scores.fold, scores.train, scores.test), (fold, 3, 3));
        for (value, key) in scores.values.iter().zip(&keys) {
            close(
                &format!("fold {fold} {key}"),
                *value,
                &fixture["a"][key]["folds"][fold],
            );
        }
    }
    let confusion: Vec<Vec<usize>> = (0..2)
        .map(|t| (0..2).map(|p| evaluation.confusion.count(t, p)).collect())
        .collect();
    assert_eq!(
        serde_json::to_value(&confusion).unwrap(),
        fixture["confusion_a"]
    );
    // Article a: p0 right, p1 wrong; article b: p2, p3, p5 right, p4 wrong.
    let by_article: Vec<(usize, f64, Vec<usize>)> = evaluation
        .by_article
        .iter()
        .map(|a| (a.paragraphs, a.accuracy, a.per_class.clone()))
        .collect();
    assert_eq!(by_article, [(2, 0.5, vec![2, 0]), (4, 0.75, vec![1, 3])]);
    assert_eq!(numbers(&fixture["article_accuracy_a"]), [0.5, 0.75]);
}

#[test]
fn a_record_holds_what_was_scored_in_store_order() {
    let fixture = fixture();
    let (_, record) = scored("a");
    assert_eq!(record.format, crate::record::FORMAT);
    assert_eq!((record.experiment.as_str(), record.seed), ("six", 42));
    assert_eq!(record.classes, CLASSES);
    assert_eq!(record.data.paragraphs, 6);
    assert_eq!(record.data.per_class["x"], 3);
    assert_eq!(record.data.articles, ["a", "b"]);
    for (recorded, expected) in [
        (&record.metrics, &fixture["a"]),
        (&record.baseline, &fixture["baseline"]),
    ] {
        assert_eq!(recorded.len(), 11);
        for (key, summary) in recorded {
            let expected = &expected[key];
            close(&format!("{key} mean"), summary.mean, &expected["mean"]);
            close(&format!("{key} std"), summary.std, &expected["std"]);
            close(
                &format!("{key} pooled"),
                summary.pooled,
                &expected["pooled"],
            );
        }
    }
    assert_eq!(
        serde_json::to_value(&record.confusion).unwrap(),
        fixture["confusion_a"]
    );
    let articles: Vec<(&str, usize, f64)> = record
        .by_article
        .iter()
        .map(|a| (a.article.as_str(), a.paragraphs, a.accuracy))
        .collect();
    assert_eq!(articles, [("a", 2, 0.5), ("b", 4, 0.75)]);
    for (fold, recorded) in record.folds.iter().enumerate() {
        assert_eq!((recorded.fold, recorded.train, recorded.test), (fold, 3, 3));
        for (key, value) in &recorded.metrics {
            close(
                &format!("fold {fold} {key}"),
                *value,
                &fixture["a"][key]["folds"][fold],
            );
        }
    }
    // One prediction per paragraph, in store order (not fold order), named by class.
    let p_y = numbers(&fixture["probability_y"]["a"]);
    let predictions: Vec<(&str, usize, &str, &str)> = record
        .predictions
        .iter()
        .map(|p| {
            (
                p.id.as_str(),
                p.fold,
                p.label.as_str(),
                p.predicted.as_str(),
            )
        })
        .collect();
    assert_eq!(
        predictions,
        [
            ("p0", 0, "x", "x"),
            ("p1", 1, "x", "y"),
            ("p2", 0, "y", "y"),
            ("p3", 1, "x", "x"),
            ("p4", 0, "y", "x"),
            ("p5", 1, "y", "y"),
        ]
    );
    for (p, &expected) in record.predictions.iter().zip(&p_y) {
        assert_eq!(p.probabilities["y"], expected);
        assert_eq!(p.probabilities["x"], 1.0 - expected);
    }
}

#[test]
fn compare_pairs_b_against_a_as_scipy_does() {
    let fixture = fixture();
    let expected = &fixture["paired_b_against_a"];
    let records = [scored("a").1, scored("b").1];
    let comparison = compare_records(&records, "balanced_accuracy");
    assert_eq!(comparison.rows.len(), 2);
    let column = comparison
        .columns
        .iter()
        .position(|c| c == "balanced_accuracy")
        .unwrap();
    let pooled = |name: &str| {
        fixture[name]["balanced_accuracy"]["pooled"]
            .as_f64()
            .unwrap()
    };
    let difference = comparison.rows[1].differences[column].unwrap();
    assert!((difference - (pooled("b") - pooled("a"))).abs() <= 1e-12);
    assert!(comparison.rows[0].paired.is_none());
    let paired = comparison.rows[1].paired.clone().unwrap().unwrap();
    assert_eq!(paired.folds, 2);
    close(
        "mean difference",
        Some(paired.mean_difference),
        &expected["mean_difference"],
    );
    let t_test = paired.t_test.unwrap();
    close("t", Some(t_test.t), &expected["t"]);
    assert_eq!(t_test.df as u64, expected["df"].as_u64().unwrap());
    let p = expected["p_value"].as_f64().unwrap();
    assert!(
        (t_test.p_value - p).abs() <= 1e-10,
        "{} vs {p}",
        t_test.p_value
    );
    assert_eq!(
        (paired.mcnemar.b, paired.mcnemar.c),
        (
            expected["mcnemar_b"].as_u64().unwrap(),
            expected["mcnemar_c"].as_u64().unwrap()
        )
    );
    close(
        "McNemar p",
        Some(paired.mcnemar.p_value),
        &expected["mcnemar_p_value"],
    );
    // Two folds are too few for the t-test to mean anything, and it says so.
    assert!(paired.t_verdict.too_few);
    assert!(comparison.differing_keys.is_empty());
}

/// Six paragraphs a single word separates: `alpha` in every x, `beta` in every y.
const SEPARABLE: [&str; 6] = [
    "alpha north",
    "alpha south",
    "beta east",
    "alpha west",
    "beta up",
    "beta down",
];

#[test]
fn a_separable_case_scores_one_and_its_permutation_p_ranks_it() {
    let experiment = experiment("[cv]\nfolds = 3\n");
    let dataset = dataset(SEPARABLE);
    let labels = dataset.labels();
    let groups = dataset.groups();
    let learner = Learner::of_experiment(&experiment, &dataset.texts(), &groups, 2);
    let splits = crate::cv::splits(experiment.cv(), dataset.classes(), &labels, &groups).unwrap();
    // Every training fold holds two of each class, so every test paragraph is right.
    let folds = cross_validate(&learner, &labels, &splits, &|| {}).unwrap();
    let metric = crate::metrics::Metric::BalancedAccuracy;
    let evaluation =
        evaluate::evaluate(&folds, &labels, &groups, 2, &intervals(), metric, false).unwrap();
    let observed = evaluation.model_value(metric).and_then(|v| v.pooled);
    assert_eq!(observed, Some(1.0));

    let inputs = permutation::PermutationInputs {
        learner: &learner,
        scheme: experiment.cv(),
        holdout: None,
        labels: &labels,
        groups: &groups,
        class_names: dataset.classes(),
        metric,
        seed: 3,
    };
    let (outcome, undefined) =
        permutation::permutation_test(&inputs, 1.0, 40, None, &|| {}).unwrap();
    let outcome = outcome.unwrap();
    let n = outcome.null_values.len();
    assert_eq!(n + undefined, 40);
    assert_eq!(outcome.result.n_permutations, n);
    // p = (1 + shuffles at least as good) / (1 + shuffles), counted here from the null values.
    let as_good = outcome.null_values.iter().filter(|&&v| v >= 1.0).count();
    assert_eq!(
        outcome.result.p_value,
        (1 + as_good) as f64 / (1 + n) as f64
    );
    assert_eq!(outcome.result.resolution, 1.0 / (1 + n) as f64);
    let mean = outcome.null_values.iter().sum::<f64>() / n as f64;
    assert!((outcome.null_mean - mean).abs() <= 1e-12);
    // Of the 20 ways to pick three paragraphs as x, only the true one and its mirror score 1:
    // most shuffles score less.
    assert!(as_good < n / 2, "{as_good} of {n}");
}

#[test]
fn the_learning_curve_of_a_separable_case_is_flat_at_one() {
    let experiment = experiment(
        "[cv]\nfolds = 3\n[stats]\nresamples = 100\npermutations = 0\ncurve_fractions = [0.5, 1.0]\n",
    );
    let dataset = dataset(SEPARABLE);
    let points = learning_curve(&experiment, &dataset, None, &Silent).unwrap();
    // Each training fold holds 4 paragraphs (2 per class): half is 2, one per class.
    let sizes: Vec<(f64, usize)> = points.iter().map(|p| (p.fraction, p.train_size)).collect();
    assert_eq!(sizes, [(0.5, 2), (1.0, 4)]);
    for point in &points {
        assert_eq!(point.value.pooled, Some(1.0), "at {}", point.fraction);
        assert_eq!(point.value.mean, Some(1.0), "at {}", point.fraction);
    }
}
