//! Markdown → sanitised HTML with pulldown-cmark (tables, footnotes, heading anchors) and ammonia.

use std::collections::HashSet;

use pulldown_cmark::{CowStr, Event, HeadingLevel, Options, Parser, Tag, TagEnd, html};

/// Rendered Markdown.
pub(crate) struct Rendered {
    /// Sanitised HTML.
    pub(crate) html: String,
    /// Headings of level 2 and 3: (level, anchor, text).
    pub(crate) toc: Vec<(u8, String, String)>,
}

/// Renders Markdown with GitHub-style tables, footnotes, strikethrough and heading anchors, then
/// sanitises the HTML with an allow-list, so raw HTML or `javascript:` links cannot run.
pub(crate) fn render(markdown: &str) -> Rendered {
    let options = Options::ENABLE_TABLES
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_HEADING_ATTRIBUTES;
    let mut events: Vec<Event<'_>> = Parser::new_ext(markdown, options).collect();
    let toc = add_heading_anchors(&mut events);
    let mut unsafe_html = String::new();
    html::push_html(&mut unsafe_html, events.into_iter());
    Rendered {
        html: sanitise(&unsafe_html),
        toc,
    }
}

/// How deep Markdown may nest (block quotes, lists, indentation) or raw HTML tags may open inside
/// each other: parsing and sanitising take time that grows with the square of the depth, so a
/// deeper text is refused instead of taking minutes.
pub(crate) const MAX_NESTING: usize = 256;

/// The first line (1-based) where `markdown` nests deeper than [`MAX_NESTING`], and how.
pub(crate) fn too_deep(markdown: &str) -> Option<(usize, &'static str)> {
    // Every level of a block quote or list costs at least one character of the line's leading
    // container prefix, so a prefix longer than the limit nests deeper than it.
    let is_prefix =
        |c: char| matches!(c, ' ' | '\t' | '>' | '-' | '*' | '+' | '.' | ')') || c.is_ascii_digit();
    let mut open_tags: usize = 0;
    for (i, line) in markdown.lines().enumerate() {
        if line.chars().take_while(|&c| is_prefix(c)).count() > MAX_NESTING {
            return Some((i + 1, "block quotes or lists"));
        }
        // Raw HTML: opening tags not closed yet (void and self-closing tags do not count).
        let mut rest = line;
        while let Some(at) = rest.find('<') {
            rest = &rest[at + 1..];
            let closing = rest.starts_with('/');
            let name: String = rest
                .trim_start_matches('/')
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric())
                .collect::<String>()
                .to_ascii_lowercase();
            if name.is_empty() {
                continue;
            }
            let void = matches!(
                name.as_str(),
                "br" | "hr"
                    | "img"
                    | "input"
                    | "meta"
                    | "link"
                    | "area"
                    | "base"
                    | "col"
                    | "embed"
                    | "source"
                    | "track"
                    | "wbr"
            );
            let self_closing = rest.find('>').is_some_and(|end| rest[..end].ends_with('/'));
            if closing {
                open_tags = open_tags.saturating_sub(1);
            } else if !void && !self_closing {
                open_tags += 1;
                if open_tags > MAX_NESTING {
                    return Some((i + 1, "HTML tags"));
                }
            }
        }
    }
    None
}

