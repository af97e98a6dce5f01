#!/usr/bin/env python3
"""Cohen's kappa with its asymptotic 95% interval for `src/labels/agreement.rs`, by statsmodels.

Writes tests/fixtures/agreement/kappa_interval_statsmodels.jsonl: one JSON object per line with
the two annotators' labels (class indices), and statsmodels' `cohens_kappa` on their
contingency table: kappa, its large-sample standard error (Fleiss, Cohen & Everitt 1969,
`std_kappa`) and the interval kappa ± z·se at 95% (`kappa_low`, `kappa_upp`).

Run from the repository root: python3 scripts/gen-kappa-interval-fixture.py
"""

import json
from pathlib import Path

import numpy as np
import statsmodels
from statsmodels.stats.inter_rater import cohens_kappa

OUT = Path("tests/fixtures/agreement/kappa_interval_statsmodels.jsonl")


def cases():
    yield "hand example", [0, 0, 1, 1, 0, 1, 0, 1, 1, 0], [0, 1, 1, 1, 0, 1, 0, 0, 1, 0]
    yield "perfect", [0, 1, 2, 0, 1, 2, 0, 1, 2, 0], [0, 1, 2, 0, 1, 2, 0, 1, 2, 0]
    yield "opposite", [0, 1] * 6, [1, 0] * 6
    yield "one annotator constant", [0] * 12, [0, 1, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0]
    rng = np.random.default_rng(20261206)
    for i in range(14):
        n = int(rng.integers(10, 200))
        k = int(rng.integers(2, 5))
        first = rng.integers(0, k, size=n)
        p = float(rng.uniform(0.2, 0.95))
        agree = rng.random(n) < p
        second = np.where(agree, first, rng.integers(0, k, size=n))
        yield f"random {i}", first.tolist(), second.tolist()


def main():
    lines = []
    for name, first, second in cases():
        k = max(max(first), max(second)) + 1
        table = np.zeros((k, k))
        for a, b in zip(first, second):
            table[a, b] += 1
        # Classes neither annotator used would be empty rows and columns: they change nothing.
        used = sorted(set(first) | set(second))
        table = table[np.ix_(used, used)]
        result = cohens_kappa(table)
        lines.append(json.dumps({
            "case": name,
            "first": first,
            "second": second,
            "kappa": float(result["kappa"]),
            "se": float(result["std_kappa"]),
            "low": float(result["kappa_low"]),
            "high": float(result["kappa_upp"]),
        }))
    OUT.write_text("\n".join(lines) + "\n")
    print(f"{OUT}: {len(lines)} cases, statsmodels {statsmodels.__version__}")


if __name__ == "__main__":
    main()
