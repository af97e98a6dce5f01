#!/usr/bin/env bash
# Does uncertainty order pay on real labels? `stance simulate` on the SemEval-2016 Task 6
# training tweets (trial + training files: 2,914 tweets, five targets, FAVOR/AGAINST/NONE).
#
#   scripts/simulate-semeval.sh [OUT_DIR]
#
# Builds a label store of the tweets as imported records (one group per target, one
# paragraph per tweet keyed by its ID, text as given: short tweets are not taken for headings
# as `stance ingest` would), the gold stance as `annotator-1`'s labels (favor, against,
# none). Then simulates random against uncertainty order with scikit-learn's default bag of
# words and an L2 logistic regression (alpha = 1), scored by SemEval's F_avg
# (`f1_mean:favor,against`) on a stratified quarter held out: pooled over the targets, and for
# each target alone. Records go to OUT_DIR (default: a temporary directory, removed).
# The data is looked for in $STANCE_SHARED/data (default: ../shared beside the repository).
set -euo pipefail

# shellcheck source=scripts/release-build.sh
source "$(dirname "$0")/release-build.sh"
shared=${STANCE_SHARED:-$root/../shared}
semeval="$shared/data/semeval2016"
out=${1:-$work}
mkdir -p "$out"

python3 - "$semeval" "$out/store" <<'PY'
import hashlib, json, os, re, sys

semeval, store = sys.argv[1], sys.argv[2]
os.makedirs(store, exist_ok=True)
rows = []
for name in ["trialdata-all-annotations.txt", "semeval2016-task6-trainingdata.txt"]:
    # Not UTF-8: a dozen windows-1252 bytes (see the data's README). Split on tabs only.
    with open(f"{semeval}/{name}", encoding="windows-1252") as f:
        for line in f.read().split("\n")[1:]:
            if line.strip():
                tweet_id, target, tweet, stance = line.rstrip("\r").split("\t")[:4]
                rows.append((tweet_id, target, tweet, stance.strip().lower()))


def article_id(group):
    """`ArticleId::for_group`: runs of other characters become one `_`."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", group)


def paragraph_id(article, key, text):
    """`ParagraphId::of_keyed`: SHA-256 of article, 0x1f, key, newline, text."""
    digest = hashlib.sha256(f"{article}\x1f{key}\n{text}".encode("utf-8")).hexdigest()
    return digest[:12]


with open(f"{store}/schema.toml", "w") as f:
    for name, definition in [("favor", "in favour of the target"),
                             ("against", "against the target"),
                             ("none", "neither, or cannot tell")]:
        f.write(f'[[class]]\nname = "{name}"\ndefinition = "{definition}"\n\n')
positions = {}
with open(f"{store}/paragraphs.jsonl", "w", encoding="utf-8") as p, \
        open(f"{store}/annotations.jsonl", "w", encoding="utf-8") as a:
    for tweet_id, target, tweet, stance in rows:
        article = article_id(target)
        position = positions.setdefault(article, 0)
        positions[article] += 1
        pid = paragraph_id(article, tweet_id, tweet)
        record = {"id": pid, "article": article, "position": position, "kind": "paragraph",
                  "text": tweet, "key": tweet_id}
        if article != target:
            record["group"] = target
        p.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")
        a.write(json.dumps({"paragraph": pid, "label": stance, "annotator": "annotator-1",
                            "confidence": "high", "time": "2016-01-01T00:00:00.000Z"},
                           separators=(",", ":")) + "\n")
print(f"{len(rows)} tweets in {len(positions)} targets", file=sys.stderr)
PY
"$stance" labels --store "$out/store" | head -n 8

experiment() {
    local name=$1 groups=$2
    cat >"$out/$name.toml" <<TOML
description = "SemEval-2016 training tweets ($name): unigram counts, alpha = 1"

[data]
store = "store"
classes = ["favor", "against", "none"]
annotator = "annotator-1"
groups = [$groups]

[features]
weighting = "count"

[model]
alpha = 1.0

[stats]
metric = "f1_mean:favor,against"
TOML
}

experiment pooled ""
experiment hillary '"Hillary Clinton"'
experiment atheism '"Atheism"'

simulate() {
    local name=$1
    shift
    echo "== $name: $*"
    "$stance" simulate "$out/$name.toml" --strategies random,uncertainty --seeds 10 \
        --out "$out/$name.simulation.json" "$@"
}

simulate pooled --initial 20 --step 50 --budget 1000
simulate hillary --initial 20 --step 25 --budget 400
simulate atheism --initial 20 --step 25 --budget 370
