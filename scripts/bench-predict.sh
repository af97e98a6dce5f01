#!/usr/bin/env bash
# Scoring throughput and peak memory of `stance predict`, whole processes.
#
#   scripts/bench-predict.sh [CORPUS_DIR] [RUNS]
#
# Trains the baseline (experiments/baseline.toml) into a temporary model, then scores the
# JSON Lines corpora allsides-25mb.jsonl.gz and allsides-full.jsonl.gz of CORPUS_DIR
# (default ../shared/data/news beside the repository, or under $STANCE_SHARED; `--field text`) at 1 and 2 threads, plain and with
# `--explain 5`, writing TSV to a file. Each configuration runs RUNS times (default 3); the
# median by wall time is reported: documents, MB of text, seconds, documents/s, MB/s (from
# `--stats`, which times the whole run including model loading, decompression and output),
# and peak RSS (`/usr/bin/time -v`). Peak RSS on the 25 MB and the full corpus shows
# whether memory is flat in the corpus size. Before timing, it checks that the output has
# one row per document and that 1 and 2 threads give the same bytes.
#
# The machine may be shared: the load average is printed before and after.
set -euo pipefail

shared=${STANCE_SHARED:-$(cd "$(dirname "$0")/../.." && pwd)/shared}
corpora=${1:-$shared/data/news}
runs=${2:-3}
# shellcheck source=scripts/release-build.sh
source "$(dirname "$0")/release-build.sh"
"$stance" train "$root/experiments/baseline.toml" --out "$work/model.json" >/dev/null

echo "load before: $(uptime)"
echo "cpus: $(nproc); $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
printf '%-22s %7s %-8s %8s %8s %7s %10s %7s %9s\n' \
    corpus threads explain documents MB seconds docs/s MB/s "peak RSS"

for corpus in allsides-25mb allsides-full; do
    input="$corpora/$corpus.jsonl.gz"
    records=$(zcat "$input" | grep -c .)
    # Same bytes whatever the number of threads, one row per record (plus the header).
    "$stance" --threads 1 predict --model "$work/model.json" --field text "$input" >"$work/one.tsv"
    "$stance" --threads 2 predict --model "$work/model.json" --field text "$input" >"$work/two.tsv"
    cmp -s "$work/one.tsv" "$work/two.tsv" || { echo "1 and 2 threads differ on $corpus" >&2; exit 1; }
    rows=$(($(wc -l <"$work/one.tsv") - 1))
    [ "$rows" -eq "$records" ] || { echo "$rows rows for $records records" >&2; exit 1; }

    for explain in no 5; do
        for threads in 1 2; do
            flags=()
            [ "$explain" = no ] || flags=(--explain "$explain")
            for run in $(seq "$runs"); do
                /usr/bin/time -v -o "$work/time.$run" \
                    "$stance" --threads "$threads" predict --model "$work/model.json" \
                    --field text --stats "${flags[@]}" "$input" \
                    >"$work/out.tsv" 2>"$work/stats.$run"
            done
            # The median run by wall time.
            best=$(for run in $(seq "$runs"); do
                seconds=$(sed -n 's/.* in \([0-9.]*\) s:.*/\1/p' "$work/stats.$run")
                echo "$seconds $run"
            done | sort -n | awk -v n="$runs" 'NR == int((n + 1) / 2) { print $2 }')
            stats=$(grep '^predicted' "$work/stats.$best")
            docs=$(sed -n 's/^predicted \([0-9]*\) paragraphs.*/\1/p' <<<"$stats")
            mb=$(sed -n 's/.*(\([0-9.]*\) MB of text).*/\1/p' <<<"$stats")
            seconds=$(sed -n 's/.* in \([0-9.]*\) s:.*/\1/p' <<<"$stats")
            rate=$(sed -n 's/.*: \([0-9]*\) paragraphs\/s.*/\1/p' <<<"$stats")
            mbps=$(sed -n 's/.* \([0-9.]*\) MB\/s.*/\1/p' <<<"$stats")
            rss_kb=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$work/time.$best")
            printf '%-22s %7s %-8s %8s %8s %7s %10s %7s %6d MB\n' \
                "$corpus" "$threads" "$explain" "$docs" "$mb" "$seconds" "$rate" "$mbps" \
                $((rss_kb / 1024))
        done
    done
done
echo "load after: $(uptime)"
