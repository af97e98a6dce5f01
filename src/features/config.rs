//! The `[features]` section of an experiment: raw serde form in, checked [`FeatureConfig`] out.
//!
//! [`RawFeatureConfig`] mirrors the TOML with no logic; every field is optional and its absence
//! means scikit-learn's `CountVectorizer` default. [`RawFeatureConfig::check`] refuses bad values
//! naming the offending key, and resolves defaults that depend on other settings (`norm` is
//! `"l2"` under tf-idf, `"none"` under counts). A [`FeatureConfig`] cannot hold a bad value, and
//! [`FeatureConfig::to_raw`] gives back the fully resolved raw form for recording. This module
//! reads no files and knows nothing about TOML line numbers: callers map [`FeatureConfigError::key`].

use std::fmt;

use rustc_hash::FxHashSet;
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::ser::{SerializeSeq, Serializer};
use serde::{Deserialize, Serialize};

use super::pattern::{DEFAULT_TOKEN_PATTERN, TokenPattern};
use super::stop_words;

/// The `[features]` table as written, before any check. `Default` is scikit-learn's defaults.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFeatureConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub analyzer: Option<AnalyzerKind>,
    /// scikit-learn's `token_pattern` (word analyzer); absent: `(?u)\b\w\w+\b`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_pattern: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lowercase: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Two bounds; read as a list so that any other length is refused, not cut to two.
    pub ngram_range: Option<Vec<i64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_words: Option<StopWords>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stemming: Option<Stemming>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_df: Option<DocumentFrequency>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_df: Option<DocumentFrequency>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_features: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binary: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weighting: Option<Weighting>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smooth_idf: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sublinear_tf: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub norm: Option<Norm>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hashing: Option<RawHashing>,
}

/// `hashing = { n_features = …, alternate_sign = … }`: scikit-learn's `HashingVectorizer`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHashing {
    pub n_features: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alternate_sign: Option<bool>,
}

/// What a feature is made of.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnalyzerKind {
    /// Word n-grams of the `(?u)\b\w\w+\b` tokens.
    Word,
    /// Character n-grams inside whitespace-separated words, padded with one space each side.
    CharWb,
    /// Character n-grams of the whole text, runs of whitespace counted as one space.
    Char,
}

/// Snowball stemming of word tokens, after stop-word removal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stemming {
    None,
    English,
}

/// How counts become values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Weighting {
    Count,
    Tfidf,
}

/// Row normalisation, as `sklearn.preprocessing.normalize`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Norm {
    None,
    L1,
    L2,
}

/// `stop_words = "english" | "none" | ["a", "list"]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StopWords {
    None,
    /// scikit-learn's `ENGLISH_STOP_WORDS`.
    English,
    /// Removed as given: not lowercased, not stemmed.
    List(Vec<String>),
}

/// `min_df` / `max_df`: an integer is a document count, a float a proportion of documents.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum DocumentFrequency {
    Count(i64),
    Proportion(f64),
}

/// A key of `[features]` that `check` refused, and why.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {message}")]
pub struct FeatureConfigError {
    key: &'static str,
    message: String,
}

impl FeatureConfigError {
    fn new(key: &'static str, message: impl Into<String>) -> FeatureConfigError {
        FeatureConfigError {
            key,
            message: message.into(),
        }
    }

    /// The offending key, e.g. `"min_df"` or `"hashing.n_features"`.
    pub fn key(&self) -> &str {
        self.key
    }

    pub fn message(&self) -> &str {
        &self.message
    }
}

/// Where the columns come from.
#[derive(Clone, Debug, PartialEq)]
pub enum Columns {
    /// A vocabulary fitted on the documents, pruned by document frequency and size.
    Vocabulary {
        min_df: DocumentFrequency,
        max_df: DocumentFrequency,
        max_features: Option<usize>,
    },
    /// Feature hashing into `n_features` columns; nothing about terms is fitted.
    Hashing {
        n_features: u32,
        alternate_sign: bool,
    },
}

/// A checked feature set: every value valid, every default resolved.
#[derive(Clone, Debug, PartialEq)]
pub struct FeatureConfig {
    analyzer: AnalyzerKind,
    /// A user's pattern; `None` for the default, which the built-in scanner tokenises.
    token_pattern: Option<TokenPattern>,
    lowercase: bool,
    ngram_range: (usize, usize),
    stop_words: StopWords,
    stop_set: FxHashSet<String>,
    stemming: Stemming,
    columns: Columns,
    binary: bool,
    weighting: Weighting,
    smooth_idf: bool,
    sublinear_tf: bool,
    norm: Norm,
}

