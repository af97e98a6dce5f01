//! The page builder on small records made by hand: the page parses as XML, every figure is
//! there with as many marks as its data has (counted here from the inputs, by hand), and the
//! same inputs give the same bytes.

use std::collections::BTreeMap;

use roxmltree::{Document, Node, ParsingOptions};
use serde_json::json;

use super::*;
use crate::experiment::compare_records;

/// Six paragraphs of classes `a`/`b`, P(b) = 0.1, 0.3, 0.7 for the `a`s and 0.2, 0.8, 0.9
/// for the `b`s: two mistakes (`p3`, a `b` called `a` with 0.8; `p2`, an `a` called `b` with
/// 0.7).
fn record(name: &str, description: &str) -> Record {
    let p_b = [0.1, 0.3, 0.7, 0.2, 0.8, 0.9];
    let labels = ["a", "a", "a", "b", "b", "b"];
    let predictions: Vec<serde_json::Value> = (0..6)
        .map(|i| {
            json!({
                "id": format!("p{i}"), "repeat": 0, "fold": i % 2, "label": labels[i],
                "predicted": if p_b[i] >= 0.5 { "b" } else { "a" },
                "probabilities": { "a": 1.0 - p_b[i], "b": p_b[i] },
            })
        })
        .collect();
    let summary =
        |v: f64| json!({"mean": v, "std": 0.1, "pooled": v, "ci_low": v - 0.2, "ci_high": v + 0.1});
    let fold = |f: usize, v: f64| {
        json!({"repeat": 0, "fold": f, "train": 3, "test": 3, "metrics": {"balanced_accuracy": v},
               "converged": true, "gradient_norm": 1e-5, "warnings": []})
    };
    serde_json::from_value(json!({
        "format": "stance-record/1",
        "experiment": name,
        "description": description,
        "config": {"cv": {"scheme": "stratified_kfold", "folds": 2, "repeats": 1, "seed": 1},
                   "features": {"weighting": name}},
        "config_hash": "c0ffee", "data_hash": "da7a", "seed": 1,
        "version": {"crate": "0.1.0"},
        "classes": ["a", "b"],
        "data": {"store": "../labels", "annotator": "x", "paragraphs": 6,
                 "per_class": {"a": 3, "b": 3}, "low_confidence": 0,
                 "articles": ["art-1", "art-2"]},
        "interval": {"method": "bootstrap", "level": 0.95, "resamples": 100},
        "metrics": {"accuracy": summary(0.667), "balanced_accuracy": summary(0.667), "roc_auc": summary(0.778)},
        "baseline": {"accuracy": summary(0.5), "balanced_accuracy": summary(0.5)},
        "confusion": [[2, 1], [1, 2]],
        "permutation": {"metric": "balanced_accuracy", "observed": 0.667, "p_value": 0.2,
                        "n_permutations": 10, "resolution": 0.0909, "null_mean": 0.51,
                        "null_distribution": [{"value": 0.3, "count": 2}, {"value": 0.5, "count": 5},
                                              {"value": 0.52, "count": 1}, {"value": 0.8, "count": 2}]},
        "by_article": [
            {"article": "art-1", "paragraphs": 2, "accuracy": 0.5, "per_class": {"a": 1, "b": 1}},
            {"article": "art-2", "paragraphs": 4, "accuracy": 0.75, "per_class": {"a": 2, "b": 2}}],
        "learning_curve": [
            {"train_size": 1, "fraction": 0.33, "metric": "balanced_accuracy", "mean": 0.5, "pooled": 0.5, "ci_low": 0.2, "ci_high": 0.8},
            {"train_size": 2, "fraction": 0.67, "metric": "balanced_accuracy", "mean": 0.6, "pooled": 0.6, "ci_low": 0.3, "ci_high": 0.9},
            {"train_size": 3, "fraction": 1.0, "metric": "balanced_accuracy", "mean": 0.667, "pooled": 0.667, "ci_low": 0.4, "ci_high": 0.9}],
        "folds": [fold(0, 0.5), fold(1, if name == "other" { 0.9 } else { 0.8 })],
        "predictions": predictions,
        "warnings": ["a warning from the run"],
        "timings": {"started_at": "2026-01-01T00:00:00Z", "seconds_total": 1.0, "seconds_cv": 0.5, "seconds_permutation": 0.5},
    }))
    .unwrap()
}

