//! The model file (`stance train --out MODEL.json`): a [`TrainedModel`] in, JSON on disk
//! out, and back, refusing anything that is not a whole, consistent model of this format.
//!
//! Only this module defines the file's layout, through its own plain serde types; the
//! internal types never derive `Serialize` for it. Numbers are written in the shortest form
//! that reads back to the same `f64`, so a loaded model predicts exactly what the saved one
//! did. Nothing is stored twice: the featurizer's settings are the `features` table of the
//! resolved `config` (checked against `config_hash` on load), and the idf is recomputed from
//! the document frequencies. Loading checks every size against every other
//! ([`FittedFeatures::from_parts`], [`FittedModel::from_parts`], [`TrainedModel::new`]) and
//! names what disagrees; it never panics on a bad file.
//!
//! Layout, format `stance-model/1` (keys in this order):
//!
//! ```text
//! format          "stance-model/1"
//! experiment      experiment name;  description (optional)
//! config          the experiment's resolved configuration; config_hash: SHA-256 of it
//! data_hash       hash of the training paragraphs (as in experiment records)
//! version         {crate, git_commit, git_dirty}
//! trained_on      {per_class: {class: paragraphs}, articles, longest_paragraph (optional:
//!                  characters of the longest training paragraph)}
//! classes         class names: the order of probabilities
//! features        {n_documents, vocabulary (absent under hashing), document_frequencies}
//! model           {solver, convergence: {converged, gradient_norm, tolerance, iterations,
//!                  message}, seen_classes, coefficient_sets: [{class, intercept, weights}]}
//! ```
//!
//! With two classes seen there is one coefficient set, scoring the second seen class (its
//! log-odds against the first); with more, one set per seen class (softmax).

use std::collections::BTreeMap;
use std::path::Path;

use ndarray::{Array1, Array2};
use serde::{Deserialize, Serialize};

use crate::features::{FeatureConfig, FittedFeatures, RawFeatureConfig, Vocabulary};
use crate::model::{Convergence, FittedModel, ModelParts, Solver};
use crate::persist::{DocumentError, DocumentKind, Version, hex_sha256};
use crate::trained::{Provenance, TrainedModel};

/// The layout version written into every model file; a reader refuses others.
pub const FORMAT: &str = "stance-model/1";