impl RawFeatureConfig {
    /// Validate every key and resolve defaults.
    pub fn check(self) -> Result<FeatureConfig, FeatureConfigError> {
        let analyzer = self.analyzer.unwrap_or(AnalyzerKind::Word);
        let ngram_range = check_ngram_range(self.ngram_range.as_deref().unwrap_or(&[1, 1]))?;
        let (stop_words, stemming) = self.check_word_filters(analyzer)?;
        let token_pattern = self.check_token_pattern(analyzer)?;
        let stop_set = match &stop_words {
            StopWords::None => FxHashSet::default(),
            StopWords::English => stop_words::ENGLISH.iter().map(|w| w.to_string()).collect(),
            StopWords::List(list) => list.iter().cloned().collect(),
        };
        let columns = match &self.hashing {
            Some(hashing) => self.check_hashing(hashing)?,
            None => self.check_vocabulary_limits()?,
        };
        let weighting = self.check_weighting()?;
        if weighting == Weighting::Tfidf
            && self.smooth_idf == Some(false)
            && matches!(columns, Columns::Hashing { .. })
        {
            // A hashed column no training document has would get idf = ln(n / 0) + 1 = ∞, and
            // every score of a document that has it NaN.
            return Err(FeatureConfigError::new(
                "smooth_idf",
                "smooth_idf = false cannot be used with hashing: a column no training document \
                 has would get an infinite idf; leave smooth_idf at true"
                    .to_owned(),
            ));
        }
        let default_norm = match weighting {
            Weighting::Count => Norm::None,
            Weighting::Tfidf => Norm::L2,
        };
        Ok(FeatureConfig {
            analyzer,
            token_pattern,
            lowercase: self.lowercase.unwrap_or(true),
            ngram_range,
            stop_words,
            stop_set,
            stemming,
            columns,
            binary: self.binary.unwrap_or(false),
            weighting,
            smooth_idf: self.smooth_idf.unwrap_or(true),
            sublinear_tf: self.sublinear_tf.unwrap_or(false),
            norm: self.norm.unwrap_or(default_norm),
        })
    }

    /// Stop words and stemming, which only the word analyzer has.
    fn check_word_filters(
        &self,
        analyzer: AnalyzerKind,
    ) -> Result<(StopWords, Stemming), FeatureConfigError> {
        let stop_words = self.stop_words.clone().unwrap_or(StopWords::None);
        let stemming = self.stemming.unwrap_or(Stemming::None);
        if analyzer != AnalyzerKind::Word {
            if stop_words != StopWords::None {
                return Err(FeatureConfigError::new(
                    "stop_words",
                    "stop words apply only to analyzer = \"word\"",
                ));
            }
            if stemming != Stemming::None {
                return Err(FeatureConfigError::new(
                    "stemming",
                    "stemming applies only to analyzer = \"word\"",
                ));
            }
        }
        Ok((stop_words, stemming))
    }

    /// The word analyzer's pattern: `None` for the default (written out or not), which the
    /// built-in scanner tokenises exactly as Python's `re` does.
    fn check_token_pattern(
        &self,
        analyzer: AnalyzerKind,
    ) -> Result<Option<TokenPattern>, FeatureConfigError> {
        let Some(source) = &self.token_pattern else {
            return Ok(None);
        };
        if analyzer != AnalyzerKind::Word {
            return Err(FeatureConfigError::new(
                "token_pattern",
                "token_pattern applies only to analyzer = \"word\"",
            ));
        }
        if source == DEFAULT_TOKEN_PATTERN {
            return Ok(None);
        }
        TokenPattern::new(source)
            .map(Some)
            .map_err(|message| FeatureConfigError::new("token_pattern", message))
    }

    /// Hashed columns: `n_features` in range, and no vocabulary limits beside them.
    fn check_hashing(&self, hashing: &RawHashing) -> Result<Columns, FeatureConfigError> {
        for (key, set) in [
            ("min_df", self.min_df.is_some()),
            ("max_df", self.max_df.is_some()),
            ("max_features", self.max_features.is_some()),
        ] {
            if set {
                return Err(FeatureConfigError::new(
                    key,
                    format!("{key} needs a fitted vocabulary and cannot be used with hashing"),
                ));
            }
        }
        let n_features = u32::try_from(hashing.n_features)
            .ok()
            .filter(|&n| (1..=MAX_HASHED_FEATURES).contains(&n))
            .ok_or_else(|| {
                FeatureConfigError::new(
                    "hashing.n_features",
                    format!(
                        "must be between 1 and {MAX_HASHED_FEATURES} (2^24), got {}",
                        hashing.n_features
                    ),
                )
            })?;
        Ok(Columns::Hashing {
            n_features,
            alternate_sign: hashing.alternate_sign.unwrap_or(true),
        })
    }

