//! `stance train`: fit an experiment's featurizer and model on every paragraph it selects and
//! write the model file; print what it was trained on and whether the solver converged.

use std::path::PathBuf;

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
}

pub fn run(args: TrainArgs) -> anyhow::Result<Outcome> {
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
