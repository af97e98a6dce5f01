#!/usr/bin/env python3
"""scikit-learn's SemEval-2016 Task 6A baselines beside `stance`'s.

    python3 scripts/semeval-peer.py [RECORD.json]

Reads the SemEval-2016 files from $STANCE_SHARED/data/semeval2016 (default: ../shared beside
the repository), trains per target on trial + training (the training file decoded as
windows-1252) and scores the gold test tweets with the official F_avg (the mean of the F1 of
FAVOR and AGAINST over all test tweets pooled):

- majority class per target (the paper's 65.22);
- scikit-learn's `CountVectorizer()` + `LogisticRegression(C=1)`, one model per target: the peer
  of `experiments/semeval/unigrams.toml`.

Given a record of `stance run experiments/semeval/unigrams.toml` (default
experiments/semeval/results/unigrams.json, as scripts/semeval.sh writes it), it matches
the record's test predictions to scikit-learn's by paragraph id (the first 12 hex digits of
SHA-256 of article id, 0x1f, tweet id, newline, tweet text: `stance import --id ID --group
Target`) and exits 1 unless F_avg agrees within 0.1 point and at least 99.5% of the labels
agree.
"""
import hashlib
import json
import os
import re
import sys
from collections import Counter
from pathlib import Path

from sklearn.feature_extraction.text import CountVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score

root = Path(__file__).resolve().parent.parent
shared = Path(os.environ.get("STANCE_SHARED", root.parent / "shared"))
semeval = shared / "data" / "semeval2016"


def read(name, encoding):
    text = (semeval / name).read_bytes().decode(encoding)
    lines = [line.rstrip("\r") for line in text.split("\n")]
    header = lines[0].split("\t")
    return [dict(zip(header, line.split("\t"))) for line in lines[1:] if line.strip()]


def article_id(group):
    """`ArticleId::for_group` for names of at most 128 bytes."""
    article = re.sub(r"[^A-Za-z0-9_.-]+", "_", group)
    return "_" + article[1:] if article.startswith(".") else article or "_"


def paragraph_id(row):
    key = f"{article_id(row['Target'])}\x1f{row['ID']}\n{row['Tweet']}"
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:12]


def f_avg(truth, predicted):
    return 100 * f1_score(truth, predicted, labels=["FAVOR", "AGAINST"], average=None, zero_division=0).mean()


train = read("trialdata-all-annotations.txt", "utf-8") + read("semeval2016-task6-trainingdata.txt", "cp1252")
test = read("SemEval2016-Task6-subtaskA-testdata-gold.txt", "utf-8")
truth = [row["Stance"] for row in test]
majority, unigrams = {}, {}
for target in sorted({row["Target"] for row in train}):
    rows = [row for row in train if row["Target"] == target]
    tested = [row for row in test if row["Target"] == target]
    most = Counter(row["Stance"] for row in rows).most_common(1)[0][0]
    vectorizer = CountVectorizer()
    x = vectorizer.fit_transform([row["Tweet"] for row in rows])
    model = LogisticRegression(C=1.0).fit(x, [row["Stance"] for row in rows])
    predicted = model.predict(vectorizer.transform([row["Tweet"] for row in tested]))
    for row, label in zip(tested, predicted):
        majority[paragraph_id(row)] = most
        unigrams[paragraph_id(row)] = label
ids = [paragraph_id(row) for row in test]
print(f"{len(train)} training tweets, {len(test)} test tweets")
print(f"majority class per target: F_avg {f_avg(truth, [majority[i] for i in ids]):.2f}")
peer = f_avg(truth, [unigrams[i] for i in ids])
print(f"scikit-learn CountVectorizer + LogisticRegression(C=1) per target: F_avg {peer:.2f}")

record_path = Path(sys.argv[1]) if len(sys.argv) > 1 else root / "experiments/semeval/results/unigrams.json"
if not record_path.exists():
    sys.exit(f"no record at {record_path}: run scripts/semeval.sh first, or name one")
record = json.loads(record_path.read_text(encoding="utf-8"))
ours = {p["id"]: p["predicted"].upper() for p in record["predictions"]}
missing = [i for i in ids if i not in ours]
if missing:
    sys.exit(f"{len(missing)} test tweets are not in {record_path} (first: {missing[0]})")
agree = sum(ours[i] == unigrams[i] for i in ids)
stance_f = f_avg(truth, [ours[i] for i in ids])
print(f"stance ({record_path.name}): F_avg {stance_f:.2f}; labels agreeing with scikit-learn: "
      f"{agree} of {len(ids)} ({100 * agree / len(ids):.2f}%); F_avg difference {stance_f - peer:+.3f}")
if abs(stance_f - peer) > 0.1 or agree < 0.995 * len(ids):
    sys.exit("the peers disagree beyond 0.1 F_avg point or 0.5% of the labels")
