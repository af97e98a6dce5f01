//! Statistics for small hand-labelled data: intervals, permutation and paired tests,
//! proportions. Pure functions over slices; no I/O, no model fitting.

pub mod interval;
pub mod paired;
pub mod permutation;
pub mod proportion;
pub mod summary;
