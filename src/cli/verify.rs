//! `stance verify` (to be written).

use super::Outcome;

#[derive(Debug, clap::Args)]
pub struct VerifyArgs {}

pub fn run(_args: VerifyArgs) -> anyhow::Result<Outcome> {
    anyhow::bail!("`stance verify` is not implemented yet")
}
