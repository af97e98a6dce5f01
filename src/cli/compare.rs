//! `stance compare`: experiments side by side on identical folds, with paired tests against
//! the first one and the config keys that differ.

use std::fmt::Write as _;
use std::path::PathBuf;

use stance::experiment::{self, Comparison, RecordPolicy, RunOptions};
use stance::record::Record;

use super::Outcome;
use super::progress::Bar;
use super::report::{WIDTH, wrap};
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
        .map(|path| super::load_experiment(path))
        .collect::<Result<Vec<_>, _>>()?;
    let mut records = experiments
        .iter()
        .map(|experiment| -> anyhow::Result<Record> {
            if let Some(record) = match args.repeats {
                Some(_) => None,
                None => experiment::up_to_date_record(experiment)?,
            } {
                return Ok(record);
            }
            let bar = Bar::new();
            let record = match args.repeats {
                Some(repeats) => experiment::run_repeated(experiment, repeats, &bar)?,
                None => {
                    experiment::run_and_record(
                        experiment,
                        &RunOptions::default(),
                        RecordPolicy::default(),
                        &bar,
                    )?
                    .record
                }
            };
            bar.finish();
            Ok(record)
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
        Format::Json => serde_json::to_string_pretty(&comparison.to_json())? + "\n",
    };
    out!("{text}")?;
    Ok(Outcome::Success)
}

fn render(comparison: &Comparison, records: &[Record], markdown: bool) -> String {
    // Tables fit the terminal, cut into several when too wide; Markdown keeps them whole.
    let show = |table: &Table, together: usize| {
        if markdown {
            table.render_markdown()
        } else {
            table.render_within("", WIDTH, together)
        }
    };
    let prose = |text: &str, indent: &str| {
        if markdown {
            format!("{text}\n")
        } else {
            wrap(text, indent, indent)
        }
    };
    let mut out = String::new();
    let first = &records[0];
    out.push_str(&prose(
        &format!(
            "{} experiments; reference: {} ({} paragraphs); values on pooled out-of-fold \
             predictions, Δ = experiment − reference",
            records.len(),
            first.experiment,
            first.data.paragraphs
        ),
        "",
    ));
    out.push('\n');

    let mut header = vec!["experiment".to_owned()];
    for column in &comparison.columns {
        header.push(column.clone());
        header.push("Δ".to_owned());
    }
    let mut table = Table::new(header);
    let mut other_classes = Vec::new();
    for (row, record) in comparison.rows.iter().zip(records) {
        let mut name = row.experiment.clone();
        if !row.same_classes {
            // Its values measure another task: no Δ.
            name.push_str(" (other classes)");
            other_classes.push(format!(
                "{} ({})",
                record.experiment,
                record.classes.join(", ")
            ));
        }
        let mut cells = vec![name];
        for (value, difference) in row.values.iter().zip(&row.differences) {
            cells.push(number(*value));
            cells.push(difference.map_or(String::new(), |d| format!("{d:+.3}")));
        }
        table.row(cells);
    }
    out.push_str(&show(&table, 2));
    if !other_classes.is_empty() {
        out.push_str(&prose(
            &format!(
                "other classes than {}'s ({}): {}; their values measure another task, so no Δ \
                 and no paired test",
                first.experiment,
                first.classes.join(", "),
                other_classes.join("; ")
            ),
            "  ",
        ));
    }

    out.push('\n');
    out.push_str(&prose(
        &format!(
            "paired tests against {} on {}:",
            first.experiment, comparison.metric
        ),
        "",
    ));
    let mut tests = Table::new([
        "experiment",
        "Δ folds",
        "t (df)",
        "p (t)",
        "b / c",
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
                        format!("{:.2} ({})", test.t, test.df),
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
    out.push_str(&show(&tests, 1));
    out.push_str(&prose(
        &format!(
            "Δ folds: the mean of the per-fold differences; t: the corrected resampled t-test \
             (degrees of freedom); b: paragraphs only {} got right, c: paragraphs only the \
             other got right (McNemar's exact test).",
            first.experiment
        ),
        "  ",
    ));
    for (index, note) in notes.iter().enumerate() {
        out.push_str(&prose(&format!("({}) {note}", index + 1), "  "));
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
        out.push_str(&show(&keys, 1));
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
