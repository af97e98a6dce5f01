//! `stance curve`: the learning curve of an experiment, printed and written into its record.

use std::path::PathBuf;

use anyhow::Context;
use stance::experiment::{self, Experiment, RunOptions};

use super::Outcome;
use super::progress::Bar;
use super::report::render_curve;
use super::run::{run_and_record, up_to_date_record};

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Cross-validates again with each training fold cut to `[stats] \
    curve_fractions` of its paragraphs (nested, stratified subsets; test folds unchanged) and \
    reports the `[stats] metric` with its interval at each size. A curve still rising at the \
    full size suggests more labels would help. The curve is written into the experiment's \
    record (which is first brought up to date if needed)."
)]
pub struct CurveArgs {
    /// The experiment file.
    #[arg(value_name = "EXPERIMENT.toml")]
    experiment: PathBuf,
}

pub fn run(args: CurveArgs) -> anyhow::Result<Outcome> {
    let experiment = Experiment::load(&args.experiment)?;
    let mut record = match up_to_date_record(&experiment)? {
        Some(record) => record,
        None => run_and_record(&experiment, &RunOptions::default(), false)?,
    };
    let dataset = experiment::Dataset::load(experiment.data())?;
    let bar = Bar::new();
    let points = experiment::learning_curve(&experiment, &dataset, &bar)
        .with_context(|| format!("experiment {}", experiment.path().display()))?;
    bar.finish();
    let with_curve = experiment::record_of_curve(&experiment, &points);
    record.learning_curve = Some(with_curve);
    record.write(&experiment.record_path())?;
    print!(
        "{}",
        render_curve(
            &record,
            record.learning_curve.as_deref().unwrap_or_default()
        )
    );
    println!("\nrecord: {}", experiment.record_path().display());
    Ok(Outcome::Success)
}
