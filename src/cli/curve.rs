//! `stance curve` (to be written).

use super::Outcome;

#[derive(Debug, clap::Args)]
pub struct CurveArgs {}

pub fn run(_args: CurveArgs) -> anyhow::Result<Outcome> {
    anyhow::bail!("`stance curve` is not implemented yet")
}
