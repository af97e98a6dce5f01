//! Training for use beyond cross-validation: an experiment and its labelled paragraphs in, a
//! [`TrainedModel`] out (fitted on every paragraph the experiment selects, with its
//! provenance). Features and model are fitted by the experiment's [`Learner`], as every fold
//! is.

use crate::cv::{CvError, TRAINING_INNER_STREAM};
use crate::persist::{Version, hex_sha256};
use crate::trained::{PartsError, Provenance, TrainedModel};

use super::cross_validate::{FitError, Learner};
use super::{DataError, Dataset, Experiment};

/// Why a model could not be trained.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error(transparent)]
    Data(#[from] DataError),
    #[error(transparent)]
    Fit(#[from] FitError),
    #[error("cross-validation")]
    Cv(#[from] CvError),
    #[error("repeat {repeat}, fold {fold}")]
    Fold {
        repeat: usize,
        fold: usize,
        source: FitError,
    },
    #[error(transparent)]
    Parts(#[from] PartsError),
    /// What a model file cannot hold yet.
    #[error("{0}")]
    Unsupported(String),
}

/// Train on every paragraph the experiment selects from its label store.
pub fn train(experiment: &Experiment) -> Result<TrainedModel, TrainError> {
    let dataset = Dataset::load(experiment.data())?;
    train_on(experiment, &dataset)
}

/// Train on `dataset`, which should be the experiment's selection (its hash is recorded). A
/// tuned experiment chooses among its candidates on inner folds of all of `dataset` first;
/// the model file's config is then the experiment's with the chosen settings written in
/// (and `[search]` kept beside them, with the choice).
pub fn train_on(experiment: &Experiment, dataset: &Dataset) -> Result<TrainedModel, TrainError> {
    check_trainable(experiment)?;
    let n_classes = dataset.classes().len();
    let learner =
        Learner::of_experiment(experiment, &dataset.texts(), &dataset.groups(), n_classes);
    let all: Vec<usize> = (0..dataset.len()).collect();
    let fit = learner.fit_rows(&dataset.labels(), &all, TRAINING_INNER_STREAM, None)?;
    let mut config = experiment.resolved().clone();
    if let (Some(choice), Some(search)) = (&fit.choice, experiment.search()) {
        let candidate = &search.candidates()[choice.candidate];
        config["features"] = search.features()[candidate.features].to_raw_json();
        config["model"]["alpha"] = serde_json::json!(candidate.alpha);
        config["search"]["chosen"] = search.settings_json(choice.candidate);
    }
    let provenance = Provenance {
        experiment: experiment.name().to_owned(),
        description: experiment.description().map(str::to_owned),
        config_hash: hex_sha256(config.to_string().as_bytes()),
        config,
        data_hash: dataset.hash(),
        version: Version::of_this_build(),
        per_class: dataset.per_class(),
        articles: dataset.articles().len(),
        longest_paragraph: dataset
            .texts()
            .iter()
            .map(|text| text.chars().count())
            .max(),
    };
    let features = learner
        .corpus(fit.features)
        .fitted_features(&fit.columns)
        .pop()
        .expect("one feature set");
    Ok(TrainedModel::new(
        features,
        fit.model,
        dataset.classes().to_vec(),
        provenance,
    )?)
}

/// A model file holds one feature set and one model.
pub(crate) fn check_trainable(experiment: &Experiment) -> Result<(), TrainError> {
    if experiment.model().per_group() {
        return Err(TrainError::Unsupported(format!(
            "{}: [model] per_group fits one model per group, and a model file holds one: train each group's model with [data] groups = [\"NAME\"] in a copy of the experiment",
            experiment.path().display()
        )));
    }
    if experiment.features().as_single().is_none() {
        return Err(TrainError::Unsupported(format!(
            "{}: a model file holds one feature set, not a union of {} ([[features]])",
            experiment.path().display(),
            experiment.features().parts().len()
        )));
    }
    Ok(())
}
