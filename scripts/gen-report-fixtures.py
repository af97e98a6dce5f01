#!/usr/bin/env python3
"""Reference values for what `stance report` draws, from scikit-learn, scipy and statsmodels.

Writes
- tests/fixtures/metrics/curves.json: `sklearn.metrics.roc_curve(drop_intermediate=False)`
  and `sklearn.calibration.calibration_curve(strategy="uniform")` with each non-empty bin's
  count (`numpy.bincount` of the same bin ids);
- tests/fixtures/stats/proportion.json: Wilson score intervals from
  `statsmodels.stats.proportion.proportion_confint(method="wilson")`;
- tests/fixtures/stats/t_interval.json: the interval of the corrected resampled t-test,
  `scipy.stats.t.interval(level, df, loc=mean, scale=sqrt(corrected variance))`.

Deterministic (seeded numpy generator). Run from the repository root:
    python3 scripts/gen-report-fixtures.py
"""

import json
import math
from pathlib import Path

import numpy as np
import scipy.stats
from sklearn.calibration import calibration_curve
from sklearn.metrics import roc_curve
from statsmodels.stats.proportion import proportion_confint

rng = np.random.default_rng(19)


def roc_case(name, positive, scores):
    fpr, tpr, thresholds = roc_curve(np.asarray(positive, dtype=int), scores, drop_intermediate=False)
    return {
        "name": name,
        "positive": [bool(p) for p in positive],
        "scores": [float(s) for s in scores],
        "thresholds": [None if math.isinf(t) else float(t) for t in thresholds],
        "fpr": fpr.tolist(),
        "tpr": tpr.tolist(),
    }


def calibration_case(name, positive, probabilities, n_bins):
    y = np.asarray(positive, dtype=int)
    p = np.asarray(probabilities, dtype=float)
    prob_true, prob_pred = calibration_curve(y, p, n_bins=n_bins, strategy="uniform")
    bins = np.linspace(0.0, 1.0, n_bins + 1)
    ids = np.searchsorted(bins[1:-1], p)
    counts = np.bincount(ids, minlength=n_bins)
    return {
        "name": name,
        "positive": [bool(v) for v in positive],
        "probabilities": p.tolist(),
        "n_bins": n_bins,
        "prob_true": prob_true.tolist(),
        "prob_pred": prob_pred.tolist(),
        "counts": [int(c) for c in counts if c > 0],
    }


roc = [
    roc_case("separable", [0, 0, 1, 1], [0.1, 0.3, 0.6, 0.9]),
    roc_case("ties", [0, 1, 0, 1, 1, 0], [0.5, 0.5, 0.2, 0.8, 0.2, 0.9]),
    roc_case("all one score", [0, 1, 1], [0.4, 0.4, 0.4]),
]
for n in (22, 100):
    positive = rng.random(n) < 0.45
    scores = np.clip(rng.normal(0.5 + 0.2 * positive, 0.2), 0, 1).round(3)
    roc.append(roc_case(f"random {n}", positive, scores))

calibration = [
    calibration_case("on the edges", [0, 1, 0, 1, 1, 0, 1], [0.0, 0.2, 0.4, 0.6, 0.8, 1.0, 0.6], 5),
    calibration_case("one bin used", [0, 1, 1], [0.55, 0.56, 0.57], 10),
]
for n, bins in ((22, 5), (28, 5), (300, 10), (300, 7)):
    positive = rng.random(n) < 0.5
    probabilities = np.clip(rng.beta(2 + 3 * positive, 2 + 3 * ~positive), 0, 1)
    calibration.append(calibration_case(f"random {n}, {bins} bins", positive, probabilities, bins))

Path("tests/fixtures/metrics/curves.json").write_text(
    json.dumps({"generator": "scripts/gen-report-fixtures.py", "roc": roc, "calibration": calibration}, indent=1) + "\n"
)

proportion = []
for successes, trials, level in [
    (0, 1, 0.95), (1, 1, 0.95), (4, 5, 0.95), (9, 17, 0.95), (0, 22, 0.95), (22, 22, 0.95),
    (12, 22, 0.9), (3, 10, 0.99), (500, 1000, 0.95), (1, 3, 0.5),
]:
    low, high = proportion_confint(successes, trials, alpha=1 - level, method="wilson")
    proportion.append({"successes": successes, "trials": trials, "level": level,
                       "low": float(low), "high": float(high)})
Path("tests/fixtures/stats/proportion.json").write_text(json.dumps(proportion, indent=1) + "\n")

t_interval = []
for differences, n_train, n_test, level in [
    ([0.1, -0.05, 0.2, 0.0, 0.15], 17, 5, 0.95),
    ([0.0, 0.25, -0.1, 0.05, 0.3, 0.1, -0.2, 0.15, 0.05, 0.0], 18, 4, 0.95),
    (rng.normal(0.03, 0.1, 50).tolist(), 80, 20, 0.9),
]:
    d = np.asarray(differences)
    df = len(d) - 1
    mean = d.mean()
    variance = (1 / len(d) + n_test / n_train) * d.var(ddof=1)
    low, high = scipy.stats.t.interval(level, df, loc=mean, scale=math.sqrt(variance))
    t_interval.append({"differences": d.tolist(), "n_train": n_train, "n_test": n_test,
                       "level": level, "low": float(low), "high": float(high)})
Path("tests/fixtures/stats/t_interval.json").write_text(json.dumps(t_interval, indent=1) + "\n")
