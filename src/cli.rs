//! The command line (clap) and its translation into checked options.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::model::Severity;

const EXIT_CODES: &str = "\
Exit codes:
  0  built (or, for check, the input is valid)
  1  invalid input: every problem was printed, nothing was written
  2  usage error on the command line
  3  I/O or internal error
  4  findings at or above --fail-on (build still writes the site)";

/// sharelog builds a static-site transparency report about user data shared with AI companies.
#[derive(Debug, Parser)]
#[command(name = "sharelog", version, about, after_help = EXIT_CODES)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Read, check and aggregate a report root, then write the static site.
    #[command(after_help = EXIT_CODES)]
    Build(BuildArgs),
    /// Read and check everything a build reads; write nothing.
    #[command(after_help = EXIT_CODES)]
    Check(CheckArgs),
}

/// Arguments of `sharelog build`.
#[derive(Debug, Args)]
pub struct BuildArgs {
    /// The report root (the folder holding report.yaml).
    #[arg(long, default_value = ".")]
    pub root: PathBuf,
    /// Where to write the site; relative paths are relative to the current folder.
    #[arg(long, default_value = "public")]
    pub out: PathBuf,
    /// Print nothing on success.
    #[arg(long, short)]
    pub quiet: bool,
    /// Exit with code 4 when a finding at or above this severity exists (the site is still
    /// written). Without it, findings never change the exit code.
    #[arg(long, value_enum, value_name = "SEVERITY")]
    pub fail_on: Option<Severity>,
}

/// Arguments of `sharelog check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The report root (the folder holding report.yaml).
    #[arg(long, default_value = ".")]
    pub root: PathBuf,
    /// Exit with code 4 when a finding at or above this severity exists. Without it, findings
    /// never change the exit code.
    #[arg(long, value_enum, value_name = "SEVERITY")]
    pub fail_on: Option<Severity>,
}
