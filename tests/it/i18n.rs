//! Languages: the built-in catalogues, a root's overrides, other languages and their errors.

use std::collections::BTreeMap;

use crate::support::{build_with_args, files, fixture, fixture_copy, read, repo, sharelog};

/// Every string of a built-in catalogue, flattened to dotted keys (plural forms as `key.other`).
fn catalogue(language: &str) -> BTreeMap<String, String> {
    let out = sharelog(&["catalogue", language]);
    assert!(out.status.success());
    let tree: serde_json::Value =
        serde_saphyr::from_str(&String::from_utf8_lossy(&out.stdout)).expect("catalogue is YAML");
    let mut flat = BTreeMap::new();
    flatten("", &tree, &mut flat);
    flat
}

fn flatten(prefix: &str, v: &serde_json::Value, out: &mut BTreeMap<String, String>) {
    match v {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&key, v, out);
            }
        }
        serde_json::Value::String(s) => {
            out.insert(prefix.to_owned(), s.clone());
        }
        other => panic!("{prefix}: not a string: {other}"),
    }
}

/// The text of a page as a reader sees it: tags removed, entities of the escaper undone, and
/// without the parts marked `lang="en"` (the data dictionary is English in every edition).
fn visible(html: &str) -> String {
    let mut html = html.to_owned();
    while let Some(at) = html.find(" lang=\"en\"") {
        let start = html[..at].rfind('<').unwrap_or(at);
        let name: String = html[start + 1..]
            .chars()
            .take_while(char::is_ascii_alphanumeric)
            .collect();
        let close = format!("</{name}>");
        let end = html[at..]
            .find(&close)
            .map_or(html.len(), |e| at + e + close.len());
        html.replace_range(start..end, " ");
    }
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                out.push(' ');
            }
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.replace("&amp;", "&")
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
}

#[test]
fn a_german_build_takes_every_interface_string_from_the_german_catalogue() {
    let (_dir, out) = build_with_args(&fixture("basic"), &["--language", "de"]);
    let en = catalogue("en");
    let de = catalogue("de");
    // English strings without values that German says differently: none may reach a page.
    let english: Vec<&String> = en
        .iter()
        .filter(|(k, v)| {
            v.len() >= 12 && !v.contains('{') && !v.contains('[') && de.get(*k) != Some(*v)
        })
        .map(|(_, v)| v)
        .collect();
    assert!(english.len() > 100, "{}", english.len());
    let pages: Vec<String> = files(&out)
        .into_iter()
        .filter(|f| f.ends_with(".html") || f.ends_with(".svg") || f == "feed.xml")
        .collect();
    assert!(pages.len() > 10);
    for page in &pages {
        let mut html = read(&out, page);
        // The platform's own Markdown pages are in whatever language it wrote them: only their
        // frame (navigation, footer) is checked.
        if ["methodology/index.html", "faq/index.html"].contains(&page.as_str())
            && let (Some(a), Some(b)) = (html.find("<article"), html.find("</article>"))
        {
            html.replace_range(a..b, "");
        }
        let text = visible(&html);
        for s in &english {
            assert!(!text.contains(s.as_str()), "{page} shows English {s:?}");
        }
        if page.ends_with(".html") {
            assert!(read(&out, page).contains("<html lang=\"de\">"), "{page}");
        }
    }
    // Dates, months and numbers are written the German way.
    let index = visible(&read(&out, "index.html"));
    assert!(index.contains("am 15. Januar 2024"), "{index}");
    let findings = read(&out, "data/findings.csv");
    assert!(
        findings.contains("Beiträge"),
        "findings.csv is in the report's language"
    );
    // The machine-readable tables are the same in every language.
    let (_en_dir, en_out) = build_with_args(&fixture("basic"), &[]);
    for table in ["shared-items", "exports", "partners", "opt-outs-monthly"] {
        let rel = format!("data/{table}.csv");
        assert_eq!(read(&out, &rel), read(&en_out, &rel), "{rel}");
    }
}

#[test]
fn numbers_are_grouped_for_the_language() {
    let root = repo();
    let (_de_dir, de) = build_with_args(&root, &["--language", "de"]);
    let (_en_dir, en) = build_with_args(&root, &[]);
    // The largest published partner total, as the overview shows it.
    let partners = read(&en, "data/partners.csv");
    let biggest: u64 = partners
        .lines()
        .skip(1)
        .filter_map(|l| {
            l.split(',')
                .find_map(|c| c.parse::<u64>().ok().filter(|n| *n >= 1000))
        })
        .max()
        .expect("a partner total of 1,000 or more in the example report");
    let digits = biggest.to_string();
    let group = |sep: char| {
        let mut s = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                s.push(sep);
            }
            s.push(c);
        }
        s
    };
    assert!(
        read(&en, "index.html").contains(&group(',')),
        "{}",
        group(',')
    );
    assert!(
        read(&de, "index.html").contains(&group('.')),
        "{}",
        group('.')
    );
}

