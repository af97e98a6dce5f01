//! Mutation fuzzing of every parser of user input, on stable Rust: proptest draws a valid
//! seed file and a list of byte mutations (bit flips, telling bytes, deletions, insertions,
//! duplicated chunks, truncation, splices of hostile tokens), and the real parser reads the
//! result. Each case must end without a panic, within 10 s, and an error must name the file.
//!
//! `cargo test` runs [`QUICK_CASES`] per target; `scripts/fuzz.sh` sets
//! `STANCE_FUZZ_CASES` to run many more (an abort would end the whole process, which the
//! script reports).

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use stance::experiment::Experiment;
use stance::import::{Columns, Encoding, Format, ReadSpec, rows_from_reader};
use stance::input::{BatchSource as _, Decoding, ParagraphInputs, ParagraphMode, Paragraphs};
use stance::labels::{Annotator, Schema, Store};

use crate::util::{Sandbox, repo_root, seed_store};

/// Cases per target under `cargo test`.
const QUICK_CASES: u32 = 300;

/// No case may take longer (a hang).
const HANG: Duration = Duration::from_secs(10);

/// Tokens a hostile or broken file is made of.
const TOKENS: &[&[u8]] = &[
    b"1e309",
    b"-1",
    b"nan",
    b"inf",
    b"18446744073709551616",
    b"9223372036854775807",
    b"0",
    b"\"\"",
    b"[]",
    b"{}",
    b"[[",
    b"\"\\u0000\"",
    b"\xff\xfe",
    b"\xe2\x82",
    b"\r\n",
    b"\t",
    b"\"",
    b",",
    b"=",
    b"#",
    b"true",
    b"null",
];

