//! The URL policy: what a link or an image in the site may point to, decided by parsing the
//! reference as browsers do (the WHATWG URL standard, with the `url` crate), never by looking at
//! its first characters. Browsers drop tabs and newlines anywhere in a URL, trim spaces and
//! control characters at its ends, and read `\` as `/` in http(s) URLs, so `/\host/x.gif`,
//! `\/host/x.gif` and `/` + tab + `/host/x.gif` all name another host; a prefix test misses them.

use url::Url;

/// Two bases with different schemes, hosts and ports, and a deep path, so that a reference that
/// keeps the origin of both cannot name a scheme, host or port of its own.
const BASES: [&str; 2] = [
    "https://site-a.sharelog.invalid/p/q/r/s/t/u/page.html",
    "http://site-b.sharelog.invalid:8080/p/q/r/s/t/u/page.html",
];

/// Whether `reference` (an attribute value, entities already decoded) resolves, wherever the page
/// is, to the page's own site: a relative path, a `#fragment`, or a `?query`. Used for images,
/// which the site loads only from itself.
pub fn stays_on_site(reference: &str) -> bool {
    if !plain(reference) {
        return false;
    }
    BASES.iter().all(|base| {
        let Ok(base) = Url::parse(base) else {
            return false;
        };
        base.join(reference)
            .is_ok_and(|resolved| resolved.origin() == base.origin())
    })
}

/// Whether `reference` may be a link target: an absolute `http`, `https` or `mailto` URL, or a
/// reference that [`stays_on_site`]. Anything else (`javascript:`, `data:`, `vbscript:`, a
/// scheme-relative `//host`) is refused.
pub fn is_safe_link(reference: &str) -> bool {
    if !plain(reference) {
        return false;
    }
    match Url::parse(reference) {
        Ok(url) => matches!(url.scheme(), "http" | "https" | "mailto"),
        Err(url::ParseError::RelativeUrlWithoutBase) => stays_on_site(reference),
        Err(_) => false,
    }
}

/// Whether `text` is an absolute `http` or `https` address with a host: what a URL in the
/// report's metadata (the platform's site, a licence, a source, a partner's agreement) must be,
/// since it is published in `datapackage.json`, `croissant.json` and on pages.
pub fn is_web_address(text: &str) -> bool {
    // Written out in full (`https://host…`): browsers repair `https:host` and `http:///host`,
    // but a reader or a tool given the text as written may not.
    let lower = text.to_ascii_lowercase();
    let full = ["http://", "https://"].iter().any(|scheme| {
        lower
            .strip_prefix(scheme)
            .is_some_and(|rest| !rest.is_empty() && !rest.starts_with(['/', '\\']))
    });
    full && plain(text)
        && Url::parse(text).is_ok_and(|u| {
            matches!(u.scheme(), "http" | "https") && u.host_str().is_some_and(|h| !h.is_empty())
        })
}

/// Whether `text` may be the platform's contact: a web address, a `mailto:` address, or an
/// e-mail address.
pub fn is_contact(text: &str) -> bool {
    if is_web_address(text) {
        return true;
    }
    let address = text.strip_prefix("mailto:").unwrap_or(text);
    plain(address)
        && !address.contains([':', '<', '>', '"', '\'', '/'])
        && address.split_once('@').is_some_and(|(user, host)| {
            !user.is_empty() && host.contains('.') && !host.contains('@')
        })
}

/// No character that browsers drop or rewrite before parsing (whitespace and control
/// characters, which the standard strips or removes, and `\`, which it reads as `/`), and not
/// empty: what is refused here needs no parser to be refused.
fn plain(reference: &str) -> bool {
    !reference.is_empty()
        && !reference
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || c == '\\')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_only_from_the_site_itself() {
        for ok in [
            "charts/a.svg",
            "../assets/x.png",
            "/assets/x.png",
            "x.gif?v=2",
            "#top",
            "%2F%2Fhost/x.gif",
        ] {
            assert!(stays_on_site(ok), "{ok}");
        }
        for bad in [
            "https://tracker.example/p.gif",
            "//tracker.example/p.gif",
            "\\/tracker.example/x.gif",
            "/\\tracker.example/x.gif",
            "/\t/tracker.example/x.gif",
            "/\n/tracker.example/x.gif",
            "\t//tracker.example/x.gif",
            " //tracker.example/x.gif",
            "data:image/gif;base64,R0lGOD",
            "javascript:alert(1)",
            "http:x.gif",
            "https:/tracker.example/x.gif",
            "",
        ] {
            assert!(!stays_on_site(bad), "{bad:?}");
        }
    }

    #[test]
    fn metadata_addresses() {
        assert!(is_web_address("https://example.org/licence"));
        assert!(is_web_address("http://example.org"));
        for bad in [
            "java\tscript:alert(4)",
            "//evil.example/lic",
            "javascript:alert(1)",
            "ftp://x.example",
            "https://",
            "example.org",
            "http:///evil.example",
            "https:evil.example/x",
        ] {
            assert!(!is_web_address(bad), "{bad:?}");
        }
        for ok in [
            "press@example.org",
            "mailto:press@example.org",
            "https://example.org/contact",
        ] {
            assert!(is_contact(ok), "{ok}");
        }
        for bad in [
            "javascript:alert(5)",
            "a@b",
            "<a@b.c>",
            "a b@c.d",
            "@example.org",
        ] {
            assert!(!is_contact(bad), "{bad:?}");
        }
    }

    #[test]
    fn links_go_only_to_the_site_or_http_and_mailto() {
        for ok in [
            "index.html",
            "../data/index.html#about-numbers",
            "#top",
            "https://example.org/a?b=c:d",
            "HTTP://example.org",
            "mailto:press@example.org",
            "page?x=a:b",
        ] {
            assert!(is_safe_link(ok), "{ok}");
        }
        for bad in [
            "javascript:alert(1)",
            "JavaScript:alert(1)",
            "data:text/html,x",
            "vbscript:x",
            "//evil.example/x",
            "/\\evil.example/x",
            "\\/evil.example/x",
            "java\tscript:x",
            "",
            "a b",
        ] {
            assert!(!is_safe_link(bad), "{bad:?}");
        }
    }
}
