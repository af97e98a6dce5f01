//! Featurizer benchmarks: tokenise, fit a vocabulary, transform, tf-idf, char n-grams, word
//! bigrams, hashing.
//!
//! Corpus: the first few MB of `allsides-25mb.jsonl.gz` when the shared data is present
//! (`STANCE_BENCH_CORPUS`, `../shared/data/news/` beside the repository, or
//! `$STANCE_SHARED/data/news/`), else a
//! deterministic corpus shuffled from the seed paragraphs (seed 0). Each bench asserts, inside
//! the timed loop, the token or non-zero count it computed before timing, so that it cannot
//! silently time a broken featurizer. Throughput is in bytes of text.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use rand::seq::SliceRandom;
use stance::features::{FeatureConfig, RawFeatureConfig};
use stance::input::{Batch, Decoding, DocumentReader, InputFormat};

/// Enough text for stable timings, little enough to keep `cargo bench` short.
const CORPUS_BYTES: usize = 4 << 20;

fn news_path() -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    std::env::var_os("STANCE_BENCH_CORPUS")
        .map(PathBuf::from)
        .into_iter()
        .chain(
            [root.join("../shared")]
                .into_iter()
                .chain(std::env::var_os("STANCE_SHARED").map(PathBuf::from))
                .map(|shared| shared.join("data/news/allsides-25mb.jsonl.gz")),
        )
        .find(|path| path.is_file())
}

fn corpus() -> (String, Vec<String>) {
    if let Some(path) = news_path() {
        let format = InputFormat::json_lines("text");
        let mut reader =
            DocumentReader::open(&path, format, Decoding::Strict).expect("open news corpus");
        let mut batch = Batch::new();
        reader
            .next_batch(&mut batch, CORPUS_BYTES)
            .expect("read news corpus");
        return (
            format!("news {}", path.display()),
            batch.iter().map(String::from).collect(),
        );
    }
    let seeds_path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/features/corpora/seeds.json");
    let seeds: Vec<String> =
        serde_json::from_slice(&std::fs::read(seeds_path).expect("seed corpus")).expect("json");
    let mut words: Vec<&str> = seeds.iter().flat_map(|p| p.split(' ')).collect();
    let mut rng = stance::rng::seeded(0, 0);
    let mut docs = Vec::new();
    let mut total = 0;
    while total < CORPUS_BYTES {
        words.shuffle(&mut rng);
        let doc = words[..800].join(" ");
        total += doc.len();
        docs.push(doc);
    }
    ("shuffled seed paragraphs".into(), docs)
}

fn feature_config(toml_text: &str) -> FeatureConfig {
    let raw: RawFeatureConfig = toml::from_str(toml_text).expect("bench config");
    raw.check().expect("valid bench config")
}

fn count_features(set: &FeatureConfig, docs: &[String]) -> usize {
    let mut analyzer = set.build_analyzer();
    let mut n = 0;
    for doc in docs {
        analyzer.analyze(doc, |_| n += 1);
    }
    n
}

fn benches(c: &mut Criterion) {
    let (name, docs) = corpus();
    let bytes: usize = docs.iter().map(String::len).sum();
    eprintln!("corpus: {name}, {} documents, {bytes} bytes", docs.len());

    let mut group = c.benchmark_group("featurize");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .throughput(Throughput::Bytes(bytes as u64));

    // Tokenise (lowercase + `\w\w+`) and char_wb n-grams, one thread, no counting.
    for (label, config) in [
        ("tokenise", ""),
        (
            "char_wb_2_4_ngrams",
            "analyzer = \"char_wb\"\nngram_range = [2, 4]",
        ),
    ] {
        let set = feature_config(config);
        let expected = count_features(&set, &docs);
        assert!(expected > 0);
        group.bench_function(BenchmarkId::new(label, bytes), |b| {
            b.iter(|| assert_eq!(count_features(&set, black_box(&docs)), expected));
        });
    }

    // Fit a vocabulary; fit_transform with several feature sets (all threads).
    let default = feature_config("");
    let n_terms = default.fit(&docs).expect("fit").n_features();
    group.bench_function(BenchmarkId::new("fit_vocabulary", bytes), |b| {
        b.iter(|| {
            assert_eq!(
                default.fit(black_box(&docs)).expect("fit").n_features(),
                n_terms
            )
        });
    });
    for (label, config) in [
        ("fit_transform_counts", ""),
        ("fit_transform_tfidf", "weighting = \"tfidf\""),
        (
            "fit_transform_char_wb_2_4",
            "analyzer = \"char_wb\"\nngram_range = [2, 4]",
        ),
        // Word bigrams: on the news corpus a term table past the caches (batched lookups).
        ("fit_transform_bigrams", "ngram_range = [1, 2]"),
        (
            "fit_transform_hashing",
            "hashing = { n_features = 1048576 }",
        ),
    ] {
        let set = feature_config(config);
        let nnz = set.fit_transform(&docs).expect("fit").1.nnz();
        group.bench_function(BenchmarkId::new(label, bytes), |b| {
            b.iter(|| {
                assert_eq!(
                    set.fit_transform(black_box(&docs)).expect("fit").1.nnz(),
                    nnz
                )
            });
        });
    }

    // Transform new documents with a vocabulary fitted on the other half.
    let (train, test) = docs.split_at(docs.len() / 2);
    let fitted = feature_config("weighting = \"tfidf\"")
        .fit(train)
        .expect("fit");
    let nnz = fitted.transform(test).nnz();
    let test_bytes: usize = test.iter().map(String::len).sum();
    group.throughput(Throughput::Bytes(test_bytes as u64));
    group.bench_function(BenchmarkId::new("transform_tfidf", test_bytes), |b| {
        b.iter(|| assert_eq!(fitted.transform(black_box(test)).nnz(), nnz));
    });
    group.finish();
}

criterion_group!(featurize, benches);
criterion_main!(featurize);
