//! `stance simulate`: does choosing what to label pay? Learning curves of labelling orders on
//! an already labelled store, printed as tables and written as a record.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use stance::experiment::{self, Dataset, Experiment, RawSimulation, Simulation};
use stance::labels::Order;
use stance::record::SimulationTimings;

use super::Outcome;
use super::progress::Bar;
use super::table::{Table, number};

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Hides the experiment's labels and reveals them as each order asks. \
    For each seed: a stratified part of every class is held out for scoring (--held-out), a \
    stratified seed set of --initial paragraphs is labelled, and then each order trains the \
    experiment's model on what is labelled, scores the held-out part with `[stats] metric`, and \
    labels the next --step paragraphs it picks, until --budget are labelled. `random` picks \
    in a seeded random order, `uncertainty` the paragraphs of smallest margin under the current \
    model (as `stance label --order uncertainty` offers them), `article` in store order. Every \
    order of one seed starts from the same seed set and is scored on the same held-out part.\n\n\
    Prints each order's mean curve with its 95% t-interval across seeds, the area under each \
    curve (the mean score over the budget) with the paired difference between orders, and the \
    labels each order needs to reach another's final score. The record goes to \
    `results/simulations/NAME.json` beside the experiment file (or --out), atomically. The \
    same experiment, labels and settings give the same record apart from its timings, \
    whatever --threads."
)]
pub struct SimulateArgs {
    /// The experiment whose labels, features, model and metric are simulated.
    #[arg(value_name = "EXPERIMENT.toml")]
    experiment: PathBuf,

    /// The orders to compare, comma-separated: random, uncertainty, article.
    #[arg(
        long,
        value_name = "ORDERS",
        default_value = "random,uncertainty",
        value_delimiter = ','
    )]
    strategies: Vec<Order>,

    /// Replicates, each with its own held-out part, seed set and random order.
    #[arg(long, value_name = "N", default_value_t = 10)]
    seeds: usize,

    /// The seed of every random choice (default: the experiment's `[cv] seed`).
    #[arg(long, value_name = "N")]
    seed: Option<u64>,

    /// Labelled paragraphs at the end, seed set included (default: all outside the held-out part).
    #[arg(long, value_name = "N")]
    budget: Option<usize>,

    /// Paragraphs labelled between two scorings.
    #[arg(long, value_name = "K", default_value_t = 10)]
    step: usize,

    /// Size of the stratified seed set labelled before any order chooses.
    #[arg(long, value_name = "N", default_value_t = 10)]
    initial: usize,

    /// Fraction of each class held out for scoring.
    #[arg(long, value_name = "FRACTION", default_value_t = 0.25)]
    held_out: f64,

    /// Where to write the record (default: results/simulations/NAME.json beside the experiment).
    #[arg(long, value_name = "FILE.json")]
    out: Option<PathBuf>,
}

pub fn run(args: SimulateArgs) -> anyhow::Result<Outcome> {
    let experiment = Experiment::load(&args.experiment)?;
    let context = || format!("experiment {}", experiment.path().display());
    let spec = RawSimulation {
        orders: args.strategies,
        replicates: args.seeds,
        seed: args.seed.unwrap_or(experiment.cv().seed()),
        budget: args.budget,
        step: args.step,
        initial: args.initial,
        held_out: args.held_out,
    }
    .check()?;
    let dataset = Dataset::load(experiment.data()).with_context(context)?;
    let started_at = jiff::Timestamp::now();
    let clock = Instant::now();
    let bar = Bar::new();
    let simulation =
        experiment::simulate(&experiment, &dataset, &spec, &bar).with_context(context)?;
    bar.finish();
    let timings = SimulationTimings {
        started_at: format!("{started_at:.3}"),
        seconds_total: clock.elapsed().as_secs_f64(),
    };
    let record = simulation.to_record(&experiment, &dataset, &spec, timings);
    let path = args.out.unwrap_or_else(|| {
        let dir = experiment
            .path()
            .parent()
            .unwrap_or(std::path::Path::new(""));
        dir.join("results")
            .join("simulations")
            .join(format!("{}.json", experiment.name()))
    });
    record.write(&path)?;
    out!("{}", render(&experiment, &simulation))?;
    outln!(
        "\nrecord: {} ({:.1} s)",
        path.display(),
        record.timings.seconds_total
    )?;
    Ok(Outcome::Success)
}

/// The curves, areas and label savings as text tables.
fn render(experiment: &Experiment, simulation: &Simulation) -> String {
    let metric = simulation.metric.key(&simulation.classes);
    let replicates = simulation
        .curves
        .first()
        .map_or(0, |curve| curve.per_replicate.len());
    let mut out = format!(
        "{}: {} labelled paragraphs, {} held out for scoring in each of {replicates} seeds; {metric}\n",
        experiment.name(),
        simulation.paragraphs,
        simulation.held_out,
    );
    out.push_str(&format!("{}\n\n", simulation.describe_interval()));

    let mut header = vec!["labels".to_owned()];
    header.extend(
        simulation
            .curves
            .iter()
            .map(|c| c.order.as_str().to_owned()),
    );
    let mut curves = Table::new(header);
    for (s, size) in simulation.sizes.iter().enumerate() {
        let mut row = vec![size.to_string()];
        row.extend(
            simulation
                .curves
                .iter()
                .map(|curve| with_interval(&curve.points[s])),
        );
        curves.row(row);
    }
    out.push_str(&curves.render(""));

    let mut areas = Table::new(["order", "area under the curve"]);
    for curve in &simulation.curves {
        areas.row([curve.order.as_str().to_owned(), with_interval(&curve.area)]);
    }
    out.push('\n');
    out.push_str(&areas.render(""));

    if !simulation.pairings.is_empty() {
        let mut pairs = Table::new([
            "order",
            "against",
            "area difference",
            "their final",
            "labels to reach it",
        ]);
        for pairing in &simulation.pairings {
            pairs.row([
                pairing.order.as_str().to_owned(),
                pairing.against.as_str().to_owned(),
                with_interval(&pairing.area_difference),
                number(Some(pairing.target)),
                match pairing.labels_to_reach {
                    Some(labels) => labels.to_string(),
                    None => "not within the budget".to_owned(),
                },
            ]);
        }
        out.push('\n');
        out.push_str(&pairs.render(""));
    }
    out
}

fn with_interval(estimate: &experiment::Estimate) -> String {
    match (estimate.low, estimate.high) {
        (Some(low), Some(high)) => format!("{:.3} [{low:.3}, {high:.3}]", estimate.mean),
        _ => format!("{:.3}", estimate.mean),
    }
}
