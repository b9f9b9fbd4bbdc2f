//! The pages of the example report: present, linked relatively, escaped, with valid charts.

use std::path::Path;

use crate::support::{build, files, fixture, read, repo};

#[test]
fn example_report_has_every_page_of_the_spec() {
    let (_dir, out) = build(&repo());
    let all = files(&out);
    for page in [
        "index.html",
        "opt-outs/index.html",
        "data/index.html",
        "methodology/index.html",
        "faq/index.html",
        "partners/northwind-labs/index.html",
        "exports/pellucid-2024-01/index.html",
        "charts/items-per-year.svg",
        "charts/items-per-category.svg",
        "charts/opt-outs-monthly.svg",
        "charts/partner-northwind-labs.svg",
        "assets/style.css",
    ] {
        assert!(
            all.contains(&page.to_owned()),
            "{page} missing from {all:?}"
        );
    }
    let partners = all.iter().filter(|f| f.starts_with("partners/")).count();
    let exports = all.iter().filter(|f| f.starts_with("exports/")).count();
    assert!(
        partners >= 3 && exports >= 6,
        "{partners} partners, {exports} exports"
    );
}

/// Every `href` and `src` in a page, resolved against the page's folder.
fn links(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    for attr in ["href=\"", "src=\""] {
        let mut rest = html;
        while let Some(i) = rest.find(attr) {
            rest = &rest[i + attr.len()..];
            if let Some(end) = rest.find('"') {
                out.push(rest[..end].to_owned());
            }
        }
    }
    out
}

#[test]
fn every_internal_link_is_relative_and_resolves() {
    let (_dir, out) = build(&repo());
    let mut checked = 0;
    for page in files(&out).into_iter().filter(|f| f.ends_with(".html")) {
        let html = read(&out, &page);
        let base = Path::new(&page)
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        for link in links(&html) {
            if link.starts_with("https://")
                || link.starts_with("http://")
                || link.starts_with("mailto:")
            {
                continue;
            }
            assert!(!link.starts_with('/'), "{page}: absolute link {link}");
            let target = link.split('#').next().unwrap_or("");
            if target.is_empty() {
                continue;
            }
            let resolved = out.join(&base).join(target);
            assert!(resolved.is_file(), "{page}: {link} does not resolve");
            checked += 1;
        }
    }
    assert!(checked > 100, "only {checked} links checked");
}

#[test]
fn charts_are_well_formed_accessible_svg_shown_with_a_summary() {
    let (_dir, out) = build(&repo());
    let charts: Vec<String> = files(&out)
        .into_iter()
        .filter(|f| f.starts_with("charts/"))
        .collect();
    assert!(charts.len() >= 4 + 3, "{charts:?}");
    for chart in &charts {
        let svg = read(&out, chart);
        let doc = roxmltree::Document::parse(&svg).unwrap_or_else(|e| panic!("{chart}: {e}"));
        let root = doc.root_element();
        assert_eq!(root.attribute("role"), Some("img"), "{chart}");
        let title = root
            .children()
            .find(|n| n.has_tag_name("title"))
            .expect("title");
        let desc = root
            .children()
            .find(|n| n.has_tag_name("desc"))
            .expect("desc");
        assert!(!title.text().unwrap_or("").is_empty(), "{chart}");
        assert!(
            desc.text().unwrap_or("").len() > 30,
            "{chart}: desc says little"
        );
        let bars = doc.descendants().filter(|n| n.has_tag_name("rect")).count();
        let lines = doc
            .descendants()
            .filter(|n| n.has_tag_name("polyline"))
            .count();
        assert!(bars > 3 || lines > 0, "{chart} draws no bars or lines");
    }
    let index = read(&out, "index.html");
    assert!(index.contains("src=\"charts/items-per-year.svg\""));
    assert!(index.contains("<figcaption>"));
    assert!(index.contains("<details>"), "the numbers behind the chart");
    let partner = read(&out, "partners/northwind-labs/index.html");
    assert!(partner.contains("src=\"../../charts/partner-northwind-labs.svg\""));
}

#[test]
fn strings_from_inputs_are_escaped_and_markdown_is_sanitised() {
    let (_dir, out) = build(&fixture("basic"));
    let partner = read(&out, "partners/alpha-ai/index.html");
    assert!(
        partner.contains("Alpha AI &lt;Ltd&gt; &amp; Co"),
        "name escaped"
    );
    assert!(
        !partner.contains("<script>alert"),
        "description script removed"
    );
    assert!(!partner.contains("javascript:"), "active URLs removed");
    let page = read(&out, "methodology/index.html");
    assert!(!page.contains("<script>alert"), "content script removed");
    assert!(page.contains("<table>"), "Markdown tables");
    assert!(page.contains("id=\"how-we-count\""), "heading anchors");
    assert!(page.contains("footnote-definition"), "footnotes");
    let faq = read(&out, "faq/index.html");
    assert!(faq.contains("FAQ &lt;b&gt;"), "front-matter title escaped");
}

#[test]
fn a_root_template_overrides_the_built_in_one_by_name() {
    let (_dir, root) = crate::support::fixture_copy("basic");

    std::fs::create_dir_all(root.join("templates")).expect("mkdir");
    std::fs::write(
        root.join("templates/page.html"),
        "{% extends \"base.html\" %}{% block content %}<p class=\"custom\">{{ page.title }}</p>{% endblock content %}",
    )
    .expect("write");
    let (_d, out) = build(&root);
    assert!(read(&out, "methodology/index.html").contains("<p class=\"custom\">Methodology</p>"));
    assert!(
        !read(&out, "index.html").contains("class=\"custom\""),
        "other pages keep the default"
    );
}

