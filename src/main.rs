//! The `sharelog` binary: parse the command line, run the library, print, exit.

use std::process;

use clap::Parser;
use sharelog::cli::{Cli, Command};
use sharelog::{BuildOptions, Error, ExitCode};

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
                    "built {} files into {} ({} partners, {} exports, {} items)",
                    s.files,
                    args.out.display(),
                    s.partners,
                    s.exports,
                    s.items
                );
            }
        }),
        Command::Check(args) => sharelog::check(&args.root).map(|s| {
            print_warnings(&s.warnings);
            println!(
                "ok: {} partners, {} exports, {} items; nothing was written",
                s.partners, s.exports, s.items
            );
        }),
    };
    if let Err(e) = result {
        report(&e);
        process::exit(e.exit_code().code());
    }
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
