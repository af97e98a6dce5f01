//! `stance import`: labelled corpora (CSV, TSV, JSON Lines) into a label store, run as the
//! real binary on small files written by each test.

use std::collections::BTreeMap;

use predicates::prelude::*;
use serde_json::Value;

use crate::util::Sandbox;

/// RFC 4180 CSV: a comma, doubled quotes and a newline inside quoted fields, groups and
/// splits in columns, labels outside the class-name rules mapped.
const CSV: &str = "id,source,text,bias,part\r\n\
    1,Daily Post,\"Tariffs, again: \"\"a rift\"\" says the envoy\",Left,train\r\n\
    2,Daily Post,\"First line\nsecond line\",Right,train\r\n\
    3,The Ledger,Plain text without quotes,Center,test\r\n\
    4,The Ledger,\"Ends with a quote \"\"\",Left,test\r\n";

/// The CSV's texts as the store must keep them, in file order.
const CSV_TEXTS: [&str; 4] = [
    "Tariffs, again: \"a rift\" says the envoy",
    "First line\nsecond line",
    "Plain text without quotes",
    "Ends with a quote \"",
];

fn csv_flags() -> Vec<&'static str> {
    vec![
        "import",
        "--text",
        "text",
        "--label",
        "bias",
        "--id",
        "id",
        "--group",
        "source",
        "--split-column",
        "part",
        "--map",
        "Left=left",
        "--map",
        "Center=center",
        "--map",
        "Right=right",
    ]
}

/// One line of `paragraphs.jsonl` or `annotations.jsonl`, as JSON.
fn lines(sandbox: &Sandbox, file: &str) -> Vec<Value> {
    sandbox
        .read(&format!("labels/{file}"))
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

/// Each paragraph's text and its current label (the last decision on it).
fn labelled_texts(sandbox: &Sandbox) -> Vec<(String, String)> {
    let mut label_of: BTreeMap<String, String> = BTreeMap::new();
    for decision in lines(sandbox, "annotations.jsonl") {
        label_of.insert(
            decision["paragraph"].as_str().unwrap().to_owned(),
            decision["label"].as_str().unwrap().to_owned(),
        );
    }
    lines(sandbox, "paragraphs.jsonl")
        .iter()
        .map(|p| {
            let id = p["id"].as_str().unwrap();
            (p["text"].as_str().unwrap().to_owned(), label_of[id].clone())
        })
        .collect()
}

/// Every file of the store, to tell that nothing changed.
fn snapshot(sandbox: &Sandbox) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(sandbox.join("labels"))
        .unwrap()
        .map(|entry| {
            let entry = entry.unwrap();
            (
                entry.file_name().to_string_lossy().into_owned(),
                std::fs::read(entry.path()).unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}

/// `stance import ARGS` fails with exit code 2 and `message` in its error, writing nothing.
fn check_refused(sandbox: &Sandbox, args: &[&str], message: &str) {
    let before = sandbox.join("labels").exists().then(|| snapshot(sandbox));
    sandbox
        .stance()
        .args(args)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(message));
    let after = sandbox.join("labels").exists().then(|| snapshot(sandbox));
    assert_eq!(before, after, "a refused import changed the store");
}

#[test]
fn csv_keeps_quoted_commas_quotes_and_newlines_groups_and_splits() {
    let sandbox = Sandbox::new();
    sandbox.write("news.csv", CSV);
    sandbox
        .stance()
        .args(csv_flags())
        .arg("news.csv")
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "4 records into labels (new, classes left, right, center): 4 new paragraphs",
        ))
        .stdout(predicate::str::contains("2 test, 2 train"));

    let paragraphs = lines(&sandbox, "paragraphs.jsonl");
    let texts: Vec<&str> = paragraphs
        .iter()
        .map(|p| p["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts, CSV_TEXTS);
    let field = |i: usize, key: &str| paragraphs[i][key].as_str().unwrap_or("").to_owned();
    assert_eq!(field(0, "article"), "Daily_Post");
    assert_eq!(field(0, "group"), "Daily Post");
    assert_eq!(field(2, "article"), "The_Ledger");
    assert_eq!(field(1, "key"), "2");
    assert_eq!(
        (0..4).map(|i| field(i, "split")).collect::<Vec<_>>(),
        ["train", "train", "test", "test"]
    );
    assert!(paragraphs.iter().all(|p| p["kind"] == "paragraph"));
    let labels: Vec<String> = labelled_texts(&sandbox)
        .into_iter()
        .map(|(_, l)| l)
        .collect();
    assert_eq!(labels, ["left", "right", "center", "left"]);
    // The classes in the order the labels first appear.
    let schema = sandbox.read("labels/schema.toml");
    let names: Vec<&str> = schema
        .lines()
        .filter_map(|line| line.strip_prefix("name = "))
        .collect();
    assert_eq!(names, ["\"left\"", "\"right\"", "\"center\""]);
}

#[test]
fn importing_the_same_file_again_changes_nothing() {
    let sandbox = Sandbox::new();
    sandbox.write("news.csv", CSV);
    sandbox
        .stance()
        .args(csv_flags())
        .arg("news.csv")
        .assert()
        .success();
    let before = snapshot(&sandbox);
    sandbox
        .stance()
        .args(csv_flags())
        .arg("news.csv")
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "0 new paragraphs, 4 already there",
        ))
        .stdout(predicate::str::contains("0 appended, 4 unchanged"));
    assert_eq!(snapshot(&sandbox), before);
}

