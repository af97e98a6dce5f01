//! Applying `stance` to a corpus: a fitted model to new paragraphs ([`predict`]), or a feature
//! set to a corpus ([`featurize`]), and the files and streams they write.
//!
//! Takes documents from [`input`](crate::input) (read in batches, the next batch read while
//! the current one is worked on every core, through one pipeline, [`input::pipelined`]) and
//! a [`TrainedModel`](crate::trained::TrainedModel) or a checked feature set; hands on
//! predictions as TSV or JSON Lines to any writer, or a fitted vocabulary and Matrix Market
//! matrix to a directory. Memory is bounded by two batches, whatever the corpus size (the
//! featurizer's matrix aside). Never prints: what the user should know comes back in the
//! result.
//!
//! [`input::pipelined`]: crate::input::pipelined

mod featurize;
mod predict;

use std::io;
use std::path::PathBuf;

pub use featurize::{Featurized, featurize, write_featurized, write_matrix_market};
pub use predict::{FAR_LONGER, OutputFormat, PredictOptions, PredictSummary, predict};

use crate::features::FeatureError;
use crate::input::InputError;
use crate::model::ModelError;

/// Why featurizing or predicting stopped.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error(transparent)]
    Input(#[from] InputError),
    #[error("featurizing {}", input.display())]
    Features {
        input: PathBuf,
        #[source]
        source: FeatureError,
    },
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error("no paragraphs to predict in {inputs}{}", if *blank_lines_skipped { " (blank lines are skipped)" } else { "" })]
    NoParagraphs {
        inputs: String,
        blank_lines_skipped: bool,
    },
    #[error("cannot write a prediction as JSON")]
    Json(#[source] serde_json::Error),
    /// A probability that is not a number (a model whose weights or idf are not finite): never
    /// printed as `null` or `NaN`.
    #[error(
        "paragraph {id}: the model gives a probability that is not a finite number \
         ({probability}); the model file is unusable: retrain it with `stance train`"
    )]
    NotFinite { id: String, probability: f64 },
    /// The output stream (a closed pipe ends the command quietly: see the binary).
    #[error("cannot write the output")]
    Output(#[source] io::Error),
    #[error("writing {}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}
