//! `stance merge`: the partial records of a sharded run in, its record out.

use std::path::PathBuf;

use stance::experiment::{self, RecordPolicy};

use super::Outcome;
use super::progress::Bar;
use super::report::{self, Style};

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Checks that the partial records are all the shards of one run of this \
    experiment (same config, labels, build and shard count, each shard once), scores them \
    and writes the record an unsharded `stance run` writes, byte for byte apart from its \
    `timings`. Without PARTIAL files, takes `results/NAME.shard-*-of-*.json` beside the \
    record. Running the shards on several machines: docs/scale.md."
)]
pub struct MergeArgs {
    /// The experiment file (TOML) the shards ran.
    #[arg(value_name = "EXPERIMENT.toml")]
    experiment: PathBuf,

    /// Partial records written by `stance run --shard I/N`.
    #[arg(value_name = "PARTIAL.json")]
    partials: Vec<PathBuf>,

    /// Replace a record of a more careful run (more permutations or resamples), or a results
    /// file that is not a readable record.
    #[arg(long)]
    force: bool,
}

pub fn run(args: MergeArgs) -> anyhow::Result<Outcome> {
    let experiment = super::load_experiment(&args.experiment)?;
    let partials = if args.partials.is_empty() {
        experiment::partial_paths(&experiment)
    } else {
        args.partials
    };
    let bar = Bar::new();
    let policy = RecordPolicy {
        write: true,
        force: args.force,
    };
    let recorded = experiment::merge_and_record(&experiment, &partials, policy, &bar)?;
    bar.finish();
    out!("{}", report::render(&recorded.record, Style::default()))?;
    outln!("\n{}", super::run::record_line(&experiment, &recorded))?;
    Ok(Outcome::Success)
}
