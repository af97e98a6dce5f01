#!/usr/bin/env bash
# SemEval-2016 Task 6A, the field's protocol end to end with `stance` alone:
#
#   scripts/semeval.sh
#
# 1. builds `stance` (release) and imports ../shared/data/semeval2016 into a store under
#    target/semeval/labels with `stance import`: trial + training tweets as split `train` (the
#    training file is windows-1252, not UTF-8), the gold test tweets as `test`, each target a
#    group. Importing again changes nothing, so the script can be run any number of times.
# 2. runs experiments/semeval/*.toml (one model per target, fitted on `train`, scored once on
#    `test`, F_avg = f1_mean:favor,against), writing their records to
#    experiments/semeval/results/;
# 3. prints the table beside the paper's published test-set rows;
# 4. if scikit-learn is installed, runs scripts/semeval-peer.py, which checks the unigram
#    experiment against CountVectorizer + LogisticRegression(C=1) per target (exit 1 if they
#    disagree beyond 0.1 F_avg point or 0.5% of the labels).
#
# The data are found beside the repository (../shared/data); a checkout elsewhere (a git
# worktree) names the shared directory in STANCE_SHARED (e.g. STANCE_SHARED=/work/shared).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
shared=${STANCE_SHARED:-$root/../shared}
semeval=$shared/data/semeval2016
if [[ ! -d $semeval ]]; then
    echo "no SemEval-2016 data at $semeval (set STANCE_SHARED to the directory holding data/)" >&2
    exit 2
fi

cargo build --release --quiet --manifest-path "$root/Cargo.toml"
stance=$root/target/release/stance
store=$root/target/semeval/labels

import() {
    "$stance" import --store "$store" --format tsv --text Tweet --label Stance --id ID \
        --group Target --classes favor,against,none \
        --map FAVOR=favor --map AGAINST=against --map NONE=none --annotator semeval "$@"
}
import --split train "$semeval/trialdata-all-annotations.txt"
import --split train --encoding windows-1252 "$semeval/semeval2016-task6-trainingdata.txt"
import --split test "$semeval/SemEval2016-Task6-subtaskA-testdata-gold.txt"
echo

for experiment in "$root"/experiments/semeval/*.toml; do
    "$stance" run "$experiment" >/dev/null
done

python3 - "$root/experiments/semeval/results" <<'PY'
import json, sys
from pathlib import Path

results = Path(sys.argv[1])
key = "f1_mean:favor,against"


def row(name, value):
    low, high = 100 * value["ci_low"], 100 * value["ci_high"]
    return f"  {name:<64} {100 * value['pooled']:6.2f}  [{low:5.2f}, {high:5.2f}]"


unigrams = json.loads((results / "unigrams.json").read_text())
union = json.loads((results / "union-tuned.json").read_text())
print("SemEval-2016 Task 6A, gold test set (1,249 tweets), F_avg; 95% bootstrap intervals over test tweets")
print(row("stance: majority class per target", unigrams["baseline"][key]))
print(row("stance: unigram counts, alpha = 1, per target", unigrams["metrics"][key]))
print(row("stance: word 1-3 + char_wb 2-5-grams, alpha tuned, per target", union["metrics"][key]))
chosen = [(c["group"], union["search"]["candidates"][c["candidate"]]["alpha"]) for c in union["search"]["choices"]]
print("    alpha chosen per target by 5-fold CV on its training tweets: "
      + ", ".join(f"{group} {alpha:g}" for group, alpha in chosen))
print("published (Mohammad et al., 2016): majority 65.22, SVM-unigrams 63.31, SVM-ngrams 68.98, "
      "best team 67.82")
PY

if python3 -c "import sklearn" 2>/dev/null; then
    echo
    STANCE_SHARED=$shared python3 "$root/scripts/semeval-peer.py" \
        "$root/experiments/semeval/results/unigrams.json"
else
    echo "(scikit-learn is not installed: the peer check, scripts/semeval-peer.py, was skipped)"
fi
