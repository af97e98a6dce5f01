#!/usr/bin/env bash
# Peer comparison at corpus scale: `stance run` against scikit-learn's `cross_val_predict` of
# `CountVectorizer() + LogisticRegression(C=1)` (lbfgs), on the same documents and folds.
#
#   scripts/bench-cv-vs-sklearn.sh N [RUNS]
#
# With CONVERGED=1 it also times scikit-learn fitted to convergence (`max_iter = 10000`, once,
# after the interleaved runs) and prints its time and metrics: its default `max_iter = 100`
# stops lbfgs early on these data, and only a converged peer can agree with a converged fit.
#
# Builds a label store of the first N AllSides articles (`allsides-full.jsonl.gz` under
# ../shared/data/news beside the repository, or $STANCE_SHARED/data/news): each article is
# one file whose text is one line, ingested with `stance ingest` (an article whose text holds
# glued sentences, `word.Word`, can become several paragraphs: both tools see the same
# paragraphs), each paragraph labelled with its article's `bias_text` (left, center, right)
# through `stance label --import`. The experiment: unigram counts, alpha = 1, stratified
# 5-fold, seed 42, no permutation test, no learning curve, macro-F1. A first `stance run`
# gives the folds (its record's predictions); scikit-learn is then given exactly those
# (PredefinedSplit) and the same paragraph texts. RUNS (default 3) timed runs of each alternate,
# one thread each; prints wall seconds, peak RSS (/usr/bin/time -v) and both tools' accuracy
# and macro-F1 on the pooled out-of-fold predictions, with their difference.
set -euo pipefail
export LC_ALL=C

n=${1:?usage: scripts/bench-cv-vs-sklearn.sh N [RUNS]}
runs=${2:-3}
# shellcheck source=scripts/release-build.sh
source "$(dirname "$0")/release-build.sh"
shared=${STANCE_SHARED:-$root/../shared}
corpus="$shared/data/news/allsides-full.jsonl.gz"
[ -f "$corpus" ] || {
    echo "no $corpus (set STANCE_SHARED)" >&2
    exit 2
}

store="$work/store"
mkdir -p "$store" "$work/articles" "$work/experiments"
cat >"$store/schema.toml" <<'TOML'
[[class]]
name = "left"
definition = "AllSides bias rating: left"

[[class]]
name = "center"
definition = "AllSides bias rating: center"

[[class]]
name = "right"
definition = "AllSides bias rating: right"
TOML
: >"$store/paragraphs.jsonl"
: >"$store/annotations.jsonl"

python3 - "$corpus" "$n" "$work" <<'PY'
import gzip, json, sys
corpus, n, work = sys.argv[1], int(sys.argv[2]), sys.argv[3]
bias = {}
with gzip.open(corpus, "rt", encoding="utf-8") as f:
    for line in f:
        if len(bias) == n:
            break
        article = json.loads(line)
        text = " ".join(article["text"].split())
        if not text:
            continue
        # Article ids: lowercase letters, digits, `_` and `-`.
        article_id = "a" + str(len(bias)).zfill(6)
        with open(f"{work}/articles/{article_id}.txt", "w", encoding="utf-8") as out:
            out.write(text + "\n")
        bias[article_id] = article["bias_text"]
json.dump(bias, open(f"{work}/bias.json", "w"))
PY

echo "ingesting $n articles" >&2
ingest_start=$(date +%s.%N)
(cd "$work/articles" && "$stance" ingest --store "$store" -- *.txt >/dev/null)
ingest_end=$(date +%s.%N)

python3 - "$work" <<'PY'
import json, sys
work = sys.argv[1]
bias = json.load(open(f"{work}/bias.json"))
with open(f"{work}/labels.tsv", "w") as out, open(f"{work}/store/paragraphs.jsonl") as f:
    for line in f:
        p = json.loads(line)
        if p["kind"] == "paragraph":
            out.write(f"{p['id']}\t{bias[p['article']]}\n")
