//! `stance ingest`, `stance label` (import and, through a pseudo-terminal, the interactive
//! session) and `stance labels`, run as the real binary on the seed articles.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use predicates::prelude::*;
use rexpect::process::{Signal, WaitStatus};
use rexpect::session::PtySession;
use serde_json::Value;

use crate::util::{Sandbox, copy_dir, repo_root};

const SEED_000: &str = "000_f5ae0c5afab919db.txt";
const SEED_002: &str = "002_77d38c7356dc9391.txt";

/// A sandbox with the two seed articles copied in (not yet ingested).
fn with_seeds() -> Sandbox {
    let sandbox = Sandbox::new();
    for name in [SEED_000, SEED_002] {
        let text = fs::read(repo_root().join("tests/fixtures/corpus").join(name)).unwrap();
        sandbox.write(name, text);
    }
    sandbox
}

/// A sandbox whose `labels/` store holds the two seeds.
fn ingested() -> Sandbox {
    let sandbox = with_seeds();
    sandbox
        .stance()
        .args(["ingest", SEED_000, SEED_002])
        .assert()
        .success();
    sandbox
}

/// `paragraphs.jsonl` as (id, article, kind, text).
fn paragraphs(sandbox: &Sandbox) -> Vec<(String, String, String, String)> {
    sandbox
        .read("labels/paragraphs.jsonl")
        .lines()
        .map(|line| {
            let record: Value = serde_json::from_str(line).unwrap();
            let field = |key: &str| record[key].as_str().unwrap().to_owned();
            (field("id"), field("article"), field("kind"), field("text"))
        })
        .collect()
}

/// Ids of the labelable paragraphs, in store order.
fn labelable_ids(sandbox: &Sandbox) -> Vec<String> {
    paragraphs(sandbox)
        .into_iter()
        .filter(|(_, _, kind, _)| kind == "paragraph")
        .map(|(id, ..)| id)
        .collect()
}

fn import(sandbox: &Sandbox, annotator: &str, tsv: &str) -> assert_cmd::assert::Assert {
    let file = format!("{annotator}.tsv");
    sandbox.write(&file, tsv);
    sandbox
        .stance()
        .args(["label", "--annotator", annotator, "--import", &file])
        .assert()
}

/// Runs `stance` with `args` and checks it fails with exit code 2 and `message` on stderr.
fn check_error(sandbox: &Sandbox, args: &[&str], message: &str) {
    sandbox
        .stance()
        .args(args)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(message))
        .stderr(predicate::str::contains("panicked").not());
}

#[test]
fn ingest_reports_and_splits_the_seeds() {
    let sandbox = with_seeds();
    sandbox
        .stance()
        .args(["ingest", SEED_000, SEED_002])
        .assert()
        .success()
        .stdout(
            "000_f5ae0c5afab919db: new: 8 paragraphs, 2 headings, 1 byline\n\
             002_77d38c7356dc9391: new: 20 paragraphs, 2 headings, 0 bylines\n\
             store labels: 2 articles, 28 paragraphs, 28 of them not labelled yet\n",
        );
    let paragraphs = paragraphs(&sandbox);
    let kind_of = |start: &str| -> (String, String) {
        let (id, _, kind, text) = paragraphs
            .iter()
            .find(|(.., text)| text.starts_with(start))
            .unwrap_or_else(|| panic!("no block starts with {start:?}"));
        assert!(!text.is_empty());
        (id.clone(), kind.clone())
    };
    // The two glued places are split.
    assert!(
        paragraphs
            .iter()
            .any(|(.., text)| text.ends_with("of North Korea’s trade."))
    );
    assert_eq!(kind_of("On Oct. 7, Kim sent").1, "paragraph");
    assert!(
        paragraphs
            .iter()
            .any(|(.., text)| text.ends_with("over the decades."))
    );
    assert_eq!(kind_of("Despite China’s decades of trade").1, "paragraph");
    // Headings and the byline are kept out of the label set.
    for heading in [
        "China is in a losing position",
        "The goal is to change the balance of global power",
        "Strengthening Ties with Russia",
        "Historical Tensions with China",
    ] {
        assert_eq!(kind_of(heading).1, "heading", "{heading}");
    }
    assert_eq!(kind_of("Author: Alexander Görlach").1, "byline");
    assert_eq!(kind_of("He is a senior fellow").1, "paragraph");
    // Ids are SHA-256 prefixes, checked against Python's hashlib.
    assert_eq!(kind_of("In recent weeks and months").0, "adcda24d3b4f");
    assert_eq!(kind_of("On Oct. 7, Kim sent").0, "ea39e290f730");
    // The article copies are the files as given.
    assert_eq!(
        fs::read(sandbox.join("labels/articles").join(SEED_002)).unwrap(),
        fs::read(sandbox.join(SEED_002)).unwrap()
    );
}

#[test]
fn ingesting_twice_changes_nothing() {
    let sandbox = ingested();
    let before = fs::read(sandbox.join("labels/paragraphs.jsonl")).unwrap();
    let modified = |sandbox: &Sandbox| {
        fs::metadata(sandbox.join("labels/paragraphs.jsonl"))
            .unwrap()
            .modified()
            .unwrap()
    };
    let stamp = modified(&sandbox);
    sandbox
        .stance()
        .args(["ingest", SEED_000, SEED_002])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "000_f5ae0c5afab919db: unchanged: 8 paragraphs, 2 headings, 1 byline",
        ))
        .stdout(predicate::str::contains("002_77d38c7356dc9391: unchanged"));
    assert_eq!(
        fs::read(sandbox.join("labels/paragraphs.jsonl")).unwrap(),
        before
    );
    assert_eq!(modified(&sandbox), stamp);
}