fn cases() -> u32 {
    std::env::var("STANCE_FUZZ_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(QUICK_CASES)
}

/// One mutation: (kind, position, value).
type Mutation = (u8, u32, u32);

fn apply(seed: &[u8], mutations: &[Mutation]) -> Vec<u8> {
    let mut bytes = seed.to_vec();
    for &(kind, position, value) in mutations {
        let at = if bytes.is_empty() {
            0
        } else {
            position as usize % (bytes.len() + 1)
        };
        let byte = value as u8;
        match kind % 7 {
            0 if at < bytes.len() => bytes[at] ^= 1 << (value % 8),
            1 if at < bytes.len() => {
                bytes[at] = b"\"[]{}=,\n\t\\\x00\xff\x80-9 #."[value as usize % 17];
            }
            2 => {
                let end = (at + 1 + value as usize % 16).min(bytes.len());
                bytes.drain(at.min(end)..end);
            }
            3 => bytes.insert(at, byte),
            4 => {
                let end = (at + 1 + value as usize % 64).min(bytes.len());
                let chunk = bytes[at.min(end)..end].to_vec();
                bytes.splice(at..at, chunk);
            }
            5 => bytes.truncate(at),
            _ => {
                let token = TOKENS[value as usize % TOKENS.len()];
                bytes.splice(at..at, token.iter().copied());
            }
        }
    }
    bytes
}

/// Runs `check` on mutations of `seeds`: no panic, no case over [`HANG`].
fn fuzz(target: &str, seeds: &[Vec<u8>], check: impl FnMut(&[u8])) {
    // proptest wants a `Fn`.
    let check = std::cell::RefCell::new(check);
    let mut runner = TestRunner::new(Config {
        cases: cases(),
        failure_persistence: None,
        ..Config::default()
    });
    let strategy = (
        0..seeds.len(),
        prop::collection::vec((any::<u8>(), any::<u32>(), any::<u32>()), 0..6),
    );
    let started = Instant::now();
    let slowest = std::cell::Cell::new(Duration::ZERO);
    let count = std::cell::Cell::new(0u64);
    runner
        .run(&strategy, |(seed, mutations)| {
            let input = apply(&seeds[seed], &mutations);
            let clock = Instant::now();
            (check.borrow_mut())(&input);
            let took = clock.elapsed();
            slowest.set(slowest.get().max(took));
            count.set(count.get() + 1);
            prop_assert!(took < HANG, "{target}: a case took {took:?}");
            Ok(())
        })
        .unwrap_or_else(|err| panic!("{target}: {err}"));
    eprintln!(
        "fuzz {target}: {} cases in {:.1} s, slowest {:.1} ms",
        count.get(),
        started.elapsed().as_secs_f64(),
        slowest.get().as_secs_f64() * 1000.0
    );
}

/// `message` names `file`.
fn names_file(message: &str, file: &str) {
    assert!(message.contains(file), "{file} not named in: {message}");
}

fn read(path: impl AsRef<Path>) -> Vec<u8> {
    fs::read(path).unwrap()
}

#[test]
fn experiment_toml() {
    let seeds: Vec<Vec<u8>> = fs::read_dir(repo_root().join("experiments"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "toml"))
        .map(read)
        .collect();
    let path = Path::new("experiments/fuzzed.toml");
    fuzz("experiment TOML", &seeds, |input| {
        let text = String::from_utf8_lossy(input);
        if let Err(err) = Experiment::parse(path, &text) {
            names_file(&err.to_string(), "experiments/fuzzed.toml");
        }
    });
}

#[test]
fn schema_toml() {
    let seeds = vec![read(seed_store().join("schema.toml"))];
    fuzz("schema TOML", &seeds, |input| {
        let _ = Schema::from_toml(&String::from_utf8_lossy(input));
    });
}

/// A store of the two seed articles with a few decisions, in a sandbox.
fn store_sandbox() -> Sandbox {
    let sandbox = Sandbox::new();
    let seeds = ["000_f5ae0c5afab919db.txt", "002_77d38c7356dc9391.txt"];
    for name in seeds {
        sandbox.write(
            name,
            read(repo_root().join("tests/fixtures/corpus").join(name)),
        );
    }
    sandbox
        .stance()
        .args(["ingest", seeds[0], seeds[1]])
        .assert()
        .success();
    let ids: Vec<String> = sandbox
        .read("labels/paragraphs.jsonl")
        .lines()
        .filter(|line| line.contains("\"paragraph\""))
        .filter_map(|line| {
            let value: serde_json::Value = serde_json::from_str(line).ok()?;
            Some(value["id"].as_str()?.to_owned())
        })
        .take(4)
        .collect();
    let tsv: String = ids
        .iter()
        .zip([
            "stable\tlow",
            "fracturing",
            "neither\thigh\ta note",
            "stable",
        ])
        .map(|(id, rest)| format!("{id}\t{rest}\n"))
        .collect();
    sandbox.write("labels.tsv", format!("# decisions\n{tsv}"));
    sandbox
        .stance()
        .args(["label", "--annotator", "ann", "--import", "labels.tsv"])
        .assert()
        .success();
    sandbox
}

/// Mutations of one file of the store; the store is opened each time.
fn fuzz_store_file(file: &str) {
    let sandbox = store_sandbox();
    let dir = sandbox.join("labels");
    let path = dir.join(file);
    let seed = read(&path);
    fuzz(file, std::slice::from_ref(&seed), |input| {
        fs::write(&path, input).unwrap();
        if let Err(err) = Store::open(&dir) {
            names_file(&format!("{:#}", anyhow::Error::from(err)), file);
        }
    });
    fs::write(&path, seed).unwrap();
}

#[test]
fn paragraphs_jsonl() {
    fuzz_store_file("paragraphs.jsonl");
}

#[test]
fn annotations_jsonl() {
    fuzz_store_file("annotations.jsonl");
}

#[test]
fn label_import_tsv() {
    let sandbox = store_sandbox();
    let dir = sandbox.join("labels");
    let log = dir.join("annotations.jsonl");
    let before = read(&log);
    let tsv = sandbox.join("fuzzed.tsv");
    let seeds = vec![read(sandbox.join("labels.tsv"))];
    let annotator = Annotator::new("fuzz").unwrap();
    let mut store = Store::open(&dir).unwrap();
    fuzz("label --import TSV", &seeds, |input| {
        fs::write(&tsv, input).unwrap();
        match store.import(&tsv, &annotator, jiff::Timestamp::now()) {
            Ok(_) => {
                // Back to the seed log, so that every case imports into the same store.
                fs::write(&log, &before).unwrap();
                store = Store::open(&dir).unwrap();
            }
            Err(err) => names_file(&format!("{:#}", anyhow::Error::from(err)), "fuzzed.tsv"),
        }
    });
}

#[test]
fn model_json() {
    let sandbox = Sandbox::new();
    fs::create_dir_all(sandbox.join("experiments")).unwrap();
    crate::util::copy_dir(&seed_store(), &sandbox.join("labels"));
    sandbox.write(
        "experiments/small.toml",
        "[data]\nclasses = [\"fracturing\", \"stable\"]\nannotator = \"annotator-1\"\n\
         [features]\nhashing = { n_features = 64 }\nweighting = \"tfidf\"\n",
    );
    sandbox
        .stance()
        .args(["train", "--out", "small.json", "experiments/small.toml"])
        .assert()
        .success();
    let seeds = vec![read(sandbox.join("small.json"))];
    let path = Path::new("models/fuzzed.json");
    fuzz(
        "model JSON",
        &seeds,
        |input| match stance::model_file::parse(path, &String::from_utf8_lossy(input)) {
            Ok(model) => {
                let matrix = model.transform(&["a paragraph about the alliance", ""]);
                if let Ok(scored) = model.score(&matrix, Some(3)) {
                    for row in scored {
                        let _ = row.probabilities.iter().all(|p| p.is_finite());
                    }
                }
            }
            Err(err) => names_file(&err.to_string(), "models/fuzzed.json"),
        },
    );
}

#[test]
fn import_rows() {
    let csv = b"text,label,id,group\n\"A first, quoted paragraph\",favor,1,g1\n\
                \"Another \"\"one\"\"\",against,2,g2\nplain,none,3,g1\n"
        .to_vec();
    let tsv = b"text\tlabel\tid\nA first paragraph\tfavor\t1\nAnother one\tagainst\t2\n".to_vec();
    let jsonl = b"{\"text\": \"A first paragraph\", \"label\": \"favor\", \"id\": 1}\n\
                  {\"text\": \"Another\", \"label\": \"against\", \"id\": \"b\"}\n"
        .to_vec();
    for (format, seed) in [
        (Format::Csv, csv),
        (Format::Tsv, tsv),
        (Format::JsonLines, jsonl),
    ] {
        for encoding in [Encoding::parse("utf-8"), Encoding::parse("windows-1252")] {
            let spec = ReadSpec {
                format,
                encoding: encoding.expect("a known encoding"),
                columns: Columns {
                    text: "text".into(),
                    label: "label".into(),
                    id: Some("id".into()),
                    group: None,
                    split: None,
                },
            };
            let path = PathBuf::from("data/fuzzed.import");
            let seeds = [seed.clone()];
            fuzz(&format!("import {}", format.as_str()), &seeds, |input| {
                if let Err(err) = rows_from_reader(&path, input, &spec) {
                    names_file(&err.to_string(), "data/fuzzed.import");
                }
            });
        }
    }
}

#[test]
fn ingest_articles() {
    let seeds: Vec<Vec<u8>> = fs::read_dir(repo_root().join("tests/fixtures/corpus"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "txt"))
        .take(3)
        .map(read)
        .collect();
    let sandbox = Sandbox::new();
    let path = sandbox.join("000_fuzzed.txt");
    fuzz("ingest article", &seeds, |input| {
        fs::write(&path, input).unwrap();
        let inputs = ParagraphInputs::new(
            vec![path.clone()],
            ParagraphMode::Articles { id: None },
            Decoding::Strict,
            1 << 20,
        );
        read_all(inputs, "000_fuzzed.txt");
    });
}

/// Reads every batch of `inputs`: an error names `file`.
fn read_all(inputs: Result<ParagraphInputs, stance::input::InputError>, file: &str) {
    let mut inputs = match inputs {
        Ok(inputs) => inputs,
        Err(err) => return names_file(&err.to_string(), file),
    };
    let mut batch = Paragraphs::default();
    loop {
        match inputs.next_batch(&mut batch) {
            Ok(true) => {}
            Ok(false) => break,
            Err(err) => return names_file(&format!("{:#}", anyhow::Error::from(err)), file),
        }
    }
}

#[test]
fn predict_inputs() {
    let plain = b"A paragraph to predict.\n\nAnother one, after a blank line.\n".to_vec();
    let jsonl =
        b"{\"id\": \"a\", \"text\": \"A paragraph\"}\n{\"id\": 2, \"text\": \"two\"}\n".to_vec();
    let gzip = {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(&plain).unwrap();
        encoder.finish().unwrap()
    };
    let sandbox = Sandbox::new();
    for (name, seed, mode) in [
        ("fuzzed.txt", plain, ParagraphMode::Lines),
        (
            "fuzzed.jsonl",
            jsonl,
            ParagraphMode::JsonLines {
                field: "text".into(),
                id_field: Some("id".into()),
                keep: vec!["id".into()],
            },
        ),
        ("fuzzed.txt.gz", gzip, ParagraphMode::Lines),
    ] {
        let path = sandbox.join(name);
        fuzz(&format!("predict input {name}"), &[seed], |input| {
            fs::write(&path, input).unwrap();
            for decoding in [Decoding::Strict, Decoding::Lossy] {
                let inputs = ParagraphInputs::new(vec![path.clone()], mode.clone(), decoding, 64);
                read_all(inputs, name);
            }
        });
    }
}
