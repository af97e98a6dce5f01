#!/usr/bin/env bash
# Writers of one label store at once, N loops (default 50): in each, two `stance ingest` of
# different articles and one `stance label --import` start together. Afterwards both
# articles must be in the store, the import's decisions in the log, the store must open, and
# every command must have succeeded (waiting for the store lock) or failed with the "busy"
# message. With --busy, also holds the lock for longer than a writer waits (60 s) and shows
# the message a writer then gives.
#
# Usage: scripts/concurrency.sh [N] [--busy]. STANCE_BIN picks the binary (default:
# target/debug/stance, built if missing).
set -euo pipefail

N=${1:-50}
ROOT=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
BIN=${STANCE_BIN:-$ROOT/target/debug/stance}
[ -x "$BIN" ] || (cd "$ROOT" && cargo build --quiet)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cp -r "$ROOT/labels" "$WORK/labels"
cd "$WORK"

article() {
    for p in 1 2 3 4 5 6; do
        echo "Paragraph $p of article $1: the alignment holds, or it is said to hold, and this sentence is long enough to count."
        echo
    done >"$1.txt"
}

ids=$(python3 -c '
import json
for line in open("labels/paragraphs.jsonl"):
    r = json.loads(line)
    if r.get("kind") == "paragraph": print(r["id"])')

lost=0 failed=0 busy=0
for i in $(seq 1 "$N"); do
    article "a_$i"
    article "b_$i"
    awk -v i="$i" '{ print $0 "\t" (NR % 2 ? "stable" : "fracturing") "\tlow\tloop " i }' <<<"$ids" >batch.tsv
    before=$(wc -l <labels/annotations.jsonl)
    "$BIN" ingest "a_$i.txt" >/dev/null 2>a.err & a=$!
    "$BIN" ingest "b_$i.txt" >/dev/null 2>b.err & b=$!
    "$BIN" label --annotator "loop" --import batch.tsv >/dev/null 2>c.err & c=$!
    for job in "$a:a" "$b:b" "$c:c"; do
        if ! wait "${job%%:*}"; then
            if grep -q "is busy" "${job#*:}.err"; then
                busy=$((busy + 1))
            else
                failed=$((failed + 1))
                echo "loop $i: $(cat "${job#*:}.err")" >&2
            fi
        fi
    done
    for name in "a_$i" "b_$i"; do
        if ! grep -q "\"$name\"" labels/paragraphs.jsonl && ! grep -q "is busy" "${name%%_*}.err"; then
            lost=$((lost + 1))
            echo "loop $i: article $name lost" >&2
        fi
    done
    after=$(wc -l <labels/annotations.jsonl)
    if [ "$after" -ne $((before + $(wc -l <batch.tsv))) ] && ! grep -q "is busy" c.err; then
        lost=$((lost + 1))
        echo "loop $i: $((after - before)) of $(wc -l <batch.tsv) decisions in the log" >&2
    fi
    "$BIN" labels >/dev/null || { failed=$((failed + 1)); echo "loop $i: the store does not open" >&2; }
done
echo "concurrency: $N loops of 2 ingests + 1 label --import at once: $((2 * N)) articles, $lost lost, $failed failed, $busy busy"

if [ "${2:-}" = --busy ]; then
    article busy
    python3 -c '
import fcntl, os, sys, time
fd = os.open("labels", os.O_RDONLY)
fcntl.flock(fd, fcntl.LOCK_EX)
time.sleep(75)' &
    holder=$!
    sleep 1
    start=$(date +%s)
    "$BIN" ingest busy.txt >/dev/null 2>busy.err && echo "ingest did not wait" || true
    echo "after $(($(date +%s) - start)) s: $(cat busy.err)"
    kill "$holder" 2>/dev/null || true
fi
[ "$lost" -eq 0 ] && [ "$failed" -eq 0 ]