    /// A vocabulary's limits: `min_df` not above `max_df`, `max_features` at least 1.
    fn check_vocabulary_limits(&self) -> Result<Columns, FeatureConfigError> {
        let min_df = check_df("min_df", self.min_df.unwrap_or(DocumentFrequency::Count(1)))?;
        let max_df = check_df(
            "max_df",
            self.max_df.unwrap_or(DocumentFrequency::Proportion(1.0)),
        )?;
        match (min_df, max_df) {
            (DocumentFrequency::Count(lo), DocumentFrequency::Count(hi)) if lo > hi => {
                return Err(FeatureConfigError::new(
                    "min_df",
                    format!("min_df = {lo} is greater than max_df = {hi}"),
                ));
            }
            (DocumentFrequency::Proportion(lo), DocumentFrequency::Proportion(hi)) if lo > hi => {
                return Err(FeatureConfigError::new(
                    "min_df",
                    format!("min_df = {lo:?} is greater than max_df = {hi:?}"),
                ));
            }
            _ => {}
        }
        let max_features = match self.max_features {
            None => None,
            Some(n) if n >= 1 => Some(usize::try_from(n).unwrap_or(usize::MAX)),
            Some(n) => {
                return Err(FeatureConfigError::new(
                    "max_features",
                    format!("must be at least 1, got {n}"),
                ));
            }
        };
        Ok(Columns::Vocabulary {
            min_df,
            max_df,
            max_features,
        })
    }

    /// The weighting; idf settings only with tf-idf.
    fn check_weighting(&self) -> Result<Weighting, FeatureConfigError> {
        let weighting = self.weighting.unwrap_or(Weighting::Count);
        if weighting == Weighting::Count {
            for (key, set) in [
                ("smooth_idf", self.smooth_idf.is_some()),
                ("sublinear_tf", self.sublinear_tf.is_some()),
            ] {
                if set {
                    return Err(FeatureConfigError::new(
                        key,
                        format!("{key} applies only to weighting = \"tfidf\""),
                    ));
                }
            }
        }
        Ok(weighting)
    }
}

/// The most hashed columns (2^24, 16 times scikit-learn's default): each column costs a
/// document frequency and a weight per class, so 2^31 of them would need tens of gigabytes.
pub const MAX_HASHED_FEATURES: u32 = 1 << 24;

/// The longest n-gram: far past any useful one (word n-grams rarely pass 3, characters 8).
pub const MAX_NGRAM: i64 = 64;

fn check_ngram_range(bounds: &[i64]) -> Result<(usize, usize), FeatureConfigError> {
    let &[lo, hi] = bounds else {
        return Err(FeatureConfigError::new(
            "ngram_range",
            format!(
                "must be two bounds, [lower, upper], got {} values: {bounds:?}",
                bounds.len()
            ),
        ));
    };
    if hi > MAX_NGRAM {
        return Err(FeatureConfigError::new(
            "ngram_range",
            format!("the upper bound must be at most {MAX_NGRAM}, got [{lo}, {hi}]"),
        ));
    }
    if lo < 1 || hi < 1 {
        return Err(FeatureConfigError::new(
            "ngram_range",
            format!("both bounds must be at least 1, got [{lo}, {hi}]"),
        ));
    }
    if lo > hi {
        return Err(FeatureConfigError::new(
            "ngram_range",
            format!("lower bound is larger than the upper bound: [{lo}, {hi}]"),
        ));
    }
    let to_usize = |n: i64| usize::try_from(n).unwrap_or(usize::MAX);
    Ok((to_usize(lo), to_usize(hi)))
}

fn check_df(
    key: &'static str,
    value: DocumentFrequency,
) -> Result<DocumentFrequency, FeatureConfigError> {
    match value {
        DocumentFrequency::Count(n) if n >= 1 => Ok(value),
        DocumentFrequency::Count(n) => Err(FeatureConfigError::new(
            key,
            format!("an integer is a document count and must be at least 1, got {n}"),
        )),
        DocumentFrequency::Proportion(p) if (0.0..=1.0).contains(&p) => Ok(value),
        DocumentFrequency::Proportion(p) => Err(FeatureConfigError::new(
            key,
            format!("a float is a proportion of documents and must be in [0.0, 1.0], got {p}"),
        )),
    }
}

