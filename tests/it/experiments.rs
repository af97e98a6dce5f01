//! `stance run`, `compare`, `verify` and `curve` on a copy of the seed labels
//! (`tests/fixtures/seed-labels`).
//!
//! No metric value is asserted here (those are checked against scikit-learn in the unit
//! tests and by `scripts/peer-check-baseline.py`); these tests hold the behaviour: byte
//! reproducibility, verification, errors with locations, and what is written where.

use std::fs;

use predicates::prelude::*;
use serde_json::Value;

use crate::util::{Sandbox, copy_dir, seed_store};

/// Small enough to keep a debug-build run quick; still exercises every stage.
const QUICK_STATS: &str = "[stats]\npermutations = 20\nresamples = 200\n";

/// A sandbox holding a copy of the seed label store under `labels/`.
fn with_labels() -> Sandbox {
    let sandbox = Sandbox::new();
    copy_dir(&seed_store(), &sandbox.join("labels"));
    sandbox
}

/// Write `experiments/NAME.toml` with `body` plus the quick `[stats]` table.
fn experiment(sandbox: &Sandbox, name: &str, body: &str) -> String {
    let rel = format!("experiments/{name}.toml");
    sandbox.write(&rel, format!("{body}\n{QUICK_STATS}"));
    rel
}

fn record(sandbox: &Sandbox, name: &str) -> Value {
    serde_json::from_str(&sandbox.read(&format!("experiments/results/{name}.json"))).unwrap()
}

/// The record's text with its `timings` object removed.
fn without_timings(text: &str) -> String {
    let mut value: Value = serde_json::from_str(text).unwrap();
    value.as_object_mut().unwrap().remove("timings");
    serde_json::to_string_pretty(&value).unwrap()
}

/// `text` with every run of whitespace (line breaks of wrapped prose) as one space.
fn flat(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `stance ARGS` fails with exit code 2 and a message containing every `fragment`.
fn check_error(sandbox: &Sandbox, args: &[&str], fragments: &[&str]) {
    let output = sandbox.stance().args(args).output().unwrap();
    assert_eq!(
        output.status.code(),
        Some(2),
        "{args:?} should fail with exit 2"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "{args:?} panicked: {stderr}");
    for fragment in fragments {
        assert!(
            stderr.contains(fragment),
            "{args:?}: expected `{fragment}` in:\n{stderr}"
        );
    }
}

#[test]
fn run_prints_the_table_and_writes_a_reproducible_record() {
    let sandbox = with_labels();
    let path = experiment(&sandbox, "base", "");
    sandbox
        .stance()
        .args(["run", &path])
        .assert()
        .success()
        .stdout(predicate::str::contains("balanced_accuracy"))
        .stdout(predicate::str::contains("baseline (the majority class)"))
        .stdout(predicate::str::contains("better than chance?"))
        .stdout(predicate::str::contains(
            "record: experiments/results/base.json",
        ));
    let first = sandbox.read("experiments/results/base.json");

    // Same config, labels and seed, on one thread and on two: the same bytes but timings.
    for threads in ["1", "2"] {
        sandbox
            .stance()
            .args(["--threads", threads, "run", &path])
            .assert()
            .success();
        let again = sandbox.read("experiments/results/base.json");
        assert_eq!(
            without_timings(&first),
            without_timings(&again),
            "threads = {threads}"
        );
    }

    let record = record(&sandbox, "base");
    for key in [
        "experiment",
        "config",
        "config_hash",
        "data_hash",
        "seed",
        "version",
        "classes",
        "metrics",
        "folds",
        "predictions",
    ] {
        assert!(record.get(key).is_some(), "record lacks `{key}`");
    }
    assert_eq!(
        record["classes"],
        serde_json::json!(["fracturing", "stable"])
    );
    // Every paragraph is predicted exactly once per repeat, with a probability per class.
    let predictions = record["predictions"].as_array().unwrap();
    let paragraphs = record["data"]["paragraphs"].as_u64().unwrap() as usize;
    assert_eq!(predictions.len(), paragraphs);
    let mut ids: Vec<&str> = predictions
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), paragraphs);
    for prediction in predictions {
        let probabilities = prediction["probabilities"].as_object().unwrap();
        let total: f64 = probabilities.values().map(|p| p.as_f64().unwrap()).sum();
        assert!((total - 1.0).abs() < 1e-12);
    }
    let accuracy = &record["metrics"]["accuracy"];
    for field in ["mean", "std", "ci_low", "ci_high"] {
        assert!(accuracy[field].is_number(), "accuracy.{field} missing");
    }
    assert!(record["permutation"]["p_value"].is_number());
    assert_eq!(record["permutation"]["n_permutations"], 20);
    assert_eq!(record["learning_curve"].as_array().map(Vec::len), Some(5));
}

#[test]
fn verify_passes_and_then_names_a_changed_label() {
    let sandbox = with_labels();
    let path = experiment(&sandbox, "base", "");
    sandbox.stance().args(["run", &path]).assert().success();
    sandbox
        .stance()
        .args(["verify", &path])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("base: reproduced"));

    // Relabel the first fracturing paragraph as stable (appending, as a person would).
    let record = record(&sandbox, "base");
    let id = record["predictions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["label"] == "fracturing")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    sandbox.write("relabel.tsv", format!("{id}\tstable\n"));
    sandbox
        .stance()
        .args([
            "label",
            "--import",
            "relabel.tsv",
            "--annotator",
            "annotator-1",
        ])
        .assert()
        .success();
    sandbox
        .stance()
        .args(["verify", &path])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("NOT reproduced"))
        .stdout(predicate::str::contains(
            "the labels changed since the record was written: 0 added, 0 removed, 1 relabelled",
        ))
        .stdout(predicate::str::contains(format!(
            "{id}: fracturing → stable"
        )));
}

