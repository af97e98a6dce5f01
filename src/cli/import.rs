//! `stance import`: a labelled corpus file (CSV, TSV, JSON Lines) into a label store.
//!
//! Flags → a read spec and import options → the file's rows (`stance::import`) → the store
//! (`labels::import_corpus`) → a summary.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::Context;
use jiff::Timestamp;
use stance::import::{Columns, Encoding, Format, ReadSpec, read_rows};
use stance::labels::{Annotator, CorpusImport, CorpusImportReport, Schema, import_corpus};

use super::Outcome;

#[derive(Debug, clap::Args)]
#[command(
    after_help = "One record is one paragraph, its text kept as it is (no heading or byline \
    heuristics). Its group (--group, else the file's name without extension) is its article; \
    its split (--split or --split-column) selects it in experiments ([data] split, [cv] \
    test_split). A paragraph's id is a hash of its group, its --id value and its text, so \
    importing the same file again changes nothing. A new store's classes are --classes, or \
    the labels in the order they first appear; a label outside them is refused naming the \
    file and line. Nothing is written unless every record is accepted.\n\nExample (SemEval-2016 \
    Task 6):\n  stance import --store labels --format tsv --encoding windows-1252 --text Tweet \
    --label Stance --id ID --group Target --split train --classes favor,against,none \
    --map FAVOR=favor --map AGAINST=against --map NONE=none --annotator semeval \
    semeval2016-task6-trainingdata.txt"
)]
pub struct ImportArgs {
    /// The corpus file: CSV, TSV or JSON Lines, gzipped or not (told by its bytes).
    #[arg(value_name = "FILE")]
    file: PathBuf,

    /// The label store directory; created if it does not exist.
    #[arg(long, value_name = "DIR", default_value = "labels")]
    store: PathBuf,

    /// The file's format (default: from its extension, .csv, .tsv, .jsonl, with or without .gz).
    #[arg(long, value_name = "csv|tsv|jsonl")]
    format: Option<String>,

    /// The column (key, in JSON Lines) holding each record's text.
    #[arg(long, value_name = "COL")]
    text: String,

    /// The column holding each record's label.
    #[arg(long, value_name = "COL")]
    label: String,

    /// The column holding each record's id (part of the paragraph id: records with the
    /// same text stay apart).
    #[arg(long, value_name = "COL")]
    id: Option<String>,

    /// The column naming each record's group, its article (default: one group, the file's name).
    #[arg(long, value_name = "COL")]
    group: Option<String>,

    /// The split every record goes into (e.g. train or test).
    #[arg(long, value_name = "NAME", conflicts_with = "split_column")]
    split: Option<String>,

    /// The column naming each record's split.
    #[arg(long, value_name = "COL")]
    split_column: Option<String>,

    /// Whose labels these are.
    #[arg(long, value_name = "NAME", default_value = "annotator-1")]
    annotator: String,

    /// The file's encoding: utf-8, windows-1252 (cp1252) or latin-1.
    #[arg(long, value_name = "ENC", default_value = "utf-8")]
    encoding: String,

    /// Rename a label (repeatable), e.g. --map FAVOR=favor.
    #[arg(long = "map", value_name = "FROM=TO")]
    maps: Vec<String>,

    /// A new store's classes, in order, comma-separated (default: the labels as they come).
    #[arg(long, value_name = "A,B,…", value_delimiter = ',')]
    classes: Option<Vec<String>>,
}

pub fn run(args: ImportArgs) -> anyhow::Result<Outcome> {
    let format = match &args.format {
        Some(name) => Format::parse(name)
            .with_context(|| format!("--format {name}: expected csv, tsv or jsonl"))?,
        None => Format::from_path(&args.file).with_context(|| {
            format!(
                "cannot tell the format of {} from its name: pass --format csv, tsv or jsonl",
                args.file.display()
            )
        })?,
    };
    let encoding = Encoding::parse(&args.encoding).with_context(|| {
        format!(
            "--encoding {}: expected utf-8, windows-1252 or latin-1",
            args.encoding
        )
    })?;
    let mut label_map = BTreeMap::new();
    for map in &args.maps {
        let (from, to) = map
            .split_once('=')
            .filter(|(from, to)| !from.is_empty() && !to.is_empty())
            .with_context(|| format!("--map {map}: expected FROM=TO"))?;
        anyhow::ensure!(
            label_map.insert(from.to_owned(), to.to_owned()).is_none(),
            "--map {from}=…: `{from}` is mapped twice"
        );
    }
    let default_group = args
        .file
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .map(|name| {
            let name = name.strip_suffix(".gz").unwrap_or(&name).to_owned();
            match name.rsplit_once('.') {
                Some((stem, _)) if !stem.is_empty() => stem.to_owned(),
                _ => name,
            }
        })
        .unwrap_or_else(|| "import".to_owned());
    let spec = ReadSpec {
        format,
        encoding,
        columns: Columns {
            text: args.text,
            label: args.label,
            id: args.id,
            group: args.group,
            split: args.split_column,
        },
    };
    if let Some(classes) = &args.classes {
        let checked = Schema::new(
            classes
                .iter()
                .map(|class| (class.clone(), "given by --classes".to_owned()))
                .collect(),
        );
        checked.with_context(|| format!("--classes {}", classes.join(",")))?;
    }
    let options = CorpusImport {
        annotator: Annotator::new(&args.annotator)?,
        label_map,
        classes: args.classes,
        default_group,
        default_split: args.split,
        time: Timestamp::now(),
    };

    let rows = read_rows(&args.file, &spec)?;
    let (store, report) = import_corpus(&args.store, &args.file, rows, &options)?;
    outln!("{}", describe(&report, &args.file, store.dir(), &options))?;
    Ok(Outcome::Success)
}

fn describe(
    report: &CorpusImportReport,
    file: &std::path::Path,
    store: &std::path::Path,
    options: &CorpusImport,
) -> String {
    let mut out = format!(
        "{}: {} record{} into {}{}: {} new paragraph{}, {} already there",
        file.display(),
        report.records,
        plural(report.records),
        store.display(),
        if report.created {
            format!(" (new, classes {})", report.classes.join(", "))
        } else {
            String::new()
        },
        report.added,
        plural(report.added),
        report.known,
    );
    if report.repeated > 0 {
        out.push_str(&format!(
            ", {} repeated record{} kept once",
            report.repeated,
            plural(report.repeated)
        ));
    }
    out.push_str(&format!(
        "\nlabels by {}: {} appended, {} unchanged",
        options.annotator.as_str(),
        report.appended,
        report.unchanged
    ));
    let splits: Vec<String> = report
        .splits
        .iter()
        .map(|(split, n)| {
            if split.is_empty() {
                format!("{n} without a split")
            } else {
                format!("{n} {split}")
            }
        })
        .collect();
    out.push_str(&format!(
        "\n{} group{}; splits: {}",
        report.groups.len(),
        plural(report.groups.len()),
        splits.join(", ")
    ));
    if report.groups.len() <= 20 {
        let groups: Vec<String> = report
            .groups
            .iter()
            .map(|(group, n)| format!("{group} ({n})"))
            .collect();
        out.push_str(&format!(" — {}", groups.join(", ")));
    }
    out
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