impl FeatureConfig {
    /// The fully resolved raw form: `check()` on it gives this set back.
    pub fn to_raw(&self) -> RawFeatureConfig {
        let (min_df, max_df, max_features, hashing) = match &self.columns {
            Columns::Vocabulary {
                min_df,
                max_df,
                max_features,
            } => (
                Some(*min_df),
                Some(*max_df),
                max_features.map(|n| i64::try_from(n).unwrap_or(i64::MAX)),
                None,
            ),
            Columns::Hashing {
                n_features,
                alternate_sign,
            } => (
                None,
                None,
                None,
                Some(RawHashing {
                    n_features: i64::from(*n_features),
                    alternate_sign: Some(*alternate_sign),
                }),
            ),
        };
        let tfidf = self.weighting == Weighting::Tfidf;
        let to_i64 = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
        RawFeatureConfig {
            analyzer: Some(self.analyzer),
            // The default is not written: records from before the key existed stay the same.
            token_pattern: self
                .token_pattern
                .as_ref()
                .map(|pattern| pattern.as_str().to_owned()),
            lowercase: Some(self.lowercase),
            ngram_range: Some(vec![to_i64(self.ngram_range.0), to_i64(self.ngram_range.1)]),
            stop_words: Some(self.stop_words.clone()),
            stemming: Some(self.stemming),
            min_df,
            max_df,
            max_features,
            binary: Some(self.binary),
            weighting: Some(self.weighting),
            smooth_idf: tfidf.then_some(self.smooth_idf),
            sublinear_tf: tfidf.then_some(self.sublinear_tf),
            norm: Some(self.norm),
            hashing,
        }
    }

    /// The same analysis with raw counts and nothing pruned: each document's terms and
    /// counts, before anything is fitted (see `AnalyzedCorpus`).
    pub(crate) fn counting_only(&self) -> FeatureConfig {
        let columns = match &self.columns {
            Columns::Vocabulary { .. } => Columns::Vocabulary {
                min_df: DocumentFrequency::Count(1),
                max_df: DocumentFrequency::Proportion(1.0),
                max_features: None,
            },
            hashing @ Columns::Hashing { .. } => hashing.clone(),
        };
        FeatureConfig {
            columns,
            binary: false,
            weighting: Weighting::Count,
            sublinear_tf: false,
            norm: Norm::None,
            ..self.clone()
        }
    }

    pub fn analyzer(&self) -> AnalyzerKind {
        self.analyzer
    }

    /// The word analyzer's pattern when it is not the default.
    pub fn token_pattern(&self) -> Option<&TokenPattern> {
        self.token_pattern.as_ref()
    }

    pub fn lowercase(&self) -> bool {
        self.lowercase
    }

    /// `(min_n, max_n)`, both at least 1, `min_n <= max_n`.
    pub fn ngram_range(&self) -> (usize, usize) {
        self.ngram_range
    }

    pub fn stop_words(&self) -> &StopWords {
        &self.stop_words
    }

    pub fn stemming(&self) -> Stemming {
        self.stemming
    }

    pub fn columns(&self) -> &Columns {
        &self.columns
    }

    pub fn binary(&self) -> bool {
        self.binary
    }

    pub fn weighting(&self) -> Weighting {
        self.weighting
    }

    /// Only meaningful under `Weighting::Tfidf`.
    pub fn smooth_idf(&self) -> bool {
        self.smooth_idf
    }

    /// Only meaningful under `Weighting::Tfidf`.
    pub fn sublinear_tf(&self) -> bool {
        self.sublinear_tf
    }

    pub fn norm(&self) -> Norm {
        self.norm
    }

    pub(super) fn is_stop_word(&self, token: &str) -> bool {
        !self.stop_set.is_empty() && self.stop_set.contains(token)
    }

    pub(super) fn has_stop_words(&self) -> bool {
        !self.stop_set.is_empty()
    }

    /// The settings that prune the vocabulary, for an "empty vocabulary" message.
    pub(super) fn pruning_settings(&self) -> String {
        let mut parts = Vec::new();
        if let Columns::Vocabulary {
            min_df,
            max_df,
            max_features,
        } = &self.columns
        {
            parts.push(format!("min_df = {min_df}"));
            parts.push(format!("max_df = {max_df}"));
            if let Some(n) = max_features {
                parts.push(format!("max_features = {n}"));
            }
        }
        parts.push(format!("stop_words = {}", self.stop_words));
        parts.join(", ")
    }
}