#[test]
fn editing_an_article_orphans_its_labels_without_deleting_them() {
    let sandbox = ingested();
    let ids = labelable_ids(&sandbox);
    import(
        &sandbox,
        "ann",
        &format!("{}\tneither\n{}\tfracturing\n", ids[0], ids[1]),
    )
    .success();
    let log = sandbox.read("labels/annotations.jsonl");

    let text = sandbox
        .read(SEED_000)
        .replacen("In recent weeks", "In the past weeks", 1);
    sandbox.write("edited.txt", text);
    sandbox
        .stance()
        .args([
            "ingest",
            "edited.txt",
            "--article-id",
            "000_f5ae0c5afab919db",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "000_f5ae0c5afab919db: changed (10 kept, 1 added, 1 removed): 8 paragraphs",
        ))
        .stdout(predicate::str::contains("1 label orphaned"));
    assert_eq!(sandbox.read("labels/annotations.jsonl"), log);
    sandbox
        .stance()
        .args(["labels"])
        .assert()
        .success()
        .stdout(predicate::str::contains("orphaned labels: 1"))
        .stdout(predicate::str::contains(format!(
            "  {}  ann  neither  ",
            ids[0]
        )));
}

#[test]
fn article_id_only_with_one_file() {
    let sandbox = with_seeds();
    check_error(
        &sandbox,
        &["ingest", SEED_000, SEED_002, "--article-id", "x"],
        "--article-id names one article, but 2 files were given",
    );
    check_error(
        &sandbox,
        &["ingest", SEED_000, "--article-id", "bad id"],
        "invalid article id `bad id`",
    );
}

#[test]
fn non_utf8_article_is_refused_before_the_store_is_touched() {
    let sandbox = with_seeds();
    sandbox.write("latin1.txt", b"Caf\xe9 society.\n");
    check_error(
        &sandbox,
        &["ingest", SEED_000, "latin1.txt"],
        "latin1.txt: not valid UTF-8 (first bad byte at offset 3)",
    );
    assert!(!sandbox.join("labels").exists());
}

#[test]
fn gzipped_articles_are_read_and_json_lines_refused() {
    use std::io::Write as _;
    let sandbox = with_seeds();
    let text = fs::read(sandbox.join(SEED_000)).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&text).unwrap();
    sandbox.write("000_f5ae0c5afab919db.txt.gz", gz.finish().unwrap());
    // The same article, read through its compression: the same paragraphs and ids.
    sandbox
        .stance()
        .args(["ingest", "--article-id", "000_f5ae0c5afab919db"])
        .arg("000_f5ae0c5afab919db.txt.gz")
        .assert()
        .success()
        .stdout(predicate::str::starts_with(
            "000_f5ae0c5afab919db: new: 8 paragraphs, 2 headings, 1 byline\n",
        ));
    let from_gzip = paragraphs(&sandbox);
    sandbox
        .stance()
        .args(["ingest", SEED_000])
        .assert()
        .success()
        .stdout(predicate::str::starts_with(
            "000_f5ae0c5afab919db: unchanged: 8 paragraphs",
        ));
    assert_eq!(paragraphs(&sandbox), from_gzip);

    sandbox.write(
        "corpus.jsonl",
        "{\"id\": \"a\", \"text\": \"Kim met Xi.\"}\n",
    );
    sandbox.write(
        "records.txt",
        "{\"id\": \"a\", \"body\": \"Kim met Xi.\"}\n",
    );
    check_error(
        &sandbox,
        &["ingest", "corpus.jsonl"],
        "corpus.jsonl looks like JSON Lines (its name ends in .jsonl): an article is plain text",
    );
    check_error(
        &sandbox,
        &["ingest", "records.txt"],
        "records.txt looks like JSON Lines (its first line is a JSON object with keys `body`, `id`)",
    );
    // One heading, one byline: singular.
    sandbox.write(
        "one.txt",
        "A Heading\nBy Someone\nA paragraph that ends here.\n",
    );
    sandbox
        .stance()
        .args(["ingest", "one.txt"])
        .assert()
        .success()
        .stdout(predicate::str::starts_with(
            "one: new: 1 paragraph, 1 heading, 1 byline\n",
        ));
}

#[test]
fn empty_article_is_refused() {
    let sandbox = Sandbox::new();
    sandbox.write("empty.txt", "");
    sandbox.write("blank.txt", " \n\r\n\t\n");
    check_error(
        &sandbox,
        &["ingest", "empty.txt"],
        "empty.txt: the article is empty",
    );
    check_error(
        &sandbox,
        &["ingest", "blank.txt"],
        "blank.txt: the article is empty",
    );
    check_error(
        &sandbox,
        &["ingest", "absent.txt"],
        "cannot read absent.txt",
    );
}

#[test]
fn missing_store_points_to_ingest() {
    let sandbox = Sandbox::new();
    let hint = "no label store at nowhere (create one by ingesting articles: `stance ingest ARTICLE.txt --store nowhere`)";
    check_error(&sandbox, &["labels", "--store", "nowhere"], hint);
    check_error(&sandbox, &["labels", "export", "--store", "nowhere"], hint);
    check_error(
        &sandbox,
        &["label", "--annotator", "ann", "--store", "nowhere"],
        hint,
    );
}

#[test]
fn missing_annotations_file_is_an_error() {
    let sandbox = ingested();
    fs::remove_file(sandbox.join("labels/annotations.jsonl")).unwrap();
    check_error(
        &sandbox,
        &["labels"],
        "annotations.jsonl is missing from the label store (the annotations)",
    );
}

#[test]
fn corrupt_annotations_line_is_named_and_nothing_is_rewritten() {
    let sandbox = ingested();
    let ids = labelable_ids(&sandbox);
    import(&sandbox, "ann", &format!("{}\tstable\n", ids[0])).success();
    let mut log = fs::read(sandbox.join("labels/annotations.jsonl")).unwrap();
    log.extend_from_slice(b"{\"paragraph\": oops\n");
    fs::write(sandbox.join("labels/annotations.jsonl"), &log).unwrap();

    let message = "annotations.jsonl:2: not valid JSON: expected value at column 15";
    check_error(&sandbox, &["labels"], message);
    check_error(&sandbox, &["labels", "export"], message);
    import(&sandbox, "ann", &format!("{}\tstable\n", ids[1]))
        .code(2)
        .stderr(predicate::str::contains(message));
    assert_eq!(
        fs::read(sandbox.join("labels/annotations.jsonl")).unwrap(),
        log
    );
}

