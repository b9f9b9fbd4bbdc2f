//! `content/**/*.md` → [`Page`]s: YAML front matter between `---` lines, then Markdown.

use std::collections::BTreeMap;

use super::raw::RawFrontMatter;
use super::{Ctx, yaml};
use crate::error::{Problem, Problems};
use crate::model::{Page, is_slug};
use crate::render::markdown;

const DIR: &str = "content";

/// Output folders the built-in pages own; a content page may not take them.
pub(crate) const RESERVED: [&str; 7] = [
    "partners", "exports", "opt-outs", "findings", "data", "charts", "assets",
];

/// Loads every content page, sorted by weight, then path.
pub(crate) fn load(ctx: &Ctx<'_>, problems: &mut Problems) -> Vec<Page> {
    let dir = ctx.root.join(DIR);
    if !dir.is_dir() {
        return Vec::new();
    }
    let mut pages: BTreeMap<String, Page> = BTreeMap::new();
    for path in ctx.walk(&dir, usize::MAX, problems) {
        let path = path.as_path();
        if path.extension().is_none_or(|e| e != "md") {
            continue;
        }
        let file = ctx.rel(path);
        let Some(text) = ctx.read_text(path, problems) else {
            continue;
        };
        let rel = path.strip_prefix(&dir).unwrap_or(path).with_extension("");
        let parts: Vec<String> = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        let mut slug_parts = parts.clone();
        if slug_parts.last().is_some_and(|l| l == "index") {
            slug_parts.pop();
        }
        if slug_parts.is_empty() {
            problems.push(
                Problem::new(&file, "content/index.md would replace the overview page")
                    .help("rename it, e.g. to content/about.md"),
            );
            continue;
        }
        if let Some(bad) = slug_parts.iter().find(|p| !is_slug(p)) {
            problems.push(
                Problem::new(
                    &file,
                    format!("`{bad}` is not a slug, so it cannot be a page address"),
                )
                .help("name content files and folders with lowercase letters, digits and `-`"),
            );
            continue;
        }
        if RESERVED.contains(&slug_parts[0].as_str()) {
            problems.push(
                Problem::new(
                    &file,
                    format!("`{}` is the address of a built-in page", slug_parts[0]),
                )
                .help(format!(
                    "rename the file; reserved names: {}",
                    RESERVED.join(", ")
                )),
            );
            continue;
        }
        let slug = slug_parts.join("/");
        let Some((front, body)) = split_front_matter(&file, &text, problems) else {
            continue;
        };
        let matter: RawFrontMatter = match yaml::parse(&file, front, 1) {
            Ok(m) => m,
            Err(p) => {
                problems.push(*p);
                continue;
            }
        };
        if let Some((line, what)) = markdown::too_deep(body) {
            // The body's first line is the file's line after the front matter.
            // `body` is a slice of `text`: its start is the front matter's length.
            let offset = (body.as_ptr() as usize).saturating_sub(text.as_ptr() as usize);
            let before = text.get(..offset).map_or(0, |t| t.lines().count());
            problems.push(
                Problem::new(
                    &file,
                    format!("{what} nest more than {} deep", markdown::MAX_NESTING),
                )
                .at((before + line) as u64, None)
                .help("flatten the text: such nesting would take minutes to render"),
            );
            continue;
        }
        let rendered = markdown::render(body);
        if pages.contains_key(&slug) {
            problems.push(
                Problem::new(
                    &file,
                    format!("another content file also makes the page `{slug}/`"),
                )
                .help("rename one of them"),
            );
            continue;
        }
        pages.insert(
            slug.clone(),
            Page {
                slug,
                title: matter.title,
                description: matter.description,
                weight: matter.weight.unwrap_or(0),
                in_nav: matter.nav.unwrap_or(true),
                html: rendered.html,
                toc: rendered.toc,
            },
        );
    }
    let mut pages: Vec<Page> = pages.into_values().collect();
    pages.sort_by(|a, b| a.weight.cmp(&b.weight).then_with(|| a.slug.cmp(&b.slug)));
    pages
}

/// Splits `---\n<yaml>\n---\n<markdown>` into the YAML and the Markdown.
fn split_front_matter<'t>(
    file: &str,
    text: &'t str,
    problems: &mut Problems,
) -> Option<(&'t str, &'t str)> {
    let mut lines = text.split_inclusive('\n');
    let first = lines.next().unwrap_or("");
    if first.trim_end() != "---" {
        problems.push(
            Problem::new(file, "no front matter")
                .at(1, None)
                .help("start the file with a `---` line, `title: ...`, and another `---` line"),
        );
        return None;
    }
    let start = first.len();
    let mut offset = start;
    for line in lines {
        if line.trim_end() == "---" {
            let front = &text[start..offset];
            let body = &text[offset + line.len()..];
            return Some((front, body));
        }
        offset += line.len();
    }
    problems.push(
        Problem::new(file, "front matter has no closing `---`")
            .at(1, None)
            .help("end the front matter with a line holding only `---`"),
    );
    None
}
