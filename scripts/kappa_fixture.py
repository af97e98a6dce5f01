#!/usr/bin/env python3
"""Cohen's kappa cases for `src/labels/agreement.rs`, scored by scikit-learn.

Writes tests/fixtures/agreement/kappa_sklearn.jsonl: one JSON object per line with the two
annotators' labels (class indices), the observed agreement and scikit-learn's
`cohen_kappa_score` (null where scikit-learn returns NaN: expected agreement is 1).

Run from the repository root: python3 scripts/kappa_fixture.py
"""

import json
import math
import warnings
from pathlib import Path

import numpy as np
import sklearn
from sklearn.metrics import cohen_kappa_score

OUT = Path("tests/fixtures/agreement/kappa_sklearn.jsonl")


def cases():
    # Edge cases first: perfect agreement, total disagreement, a single shared class
    # (kappa undefined), one annotator constant, classes one annotator never uses.
    yield "perfect", [0, 1, 2, 0, 1, 2], [0, 1, 2, 0, 1, 2]
    yield "opposite", [0, 1, 0, 1], [1, 0, 1, 0]
    yield "one class each, same", [1, 1, 1, 1], [1, 1, 1, 1]
    yield "single item", [2], [2]
    yield "one annotator constant", [0, 0, 0, 0, 0], [0, 1, 0, 2, 0]
    yield "disjoint classes", [0, 0, 1, 1], [2, 2, 2, 2]
    yield "hand example", [0, 0, 1, 1], [0, 1, 1, 1]
    rng = np.random.default_rng(20241123)
    for i in range(12):
        n = int(rng.integers(5, 60))
        k = int(rng.integers(2, 4))
        first = rng.integers(0, k, size=n)
        # Second annotator agrees with probability p, otherwise picks at random.
        p = float(rng.uniform(0.2, 0.95))
        agree = rng.random(n) < p
        second = np.where(agree, first, rng.integers(0, k, size=n))
        yield f"random {i}", first.tolist(), second.tolist()


def main():
    lines = []
    for name, first, second in cases():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            kappa = float(cohen_kappa_score(first, second))
        observed = sum(a == b for a, b in zip(first, second)) / len(first)
        record = {
            "case": name,
            "first": first,
            "second": second,
            "observed": observed,
            "kappa": None if math.isnan(kappa) else kappa,
        }
        lines.append(json.dumps(record))
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text("\n".join(lines) + "\n")
    print(f"wrote {len(lines)} cases to {OUT} (scikit-learn {sklearn.__version__})")


if __name__ == "__main__":
    main()
