//! The `sharelog` binary: parse the command line, run the library, print, exit.

use std::process;

use clap::Parser;
use sharelog::cli::{Cli, Command};
use sharelog::{BuildOptions, Error, ExitCode, Severity};

fn main() {
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
    let result = match &cli.command {
        Command::Build(args) => sharelog::build(&BuildOptions {
            root: args.root.clone(),
            out: args.out.clone(),
        })
        .map(|s| {
            print_warnings(&s.warnings);
            if !args.quiet {
                println!(
                    "built {} files into {} ({} partners, {} exports, {} items; {})",
                    s.files,
                    args.out.display(),
                    s.partners,
                    s.exports,
                    s.items,
                    s.findings_line()
                );
            }
            gate(&s, args.fail_on)
        }),
        Command::Check(args) => sharelog::check(&args.root).map(|s| {
            print_warnings(&s.warnings);
            println!(
                "ok: {} partners, {} exports, {} items; {}; nothing was written",
                s.partners,
                s.exports,
                s.items,
                s.findings_line()
            );
            gate(&s, args.fail_on)
        }),
    };
    match result {
        Ok(code) => process::exit(code.code()),
        Err(e) => {
            report(&e);
            process::exit(e.exit_code().code());
        }
    }
}

/// The findings gate: exit code 4 when `--fail-on` is given and a finding reaches it.
fn gate(summary: &sharelog::Summary, fail_on: Option<Severity>) -> ExitCode {
    let Some(threshold) = fail_on else {
        return ExitCode::Ok;
    };
    let n = summary.findings_at_or_above(threshold);
    if n == 0 {
        return ExitCode::Ok;
    }
    eprintln!(
        "error: {n} finding{} at or above `{}` ({}); see findings/index.html or data/findings.csv",
        if n == 1 { "" } else { "s" },
        threshold.slug(),
        summary.findings_line()
    );
    ExitCode::Findings
}

fn print_warnings(warnings: &[String]) {
    for w in warnings {
        eprintln!("warning: {w}");
    }
}

fn report(e: &Error) {
    match e {
        Error::Invalid(problems) => {
            for p in problems {
                eprintln!("{p}");
            }
            let n = problems.len();
            eprintln!(
                "error: {n} problem{} found; nothing was written",
                if n == 1 { "" } else { "s" }
            );
        }
        other => eprintln!("error: {other}"),
    }
}
