//! `stance train`, `predict` and `inspect` through the real binary: the model file, predictions
//! that match the in-memory model, explanations that add up and use the paragraph's own words,
//! streaming that does not depend on batches or threads, and bad input refused with exit 2.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use flate2::Compression;
use flate2::write::GzEncoder;
use serde_json::Value;
use stance::corpus::{ArticleId, BlockKind, split_article};
use stance::experiment::{Dataset, Experiment};
use stance::model::Classifier as _;

use crate::util::{Sandbox, repo_root, seed_store};

/// The shipped baseline experiment, on the seed store.
fn baseline() -> PathBuf {
    repo_root().join("tests/fixtures/experiments/baseline.toml")
}

fn seed_articles() -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(seed_store().join("articles"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "txt"))
        .collect();
    paths.sort();
    paths
}

/// Train `experiment` into `model.json` in the sandbox; the command's stdout.
fn train(sandbox: &Sandbox, experiment: &Path) -> String {
    let output = sandbox
        .stance()
        .arg("train")
        .arg(experiment)
        .args(["--out", "model.json"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// Run `stance ARGS` in the sandbox, expecting success; stdout.
fn stance(sandbox: &Sandbox, args: &[&str]) -> String {
    let output = sandbox.stance().args(args).output().unwrap();
    assert!(
        output.status.success(),
        "stance {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

fn jsonl(text: &str) -> Vec<Value> {
    text.lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

fn logistic(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// The explanation of one JSON Lines prediction adds up, and its logistic is the pairwise
/// probability of its class; returns the listed terms.
fn check_explanation(row: &Value, k: usize) -> Vec<String> {
    let e = &row["explanation"];
    let terms = e["terms"].as_array().unwrap();
    let listed: f64 = terms
        .iter()
        .map(|t| t["contribution"].as_f64().unwrap())
        .sum();
    let (logit, intercept, rest) = (
        e["logit"].as_f64().unwrap(),
        e["intercept"].as_f64().unwrap(),
        e["rest"].as_f64().unwrap(),
    );
    assert!((intercept + listed + rest - logit).abs() <= 1e-9, "{row}");
    let p = &row["probabilities"];
    let class = e["class"].as_str().unwrap();
    assert_eq!(class, row["predicted"].as_str().unwrap());
    let (pc, pr) = (
        p[class].as_f64().unwrap(),
        p[e["versus"].as_str().unwrap()].as_f64().unwrap(),
    );
    assert!((logistic(logit) - pc / (pc + pr)).abs() <= 1e-12, "{row}");
    for t in terms {
        let (value, weight) = (t["value"].as_f64().unwrap(), t["weight"].as_f64().unwrap());
        assert_eq!(t["contribution"].as_f64().unwrap(), value * weight);
    }
    let positive = terms
        .iter()
        .filter(|t| t["contribution"].as_f64().unwrap() > 0.0)
        .count();
    assert!(positive <= k && terms.len() - positive <= k, "{row}");
    terms
        .iter()
        .map(|t| t["term"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn train_writes_the_model_and_its_provenance_byte_for_byte_the_same() {
    let sandbox = Sandbox::new();
    let experiment = Experiment::load(&baseline()).unwrap();
    let dataset = Dataset::load(experiment.data()).unwrap();
    let counts = dataset.per_class();

    let summary = train(&sandbox, &baseline());
    let first = sandbox.read("model.json");
    assert!(
        summary.starts_with(&format!(
            "trained baseline on {} paragraphs ({} fracturing, {} stable) from {} articles: ",
            dataset.len(),
            counts["fracturing"],
            counts["stable"],
            dataset.articles().len()
        )),
        "{summary}"
    );
    assert!(
        summary.contains("converged (linfa): largest gradient component"),
        "{summary}"
    );
    train(&sandbox, &baseline());
    assert_eq!(sandbox.read("model.json"), first);

    let model: Value = serde_json::from_str(&first).unwrap();
    assert_eq!(model["format"], "stance-model/1");
    assert_eq!(model["config_hash"], experiment.config_hash().as_str());
    assert_eq!(model["data_hash"], dataset.hash().as_str());
    assert_eq!(model["config"], *experiment.resolved());
    assert_eq!(
        model["classes"],
        serde_json::json!(["fracturing", "stable"])
    );
    assert_eq!(model["version"]["crate"], env!("CARGO_PKG_VERSION"));
    let n_terms = model["features"]["vocabulary"].as_array().unwrap().len();
    assert!(
        summary.contains(&format!(": {n_terms} terms\n")),
        "{summary}"
    );
    assert_eq!(
        model["model"]["coefficient_sets"][0]["weights"]
            .as_array()
            .unwrap()
            .len(),
        n_terms
    );
}

#[test]
fn predicting_the_training_paragraphs_gives_the_in_memory_models_probabilities() {
    let sandbox = Sandbox::new();
    train(&sandbox, &baseline());
    let experiment = Experiment::load(&baseline()).unwrap();
    let dataset = Dataset::load(experiment.data()).unwrap();
    let texts = dataset.texts();
    // Fitted on the text here, where `stance train` fits on the analysed paragraphs.
    let (features, matrix) = experiment
        .features()
        .as_single()
        .unwrap()
        .fit_transform(&texts)
        .unwrap();
    let model = experiment
        .model()
        .fit_csr(&matrix, &dataset.labels(), dataset.classes().len())
        .unwrap();
    let expected = model.predict_proba(&features.transform(&texts)).unwrap();

    sandbox.write("train.txt", texts.join("\n"));
    let rows = jsonl(&stance(
        &sandbox,
        &[
            "predict",
            "--model",
            "model.json",
            "--format",
            "jsonl",
            "train.txt",
        ],
    ));
    assert_eq!(rows.len(), texts.len());
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(row["id"], format!("train.txt:{}", i + 1));
        for (c, class) in dataset.classes().iter().enumerate() {
            let p = row["probabilities"][class].as_f64().unwrap();
            assert!(
                (p - expected[(i, c)]).abs() <= 1e-12,
                "row {i}: {p} vs {}",
                expected[(i, c)]
            );
        }
    }
}

#[test]
fn seed_articles_are_explained_with_words_of_each_paragraph() {
    let sandbox = Sandbox::new();
    train(&sandbox, &baseline());
    let mut paragraphs: Vec<(String, String)> = Vec::new();
    for path in seed_articles() {
        let id = ArticleId::new(&path.file_stem().unwrap().to_string_lossy()).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        paragraphs.extend(
            split_article(&id, &text)
                .into_iter()
                .filter(|block| block.kind() == BlockKind::Paragraph)
                .map(|block| (block.id().as_str().to_owned(), block.text().to_owned())),
        );
    }
    let articles: Vec<String> = seed_articles()
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    let mut args = vec![
        "predict",
        "--model",
        "model.json",
        "--articles",
        "--explain",
        "5",
    ];
    args.extend(articles.iter().map(String::as_str));
    let tsv = stance(&sandbox, &args);
    args.extend(["--format", "jsonl"]);
    let rows = jsonl(&stance(&sandbox, &args));

    assert_eq!(rows.len(), paragraphs.len());
    for (row, (id, text)) in rows.iter().zip(&paragraphs) {
        assert_eq!(row["id"], id.as_str());
        let words: Vec<String> = text
            .to_lowercase()
            .split(|c: char| !(c.is_alphanumeric() || c == '_'))
            .map(str::to_owned)
            .collect();
        let terms = check_explanation(row, 5);
        assert!(!terms.is_empty());
        for term in terms {
            assert!(
                words.contains(&term),
                "`{term}` is not a word of {id}: {text}"
            );
        }
    }

    // The table says the same, one row per paragraph under its header.
    assert_eq!(tsv.lines().count(), rows.len() + 1);
    let mut lines = tsv.lines();
    assert_eq!(
        lines.next().unwrap(),
        "id\tpredicted\tp:fracturing\tp:stable\texplained\tversus\tlogit\tintercept\trest\tterms"
    );
    for (line, row) in lines.zip(&rows) {
        let cells: Vec<&str> = line.split('\t').collect();
        assert_eq!(cells.len(), 10, "{line}");
        assert_eq!(cells[0], row["id"].as_str().unwrap());
        assert_eq!(cells[1], row["predicted"].as_str().unwrap());
        let p: f64 = cells[2].parse().unwrap();
        assert_eq!(p, row["probabilities"]["fracturing"].as_f64().unwrap());
        let logit: f64 = cells[6].parse().unwrap();
        assert_eq!(logit, row["explanation"]["logit"].as_f64().unwrap());
        let first = &row["explanation"]["terms"][0];
        assert!(
            cells[9].starts_with(&format!(
                "{} {:+.4}",
                first["term"].as_str().unwrap(),
                first["contribution"].as_f64().unwrap()
            )),
            "{line}"
        );
    }
}

#[test]
fn plain_text_skips_blank_lines_and_keeps_line_numbers() {
    let sandbox = Sandbox::new();
    train(&sandbox, &baseline());
    for args in [
        &["predict", "--model", "model.json"][..],
        &["predict", "--model", "model.json", "-"],
    ] {
        let output = sandbox
            .stance()
            .args(args)
            .write_stdin("china and russia\n\n   \nthe alliance holds\n")
            .output()
            .unwrap();
        assert!(output.status.success());
        let stdout = String::from_utf8(output.stdout).unwrap();
        let ids: Vec<&str> = stdout
            .lines()
            .skip(1)
            .map(|line| line.split('\t').next().unwrap())
            .collect();
        assert_eq!(ids, ["stdin:1", "stdin:4"]);
    }
}

/// On a terminal, `predict` reading standard input says so and how to end it; from a pipe or
/// a file it says nothing (its stderr stays clean for scripts).
#[test]
fn reading_standard_input_from_a_terminal_is_hinted() {
    const HINT: &str = "reading paragraphs from the terminal, one per line; end with Ctrl-D";
    let sandbox = Sandbox::new();
    train(&sandbox, &baseline());
    for args in [&[][..], &["-"]] {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_stance"));
        command
            .current_dir(sandbox.path())
            .args(["predict", "--model", "model.json"])
            .args(args);
        let mut session =
            rexpect::session::spawn_command(command, Some(30_000)).expect("spawn in a pty");
        session.exp_string(HINT).unwrap();
        session.send_line("china and russia").unwrap();
        // Ctrl-D at the start of a line ends the input.
        session.send("\x04").unwrap();
        session.flush().unwrap();
        session.exp_string("stdin:1\t").unwrap();
        session.exp_eof().unwrap();
        assert!(matches!(
            session.process().wait(),
            Ok(rexpect::process::WaitStatus::Exited(_, 0))
        ));
    }
    sandbox.write("one.txt", "china and russia\n");
    for (args, stdin) in [(&[][..], "china and russia\n"), (&["one.txt"][..], "")] {
        let output = sandbox
            .stance()
            .args(["predict", "--model", "model.json"])
            .args(args)
            .write_stdin(stdin)
            .output()
            .unwrap();
        assert!(output.status.success());
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert!(!stderr.contains("reading paragraphs"), "{stderr}");
    }
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

#[test]
fn json_lines_gzipped_or_not_and_a_paragraph_without_known_terms() {
    let sandbox = Sandbox::new();
    train(&sandbox, &baseline());
    let records = "{\"text\": \"Beijing and Moscow\", \"id\": 7}\n\n{\"text\": \"zzzz qqqq\"}\n{\"text\": \"\"}\n";
    sandbox.write("docs.jsonl", records);
    sandbox.write("docs.jsonl.gz", gzip(records.as_bytes()));
    let run = |file: &str| {
        jsonl(&stance(
            &sandbox,
            &[
                "predict",
                "--model",
                "model.json",
                "--field",
                "text",
                "--format",
                "jsonl",
                "--explain",
                "3",
                file,
            ],
        ))
    };
    let plain = run("docs.jsonl");
    let gzipped = run("docs.jsonl.gz");
    let ids: Vec<&str> = plain
        .iter()
        .map(|row| row["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["docs.jsonl:1", "docs.jsonl:3", "docs.jsonl:4"]);
    for (a, b) in plain.iter().zip(&gzipped) {
        assert_eq!(a["probabilities"], b["probabilities"]);
    }
    assert!(plain[0]["explanation"].get("note").is_none());
    for unknown in &plain[1..] {
        let e = &unknown["explanation"];
        check_explanation(unknown, 3);
        assert_eq!(e["terms"], serde_json::json!([]));
        assert_eq!(e["rest"], 0.0);
        assert_eq!(e["logit"], e["intercept"]);
        assert_eq!(
            e["note"],
            "no known terms: predicted from the intercept alone"
        );
    }
    // The intercept alone gives both the same probabilities.
    assert_eq!(plain[1]["probabilities"], plain[2]["probabilities"]);
}

#[test]
fn output_does_not_depend_on_batches_or_threads() {
    let sandbox = Sandbox::new();
    train(&sandbox, &baseline());
    let experiment = Experiment::load(&baseline()).unwrap();
    let dataset = Dataset::load(experiment.data()).unwrap();
    // Training paragraphs cut at different lengths: 700 distinct lines over 3 files.
    let mut files = Vec::new();
    for f in 0..3 {
        let lines: Vec<String> = dataset
            .texts()
            .iter()
            .cycle()
            .take(700 / 3 + f)
            .enumerate()
            .map(|(i, text)| text.chars().take(40 + (i * 7 + f) % 300).collect())
            .collect();
        let name = format!("part{f}.txt");
        sandbox.write(&name, lines.join("\n"));
        files.push(name);
    }
    let run = |extra: &[&str]| {
        let mut args = vec!["predict", "--model", "model.json", "--explain", "2"];
        args.extend(extra);
        args.extend(files.iter().map(String::as_str));
        stance(&sandbox, &args)
    };
    let reference = run(&[]);
    assert_eq!(reference.lines().count(), 1 + 700 / 3 * 3 + 3);
    assert_eq!(run(&["--batch-bytes", "500"]), reference);
    let mut one_thread = vec!["--threads", "1", "predict", "--model", "model.json"];
    one_thread.extend(["--explain", "2", "--batch-bytes", "3000"]);
    one_thread.extend(files.iter().map(String::as_str));
    assert_eq!(stance(&sandbox, &one_thread), reference);
    let ids: Vec<&str> = reference
        .lines()
        .skip(1)
        .map(|line| line.split('\t').next().unwrap())
        .collect();
    let expected: Vec<String> = (0..3)
        .flat_map(|f| (1..=700 / 3 + f).map(move |line| format!("part{f}.txt:{line}")))
        .collect();
    assert_eq!(ids, expected);
}

/// `stance ARGS` fails with exit 2, nothing on stdout, and `expected` in its message.
fn check_refused(sandbox: &Sandbox, args: &[&str], expected: &str) {
    let output = sandbox.stance().args(args).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "stance {args:?}: {stderr}");
    assert!(stderr.contains(expected), "stance {args:?}: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(output.stdout.is_empty(), "stance {args:?} wrote output");
}

#[test]
fn bad_model_files_are_refused_with_exit_2() {
    let sandbox = Sandbox::new();
    train(&sandbox, &baseline());
    sandbox.write("text.txt", "china and russia\n");
    let model = sandbox.read("model.json");
    let predict = |model: &'static str| ["predict", "--model", model, "text.txt"];

    sandbox.write("truncated.json", &model[..model.len() / 2]);
    check_refused(
        &sandbox,
        &predict("truncated.json"),
        "error: model truncated.json is truncated: its JSON ends early, at line",
    );
    sandbox.write(
        "old.json",
        model.replacen("stance-model/1", "stance-model/0", 1),
    );
    check_refused(
        &sandbox,
        &predict("old.json"),
        "error: model old.json has format `stance-model/0`, this stance reads `stance-model/1`",
    );
    let mut value: Value = serde_json::from_str(&model).unwrap();
    let n_terms = value["features"]["vocabulary"].as_array().unwrap().len();
    value["model"]["coefficient_sets"][0]["weights"]
        .as_array_mut()
        .unwrap()
        .pop();
    sandbox.write("edited.json", serde_json::to_string_pretty(&value).unwrap());
    check_refused(
        &sandbox,
        &predict("edited.json"),
        &format!(
            "error: model edited.json: `model.coefficient_sets`: the set for `stable` has {} \
             weights but the features have {n_terms} columns",
            n_terms - 1
        ),
    );
    sandbox.write("experiment.toml", "[model]\nalpha = 1.0\n");
    check_refused(
        &sandbox,
        &predict("experiment.toml"),
        "error: model experiment.toml is not a stance model file: it looks like TOML (an \
         experiment file?), not JSON: it starts `[model]`",
    );
    check_refused(
        &sandbox,
        &predict("missing.json"),
        "error: cannot read model missing.json: ",
    );
    check_refused(
        &sandbox,
        &["inspect", "--model", "truncated.json"],
        "error: model truncated.json is truncated",
    );
}

#[test]
fn bad_input_is_refused_with_exit_2() {
    let sandbox = Sandbox::new();
    train(&sandbox, &baseline());
    let predict = |rest: &[&'static str]| {
        let mut args = vec!["predict", "--model", "model.json"];
        args.extend(rest);
        args
    };
    sandbox.write("empty.txt", "");
    sandbox.write("blank.txt", "\n  \n\n");
    check_refused(
        &sandbox,
        &predict(&["empty.txt"]),
        "error: no paragraphs to predict in empty.txt (blank lines are skipped)",
    );
    check_refused(
        &sandbox,
        &predict(&["blank.txt", "empty.txt"]),
        "error: no paragraphs to predict in blank.txt, empty.txt",
    );
    sandbox.write("empty.jsonl", "");
    check_refused(
        &sandbox,
        &predict(&["--field", "text", "empty.jsonl"]),
        "error: no paragraphs to predict in empty.jsonl\n",
    );

    sandbox.write("bad.txt", b"china and russia\nbad \xff here\n");
    check_refused(
        &sandbox,
        &predict(&["bad.txt"]),
        "error: bad.txt:2: invalid UTF-8 at byte 5 of the line (--lossy replaces it)",
    );
    let lossy = stance(&sandbox, &predict(&["--lossy", "bad.txt"]));
    assert_eq!(lossy.lines().count(), 3);

    sandbox.write(
        "docs.jsonl",
        "{\"text\": \"china\"}\n{\"body\": \"russia\"}\n",
    );
    check_refused(
        &sandbox,
        &predict(&["--field", "text", "docs.jsonl"]),
        "error: docs.jsonl:2: no field `text`",
    );
    sandbox.write("broken.jsonl", "{\"text\": \"china\"\n");
    check_refused(
        &sandbox,
        &predict(&["--field", "text", "broken.jsonl"]),
        "error: broken.jsonl:1: invalid JSON record",
    );
    // JSON Lines without --field: refused, not classified keys and all; a later input's
    // name is refused before anything is written.
    check_refused(
        &sandbox,
        &predict(&["docs.jsonl"]),
        "error: docs.jsonl looks like JSON Lines (its name ends in .jsonl): pass --field NAME",
    );
    check_refused(
        &sandbox,
        &predict(&["blank.txt", "bad.txt", "docs.jsonl"]),
        "error: docs.jsonl looks like JSON Lines",
    );
    sandbox.write(
        "records.txt.gz",
        gzip(b"{\"id\": 3, \"body\": \"china\"}\n"),
    );
    check_refused(
        &sandbox,
        &predict(&["records.txt.gz"]),
        "error: records.txt.gz looks like JSON Lines (its first line is a JSON object with \
         keys `body`, `id`): pass --field NAME",
    );
    check_refused(
        &sandbox,
        &predict(&["--articles", "records.txt.gz"]),
        "error: records.txt.gz looks like JSON Lines",
    );
    let output = sandbox
        .stance()
        .args(predict(&[]))
        .write_stdin("{\"text\": \"china\"}\n")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains(
            "error: stdin looks like JSON Lines (its first line is a JSON object with keys `text`)"
        ),
        "{output:?}"
    );
    check_refused(
        &sandbox,
        &predict(&["empty.txt", "missing.txt"]),
        "error: cannot read missing.txt: ",
    );
    check_refused(
        &sandbox,
        &predict(&["--articles", "--article-id", "x", "empty.txt", "blank.txt"]),
        "error: --article-id names one article, but 2 inputs were given",
    );
    sandbox.write("not an id.txt", "China and Russia drift apart.\n");
    check_refused(
        &sandbox,
        &predict(&["--articles", "not an id.txt"]),
        "error: not an id.txt: its file name cannot be an article id",
    );
    check_refused(
        &sandbox,
        &predict(&["--explain", "0", "empty.txt"]),
        "--explain",
    );
    check_refused(
        &sandbox,
        &predict(&["--articles", "--field", "text", "empty.txt"]),
        "cannot be used with",
    );
    check_refused(
        &sandbox,
        &predict(&["-", "-"]),
        "error: standard input (`-`) can be read only once",
    );
}

/// The term column of each table under `toward CLASS`, in order.
fn inspected_terms(output: &str) -> BTreeMap<String, Vec<String>> {
    let mut tables: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in output.lines() {
        if let Some(rest) = line.strip_prefix("toward ") {
            let class = rest.split(' ').next().unwrap().to_owned();
            tables.insert(class.clone(), Vec::new());
            current = Some(class);
        } else if line.starts_with("  ") && !line.trim_start().starts_with("term ") {
            if let Some(class) = &current {
                let term = line.split_whitespace().next().unwrap().to_owned();
                tables.get_mut(class).unwrap().push(term);
            }
        } else if line.is_empty() {
            current = None;
        }
    }
    tables
}

#[test]
fn inspect_lists_the_heaviest_terms_per_side_and_their_stability_across_folds() {
    let sandbox = Sandbox::new();
    train(&sandbox, &baseline());
    let model: Value = serde_json::from_str(&sandbox.read("model.json")).unwrap();
    let vocabulary = model["features"]["vocabulary"].as_array().unwrap();
    let weights = model["model"]["coefficient_sets"][0]["weights"]
        .as_array()
        .unwrap();
    assert_eq!(model["model"]["coefficient_sets"][0]["class"], "stable");
    let mut by_weight: Vec<(f64, &str)> = weights
        .iter()
        .zip(vocabulary)
        .map(|(w, t)| (w.as_f64().unwrap(), t.as_str().unwrap()))
        .collect();
    by_weight.sort_by(|a, b| b.0.total_cmp(&a.0));
    let top = |side: &[(f64, &str)]| -> Vec<String> {
        side.iter().take(4).map(|(_, t)| t.to_string()).collect()
    };
    let toward_stable = top(&by_weight);
    by_weight.reverse();
    let toward_fracturing = top(&by_weight);

    let from_file = stance(
        &sandbox,
        &["inspect", "--model", "model.json", "--top", "4"],
    );
    assert!(
        from_file.contains("no folds: a model file holds one fit"),
        "{from_file}"
    );
    let tables = inspected_terms(&from_file);
    assert_eq!(tables["stable"], toward_stable, "{from_file}");
    assert_eq!(tables["fracturing"], toward_fracturing, "{from_file}");
    // As the help says: both tables list positive weights, the first class's being the model's
    // weight with its sign turned.
    let listed_weight = |term: &str| -> f64 {
        let line = from_file
            .lines()
            .find(|line| line.split_whitespace().next() == Some(term))
            .unwrap();
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    };
    let strongest = by_weight[0];
    assert!(strongest.0 < 0.0);
    assert_eq!(
        format!("{:.4}", -strongest.0),
        format!("{:.4}", listed_weight(strongest.1))
    );
    let help = stance(&sandbox, &["inspect", "--help"])
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        help.contains("the first class's table shows that weight with its sign turned, so both tables list positive weights"),
        "{help}"
    );

    let experiment = baseline();
    let experiment = experiment.to_str().unwrap();
    let refitted = stance(&sandbox, &["inspect", experiment, "--top", "4"]);
    assert!(
        refitted.contains("signs checked on the 5 training folds of stratified 5-fold, seed 42"),
        "{refitted}"
    );
    assert_eq!(inspected_terms(&refitted), tables);
    let stability_cells = refitted.lines().filter(|line| line.contains("/5")).count();
    assert_eq!(stability_cells, 8, "{refitted}");

    check_refused(&sandbox, &["inspect"], "required");
}

#[test]
fn hashed_features_are_explained_by_column_and_the_words_hashed_there() {
    let sandbox = Sandbox::new();
    let store = seed_store();
    sandbox.write(
        "hashed.toml",
        format!(
            "[data]\nstore = {:?}\n[features]\nhashing = {{ n_features = 4096 }}\n",
            store.display().to_string()
        ),
    );
    let summary = train(&sandbox, &sandbox.join("hashed.toml"));
    assert!(summary.contains("4096 hashed columns"), "{summary}");
    let output = sandbox
        .stance()
        .args([
            "predict",
            "--model",
            "model.json",
            "--format",
            "jsonl",
            "--explain",
            "2",
        ])
        .write_stdin("Beijing and Moscow distrust each other\n")
        .output()
        .unwrap();
    let rows = jsonl(&String::from_utf8(output.stdout).unwrap());
    assert_eq!(rows.len(), 1);
    // Each word of the paragraph and its column among 4096, from scikit-learn:
    // abs(sklearn.utils.murmurhash3_32(word, seed=0)) % 4096.
    let sklearn = [
        ("beijing", 115),
        ("and", 301),
        ("moscow", 3737),
        ("distrust", 1695),
        ("each", 3779),
        ("other", 3160),
    ];
    let terms = check_explanation(&rows[0], 2);
    assert!(!terms.is_empty());
    for term in terms {
        // `#COLUMN (word, …)`: the paragraph's words whose hash is that column.
        let (column, named) = term.split_once(" (").expect(&term);
        let column: u32 = column.strip_prefix('#').unwrap().parse().unwrap();
        let named = named.strip_suffix(')').unwrap();
        for word in named.split(", ") {
            let hashed = sklearn.iter().find(|(w, _)| *w == word);
            assert!(hashed.is_some(), "{term}");
            assert_eq!(hashed.map(|&(_, c)| c), Some(column), "{term}");
        }
    }
}

#[test]
fn json_lines_keep_their_ids_and_fields_and_probabilities_round() {
    let sandbox = Sandbox::new();
    train(&sandbox, &baseline());
    sandbox.write(
        "corpus.jsonl",
        concat!(
            "{\"doc\": \"a-1\", \"text\": \"Beijing and Moscow\", \"url\": \"http://x/1\", \"n\": 3}\n",
            "{\"doc\": 17, \"text\": \"the alliance holds\", \"n\": [1, 2]}\n",
        ),
    );
    let predict = |extra: &[&str]| {
        let mut args = vec![
            "predict",
            "--model",
            "model.json",
            "--field",
            "text",
            "corpus.jsonl",
        ];
        args.extend_from_slice(extra);
        stance(&sandbox, &args)
    };
    let full = jsonl(&predict(&["--format", "jsonl"]));
    let text = predict(&[
        "--format",
        "jsonl",
        "--id-field",
        "doc",
        "--keep",
        "url,n",
        "--digits",
        "3",
    ]);
    // Kept fields come after the id, in the order asked for.
    assert!(
        text.starts_with(r#"{"id":"a-1","url":"http://x/1","n":3,"predicted":"#),
        "{text}"
    );
    let kept = jsonl(&text);
    assert_eq!(kept[0]["id"], "a-1");
    assert_eq!(kept[1]["id"], "17");
    assert_eq!(kept[0]["url"], "http://x/1");
    assert_eq!(kept[0]["n"], 3);
    assert_eq!(kept[1]["url"], Value::Null);
    assert_eq!(kept[1]["n"], serde_json::json!([1, 2]));
    for (rounded, full) in kept.iter().zip(&full) {
        assert_eq!(rounded["predicted"], full["predicted"]);
        for (class, p) in full["probabilities"].as_object().unwrap() {
            let expected = (p.as_f64().unwrap() * 1e3).round() / 1e3;
            assert_eq!(rounded["probabilities"][class].as_f64().unwrap(), expected);
            // Written as that number, not to 17 digits.
            let written = rounded["probabilities"][class].to_string();
            assert!(written.len() <= "0.123".len(), "{written}");
        }
    }
    let tsv = predict(&["--id-field", "doc", "--keep", "url,n"]);
    let lines: Vec<&str> = tsv.lines().collect();
    assert_eq!(lines[0], "id\turl\tn\tpredicted\tp:fracturing\tp:stable");
    assert!(lines[1].starts_with("a-1\thttp://x/1\t3\t"), "{tsv}");
    assert!(lines[2].starts_with("17\t\t[1,2]\t"), "{tsv}");
}

#[test]
fn ids_and_kept_fields_that_cannot_be_are_refused() {
    let sandbox = Sandbox::new();
    train(&sandbox, &baseline());
    sandbox.write(
        "corpus.jsonl",
        "{\"doc\": \"a\", \"text\": \"one\"}\n{\"text\": \"two\"}\n",
    );
    sandbox.write("odd.jsonl", "{\"doc\": {\"x\": 1}, \"text\": \"one\"}\n");
    let base = ["predict", "--model", "model.json"];
    let refused = |extra: &[&str], expected: &str| {
        let args: Vec<&str> = base.iter().chain(extra).copied().collect();
        check_refused(&sandbox, &args, expected);
    };
    refused(
        &["--field", "text", "--id-field", "doc", "corpus.jsonl"],
        "corpus.jsonl:2: no field `doc`",
    );
    refused(
        &["--field", "text", "--id-field", "doc", "odd.jsonl"],
        "odd.jsonl:1: the id field `doc` holds an object, not a string or a number",
    );
    refused(
        &["--field", "text", "--keep", "url,predicted", "corpus.jsonl"],
        "--keep predicted: the output has its own `predicted`",
    );
    refused(
        &["--field", "text", "--keep", "url,url", "corpus.jsonl"],
        "--keep names `url` twice",
    );
    refused(
        &["--id-field", "doc", "corpus.jsonl"],
        "the following required arguments were not provided",
    );
    refused(&["--digits", "18", "x.txt"], "18 is not in 0..=17");
}

#[test]
fn inputs_far_longer_than_the_training_paragraphs_are_warned_of() {
    let sandbox = Sandbox::new();
    train(&sandbox, &baseline());
    let model: Value = serde_json::from_str(&sandbox.read("model.json")).unwrap();
    let longest = model["trained_on"]["longest_paragraph"].as_u64().unwrap() as usize;
    let dataset = Dataset::load(Experiment::load(&baseline()).unwrap().data()).unwrap();
    let texts = dataset.texts();
    assert_eq!(
        longest,
        texts.iter().map(|text| text.chars().count()).max().unwrap()
    );
    // The training paragraphs themselves: nothing to say.
    sandbox.write("paragraphs.txt", texts.join("\n"));
    let output = sandbox
        .stance()
        .args(["predict", "--model", "model.json", "paragraphs.txt"])
        .output()
        .unwrap();
    assert!(output.status.success());
    assert!(output.stderr.is_empty(), "{output:?}");
    // Whole articles, one per line: three times the longest paragraph, and one short line.
    let long = texts
        .join(" ")
        .chars()
        .take(3 * longest)
        .collect::<String>();
    sandbox.write("articles.txt", format!("{long}\n{long}\nshort\n"));
    let output = sandbox
        .stance()
        .args(["predict", "--model", "model.json", "articles.txt"])
        .output()
        .unwrap();
    assert!(output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains(&format!(
            "warning: 2 of 3 paragraphs are more than 2 times as long as the longest the \
             model was trained on ({longest} characters)"
        )),
        "{stderr}"
    );
    assert!(stderr.contains("split them with --articles"), "{stderr}");
}

#[test]
fn train_replaces_a_model_but_not_another_file_unless_forced() {
    let sandbox = Sandbox::new();
    train(&sandbox, &baseline());
    // A model is replaced.
    train(&sandbox, &baseline());
    let experiment = baseline();
    let experiment = experiment.to_str().unwrap();
    sandbox.write("notes.toml", "[data]\nkeep = \"me\"\n");
    check_refused(
        &sandbox,
        &["train", experiment, "--out", "notes.toml"],
        "refusing to overwrite it: move it away, or pass --force to replace it",
    );
    assert_eq!(sandbox.read("notes.toml"), "[data]\nkeep = \"me\"\n");
    std::fs::create_dir(sandbox.join("models")).unwrap();
    check_refused(
        &sandbox,
        &["train", experiment, "--out", "models"],
        "--out models is a directory: name the model file, e.g. models/model.json",
    );
    stance(
        &sandbox,
        &["train", experiment, "--out", "notes.toml", "--force"],
    );
    assert_eq!(sandbox.read("notes.toml"), sandbox.read("model.json"));
}
