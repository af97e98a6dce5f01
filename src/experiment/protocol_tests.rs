//! Held-out splits, one model per group and nested searches, run end to end on a small
//! imported store, against fits made directly on the rows they should see.

use std::path::{Path, PathBuf};

use crate::labels::test_support::{Row, imported_store};
use crate::record::Record;

use super::cross_validate::fit_on_rows;
use super::{Dataset, Experiment, RunOptions, Silent, record_of, run};

/// Words that carry each class, and words that carry none.
const FRACTURING: [&str; 4] = ["rift", "distrust", "split", "rivalry"];
const STABLE: [&str; 4] = ["bloc", "unity", "alliance", "solidarity"];
const FILLER: [&str; 9] = [
    "talks", "summit", "trade", "border", "minister", "envoy", "visit", "oil", "port",
];

/// Group, key, text, label, split: per group 40 paragraphs, the last 12 of each group in
/// `test`; a paragraph's class words are sometimes missing or crossed, so that no model is
/// perfect and penalties matter.
fn corpus() -> Vec<(String, String, String, String, String)> {
    let mut rows = Vec::new();
    for (g, group) in ["Group A", "Group B"].iter().enumerate() {
        for i in 0..40usize {
            let fracturing = (i * 7 + g) % 5 < 2;
            let (own, other) = if fracturing {
                (FRACTURING, STABLE)
            } else {
                (STABLE, FRACTURING)
            };
            let mut words = vec![FILLER[i % 9], FILLER[(i * 5 + g) % 9], FILLER[(i / 3) % 9]];
            if i % 4 != 0 {
                words.push(own[i % 4]);
            }
            if i % 6 == 0 {
                words.push(other[(i / 6) % 4]);
            }
            if g == 1 && fracturing {
                // Group B says it differently: a word group A gives the other class.
                words.push("alliance");
            }
            rows.push((
                group.to_string(),
                format!("{g}-{i}"),
                words.join(" "),
                if fracturing { "fracturing" } else { "stable" }.to_owned(),
                if i >= 28 { "test" } else { "train" }.to_owned(),
            ));
        }
    }
    rows
}

struct Fixture {
    _dir: tempfile::TempDir,
    root: PathBuf,
}

impl Fixture {
    fn new(rows: &[(String, String, String, String, String)]) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_owned();
        let rows: Vec<Row<'_>> = rows
            .iter()
            .map(|(g, k, t, l, s)| (g.as_str(), k.as_str(), t.as_str(), l.as_str(), s.as_str()))
            .collect();
        imported_store(&root.join("labels"), &rows);
        Fixture { _dir: dir, root }
    }

    fn experiment(&self, name: &str, body: &str) -> Experiment {
        let text = format!(
            "[data]\nstore = \"../labels\"\n{body}\n[stats]\npermutations = 0\nresamples = 200\ncurve_fractions = []\n"
        );
        let path = self.root.join("experiments").join(format!("{name}.toml"));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        Experiment::parse(&path, &text).unwrap()
    }

    fn record(&self, experiment: &Experiment, permutations: usize) -> Record {
        let options = RunOptions {
            permutations: Some(permutations),
        };
        let output = run(experiment, &options, &Silent).unwrap();
        record_of(experiment, &output, None)
    }
}

fn probabilities(record: &Record, id: &str) -> Vec<f64> {
    let prediction = record.predictions.iter().find(|p| p.id == id).unwrap();
    record
        .classes
        .iter()
        .map(|c| prediction.probabilities[c])
        .collect()
}

fn close(a: &[f64], b: &[f64]) -> bool {
    a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-12)
}