#[test]
fn verify_names_a_changed_config_key() {
    let sandbox = with_labels();
    let path = experiment(&sandbox, "base", "[model]\nalpha = 1.0\n");
    sandbox.stance().args(["run", &path]).assert().success();
    experiment(&sandbox, "base", "[model]\nalpha = 2.0\n");
    sandbox
        .stance()
        .args(["verify", &path])
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "the experiment file changed since the record was written",
        ))
        .stdout(predicate::str::contains("model.alpha: 1.0 → 2.0"));
}

#[test]
fn verify_without_a_record_says_to_run_first() {
    let sandbox = with_labels();
    let path = experiment(&sandbox, "base", "");
    check_error(
        &sandbox,
        &["verify", &path],
        &["no record at experiments/results/base.json", "stance run"],
    );
}

#[test]
fn config_errors_name_file_line_and_key() {
    let sandbox = with_labels();
    let cases: &[(&str, &[&str])] = &[
        (
            "[features]\nngram = [1, 2]\n",
            &["experiments/bad.toml:2", "unknown field `ngram`"],
        ),
        (
            "[cv]\nfolds = 1\n",
            &["experiments/bad.toml:2", "key `cv.folds`", "at least 2"],
        ),
        (
            "\n[model]\nalpha = -1.0\n",
            &["experiments/bad.toml:3", "key `model.alpha`", ">= 0"],
        ),
        (
            "[features]\nngram_range = [2, 1]\n",
            &["experiments/bad.toml:2", "key `features.ngram_range`"],
        ),
        (
            "[stats]\nmetric = \"precision:neither\"\n",
            &[
                "experiments/bad.toml:2",
                "key `stats.metric`",
                "precision:stable",
            ],
        ),
        (
            "[data]\nclasses = [\"stable\"]\n",
            &[
                "experiments/bad.toml:2",
                "key `data.classes`",
                "at least two",
            ],
        ),
    ];
    for (body, fragments) in cases {
        sandbox.write("experiments/bad.toml", body);
        check_error(&sandbox, &["run", "experiments/bad.toml"], fragments);
    }
}

#[test]
fn too_few_paragraphs_for_the_folds_suggests_a_fold_count() {
    let sandbox = with_labels();
    let counts = {
        let path = experiment(&sandbox, "base", "");
        sandbox.stance().args(["run", &path]).assert().success();
        record(&sandbox, "base")["data"]["per_class"].clone()
    };
    let smallest = counts
        .as_object()
        .unwrap()
        .values()
        .map(|n| n.as_u64().unwrap())
        .min()
        .unwrap();
    let path = experiment(
        &sandbox,
        "many",
        &format!("[cv]\nfolds = {}\n", smallest + 1),
    );
    check_error(
        &sandbox,
        &["run", &path],
        &[&format!(
            "paragraphs, fewer than folds = {}; use folds = {smallest} or fewer",
            smallest + 1
        )],
    );
}

#[test]
fn data_errors_are_clear() {
    let sandbox = with_labels();
    let nobody = experiment(&sandbox, "nobody", "[data]\nannotator = \"annotator-9\"\n");
    check_error(
        &sandbox,
        &["run", &nobody],
        &["annotator `annotator-9` has no labels in experiments/../labels; labels by: annotator-1"],
    );
    let unknown = experiment(
        &sandbox,
        "unknown",
        "[data]\nclasses = [\"fracturing\", \"solid\"]\n",
    );
    check_error(
        &sandbox,
        &["run", &unknown],
        &["class `solid` is not in the label store's schema"],
    );
    let missing = experiment(&sandbox, "missing", "[data]\nstore = \"../nowhere\"\n");
    check_error(
        &sandbox,
        &["run", &missing],
        &["no label store at experiments/../nowhere"],
    );
    // What to pass, when it is not an experiment file.
    check_error(
        &sandbox,
        &["run", "nobody"],
        &["error: no experiment file nobody: did you mean experiments/nobody.toml?"],
    );
    check_error(
        &sandbox,
        &["run", "experiments/"],
        &[
            "error: experiments/ is a directory: pass experiment files, such as \
             experiments/*.toml (missing.toml, nobody.toml, unknown.toml)",
        ],
    );
    sandbox.write("experiments/typed.toml", "[model]\nalpha = \"0.5\"\n");
    check_error(
        &sandbox,
        &["run", "experiments/typed.toml"],
        &[
            "experiments/typed.toml:2: key `model.alpha`: expected a number, found the string \"0.5\" (without quotes: alpha = 0.5)",
        ],
    );
}

