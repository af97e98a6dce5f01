//! `stance compare`: experiments side by side on identical folds, with paired tests against
//! the first one and the config keys that differ.

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::Context;
use stance::cv::{RawCvConfig, SchemeKind};
use stance::experiment::{self, Comparison, Experiment, RunOptions};
use stance::record::Record;

use super::Outcome;
use super::progress::Bar;
use super::run::{run_and_record, up_to_date_record};
use super::table::{Table, number, p_value};

/// Above this many experiments, differing config keys are listed instead of tabulated.
const WIDE_TABLE_EXPERIMENTS: usize = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Format {
    Table,
    Markdown,
    Json,
}

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Each experiment's up-to-date record is reused (same config and labels); \
    otherwise it is run and its record written. The first experiment is the reference: every \
    other row shows its difference from it and, when the folds are identical (same labels, \
    same [cv]), two paired tests: the corrected resampled t-test (Nadeau & Bengio, 2003) over \
    per-fold differences, and McNemar's exact test on the first repeat's out-of-fold \
    predictions. With --repeats N every experiment is re-run in memory on repeated stratified \
    folds (nothing written), which gives the t-test more than a handful of differences."
)]
pub struct CompareArgs {
    /// Experiment files; the first is the reference.
    #[arg(required = true, num_args = 2.., value_name = "EXPERIMENT.toml")]
    experiments: Vec<PathBuf>,

    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    format: Format,

    /// The metric of the paired tests (default: the first experiment's `[stats] metric`).
    #[arg(long, value_name = "KEY")]
    metric: Option<String>,

    /// Re-run every experiment on repeated stratified k-fold with N repeats (of whole
    /// articles if its folds are), keeping its folds and seed, without writing records.
    #[arg(long, value_name = "N")]
    repeats: Option<usize>,
}

pub fn run(args: CompareArgs) -> anyhow::Result<Outcome> {
    let experiments = args
        .experiments
        .iter()
        .map(|path| Experiment::load(path))
        .collect::<Result<Vec<_>, _>>()?;
    let mut records = experiments
        .iter()
        .map(|experiment| match args.repeats {
            Some(repeats) => rerun_repeated(experiment, repeats),
            None => match up_to_date_record(experiment)? {
                Some(record) => Ok(record),
                None => run_and_record(experiment, &RunOptions::default(), false),
            },
        })
        .collect::<anyhow::Result<Vec<Record>>>()?;
    let metric = match args.metric {
        Some(metric) => metric,
        None => experiments[0]
            .stats()
            .metric()
            .key(experiments[0].data().classes()),
    };
    // A metric an experiment did not record (say `f1_mean:…` chosen here) is computed from
    // its recorded predictions.
    anyhow::ensure!(
        records
            .iter_mut()
            .all(|r| experiment::add_metric_from_predictions(r, &metric)),
        "metric `{metric}` is not in every experiment's results (its classes must be the same)"
    );
    let comparison = experiment::compare_records(&records, &metric);
    let text = match args.format {
        Format::Table => render(&comparison, &records, false),
        Format::Markdown => render(&comparison, &records, true),
        Format::Json => serde_json::to_string_pretty(&json(&comparison))? + "\n",
    };
    out!("{text}")?;
    Ok(Outcome::Success)
}

fn rerun_repeated(experiment: &Experiment, repeats: usize) -> anyhow::Result<Record> {
    anyhow::ensure!(repeats >= 1, "--repeats must be at least 1");
    let cv = experiment.cv();
    anyhow::ensure!(
        cv.kind() != SchemeKind::LeaveOneGroupOut,
        "--repeats applies to stratified k-fold; {} uses leave-one-group-out",
        experiment.path().display()
    );
    // Folds of whole articles stay so, reshuffled.
    let scheme = match cv.kind() {
        SchemeKind::StratifiedGroupKFold => SchemeKind::StratifiedGroupKFold,
        _ => SchemeKind::RepeatedStratifiedKFold,
    };
    let raw = RawCvConfig {
        scheme,
        folds: cv.folds(),
        repeats: Some(repeats),
        seed: cv.seed(),
    };
    let repeated = experiment.with_cv(raw.check()?);
    let bar = Bar::new();
    let output = experiment::run(
        &repeated,
        &RunOptions {
            permutations: Some(0),
        },
        &bar,
    )
    .with_context(|| format!("experiment {}", experiment.path().display()))?;
    bar.finish();
    Ok(experiment::record_of(&repeated, &output, None))
}

