//! How a record reads on the terminal: what was run on what, every metric with its interval
//! beside the majority baseline, the confusion matrix, per-article accuracy, the test against
//! chance, and the warnings, in plain words.

use std::fmt::Write as _;

use stance::cv::RawCvConfig;
use stance::metrics::Metric;
use stance::record::Record;

use super::table::{Table, interval, number, p_value};

pub fn render(record: &Record) -> String {
    let mut out = String::new();
    let data = &record.data;
    let classes = &record.classes;
    let per_class: Vec<String> = classes
        .iter()
        .map(|c| format!("{} {}", data.per_class.get(c).copied().unwrap_or(0), c))
        .collect();
    let _ = writeln!(
        out,
        "{}{}",
        record.experiment,
        record
            .description
            .as_deref()
            .map(|d| format!(": {d}"))
            .unwrap_or_default()
    );
    let _ = writeln!(
        out,
        "{} paragraphs ({}) from {} article{}, labels by {}{}; {}",
        data.paragraphs,
        per_class.join(", "),
        data.articles.len(),
        if data.articles.len() == 1 { "" } else { "s" },
        data.annotator,
        if data.low_confidence > 0 {
            format!(" ({} low-confidence)", data.low_confidence)
        } else {
            String::new()
        },
        cv_line(record),
    );
    out.push('\n');

    let level = format!("{:.0}% interval", record.interval.level * 100.0);
    let mut table = Table::new([
        "metric",
        "model",
        level.as_str(),
        "folds mean ± sd",
        "majority baseline",
        level.as_str(),
    ]);
    for key in metric_order(record) {
        let model = &record.metrics[&key];
        let baseline = record.baseline.get(&key);
        table.row([
            key.clone(),
            number(model.pooled),
            interval(model.ci_low, model.ci_high),
            match (model.mean, model.std) {
                (Some(mean), Some(std)) => format!("{mean:.3} ± {std:.3}"),
                (Some(mean), None) => format!("{mean:.3}"),
                _ => "–".to_owned(),
            },
            number(baseline.and_then(|b| b.pooled)),
            baseline.map_or("–".to_owned(), |b| interval(b.ci_low, b.ci_high)),
        ]);
    }
    out.push_str(&table.render(""));
    let _ = writeln!(
        out,
        "\n  model / baseline: on all out-of-fold predictions pooled; interval: {}.\n  folds mean ± sd: the spread across folds, not a confidence interval.",
        record.interval.method
    );

    if let Some(permutation) = &record.permutation {
        let verdict = if permutation.p_value <= 0.05 {
            "unlikely under chance"
        } else {
            "not distinguishable from chance at the 5% level"
        };
        let _ = writeln!(
            out,
            "\nbetter than chance? {} = {:.3} with the true labels, {:.3} on average with shuffled labels: p = {} ({}, the whole cross-validation re-run each time; smallest possible p {:.4}): {verdict}",
            permutation.metric,
            permutation.observed,
            permutation.null_mean,
            p_value(permutation.p_value),
            match permutation.planned {
                Some(planned) => format!(
                    "{} of {planned} permutations: stopped once p was clearly on one side of the level",
                    permutation.n_permutations
                ),
                None => format!("{} permutations", permutation.n_permutations),
            },
            permutation.resolution,
        );
    }

    let _ = writeln!(
        out,
        "\nconfusion matrix, pooled over all folds (rows: true label, columns: predicted):"
    );
    let mut confusion = Table::new(std::iter::once(String::new()).chain(classes.iter().cloned()));
    for (class, row) in classes.iter().zip(&record.confusion) {
        confusion.row(std::iter::once(class.clone()).chain(row.iter().map(|n| n.to_string())));
    }
    out.push_str(&confusion.render("  "));

    if let Some(groups) = &record.groups {
        let metric = record.config["stats"]["metric"]
            .as_str()
            .and_then(|key| Metric::parse(key, classes))
            .map_or("macro_f1".to_owned(), |m| m.key(classes));
        let mut keys = vec!["accuracy".to_owned(), "macro_f1".to_owned()];
        if !keys.contains(&metric) {
            keys.push(metric);
        }
        let _ = writeln!(
            out,
            "\nby group (its own paragraphs' predictions, scored alone):"
        );
        let mut table = Table::new(
            ["group", "paragraphs", "labels"]
                .into_iter()
                .map(str::to_owned)
                .chain(keys.iter().cloned()),
        );
        for group in groups {
            let labels: Vec<String> = classes
                .iter()
                .filter_map(|c| {
                    let n = group.per_class.get(c).copied().filter(|&n| n > 0)?;
                    Some(format!("{n} {c}"))
                })
                .collect();
            table.row(
                [
                    group.group.clone(),
                    group.paragraphs.to_string(),
                    labels.join(", "),
                ]
                .into_iter()
                .chain(
                    keys.iter()
                        .map(|k| number(group.metrics.get(k).copied().flatten())),
                ),
            );
        }
        out.push_str(&table.render("  "));
    }

    if let Some(search) = &record.search {
        let _ = writeln!(
            out,
            "\nsearch: {} candidates, chosen by {} on inner stratified {}-fold of each training set; wins:",
            search.candidates.len(),
            search.metric,
            search.inner_folds
        );
        let mut table = Table::new(["candidate", "settings", "chosen"]);
        for (i, (settings, wins)) in search.candidates.iter().zip(&search.wins).enumerate() {
            table.row([(i + 1).to_string(), settings.to_string(), wins.to_string()]);
        }
        out.push_str(&table.render("  "));
    }

    if record.by_article.len() > MAX_ARTICLE_ROWS {
        let _ = writeln!(
            out,
            "\nby article: {} articles (each one's accuracy is in the record)",
            record.by_article.len()
        );
        return finish(out, record);
    }
    let _ = writeln!(
        out,
        "\nby article (accuracy of the out-of-fold predictions on its paragraphs):"
    );
    let mut articles = Table::new(["article", "paragraphs", "labels", "accuracy"]);
    for article in &record.by_article {
        let labels: Vec<String> = classes
            .iter()
            .filter_map(|c| {
                let n = article.per_class.get(c).copied().filter(|&n| n > 0)?;
                Some(format!("{n} {c}"))
            })
            .collect();
        articles.row([
            article.article.clone(),
            article.paragraphs.to_string(),
            labels.join(", "),
            format!("{:.3}", article.accuracy),
        ]);
    }
    out.push_str(&articles.render("  "));
    finish(out, record)
}

