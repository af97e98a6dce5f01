//! `stance verify`: re-run experiments and check that their records reproduce exactly.

use std::fmt::Write as _;
use std::path::PathBuf;

use stance::experiment::{self, Difference, Experiment};
use stance::record::Record;

use super::Outcome;
use super::progress::Bar;

/// Differences listed before the rest are only counted.
const SHOWN_DIFFERENCES: usize = 20;

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Re-runs each experiment from its file and the current labels and compares \
    every recorded value (predictions, probabilities, metrics, intervals, permutation test, \
    learning curve) with the record, to the bit; only timings and the build are ignored. Exit \
    code 1 when anything differs, with what differs, including whether the experiment file \
    or the labels changed since the record was written."
)]
pub struct VerifyArgs {
    /// Experiment files whose records (`results/NAME.json` beside them) are checked.
    #[arg(required = true, value_name = "EXPERIMENT.toml")]
    experiments: Vec<PathBuf>,
}

pub fn run(args: VerifyArgs) -> anyhow::Result<Outcome> {
    let mut outcome = Outcome::Success;
    for path in &args.experiments {
        let experiment = super::load_experiment(path)?;
        let record_path = experiment.record_path();
        anyhow::ensure!(
            record_path.exists(),
            "{}: no record at {} to verify (run `stance run {}` first)",
            experiment.name(),
            record_path.display(),
            path.display()
        );
        let recorded = Record::read(&record_path)?;
        let bar = Bar::new();
        let fresh = experiment::rerun_like(&experiment, &recorded, &bar)?;
        bar.finish();
        let verification = experiment::verify_record(&recorded, &fresh);
        if verification.reproduced() {
            outln!(
                "{}: reproduced ({} recorded values identical, {} predictions)",
                experiment.name(),
                verification.compared,
                recorded.predictions.len()
            )?;
        } else {
            outcome = Outcome::CheckFailed;
            out!(
                "{}",
                describe(&experiment, &record_path, &verification.differences)
            )?;
        }
    }
    Ok(outcome)
}

fn describe(
    experiment: &Experiment,
    record_path: &std::path::Path,
    differences: &[Difference],
) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}: NOT reproduced: {} differs from a fresh run",
        experiment.name(),
        record_path.display()
    );
    let mut values = 0;
    for difference in differences {
        match difference {
            Difference::Config { keys } => {
                let _ = writeln!(
                    out,
                    "  the experiment file changed since the record was written:"
                );
                for (key, recorded, now) in keys {
                    let _ = writeln!(out, "    {key}: {recorded} → {now}");
                }
            }
            Difference::Labels {
                added,
                removed,
                relabelled,
            } => {
                let _ = writeln!(
                    out,
                    "  the labels changed since the record was written: {} added, {} removed, {} relabelled",
                    added.len(),
                    removed.len(),
                    relabelled.len()
                );
                for (id, recorded, now) in relabelled.iter().take(SHOWN_DIFFERENCES) {
                    let _ = writeln!(out, "    {id}: {recorded} → {now}");
                }
                for id in added.iter().take(SHOWN_DIFFERENCES) {
                    let _ = writeln!(out, "    {id}: added");
                }
                for id in removed.iter().take(SHOWN_DIFFERENCES) {
                    let _ = writeln!(out, "    {id}: removed");
                }
                if added.is_empty() && removed.is_empty() && relabelled.is_empty() {
                    let _ = writeln!(
                        out,
                        "    (same paragraphs and labels: a text or a confidence mark changed)"
                    );
                }
            }
            Difference::Value {
                path,
                recorded,
                now,
            } => {
                values += 1;
                if values <= SHOWN_DIFFERENCES {
                    let _ = writeln!(out, "  {path}: recorded {recorded}, now {now}");
                }
            }
        }
    }
    if values > SHOWN_DIFFERENCES {
        let _ = writeln!(
            out,
            "  … and {} more differing values",
            values - SHOWN_DIFFERENCES
        );
    }
    out
}
