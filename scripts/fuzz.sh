#!/usr/bin/env bash
# Mutation fuzzing of every parser of user input (tests/it/fuzz.rs) at length: N cases in
# total (default 1,000,000), shared evenly among the targets. Each case must end without a
# panic, within 10 s, and any error must name its file; an abort would end the test process
# and fail the script. Prints the cases per target and their sum.
#
# Usage: scripts/fuzz.sh [N]     (run it under `nice`: it keeps a core busy for minutes)
set -euo pipefail

TOTAL=${1:-1000000}
TARGETS=16 # calls of `fuzz` in tests/it/fuzz.rs (import: 3 formats × 2 encodings; predict: 3)
ROOT=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
cd "$ROOT"
LOG=$(mktemp)
trap 'rm -f "$LOG"' EXIT

status=0
STANCE_FUZZ_CASES=$(((TOTAL + TARGETS - 1) / TARGETS)) \
    cargo test --quiet --test it -- fuzz:: --nocapture --test-threads=1 >"$LOG" 2>&1 || status=$?
# (Lines may follow the dots of the quiet test runner: not anchored.)
LINES=$(grep -oE 'fuzz [^:]+: [0-9]+ cases in [0-9.]+ s, slowest [0-9.]+ ms' "$LOG" || true)
echo "$LINES"
cases=$(sed -E 's/.*: ([0-9]+) cases.*/\1/' <<<"$LINES" | awk '{ s += $1 } END { print s }')
echo "total: ${cases:-0} cases"
if [ "$status" -ne 0 ]; then
    grep -E 'panicked|FAILED|error' "$LOG" | head -20
    echo "fuzzing failed (exit status $status)"
fi
exit "$status"
