//! The command line: clap's raw flags in, validated library calls out.
//!
//! This is the only module that knows clap or anyhow, and the only one that prints to the
//! terminal. Each subcommand lives in its own file with its flags (`…Args`) and a `run`.
//!
//! Exit codes: 0 success; 1 a check did not pass (`verify` found a difference); 2 an error
//! (bad input, bad config, I/O), with the message on stderr.

/// `print!` that hands back the write error instead of panicking, so that a closed pipe
/// (`stance verify … | head`) ends the command and `main` exits quietly on it.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        write!(std::io::stdout().lock(), $($arg)*)
    }};
}

/// `println!` that hands back the write error; see [`out!`].
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*)
    }};
}

mod compare;
mod curve;
mod featurize;
mod html;
mod import;
mod ingest;
mod inspect;
mod label;
mod labels;
mod merge;
mod predict;
mod progress;
mod report;
mod run;
mod runs;
mod simulate;
mod table;
mod train;
mod verify;

use std::path::Path;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use stance::experiment::Experiment;

/// Reproducible stance-classification experiments on paragraphs labelled by hand.
#[derive(Debug, Parser)]
#[command(name = "stance", version, about, max_term_width = 100)]
struct Cli {
    /// Worker threads for parallel work (default: all cores). Results do not depend on it.
    #[arg(long, global = true, value_name = "N")]
    threads: Option<usize>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Split articles into paragraphs and add them to the label store.
    Ingest(ingest::IngestArgs),
    /// Import a labelled corpus (CSV, TSV, JSON Lines): one record, one labelled paragraph.
    Import(import::ImportArgs),
    /// Label paragraphs in the terminal, one key per decision (or import a TSV of labels).
    Label(label::LabelArgs),
    /// Summarise the label store: counts, orphaned labels, agreement; `export` prints TSV.
    Labels(labels::LabelsArgs),
    /// Fit a feature set on a corpus and write its vocabulary and matrix.
    Featurize(featurize::FeaturizeArgs),
    /// Run cross-validated experiments and record their results.
    Run(run::RunArgs),
    /// List the run history: every run of each experiment, with its headline numbers.
    Runs(runs::RunsArgs),
    /// Assemble the partial records of a sharded run (`run --shard I/N`) into its record.
    Merge(merge::MergeArgs),
    /// Run several experiments on identical folds and compare them side by side.
    Compare(compare::CompareArgs),
    /// Re-run an experiment and check that its recorded results reproduce exactly.
    Verify(verify::VerifyArgs),
    /// Write an HTML page with the figures of one experiment, or a comparison of several.
    Report(html::ReportArgs),
    /// Learning curve: the metric at increasing numbers of training paragraphs.
    Curve(curve::CurveArgs),
    /// Does choosing what to label pay? Learning curves of labelling orders on labelled data.
    Simulate(simulate::SimulateArgs),
    /// Fit a model on all selected labels and save it.
    Train(train::TrainArgs),
    /// Classify new paragraphs with a saved model, optionally explaining each decision.
    Predict(predict::PredictArgs),
    /// Show the terms that carry each class, and how stable their weights are across folds.
    Inspect(inspect::InspectArgs),
}

/// How a command that did not fail ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Success,
    /// A check ran and did not pass (exit 1).
    CheckFailed,
}

impl Outcome {
    pub fn exit_code(self) -> ExitCode {
        match self {
            Outcome::Success => ExitCode::SUCCESS,
            Outcome::CheckFailed => ExitCode::from(1),
        }
    }
}

/// More worker threads than any machine `stance` runs on has cores; 100,000 of them would
/// take the machine down before any work began.
const MAX_THREADS: usize = 1024;

pub fn run() -> anyhow::Result<Outcome> {
    let cli = Cli::parse();
    if let Some(threads) = cli.threads {
        anyhow::ensure!(
            (1..=MAX_THREADS).contains(&threads),
            "--threads must be between 1 and {MAX_THREADS}, got {threads}"
        );
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build_global()?;
    }
    match cli.command {
        Command::Ingest(args) => ingest::run(args),
        Command::Import(args) => import::run(args),
        Command::Label(args) => label::run(args),
        Command::Labels(args) => labels::run(args),
        Command::Featurize(args) => featurize::run(args),
        Command::Run(args) => run::run(args),
        Command::Runs(args) => runs::run(args),
        Command::Merge(args) => merge::run(args),
        Command::Compare(args) => compare::run(args),
        Command::Verify(args) => verify::run(args),
        Command::Report(args) => html::run(args),
        Command::Curve(args) => curve::run(args),
        Command::Simulate(args) => simulate::run(args),
        Command::Train(args) => train::run(args),
        Command::Predict(args) => predict::run(args),
        Command::Inspect(args) => inspect::run(args),
    }
}

/// Read and check an experiment file; a directory or a bare name gets a message that says what
/// to pass (`stance run experiments/`, `stance run baseline`).
pub fn load_experiment(path: &Path) -> anyhow::Result<Experiment> {
    if path.is_dir() {
        let mut files: Vec<String> = std::fs::read_dir(path)
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .map(|entry| entry.file_name().to_string_lossy().into_owned())
                    .filter(|name| name.ends_with(".toml"))
                    .collect()
            })
            .unwrap_or_default();
        files.sort();
        let dir = path.display().to_string();
        let dir = dir.trim_end_matches('/');
        let listed = match files.len() {
            0 => " (it holds none)".to_owned(),
            1..=4 => format!(" ({})", files.join(", ")),
            n => format!(" ({}, … {n} in all)", files[..3].join(", ")),
        };
        anyhow::bail!(
            "{} is a directory: pass experiment files, such as {dir}/*.toml{listed}",
            path.display()
        );
    }
    if !path.exists() {
        let with_toml = |p: &Path| match p.extension() {
            Some(_) => p.to_owned(),
            None => p.with_extension("toml"),
        };
        let candidates = [
            with_toml(path),
            with_toml(&Path::new("experiments").join(path)),
        ];
        if let Some(found) = candidates.iter().find(|c| c.is_file()) {
            anyhow::bail!(
                "no experiment file {}: did you mean {}?",
                path.display(),
                found.display()
            );
        }
    }
    Ok(Experiment::load(path)?)
}

/// Whether the error is a closed stdout (`stance labels export | head`): a clean exit, not a failure.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
