#!/usr/bin/env bash
# A newcomer's first day, scripted: on a clean clone of this repository's committed HEAD, the
# README's two commands (git status must stay clean), `cargo install`, then JSON Lines in
# (refused without --field; labels through the queue's JSON Lines), `run`, `runs`, a quick run
# that must not replace the careful record, `train`, `predict --id-field --keep`, whole
# articles given to a model of paragraphs, and `stance label` at 80×24 on a 1,400-character
# paragraph in a pseudo-terminal. Each step prints what it ran and what it saw; the first
# check that fails stops the walk with exit 1.
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

step "JSON Lines without --field are refused"
cp labels/paragraphs.jsonl "$work/corpus.jsonl"
refused "$work/ingest.err" stance ingest --store "$work/store" "$work/corpus.jsonl"
expect_in "$work/ingest.err" "looks like JSON Lines"
stance train experiments/baseline.toml --out "$work/baseline-model.json" >/dev/null
refused "$work/predict.err" stance predict --model "$work/baseline-model.json" "$work/corpus.jsonl"
expect_in "$work/predict.err" "pass --field NAME"

step "labels in as JSON Lines: label --queue, a label added to each line, label --import"
stance ingest --store "$work/store" labels/articles/*.txt >/dev/null
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

step "stance label at 80×24 on a 1,400-character paragraph"
python3 -c '
s = "Beijing and Moscow describe their partnership as without limits, while officials in both capitals quietly hedge their bets. "
print(s * (1400 // len(s)) + "The last words are these: zebra finale.")' >"$work/long.txt"
stance ingest --store "$work/long-store" "$work/long.txt" >/dev/null
python3 - "$work/long-store" "$work/screens.txt" <<'EOF'
# Drive `stance label` in a pseudo-terminal of 80 columns × 24 rows: read the first screen,
# PgDn to the end, ? for the keys, any key back, f to label, q to leave.
import fcntl, os, pty, select, struct, sys, termios, time

store, record = sys.argv[1], sys.argv[2]
pid, fd = pty.fork()
if pid == 0:
    os.execvp("stance", ["stance", "label", "--store", store, "--annotator", "walker"])
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
os.kill(pid, 28)  # SIGWINCH: the size is set after the child started
screens = []

def read(seconds=1.5):
    out, end = b"", time.time() + seconds
    while time.time() < end:
        ready, _, _ = select.select([fd], [], [], 0.05)
        if ready:
            try:
                data = os.read(fd, 65536)
            except OSError:
                break
            if not data:
                break
            out += data
    screens.append(out.decode("utf-8", "replace"))
    return screens[-1]

def expect(text, seen):
    if text not in seen:
        open(record, "w").write("\n\n".join(screens))
        sys.exit(f"WALK FAILED: expected {text!r} on the screen (screens in {record})")
    print(f"  saw: {text}")

first = read(3)
expect("lines 1–", first)
expect("j/PgDn for", first)
os.write(fd, b"\x1b[6~")
expect("the end, k/PgUp back", read())
os.write(fd, b"?")
expect("any key goes back to the paragraph", read())
os.write(fd, b"x")
read()
os.write(fd, b"f")
expect("Every paragraph is labelled", read())
os.write(fd, b"q")
expect("walker: 1 decision saved; 1 of 1 paragraphs labelled, 0 left", read())
os.waitpid(pid, 0)
open(record, "w").write("\n\n".join(screens))
EOF
grep -q '"label":"fracturing"' "$work/long-store/annotations.jsonl" || fail "the decision is not in annotations.jsonl"
echo "  annotations.jsonl: 1 decision, fracturing"

step "git status after the walk"
git status --porcelain | sed 's/^/    /'
echo
echo "walk done: every step held"