fn paragraphs() -> BTreeMap<String, ParagraphText> {
    (0..6)
        .map(|i| {
            let text = ParagraphText {
                article: if i < 2 { "art-1" } else { "art-2" }.to_owned(),
                text: format!("text of paragraph {i} <with> & \"quotes\""),
            };
            (format!("p{i}"), text)
        })
        .collect()
}

fn terms(classes: &[&str]) -> Vec<ClassTerms> {
    classes
        .iter()
        .map(|class| ClassTerms {
            class: (*class).to_owned(),
            terms: (0..3)
                .map(|i| TermBar {
                    term: format!("{class}-term-{i}"),
                    weight: 0.5 - 0.1 * i as f64,
                    document_frequency: 2,
                    stability: Some(Stability {
                        folds: 2,
                        same_sign: 2 - usize::from(i == 2),
                        flipped: usize::from(i == 2),
                        absent: 0,
                    }),
                })
                .collect(),
        })
        .collect()
}

fn parse(page: &str) -> Document<'_> {
    let options = ParsingOptions {
        allow_dtd: true,
        ..ParsingOptions::default()
    };
    Document::parse_with_options(page, options).unwrap_or_else(|e| panic!("not XML: {e}"))
}

fn by_id<'a, 'i>(document: &'a Document<'i>, id: &str) -> Option<Node<'a, 'i>> {
    document
        .descendants()
        .find(|n| n.attribute("id") == Some(id))
}

/// Elements in the `<g class="layer">` of the figure `id`.
fn marks(document: &Document<'_>, id: &str, layer: &str) -> usize {
    let figure = by_id(document, id).unwrap_or_else(|| panic!("no figure {id}"));
    let group = figure
        .descendants()
        .find(|n| n.has_tag_name("g") && n.attribute("class") == Some(layer))
        .unwrap_or_else(|| panic!("{id} has no layer {layer}"));
    group.children().filter(Node::is_element).count()
}

fn check_marks(page: &str, expected: &[(&str, &str, usize)]) {
    let document = parse(page);
    for &(id, layer, count) in expected {
        assert_eq!(marks(&document, id, layer), count, "{id} {layer}");
    }
}

#[test]
fn one_experiment_has_every_figure_with_one_mark_per_datum() {
    let record = record("base", "counts");
    let paragraphs = paragraphs();
    let terms = terms(&["a", "b"]);
    let inputs = [ExperimentInputs {
        record: &record,
        paragraphs: &paragraphs,
        terms: Some(&terms),
    }];
    let page = render(&inputs, None).unwrap();
    check_marks(
        &page,
        &[
            // 2 × 2 confusion matrix: a cell and a count each.
            ("x-base-confusion-figure", "cells", 4),
            ("x-base-confusion-figure", "counts", 4),
            // Three curve fractions, one point each, one band.
            ("x-base-learning-curve-figure", "points", 3),
            ("x-base-learning-curve-figure", "band", 1),
            // Ten null values 0.3, 0.5, 0.52, 0.8 in 8 bins (0.5 / 8 rounds up to 0.1 wide):
            // 0.5 and 0.52 share one.
            ("x-base-permutation-figure", "bars", 3),
            ("x-base-permutation-figure", "observed", 2),
            // P(b) in five bins: 0.1 and 0.2 (on an edge: lower bin), 0.3, 0.7 and 0.8, 0.9.
            ("x-base-calibration-figure", "points", 4),
            ("x-base-calibration-figure", "intervals", 4),
            ("x-base-calibration-figure", "counts", 4),
            // Six distinct scores: six thresholds after (0, 0).
            ("x-base-roc-figure", "thresholds", 6),
            ("x-base-roc-figure", "curve", 1),
            ("x-base-articles-figure", "bars", 2),
            ("x-base-articles-figure", "intervals", 2),
            ("x-base-articles-figure", "notes", 2),
            // Both classes' three terms in one diverging figure, each with its stability.
            ("x-base-terms-figure", "bars", 6),
            ("x-base-terms-figure", "stability", 6),
        ],
    );
    // Every plot is an image with a title and a description, both referenced.
    let document = parse(&page);
    let svgs: Vec<Node<'_, '_>> = document
        .descendants()
        .filter(|n| n.has_tag_name("svg"))
        .collect();
    assert_eq!(svgs.len(), 7);
    for svg in svgs {
        assert_eq!(svg.attribute("role"), Some("img"));
        let labelled = svg.attribute("aria-labelledby").unwrap();
        for id in labelled.split(' ') {
            let node = by_id(&document, id).unwrap_or_else(|| panic!("no element {id}"));
            assert!(node.text().is_some_and(|t| !t.is_empty()), "{id} is empty");
        }
        let title = svg.children().find(|n| n.has_tag_name("title")).unwrap();
        assert!(title.text().unwrap().contains("n = "), "{:?}", title.text());
    }
}