#[test]
fn grouped_schemes_need_enough_articles() {
    let sandbox = with_labels();
    // An annotator who labelled one article only.
    let base = experiment(&sandbox, "base", "");
    sandbox.stance().args(["run", &base]).assert().success();
    let record = record(&sandbox, "base");
    let first_article = record["data"]["articles"][0].as_str().unwrap().to_owned();
    let paragraphs = sandbox.read("labels/paragraphs.jsonl");
    let mut tsv = String::new();
    let mut class = 0;
    for line in paragraphs.lines() {
        let paragraph: Value = serde_json::from_str(line).unwrap();
        if paragraph["article"] == first_article.as_str() && paragraph["kind"] == "paragraph" {
            tsv.push_str(&format!(
                "{}\t{}\n",
                paragraph["id"].as_str().unwrap(),
                ["fracturing", "stable"][class % 2]
            ));
            class += 1;
        }
    }
    sandbox.write("solo.tsv", tsv);
    sandbox
        .stance()
        .args(["label", "--import", "solo.tsv", "--annotator", "solo"])
        .assert()
        .success();
    let logo = experiment(
        &sandbox,
        "logo",
        "[data]\nannotator = \"solo\"\n[cv]\nscheme = \"leave_one_group_out\"\n",
    );
    check_error(
        &sandbox,
        &["run", &logo],
        &["leave-one-group-out needs at least 2 groups (articles), found 1"],
    );

    let articles = "experiments/articles.toml";
    sandbox.write(
        articles,
        "[stats]\nbootstrap = \"articles\"\npermutations = 0\n",
    );
    check_error(
        &sandbox,
        &["run", articles],
        &[
            "cannot bootstrap over articles",
            "2 article(s)",
            "bootstrap = \"paragraphs\"",
        ],
    );
}

#[test]
fn a_corrupt_results_file_is_reported_not_overwritten() {
    let sandbox = with_labels();
    let path = experiment(&sandbox, "base", "");
    sandbox.write("experiments/results/base.json", "{ this is not a record");
    check_error(
        &sandbox,
        &["run", &path],
        &[
            "experiments/results/base.json",
            "corrupt",
            "refusing to overwrite",
        ],
    );
    assert_eq!(
        sandbox.read("experiments/results/base.json"),
        "{ this is not a record"
    );
    sandbox
        .stance()
        .args(["run", "--force", &path])
        .assert()
        .success();
    assert!(record(&sandbox, "base")["metrics"].is_object());
}

#[test]
fn compare_pairs_experiments_on_identical_folds() {
    let sandbox = with_labels();
    let base = experiment(&sandbox, "base", "");
    let binary = experiment(&sandbox, "binary", "[features]\nbinary = true\n");
    let logo = experiment(&sandbox, "logo", "[cv]\nscheme = \"leave_one_group_out\"\n");
    sandbox
        .stance()
        .args(["compare", &base, &binary, &logo])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "paired tests against base on balanced_accuracy",
        ))
        .stdout(predicate::str::contains("McNemar"))
        .stdout(predicate::str::contains("different [cv] settings"))
        .stdout(predicate::str::contains("features.binary"));
    // The records it ran are written, and reused next time.
    assert!(sandbox.join("experiments/results/binary.json").exists());

    let output = sandbox
        .stance()
        .args(["compare", "--format", "json", &base, &binary])
        .output()
        .unwrap();
    assert!(output.status.success());
    let json: Value = serde_json::from_slice(&output.stdout).unwrap();
    let paired = &json["experiments"][1]["paired_tests"];
    assert_eq!(paired["paired"], true);
    assert!(paired["mcnemar"]["p_value"].is_number());
    assert!(paired["corrected_t_test"]["p_value"].is_number());
    assert_eq!(
        json["differing_config"]["features.binary"],
        serde_json::json!(["false", "true"])
    );

    sandbox
        .stance()
        .args(["compare", "--format", "markdown", &base, &binary])
        .assert()
        .success()
        .stdout(predicate::str::contains("| experiment |"));
    sandbox
        .stance()
        .args(["compare", "--repeats", "3", &base, &binary])
        .assert()
        .success()
        .stdout(predicate::str::contains(" (14)"));
}

