#!/usr/bin/env bash
# A newcomer's first day, scripted: on a clean clone of this repository's committed HEAD, the
# README's two commands (git status must stay clean), `cargo install`, then JSON Lines in
# (refused without --text or --field; articles ingested from JSON Lines with --text; labels
# through the queue's JSON Lines), `run`, `runs`, a quick run that must not replace the
# careful record, `train`, `predict --id-field --keep`, whole articles given to a model of
# paragraphs, `stance label` at 80×24 on a 1,400-character paragraph in a pseudo-terminal,
# and going back to change decisions (← in a new session, then --review), the label file
# only growing. Each step prints what it ran and what it saw; the first check that fails
# stops the walk with exit 1.
#
# Usage: scripts/newcomer-walk.sh [--skip-tests]
#   --skip-tests      skip the README's `cargo test` (minutes on a small machine)
#   CARGO_TARGET_DIR  reuse a build directory (a clean clone otherwise builds from nothing)
#   KEEP=1            keep the clone and its files (the path is printed)
# Needs git, the Rust toolchain and python3 (for the pseudo-terminal and JSON edits only).
set -euo pipefail

repo=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
skip_tests=0
[[ "${1:-}" == "--skip-tests" ]] && skip_tests=1
work=$(mktemp -d "${TMPDIR:-/tmp}/stance-walk.XXXXXX")
if [[ "${KEEP:-0}" == 1 ]]; then
    echo "keeping $work"
else
    trap 'rm -rf "$work"' EXIT
fi

step() { printf '\n== %s\n' "$*"; }
fail() {
    printf 'WALK FAILED: %s\n' "$*" >&2
    exit 1
}
# expect_in FILE TEXT: TEXT is in FILE, or the walk stops showing FILE.
expect_in() {
    grep -qF -- "$2" "$1" || {
        sed 's/^/    /' "$1" >&2
        fail "expected \"$2\" in $(basename "$1")"
    }
    echo "  saw: $2"
}
# refused FILE CMD…: CMD exits with 2, its stderr in FILE.
refused() {
    local file=$1
    shift
    local code=0
    "$@" >/dev/null 2>"$file" || code=$?
    [[ $code == 2 ]] || fail "$* exited with $code, not 2"
    echo "  refused (exit 2): $(head -n 1 "$file")"
}

step "clone $(git -C "$repo" log --oneline -1)"
git clone -q "$repo" "$work/stance"
cd "$work/stance"

step "README: cargo run --release -- run experiments/baseline.toml"
cargo run --release -q -- run experiments/baseline.toml >"$work/run.txt"
expect_in "$work/run.txt" "balanced_accuracy"
expect_in "$work/run.txt" "record: experiments/results/baseline.json (unchanged"
[[ -z "$(git status --porcelain)" ]] || fail "git status after the first command: $(git status --porcelain)"
echo "  git status: clean"

if [[ $skip_tests == 0 ]]; then
    step "README: cargo test"
    cargo test -q --locked >"$work/test.txt" 2>&1 || {
        tail -n 30 "$work/test.txt" >&2
        fail "cargo test"
    }
    grep '^test result' "$work/test.txt" | sed 's/^/  /'
fi

step "cargo install --path ."
# The release build of the first command is reused.
CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}" cargo install -q --locked --path . --root "$work/prefix"
export PATH="$work/prefix/bin:$PATH"
echo "  $(command -v stance)"

step "stance runs baseline"
stance runs baseline >"$work/runs.txt"
expect_in "$work/runs.txt" "baseline"
sed 's/^/    /' "$work/runs.txt"