/// Articles listed one per row up to this many.
const MAX_ARTICLE_ROWS: usize = 40;

/// The learning curve and the warnings, after the tables.
fn finish(mut out: String, record: &Record) -> String {
    if let Some(curve) = &record.learning_curve {
        out.push('\n');
        out.push_str(&render_curve(record, curve));
    }

    if !record.warnings.is_empty() {
        let _ = writeln!(out, "\nwarnings:");
        for warning in &record.warnings {
            let _ = writeln!(out, "  - {warning}");
        }
    }
    out
}

pub fn render_curve(record: &Record, curve: &[stance::record::CurvePoint]) -> String {
    let mut out = String::new();
    let metric = curve.first().map_or("", |p| p.metric.as_str());
    let _ = writeln!(
        out,
        "learning curve: {metric} against training paragraphs per fold (test folds unchanged; {:.0}% interval as above):",
        record.interval.level * 100.0
    );
    let mut table = Table::new([
        "fraction",
        "training paragraphs",
        metric,
        "interval",
        "folds mean",
    ]);
    for point in curve {
        table.row([
            format!("{:.2}", point.fraction),
            point.train_size.to_string(),
            number(point.pooled),
            interval(point.ci_low, point.ci_high),
            number(point.mean),
        ]);
    }
    out.push_str(&table.render("  "));
    out
}

/// Summary metrics first, then per-class ones grouped by class, then any `f1_mean`.
pub fn metric_order(record: &Record) -> Vec<String> {
    let mut keys: Vec<String> = Metric::all(record.classes.len())
        .into_iter()
        .map(|metric| metric.key(&record.classes))
        .filter(|key| record.metrics.contains_key(key))
        .collect();
    let extra: Vec<String> = record
        .metrics
        .keys()
        .filter(|key| !keys.contains(key))
        .cloned()
        .collect();
    keys.extend(extra);
    keys
}

/// The record's scheme, from the `[cv]` table it keeps (as written then, every default out).
fn cv_line(record: &Record) -> String {
    let cv = &record.config["cv"];
    match serde_json::from_value::<RawCvConfig>(cv.clone()).map(|raw| raw.check()) {
        Ok(Ok(scheme)) => scheme.describe(record.data.articles.len()),
        _ => cv["scheme"].as_str().unwrap_or("?").to_owned(),
    }
}
