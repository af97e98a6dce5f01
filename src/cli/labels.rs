//! `stance labels`: what the label store holds (counts, orphaned labels, agreement), and
//! `stance labels export`, the current labels as TSV on stdout.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use stance::labels::agreement::{KappaInterval, MIN_ITEMS_FOR_INTERVAL};
use stance::labels::{Health, Store, Summary};

use super::Outcome;

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Shows labels per class for each article and annotator (with how many are low-confidence and how many paragraphs are still unlabelled), labels \
    orphaned by re-ingesting an edited article, and for every two annotators who labelled \
    the same paragraphs, their percent agreement and Cohen's kappa.\n\n\
    `stance labels export` prints the current labels as TSV instead.\n\n\
    It also reports what an interrupted write (a killed `stance`, a full disk, a crash) may \
    leave: a torn last line of annotations.jsonl, which every other command refuses until it \
    is removed, and leftover temporary files. `stance labels repair` removes both; it never \
    touches a complete line."
)]
pub struct LabelsArgs {
    #[command(subcommand)]
    command: Option<LabelsCommand>,

    /// The label store directory.
    #[arg(long, value_name = "DIR", default_value = "labels", global = true)]
    store: PathBuf,
}

#[derive(Debug, clap::Subcommand)]
enum LabelsCommand {
    /// Print the current labels as TSV: `id article label confidence annotator text note`, one
    /// row per labelled paragraph and annotator, in store order then by annotator; the file
    /// imports back with `stance label --import`.
    Export,
    /// Remove what interrupted writes left: the torn last line of annotations.jsonl (printed
    /// first; complete lines are never touched) and leftover temporary files.
    Repair,
}

pub fn run(args: LabelsArgs) -> anyhow::Result<Outcome> {
    if let Some(LabelsCommand::Repair) = args.command {
        return repair(&args.store);
    }
    let (store, health) = Store::open_reporting(&args.store)?;
    if let Some(LabelsCommand::Export) = args.command {
        // Exported labels must be the store's whole truth: refuse as every reader does.
        if health.torn.is_some() {
            Store::open(&args.store)?;
        }
    }
    let stdout = std::io::stdout().lock();
    let mut out = BufWriter::new(stdout);
    match args.command {
        Some(LabelsCommand::Export) => store.export_tsv(&mut out),
        _ => summarise(&store, &mut out).and_then(|()| report_health(&store, &health, &mut out)),
    }
    .and_then(|()| out.flush())
    .context("cannot write to stdout")?;
    if let Some(torn) = &health.torn {
        eprintln!(
            "warning: {}:{}: the last line is incomplete ({} bytes left by an interrupted write); \
             every other command refuses the store until `stance labels repair --store {}` \
             removes it",
            store.annotations_path().display(),
            torn.line,
            torn.bytes,
            store.dir().display()
        );
    }
    Ok(Outcome::Success)
}

/// What an interrupted write left, if anything, after the summary.
fn report_health(store: &Store, health: &Health, out: &mut impl Write) -> std::io::Result<()> {
    writeln!(out)?;
    match &health.torn {
        None => writeln!(out, "torn lines: none")?,
        Some(torn) => writeln!(
            out,
            "torn line: {}:{} is incomplete ({} bytes, starting `{}`), left by an interrupted \
             write; it is not a decision (a decision is saved once its line is whole). \
             `stance labels repair` removes it",
            store.annotations_path().display(),
            torn.line,
            torn.bytes,
            torn.start.escape_debug()
        )?,
    }
    if health.leftovers.is_empty() {
        writeln!(out, "leftover temporary files: none")?;
    } else {
        writeln!(
            out,
            "leftover temporary files: {} (from interrupted writes; `stance labels repair` removes them)",
            health.leftovers.len()
        )?;
        for path in &health.leftovers {
            writeln!(out, "  {}", path.display())?;
        }
    }
    Ok(())
}

fn repair(dir: &Path) -> anyhow::Result<Outcome> {
    let repair = Store::repair(dir)?;
    let annotations = dir.join("annotations.jsonl");
    match &repair.torn {
        Some(torn) => outln!(
            "removed the incomplete last line {} of {} ({} bytes: `{}`); every line before it is as it was",
            torn.line,
            annotations.display(),
            torn.bytes,
            torn.start.escape_debug()
        )?,
        None => outln!("{}: no torn line", annotations.display())?,
    }
    for path in &repair.leftovers {
        outln!("removed leftover temporary file {}", path.display())?;
    }
    if repair.leftovers.is_empty() {
        outln!("no leftover temporary files")?;
    }
    Ok(Outcome::Success)
}

