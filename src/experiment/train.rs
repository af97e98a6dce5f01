//! Training for use beyond cross-validation: an experiment and its labelled paragraphs in, a
//! [`TrainedModel`] out (fitted on every paragraph the experiment selects, with its
//! provenance). Features and model are fitted by [`fit_on_rows`], as every fold is.

use crate::cv::CvError;
use crate::persist::Version;
use crate::trained::{PartsError, Provenance, TrainedModel};

use super::cross_validate::{FitError, fit_on_rows};
use super::{DataError, Dataset, Experiment};

/// Why a model could not be trained.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error(transparent)]
    Data(#[from] DataError),
    #[error(transparent)]
    Fit(#[from] FitError),
    #[error("cross-validation: {0}")]
    Cv(#[from] CvError),
    #[error("repeat {repeat}, fold {fold}")]
    Fold {
        repeat: usize,
        fold: usize,
        source: FitError,
    },
    #[error(transparent)]
    Parts(#[from] PartsError),
}

/// Train on every paragraph the experiment selects from its label store.
pub fn train(experiment: &Experiment) -> Result<TrainedModel, TrainError> {
    let dataset = Dataset::load(experiment.data())?;
    train_on(experiment, &dataset)
}

/// Train on `dataset`, which should be the experiment's selection (its hash is recorded).
pub fn train_on(experiment: &Experiment, dataset: &Dataset) -> Result<TrainedModel, TrainError> {
    let corpus = experiment.features().analyze_corpus(&dataset.texts());
    let all: Vec<usize> = (0..dataset.len()).collect();
    let (columns, model) = fit_on_rows(
        &corpus,
        experiment.model(),
        &dataset.labels(),
        dataset.classes().len(),
        &all,
    )?;
    let provenance = Provenance {
        experiment: experiment.name().to_owned(),
        description: experiment.description().map(str::to_owned),
        config: experiment.resolved().clone(),
        config_hash: experiment.config_hash(),
        data_hash: dataset.hash(),
        version: Version::of_this_build(),
        per_class: dataset.per_class(),
        articles: dataset.articles().len(),
    };
    let features = corpus.fitted_features(&columns);
    Ok(TrainedModel::new(
        features,
        model,
        dataset.classes().to_vec(),
        provenance,
    )?)
}
