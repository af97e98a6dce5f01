//! `stance run`: run experiments, print their results, write their records.

use std::path::PathBuf;

use stance::experiment::{self, Experiment, RunOptions};

use super::Outcome;
use super::progress::Bar;
use super::report;

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Prints every metric with its interval beside the majority baseline, the \
    permutation test against chance, the confusion matrix, accuracy per article and the \
    learning curve. Each experiment's record is written atomically to `results/NAME.json` \
    beside its file (`experiments/results/baseline.json`). Running the same experiment on the \
    same labels gives the same record, byte for byte, apart from its `timings` (and `version`, \
    when another build ran it)."
)]
pub struct RunArgs {
    /// Experiment files (TOML).
    #[arg(required = true, value_name = "EXPERIMENT.toml")]
    experiments: Vec<PathBuf>,

    /// Permutations for the test against chance, instead of `[stats] permutations` (0 skips it).
    #[arg(long, value_name = "N")]
    permutations: Option<usize>,

    /// Overwrite a results file that exists but is not a readable record.
    #[arg(long)]
    force: bool,
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
        let record = experiment::run_and_record(&experiment, &options, args.force, &bar)?;
        bar.finish();
        out!("{}", report::render(&record))?;
        outln!("\nrecord: {}", experiment.record_path().display())?;
    }
    Ok(Outcome::Success)
}
