//! The HTML around the figures: records and gathered inputs in, the page's text out.
//!
//! The page is well-formed XML as well as HTML (every element closed, nothing but XML's own
//! entities), so any XML parser can check it. Numbers carry three decimals and their
//! interval wherever the record has one.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use crate::cv::RawCvConfig;
use crate::experiment::Comparison;
use crate::metrics::{Metric, calibration_bins, roc_curve};
use crate::record::{MetricSummary, Record};
use crate::stats::proportion::wilson_interval;

use super::derive::{self, confidence, probability};
use super::plot::{self, BLUE, GREEN, ORANGE, PURPLE};
use super::text::{escape, p_value};

/// Each class's colour, by index, the same in every figure: Okabe and Ito's.
const CLASS_COLOURS: [plot::Colour; 4] = [ORANGE, BLUE, GREEN, PURPLE];
use super::{ClassTerms, ExperimentInputs, HtmlError};

/// The page for `experiments`: with one, its results; with several, `comparison` (of the
/// same records, the first the reference) above each experiment's results.
pub fn render(
    experiments: &[ExperimentInputs<'_>],
    comparison: Option<&Comparison>,
) -> Result<String, HtmlError> {
    if experiments.is_empty() {
        return Err(HtmlError::Empty);
    }
    document(experiments, comparison)
}

/// Paragraphs quoted among the most confident mistakes.
const MISTAKES: usize = 6;
/// Above this many experiments, differing config keys are grouped by value, not tabulated.
const WIDE_TABLE_EXPERIMENTS: usize = 5;
/// Bins of the permutation histogram, at most (about).
const NULL_BINS: usize = 30;

const CSS: &str = "
:root { color-scheme: light; }
body { font-family: system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif;
  color: #1a1a1a; background: #fff; margin: 0 auto; max-width: 1000px; padding: 1.5rem 1.25rem 3rem;
  line-height: 1.45; font-size: 15px; }
h1 { font-size: 1.6rem; margin: 0 0 .25rem; }
h2 { font-size: 1.35rem; margin: 2.5rem 0 .5rem; padding-top: .75rem; border-top: 3px solid #0072b2; }
h3 { font-size: 1.1rem; margin: 1.5rem 0 .5rem; }
p.lead { color: #444; margin-top: 0; }
table { border-collapse: collapse; margin: .5rem 0 1rem; font-size: .9rem; }
th, td { padding: .25rem .6rem; border-bottom: 1px solid #ddd; text-align: right; vertical-align: top; }
th { background: #f3f3f3; font-weight: 600; }
th:first-child, td:first-child, td.text, th.text { text-align: left; }
td.num, span.num { font-variant-numeric: tabular-nums; }
.ci { color: #555; font-size: .85em; white-space: nowrap; }
table.comparison { font-size: .85rem; }
table.comparison td.num { white-space: nowrap; }
table.facts th { text-align: left; background: none; font-weight: 600; width: 11rem; }
table.facts td { text-align: left; }
.warnings { border: 2px solid #d55e00; background: #fff4ec; padding: .5rem 1rem; margin: 1rem 0; }
.warnings h3 { margin: .25rem 0; color: #a34700; font-size: 1rem; }
.warnings ul { margin: .25rem 0; padding-left: 1.25rem; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(440px, 1fr)); gap: 1rem 1.25rem; }
figure { margin: 0 0 1rem; break-inside: avoid; page-break-inside: avoid; }
figure.wide { grid-column: 1 / -1; }
svg.plot { display: block; width: 100%; height: auto; max-width: 100%; border: 1px solid #e4e4e4; }
figcaption { font-size: .85rem; color: #444; margin-top: .35rem; }
.key { display: inline-block; width: .9em; height: .9em; vertical-align: -.1em; margin: 0 .2em 0 .5em; border: 1px solid #0003; }
ol.mistakes { padding-left: 1.5rem; }
ol.mistakes li { margin-bottom: .9rem; break-inside: avoid; }
ol.mistakes .meta { font-size: .85rem; color: #444; margin: 0 0 .2rem; }
blockquote { margin: 0; padding: .35rem .75rem; border-left: 4px solid #e69f00; background: #fafafa; }
nav ul { columns: 3; padding-left: 1.25rem; }
code { font-size: .9em; }
.muted { color: #555; }
@media print {
  body { max-width: none; padding: 0; font-size: 11pt; }
  h2 { break-before: page; }
  section:first-of-type h2 { break-before: auto; }
  .grid { display: block; }
  figure { max-width: 16cm; }
  figure.wide { max-width: none; }
  h2, h3 { break-after: avoid; page-break-after: avoid; }
  a { color: inherit; text-decoration: none; }
}
";

/// `decimals` decimals with a true minus sign, never `-0.000`; `∞` for infinities.
fn fixed(value: f64, decimals: usize) -> String {
    if value.is_infinite() {
        return if value < 0.0 { "\u{2212}∞" } else { "∞" }.to_owned();
    }
    let text = format!("{:.*}", decimals, value.abs());
    if value < 0.0 && text.bytes().any(|b| b.is_ascii_digit() && b != b'0') {
        format!("\u{2212}{text}")
    } else {
        text
    }
}

fn three(value: f64) -> String {
    fixed(value, 3)
}

fn number(value: Option<f64>) -> String {
    match value {
        Some(v) if v.is_finite() => three(v),
        Some(v) => v.to_string(),
        None => "–".to_owned(),
    }
}

fn ci(low: Option<f64>, high: Option<f64>) -> String {
    match (low, high) {
        (Some(low), Some(high)) => {
            format!(
                "<span class=\"ci\">[{}, {}]</span>",
                three(low),
                three(high)
            )
        }
        _ => String::new(),
    }
}

/// A difference with its sign: `+0.091`, `−0.045`, `0.000`.
fn signed(value: f64) -> String {
    let text = three(value);
    if value > 0.0 && text.bytes().any(|b| b.is_ascii_digit() && b != b'0') {
        format!("+{text}")
    } else {
        text
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// `balanced_accuracy` → `balanced accuracy`, `f1:stable` → `F1 (stable)`.
pub fn metric_label(key: &str) -> String {
    if let Some((metric, classes)) = key.split_once(':') {
        return format!("{} ({})", metric_label(metric), classes.replace(',', ", "));
    }
    match key {
        "balanced_accuracy" => "balanced accuracy".to_owned(),
        "macro_f1" => "macro-F1".to_owned(),
        "log_loss" => "log loss".to_owned(),
        "roc_auc" => "ROC AUC".to_owned(),
        "f1" => "F1".to_owned(),
        "f1_mean" => "mean F1".to_owned(),
        other => other.replace('_', " "),
    }
}

/// Summary metrics first, then per-class ones, then any the list does not know.
fn metric_order(record: &Record) -> Vec<String> {
    let mut keys: Vec<String> = Metric::all(record.classes.len())
        .into_iter()
        .map(|metric| metric.key(&record.classes))
        .filter(|key| record.metrics.contains_key(key))
        .collect();
    let known: BTreeSet<String> = keys.iter().cloned().collect();
    keys.extend(
        record
            .metrics
            .keys()
            .filter(|key| !known.contains(*key))
            .cloned(),
    );
    keys
}

/// The record's cross-validation scheme in words.
fn scheme(record: &Record) -> String {
    let cv = &record.config["cv"];
    match serde_json::from_value::<RawCvConfig>(cv.clone()).map(|raw| raw.check()) {
        Ok(Ok(scheme)) => scheme.describe(record.data.articles.len()),
        _ => cv["scheme"].as_str().unwrap_or("?").to_owned(),
    }
}

/// Ids for each experiment's section: its name made safe, numbered when names repeat.
fn anchors(experiments: &[ExperimentInputs<'_>]) -> Vec<String> {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    experiments
        .iter()
        .map(|inputs| {
            let slug: String = inputs
                .record
                .experiment
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                        c
                    } else {
                        '-'
                    }
                })
                .collect();
            let slug = format!("x-{slug}");
            let count = seen.entry(slug.clone()).or_insert(0);
            *count += 1;
            if *count == 1 {
                slug
            } else {
                format!("{slug}-{count}")
            }
        })
        .collect()
}

pub fn document(
    experiments: &[ExperimentInputs<'_>],
    comparison: Option<&Comparison>,
) -> Result<String, HtmlError> {
    let anchors = anchors(experiments);
    let names: Vec<&str> = experiments
        .iter()
        .map(|e| e.record.experiment.as_str())
        .collect();
    let title = if experiments.len() == 1 {
        format!("stance report: {}", names[0])
    } else {
        format!("stance report: {} experiments", experiments.len())
    };
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n<title>{}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<header>\n<h1>{}</h1>\n",
        escape(&title),
        escape(&title)
    );
    let _ = writeln!(
        out,
        "<p class=\"lead\">Cross-validated results from the records of {}. Every number is computed on out-of-fold predictions; intervals are {:.0}% intervals; n is given with every figure.</p>\n</header>",
        escape(&names.join(", ")),
        experiments[0].record.interval.level * 100.0
    );
    if let Some(comparison) = comparison.filter(|_| experiments.len() > 1) {
        comparison_section(&mut out, experiments, &anchors, comparison)?;
    }
    for (inputs, anchor) in experiments.iter().zip(&anchors) {
        experiment_section(&mut out, inputs, anchor)?;
    }
    out.push_str("</body>\n</html>\n");
    Ok(out)
}

// ---------------------------------------------------------------------------------------
// One experiment

fn experiment_section(
    out: &mut String,
    inputs: &ExperimentInputs<'_>,
    anchor: &str,
) -> Result<(), HtmlError> {
    let record = inputs.record;
    let level = record.interval.level;
    let _ = writeln!(
        out,
        "<section id=\"{anchor}\" class=\"experiment\">\n<h2>{}{}</h2>",
        escape(&record.experiment),
        record
            .description
            .as_deref()
            .map(|d| format!(": <span class=\"muted\">{}</span>", escape(d)))
            .unwrap_or_default()
    );

    let mut warnings = record.warnings.clone();
    warnings.extend(notes(record, inputs));
    if !warnings.is_empty() {
        let _ = writeln!(
            out,
            "<div class=\"warnings\" role=\"note\">\n<h3>Warnings</h3>\n<ul>"
        );
        for warning in &warnings {
            let _ = writeln!(out, "<li>{}</li>", escape(warning));
        }
        out.push_str("</ul>\n</div>\n");
    }

    facts(out, record);
    metrics_table(out, record);

    out.push_str("<h3>Figures</h3>\n<div class=\"grid\">\n");
    figure(
        out,
        anchor,
        "confusion",
        plot::confusion(
            &format!("{anchor}-confusion"),
            &record.classes,
            &record.confusion,
        )?,
        "Rows: the true class; columns: the class predicted out of fold; shade and percentage: share of the row.",
    );
    if let Some(svg) = learning_curve(record, anchor)? {
        figure(
            out,
            anchor,
            "learning-curve",
            svg,
            &format!(
                "Training folds cut to a fraction of their paragraphs, test folds unchanged. <span class=\"key\" style=\"background:#56b4e9\"></span>{:.0}% interval, <span class=\"key\" style=\"background:#606060\"></span>majority baseline.",
                level * 100.0
            ),
        );
    }
    if let Some(svg) = permutation(record, anchor)? {
        figure(
            out,
            anchor,
            "permutation",
            svg,
            "Each bar counts permutations of the labels whose whole cross-validation scored in that bin. <span class=\"key\" style=\"background:#d55e00\"></span>observed with the true labels; p = (1 + permutations at least as good) / (1 + permutations).",
        );
    }
    if let Some(svg) = reliability(record, anchor)? {
        figure(
            out,
            anchor,
            "calibration",
            svg,
            &format!(
                "Out-of-fold probabilities{} in equal-width bins; each point is a bin, with its {:.0}% Wilson interval and its count. Points on the diagonal are calibrated.",
                repeat_note(record),
                level * 100.0
            ),
        );
    }
    if let Some(svg) = roc(record, anchor)? {
        figure(
            out,
            anchor,
            "roc",
            svg,
            &format!(
                "Out-of-fold probabilities{}; one point per distinct probability. AUC with its interval from the record.",
                repeat_note(record)
            ),
        );
    }
    if let Some(svg) = articles(record, anchor)? {
        figure(
            out,
            anchor,
            "articles",
            svg,
            &format!(
                "Bars: accuracy on each article's paragraphs; lines: {:.0}% Wilson intervals (paragraphs taken as independent); dashed: accuracy on all paragraphs.",
                level * 100.0
            ),
        );
    }
    out.push_str("</div>\n");

    if let Some(terms) = inputs.terms {
        terms_figures(out, record, anchor, terms)?;
    }
    mistakes(out, inputs);
    configuration(out, record);
    out.push_str("</section>\n");
    Ok(())
}

/// What the page itself must warn about, beyond the record's warnings.
fn notes(record: &Record, inputs: &ExperimentInputs<'_>) -> Vec<String> {
    let mut notes = Vec::new();
    match &record.permutation {
        None => notes.push("no permutation test in this record: nothing says whether it beats chance (set [stats] permutations above 0)".to_owned()),
        Some(p) if p.null_distribution.is_none() => notes.push(
            "this record predates recorded null distributions: re-run the experiment to see the permutation histogram".to_owned(),
        ),
        Some(_) => {}
    }
    if record.learning_curve.is_none() {
        notes.push("no learning curve in this record (`stance run` draws one)".to_owned());
    }
    if inputs.terms.is_none() {
        notes.push("top terms were not computed for this page".to_owned());
    }
    notes
}

fn repeat_note(record: &Record) -> String {
    match derive::repeats(record) {
        0 | 1 => String::new(),
        r => format!(" of the first of {r} repeats"),
    }
}

fn figure(out: &mut String, anchor: &str, kind: &str, svg: String, caption: &str) {
    let class = if kind == "terms" { " wide" } else { "" };
    let _ = writeln!(
        out,
        "<figure id=\"{anchor}-{kind}-figure\" class=\"figure {kind}{class}\">\n{svg}\n<figcaption>{caption}</figcaption>\n</figure>"
    );
}

fn facts(out: &mut String, record: &Record) {
    let data = &record.data;
    let per_class: Vec<String> = record
        .classes
        .iter()
        .map(|c| {
            format!(
                "{} {}",
                data.per_class.get(c).copied().unwrap_or(0),
                escape(c)
            )
        })
        .collect();
    let mut rows: Vec<(&str, String)> = vec![
        (
            "data",
            format!(
                "{} ({}) from {}{}",
                plural(data.paragraphs, "paragraph", "paragraphs"),
                per_class.join(", "),
                plural(data.articles.len(), "article", "articles"),
                if data.low_confidence > 0 {
                    format!("; {} marked low-confidence", data.low_confidence)
                } else {
                    String::new()
                }
            ),
        ),
        ("annotator", escape(&data.annotator)),
        (
            "label store",
            format!("<code>{}</code>", escape(&data.store)),
        ),
        ("cross-validation", escape(&scheme(record))),
        ("seed", record.seed.to_string()),
        ("intervals", escape(&record.interval.method)),
        (
            "config hash",
            format!("<code>{}</code>", escape(&record.config_hash)),
        ),
        (
            "data hash",
            format!("<code>{}</code>", escape(&record.data_hash)),
        ),
        (
            "version",
            format!(
                "stance {}{}{}",
                escape(&record.version.crate_version),
                record
                    .version
                    .git_commit
                    .as_deref()
                    .map(|c| format!(", commit <code>{}</code>", escape(&c[..c.len().min(12)])))
                    .unwrap_or_default(),
                if record.version.git_dirty == Some(true) {
                    " (uncommitted changes)"
                } else {
                    ""
                }
            ),
        ),
        ("run at", escape(&record.timings.started_at)),
    ];
    if record.description.is_none() {
        rows.insert(0, ("description", "(none)".to_owned()));
    }
    out.push_str("<table class=\"facts\">\n");
    for (key, value) in rows {
        let _ = writeln!(out, "<tr><th scope=\"row\">{key}</th><td>{value}</td></tr>");
    }
    out.push_str("</table>\n");

    // Paragraphs per article and class.
    out.push_str("<table class=\"articles\">\n<tr><th scope=\"col\">article</th><th scope=\"col\">paragraphs</th>");
    for class in &record.classes {
        let _ = write!(out, "<th scope=\"col\">{}</th>", escape(class));
    }
    out.push_str("</tr>\n");
    for article in &record.by_article {
        let _ = write!(
            out,
            "<tr><td>{}</td><td class=\"num\">{}</td>",
            escape(&article.article),
            article.paragraphs
        );
        for class in &record.classes {
            let _ = write!(
                out,
                "<td class=\"num\">{}</td>",
                article.per_class.get(class).copied().unwrap_or(0)
            );
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table>\n");
}

fn metrics_table(out: &mut String, record: &Record) {
    let level = format!("{:.0}% interval", record.interval.level * 100.0);
    let _ = writeln!(
        out,
        "<h3>Metrics</h3>\n<table class=\"metrics\">\n<tr><th scope=\"col\">metric</th><th scope=\"col\">model</th><th scope=\"col\">{level}</th><th scope=\"col\">folds mean ± sd</th><th scope=\"col\">majority baseline</th><th scope=\"col\">{level}</th></tr>"
    );
    for key in metric_order(record) {
        let model = &record.metrics[&key];
        let baseline = record.baseline.get(&key);
        let spread = match (model.mean, model.std) {
            (Some(mean), Some(std)) => format!("{mean:.3} ± {std:.3}"),
            (Some(mean), None) => format!("{mean:.3}"),
            _ => "–".to_owned(),
        };
        let lower = if key == "log_loss" {
            " (lower is better)"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "<tr><td>{}{lower}</td><td class=\"num\">{}</td><td>{}</td><td class=\"num\">{spread}</td><td class=\"num\">{}</td><td>{}</td></tr>",
            escape(&metric_label(&key)),
            number(model.pooled),
            ci(model.ci_low, model.ci_high),
            number(baseline.and_then(|b| b.pooled)),
            baseline.map_or(String::new(), |b| ci(b.ci_low, b.ci_high)),
        );
    }
    out.push_str("</table>\n");
    let _ = writeln!(
        out,
        "<p class=\"muted\">Model and baseline on all out-of-fold predictions pooled; the majority baseline predicts each training fold's most frequent class. Folds mean ± sd is the spread across folds, not a confidence interval.{}</p>",
        record
            .permutation
            .as_ref()
            .map(|p| format!(
                " Against chance: {} {:.3} with the true labels, {:.3} on average with shuffled labels, p = {} ({} permutations{}, smallest attainable p {:.4}).",
                escape(&metric_label(&p.metric)),
                p.observed,
                p.null_mean,
                p_value(p.p_value),
                p.n_permutations,
                p.planned.map_or(String::new(), |planned| format!(
                    " of {planned} allowed: the sequential test stopped once p was clearly on one side of the level"
                )),
                p.resolution
            ))
            .unwrap_or_default()
    );
}

fn learning_curve(record: &Record, anchor: &str) -> Result<Option<String>, HtmlError> {
    let Some(curve) = record.learning_curve.as_ref().filter(|c| !c.is_empty()) else {
        return Ok(None);
    };
    let metric = &curve[0].metric;
    let points: Vec<plot::CurvePoint> = curve
        .iter()
        .map(|p| plot::CurvePoint {
            train_size: p.train_size,
            value: p.pooled,
            interval: p.ci_low.zip(p.ci_high),
        })
        .collect();
    let label = metric_label(metric);
    plot::learning_curve(
        &format!("{anchor}-learning-curve"),
        &plot::Curve {
            metric: &label,
            points: &points,
            baseline: record.baseline.get(metric).and_then(|b| b.pooled),
            paragraphs: record.data.paragraphs,
            level: record.interval.level,
        },
    )
    .map(Some)
}

fn permutation(record: &Record, anchor: &str) -> Result<Option<String>, HtmlError> {
    let Some(test) = &record.permutation else {
        return Ok(None);
    };
    let Some(distribution) = &test.null_distribution else {
        return Ok(None);
    };
    // About four permutations a bin on average, between 8 and 30 bins.
    let target = (test.n_permutations / 4).clamp(8, NULL_BINS);
    let (width, bins) = derive::histogram(distribution, target);
    let label = metric_label(&test.metric);
    plot::permutation(
        &format!("{anchor}-permutation"),
        &plot::Null {
            metric: &label,
            bins: &bins,
            width,
            observed: test.observed,
            null_mean: test.null_mean,
            p_value: test.p_value,
            n_permutations: test.n_permutations,
            planned: test.planned,
            paragraphs: record.data.paragraphs,
        },
    )
    .map(Some)
}

fn reliability(record: &Record, anchor: &str) -> Result<Option<String>, HtmlError> {
    let predictions = derive::first_repeat(record);
    let binary = record.classes.len() == 2;
    let (positive, probabilities, x_label, y_label): (Vec<bool>, Vec<f64>, String, String) =
        if binary {
            let class = &record.classes[1];
            (
                predictions.iter().map(|p| &p.label == class).collect(),
                predictions.iter().map(|p| probability(p, class)).collect(),
                format!("predicted probability of {class}"),
                format!("share truly {class}"),
            )
        } else {
            (
                predictions.iter().map(|p| p.label == p.predicted).collect(),
                predictions.iter().map(|p| confidence(p)).collect(),
                "probability of the predicted class".to_owned(),
                "share predicted right".to_owned(),
            )
        };
    let n_bins = if predictions.len() < 100 { 5 } else { 10 };
    let Some(bins) = calibration_bins(&positive, &probabilities, n_bins) else {
        return Ok(None);
    };
    let level = record.interval.level;
    let bins: Vec<plot::ReliabilityBin> = bins
        .iter()
        .map(|b| plot::ReliabilityBin {
            mean_predicted: b.mean_predicted,
            observed: b.fraction_positive(),
            count: b.count,
            interval: wilson_interval(b.positives as u64, b.count as u64, level),
            low: b.low,
            high: b.high,
        })
        .collect();
    plot::reliability(
        &format!("{anchor}-calibration"),
        &plot::Reliability {
            bins: &bins,
            x_label: &x_label,
            y_label: &y_label,
            predictions: predictions.len(),
            level,
        },
    )
    .map(Some)
}

fn roc(record: &Record, anchor: &str) -> Result<Option<String>, HtmlError> {
    let [negative, positive] = record.classes.as_slice() else {
        return Ok(None);
    };
    let predictions = derive::first_repeat(record);
    let truth: Vec<bool> = predictions.iter().map(|p| &p.label == positive).collect();
    let scores: Vec<f64> = predictions
        .iter()
        .map(|p| probability(p, positive))
        .collect();
    let Some(points) = roc_curve(&truth, &scores) else {
        return Ok(None);
    };
    let points: Vec<(f64, f64)> = points
        .iter()
        .map(|p| (p.false_positive_rate, p.true_positive_rate))
        .collect();
    let auc: Option<&MetricSummary> = record.metrics.get("roc_auc");
    let positives = truth.iter().filter(|&&t| t).count();
    plot::roc(
        &format!("{anchor}-roc"),
        &plot::Roc {
            points: &points,
            positive,
            negative,
            positives,
            negatives: truth.len() - positives,
            auc: auc.and_then(|a| a.pooled),
            auc_interval: auc.and_then(|a| a.ci_low.zip(a.ci_high)),
            level: record.interval.level,
        },
    )
    .map(Some)
}

fn articles(record: &Record, anchor: &str) -> Result<Option<String>, HtmlError> {
    if record.by_article.is_empty() {
        return Ok(None);
    }
    let single_repeat = derive::repeats(record) <= 1;
    let level = record.interval.level;
    let bars: Vec<plot::Bar> = record
        .by_article
        .iter()
        .map(|article| {
            // One repeat: the accuracy is right / paragraphs exactly.
            let right = (article.accuracy * article.paragraphs as f64).round() as u64;
            let (interval, note) = if single_repeat {
                (
                    wilson_interval(right, article.paragraphs as u64, level),
                    format!("{right} of {} right", article.paragraphs),
                )
            } else {
                (None, format!("n = {}", article.paragraphs))
            };
            plot::Bar {
                label: article.article.clone(),
                value: article.accuracy,
                interval,
                note,
            }
        })
        .collect();
    plot::articles(
        &format!("{anchor}-articles"),
        &plot::Articles {
            bars: &bars,
            overall: record.metrics.get("accuracy").and_then(|a| a.pooled),
            paragraphs: record.data.paragraphs,
            level,
        },
    )
    .map(Some)
}

fn terms_figures(
    out: &mut String,
    record: &Record,
    anchor: &str,
    terms: &[ClassTerms],
) -> Result<(), HtmlError> {
    let stability = |t: &super::TermBar| t.stability.map(|s| (s.same_sign, s.folds, s.flipped));
    let folds = terms
        .iter()
        .flat_map(|c| &c.terms)
        .find_map(|t| t.stability.map(|s| s.folds));
    let caption = format!(
        "Bars: weight toward the class in the model fitted on all paragraphs. Beside each bar: in how many of the {} the term kept its sign; pale bars flipped sign in some fold (noise, not evidence).",
        folds.map_or("training folds".to_owned(), |f| plural(
            f,
            "training fold",
            "training folds"
        ))
    );
    out.push_str("<h3>Terms that carry each class</h3>\n<div class=\"grid\">\n");
    let paragraphs = record.data.paragraphs;
    if let [first, second] = terms {
        // Two classes: one diverging figure, the second class to the right.
        let mut rows: Vec<plot::TermRow> = second
            .terms
            .iter()
            .map(|t| plot::TermRow {
                term: t.term.clone(),
                weight: t.weight,
                stability: stability(t),
                colour: CLASS_COLOURS[1],
            })
            .collect();
        rows.extend(first.terms.iter().rev().map(|t| plot::TermRow {
            term: t.term.clone(),
            weight: -t.weight,
            stability: stability(t),
            colour: CLASS_COLOURS[0],
        }));
        let svg = plot::terms(
            &format!("{anchor}-terms"),
            &plot::Terms {
                title: format!(
                    "Top terms · {} toward {} (right), {} toward {} (left) · n = {paragraphs} paragraphs",
                    second.terms.len(),
                    second.class,
                    first.terms.len(),
                    first.class
                ),
                rows: &rows,
                x_label: format!(
                    "weight (+ toward {}, − toward {})",
                    second.class, first.class
                ),
                ends: (format!("← {}", first.class), format!("{} →", second.class)),
                width: plot::WIDE,
                paragraphs,
            },
        )?;
        figure(out, anchor, "terms", svg, &caption);
    } else {
        for (index, class) in terms.iter().enumerate() {
            let rows: Vec<plot::TermRow> = class
                .terms
                .iter()
                .map(|t| plot::TermRow {
                    term: t.term.clone(),
                    weight: t.weight,
                    stability: stability(t),
                    colour: CLASS_COLOURS[index % CLASS_COLOURS.len()],
                })
                .collect();
            let svg = plot::terms(
                &format!("{anchor}-terms-{index}"),
                &plot::Terms {
                    title: format!("Top terms toward {} · n = {paragraphs}", class.class),
                    rows: &rows,
                    x_label: format!("weight toward {}", class.class),
                    ends: (String::new(), format!("{} →", class.class)),
                    width: plot::WIDTH,
                    paragraphs,
                },
            )?;
            figure(
                out,
                anchor,
                &format!("terms-{index}"),
                svg,
                &format!(
                    "Toward {}, against the other classes.",
                    escape(&class.class)
                ),
            );
        }
        let _ = writeln!(out, "</div>\n<p class=\"muted\">{caption}</p>");
        return Ok(());
    }
    out.push_str("</div>\n");
    Ok(())
}

fn mistakes(out: &mut String, inputs: &ExperimentInputs<'_>) {
    let record = inputs.record;
    let wrong = derive::confident_mistakes(record, MISTAKES);
    let total_wrong = derive::first_repeat(record)
        .iter()
        .filter(|p| p.predicted != p.label)
        .count();
    let _ = writeln!(
        out,
        "<h3>The most confident mistakes</h3>\n<p class=\"muted\">{} of {} paragraphs were predicted wrong out of fold{}; the {} the model was surest of:</p>",
        total_wrong,
        derive::first_repeat(record).len(),
        repeat_note(record),
        wrong.len()
    );
    if wrong.is_empty() {
        out.push_str("<p>None: every paragraph was predicted right.</p>\n");
        return;
    }
    out.push_str("<ol class=\"mistakes\">\n");
    for prediction in wrong {
        let paragraph = inputs.paragraphs.get(&prediction.id);
        let _ = writeln!(
            out,
            "<li><p class=\"meta\">true <strong>{}</strong>, predicted <strong>{}</strong> with probability {:.3} · fold {} · paragraph <code>{}</code>{}</p>\n<blockquote>{}</blockquote></li>",
            escape(&prediction.label),
            escape(&prediction.predicted),
            confidence(prediction),
            prediction.fold,
            escape(&prediction.id),
            paragraph
                .map(|p| format!(" · article <code>{}</code>", escape(&p.article)))
                .unwrap_or_default(),
            paragraph.map_or_else(
                || "(text not in the label store any more)".to_owned(),
                |p| escape(&p.text)
            ),
        );
    }
    out.push_str("</ol>\n");
}

fn configuration(out: &mut String, record: &Record) {
    let mut flat = BTreeMap::new();
    crate::experiment::flatten("", &record.config, &mut flat);
    flat.remove("description");
    out.push_str("<h3>Configuration</h3>\n<table class=\"config\">\n<tr><th scope=\"col\">key</th><th scope=\"col\" class=\"text\">value</th></tr>\n");
    for (key, value) in flat {
        let _ = writeln!(
            out,
            "<tr><td><code>{}</code></td><td class=\"text\"><code>{}</code></td></tr>",
            escape(&key),
            escape(&value)
        );
    }
    out.push_str("</table>\n");
}

// ---------------------------------------------------------------------------------------
// Several experiments

fn comparison_section(
    out: &mut String,
    experiments: &[ExperimentInputs<'_>],
    anchors: &[String],
    comparison: &Comparison,
) -> Result<(), HtmlError> {
    let first = experiments[0].record;
    let level = first.interval.level;
    let link = |index: usize| {
        format!(
            "<a href=\"#{}\">{}</a>",
            anchors[index],
            escape(&experiments[index].record.experiment)
        )
    };
    let _ = writeln!(
        out,
        "<section id=\"comparison\" class=\"comparison\">\n<h2>Comparison of {} experiments</h2>\n<p>Reference: {} ({}). Values on pooled out-of-fold predictions with their {:.0}% intervals; Δ = experiment − reference.</p>",
        experiments.len(),
        link(0),
        plural(first.data.paragraphs, "paragraph", "paragraphs"),
        level * 100.0
    );

    out.push_str("<table class=\"comparison\">\n<tr><th scope=\"col\">experiment</th><th scope=\"col\">paragraphs</th>");
    for column in &comparison.columns {
        let _ = write!(
            out,
            "<th scope=\"col\">{} <span class=\"muted\">(Δ)</span></th>",
            escape(&metric_label(column))
        );
    }
    out.push_str("</tr>\n");
    for (index, row) in comparison.rows.iter().enumerate() {
        let _ = write!(
            out,
            "<tr><td>{}</td><td class=\"num\">{}</td>",
            link(index),
            experiments[index].record.data.paragraphs
        );
        for ((value, interval), difference) in
            row.values.iter().zip(&row.intervals).zip(&row.differences)
        {
            // Another task's values: no Δ, a mark instead.
            let difference = match difference {
                _ if !row.same_classes => {
                    " <span class=\"muted other-classes\">(other classes)</span>".to_owned()
                }
                Some(d) => format!(" <span class=\"muted\">({})</span>", signed(*d)),
                None => String::new(),
            };
            let _ = write!(
                out,
                "<td class=\"num\">{}{difference}<br/>{}</td>",
                number(*value),
                ci(interval.map(|i| i.0), interval.map(|i| i.1)),
            );
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table>\n");
    let other_classes: Vec<String> = comparison
        .rows
        .iter()
        .zip(experiments)
        .filter(|(row, _)| !row.same_classes)
        .map(|(_, e)| {
            format!(
                "{} ({})",
                escape(&e.record.experiment),
                escape(&e.record.classes.join(", "))
            )
        })
        .collect();
    if !other_classes.is_empty() {
        let _ = writeln!(
            out,
            "<p class=\"note\">Other classes than {}'s ({}): {}. Their values measure another task: no Δ, no paired test.</p>",
            escape(&first.experiment),
            escape(&first.classes.join(", ")),
            other_classes.join("; ")
        );
    }

    // Forest plot and the paired tests behind it.
    let metric_column = comparison
        .columns
        .iter()
        .position(|c| c == &comparison.metric);
    let mut verdicts: Vec<String> = Vec::new();
    let mut mark = |sentence: &str| -> usize {
        match verdicts.iter().position(|v| v == sentence) {
            Some(i) => i + 1,
            None => {
                verdicts.push(sentence.to_owned());
                verdicts.len()
            }
        }
    };
    let mut forest_rows = Vec::new();
    let mut tests = String::new();
    for (index, row) in comparison.rows.iter().enumerate().skip(1) {
        let label = format!(
            "{} (n = {})",
            row.experiment, experiments[index].record.data.paragraphs
        );
        match &row.paired {
            Some(Ok(paired)) => {
                let interval = paired.t_test.and_then(|t| t.interval(level));
                let t_note = paired
                    .t_verdict
                    .too_few
                    .then(|| mark(&paired.t_verdict.sentence));
                let m_note = paired
                    .mcnemar_verdict
                    .too_few
                    .then(|| mark(&paired.mcnemar_verdict.sentence));
                let sup = |note: Option<usize>| {
                    note.map_or(String::new(), |n| format!("<sup>({n})</sup>"))
                };
                let t_p = paired.t_test.map(|t| p_value(t.p_value));
                forest_rows.push(plot::ForestRow {
                    experiment: label,
                    difference: Some(paired.mean_difference),
                    interval,
                    note: format!(
                        "p(t) {} · p(McNemar) {}{}",
                        t_p.clone().unwrap_or_else(|| "–".to_owned()),
                        p_value(paired.mcnemar.p_value),
                        if t_note.is_some() || m_note.is_some() {
                            " · too few data"
                        } else {
                            ""
                        }
                    ),
                });
                let _ = writeln!(
                    tests,
                    "<tr><td>{}</td><td class=\"num\">{} {}</td><td class=\"num\">{}</td><td class=\"num\">{}{}</td><td class=\"num\">{} / {}</td><td class=\"num\">{}{}</td></tr>",
                    escape(&row.experiment),
                    signed(paired.mean_difference),
                    ci(interval.map(|i| i.0), interval.map(|i| i.1)),
                    paired.t_test.map_or("–".to_owned(), |t| format!(
                        "{} (df {})",
                        fixed(t.t, 2),
                        t.df
                    )),
                    t_p.unwrap_or_else(|| "–".to_owned()),
                    sup(t_note),
                    paired.mcnemar.b,
                    paired.mcnemar.c,
                    p_value(paired.mcnemar.p_value),
                    sup(m_note),
                );
            }
            Some(Err(reason)) => {
                let n = mark(reason);
                forest_rows.push(plot::ForestRow {
                    experiment: label,
                    difference: metric_column.and_then(|c| row.differences[c]),
                    interval: None,
                    note: format!("not paired: no test ({n})"),
                });
                let _ = writeln!(
                    tests,
                    "<tr><td>{}<sup>({n})</sup></td><td>–</td><td>–</td><td>–</td><td>–</td><td>–</td></tr>",
                    escape(&row.experiment)
                );
            }
            None => {}
        }
    }
    let metric = metric_label(&comparison.metric);
    let svg = plot::forest(
        "comparison-forest",
        &plot::Forest {
            rows: &forest_rows,
            metric: &metric,
            reference: &first.experiment,
            reference_paragraphs: first.data.paragraphs,
            level,
        },
    )?;
    let _ = writeln!(
        out,
        "<figure id=\"comparison-forest-figure\" class=\"figure forest wide\">\n{svg}\n<figcaption>Red points: the mean of per-fold differences in {} where the folds are identical (the pooled difference otherwise, without an interval); blue lines: the {:.0}% interval of the corrected resampled t-test (Nadeau &amp; Bengio, 2003). Right: its p-value and McNemar's exact test's on the first repeat's predictions.</figcaption>\n</figure>",
        escape(&metric),
        level * 100.0
    );

    let _ = writeln!(
        out,
        "<h3>Paired tests against {} on {}</h3>\n<table class=\"paired\">\n<tr><th scope=\"col\">experiment</th><th scope=\"col\">Δ mean over folds [{:.0}% interval]</th><th scope=\"col\">corrected t</th><th scope=\"col\">p (t)</th><th scope=\"col\">McNemar b / c</th><th scope=\"col\">p (McNemar)</th></tr>\n{tests}</table>",
        escape(&first.experiment),
        escape(&metric),
        level * 100.0
    );
    let _ = writeln!(
        out,
        "<p class=\"muted\">b: paragraphs only {} got right; c: paragraphs only the other got right.</p>",
        escape(&first.experiment)
    );
    if !verdicts.is_empty() {
        out.push_str("<ol class=\"verdicts muted\">\n");
        for sentence in &verdicts {
            let _ = writeln!(out, "<li>{}</li>", escape(sentence));
        }
        out.push_str("</ol>\n");
    }

    out.push_str("<h3>Config keys that differ</h3>\n");
    if comparison.differing_keys.is_empty() {
        out.push_str("<p>None.</p>\n");
    } else if experiments.len() <= WIDE_TABLE_EXPERIMENTS {
        out.push_str("<table class=\"differing\">\n<tr><th scope=\"col\">key</th>");
        for inputs in experiments {
            let _ = write!(
                out,
                "<th scope=\"col\">{}</th>",
                escape(&inputs.record.experiment)
            );
        }
        out.push_str("</tr>\n");
        for (key, values) in &comparison.differing_keys {
            let _ = write!(out, "<tr><td><code>{}</code></td>", escape(key));
            for value in values {
                let _ = write!(out, "<td><code>{}</code></td>", escape(value));
            }
            out.push_str("</tr>\n");
        }
        out.push_str("</table>\n");
    } else {
        // Too many columns for a page: each value with the experiments that hold it.
        out.push_str("<table class=\"differing\">\n<tr><th scope=\"col\">key</th><th scope=\"col\" class=\"text\">value</th><th scope=\"col\" class=\"text\">experiments</th></tr>\n");
        for (key, values) in &comparison.differing_keys {
            let mut groups: Vec<(&str, Vec<&str>)> = Vec::new();
            for (value, inputs) in values.iter().zip(experiments) {
                let name = inputs.record.experiment.as_str();
                match groups.iter_mut().find(|(v, _)| *v == value.as_str()) {
                    Some((_, names)) => names.push(name),
                    None => groups.push((value, vec![name])),
                }
            }
            for (index, (value, names)) in groups.iter().enumerate() {
                let key_cell = if index == 0 {
                    format!("<code>{}</code>", escape(key))
                } else {
                    String::new()
                };
                let _ = writeln!(
                    out,
                    "<tr><td>{key_cell}</td><td class=\"text\"><code>{}</code></td><td class=\"text\">{}</td></tr>",
                    escape(value),
                    escape(&names.join(", "))
                );
            }
        }
        out.push_str("</table>\n");
    }

    out.push_str("<nav>\n<h3>Each experiment</h3>\n<ul>\n");
    for index in 0..experiments.len() {
        let _ = writeln!(out, "<li>{}</li>", link(index));
    }
    out.push_str("</ul>\n</nav>\n</section>\n");
    Ok(())
}
