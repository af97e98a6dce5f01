#!/usr/bin/env python3
"""Reference fits for `src/model` from scikit-learn's LogisticRegression(solver="lbfgs"),
some with class_weight="balanced" (a fit's "class_weight" key, absent when None).

Writes tests/fixtures/model/*.json. Each file holds one data set (features as sparse
triplets to keep it small) and one or more fits at C = 1/alpha, with tol=1e-10 and
max_iter=100000 so that scikit-learn sits at the exact optimum (its default tol=1e-4 bounds the
*mean* gradient and can stop far from it: 14 iterations on multiclass_bow at alpha=1e-4).

Bag-of-words data come from the SemEval-2016 Task 6 training tweets
(../shared/data/semeval2016 beside the repository, or $STANCE_SHARED/data/semeval2016; windows-1252) with a tiny tokenizer; synthetic ones from a
seeded numpy generator. Run from the repository root:  python3 scripts/gen-model-fixtures.py
"""

import collections
import json
import os
import re
from pathlib import Path

import numpy as np
import sklearn
from sklearn.linear_model import LogisticRegression

OUT = Path("tests/fixtures/model")
SHARED = Path(os.environ.get("STANCE_SHARED", Path(__file__).resolve().parents[1].parent / "shared"))
SEMEVAL = SHARED / "data/semeval2016/semeval2016-task6-trainingdata.txt"
STANCES = ["AGAINST", "FAVOR", "NONE"]
TOL, MAX_ITER = 1e-10, 100000


def tweets(target):
    lines = SEMEVAL.read_text(encoding="cp1252").split("\n")[1:]
    rows = [line.split("\t") for line in lines if line]
    return [(r[2], r[3]) for r in rows if r[1] == target]


def tokens(text):
    return [t for t in re.findall(r"[a-z0-9#@']+", text.lower()) if t != "#semst"]


def bag_of_words(train_texts, test_texts, min_df):
    docs = [tokens(t) for t in train_texts]
    df = collections.Counter(t for d in docs for t in set(d))
    vocab = sorted(t for t, c in df.items() if c >= min_df)
    index = {t: i for i, t in enumerate(vocab)}

    def matrix(texts):
        x = np.zeros((len(texts), len(vocab)))
        for i, text in enumerate(texts):
            for t in tokens(text):
                if t in index:
                    x[i, index[t]] += 1
        return x

    return matrix(train_texts), matrix(test_texts)


def sparse(x):
    entries = [[int(i), int(j), float(x[i, j])] for i, j in zip(*np.nonzero(x))]
    return {"rows": x.shape[0], "cols": x.shape[1], "entries": entries}


def summed_gradient_norm(x, y, classes, coef, intercept, alpha, fit_intercept, weights):
    """‖∇‖₂ of Σ −log p + alpha/2 ‖W‖² at scikit-learn's solution (our tolerance's meaning)."""
    scores = x @ coef.T + intercept
    if len(classes) == 2:
        target = (y == classes[1]).astype(float)
        residual = (1 / (1 + np.exp(-scores[:, 0])) - target)[:, None]
    else:
        scores = scores - scores.max(axis=1, keepdims=True)
        p = np.exp(scores)
        p /= p.sum(axis=1, keepdims=True)
        residual = p - (y[:, None] == np.array(classes)[None, :])
    residual = residual * weights[:, None]
    grad_w = residual.T @ x + alpha * coef
    parts = [grad_w.ravel()]
    if fit_intercept:
        parts.append(residual.sum(axis=0))
    return float(np.linalg.norm(np.concatenate(parts)))