fn render(comparison: &Comparison, records: &[Record], markdown: bool) -> String {
    let show = |table: &Table| {
        if markdown {
            table.render_markdown()
        } else {
            table.render("")
        }
    };
    let mut out = String::new();
    let first = &records[0];
    let _ = writeln!(
        out,
        "{} experiments; reference: {} ({} paragraphs); values on pooled out-of-fold predictions, Δ = experiment − reference\n",
        records.len(),
        first.experiment,
        first.data.paragraphs
    );

    let mut header = vec!["experiment".to_owned()];
    for column in &comparison.columns {
        header.push(column.clone());
        header.push("Δ".to_owned());
    }
    let mut table = Table::new(header);
    for row in &comparison.rows {
        let mut cells = vec![row.experiment.clone()];
        for (value, difference) in row.values.iter().zip(&row.differences) {
            cells.push(number(*value));
            cells.push(difference.map_or(String::new(), |d| format!("{d:+.3}")));
        }
        table.row(cells);
    }
    out.push_str(&show(&table));

    let _ = writeln!(
        out,
        "\npaired tests against {} on {}:",
        first.experiment, comparison.metric
    );
    let mut tests = Table::new([
        "experiment",
        "Δ mean over folds",
        "corrected t",
        "p (t)",
        "McNemar b / c",
        "p (McNemar)",
    ]);
    // Verdicts are usually the same sentence for every row: print each once, under the table.
    let mut notes: Vec<String> = Vec::new();
    let mut mark = |sentence: &str| -> String {
        let index = notes.iter().position(|n| n == sentence).unwrap_or_else(|| {
            notes.push(sentence.to_owned());
            notes.len() - 1
        });
        format!(" ({})", index + 1)
    };
    for row in comparison.rows.iter().skip(1) {
        match &row.paired {
            Some(Ok(paired)) => {
                let (t, p) = match &paired.t_test {
                    Some(test) => (
                        format!("{:.2} (df {})", test.t, test.df),
                        p_value(test.p_value),
                    ),
                    None => ("–".to_owned(), "–".to_owned()),
                };
                let t_note = if paired.t_verdict.too_few {
                    mark(&paired.t_verdict.sentence)
                } else {
                    String::new()
                };
                let mcnemar_note = if paired.mcnemar_verdict.too_few {
                    mark(&paired.mcnemar_verdict.sentence)
                } else {
                    String::new()
                };
                tests.row([
                    row.experiment.clone(),
                    format!("{:+.3}", paired.mean_difference),
                    t,
                    p + &t_note,
                    format!("{} / {}", paired.mcnemar.b, paired.mcnemar.c),
                    p_value(paired.mcnemar.p_value) + &mcnemar_note,
                ]);
            }
            Some(Err(reason)) => {
                let note = mark(reason);
                tests.row([
                    row.experiment.clone() + &note,
                    "–".into(),
                    "–".into(),
                    "–".into(),
                    "–".into(),
                    "–".into(),
                ])
            }
            None => {}
        }
    }
    out.push_str(&show(&tests));
    let _ = writeln!(
        out,
        "  b: paragraphs only {} got right; c: paragraphs only the other got right.",
        first.experiment
    );
    for (index, note) in notes.iter().enumerate() {
        let _ = writeln!(out, "  ({}) {note}", index + 1);
    }

    if comparison.differing_keys.is_empty() {
        let _ = writeln!(out, "\nno config keys differ");
    } else if records.len() <= WIDE_TABLE_EXPERIMENTS || markdown {
        let _ = writeln!(out, "\nconfig keys that differ:");
        let mut keys = Table::new(
            std::iter::once("key".to_owned()).chain(records.iter().map(|r| r.experiment.clone())),
        );
        for (key, values) in &comparison.differing_keys {
            keys.row(std::iter::once(key.clone()).chain(values.iter().cloned()));
        }
        out.push_str(&show(&keys));
    } else {
        // Too many columns for a terminal: each key's values, with the experiments holding them.
        let _ = writeln!(out, "\nconfig keys that differ (value: experiments):");
        for (key, values) in &comparison.differing_keys {
            let mut groups: Vec<(&str, Vec<&str>)> = Vec::new();
            for (value, record) in values.iter().zip(records) {
                match groups.iter_mut().find(|(v, _)| *v == value.as_str()) {
                    Some((_, names)) => names.push(&record.experiment),
                    None => groups.push((value, vec![&record.experiment])),
                }
            }
            let _ = writeln!(out, "  {key}");
            for (value, names) in groups {
                let _ = writeln!(out, "    {value}: {}", names.join(", "));
            }
        }
    }
    out
}

fn json(comparison: &Comparison) -> serde_json::Value {
    let rows: Vec<serde_json::Value> = comparison
        .rows
        .iter()
        .map(|row| {
            let metrics: serde_json::Map<String, serde_json::Value> = comparison
                .columns
                .iter()
                .enumerate()
                .map(|(c, key)| {
                    let value = serde_json::json!({
                        "value": row.values[c],
                        "ci_low": row.intervals[c].map(|i| i.0),
                        "ci_high": row.intervals[c].map(|i| i.1),
                        "difference": row.differences[c],
                    });
                    (key.clone(), value)
                })
                .collect();
            let paired = match &row.paired {
                None => serde_json::Value::Null,
                Some(Err(reason)) => serde_json::json!({ "paired": false, "reason": reason }),
                Some(Ok(paired)) => serde_json::json!({
                    "paired": true,
                    "metric": comparison.metric,
                    "mean_difference": paired.mean_difference,
                    "folds": paired.folds,
                    "corrected_t_test": paired.t_test.as_ref().map(|t| serde_json::json!({
                        "t": finite(t.t), "df": t.df, "p_value": t.p_value, "zero_variance": t.zero_variance,
                    })),
                    "t_test_too_few": paired.t_verdict.too_few,
                    "t_test_note": paired.t_verdict.sentence,
                    "mcnemar": { "b": paired.mcnemar.b, "c": paired.mcnemar.c, "p_value": paired.mcnemar.p_value },
                    "mcnemar_too_few": paired.mcnemar_verdict.too_few,
                    "mcnemar_note": paired.mcnemar_verdict.sentence,
                }),
            };
            serde_json::json!({ "experiment": row.experiment, "metrics": metrics, "paired_tests": paired })
        })
        .collect();
    let differing: serde_json::Map<String, serde_json::Value> = comparison
        .differing_keys
        .iter()
        .map(|(key, values)| (key.clone(), serde_json::json!(values)))
        .collect();
    serde_json::json!({ "metric": comparison.metric, "experiments": rows, "differing_config": differing })
}

/// JSON has no infinity: a zero-variance t statistic is written as a string.
fn finite(value: f64) -> serde_json::Value {
    if value.is_finite() {
        serde_json::json!(value)
    } else {
        serde_json::json!(value.to_string())
    }
}
