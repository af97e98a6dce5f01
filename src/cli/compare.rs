//! `stance compare` (to be written).

use super::Outcome;

#[derive(Debug, clap::Args)]
pub struct CompareArgs {}

pub fn run(_args: CompareArgs) -> anyhow::Result<Outcome> {
    anyhow::bail!("`stance compare` is not implemented yet")
}
