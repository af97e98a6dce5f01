//! `stance run` (to be written).

use super::Outcome;

#[derive(Debug, clap::Args)]
pub struct RunArgs {}

pub fn run(_args: RunArgs) -> anyhow::Result<Outcome> {
    anyhow::bail!("`stance run` is not implemented yet")
}
