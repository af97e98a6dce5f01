//! `stance inspect` (to be written).

use super::Outcome;

#[derive(Debug, clap::Args)]
pub struct InspectArgs {}

pub fn run(_args: InspectArgs) -> anyhow::Result<Outcome> {
    anyhow::bail!("`stance inspect` is not implemented yet")
}