#[test]
fn label_outside_the_schema_is_refused() {
    let sandbox = ingested();
    let ids = labelable_ids(&sandbox);
    import(
        &sandbox,
        "ann",
        &format!("# comment\n{}\tstable\n{}\tmaybe\n", ids[0], ids[1]),
    )
    .code(2)
    .stderr(predicate::str::contains(
        "ann.tsv:3: unknown label `maybe` (the schema has fracturing, stable, neither)",
    ));
    assert_eq!(sandbox.read("labels/annotations.jsonl"), "");

    // The same label written into the log by hand.
    let line = format!(
        "{{\"paragraph\":\"{}\",\"label\":\"maybe\",\"annotator\":\"ann\",\"confidence\":\"high\",\"time\":\"2024-11-23T12:00:00Z\"}}\n",
        ids[0]
    );
    sandbox.write("labels/annotations.jsonl", &line);
    check_error(
        &sandbox,
        &["labels"],
        "annotations.jsonl:1: unknown label `maybe` (the schema has fracturing, stable, neither)",
    );
}

#[test]
fn unknown_paragraph_ids_are_refused() {
    let sandbox = ingested();
    let ids = labelable_ids(&sandbox);
    import(
        &sandbox,
        "ann",
        &format!("{}\tstable\nffffffffffff\tstable\n", ids[0]),
    )
    .code(2)
    .stderr(predicate::str::contains(
        "ann.tsv:2: unknown paragraph id ffffffffffff (not in the store)",
    ));
    import(&sandbox, "ann", "not-an-id\tstable\n")
        .code(2)
        .stderr(predicate::str::contains(
            "ann.tsv:1: invalid paragraph id `not-an-id`: expected 12 lowercase hex digits",
        ));
    let heading = paragraphs(&sandbox)
        .into_iter()
        .find(|(.., kind, _)| kind == "heading")
        .unwrap()
        .0;
    import(&sandbox, "ann", &format!("{heading}\tneither\n"))
        .code(2)
        .stderr(predicate::str::contains(format!(
            "ann.tsv:1: paragraph {heading} is a heading, not a paragraph to label"
        )));
    assert_eq!(sandbox.read("labels/annotations.jsonl"), "");
}

#[test]
fn read_only_annotations_file_is_refused() {
    let sandbox = ingested();
    let ids = labelable_ids(&sandbox);
    let path = sandbox.join("labels/annotations.jsonl");
    fs::set_permissions(&path, fs::Permissions::from_mode(0o444)).unwrap();
    import(&sandbox, "ann", &format!("{}\tstable\n", ids[0]))
        .code(2)
        .stderr(predicate::str::contains(
            "annotations.jsonl is read-only: no labels can be added (make it writable to label)",
        ));
    assert_eq!(sandbox.read("labels/annotations.jsonl"), "");
    // Reading a read-only store is fine.
    sandbox.stance().args(["labels"]).assert().success();

    // The interactive session refuses before showing anything.
    let mut session = spawn_label(&sandbox, "ann");
    session.exp_string("is read-only").unwrap();
    session.exp_eof().unwrap();
    assert!(matches!(
        session.process().wait(),
        Ok(WaitStatus::Exited(_, 2))
    ));
}

#[test]
fn label_needs_a_terminal_or_an_import_file() {
    let sandbox = ingested();
    sandbox
        .stance()
        .args(["label", "--annotator", "ann"])
        .write_stdin("f\n")
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "`stance label` needs a terminal to read keys from; to label in another tool, print the next paragraphs with `stance label --queue N --annotator NAME` and add them back with `stance label --import FILE --annotator NAME`",
        ));
    check_error(
        &sandbox,
        &["label", "--annotator", "two words", "--import", "x.tsv"],
        "invalid annotator name `two words`",
    );
    // The order names are parsed by the library's one parser, as `simulate` parses them.
    check_error(
        &sandbox,
        &["label", "--annotator", "ann", "--order", "Random"],
        "`Random` is not an order (article, random or uncertainty)",
    );
}

#[test]
fn import_is_idempotent_and_export_prints_current_labels() {
    let sandbox = ingested();
    let ids = labelable_ids(&sandbox);
    let tsv = format!(
        "{}\tfracturing\tlow\n{}\tstable\n{}\tneither\n",
        ids[2], ids[0], ids[1]
    );
    import(&sandbox, "ann", &tsv)
        .success()
        .stdout("imported 3 labels for ann into labels/annotations.jsonl (0 unchanged)\n");
    import(&sandbox, "ann", &tsv)
        .success()
        .stdout("imported 0 labels for ann into labels/annotations.jsonl (3 unchanged)\n");
    import(&sandbox, "bob", &format!("{}\tfracturing\n", ids[0])).success();

    let texts: Vec<String> = paragraphs(&sandbox)
        .into_iter()
        .filter(|(.., kind, _)| kind == "paragraph")
        .map(|(.., text)| text)
        .collect();
    let article = "000_f5ae0c5afab919db";
    let expected = format!(
        "id\tarticle\tlabel\tconfidence\tannotator\ttext\tnote\n\
         {}\t{article}\tstable\thigh\tann\t{}\t\n\
         {}\t{article}\tfracturing\thigh\tbob\t{}\t\n\
         {}\t{article}\tneither\thigh\tann\t{}\t\n\
         {}\t{article}\tfracturing\tlow\tann\t{}\t\n",
        ids[0], texts[0], ids[0], texts[0], ids[1], texts[1], ids[2], texts[2]
    );
    sandbox
        .stance()
        .args(["labels", "export"])
        .assert()
        .success()
        .stdout(expected);
}