#[test]
fn curve_is_printed_and_written_into_the_record() {
    let sandbox = with_labels();
    let path = experiment(&sandbox, "base", "");
    let output = sandbox.stance().args(["curve", &path]).output().unwrap();
    assert!(output.status.success());
    let printed = String::from_utf8(output.stdout).unwrap();
    // Alone, the curve says what its intervals are: nothing is "above".
    assert!(
        flat(&printed).starts_with(
            "learning curve: balanced_accuracy against training paragraphs per fold (test \
             folds unchanged; 95% interval: 95% percentile bootstrap over paragraphs"
        ),
        "{printed}"
    );
    assert!(!printed.contains("as above"), "{printed}");
    check_fits_80_columns(&printed);
    let curve = record(&sandbox, "base")["learning_curve"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(curve.len(), 5);
    let sizes: Vec<u64> = curve
        .iter()
        .map(|p| p["train_size"].as_u64().unwrap())
        .collect();
    assert!(sizes.windows(2).all(|w| w[0] < w[1]), "sizes {sizes:?}");
    for point in &curve {
        for field in ["train_size", "mean", "ci_low", "ci_high"] {
            assert!(point.get(field).is_some(), "curve point lacks {field}");
        }
    }
    // The curve is part of what verify checks.
    sandbox.stance().args(["verify", &path]).assert().code(0);
}

#[test]
fn three_classes_run_with_the_multinomial_solver() {
    let sandbox = with_labels();
    let path = experiment(
        &sandbox,
        "three",
        "[data]\nclasses = [\"fracturing\", \"stable\", \"neither\"]\n[cv]\nfolds = 3\n",
    );
    sandbox.stance().args(["run", &path]).assert().success();
    let record = record(&sandbox, "three");
    assert_eq!(record["classes"].as_array().unwrap().len(), 3);
    assert!(
        record["metrics"].get("roc_auc").is_none(),
        "AUC is binary only"
    );
    assert!(
        record["folds"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["converged"] == true)
    );
}

/// `class_weight = "balanced"`: two classes go to our L-BFGS (linfa-logistic takes no
/// sample weights), each fold's record says so, the config records the key, and asking for
/// linfa with it is a config error naming the key.
#[test]
fn balanced_class_weights_fit_with_our_solver_and_say_so() {
    let sandbox = with_labels();
    let plain = experiment(&sandbox, "plain", "[cv]\nfolds = 3\n");
    let weighted = experiment(
        &sandbox,
        "weighted",
        "[model]\nclass_weight = \"balanced\"\n[cv]\nfolds = 3\n",
    );
    for path in [&plain, &weighted] {
        sandbox.stance().args(["run", path]).assert().success();
    }
    let solvers = |name: &str| -> Vec<String> {
        record(&sandbox, name)["folds"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["solver"].as_str().unwrap().to_owned())
            .collect()
    };
    assert!(solvers("plain").iter().all(|s| s == "linfa"));
    assert!(solvers("weighted").iter().all(|s| s == "lbfgs"));
    assert_eq!(
        record(&sandbox, "weighted")["config"]["model"]["class_weight"],
        "balanced"
    );
    assert!(
        record(&sandbox, "plain")["config"]["model"]
            .get("class_weight")
            .is_none()
    );
    sandbox
        .stance()
        .args(["verify", &weighted])
        .assert()
        .code(0);
    let refused = experiment(
        &sandbox,
        "refused",
        "[model]\nsolver = \"linfa\"\nclass_weight = \"balanced\"\n",
    );
    check_error(
        &sandbox,
        &["run", &refused],
        &["refused.toml:3", "model.class_weight", "linfa-logistic"],
    );
}

#[test]
fn f1_mean_is_a_metric_of_runs_and_comparisons() {
    let sandbox = with_labels();
    let classes = "[data]\nclasses = [\"fracturing\", \"stable\", \"neither\"]\n[cv]\nfolds = 3\n";
    let metric =
        "[stats]\nmetric = \"f1_mean:stable,fracturing\"\npermutations = 20\nresamples = 200\n";
    sandbox.write("experiments/fmean.toml", format!("{classes}{metric}"));
    sandbox
        .stance()
        .args(["run", "experiments/fmean.toml"])
        .assert()
        .success()
        .stdout(predicate::str::contains("f1_mean:fracturing,stable"));
    let record = record(&sandbox, "fmean");
    let recorded = &record["metrics"]["f1_mean:fracturing,stable"];
    assert!(recorded["ci_low"].is_number(), "{recorded}");
    assert_eq!(record["permutation"]["metric"], "f1_mean:fracturing,stable");

    // Against an experiment that did not record it: computed from its predictions.
    let other = experiment(
        &sandbox,
        "other",
        "[data]\nclasses = [\"fracturing\", \"stable\", \"neither\"]\n[cv]\nfolds = 3\n[features]\nbinary = true\n",
    );
    sandbox
        .stance()
        .args(["compare", "experiments/fmean.toml", &other])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "paired tests against fmean on f1_mean:fracturing,stable",
        ));
    check_error(
        &sandbox,
        &[
            "compare",
            "--metric",
            "f1_mean:maybe",
            "experiments/fmean.toml",
            &other,
        ],
        &["metric `f1_mean:maybe` is not in every experiment's results"],
    );
}

