#!/usr/bin/env bash
# What a nested search costs: `stance run` with a `[search]` of 8 alphas, 5 outer × 5 inner
# stratified folds, against scikit-learn's GridSearchCV (5 inner folds) inside
# cross_val_predict (5 outer folds), on the 2,914 SemEval-2016 training tweets (trial +
# training files; the test tweets take no part), unigram counts, three classes, one model for
# all targets, each candidate scored by F_avg (the mean F1 of favor and against).
#
#   scripts/bench-nested-vs-sklearn.sh [RUNS]
#
# Both run on one thread; RUNS (default 3) timed runs of each alternate. Prints wall and CPU
# seconds of each run and stance's peak RSS. On a machine others are using, CPU seconds are the
# figure to compare: wall time counts the waiting. The folds differ (each tool shuffles with
# its own generator), and scikit-learn refits the vectoriser for every candidate and inner fold
# where stance analyses each inner fold once and warm-starts along the alphas: the work is the
# same protocol, not the same arithmetic. The data: ../shared/data/semeval2016 beside the
# repository, or $STANCE_SHARED/data/semeval2016.
set -euo pipefail
export LC_ALL=C

runs=${1:-3}
# shellcheck source=scripts/release-build.sh
source "$(dirname "$0")/release-build.sh"
shared=${STANCE_SHARED:-$root/../shared}
semeval=$shared/data/semeval2016
[ -d "$semeval" ] || {
    echo "no $semeval (set STANCE_SHARED)" >&2
    exit 2
}

for file in trialdata-all-annotations.txt semeval2016-task6-trainingdata.txt; do
    "$stance" import --store "$work/labels" --format tsv --encoding windows-1252 --text Tweet \
        --label Stance --id ID --group Target --split train --classes favor,against,none \
        --map FAVOR=favor --map AGAINST=against --map NONE=none --annotator semeval \
        "$semeval/$file" >/dev/null
done
mkdir -p "$work/experiments"
cat >"$work/experiments/nested.toml" <<'TOML'
description = "SemEval-2016 training tweets: unigram counts, alpha searched, nested 5 x 5"
[data]
store = "../labels"
classes = ["favor", "against", "none"]
annotator = "semeval"
[features]
weighting = "count"
[cv]
scheme = "stratified_kfold"
folds = 5
seed = 42
[search]
alpha = [0.01, 0.03, 0.1, 0.3, 1, 3, 10, 30]
inner_folds = 5
[stats]
metric = "f1_mean:favor,against"
permutations = 0
curve_fractions = []
TOML

cat >"$work/peer.py" <<'PY'
import sys, time
from pathlib import Path

from sklearn.feature_extraction.text import CountVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score, make_scorer
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_predict
from sklearn.pipeline import Pipeline

semeval = Path(sys.argv[1])
texts, labels = [], []
for name in ["trialdata-all-annotations.txt", "semeval2016-task6-trainingdata.txt"]:
    lines = (semeval / name).read_bytes().decode("cp1252").split("\n")
    for line in lines[1:]:
        if line.strip():
            fields = line.rstrip("\r").split("\t")
            texts.append(fields[2])
            labels.append(fields[3].lower())
f_avg = make_scorer(f1_score, labels=["favor", "against"], average="macro", zero_division=0)
alphas = [0.01, 0.03, 0.1, 0.3, 1, 3, 10, 30]
search = GridSearchCV(
    Pipeline([("counts", CountVectorizer()), ("model", LogisticRegression())]),
    {"model__C": [1 / alpha for alpha in alphas]},
    scoring=f_avg,
    cv=StratifiedKFold(5, shuffle=True, random_state=0),
    n_jobs=1,
)
wall, cpu = time.perf_counter(), time.process_time()
predicted = cross_val_predict(search, texts, labels, cv=StratifiedKFold(5, shuffle=True, random_state=42), n_jobs=1)
wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
score = 100 * f1_score(labels, predicted, labels=["favor", "against"], average="macro")
print(f"scikit-learn: {wall:.2f} s wall, {cpu:.2f} s CPU; {len(texts)} tweets, F_avg {score:.2f}")
PY

echo "machine load: $(uptime)"
for run in $(seq "$runs"); do
    /usr/bin/time -f "%e %U %S %M" -o "$work/time" \
        "$stance" run --threads 1 "$work/experiments/nested.toml" >/dev/null
    read -r wall user system rss <"$work/time"
    score=$(python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print(f\"{100*r['metrics']['f1_mean:favor,against']['pooled']:.2f}\")" \
        "$work/experiments/results/nested.json")
    cpu=$(python3 -c "print(f'{$user + $system:.2f}')")
    echo "run $run: stance: $wall s wall, $cpu s CPU, peak RSS $((rss / 1024)) MiB; F_avg $score"
    echo -n "run $run: "
    # One thread for numpy's BLAS too: its idle workers would otherwise count as CPU time.
    OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 python3 "$work/peer.py" "$semeval"
done
echo "machine load: $(uptime)"