#[test]
fn an_export_imports_back_as_it_is() {
    let sandbox = ingested();
    let ids = labelable_ids(&sandbox);
    let tsv = format!(
        "{}\tfracturing\tlow\tsanctions vote, hedged\n{}\tstable\n{}\tneither\n",
        ids[2], ids[0], ids[1]
    );
    import(&sandbox, "ann", &tsv).success();
    let exported = sandbox
        .stance()
        .args(["labels", "export"])
        .output()
        .unwrap();
    assert!(exported.status.success());
    let exported = String::from_utf8(exported.stdout).unwrap();
    assert!(
        exported.contains("\tsanctions vote, hedged\n"),
        "{exported}"
    );
    // Into another annotator: the same labels, confidences and notes, header and all.
    import(&sandbox, "copy", &exported)
        .success()
        .stdout("imported 3 labels for copy into labels/annotations.jsonl (0 unchanged)\n");
    let again = sandbox
        .stance()
        .args(["labels", "export"])
        .output()
        .unwrap();
    let again = String::from_utf8(again.stdout).unwrap();
    let of = |text: &str, annotator: &str| -> Vec<String> {
        text.lines()
            .skip(1)
            .filter(|line| line.split('\t').nth(4) == Some(annotator))
            .map(|line| line.replace(&format!("\t{annotator}\t"), "\t·\t"))
            .collect()
    };
    assert_eq!(of(&again, "copy"), of(&exported, "ann"));
    assert_eq!(of(&again, "copy").len(), 3);

    // Two annotators' rows into one annotator: the paragraph they disagree on is named.
    import(&sandbox, "bob", &format!("{}\tneither\n", ids[0])).success();
    let both = sandbox
        .stance()
        .args(["labels", "export"])
        .output()
        .unwrap();
    sandbox.write("both.tsv", both.stdout);
    check_error(
        &sandbox,
        &["label", "--annotator", "merged", "--import", "both.tsv"],
        &format!(
            "paragraph {} is labelled `neither` here and `stable` on line 2",
            ids[0]
        ),
    );
}

#[test]
fn labels_reports_counts_and_agreement() {
    let sandbox = ingested();
    let ids = labelable_ids(&sandbox);
    // Hand-computed: x = f f s s, y = f s s s on the same four paragraphs: p_o = 3/4,
    // p_e = (2·1 + 2·3)/16 = 1/2, κ = 0.5. z agrees with x on two `neither` only: p_e = 1.
    let four = |labels: [&str; 4]| -> String {
        ids.iter()
            .zip(labels)
            .map(|(id, label)| format!("{id}\t{label}\n"))
            .collect()
    };
    import(
        &sandbox,
        "x",
        &four(["fracturing", "fracturing", "stable", "stable"]),
    )
    .success();
    import(
        &sandbox,
        "y",
        &four(["fracturing", "stable", "stable", "stable"]),
    )
    .success();
    let late: String = ids[10..12]
        .iter()
        .map(|id| format!("{id}\tneither\tlow\n"))
        .collect();
    import(&sandbox, "x", &late).success();
    import(&sandbox, "z", &late).success();

    sandbox
        .stance()
        .args(["labels"])
        .assert()
        .success()
        .stdout(predicate::function(|out: &str| {
            // Of 28 paragraphs, 6 have labels: those left, not all, are "not labelled".
            out.split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .starts_with(
                    "label store labels: 2 articles, 28 paragraphs, 22 of them not labelled by \
                 anyone yet; 5 headings and bylines (never labelled)",
                )
        }))
        .stdout(predicate::str::contains(
            "article               annotator  fracturing  stable  neither  low  unlabelled\n\
             000_f5ae0c5afab919db  x                   2       2        0    0           4\n\
             000_f5ae0c5afab919db  y                   1       3        0    0           4\n\
             000_f5ae0c5afab919db  z                   0       0        0    0           8\n\
             002_77d38c7356dc9391  x                   0       0        2    2          18\n\
             002_77d38c7356dc9391  y                   0       0        0    0          20\n\
             002_77d38c7356dc9391  z                   0       0        2    2          18\n\
             all articles          x                   2       2        2    2          22\n",
        ))
        .stdout(predicate::str::contains("orphaned labels: none"))
        .stdout(predicate::str::contains(
            "  x / y: 4 paragraphs, 75.0% agreement, Cohen's κ 0.500 (too few shared\n\
             \x20   paragraphs for an interval: 10 needed)\n\
             \x20 x / z: 2 paragraphs, 100.0% agreement, Cohen's κ undefined (both used a single\n\
             \x20   class)\n\
             \n\
             disagreements: 1 paragraph labelled differently\n\
             \x20 258a1df5fff4  x=fracturing  y=stable\n",
        ));
}

#[test]
fn export_into_a_closed_pipe_is_not_an_error() {
    let sandbox = Sandbox::new();
    // Enough rows to overflow a pipe buffer, so `head` closes stdout mid-export.
    let article: String = (0..3000)
        .map(|i| format!("Paragraph number {i} of a long article.\n"))
        .collect();
    sandbox.write("long.txt", article);
    sandbox
        .stance()
        .args(["ingest", "long.txt"])
        .assert()
        .success();
    let tsv: String = labelable_ids(&sandbox)
        .iter()
        .map(|id| format!("{id}\tneither\n"))
        .collect();
    import(&sandbox, "ann", &tsv).success();
    let script = format!(
        "set -o pipefail; '{}' labels export | head -n 1",
        env!("CARGO_BIN_EXE_stance")
    );
    assert_cmd::Command::new("bash")
        .args(["-c", &script])
        .current_dir(sandbox.path())
        .assert()
        .success()
        .stdout("id\tarticle\tlabel\tconfidence\tannotator\ttext\tnote\n")
        .stderr("");
}

/// `stance label` in a pseudo-terminal.
fn spawn_label(sandbox: &Sandbox, annotator: &str) -> PtySession {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_stance"));
    command
        .current_dir(sandbox.path())
        .args(["label", "--annotator", annotator]);
    rexpect::session::spawn_command(command, Some(30_000)).expect("spawn stance in a pty")
}

