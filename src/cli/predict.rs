//! `stance predict` (to be written).

use super::Outcome;

#[derive(Debug, clap::Args)]
pub struct PredictArgs {}

pub fn run(_args: PredictArgs) -> anyhow::Result<Outcome> {
    anyhow::bail!("`stance predict` is not implemented yet")
}
