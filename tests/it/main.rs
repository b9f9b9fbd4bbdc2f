//! Integration tests: one binary, a module per feature.

mod cache;
mod cli;
mod determinism;
mod downloads;
mod feeds;
mod figures;
mod findings;
mod formats;
mod fuzz_seeds;
mod i18n;
mod ids;
mod invalid;
mod links;
mod output;
mod owners;
mod package;
mod pages;
mod parts;
mod receipts;
mod reference;
mod releases;
mod scopes;
mod signing;
mod support;
mod suppression;
mod workflow;