#[test]
fn a_changed_label_is_a_new_decision_on_the_same_paragraph() {
    let sandbox = Sandbox::new();
    sandbox.write("news.csv", CSV);
    sandbox
        .stance()
        .args(csv_flags())
        .arg("news.csv")
        .assert()
        .success();
    sandbox.write("news.csv", CSV.replace("Center,test", "Right,test"));
    sandbox
        .stance()
        .args(csv_flags())
        .arg("news.csv")
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "0 new paragraphs, 4 already there",
        ))
        .stdout(predicate::str::contains("1 appended, 3 unchanged"));
    assert_eq!(lines(&sandbox, "paragraphs.jsonl").len(), 4);
    assert_eq!(labelled_texts(&sandbox)[2].1, "right");
}

#[test]
fn a_label_outside_the_schema_is_refused_naming_file_and_line_and_nothing_is_written() {
    let sandbox = Sandbox::new();
    sandbox.write("news.csv", CSV);
    sandbox
        .stance()
        .args(csv_flags())
        .arg("news.csv")
        .assert()
        .success();
    // Line 2 is new and acceptable; line 3 has a label the store does not know.
    sandbox.write(
        "more.csv",
        "id,source,text,bias,part\n5,Daily Post,A new text,Left,train\n6,Daily Post,Another,Far,train\n",
    );
    let mut args = csv_flags();
    args.push("more.csv");
    check_refused(
        &sandbox,
        &args,
        "more.csv:3: unknown label `Far` (the schema has left, right, center)",
    );
}

#[test]
fn into_a_new_store_every_label_must_be_among_classes() {
    let sandbox = Sandbox::new();
    sandbox.write("news.csv", CSV);
    let mut args = csv_flags();
    args.extend(["--classes", "left,right", "news.csv"]);
    // Line 5: the record before it spans lines 3 and 4.
    check_refused(&sandbox, &args, "news.csv:5: unknown label `center`");
    assert!(
        !sandbox.join("labels").exists(),
        "a refused import left a store"
    );
}

#[test]
fn classes_set_a_new_store_s_order_and_must_match_an_existing_one() {
    let sandbox = Sandbox::new();
    sandbox.write("news.csv", CSV);
    let mut args = csv_flags();
    args.extend(["--classes", "center,left,right", "news.csv"]);
    sandbox.stance().args(&args).assert().success();
    assert!(
        sandbox
            .read("labels/schema.toml")
            .find("\"center\"")
            .unwrap()
            < sandbox.read("labels/schema.toml").find("\"left\"").unwrap()
    );
    let mut other = csv_flags();
    other.extend(["--classes", "left,right,center", "news.csv"]);
    check_refused(
        &sandbox,
        &other,
        "has the classes center,left,right, not left,right,center",
    );
}

#[test]
fn a_label_that_cannot_name_a_class_is_refused_with_the_map_that_fixes_it() {
    let sandbox = Sandbox::new();
    sandbox.write("news.csv", CSV);
    check_refused(
        &sandbox,
        &[
            "import", "--text", "text", "--label", "bias", "--group", "source", "news.csv",
        ],
        "news.csv:2: label `Left` cannot name a class (lowercase letters, digits, `_`, `-`, \
         starting with a letter): map it, e.g. --map Left=left",
    );
}

