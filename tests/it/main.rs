//! Integration tests: one binary, a module per feature.

mod cli;
mod determinism;
mod downloads;
mod formats;
mod invalid;
mod pages;
mod support;
