#!/usr/bin/env python3
"""Reference values for `src/metrics.rs` from scikit-learn and numpy.

Writes tests/fixtures/metrics/cases.json (scored predictions), baseline.json (majority-class
baseline), summaries.json (mean and sample standard deviation across folds) and f1_mean.json
(the mean of `f1_score(average=None)` over some of the classes: SemEval-2016's F_avg is this
over FAVOR and AGAINST of three-class predictions). Predicted
class = argmax of the probabilities with ties to the lowest index (numpy's argmax). Run from
the repository root:  python3 scripts/gen-metric-fixtures.py
"""

import json
import math
import statistics
import warnings
from pathlib import Path

import numpy as np
import sklearn
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    confusion_matrix,
    f1_score,
    log_loss,
    precision_recall_fscore_support,
    roc_auc_score,
)

OUT = Path("tests/fixtures/metrics")
GENERATOR = f"scripts/gen-metric-fixtures.py, scikit-learn {sklearn.__version__}"


def expected(y_true, proba, n_classes):
    y_true = np.asarray(y_true)
    proba = np.asarray(proba, dtype=float)
    labels = list(range(n_classes))
    y_pred = proba.argmax(axis=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        warnings.simplefilter("ignore", UserWarning)
        precision, recall, f1, support = precision_recall_fscore_support(
            y_true, y_pred, labels=labels, zero_division=0
        )
        balanced = balanced_accuracy_score(y_true, y_pred)
        macro_f1 = f1_score(y_true, y_pred, average="macro", zero_division=0)
    tp = np.array([np.sum((y_true == c) & (y_pred == c)) for c in labels])
    predicted = np.array([np.sum(y_pred == c) for c in labels])
    auc = None
    if n_classes == 2 and len(set(y_true.tolist())) == 2:
        auc = float(roc_auc_score(y_true, proba[:, 1]))
    return {
        "predicted": y_pred.tolist(),
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "balanced_accuracy": float(balanced),
        "macro_f1": float(macro_f1),
        "log_loss": float(log_loss(y_true, proba, labels=labels)),
        "roc_auc": auc,
        "precision": precision.tolist(),
        "recall": recall.tolist(),
        "f1": f1.tolist(),
        "support": support.tolist(),
        "precision_undefined": (predicted == 0).tolist(),
        "recall_undefined": (support == 0).tolist(),
        "f1_undefined": ((2 * tp + (predicted - tp) + (support - tp)) == 0).tolist(),
        "confusion": confusion_matrix(y_true, y_pred, labels=labels).tolist(),
    }


def case(name, y_true, proba, n_classes):
    proba = np.asarray(proba, dtype=float)
    return {"name": name, "n_classes": n_classes, "y_true": list(map(int, y_true)), "proba": proba.tolist(),
            "expected": expected(y_true, proba, n_classes)}


def dirichlet(rng, rows, n_classes):
    return rng.dirichlet(np.ones(n_classes), size=rows)


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(5)
    cases = [
        case("all correct, binary", [0, 1, 0, 1, 1], [[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7], [0.01, 0.99]], 2),
        case("all correct, three classes", [0, 1, 2, 2], [[0.8, 0.1, 0.1], [0.1, 0.7, 0.2], [0.2, 0.2, 0.6], [0.0, 0.0, 1.0]], 3),
        case("class 2 never predicted", [0, 1, 2, 2, 0, 1], [[0.6, 0.3, 0.1], [0.2, 0.5, 0.3], [0.5, 0.1, 0.4], [0.1, 0.6, 0.3], [0.7, 0.2, 0.1], [0.4, 0.3, 0.3]], 3),
        case("ties in AUC scores", [0, 0, 1, 1, 0, 1, 1, 0], [[0.5, 0.5], [0.3, 0.7], [0.3, 0.7], [0.5, 0.5], [0.8, 0.2], [0.8, 0.2], [0.1, 0.9], [0.4, 0.6]], 2),
        case("argmax ties go to the lowest class", [1, 0, 2, 1], [[0.5, 0.5, 0.0], [0.25, 0.25, 0.5], [0.4, 0.2, 0.4], [0.2, 0.4, 0.4]], 3),
        case("one class in y_true: AUC undefined", [0, 0, 0], [[0.7, 0.3], [0.4, 0.6], [0.9, 0.1]], 2),
        case("zero probability for the true class", [0, 1, 1], [[1.0, 0.0], [1.0, 0.0], [0.3, 0.7]], 2),
        case("class 2 neither true nor predicted", [0, 1, 0, 1], [[0.6, 0.3, 0.1], [0.2, 0.7, 0.1], [0.3, 0.6, 0.1], [0.5, 0.4, 0.1]], 3),
        case("random, three classes", rng.integers(0, 3, 25), dirichlet(rng, 25, 3), 3),
        case("random, binary", rng.integers(0, 2, 30), dirichlet(rng, 30, 2), 2),
        case("random, four classes", rng.integers(0, 4, 40), dirichlet(rng, 40, 4), 4),
    ]
    (OUT / "cases.json").write_text(json.dumps({"generator": GENERATOR, "cases": cases}, indent=1) + "\n")

    baselines = []
    for name, y_train, y_test, n_classes in [
        ("clear majority", [0, 0, 0, 1, 1], [0, 1, 1], 2),
        ("tie goes to the lowest class", [2, 2, 1, 1, 0], [0, 1, 2, 2], 3),
        ("class absent from training", [0, 0, 1], [2, 0, 1], 3),
    ]:
        counts = np.bincount(y_train, minlength=n_classes)
        proba = np.tile(counts / counts.sum(), (len(y_test), 1))
        baselines.append({"name": name, "n_classes": n_classes, "y_train": y_train, "y_test": y_test,
                          "proba": proba.tolist(), "expected": expected(y_test, proba, n_classes)})
    (OUT / "baseline.json").write_text(json.dumps({"generator": GENERATOR, "cases": baselines}, indent=1) + "\n")

    summaries = []
    for values in [[0.5, 0.75, 1.0], [0.8], [], [0.6, None, 0.9, 0.7], [0.7, 0.7, 0.7], [1e-3, 2e-3, 4e-3, 8e-3, 1.6e-2]]:
        defined = [v for v in values if v is not None]
        summaries.append({
            "values": values,
            "mean": statistics.fmean(defined) if defined else None,
            "std": float(np.std(defined, ddof=1)) if len(defined) >= 2 else None,
        })
    (OUT / "summaries.json").write_text(json.dumps({"generator": GENERATOR + ", numpy std(ddof=1)", "cases": summaries}, indent=1) + "\n")

    f1_means = []
    for name, y_true, proba, n_classes, classes in [
        ("F_avg: two of three classes", [0, 1, 2, 0, 1, 2, 0, 0], [[0.5, 0.3, 0.2], [0.2, 0.5, 0.3], [0.1, 0.3, 0.6], [0.3, 0.4, 0.3], [0.6, 0.2, 0.2], [0.1, 0.1, 0.8], [0.2, 0.2, 0.6], [0.7, 0.2, 0.1]], 3, [0, 1]),
        ("a named class never predicted", [0, 1, 2, 2, 0, 1], [[0.6, 0.3, 0.1], [0.2, 0.5, 0.3], [0.5, 0.1, 0.4], [0.1, 0.6, 0.3], [0.7, 0.2, 0.1], [0.4, 0.3, 0.3]], 3, [1, 2]),
        ("a named class neither true nor predicted", [0, 1, 0, 1], [[0.6, 0.3, 0.1], [0.2, 0.7, 0.1], [0.3, 0.6, 0.1], [0.5, 0.4, 0.1]], 3, [0, 2]),
        ("one class", [0, 1, 1, 0, 1], [[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7], [0.01, 0.99]], 2, [1]),
        ("random, three classes", rng.integers(0, 3, 60), dirichlet(rng, 60, 3), 3, [0, 1]),
        ("random, four classes, three named", rng.integers(0, 4, 50), dirichlet(rng, 50, 4), 4, [3, 0, 2]),
    ]:
        proba = np.asarray(proba, dtype=float)
        y_pred = proba.argmax(axis=1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UndefinedMetricWarning)
            per_class = f1_score(y_true, y_pred, labels=classes, average=None, zero_division=0)
        f1_means.append({"name": name, "n_classes": n_classes, "y_true": list(map(int, y_true)),
                         "proba": proba.tolist(), "classes": classes, "f1_mean": float(per_class.mean())})
    (OUT / "f1_mean.json").write_text(json.dumps({"generator": GENERATOR + ", f1_score(labels=classes, average=None).mean()", "cases": f1_means}, indent=1) + "\n")


if __name__ == "__main__":
    main()
