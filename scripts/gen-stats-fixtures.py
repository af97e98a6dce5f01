#!/usr/bin/env python3
"""Reference values for `src/stats/` computed with numpy, scipy and statsmodels.

Writes tests/fixtures/stats/{summary,paired,bootstrap_binomial}.json. The Rust unit tests
read them; `cargo test` never runs Python. Re-run after changing a case:

    python3 scripts/gen-stats-fixtures.py

Deterministic: every random input comes from a seeded numpy generator.

- summary.json: `numpy.quantile` (default method="linear") and mean / std(ddof=1). Numbers
  are written as repr strings so both sides parse them to the same bits (serde_json's default
  float parsing may be one ulp off): quantiles must agree with numpy exactly, not within a
  tolerance.
- paired.json: the corrected resampled t-test (Nadeau & Bengio 2003; Bouckaert & Frank 2004)
  computed by hand here, with the p-value from `scipy.stats.t.sf`; McNemar's exact test from
  `statsmodels.stats.contingency_tables.mcnemar(exact=True)`; binomial tails from
  `scipy.stats.binom.cdf`.
- bootstrap_binomial.json: `scipy.stats.binom.ppf` at the two tail quantiles. Bootstrapping
  the accuracy of n items of which k are right draws the number right from Bin(n, k/n), so
  percentile bootstrap endpoints must land on these counts (give or take one item).
"""

import json
import math
from pathlib import Path

import numpy as np
import scipy
import statsmodels
from scipy import stats
from statsmodels.stats.contingency_tables import mcnemar

OUT = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "stats"


def exact(x: float) -> str:
    return repr(float(x))


def quantile_cases(rng: np.random.Generator) -> list[dict]:
    levels = [0.95, 0.9, 0.8, 0.99]
    qs = [0.0, 1.0, 0.5, 0.025, 0.975, 0.1, 0.9, 0.3333333333333333]
    qs += [q for level in levels for q in ((1 - level) / 2, (1 + level) / 2)]
    samples = [
        [3.0],
        [1.0, 2.0],
        [40.0, 10.0, 30.0, 20.0],
        [0.5, 0.5, 0.5, 0.75, 0.25],
        list(rng.normal(size=7)),
        list(rng.normal(loc=1e6, scale=1e-3, size=9)),
        # Bootstrap-like: accuracies of 28 items over 2,000 resamples, full of ties.
        list(rng.binomial(28, 20 / 28, size=2000) / 28),
        list(rng.uniform(-5, 5, size=1999)),
        list(rng.exponential(size=41)),
    ]
    return [
        {
            "values": [exact(v) for v in values],
            "quantiles": [[exact(q), exact(np.quantile(np.array(values), q))] for q in qs],
        }
        for values in samples
    ]


def moment_cases(rng: np.random.Generator) -> list[dict]:
    samples = [
        [2.0, 4.0, 6.0, 8.0],
        [7.0],
        [0.1, 0.2, 0.3],
        list(rng.normal(size=25)),
        list(rng.normal(loc=1e8, scale=1.0, size=50)),
        list(rng.binomial(1, 0.7, size=28).astype(float)),
    ]
    cases = []
    for values in samples:
        array = np.array(values)
        std = exact(np.std(array, ddof=1)) if len(values) > 1 else None
        cases.append(
            {"values": [exact(v) for v in values], "mean": exact(np.mean(array)), "std": std}
        )
    return cases


def corrected_t_test(differences: np.ndarray, n_train: int, n_test: int) -> dict:
    """By hand: Nadeau & Bengio's corrected variance, then scipy's Student t tail."""
    count = len(differences)
    mean = float(np.mean(differences))
    variance = float(np.var(differences, ddof=1))
    corrected = (1.0 / count + n_test / n_train) * variance
    t = mean / math.sqrt(corrected)
    df = count - 1
    p = float(2.0 * stats.t.sf(abs(t), df))
    return {
        "differences": [float(d) for d in differences],
        "n_train": n_train,
        "n_test": n_test,
        "mean": mean,
        "corrected_variance": corrected,
        "t": t,
        "df": df,
        "p_value": min(p, 1.0),
    }


