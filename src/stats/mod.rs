//! Statistics for small hand-labelled data: agreement between annotators, intervals,
//! permutation and paired tests. Pure functions over slices; no I/O, no model fitting.

pub mod agreement;
pub mod interval;
pub mod paired;
pub mod permutation;
pub mod proportion;
pub mod summary;
