//! lagesbild: a survey engine for the yearly local situation picture on violent extremism.
//!
//! The core (`survey`, `roster`) is pure; `store`, `web` and `cli` are thin shells around it.

pub mod survey;