def check_t_test_by_hand() -> None:
    # 0.1, 0.2, 0.3: mean 0.2, s² = 0.01, factor 1/3 + 2/8; with 2 df the two-sided
    # p-value has the closed form 1 − t/√(t² + 2).
    case = corrected_t_test(np.array([0.1, 0.2, 0.3]), 8, 2)
    t = 0.2 / math.sqrt((1 / 3 + 0.25) * 0.01)
    assert math.isclose(case["t"], t, rel_tol=1e-12), case
    assert math.isclose(case["p_value"], 1 - t / math.sqrt(t * t + 2), rel_tol=1e-12), case


def t_test_cases(rng: np.random.Generator) -> list[dict]:
    check_t_test_by_hand()
    cases = [corrected_t_test(np.array([0.1, 0.2, 0.3]), 8, 2)]
    # (differences, n_train, n_test): 28 paragraphs in 5 folds is 22/6 (or 23/5).
    shapes = [(2, 22, 6), (5, 22, 6), (10, 22, 6), (25, 23, 5), (50, 80, 20), (100, 90, 10)]
    for count, n_train, n_test in shapes:
        for loc, scale in [(0.0, 0.1), (0.05, 0.1), (-0.2, 0.05)]:
            differences = rng.normal(loc=loc, scale=scale, size=count)
            cases.append(corrected_t_test(differences, n_train, n_test))
    # Accuracy differences on 6-paragraph test folds: multiples of 1/6, many ties.
    steps = rng.integers(-2, 4, size=50) / 6
    cases.append(corrected_t_test(steps, 22, 6))
    # A large t: p far in the tail.
    cases.append(corrected_t_test(0.1 + 1e-3 * rng.normal(size=100), 90, 10))
    return cases


def mcnemar_cases() -> list[dict]:
    pairs = [
        (0, 0), (0, 1), (1, 0), (0, 5), (1, 4), (2, 2), (0, 6), (3, 7), (10, 3), (12, 25),
        (40, 60), (100, 100), (150, 210), (500, 600), (1000, 1200), (2000, 2300),
        (1500, 1600), (2500, 2600), (0, 1000), (30, 2000), (4, 2500),
    ]
    cases = []
    for b, c in pairs:
        result = mcnemar(np.array([[7, b], [c, 11]]), exact=True)
        cases.append({"b": b, "c": c, "p_value": float(result.pvalue)})
    return cases


def binomial_tail_cases() -> list[dict]:
    pairs = [
        (0, 1), (0, 5), (1, 5), (2, 4), (3, 10), (5, 10), (7, 10), (10, 10), (12, 10),
        (20, 50), (25, 50), (40, 100), (300, 1000), (480, 1000), (499, 1000), (1900, 4000),
        (2450, 5000), (2000, 5000), (100, 5000), (600, 900), (4990, 5000),
    ]
    return [{"k": k, "n": n, "cdf": float(stats.binom.cdf(k, n, 0.5))} for k, n in pairs]


def bootstrap_binomial_cases() -> list[dict]:
    cases = []
    for items, correct, level in [(28, 20, 0.95), (28, 14, 0.95), (28, 27, 0.95), (50, 35, 0.9)]:
        rate = correct / items
        cases.append(
            {
                "items": items,
                "correct": correct,
                "resamples": 2000,
                "level": level,
                "low_count": float(stats.binom.ppf((1 - level) / 2, items, rate)),
                "high_count": float(stats.binom.ppf((1 + level) / 2, items, rate)),
            }
        )
    return cases


def write(name: str, content) -> None:
    path = OUT / name
    path.write_text(json.dumps(content, indent=1, sort_keys=True) + "\n")
    print(f"wrote {path.relative_to(OUT.parent.parent.parent)}")


def main() -> None:
    print(f"numpy {np.__version__}, scipy {scipy.__version__}, statsmodels {statsmodels.__version__}")
    OUT.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(20240605)
    write("summary.json", {"quantiles": quantile_cases(rng), "moments": moment_cases(rng)})
    write(
        "paired.json",
        {
            "t_tests": t_test_cases(rng),
            "mcnemar": mcnemar_cases(),
            "binomial_tails": binomial_tail_cases(),
        },
    )
    write("bootstrap_binomial.json", bootstrap_binomial_cases())


if __name__ == "__main__":
    main()
