//! Integration tests: one binary that runs the real `stance` executable in temporary
//! directories. `util` builds the sandboxes; each other module covers one command family.

mod annotators;
mod import;
mod labels;
mod util;

mod candidates;
mod experiments;
mod features;
mod fuzz;
mod predict;
mod report;
mod safety;
mod setup;
