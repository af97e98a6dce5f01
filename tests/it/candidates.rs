//! `stance ingest` of a corpus in JSON Lines (`--text`, `--id`, `--title`) with `--match`
//! filters: the two seed articles written as records of a small corpus, checked against the
//! same articles ingested from their text files.

use std::fs;
use std::io::Write;

use predicates::prelude::*;
use serde_json::{Value, json};

use crate::util::{Sandbox, repo_root};

const SEEDS: [&str; 2] = ["000_f5ae0c5afab919db", "002_77d38c7356dc9391"];
const KOREA: &str = "North Korea|Pyongyang|Kim Jong";
const PARTNERS: &str = "China|Beijing|Russia|Moscow|Putin|Xi";

fn seed_text(name: &str) -> String {
    fs::read_to_string(repo_root().join(format!("tests/fixtures/corpus/{name}.txt"))).unwrap()
}

/// The seeds as JSON Lines records (paragraphs separated by blank lines, as the AllSides
/// corpus has them), with a record between them that no pattern hits.
fn corpus() -> String {
    let records = [
        json!({"ID": SEEDS[0], "source": "Focus", "date": "2024-10-20", "title": "Kim plays them off",
               "text": seed_text(SEEDS[0]).replace('\n', "\n\n")}),
        json!({"ID": "unrelated", "source": "Other", "date": "2019-01-01", "title": "Budget",
               "text": "Congress passed the budget.\n\nThe vote was close."}),
        json!({"ID": SEEDS[1], "source": "Diplomat", "date": "2024-11-02", "title": "Ties",
               "text": seed_text(SEEDS[1])}),
    ];
    records.iter().map(|r| format!("{r}\n")).collect()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// `paragraphs.jsonl` of `store`, each line parsed.
fn paragraphs(sandbox: &Sandbox, store: &str) -> Vec<Value> {
    sandbox
        .read(&format!("{store}/paragraphs.jsonl"))
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

fn ingest_corpus(sandbox: &Sandbox, file: &str, store: &str, extra: &[&str]) -> String {
    let mut args = vec![
        "ingest", file, "--text", "text", "--id", "ID", "--store", store,
    ];
    args.extend_from_slice(extra);
    let output = sandbox.stance().args(&args).assert().success();
    String::from_utf8(output.get_output().stderr.clone()).unwrap()
}

/// The seeds ingested from their text files into `whole/`.
fn with_whole_seeds() -> Sandbox {
    let sandbox = Sandbox::new();
    for name in SEEDS {
        sandbox.write(&format!("{name}.txt"), seed_text(name));
    }
    sandbox
        .stance()
        .args(["ingest", "--store", "whole"])
        .args(SEEDS.map(|name| format!("{name}.txt")))
        .assert()
        .success();
    sandbox
}

#[test]
fn records_are_split_as_article_files_are_and_keep_their_fields() {
    let sandbox = with_whole_seeds();
    sandbox.write("corpus.jsonl", corpus());
    let stderr = ingest_corpus(&sandbox, "corpus.jsonl", "labels", &[]);
    assert_eq!(
        stderr,
        "corpus.jsonl: 3 records; 3 articles kept whole, 30 paragraphs\n"
    );
    // Blank lines between paragraphs change nothing: same blocks, ids and positions.
    let from_records: Vec<Value> = paragraphs(&sandbox, "labels")
        .into_iter()
        .filter(|p| p["article"] != "unrelated")
        .collect();
    assert_eq!(from_records, paragraphs(&sandbox, "whole"));
    // The other fields are kept beside the article, the text is not repeated there.
    let fields: Value =
        serde_json::from_str(&sandbox.read(&format!("labels/articles/{}.json", SEEDS[1]))).unwrap();
    assert_eq!(
        fields,
        json!({"ID": SEEDS[1], "date": "2024-11-02", "source": "Diplomat", "title": "Ties"})
    );
    assert_eq!(
        sandbox.read(&format!("labels/articles/{}.txt", SEEDS[1])),
        seed_text(SEEDS[1])
    );
}

#[test]
fn match_keeps_the_paragraphs_every_pattern_hits_with_their_ids() {
    let sandbox = with_whole_seeds();
    sandbox.write("corpus.jsonl.gz", gzip(corpus().as_bytes()));
    let stderr = ingest_corpus(
        &sandbox,
        "corpus.jsonl.gz",
        "labels",
        &["--match", KOREA, "--match", PARTNERS],
    );
    let kept = paragraphs(&sandbox, "labels");
    // The expected paragraphs, picked from the whole articles with the patterns applied
    // here: labelable paragraphs that both hit.
    let (korea, partners) = (
        regex::Regex::new(KOREA).unwrap(),
        regex::Regex::new(PARTNERS).unwrap(),
    );
    let expected: Vec<Value> = paragraphs(&sandbox, "whole")
        .into_iter()
        .filter(|p| {
            let text = p["text"].as_str().unwrap();
            p["kind"] == "paragraph" && korea.is_match(text) && partners.is_match(text)
        })
        .collect();
    assert_eq!(kept, expected);
    // Counted by hand from the files' lines: 6 and 14 lines hit both, and one glued line
    // of the second seed holds two paragraphs that both do.
    assert_eq!(kept.len(), 21, "{kept:#?}");
    let per_article = |id: &str| kept.iter().filter(|p| p["article"] == id).count();
    assert_eq!((per_article(SEEDS[0]), per_article(SEEDS[1])), (6, 15));
    assert_eq!(
        stderr,
        "corpus.jsonl.gz: 3 records; 2 articles with paragraphs every --match hits (2 patterns), 21 paragraphs\n"
    );
    // Ingesting again changes nothing.
    let before = sandbox.read("labels/paragraphs.jsonl");
    sandbox
        .stance()
        .args(["ingest", "corpus.jsonl.gz", "--text", "text", "--id", "ID"])
        .args(["--match", KOREA, "--match", PARTNERS])
        .assert()
        .success()
        .stdout(predicate::str::contains(format!(
            "{}: unchanged: 6 paragraphs",
            SEEDS[0]
        )));
    assert_eq!(sandbox.read("labels/paragraphs.jsonl"), before);
}

#[test]
fn a_pattern_in_the_title_counts_for_every_paragraph_of_the_article() {
    let sandbox = Sandbox::new();
    sandbox.write("corpus.jsonl", corpus());
    // `plays them` is in the first seed's title only.
    let patterns = ["--match", "plays them", "--match", "Seoul"];
    let stderr = ingest_corpus(&sandbox, "corpus.jsonl", "untitled", &patterns);
    assert!(stderr.contains("0 articles"), "{stderr}");
    let mut with_title = vec!["--title", "title"];
    with_title.extend(patterns);
    ingest_corpus(&sandbox, "corpus.jsonl", "labels", &with_title);
    let kept = paragraphs(&sandbox, "labels");
    let seed = seed_text(SEEDS[0]);
    let seoul: Vec<&str> = seed
        .lines()
        .filter(|line| line.contains("Seoul"))
        .map(str::trim)
        .collect();
    assert_eq!(seoul.len(), 1);
    assert_eq!(kept.len(), 1, "{kept:#?}");
    assert_eq!(kept[0]["article"], SEEDS[0]);
    assert_eq!(kept[0]["text"], seoul[0]);
}

#[test]
fn bad_corpora_are_refused_naming_file_line_and_field_and_the_store_is_untouched() {
    let sandbox = Sandbox::new();
    sandbox.write("corpus.jsonl", corpus());
    let check = |args: &[&str], message: &str| {
        sandbox
            .stance()
            .args(args)
            .assert()
            .code(2)
            .stderr(predicate::str::contains(message))
            .stderr(predicate::str::contains("panicked").not());
        assert!(
            !sandbox.join("labels").exists(),
            "{args:?} touched the store"
        );
    };
    check(
        &["ingest", "corpus.jsonl"],
        "corpus.jsonl looks like JSON Lines (its name ends in .jsonl): an article is plain text, a paragraph per line (to read an article from each record, pass --text FIELD --id FIELD)",
    );
    check(
        &["ingest", "corpus.jsonl", "--text", "text"],
        "--id <FIELD>",
    );
    check(
        &["ingest", "corpus.jsonl", "--text", "body", "--id", "ID"],
        "corpus.jsonl:1: no field `body`",
    );
    check(
        &["ingest", "corpus.jsonl", "--text", "text", "--id", "title"],
        "corpus.jsonl:1: field `title` cannot name an article",
    );
    check(
        &[
            "ingest",
            "corpus.jsonl",
            "--text",
            "text",
            "--id",
            "ID",
            "--match",
            "(North",
        ],
        "--match `(North` is not a valid regular expression",
    );
    let mut broken = corpus();
    broken.push_str("{\"ID\": \"x\", \"text\": \n");
    sandbox.write("broken.jsonl", broken);
    check(
        &["ingest", "broken.jsonl", "--text", "text", "--id", "ID"],
        "broken.jsonl:4: invalid JSON record",
    );
    let mut repeated = corpus();
    repeated.push_str(corpus().lines().next().unwrap());
    sandbox.write("repeated.jsonl", repeated);
    check(
        &["ingest", "repeated.jsonl", "--text", "text", "--id", "ID"],
        &format!(
            "repeated.jsonl:4: article `{}` was already read at line 1",
            SEEDS[0]
        ),
    );
}