#[test]
fn the_page_quotes_mistakes_and_warns_first() {
    let record = record("base", "counts <b>&amp;</b> \"quoted\"");
    let paragraphs = paragraphs();
    let inputs = [ExperimentInputs {
        record: &record,
        paragraphs: &paragraphs,
        terms: None,
    }];
    let page = render(&inputs, None).unwrap();
    let document = parse(&page);
    // The description is text, not markup.
    assert!(page.contains("counts &lt;b&gt;&amp;amp;&lt;/b&gt; &quot;quoted&quot;"));
    // The most confident mistake first: p3 (a at 0.8), then p2 (b at 0.7).
    let mistakes: Vec<String> = document
        .descendants()
        .filter(|n| n.has_tag_name("blockquote"))
        .map(|n| n.text().unwrap().to_owned())
        .collect();
    assert_eq!(
        mistakes,
        [
            "text of paragraph 3 <with> & \"quotes\"",
            "text of paragraph 2 <with> & \"quotes\""
        ]
    );
    // Warnings come before the first figure; without terms the page says so.
    let warnings = page.find("class=\"warnings\"").unwrap();
    assert!(warnings < page.find("<svg").unwrap());
    assert!(page.contains("a warning from the run"));
    assert!(page.contains("top terms were not computed"));
    assert!(!page.contains("<script"));
}

#[test]
fn the_same_inputs_give_the_same_bytes() {
    let record = record("base", "counts");
    let paragraphs = paragraphs();
    let terms = terms(&["a", "b"]);
    let inputs = [ExperimentInputs {
        record: &record,
        paragraphs: &paragraphs,
        terms: Some(&terms),
    }];
    assert_eq!(
        render(&inputs, None).unwrap(),
        render(&inputs, None).unwrap()
    );
}

#[test]
fn three_classes_have_a_terms_figure_per_class_and_no_roc_curve() {
    let mut record = record("three", "three classes");
    record.classes = vec!["a".into(), "b".into(), "c".into()];
    record.confusion = vec![vec![2, 1, 0], vec![1, 2, 0], vec![0, 0, 0]];
    let paragraphs = paragraphs();
    let terms = terms(&["a", "b", "c"]);
    let inputs = [ExperimentInputs {
        record: &record,
        paragraphs: &paragraphs,
        terms: Some(&terms),
    }];
    let page = render(&inputs, None).unwrap();
    check_marks(
        &page,
        &[
            ("x-three-confusion-figure", "cells", 9),
            ("x-three-terms-0-figure", "bars", 3),
            ("x-three-terms-1-figure", "bars", 3),
            ("x-three-terms-2-figure", "bars", 3),
        ],
    );
    let document = parse(&page);
    assert!(by_id(&document, "x-three-roc-figure").is_none());
}

