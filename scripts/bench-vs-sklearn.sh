#!/usr/bin/env bash
# Peer comparison: `stance featurize` against scikit-learn's CountVectorizer().fit_transform
# and TfidfVectorizer().fit_transform on the same corpus, whole processes, medians of 3.
#
#   scripts/bench-vs-sklearn.sh CORPUS [RUNS] [KINDS]
#
# KINDS (default "count tfidf") may also name `bigrams`: CountVectorizer(ngram_range=(1, 2))
# against `ngram_range = [1, 2]`, whose vocabulary of a large corpus outgrows the caches.
#
# CORPUS is a one-document-per-line text file, or JSON Lines (`.jsonl` / `.jsonl.gz`) whose
# `text` field is the document. JSON Lines are first converted to a plain one-per-line file,
# the same input for both tools: a document's inner line breaks (\r\n, \n, \r) become spaces.
# Before timing, it checks that both tools give the same vocabulary and matrix (via --out).
# Prints seconds, MB/s of text, the ratio to scikit-learn and the peak RSS, and the speed-up of
# all cores over one (one-thread and all-thread runs alternate, so a noisy minute of a shared
# machine falls on both); the in-process fit_transform time of scikit-learn (without
# interpreter start-up and imports) is printed too.
set -euo pipefail
export LC_ALL=C

corpus=${1:?usage: scripts/bench-vs-sklearn.sh CORPUS [RUNS] [KINDS]}
runs=${2:-3}
kinds=${3:-count tfidf}
# shellcheck source=scripts/release-build.sh
source "$(dirname "$0")/release-build.sh"

case "$corpus" in
*.jsonl | *.jsonl.gz)
    python3 - "$corpus" "$work/corpus.txt" <<'PY'
import gzip, json, sys
source, target = sys.argv[1], sys.argv[2]
opener = gzip.open if source.endswith(".gz") else open
with opener(source, "rt", encoding="utf-8") as f, open(target, "w", encoding="utf-8", newline="\n") as out:
    for line in f:
        if line.strip():
            text = json.loads(line)["text"]
            out.write(text.replace("\r\n", " ").replace("\n", " ").replace("\r", " ") + "\n")
PY
    text="$work/corpus.txt"
    ;;
*) text="$corpus" ;;
esac
bytes=$(stat -c %s "$text")

printf '[features]\n' >"$work/count.toml"
printf '[features]\nweighting = "tfidf"\n' >"$work/tfidf.toml"
printf '[features]\nngram_range = [1, 2]\n' >"$work/bigrams.toml"

cat >"$work/peer_sklearn.py" <<'PY'
import sys, time
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
kind, path = sys.argv[1], sys.argv[2]
with open(path, encoding="utf-8", newline="") as f:
    docs = f.read().split("\n")
if docs and docs[-1] == "":
    docs.pop()
docs = [d[:-1] if d.endswith("\r") else d for d in docs]
start = time.perf_counter()
vectorizer = {
    "count": CountVectorizer,
    "tfidf": TfidfVectorizer,
    "bigrams": lambda: CountVectorizer(ngram_range=(1, 2)),
}[kind]()
X = vectorizer.fit_transform(docs)
print(f"{time.perf_counter() - start:.3f}", file=sys.stderr)
if len(sys.argv) > 3:
    import numpy as np, scipy.io, scipy.sparse as sp
    out = sys.argv[3]
    with open(out + "/vocabulary.txt", encoding="utf-8") as f:
        vocabulary = f.read().split("\n")[:-1]
    assert vocabulary == list(vectorizer.get_feature_names_out()), "vocabularies differ"
    Y = sp.csr_matrix(scipy.io.mmread(out + "/matrix.mtx"))
    assert Y.shape == X.shape, f"shapes differ: {Y.shape} vs {X.shape}"
    diff = abs(sp.csr_matrix(X, dtype=np.float64) - Y)
    assert diff.nnz == 0 or diff.max() <= 1e-9, f"matrices differ by {diff.max()}"
    assert (sp.csr_matrix(X) != 0).nnz == (Y != 0).nnz, "sparsity differs"
    print(f"identical {kind}: {X.shape[0]} documents, {X.shape[1]} terms, {X.nnz} non-zeros")
PY

for kind in $kinds; do
    "$stance" featurize --config "$work/$kind.toml" --input "$text" --out "$work/out-$kind" 2>/dev/null
    python3 "$work/peer_sklearn.py" "$kind" "$text" "$work/out-$kind" 2>"$work/stderr" || { cat "$work/stderr"; exit 1; }
done

# Wall seconds of one run of a command, appended to the file $1; its peak RSS (KB) is
# appended to $1.rss. Timed with the shell's microsecond clock (/usr/bin/time's %e has 10 ms
# steps, a tenth of a fast run).
timed() {
    local file=$1 start end
    shift
    start=$EPOCHREALTIME
    /usr/bin/time -f %M -a -o "$file.rss" "$@" >/dev/null 2>"$work/stderr"
    end=$EPOCHREALTIME
    awk -v s="$start" -v e="$end" 'BEGIN {printf "%.4f\n", e - s}' >>"$file"
}
median_of() { sort -g "$1" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
peak_rss_mb() { sort -g "$1.rss" | tail -1 | awk '{printf "%.0f", $1 / 1024}'; }

echo "corpus: $corpus ($(awk -v b="$bytes" 'BEGIN {printf "%.1f", b/1e6}') MB of text), $(nproc) cores, medians of $runs, $(date -u +%Y-%m-%d)"
printf '%-34s %9s %9s %8s %9s\n' tool seconds MB/s ratio 'peak MB'
for kind in $kinds; do
    case $kind in
    count) label=CountVectorizer ;;
    tfidf) label=TfidfVectorizer ;;
    bigrams) label='CountVectorizer (1, 2)-grams' ;;
    *) echo "unknown kind $kind" >&2; exit 2 ;;
    esac
    rm -f "$work/t-"*
    for _ in $(seq "$runs"); do
        timed "$work/t-sklearn" python3 "$work/peer_sklearn.py" "$kind" "$text"
    done
    inner=$(cat "$work/stderr")
    # One thread and all threads alternate, run by run, so that both medians see the same
    # minutes of a shared machine: their ratio is one of the figures that matter.
    threads_list=$( [ "$(nproc)" -gt 1 ] && echo "1 $(nproc)" || echo 1 )
    for _ in $(seq "$runs"); do
        for threads in $threads_list; do
            timed "$work/t-$threads" "$stance" --threads "$threads" featurize \
                --config "$work/$kind.toml" --input "$text"
        done
    done
    sk=$(median_of "$work/t-sklearn")
    report() { awk -v n="$1" -v s="$2" -v b="$bytes" -v k="$sk" -v m="$(peak_rss_mb "$3")" \
        'BEGIN {printf "%-34s %9.3f %9.1f %7.1fx %9s\n", n, s, b/1e6/s, k/s, m}'; }
    report "sklearn $label" "$sk" "$work/t-sklearn"
    echo "  (sklearn fit_transform alone, last run: ${inner}s)"
    for threads in $threads_list; do
        report "stance $kind --threads $threads" "$(median_of "$work/t-$threads")" "$work/t-$threads"
    done
    if [ "$(nproc)" -gt 1 ]; then
        awk -v a="$(median_of "$work/t-1")" -v b="$(median_of "$work/t-$(nproc)")" -v n="$(nproc)" \
            'BEGIN {printf "  (%d threads vs 1, runs alternating: %.2fx)\n", n, a / b}'
    fi
done