def fit(x, y, x_test, n_classes, alpha, fit_intercept, class_weight=None):
    model = LogisticRegression(C=1 / alpha, solver="lbfgs", tol=TOL, max_iter=MAX_ITER, fit_intercept=fit_intercept,
                               class_weight=class_weight)
    model.fit(x, y)
    classes = [int(c) for c in model.classes_]

    def proba(rows):
        full = np.zeros((rows.shape[0], n_classes))
        full[:, classes] = model.predict_proba(rows)
        return full.tolist()

    p_train = model.predict_proba(x)
    # scikit-learn's balanced weights, n / (classes present · rows of the class): our objective
    # weighs each row's loss by them.
    counts = np.bincount(y)
    weights = len(y) / (len(classes) * counts[y]) if class_weight == "balanced" else np.ones(len(y))
    objective = -(weights * np.log(p_train[np.arange(len(y)), np.searchsorted(classes, y)])).sum()
    objective += 0.5 * alpha * float((model.coef_**2).sum())
    result = {
        "alpha": alpha,
        "fit_intercept": fit_intercept,
        "tol": TOL,
        "max_iter": MAX_ITER,
        "n_iter": int(model.n_iter_[0]),
        "classes": classes,
        "coef": model.coef_.tolist(),
        "intercept": model.intercept_.tolist(),
        "objective": float(objective),
        "gradient_norm": summed_gradient_norm(x, y, classes, model.coef_, model.intercept_, alpha, fit_intercept, weights),
        "proba_train": proba(x),
        "proba_test": proba(x_test) if x_test is not None else None,
    }
    if class_weight is not None:
        result["class_weight"] = class_weight
    return result


def rounded(value):
    """Floats to 12 significant digits: far below every tolerance the tests use, and small files."""
    if isinstance(value, float):
        return float(f"{value:.12g}")
    if isinstance(value, list):
        return [rounded(v) for v in value]
    if isinstance(value, dict):
        return {k: rounded(v) for k, v in value.items()}
    return value


