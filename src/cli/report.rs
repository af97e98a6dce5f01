//! How a record reads on the terminal (80 columns) or in Markdown: what was run on what,
//! every metric with its interval beside the majority baseline, the confusion matrix,
//! per-article accuracy, the test against chance, the learning curve and the warnings, in
//! plain words.
//!
//! Two parts, so that `stance run` can print the cross-validation's results before the
//! permutation test starts ([`render_cv`]) and the rest after it ([`render_rest`]).

use std::fmt::Write as _;

use stance::metrics::Metric;
use stance::record::Record;

use super::table::{Table, interval, number, p_value};

/// A terminal's width: prose is wrapped to it, tables are built to fit it.
pub const WIDTH: usize = 80;

/// How a record is rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    pub markdown: bool,
    /// Articles listed in the per-article table.
    pub top: usize,
}

impl Default for Style {
    fn default() -> Self {
        Style {
            markdown: false,
            top: 20,
        }
    }
}

impl Style {
    fn table(&self, table: &Table, indent: &str) -> String {
        if self.markdown {
            table.render_markdown()
        } else {
            table.render(indent)
        }
    }

    /// A paragraph wrapped to the width (Markdown leaves wrapping to its reader).
    fn prose(&self, text: &str, indent: &str) -> String {
        if self.markdown {
            format!("{text}\n")
        } else {
            wrap(text, indent, indent)
        }
    }

    /// A list item.
    fn item(&self, text: &str) -> String {
        if self.markdown {
            format!("- {text}\n")
        } else {
            wrap(text, "  - ", "    ")
        }
    }
}

/// `text` wrapped to [`WIDTH`], its first line indented by `first`, the others by `rest`.
/// Never at a hyphen: names such as `annotator-1` or `leave-one-article-out` stay whole.
pub fn wrap(text: &str, first: &str, rest: &str) -> String {
    let options = textwrap::Options::new(WIDTH)
        .initial_indent(first)
        .subsequent_indent(rest)
        .break_words(false)
        .word_splitter(textwrap::WordSplitter::NoHyphenation);
    let mut out = textwrap::fill(text, options);
    out.push('\n');
    out
}

/// How several annotators' labels were made one, and what was left out: ` combined by
/// majority (2 paragraphs left out: tie)`.
fn combined_note(combined: &stance::record::CombinedLabels) -> String {
    let reasons: Vec<String> = combined
        .left_out
        .iter()
        .filter(|&(_, &count)| count > 0)
        .map(|(reason, &count)| match reason.as_str() {
            "tie" | "disagreement" => format!("{count} {reason}{}", plural(count)),
            other => format!("{count} {}", other.replace('_', " ")),
        })
        .collect();
    let total: usize = combined.left_out.values().sum();
    if total == 0 {
        format!(" combined by {} (none left out)", combined.rule)
    } else {
        format!(
            " combined by {} ({total} paragraph{} left out: {})",
            combined.rule,
            plural(total),
            reasons.join(", ")
        )
    }
}

/// The whole record.
pub fn render(record: &Record, style: Style) -> String {
    let mut out = render_cv(record, style);
    out.push_str(&render_rest(record, style));
    out
}