#[test]
fn a_record_without_a_null_distribution_says_so_instead_of_plotting() {
    let mut record = record("old", "older record");
    record.permutation.as_mut().unwrap().null_distribution = None;
    let paragraphs = paragraphs();
    let inputs = [ExperimentInputs {
        record: &record,
        paragraphs: &paragraphs,
        terms: None,
    }];
    let page = render(&inputs, None).unwrap();
    assert!(by_id(&parse(&page), "x-old-permutation-figure").is_none());
    assert!(page.contains("predates recorded null distributions"));
}

#[test]
fn a_comparison_draws_each_difference_with_its_interval_and_links_each_page() {
    let (first, second) = (record("base", "counts"), record("other", "other"));
    let mut unpaired = record("unpaired", "other labels");
    unpaired.data_hash = "elsewhere".to_owned();
    let records = [first, second, unpaired];
    let comparison = compare_records(&records, "balanced_accuracy");
    let paragraphs = paragraphs();
    let inputs: Vec<ExperimentInputs<'_>> = records
        .iter()
        .map(|record| ExperimentInputs {
            record,
            paragraphs: &paragraphs,
            terms: None,
        })
        .collect();
    let page = render(&inputs, Some(&comparison)).unwrap();
    // Two rows against the reference; only the paired one has an interval.
    check_marks(
        &page,
        &[
            ("comparison-forest-figure", "points", 2),
            ("comparison-forest-figure", "intervals", 1),
            ("comparison-forest-figure", "notes", 2),
        ],
    );
    let document = parse(&page);
    let links: Vec<&str> = document
        .descendants()
        .filter(|n| n.has_tag_name("a"))
        .filter_map(|n| n.attribute("href"))
        .collect();
    for anchor in ["#x-base", "#x-other", "#x-unpaired"] {
        assert!(links.contains(&anchor), "{anchor} not linked");
        assert!(by_id(&document, &anchor[1..]).is_some(), "{anchor} missing");
    }
    // Every link stays on the page.
    assert!(links.iter().all(|l| l.starts_with('#')));
    assert!(page.contains("different labels (data_hash differs): not paired"));
}

#[test]
fn repeated_names_get_distinct_anchors() {
    let record = record("base", "counts");
    let paragraphs = paragraphs();
    let inputs = [ExperimentInputs {
        record: &record,
        paragraphs: &paragraphs,
        terms: None,
    }; 2];
    let comparison = compare_records(&[record.clone(), record.clone()], "balanced_accuracy");
    let page = render(&inputs, Some(&comparison)).unwrap();
    let document = parse(&page);
    assert!(by_id(&document, "x-base").is_some());
    assert!(by_id(&document, "x-base-2").is_some());
    assert!(matches!(render(&[], None), Err(HtmlError::Empty)));
}

#[test]
fn a_comparison_marks_experiments_of_other_classes_instead_of_a_difference() {
    let first = record("base", "counts");
    let mut three = record("three", "three classes");
    three.classes = vec!["a".into(), "b".into(), "c".into()];
    let records = [first, three];
    let comparison = compare_records(&records, "balanced_accuracy");
    let paragraphs = paragraphs();
    let inputs: Vec<ExperimentInputs<'_>> = records
        .iter()
        .map(|record| ExperimentInputs {
            record,
            paragraphs: &paragraphs,
            terms: None,
        })
        .collect();
    let page = render(&inputs, Some(&comparison)).unwrap();
    let document = parse(&page);
    let table = document
        .descendants()
        .find(|n| n.has_tag_name("table") && n.attribute("class") == Some("comparison"))
        .unwrap();
    let rows: Vec<Node> = table.children().filter(|n| n.has_tag_name("tr")).collect();
    let text = |row: &Node| -> String {
        row.descendants()
            .filter(|n| n.is_text())
            .map(|n| n.text().unwrap())
            .collect()
    };
    // Its values, each marked instead of differenced.
    let other = text(&rows[2]);
    assert!(other.contains("0.667 (other classes)"), "{other}");
    assert_eq!(
        other.matches("(other classes)").count(),
        comparison.columns.len(),
        "{other}"
    );
    assert!(!other.contains("(+") && !other.contains("(−"), "{other}");
    assert!(page.contains("Other classes than base's (a, b): three (a, b, c)."));
    assert!(page.contains("different classes: not paired"));
}
