//! Several annotators in one experiment (`[data] annotator = [...]` with `combine`), and
//! where they disagree (`stance labels`), on a copy of the seed labels with a second and a
//! third annotator's labels added.

use serde_json::Value;

use crate::util::{Sandbox, copy_dir, seed_store};

const QUICK: &str =
    "[cv]\nfolds = 3\n[stats]\npermutations = 0\nresamples = 200\ncurve_fractions = []\n";

/// Every other one of the first 22 labelled paragraphs is flipped by
/// the second annotator; the third labels the first 8 as the first does.
const FLIPPED_BELOW: usize = 22;
const THIRD_LABELS: usize = 8;

/// The seed store's labels by `annotator-1`, in file order: (paragraph, label).
fn first_labels(sandbox: &Sandbox) -> Vec<(String, String)> {
    let text = sandbox.read("labels/annotations.jsonl");
    let mut labels: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        let value: Value = serde_json::from_str(line).unwrap();
        let paragraph = value["paragraph"].as_str().unwrap().to_owned();
        let label = value["label"].as_str().unwrap().to_owned();
        labels.retain(|(p, _)| *p != paragraph);
        labels.push((paragraph, label));
    }
    labels
}

fn flipped(label: &str) -> &'static str {
    match label {
        "fracturing" => "stable",
        _ => "fracturing",
    }
}

/// The second annotator's label of the `i`-th paragraph whose first label is `label`.
fn second_label(i: usize, label: &str) -> String {
    if i < FLIPPED_BELOW && i.is_multiple_of(2) {
        flipped(label).to_owned()
    } else {
        label.to_owned()
    }
}

/// A sandbox with the seed store, and `annotator-2`'s and `annotator-3`'s labels appended.
fn with_three_annotators() -> (Sandbox, Vec<(String, String)>) {
    let sandbox = Sandbox::new();
    copy_dir(&seed_store(), &sandbox.join("labels"));
    let first = first_labels(&sandbox);
    let mut text = sandbox.read("labels/annotations.jsonl");
    let line = |paragraph: &str, label: &str, who: &str| {
        format!(
            "{{\"paragraph\":\"{paragraph}\",\"label\":\"{label}\",\"annotator\":\"{who}\",\
             \"confidence\":\"high\",\"time\":\"2026-12-01T12:00:00Z\"}}\n"
        )
    };
    for (i, (paragraph, label)) in first.iter().enumerate() {
        text.push_str(&line(paragraph, &second_label(i, label), "annotator-2"));
        if i < THIRD_LABELS {
            text.push_str(&line(paragraph, label, "annotator-3"));
        }
    }
    sandbox.write("labels/annotations.jsonl", text);
    (sandbox, first)
}

fn run(sandbox: &Sandbox, name: &str, data: &str) -> (Value, String) {
    let path = format!("experiments/{name}.toml");
    sandbox.write(&path, format!("[data]\n{data}\n{QUICK}"));
    let output = sandbox.stance().args(["run", &path]).output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{name}: {}{stdout}",
        String::from_utf8_lossy(&output.stderr)
    );
    let record =
        serde_json::from_str(&sandbox.read(&format!("experiments/results/{name}.json"))).unwrap();
    (record, stdout)
}

/// `text` as one line: the report wraps at 80 columns, and may break a name after its
/// hyphen (`annotator-` / `1`).
fn flat(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace("- ", "-")
}

fn in_classes(label: &str) -> bool {
    label == "fracturing" || label == "stable"
}

/// `annotator = "annotator-1"` gives the same paragraphs however many others labelled them
/// and whether the name is a string or a list of one; no `combined` in its record.
#[test]
fn a_single_annotator_is_unchanged() {
    let sandbox = Sandbox::new();
    copy_dir(&seed_store(), &sandbox.join("labels"));
    let (before, _) = run(&sandbox, "before", "annotator = \"annotator-1\"");
    let (three, _) = with_three_annotators();
    let (after, _) = run(&three, "after", "annotator = \"annotator-1\"");
    let (listed, _) = run(&three, "listed", "annotator = [\"annotator-1\"]");
    for record in [&after, &listed] {
        assert_eq!(record["data_hash"], before["data_hash"]);
        assert_eq!(record["data"], before["data"]);
    }
    assert!(before["data"].get("combined").is_none());
}

