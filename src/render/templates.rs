//! Tera templates: the repository's `templates/` compiled into the binary, overridable by name from
//! the report root's `templates/`.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use tera::{Context, Tera};

use crate::error::{Error, Problem, Result};
use crate::i18n::{Arg, Lang};

/// The built-in templates, by name.
const BUILT_IN: [(&str, &str); 13] = [
    ("base.html", include_str!("../../templates/base.html")),
    ("macros.html", include_str!("../../templates/macros.html")),
    ("index.html", include_str!("../../templates/index.html")),
    ("partner.html", include_str!("../../templates/partner.html")),
    ("export.html", include_str!("../../templates/export.html")),
    (
        "opt_outs.html",
        include_str!("../../templates/opt_outs.html"),
    ),
    ("data.html", include_str!("../../templates/data.html")),
    (
        "about_data.html",
        include_str!("../../templates/about_data.html"),
    ),
    (
        "findings.html",
        include_str!("../../templates/findings.html"),
    ),
    ("page.html", include_str!("../../templates/page.html")),
    (
        "corrections.html",
        include_str!("../../templates/corrections.html"),
    ),
    (
        "releases.html",
        include_str!("../../templates/releases.html"),
    ),
    ("verify.html", include_str!("../../templates/verify.html")),
];

const STYLESHEET: &str = include_str!("../../templates/style.css");

/// The template engine with overrides applied.
pub(crate) struct Engine {
    tera: Tera,
    stylesheet: String,
    /// A catalogue lookup that failed while rendering (a key missing from the catalogue).
    missing: Arc<Mutex<Option<Error>>>,
}

/// The templates' `t(key=…, name=value…)` (plain text, escaped like any value) and
/// `th(key=…, …)` (the string as HTML: escaped by the catalogue, with its links).
struct Translate {
    lang: Arc<Lang>,
    html: bool,
    missing: Arc<Mutex<Option<Error>>>,
}

impl tera::Function for Translate {
    fn call(&self, args: &HashMap<String, serde_json::Value>) -> tera::Result<serde_json::Value> {
        let key = args
            .get("key")
            .and_then(serde_json::Value::as_str)
            .ok_or_else(|| tera::Error::msg("t() and th() need key=\"…\""))?;
        let values: Vec<(&str, Arg)> = args
            .iter()
            .filter(|(name, _)| name.as_str() != "key")
            .map(|(name, v)| {
                let arg = match v {
                    serde_json::Value::Number(n) => match n.as_u64() {
                        Some(n) => Arg::N(n),
                        None => Arg::S(n.to_string()),
                    },
                    serde_json::Value::String(s) => Arg::S(s.clone()),
                    serde_json::Value::Null => Arg::S(String::new()),
                    other => Arg::S(other.to_string()),
                };
                (name.as_str(), arg)
            })
            .collect();
        let out = if self.html {
            self.lang.html(key, &values)
        } else {
            self.lang.f(key, &values)
        };
        match out {
            Ok(text) => Ok(serde_json::Value::String(text)),
            Err(e) => {
                let message = match &e {
                    Error::Invalid(problems) => problems
                        .iter()
                        .map(|p| p.message.clone())
                        .collect::<Vec<_>>()
                        .join("; "),
                    other => other.to_string(),
                };
                if let Ok(mut slot) = self.missing.lock() {
                    slot.get_or_insert(e);
                }
                Err(tera::Error::msg(message))
            }
        }
    }

    fn is_safe(&self) -> bool {
        self.html
    }
}

impl Engine {
    /// Compiles the built-in templates, each replaced by the root's file of the same name if any.
    pub(crate) fn new(overrides: &BTreeMap<String, String>, lang: &Arc<Lang>) -> Result<Self> {
        let mut tera = Tera::default();
        let missing = Arc::new(Mutex::new(None));
        for (name, html) in [("t", false), ("th", true)] {
            tera.register_function(
                name,
                Translate {
                    lang: Arc::clone(lang),
                    html,
                    missing: Arc::clone(&missing),
                },
            );
        }
        // Every template is HTML: autoescape everything, whatever the override's name.
        tera.autoescape_on(vec![".html"]);
        tera.set_escape_fn(super::format::escape_html);
        let mut sources: BTreeMap<&str, &str> = BUILT_IN.iter().copied().collect();
        for (name, text) in overrides {
            if name.ends_with(".html") {
                sources.insert(name.as_str(), text.as_str());
            }
        }
        tera.add_raw_templates(sources.into_iter().collect::<Vec<_>>())
            .map_err(|e| Error::Internal(format!("template error: {}", chain(&e))))?;
        let stylesheet = overrides
            .get("style.css")
            .cloned()
            .unwrap_or_else(|| STYLESHEET.to_owned());
        Ok(Engine {
            tera,
            stylesheet,
            missing,
        })
    }

    /// Renders one template with a context.
    pub(crate) fn render(&self, name: &str, ctx: &serde_json::Value) -> Result<String> {
        let ctx = Context::from_value(ctx.clone())
            .map_err(|e| Error::Internal(format!("template context: {}", chain(&e))))?;
        self.tera.render(name, &ctx).map_err(|e| {
            // A string the catalogue lacks is the report's problem (a template override asking
            // for an unknown key), not sharelog's: name the template and the key.
            let missing = self.missing.lock().ok().and_then(|mut slot| slot.take());
            match missing {
                Some(Error::Invalid(problems)) => Error::invalid(
                    problems
                        .into_iter()
                        .map(|p| Problem {
                            message: format!("{} (rendering templates/{name})", p.message),
                            ..p
                        })
                        .collect(),
                ),
                _ => Error::Internal(format!("rendering {name} failed: {}", chain(&e))),
            }
        })
    }

    /// The stylesheet (built in, or the root's `templates/style.css`).
    pub(crate) fn stylesheet(&self) -> &str {
        &self.stylesheet
    }
}

/// Tera's error with its causes, which hold the useful part (the line and what went wrong).
fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}
