//! `stance run`: run experiments, print their results, write their records.

use std::path::PathBuf;
use std::sync::Mutex;

use stance::experiment::{self, Experiment, Progress, RecordPolicy, Recorded, RunOptions, Shard};
use stance::history::RecordFate;
use stance::record::Record;

use super::Outcome;
use super::progress::Bar;
use super::report::{self, Style};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Format {
    /// Aligned tables and wrapped prose for an 80-column terminal.
    Text,
    /// The same in Markdown.
    Markdown,
    /// The record itself (as written to results/NAME.json), one per experiment.
    Json,
}

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Prints every metric with its interval beside the majority baseline, the \
    confusion matrix and accuracy per article as soon as the cross-validation is done, then \
    the permutation test against chance, the learning curve and any warnings. Each \
    experiment's record is written atomically to `results/NAME.json` beside its file \
    (`experiments/results/baseline.json`), and every run is appended to the run history \
    `results/runs.jsonl` (`stance runs` lists it). Running the same experiment on the same \
    labels gives the same results, byte for byte, apart from timings: then the record is left \
    as it is (only the history says when it was run). A record of a more careful run (more \
    permutations or bootstrap resamples asked for) is not replaced by a quicker one without \
    --force. With --shard I/N, only the I-th of N shares of the run's independent tasks \
    (folds, permutation shuffles, learning-curve folds) is computed and written to \
    `results/NAME.shard-I-of-N.json`; `stance merge` assembles the N of them into the record \
    the whole run writes (docs/scale.md)."
)]
pub struct RunArgs {
    /// Experiment files (TOML).
    #[arg(required = true, value_name = "EXPERIMENT.toml")]
    experiments: Vec<PathBuf>,

    /// Permutations for the test against chance, instead of `[stats] permutations` (0 skips it).
    #[arg(long, value_name = "N")]
    permutations: Option<usize>,

    /// Replace a record of a more careful run (more permutations or resamples), or a results
    /// file that is not a readable record.
    #[arg(long)]
    force: bool,

    /// Write nothing: neither the record nor the run history (a look at the numbers).
    #[arg(long, conflicts_with = "force")]
    no_record: bool,

    /// Compute only shard I of N (numbered from 1) and write a partial record for `stance merge`.
    #[arg(long, value_name = "I/N", conflicts_with = "no_record")]
    shard: Option<Shard>,

    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: Format,

    /// Articles listed in the per-article table (those with the most paragraphs).
    #[arg(long, value_name = "N", default_value_t = 20)]
    top: usize,
}

pub fn run(args: RunArgs) -> anyhow::Result<Outcome> {
    let options = RunOptions {
        permutations: args.permutations,
    };
    let style = Style {
        markdown: args.format == Format::Markdown,
        top: args.top,
    };
    for (index, path) in args.experiments.iter().enumerate() {
        let experiment = super::load_experiment(path)?;
        if index > 0 && args.format != Format::Json {
            outln!()?;
        }
        let bar = Bar::new();
        if let Some(shard) = args.shard {
            let written =
                experiment::run_shard_and_write(&experiment, &options, shard, args.force, &bar)?;
            bar.finish();
            outln!(
                "shard {shard} of {}: {}",
                experiment.name(),
                written.display()
            )?;
            continue;
        }
        let progress = Printing {
            bar: &bar,
            style: (args.format != Format::Json).then_some(style),
            printed: Mutex::new(None),
        };
        let policy = RecordPolicy {
            write: !args.no_record,
            force: args.force,
        };
        let recorded = experiment::run_and_record(&experiment, &options, policy, &progress)?;
        bar.finish();
        let line = record_line(&experiment, &recorded);
        match args.format {
            Format::Json => {
                outln!("{}", recorded.record.to_json()?.trim_end())?;
                eprintln!("{line}");
            }
            Format::Text | Format::Markdown => {
                let printed = progress.printed.into_inner().ok().flatten();
                match printed {
                    Some(result) => {
                        result?;
                        out!("{}", report::render_rest(&recorded.record, style))?;
                    }
                    None => out!("{}", report::render(&recorded.record, style))?,
                }
                outln!("\n{line}")?;
            }
        }
    }
    Ok(Outcome::Success)
}

/// The progress bar, and the cross-validation's results printed as soon as they exist (before
/// the permutation test), so that an interrupted run keeps them.
struct Printing<'a> {
    bar: &'a Bar,
    /// How to print them; `None` prints nothing early (JSON wants the whole record).
    style: Option<Style>,
    /// Whether they were printed, and how that went.
    printed: Mutex<Option<std::io::Result<()>>>,
}

impl Progress for Printing<'_> {
    fn stage(&self, name: &str, total: u64) {
        self.bar.stage(name, total);
    }

    fn tick(&self) {
        self.bar.tick();
    }

    fn note(&self, message: &str) {
        self.bar.note(message);
    }

    fn wants_partial(&self) -> bool {
        self.style.is_some()
    }

    fn partial(&self, record: &Record) {
        let Some(style) = self.style else {
            return;
        };
        let text = report::render_cv(record, style);
        let result = self.bar.suspend(|| out!("{text}"));
        if let Ok(mut printed) = self.printed.lock() {
            *printed = Some(result);
        }
    }
}

/// What became of the record, in one line.
pub(super) fn record_line(experiment: &Experiment, recorded: &Recorded) -> String {
    let path = experiment.record_path();
    let path = path.display();
    let careful = recorded.careful.as_deref().unwrap_or("more");
    match recorded.fate {
        None => "record: not written (--no-record)".to_owned(),
        Some(RecordFate::Written) => format!("record: {path}"),
        Some(RecordFate::Unchanged) => report::wrap(
            &format!("record: {path} (unchanged: the same results; the run is in the history)"),
            "",
            "  ",
        )
        .trim_end()
        .to_owned(),
        Some(RecordFate::Kept) => report::wrap(
            &format!(
                "record: {path} kept: it holds a more careful run, of {careful}; --force \
                 replaces it"
            ),
            "",
            "  ",
        )
        .trim_end()
        .to_owned(),
        Some(RecordFate::Forced) => report::wrap(
            &format!("record: {path} (replaced with --force; it held {careful})"),
            "",
            "  ",
        )
        .trim_end()
        .to_owned(),
    }
}