/// Gives every heading an `id` (its explicit `{#id}` or a slug of its text, made unique).
fn add_heading_anchors(events: &mut [Event<'_>]) -> Vec<(u8, String, String)> {
    let mut used = HashSet::new();
    let mut toc = Vec::new();
    let mut i = 0;
    while i < events.len() {
        if let Event::Start(Tag::Heading { level, id, .. }) = &events[i] {
            let level = *level;
            let explicit = id.as_ref().map(|s| s.to_string());
            let mut text = String::new();
            let mut j = i + 1;
            while j < events.len() && !matches!(events[j], Event::End(TagEnd::Heading(_))) {
                if let Event::Text(t) | Event::Code(t) = &events[j] {
                    text.push_str(t);
                }
                j += 1;
            }
            let base = explicit.unwrap_or_else(|| {
                let s = slug::slugify(&text);
                if s.is_empty() {
                    "section".to_owned()
                } else {
                    s
                }
            });
            let mut anchor = base.clone();
            let mut n = 1;
            while !used.insert(anchor.clone()) {
                anchor = format!("{base}-{n}");
                n += 1;
            }
            if let Event::Start(Tag::Heading { id, .. }) = &mut events[i] {
                *id = Some(CowStr::from(anchor.clone()));
            }
            let depth = match level {
                HeadingLevel::H2 => Some(2),
                HeadingLevel::H3 => Some(3),
                _ => None,
            };
            if let Some(depth) = depth {
                toc.push((depth, anchor, text));
            }
            i = j;
        }
        i += 1;
    }
    toc
}

/// Sanitises HTML from Markdown or partner descriptions with ammonia's allow-list, keeping heading
/// anchors and footnote links.
pub(crate) fn sanitise(html: &str) -> String {
    let schemes: HashSet<&str> = ["http", "https", "mailto"].into_iter().collect();
    let mut builder = ammonia::Builder::default();
    builder.url_schemes(schemes);
    for tag in ["h1", "h2", "h3", "h4", "h5", "h6", "div", "sup", "li"] {
        builder.add_tag_attributes(tag, &["id", "class"]);
    }
    for tag in ["th", "td"] {
        builder.add_tag_attributes(tag, &["style"]);
    }
    // The site loads nothing from other sites: images only from the site itself, and the only
    // style kept is the column alignment pulldown-cmark writes (a style could fetch a URL).
    builder.attribute_filter(|element, attribute, value| match (element, attribute) {
        ("img", "src") => crate::urls::stays_on_site(value).then(|| value.into()),
        ("th" | "td", "style") => matches!(
            value.trim().trim_end_matches(';'),
            "text-align: left" | "text-align: center" | "text-align: right"
        )
        .then(|| value.into()),
        _ => Some(value.into()),
    });
    drop_rel_without_href(&builder.clean(html).to_string())
}

/// ammonia adds `rel` to every `<a>`, also to one whose unsafe `href` it removed, and an `<a>`
/// with `rel` but no `href` is invalid HTML: such an anchor loses its `rel` too. `html` is
/// ammonia's output, whose attribute values are always double-quoted.
fn drop_rel_without_href(html: &str) -> String {
    const REL: &str = " rel=\"noopener noreferrer\"";
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(at) = rest.find("<a ") {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        // The tag's end: the first `>` outside a quoted value.
        let mut quoted = false;
        let end = rest
            .char_indices()
            .find(|&(_, c)| {
                if c == '"' {
                    quoted = !quoted;
                }
                c == '>' && !quoted
            })
            .map_or(rest.len(), |(i, _)| i + 1);
        let tag = &rest[..end];
        // Attribute names: the words before `=` outside quoted values.
        let mut names = Vec::new();
        let mut quoted = false;
        let mut word = String::new();
        for c in tag[3..].chars() {
            match c {
                '"' => quoted = !quoted,
                '=' if !quoted => names.push(std::mem::take(&mut word)),
                c if !quoted && c.is_whitespace() => word.clear(),
                c if !quoted => word.push(c),
                _ => {}
            }
        }
        if names.iter().any(|n| n == "href") {
            out.push_str(tag);
        } else {
            out.push_str(&tag.replacen(REL, "", 1));
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_anchor_whose_address_was_removed_is_valid_html() {
        let r = render("[bad](javascript:alert(1)) [ok](https://example.org/)");
        assert!(r.html.contains("<a>bad</a>"), "{}", r.html);
        assert!(
            r.html
                .contains(r#"<a href="https://example.org/" rel="noopener noreferrer">ok</a>"#),
            "{}",
            r.html
        );
        let raw = sanitise(r#"<a title="x>y href=" href="javascript:x">raw</a>"#);
        assert!(raw.contains(r#"<a title="x&gt;y href=">raw</a>"#), "{raw}");
    }

    #[test]
    fn adds_unique_heading_anchors() {
        let r = render("## Data sources\n\ntext\n\n## Data sources\n\n### Custom {#mine}\n");
        assert!(r.html.contains(r#"<h2 id="data-sources">"#), "{}", r.html);
        assert!(r.html.contains(r#"<h2 id="data-sources-1">"#), "{}", r.html);
        assert!(r.html.contains(r#"<h3 id="mine">"#), "{}", r.html);
        assert_eq!(r.toc.len(), 3);
    }

    #[test]
    fn renders_tables_and_footnotes() {
        let r = render("| a | b |\n|---|---|\n| 1 | 2 |\n\nNote[^1].\n\n[^1]: The note.\n");
        assert!(r.html.contains("<table>"), "{}", r.html);
        assert!(r.html.contains("footnote-definition"), "{}", r.html);
    }

    #[test]
    fn keeps_nothing_that_loads_from_other_sites() {
        let html = render(
            "![local](charts/a.svg) ![remote](https://tracker.example/p.gif) ![proto](//t.example/p.gif)\n\n| a |\n|:-:|\n| 1 |\n\n<td style=\"background:url(https://t.example/x)\">x</td>",
        )
        .html;
        assert!(html.contains("src=\"charts/a.svg\""), "{html}");
        assert!(!html.contains("tracker.example"), "{html}");
        assert!(!html.contains("t.example"), "{html}");
        assert!(html.contains("text-align: center"), "{html}");
    }

    #[test]
    fn removes_scripts_and_active_links() {
        let r = render(
            "<script>alert(1)</script>\n\n[x](javascript:alert(1)) <img src=x onerror=alert(1)>",
        );
        assert!(!r.html.contains("<script"), "{}", r.html);
        assert!(!r.html.contains("javascript:"), "{}", r.html);
        assert!(!r.html.contains("onerror"), "{}", r.html);
    }
}

#[cfg(test)]
mod nesting_tests {
    use super::{MAX_NESTING, too_deep};

    #[test]
    fn refuses_only_nesting_deeper_than_the_limit() {
        let quotes = |n: usize| format!("{} text\n", ">".repeat(n));
        let divs = |n: usize| format!("{}x{}", "<div>".repeat(n), "</div>".repeat(n));
        // The space after the markers is part of the prefix too.
        assert_eq!(too_deep(&quotes(MAX_NESTING - 1)), None);
        assert_eq!(too_deep(&quotes(MAX_NESTING + 1)).map(|p| p.0), Some(1));
        assert_eq!(too_deep(&divs(MAX_NESTING)), None);
        assert_eq!(
            too_deep(&format!("a\n\n{}", divs(MAX_NESTING + 1))),
            Some((3, "HTML tags"))
        );
        // Closed, void and self-closing tags do not nest.
        let flat = "<p>a</p>".repeat(1000) + &"<br>".repeat(1000) + &"<i/>".repeat(1000);
        assert_eq!(too_deep(&flat), None);
        let list: String = (0..10)
            .map(|i| format!("{}- item\n", "  ".repeat(i)))
            .collect();
        assert_eq!(too_deep(&list), None);
    }
}