/// Holdout fits once on the training split and scores the test split: its predictions are
/// those of a model fitted directly on the training paragraphs, and only test paragraphs
/// are predicted.
#[test]
fn holdout_scores_the_test_split_with_a_model_of_the_training_split() {
    let fixture = Fixture::new(&corpus());
    let experiment = fixture.experiment(
        "holdout",
        "split = \"train\"\n[cv]\nscheme = \"holdout\"\ntest_split = \"test\"",
    );
    let record = fixture.record(&experiment, 19);
    let dataset = Dataset::load(experiment.data()).unwrap();
    let test: Vec<usize> = (0..dataset.len())
        .filter(|&i| dataset.items()[i].split.as_deref() == Some("test"))
        .collect();
    let train: Vec<usize> = (0..dataset.len()).filter(|i| !test.contains(i)).collect();
    assert_eq!((train.len(), test.len()), (56, 24));
    assert_eq!(record.predictions.len(), 24);
    assert_eq!(record.data.paragraphs, 80);

    let corpus = experiment.features().analyze_corpus(&dataset.texts());
    let (columns, model) =
        fit_on_rows(&corpus, experiment.model(), &dataset.labels(), 2, &train).unwrap();
    let direct = model
        .predict_proba(&corpus.transform(&columns, &test))
        .unwrap();
    for (row, &i) in test.iter().enumerate() {
        let id = &dataset.items()[i].id;
        assert!(
            close(&probabilities(&record, id), &direct.row(row).to_vec()),
            "{id}"
        );
    }
    // Scored on the 24 test paragraphs, per group too, with a permutation test that re-fits
    // on shuffled training labels.
    assert_eq!(record.folds.len(), 1);
    assert_eq!((record.folds[0].train, record.folds[0].test), (56, 24));
    let groups = record.groups.as_ref().unwrap();
    assert_eq!(groups.len(), 2);
    assert_eq!(groups.iter().map(|g| g.paragraphs).sum::<usize>(), 24);
    let permutation = record.permutation.as_ref().unwrap();
    assert_eq!(permutation.n_permutations, 19);
    assert!(record.config["cv"]["test_split"] == "test");
}

/// One model per group: each group's predictions are those of the same experiment run on
/// that group alone.
#[test]
fn one_model_per_group_predicts_as_each_group_alone() {
    let fixture = Fixture::new(&corpus());
    let holdout = "[cv]\nscheme = \"holdout\"\ntest_split = \"test\"";
    let per_group = fixture.experiment(
        "per-group",
        &format!("[model]\nper_group = true\n{holdout}"),
    );
    let record = fixture.record(&per_group, 0);
    let pooled = fixture.record(&fixture.experiment("pooled", holdout), 0);
    for group in ["Group A", "Group B"] {
        let alone = fixture.experiment("alone", &format!("groups = [\"{group}\"]\n{holdout}"));
        let alone = fixture.record(&alone, 0);
        assert_eq!(alone.predictions.len(), 12);
        for prediction in &alone.predictions {
            assert!(
                close(
                    &probabilities(&record, &prediction.id),
                    &probabilities(&alone, &prediction.id)
                ),
                "{group}: {}",
                prediction.id
            );
        }
        // The group's own metrics are its paragraphs scored alone.
        let scores = record.groups.as_ref().unwrap();
        let scores = scores.iter().find(|g| g.group == group).unwrap();
        assert_eq!(scores.metrics["accuracy"], alone.metrics["accuracy"].pooled);
    }
    // Group B says `alliance` for the other class: a model per group beats one for both.
    let accuracy = |r: &Record| r.metrics["accuracy"].pooled.unwrap();
    assert!(
        accuracy(&record) > accuracy(&pooled),
        "{} vs {}",
        accuracy(&record),
        accuracy(&pooled)
    );
    // The majority baseline is per group too.
    assert!(record.baseline["accuracy"].pooled.is_some());
}

/// Replace the text of the paragraph with key `key` by `text`.
fn poisoned(key: &str, text: &str) -> Vec<(String, String, String, String, String)> {
    corpus()
        .into_iter()
        .map(|mut row| {
            if row.1 == key {
                row.2 = text.to_owned();
            }
            row
        })
        .collect()
}

