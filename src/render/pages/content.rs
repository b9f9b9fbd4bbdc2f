//! A narrative page from `content/`.

use super::*;

impl Pages<'_> {
    pub(crate) fn content(&self, page: &crate::model::Page) -> Result<Vec<u8>> {
        let depth = page.slug.split('/').count();
        let root = "../".repeat(depth);
        let extra = json!({
            "page": {
                "title": page.title,
                "description": page.description,
                "html": page.html,
                "toc": page.toc.iter().map(|(level, id, text)| json!({"level": level, "id": id, "text": text})).collect::<Vec<_>>(),
            }
        });
        self.render(
            "page.html",
            self.base(&root, &page.slug, &page.title),
            extra,
        )
    }
}