impl fmt::Display for DocumentFrequency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DocumentFrequency::Count(n) => write!(f, "{n}"),
            DocumentFrequency::Proportion(p) => write!(f, "{p:?}"),
        }
    }
}

impl fmt::Display for StopWords {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StopWords::None => f.write_str("\"none\""),
            StopWords::English => f.write_str("\"english\""),
            StopWords::List(list) => write!(f, "a list of {} words", list.len()),
        }
    }
}

impl Serialize for StopWords {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            StopWords::None => serializer.serialize_str("none"),
            StopWords::English => serializer.serialize_str("english"),
            StopWords::List(list) => {
                let mut seq = serializer.serialize_seq(Some(list.len()))?;
                for word in list {
                    seq.serialize_element(word)?;
                }
                seq.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for StopWords {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct StopWordsVisitor;

        impl<'de> Visitor<'de> for StopWordsVisitor {
            type Value = StopWords;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("\"english\", \"none\" or a list of words")
            }

            fn visit_str<E: de::Error>(self, value: &str) -> Result<StopWords, E> {
                match value {
                    "english" => Ok(StopWords::English),
                    "none" => Ok(StopWords::None),
                    other => Err(E::invalid_value(de::Unexpected::Str(other), &self)),
                }
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<StopWords, A::Error> {
                let mut words = Vec::new();
                while let Some(word) = seq.next_element::<String>()? {
                    words.push(word);
                }
                Ok(StopWords::List(words))
            }
        }

        deserializer.deserialize_any(StopWordsVisitor)
    }
}

impl Serialize for DocumentFrequency {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match *self {
            DocumentFrequency::Count(n) => serializer.serialize_i64(n),
            DocumentFrequency::Proportion(p) => serializer.serialize_f64(p),
        }
    }
}

impl<'de> Deserialize<'de> for DocumentFrequency {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct DocumentFrequencyVisitor;