fn send(session: &mut PtySession, keys: &str) {
    session.send(keys).unwrap();
    session.flush().unwrap();
}

/// The annotation log as (kind, paragraph, label, confidence) per line.
fn log_of(path: &Path) -> Vec<(String, String, String, String)> {
    fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|line| {
            let record: Value = serde_json::from_str(line).unwrap();
            let field = |key: &str| record[key].as_str().unwrap_or("").to_owned();
            assert_eq!(field("annotator"), "ann");
            assert!(field("time").parse::<jiff::Timestamp>().is_ok(), "{line}");
            if record.get("retract").is_some() {
                (
                    "retract".into(),
                    field("retract"),
                    String::new(),
                    String::new(),
                )
            } else {
                (
                    "decision".into(),
                    field("paragraph"),
                    field("label"),
                    field("confidence"),
                )
            }
        })
        .collect()
}

#[test]
fn labelling_session_through_a_pty() {
    let sandbox = ingested();
    let ids = labelable_ids(&sandbox);
    let mut session = spawn_label(&sandbox, "ann");
    session.exp_string("paragraph 1 of 8").unwrap();
    session.exp_string("f  fracturing").unwrap();
    session.exp_string("q quit").unwrap();

    send(&mut session, "l");
    session.exp_string("[low confidence]").unwrap();
    send(&mut session, "f");
    session.exp_string("paragraph 2 of 8").unwrap();
    session
        .exp_string("saved: fracturing (low confidence)")
        .unwrap();
    send(&mut session, "s");
    session.exp_string("paragraph 3 of 8").unwrap();
    send(&mut session, " ");
    session.exp_string("paragraph 4 of 8").unwrap();
    send(&mut session, "u");
    session.exp_string("paragraph 2 of 8").unwrap();
    session.exp_string("undone: stable").unwrap();
    send(&mut session, "q");
    session
        .exp_string("ann: 2 decisions saved, 1 undone; 1 of 28 paragraphs labelled, 27 left")
        .unwrap();
    session.exp_eof().unwrap();
    assert!(matches!(
        session.process().wait(),
        Ok(WaitStatus::Exited(_, 0))
    ));

    let s = |x: &str| x.to_owned();
    assert_eq!(
        log_of(&sandbox.join("labels/annotations.jsonl")),
        [
            (s("decision"), ids[0].clone(), s("fracturing"), s("low")),
            (s("decision"), ids[1].clone(), s("stable"), s("high")),
            (s("retract"), ids[1].clone(), s(""), s("")),
        ]
    );

    // The next session resumes at the first paragraph without a label.
    let mut session = spawn_label(&sandbox, "ann");
    session.exp_string("27 of 28 left").unwrap();
    session.exp_string("paragraph 2 of 8").unwrap();
    send(&mut session, "\x1b[C"); // → skips
    session.exp_string("paragraph 3 of 8").unwrap();
    send(&mut session, "q");
    session.exp_eof().unwrap();
}

/// The `annotator`'s current label of each paragraph, from `stance labels export`.
fn exported_labels(sandbox: &Sandbox, annotator: &str) -> Vec<(String, String)> {
    let output = sandbox
        .stance()
        .args(["labels", "export"])
        .output()
        .unwrap();
    assert!(output.status.success());
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split('\t').collect();
            (fields[4] == annotator).then(|| (fields[0].to_owned(), fields[2].to_owned()))
        })
        .collect()
}

