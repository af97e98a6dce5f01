#!/usr/bin/env python3
"""The scikit-learn reference of `stance`'s feature unions (`[[features]]`).

Fits scikit-learn's `FeatureUnion([CountVectorizer(ngram_range=(1, 3)),
TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True)])` on the training
rows of the seed paragraphs (tests/fixtures/features/corpora/seeds.json: every row but each
third) and transforms the others, and writes both matrices (CSR) and the feature names to
tests/fixtures/features/union.json.gz. Run from the repository root:
python3 scripts/gen-union-fixture.py (scikit-learn 1.9.1; no shared data needed).
"""

import gzip
import json

import sklearn
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.pipeline import FeatureUnion

docs = json.load(open("tests/fixtures/features/corpora/seeds.json", encoding="utf-8"))
test_rows = [i for i in range(len(docs)) if i % 3 == 2]
train_rows = [i for i in range(len(docs)) if i % 3 != 2]
union = FeatureUnion([
    ("word", CountVectorizer(ngram_range=(1, 3))),
    ("char", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True)),
])
train = union.fit_transform([docs[i] for i in train_rows]).tocsr()
test = union.transform([docs[i] for i in test_rows]).tocsr()


def csr(m):
    m.sort_indices()
    return {"shape": list(m.shape), "indptr": m.indptr.tolist(), "indices": m.indices.tolist(), "data": m.data.tolist()}


out = {
    "generator": f"scripts/gen-union-fixture.py, scikit-learn {sklearn.__version__}",
    "train_rows": train_rows,
    "test_rows": test_rows,
    "features": [str(name) for name in union.get_feature_names_out()],
    "train": csr(train),
    "test": csr(test),
}
with open("tests/fixtures/features/union.json.gz", "wb") as raw:
    with gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=9, mtime=0) as f:
        f.write(json.dumps(out).encode("utf-8"))
print(train.shape, test.shape)
