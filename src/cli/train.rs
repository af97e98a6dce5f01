//! `stance train`: fit an experiment's featurizer and model on every paragraph it selects and
//! write the model file; print what it was trained on and whether the solver converged.

use std::path::{Path, PathBuf};

use anyhow::Context;
use stance::experiment;
use stance::model_file;

use super::Outcome;

#[derive(Debug, clap::Args)]
#[command(
    after_help = "The model file holds the fitted vocabulary (or hashing settings), document \
    frequencies, weights, intercepts and classes, with the experiment's resolved config, its \
    hash, the hash of the labels it was trained on and the stance version. Training the same \
    experiment on the same labels writes the same bytes. Apply it with `stance predict --model`."
)]
pub struct TrainArgs {
    /// The experiment (TOML) whose `[data]`, `[features]` and `[model]` to use.
    #[arg(value_name = "EXPERIMENT.toml")]
    experiment: PathBuf,

    /// Where to write the model (JSON), atomically.
    #[arg(long, value_name = "MODEL.json")]
    out: PathBuf,

    /// Replace --out even if it is not a model file.
    #[arg(long)]
    force: bool,
}

pub fn run(args: TrainArgs) -> anyhow::Result<Outcome> {
    refuse_to_clobber(&args.out, args.force)?;
    let experiment = super::load_experiment(&args.experiment)?;
    let model = experiment::train(&experiment)
        .with_context(|| format!("training {}", args.experiment.display()))?;
    model_file::save(&model, &args.out)?;

    let provenance = model.provenance();
    let paragraphs: usize = provenance.per_class.values().sum();
    let per_class: Vec<String> = model
        .classes()
        .iter()
        .map(|class| {
            let count = provenance.per_class.get(class).copied().unwrap_or(0);
            format!("{count} {class}")
        })
        .collect();
    let columns = match model.features().vocabulary() {
        Some(vocabulary) => format!("{} terms", vocabulary.len()),
        None => format!("{} hashed columns", model.features().n_features()),
    };
    let convergence = model.model().convergence();
    outln!(
        "trained {} on {paragraphs} paragraphs ({}) from {} article{}: {columns}",
        experiment.name(),
        per_class.join(", "),
        provenance.articles,
        if provenance.articles == 1 { "" } else { "s" },
    )?;
    if convergence.converged {
        outln!(
            "converged ({}): {}",
            model.model().solver().as_str(),
            convergence.message
        )?;
    } else {
        eprintln!(
            "warning: {}; raise [model] max_iterations or alpha",
            convergence.message
        );
    }
    outln!("model: {}", args.out.display())?;
    Ok(Outcome::Success)
}

/// A file at `--out` that is not a model may be someone's work: as `run` does with records,
/// say so before training instead of replacing it, unless forced. A model is replaced.
fn refuse_to_clobber(out: &Path, force: bool) -> anyhow::Result<()> {
    if out.is_dir() {
        anyhow::bail!(
            "--out {} is a directory: name the model file, e.g. {}",
            out.display(),
            out.join("model.json").display()
        );
    }
    if force || !out.exists() {
        return Ok(());
    }
    match model_file::load(out) {
        Ok(_) => Ok(()),
        Err(err) => anyhow::bail!(
            "{err}\nrefusing to overwrite it: move it away, or pass --force to replace it"
        ),
    }
}