/// Model files as documents of [`persist`](crate::persist).
pub const DOCUMENT: DocumentKind = DocumentKind {
    noun: "model",
    description: "a stance model file",
    format: FORMAT,
    remedy: "retrain it with `stance train`",
};

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ModelFile {
    format: String,
    experiment: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    config: serde_json::Value,
    config_hash: String,
    data_hash: String,
    version: Version,
    trained_on: TrainedOnFile,
    classes: Vec<String>,
    features: FeaturesFile,
    model: ModelSection,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct TrainedOnFile {
    per_class: BTreeMap<String, usize>,
    articles: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    longest_paragraph: Option<usize>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FeaturesFile {
    n_documents: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    vocabulary: Option<Vec<String>>,
    document_frequencies: Vec<u64>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ModelSection {
    solver: String,
    convergence: ConvergenceFile,
    seen_classes: Vec<String>,
    coefficient_sets: Vec<CoefficientSet>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConvergenceFile {
    converged: bool,
    gradient_norm: f64,
    tolerance: f64,
    iterations: Option<u64>,
    message: String,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CoefficientSet {
    /// The class whose score (two classes: log-odds against the other) these weights give.
    class: String,
    intercept: f64,
    weights: Vec<f64>,
}

/// The model's bytes: pretty JSON with a final newline.
pub fn to_json(model: &TrainedModel) -> Result<String, serde_json::Error> {
    DOCUMENT.to_json(&ModelFile::of(model))
}

/// Write `model` to `path` atomically.
pub fn save(model: &TrainedModel, path: &Path) -> Result<(), DocumentError> {
    DOCUMENT.write(path, &ModelFile::of(model))
}

/// Read and check the model file at `path`.
pub fn load(path: &Path) -> Result<TrainedModel, DocumentError> {
    let file: ModelFile = DOCUMENT.read(path)?;
    file.into_model()
        .map_err(|(key, message)| DOCUMENT.invalid(path, key, message))
}

/// Check `text` as the model file at `path` (which only names it in errors).
pub fn parse(path: &Path, text: &str) -> Result<TrainedModel, DocumentError> {
    let file: ModelFile = DOCUMENT.parse(path, text)?;
    file.into_model()
        .map_err(|(key, message)| DOCUMENT.invalid(path, key, message))
}

impl ModelFile {
    fn of(trained: &TrainedModel) -> ModelFile {
        let provenance = trained.provenance();
        let features = trained.features();
        let model = trained.model();
        let classes = trained.classes();
        let convergence = model.convergence();
        let coefficient_sets = model
            .set_classes()
            .iter()
            .zip(model.weights().outer_iter())
            .zip(model.intercepts())
            .map(|((&class, weights), &intercept)| CoefficientSet {
                class: classes[class].clone(),
                intercept,
                weights: weights.to_vec(),
            })
            .collect();
        ModelFile {
            format: FORMAT.to_owned(),
            experiment: provenance.experiment.clone(),
            description: provenance.description.clone(),
            config: provenance.config.clone(),
            config_hash: provenance.config_hash.clone(),
            data_hash: provenance.data_hash.clone(),
            version: provenance.version.clone(),
            trained_on: TrainedOnFile {
                per_class: provenance.per_class.clone(),
                articles: provenance.articles,
                longest_paragraph: provenance.longest_paragraph,
            },
            classes: classes.to_vec(),
            features: FeaturesFile {
                n_documents: features.n_documents(),
                vocabulary: features.vocabulary().map(Vocabulary::to_vec),
                document_frequencies: features
                    .document_frequencies()
                    .map(<[u64]>::to_vec)
                    .unwrap_or_default(),
            },
            model: ModelSection {
                solver: model.solver().as_str().to_owned(),
                convergence: ConvergenceFile {
                    converged: convergence.converged,
                    gradient_norm: convergence.gradient_norm,
                    tolerance: convergence.tolerance,
                    iterations: convergence.iterations,
                    message: convergence.message.clone(),
                },
                seen_classes: model
                    .classes()
                    .iter()
                    .map(|&class| classes[class].clone())
                    .collect(),
                coefficient_sets,
            },
        }
    }

    /// The checked model, or the key at fault and what is wrong with it.
    fn into_model(self) -> Result<TrainedModel, (&'static str, String)> {
        let set = self.feature_config()?;
        check_classes(&self.classes)?;
        let features = FittedFeatures::from_parts(
            set,
            self.features.vocabulary.unwrap_or_default(),
            self.features.document_frequencies,
            self.features.n_documents,
        )
        .map_err(|err| ("features", err.to_string()))?;
        let model = self
            .model
            .into_model(&self.classes, features.n_features())?;
        let provenance = Provenance {
            experiment: self.experiment,
            description: self.description,
            config: self.config,
            config_hash: self.config_hash,
            data_hash: self.data_hash,
            version: self.version,
            per_class: self.trained_on.per_class,
            articles: self.trained_on.articles,
            longest_paragraph: self.trained_on.longest_paragraph,
        };
        TrainedModel::new(features, model, self.classes, provenance)
            .map_err(|err| ("model", err.to_string()))
    }

    /// The featurizer's settings: the `features` table of the resolved config, once the
    /// config is found to be the one `config_hash` was computed from.
    fn feature_config(&self) -> Result<FeatureConfig, (&'static str, String)> {
        let actual_hash = hex_sha256(self.config.to_string().as_bytes());
        if actual_hash != self.config_hash {
            return Err((
                "config",
                format!(
                    "does not match `config_hash` (it hashes to {actual_hash}, the file says {}): \
                     was the file edited? retrain it with `stance train`",
                    self.config_hash
                ),
            ));
        }
        let raw: RawFeatureConfig = match self.config.get("features") {
            Some(table) => serde_json::from_value(table.clone())
                .map_err(|err| ("config.features", err.to_string()))?,
            None => return Err(("config.features", "is missing".to_owned())),
        };
        raw.check()
            .map_err(|err| ("config.features", err.to_string()))
    }
}

/// At least two class names, none twice.
fn check_classes(classes: &[String]) -> Result<(), (&'static str, String)> {
    if classes.len() < 2 {
        return Err((
            "classes",
            format!("needs at least two classes, got {}", classes.len()),
        ));
    }
    if let Some(twice) = classes
        .iter()
        .enumerate()
        .find(|(i, class)| classes[..*i].contains(class))
    {
        return Err(("classes", format!("class `{}` is listed twice", twice.1)));
    }
    Ok(())
}

impl ModelSection {
    /// The fitted model of this section, for `classes` (the file's, checked) and features of
    /// `n_features` columns.
    fn into_model(
        self,
        classes: &[String],
        n_features: usize,
    ) -> Result<FittedModel, (&'static str, String)> {
        let index_of = |key: &'static str, name: &str| {
            classes
                .iter()
                .position(|class| class == name)
                .ok_or_else(|| (key, format!("`{name}` is not one of `classes`")))
        };
        let solver = Solver::parse(&self.solver)
            .ok_or_else(|| ("model.solver", format!("unknown solver `{}`", self.solver)))?;
        let seen = self
            .seen_classes
            .iter()
            .map(|name| index_of("model.seen_classes", name))
            .collect::<Result<Vec<usize>, _>>()?;
        // The sets score the second seen class (two seen) or each seen class in turn.
        let expected_sets: &[usize] = if seen.len() == 2 { &seen[1..] } else { &seen };
        let sets = &self.coefficient_sets;
        if sets.len() != expected_sets.len() {
            return Err((
                "model.coefficient_sets",
                format!(
                    "{} coefficient sets for {} seen classes, expected {}",
                    sets.len(),
                    seen.len(),
                    expected_sets.len()
                ),
            ));
        }
        for (set, &class) in sets.iter().zip(expected_sets) {
            if set.class != classes[class] {
                return Err((
                    "model.coefficient_sets",
                    format!(
                        "a set scores `{}` where `{}` was expected (seen classes {:?})",
                        set.class, classes[class], self.seen_classes
                    ),
                ));
            }
            if set.weights.len() != n_features {
                return Err((
                    "model.coefficient_sets",
                    format!(
                        "the set for `{}` has {} weights but the features have {n_features} columns",
                        set.class,
                        set.weights.len()
                    ),
                ));
            }
        }
        let weights = Array2::from_shape_vec(
            (sets.len(), n_features),
            sets.iter()
                .flat_map(|set| set.weights.iter().copied())
                .collect(),
        )
        .map_err(|err| ("model.coefficient_sets", err.to_string()))?;
        let intercepts = Array1::from_iter(sets.iter().map(|set| set.intercept));
        let convergence = self.convergence;
        FittedModel::from_parts(ModelParts {
            n_classes: classes.len(),
            classes: seen,
            weights,
            intercepts,
            solver,
            convergence: Convergence {
                converged: convergence.converged,
                gradient_norm: convergence.gradient_norm,
                tolerance: convergence.tolerance,
                iterations: convergence.iterations,
                message: convergence.message,
            },
        })
        .map_err(|err| ("model", err.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;
    use crate::experiment::{Dataset, Experiment, Item};

    const TEXTS: [(&str, usize); 6] = [
        ("china and russia drift apart", 0),
        ("moscow distrusts beijing", 0),
        ("pyongyang plays one against the other", 0),
        ("the alliance holds firm", 1),
        ("china and russia stand together", 1),
        ("a lasting bloc of shared interests", 1),
    ];

    fn trained_model(features_toml: &str) -> TrainedModel {
        let experiment = Experiment::parse(Path::new("tiny.toml"), features_toml).unwrap();
        let items = TEXTS
            .iter()
            .enumerate()
            .map(|(i, &(text, class))| Item {
                id: format!("{i:012x}"),
                article: i % 2,
                text: text.to_owned(),
                class,
                low_confidence: false,
                split: None,
            })
            .collect();
        let dataset = Dataset::from_items(
            vec!["fracturing".into(), "stable".into()],
            vec!["a".into(), "b".into()],
            items,
        );
        crate::experiment::train_on(&experiment, &dataset).unwrap()
    }

    fn json(model: &TrainedModel) -> String {
        to_json(model).unwrap()
    }

    fn probabilities(model: &TrainedModel) -> ndarray::Array2<f64> {
        let texts: Vec<&str> = TEXTS.iter().map(|(text, _)| *text).collect();
        model.predict_proba(&model.transform(&texts)).unwrap()
    }

    #[test]
    fn a_saved_model_loads_back_to_the_same_bytes_and_predictions() {
        for features in ["", "[features]\nhashing = { n_features = 64 }\n"] {
            let model = trained_model(features);
            let text = json(&model);
            let loaded = parse(Path::new("m.json"), &text).unwrap();
            assert_eq!(json(&loaded), text);
            assert_eq!(probabilities(&loaded), probabilities(&model));
            assert_eq!(loaded.provenance(), model.provenance());
            assert_eq!(loaded.model(), model.model());
        }
    }

    #[test]
    fn the_file_holds_vocabulary_or_hashing_settings_never_idf() {
        let value = |features| -> serde_json::Value {
            serde_json::from_str(&json(&trained_model(features))).unwrap()
        };
        let tfidf = value("[features]\nweighting = \"tfidf\"\n");
        assert_eq!(tfidf["format"], FORMAT);
        assert!(tfidf["features"]["vocabulary"].is_array());
        assert!(tfidf["features"].get("idf").is_none());
        assert_eq!(tfidf["features"]["n_documents"], 6);
        assert_eq!(tfidf["model"]["coefficient_sets"][0]["class"], "stable");
        let hashed = value("[features]\nhashing = { n_features = 64 }\n");
        assert!(hashed["features"].get("vocabulary").is_none());
        assert_eq!(hashed["config"]["features"]["hashing"]["n_features"], 64);
        assert_eq!(
            hashed["features"]["document_frequencies"]
                .as_array()
                .map(Vec::len),
            Some(64)
        );
    }

    /// Load the baseline model's file after `edit`; the error message.
    fn check(edit: impl Fn(&str) -> String, expected: &str) {
        let text = edit(&json(&trained_model("")));
        let err = parse(Path::new("m.json"), &text).expect_err("refused");
        assert_eq!(err.to_string(), expected);
    }

    fn edit_json(edit: impl Fn(&mut serde_json::Value)) -> impl Fn(&str) -> String {
        move |text: &str| {
            let mut value: serde_json::Value = serde_json::from_str(text).unwrap();
            edit(&mut value);
            serde_json::to_string_pretty(&value).unwrap()
        }
    }

    /// 1-based line and the column just past the end of `needle`, where serde_json stops.
    fn position_after(text: &str, needle: &str) -> (usize, usize) {
        text.lines()
            .enumerate()
            .find_map(|(i, line)| line.find(needle).map(|at| (i + 1, at + needle.len())))
            .unwrap()
    }

    #[test]
    fn truncated_and_corrupt_files_name_line_and_column() {
        let text = json(&trained_model(""));
        let third_line = text.lines().nth(2).unwrap();
        check(
            |text| text.lines().take(3).collect::<Vec<_>>().join("\n"),
            &format!(
                "model m.json is truncated: its JSON ends early, at line 3, column {}",
                third_line.len()
            ),
        );
        check(
            |_| String::new(),
            "model m.json is truncated: its JSON ends early, at line 1, column 0",
        );
        let broken = text.replacen("\"experiment\": ", "\"experiment\" ", 1);
        let (line, column) = position_after(&broken, "\"experiment\" \"");
        check(
            |_| broken.clone(),
            &format!("model m.json is corrupt at line {line}, column {column}: expected `:`"),
        );
        check(
            |_| "[1, 2]".to_owned(),
            "model m.json is not a stance model file: it is JSON but not an object (it starts `[1, 2]`)",
        );
        check(
            |_| "description = \"unigram counts\"\n\n[data]\n".to_owned(),
            "model m.json is not a stance model file: it looks like TOML (an experiment file?), \
             not JSON: it starts `description = \"unigram counts\"`",
        );
        let misspelt = text.replacen("\"data_hash\"", "\"data_hsh\"", 1);
        let (line, column) = position_after(&misspelt, "\"data_hsh\"");
        check(
            |_| misspelt.clone(),
            &format!(
                "model m.json is corrupt at line {line}, column {column}: unknown field `data_hsh`, expected one of `format`, `experiment`, `description`, `config`, `config_hash`, `data_hash`, `version`, `trained_on`, `classes`, `features`, `model`"
            ),
        );
    }

    #[test]
    fn another_format_version_is_refused_naming_both() {
        check(
            |text| text.replacen(FORMAT, "stance-model/2", 1),
            "model m.json has format `stance-model/2`, this stance reads `stance-model/1`: retrain it with `stance train`",
        );
        check(
            edit_json(|v| {
                v.as_object_mut().unwrap().remove("format");
            }),
            "model m.json has format `(none)`, this stance reads `stance-model/1`: retrain it with `stance train`",
        );
    }

    #[test]
    fn mismatched_sizes_are_refused_naming_what_disagrees() {
        let n_terms = trained_model("").features().n_features();
        check(
            edit_json(|v| {
                v["features"]["document_frequencies"]
                    .as_array_mut()
                    .unwrap()
                    .pop();
            }),
            &format!(
                "model m.json: `features`: saved features do not match their feature set: {} document frequencies for {n_terms} columns",
                n_terms - 1
            ),
        );
        check(
            edit_json(|v| {
                v["model"]["coefficient_sets"][0]["weights"]
                    .as_array_mut()
                    .unwrap()
                    .push(1.0.into());
            }),
            &format!(
                "model m.json: `model.coefficient_sets`: the set for `stable` has {} weights but the features have {n_terms} columns",
                n_terms + 1
            ),
        );
        check(
            edit_json(|v| {
                let sets = v["model"]["coefficient_sets"].as_array_mut().unwrap();
                sets.push(sets[0].clone());
            }),
            "model m.json: `model.coefficient_sets`: 2 coefficient sets for 2 seen classes, expected 1",
        );
        check(
            edit_json(|v| {
                v["features"]["vocabulary"]
                    .as_array_mut()
                    .unwrap()
                    .push("zzz".into());
            }),
            &format!(
                "model m.json: `features`: saved features do not match their feature set: {n_terms} document frequencies for {} columns",
                n_terms + 1
            ),
        );
        check(
            edit_json(|v| v["model"]["seen_classes"] = serde_json::json!(["stable", "fracturing"])),
            "model m.json: `model.coefficient_sets`: a set scores `stable` where `fracturing` was expected (seen classes [\"stable\", \"fracturing\"])",
        );
        check(
            edit_json(|v| {
                v["model"]["seen_classes"] = serde_json::json!(["fracturing", "neutral"])
            }),
            "model m.json: `model.seen_classes`: `neutral` is not one of `classes`",
        );
    }

    #[test]
    fn an_edited_config_is_caught_by_its_hash() {
        let model = trained_model("");
        let expected_hash = &model.provenance().config_hash;
        let text = edit_json(|v| v["config"]["features"]["binary"] = true.into())(&json(&model));
        let err = parse(Path::new("m.json"), &text).unwrap_err().to_string();
        assert!(
            err.starts_with("model m.json: `config`: does not match `config_hash`"),
            "{err}"
        );
        assert!(err.ends_with(&format!("the file says {expected_hash}): was the file edited? retrain it with `stance train`")), "{err}");
    }

    #[test]
    fn saving_is_atomic_and_loading_names_a_missing_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("models/m.json");
        let model = trained_model("");
        save(&model, &path).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), json(&model));
        let names: Vec<_> = fs::read_dir(dir.path().join("models")).unwrap().collect();
        assert_eq!(names.len(), 1);
        let missing = dir.path().join("nope.json");
        let err = load(&missing).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("cannot read model {}", missing.display())
        );
        let cause = std::error::Error::source(&err).expect("the io error is the cause");
        assert!(cause.to_string().contains("No such file"), "{cause}");
    }
}