#[test]
fn going_back_across_sessions_changes_a_decision_by_appending_one() {
    let sandbox = ingested();
    let ids = labelable_ids(&sandbox);
    let log = sandbox.join("labels/annotations.jsonl");
    let mut session = spawn_label(&sandbox, "ann");
    session.exp_string("paragraph 1 of 8").unwrap();
    send(&mut session, "f");
    session.exp_string("paragraph 2 of 8").unwrap();
    send(&mut session, "s");
    session.exp_string("paragraph 3 of 8").unwrap();
    send(&mut session, "q");
    session.exp_eof().unwrap();
    let first_session = fs::read_to_string(&log).unwrap();

    // A new session: ← goes back to the previous session's last decision.
    let mut session = spawn_label(&sandbox, "ann");
    session.exp_string("26 of 28 left").unwrap();
    session.exp_string("paragraph 3 of 8").unwrap();
    send(&mut session, "\x1b[D"); // ←
    session.exp_string("your decision 1 of 2 back").unwrap();
    session.exp_string("paragraph 2 of 8").unwrap();
    session.exp_string("your label: stable").unwrap();
    send(&mut session, "f");
    // Past the last decision: the paragraph to label again, where the session was.
    session.exp_string("paragraph 3 of 8").unwrap();
    session.exp_string("changed: stable").unwrap();
    send(&mut session, "#");
    session.exp_string("Enter keeps the note").unwrap();
    send(&mut session, "hedged, quoted\r");
    session
        .exp_string("note: hedged, quoted (# to edit)")
        .unwrap();
    session.exp_string("note kept for the next label").unwrap();
    send(&mut session, "n");
    session.exp_string("paragraph 4 of 8").unwrap();
    session.exp_string("saved: neither").unwrap();
    // Unknown keys say so; `?` lists the keys, going back among them.
    send(&mut session, "x");
    session
        .exp_string("`x` does nothing here: ? for the keys")
        .unwrap();
    send(&mut session, "?");
    session
        .exp_string("Backspace  back to your previous decision")
        .unwrap();
    send(&mut session, " ");
    session.exp_string("25 of 28 left").unwrap();
    send(&mut session, "q");
    session
        .exp_string(
            "ann: 2 decisions saved (1 changing an earlier one); 3 of 28 paragraphs labelled, \
             25 left",
        )
        .unwrap();
    session.exp_eof().unwrap();

    // The log only grew: the first session's lines as they were, then one line per decision.
    let after = fs::read_to_string(&log).unwrap();
    assert!(after.starts_with(&first_session));
    let s = |x: &str| x.to_owned();
    assert_eq!(
        log_of(&log),
        [
            (s("decision"), ids[0].clone(), s("fracturing"), s("high")),
            (s("decision"), ids[1].clone(), s("stable"), s("high")),
            (s("decision"), ids[1].clone(), s("fracturing"), s("high")),
            (s("decision"), ids[2].clone(), s("neither"), s("high")),
        ]
    );
    let last: Value = serde_json::from_str(after.lines().last().unwrap()).unwrap();
    assert_eq!(last["note"], "hedged, quoted");
    // The changed decision is the label.
    assert_eq!(
        exported_labels(&sandbox, "ann"),
        [
            (ids[0].clone(), s("fracturing")),
            (ids[1].clone(), s("fracturing")),
            (ids[2].clone(), s("neither")),
        ]
    );

    // A review: newest first, → keeps, a label key changes, past the end a summary;
    // Backspace goes back from there.
    let mut session = spawn_label_with(&sandbox, &["--review"]);
    session.exp_string("review 1 of 3, newest first").unwrap();
    session.exp_string("paragraph 3 of 8").unwrap();
    session.exp_string("your label: neither").unwrap();
    session.exp_string("note: hedged, quoted").unwrap();
    send(&mut session, "\x1b[C"); // →
    session.exp_string("review 2 of 3").unwrap();
    session.exp_string("paragraph 2 of 8").unwrap();
    send(&mut session, "f");
    session.exp_string("review 3 of 3").unwrap();
    session.exp_string("paragraph 1 of 8").unwrap();
    session.exp_string("kept: fracturing").unwrap();
    send(&mut session, "s");
    session
        .exp_string("Reviewed 3 decisions: 1 changed.")
        .unwrap();
    session.exp_string("changed: fracturing").unwrap();
    send(&mut session, "\x7f"); // Backspace
    session.exp_string("review 3 of 3").unwrap();
    session.exp_string("your label: stable").unwrap();
    send(&mut session, "q");
    session
        .exp_string(
            "ann: 1 decision saved (1 changing an earlier one); 3 of 28 paragraphs labelled, \
             25 left",
        )
        .unwrap();
    session.exp_eof().unwrap();
    assert_eq!(
        log_of(&log).last().unwrap(),
        &(s("decision"), ids[0].clone(), s("stable"), s("high"))
    );
    assert_eq!(log_of(&log).len(), 5);

    // Nothing to review for another annotator: said, exit 2.
    check_error(
        &sandbox,
        &["label", "--annotator", "bob", "--review"],
        "`bob` has labelled no paragraph of this store yet: nothing to review",
    );
    // Settings of an order mean nothing to a review or an import: refused, not ignored.
    for (first, second) in [
        ("--review", &["--seed", "7"][..]),
        ("--review", &["--retrain-every", "5"][..]),
        ("--import", &["--seed", "7"][..]),
    ] {
        let mut args = vec!["label", "--annotator", "ann", first];
        if first == "--import" {
            args.push("labels.tsv");
        }
        args.extend_from_slice(second);
        check_error(&sandbox, &args, "cannot be used with");
    }
}

#[test]
fn decisions_survive_a_kill_mid_session() {
    let sandbox = ingested();
    let ids = labelable_ids(&sandbox);
    let mut session = spawn_label(&sandbox, "ann");
    session.exp_string("paragraph 1 of 8").unwrap();
    send(&mut session, "n");
    session.exp_string("paragraph 2 of 8").unwrap();
    send(&mut session, "f");
    session.exp_string("paragraph 3 of 8").unwrap();
    session.process_mut().kill(Signal::SIGKILL).unwrap();

    let s = |x: &str| x.to_owned();
    assert_eq!(
        log_of(&sandbox.join("labels/annotations.jsonl")),
        [
            (s("decision"), ids[0].clone(), s("neither"), s("high")),
            (s("decision"), ids[1].clone(), s("fracturing"), s("high")),
        ]
    );
    sandbox
        .stance()
        .args(["labels"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "000_f5ae0c5afab919db  ann                 1       0        1    0           6",
        ));
}

#[test]
fn a_termination_signal_ends_the_session_and_restores_the_terminal() {
    let sandbox = ingested();
    let ids = labelable_ids(&sandbox);
    for signal in [Signal::SIGTERM, Signal::SIGHUP, Signal::SIGINT] {
        let mut session = spawn_label(&sandbox, "ann");
        session.exp_string("paragraph").unwrap();
        send(&mut session, "s");
        session.exp_string("saved: stable").unwrap();
        session.process_mut().signal(signal).unwrap();
        // Leaves the alternate screen (which restores what was there), then says what is
        // saved and why it stopped.
        session.exp_string("\x1b[?1049l").unwrap();
        session.exp_string("ann: 1 decision saved").unwrap();
        session
            .exp_string("error: stopped by a signal; every decision made before it is saved")
            .unwrap();
        session.exp_eof().unwrap();
        assert!(
            matches!(session.process().wait(), Ok(WaitStatus::Exited(_, 2))),
            "{signal:?}"
        );
    }
    let labels: Vec<_> = log_of(&sandbox.join("labels/annotations.jsonl"))
        .into_iter()
        .map(|(_, id, label, _)| (id, label))
        .collect();
    let stable = |i: usize| (ids[i].clone(), "stable".to_owned());
    assert_eq!(labels, [stable(0), stable(1), stable(2)]);
}

/// A sandbox with the seeds ingested, `ann`'s labels on the first four paragraphs (two of
/// each class of the experiment), and `experiments/order.toml`, whose model ranks the rest.
fn ready_for_uncertainty() -> (Sandbox, Vec<String>) {
    let sandbox = ingested();
    let ids = labelable_ids(&sandbox);
    let tsv = format!(
        "{}\tfracturing\n{}\tstable\n{}\tfracturing\n{}\tstable\n",
        ids[0], ids[1], ids[2], ids[3]
    );
    import(&sandbox, "ann", &tsv).success();
    sandbox.write("experiments/order.toml", "[model]\nalpha = 0.5\n");
    (sandbox, ids)
}