#[test]
fn stratified_group_folds_keep_articles_whole() {
    let sandbox = with_labels();
    let grouped = experiment(
        &sandbox,
        "grouped",
        "[cv]\nscheme = \"stratified_group_kfold\"\nfolds = 2\n",
    );
    sandbox
        .stance()
        .args(["run", &grouped])
        .assert()
        .success()
        .stdout(predicate::str::contains("of whole articles"));
    let record = record(&sandbox, "grouped");
    let paragraphs = sandbox.read("labels/paragraphs.jsonl");
    let article_of: std::collections::BTreeMap<String, String> = paragraphs
        .lines()
        .map(|line| {
            let p: Value = serde_json::from_str(line).unwrap();
            (
                p["id"].as_str().unwrap().to_owned(),
                p["article"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let mut fold_of_article = std::collections::BTreeMap::new();
    for prediction in record["predictions"].as_array().unwrap() {
        let article = &article_of[prediction["id"].as_str().unwrap()];
        let fold = prediction["fold"].as_u64().unwrap();
        assert_eq!(
            *fold_of_article.entry(article.clone()).or_insert(fold),
            fold
        );
    }
    assert_eq!(fold_of_article.len(), 2);
    let three = experiment(
        &sandbox,
        "three",
        "[cv]\nscheme = \"stratified_group_kfold\"\nfolds = 3\n",
    );
    check_error(
        &sandbox,
        &["run", &three],
        &["3 folds of whole articles need at least 3 articles, found 2"],
    );
}

#[test]
fn the_permutation_test_stops_once_p_is_clearly_above_the_level() {
    let sandbox = with_labels();
    let body = "[stats]\npermutations = 400\nresamples = 200\ncurve_fractions = []\n";
    sandbox.write("experiments/seq.toml", body);
    let mut records = Vec::new();
    for threads in ["1", "2"] {
        sandbox
            .stance()
            .args(["--threads", threads, "run", "experiments/seq.toml"])
            .assert()
            .success()
            .stderr(predicate::function(|err: &str| {
                flat(err)
                    .contains("permutation test: up to 400 permutations × 5 folds = 2,000 fits")
            }))
            .stdout(predicate::function(|out: &str| {
                flat(out).contains("50 of 400 permutations: stopped")
            }));
        records.push(sandbox.read("experiments/results/seq.json"));
    }
    assert_eq!(without_timings(&records[0]), without_timings(&records[1]));
    let seq = record(&sandbox, "seq");
    // The baseline's p is near 0.3: the first look (50 shuffles) already clears 0.05.
    assert_eq!(seq["permutation"]["n_permutations"], 50);
    assert_eq!(seq["permutation"]["planned"], 400);
    assert!(seq["permutation"]["p_value"].as_f64().unwrap() > 0.05);
    // No curve asked for, none drawn; the bootstrap's cost is in the timings.
    assert!(seq.get("learning_curve").is_none());
    assert!(seq["timings"]["seconds_bootstrap"].is_number());
    sandbox
        .stance()
        .args(["verify", "experiments/seq.toml"])
        .assert()
        .code(0);
    check_error(
        &sandbox,
        &["curve", "experiments/seq.toml"],
        &["has no learning curve", "curve_fractions"],
    );

    let body = "[stats]\npermutations = 60\nresamples = 200\npermutation_stopping = \"none\"\n";
    sandbox.write("experiments/all.toml", body);
    sandbox
        .stance()
        .args(["run", "experiments/all.toml"])
        .assert()
        .success();
    let all = record(&sandbox, "all");
    assert_eq!(all["permutation"]["n_permutations"], 60);
    assert!(all["permutation"].get("planned").is_none());
    // The curve's full-size point is the cross-validation itself.
    let curve = all["learning_curve"].as_array().unwrap();
    let last = curve.last().unwrap();
    assert_eq!(last["fraction"], 1.0);
    assert_eq!(
        last["pooled"],
        all["metrics"]["balanced_accuracy"]["pooled"]
    );
    assert!(all["timings"]["seconds_curve"].is_number());
}

#[test]
fn simulate_writes_a_reproducible_record_and_prints_the_curves() {
    let sandbox = with_labels();
    let path = experiment(&sandbox, "base", "");
    let args = [
        "simulate",
        &path,
        "--strategies",
        "random,uncertainty",
        "--seeds",
        "3",
        "--initial",
        "4",
        "--step",
        "4",
        "--budget",
        "12",
    ];
    let run = |threads: &str| {
        let output = sandbox
            .stance()
            .args(["--threads", threads])
            .args(args)
            .output()
            .unwrap();
        assert!(output.status.success(), "{output:?}");
        let text = sandbox.read("experiments/results/simulations/base.json");
        (String::from_utf8(output.stdout).unwrap(), text)
    };
    let (stdout, text) = run("1");
    for expected in [
        "base: 22 labelled paragraphs, 6 held out for scoring in each of 3 seeds; balanced_accuracy",
        "labels",
        "random",
        "uncertainty",
        "area under the curve",
        "labels to reach it",
        "record: experiments/results/simulations/base.json",
    ] {
        assert!(
            stdout.contains(expected),
            "{expected:?} missing from\n{stdout}"
        );
    }
    let record: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(record["format"], "stance-simulation/1");
    assert_eq!(record["sizes"], serde_json::json!([4, 8, 12]));
    assert_eq!(
        record["settings"]["orders"],
        serde_json::json!(["random", "uncertainty"])
    );
    assert_eq!(record["curves"][0]["per_seed"].as_array().unwrap().len(), 3);
    // The same seed set for every order: the curves start together, seed by seed.
    for seed in 0..3 {
        assert_eq!(
            record["curves"][0]["per_seed"][seed][0],
            record["curves"][1]["per_seed"][seed][0]
        );
    }
    assert_eq!(record["pairings"].as_array().unwrap().len(), 2);
    // Byte for byte the same on two threads, timings apart.
    let (_, again) = run("2");
    assert_eq!(without_timings(&text), without_timings(&again));

    check_error(
        &sandbox,
        &["simulate", &path, "--strategies", "random,sideways"],
        &["`sideways` is not an order"],
    );
    check_error(
        &sandbox,
        &["simulate", &path, "--budget", "40"],
        &["--budget 40 is more than the 16 paragraphs outside the held-out part (6 of 22)"],
    );
}

/// The lines of the sandbox's run history, parsed.
fn history(sandbox: &Sandbox) -> Vec<Value> {
    let path = sandbox.join("experiments/results/runs.jsonl");
    if !path.exists() {
        return Vec::new();
    }
    sandbox
        .read("experiments/results/runs.jsonl")
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

/// `stance run ARGS…` succeeds; its stdout.
fn run_ok(sandbox: &Sandbox, args: &[&str]) -> String {
    let output = sandbox.stance().arg("run").args(args).output().unwrap();
    assert!(output.status.success(), "{args:?}: {output:?}");
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn every_run_is_in_the_history_and_a_careful_record_is_not_replaced() {
    let sandbox = with_labels();
    let path = experiment(&sandbox, "base", "");
    let record_path = "experiments/results/base.json";

    let out = run_ok(&sandbox, &[&path]);
    assert!(
        out.ends_with("\nrecord: experiments/results/base.json\n"),
        "{out}"
    );
    let written = sandbox.read(record_path);

    // The same results: the file is left as it is, timings and all.
    let out = run_ok(&sandbox, &[&path]);
    assert!(flat(&out).contains("(unchanged: the same results; the run is in the history)"));
    assert_eq!(sandbox.read(record_path), written);

    // A quicker run does not replace a more careful one.
    let out = run_ok(&sandbox, &["--permutations", "0", &path]);
    assert!(
        flat(&out).contains(
            "record: experiments/results/base.json kept: it holds a more careful run, of 20 \
             permutations (this run: 0); --force replaces it"
        ),
        "{out}"
    );
    assert!(!out.contains("better than chance?"), "{out}");
    assert_eq!(sandbox.read(record_path), written);

    // A look writes nothing at all.
    let out = run_ok(&sandbox, &["--no-record", "--permutations", "0", &path]);
    assert!(out.contains("record: not written (--no-record)"), "{out}");
    assert_eq!(history(&sandbox).len(), 3);

    // Fewer resamples count as less careful too; --force replaces.
    let quick = "experiments/base.toml";
    sandbox.write(quick, "[stats]\npermutations = 20\nresamples = 100\n");
    let out = run_ok(&sandbox, &[quick]);
    assert!(
        flat(&out).contains("of 200 bootstrap resamples (this run: 100)"),
        "{out}"
    );
    assert_eq!(sandbox.read(record_path), written);
    let out = run_ok(&sandbox, &["--force", quick]);
    assert!(
        flat(&out)
            .contains("(replaced with --force; it held 200 bootstrap resamples (this run: 100))"),
        "{out}"
    );
    assert_eq!(record(&sandbox, "base")["interval"]["resamples"], 100);

    let lines = history(&sandbox);
    let fates: Vec<&str> = lines
        .iter()
        .map(|l| l["record"].as_str().unwrap())
        .collect();
    assert_eq!(fates, ["written", "unchanged", "kept", "kept", "forced"]);
    let first = &lines[0];
    assert_eq!(first["format"], "stance-run/1");
    assert_eq!(first["experiment"], "base");
    assert_eq!(first["paragraphs"], 22);
    assert_eq!(first["permutation"]["requested"], 20);
    let recorded: Value = serde_json::from_str(&written).unwrap();
    assert_eq!(first["config_hash"], recorded["config_hash"]);
    assert_eq!(first["data_hash"], recorded["data_hash"]);
    assert_eq!(first["started_at"], recorded["timings"]["started_at"]);
    assert_eq!(
        first["metrics"]["balanced_accuracy"]["value"],
        recorded["metrics"]["balanced_accuracy"]["pooled"]
    );
    assert_eq!(
        first["metrics"]["accuracy"]["ci_low"],
        recorded["metrics"]["accuracy"]["ci_low"]
    );
    assert!(lines[2].get("permutation").is_none());
    assert_ne!(lines[3]["config_hash"], lines[2]["config_hash"]);

    // `stance runs`: one row per run, the changes between them, what became of the record.
    let output = sandbox.stance().args(["runs", "base"]).output().unwrap();
    assert!(output.status.success(), "{output:?}");
    let listing = String::from_utf8(output.stdout).unwrap();
    assert!(
        listing.starts_with(
            "experiments/results/runs.jsonl (times in UTC, oldest first)\n\nbase: 5 runs\n"
        ),
        "{listing}"
    );
    let rows: Vec<&str> = listing.lines().skip(4).collect();
    assert_eq!(rows.len(), 5, "{listing}");
    let tail = |row: &str, n: usize| -> Vec<String> {
        let words: Vec<&str> = row.split_whitespace().collect();
        words[words.len() - n..]
            .iter()
            .map(|w| w.to_string())
            .collect()
    };
    assert_eq!(tail(rows[0], 3), ["0.333", "20", "written"], "{listing}");
    assert_eq!(tail(rows[1], 2), ["20", "unchanged"], "{listing}");
    assert_eq!(tail(rows[2], 3), ["–", "0", "kept"], "{listing}");
    assert_eq!(tail(rows[3], 3), ["20", "config", "kept"], "{listing}");
    assert_eq!(tail(rows[4], 2), ["20", "forced"], "{listing}");
    assert!(
        listing.lines().all(|line| line.chars().count() <= 80),
        "{listing}"
    );
    let output = sandbox
        .stance()
        .args(["runs", "--last", "2", "experiments/base.toml"])
        .output()
        .unwrap();
    let listing = String::from_utf8(output.stdout).unwrap();
    assert!(
        listing.contains("  … 3 earlier runs (--last N shows more)\n"),
        "{listing}"
    );
    let json = sandbox.stance().args(["runs", "--json"]).output().unwrap();
    assert_eq!(String::from_utf8(json.stdout).unwrap().lines().count(), 5);
    check_error(
        &sandbox,
        &["runs", "other"],
        &["no runs of other in experiments/results/runs.jsonl; it has runs of base"],
    );
}

/// Counts each stage's steps as the library reports them.
#[derive(Default)]
struct Steps {
    stages: std::sync::Mutex<Vec<(String, u64, u64)>>,
    partial: std::sync::Mutex<Option<stance::record::Record>>,
}

impl stance::experiment::Progress for Steps {
    fn stage(&self, name: &str, total: u64) {
        self.stages
            .lock()
            .unwrap()
            .push((name.to_owned(), total, 0));
    }
    fn tick(&self) {
        self.stages.lock().unwrap().last_mut().unwrap().2 += 1;
    }
    fn wants_partial(&self) -> bool {
        true
    }
    fn partial(&self, record: &stance::record::Record) {
        assert!(
            self.stages.lock().unwrap().len() == 1,
            "before the permutation test"
        );
        *self.partial.lock().unwrap() = Some(record.clone());
    }
}

#[test]
fn progress_ticks_once_per_fold_fitted_and_the_cross_validation_comes_first() {
    let sandbox = with_labels();
    let path = sandbox.write(
        "experiments/p.toml",
        "[stats]\npermutations = 60\npermutation_stopping = \"none\"\nresamples = 200\n\
         curve_fractions = [0.5, 1.0]\n",
    );
    let experiment = stance::experiment::Experiment::load(&path).unwrap();
    let steps = Steps::default();
    let options = stance::experiment::RunOptions { permutations: None };
    let output = stance::experiment::run(&experiment, &options, &steps).unwrap();
    let dataset = &output.dataset;
    stance::experiment::learning_curve(&experiment, dataset, Some(&output.folds), &steps).unwrap();
    // 5 folds; 60 permutations of 5 folds each; the curve's half size (5 fits) and its full
    // size (the cross-validation's own 5 folds, reused).
    assert_eq!(
        *steps.stages.lock().unwrap(),
        [
            ("cross-validation".to_owned(), 5, 5),
            ("permutation test".to_owned(), 300, 300),
            ("learning curve".to_owned(), 10, 10),
        ]
    );
    // The cross-validation's results, without the test against chance, came first.
    let partial = steps.partial.lock().unwrap().clone().unwrap();
    assert!(partial.permutation.is_none() && partial.learning_curve.is_none());
    assert_eq!(
        partial.metrics,
        stance::experiment::record_of(&experiment, &output, None).metrics
    );
}

#[test]
fn an_interrupted_run_has_printed_the_cross_validation_already() {
    use std::io::{BufRead, BufReader};
    let sandbox = with_labels();
    sandbox.write(
        "experiments/long.toml",
        "[stats]\npermutations = 100000\npermutation_stopping = \"none\"\nresamples = 200\n",
    );
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_stance"))
        .args(["run", "experiments/long.toml"])
        .current_dir(sandbox.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut printed = String::new();
    // The per-article table is the cross-validation report's last part.
    while !printed.contains("002_77d38c7356dc9391") {
        let mut line = String::new();
        assert!(stdout.read_line(&mut line).unwrap() > 0, "{printed}");
        printed.push_str(&line);
    }
    // Then the permutation test's size: 100,000 permutations (the most allowed) take long,
    // and the report
    // came before them. Interrupt it.
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut noted = String::new();
    while !noted.contains("thread") {
        let mut line = String::new();
        assert!(stderr.read_line(&mut line).unwrap() > 0, "{noted}");
        noted.push_str(&line);
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(printed.contains("balanced_accuracy"), "{printed}");
    assert!(printed.contains("confusion matrix"), "{printed}");
    assert!(!printed.contains("better than chance?"), "{printed}");
    assert!(
        flat(&noted).contains("up to 100,000 permutations × 5 folds = 500,000 fits"),
        "{noted}"
    );
    assert!(!sandbox.join("experiments/results/long.json").exists());
}

/// Every line of `text` fits 80 columns.
fn check_fits_80_columns(text: &str) {
    for line in text.lines() {
        assert!(
            line.chars().count() <= 80,
            "{} columns: {line}\n{text}",
            line.chars().count()
        );
    }
}

#[test]
fn reports_fit_80_columns_cap_the_articles_and_come_as_markdown_or_json() {
    let sandbox = with_labels();
    sandbox.write(
        "experiments/three.toml",
        "[data]\nclasses = [\"fracturing\", \"stable\", \"neither\"]\n\
         [stats]\nmetric = \"macro_f1\"\npermutations = 20\nresamples = 200\n",
    );
    let base = experiment(&sandbox, "base", "");
    let text = run_ok(&sandbox, &["--no-record", "experiments/three.toml"]);
    check_fits_80_columns(&text);
    // Per-class metrics under their class.
    assert!(text.contains("\nneither\n  precision "), "{text}");
    assert!(text.contains("by article (accuracy"), "{text}");

    // The per-article table is capped: the articles with the most paragraphs.
    let text = run_ok(&sandbox, &["--no-record", "--top", "1", &base]);
    check_fits_80_columns(&text);
    assert!(
        text.contains("by article, the 1 with the most paragraphs"),
        "{text}"
    );
    assert!(text.contains("  002_77d38c7356dc9391  "), "{text}");
    assert!(!text.contains("000_f5ae0c5afab919db"), "{text}");
    assert!(
        text.contains("  … and 1 more article (--top N lists more)\n"),
        "{text}"
    );

    let output = sandbox
        .stance()
        .args(["run", "--format", "json", &base])
        .output()
        .unwrap();
    assert!(output.status.success());
    let printed: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(printed, record(&sandbox, "base"));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("record: experiments/results/base.json")
    );

    let markdown = run_ok(&sandbox, &["--no-record", "--format", "markdown", &base]);
    assert!(markdown.starts_with("### base\n"), "{markdown}");
    assert!(markdown.contains("| metric | model |"), "{markdown}");
    assert!(
        markdown.contains("| article | paragraphs | fracturing | stable | accuracy |"),
        "{markdown}"
    );

    // Experiments of other classes are marked, not differenced; tables are cut to fit.
    let output = sandbox
        .stance()
        .args(["compare", &base, "experiments/three.toml"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let text = String::from_utf8(output.stdout).unwrap();
    check_fits_80_columns(&text);
    let row = text
        .lines()
        .find(|line| line.starts_with("three (other classes)"))
        .unwrap();
    assert!(!row.contains('+') && !row.contains("-0"), "{row}");
    assert!(flat(&text).contains("their values measure another task, so no Δ and no paired test"));
    assert!(
        text.contains("three (1)") && text.contains("(1) different classes: not paired"),
        "{text}"
    );
}

#[test]
fn three_shards_merge_into_the_unsharded_record() {
    let sandbox = with_labels();
    // Every kind of task: folds, shuffles (the sequential test stops after 50 of 120) and
    // learning-curve folds (the fraction 1 is the cross-validation itself).
    let body = "[stats]\npermutations = 120\nresamples = 200\ncurve_fractions = [0.5, 1.0]\n";
    sandbox.write("experiments/s.toml", body);
    sandbox
        .stance()
        .args(["run", "experiments/s.toml"])
        .assert()
        .success();
    let unsharded = sandbox.read("experiments/results/s.json");
    fs::remove_file(sandbox.join("experiments/results/s.json")).unwrap();

    for (shard, threads) in [("1/3", "1"), ("2/3", "2"), ("3/3", "1")] {
        let file = format!("s.shard-{}-of-3.json", &shard[..1]);
        sandbox
            .stance()
            .args([
                "--threads",
                threads,
                "run",
                "--shard",
                shard,
                "experiments/s.toml",
            ])
            .assert()
            .success()
            .stdout(predicate::str::contains(&file))
            .stderr(predicate::str::contains(format!("shard {shard}: ")));
    }
    let partial = |i: usize| format!("experiments/results/s.shard-{i}-of-3.json");
    // Any order of the partials; or found beside the record.
    sandbox
        .stance()
        .args([
            "merge",
            "experiments/s.toml",
            &partial(3),
            &partial(1),
            &partial(2),
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "record: experiments/results/s.json",
        ));
    let merged = sandbox.read("experiments/results/s.json");
    assert_eq!(without_timings(&unsharded), without_timings(&merged));
    let record = record(&sandbox, "s");
    assert_eq!(record["permutation"]["n_permutations"], 50);
    assert_eq!(record["permutation"]["planned"], 120);
    assert_eq!(record["learning_curve"].as_array().map(Vec::len), Some(2));
    sandbox
        .stance()
        .args(["merge", "experiments/s.toml"])
        .assert()
        .success();
    assert_eq!(
        without_timings(&unsharded),
        without_timings(&sandbox.read("experiments/results/s.json"))
    );
    sandbox
        .stance()
        .args(["verify", "experiments/s.toml"])
        .assert()
        .code(0);

    // Wrong, mixed and missing shards are refused, naming them.
    check_error(
        &sandbox,
        &["merge", "experiments/s.toml", &partial(1), &partial(3)],
        &["shard 2/3 missing: merging needs all 3 (given: 1/3, 3/3)"],
    );
    check_error(
        &sandbox,
        &["merge", "experiments/s.toml", &partial(1), &partial(1)],
        &["shard 1/3 given twice", "s.shard-1-of-3.json"],
    );
    sandbox
        .stance()
        .args(["run", "--shard", "1/2", "experiments/s.toml"])
        .assert()
        .success();
    check_error(
        &sandbox,
        &[
            "merge",
            "experiments/s.toml",
            &partial(1),
            "experiments/results/s.shard-1-of-2.json",
        ],
        &[
            "s.shard-1-of-2.json: shard 1/2",
            "shard 1/3",
            "of different runs",
        ],
    );
    sandbox.write("experiments/t.toml", body);
    check_error(
        &sandbox,
        &["merge", "experiments/t.toml", &partial(1)],
        &["s.shard-1-of-3.json: a shard of experiment `s`, not `t`"],
    );
    check_error(
        &sandbox,
        &["merge", "experiments/t.toml"],
        &["no partial records to merge"],
    );
    sandbox.write("experiments/s.toml", body.replace("200", "300"));
    check_error(
        &sandbox,
        &[
            "merge",
            "experiments/s.toml",
            &partial(1),
            &partial(2),
            &partial(3),
        ],
        &[
            "s.shard-1-of-3.json: computed for another config",
            "re-run that shard",
        ],
    );
    sandbox.write(&partial(2), "{\"format\": \"stance-record/1\"}");
    check_error(
        &sandbox,
        &["merge", "experiments/s.toml", &partial(2)],
        &["s.shard-2-of-3.json"],
    );
    for (spec, message) in [
        ("0/3", "there is no shard 0/3: shards are numbered 1 to N"),
        ("4/3", "there is no shard 4/3: shards are numbered 1 to N"),
        ("2", "`2` is not of the form I/N"),
    ] {
        check_error(
            &sandbox,
            &["run", "--shard", spec, "experiments/s.toml"],
            &[message],
        );
    }
}
