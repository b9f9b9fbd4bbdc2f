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

const RECEIPT_EXIT_CODES: &str = "\
Exit codes:
  0  printed the receipt (of every owner given)
  1  no batch held any item of an owner given (named on stderr; the others are printed); the
     folder is not a receipts folder of this version; or it was changed or damaged, so that a
     receipt would not verify against the folder's own commitments (nothing is printed for it;
     with several owners, the others' receipts are still printed)
  2  usage error on the command line
  3  I/O or internal error (with several owners, the others' receipts are still printed)";

const VERIFY_EXIT_CODES: &str = "\
Exit codes:
  0  the receipt verifies against the site's commitments
  1  it does not (every failure is printed); the site publishes no commitments; the site commits
     to none of the receipt's batches, so nothing was checked; or the receipt is not a regular
     file of at most 64 MiB
  2  usage error on the command line
  3  I/O error (the receipt or the site cannot be read, or --site is not a folder)";

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
    /// Write a minimal, valid report root into a new or empty folder.
    New(NewArgs),
    /// Build in memory, serve on 127.0.0.1, rebuild on every change and reload open pages.
    Serve(ServeArgs),
    /// Compare two built sites (or two report roots): batches, counts and findings that changed.
    #[command(after_help = DIFF_EXIT_CODES)]
    Diff(DiffArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions(CompletionsArgs),
    /// Print the man page (roff).
    Man,
    /// The listing cache (`build --cache`).
    #[command(subcommand)]
    Cache(CacheCommand),
    /// Print a built-in catalogue of interface strings (en, de): the keys a report root's
    /// i18n/<language>.yaml may override, or must all give for another language.
    Catalogue(CatalogueArgs),
    /// Print the warehouse query (DuckDB or Spark SQL) that counts an export batch by the report's
    /// own rules: its result is the batch's declared counts table.
    Sql(SqlArgs),
    /// Print one owner's receipt (JSON) from the folder `build --receipts` wrote: per batch
    /// that held their items, their record and the path to the published root.
    #[command(after_help = RECEIPT_EXIT_CODES)]
    Receipt(ReceiptArgs),
    /// Check a receipt against a site's data/commitments.json: exit 0 and a summary when it
    /// verifies, 1 and what failed when it does not.
    #[command(after_help = VERIFY_EXIT_CODES)]
    Verify(VerifyArgs),
    /// Write the JSON Schemas of the YAML inputs (report.yaml, partners, export manifests,
    /// corrections, responses), for editors that check YAML as you type.
    Schema(SchemaArgs),
}

/// `sharelog sql`.
#[derive(Debug, Args)]
pub struct SqlArgs {
    /// The report root.
    #[arg(long, default_value = ".")]
    pub root: PathBuf,
    /// The SQL dialect.
    #[arg(long, value_enum, default_value = "duckdb")]
    pub engine: crate::warehouse::Engine,
    /// One export batch's id; without it, every batch at once (the items then need an `export`
    /// column, and the result has `partner` and `export` first).
    #[arg(long)]
    pub export: Option<String>,
    /// The table or view holding the items (the columns of an item listing).
    #[arg(long, default_value = "items")]
    pub items: String,
    /// The table or view holding the opt-out ledger (owner_id, opted_out_at, withdrawn_at, scope).
    #[arg(long, default_value = "ledger")]
    pub ledger: String,
    /// Print the query for the figures beyond the counts instead (distinct owners, owners opted
    /// out, items opted out at the report's date, items outside the content window): its result
    /// is the table a manifest names as `figures:`.
    #[arg(long)]
    pub figures: bool,
}

/// `sharelog cache …`.
#[derive(Debug, Subcommand)]
pub enum CacheCommand {
    /// Remove the entries that no listing (or part file) of the report root uses: what its next
    /// build reads is kept, entries of listings since changed or removed go.
    Prune(PruneArgs),
}

/// Arguments of `sharelog cache prune`.
#[derive(Debug, Args)]
pub struct PruneArgs {
    /// The report root (the folder holding report.yaml).
    #[arg(long, default_value = ".")]
    pub root: PathBuf,
    /// The cache's folder.
    #[arg(long, value_name = "DIR", default_value = ".sharelog-cache")]
    pub cache: PathBuf,
    /// Say what would be removed; remove nothing.
    #[arg(long)]
    pub dry_run: bool,
}

const DIFF_EXIT_CODES: &str = "\
Exit codes:
  0  no differences in the published data
  1  differences (printed)
  2  usage error on the command line
  3  a side could not be read or built";

/// Arguments of `sharelog new`.
#[derive(Debug, Args)]
pub struct NewArgs {
    /// The folder to create (it must not exist, or be empty).
    pub dir: PathBuf,
}

/// Arguments of `sharelog serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The report root (the folder holding report.yaml).
    #[arg(long, default_value = ".")]
    pub root: PathBuf,
    /// The port to listen on (0: any free port).
    #[arg(long, default_value_t = 8000)]
    pub port: u16,
    /// The address to listen on. Only loopback by default: say --bind 0.0.0.0 to show the site
    /// to other machines.
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: std::net::IpAddr,
}

/// Arguments of `sharelog diff`.
#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The earlier site or report root.
    pub old: PathBuf,
    /// The later site or report root.
    pub new: PathBuf,
    /// Plain text, or Markdown for a pull-request comment.
    #[arg(long, value_enum, default_value = "text")]
    pub format: crate::diff::Format,
}

