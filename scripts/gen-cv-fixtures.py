#!/usr/bin/env python3
"""Reference folds for `src/cv.rs` from scikit-learn's StratifiedGroupKFold.

Writes tests/fixtures/cv/stratified_group_kfold.json. Each case holds classes `y`, groups and
a fold count, with:
- `unshuffled`: each row's test fold under `StratifiedGroupKFold(shuffle=False)`, which `cv.rs`
  must reproduce exactly when groups are taken in ascending order;
- `shuffled_balance`: for random_state 0..SEEDS-1 with `shuffle=True`, the class balance of the
  folds (the mean over classes of the standard deviation across folds of each fold's share of
  the class, the quantity the algorithm minimises) and the spread of fold sizes, which the
  seeded ChaCha8 shuffle of `cv.rs` must match on average (its permutations differ from numpy's).
Run from the repository root:  python3 scripts/gen-cv-fixtures.py
"""

import json
from pathlib import Path

import numpy as np
import sklearn
from sklearn.model_selection import StratifiedGroupKFold

OUT = Path("tests/fixtures/cv")
GENERATOR = f"scripts/gen-cv-fixtures.py, scikit-learn {sklearn.__version__}"
SEEDS = 200


def balance(y, fold_of, folds):
    y = np.asarray(y)
    n_classes = y.max() + 1
    totals = np.bincount(y, minlength=n_classes)
    shares = np.array([[np.sum((fold_of == f) & (y == c)) / totals[c] for c in range(n_classes)] for f in range(folds)])
    sizes = np.bincount(fold_of, minlength=folds)
    return float(np.std(shares, axis=0).mean()), int(sizes.max() - sizes.min())


def folds_of(splitter, y, groups):
    fold_of = np.full(len(y), -1)
    for fold, (_, test) in enumerate(splitter.split(np.zeros(len(y)), y, groups)):
        fold_of[test] = fold
    assert (fold_of >= 0).all()
    return fold_of


def case(name, y, groups, folds):
    y = np.asarray(y)
    groups = np.asarray(groups)
    unshuffled = folds_of(StratifiedGroupKFold(n_splits=folds), y, groups)
    balances, size_spreads = [], []
    for seed in range(SEEDS):
        fold_of = folds_of(StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed), y, groups)
        b, s = balance(y, fold_of, folds)
        balances.append(b)
        size_spreads.append(s)
    return {
        "name": name,
        "folds": folds,
        "y": y.tolist(),
        "groups": groups.tolist(),
        "unshuffled": unshuffled.tolist(),
        "unshuffled_balance": balance(y, unshuffled, folds)[0],
        "shuffled_balance": {
            "seeds": SEEDS,
            "mean": float(np.mean(balances)),
            "std": float(np.std(balances, ddof=1)),
            "mean_size_spread": float(np.mean(size_spreads)),
            "size_spread_std": float(np.std(size_spreads, ddof=1)),
        },
    }


def mixed_groups(rng, n_groups, n_classes, max_size):
    """Groups of 1..max_size rows, each with its own class mix (a Dirichlet draw)."""
    y, groups = [], []
    for g in range(n_groups):
        size = int(rng.integers(1, max_size + 1))
        mix = rng.dirichlet(np.full(n_classes, 0.5))
        y.extend(int(c) for c in rng.choice(n_classes, size=size, p=mix))
        groups.extend([g] * size)
    return y, groups


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(16)
    cases = []
    y, groups = mixed_groups(rng, 40, 3, 12)
    cases.append(case("40 groups of mixed classes, 3 classes, 5 folds", y, groups, 5))
    y, groups = mixed_groups(rng, 25, 2, 20)
    cases.append(case("25 groups of mixed classes, 2 classes, 4 folds", y, groups, 4))
    # Labels constant within groups (articles labelled as a whole), group ids not contiguous.
    sizes = rng.integers(1, 9, 60)
    labels = rng.choice(3, size=60, p=[0.5, 0.3, 0.2])
    y = [int(labels[g]) for g in range(60) for _ in range(sizes[g])]
    groups = [int(7 * g + 3) for g in range(60) for _ in range(sizes[g])]
    cases.append(case("60 groups each of one class, 3 classes, 5 folds", y, groups, 5))
    # Ties everywhere: equal groups, so the fewer-rows rule and the order decide.
    y = [g % 2 for g in range(12) for _ in range(3)]
    groups = [g for g in range(12) for _ in range(3)]
    cases.append(case("12 equal groups of one class each, 3 folds", y, groups, 3))
    (OUT / "stratified_group_kfold.json").write_text(json.dumps({"generator": GENERATOR, "cases": cases}) + "\n")


if __name__ == "__main__":
    main()
