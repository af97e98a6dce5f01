#!/usr/bin/env python3
"""Expected values of the experiment layer on a six-paragraph case, scored by scikit-learn
and scipy (run with scikit-learn 1.9.1, scipy 1.17).

The case (the unit tests of `src/experiment/` build the same one): six paragraphs p0..p5
with classes x = 0, y = 1 labelled [0, 0, 1, 0, 1, 1]; article a holds p0 and p1, article b
the others. Two folds: fold 0 tests p0, p2, p4 and trains on the others; fold 1 the other
way round. Two models' out-of-fold probabilities of class y are given (A and B), and the
majority baseline predicts each test fold's training class frequencies.

Writes tests/fixtures/experiment/six.json: per model (and baseline) every metric of a
two-class record per fold, their mean and sample standard deviation, the pooled value; the
pooled confusion matrix and accuracy per article; and the paired tests of B against A on
balanced accuracy (the corrected resampled t-test of Nadeau & Bengio with J = 2 folds and
n_test / n_train = 3 / 3, and McNemar's exact test).

Run from the repository root: python3 scripts/gen-experiment-fixture.py
"""

import json
import math
from pathlib import Path

import numpy as np
from scipy import stats
from sklearn import metrics

OUT = Path("tests/fixtures/experiment/six.json")

LABELS = np.array([0, 0, 1, 0, 1, 1])
ARTICLES = np.array([0, 0, 1, 1, 1, 1])
FOLDS = [[0, 2, 4], [1, 3, 5]]
PROBABILITY_Y = {
    "a": np.array([0.2, 0.6, 0.7, 0.4, 0.3, 0.9]),
    "b": np.array([0.7, 0.7, 0.4, 0.8, 0.2, 0.6]),
}
CLASSES = ["x", "y"]


def baseline_probability_y():
    """Each test row gets its training fold's share of class y."""
    p = np.zeros(len(LABELS))
    for test in FOLDS:
        train = [i for i in range(len(LABELS)) if i not in test]
        p[test] = np.mean(LABELS[train] == 1)
    return p


def predicted(p_y):
    # The argmax, ties to the lower class: y only when strictly more likely.
    return (p_y > 0.5).astype(int)


def scores(y, p_y):
    """Every metric a two-class record holds; None where scikit-learn's is undefined."""
    pred = predicted(p_y)
    proba = np.column_stack([1 - p_y, p_y])
    out = {
        "accuracy": metrics.accuracy_score(y, pred),
        "balanced_accuracy": metrics.balanced_accuracy_score(y, pred),
        "macro_f1": metrics.f1_score(y, pred, average="macro", labels=[0, 1], zero_division=0),
        "log_loss": metrics.log_loss(y, proba, labels=[0, 1]),
        "roc_auc": metrics.roc_auc_score(y, p_y) if len(set(y)) == 2 else None,
    }
    precision, recall, f1, _ = metrics.precision_recall_fscore_support(
        y, pred, labels=[0, 1], zero_division=0
    )
    for c, name in enumerate(CLASSES):
        out[f"precision:{name}"] = precision[c]
        out[f"recall:{name}"] = recall[c]
        out[f"f1:{name}"] = f1[c]
    return {k: (None if v is None else float(v)) for k, v in out.items()}


def summary(p_y):
    folds = [scores(LABELS[test], p_y[test]) for test in FOLDS]
    pooled = scores(LABELS, p_y)
    out = {}
    for key in pooled:
        values = [f[key] for f in folds if f[key] is not None]
        out[key] = {
            "folds": [f[key] for f in folds],
            "mean": float(np.mean(values)),
            "std": float(np.std(values, ddof=1)),
            "pooled": pooled[key],
        }
    return out


def main():
    base = baseline_probability_y()
    fixture = {
        "labels": LABELS.tolist(),
        "articles": ARTICLES.tolist(),
        "folds": FOLDS,
        "probability_y": {k: v.tolist() for k, v in PROBABILITY_Y.items()},
        "baseline_probability_y": base.tolist(),
        "a": summary(PROBABILITY_Y["a"]),
        "b": summary(PROBABILITY_Y["b"]),
        "baseline": summary(base),
    }
    pred_a = predicted(PROBABILITY_Y["a"])
    fixture["confusion_a"] = metrics.confusion_matrix(LABELS, pred_a, labels=[0, 1]).tolist()
    fixture["article_accuracy_a"] = [
        float(np.mean(pred_a[ARTICLES == g] == LABELS[ARTICLES == g])) for g in (0, 1)
    ]

    # Paired tests of B against A on balanced accuracy.
    diffs = np.array(fixture["b"]["balanced_accuracy"]["folds"]) - np.array(
        fixture["a"]["balanced_accuracy"]["folds"]
    )
    j, n_train, n_test = len(diffs), 3, 3
    variance = np.var(diffs, ddof=1)
    t = diffs.mean() / math.sqrt((1 / j + n_test / n_train) * variance)
    p = 2 * stats.t.sf(abs(t), df=j - 1)
    right_a = predicted(PROBABILITY_Y["a"]) == LABELS
    right_b = predicted(PROBABILITY_Y["b"]) == LABELS
    b = int(np.sum(right_a & ~right_b))
    c = int(np.sum(~right_a & right_b))
    mcnemar_p = stats.binomtest(min(b, c), b + c, 0.5).pvalue if b + c > 0 else 1.0
    fixture["paired_b_against_a"] = {
        "metric": "balanced_accuracy",
        "mean_difference": float(diffs.mean()),
        "t": float(t),
        "df": j - 1,
        "p_value": float(p),
        "mcnemar_b": b,
        "mcnemar_c": c,
        "mcnemar_p_value": float(mcnemar_p),
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(fixture, indent=1) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
