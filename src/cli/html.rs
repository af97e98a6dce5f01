//! `stance report`: experiments in, one self-contained HTML page with their figures out.
//!
//! Reuses each experiment's up-to-date record (running it otherwise, as `compare` does),
//! reads its paragraphs and fits its top terms (on all labels and on each training fold, as
//! `inspect` does), and hands everything to `stance::html`, which draws the page.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::Context;
use stance::experiment::{self, Dataset, Experiment, RecordPolicy, RunOptions};
use stance::html::{self, ClassTerms, ExperimentInputs, ParagraphText, Stability, TermBar};
use stance::record::Record;

use super::Outcome;
use super::progress::Bar;

#[derive(Debug, clap::Args)]
#[command(
    after_help = "One experiment: its data, metrics with intervals beside the majority \
    baseline, confusion matrix, learning curve, permutation test, calibration, ROC curve (two \
    classes), accuracy per article, the terms that carry each class with their sign stability \
    across folds, and the paragraphs it gets wrong with the most confidence. Several: first \
    the comparison (as `stance compare`, the first experiment the reference) with a forest \
    plot of the differences, then each experiment's page. The file has no script and loads \
    nothing: it opens from disk and prints. The same records give the same bytes."
)]
pub struct ReportArgs {
    /// Experiment files; with several, the first is the reference of the comparison.
    #[arg(required = true, value_name = "EXPERIMENT.toml")]
    experiments: Vec<PathBuf>,

    /// Where to write the page (replaced atomically).
    #[arg(long, value_name = "FILE", default_value = "report.html")]
    out: PathBuf,

    /// Terms shown per class.
    #[arg(long, value_name = "K", default_value_t = 10)]
    top: usize,

    /// The metric of the comparison's paired tests (default: the first experiment's
    /// `[stats] metric`).
    #[arg(long, value_name = "KEY")]
    metric: Option<String>,
}

/// What the page shows beside one record.
struct Gathered {
    record: Record,
    paragraphs: BTreeMap<String, ParagraphText>,
    /// `None` when the experiment cannot be trained into one model file.
    terms: Option<Vec<ClassTerms>>,
}

pub fn run(args: ReportArgs) -> anyhow::Result<Outcome> {
    let experiments = args
        .experiments
        .iter()
        .map(|path| super::load_experiment(path))
        .collect::<Result<Vec<_>, _>>()?;
    let gathered = experiments
        .iter()
        .map(|experiment| gather(experiment, args.top))
        .collect::<anyhow::Result<Vec<Gathered>>>()?;

    let comparison = if gathered.len() > 1 {
        let metric = match &args.metric {
            Some(metric) => metric.clone(),
            None => experiments[0]
                .stats()
                .metric()
                .key(experiments[0].data().classes()),
        };
        anyhow::ensure!(
            gathered
                .iter()
                .all(|g| g.record.metrics.contains_key(&metric)),
            "metric `{metric}` is not in every experiment's results (its classes must be the same)"
        );
        let records: Vec<Record> = gathered.iter().map(|g| g.record.clone()).collect();
        Some(experiment::compare_records(&records, &metric))
    } else {
        None
    };

    let inputs: Vec<ExperimentInputs<'_>> = gathered
        .iter()
        .map(|g| ExperimentInputs {
            record: &g.record,
            paragraphs: &g.paragraphs,
            terms: g.terms.as_deref(),
        })
        .collect();
    let page = html::render(&inputs, comparison.as_ref())?;
    stance::persist::write_atomic(&args.out, page.as_bytes())
        .with_context(|| format!("cannot write {}", args.out.display()))?;
    outln!(
        "wrote {} ({} experiment{}, {} kB)",
        args.out.display(),
        gathered.len(),
        if gathered.len() == 1 { "" } else { "s" },
        page.len().div_ceil(1000)
    )?;
    Ok(Outcome::Success)
}

fn gather(experiment: &Experiment, top: usize) -> anyhow::Result<Gathered> {
    let context = || format!("experiment {}", experiment.path().display());
    let record = match experiment::up_to_date_record(experiment)? {
        Some(record) => record,
        None => {
            let bar = Bar::new();
            let record = experiment::run_and_record(
                experiment,
                &RunOptions::default(),
                RecordPolicy::default(),
                &bar,
            )?
            .record;
            bar.finish();
            record
        }
    };
    let dataset = Dataset::load(experiment.data()).with_context(context)?;
    let paragraphs = dataset
        .items()
        .iter()
        .map(|item| {
            let text = ParagraphText {
                article: dataset.articles()[item.article].clone(),
                text: item.text.clone(),
            };
            (item.id.clone(), text)
        })
        .collect();

    // A model file's terms need one feature set and one model (no union, no model per group).
    let model = match experiment::train_on(experiment, &dataset) {
        Err(experiment::TrainError::Unsupported(_)) => {
            return Ok(Gathered {
                record,
                paragraphs,
                terms: None,
            });
        }
        model => model.with_context(context)?,
    };
    let folds = experiment::fit_folds(experiment, &dataset).with_context(context)?;
    let terms = model
        .classes()
        .iter()
        .enumerate()
        .map(|(class, name)| ClassTerms {
            class: name.clone(),
            terms: experiment::top_terms(&model, class, top, &folds)
                .into_iter()
                .map(|term| TermBar {
                    term: term.term,
                    weight: term.weight,
                    document_frequency: term.document_frequency,
                    stability: term.stability.map(|s| Stability {
                        folds: s.folds,
                        same_sign: s.same_sign,
                        flipped: s.flipped,
                        absent: s.absent,
                    }),
                })
                .collect(),
        })
        .collect();
    Ok(Gathered {
        record,
        paragraphs,
        terms: Some(terms),
    })
}