/// Hostile strings in every place a platform's staff can type text end up inert in every page and
/// chart: category labels, platform name and contact, export descriptions, file paths, content.
#[test]
fn hostile_strings_everywhere_stay_inert() {
    let (_dir, root) = crate::support::fixture_copy("basic");
    let attack = "<img src=x onerror=alert(1)>\"'><script>alert(2)</script>";
    let edit = |rel: &str, from: &str, to: &str| {
        let path = root.join(rel);
        let text = std::fs::read_to_string(&path).expect("read");
        assert!(text.contains(from), "{rel} holds {from}");
        std::fs::write(&path, text.replacen(from, to, 1)).expect("write");
    };
    let quoted = attack.replace('"', "\\\"");
    edit(
        "report.yaml",
        "label: Text posts",
        &format!("label: \"{quoted}\""),
    );
    edit(
        "report.yaml",
        "name: Fixture Platform",
        &format!("name: \"{quoted}\""),
    );
    edit(
        "data/exports/alpha-1.yaml",
        "id: alpha-1",
        &format!("id: alpha-1\ndescription: \"{quoted}\""),
    );
    std::fs::write(
        root.join("content/attack.md"),
        format!(
            "---\ntitle: \"{quoted}\"\n---\n{attack}\n\n[click](javascript:alert(3)) <a href=\"data:text/html,x\">d</a>\n\n<iframe src=\"https://evil.example\"></iframe>\n"
        ),
    )
    .expect("write");
    let (_out_dir, out) = build(&root);
    let mut checked = 0;
    for file in crate::support::files(&out) {
        if !(file.ends_with(".html") || file.ends_with(".svg")) {
            continue;
        }
        let text = read(&out, &file);
        // Escaped text may still read `onerror=alert(1)&gt;`; what must not exist is a live tag,
        // attribute or URL.
        for bad in [
            "<img src=x",
            "onerror=\"",
            "onerror=alert(1)>",
            "<script>alert",
            "javascript:",
            "<iframe",
            "href=\"data:",
        ] {
            assert!(!text.contains(bad), "{file} holds {bad}");
        }
        checked += 1;
    }
    assert!(checked > 10, "{checked} files");
    // The text is still there, escaped, where it belongs.
    let overview = read(&out, "index.html");
    assert!(overview.contains("&lt;img src=x onerror=alert(1)&gt;"));
}

/// The `<main>` element of a page: what the page says, without the shared header and footer.
fn main_of(html: &str) -> &str {
    let start = html.find("<main").expect("a <main> element");
    let end = html.find("</main>").expect("a </main> tag") + "</main>".len();
    &html[start..end]
}

#[test]
fn every_page_type_says_what_its_snapshot_says() {
    // One page of each type, from the example and from the findings fixture: the render layer
    // may be reorganised, but what each page says changes only on purpose.
    for (name, root) in [("example", repo()), ("findings", fixture("findings"))] {
        let (_dir, out) = build(&root);
        let first = |folder: &str| -> String {
            let mut entries: Vec<String> = std::fs::read_dir(out.join(folder))
                .expect("folder")
                .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
                .collect();
            entries.sort();
            format!("{folder}/{}/index.html", entries[0])
        };
        let mut pages = vec![
            "index.html".to_owned(),
            first("partners"),
            first("exports"),
            "opt-outs/index.html".to_owned(),
            "findings/index.html".to_owned(),
            "data/index.html".to_owned(),
            "data/about.html".to_owned(),
            "corrections/index.html".to_owned(),
        ];
        if name == "example" {
            pages.push("methodology/index.html".to_owned());
        }
        for page in pages {
            let html = read(&out, &page);
            let snapshot = format!("{name}-{}", page.replace('/', "-"));
            insta::assert_snapshot!(snapshot, main_of(&html));
        }
    }
}

/// Images load only from the site itself, decided as browsers parse URLs (issue 17, item 6):
/// a backslash, or a tab or newline inside `//`, names another host to a browser.
#[test]
fn images_from_other_hosts_are_dropped_however_the_url_is_spelt() {
    let (_dir, root) = crate::support::fixture_copy("basic");
    let page = root.join("content/tracking.md");
    std::fs::write(
        &page,
        "---\ntitle: Tracking\n---\n\n\
         ![a](\\/evil.example/a.gif) ![b](/\\evil.example/b.gif)\n\n\
         <img src=\"/\t/evil.example/c.gif\"> <img src=\"/\n/evil.example/d.gif\">\n\
         <img src=\"/&#9;/evil.example/e.gif\"> <img src=\" //evil.example/f.gif\">\n\n\
         ![kept](charts/kept.svg)\n",
    )
    .expect("write");
    let (_d, out) = build(&root);
    let html = read(&out, "tracking/index.html");
    assert!(html.contains("src=\"charts/kept.svg\""), "{html}");
    // Every image the page loads, resolved as a browser resolves it, is on the page's own host.
    let base = url::Url::parse("https://report.example/tracking/index.html").expect("base");
    let mut sources = 0;
    for piece in html.split("<img").skip(1) {
        let tag = &piece[..piece.find('>').expect("a whole tag")];
        let Some(at) = tag.find("src=\"") else {
            continue;
        };
        let value = &tag[at + 5..];
        let value = value[..value.find('"').expect("quoted")]
            .replace("&#9;", "\t")
            .replace("&#10;", "\n")
            .replace("&amp;", "&");
        let resolved = base.join(&value).expect("a URL");
        assert_eq!(
            resolved.host_str(),
            Some("report.example"),
            "{value:?} in {html}"
        );
        sources += 1;
    }
    assert!(sources >= 1);
}