fn summarise(store: &Store, out: &mut impl Write) -> std::io::Result<()> {
    let summary = store.summary();
    let unlabelled = summary.blocks - summary.labelable;
    writeln!(
        out,
        "{}",
        super::report::wrap(
            &format!(
                "label store {}: {} article{}, {} paragraph{}, {} of them not labelled by anyone \
                 yet; {} {} (never labelled)",
                store.dir().display(),
                summary.articles,
                plural(summary.articles),
                summary.labelable,
                plural(summary.labelable),
                summary.unlabelled,
                unlabelled,
                if unlabelled == 1 {
                    "heading or byline"
                } else {
                    "headings and bylines"
                },
            ),
            "",
            "  "
        )
        .trim_end()
    )?;
    writeln!(out)?;
    if summary.counts.is_empty() {
        writeln!(
            out,
            "no labels yet (label with `stance label --annotator NAME`)"
        )?;
    } else {
        count_table(store, &summary, out)?;
    }

    let orphans = store.orphans();
    writeln!(out)?;
    if orphans.is_empty() {
        writeln!(out, "orphaned labels: none")?;
    } else {
        writeln!(
            out,
            "orphaned labels: {} (their paragraph left the label set when an article was re-ingested; kept in annotations.jsonl)",
            orphans.len()
        )?;
        for orphan in &orphans {
            let now = match orphan.now() {
                None => "gone".to_owned(),
                Some(kind) => format!("now a {kind}"),
            };
            writeln!(
                out,
                "  {}  {}  {}  {:.0}  ({now})",
                orphan.paragraph(),
                orphan.annotator(),
                orphan.label(),
                orphan.time()
            )?;
        }
    }

    writeln!(out)?;
    if summary.agreements.is_empty() {
        writeln!(
            out,
            "agreement: no two annotators have labelled the same paragraphs"
        )?;
    } else {
        writeln!(out, "agreement (on paragraphs both annotators labelled):")?;
        for pair in &summary.agreements {
            let agreement = &pair.agreement;
            let kappa = match agreement.kappa() {
                Some(kappa) => format!("Cohen's κ {kappa:.3}"),
                None => "Cohen's κ undefined (both used a single class)".to_owned(),
            };
            let interval = match agreement.interval() {
                KappaInterval::Interval { low, high, .. } => {
                    format!(", 95% interval [{low:.3}, {high:.3}]")
                }
                KappaInterval::TooFewItems { .. } => format!(
                    " (too few shared paragraphs for an interval: {MIN_ITEMS_FOR_INTERVAL} needed)"
                ),
                KappaInterval::NoSpread => " (no interval: its standard error is 0, as when \
                    the two agree everywhere or one used a single class)"
                    .to_owned(),
                KappaInterval::Undefined => String::new(),
            };
            let line = format!(
                "{} / {}: {} paragraph{}, {:.1}% agreement, {kappa}{interval}",
                pair.first,
                pair.second,
                agreement.items(),
                plural(agreement.items()),
                100.0 * agreement.observed(),
            );
            writeln!(out, "{}", wrap_names(&line))?;
        }
    }
    disagreements(&summary, out)
}

/// `text` indented and wrapped at 80 columns, never inside a word: names such as
/// `annotator-1` are not broken at their hyphen.
fn wrap_names(text: &str) -> String {
    let options = textwrap::Options::new(80)
        .initial_indent("  ")
        .subsequent_indent("    ")
        .break_words(false)
        .word_splitter(textwrap::WordSplitter::NoHyphenation);
    textwrap::fill(text, options)
}

/// Disagreements listed at most, in store order; `stance labels export` has them all.
const DISAGREEMENTS_SHOWN: usize = 10;

/// The paragraphs annotators labelled differently: id and each one's label.
fn disagreements(summary: &Summary, out: &mut impl Write) -> std::io::Result<()> {
    if summary.agreements.is_empty() {
        return Ok(());
    }
    writeln!(out)?;
    let all = &summary.disagreements;
    if all.is_empty() {
        return writeln!(out, "disagreements: none");
    }
    writeln!(
        out,
        "disagreements: {} paragraph{} labelled differently",
        all.len(),
        plural(all.len())
    )?;
    for disagreement in all.iter().take(DISAGREEMENTS_SHOWN) {
        let labels: Vec<String> = disagreement
            .labels
            .iter()
            .map(|(annotator, label)| format!("{annotator}={label}"))
            .collect();
        let line = format!("{}  {}", disagreement.paragraph, labels.join("  "));
        writeln!(out, "{}", wrap_names(&line))?;
    }
    if all.len() > DISAGREEMENTS_SHOWN {
        writeln!(
            out,
            "  … and {} more (every label: `stance labels export`)",
            all.len() - DISAGREEMENTS_SHOWN
        )?;
    }
    Ok(())
}

/// Rows: article × annotator; columns: the classes, low-confidence, unlabelled.
fn count_table(store: &Store, summary: &Summary, out: &mut impl Write) -> std::io::Result<()> {
    let mut header: Vec<String> = vec!["article".into(), "annotator".into()];
    header.extend(store.schema().classes().iter().map(|c| c.name().to_owned()));
    header.extend(["low".to_owned(), "unlabelled".to_owned()]);
    let rows: Vec<Vec<String>> = summary
        .counts
        .iter()
        .map(|row| {
            let mut cells = vec![
                row.article
                    .as_ref()
                    .map_or_else(|| "all articles".to_owned(), ToString::to_string),
                row.annotator.clone(),
            ];
            cells.extend(row.per_class.iter().map(ToString::to_string));
            cells.push(row.low.to_string());
            cells.push(row.unlabelled.to_string());
            cells
        })
        .collect();
    let widths: Vec<usize> = (0..header.len())
        .map(|col| {
            std::iter::once(&header)
                .chain(&rows)
                .map(|cells| cells[col].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for cells in std::iter::once(&header).chain(&rows) {
        let mut line = String::new();
        for (col, (cell, width)) in cells.iter().zip(&widths).enumerate() {
            if col > 0 {
                line.push_str("  ");
            }
            // Names left-aligned, counts right-aligned.
            if col < 2 {
                line.push_str(&format!("{cell:<width$}"));
            } else {
                line.push_str(&format!("{cell:>width$}"));
            }
        }
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