const UNCERTAINTY: [&str; 4] = [
    "--order",
    "uncertainty",
    "--experiment",
    "experiments/order.toml",
];

/// `stance label --queue n` with `args`, as parsed JSON lines.
fn queue(sandbox: &Sandbox, annotator: &str, n: usize, args: &[&str]) -> Vec<Value> {
    let output = sandbox
        .stance()
        .args(["label", "--annotator", annotator, "--queue", &n.to_string()])
        .args(args)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

fn ids_of(lines: &[Value]) -> Vec<String> {
    lines
        .iter()
        .map(|line| line["id"].as_str().unwrap().to_owned())
        .collect()
}

/// The annotation log's decisions as parsed JSON.
fn decisions(sandbox: &Sandbox) -> Vec<Value> {
    sandbox
        .read("labels/annotations.jsonl")
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).unwrap())
        .filter(|line| line.get("paragraph").is_some())
        .collect()
}

#[test]
fn queue_and_import_carry_the_order_and_what_the_model_said() {
    let (sandbox, _) = ready_for_uncertainty();
    let first = queue(&sandbox, "ann", 3, &UNCERTAINTY);
    assert_eq!(first.len(), 3);
    for line in &first {
        assert_eq!(line["order"], "uncertainty");
        assert_eq!(line["shown"]["experiment"], "order");
        assert_eq!(line["shown"]["trained_on"], 4);
        let p = &line["shown"]["probabilities"];
        let (f, s) = (
            p["fracturing"].as_f64().unwrap(),
            p["stable"].as_f64().unwrap(),
        );
        assert!((f + s - 1.0).abs() < 1e-12, "{line}");
    }
    // Smallest margin first.
    let margin = |line: &Value| {
        let p = &line["shown"]["probabilities"];
        (p["fracturing"].as_f64().unwrap() - p["stable"].as_f64().unwrap()).abs()
    };
    assert!(margin(&first[0]) <= margin(&first[1]) && margin(&first[1]) <= margin(&first[2]));
    // The same labels, the same queue.
    assert_eq!(first, queue(&sandbox, "ann", 3, &UNCERTAINTY));

    // Labelled elsewhere: a label, a low-confidence flag and a note added to each line.
    let answers: String = first
        .iter()
        .zip(["fracturing", "stable", "neither"])
        .map(|(line, label)| {
            let mut line = line.clone();
            line["label"] = label.into();
            if label == "stable" {
                line["confidence"] = "low".into();
                line["note"] = "a quoted expert".into();
            }
            format!("{line}\n")
        })
        .collect();
    sandbox.write("answers.jsonl", &answers);
    let import = |file: &str| {
        sandbox
            .stance()
            .args(["label", "--annotator", "ann", "--import", file])
            .assert()
    };
    import("answers.jsonl")
        .success()
        .stdout("imported 3 labels for ann into labels/annotations.jsonl (0 unchanged)\n");
    import("answers.jsonl")
        .success()
        .stdout(predicate::str::contains("(3 unchanged)"));
    let imported = decisions(&sandbox);
    let imported = &imported[imported.len() - 3..];
    for (decision, line) in imported.iter().zip(&first) {
        assert_eq!(decision["paragraph"], line["id"]);
        assert_eq!(decision["order"], "uncertainty");
        assert_eq!(decision["shown"], line["shown"]);
    }
    assert_eq!(imported[1]["confidence"], "low");
    assert_eq!(imported[1]["note"], "a quoted expert");
    assert_eq!(imported[2]["label"], "neither");

    // The next queue's model has learnt the two new labels of its classes, not `neither`.
    let next = queue(&sandbox, "ann", 1, &UNCERTAINTY);
    assert_eq!(next[0]["shown"]["trained_on"], 6);
    assert!(!ids_of(&first).contains(&ids_of(&next)[0]));

    // A line whose text is not its paragraph's, or that misses its label, is refused whole.
    let mut wrong = first[0].clone();
    wrong["label"] = "stable".into();
    wrong["text"] = "Another text.".into();
    sandbox.write("wrong.jsonl", format!("{wrong}\n"));
    import("wrong.jsonl")
        .code(2)
        .stderr(predicate::str::contains(
            "wrong.jsonl:1: the text given for paragraph",
        ));
    sandbox.write("unlabelled.jsonl", format!("{}\n", first[1]));
    import("unlabelled.jsonl")
        .code(2)
        .stderr(predicate::str::contains(
            "unlabelled.jsonl:1: not valid JSON: missing field `label`",
        ));
}

#[test]
fn uncertainty_is_random_until_each_class_has_two_labels() {
    let sandbox = ingested();
    sandbox.write("experiments/order.toml", "");
    let ids = labelable_ids(&sandbox);
    import(
        &sandbox,
        "ann",
        &format!("{}\tfracturing\n{}\tstable\n", ids[0], ids[1]),
    )
    .success();
    let lines = queue(&sandbox, "ann", 26, &UNCERTAINTY);
    assert_eq!(
        ids_of(&lines),
        ids_of(&queue(&sandbox, "ann", 26, &["--order", "random"]))
    );
    assert!(
        lines
            .iter()
            .all(|line| line["order"] == "random" && line.get("shown").is_none())
    );
    // Another seed, another order.
    assert_ne!(
        ids_of(&lines),
        ids_of(&queue(
            &sandbox,
            "ann",
            26,
            &["--order", "random", "--seed", "7"]
        ))
    );
    check_error(
        &sandbox,
        &[
            "label",
            "--annotator",
            "ann",
            "--queue",
            "1",
            "--order",
            "uncertainty",
        ],
        "--order uncertainty needs an experiment",
    );
}

/// `stance label` with `args` in a pseudo-terminal.
fn spawn_label_with(sandbox: &Sandbox, args: &[&str]) -> PtySession {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_stance"));
    command
        .current_dir(sandbox.path())
        .args(["label", "--annotator", "ann"])
        .args(args);
    rexpect::session::spawn_command(command, Some(30_000)).expect("spawn stance in a pty")
}