#[test]
fn tsv_splits_on_tabs_only_and_reads_windows_1252() {
    let sandbox = Sandbox::new();
    // SemEval-2016's layout: quotes are text, not quoting; byte 0x92 is windows-1252's `’`
    // and 0xE9 its `é`; CRLF line ends.
    let mut tsv = b"ID\tTarget\tTweet\tStance\r\n".to_vec();
    tsv.extend_from_slice(b"101\tAtheism\t\"God is\" good \"\tAGAINST\r\n");
    tsv.extend_from_slice(b"102\tAtheism\tIt\x92s caf\xe9 time\tFAVOR\r\n");
    tsv.extend_from_slice(b"103\tClimate Change is a Real Concern\tWe \"must\" act\tNONE\r\n");
    sandbox.write("tweets.txt", &tsv);
    let flags = [
        "import",
        "--format",
        "tsv",
        "--text",
        "Tweet",
        "--label",
        "Stance",
        "--id",
        "ID",
        "--group",
        "Target",
        "--split",
        "train",
        "--classes",
        "favor,against,none",
        "--map",
        "FAVOR=favor",
        "--map",
        "AGAINST=against",
        "--map",
        "NONE=none",
    ];
    let mut utf8 = flags.to_vec();
    utf8.push("tweets.txt");
    check_refused(
        &sandbox,
        &utf8,
        "tweets.txt:3: column `Tweet`: not valid UTF-8 (byte 2 of the field); if the file is \
         in another encoding, pass --encoding windows-1252 or latin-1",
    );
    let mut cp1252 = flags.to_vec();
    cp1252.extend(["--encoding", "windows-1252", "tweets.txt"]);
    sandbox.stance().args(&cp1252).assert().success();
    assert_eq!(
        labelled_texts(&sandbox),
        [
            ("\"God is\" good \"".to_owned(), "against".to_owned()),
            ("It\u{2019}s caf\u{e9} time".to_owned(), "favor".to_owned()),
            ("We \"must\" act".to_owned(), "none".to_owned()),
        ]
    );
    let paragraphs = lines(&sandbox, "paragraphs.jsonl");
    assert_eq!(paragraphs[2]["article"], "Climate_Change_is_a_Real_Concern");
    assert_eq!(paragraphs[2]["group"], "Climate Change is a Real Concern");
    assert!(paragraphs.iter().all(|p| p["split"] == "train"));
    // latin-1 reads 0x92 as the control character U+0092.
    let mut latin1 = flags.to_vec();
    latin1.extend(["--store", "latin", "--encoding", "latin-1", "tweets.txt"]);
    sandbox.stance().args(&latin1).assert().success();
    assert!(
        sandbox
            .read("latin/paragraphs.jsonl")
            .contains("It\u{92}s caf\u{e9} time")
    );
}

#[test]
fn json_lines_gzipped_take_the_file_stem_as_group_and_numbers_as_ids() {
    use std::io::Write;
    let sandbox = Sandbox::new();
    let records = "{\"n\": 1, \"body\": \"Unity at the summit\", \"y\": \"stable\"}\n\
        \n\
        {\"n\": 2, \"body\": \"A rift over oil\", \"y\": \"fracturing\"}\n\
        {\"n\": 3, \"body\": \"Unity at the summit\", \"y\": \"stable\"}\n";
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(records.as_bytes()).unwrap();
    sandbox.write("summits.jsonl.gz", gz.finish().unwrap());
    sandbox
        .stance()
        .args([
            "import", "--text", "body", "--label", "y", "--id", "n", "--split", "test",
        ])
        .arg("summits.jsonl.gz")
        .assert()
        .success()
        .stdout(predicate::str::contains("3 new paragraphs"))
        .stdout(predicate::str::contains(
            "1 group; splits: 3 test — summits (3)",
        ));
    let paragraphs = lines(&sandbox, "paragraphs.jsonl");
    // The same text under two ids stays two paragraphs.
    assert_eq!(paragraphs.len(), 3);
    assert!(paragraphs.iter().all(|p| p["article"] == "summits"));
    assert_eq!(paragraphs[2]["key"], "3");
}

