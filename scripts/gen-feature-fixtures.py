#!/usr/bin/env python3
"""Generate the scikit-learn parity fixtures of `stance`'s featurizer (tests/it/features.rs).

For three small corpora (the seed paragraphs, ~300 news articles truncated, a Unicode stress
text) and a list of `[features]` settings, run the scikit-learn vectorizer with the same meaning
and write (gzipped) what it produced: vocabulary and CSR matrix, and for some cases the matrix of
held-out documents transformed with features fitted on the others.

Run from the repository root: `python3 scripts/gen-feature-fixtures.py`. Needs scikit-learn
1.9.1 and ../shared beside the repository, or $STANCE_SHARED (the seeds and allsides-25mb.jsonl.gz); the output is committed, so
tests need neither.
"""

import glob
import gzip
import io
import json
import os

import numpy as np
import sklearn
from sklearn.feature_extraction.text import (
    CountVectorizer,
    HashingVectorizer,
    TfidfTransformer,
    TfidfVectorizer,
)
from sklearn.preprocessing import normalize

SHARED = os.environ.get(
    "STANCE_SHARED", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared")
)
OUT = "tests/fixtures/features"
NEWS_DOCS = 300
NEWS_CHARS = 1000

UNICODE_DOCS = [
    "Café CAFÉ cafe\u0301 naïve Ångström façade résumé Zürich ÉCOLE",
    "北京和莫斯科的关系 日本語のテキスト 한국어 텍스트 中文 x 莫",
    "I \u2764\ufe0f NY \U0001f1f0\U0001f1f5\U0001f1e8\U0001f1f3 \U0001f44d\U0001f3fd "
    "family: \U0001f468\u200d\U0001f469\u200d\U0001f467 ok\U0001f44cok",
    "\u201cDon\u2019t\u201d he said\u2014\u2018it\u2019s\u2019 Kim\u2019s \u00abguillemets\u00bb \u201elow\u201c",
    "2024 1,000,000 3.14 \u00bd\u00bd x\u00b2 \u2460\u2461 \u0663\u0664\u0665 \u0967\u0968\u0969 "
    "\uff11\uff12\uff13 \u216b\u216b \u2166x 4th 10\u00a2",
    "snake_case __init__ _private_ a_b _ __ ___ x_ _y",
    "\u0939\u093f\u0928\u094d\u0926\u0940 \u0ba4\u0bae\u0bbf\u0bb4\u0bcd \u0e44\u0e17\u0e22 "
    "\u0627\u0644\u0639\u064e\u0631\u064e\u0628\u0650\u064a\u064e\u0651\u0629 a\u0345b "
    "\u1fb3\u1fb3 \u24b6\u24d1\u24d2 \u1f88\u1f88",
    "\u0130STANBUL \u0130stanbul \u039f\u0394\u03a5\u03a3\u03a3\u0395\u03a5\u03a3 \u03a3\u0391\u03a3 "
    "\u03a3 \u0391\u03a3. \u0391\u03a3'\u0391 \u0391\u03a3\u0345 STRA\u1e9eE Stra\u00dfe "
    "\u01c5emal \ufb01ne \u212aelvin \u2126hm",
    "\u13e3\u13b3\u13a9 \u1ca1\u1c90\u1ca5\u1c90\u1ca0\u1c97\u1c95\u1c94\u1c9a\u1c9d "
    "\U00031350\U00031351 \U0001e030\U0001e031 \U00010d50\U00010d51 \U00011f04\U00011f05 "
    "\uff21\uff22\uff23",
    "tab\there nbsp\u00a0here line\u2028break sep\x1cfour zero\u200bwidth  double   "
    "spaces \u3000ideographic\x85next",
    "",
    "!!! ... ??? \u2014 \u2026",
    "a b c \u00e9 \u4e2d",
    "Kim Jong-un's 2nd visit to Russia's Far-East (Vladivostok) \u2014 \u201ca new era\u201d?",
    "THE the The tHe \u0398\u0395 the",
]


def corpora():
    seeds = []
    for path in sorted(glob.glob(os.path.join(SHARED, "seeds", "*.txt"))):
        with open(path, encoding="utf-8", newline="") as f:
            seeds.extend(f.read().split("\n"))
    news = []
    with gzip.open(os.path.join(SHARED, "data/news/allsides-25mb.jsonl.gz"), "rt", encoding="utf-8") as f:
        for line in f:
            news.append(json.loads(line)["text"][:NEWS_CHARS])
            if len(news) == NEWS_DOCS:
                break
    return {"seeds": seeds, "news": news, "unicode": UNICODE_DOCS}


