//! What a hostile user, a kill, a full disk or a second process can do to `stance`, and what
//! they must not: one test (at least) per way that once lost work or ended without the
//! promised message. Kill loops are in `crash.rs`, fuzzing in `fuzz.rs`.

use std::fs;
use std::os::unix::process::CommandExt as _;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::util::{Sandbox, copy_dir, repo_root, seed_store};

const SEEDS: [&str; 2] = ["000_f5ae0c5afab919db.txt", "002_77d38c7356dc9391.txt"];

/// Long enough for any of these commands in a debug build on a busy machine; a command that
/// runs away (or spins) meets it.
const PATIENCE: Duration = Duration::from_secs(120);

/// A sandbox whose `labels/` store holds the two seed articles.
fn ingested() -> Sandbox {
    let sandbox = Sandbox::new();
    for name in SEEDS {
        let text = fs::read(repo_root().join("tests/fixtures/corpus").join(name)).unwrap();
        sandbox.write(name, text);
    }
    sandbox
        .stance()
        .args(["ingest", SEEDS[0], SEEDS[1]])
        .assert()
        .success();
    sandbox
}

/// A sandbox holding a copy of the seed label store and two shipped experiments.
fn with_labels() -> Sandbox {
    let sandbox = Sandbox::new();
    copy_dir(&seed_store(), &sandbox.join("labels"));
    for name in ["baseline.toml", "tfidf.toml"] {
        fs::create_dir_all(sandbox.join("experiments")).unwrap();
        fs::copy(
            repo_root().join("experiments").join(name),
            sandbox.join("experiments").join(name),
        )
        .unwrap();
    }
    sandbox
}

/// Ids of the labelable paragraphs, in store order.
fn labelable_ids(sandbox: &Sandbox) -> Vec<String> {
    sandbox
        .read("labels/paragraphs.jsonl")
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).unwrap())
        .filter(|record| record["kind"] == "paragraph")
        .map(|record| record["id"].as_str().unwrap().to_owned())
        .collect()
}

/// `stance ARGS` in the sandbox, given up on after [`PATIENCE`].
fn stance(sandbox: &Sandbox, args: &[&str]) -> Output {
    sandbox
        .stance()
        .args(args)
        .timeout(PATIENCE)
        .output()
        .unwrap()
}

