//! What `build` says about its stages on stderr: a spinner when stderr is a terminal, one plain
//! line per stage otherwise (CI logs), nothing with `--quiet`. Never on stdout, never in the site.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

/// Stage reports for one build.
pub struct Progress {
    mode: Mode,
}

enum Mode {
    Quiet,
    Lines,
    Spinner(ProgressBar),
}

impl Progress {
    /// A spinner on a terminal, plain lines elsewhere, or nothing when `quiet`.
    pub fn new(quiet: bool) -> Self {
        let mode = if quiet {
            Mode::Quiet
        } else if std::io::stderr().is_terminal() {
            let bar = ProgressBar::new_spinner();
            if let Ok(style) = ProgressStyle::with_template("{spinner} {elapsed} {msg}") {
                bar.set_style(style);
            }
            bar.enable_steady_tick(Duration::from_millis(120));
            Mode::Spinner(bar)
        } else {
            Mode::Lines
        };
        Progress { mode }
    }

    /// Nothing at all (library use, tests).
    pub fn silent() -> Self {
        Progress { mode: Mode::Quiet }
    }

    /// A stage begins.
    pub fn stage(&self, what: &str) {
        match &self.mode {
            Mode::Quiet => {}
            Mode::Lines => eprintln!("sharelog: {what}"),
            Mode::Spinner(bar) => bar.set_message(what.to_owned()),
        }
    }

    /// The build is over: the spinner disappears.
    pub fn finish(&self) {
        if let Mode::Spinner(bar) = &self.mode {
            bar.finish_and_clear();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}
