//! The `sharelog` binary: parse the command line, run the library, print, exit.

use std::process;

use clap::Parser;
use sharelog::cli::{Cli, Command};
use sharelog::{BuildOptions, Error, ExitCode, Severity};

// polars allocates and frees many short-lived buffers; mimalloc serves them faster than the
// system allocator (bench/RESULTS.md has the figures with and without it). Built without
// transparent huge pages (`no_thp`): mimalloc asked for them on its 1 GiB arena, and then the
// kernel zeroed (and compacted memory for) a 2 MiB page at each first touch, and again after
// every purge: half of a rebuild's samples, with wall times varying twofold from run to run.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    // A closed pipe (`sharelog build | head`) ends the process quietly, as it does for other
    // command-line tools, instead of a panic in println! (exit 101).
    #[cfg(unix)]
    // SAFETY: restoring the default action of one signal before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() {
                ExitCode::Usage
            } else {
                ExitCode::Ok
            };
            let _ = e.print();
            process::exit(code.code());
        }
    };
    let result = run(&cli);
    match result {
        Ok(code) => process::exit(code),
        Err(e) => {
            report(&e, &cli);
            process::exit(e.exit_code().code());
        }
    }
}

/// Runs a command; `Ok` holds the exit code.
fn run(cli: &Cli) -> Result<i32, Error> {
    match &cli.command {
        Command::Build(args) => sharelog::build(&BuildOptions {
            root: args.root.clone(),
            out: args.out.clone(),
            unsuppressed: args.unsuppressed,
            quiet: args.quiet,
            language: args.language.clone(),
            cache: (!args.no_cache).then(|| args.cache.clone()),
            cache_key: args.cache_key.clone(),
            sign: args.sign.clone(),
            previous: args.previous.clone(),
            receipt_key: args.receipt_key.clone(),
            receipts: args.receipts.clone(),
        })
        .map(|s| {
            print_warnings(&s.warnings);
            if !args.quiet {
                println!(
                    "built {} into {} ({}; {})",
                    sharelog::counted(s.files as u64, "file", "files"),
                    args.out.display(),
                    totals(&s),
                    s.findings_line()
                );
                if let Some(line) = s.hidden_line() {
                    println!("{line}");
                }
            }
            gate(&s, args.fail_on, args.fail_on_any, Some(&args.out)).code()
        }),
        Command::Check(args) => sharelog::check(&args.root).map(|s| {
            print_warnings(&s.warnings);
            println!(
                "ok: {}; {}; nothing was written",
                totals(&s),
                s.findings_line()
            );
            gate(&s, args.fail_on, args.fail_on_any, None).code()
        }),
        Command::New(args) => sharelog::new_root(&args.dir).map(|files| {
            for f in &files {
                println!("wrote {}", args.dir.join(f).display());
            }
            println!(
                "next: sharelog serve --root {0}   (or: sharelog build --root {0} --out public)",
                args.dir.display()
            );
            0
        }),
        Command::Serve(args) => sharelog::serve::serve(
            &sharelog::serve::ServeOptions {
                root: args.root.clone(),
                bind: args.bind,
                port: args.port,
            },
            |addr| {
                use std::io::Write;
                println!("serving http://{addr}/ — rebuilds on every change; Ctrl-C stops");
                let _ = std::io::stdout().flush();
            },
        )
        .map(|()| 0),
        Command::Diff(args) => {
            // A side that cannot be read or built is exit code 3: 1 means "different" here.
            // The problems of both sides are one list, each file named with its side's folder
            // (a root's problems name files relative to it, the same for OLD and NEW).
            let side = |path: &std::path::Path| {
                sharelog::diff::read_side(path).map_err(|e| match e {
                    Error::Invalid(problems) => problems
                        .into_iter()
                        .map(|mut p| {
                            // A problem with the side itself already names it.
                            if std::path::Path::new(&p.file) != path {
                                p.file = path.join(&p.file).display().to_string();
                            }
                            p
                        })
                        .collect(),
                    other => {
                        report(&other, cli);
                        Vec::new()
                    }
                })
            };
            let (old, new) = match (side(&args.old), side(&args.new)) {
                (Ok(old), Ok(new)) => (old, new),
                (old, new) => {
                    let problems: Vec<_> = [old.err(), new.err()]
                        .into_iter()
                        .flatten()
                        .flatten()
                        .collect();
                    if !problems.is_empty() {
                        report(&Error::invalid(problems), cli);
                    }
                    return Ok(3);
                }
            };
            let changes = sharelog::diff::compare(&old, &new)?;
            print!(
                "{}",
                sharelog::diff::render(&old, &new, &changes, args.format)
            );
            Ok(if changes.is_empty() { 0 } else { 1 })
        }
        Command::Completions(args) => {
            use clap::CommandFactory;
            let mut cmd = Cli::command();
            clap_complete::generate(args.shell, &mut cmd, "sharelog", &mut std::io::stdout());
            Ok(0)
        }
        Command::Cache(sharelog::cli::CacheCommand::Prune(args)) => {
            let pruned = sharelog::prune_cache(&args.root, &args.cache, args.dry_run)?;
            eprintln!(
                "{} {} entries ({} bytes) no listing of {} uses; kept {}",
                if args.dry_run {
                    "would remove"
                } else {
                    "removed"
                },
                pruned.removed,
                pruned.bytes,
                args.root.display(),
                pruned.kept
            );
            Ok(0)
        }
        Command::Sql(args) => sharelog::warehouse::sql(&sharelog::warehouse::SqlOptions {
            root: &args.root,
            engine: args.engine,
            export: args.export.as_deref(),
            items: &args.items,
            ledger: &args.ledger,
            figures: args.figures,
        })
        .map(|text| {
            print!("{text}");
            0
        }),
        Command::Receipt(args) => {
            let mut missing = 0;
            let mut io = false;
            for owner in &args.owner {
                // With several owners, an owner whose receipt fails (its folder's own check, or a
                // file that cannot be read) is reported and the others' are still printed; the
                // exit code is the worst (3 for an I/O error, else 1).
                let found = match sharelog::receipts::receipt(&args.receipts, owner) {
                    Err(Error::Invalid(problems)) if args.owner.len() > 1 => {
                        for p in problems {
                            eprintln!("{p}");
                        }
                        missing += 1;
                        continue;
                    }
                    Err(e) if args.owner.len() > 1 => {
                        eprintln!("error: {e}");
                        io = true;
                        continue;
                    }
                    other => other?,
                };
                match found {
                    Some(r) => {
                        let text = if args.owner.len() == 1 {
                            serde_json::to_string_pretty(&r)
                        } else {
                            serde_json::to_string(&r)
                        }
                        .map_err(|e| Error::Internal(format!("the receipt: {e}")))?;
                        println!("{text}");
                    }
                    None => {
                        missing += 1;
                        eprintln!(
                            "no receipt: no export batch with an item listing held any item of owner {owner}"
                        );
                    }
                }
            }
            Ok(if io {
                3
            } else if missing > 0 {
                1
            } else {
                0
            })
        }
        Command::Verify(args) => {
            use sharelog::receipts::verify::{Outcome, printable};
            let name = printable(&args.receipt.display().to_string());
            let print = |lines: &[String], end: &str| {
                for l in lines {
                    println!("  {l}{end}");
                }
            };
            match sharelog::receipts::verify::verify(&args.receipt, &args.site)? {
                Outcome::Verified { checked, unchecked } => {
                    println!("verified: {name}");
                    print(&checked, ".");
                    if !unchecked.is_empty() {
                        println!(
                            "not checked (the site publishes no tree for these batches, so nothing about them is proven):"
                        );
                        print(&unchecked, ".");
                    }
                    Ok(0)
                }
                Outcome::Unchecked(lines) => {
                    println!(
                        "nothing checked: {name}: the site commits to none of its export batches, so it proves nothing"
                    );
                    print(&lines, ".");
                    Ok(1)
                }
                Outcome::Failed(lines) => {
                    println!("NOT verified: {name}");
                    print(&lines, "");
                    Ok(1)
                }
            }
        }
        Command::Schema(args) => sharelog::schema::write_schemas(&args.out).map(|paths| {
            for p in paths {
                println!("wrote {}", p.display());
            }
            0
        }),
        Command::Catalogue(args) => {
            let text = sharelog::i18n::built_in_text(&args.language).unwrap_or_default();
            print!("{text}");
            Ok(0)
        }
        Command::Man => {
            use clap::CommandFactory;
            let man = clap_mangen::Man::new(Cli::command());
            let mut out = Vec::new();
            man.render(&mut out)
                .map_err(|e| Error::Internal(format!("cannot render the man page: {e}")))?;
            use std::io::Write;
            std::io::stdout()
                .write_all(&out)
                .map_err(|e| Error::Internal(format!("cannot write the man page: {e}")))?;
            Ok(0)
        }
    }
}