/// `stance ARGS` exits 2, its message holding every fragment, without a panic.
fn check_refused(sandbox: &Sandbox, args: &[&str], fragments: &[&str]) {
    let output = stance(sandbox, args);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let stderr: String = stderr.chars().take(2000).collect();
    assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
    for fragment in fragments {
        assert!(
            stderr.contains(fragment),
            "{args:?}: {fragment:?} not in {stderr}"
        );
    }
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// `stance ARGS` run with writes limited to files of `limit` bytes, as a full disk would stop
/// them (SIGXFSZ ignored, so a write past the limit fails with EFBIG instead of killing).
fn with_file_size_limit(sandbox: &Sandbox, args: &[&str], limit: u64) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_stance"));
    command.current_dir(sandbox.path()).args(args);
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        command.pre_exec(move || {
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            let rlimit = libc::rlimit {
                rlim_cur: limit,
                rlim_max: limit,
            };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &rlimit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    command.stdin(Stdio::null()).output().unwrap()
}

/// The names in `dir`, sorted, hidden ones included.
fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

// 1. `label --import` tore `annotations.jsonl`; a torn last line bricked the store.

#[test]
fn a_torn_last_line_is_reported_refused_and_repaired_without_touching_the_rest() {
    let sandbox = ingested();
    let ids = labelable_ids(&sandbox);
    sandbox.write(
        "x.tsv",
        format!("{}\tstable\n{}\tfracturing\n", ids[0], ids[1]),
    );
    stance(
        &sandbox,
        &["label", "--annotator", "x", "--import", "x.tsv"],
    );
    let whole = fs::read(sandbox.join("labels/annotations.jsonl")).unwrap();
    let mut torn = whole.clone();
    torn.extend_from_slice(format!("{{\"paragraph\":\"{}\",\"label\":\"neit", ids[2]).as_bytes());
    fs::write(sandbox.join("labels/annotations.jsonl"), &torn).unwrap();

    // `stance labels` reports it (and still summarises the complete lines)...
    let output = stance(&sandbox, &["labels"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(
        stdout.contains("torn line: labels/annotations.jsonl:3 is incomplete"),
        "{stdout}"
    );
    assert!(
        stdout.contains("`stance labels repair` removes it"),
        "{stdout}"
    );
    assert!(
        stderr.contains("warning: labels/annotations.jsonl:3"),
        "{stderr}"
    );
    // ...every other reader and writer refuses it, saying how to repair it...
    let remedy = "`stance labels repair --store labels` removes it";
    check_refused(
        &sandbox,
        &["labels", "export"],
        &["annotations.jsonl:3", remedy],
    );
    sandbox.write("y.tsv", format!("{}\tstable\n", ids[3]));
    check_refused(
        &sandbox,
        &["label", "--annotator", "y", "--import", "y.tsv"],
        &[remedy],
    );
    assert_eq!(
        fs::read(sandbox.join("labels/annotations.jsonl")).unwrap(),
        torn
    );
    // ...and the documented command removes that line alone.
    let output = stance(&sandbox, &["labels", "repair"]);
    assert_eq!(output.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("removed the incomplete last line 3"),
        "{stdout}"
    );
    assert_eq!(
        fs::read(sandbox.join("labels/annotations.jsonl")).unwrap(),
        whole
    );
    stance(
        &sandbox,
        &["label", "--annotator", "y", "--import", "y.tsv"],
    );
    let stdout = String::from_utf8_lossy(&stance(&sandbox, &["labels"]).stdout).into_owned();
    assert!(stdout.contains("torn lines: none"), "{stdout}");
}

/// An import file of `lines` decisions on the store's paragraphs, each with a note of
/// `note_bytes` (distinct, so none is skipped as unchanged).
fn big_import(sandbox: &Sandbox, lines: usize, note_bytes: usize) -> String {
    let ids = labelable_ids(sandbox);
    let mut tsv = String::new();
    for i in 0..lines {
        let label = ["stable", "fracturing", "neither"][i % 3];
        let note = format!("{i:06} {}", "n".repeat(note_bytes));
        tsv.push_str(&format!("{}\t{label}\thigh\t{note}\n", ids[i]));
    }
    tsv
}

#[test]
fn an_import_that_fills_the_disk_leaves_the_log_as_it_was() {
    let sandbox = ingested();
    let ids = labelable_ids(&sandbox);
    sandbox.write("first.tsv", format!("{}\tstable\n", ids[0]));
    stance(
        &sandbox,
        &["label", "--annotator", "x", "--import", "first.tsv"],
    );
    let before = fs::read(sandbox.join("labels/annotations.jsonl")).unwrap();
    let limit = before.len() as u64 + 50_000;

    // One decision for every paragraph (each about 9 kB, together far more than the room
    // left: an import gives each paragraph one label), and one decision larger than the room.
    sandbox.write("batch.tsv", big_import(&sandbox, ids.len(), 9_000));
    sandbox.write(
        "one.tsv",
        format!("{}\tneither\tlow\t{}\n", ids[1], "z".repeat(200_000)),
    );
    for file in ["batch.tsv", "one.tsv"] {
        let output = with_file_size_limit(
            &sandbox,
            &["label", "--annotator", "x", "--import", file],
            limit,
        );
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{file}: {stderr}");
        assert!(stderr.contains("cannot write"), "{stderr}");
        assert_eq!(
            fs::read(sandbox.join("labels/annotations.jsonl")).unwrap(),
            before,
            "{file}"
        );
        assert_eq!(
            names(&sandbox.join("labels")),
            [
                "annotations.jsonl",
                "articles",
                "paragraphs.jsonl",
                "schema.toml"
            ]
        );
    }
    stance(&sandbox, &["labels"]);
    assert_eq!(stance(&sandbox, &["labels"]).status.code(), Some(0));
}

// 2. Two `stance ingest` at once lost an article.

#[test]
fn an_ingest_waits_for_the_store_lock_and_keeps_what_the_holder_wrote() {
    let sandbox = ingested();
    sandbox.write(
        "new.txt",
        "A paragraph that arrives while the store is locked.\n",
    );
    let before = fs::read(sandbox.join("labels/paragraphs.jsonl")).unwrap();
    let lock = fs::File::open(sandbox.join("labels")).unwrap();
    lock.lock().unwrap();
    let mut ingest = Command::new(env!("CARGO_BIN_EXE_stance"))
        .current_dir(sandbox.path())
        .args(["ingest", "new.txt"])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        ingest.try_wait().unwrap().is_none(),
        "ingest did not wait for the lock"
    );
    assert_eq!(
        fs::read(sandbox.join("labels/paragraphs.jsonl")).unwrap(),
        before
    );
    drop(lock);
    assert!(ingest.wait().unwrap().success());
    let after = sandbox.read("labels/paragraphs.jsonl");
    assert!(after.starts_with(std::str::from_utf8(&before).unwrap()));
    assert!(after.contains("arrives while the store is locked"));
}

// 3. `stance label` spun at 100% CPU for ever once its terminal went away.

/// A pseudo-terminal of 80×24: (master, slave).
fn open_pty() -> (fs::File, fs::File) {
    use std::os::fd::FromRawFd as _;
    let (mut master, mut slave) = (0, 0);
    let size = libc::winsize {
        ws_row: 24,
        ws_col: 80,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: two out-pointers to integers; no name buffer; a valid winsize.
    let status = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            &size,
        )
    };
    assert_eq!(status, 0, "openpty: {}", std::io::Error::last_os_error());
    for fd in [master, slave] {
        // SAFETY: a descriptor just opened. Close-on-exec, or the child (and any other test's)
        // would keep the master open.
        unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
    }
    // SAFETY: both descriptors were just opened and are owned by nobody else.
    unsafe { (fs::File::from_raw_fd(master), fs::File::from_raw_fd(slave)) }
}

/// Reads the terminal until `wanted` has been shown.
fn read_until(master: &mut fs::File, wanted: &str) {
    use std::io::Read as _;
    let mut seen = Vec::new();
    let mut buffer = [0u8; 4096];
    while !String::from_utf8_lossy(&seen).contains(wanted) {
        let read = master.read(&mut buffer).expect("read the terminal");
        assert!(read > 0, "{wanted:?} never shown");
        seen.extend_from_slice(&buffer[..read]);
    }
}

#[test]
fn a_labelling_session_ends_when_its_terminal_goes_away() {
    use std::io::Write as _;
    let sandbox = ingested();
    // The terminal closes with no signal (it is not the session's controlling terminal), or
    // closes and SIGHUP follows (tmux killed, ssh dropped).
    for hangup in [false, true] {
        let (mut master, slave) = open_pty();
        let mut command = Command::new(env!("CARGO_BIN_EXE_stance"));
        command
            .current_dir(sandbox.path())
            .args(["label", "--annotator", "ann"])
            .stdin(slave.try_clone().unwrap())
            .stdout(slave.try_clone().unwrap())
            .stderr(slave);
        // SAFETY: setsid is async-signal-safe; it detaches from the test's own terminal.
        unsafe {
            command.pre_exec(|| {
                libc::setsid();
                Ok(())
            });
        }
        let mut label = command.spawn().unwrap();
        drop(command); // the parent's copies of the slave
        read_until(&mut master, "q quit");
        master.write_all(b"s").unwrap();
        read_until(&mut master, "saved: stable");
        drop(master);
        if hangup {
            // SAFETY: a signal to our own child.
            unsafe { libc::kill(label.id() as i32, libc::SIGHUP) };
        }
        let started = std::time::Instant::now();
        while label.try_wait().unwrap().is_none() {
            if started.elapsed() > Duration::from_secs(20) {
                label.kill().unwrap();
                panic!("`stance label` kept running once its terminal was gone (hangup: {hangup})");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    let decisions = sandbox.read("labels/annotations.jsonl");
    assert_eq!(decisions.lines().count(), 2, "{decisions}");
    assert!(decisions.lines().all(|line| line.contains("\"stable\"")));
}

// 4. Temporary files: a killed run's leftovers.

#[test]
fn leftovers_of_a_killed_write_are_reported_and_removed() {
    let sandbox = ingested();
    let leftovers = [
        "labels/.paragraphs.jsonl.Ab3dE9.tmp",
        "labels/.annotations.jsonl.tmp31337",
        "labels/articles/.000_f5ae0c5afab919db.txt.x7Yq2w.tmp",
    ];
    for path in leftovers {
        sandbox.write(path, "half written");
    }
    let output = stance(&sandbox, &["labels"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("leftover temporary files: 3"), "{stdout}");
    for path in leftovers {
        assert!(stdout.contains(path), "{path} not in {stdout}");
    }
    let output = stance(&sandbox, &["labels", "repair"]);
    assert_eq!(output.status.code(), Some(0));
    assert!(leftovers.iter().all(|path| !sandbox.join(path).exists()));
    let stdout = String::from_utf8_lossy(&stance(&sandbox, &["labels"]).stdout).into_owned();
    assert!(
        stdout.contains("leftover temporary files: none"),
        "{stdout}"
    );
}

#[test]
fn a_stale_temporary_beside_a_record_is_removed_by_the_next_run() {
    let sandbox = with_labels();
    sandbox.write(
        "experiments/quick.toml",
        "[stats]\npermutations = 0\nresamples = 100\ncurve_fractions = []\n",
    );
    let stale = sandbox.write("experiments/results/.quick.json.Zz9Yy8.tmp", "{\"half");
    let a_minute_ago = std::time::SystemTime::now() - Duration::from_secs(60);
    fs::File::options()
        .write(true)
        .open(&stale)
        .unwrap()
        .set_modified(a_minute_ago)
        .unwrap();
    let output = stance(&sandbox, &["run", "experiments/quick.toml"]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // The temporary is gone; the record and the run history stay.
    assert_eq!(
        names(&sandbox.join("experiments/results")),
        ["quick.json", "runs.jsonl"]
    );
}

// 5. Absurd settings aborted (a 176 GB allocation) or never ended.

#[test]
fn absurd_settings_are_refused_naming_the_key_and_the_limit() {
    let sandbox = with_labels();
    let base = "[data]\nclasses = [\"fracturing\", \"stable\"]\nannotator = \"annotator-1\"\n";
    let curve: Vec<String> = (1..=1000)
        .map(|i| format!("{}", i as f64 / 1000.0))
        .collect();
    let cases = [
        (
            "[stats]\nresamples = 1000000000\n".to_owned(),
            "key `stats.resamples`: must be at most 100000",
        ),
        (
            "[stats]\npermutations = 1000000000000\n".to_owned(),
            "key `stats.permutations`: must be at most 100000",
        ),
        (
            format!("[stats]\ncurve_fractions = [{}]\n", curve.join(", ")),
            "key `stats.curve_fractions`: must be at most 100 fractions",
        ),
        (
            "[cv]\nscheme = \"repeated_stratified_kfold\"\nrepeats = 1000000000000\n".to_owned(),
            "key `cv.repeats`: `repeats` must be at most 1000",
        ),
        (
            "[features]\nhashing = { n_features = 2147483647 }\n".to_owned(),
            "key `features.hashing.n_features`: must be between 1 and 16777216",
        ),
    ];
    for (table, message) in cases {
        sandbox.write("experiments/absurd.toml", format!("{base}{table}"));
        check_refused(&sandbox, &["run", "experiments/absurd.toml"], &[message]);
    }
    check_refused(
        &sandbox,
        &["--threads", "100000", "run", "experiments/baseline.toml"],
        &["--threads must be between 1 and 1024, got 100000"],
    );
    check_refused(
        &sandbox,
        &[
            "compare",
            "--repeats",
            "1000000000000",
            "experiments/baseline.toml",
            "experiments/tfidf.toml",
        ],
        &["--repeats must be between 1 and 1000, got 1000000000000"],
    );
}

// 6. `predict` printed `null` probabilities for a model `run` would have refused.

#[test]
fn train_refuses_what_run_refuses_and_the_loader_rejects_infinite_idf() {
    let sandbox = with_labels();
    sandbox.write(
        "experiments/hashed.toml",
        "[data]\nclasses = [\"fracturing\", \"stable\"]\nannotator = \"annotator-1\"\n\
         [features]\nweighting = \"tfidf\"\nsmooth_idf = false\nhashing = { n_features = 1024 }\n",
    );
    let refusal = "key `features.smooth_idf`: smooth_idf = false cannot be used with hashing";
    check_refused(&sandbox, &["run", "experiments/hashed.toml"], &[refusal]);
    check_refused(
        &sandbox,
        &["train", "--out", "hashed.json", "experiments/hashed.toml"],
        &[refusal],
    );
    assert!(!sandbox.join("hashed.json").exists());

    // A vocabulary model under smooth_idf = false, edited to a zero document frequency or
    // no documents: refused naming the key, never scored.
    sandbox.write(
        "experiments/plain.toml",
        "[data]\nclasses = [\"fracturing\", \"stable\"]\nannotator = \"annotator-1\"\n\
         [features]\nweighting = \"tfidf\"\nsmooth_idf = false\n",
    );
    let output = stance(
        &sandbox,
        &["train", "--out", "plain.json", "experiments/plain.toml"],
    );
    assert_eq!(output.status.code(), Some(0));
    sandbox.write("text.txt", "a paragraph about alliances\n");
    let model: Value = serde_json::from_str(&sandbox.read("plain.json")).unwrap();
    let mut zero_df = model.clone();
    zero_df["features"]["document_frequencies"][0] = 0.into();
    let mut no_documents = model.clone();
    no_documents["features"]["n_documents"] = 0.into();
    let columns = model["features"]["document_frequencies"]
        .as_array()
        .unwrap()
        .len();
    no_documents["features"]["document_frequencies"] = vec![0; columns].into();
    for (edited, key) in [
        (
            zero_df,
            "document_frequencies: column 0 has a document frequency of 0",
        ),
        (no_documents, "n_documents is 0"),
    ] {
        sandbox.write(
            "edited.json",
            serde_json::to_string_pretty(&edited).unwrap(),
        );
        check_refused(
            &sandbox,
            &["predict", "--model", "edited.json", "text.txt"],
            &["edited.json", key],
        );
    }
}

// 8. `ngram_range = [1, 2, 3]` ran as `[1, 2]`.

#[test]
fn an_ngram_range_of_the_wrong_length_is_refused() {
    let sandbox = with_labels();
    for range in ["[1, 2, 3]", "[2]", "[]"] {
        sandbox.write(
            "experiments/ngrams.toml",
            format!(
                "[data]\nclasses = [\"fracturing\", \"stable\"]\nannotator = \"annotator-1\"\n\
                 [features]\nngram_range = {range}\n"
            ),
        );
        check_refused(
            &sandbox,
            &["run", "experiments/ngrams.toml"],
            &["experiments/ngrams.toml:5: key `features.ngram_range`: must be two bounds"],
        );
    }
}

// 9. `run` checked the no-overwrite rule only at its start.

#[test]
fn a_file_written_to_the_results_path_during_a_run_is_not_overwritten() {
    let sandbox = with_labels();
    sandbox.write(
        "experiments/slow.toml",
        "[data]\nclasses = [\"fracturing\", \"stable\"]\nannotator = \"annotator-1\"\n\
         [stats]\npermutations = 600\npermutation_stopping = \"none\"\ncurve_fractions = []\n",
    );
    let run = Command::new(env!("CARGO_BIN_EXE_stance"))
        .current_dir(sandbox.path())
        .args(["run", "experiments/slow.toml"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Once the run has started (its first shuffles), someone's notes land on its path.
    std::thread::sleep(Duration::from_millis(1500));
    let notes = "my notes, not a record\n";
    sandbox.write("experiments/results/slow.json", notes);
    let output = run.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("refusing to overwrite it: move it away, or pass --force"),
        "{stderr}"
    );
    assert_eq!(sandbox.read("experiments/results/slow.json"), notes);
    assert_eq!(names(&sandbox.join("experiments/results")), ["slow.json"]);
}

// 7. `featurize --out` was atomic per file, not as a pair.

#[test]
fn a_featurize_pair_is_replaced_whole_or_not_at_all() {
    fn as_str(args: &[String]) -> Vec<&str> {
        args.iter().map(String::as_str).collect()
    }
    let sandbox = with_labels();
    let docs: String = sandbox
        .read("labels/paragraphs.jsonl")
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter_map(|record| Some(record["text"].as_str()?.replace('\n', " ") + "\n"))
        .collect();
    sandbox.write("docs.txt", docs);
    sandbox.write("one.toml", "[features]\nngram_range = [1, 1]\n");
    sandbox.write("two.toml", "[features]\nngram_range = [1, 2]\n");
    let featurize = |config: &str, out: &str| {
        vec![
            "featurize".to_owned(),
            "--config".to_owned(),
            config.to_owned(),
            "--input".to_owned(),
            "docs.txt".to_owned(),
            "--out".to_owned(),
            out.to_owned(),
        ]
    };
    for (config, out) in [("one.toml", "out"), ("two.toml", "probe")] {
        let output = stance(&sandbox, &as_str(&featurize(config, out)));
        assert_eq!(output.status.code(), Some(0));
    }
    let size = |path: &str| fs::metadata(sandbox.join(path)).unwrap().len();
    let (vocabulary, matrix) = (size("probe/vocabulary.txt"), size("probe/matrix.mtx"));
    assert!(vocabulary < matrix);
    let before = (
        sandbox.read("out/vocabulary.txt"),
        sandbox.read("out/matrix.mtx"),
    );
    // Room for the new vocabulary, not for the new matrix: the write fails half way.
    let output = with_file_size_limit(
        &sandbox,
        &as_str(&featurize("two.toml", "out")),
        (vocabulary + matrix) / 2,
    );
    assert_eq!(output.status.code(), Some(2));
    let after = (
        sandbox.read("out/vocabulary.txt"),
        sandbox.read("out/matrix.mtx"),
    );
    assert!(after == before, "the pair was mixed or changed");
    assert_eq!(
        names(&sandbox.join("out")),
        ["matrix.mtx", "vocabulary.txt"]
    );
}