/// A nested search never looks at the outer test fold: poisoning the text of a paragraph
/// (words of the other class, repeated) changes no choice and no inner score of the folds
/// that test it, while the folds that train on it do see it.
#[test]
fn nested_search_choices_never_see_the_outer_test_fold() {
    let search = "[features]\nweighting = \"tfidf\"\n[cv]\nfolds = 4\n[search]\nalpha = [0.01, 0.3, 3, 30]\ninner_folds = 3\nsublinear_tf = [false, true]";
    let clean = Fixture::new(&corpus());
    let clean_record = clean.record(&clean.experiment("tuned", search), 0);
    // Paragraph 0-1 is `stable`; its poison is every fracturing word, many times.
    let poison = std::iter::repeat_n(FRACTURING.join(" "), 20)
        .collect::<Vec<_>>()
        .join(" ");
    let dirty = Fixture::new(&poisoned("0-1", &poison));
    let dirty_experiment = dirty.experiment("tuned", search);
    let dirty_record = dirty.record(&dirty_experiment, 0);

    let dataset = Dataset::load(dirty_experiment.data()).unwrap();
    let poisoned_id = &dataset.items()[1].id;
    let tested_in = dirty_record
        .predictions
        .iter()
        .find(|p| &p.id == poisoned_id)
        .unwrap()
        .fold;
    let search_of = |r: &Record| r.search.clone().unwrap();
    let (before, after) = (search_of(&clean_record), search_of(&dirty_record));
    assert_eq!(before.choices.len(), 4);
    let mut changed_elsewhere = false;
    for (a, b) in before.choices.iter().zip(&after.choices) {
        if a.fold == tested_in {
            assert_eq!(a, b, "fold {} tests the poisoned paragraph", a.fold);
        } else {
            changed_elsewhere |= a.inner_scores != b.inner_scores;
        }
    }
    assert!(
        changed_elsewhere,
        "the poison should reach the folds that train on it"
    );
    assert_eq!(after.wins.iter().sum::<usize>(), 4);
    assert_eq!(after.candidates.len(), 8);
    assert_eq!(
        after.candidates[7],
        serde_json::json!({"sublinear_tf": true, "alpha": 30.0})
    );
}

/// Under holdout the search chooses on the training split alone: poisoning a test
/// paragraph changes no choice.
#[test]
fn a_held_out_search_chooses_on_the_training_split() {
    let search = "[model]\nper_group = true\n[cv]\nscheme = \"holdout\"\ntest_split = \"test\"\n[search]\nalpha = [0.03, 1, 30]\ninner_folds = 4";
    let clean = Fixture::new(&corpus());
    let before = clean.record(&clean.experiment("tuned", search), 0);
    let dirty = Fixture::new(&poisoned(
        "1-30",
        "rift rift rift distrust split rivalry unity",
    ));
    let after = dirty.record(&dirty.experiment("tuned", search), 0);
    let (before, after) = (before.search.unwrap(), after.search.unwrap());
    assert_eq!(before.choices.len(), 2, "one choice per group");
    assert_eq!(before.choices, after.choices);
    assert_eq!(
        before
            .choices
            .iter()
            .map(|c| c.group.clone().unwrap())
            .collect::<Vec<_>>(),
        ["Group A", "Group B"]
    );
}

#[test]
fn splits_and_groups_select_paragraphs() {
    let fixture = Fixture::new(&corpus());
    let dataset = |body: &str| Dataset::load(fixture.experiment("x", body).data());
    assert_eq!(dataset("").unwrap().len(), 80);
    assert_eq!(dataset("split = \"train\"").unwrap().len(), 56);
    assert_eq!(
        dataset("groups = [\"Group B\"]\nsplit = \"test\"")
            .unwrap()
            .len(),
        12
    );
    assert_eq!(dataset("groups = [\"Group_B\"]").unwrap().len(), 40);
    assert_eq!(
        dataset("groups = [\"Group C\"]").unwrap_err().to_string(),
        "group `Group C` is not in the label store (it has: Group A, Group B)"
    );
    let err = dataset("split = \"dev\"").unwrap_err().to_string();
    assert!(
        err.starts_with("split `dev` has no labelled paragraphs"),
        "{err}"
    );
}