#[test]
fn uncertainty_order_through_a_pty_retrains_as_queues_do() {
    let (sandbox, _) = ready_for_uncertainty();
    // What a queue would offer now; a copy of the store to compare with later.
    let expected_first = ids_of(&queue(&sandbox, "ann", 3, &UNCERTAINTY));
    copy_dir(&sandbox.join("labels"), &sandbox.join("before"));

    let mut args = UNCERTAINTY.to_vec();
    args.extend(["--retrain-every", "2"]);
    let mut session = spawn_label_with(&sandbox, &args);
    session.exp_string(&expected_first[0]).unwrap();
    session.exp_string("uncertainty order").unwrap();
    send(&mut session, "f");
    session.exp_string(&expected_first[1]).unwrap();
    send(&mut session, "s");
    // Two decisions: the model is retrained on six labels.
    session.exp_string("model retrained on 6 labels").unwrap();
    send(&mut session, "f");
    session.exp_string("saved: fracturing").unwrap();
    send(&mut session, "q");
    session.exp_string("ann: 3 decisions saved").unwrap();
    session.exp_eof().unwrap();

    let log = decisions(&sandbox);
    let new = &log[log.len() - 3..];
    for (decision, id) in new[..2].iter().zip(&expected_first) {
        assert_eq!(decision["paragraph"].as_str().unwrap(), id);
        assert_eq!(decision["order"], "uncertainty");
        assert_eq!(decision["shown"]["trained_on"], 4);
    }
    // The third paragraph: a queue of two after the first two decisions offers it first,
    // when the new model was ready within a blink (as on any machine not starved of CPU);
    // the previous model's third otherwise. The decision says which.
    let before = Sandbox::new();
    copy_dir(&sandbox.join("before"), &before.join("labels"));
    before.write("experiments/order.toml", "[model]\nalpha = 0.5\n");
    let tsv = format!(
        "{}\tfracturing\n{}\tstable\n",
        expected_first[0], expected_first[1]
    );
    import(&before, "ann", &tsv).success();
    let after_two = ids_of(&queue(&before, "ann", 1, &UNCERTAINTY));
    let third = &new[2];
    eprintln!(
        "third paragraph ranked by the model of {}",
        third["shown"]["trained_on"]
    );
    match third["shown"]["trained_on"].as_u64() {
        Some(6) => assert_eq!(third["paragraph"].as_str().unwrap(), after_two[0]),
        Some(4) => assert_eq!(third["paragraph"].as_str().unwrap(), expected_first[2]),
        other => panic!("trained on {other:?}"),
    }
}

/// About 1,400 characters of one paragraph, ending in words found nowhere else.
fn long_paragraph() -> String {
    let sentence = "Beijing and Moscow describe their partnership as without limits, \
                    while officials in both capitals quietly hedge their bets. ";
    let mut text = sentence.repeat(1400 / sentence.len());
    text.push_str("The last words are these: zebra finale.");
    text
}

#[test]
fn a_long_paragraph_scrolls_at_80_by_24_and_keys_say_what_they_do() {
    let sandbox = Sandbox::new();
    sandbox.write("long.txt", format!("{}\n", long_paragraph()));
    sandbox
        .stance()
        .args(["ingest", "long.txt"])
        .assert()
        .success();
    // The pty reports no size: the labeller draws at 80 × 24. (The session reads bytes as
    // Latin-1: expected strings are ASCII.)
    let mut session = spawn_label(&sandbox, "ann");
    session.exp_string("lines 1").unwrap();
    session.exp_string("j/PgDn for 7 more").unwrap();
    send(&mut session, "\x1b[6~"); // PgDn
    session.exp_string("these: zebra").unwrap();
    session.exp_string("the end, k/PgUp back").unwrap();
    send(&mut session, "k");
    session.exp_string("j/PgDn for 1 more").unwrap();
    send(&mut session, "\t");
    session.exp_string("Tab shows the definitions").unwrap();
    send(&mut session, "x");
    session
        .exp_string("`x` does nothing here: ? for the keys")
        .unwrap();
    send(&mut session, "?");
    session
        .exp_string("any key goes back to the paragraph")
        .unwrap();
    // That key only closes the keys' screen: nothing is labelled.
    send(&mut session, "f");
    session.exp_string("1 of 1 left").unwrap();
    send(&mut session, "q");
    session
        .exp_string("ann: 0 decisions saved; 0 of 1 paragraphs labelled, 1 left")
        .unwrap();
    session.exp_eof().unwrap();
}

#[test]
fn classes_are_labelled_by_their_schema_key_or_number() {
    let sandbox = ingested();
    let ids = labelable_ids(&sandbox);
    sandbox.write(
        "labels/schema.toml",
        "[[class]]\nname = \"left\"\ndefinition = \"to the left\"\n\
         [[class]]\nname = \"center\"\ndefinition = \"in the middle\"\n\
         [[class]]\nname = \"right\"\ndefinition = \"to the right\"\nkey = \"r\"\n",
    );
    let mut session = spawn_label(&sandbox, "ann");
    // `left` starts with the low-confidence key: it is labelled by its number.
    session.exp_string("1/c/r label").unwrap();
    send(&mut session, "1");
    session.exp_string("saved: left").unwrap();
    send(&mut session, "2");
    session.exp_string("saved: center").unwrap();
    send(&mut session, "r");
    session.exp_string("saved: right").unwrap();
    send(&mut session, "q");
    session.exp_eof().unwrap();
    let labels: Vec<(String, String)> = log_of(&sandbox.join("labels/annotations.jsonl"))
        .into_iter()
        .map(|(_, id, label, _)| (id, label))
        .collect();
    let s = |x: &str| x.to_owned();
    assert_eq!(
        labels,
        [
            (ids[0].clone(), s("left")),
            (ids[1].clone(), s("center")),
            (ids[2].clone(), s("right")),
        ]
    );
}
