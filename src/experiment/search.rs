//! Tuning by nested cross-validation: the `[search]` table in, a checked [`SearchConfig`] of
//! candidates out, and the choice among them on a set of training rows.
//!
//! A search's keys are `alpha` and any `[features]` key, each a list of candidates; the
//! candidates are every combination, the feature keys in alphabetical order, then `alpha`
//! (with a feature union, a feature key applies to every part). On each outer training set,
//! a seeded inner stratified k-fold (`inner_folds`, default 5) scores every candidate by the
//! experiment's metric on its pooled inner out-of-fold predictions; the best wins, ties
//! going to the stronger penalty, then to the first listed. The outer test rows never take
//! part: the choice sees the training rows' texts and labels only. Along the alphas of one
//! feature set, each inner fold's model starts from the previous (stronger-penalty)
//! solution, and the features are fitted once per inner fold.

use std::collections::BTreeMap;

use crate::features::{FeatureUnion, RawFeatureConfig};

/// Default inner folds.
pub const DEFAULT_INNER_FOLDS: usize = 5;

/// A checked `[search]` table.
#[derive(Debug, Clone)]
pub struct SearchConfig {
    inner_folds: usize,
    /// The distinct feature sets the candidates use.
    features: Vec<FeatureUnion>,
    candidates: Vec<Candidate>,
}

/// One combination of the searched values.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub alpha: f64,
    /// Index into [`SearchConfig::features`].
    pub features: usize,
    /// The searched keys and their values here, as written (`alpha` last), for records.
    pub settings: Vec<(String, serde_json::Value)>,
}

impl SearchConfig {
    pub fn inner_folds(&self) -> usize {
        self.inner_folds
    }
    pub fn features(&self) -> &[FeatureUnion] {
        &self.features
    }
    pub fn candidates(&self) -> &[Candidate] {
        &self.candidates
    }

    /// `candidates()[i]` as a JSON object of its settings.
    pub fn settings_json(&self, i: usize) -> serde_json::Value {
        serde_json::Value::Object(self.candidates[i].settings.iter().cloned().collect())
    }
}

/// Checks a `[search]` table against the experiment's features (`raw_features`, one table
/// per part) and alpha. Errors are (key, message).
pub fn check_search(
    table: &toml::Table,
    raw_features: &[RawFeatureConfig],
    as_array: bool,
    alpha: f64,
) -> Result<SearchConfig, (String, String)> {
    let error = |key: &str, message: String| (key.to_owned(), message);
    let mut inner_folds = DEFAULT_INNER_FOLDS;
    let mut alphas: Option<Vec<f64>> = None;
    let mut feature_keys: BTreeMap<String, Vec<toml::Value>> = BTreeMap::new();
    for (key, value) in table {
        match key.as_str() {
            "inner_folds" => {
                inner_folds = value
                    .as_integer()
                    .filter(|&k| k >= 2)
                    .map(|k| k as usize)
                    .ok_or_else(|| {
                        error(
                            key,
                            format!("must be an integer of at least 2, got {value}"),
                        )
                    })?;
            }
            "alpha" => {
                let list = candidates_of(key, value)?;
                let values = list
                    .iter()
                    .map(|v| {
                        let number = v.as_float().or_else(|| v.as_integer().map(|i| i as f64));
                        number
                            .filter(|a| a.is_finite() && *a >= 0.0)
                            .ok_or_else(|| {
                                error(
                                    key,
                                    format!("candidates must be finite numbers >= 0, got {v}"),
                                )
                            })
                    })
                    .collect::<Result<Vec<f64>, _>>()?;
                for (i, a) in values.iter().enumerate() {
                    if values[..i].contains(a) {
                        return Err(error(key, format!("candidate {a} is listed twice")));
                    }
                }
                alphas = Some(values);
            }
            _ => {
                let list = candidates_of(key, value)?;
                for (i, v) in list.iter().enumerate() {
                    if list[..i].contains(v) {
                        return Err(error(key, format!("candidate {v} is listed twice")));
                    }
                }
                feature_keys.insert(key.clone(), list);
            }
        }
    }
    let alphas = alphas.unwrap_or_else(|| vec![alpha]);

    // Every combination of the feature keys, in key order, the last key varying fastest.
    let mut combinations: Vec<Vec<(String, toml::Value)>> = vec![Vec::new()];
    for (key, values) in &feature_keys {
        combinations = combinations
            .into_iter()
            .flat_map(|prefix| {
                values.iter().map(move |value| {
                    let mut next = prefix.clone();
                    next.push((key.clone(), value.clone()));
                    next
                })
            })
            .collect();
    }
    let mut features: Vec<FeatureUnion> = Vec::new();
    let mut candidates = Vec::new();
    for combination in combinations {
        let union = union_with(raw_features, as_array, &combination)?;
        let index = match features.iter().position(|f| f == &union) {
            Some(index) => index,
            None => {
                features.push(union);
                features.len() - 1
            }
        };
        for &a in &alphas {
            let mut settings: Vec<(String, serde_json::Value)> = combination
                .iter()
                .map(|(key, value)| (key.clone(), toml_to_json(value)))
                .collect();
            settings.push(("alpha".to_owned(), serde_json::json!(a)));
            candidates.push(Candidate {
                alpha: a,
                features: index,
                settings,
            });
        }
    }
    if candidates.len() < 2 {
        return Err(error(
            "alpha",
            "a search needs at least two candidates (a list of alphas, or of values of a [features] key)".to_owned(),
        ));
    }
    Ok(SearchConfig {
        inner_folds,
        features,
        candidates,
    })
}

