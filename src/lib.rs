//! `stance`: reproducible stance-classification experiments on paragraphs labelled by hand.
//!
//! The modules are declared in the order data flows through them: articles become
//! paragraphs (`corpus`), people label them (`labels`), text becomes vectors (`features`),
//! a logistic regression learns from them (`model`) inside cross-validation folds (`cv`),
//! predictions are scored (`metrics`, `stats`), and an experiment ties it together
//! (`experiment`) and is written to disk (`record`). The command-line front end lives in
//! the binary (`src/cli/`), which is the only place that knows clap or anyhow.

pub mod apply;
pub mod corpus;
pub mod cv;
pub mod experiment;
pub mod features;
pub mod import;
pub mod input;
pub mod labels;
pub mod metrics;
pub mod model;

pub mod model_file;
pub mod persist;
pub mod trained;

pub mod html;
pub mod record;
pub mod rng;
pub mod sparse;
pub mod stats;

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