step "JSON Lines: refused without --text (ingest) or --field (predict); articles in with --text"
# The two seed articles as a corpus of JSON Lines, an article a record.
python3 - "$work/articles.jsonl" tests/fixtures/corpus/*.txt <<'PY'
import json, pathlib, sys
with open(sys.argv[1], "w") as out:
    for path in map(pathlib.Path, sys.argv[2:]):
        out.write(json.dumps({"ID": path.stem, "text": path.read_text()}) + "\n")
PY
refused "$work/ingest.err" stance ingest --store "$work/store" "$work/articles.jsonl"
expect_in "$work/ingest.err" "looks like JSON Lines"
expect_in "$work/ingest.err" "pass --text FIELD --id FIELD"
stance ingest --store "$work/store" --text text --id ID "$work/articles.jsonl" >"$work/ingest.txt" 2>&1
sed 's/^/    /' "$work/ingest.txt"
expect_in "$work/ingest.txt" "2 articles, 28 paragraphs, 28 of them not labelled yet"
cp labels/paragraphs.jsonl "$work/corpus.jsonl"
stance train experiments/baseline.toml --out "$work/baseline-model.json" >/dev/null
refused "$work/predict.err" stance predict --model "$work/baseline-model.json" "$work/corpus.jsonl"
expect_in "$work/predict.err" "pass --field NAME"

step "labels in as JSON Lines: label --queue, a label added to each line, label --import"
stance label --store "$work/store" --annotator walker --queue 100 >"$work/queue.jsonl" 2>"$work/queue.err"
sed 's/^/  /' "$work/queue.err"
stance labels export >"$work/shipped.tsv"
python3 - "$work/shipped.tsv" "$work/queue.jsonl" "$work/labelled.jsonl" <<'EOF'
import csv, json, sys
rows = csv.DictReader(open(sys.argv[1]), delimiter="\t", quoting=csv.QUOTE_NONE)
shipped = {row["id"]: row["label"] for row in rows}
with open(sys.argv[3], "w") as out:
    for line in open(sys.argv[2]):
        row = json.loads(line)
        if row["id"] in shipped:
            row["label"] = shipped[row["id"]]
            out.write(json.dumps(row) + "\n")
EOF
stance label --store "$work/store" --annotator walker --import "$work/labelled.jsonl" >"$work/import.txt"
expect_in "$work/import.txt" "imported 28 labels for walker"

step "run, runs, and a quick run that keeps the careful record"
cat >experiments/walk.toml <<EOF
[data]
store = "$work/store"
annotator = "walker"

[stats]
permutations = 200
EOF
stance run experiments/walk.toml >"$work/walk-run.txt"
expect_in "$work/walk-run.txt" "record: experiments/results/walk.json"
stance run experiments/walk.toml --permutations 0 >"$work/walk-quick.txt"
expect_in "$work/walk-quick.txt" "kept: it holds a more careful run"
stance runs walk >"$work/walk-runs.txt"
sed 's/^/    /' "$work/walk-runs.txt"
expect_in "$work/walk-runs.txt" "walk"

step "train, then predict --id-field --keep --digits on the JSON Lines"
stance train experiments/walk.toml --out "$work/walk-model.json" >"$work/train.txt"
expect_in "$work/train.txt" "trained walk on 22 paragraphs"
stance predict --model "$work/walk-model.json" --field text --id-field id --keep article,kind \
    --digits 3 "$work/corpus.jsonl" >"$work/predictions.tsv"
head -n 3 "$work/predictions.tsv" | sed 's/^/    /'
expect_in "$work/predictions.tsv" "$(printf 'id\tarticle\tkind\tpredicted\tp:fracturing\tp:stable')"
first_id=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["id"])' "$work/corpus.jsonl")
expect_in "$work/predictions.tsv" "$first_id	000_f5ae0c5afab919db	paragraph	"
refused "$work/train-out.err" stance train experiments/walk.toml --out experiments/walk.toml
expect_in "$work/train-out.err" "pass --force to replace it"

step "whole articles given to a model of paragraphs are warned of"
for article in labels/articles/*.txt; do tr '\n' ' ' <"$article"; echo; done >"$work/articles.txt"
stance predict --model "$work/walk-model.json" "$work/articles.txt" >/dev/null 2>"$work/articles.err"
expect_in "$work/articles.err" "times as long as the longest the model was trained on"
sed 's/^/    /' "$work/articles.err"

# `stance` in a pseudo-terminal of 80 columns × 24 rows, for the labelling steps below.
cat >"$work/labeller.py" <<'PY'
import fcntl, os, pty, select, struct, sys, termios, time


class Labeller:
    """`stance ARGS` in a pseudo-terminal of 80 × 24; every screen read is kept in `record`."""

    def __init__(self, args, record):
        self.record, self.screens = record, []
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            os.execvp("stance", ["stance"] + args)
        fcntl.ioctl(self.fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
        os.kill(self.pid, 28)  # SIGWINCH: the size is set after the child started

    def read(self, seconds=1.5):
        out, end = b"", time.time() + seconds
        while time.time() < end:
            ready, _, _ = select.select([self.fd], [], [], 0.05)
            if ready:
                try:
                    data = os.read(self.fd, 65536)
                except OSError:
                    break
                if not data:
                    break
                out += data
        self.screens.append(out.decode("utf-8", "replace"))
        return self.screens[-1]

    def press(self, keys, seconds=1.5):
        os.write(self.fd, keys)
        return self.read(seconds)

    def expect(self, text, seen):
        if text not in seen:
            self.save()
            sys.exit(f"WALK FAILED: expected {text!r} on the screen (screens in {self.record})")
        print(f"  saw: {text}")

    def wait(self):
        os.waitpid(self.pid, 0)
        self.save()

    def save(self):
        with open(self.record, "a") as out:
            out.write("\n\n".join(self.screens))
PY

step "stance label at 80×24 on a 1,400-character paragraph"
python3 -c '
s = "Beijing and Moscow describe their partnership as without limits, while officials in both capitals quietly hedge their bets. "
print(s * (1400 // len(s)) + "The last words are these: zebra finale.")' >"$work/long.txt"
stance ingest --store "$work/long-store" "$work/long.txt" >/dev/null
PYTHONPATH="$work" python3 - "$work/long-store" "$work/screens.txt" <<'PY'
# Read the first screen, PgDn to the end, ? for the keys, any key back, f to label, q to leave.
import sys
from labeller import Labeller

store, record = sys.argv[1], sys.argv[2]
session = Labeller(["label", "--store", store, "--annotator", "walker"], record)
first = session.read(3)
session.expect("lines 1–", first)
session.expect("j/PgDn for", first)
session.expect("the end, k/PgUp back", session.press(b"\x1b[6~"))
session.expect("any key goes back to the paragraph", session.press(b"?"))
session.press(b"x")
session.expect("Every paragraph is labelled", session.press(b"f"))
session.expect("walker: 1 decision saved; 1 of 1 paragraphs labelled, 0 left", session.press(b"q"))
session.wait()
PY
grep -q '"label":"fracturing"' "$work/long-store/annotations.jsonl" || fail "the decision is not in annotations.jsonl"
echo "  annotations.jsonl: 1 decision, fracturing"

step "back to an earlier session's decision with ←, and --review: a change is an appended line"
stance ingest --store "$work/review-store" tests/fixtures/corpus/*.txt >/dev/null
PYTHONPATH="$work" python3 - "$work/review-store" "$work/review-screens.txt" "$work/first-session.jsonl" <<'PY'
# A first session labels three paragraphs; a second goes back (←) to the last of them and
# changes it; a review (newest first) keeps one decision and changes another.
import shutil, sys
from labeller import Labeller

store, record, first_session = sys.argv[1], sys.argv[2], sys.argv[3]
label = ["label", "--store", store, "--annotator", "walker"]

session = Labeller(label, record)
session.expect("paragraph 1 of 8", session.read(3))
session.press(b"f")
session.press(b"s")
session.expect("paragraph 4 of 8", session.press(b"n"))
session.expect("walker: 3 decisions saved", session.press(b"q"))
session.wait()
shutil.copy(f"{store}/annotations.jsonl", first_session)

session = Labeller(label, record)
session.expect("25 of 28 left", session.read(3))
screen = session.press(b"\x1b[D")  # ←
session.expect("your decision 1 of 3 back", screen)
session.expect("your label: neither", screen)
screen = session.press(b"f")
session.expect("paragraph 4 of 8", screen)
session.expect("changed: neither → fracturing", screen)
session.expect("walker: 1 decision saved (1 changing an earlier one)", session.press(b"q"))
session.wait()

session = Labeller(label + ["--review"], record)
screen = session.read(3)
session.expect("review 1 of 3, newest first", screen)
session.expect("your label: fracturing", screen)
screen = session.press(b"\x1b[C")  # → keeps it
session.expect("review 2 of 3", screen)
session.expect("your label: stable", screen)
screen = session.press(b"n")
session.expect("review 3 of 3", screen)
session.expect("changed: stable → neither", screen)
session.expect("Reviewed 3 decisions: 1 changed.", session.press(b" "))
session.expect("walker: 1 decision saved (1 changing an earlier one)", session.press(b"q"))
session.wait()
PY
log="$work/review-store/annotations.jsonl"
# The file only grew: the first session's lines as they were, then one line per change.
cmp -s "$work/first-session.jsonl" <(head -c "$(wc -c <"$work/first-session.jsonl")" "$log") ||
    fail "annotations.jsonl does not start with the first session's lines"
[[ $(wc -l <"$log") == 5 ]] || fail "annotations.jsonl has $(wc -l <"$log") lines, not 3 + 2"
echo "  annotations.jsonl: the first session's 3 lines unchanged, 2 appended"
stance labels export --store "$work/review-store" | cut -f 1,3,5 >"$work/review-labels.tsv"
sed 's/^/    /' "$work/review-labels.tsv"
python3 - "$log" "$work/review-labels.tsv" <<'PY'
import csv, json, sys
lines = [json.loads(line) for line in open(sys.argv[1])]
want = {lines[0]["paragraph"]: "fracturing", lines[1]["paragraph"]: "neither",
        lines[2]["paragraph"]: "fracturing"}
rows = csv.DictReader(open(sys.argv[2]), delimiter="\t")
got = {row["id"]: row["label"] for row in rows if row["annotator"] == "walker"}
if got != want:
    sys.exit(f"WALK FAILED: labels {got}, expected {want}")
print("  stance labels export: the changed decisions are the labels")
PY

step "git status after the walk"
git status --porcelain | sed 's/^/    /'
echo
echo "walk done: every step held"
