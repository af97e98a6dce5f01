//! `stance run`: run experiments, print their results, write their records.

use std::path::{Path, PathBuf};

use anyhow::Context;
use stance::experiment::{self, Experiment, RunOptions};
use stance::record::Record;

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
        let record = run_and_record(&experiment, &options, args.force)?;
        out!("{}", report::render(&record))?;
        outln!("\nrecord: {}", experiment.record_path().display())?;
    }
    Ok(Outcome::Success)
}

/// Run one experiment and write its record; the record is returned for printing.
pub fn run_and_record(
    experiment: &Experiment,
    options: &RunOptions,
    force: bool,
) -> anyhow::Result<Record> {
    let record_path = experiment.record_path();
    refuse_to_clobber(&record_path, force)?;
    let bar = Bar::new();
    let context = || format!("experiment {}", experiment.path().display());
    let output = experiment::run(experiment, options, &bar).with_context(context)?;
    // A handful of cross-validations, cheap beside the permutation test: every record
    // answers "would more labels help?" unless `[stats] curve_fractions = []`.
    let clock = std::time::Instant::now();
    let curve = experiment::learning_curve(experiment, &output.dataset, Some(&output.folds), &bar)
        .with_context(context)?;
    bar.finish();
    let mut record = experiment::record_of(experiment, &output, Some(&curve));
    record.timings.seconds_curve = Some(clock.elapsed().as_secs_f64());
    record.write(&record_path)?;
    Ok(record)
}

/// A results file that exists but cannot be read as a record may be someone's work: say so
/// instead of replacing it.
fn refuse_to_clobber(path: &Path, force: bool) -> anyhow::Result<()> {
    if force || !path.exists() {
        return Ok(());
    }
    if let Err(err) = Record::read(path) {
        anyhow::bail!(
            "{err}\nrefusing to overwrite it: move it away, or pass --force to replace it"
        );
    }
    Ok(())
}

/// The experiment's record if it exists and was written for this config and these labels.
pub fn up_to_date_record(experiment: &Experiment) -> anyhow::Result<Option<Record>> {
    let path = experiment.record_path();
    if !path.exists() {
        return Ok(None);
    }
    let Ok(record) = Record::read(&path) else {
        return Ok(None);
    };
    let dataset = experiment::Dataset::load(experiment.data())
        .with_context(|| format!("experiment {}", experiment.path().display()))?;
    let current =
        record.config_hash == experiment.config_hash() && record.data_hash == dataset.hash();
    Ok(current.then_some(record))
}