/// Majority of two: a paragraph they label differently is a tie, left out and counted; of
/// three, two agreeing outvote the third. Unanimous of two leaves out the same paragraphs,
/// as disagreements. Each record names the annotators and the rule, and the report says
/// how many were left out and why.
#[test]
fn labels_of_several_annotators_are_combined_and_what_is_left_out_is_said() {
    let (sandbox, first) = with_three_annotators();
    // Expected, from the construction: per paragraph its votes, then the rule by hand.
    let mut two = (0, 0); // (paragraphs kept in the classes, ties)
    let mut three = (0, 0);
    for (i, (_, label)) in first.iter().enumerate() {
        let second = second_label(i, label);
        if *label == second {
            two.0 += usize::from(in_classes(label));
        } else {
            two.1 += 1; // every flip has a vote for a class of the experiment
        }
        let third_agrees = i < THIRD_LABELS;
        if *label == second || third_agrees {
            three.0 += usize::from(in_classes(label));
        } else {
            three.1 += 1;
        }
    }
    assert_eq!(two.1, 11);
    assert_eq!(three.1, 11 - THIRD_LABELS / 2);

    let (majority, stdout) = run(
        &sandbox,
        "majority",
        "annotator = [\"annotator-1\", \"annotator-2\"]\ncombine = \"majority\"",
    );
    assert_eq!(majority["data"]["paragraphs"], two.0);
    assert_eq!(majority["data"]["annotator"], "annotator-1, annotator-2");
    assert_eq!(
        majority["data"]["combined"],
        serde_json::json!({
            "annotators": ["annotator-1", "annotator-2"],
            "rule": "majority",
            "left_out": {"tie": two.1},
        })
    );
    let text = flat(&stdout);
    assert!(
        text.contains("labels by annotator-1, annotator-2 combined by majority (11 paragraphs left out: 11 ties)"),
        "{stdout}"
    );

    let (unanimous, stdout) = run(
        &sandbox,
        "unanimous",
        "annotator = [\"annotator-1\", \"annotator-2\"]\ncombine = \"unanimous\"",
    );
    assert_eq!(unanimous["data_hash"], majority["data_hash"]);
    assert_eq!(
        unanimous["data"]["combined"]["left_out"],
        serde_json::json!({"disagreement": two.1, "not_labelled_by_all": 0})
    );
    let text = flat(&stdout);
    assert!(
        text.contains("combined by unanimous (11 paragraphs left out: 11 disagreements)"),
        "{stdout}"
    );

    let (of_three, _) = run(
        &sandbox,
        "three",
        "annotator = [\"annotator-1\", \"annotator-2\", \"annotator-3\"]\ncombine = \"majority\"",
    );
    assert_eq!(of_three["data"]["paragraphs"], three.0);
    assert_eq!(of_three["data"]["combined"]["left_out"]["tie"], three.1);
    sandbox
        .stance()
        .args(["verify", "experiments/three.toml"])
        .assert()
        .code(0);
}

#[test]
fn an_unknown_annotator_among_several_lists_those_that_exist() {
    let (sandbox, _) = with_three_annotators();
    sandbox.write(
        "experiments/x.toml",
        format!("[data]\nannotator = [\"annotator-1\", \"annotator-9\"]\ncombine = \"majority\"\n{QUICK}"),
    );
    let output = sandbox
        .stance()
        .args(["run", "experiments/x.toml"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(
            "annotator `annotator-9` has no labels in experiments/../labels; labels by: \
             annotator-1, annotator-2, annotator-3"
        ),
        "{stderr}"
    );
}

/// `stance labels` lists the paragraphs labelled differently (each annotator's label, ten
/// at most, then how many more), and κ with its interval, or why there is none.
#[test]
fn labels_shows_disagreements_and_kappa_intervals() {
    let (sandbox, first) = with_three_annotators();
    let output = sandbox.stance().args(["labels"]).output().unwrap();
    assert!(output.status.success());
    let stdout = String::from_utf8_lossy(&output.stdout);
    let text = flat(&stdout);
    assert!(
        text.contains("disagreements: 11 paragraphs labelled differently"),
        "{stdout}"
    );
    assert!(text.contains("… and 1 more"), "{stdout}");
    // The first flipped paragraph, with the three annotators' labels (the third agrees
    // with the first).
    let (paragraph, label) = &first[0];
    let expected = format!(
        "{paragraph} annotator-1={label} annotator-2={} annotator-3={label}",
        flipped(label)
    );
    assert!(text.contains(&expected), "{expected} in\n{stdout}");
    // 28 shared paragraphs: an interval; 8: too few.
    assert!(
        text.contains("annotator-1 / annotator-2: 28 paragraphs")
            && text.contains("95% interval ["),
        "{stdout}"
    );
    assert!(
        text.contains(
            "annotator-1 / annotator-3: 8 paragraphs, 100.0% agreement, Cohen's κ 1.000 (too few \
             shared paragraphs for an interval: 10 needed)"
        ),
        "{stdout}"
    );
    for line in stdout.lines() {
        assert!(line.chars().count() <= 80, "{line}");
    }
}