/// Arguments of `sharelog schema`.
#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// The folder to write the schemas into (created if needed).
    #[arg(long, default_value = "schemas")]
    pub out: PathBuf,
}

/// Arguments of `sharelog catalogue`.
#[derive(Debug, Args)]
pub struct CatalogueArgs {
    /// The language of the built-in catalogue.
    #[arg(default_value = "en", value_parser = ["en", "de"])]
    pub language: String,
}

/// Arguments of `sharelog completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
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
    /// Print nothing on success: no summary, and no stage reports on stderr (a spinner on a
    /// terminal, one line per stage otherwise).
    #[arg(long, short)]
    pub quiet: bool,
    /// Exit with code 4 when a finding at or above this severity is new: it has no response in
    /// data/responses.yaml, or its count is larger than the count its response covers (the
    /// site is still written). Each such finding is printed on stderr.
    #[arg(long, value_enum, value_name = "SEVERITY")]
    pub fail_on: Option<Severity>,
    /// Exit with code 4 when any finding at or above this severity exists, responded to or not.
    #[arg(long, value_enum, value_name = "SEVERITY")]
    pub fail_on_any: Option<Severity>,
    /// An auditor's build with exact counts: nothing is suppressed, and every page and data file
    /// says "not for publication". Never publish its output.
    #[arg(long)]
    pub unsuppressed: bool,
    /// Build in this language instead of report.yaml's `language` (a BCP 47 tag: en and de are
    /// built in, others need i18n/<language>.yaml), e.g. one edition per language from one root.
    #[arg(long, value_name = "TAG")]
    pub language: Option<String>,
    /// The listing cache: each item listing's counts, keyed by the listing's and the ledger's
    /// content and sharelog's version, so that a rebuild reads only new or changed listings.
    /// Entries are authenticated with the cache key (see --cache-key).
    /// Relative paths are relative to the current folder.
    #[arg(long, value_name = "DIR", default_value = ".sharelog-cache")]
    pub cache: PathBuf,
    /// The file holding the secret that authenticates cache entries (at least 16 bytes, kept
    /// outside the cache). Without it: the SHARELOG_CACHE_KEY environment variable, else a key
    /// generated once for this user in ~/.config/sharelog/cache-key.
    #[arg(long, value_name = "FILE")]
    pub cache_key: Option<PathBuf>,
    /// Sign data/SHA256SUMS with this minisign secret key into data/SHA256SUMS.minisig (its
    /// password, if any, in SHARELOG_SIGN_PASSWORD). Keep the key in a CI secret, never in the
    /// repository.
    #[arg(long, value_name = "KEY")]
    pub sign: Option<PathBuf>,
    /// The site as it is published now (downloaded from the static host, or kept as a CI
    /// artifact): the new site carries it forward under releases/, with a hash-chained
    /// releases/releases.json and a page of what changed since.
    #[arg(long, value_name = "DIR")]
    pub previous: Option<PathBuf>,
    /// Count every listing afresh, without reading or writing the cache.
    #[arg(long, conflicts_with = "cache")]
    pub no_cache: bool,
    /// A secret file (at least 16 bytes; keep it, another key gives other commitments): commit
    /// to every listed batch's owners in data/commitments.json, with the verify/ page. Salts are
    /// HMAC-SHA256 of each owner's id under this key. See docs/receipts.md.
    #[arg(long, value_name = "FILE")]
    pub receipt_key: Option<PathBuf>,
    /// Write every owner's receipt to DIR (never under --out; replaced whole, only once the
    /// site is written). `sharelog receipt` prints one owner's from it.
    #[arg(long, value_name = "DIR", requires = "receipt_key")]
    pub receipts: Option<PathBuf>,
}

/// Arguments of `sharelog receipt`.
#[derive(Debug, Args)]
pub struct ReceiptArgs {
    /// The folder `build --receipts` wrote.
    #[arg(long, value_name = "DIR")]
    pub receipts: PathBuf,
    /// The owner's id, as the listings hold it. Repeat it for several owners: their receipts
    /// are printed one per line (JSON Lines), in the order given. An id may begin with `-`
    /// (`--owner -5`).
    #[arg(long, value_name = "ID", required = true, allow_hyphen_values = true)]
    pub owner: Vec<String>,
}

/// Arguments of `sharelog verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The receipt (JSON, as `sharelog receipt` prints it).
    pub receipt: PathBuf,
    /// The published site (a folder holding data/commitments.json).
    #[arg(long, value_name = "DIR")]
    pub site: PathBuf,
}

/// Arguments of `sharelog check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The report root (the folder holding report.yaml).
    #[arg(long, default_value = ".")]
    pub root: PathBuf,
    /// Exit with code 4 when a finding at or above this severity is new: it has no response in
    /// data/responses.yaml, or its count is larger than the count its response covers. Each
    /// such finding is printed on stderr.
    #[arg(long, value_enum, value_name = "SEVERITY")]
    pub fail_on: Option<Severity>,
    /// Exit with code 4 when any finding at or above this severity exists, responded to or not.
    #[arg(long, value_enum, value_name = "SEVERITY")]
    pub fail_on_any: Option<Severity>,
}
