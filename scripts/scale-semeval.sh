#!/usr/bin/env bash
# Cross-validation at the scale of a few thousand labels: SemEval-2016 Task 6 tweets as a
# label store, and `stance run` on it with the baseline settings, once per solver.
#
#   scripts/scale-semeval.sh [SEMEVAL_DIR] [PERMUTATIONS]
#
# Builds a temporary store from the trial and training files of SEMEVAL_DIR (default
# ../shared/data/semeval2016 beside the repository, or under $STANCE_SHARED): one "article" per target, one paragraph per tweet
# (`stance ingest`, which keeps short lines without final punctuation as headings, never
# labelled), and labels FAVOR → fracturing, AGAINST → stable, NONE → neither (a stand-in
# for the codebook, which these tweets do not follow: the point is the size). Then runs the
# two-class baseline (experiments/baseline.toml) with `solver` = "auto" (the default 1,000
# permutations), then "lbfgs", "linfa" and the three-class experiment with PERMUTATIONS
# (default 5) shuffles, linfa-logistic being slow at this size; prints the lines of each
# report that matter and the record's timings.
set -euo pipefail

shared=${STANCE_SHARED:-$(cd "$(dirname "$0")/../.." && pwd)/shared}
semeval=${1:-$shared/data/semeval2016}
permutations=${2:-5}
# shellcheck source=scripts/release-build.sh
source "$(dirname "$0")/release-build.sh"

python3 - "$semeval" "$work" <<'PY'
import collections, re, sys
semeval, work = sys.argv[1], sys.argv[2]
rows = []
for name in ["trialdata-all-annotations.txt", "semeval2016-task6-trainingdata.txt"]:
    # Not UTF-8: a dozen windows-1252 bytes (see the data's README). Split on tabs only.
    with open(f"{semeval}/{name}", encoding="windows-1252") as f:
        for line in f.read().split("\n")[1:]:
            if line.strip():
                tweet_id, target, tweet, stance = line.split("\t")[:4]
                rows.append((target, tweet, stance.strip()))
by_target = collections.defaultdict(list)
for target, tweet, stance in rows:
    by_target[target].append(tweet)
for target, tweets in by_target.items():
    name = re.sub(r"[^a-z]+", "-", target.lower()).strip("-")
    with open(f"{work}/{name}.txt", "w", encoding="utf-8") as f:
        f.writelines(tweet + "\n" for tweet in tweets)
label = {"FAVOR": "fracturing", "AGAINST": "stable", "NONE": "neither"}
with open(f"{work}/gold.tsv", "w", encoding="utf-8") as f:
    f.writelines(f"{tweet}\t{label[stance]}\n" for _, tweet, stance in rows)
PY

cd "$work"
"$stance" ingest --store labels ./*.txt >/dev/null
python3 - <<'PY'
import json
gold = {}
for line in open("gold.tsv", encoding="utf-8"):
    tweet, label = line.rstrip("\n").split("\t")
    gold[tweet] = label
with open("import.tsv", "w", encoding="utf-8") as out:
    for line in open("labels/paragraphs.jsonl", encoding="utf-8"):
        paragraph = json.loads(line)
        if paragraph["kind"] == "paragraph" and paragraph["text"] in gold:
            out.write(f"{paragraph['id']}\t{gold[paragraph['text']]}\n")
PY
"$stance" label --store labels --import import.tsv --annotator annotator-1
mkdir -p experiments

run() {
    local name=$1 source=$2 solver=$3
    shift 3
    sed "s/^alpha = 1.0/alpha = 1.0\nsolver = \"$solver\"/" "$root/experiments/$source.toml" \
        >"experiments/$name.toml"
    echo "== $name (solver = \"$solver\") $*"
    "$stance" run "experiments/$name.toml" "$@" |
        grep -E '^[0-9]+ paragraphs|^(accuracy|balanced_accuracy|macro_f1) |better than chance|converge'
    python3 -c "import json, sys; print(json.load(open(sys.argv[1]))['timings'])" \
        "experiments/results/$name.json"
}

run auto baseline auto
run lbfgs baseline lbfgs --permutations "$permutations"
run linfa baseline linfa --permutations "$permutations"
run three-class three-class auto --permutations "$permutations"