#[test]
fn a_root_catalogue_overrides_strings_and_is_escaped() {
    let (dir, root) = fixture_copy("basic");
    std::fs::create_dir_all(root.join("i18n")).expect("mkdir");
    std::fs::write(
        root.join("i18n/en.yaml"),
        "nav:\n  overview: Start here\nindex:\n  at_a_glance: \"Summary <b>&\"\n",
    )
    .expect("write");
    let out = dir.path().join("site");
    let o = sharelog(&[
        "build",
        "-q",
        "--root",
        root.to_str().unwrap_or_default(),
        "--out",
        out.to_str().unwrap_or_default(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let index = read(&out, "index.html");
    assert!(index.contains(">Start here</a>"));
    assert!(
        index.contains("<h2 id=\"totals\">Summary &lt;b&gt;&amp;</h2>"),
        "{index}"
    );
    // Strings not overridden keep the built-in text.
    assert!(index.contains(">Findings</a>"));
}

/// Builds `root` with `args` and expects exit 1 with every `needles` on stderr, and no output.
fn fails_with(root: &std::path::Path, args: &[&str], needles: &[&str]) {
    let out = root.parent().expect("parent").join("failed-site");
    let mut all = vec![
        "build",
        "--root",
        root.to_str().unwrap_or_default(),
        "--out",
        out.to_str().unwrap_or_default(),
    ];
    all.extend(args);
    let o = sharelog(&all);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    for n in needles {
        assert!(stderr.contains(n), "{n:?} not in {stderr}");
    }
    assert!(!out.exists(), "nothing is written");
}

#[test]
fn catalogue_mistakes_are_clear_errors() {
    let (_dir, root) = fixture_copy("basic");
    // A language with no catalogue at all.
    fails_with(
        &root,
        &["--language", "fr"],
        &[
            "report.yaml: no string for key",
            "in language `fr`",
            "i18n/fr.yaml",
        ],
    );
    // A partial catalogue for it: the file is named, with the keys it lacks.
    std::fs::create_dir_all(root.join("i18n")).expect("mkdir");
    std::fs::write(root.join("i18n/fr.yaml"), "nav:\n  overview: Accueil\n").expect("write");
    fails_with(
        &root,
        &["--language", "fr"],
        &[
            "i18n/fr.yaml: no string for key `about.",
            "in language `fr`",
        ],
    );
    // A key the catalogue does not have, a value the string does not take, a plural given as text.
    std::fs::write(
        root.join("i18n/en.yaml"),
        "nav:\n  overveiw: Start\nindex:\n  lede: \"About {partner}\"\nfinding:\n  items: \"{n} things\"\n",
    )
    .expect("write");
    fails_with(
        &root,
        &[],
        &[
            "i18n/en.yaml: nav.overveiw: unknown key `nav.overveiw`",
            "index.lede: `{partner}` is not a value of this string",
            "it may use `{platform}`",
            "finding.items: this key is a plural message",
        ],
    );
    std::fs::remove_file(root.join("i18n/en.yaml")).expect("rm");
    // A template override asking for a key no catalogue has.
    std::fs::create_dir_all(root.join("templates")).expect("mkdir");
    std::fs::write(
        root.join("templates/page.html"),
        "{% extends \"base.html\" %}{% block content %}{{ t(key=\"page.nope\") }}{% endblock content %}",
    )
    .expect("write");
    fails_with(
        &root,
        &[],
        &[
            "no string for key `page.nope` in language `en`",
            "templates/page.html",
        ],
    );
}

#[test]
fn a_complete_catalogue_adds_a_language_with_its_own_number_and_date_formats() {
    let (_dir, root) = fixture_copy("basic");
    std::fs::create_dir_all(root.join("i18n")).expect("mkdir");
    // English words, French rules: enough to see that CLDR's French formats apply.
    let en = String::from_utf8_lossy(&sharelog(&["catalogue", "en"]).stdout).into_owned();
    let fr = en.replace("  overview: Overview", "  overview: Vue d’ensemble");
    std::fs::write(root.join("i18n/fr.yaml"), fr).expect("write");
    let (_o, out) = build_with_args(&root, &["--language", "fr"]);
    let index = read(&out, "index.html");
    assert!(index.contains("<html lang=\"fr\">"));
    assert!(index.contains(">Vue d’ensemble</a>"));
    assert!(index.contains("15 janvier 2024"), "French dates: {index}");
}
