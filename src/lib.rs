//! lagesbild: a survey engine for the yearly local situation picture on violent extremism.
//!
//! The core (`survey`, `roster`) is pure; `store`, `web` and `cli` are thin shells around it.

pub mod account;
pub mod admin;
pub mod analysis;
pub mod audit;
pub mod chart;
pub mod cli;
pub mod config;
pub mod export;
pub mod outbox;
pub mod report;
pub mod roster;
pub mod round;
pub mod store;
pub mod survey;
pub mod tally;
pub mod token;
pub mod web;