/// The findings gate: exit code 4 when `--fail-on` is given and a new finding (no response, or
/// a count larger than its response covers) reaches it, or `--fail-on-any` and any finding
/// does. Each finding that failed the gate is printed; `written` names where the site shows
/// them (`check` writes nothing, so it points at nothing).
fn gate(
    summary: &sharelog::Summary,
    fail_on: Option<Severity>,
    fail_on_any: Option<Severity>,
    written: Option<&std::path::Path>,
) -> ExitCode {
    let mut failed: Vec<&sharelog::GateFinding> = Vec::new();
    let mut rules = Vec::new();
    if let Some(threshold) = fail_on {
        failed.extend(summary.gated(threshold, false));
        rules.push(format!("--fail-on {}", threshold.slug()));
    }
    if let Some(threshold) = fail_on_any {
        for g in summary.gated(threshold, true) {
            if !failed.contains(&g) {
                failed.push(g);
            }
        }
        rules.push(format!("--fail-on-any {}", threshold.slug()));
    }
    if failed.is_empty() {
        return ExitCode::Ok;
    }
    let n = failed.len();
    eprintln!(
        "error: {n} finding{} failed the gate ({}):",
        if n == 1 { "" } else { "s" },
        rules.join(", ")
    );
    for g in &failed {
        eprintln!("  {g}");
    }
    let mut help = vec![
        "a finding the platform has acted on passes `--fail-on` once data/responses.yaml answers it at its count".to_owned(),
    ];
    if let Some(out) = written {
        help.push(format!(
            "the findings are listed in {}",
            out.join("findings/index.html").display()
        ));
    }
    eprintln!("  = help: {}", help.join("; "));
    ExitCode::Findings
}

fn print_warnings(warnings: &[String]) {
    for w in warnings {
        eprintln!("warning: {w}");
    }
}

/// "1 partner, 2 exports, 3,690 items" for the summary lines of `build` and `check`.
fn totals(s: &sharelog::Summary) -> String {
    [
        sharelog::counted(s.partners as u64, "partner", "partners"),
        sharelog::counted(s.exports as u64, "export", "exports"),
        sharelog::counted(s.items, "item", "items"),
    ]
    .join(", ")
}

fn report(e: &Error, cli: &Cli) {
    // `diff` and `serve` never write a site: "nothing was written" would say nothing.
    let ending = match cli.command {
        Command::Diff(_)
        | Command::Serve(_)
        | Command::Sql(_)
        | Command::Receipt(_)
        | Command::Verify(_) => "",
        _ => "; nothing was written",
    };
    eprintln!("{}", sharelog::describe_ending(e, ending));
}
