#!/usr/bin/env python3
"""Re-run a recorded experiment's folds with scikit-learn and compare its out-of-fold predictions.

    python3 scripts/peer-check-baseline.py [experiments/results/baseline.json]

Reads the record written by `stance run` (its folds, labels and probabilities) and the label
store's paragraph texts, then for every (repeat, fold) fits scikit-learn's
`CountVectorizer()` + `LogisticRegression(C=1/alpha, solver="lbfgs")` on the fold's training
paragraphs and predicts its test paragraphs. Prints the largest probability difference and
whether every predicted label agrees; exits 1 if a probability differs by more than 0.01 or a
label disagrees. Only the scikit-learn-default feature set is supported (the baseline's).
"""
import json
import pathlib
import sys
from collections import defaultdict

from sklearn.feature_extraction.text import CountVectorizer
from sklearn.linear_model import LogisticRegression

TOLERANCE = 0.01

root = pathlib.Path(__file__).resolve().parent.parent
record_path = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else root / "experiments/results/baseline.json"
record = json.loads(record_path.read_text(encoding="utf-8"))
config = record["config"]
features = {k: v for k, v in config["features"].items() if v not in (None, "none")}
expected = {"analyzer": "word", "lowercase": True, "ngram_range": [1, 1], "binary": False,
            "weighting": "count", "min_df": 1, "max_df": 1.0}
unsupported = {k: v for k, v in features.items() if k in expected and v != expected[k]}
if unsupported:
    sys.exit(f"only scikit-learn's default CountVectorizer is supported here, not {unsupported}")

store = (record_path.parent.parent / config["data"]["store"]).resolve()
texts = {}
with open(store / "paragraphs.jsonl", encoding="utf-8") as f:
    for line in f:
        paragraph = json.loads(line)
        texts[paragraph["id"]] = paragraph["text"]

classes = record["classes"]
model = config["model"]
by_repeat = defaultdict(list)
for prediction in record["predictions"]:
    by_repeat[prediction["repeat"]].append(prediction)

worst = 0.0
disagreements = []
for repeat, predictions in sorted(by_repeat.items()):
    folds = sorted({p["fold"] for p in predictions})
    for fold in folds:
        train = [p for p in predictions if p["fold"] != fold]
        test = [p for p in predictions if p["fold"] == fold]
        vectorizer = CountVectorizer()
        x_train = vectorizer.fit_transform([texts[p["id"]] for p in train])
        x_test = vectorizer.transform([texts[p["id"]] for p in test])
        classifier = LogisticRegression(
            C=1.0 / model["alpha"], solver="lbfgs", fit_intercept=model["fit_intercept"],
            tol=1e-10, max_iter=10_000,
        )
        classifier.fit(x_train, [p["label"] for p in train])
        probabilities = classifier.predict_proba(x_test)
        for p, row in zip(test, probabilities):
            ours = [p["probabilities"][c] for c in classifier.classes_]
            worst = max(worst, max(abs(a - b) for a, b in zip(ours, row)))
            theirs = classifier.classes_[row.argmax()]
            if theirs != p["predicted"]:
                disagreements.append((p["id"], repeat, fold, p["predicted"], theirs))
        print(f"repeat {repeat} fold {fold}: {len(train)} train, {len(test)} test, "
              f"{x_train.shape[1]} features")

n = len(record["predictions"])
print(f"{n} out-of-fold predictions of {record['experiment']} ({', '.join(classes)}): "
      f"largest |probability difference| vs scikit-learn {worst:.2e}; "
      f"predicted labels agree on {n - len(disagreements)} of {n}")
for d in disagreements:
    print("  disagreement:", d)
sys.exit(0 if worst <= TOLERANCE and not disagreements else 1)
