//! `stance labels` (to be written).

use super::Outcome;

#[derive(Debug, clap::Args)]
pub struct LabelsArgs {}

pub fn run(_args: LabelsArgs) -> anyhow::Result<Outcome> {
    anyhow::bail!("`stance labels` is not implemented yet")
}
