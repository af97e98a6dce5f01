//! `stance report` on a copy of the seed labels (`tests/fixtures/seed-labels`): the page is
//! well-formed, has every figure with one mark per datum of the record beside it, reuses
//! current records, re-runs stale ones, and gives the same bytes for the same records.

use roxmltree::{Document, Node, ParsingOptions};
use serde_json::Value;

use crate::util::{Sandbox, copy_dir, seed_store};

const QUICK_STATS: &str = "[stats]\npermutations = 20\nresamples = 200\n";

fn with_labels() -> Sandbox {
    let sandbox = Sandbox::new();
    copy_dir(&seed_store(), &sandbox.join("labels"));
    sandbox
}

fn experiment(sandbox: &Sandbox, name: &str, body: &str) -> String {
    let rel = format!("experiments/{name}.toml");
    sandbox.write(&rel, format!("{body}\n{QUICK_STATS}"));
    rel
}

fn record(sandbox: &Sandbox, name: &str) -> Value {
    serde_json::from_str(&sandbox.read(&format!("experiments/results/{name}.json"))).unwrap()
}

fn report(sandbox: &Sandbox, args: &[&str]) -> String {
    let output = sandbox.stance().arg("report").args(args).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "report {args:?} failed: {stderr}");
    String::from_utf8(output.stdout).unwrap()
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

/// Distinct values among `values` (exactly equal floats are one value).
fn distinct(mut values: Vec<f64>) -> usize {
    values.sort_by(f64::total_cmp);
    values.dedup();
    values.len()
}

#[test]
fn one_experiment_gets_every_figure_with_a_mark_per_datum() {
    let sandbox = with_labels();
    let path = experiment(&sandbox, "base", "");
    let stdout = report(&sandbox, &[&path, "--out", "out/base.html"]);
    assert!(
        stdout.contains("wrote out/base.html (1 experiment"),
        "{stdout}"
    );
    // The record was missing, so it was run and written.
    let record = record(&sandbox, "base");
    let page = sandbox.read("out/base.html");
    let document = parse(&page);

    let classes = record["classes"].as_array().unwrap().len();
    let articles = record["by_article"].as_array().unwrap().len();
    let curve = record["learning_curve"].as_array().unwrap().len();
    let predictions = record["predictions"].as_array().unwrap();
    let p_stable: Vec<f64> = predictions
        .iter()
        .map(|p| p["probabilities"]["stable"].as_f64().unwrap())
        .collect();
    // Reliability bins: fifths of [0, 1], a probability on an edge in the lower bin.
    let mut bins: Vec<usize> = p_stable
        .iter()
        .map(|&p| {
            [0.2, 0.4, 0.6, 0.8]
                .iter()
                .filter(|&&edge| edge < p)
                .count()
        })
        .collect();
    bins.sort();
    bins.dedup();
    let null = record["permutation"]["null_distribution"]
        .as_array()
        .unwrap();
    let counted: u64 = null.iter().map(|v| v["count"].as_u64().unwrap()).sum();
    assert_eq!(
        counted,
        record["permutation"]["n_permutations"].as_u64().unwrap()
    );

    for (layer, count) in [("cells", classes * classes), ("counts", classes * classes)] {
        assert_eq!(marks(&document, "x-base-confusion-figure", layer), count);
    }
    assert_eq!(
        marks(&document, "x-base-learning-curve-figure", "points"),
        curve
    );
    assert_eq!(marks(&document, "x-base-articles-figure", "bars"), articles);
    assert_eq!(
        marks(&document, "x-base-articles-figure", "intervals"),
        articles
    );
    assert_eq!(
        marks(&document, "x-base-calibration-figure", "points"),
        bins.len()
    );
    assert_eq!(
        marks(&document, "x-base-calibration-figure", "counts"),
        bins.len()
    );
    assert_eq!(
        marks(&document, "x-base-roc-figure", "thresholds"),
        distinct(p_stable)
    );
    // At least one bar, and never more bars than distinct null values.
    let bars = marks(&document, "x-base-permutation-figure", "bars");
    assert!((1..=null.len()).contains(&bars), "{bars} bars");
    // Ten terms toward each class (the seed labels have hundreds of terms).
    assert_eq!(marks(&document, "x-base-terms-figure", "bars"), 20);
    assert_eq!(marks(&document, "x-base-terms-figure", "stability"), 20);

    // The most confident mistakes, with their text.
    let wrong = predictions
        .iter()
        .filter(|p| p["label"] != p["predicted"])
        .count();
    let quoted = document
        .descendants()
        .filter(|n| n.has_tag_name("blockquote"))
        .count();
    assert_eq!(quoted, wrong.min(6));

    // Self-contained: no script, nothing loaded, every link on the page.
    assert!(!page.contains("<script"));
    for node in document.descendants().filter(Node::is_element) {
        assert!(
            node.attribute("src").is_none(),
            "{:?} loads something",
            node.tag_name()
        );
        if let Some(href) = node.attribute("href") {
            assert!(href.starts_with('#'), "{href}");
        }
    }
    for svg in document.descendants().filter(|n| n.has_tag_name("svg")) {
        assert_eq!(svg.attribute("role"), Some("img"));
        assert!(svg.children().any(|n| n.has_tag_name("title")));
        assert!(svg.children().any(|n| n.has_tag_name("desc")));
    }
}

