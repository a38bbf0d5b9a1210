//! End-to-end tests: the real server on a free port, a real database (a fresh SQLite file,
//! and a fresh PostgreSQL database when TEST_DATABASE_URL is set), driven over HTTP.

mod helpers;

mod admin;
mod analysis;
mod anonymity;
mod backup;
mod bad_input;
mod command_line;
mod form;
mod gallring;
mod hardening;
mod incidents;
mod mail;
mod pace;
mod pages;
mod protection;
mod provider;
mod smtp;
