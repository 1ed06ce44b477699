//! Markdown from people (action cards) to HTML that is safe to put in a page: pulldown-cmark
//! renders it, ammonia keeps only an allow-list of tags and attributes. Images are dropped (a
//! page must not fetch anything from elsewhere), links may only be http(s), mailto or tel.

use pulldown_cmark::{Options, Parser, html};
use std::collections::HashSet;

pub fn to_html(md: &str) -> String {
    let mut options = Options::empty();
    options.insert(Options::ENABLE_TABLES);
    options.insert(Options::ENABLE_STRIKETHROUGH);
    options.insert(Options::ENABLE_TASKLISTS);
    let mut raw = String::new();
    html::push_html(&mut raw, Parser::new_ext(md, options));
    ammonia::Builder::default()
        .rm_tags(["img"])
        .url_schemes(HashSet::from(["http", "https", "mailto", "tel"]))
        .link_rel(Some("noopener noreferrer"))
        .clean(&raw)
        .to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn markup_survives_and_scripts_do_not() {
        let cases = [
            ("1. Ring **växeln**\n2. Gå", "<ol>\n<li>Ring <strong>växeln</strong></li>\n<li>Gå</li>\n</ol>\n"),
            ("<script>alert(1)</script>Hej", "Hej"),
            ("[x](javascript:alert(1))", "<p><a rel=\"noopener noreferrer\">x</a></p>\n"),
            ("![bild](http://example.org/a.png)", "<p></p>\n"),
            ("<img src=x onerror=alert(1)>", ""),
            ("[Ring](tel:+4610100)", "<p><a href=\"tel:+4610100\" rel=\"noopener noreferrer\">Ring</a></p>\n"),
            (
                "<a href=\"https://x.example\" onclick=\"evil()\">l</a>",
                "<p><a href=\"https://x.example\" rel=\"noopener noreferrer\">l</a></p>\n",
            ),
        ];
        for (md, want) in cases {
            assert_eq!(super::to_html(md), want, "{md}");
        }
    }
}
