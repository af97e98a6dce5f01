//! `stance train` (to be written).

use super::Outcome;

#[derive(Debug, clap::Args)]
pub struct TrainArgs {}

pub fn run(_args: TrainArgs) -> anyhow::Result<Outcome> {
    anyhow::bail!("`stance train` is not implemented yet")
}