def write(name, description, x, y, n_classes, fits, x_test=None):
    data = {
        "name": name,
        "description": description,
        "generator": f"scripts/gen-model-fixtures.py, scikit-learn {sklearn.__version__}",
        "n_classes": n_classes,
        "x": sparse(x),
        "y": [int(v) for v in y],
        "x_test": sparse(x_test) if x_test is not None else None,
        "fits": [fit(x, y, x_test, n_classes, *f) for f in fits],
    }
    data = rounded(data)
    (OUT / f"{name}.json").write_text(json.dumps(data, indent=None, separators=(",", ":")) + "\n")
    print(name, x.shape, [f["n_iter"] for f in data["fits"]])


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(20240917)

    x = np.array([[1, 0, 2], [0, 1, 1], [3, 0, 0], [0, 2, 1], [1, 1, 0], [0, 0, 3], [2, 1, 1], [0, 3, 0]], float)
    y = np.array([0, 1, 0, 1, 0, 1, 0, 1])
    write("tiny_binary", "8 rows x 3 features by hand, balanced", x, y, 2, [(1.0, True), (1.0, False)])

    x = rng.poisson(1.0, size=(12, 5)).astype(float)
    y = np.array([0] * 4 + [1] * 8)
    x[y == 0, 0] += 2
    write("binary_minority_0", "12 x 5 counts, class 0 is the minority (4 of 12)", x, y, 2, [(1.0, True)])
    write("binary_minority_1", "same rows, labels swapped: class 1 is the minority", x, 1 - y, 2, [(1.0, True)])

    x = rng.normal(size=(30, 4))
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype(int)
    write("binary_separable", "30 x 4 Gaussian, linearly separable; weak and default penalty", x, y, 2, [(0.01, True), (1.0, True)])

    data = tweets("Atheism")
    pick = [d for d in data if d[1] in ("AGAINST", "FAVOR")]
    train, test = pick[:20], pick[20:30]
    x, x_test = bag_of_words([t for t, _ in train], [t for t, _ in test], 1)
    y = np.array([STANCES.index(s) for _, s in train])
    write("binary_bow_wide", "20 Atheism tweets (AGAINST=0, FAVOR=1), unigram counts, more features than rows; 10 held-out tweets",
          x, y, 2, [(1.0, True), (0.1, True)], x_test)

    x = rng.poisson(1.5, size=(15, 4)).astype(float)
    y = np.arange(15) % 3
    for c in range(3):
        x[y == c, c] += 2
    write("multiclass_small", "15 x 4 counts, 3 balanced classes", x, y, 3, [(1.0, True), (1.0, False)])

    x = rng.poisson(1.0, size=(16, 5)).astype(float)
    y = np.array([0, 1, 2, 3] * 4)
    for c in range(4):
        x[y == c, c] += 1
    write("multiclass_four", "16 x 5 counts, 4 classes", x, y, 4, [(0.5, True)])

    x = rng.poisson(1.0, size=(10, 3)).astype(float)
    y = np.array([0, 2] * 5)
    x[y == 2, 1] += 2
    write("absent_class", "n_classes = 3 but only classes 0 and 2 in training: class 1 gets probability 0", x, y, 3, [(1.0, True)])

    data = tweets("Hillary Clinton")[:300]
    x, _ = bag_of_words([t for t, _ in data], [], 2)
    y = np.array([STANCES.index(s) for _, s in data])
    write("multiclass_bow", "first 300 Hillary Clinton tweets, 3 stances, unigram counts (min_df 2); "
          "alpha 1e-4 makes linfa-logistic 0.8.1's MultiLogisticRegression stop early", x, y, 3, [(1.0, True), (1e-4, True)])

    # Wide and tall, two and three classes, with and without intercept: the shapes the
    # truncated Newton solver meets (src/model/newton.rs).
    data = tweets("Feminist Movement")
    pick = [d for d in data if d[1] in ("AGAINST", "FAVOR")]
    train, test = pick[:500], pick[500:560]
    x, x_test = bag_of_words([t for t, _ in train], [t for t, _ in test], 3)
    y = np.array([STANCES.index(s) for _, s in train])
    write("binary_tall", "500 Feminist Movement tweets (AGAINST=0, FAVOR=1), unigram counts (min_df 3), "
          "more rows than features; 60 held-out tweets", x, y, 2, [(1.0, True), (1.0, False)], x_test)

    data = tweets("Atheism")
    train, test = data[:40], data[40:60]
    x, x_test = bag_of_words([t for t, _ in train], [t for t, _ in test], 1)
    y = np.array([STANCES.index(s) for _, s in train])
    write("multiclass_wide", "40 Atheism tweets, 3 stances, unigram counts, more features than rows; "
          "20 held-out tweets", x, y, 3, [(1.0, True), (1.0, False)], x_test)

    data = tweets("Legalization of Abortion")
    train, test = data[:560], data[560:620]
    x, x_test = bag_of_words([t for t, _ in train], [t for t, _ in test], 3)
    y = np.array([STANCES.index(s) for _, s in train])
    write("multiclass_tall", "560 Legalization of Abortion tweets, 3 stances, unigram counts (min_df 3), "
          "more rows than features; 60 held-out tweets", x, y, 3, [(1.0, True), (0.1, False)], x_test)

    # class_weight="balanced" on imbalanced classes, two and three of them, wide and tall.
    rng = np.random.default_rng(20261206)
    x = rng.poisson(1.0, size=(14, 5)).astype(float)
    y = np.array([0] * 4 + [1] * 10)
    x[y == 0, 0] += 1
    write("binary_balanced", "14 x 5 counts, class 0 is the minority (4 of 14); class_weight balanced and not",
          x, y, 2, [(1.0, True, "balanced"), (1.0, False, "balanced"), (1.0, True)])

    data = tweets("Atheism")
    pick = [d for d in data if d[1] in ("AGAINST", "FAVOR")]
    train, test = pick[:60], pick[60:80]
    x, x_test = bag_of_words([t for t, _ in train], [t for t, _ in test], 1)
    y = np.array([STANCES.index(s) for _, s in train])
    write("binary_balanced_bow", "60 Atheism tweets (AGAINST=0, FAVOR=1, imbalanced), unigram counts, wide; "
          "class_weight balanced; 20 held-out tweets", x, y, 2, [(1.0, True, "balanced"), (0.1, True, "balanced")], x_test)

    data = tweets("Climate Change is a Real Concern")
    train, test = data[:200], data[200:240]
    x, x_test = bag_of_words([t for t, _ in train], [t for t, _ in test], 2)
    y = np.array([STANCES.index(s) for _, s in train])
    write("multiclass_balanced", "200 Climate Change tweets, 3 stances (few AGAINST), unigram counts (min_df 2); "
          "class_weight balanced; 40 held-out tweets", x, y, 3,
          [(1.0, True, "balanced"), (1.0, False, "balanced"), (1.0, True)], x_test)


if __name__ == "__main__":
    main()
