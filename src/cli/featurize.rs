//! `stance featurize` (to be written).

use super::Outcome;

#[derive(Debug, clap::Args)]
pub struct FeaturizeArgs {}

pub fn run(_args: FeaturizeArgs) -> anyhow::Result<Outcome> {
    anyhow::bail!("`stance featurize` is not implemented yet")
}
