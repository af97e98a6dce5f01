//! `stance`: reproducible stance-classification experiments on paragraphs labelled by hand.
//!
//! The modules are declared in the order data flows through them, each using only modules
//! declared before it (`scripts/module-deps.py` checks it). First the building blocks every
//! stage may use: the seeded generator (`rng`), the sparse matrix handed between stages
//! (`sparse`) and the way files reach the disk (`persist`). Then articles become paragraphs
//! (`corpus`) and the ones worth labelling are found (`candidates`), documents are read from
//! files (`input`), labelled rows too (`import`), people label paragraphs or import those rows
//! into a store (`labels`), text becomes vectors (`features`), a logistic regression learns
//! from them (`model`) inside cross-validation folds (`cv`), predictions are scored
//! (`metrics`, `stats`) and written as a record (`record`); a model trained for new text
//! (`trained`) is saved in a model file (`model_file`); an experiment ties it all together
//! (`experiment`); a model or a feature set is applied to a corpus (`apply`) and records
//! become a page (`html`). The command-line front end lives in the binary (`src/cli/`), which
//! is the only place that knows clap or anyhow.

// Building blocks. Cache hints for the inner loops that read memory at random.
pub mod hint;

// The seeded generator every random choice goes through.
pub mod rng;

// The sparse matrix handed between stages.
pub mod sparse;

// How files reach the disk.
pub mod persist;

// The stages, in the order data flows through them. Articles → paragraphs.
pub mod corpus;

// Which paragraphs of a corpus are worth labelling.
pub mod candidates;

// Documents from files.
pub mod input;

// Labelled rows from other files.
pub mod import;

// The hand-label store.
pub mod labels;

// Text → vectors.
pub mod features;

// Logistic regression.
pub mod model;

// Cross-validation folds.
pub mod cv;

// Scores of predictions.
pub mod metrics;

// Intervals and tests.
pub mod stats;

// A run's results on disk.
pub mod record;

// One line per run, kept beside the records.
pub mod history;

// A model for new text.
pub mod trained;

// Its file.
pub mod model_file;

// An experiment file → its results.
pub mod experiment;

// A model or a feature set applied to a corpus.
pub mod apply;

// Records as a page.
pub mod html;

/// Helpers shared by the unit tests.
#[cfg(test)]
pub(crate) mod testing {
    /// `work` in a rayon pool of `threads` threads.
    pub(crate) fn in_pool<T: Send>(threads: usize, work: impl FnOnce() -> T + Send) -> T {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("pool")
            .install(work)
    }
}
