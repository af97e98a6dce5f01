//! `stance label` (to be written).

use super::Outcome;

#[derive(Debug, clap::Args)]
pub struct LabelArgs {}

pub fn run(_args: LabelArgs) -> anyhow::Result<Outcome> {
    anyhow::bail!("`stance label` is not implemented yet")
}