PY
"$stance" label --store "$store" --annotator bench --import "$work/labels.tsv" >/dev/null

cat >"$work/experiments/allsides.toml" <<'TOML'
description = "AllSides articles, left/center/right, unigram counts, alpha = 1, stratified 5-fold"

[data]
store = "../store"
classes = ["left", "center", "right"]
annotator = "bench"

[features]
weighting = "count"

[model]
alpha = 1.0

[cv]
scheme = "stratified_kfold"
folds = 5
seed = 42

[stats]
metric = "macro_f1"
permutations = 0
curve_fractions = []
TOML

cat >"$work/peer.py" <<'PY'
"""scikit-learn on the record's documents and folds; prints accuracy and macro-F1."""
import json, sys, warnings
import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import PredefinedSplit, cross_val_predict
from sklearn.pipeline import make_pipeline

work = sys.argv[1]
max_iter = int(sys.argv[2]) if len(sys.argv) > 2 else 100
texts, labels, folds = [], [], []
with open(f"{work}/docs.tsv", encoding="utf-8") as f:
    for line in f:
        fold, label, text = line.rstrip("\n").split("\t", 2)
        folds.append(int(fold))
        labels.append(label)
        texts.append(text)
pipeline = make_pipeline(CountVectorizer(), LogisticRegression(C=1.0, max_iter=max_iter))
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always", ConvergenceWarning)
    predicted = cross_val_predict(pipeline, texts, np.array(labels), cv=PredefinedSplit(folds), n_jobs=1)
unconverged = sum(issubclass(w.category, ConvergenceWarning) for w in caught)
json.dump(
    {"accuracy": accuracy_score(labels, predicted), "macro_f1": f1_score(labels, predicted, average="macro"),
     "unconverged_folds": unconverged},
    open(f"{work}/peer.json" if max_iter == 100 else f"{work}/peer-{max_iter}.json", "w"),
)
PY

run_stance() {
    /usr/bin/time -v -o "$work/time.txt" "$stance" --threads 1 run "$work/experiments/allsides.toml" >"$work/stance.out"
}
run_sklearn() {
    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 \
        /usr/bin/time -v -o "$work/time.txt" python3 "$work/peer.py" "$work"
}
# Wall seconds, peak RSS (kB), CPU seconds (user + system) and the load average at the end:
# on a shared machine the CPU time is the steadier figure.
measure() {
    local wall rss cpu load
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n = split($2, t, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + t[i]; print s}' "$work/time.txt")
    rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time.txt")
    cpu=$(awk -F': ' '/User time|System time/ {s += $2} END {print s}' "$work/time.txt")
    load=$(cut -d' ' -f1 /proc/loadavg)
    echo "$wall $rss $cpu $load"
}

# The folds and documents of the record, for scikit-learn; this first run is the first timed
# one.
run_stance
echo "stance $(measure)" >>"$work/times.txt"
python3 - "$work" <<'PY'
import json, sys
work = sys.argv[1]
record = json.load(open(f"{work}/experiments/results/allsides.json"))
texts = {}
with open(f"{work}/store/paragraphs.jsonl") as f:
    for line in f:
        p = json.loads(line)
        texts[p["id"]] = p["text"]
with open(f"{work}/docs.tsv", "w", encoding="utf-8") as out:
    for p in record["predictions"]:
        out.write(f"{p['fold']}\t{p['label']}\t{texts[p['id']]}\n")
PY

for run in $(seq "$runs"); do
    if [ "$run" -gt 1 ]; then
        run_stance
        echo "stance $(measure)" >>"$work/times.txt"
    fi
    run_sklearn
    echo "sklearn $(measure)" >>"$work/times.txt"
    echo "run $run of $runs: $(tail -2 "$work/times.txt" | tr '\n' ' ')" >&2
done