#[test]
fn a_repeated_record_is_kept_once_and_a_contradicting_one_refused() {
    let sandbox = Sandbox::new();
    sandbox.write(
        "repeats.tsv",
        "text\tlabel\nUnity at the summit\tstable\nA rift\tfracturing\nUnity at the summit\tstable\n",
    );
    sandbox
        .stance()
        .args([
            "import",
            "--text",
            "text",
            "--label",
            "label",
            "repeats.tsv",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "2 new paragraphs, 0 already there, 1 repeated record kept once",
        ));
    sandbox.write(
        "contradicts.tsv",
        "text\tlabel\nUnity at the summit\tstable\nUnity at the summit\tfracturing\n",
    );
    check_refused(
        &sandbox,
        &[
            "import",
            "--store",
            "other",
            "--text",
            "text",
            "--label",
            "label",
            "contradicts.tsv",
        ],
        "contradicts.tsv:3: the same record as line 2 (same group, id and text) with another \
         label or split",
    );
    assert!(!sandbox.join("other").exists());
}

#[test]
fn bad_flags_are_refused_before_anything_is_read() {
    let sandbox = Sandbox::new();
    sandbox.write("data.dat", "text,label\nx,a\ny,b\n");
    for (args, message) in [
        (
            vec!["data.dat"],
            "cannot tell the format of data.dat from its name: pass --format csv, tsv or jsonl",
        ),
        (
            vec!["--format", "xls", "data.dat"],
            "--format xls: expected csv, tsv or jsonl",
        ),
        (
            vec!["--format", "csv", "--encoding", "ebcdic", "data.dat"],
            "--encoding ebcdic: expected utf-8, windows-1252 or latin-1",
        ),
        (
            vec!["--format", "csv", "--map", "a", "data.dat"],
            "--map a: expected FROM=TO",
        ),
        (
            vec!["--format", "csv", "--classes", "a,B", "data.dat"],
            "--classes a,B",
        ),
        (
            vec!["--format", "csv", "--label", "stance", "data.dat"],
            "data.dat:1: no column `stance` in the header (it has `text`, `label`)",
        ),
    ] {
        let mut full = vec!["import", "--text", "text"];
        if !args.contains(&"--label") {
            full.extend(["--label", "label"]);
        }
        full.extend(args);
        check_refused(&sandbox, &full, message);
        assert!(!sandbox.join("labels").exists());
    }
}

#[test]
fn an_imported_corpus_runs_a_holdout_experiment_per_group() {
    let sandbox = Sandbox::new();
    let mut csv = String::from("id,group,text,label,split\n");
    for (g, group) in ["north", "south"].iter().enumerate() {
        for i in 0..16 {
            let stable = (i + g) % 2 == 0;
            let word = if stable {
                "unity bloc"
            } else {
                "rift distrust"
            };
            let split = if i < 12 { "train" } else { "test" };
            let label = if stable { "stable" } else { "fracturing" };
            csv.push_str(&format!(
                "{g}-{i},{group},talks {i} {word},{label},{split}\n"
            ));
        }
    }
    sandbox.write("corpus.csv", csv);
    sandbox
        .stance()
        .args([
            "import",
            "--text",
            "text",
            "--label",
            "label",
            "--id",
            "id",
            "--group",
            "group",
            "--split-column",
            "split",
            "corpus.csv",
        ])
        .assert()
        .success();
    sandbox.write(
        "experiments/holdout.toml",
        "[data]\nstore = \"../labels\"\nsplit = \"train\"\n[model]\nper_group = true\n\
         [cv]\nscheme = \"holdout\"\ntest_split = \"test\"\n\
         [stats]\npermutations = 0\nresamples = 100\ncurve_fractions = []\n",
    );
    sandbox
        .stance()
        .args(["run", "experiments/holdout.toml"])
        .assert()
        .success();
    let record: Value =
        serde_json::from_str(&sandbox.read("experiments/results/holdout.json")).unwrap();
    // Only the 8 test records are predicted, each by its own group's model.
    assert_eq!(record["predictions"].as_array().unwrap().len(), 8);
    let groups: Vec<&str> = record["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["group"].as_str().unwrap())
        .collect();
    assert_eq!(groups, ["north", "south"]);
}
