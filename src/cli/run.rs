//! `stance run`: run experiments, print their results, write their records.

use std::path::PathBuf;

use stance::experiment::{self, Experiment, RecordPolicy, Recorded, RunOptions};
use stance::history::RecordFate;

use super::Outcome;
use super::progress::Bar;
use super::report;

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Prints every metric with its interval beside the majority baseline, the \
    permutation test against chance, the confusion matrix, accuracy per article and the \
    learning curve. Each experiment's record is written atomically to `results/NAME.json` \
    beside its file (`experiments/results/baseline.json`), and every run is appended to the \
    run history `results/runs.jsonl` (`stance runs` lists it). Running the same experiment on \
    the same labels gives the same results, byte for byte, apart from timings: then the record \
    is left as it is (only the history says when it was run). A record of a more careful run \
    (more permutations or bootstrap resamples asked for) is not replaced by a quicker one \
    without --force."
)]
pub struct RunArgs {
    /// Experiment files (TOML).
    #[arg(required = true, value_name = "EXPERIMENT.toml")]
    experiments: Vec<PathBuf>,

    /// Permutations for the test against chance, instead of `[stats] permutations` (0 skips it).
    #[arg(long, value_name = "N")]
    permutations: Option<usize>,

    /// Replace a record of a more careful run (more permutations or resamples), or a results
    /// file that is not a readable record.
    #[arg(long)]
    force: bool,

    /// Write nothing: neither the record nor the run history (a look at the numbers).
    #[arg(long, conflicts_with = "force")]
    no_record: bool,
}

pub fn run(args: RunArgs) -> anyhow::Result<Outcome> {
    let options = RunOptions {
        permutations: args.permutations,
    };
    for (index, path) in args.experiments.iter().enumerate() {
        if index > 0 {
            outln!()?;
        }
        let experiment = Experiment::load(path)?;
        let bar = Bar::new();
        let policy = RecordPolicy {
            write: !args.no_record,
            force: args.force,
        };
        let recorded = experiment::run_and_record(&experiment, &options, policy, &bar)?;
        bar.finish();
        out!("{}", report::render(&recorded.record))?;
        outln!("\n{}", record_line(&experiment, &recorded))?;
    }
    Ok(Outcome::Success)
}

/// What became of the record, in one line.
fn record_line(experiment: &Experiment, recorded: &Recorded) -> String {
    let path = experiment.record_path();
    let path = path.display();
    let careful = recorded.careful.as_deref().unwrap_or("more");
    match recorded.fate {
        None => format!("record: not written (--no-record); {path} is as it was"),
        Some(RecordFate::Written) => format!("record: {path}"),
        Some(RecordFate::Unchanged) => {
            format!("record: {path} (unchanged: the same results; the run is in the history)")
        }
        Some(RecordFate::Kept) => format!(
            "record: {path} kept: it holds a more careful run, of {careful}; --force replaces it"
        ),
        Some(RecordFate::Forced) => {
            format!("record: {path} (replaced with --force; it held {careful})")
        }
    }
}