#[test]
fn protocol_settings_are_checked() {
    let check = |body: &str, expected: &str| {
        let err = Experiment::parse(Path::new("experiments/x.toml"), body).unwrap_err();
        assert_eq!(err.to_string(), expected);
    };
    check(
        "[cv]\nscheme = \"holdout\"\n",
        "experiments/x.toml:1: key `cv.test_split`: scheme = \"holdout\" needs `test_split`, the split it scores (e.g. \"test\")",
    );
    check(
        "[cv]\ntest_split = \"test\"\n",
        "experiments/x.toml:2: key `cv.test_split`: `test_split` applies to scheme = \"holdout\", not \"stratified_kfold\"",
    );
    check(
        "[data]\nsplit = \"test\"\n[cv]\nscheme = \"holdout\"\ntest_split = \"test\"\n",
        "experiments/x.toml:2: key `data.split`: `test` is also [cv] test_split: the training and test paragraphs must differ",
    );
    check(
        "[model]\nper_group = true\n[cv]\nscheme = \"stratified_group_kfold\"\n",
        "experiments/x.toml:2: key `model.per_group`: one model per group cannot be tested on folds of whole groups (scheme = \"stratified_group_kfold\"): a test group would have no training paragraphs",
    );
    check(
        "[search]\nalpha = [1, 2]\nngram = [1]\n",
        "experiments/x.toml:3: key `search.ngram`: unknown field `ngram`, expected one of `analyzer`, `token_pattern`, `lowercase`, `ngram_range`, `stop_words`, `stemming`, `min_df`, `max_df`, `max_features`, `binary`, `weighting`, `smooth_idf`, `sublinear_tf`, `norm`, `hashing`",
    );
}

/// A feature union cross-validates like any feature set: each fold's predictions are those
/// of the union fitted directly on the fold's training rows; the record keeps the array.
#[test]
fn a_feature_union_is_fitted_on_each_training_fold() {
    let fixture = Fixture::new(&corpus());
    let experiment = fixture.experiment(
        "union",
        "[[features]]\nngram_range = [1, 2]\n[[features]]\nanalyzer = \"char_wb\"\nngram_range = [2, 4]\nweighting = \"tfidf\"\n[cv]\nfolds = 3",
    );
    let record = fixture.record(&experiment, 0);
    assert_eq!(record.config["features"].as_array().unwrap().len(), 2);
    assert_eq!(record.config["features"][1]["analyzer"], "char_wb");

    let dataset = Dataset::load(experiment.data()).unwrap();
    let labels = dataset.labels();
    let splits = crate::cv::splits(
        experiment.cv(),
        dataset.classes(),
        &labels,
        &dataset.groups(),
    )
    .unwrap();
    let corpus = experiment.features().analyze_corpus(&dataset.texts());
    for split in &splits {
        let (columns, model) =
            fit_on_rows(&corpus, experiment.model(), &labels, 2, split.train()).unwrap();
        let direct = model
            .predict_proba(&corpus.transform(&columns, split.test()))
            .unwrap();
        for (row, &i) in split.test().iter().enumerate() {
            let id = &dataset.items()[i].id;
            assert!(
                close(&probabilities(&record, id), &direct.row(row).to_vec()),
                "{id}"
            );
        }
    }
    let err = super::train_on(&experiment, &dataset)
        .unwrap_err()
        .to_string();
    assert!(
        err.ends_with("a model file holds one feature set, not a union of 2 ([[features]])"),
        "{err}"
    );
}

/// `train` on a tuned experiment chooses on all its labels and writes the choice into the
/// model file's config, which loads back to the same predictions.
#[test]
fn training_a_tuned_experiment_keeps_its_choice() {
    let fixture = Fixture::new(&corpus());
    let experiment = fixture.experiment(
        "tuned",
        "[search]\nalpha = [0.01, 1, 100]\nbinary = [false, true]\ninner_folds = 3",
    );
    let dataset = Dataset::load(experiment.data()).unwrap();
    let trained = super::train_on(&experiment, &dataset).unwrap();
    let config = &trained.provenance().config;
    let chosen = &config["search"]["chosen"];
    assert_eq!(config["model"]["alpha"], chosen["alpha"]);
    assert_eq!(config["features"]["binary"], chosen["binary"]);
    assert_eq!(config["search"]["inner_folds"], 3);
    let path = fixture.root.join("model.json");
    crate::model_file::save(&trained, &path).unwrap();
    let loaded = crate::model_file::load(&path).unwrap();
    let texts = ["rift talks", "unity summit bloc"];
    assert_eq!(
        loaded.predict_proba(&loaded.transform(&texts)).unwrap(),
        trained.predict_proba(&trained.transform(&texts)).unwrap()
    );
}