/// What the cross-validation gave: the experiment, the metrics with their intervals beside
/// the majority baseline, the confusion matrix and accuracy by article.
pub fn render_cv(record: &Record, style: Style) -> String {
    let mut out = String::new();
    let data = &record.data;
    let classes = &record.classes;
    let per_class: Vec<String> = classes
        .iter()
        .map(|c| format!("{} {}", data.per_class.get(c).copied().unwrap_or(0), c))
        .collect();
    let title = format!(
        "{}{}",
        record.experiment,
        record
            .description
            .as_deref()
            .map(|d| format!(": {d}"))
            .unwrap_or_default()
    );
    if style.markdown {
        let _ = writeln!(out, "### {title}\n");
    } else {
        out.push_str(&wrap(&title, "", "  "));
    }
    out.push_str(&style.prose(
        &format!(
            "{} paragraphs ({}) from {} article{}, labels by {}{}{}; {}",
            data.paragraphs,
            per_class.join(", "),
            data.articles.len(),
            plural(data.articles.len()),
            data.annotator,
            match &data.combined {
                None => String::new(),
                Some(combined) => combined_note(combined),
            },
            if data.low_confidence > 0 {
                format!(" ({} low-confidence)", data.low_confidence)
            } else {
                String::new()
            },
            record.cv_description(),
        ),
        "",
    ));
    out.push('\n');

    let level = format!("{:.0}% interval", record.interval.level * 100.0);
    let mut table = Table::new([
        "metric",
        "model",
        level.as_str(),
        "folds mean ± sd",
        "baseline",
        level.as_str(),
    ]);
    let mut named_means = Vec::new();
    let mut current_class: Option<&str> = None;
    for key in metric_order(record) {
        let model = &record.metrics[&key];
        let baseline = record.baseline.get(&key);
        // Per-class metrics under their class's name: `precision:stable` is `  precision`.
        let label = match key.split_once(':') {
            Some(("f1_mean", list)) => {
                named_means.push(list.replace(',', ", "));
                "f1_mean".to_owned()
            }
            Some((name, class)) => {
                if current_class != Some(class) {
                    current_class = classes.iter().find(|c| *c == class).map(String::as_str);
                    table.row([class.to_owned()]);
                }
                format!("  {name}")
            }
            None => key.clone(),
        };
        table.row([
            label,
            number(model.pooled),
            compact_interval(model.ci_low, model.ci_high),
            match (model.mean, model.std) {
                (Some(mean), Some(std)) => format!("{mean:.3} ± {std:.3}"),
                (Some(mean), None) => format!("{mean:.3}"),
                _ => "–".to_owned(),
            },
            number(baseline.and_then(|b| b.pooled)),
            baseline.map_or("–".to_owned(), |b| compact_interval(b.ci_low, b.ci_high)),
        ]);
    }
    out.push_str(&style.table(&table, ""));
    out.push('\n');
    let mut notes = vec![
        format!(
            "model, baseline (the majority class): on all out-of-fold predictions pooled; \
             interval: {}",
            record.interval.method
        ),
        "folds mean ± sd: the spread across folds, not a confidence interval".to_owned(),
    ];
    notes.extend(
        named_means
            .iter()
            .map(|classes| format!("f1_mean: the mean F1 of {classes}")),
    );
    for note in notes {
        out.push_str(&style.prose(&note, "  "));
    }

    out.push('\n');
    out.push_str(&style.prose(
        "confusion matrix, pooled over all folds (rows: true label, columns: predicted):",
        "",
    ));
    let mut confusion = Table::new(std::iter::once(String::new()).chain(classes.iter().cloned()));
    for (class, row) in classes.iter().zip(&record.confusion) {
        confusion.row(std::iter::once(class.clone()).chain(row.iter().map(|n| n.to_string())));
    }
    out.push_str(&style.table(&confusion, "  "));

    if let Some(groups) = &record.groups {
        let metric = record.config["stats"]["metric"]
            .as_str()
            .and_then(|key| Metric::parse(key, classes))
            .map_or("macro_f1".to_owned(), |m| m.key(classes));
        let mut keys = vec!["accuracy".to_owned(), "macro_f1".to_owned()];
        if !keys.contains(&metric) {
            keys.push(metric);
        }
        out.push('\n');
        out.push_str(&style.prose(
            "by group (its own paragraphs' predictions, scored alone):",
            "",
        ));
        let mut table = Table::new(
            ["group", "paragraphs"]
                .into_iter()
                .map(str::to_owned)
                .chain(classes.iter().cloned())
                .chain(keys.iter().cloned()),
        );
        for group in groups {
            table.row(
                [group.group.clone(), group.paragraphs.to_string()]
                    .into_iter()
                    .chain(
                        classes
                            .iter()
                            .map(|c| group.per_class.get(c).copied().unwrap_or(0).to_string()),
                    )
                    .chain(
                        keys.iter()
                            .map(|k| number(group.metrics.get(k).copied().flatten())),
                    ),
            );
        }
        out.push_str(&style.table(&table, "  "));
    }

    if let Some(search) = &record.search {
        out.push('\n');
        out.push_str(&style.prose(
            &format!(
                "search: {} candidates, chosen by {} on inner stratified {}-fold of each \
                 training set; wins:",
                search.candidates.len(),
                search.metric,
                search.inner_folds
            ),
            "",
        ));
        let mut table = Table::new(["candidate", "settings", "chosen"]);
        for (i, (settings, wins)) in search.candidates.iter().zip(&search.wins).enumerate() {
            table.row([(i + 1).to_string(), settings.to_string(), wins.to_string()]);
        }
        out.push_str(&style.table(&table, "  "));
    }

    out.push('\n');
    let articles = &record.by_article;
    let shown = top_articles(record, style.top);
    out.push_str(&style.prose(
        &if shown.len() < articles.len() {
            format!(
                "by article, the {} with the most paragraphs (accuracy of the out-of-fold \
                 predictions on its paragraphs):",
                shown.len()
            )
        } else {
            "by article (accuracy of the out-of-fold predictions on its paragraphs):".to_owned()
        },
        "",
    ));
    let mut table = Table::new(
        ["article", "paragraphs"]
            .into_iter()
            .map(str::to_owned)
            .chain(classes.iter().cloned())
            .chain(["accuracy".to_owned()]),
    );
    for article in &shown {
        table.row(
            [article.article.clone(), article.paragraphs.to_string()]
                .into_iter()
                .chain(
                    classes
                        .iter()
                        .map(|c| article.per_class.get(c).copied().unwrap_or(0).to_string()),
                )
                .chain([format!("{:.3}", article.accuracy)]),
        );
    }
    out.push_str(&style.table(&table, "  "));
    if shown.len() < articles.len() {
        let rest = articles.len() - shown.len();
        out.push_str(&style.prose(
            &format!(
                "… and {rest} more article{} (--top N lists more)",
                plural(rest)
            ),
            "  ",
        ));
    }
    out
}