def vectorizer(config):
    """The scikit-learn estimator with the meaning of a `[features]` table, and its label."""
    common = {
        "lowercase": config.get("lowercase", True),
        "analyzer": config.get("analyzer", "word"),
        "ngram_range": tuple(config.get("ngram_range", (1, 1))),
        "binary": config.get("binary", False),
        "token_pattern": config.get("token_pattern", r"(?u)\b\w\w+\b"),
    }
    stop = config.get("stop_words", "none")
    common["stop_words"] = None if stop == "none" else stop
    tfidf = config.get("weighting", "count") == "tfidf"
    norm = config.get("norm", "l2" if tfidf else "none")
    norm = None if norm == "none" else norm
    idf = {"smooth_idf": config.get("smooth_idf", True), "sublinear_tf": config.get("sublinear_tf", False)}
    if "hashing" in config:
        h = config["hashing"]
        hasher = HashingVectorizer(
            n_features=h["n_features"], alternate_sign=h.get("alternate_sign", True), norm=None, **common
        )
        if tfidf:
            return ("hashing+tfidf", hasher, TfidfTransformer(norm=norm, **idf))
        return ("hashing", hasher, norm)
    limits = {k: config[k] for k in ("min_df", "max_df", "max_features") if k in config}
    if tfidf:
        return ("tfidf", TfidfVectorizer(norm=norm, **idf, **common, **limits), None)
    return ("count", CountVectorizer(**common, **limits), norm)


def fit_transform(config, fit_docs, other_docs):
    kind, est, extra = vectorizer(config)
    if kind == "hashing+tfidf":
        X = extra.fit_transform(est.transform(fit_docs))
        Y = extra.transform(est.transform(other_docs)) if other_docs else None
        return None, X, Y, f"{est!r} + {extra!r}"
    if kind == "hashing":
        X, Y = est.transform(fit_docs), (est.transform(other_docs) if other_docs else None)
        vocab = None
    else:
        X = est.fit_transform(fit_docs)
        Y = est.transform(other_docs) if other_docs else None
        vocab = [str(t) for t in est.get_feature_names_out()]
    label = repr(est)
    if kind in ("count", "hashing") and extra is not None:
        X = normalize(X.astype(np.float64), norm=extra)
        Y = normalize(Y.astype(np.float64), norm=extra) if Y is not None else None
        label += f" + normalize(norm={extra!r})"
    return vocab, X, Y, label


def untied_max_features(config, docs):
    """The largest max_features up to the configured one with no tie at the cut.

    numpy's unstable argsort resolves ties at the cut arbitrarily, while stance keeps the
    smaller terms; a cut between different frequencies makes the two agree by construction.
    (stance's tie rule has its own hand-checked test.)"""
    if "max_features" not in config:
        return config
    unlimited = {k: v for k, v in config.items() if k != "max_features"}
    unlimited.pop("weighting", None)
    for key in ("sublinear_tf", "smooth_idf", "norm"):
        unlimited.pop(key, None)
    _, counter, _ = vectorizer(unlimited)
    X = counter.fit_transform(docs)
    if config.get("binary"):
        X.data[:] = 1
    tf = sorted(np.asarray(X.sum(axis=0)).ravel(), reverse=True)
    k = min(config["max_features"], len(tf) - 1)
    while k > 1 and tf[k - 1] == tf[k]:
        k -= 1
    return {**config, "max_features": k}


def csr_json(X):
    X = X.tocsr()
    X.sort_indices()
    integral = np.issubdtype(X.dtype, np.integer)
    # 12 significant digits: far inside the tests' 1e-9 tolerance, and half the bytes.
    data = [int(v) for v in X.data] if integral else [float(f"{v:.12g}") for v in X.data]
    return {"shape": list(X.shape), "indptr": [int(v) for v in X.indptr], "indices": [int(v) for v in X.indices], "data": data}