fn candidates_of(key: &str, value: &toml::Value) -> Result<Vec<toml::Value>, (String, String)> {
    match value.as_array() {
        Some(list) if !list.is_empty() => Ok(list.clone()),
        _ => Err((
            key.to_owned(),
            format!("must be a non-empty list of candidates, got {value}"),
        )),
    }
}

/// The experiment's features with `settings` written into every part, checked.
fn union_with(
    raw_features: &[RawFeatureConfig],
    as_array: bool,
    settings: &[(String, toml::Value)],
) -> Result<FeatureUnion, (String, String)> {
    let parts = raw_features
        .iter()
        .map(|raw| {
            let mut table = toml::Table::try_from(raw)
                .map_err(|err| (String::from("features"), err.to_string()))?;
            for (key, value) in settings {
                table.insert(key.clone(), value.clone());
            }
            let changed: RawFeatureConfig =
                toml::Value::Table(table)
                    .try_into()
                    .map_err(|err: toml::de::Error| {
                        let key = settings.first().map_or("features", |(k, _)| k.as_str());
                        (key.to_owned(), err.message().trim_end().to_owned())
                    })?;
            changed.check().map_err(|err| {
                let key = err.key().to_owned();
                (
                    key,
                    format!("a candidate is not a valid feature set: {}", err.message()),
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(if as_array {
        FeatureUnion::of(parts).expect("at least one part")
    } else {
        FeatureUnion::single(parts.into_iter().next().expect("one part"))
    })
}

fn toml_to_json(value: &toml::Value) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or(serde_json::Value::Null)
}

/// The winner among `scores` (one per candidate; `None` where the metric was undefined):
/// the best by the metric, ties to the larger alpha, then to the earlier candidate. `None`
/// when no candidate has a score.
pub fn best_candidate(
    candidates: &[Candidate],
    scores: &[Option<f64>],
    higher_is_better: bool,
) -> Option<usize> {
    let mut best: Option<(usize, f64)> = None;
    for (i, score) in scores.iter().enumerate() {
        let Some(score) = *score else { continue };
        let better = match best {
            None => true,
            Some((b, best_score)) => {
                let gain = if higher_is_better {
                    score - best_score
                } else {
                    best_score - score
                };
                gain > 0.0 || (gain == 0.0 && candidates[i].alpha > candidates[b].alpha)
            }
        };
        if better {
            best = Some((i, score));
        }
    }
    best.map(|(i, _)| i)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn search(text: &str) -> Result<SearchConfig, (String, String)> {
        let table: toml::Table = toml::from_str(text).unwrap();
        check_search(&table, &[RawFeatureConfig::default()], false, 1.0)
    }

    #[test]
    fn candidates_are_every_combination_features_first() {
        let s = search("alpha = [1, 0.1]\nbinary = [false, true]\ninner_folds = 3").unwrap();
        assert_eq!(s.inner_folds(), 3);
        assert_eq!(s.features().len(), 2);
        let listed: Vec<(usize, f64)> = s
            .candidates()
            .iter()
            .map(|c| (c.features, c.alpha))
            .collect();
        assert_eq!(listed, [(0, 1.0), (0, 0.1), (1, 1.0), (1, 0.1)]);
        assert_eq!(
            s.settings_json(3),
            serde_json::json!({"binary": true, "alpha": 0.1})
        );
        assert!(s.features()[1].parts()[0].to_raw().binary == Some(true));
        // Alpha alone keeps the experiment's features.
        let s = search("alpha = [0.5, 2]").unwrap();
        assert_eq!((s.features().len(), s.candidates().len()), (1, 2));
        assert_eq!(s.inner_folds(), DEFAULT_INNER_FOLDS);
    }

    #[test]
    fn bad_searches_name_the_key() {
        let check = |text: &str, key: &str, fragment: &str| {
            let (k, message) = search(text).unwrap_err();
            assert_eq!(k, key, "{text}: {message}");
            assert!(message.contains(fragment), "{text}: {message}");
        };
        check("alpha = [1]", "alpha", "at least two candidates");
        check("alpha = []", "alpha", "non-empty list");
        check("alpha = 1", "alpha", "non-empty list");
        check("alpha = [1, -1]", "alpha", ">= 0");
        check("alpha = [1, 1.0]", "alpha", "listed twice");
        check(
            "alpha = [1, 2]\ninner_folds = 1",
            "inner_folds",
            "at least 2",
        );
        check("ngram = [[1, 1], [1, 2]]", "ngram", "unknown field `ngram`");
        check("min_df = [1, -2]", "min_df", "not a valid feature set");
    }

    #[test]
    fn ties_go_to_the_stronger_penalty_then_the_first() {
        let s = search("alpha = [0.1, 10, 1]\nbinary = [false, true]").unwrap();
        let c = s.candidates();
        let pick = |scores: &[Option<f64>]| best_candidate(c, scores, true);
        assert_eq!(
            pick(&[Some(0.5), Some(0.7), Some(0.6), None, None, None]),
            Some(1)
        );
        assert_eq!(
            pick(&[Some(0.7), Some(0.7), Some(0.7), None, None, None]),
            Some(1)
        );
        assert_eq!(
            pick(&[Some(0.7), None, None, None, Some(0.7), None]),
            Some(4)
        );
        assert_eq!(
            pick(&[None, Some(0.7), None, None, Some(0.7), None]),
            Some(1)
        );
        assert_eq!(pick(&[None; 6]), None);
        assert_eq!(
            best_candidate(c, &[Some(0.3), Some(0.2), None, None, None, None], false),
            Some(1)
        );
    }
}
