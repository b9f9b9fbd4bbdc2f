//! A narrative page from `content/`.

use super::*;

/// `page.html`'s view.
#[derive(Serialize)]
struct ContentView<'a> {
    page: PageView<'a>,
}

#[derive(Serialize)]
struct PageView<'a> {
    title: &'a str,
    description: Option<&'a str>,
    /// Sanitised HTML.
    html: &'a str,
    toc: Vec<TocEntry<'a>>,
}

/// A heading of the page's table of contents.
#[derive(Serialize)]
struct TocEntry<'a> {
    level: u8,
    id: &'a str,
    text: &'a str,
}

impl Pages<'_> {
    pub(crate) fn content(&self, page: &crate::model::Page) -> Result<Vec<u8>> {
        let depth = page.slug.split('/').count();
        let root = "../".repeat(depth);
        let view = ContentView {
            page: PageView {
                title: &page.title,
                description: page.description.as_deref(),
                html: &page.html,
                toc: page
                    .toc
                    .iter()
                    .map(|(level, id, text)| TocEntry {
                        level: *level,
                        id,
                        text,
                    })
                    .collect(),
            },
        };
        self.render(
            "page.html",
            self.base(&root, &page.slug, &page.title),
            &view,
        )
    }
}
