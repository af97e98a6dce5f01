//! `stance ingest` (to be written).

use super::Outcome;

#[derive(Debug, clap::Args)]
pub struct IngestArgs {}

pub fn run(_args: IngestArgs) -> anyhow::Result<Outcome> {
    anyhow::bail!("`stance ingest` is not implemented yet")
}