        impl Visitor<'_> for DocumentFrequencyVisitor {
            type Value = DocumentFrequency;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an integer (a document count) or a float (a proportion of documents)")
            }

            fn visit_i64<E: de::Error>(self, n: i64) -> Result<DocumentFrequency, E> {
                Ok(DocumentFrequency::Count(n))
            }

            fn visit_u64<E: de::Error>(self, n: u64) -> Result<DocumentFrequency, E> {
                Ok(DocumentFrequency::Count(
                    i64::try_from(n).unwrap_or(i64::MAX),
                ))
            }

            fn visit_f64<E: de::Error>(self, p: f64) -> Result<DocumentFrequency, E> {
                Ok(DocumentFrequency::Proportion(p))
            }
        }

        deserializer.deserialize_any(DocumentFrequencyVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(toml_text: &str) -> Result<FeatureConfig, String> {
        let raw: RawFeatureConfig = toml::from_str(toml_text).map_err(|e| e.to_string())?;
        raw.check().map_err(|e| e.key().to_string())
    }

    /// `toml_text` is refused by `check()` naming `key`.
    fn check_refused(toml_text: &str, key: &str) {
        match parse(toml_text) {
            Err(got) => assert_eq!(got, key, "{toml_text}"),
            Ok(set) => panic!("accepted {toml_text}: {set:?}"),
        }
    }

    #[test]
    fn bad_values_are_refused_naming_the_key() {
        check_refused("min_df = 3\nmax_df = 2", "min_df");
        check_refused("min_df = 0.5\nmax_df = 0.25", "min_df");
        check_refused("ngram_range = [2, 1]", "ngram_range");
        check_refused("ngram_range = [0, 1]", "ngram_range");
        check_refused("ngram_range = [-1, 2]", "ngram_range");
        check_refused("ngram_range = [1, 2, 3]", "ngram_range");
        check_refused("ngram_range = [1]", "ngram_range");
        check_refused("ngram_range = []", "ngram_range");
        check_refused("ngram_range = [1, 65]", "ngram_range");
        check_refused("hashing = { n_features = 16777217 }", "hashing.n_features");
        check_refused(
            "hashing = { n_features = 1024 }\nweighting = \"tfidf\"\nsmooth_idf = false",
            "smooth_idf",
        );
        check_refused("max_features = 0", "max_features");
        check_refused("max_features = -5", "max_features");
        check_refused("min_df = -1", "min_df");
        check_refused("min_df = 0", "min_df");
        check_refused("max_df = -0.5", "max_df");
        check_refused("max_df = 1.5", "max_df");
        check_refused("max_df = nan", "max_df");
        check_refused("hashing = { n_features = 0 }", "hashing.n_features");
        check_refused("hashing = { n_features = -3 }", "hashing.n_features");
        check_refused(
            "hashing = { n_features = 2147483648 }",
            "hashing.n_features",
        );
        check_refused("hashing = { n_features = 16 }\nmin_df = 2", "min_df");
        check_refused(
            "analyzer = \"char_wb\"\nstop_words = \"english\"",
            "stop_words",
        );
        check_refused("analyzer = \"char_wb\"\nstemming = \"english\"", "stemming");
        check_refused(
            "analyzer = \"char\"\ntoken_pattern = \"[a-z]+\"",
            "token_pattern",
        );
        check_refused("token_pattern = \"(a\"", "token_pattern");
        check_refused("token_pattern = '(\\w)(\\w)'", "token_pattern");
        check_refused("token_pattern = '\\w*'", "token_pattern");
        check_refused("smooth_idf = false", "smooth_idf");
        check_refused("sublinear_tf = true", "sublinear_tf");
    }

    #[test]
    fn unknown_keys_and_wrong_types_fail_to_parse() {
        for text in [
            "min_dff = 2",
            "stop_words = \"french\"",
            "analyzer = \"chars\"",
            "norm = \"l3\"",
            "min_df = \"2\"",
            "hashing = { n_features = 8, signed = true }",
        ] {
            assert!(
                parse(text).is_err_and(|e| e.contains("TOML parse error")),
                "{text}"
            );
        }
    }

    #[test]
    fn defaults_are_scikit_learns() {
        let set = RawFeatureConfig::default().check().unwrap();
        assert_eq!(set.analyzer(), AnalyzerKind::Word);
        assert!(set.lowercase());
        assert_eq!(set.ngram_range(), (1, 1));
        assert_eq!(set.stop_words(), &StopWords::None);
        assert_eq!(
            set.columns(),
            &Columns::Vocabulary {
                min_df: DocumentFrequency::Count(1),
                max_df: DocumentFrequency::Proportion(1.0),
                max_features: None
            }
        );
        assert!(!set.binary());
        assert_eq!(set.weighting(), Weighting::Count);
        assert_eq!(set.norm(), Norm::None);
        let tfidf = parse("weighting = \"tfidf\"").unwrap();
        assert_eq!(tfidf.norm(), Norm::L2);
        assert!(tfidf.smooth_idf());
        assert!(!tfidf.sublinear_tf());
    }

    /// The default pattern written out is the default: the built-in scanner, nothing
    /// recorded (its vocabulary is the default's: `tests/it/features.rs`).
    #[test]
    fn the_default_token_pattern_written_out_is_the_default() {
        let written = parse("token_pattern = '(?u)\\b\\w\\w+\\b'").unwrap();
        assert_eq!(written, RawFeatureConfig::default().check().unwrap());
        assert!(written.token_pattern().is_none());
        assert_eq!(written.to_raw().token_pattern, None);
        let other = parse("token_pattern = '\\b\\w+\\b'").unwrap();
        assert_eq!(other.token_pattern().unwrap().as_str(), r"\b\w+\b");
    }

    #[test]
    fn to_raw_round_trips_through_toml() {
        for text in [
            "",
            "weighting = \"tfidf\"\nsublinear_tf = true\nnorm = \"l1\"",
            "ngram_range = [1, 3]\nmin_df = 2\nmax_df = 0.9\nmax_features = 100",
            "stop_words = [\"the\", \"a\"]\nstemming = \"english\"\nbinary = true",
            "stop_words = \"english\"\nlowercase = false",
            "analyzer = \"char_wb\"\nngram_range = [2, 5]",
            "hashing = { n_features = 1024 }\nweighting = \"tfidf\"",
            "token_pattern = '[#@]?(\\w+)'\nngram_range = [1, 2]",
        ] {
            let set = parse(text).unwrap();
            let raw = set.to_raw();
            let written = toml::to_string(&raw).unwrap();
            let reread: RawFeatureConfig = toml::from_str(&written).unwrap();
            assert_eq!(reread, raw, "{written}");
            assert_eq!(reread.check().unwrap(), set, "{written}");
        }
    }
}
