//! `stance runs`: the run history (`results/runs.jsonl`), per experiment, oldest first.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use stance::history::{self, RunLine};

use super::Outcome;
use super::table::{Table, interval, number, p_value};

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Every `stance run` (and every run that `compare`, `curve` or `report` makes \
    of a stale experiment) appends a line to `results/runs.jsonl` beside the records: when, \
    which experiment, its config and data hashes, the build, the permutations asked for and \
    run, the headline metrics with their intervals, the time taken, and what became of the \
    record (`written`; `unchanged`: same results, file left as it was; `kept`: it held a more \
    careful run; `forced`). `changed` says whether the config or the labels differ from the \
    experiment's previous run. The history is local: it is not versioned with the records."
)]
pub struct RunsArgs {
    /// Experiments to list, by name (`baseline`) or file (`experiments/baseline.toml`, whose
    /// history is beside its record); none lists them all.
    #[arg(value_name = "NAME")]
    experiments: Vec<String>,

    /// The results directory whose history to read.
    #[arg(long, value_name = "DIR", default_value = "experiments/results")]
    results: PathBuf,

    /// Runs listed per experiment, the latest.
    #[arg(long, value_name = "N", default_value_t = 10)]
    last: usize,

    /// Print the history's lines as they are (JSON Lines), filtered.
    #[arg(long)]
    json: bool,
}

pub fn run(args: RunsArgs) -> anyhow::Result<Outcome> {
    // A file names its experiment and where its history is.
    let mut results = args.results.clone();
    let mut names = Vec::new();
    for name in &args.experiments {
        let path = Path::new(name);
        if path.extension().is_some_and(|ext| ext == "toml") {
            let dir = path.parent().unwrap_or(Path::new(""));
            results = dir.join("results");
            names.push(
                path.file_stem()
                    .map(|stem| stem.to_string_lossy().into_owned())
                    .unwrap_or_default(),
            );
        } else {
            names.push(name.clone());
        }
    }
    let path = history::path_in(&results);
    let (lines, unreadable) = history::read(&path)?;
    for problem in &unreadable {
        eprintln!("warning: {}:{problem} (skipped)", path.display());
    }
    let chosen: Vec<&RunLine> = lines
        .iter()
        .filter(|line| names.is_empty() || names.contains(&line.experiment))
        .collect();
    if args.json {
        for line in &chosen {
            outln!("{}", serde_json::to_string(line)?)?;
        }
        return Ok(Outcome::Success);
    }
    if chosen.is_empty() {
        let what = if names.is_empty() {
            "no runs".to_owned()
        } else {
            format!("no runs of {}", names.join(", "))
        };
        anyhow::ensure!(
            path.exists(),
            "no run history at {} yet: `stance run` writes it",
            path.display()
        );
        let known: Vec<&str> = {
            let mut known: Vec<&str> = lines.iter().map(|l| l.experiment.as_str()).collect();
            known.sort_unstable();
            known.dedup();
            known
        };
        anyhow::bail!(
            "{what} in {}{}",
            path.display(),
            if known.is_empty() {
                String::new()
            } else {
                format!("; it has runs of {}", known.join(", "))
            }
        );
    }
    out!("{}", render(&path, &chosen, args.last))?;
    Ok(Outcome::Success)
}

/// Metric names short enough for a column.
fn short(metric: &str) -> &str {
    match metric {
        "balanced_accuracy" => "bal_acc",
        "accuracy" => "acc",
        other => other,
    }
}

fn render(path: &Path, lines: &[&RunLine], last: usize) -> String {
    let mut out = String::new();
    let mut experiments: Vec<&str> = Vec::new();
    for line in lines {
        if !experiments.contains(&line.experiment.as_str()) {
            experiments.push(&line.experiment);
        }
    }
    let _ = writeln!(out, "{} (times in UTC, oldest first)", path.display());
    for name in experiments {
        let runs: Vec<&RunLine> = lines
            .iter()
            .copied()
            .filter(|line| line.experiment == name)
            .collect();
        let _ = writeln!(
            out,
            "\n{name}: {} run{}",
            runs.len(),
            if runs.len() == 1 { "" } else { "s" }
        );
        let metrics: Vec<&str> = {
            let mut metrics: Vec<&str> = runs.iter().map(|r| r.metric.as_str()).collect();
            metrics.dedup();
            metrics
        };
        let metric_header = match metrics.as_slice() {
            [one] => short(one).to_owned(),
            _ => "metric".to_owned(),
        };
        let mut table = Table::new([
            "started",
            metric_header.as_str(),
            "interval",
            "p",
            "shuffles",
            "changed",
            "record",
        ]);
        let skipped = runs.len().saturating_sub(last);
        if skipped > 0 {
            let _ = writeln!(
                out,
                "  … {skipped} earlier run{} (--last N shows more)",
                if skipped == 1 { "" } else { "s" }
            );
        }
        for (index, run) in runs.iter().enumerate().skip(skipped) {
            let headline = run.metrics.get(&run.metric);
            let value = number(headline.and_then(|h| h.value));
            let value = if metrics.len() > 1 {
                format!("{} {value}", short(&run.metric))
            } else {
                value
            };
            let changed = match index.checked_sub(1).map(|i| runs[i]) {
                None => "",
                Some(previous) => match (
                    previous.config_hash != run.config_hash,
                    previous.data_hash != run.data_hash,
                ) {
                    (true, true) => "config, labels",
                    (true, false) => "config",
                    (false, true) => "labels",
                    (false, false) => "",
                },
            };
            let (p, shuffles) = match &run.permutation {
                Some(test) if test.run < test.requested => (
                    p_value(test.p_value),
                    format!("{}/{}", test.run, test.requested),
                ),
                Some(test) => (p_value(test.p_value), test.run.to_string()),
                None => ("–".to_owned(), "0".to_owned()),
            };
            table.row([
                started(&run.started_at),
                value,
                interval(
                    headline.and_then(|h| h.ci_low),
                    headline.and_then(|h| h.ci_high),
                ),
                p,
                shuffles,
                changed.to_owned(),
                run.record.as_str().to_owned(),
            ]);
        }
        out.push_str(&table.render("  "));
    }
    out
}

/// `2026-12-06T14:29:44.68Z` as `2026-12-06 14:29`.
fn started(timestamp: &str) -> String {
    match timestamp.parse::<jiff::Timestamp>() {
        Ok(time) => time.strftime("%Y-%m-%d %H:%M").to_string(),
        Err(_) => timestamp.to_owned(),
    }
}
