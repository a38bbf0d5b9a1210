//! lagesbild: a survey engine for the yearly local situation picture on violent extremism.
//!
//! The core (`survey`, `roster`, `tally`, `round`, `address`, the rules in `outbox` and
//! `account`) is pure. `store` is the only place with SQL; `coordinator` holds the
//! coordinator's use cases, shared by the two shells, `web` and `cli`. ARCHITECTURE.md
//! draws the layers.

pub mod account;
pub mod address;
pub mod analysis;
pub mod audit;
pub mod chart;
pub mod cli;
pub mod config;
pub mod coordinator;
pub mod export;
pub mod gallring;
pub mod incident;
pub mod outbox;
pub mod report;
pub mod roster;
pub mod round;
pub mod seal;
pub mod shipped;
pub mod sources;
pub mod statement;
pub mod store;
pub mod survey;
pub mod tally;
pub mod text;
pub mod token;
pub mod web;