if [ "${CONVERGED:-0}" = 1 ]; then
    echo "fitting scikit-learn to convergence (max_iter = 10000)" >&2
    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 \
        /usr/bin/time -v -o "$work/time.txt" python3 "$work/peer.py" "$work" 10000
    echo "sklearn-converged $(measure)" >>"$work/times.txt"
fi

python3 - "$work" "$n" "$(echo "$ingest_end - $ingest_start" | bc)" <<'PY'
import json, os, statistics, sys
work, n, ingest = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
record = json.load(open(f"{work}/experiments/results/allsides.json"))
peer = json.load(open(f"{work}/peer.json"))
times = {"stance": [], "sklearn": [], "sklearn-converged": []}
cpu = {"stance": [], "sklearn": [], "sklearn-converged": []}
loads = []
for line in open(f"{work}/times.txt"):
    tool, wall, rss, seconds, load = line.split()
    times[tool].append((float(wall), int(rss)))
    cpu[tool].append(float(seconds))
    loads.append(float(load))
folds = record["folds"]
print(f"{n} articles -> {record['data']['paragraphs']} documents "
      f"({', '.join(f'{k} {v}' for k, v in record['data']['per_class'].items())}); ingest {ingest:.1f} s")
print(f"stance folds: solver {sorted({f.get('solver') for f in folds})}, "
      f"converged {sum(f['converged'] for f in folds)} of {len(folds)}, iterations {[f.get('iterations') for f in folds]}")
print(f"{'':10} {'wall s (median)':>16} {'runs':>22} {'CPU s (median)':>15} {'peak RSS MB':>12} {'accuracy':>9} {'macro-F1':>9}")
ours = {"accuracy": record["metrics"]["accuracy"]["pooled"], "macro_f1": record["metrics"]["macro_f1"]["pooled"]}
for tool, metrics in [("sklearn", peer), ("stance", ours)]:
    walls = [w for w, _ in times[tool]]
    rss = max(r for _, r in times[tool]) / 1024
    print(f"{tool:10} {statistics.median(walls):16.1f} {' '.join(f'{w:.1f}' for w in walls):>22} {statistics.median(cpu[tool]):15.1f} {rss:12.0f} "
          f"{metrics['accuracy']:9.4f} {metrics['macro_f1']:9.4f}")
print(f"sklearn folds stopped unconverged (max_iter 100): {peer.get('unconverged_folds', '?')} of {len(folds)}")
converged = f"{work}/peer-10000.json"
if os.path.exists(converged):
    peer_converged = json.load(open(converged))
    (wall, rss), = times["sklearn-converged"]
    print(f"sklearn, max_iter 10000: {wall:.1f} s wall, {cpu['sklearn-converged'][0]:.1f} s CPU, {rss / 1024:.0f} MB, "
          f"{peer_converged['unconverged_folds']} of {len(folds)} folds unconverged; "
          f"accuracy {peer_converged['accuracy']:.4f}  macro-F1 {peer_converged['macro_f1']:.4f}; "
          f"|Δ| to stance {abs(ours['accuracy'] - peer_converged['accuracy']):.4f} / {abs(ours['macro_f1'] - peer_converged['macro_f1']):.4f}; "
          f"stance is {cpu['sklearn-converged'][0] / statistics.median(cpu['stance']):.2f}x it in CPU time")
speed = statistics.median(w for w, _ in times["sklearn"]) / statistics.median(w for w, _ in times["stance"])
cpu_speed = statistics.median(cpu["sklearn"]) / statistics.median(cpu["stance"])
print(f"load average (1 min) after each run: {' '.join(f'{l:.1f}' for l in loads)}")
print(f"stance is {speed:.2f}x scikit-learn in wall time, {cpu_speed:.2f}x in CPU time; |Δ accuracy| {abs(ours['accuracy'] - peer['accuracy']):.4f}, "
      f"|Δ macro-F1| {abs(ours['macro_f1'] - peer['macro_f1']):.4f}")
PY
