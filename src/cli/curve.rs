//! `stance curve`: the learning curve of an experiment, as its up-to-date record holds it.

use std::path::PathBuf;

use stance::experiment::{self, RecordPolicy, RunOptions};

use super::Outcome;
use super::progress::Bar;
use super::report::{Style, render_curve};

#[derive(Debug, clap::Args)]
#[command(
    after_help = "The learning curve cross-validates again with each training fold cut to \
    `[stats] curve_fractions` of its paragraphs (nested, stratified subsets; test folds \
    unchanged) and reports the `[stats] metric` with its interval at each size. A curve still \
    rising at the full size suggests more labels would help. Every record holds its curve: \
    this prints the one of the experiment's up-to-date record, running the experiment first \
    if the record is missing or stale."
)]
pub struct CurveArgs {
    /// The experiment file.
    #[arg(value_name = "EXPERIMENT.toml")]
    experiment: PathBuf,
}

pub fn run(args: CurveArgs) -> anyhow::Result<Outcome> {
    let experiment = super::load_experiment(&args.experiment)?;
    if experiment.stats().curve_fractions().is_empty() {
        anyhow::bail!(
            "experiment {} has no learning curve: its `[stats] curve_fractions` is empty",
            experiment.path().display()
        );
    }
    // Every record carries its curve: reuse an up-to-date one, or run the experiment.
    let record = match experiment::up_to_date_record(&experiment)? {
        Some(record) if record.learning_curve.is_some() => record,
        _ => {
            let bar = Bar::new();
            let record = experiment::run_and_record(
                &experiment,
                &RunOptions::default(),
                RecordPolicy::default(),
                &bar,
            )?
            .record;
            bar.finish();
            record
        }
    };
    out!(
        "{}",
        render_curve(
            &record,
            record.learning_curve.as_deref().unwrap_or_default(),
            false,
            Style::default(),
        )
    )?;
    outln!("\nrecord: {}", experiment.record_path().display())?;
    Ok(Outcome::Success)
}
