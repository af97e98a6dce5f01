#!/usr/bin/env bash
# Kill loops: each writing command is killed (SIGKILL) at a random moment, N times (default
# 200), and after each kill the script checks that nothing is lost or torn:
#
#   label --import  the store opens (`stance labels`: no torn line); the annotation log is the
#                   old one or the old one plus the whole batch; an import that finished has
#                   its batch in the log
#   ingest          the store opens; every earlier line of paragraphs.jsonl is still there;
#                   an ingest that finished has its article
#   run             the record is absent or a whole JSON record; a finished run left one
#   train --out     the model file is absent or a whole JSON model; a finished train left one
#   featurize --out vocabulary.txt and matrix.mtx are a pair (as many terms as columns)
#
# Usage: scripts/crash-loop.sh [N] [COMMAND...]   (COMMAND: label-import ingest run train
# featurize; all by default). STANCE_BIN picks the binary (default: target/debug/stance,
# built if missing). Prints one line per command: kills, finished runs, faults.
set -euo pipefail

N=${1:-200}
shift || true
COMMANDS=("$@")
[ ${#COMMANDS[@]} -eq 0 ] && COMMANDS=(label-import ingest run train featurize)

ROOT=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
BIN=${STANCE_BIN:-$ROOT/target/debug/stance}
[ -x "$BIN" ] || (cd "$ROOT" && cargo build --quiet)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

FAULTS=0
fault() {
    echo "FAULT ($1, iteration $2): $3" >&2
    FAULTS=$((FAULTS + 1))
}

# Runs "$@" in the background, kills it with SIGKILL after a random delay of up to $WINDOW
# milliseconds; sets FINISHED=1 if it ended (status 0) before the kill.
kill_at_random() {
    "$@" >/dev/null 2>"$WORK/stderr" &
    local pid=$!
    local delay=$((RANDOM % WINDOW))
    sleep "$(printf '%d.%03d' $((delay / 1000)) $((delay % 1000)))"
    kill -KILL "$pid" 2>/dev/null || true
    local status=0
    wait "$pid" 2>/dev/null || status=$?
    # 137: the kill ended it; 0: it had finished (a zombie still takes the signal).
    FINISHED=0
    if [ "$status" -eq 0 ]; then
        FINISHED=1
    elif [ "$status" -ne 137 ]; then
        fault "${1##*/} $2" "-" "exit status $status: $(head -c 300 "$WORK/stderr")"
    fi
}

# Milliseconds one run of "$@" takes (the kill window is a little longer).
duration_ms() {
    local start end
    start=$(date +%s%N)
    "$@" >/dev/null 2>&1 || true
    end=$(date +%s%N)
    echo $(((end - start) / 1000000))
}

store_opens() {
    local out
    if ! out=$("$BIN" labels --store "$1" 2>&1); then
        echo "stance labels failed: $out"
        return 1
    fi
    if ! grep -q "torn lines: none" <<<"$out"; then
        echo "stance labels reports a torn line: $(grep -i torn <<<"$out")"
        return 1
    fi
}

whole_json() {
    python3 -c 'import json, sys; json.load(open(sys.argv[1]))' "$1" 2>/dev/null
}

sandbox() {
    rm -rf "$WORK/box"
    mkdir -p "$WORK/box/experiments"
    cp -r "$ROOT/labels" "$WORK/box/labels"
    cd "$WORK/box"
}

label_import() {
    sandbox
    local ids
    ids=$(python3 -c '
import json, sys
for line in open("labels/paragraphs.jsonl"):
    r = json.loads(line)
    if r.get("kind") == "paragraph": print(r["id"])')
    local lines=0 kills=0 finished=0
    for i in $(seq 1 "$N"); do
        # A batch of every paragraph, each with a note of about 8 KB unique to this
        # iteration, so that no line is skipped as unchanged and the write takes a while.
        awk -v i="$i" 'BEGIN { note = sprintf("%08d", i); while (length(note) < 8000) note = note note }
            { print $0 "\t" (NR % 2 ? "stable" : "fracturing") "\tlow\t" note "-" NR }' <<<"$ids" >batch.tsv
        lines=$(wc -l <batch.tsv)
        cp labels/annotations.jsonl before.jsonl
        if [ "$i" -eq 1 ]; then
            WINDOW=$(($(duration_ms "$BIN" label --annotator crash --import batch.tsv) * 12 / 10 + 1))
            cp before.jsonl labels/annotations.jsonl
        fi
        kill_at_random "$BIN" label --annotator crash --import batch.tsv
        [ "$FINISHED" = 1 ] && finished=$((finished + 1)) || kills=$((kills + 1))
        if ! why=$(store_opens labels); then fault label-import "$i" "$why"; fi
        local old new
        old=$(wc -l <before.jsonl)
        new=$(wc -l <labels/annotations.jsonl)
        if ! cmp -s before.jsonl <(head -n "$old" labels/annotations.jsonl); then
            fault label-import "$i" "earlier decisions changed"
        elif [ "$new" -ne "$old" ] && [ "$new" -ne $((old + lines)) ]; then
            fault label-import "$i" "$((new - old)) of $lines lines appended"
        elif [ "$FINISHED" = 1 ] && [ "$new" -ne $((old + lines)) ]; then
            fault label-import "$i" "a finished import is missing"
        fi
    done
    echo "label --import: $N iterations, $kills killed while running, $finished finished, $(wc -l <labels/annotations.jsonl) decisions in the log"
}

ingest() {
    sandbox
    local kills=0 finished=0
    for i in $(seq 1 "$N"); do
        {
            for p in $(seq 1 40); do
                echo "Paragraph $p of crash article $i: the alliance holds or it does not, and this sentence makes it long enough to count as a paragraph of its own."
                echo
            done
        } >"crash_$i.txt"
        cp labels/paragraphs.jsonl before.jsonl
        if [ "$i" -eq 1 ]; then
            cp -r labels labels.seed
            WINDOW=$(($(duration_ms "$BIN" ingest "crash_$i.txt") * 12 / 10 + 1))
            rm -rf labels && mv labels.seed labels
        fi
        kill_at_random "$BIN" ingest "crash_$i.txt"
        [ "$FINISHED" = 1 ] && finished=$((finished + 1)) || kills=$((kills + 1))
        if ! why=$(store_opens labels); then fault ingest "$i" "$why"; fi
        if [ -n "$(grep -Fxvf labels/paragraphs.jsonl before.jsonl)" ]; then
            fault ingest "$i" "lines of paragraphs.jsonl lost"
        fi
        if [ "$FINISHED" = 1 ] && ! grep -q "\"crash_$i\"" labels/paragraphs.jsonl; then
            fault ingest "$i" "a finished ingest is missing"
        fi
    done
    echo "ingest: $N iterations, $kills killed while running, $finished finished, $(grep -c '"crash_' labels/paragraphs.jsonl) crash paragraphs in the store"
}

run_or_train() {
    local what=$1
    sandbox
    printf '%s\n' '[data]' 'classes = ["fracturing", "stable"]' 'annotator = "annotator-1"' \
        '[stats]' 'permutations = 0' 'resamples = 100' 'curve_fractions = []' >experiments/crash.toml
    local out args kills=0 finished=0
    if [ "$what" = run ]; then
        out=experiments/results/crash.json
        args=(run experiments/crash.toml)
    else
        out=model.json
        args=(train --out model.json experiments/crash.toml)
    fi
    WINDOW=$(($(duration_ms "$BIN" "${args[@]}") * 12 / 10 + 1))
    for i in $(seq 1 "$N"); do
        # Each iteration changes the config, so that a run never finds its record current.
        printf 'description = "crash %d"\n' "$i" >experiments/crash.toml.new
        grep -v '^description' experiments/crash.toml >>experiments/crash.toml.new
        mv experiments/crash.toml.new experiments/crash.toml
        kill_at_random "$BIN" "${args[@]}"
        [ "$FINISHED" = 1 ] && finished=$((finished + 1)) || kills=$((kills + 1))
        if [ -e "$out" ] && ! whole_json "$out"; then
            fault "$what" "$i" "$out is not whole JSON"
        fi
        if [ "$FINISHED" = 1 ] && ! grep -q "crash $i\"" "$out"; then
            fault "$what" "$i" "a finished $what left no $out of its own"
        fi
    done
    echo "$what: $N iterations, $kills killed while running, $finished finished"
}

featurize() {
    sandbox
    python3 -c '
import json
with open("docs.txt", "w") as out:
    for line in open("labels/paragraphs.jsonl"):
        r = json.loads(line)
        if "text" in r: out.write(r["text"].replace("\n", " ") + "\n")'
    for _ in 1 2 3 4 5 6; do cat docs.txt docs.txt >docs2.txt && mv docs2.txt docs.txt; done
    printf '[features]\nngram_range = [1, 1]\n' >experiments/one.toml
    printf '[features]\nngram_range = [1, 2]\n' >experiments/two.toml
    local kills=0 finished=0
    WINDOW=$(($(duration_ms "$BIN" featurize --config experiments/two.toml --input docs.txt --out out) * 12 / 10 + 1))
    for i in $(seq 1 "$N"); do
        local config=experiments/one.toml
        [ $((i % 2)) -eq 0 ] && config=experiments/two.toml
        kill_at_random "$BIN" featurize --config "$config" --input docs.txt --out out
        [ "$FINISHED" = 1 ] && finished=$((finished + 1)) || kills=$((kills + 1))
        if [ -d out ]; then
            local terms columns
            terms=$(wc -l <out/vocabulary.txt)
            columns=$(awk '!/^%/ { print $2; exit }' out/matrix.mtx)
            if [ "$terms" != "$columns" ]; then
                fault featurize "$i" "a mixed pair: $terms terms, $columns columns"
            fi
        fi
    done
    echo "featurize --out: $N iterations, $kills killed while running, $finished finished"
}

for command in "${COMMANDS[@]}"; do
    case $command in
        label-import) label_import ;;
        ingest) ingest ;;
        run) run_or_train run ;;
        train) run_or_train train ;;
        featurize) featurize ;;
        *) echo "unknown command $command" >&2; exit 2 ;;
    esac
done
echo "faults: $FAULTS"
[ "$FAULTS" -eq 0 ]
