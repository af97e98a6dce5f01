//! `stance inspect`: the terms that carry each class, by weight, with their document
//! frequency; for an experiment, also how stable each weight's sign is across the
//! experiment's cross-validation folds (a term whose sign flips is noise).

use std::path::PathBuf;

use anyhow::Context;
use stance::experiment::{self, Dataset, FoldFit};
use stance::model_file;
use stance::trained::TrainedModel;

use super::Outcome;
use super::report::wrap;
use super::table::Table;

#[derive(Debug, clap::Args)]
#[command(
    group = clap::ArgGroup::new("source").required(true).args(["experiment", "model"]),
    after_help = "With an experiment, the model is fitted on all its labels, and again on the \
    training paragraphs of each fold of its cross-validation scheme. For each listed term, \
    `same sign` counts the folds whose vocabulary has it with a weight of the same sign as \
    in the full model, `flipped` the folds where the sign is the opposite (noise: the data \
    do not settle which way it points) and `absent` those that never saw it. A model file \
    holds a single fit, so `--model` lists weights only. Each class's table lists the terms \
    with the largest weights toward that class. With two classes the model has one weight \
    per term, positive toward the second class and negative toward the first: the first \
    class's table shows that weight with its sign turned, so both tables list positive weights \
    (a term at 0.42 toward the first class has a model weight of -0.42)."
)]
pub struct InspectArgs {
    /// The experiment (TOML) to fit on all labels and per fold.
    #[arg(value_name = "EXPERIMENT.toml")]
    experiment: Option<PathBuf>,

    /// A model file written by `stance train`, instead of an experiment.
    #[arg(long, value_name = "MODEL.json")]
    model: Option<PathBuf>,

    /// Terms to list per class.
    #[arg(long, value_name = "K", default_value_t = 15)]
    top: usize,
}

pub fn run(args: InspectArgs) -> anyhow::Result<Outcome> {
    let (model, folds, scheme) = match (&args.experiment, &args.model) {
        (Some(path), _) => {
            let experiment = super::load_experiment(path)?;
            let dataset = Dataset::load(experiment.data())?;
            let context = || format!("inspecting {}", path.display());
            let model = experiment::train_on(&experiment, &dataset).with_context(context)?;
            let folds = experiment::fit_folds(&experiment, &dataset).with_context(context)?;
            let scheme = experiment.cv().describe(dataset.articles().len());
            (model, folds, Some(scheme))
        }
        (None, Some(path)) => (model_file::load(path)?, Vec::new(), None),
        (None, None) => anyhow::bail!("give an experiment or --model"),
    };
    out!("{}", render(&model, &folds, scheme.as_deref(), args.top))?;
    Ok(Outcome::Success)
}

fn render(model: &TrainedModel, folds: &[FoldFit], scheme: Option<&str>, top: usize) -> String {
    let mut out = String::new();
    let provenance = model.provenance();
    let classes = model.classes();
    let per_class: Vec<String> = classes
        .iter()
        .map(|class| {
            let count = provenance.per_class.get(class).copied().unwrap_or(0);
            format!("{count} {class}")
        })
        .collect();
    let paragraphs: usize = provenance.per_class.values().sum();
    out.push_str(&wrap(
        &format!(
            "{}: top {top} terms per class by weight, fitted on {paragraphs} paragraphs ({})",
            provenance.experiment,
            per_class.join(", ")
        ),
        "",
        "  ",
    ));
    match scheme {
        Some(scheme) => {
            let unconverged = folds
                .iter()
                .filter(|fold| !fold.model.convergence().converged)
                .count();
            let mut line = format!(
                "signs checked on the {} training folds of {scheme}",
                folds.len()
            );
            if unconverged > 0 {
                line.push_str(&format!(" ({unconverged} of them did not converge)"));
            }
            out.push_str(&wrap(&line, "", "  "));
        }
        None => out.push_str(&wrap(
            "no folds: a model file holds one fit; run `stance inspect EXPERIMENT.toml` to see \
             how stable each sign is across folds",
            "",
            "  ",
        )),
    }
    let convergence = model.model().convergence();
    if !convergence.converged {
        // The solver's message starts "not converged: …".
        let detail = convergence.message.trim_start_matches("not converged: ");
        out.push_str(&wrap(
            &format!("warning: the fit on all labels did not converge: {detail}"),
            "",
            "  ",
        ));
    }

    let mut noise = 0;
    for (class, name) in classes.iter().enumerate() {
        let terms = experiment::top_terms(model, class, top, folds);
        let side = match *model.model().classes() {
            [a, b] if class == a => format!(" (against {})", classes[b]),
            [a, b] if class == b => format!(" (against {})", classes[a]),
            _ => String::new(),
        };
        out.push_str(&format!("\ntoward {name}{side}\n"));
        if terms.is_empty() {
            out.push_str("  (no term has a positive weight)\n");
            continue;
        }
        let mut header = vec!["term", "weight", "df"];
        if !folds.is_empty() {
            header.extend(["same sign", "flipped", "absent", ""]);
        }
        let mut table = Table::new(header);
        for term in &terms {
            let mut row = vec![
                term.term.clone(),
                format!("{:.4}", term.weight),
                term.document_frequency.to_string(),
            ];
            if let Some(stability) = term.stability {
                noise += usize::from(stability.is_noise());
                row.extend([
                    format!("{}/{}", stability.same_sign, stability.folds),
                    stability.flipped.to_string(),
                    stability.absent.to_string(),
                    if stability.is_noise() { "noise" } else { "" }.to_owned(),
                ]);
            }
            table.row(row);
        }
        out.push_str(&table.render("  "));
    }
    if noise > 0 {
        out.push_str(&format!(
            "\n{noise} listed {} sign between folds: noise, not evidence for the class\n",
            if noise == 1 {
                "term flips"
            } else {
                "terms flip"
            }
        ));
    }
    out
}