/// The `top` articles with the most paragraphs (ties: in the record's order), in the
/// record's order.
fn top_articles(record: &Record, top: usize) -> Vec<&stance::record::ArticleScore> {
    let articles = &record.by_article;
    if articles.len() <= top {
        return articles.iter().collect();
    }
    let mut order: Vec<usize> = (0..articles.len()).collect();
    order.sort_by(|&a, &b| articles[b].paragraphs.cmp(&articles[a].paragraphs));
    order.truncate(top);
    order.sort_unstable();
    order.into_iter().map(|i| &articles[i]).collect()
}

/// The test against chance, the learning curve and the warnings.
pub fn render_rest(record: &Record, style: Style) -> String {
    let mut out = String::new();
    if let Some(permutation) = &record.permutation {
        let verdict = if permutation.p_value <= 0.05 {
            "unlikely under chance"
        } else {
            "not distinguishable from chance at the 5% level"
        };
        let ran = match permutation.planned {
            Some(planned) => format!(
                "{} of {planned} permutations: stopped once p was clearly on one side of the \
                 level",
                permutation.n_permutations
            ),
            None => format!("{} permutations", permutation.n_permutations),
        };
        out.push('\n');
        out.push_str(&style.prose(
            &format!(
                "better than chance? {} = {:.3} with the true labels, {:.3} on average with \
                 shuffled labels: p = {} ({ran}, the whole cross-validation re-run each \
                 time; smallest possible p {:.4}): {verdict}",
                permutation.metric,
                permutation.observed,
                permutation.null_mean,
                p_value(permutation.p_value),
                permutation.resolution,
            ),
            "",
        ));
    }

    if let Some(curve) = &record.learning_curve {
        out.push('\n');
        out.push_str(&render_curve(record, curve, true, style));
    }

    if !record.warnings.is_empty() {
        out.push('\n');
        out.push_str(&style.prose("warnings:", ""));
        for warning in &record.warnings {
            out.push_str(&style.item(warning));
        }
    }
    out
}

/// The learning curve; `interval_above` when the metrics table with its interval method
/// was printed just before.
pub fn render_curve(
    record: &Record,
    curve: &[stance::record::CurvePoint],
    interval_above: bool,
    style: Style,
) -> String {
    let mut out = String::new();
    let metric = curve.first().map_or("", |p| p.metric.as_str());
    let level = record.interval.level * 100.0;
    let intervals = if interval_above {
        format!("{level:.0}% interval as above")
    } else {
        format!("{level:.0}% interval: {}", record.interval.method)
    };
    out.push_str(&style.prose(
        &format!(
            "learning curve: {metric} against training paragraphs per fold (test folds \
             unchanged; {intervals}):"
        ),
        "",
    ));
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
    out.push_str(&style.table(&table, "  "));
    out
}

/// `low–high` with three decimals, or `–`: three columns narrower than `[low, high]`.
fn compact_interval(low: Option<f64>, high: Option<f64>) -> String {
    match (low, high) {
        (Some(low), Some(high)) => format!("{low:.3}–{high:.3}"),
        _ => "–".to_owned(),
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
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

#[cfg(test)]
mod tests {
    use super::{WIDTH, wrap};

    /// `text` after `taken` columns of other words, wrapped as reports are.
    fn check(taken: usize, name: &str, expected_lines: &[&str]) {
        let text = format!("{} {name}", "x".repeat(taken));
        let wrapped = wrap(&text, "", "");
        let lines: Vec<&str> = wrapped.lines().collect();
        assert_eq!(lines.len(), expected_lines.len(), "{wrapped}");
        for (line, expected) in lines.iter().zip(expected_lines) {
            assert!(
                line.ends_with(expected),
                "{line:?} does not end in {expected:?}"
            );
            assert!(line.chars().count() <= WIDTH);
        }
    }

    #[test]
    fn names_are_never_broken_at_their_hyphens() {
        // "annotator-" would fit after 69 columns; the whole name would not.
        check(69, "annotator-1", &["x", "annotator-1"]);
        check(68, "annotator-1", &["x annotator-1"]);
        check(60, "leave-one-article-out", &["x", "leave-one-article-out"]);
    }
}