CASES = {
    "default": {},
    "ngram_1_2": {"ngram_range": [1, 2]},
    "ngram_2_3_stop_list": {"ngram_range": [2, 3], "stop_words": ["the", "of", "and"]},
    "binary": {"binary": True},
    "min_df_2": {"min_df": 2},
    "df_proportions": {"min_df": 0.02, "max_df": 0.5},
    "max_features": {"max_features": 60},
    "max_features_binary_bigrams": {"max_features": 40, "binary": True, "ngram_range": [1, 2]},
    "stop_words_english": {"stop_words": "english"},
    "no_lowercase": {"lowercase": False},
    "tfidf": {"weighting": "tfidf"},
    "tfidf_sublinear_l1_raw_idf": {"weighting": "tfidf", "sublinear_tf": True, "norm": "l1", "smooth_idf": False},
    "tfidf_binary_bigrams_min_df": {"weighting": "tfidf", "binary": True, "ngram_range": [1, 2], "min_df": 2},
    "count_l2": {"norm": "l2"},
    "char_wb_1_3": {"analyzer": "char_wb", "ngram_range": [1, 3]},
    "char_wb_3_5": {"analyzer": "char_wb", "ngram_range": [3, 5], "min_df": 2},
    "char_1_3": {"analyzer": "char", "ngram_range": [1, 3]},
    "char_2_4_no_lowercase_tfidf": {"analyzer": "char", "ngram_range": [2, 4], "lowercase": False, "weighting": "tfidf"},
    # token_pattern: the default written out, single-character words, a capturing group (with
    # bigrams), and a class written out with stop words and no lowercasing. Python's `\w` and
    # `\b` differ from the `regex` crate's on combining marks and numeric signs, so the
    # Unicode stress text only takes the patterns that do not use them.
    "token_pattern_default_written_out": {"token_pattern": r"(?u)\b\w\w+\b"},
    "token_pattern_single_characters": {"token_pattern": r"(?u)\b\w+\b"},
    "token_pattern_group_bigrams": {"token_pattern": r"[#@$]?([a-z0-9]{2,})", "ngram_range": [1, 2]},
    "token_pattern_letters_stop_words": {"token_pattern": "[A-Za-z][A-Za-z'\u2019]+", "lowercase": False,
                                         "stop_words": "english"},
    "hashing": {"hashing": {"n_features": 1024}},
    "hashing_small_unsigned_binary": {"hashing": {"n_features": 16, "alternate_sign": False}, "binary": True},
    "hashing_small_signed": {"hashing": {"n_features": 8}, "ngram_range": [1, 2]},
    "hashing_char_wb_tfidf": {"hashing": {"n_features": 512}, "analyzer": "char_wb", "ngram_range": [2, 3], "weighting": "tfidf"},
}

# Which cases run on which corpus (news is larger, so fewer and smaller cases).
PLAN = {
    "seeds": list(CASES),
    "unicode": [c for c in CASES if c not in ("df_proportions", "max_features_binary_bigrams",
                                              "token_pattern_single_characters")],
    "news": [
        "default",
        "ngram_1_2",
        "binary",
        "min_df_2",
        "df_proportions",
        "max_features",
        "stop_words_english",
        "tfidf",
        "tfidf_sublinear_l1_raw_idf",
        "hashing",
        "token_pattern_single_characters",
        "token_pattern_group_bigrams",
    ],
}

# Cases that also fit on the first part and transform the rest (unknown terms ignored).
HELD_OUT = {"default", "ngram_1_2", "token_pattern_group_bigrams", "tfidf", "tfidf_sublinear_l1_raw_idf", "char_wb_1_3", "char_1_3", "hashing_char_wb_tfidf"}


def main():
    os.makedirs(f"{OUT}/corpora", exist_ok=True)
    os.makedirs(f"{OUT}/expected", exist_ok=True)
    for name, docs in corpora().items():
        with open(f"{OUT}/corpora/{name}.json", "w", encoding="utf-8") as f:
            json.dump(docs, f, ensure_ascii=False, indent=0)
            f.write("\n")
        for case in PLAN[name]:
            config = untied_max_features(CASES[case], docs)
            vocab, X, _, label = fit_transform(config, docs, [])
            record = {
                "generator": f"scripts/gen-feature-fixtures.py, scikit-learn {sklearn.__version__}",
                "corpus": name,
                "config": config,
                "sklearn": label,
                "vocabulary": vocab,
                "matrix": csr_json(X),
            }
            if case in HELD_OUT and (name != "news" or case == "tfidf"):
                split = len(docs) * 2 // 3
                vocab_fit, _, Y, _ = fit_transform(config, docs[:split], docs[split:])
                record["held_out"] = {"fit_rows": split, "vocabulary": vocab_fit, "matrix": csr_json(Y)}
            # mtime=0 so that regenerating unchanged fixtures gives identical bytes.
            path = f"{OUT}/expected/{name}__{case}.json.gz"
            with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz, \
                    io.TextIOWrapper(gz, encoding="utf-8") as f:
                json.dump(record, f, ensure_ascii=False, separators=(",", ":"))
                f.write("\n")


if __name__ == "__main__":
    main()