#[test]
fn a_comparison_reuses_current_records_and_gives_the_same_bytes() {
    let sandbox = with_labels();
    let base = experiment(&sandbox, "base", "");
    let binary = experiment(&sandbox, "binary", "[features]\nbinary = true\n");
    let three = experiment(
        &sandbox,
        "three",
        "[data]\nclasses = [\"fracturing\", \"stable\", \"neither\"]\n",
    );
    let args = [base.as_str(), &binary, &three, "--out", "cmp.html"];
    report(&sandbox, &args);
    let first = sandbox.read("cmp.html");
    let records_before: Vec<String> = ["base", "binary", "three"]
        .iter()
        .map(|n| sandbox.read(&format!("experiments/results/{n}.json")))
        .collect();

    report(&sandbox, &args);
    assert_eq!(
        sandbox.read("cmp.html"),
        first,
        "same records, different bytes"
    );
    let records_after: Vec<String> = ["base", "binary", "three"]
        .iter()
        .map(|n| sandbox.read(&format!("experiments/results/{n}.json")))
        .collect();
    assert_eq!(records_before, records_after, "current records were re-run");

    let document = parse(&first);
    // binary is paired with base (an interval); three has other classes: no difference is
    // drawn for it, it is marked instead.
    assert_eq!(marks(&document, "comparison-forest-figure", "points"), 1);
    assert!(first.contains("(other classes)"));
    assert_eq!(marks(&document, "comparison-forest-figure", "intervals"), 1);
    for anchor in ["x-base", "x-binary", "x-three"] {
        assert!(by_id(&document, anchor).is_some(), "no section {anchor}");
    }
    // Three classes: a terms figure per class, no ROC curve.
    for index in 0..3 {
        assert!(by_id(&document, &format!("x-three-terms-{index}-figure")).is_some());
    }
    assert!(by_id(&document, "x-three-roc-figure").is_none());
    assert!(by_id(&document, "x-binary-roc-figure").is_some());

    // A changed experiment is stale: its record is re-run, the others are kept.
    sandbox.write(
        &binary,
        format!("[features]\nbinary = true\nlowercase = false\n{QUICK_STATS}"),
    );
    report(&sandbox, &args);
    assert_ne!(
        sandbox.read("experiments/results/binary.json"),
        records_before[1]
    );
    assert_eq!(
        sandbox.read("experiments/results/base.json"),
        records_before[0]
    );
}

#[test]
fn report_errors_are_clear() {
    let sandbox = with_labels();
    let base = experiment(&sandbox, "base", "");
    let output = sandbox
        .stance()
        .args(["report", &base, "missing.toml", "--out", "x.html"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("missing.toml"), "{stderr}");
    assert!(!sandbox.join("x.html").exists());

    let output = sandbox
        .stance()
        .args([
            "report", &base, &base, "--metric", "nonsense", "--out", "x.html",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("metric `nonsense`"), "{stderr}");
}
