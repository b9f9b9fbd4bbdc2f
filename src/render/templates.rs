//! Tera templates: the repository's `templates/` compiled into the binary, overridable by name from
//! the report root's `templates/`.

use std::collections::BTreeMap;

use tera::{Context, Tera};

use crate::error::{Error, Result};

/// The built-in templates, by name.
const BUILT_IN: [(&str, &str); 11] = [
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
];

const STYLESHEET: &str = include_str!("../../templates/style.css");

/// The template engine with overrides applied.
pub(crate) struct Engine {
    tera: Tera,
    stylesheet: String,
}

impl Engine {
    /// Compiles the built-in templates, each replaced by the root's file of the same name if any.
    pub(crate) fn new(overrides: &BTreeMap<String, String>) -> Result<Self> {
        let mut tera = Tera::default();
        // Every template is HTML: autoescape everything, whatever the override's name.
        tera.autoescape_on(vec![".html"]);
        tera.set_escape_fn(escape_html);
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
        Ok(Engine { tera, stylesheet })
    }

    /// Renders one template with a context.
    pub(crate) fn render(&self, name: &str, ctx: &serde_json::Value) -> Result<String> {
        let ctx = Context::from_value(ctx.clone())
            .map_err(|e| Error::Internal(format!("template context: {}", chain(&e))))?;
        self.tera
            .render(name, &ctx)
            .map_err(|e| Error::Internal(format!("rendering {name} failed: {}", chain(&e))))
    }

    /// The stylesheet (built in, or the root's `templates/style.css`).
    pub(crate) fn stylesheet(&self) -> &str {
        &self.stylesheet
    }
}

/// Escapes `& < > " '` (tera's default also escapes `/`, which turns every relative link into
/// `..&#x2F;` without making anything safer).
fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    // Writing into a String cannot fail.
    let _ = pulldown_cmark_escape::escape_html(&mut out, text);
    out
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
